"""Publishing the lake to the object store at `LAKE_URL`, for web hosts to follow.

Layout of the store, under its prefix:

    objects/ab/ab12...        each file's bytes, once, named by its SHA-256
    manifests/STAMP-TOKEN.json  one publication: every file of a version, by hash (manifest.py)
    current.json              the pointer: which manifest hosts should serve

A publication uploads the objects the store lacks, writes its manifest under a new key, and
only then switches the pointer, with a conditional PUT on the pointer's ETag as it was read
(`If-None-Match: *` for the first). Readers therefore see the old publication or the new one,
never part of one, and when two publishers race exactly one switch succeeds: the other raises
`PublishConflictError` and withdraws its manifest; both local lakes are untouched.

Publications superseded longer than `LAKE_RETENTION_HOURS` ago are deleted after a successful
switch, then the objects no remaining publication uses (if they are older than the retention
too, so another publisher's uploads in flight are never taken).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import secrets
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

from chicrime.clock import utc_now
from chicrime.errors import LakeError, MassDeletionError, ObjectStoreError, PublishConflictError
from chicrime.remote.manifest import Manifest, build_manifest
from chicrime.remote.objects import ObjectStore, PreconditionFailed
from chicrime.remote.status import SyncStatus
from chicrime.settings import Settings
from chicrime.store.lake import Lake
from chicrime.store.lock import run_lock
from chicrime.store.state import utc_text

__all__ = ["Pointer", "Published", "expire", "publish", "read_manifest", "read_pointer"]

log = logging.getLogger(__name__)

POINTER = "current.json"
MANIFESTS = "manifests/"
OBJECTS = "objects/"


@dataclass(frozen=True)
class Pointer:
    """The store's current publication."""

    manifest: str  # key of its manifest
    version: str  # its lake version
    published_at: str  # UTC instant of the switch

    def to_json(self) -> bytes:
        return json.dumps(
            {"manifest": self.manifest, "version": self.version, "published_at": self.published_at}
        ).encode()


@dataclass(frozen=True)
class Published:
    """What `publish` did."""

    version: str
    manifest: str  # key of the publication the store now points at
    changed: bool  # False when the store already pointed at this very content
    files_uploaded: int
    bytes_uploaded: int
    expired: int  # manifests and objects retention deleted


def read_pointer(store: ObjectStore) -> tuple[Pointer, str] | None:
    """The store's pointer and its ETag, or None before the first publication."""
    found = store.read(POINTER)
    if found is None:
        return None
    raw, etag = found
    try:
        document = json.loads(raw)
        pointer = Pointer(
            str(document["manifest"]), str(document["version"]), str(document["published_at"])
        )
    except (ValueError, KeyError, TypeError):
        raise ObjectStoreError(
            f"{store.url}/{POINTER} is not chicrime's pointer; nothing was read. Move it aside "
            "and publish again."
        ) from None
    if not pointer.manifest.startswith(MANIFESTS) or ".." in pointer.manifest:
        raise ObjectStoreError(f"{store.url}/{POINTER} names {pointer.manifest!r}, not a manifest")
    return pointer, etag


def read_manifest(store: ObjectStore, key: str) -> Manifest | None:
    """The manifest at `key`, or None when it is gone; `ObjectStoreError` if it is invalid."""
    found = store.read(key)
    return None if found is None else Manifest.from_json(found[0], f"{store.url}/{key}")


def publish(
    settings: Settings,
    store: ObjectStore,
    clock: Callable[[], dt.datetime] = utc_now,
    *,
    replacing: bool = False,
) -> Published:
    """Publish the current lake version, boundaries and run history to `store`.

    Under the run lock (`RunInProgressError` if a run holds it). Nothing is switched unless
    every object and the manifest were stored; on failure the store's pointer is as it was, the
    error is kept for `chicrime status` and raised (`ObjectStoreError`, `PublishConflictError`).
    A lake that would take more than `MAX_DELETE_PERCENT` of the rows the store serves away
    from every web host is refused (`MassDeletionError`, nothing uploaded) unless `replacing`.
    """
    layout = settings.layout
    status_path = layout.publish_status
    status = SyncStatus.load(status_path) or SyncStatus(url=store.url)
    with run_lock(layout.run_lock):
        version = Lake(layout.lake_dir).version()
        if version is None:
            raise LakeError(
                f"nothing to publish to {store.url}: {layout.lake_dir} holds no lake yet. Run "
                "`chicrime ingest --once` (or `chicrime demo`) first."
            )
        work = layout.staging_dir / "publish"
        try:
            snapshot = _snapshot_state(
                layout.state_db, work / "chicrime.db", settings.sqlite_timeout
            )
            manifest, sources = build_manifest(layout, version, snapshot)
            published = _switch(
                store, manifest, sources, clock, None if replacing else settings.max_delete_percent
            )
        except (ObjectStoreError, MassDeletionError) as exc:
            status.failed(utc_text(clock()), str(exc)).save(status_path)
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        status.succeeded(
            utc_text(clock()),
            version=version,
            manifest=published.manifest,
            done_at=utc_text(clock()) if published.changed else None,
        ).save(status_path)
    try:
        expired = expire(store, settings.lake_retention_hours, clock())
    except ObjectStoreError as exc:  # the publication stands; old ones wait for the next run
        log.warning("old publications were not expired: %s", exc)
        expired = 0
    return replace(published, expired=expired)


