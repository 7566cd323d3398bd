"""`chicrime verify`: every kind of damage is found, and `--repair` mends it from upstream."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from chicrime.demo import write_demo_lake
from chicrime.errors import DataDirConflictError
from chicrime.ingest.pipeline import ingest_once, repair_lake
from chicrime.settings import Settings
from chicrime.store.lake import Lake
from chicrime.store.run import open_state
from chicrime.store.verify import verify_lake
from tests.conftest import expected_lake, lake_rows, read_lake
from tests.socrata_server import SocrataDataset
from tests.test_ingest import base_rows, clock, runs_table


def verify(settings: Settings) -> list[str]:
    state = open_state(settings)
    try:
        report = verify_lake(Lake(settings.layout.lake_dir), state, settings.dataset_id)
    finally:
        state.close()
    return [problem.describe() for problem in report.problems]


def partition_file(settings: Settings, year: int, month: int) -> Path:
    (path,) = (settings.layout.lake_dir / "crimes" / f"year={year}" / f"month={month:02d}").glob(
        "*"
    )
    return path.resolve()


@pytest.fixture
def ingested(dataset: SocrataDataset, settings: Settings) -> Settings:
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    return settings


def test_a_healthy_lake_verifies_clean(ingested: Settings) -> None:
    """Ten rows in six files, state in agreement: no problem."""
    state = open_state(ingested)
    report = verify_lake(Lake(ingested.layout.lake_dir), state, ingested.dataset_id)
    state.close()
    assert (report.clean, report.files, report.rows) == (True, 6, 10)


def test_a_truncated_file_is_unreadable_and_repair_refetches_its_month(
    ingested: Settings,
) -> None:
    """A cut-off file is named; the repair rebuilds its month from upstream, exactly."""
    path = partition_file(ingested, 2024, 2)
    path.write_bytes(path.read_bytes()[:-200])

    problems = verify(ingested)
    report, result = repair_lake(ingested, clock=clock)

    assert len(problems) == 1
    assert problems[0].startswith(f"unreadable: {path}: ")
    assert report.damaged_partitions == [(2024, 2)]
    assert result is not None
    assert result.totals.rows_fetched == 2
    assert lake_rows(ingested.data_dir) == expected_lake(base_rows())
    assert verify(ingested) == []
    assert runs_table(ingested)[-1]["kind"] == "repair"


def test_corrupt_pages_behind_an_intact_footer_are_found(ingested: Settings) -> None:
    """Bytes overwritten inside the data (footer intact) fail the full decode."""
    path = partition_file(ingested, 2024, 6)
    data = bytearray(path.read_bytes())
    data[4:404] = b"\x55" * 400
    path.write_bytes(bytes(data))

    problems = verify(ingested)
    repair_lake(ingested, clock=clock)

    assert [p.split(":")[0] for p in problems] == ["unreadable"]
    assert lake_rows(ingested.data_dir) == expected_lake(base_rows())


def test_a_file_of_another_schema_is_damage(ingested: Settings) -> None:
    """A file whose columns are not the lake's is reported and replaced by the repair."""
    path = partition_file(ingested, 2024, 4)
    pl.read_parquet(path).drop("ward").write_parquet(path)

    problems = verify(ingested)
    repair_lake(ingested, clock=clock)

    assert len(problems) == 1
    assert problems[0].startswith(f"schema: {path}: columns id Int64, case_number String")
    assert lake_rows(ingested.data_dir) == expected_lake(base_rows())


def test_a_row_in_the_wrong_partition_is_found_and_moved_back(ingested: Settings) -> None:
    """A March row written into January's file is reported; the repair leaves one right copy."""
    january, march = partition_file(ingested, 2024, 1), partition_file(ingested, 2024, 3)
    stray = pl.read_parquet(march)
    pl.concat([pl.read_parquet(january), stray]).write_parquet(january)

    problems = verify(ingested)
    repair_lake(ingested, clock=clock)

    assert problems == [
        f"partition: {january}: 1 row(s) dated outside 2024-01 (ids 104)",
        "duplicate: 1 id(s) held more than once (ids 104)",
    ]
    assert lake_rows(ingested.data_dir) == expected_lake(base_rows())


