"""Following the object store at `LAKE_URL` on a web host: `chicrime serve` polls its pointer
and switches the local lake to each new publication.

A new publication is downloaded into `staging/follow/` beside the lake, every file checked
against the size and SHA-256 its manifest gives (files the host already holds with that hash
are hard-linked instead of downloaded), and only then moved into `lake/` and switched in with
the same atomic symlink swap an ingestion commit makes; the boundaries and the state database
are replaced after it. Queries keep reading the local disk. A publication that cannot be
fetched whole is never switched to: the host keeps serving what it has, and records why (and
since when) for `chicrime status` and the dashboard's freshness line.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from chicrime.clock import utc_now
from chicrime.errors import ChicrimeError, ObjectStoreError, RunInProgressError
from chicrime.remote.manifest import Manifest, file_sha256, host_files, lake_roots
from chicrime.remote.objects import ObjectStore
from chicrime.remote.publish import read_manifest, read_pointer
from chicrime.remote.status import SyncStatus
from chicrime.settings import Settings
from chicrime.store.faults import fsync_dir, fsync_file, replace_file
from chicrime.store.lake import Lake
from chicrime.store.lock import run_lock
from chicrime.store.state import utc_text

__all__ = ["Follower", "Outcome", "start_following"]

log = logging.getLogger(__name__)

Outcome = Literal["switched", "current", "waiting", "failed", "busy"]


class Follower:
    """Keeps `settings.data_dir` at the publication `store` points at."""

    def __init__(
        self, settings: Settings, store: ObjectStore, clock: Callable[[], dt.datetime] = utc_now
    ) -> None:
        self.settings = settings
        self.layout = settings.layout
        self.store = store
        self.clock = clock

    def sync(self) -> Outcome:
        """Check the pointer once and switch to a new publication if there is one.

        Never raises for the store or the disk: a failure is logged and recorded in
        `state/follow.json`, and the local lake stays as it was.
        """
        status = SyncStatus.of(self.layout.follow_status, self.store.url)
        now = utc_text(self.clock())
        try:
            found = read_pointer(self.store)
            if found is None:
                self._failed(
                    status,
                    now,
                    f"{self.store.url} holds no publication yet: waiting for the ingester's "
                    "first publish (`chicrime ingest --once` with LAKE_URL set)",
                )
                return "waiting"
            pointer = found[0]
            if pointer.manifest == status.manifest and self._serving(pointer.version):
                status.succeeded(now).save(self.layout.follow_status)
                return "current"
            manifest = read_manifest(self.store, pointer.manifest)
            if manifest is None:
                raise ObjectStoreError(
                    f"{self.store.url}: the pointer names {pointer.manifest}, which is gone"
                )
            with run_lock(self.layout.run_lock):
                self._switch(manifest)
        except RunInProgressError:
            return "busy"
        except (ChicrimeError, OSError) as exc:  # the store, the disk, a lake it cannot change
            self._failed(status, now, str(exc))
            return "failed"
        status.succeeded(
            now, version=pointer.version, manifest=pointer.manifest, done_at=pointer.published_at
        ).save(self.layout.follow_status)
        log.info("switched", extra={"version": pointer.version, "manifest": pointer.manifest})
        return "switched"

    def _failed(self, status: SyncStatus, now: str, reason: str) -> None:
        message = f"{reason}; serving the version this host has ({status.version or 'none'})"
        log.warning("store not followed: %s", message)
        status.failed(now, message).save(self.layout.follow_status)

    def follow(self, stop: threading.Event) -> None:
        """`sync` every `LAKE_POLL_SECONDS` until `stop` is set; an unexpected error is logged
        and the next poll tries again (the thread never dies while the server runs)."""
        while not stop.wait(self.settings.lake_poll_seconds):
            self.sync_or_log()

    def sync_or_log(self) -> None:
        """`sync`, with an unexpected error logged (and kept for `status`) instead of raised."""
        try:
            self.sync()
        except Exception as exc:
            log.exception("following the store failed unexpectedly; trying at the next poll")
            status = SyncStatus.of(self.layout.follow_status, self.store.url)
            status.failed(utc_text(self.clock()), f"unexpected {exc!r}").save(
                self.layout.follow_status
            )

    def _serving(self, version: str) -> bool:
        return Lake(self.layout.lake_dir).version() == version

    def _switch(self, manifest: Manifest) -> None:
        work = self.layout.staging_dir / "follow"
        shutil.rmtree(work, ignore_errors=True)  # what a killed switch left
        try:
            self._install(manifest, work)
        finally:  # a failed download never keeps its part of the disk
            shutil.rmtree(work, ignore_errors=True)

    def _install(self, manifest: Manifest, work: Path) -> None:
        """Fetch `manifest`'s files into `work`, check them, move them in and switch."""
        layout = self.layout
        held = self._held_files()
        lake = Lake(layout.lake_dir)
        same_version = lake.version() == manifest.version
        lake_prefix = layout.lake_dir.relative_to(layout.data_dir).as_posix() + "/"
        for entry in manifest.entries:
            if same_version and entry.path.startswith(lake_prefix):
                continue
            target = work / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            local = held.get(entry.sha256)
            if local is not None and file_sha256(local) == entry.sha256:
                os.link(local, target)
                continue
            self.store.download(entry.key, target)
            if target.stat().st_size != entry.size or file_sha256(target) != entry.sha256:
                raise ObjectStoreError(
                    f"{self.store.url}/{entry.key} does not match its manifest for "
                    f"{entry.path} (size or SHA-256): publication not switched to"
                )
            fsync_file(target)
        lake_paths = lake_roots(layout, manifest.version)
        if not same_version:
            (work / lake_paths[0]).mkdir(parents=True, exist_ok=True)  # an empty lake: no files
            for directory in sorted(p for p in work.rglob("*") if p.is_dir()):
                fsync_dir(directory)
            for root in lake_paths:
                self._move_in(work / root, layout.data_dir / root)
            fsync_dir(layout.lake_dir)
            lake.switch_to(manifest.version)
        # A journal left beside the state database (this host once ran its own ingestion)
        # would be read into the snapshot that replaces it.
        for suffix in ("-wal", "-shm", "-journal"):
            layout.state_db.with_name(layout.state_db.name + suffix).unlink(missing_ok=True)
        for root in host_files(layout):
            self._move_in(work / root, layout.data_dir / root)
        replace_file(layout.follow_manifest, manifest.to_json())

    def _held_files(self) -> dict[str, Path]:
        """Files of the publication served now, by hash, still on disk at its size (the caller
        checks the hash before using one)."""
        try:
            served = Manifest.from_json(self.layout.follow_manifest.read_bytes(), "local")
        except (OSError, ObjectStoreError):
            return {}
        held: dict[str, Path] = {}
        for entry in served.entries:
            path = self.layout.data_dir / entry.path
            try:
                if path.stat().st_size == entry.size:
                    held[entry.sha256] = path
            except OSError:
                continue
        return held

    @staticmethod
    def _move_in(source: Path, target: Path) -> None:
        """Rename a fetched file or directory into place (a leftover of an interrupted switch
        under the same name is replaced)."""
        if not source.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(source, target)


def start_following(settings: Settings, store: ObjectStore) -> threading.Event:
    """Sync once now, then in a background thread every `LAKE_POLL_SECONDS`; set the returned
    event to stop it."""
    follower = Follower(settings, store)
    follower.sync_or_log()
    stop = threading.Event()
    threading.Thread(
        target=follower.follow, args=(stop,), name="chicrime-follow", daemon=True
    ).start()
    return stop