def _switch(
    store: ObjectStore,
    manifest: Manifest,
    sources: dict[str, Path],
    clock: Callable[[], dt.datetime],
    max_drop_percent: float | None,
) -> Published:
    current = read_pointer(store)
    served = None if current is None else current[0].manifest
    previous = None if served is None else read_manifest(store, served)
    if previous is not None and max_drop_percent is not None:
        _check_rows(store.url, previous, manifest, max_drop_percent)
    # What the store holds, listed rather than assumed from the last publication: an object
    # lost since (deleted by hand, a store restored from backup) is uploaded again.
    stored = {o.key: o.size for o in store.objects(OBJECTS)}
    uploaded: set[str] = set()
    size = 0
    for entry in manifest.entries:
        if stored.get(entry.key) == entry.size or entry.sha256 in uploaded:
            continue
        store.upload(sources[entry.path], entry.key)
        uploaded.add(entry.sha256)
        size += entry.size
    unchanged = previous is not None and set(previous.entries) == set(manifest.entries)
    if unchanged and served is not None:
        return Published(manifest.version, served, False, len(uploaded), size, 0)
    now = clock()
    key = f"{MANIFESTS}{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.json"
    store.write(key, manifest.to_json(), if_absent=True)
    pointer = Pointer(key, manifest.version, utc_text(now))
    try:
        if current is None:
            store.write(POINTER, pointer.to_json(), if_absent=True)
        else:
            store.write(POINTER, pointer.to_json(), if_match=current[1])
    except PreconditionFailed:
        store.delete([key])
        winner = read_pointer(store)
        raise PublishConflictError(
            f"another publisher switched {store.url} first (it now serves "
            f"{winner[0].version if winner else 'nothing'}); this publication of "
            f"{manifest.version} was withdrawn and both lakes are as they were. One LAKE_URL "
            "takes one ingester: stop the other, then run this one again."
        ) from None
    log.info(
        "published",
        extra={"version": manifest.version, "manifest": key, "files": len(uploaded)},
    )
    return Published(manifest.version, key, True, len(uploaded), size, 0)


def _check_rows(url: str, served: Manifest, candidate: Manifest, max_drop_percent: float) -> None:
    """Refuse a publication that drops an implausible share of the rows every web host serves
    (a new, nearly empty DATA_DIR pointed at the store, say). Up to 20 rows always may go."""
    lost = served.rows - candidate.rows
    if lost > 20 and lost > served.rows * max_drop_percent / 100:
        raise MassDeletionError(
            f"refusing to publish {candidate.version} ({candidate.rows:,} rows) over the "
            f"{served.rows:,} rows {url} serves: every web host would lose "
            f"{lost / served.rows:.1%} of them, more than MAX_DELETE_PERCENT="
            f"{max_drop_percent:g}. Nothing was uploaded. If this lake is meant to replace the "
            "published one, run `chicrime publish --replace`."
        )


def expire(store: ObjectStore, retention_hours: float, now: dt.datetime) -> int:
    """Delete publications superseded more than `retention_hours` before `now`, then objects
    older than that which no remaining publication uses; how many keys were deleted.

    Deletes nothing unless the pointer and every remaining manifest were read in full.
    """
    found = read_pointer(store)
    if found is None:
        return 0
    current = found[0].manifest
    cutoff = now - dt.timedelta(hours=retention_hours)
    manifests = sorted(store.objects(MANIFESTS), key=lambda m: (m.modified, m.key))
    expired = [
        m.key
        for m, successor in itertools.pairwise(manifests)
        if m.key != current and successor.modified < cutoff
    ]
    referenced: set[str] = set()
    for m in manifests:
        if m.key in expired:
            continue
        kept = read_manifest(store, m.key)
        if kept is not None:
            referenced |= {e.key for e in kept.entries}
    if current not in {m.key for m in manifests}:
        raise ObjectStoreError(f"{store.url}: the current manifest {current} is not listed")
    unused = [
        o.key for o in store.objects(OBJECTS) if o.key not in referenced and o.modified < cutoff
    ]
    store.delete(expired)
    store.delete(unused)
    if expired or unused:
        log.info("expired", extra={"manifests": len(expired), "objects": len(unused)})
    return len(expired) + len(unused)


def _snapshot_state(database: Path, target: Path, timeout: float) -> Path:
    """A consistent copy of the state database at `target` (rollback journal, so a reader can
    open it read-only anywhere); `target` does not exist when there is no database."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    if database.is_file():
        reader = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=timeout)
        with closing(reader) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
    return target
