"""Publishing the lake to an object store and following it, against a real S3 server (moto)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import shutil
import time
from pathlib import Path
from typing import ClassVar

import polars as pl
import pytest

from chicrime.analytics import Analytics
from chicrime.demo import write_demo_lake
from chicrime.errors import MassDeletionError, ObjectStoreError, PublishConflictError
from chicrime.health import health_report
from chicrime.ingest.records import normalise
from chicrime.remote.follow import Follower
from chicrime.remote.manifest import Manifest
from chicrime.remote.objects import ObjectStore
from chicrime.remote.publish import Published, expire, publish, read_manifest, read_pointer
from chicrime.remote.status import SyncStatus
from chicrime.settings import Settings, load_settings
from chicrime.store.facts import facts_path
from chicrime.store.history import history_dir
from chicrime.store.lake import Lake
from chicrime.store.rollups import rollups_dir
from chicrime.store.staging import Staging
from chicrime.store.state import StateStore
from tests.conftest import api_row, observed
from tests.servers import S3Server
from tests.test_local_faults import tmpfs

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
PREFIX = "chicago/lake"
_STAGINGS = itertools.count(1)


def clock() -> dt.datetime:
    return NOW


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo lake (three month partitions, one run), written once and copied per test."""
    directory = tmp_path_factory.mktemp("demo") / "data"
    write_demo_lake(
        Settings(data_dir=directory),
        start=dt.date(2024, 4, 20),
        end=dt.date(2024, 6, 3),
        seed=1,
        revision_days=0,
        clock=clock,
    )
    return directory


def url(s3: S3Server) -> str:
    return f"s3://{s3.bucket}/{PREFIX}"


def host(
    path: Path, s3: S3Server, retention_hours: float = 24, lake: Path | None = None
) -> Settings:
    """Settings of a host whose DATA_DIR is `path`, a copy of `lake` when given."""
    if lake is not None:
        shutil.copytree(lake, path, symlinks=True)
    return load_settings(
        {"DATA_DIR": str(path), "LAKE_URL": url(s3), "LAKE_RETENTION_HOURS": str(retention_hours)},
        None,
    )


def store_of(s3: S3Server) -> ObjectStore:
    return ObjectStore(url(s3), client=s3.client())


class CountingStore(ObjectStore):
    """An ObjectStore that records the keys it downloads."""

    def __init__(self, address: str, client: object) -> None:
        super().__init__(address, client=client)
        self.downloads: list[str] = []

    def download(self, key: str, path: Path) -> None:
        self.downloads.append(key)
        super().download(key, path)


def change(settings: Settings, *ids: int, day: str = "2024-04-25") -> str:
    """Commit one new record per id dated `day` to the lake (one partition rewritten); the new
    version."""
    staging = Staging(settings.data_dir.parent / f"staging-{next(_STAGINGS)}")
    rows = [api_row(i, f"{day}T10:00:00.000") for i in ids]
    raw = pl.DataFrame(
        [{k: str(v).lower() if isinstance(v, bool) else v for k, v in r.items()} for r in rows]
    )
    staging.add(normalise(raw).rows)
    lake = Lake(settings.layout.lake_dir)
    lake.commit(staging, lake.plan_merge(staging, ()), label="t", observation=observed())
    version = lake.version()
    assert version is not None
    return version


def version_of(settings: Settings) -> str | None:
    return Lake(settings.layout.lake_dir).version()


def version_files(settings: Settings, version: str) -> dict[str, str]:
    """sha256 of every file of `version` (partitions, facts, rollups, history) and the geo files,
    by path relative to its root."""
    lake = settings.layout.lake_dir
    found: dict[str, str] = {}
    for root in (lake / version, rollups_dir(lake, version), history_dir(lake, version)):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            found[f"{root.name.replace(version, 'V')}/{path.relative_to(root)}"] = sha(path)
    for path in (
        facts_path(lake, version),
        settings.layout.community_areas,
        settings.layout.population,
    ):
        found[path.name.replace(version, "V")] = sha(path)
    return found


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def last_run_id(settings: Settings) -> int:
    state = StateStore(settings.layout.state_db, readonly=True)
    try:
        return state.recent_runs(1)[0].run_id
    finally:
        state.close()


