"""Publishing the lake to the object store at `LAKE_URL`, for web hosts to follow.

Layout of the store, under its prefix:

    objects/ab/ab12...        each file's bytes, once, named by its SHA-256
    manifests/STAMP-TOKEN.json  one publication: every file of a version, by hash (manifest.py)
    current.json              the pointer: which manifest hosts should serve, and which ones
                              it replaced within the retention (and when)

A publication uploads the objects the store lacks, writes its manifest under a new key, and
only then switches the pointer, with a conditional PUT on the pointer's ETag as it was read
(`If-None-Match: *` for the first). Readers therefore see the old publication or the new one,
never part of one, and when two publishers race exactly one switch succeeds: the other raises
`PublishConflictError` and withdraws its manifest; both local lakes are untouched.

After a successful switch, still under the run lock: publications the pointer replaced longer
than `LAKE_RETENTION_HOURS` ago are deleted, and so are manifests it never pointed at (a
publish that died before its switch) once older than that; then the objects no remaining
manifest uses, if they are older than the retention too.
"""

from __future__ import annotations

import datetime as dt
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
from chicrime.errors import (
    LakeError,
    MassDeletionError,
    ObjectStoreError,
    PublishConflictError,
    StateError,
)
from chicrime.remote.manifest import Manifest, build_manifest
from chicrime.remote.objects import ObjectStore, PreconditionFailed
from chicrime.remote.status import SyncStatus
from chicrime.settings import Settings
from chicrime.store.lake import Lake
from chicrime.store.lock import run_lock
from chicrime.store.state import StateView, parse_utc, utc_text

__all__ = [
    "Pointer",
    "Published",
    "Replaced",
    "expire",
    "publish",
    "read_manifest",
    "read_pointer",
]

log = logging.getLogger(__name__)

POINTER = "current.json"
MANIFESTS = "manifests/"
OBJECTS = "objects/"


@dataclass(frozen=True)
class Replaced:
    """A publication the pointer named before, and when it stopped naming it."""

    manifest: str
    until: str  # UTC instant


@dataclass(frozen=True)
class Pointer:
    """The store's current publication, and those it replaced within the retention."""

    manifest: str  # key of its manifest
    version: str  # its lake version
    published_at: str  # UTC instant of the switch
    replaced: tuple[Replaced, ...] = ()  # newest first

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "manifest": self.manifest,
                "version": self.version,
                "published_at": self.published_at,
                "replaced": [[r.manifest, r.until] for r in self.replaced],
            }
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
            str(document["manifest"]),
            str(document["version"]),
            str(document["published_at"]),
            tuple(Replaced(str(m), str(u)) for m, u in document.get("replaced", [])),
        )
        for key in (pointer.manifest, *(r.manifest for r in pointer.replaced)):
            if not key.startswith(MANIFESTS) or ".." in key:
                raise ValueError(key)
        for instant in (r.until for r in pointer.replaced):
            parse_utc(instant)
    except (ValueError, KeyError, TypeError):
        raise ObjectStoreError(
            f"{store.url}/{POINTER} is not chicrime's pointer; nothing was read. Move it aside "
            "and publish again."
        ) from None
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
    on_upload: Callable[[], None] | None = None,
) -> Published:
    """Publish the current lake version, boundaries and run history to `store`, then expire
    what the retention no longer keeps; `on_upload` is called after each file uploaded.

    Under the run lock (`RunInProgressError` if a run holds it). Nothing is switched unless
    every object and the manifest were stored; on failure the store's pointer is as it was, the
    error is kept for `chicrime status` and raised. Refused before any upload unless
    `replacing` (`MassDeletionError`): a lake that would take more than `MAX_DELETE_PERCENT`
    of the served rows from every web host, or a demo lake over real records.
    """
    layout = settings.layout
    status_path = layout.publish_status
    status = SyncStatus.of(status_path, store.url)
    with run_lock(layout.run_lock):
        work = layout.staging_dir / "publish"
        try:
            version = Lake(layout.lake_dir).version()
            if version is None:
                raise LakeError(
                    f"nothing to publish to {store.url}: {layout.lake_dir} holds no lake yet. "
                    "Run `chicrime ingest --once` (or `chicrime demo`) first."
                )
            snapshot = _snapshot_state(
                layout.state_db, work / "chicrime.db", settings.sqlite_timeout
            )
            synthetic = StateView(snapshot).last_success_kind() == "demo"
            manifest, sources = build_manifest(layout, version, snapshot, synthetic)
            published = _switch(
                store,
                manifest,
                sources,
                clock(),
                settings.lake_retention_hours,
                None if replacing else settings.max_delete_percent,
                on_upload,
            )
        except Exception as exc:  # every failure is kept for `status`, then raised as it was
            status.failed(utc_text(clock()), str(exc)).save(status_path)
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        finished = utc_text(clock())
        status.succeeded(
            finished,
            version=version,
            manifest=published.manifest,
            done_at=finished if published.changed else None,
        ).save(status_path)
        try:
            expired = expire(store, settings.lake_retention_hours, clock())
        except ObjectStoreError as exc:  # the publication stands; old ones wait for the next
            log.warning("old publications were not expired: %s", exc)
            expired = 0
    return replace(published, expired=expired)


