"""Properties: for any sequence of upstream batches the lake holds the latest copy of each live
id; and under any schedule of protocol faults a run commits that state or nothing."""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chicrime.errors import ChicrimeError
from chicrime.ingest.pipeline import ingest_once
from chicrime.settings import Settings
from chicrime.store.facts import PartitionFacts, VersionFacts, read_facts
from chicrime.store.lake import Lake
from tests.conftest import api_row, expected_lake, lake_rows
from tests.socrata_server import Fault, SocrataDataset, SocrataServer
from tests.test_rollups import committed_rollups, rollups_from_scratch

IDS = st.integers(min_value=1, max_value=40)
DATES = st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2024, 6, 30))
# One upstream edit: a record (re)published with a date, or a deletion.
EDITS = st.one_of(
    st.tuples(st.just("put"), IDS, DATES, st.sampled_from(["THEFT", "BATTERY", "ASSAULT"])),
    st.tuples(st.just("delete"), IDS, st.none(), st.none()),
)
BATCHES = st.lists(st.lists(EDITS, max_size=12), min_size=1, max_size=4)
Edit = tuple[str, int, dt.datetime | None, str | None]


def apply_edits(
    dataset: SocrataDataset, live: dict[int, dict[str, object]], batch: list[Edit], updated: str
) -> None:
    """Apply one batch of edits upstream and to `live`, the expected live rows."""
    for action, row_id, date, kind in batch:
        if action == "delete":
            live.pop(row_id, None)
            dataset.delete([row_id])
        else:
            assert date is not None
            row = api_row(row_id, date.isoformat(timespec="seconds"), updated, primary_type=kind)
            live[row_id] = row
            dataset.upsert([row])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(batches=BATCHES, page_limit=st.integers(min_value=1, max_value=7))
def test_lake_equals_latest_version_of_each_live_id(
    batches: list[list[Edit]], page_limit: int
) -> None:
    """Inserts, updates, deletes and date moves in any order end as upstream's live rows, with
    facts and rollups equal to those worked out afresh from them."""
    dataset = SocrataDataset([])
    live: dict[int, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp, SocrataServer({"ijzp-q8t2": dataset}) as server:
        # A window reaching back past every date: every run sees every live row, so every
        # upstream deletion is inside the re-pulled window.
        config = Settings(
            soda_base_url=server.base_url,
            data_dir=Path(tmp),
            start_date=dt.date(2022, 12, 1),
            backfill_days=1000,
            page_limit=page_limit,
        )
        for number, batch in enumerate(batches):
            apply_edits(dataset, live, batch, f"2024-07-{number + 1:02d}T00:00:00.000")
            ingest_once(config, clock=lambda: dt.datetime(2024, 7, 20, tzinfo=dt.UTC))
            assert lake_rows(Path(tmp)) == expected_lake(list(live.values()))
            assert committed_facts(Path(tmp)) == facts_of_lake(Path(tmp))
            assert committed_rollups(Path(tmp)) == rollups_from_scratch(Path(tmp))


def committed_facts(data_dir: Path) -> VersionFacts | None:
    lake = Lake(data_dir / "lake")
    version = lake.version()
    assert version is not None
    return read_facts(lake.root, version)


def facts_of_lake(data_dir: Path) -> VersionFacts:
    """The facts of the current lake, worked out from its rows partition by partition."""
    lake = Lake(data_dir / "lake")
    return VersionFacts(
        {
            partition: PartitionFacts.of(lake.scan([partition]))
            for partition in lake.partition_files()
        }
    )


# Misbehaviours a run must survive, each consumed by one request: retryable statuses, dropped
# and truncated answers, bodies of the wrong shape, and an empty page where rows were counted.
FAULTS = st.sampled_from(
    [
        Fault.status(503),
        Fault.status(429, retry_after=0),
        Fault.status(202),
        Fault.drop(),
        Fault.truncate(),
        Fault.status(200, body=b"{}"),
        Fault.status(200, body=b"null"),
        Fault.status(200, body=b"[]"),
        Fault.status(200, body=b'[{"count": "many"}]'),
    ]
)
# A fault schedule: for each request in order, None (answer normally) or a fault.
SCHEDULES = st.lists(st.one_of(st.none(), FAULTS), max_size=14)


def lake_files(data_dir: Path) -> dict[str, bytes]:
    root = data_dir / "lake" / "crimes"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("year=*/*/*"))}


def watermark(data_dir: Path) -> tuple[object, ...] | None:
    with sqlite3.connect(data_dir / "state" / "chicrime.db") as db:
        return db.execute(
            "SELECT watermark_max_date, watermark_max_updated_on, last_success_at FROM ingest_state"
        ).fetchone()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    batches=st.lists(st.tuples(st.lists(EDITS, max_size=10), SCHEDULES), min_size=1, max_size=3),
    page_limit=st.integers(min_value=1, max_value=5),
    page_cap=st.one_of(st.none(), st.integers(min_value=1, max_value=3)),
)
def test_a_run_under_faults_commits_the_new_state_or_nothing(
    batches: list[tuple[list[Edit], list[Fault | None]]],
    page_limit: int,
    page_cap: int | None,
) -> None:
    """Whatever upstream does between runs and however requests fail, a run leaves either the
    exact new state or exactly the previous lake and watermark; a clean run then catches up."""
    dataset = SocrataDataset([])
    live: dict[int, dict[str, object]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        SocrataServer({"ijzp-q8t2": dataset}, max_page_rows=page_cap) as server,
    ):
        data_dir = Path(tmp)
        config = Settings(
            soda_base_url=server.base_url,
            data_dir=data_dir,
            start_date=dt.date(2022, 12, 1),
            backfill_days=1000,
            page_limit=page_limit,
            max_delete_percent=100,
        )
        run = functools.partial(
            ingest_once, config, clock=lambda: dt.datetime(2024, 7, 20, tzinfo=dt.UTC)
        )
        run()  # an empty first run: state exists from here on
        for number, (batch, schedule) in enumerate(batches):
            apply_edits(dataset, live, batch, f"2024-07-{number + 1:02d}T00:00:00.000")
            before_files, before_state = lake_files(data_dir), watermark(data_dir)
            server.faults.extend(fault or Fault.slow(0) for fault in schedule)
            try:
                run()
            except ChicrimeError:
                assert lake_files(data_dir) == before_files
                assert watermark(data_dir) == before_state
                server.faults.clear()
                run()
            assert lake_rows(data_dir) == expected_lake(list(live.values()))
            server.faults.clear()