def current_manifest(store: ObjectStore) -> tuple[str, Manifest]:
    found = read_pointer(store)
    assert found is not None
    manifest = read_manifest(store, found[0].manifest)
    assert manifest is not None
    return found[0].manifest, manifest


def manifest_keys(store: ObjectStore) -> list[str]:
    return sorted(o.key for o in store.objects("manifests/"))


def follow_error(settings: Settings) -> str:
    """Why the host's last sync failed, as `state/follow.json` records it."""
    status = SyncStatus.load(settings.layout.follow_status)
    assert status is not None
    assert status.error is not None
    return status.error


def tree(root: Path) -> dict[str, int]:
    """Every path under `root` with its inode: what a test must find untouched."""
    return {str(p.relative_to(root)): p.lstat().st_ino for p in sorted(root.rglob("*"))}


def test_a_follower_serves_exactly_what_was_published(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """The follower's lake, geo files and run history equal the publisher's; syncs and
    publishes of unchanged content do nothing."""
    publisher = host(tmp_path / "ingester", s3_server, lake=demo_dir)
    follower = host(tmp_path / "web", s3_server)
    version = version_of(publisher)
    assert version is not None

    published = publish(publisher, store_of(s3_server), clock=clock)
    assert (published.version, published.changed) == (version, True)
    assert published.files_uploaded == len(
        {e.sha256 for e in current_manifest(store_of(s3_server))[1].entries}
    )
    web = Follower(follower, store_of(s3_server), clock=clock)

    assert web.sync() == "switched"
    assert os.readlink(follower.layout.lake_dir / "crimes") == version
    assert version_files(follower, version) == version_files(publisher, version)
    assert last_run_id(follower) == last_run_id(publisher) == 1
    assert Lake(follower.layout.lake_dir).summary().rows == (
        Lake(publisher.layout.lake_dir).summary().rows
    )
    followed = SyncStatus.load(follower.layout.follow_status)
    assert followed is not None
    assert (followed.version, followed.manifest, followed.failing_since) == (
        version,
        published.manifest,
        None,
    )
    assert web.sync() == "current"

    again = publish(publisher, store_of(s3_server), clock=clock)
    assert again == Published(version, published.manifest, False, 0, 0, 0)
    assert manifest_keys(store_of(s3_server)) == [published.manifest]


def test_a_new_version_moves_only_the_files_that_changed(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """The second publish uploads only new content and the follower downloads only that,
    hard-linking the files it already holds."""
    publisher = host(tmp_path / "ingester", s3_server, lake=demo_dir)
    follower = host(tmp_path / "web", s3_server)
    store = CountingStore(url(s3_server), s3_server.client())
    web = Follower(follower, store, clock=clock)
    first = publish(publisher, store_of(s3_server), clock=clock)
    assert web.sync() == "switched"
    _, old = current_manifest(store)
    assert len(store.downloads) == len(old.entries)

    new_version = change(publisher, 1, 2)
    second = publish(publisher, store_of(s3_server), clock=clock)
    _, new = current_manifest(store)
    old_hashes = {e.sha256 for e in old.entries}
    fresh = [e for e in new.entries if e.sha256 not in old_hashes]
    parquet = [e for e in new.entries if e.path.startswith(f"lake/{new_version}/")]
    assert (second.version, second.changed) == (new_version, True)
    assert second.files_uploaded == len({e.sha256 for e in fresh}) == len(fresh)
    assert second.bytes_uploaded == sum(e.size for e in fresh)
    assert [e.path for e in parquet if e.sha256 not in old_hashes] == [
        f"lake/{new_version}/year=2024/month=04/part-t.parquet"
    ]
    assert len(parquet) == 3
    assert first.version != new_version

    store.downloads.clear()
    assert web.sync() == "switched"
    assert sorted(store.downloads) == sorted(e.key for e in fresh)
    assert os.readlink(follower.layout.lake_dir / "crimes") == new_version
    assert version_files(follower, new_version) == version_files(publisher, new_version)
    lake = follower.layout.lake_dir
    kept = [e for e in parquet if e.sha256 in old_hashes]
    assert len(kept) == 2
    for entry in kept:
        inside = Path(entry.path).relative_to(f"lake/{new_version}")
        assert (lake / new_version / inside).stat().st_ino == (
            (lake / first.version / inside).stat().st_ino
        ), entry.path


@pytest.mark.parametrize("earlier", [False, True], ids=["empty-store", "after-a-publication"])
def test_of_two_racing_publishers_exactly_one_switches(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path, earlier: bool
) -> None:
    """Both read the same pointer; B switches first, A's switch fails, A withdraws its manifest
    and raises PublishConflictError; neither lake changes, and A's next publish succeeds."""
    a = host(tmp_path / "a", s3_server, lake=demo_dir)
    b = host(tmp_path / "b", s3_server, lake=demo_dir)
    before: list[str] = []
    if earlier:
        before = [publish(a, store_of(s3_server), clock=clock).manifest]
    version_a = change(a, 1)
    version_b = change(b, 2)
    assert version_a != version_b
    won: list[Published] = []

    class RacedStore(ObjectStore):
        """A's store: B publishes in full just before A's pointer switch."""

        manifests: ClassVar[list[str]] = []

        def write(
            self, key: str, body: bytes, *, if_match: str | None = None, if_absent: bool = False
        ) -> str:
            if key.startswith("manifests/"):
                self.manifests.append(key)
            if key == "current.json" and not won:
                won.append(publish(b, store_of(s3_server), clock=clock))
            return super().write(key, body, if_match=if_match, if_absent=if_absent)

    raced = RacedStore(url(s3_server), client=s3_server.client())
    with pytest.raises(PublishConflictError, match=f"it now serves {version_b}"):
        publish(a, raced, clock=clock)

    store = store_of(s3_server)
    (b_published,) = won
    assert (b_published.version, b_published.changed) == (version_b, True)
    pointer = read_pointer(store)
    assert pointer is not None
    assert (pointer[0].manifest, pointer[0].version) == (b_published.manifest, version_b)
    (withdrawn,) = raced.manifests
    assert withdrawn != b_published.manifest
    assert withdrawn not in manifest_keys(store)
    assert manifest_keys(store) == sorted([*before, b_published.manifest])
    assert (version_of(a), version_of(b)) == (version_a, version_b)
    status = SyncStatus.load(a.layout.publish_status)
    assert status is not None
    assert status.failing_since == "2026-11-27T12:00:00Z"
    assert status.error is not None
    assert "another publisher" in status.error

    again = publish(a, store_of(s3_server), clock=clock)
    assert (again.version, again.changed) == (version_a, True)
    key, manifest = current_manifest(store)
    assert (key, manifest.version) == (again.manifest, version_a)
    status = SyncStatus.load(a.layout.publish_status)
    assert status is not None
    assert (status.error, status.failing_since, status.manifest) == (None, None, again.manifest)


def test_a_far_smaller_lake_is_published_only_when_replacing(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """A lake that would take more than MAX_DELETE_PERCENT of the served rows from every web
    host (a new, nearly empty DATA_DIR pointed at the store) is refused before any upload, with
    the reason kept for `status`; `replacing=True` publishes it."""
    served = publish(host(tmp_path / "a", s3_server, lake=demo_dir), store_of(s3_server))
    small = host(tmp_path / "b", s3_server)
    tiny_version = change(small, 1, 2, 3)
    objects = sorted(o.key for o in store_of(s3_server).objects("objects/"))
    _, manifest = current_manifest(store_of(s3_server))

    with pytest.raises(MassDeletionError) as refused:
        publish(small, store_of(s3_server), clock=clock)
    assert str(refused.value).startswith(
        f"refusing to publish {tiny_version} (3 rows) over the {manifest.rows:,} rows "
        f"{url(s3_server)} serves: every web host would lose "
    )
    assert current_manifest(store_of(s3_server))[0] == served.manifest
    assert sorted(o.key for o in store_of(s3_server).objects("objects/")) == objects
    status = SyncStatus.load(small.layout.publish_status)
    assert status is not None
    assert status.error == str(refused.value)

    replaced = publish(small, store_of(s3_server), clock=clock, replacing=True)
    assert (replaced.version, replaced.changed) == (tiny_version, True)
    assert current_manifest(store_of(s3_server))[1].rows == 3


def test_a_demo_lake_is_published_over_real_records_only_when_replacing(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """A synthetic lake (`chicrime demo`) over the real records the store serves is refused
    before any upload, however many rows it has; `replacing=True` publishes it."""
    real = host(tmp_path / "real", s3_server)
    change(real, 1, 2, 3)
    served = publish(real, store_of(s3_server), clock=clock)
    demo = host(tmp_path / "demo", s3_server, lake=demo_dir)

    with pytest.raises(MassDeletionError, match="a synthetic lake written by `chicrime demo`"):
        publish(demo, store_of(s3_server), clock=clock)
    key, manifest = current_manifest(store_of(s3_server))
    assert (key, manifest.synthetic, manifest.rows) == (served.manifest, False, 3)

    replaced = publish(demo, store_of(s3_server), clock=clock, replacing=True)
    assert replaced.changed
    assert current_manifest(store_of(s3_server))[1].synthetic


def test_a_follower_drops_a_stale_journal_and_checks_the_files_it_reuses(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """A `-wal` left from when the host ran its own ingestion is removed, so the published run
    history is what it reads; a held file changed in place (same size) is downloaded again,
    not linked into the next version."""
    publisher = host(tmp_path / "ingester", s3_server, lake=demo_dir)
    follower = host(tmp_path / "web", s3_server)
    web = Follower(follower, store_of(s3_server), clock=clock)
    publish(publisher, store_of(s3_server), clock=clock)
    follower.layout.state_dir.mkdir(parents=True)
    stale = follower.layout.state_dir / "chicrime.db-wal"
    stale.write_bytes(b"not this database's journal")
    assert web.sync() == "switched"
    assert not stale.exists()
    assert last_run_id(follower) == last_run_id(publisher)

    old_version = version_of(follower)
    assert old_version is not None
    (untouched,) = sorted((follower.layout.lake_dir / old_version).glob("year=2024/month=06/*"))
    damaged = bytearray(untouched.read_bytes())
    damaged[-100] ^= 0xFF
    untouched.write_bytes(bytes(damaged))
    new_version = change(publisher, 1)
    publish(publisher, store_of(s3_server), clock=clock)
    assert web.sync() == "switched"
    fresh = follower.layout.lake_dir / new_version / "year=2024" / "month=06" / untouched.name
    assert fresh.stat().st_ino != untouched.stat().st_ino
    assert version_files(follower, new_version) == version_files(publisher, new_version)


def test_an_unreadable_served_manifest_is_replaced_only_when_replacing(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """If the manifest the pointer names cannot be read, a publish cannot tell what it would
    replace and stops; `replacing=True` publishes over it."""
    a = host(tmp_path / "a", s3_server, lake=demo_dir)
    first = publish(a, store_of(s3_server), clock=clock)
    s3_server.client().put_object(
        Bucket=s3_server.bucket, Key=f"{PREFIX}/{first.manifest}", Body=b"{not json"
    )
    change(a, 1)
    with pytest.raises(ObjectStoreError, match="is not a chicrime manifest"):
        publish(a, store_of(s3_server), clock=clock)
    replaced = publish(a, store_of(s3_server), clock=clock, replacing=True)
    assert (replaced.changed, current_manifest(store_of(s3_server))[0]) == (True, replaced.manifest)


def test_a_pointer_deleted_during_a_publish_is_a_conflict(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """If `current.json` vanishes between the read and the `If-Match` switch, the publish is
    refused as a conflict and withdraws its manifest, as when another publisher wins."""
    a = host(tmp_path / "a", s3_server, lake=demo_dir)
    first = publish(a, store_of(s3_server), clock=clock)
    change(a, 1)

    class PointerDeleted(ObjectStore):
        def write(
            self, key: str, body: bytes, *, if_match: str | None = None, if_absent: bool = False
        ) -> str:
            if key == "current.json":
                s3_server.client().delete_object(
                    Bucket=s3_server.bucket, Key=f"{PREFIX}/current.json"
                )
            return super().write(key, body, if_match=if_match, if_absent=if_absent)

    with pytest.raises(PublishConflictError, match="it now serves nothing"):
        publish(a, PointerDeleted(url(s3_server), client=s3_server.client()), clock=clock)
    assert manifest_keys(store_of(s3_server)) == [first.manifest]


@pytest.mark.parametrize("damage", ["deleted", "overwritten"])
def test_a_publication_that_cannot_be_fetched_whole_is_never_switched_to(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path, damage: str
) -> None:
    """A missing or altered object fails the sync, names the object, and leaves the lake on the
    old version with nothing of the new one in lake/; the next publish finds the object missing
    (or of the wrong size) in the store's listing and uploads it again, and the sync switches."""
    publisher = host(tmp_path / "ingester", s3_server, lake=demo_dir)
    follower = host(tmp_path / "web", s3_server)
    web = Follower(follower, store_of(s3_server), clock=clock)
    old_version = publish(publisher, store_of(s3_server), clock=clock).version
    _, old = current_manifest(store_of(s3_server))
    assert web.sync() == "switched"
    new_version = change(publisher, 1)
    publish(publisher, store_of(s3_server), clock=clock)
    _, new = current_manifest(store_of(s3_server))
    (torn,) = [
        e
        for e in new.entries
        if e.path.startswith(f"lake/{new_version}/")
        and e.sha256 not in {o.sha256 for o in old.entries}
    ]
    s3 = s3_server.client()
    if damage == "deleted":
        s3.delete_object(Bucket=s3_server.bucket, Key=f"{PREFIX}/{torn.key}")
    else:
        s3.put_object(Bucket=s3_server.bucket, Key=f"{PREFIX}/{torn.key}", Body=b"not parquet")
    lake_before = tree(follower.layout.lake_dir)

    assert web.sync() == "failed"
    assert os.readlink(follower.layout.lake_dir / "crimes") == old_version
    assert tree(follower.layout.lake_dir) == lake_before
    assert not [p for p in follower.layout.lake_dir.iterdir() if new_version in p.name]
    status = SyncStatus.load(follower.layout.follow_status)
    assert status is not None
    assert status.failing_since == "2026-11-27T12:00:00Z"
    assert status.error is not None
    assert torn.key in status.error
    assert status.version == old_version

    mended = publish(publisher, store_of(s3_server), clock=clock)
    assert (mended.changed, mended.files_uploaded, mended.bytes_uploaded) == (
        False,
        1,
        torn.size,
    )
    assert web.sync() == "switched"
    assert os.readlink(follower.layout.lake_dir / "crimes") == new_version
    assert version_files(follower, new_version) == version_files(publisher, new_version)
    status = SyncStatus.load(follower.layout.follow_status)
    assert status is not None
    assert (status.failing_since, status.error, status.version) == (None, None, new_version)


def test_a_follower_keeps_serving_while_the_store_is_away(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """With the store gone the sync fails, the lake stays readable and unchanged, and status,
    health and freshness say so; when the store is back the follower switches again."""
    publisher = host(tmp_path / "ingester", s3_server, lake=demo_dir)
    follower = host(tmp_path / "web", s3_server)
    store = store_of(s3_server)
    web = Follower(follower, store, clock=clock)
    version = publish(publisher, store, clock=clock).version
    assert web.sync() == "switched"
    rows = Lake(follower.layout.lake_dir).summary().rows
    assert rows > 0

    s3_server.stop()
    assert web.sync() == "failed"
    assert Lake(follower.layout.lake_dir).summary() == Lake(publisher.layout.lake_dir).summary()
    assert Lake(follower.layout.lake_dir).summary().rows == rows
    assert version_of(follower) == version
    status = SyncStatus.load(follower.layout.follow_status)
    assert status is not None
    assert status.failing_since == "2026-11-27T12:00:00Z"
    report = health_report(follower, 36, NOW)
    following = [p for p in report["problems"] if p.startswith("following s3://")]
    assert len(following) == 1, report["problems"]
    assert following[0].startswith(f"following {url(s3_server)} has failed since 2026-11-27")
    assert report["follow"]["failing_since"] == "2026-11-27T12:00:00Z"
    assert report["lake"]["rows"] == rows
    freshness = Analytics(follower.data_dir, cache=False, follows_store=True).freshness()
    assert freshness.rows == rows
    assert freshness.store_problem == (
        "has not been able to follow the shared store since 2026-11-27 12:00:00 UTC; it shows "
        "the version published 2026-11-27 12:00:00 UTC"
    )
    # A host serving without LAKE_URL (no longer following) does not repeat an old failure.
    assert Analytics(follower.data_dir, cache=False).freshness().store_problem is None

    s3_server.start()
    s3_server.create_bucket(s3_server.bucket)
    assert web.sync() == "waiting"
    republished = publish(publisher, store_of(s3_server), clock=clock)
    assert (republished.version, republished.changed) == (version, True)
    assert web.sync() == "switched"
    assert version_of(follower) == version
    status = SyncStatus.load(follower.layout.follow_status)
    assert status is not None
    assert (status.failing_since, status.manifest) == (None, republished.manifest)
    assert (
        Analytics(follower.data_dir, cache=False, follows_store=True).freshness().store_problem
        is None
    )


def test_retention_keeps_the_current_publication_and_what_it_uses(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """With zero retention only the current manifest and its objects remain after three
    publications; with 24 h nothing is deleted; `expire` keeps what the pointer replaced after
    the cutoff, and deletes a manifest it never named only once that is older than the cutoff."""
    # The clock runs an hour ahead of the store's own time, a minute further each call.
    start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    ticks = itertools.count()

    def ahead() -> dt.datetime:
        return start + dt.timedelta(minutes=next(ticks))

    store = store_of(s3_server)

    def publish_three(settings: Settings) -> list[tuple[Published, Manifest]]:
        done = []
        for n in range(3):
            if n:
                change(settings, 10 + n, day=f"2024-0{3 + n}-25")
            if n == 2:
                time.sleep(1.1)  # the store's times are whole seconds: the third is a later one
            published = publish(settings, store, clock=ahead)
            assert (published.changed, published.version) == (True, version_of(settings))
            done.append((published, current_manifest(store)[1]))
        return done

    # 24 hours: every manifest and object stays.
    keeping = host(tmp_path / "keeping", s3_server, retention_hours=24, lake=demo_dir)
    kept = publish_three(keeping)
    assert [p.expired for p, _ in kept] == [0, 0, 0]
    assert manifest_keys(store) == sorted(p.manifest for p, _ in kept)
    all_objects = {e.key for _, m in kept for e in m.entries}
    assert {o.key for o in store.objects("objects/")} == all_objects

    # The pointer lists what it replaced, newest first, with when. `expire` with the cutoff a
    # second after the first was replaced: the first goes, with the objects only it used; the
    # second was replaced after the cutoff and stays.
    pointer = read_pointer(store)
    assert pointer is not None
    replaced = pointer[0].replaced
    assert [r.manifest for r in replaced] == [kept[1][0].manifest, kept[0][0].manifest]
    first_replaced = dt.datetime.fromisoformat(replaced[1].until)
    assert first_replaced < dt.datetime.fromisoformat(replaced[0].until)
    only_first = {e.key for e in kept[0][1].entries} - {
        e.key for _, m in kept[1:] for e in m.entries
    }
    assert only_first
    cutoff = first_replaced + dt.timedelta(seconds=1)
    assert expire(store, 0, cutoff) == 1 + len(only_first)
    assert manifest_keys(store) == sorted(p.manifest for p, _ in kept[1:])
    assert {o.key for o in store.objects("objects/")} == all_objects - only_first

    # A manifest the pointer never named (a publish that died before its switch) does not
    # count as replacing anything, and goes once it is older than the retention.
    orphan = "manifests/29990101T000000-dead.json"
    store.write(orphan, kept[2][1].to_json(), if_absent=True)
    # Younger than the retention: perhaps a publish under way elsewhere; it stays.
    assert expire(store, 1, dt.datetime.now(dt.UTC)) == 0
    assert orphan in manifest_keys(store)
    # Two days on: the orphan goes, and so does the second publication (replaced long ago),
    # with the objects only it used; the current one and its objects stay.
    only_second = {e.key for e in kept[1][1].entries} - {e.key for e in kept[2][1].entries}
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    assert expire(store, 24, later) == 2 + len(only_second)
    assert manifest_keys(store) == [kept[2][0].manifest]
    assert {o.key for o in store.objects("objects/")} == {e.key for e in kept[2][1].entries}

    # Zero hours, on a store of its own: after each publish only the current one is left.
    s3_server.create_bucket(other := f"{s3_server.bucket}-zero")
    store = ObjectStore(f"s3://{other}/{PREFIX}", client=s3_server.client())
    zero = load_settings(
        {
            "DATA_DIR": str(tmp_path / "zero"),
            "LAKE_URL": f"s3://{other}/{PREFIX}",
            "LAKE_RETENTION_HOURS": "0",
        },
        None,
    )
    shutil.copytree(demo_dir, zero.data_dir, symlinks=True)
    done = publish_three(zero)
    gone = [
        1 + len({e.key for e in before.entries} - {e.key for e in after.entries})
        for (_, before), (_, after) in itertools.pairwise(m for m in done)
    ]
    assert [p.expired for p, _ in done] == [0, *gone]
    last, manifest = done[-1]
    assert manifest_keys(store) == [last.manifest]
    stored = {o.key for o in store.objects("objects/")}
    assert stored == {e.key for e in manifest.entries}


HASH = "a" * 64
VALID = {
    "format": 1,
    "version": ".v-x",
    "rows": 1,
    "synthetic": False,
    "files": [["lake/.v-x/year=2024/month=01/p.parquet", HASH, 1]],
}


@pytest.mark.parametrize(
    ("path", "digest"),
    [
        ("../evil", HASH),
        ("lake/.v-x/../../etc", HASH),
        ("/abs", HASH),
        ("lake/.v-y/year=2024/month=01/p.parquet", HASH),
        ("lake/.v-x/year=2024/month=01/p.parquet", "A" * 64),
        ("lake/.v-x/year=2024/month=01/p.parquet", "../" + "a" * 61),
        ("lake/.v-x/year=2024/month=01/p\x00.parquet", HASH),
        ("lake/.v-x/year=2024/month=01/p\n.parquet", HASH),
    ],
)
def test_a_manifest_outside_what_a_publication_may_hold_is_refused(path: str, digest: str) -> None:
    """Paths escaping DATA_DIR or the version, and malformed hashes, raise ObjectStoreError."""
    assert Manifest.from_json(json.dumps(VALID).encode(), "ok").entries[0].sha256 == HASH
    hostile = {**VALID, "files": [[path, digest, 1]]}
    with pytest.raises(ObjectStoreError, match=r"s3://b/m\.json is not a chicrime manifest"):
        Manifest.from_json(json.dumps(hostile).encode(), "s3://b/m.json")


@pytest.mark.parametrize(
    "field", [{"rows": 1e999}, {"rows": -1}, {"synthetic": "no"}, {"files": [["x", HASH, 1e999]]}]
)
def test_a_manifest_with_impossible_values_is_refused(field: dict[str, object]) -> None:
    """Numbers no lake has (infinite, negative) and a non-boolean flag raise ObjectStoreError,
    never another exception a caller would not expect."""
    with pytest.raises(ObjectStoreError, match=r"^s3://b/m\.json is not a chicrime manifest"):
        Manifest.from_json(json.dumps({**VALID, **field}).encode(), "s3://b/m.json")


def test_a_follower_pointed_at_a_hostile_manifest_writes_nothing_outside_data_dir(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """A pointer to a manifest naming `../evil` fails the sync; nothing lands outside DATA_DIR
    and the lake stays on its version."""
    follower = host(tmp_path / "web" / "data", s3_server, lake=demo_dir)
    version = version_of(follower)
    body = b"evil"
    digest = hashlib.sha256(body).hexdigest()
    s3 = s3_server.client()
    s3.put_object(Bucket=s3_server.bucket, Key=f"{PREFIX}/objects/{digest[:2]}/{digest}", Body=body)
    # Each path, joined to DATA_DIR/staging/follow, would land in tmp_path: outside DATA_DIR.
    escapes = ("../../../evil", "lake/.v-evil/../../../../../evil2", str(tmp_path / "evil3"))
    manifest = {
        "format": 1,
        "version": ".v-evil",
        "rows": 1,
        "synthetic": False,
        "files": [[path, digest, len(body)] for path in escapes],
    }
    s3.put_object(
        Bucket=s3_server.bucket, Key=f"{PREFIX}/manifests/evil.json", Body=json.dumps(manifest)
    )
    pointer = {"manifest": "manifests/evil.json", "version": ".v-evil", "published_at": "x"}
    s3.put_object(Bucket=s3_server.bucket, Key=f"{PREFIX}/current.json", Body=json.dumps(pointer))
    outside = {p for p in tree(tmp_path) if not p.startswith("web/data")}
    inside = tree(follower.layout.lake_dir)

    assert Follower(follower, store_of(s3_server), clock=clock).sync() == "failed"
    assert {p for p in tree(tmp_path) if not p.startswith("web/data")} == outside
    assert not [p for p in ("evil", "evil2", "evil3") if (tmp_path / p).exists()]
    assert tree(follower.layout.lake_dir) == inside
    assert version_of(follower) == version
    assert "is not a chicrime manifest" in follow_error(follower)


def test_a_lake_the_follower_cannot_change_is_a_recorded_failure(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """A `lake/crimes` that is a plain directory (not chicrime's link) fails the sync with the
    lake's own advice in `state/follow.json`, and the directory is left as it was."""
    publish(host(tmp_path / "ingester", s3_server, lake=demo_dir), store_of(s3_server))
    follower = host(tmp_path / "web", s3_server)
    plain = follower.layout.lake_dir / "crimes"
    plain.mkdir(parents=True)
    (plain / "mine.txt").write_text("someone's file")

    assert Follower(follower, store_of(s3_server), clock=clock).sync() == "failed"
    assert "is a plain directory, not chicrime's versioned lake link" in follow_error(follower)
    assert sorted(p.name for p in follower.layout.lake_dir.iterdir()) == ["crimes"]
    assert (plain / "mine.txt").read_text() == "someone's file"


def test_a_full_disk_on_the_follower_is_a_recorded_failure_that_frees_its_space(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """A DATA_DIR too small for the publication (ENOSPC mid-download) fails the sync, removes
    the partial download (so the failure can be recorded) and switches nothing."""
    publish(host(tmp_path / "ingester", s3_server, lake=demo_dir), store_of(s3_server))
    with tmpfs(tmp_path / "web", 1) as mount:
        follower = host(mount, s3_server)
        assert Follower(follower, store_of(s3_server), clock=clock).sync() == "failed"
        assert "No space left on device" in follow_error(follower)
        assert not (mount / "staging" / "follow").exists()
        assert version_of(follower) is None


def test_an_empty_store_leaves_the_lake_alone(
    tmp_path: Path, s3_server: S3Server, demo_dir: Path
) -> None:
    """Before the first publication a sync waits and touches nothing in lake/."""
    follower = host(tmp_path / "web", s3_server, lake=demo_dir)
    before = tree(follower.layout.lake_dir)
    version = version_of(follower)

    assert Follower(follower, store_of(s3_server), clock=clock).sync() == "waiting"
    assert Follower(follower, store_of(s3_server), clock=clock).sync() == "waiting"
    assert tree(follower.layout.lake_dir) == before
    assert version_of(follower) == version
    assert "holds no publication yet" in follow_error(follower)