def test_an_id_held_twice_is_refetched_by_id(ingested: Settings) -> None:
    """The same id in two healthy partitions: the repair keeps upstream's one copy."""
    june = partition_file(ingested, 2024, 6)
    copy = pl.read_parquet(june).filter(pl.col("id") == 109)
    moved = copy.with_columns(
        pl.lit(dt.datetime(2024, 5, 2)).alias("date"), pl.lit(5, pl.Int8).alias("month")
    )
    may = partition_file(ingested, 2024, 5)
    pl.concat([pl.read_parquet(may), moved]).sort("date", "id").write_parquet(may)

    problems = verify(ingested)
    report, _result = repair_lake(ingested, clock=clock)

    assert problems == ["duplicate: 1 id(s) held more than once (ids 109)"]
    assert (report.damaged_partitions, report.suspect_ids) == ([], [109])
    assert lake_rows(ingested.data_dir) == expected_lake(base_rows())
    assert read_lake(ingested.data_dir).filter(pl.col("id") == 109).height == 1


def test_a_lake_ahead_of_the_state_is_reported_and_reconciled(ingested: Settings) -> None:
    """A run killed between lake swap and state commit: verify says so; repair records it."""
    with sqlite3.connect(ingested.layout.state_db) as db:
        db.execute("UPDATE runs SET lake_version = '.v-r000000-000000'")

    problems = verify(ingested)
    _report, result = repair_lake(ingested, clock=clock)

    assert problems == [
        "state: the newest successful run #1 recorded lake version .v-r000000-000000, but the "
        f"lake is at {Lake(ingested.layout.lake_dir).version()}: a run stopped between its lake "
        "commit and its state commit"
    ]
    assert result is not None
    assert result.totals.partitions_rewritten == 0
    assert verify(ingested) == []


def test_a_watermark_after_the_lake_is_reported(ingested: Settings) -> None:
    """A watermark beyond the newest incident would make later runs skip records."""
    with sqlite3.connect(ingested.layout.state_db) as db:
        db.execute("UPDATE ingest_state SET watermark_max_date = '2025-01-01T00:00:00'")

    assert verify(ingested) == [
        "state: the watermark 2025-01-01T00:00:00 is after the newest incident in the lake "
        "(2024-06-28T06:05:00): later runs would skip records"
    ]
    repair_lake(ingested, clock=clock)
    assert verify(ingested) == []


def test_a_clean_lake_is_not_repaired(ingested: Settings) -> None:
    """Nothing to mend: no run is recorded and the version stays."""
    version = Lake(ingested.layout.lake_dir).version()
    report, result = repair_lake(ingested, clock=clock)
    assert (report.clean, result) == (True, None)
    assert Lake(ingested.layout.lake_dir).version() == version
    assert len(runs_table(ingested)) == 1


def test_a_demo_lake_is_never_repaired_from_upstream(settings: Settings) -> None:
    """There is no upstream for synthetic rows: the repair refuses and names `chicrime demo`."""
    demo = dataclasses.replace(settings, dataset_id="ijzp-q8t2")
    write_demo_lake(demo, start=dt.date(2024, 5, 1), end=dt.date(2024, 5, 3), seed=1, clock=clock)
    path = partition_file(demo, 2024, 5)
    path.write_bytes(path.read_bytes()[:100])

    with pytest.raises(DataDirConflictError, match="run `chicrime demo` again"):
        repair_lake(demo, clock=clock)


def test_a_damaged_history_file_is_reported_and_the_lake_is_still_whole(
    dataset: SocrataDataset, ingested: Settings
) -> None:
    """A truncated record-history file is named; no partition is taken for damaged."""
    changed = {**base_rows()[0], "primary_type": "THEFT", "updated_on": "2024-06-30T12:00:00.000"}
    dataset.upsert([changed])
    ingest_once(ingested, clock=clock)
    lake = Lake(ingested.layout.lake_dir)
    (history,) = sorted((lake.root / "revisions").glob("*/*.parquet"))
    history.resolve().write_bytes(history.read_bytes()[:-20])

    state = open_state(ingested)
    report = verify_lake(lake, state, ingested.dataset_id)
    state.close()
    (problem,) = report.problems
    assert (problem.kind, problem.path) == ("history", history.parent.resolve() / history.name)
    assert "the lake is whole, but /changes, `chicrime changes` and `export --as-of` fail" in (
        problem.detail
    )
    assert report.damaged_partitions == []