def _switch(
    store: ObjectStore,
    manifest: Manifest,
    sources: dict[str, Path],
    now: dt.datetime,
    retention_hours: float,
    max_drop_percent: float | None,
    on_upload: Callable[[], None] | None,
) -> Published:
    current = read_pointer(store)
    served = None if current is None else current[0].manifest
    try:
        previous = None if served is None else read_manifest(store, served)
    except ObjectStoreError:
        if max_drop_percent is not None:
            raise
        previous = None  # replacing: what is served does not matter, even unreadable
    if previous is not None and max_drop_percent is not None:
        _check_replaces(store.url, previous, manifest, max_drop_percent)
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
        if on_upload is not None:
            on_upload()
    unchanged = previous is not None and set(previous.entries) == set(manifest.entries)
    if unchanged and served is not None:
        return Published(manifest.version, served, False, len(uploaded), size, 0)
    key = f"{MANIFESTS}{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.json"
    store.write(key, manifest.to_json(), if_absent=True)
    pointer = Pointer(
        key,
        manifest.version,
        utc_text(now),
        () if current is None else _still_kept(current[0], now, retention_hours),
    )
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


def _still_kept(current: Pointer, now: dt.datetime, retention_hours: float) -> tuple[Replaced, ...]:
    """What the next pointer lists as replaced: the current publication (replaced `now`) and
    those it listed that were replaced within the retention."""
    cutoff = now - dt.timedelta(hours=retention_hours)
    recent = [r for r in current.replaced if parse_utc(r.until) >= cutoff]
    return (Replaced(current.manifest, utc_text(now)), *recent)


def _check_replaces(
    url: str, served: Manifest, candidate: Manifest, max_drop_percent: float
) -> None:
    """Refuse a publication no web host should switch to without someone meaning it: one that
    drops an implausible share of the served rows (a new, nearly empty DATA_DIR pointed at the
    store; up to 20 rows always may go), or a demo lake over real records."""
    advice = (
        "Nothing was uploaded. If this lake is meant to replace the published one, run "
        "`chicrime publish --replace`."
    )
    if candidate.synthetic and not served.synthetic:
        raise MassDeletionError(
            f"refusing to publish {candidate.version}, a synthetic lake written by `chicrime "
            f"demo`, over the real records {url} serves. {advice}"
        )
    lost = served.rows - candidate.rows
    if lost > 20 and lost > served.rows * max_drop_percent / 100:
        raise MassDeletionError(
            f"refusing to publish {candidate.version} ({candidate.rows:,} rows) over the "
            f"{served.rows:,} rows {url} serves: every web host would lose "
            f"{lost / served.rows:.1%} of them, more than MAX_DELETE_PERCENT="
            f"{max_drop_percent:g}. {advice}"
        )


def expire(store: ObjectStore, retention_hours: float, now: dt.datetime) -> int:
    """Delete what the retention no longer keeps; how many keys were deleted.

    Kept: the current publication, those the pointer replaced less than `retention_hours`
    before `now`, and any manifest younger than that (a publish under way elsewhere); then
    every object those manifests use, and any object younger than that. Deletes nothing
    unless the pointer, the listings and every kept manifest were read in full.
    """
    found = read_pointer(store)
    if found is None:
        return 0
    pointer = found[0]
    cutoff = now - dt.timedelta(hours=retention_hours)
    kept = {pointer.manifest} | {
        r.manifest for r in pointer.replaced if parse_utc(r.until) >= cutoff
    }
    manifests = store.objects(MANIFESTS)
    if pointer.manifest not in {m.key for m in manifests}:
        raise ObjectStoreError(
            f"{store.url}: the current manifest {pointer.manifest} is not listed"
        )
    expired = [m.key for m in manifests if m.key not in kept and m.modified < cutoff]
    referenced: set[str] = set()
    for m in manifests:
        if m.key in expired:
            continue
        manifest = read_manifest(store, m.key)
        if manifest is not None:
            referenced |= {e.key for e in manifest.entries}
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
        try:
            reader = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=timeout)
            with closing(reader) as source, closing(sqlite3.connect(target)) as copy:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.Error as exc:
            raise StateError(
                f"cannot copy the state database {database} to {target} for publishing: {exc}. "
                "Check the disk under DATA_DIR (free space, permissions); nothing was published."
            ) from None
    return target
