"""The SQLite state store: schema, migrations, run bookkeeping and the watermark."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chicrime.errors import StateError
from chicrime.store.state import (
    MIGRATIONS,
    IngestState,
    RunRecord,
    RunTotals,
    StateStore,
    StateView,
)

DATASET = "ijzp-q8t2"
STARTED = dt.datetime(2024, 2, 10, 6, 44, 5, tzinfo=dt.UTC)
FINISHED = dt.datetime(2024, 2, 10, 6, 51, 30, tzinfo=dt.UTC)
WINDOW_START = dt.datetime(2024, 1, 27, 0, 44)
WATERMARK_BEFORE = dt.datetime(2024, 2, 9, 23, 58)
WATERMARK_AFTER = dt.datetime(2024, 2, 10, 0, 44)
UPDATED_AFTER = dt.datetime(2024, 2, 10, 0, 50, 12)
TOTALS = RunTotals(
    rows_fetched=1200,
    rows_quarantined=3,
    rows_written=1197,
    rows_new=250,
    rows_deleted=2,
    partitions_rewritten=4,
    lake_version="v000007",
    rows_revised=41,
)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "chicrime.db"


@pytest.fixture
def store(db_path: Path):
    state = StateStore(db_path)
    yield state
    state.close()


def query(path: Path, sql: str) -> list[tuple]:
    """Read the database with plain sqlite3, as a user inspecting it would."""
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchall()


def start(store: StateStore, **overrides) -> int:
    arguments = {
        "dataset_id": DATASET,
        "kind": "ingest",
        "started_at": STARTED,
        "window_start": WINDOW_START,
        "updated_since": None,
        "watermark_before": WATERMARK_BEFORE,
        "pid": 4242,
    }
    return store.start_run(**{**arguments, **overrides})


def finish(store: StateStore, run_id: int, **overrides) -> None:
    """Finish a run successfully with the module's standard counts and watermark."""
    arguments = {
        "dataset_id": DATASET,
        "finished_at": FINISHED,
        "totals": TOTALS,
        "watermark_max_date": WATERMARK_AFTER,
        "watermark_max_updated_on": UPDATED_AFTER,
        "backfill_days": 14,
    }
    store.finish_success(run_id, **{**arguments, **overrides})


@pytest.mark.usefixtures("store")
def test_fresh_store_creates_tables_in_wal_mode_at_latest_version(db_path):
    """A new database gets both tables, WAL journaling and the newest schema version."""
    tables = query(db_path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")

    assert [name for (name,) in tables if not name.startswith("sqlite_")] == [
        "ingest_state",
        "runs",
    ]
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert query(db_path, "PRAGMA user_version") == [(len(MIGRATIONS),)]


def test_fresh_store_has_no_runs_and_no_state(store):
    """Before any run there is no run history and no state for the dataset."""
    assert store.recent_runs() == []
    assert store.ingest_state(DATASET) is None


def test_start_run_records_a_running_row(store, db_path):
    """`start_run` inserts a `running` row with UTC `Z` start and zone-less wall-clock times."""
    run_id = start(store, updated_since=UPDATED_AFTER)

    assert run_id == 1
    rows = query(
        db_path,
        "SELECT run_id, dataset_id, kind, status, started_at, finished_at, window_start,"
        " updated_since, watermark_before, pid FROM runs",
    )
    assert rows == [
        (
            1,
            DATASET,
            "ingest",
            "running",
            "2024-02-10T06:44:05Z",
            None,
            "2024-01-27T00:44:00",
            "2024-02-10T00:50:12",
            "2024-02-09T23:58:00",
            4242,
        )
    ]
    assert query(
        db_path, "SELECT dataset_id, last_run_at, watermark_max_date FROM ingest_state"
    ) == [(DATASET, "2024-02-10T06:44:05Z", None)]


def test_event_times_are_stored_in_utc_whatever_the_zone_given(store, db_path):
    """An aware start time in Chicago time is stored as the same instant in UTC with a `Z`."""
    chicago_start = dt.datetime(2024, 2, 10, 0, 44, 5, tzinfo=ZoneInfo("America/Chicago"))

    start(store, started_at=chicago_start)

    assert query(db_path, "SELECT started_at FROM runs") == [("2024-02-10T06:44:05Z",)]


def test_finish_success_writes_counts_and_watermark(store, db_path):
    """A successful finish writes every count and the new watermark to `runs` and state."""
    run_id = start(store)

    finish(store, run_id)

    assert query(
        db_path,
        "SELECT status, finished_at, rows_fetched, rows_quarantined, rows_written, rows_new,"
        " rows_deleted, partitions_rewritten, lake_version, watermark_before, watermark_after,"
        " error FROM runs",
    ) == [
        (
            "success",
            "2024-02-10T06:51:30Z",
            1200,
            3,
            1197,
            250,
            2,
            4,
            "v000007",
            "2024-02-09T23:58:00",
            "2024-02-10T00:44:00",
            None,
        )
    ]
    assert query(
        db_path,
        "SELECT dataset_id, watermark_max_date, watermark_max_updated_on, last_run_at,"
        " last_success_at, backfill_days, rows_last_run FROM ingest_state",
    ) == [
        (
            DATASET,
            "2024-02-10T00:44:00",
            "2024-02-10T00:50:12",
            "2024-02-10T06:44:05Z",
            "2024-02-10T06:51:30Z",
            14,
            1200,
        )
    ]


def test_finished_run_reads_back_through_the_store(store):
    """`recent_runs` and `ingest_state` return exactly what a successful run wrote."""
    run_id = start(store)
    finish(store, run_id)

    assert store.recent_runs() == [
        RunRecord(
            run_id=run_id,
            dataset_id=DATASET,
            kind="ingest",
            status="success",
            started_at="2024-02-10T06:44:05Z",
            finished_at="2024-02-10T06:51:30Z",
            window_start="2024-01-27T00:44:00",
            updated_since=None,
            rows_fetched=1200,
            rows_quarantined=3,
            rows_written=1197,
            rows_new=250,
            rows_deleted=2,
            partitions_rewritten=4,
            watermark_before="2024-02-09T23:58:00",
            watermark_after="2024-02-10T00:44:00",
            lake_version="v000007",
            pid=4242,
            error=None,
            rows_revised=41,
        )
    ]
    assert store.ingest_state(DATASET) == IngestState(
        dataset_id=DATASET,
        watermark_max_date=WATERMARK_AFTER,
        watermark_max_updated_on=UPDATED_AFTER,
        last_run_at="2024-02-10T06:44:05Z",
        last_success_at="2024-02-10T06:51:30Z",
        backfill_days=14,
        rows_last_run=1200,
    )


def test_state_persists_across_reopening(store, db_path):
    """A second StateStore on the same file sees the committed run and watermark."""
    run_id = start(store)
    finish(store, run_id, watermark_max_updated_on=None)
    store.close()

    reopened = StateStore(db_path)
    try:
        state = reopened.ingest_state(DATASET)
        assert state is not None
        assert state.watermark_max_date == WATERMARK_AFTER
        assert [run.status for run in reopened.recent_runs()] == ["success"]
    finally:
        reopened.close()


def test_finish_failed_records_error_and_keeps_watermark(store, db_path):
    """A failed run records its error; the watermark stays where the last success left it."""
    first = start(store)
    finish(store, first)
    second_started = dt.datetime(2024, 2, 11, 6, 0, tzinfo=dt.UTC)
    second = start(store, started_at=second_started, watermark_before=WATERMARK_AFTER)

    store.finish_failed(
        second,
        finished_at=dt.datetime(2024, 2, 11, 6, 5, tzinfo=dt.UTC),
        error="API kept failing: HTTP 503",
        rows_fetched=50_000,
    )

    assert query(
        db_path,
        "SELECT run_id, status, finished_at, error, rows_fetched, watermark_after FROM runs"
        " ORDER BY run_id",
    ) == [
        (first, "success", "2024-02-10T06:51:30Z", None, 1200, "2024-02-10T00:44:00"),
        (second, "failed", "2024-02-11T06:05:00Z", "API kept failing: HTTP 503", 50_000, None),
    ]
    assert store.ingest_state(DATASET) == IngestState(
        dataset_id=DATASET,
        watermark_max_date=WATERMARK_AFTER,
        watermark_max_updated_on=UPDATED_AFTER,
        last_run_at="2024-02-11T06:00:00Z",
        last_success_at="2024-02-10T06:51:30Z",
        backfill_days=14,
        rows_last_run=1200,
    )


def test_recent_runs_lists_newest_first_up_to_limit(store):
    """`recent_runs(limit)` returns the newest `limit` runs, newest first."""
    ids = [start(store, pid=pid) for pid in (1, 2, 3)]

    assert [run.run_id for run in store.recent_runs(limit=2)] == [ids[2], ids[1]]
    assert [run.pid for run in store.recent_runs()] == [3, 2, 1]


def test_fail_abandoned_runs_marks_running_rows_failed(store, db_path):
    """Runs left `running` become `failed` with an "interrupted" error; finished runs are kept."""
    done = start(store)
    finish(store, done, watermark_max_updated_on=None)
    abandoned = [start(store, pid=11), start(store, pid=12)]
    cleanup_time = dt.datetime(2024, 2, 12, 0, 0, tzinfo=dt.UTC)

    assert store.fail_abandoned_runs(finished_at=cleanup_time) == abandoned

    rows = query(db_path, "SELECT run_id, status, finished_at, error FROM runs ORDER BY run_id")
    assert [row[:3] for row in rows] == [
        (done, "success", "2024-02-10T06:51:30Z"),
        (abandoned[0], "failed", "2024-02-12T00:00:00Z"),
        (abandoned[1], "failed", "2024-02-12T00:00:00Z"),
    ]
    assert rows[0][3] is None
    assert rows[1][3] == rows[2][3]
    assert rows[1][3].startswith("interrupted: ")
    assert store.fail_abandoned_runs(finished_at=cleanup_time) == []


def test_older_database_is_migrated_keeping_its_rows(db_path):
    """A version-1 database is upgraded to the newest version; old runs keep their values."""
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:
        db.executescript(MIGRATIONS[0])
        db.execute("PRAGMA user_version = 1")
        db.execute(
            "INSERT INTO runs (started_at, finished_at, status, window_start, rows_fetched,"
            " rows_written, rows_deleted, partitions_rewritten, watermark_before,"
            " watermark_after, error) VALUES ('2023-05-01T10:00:00Z', '2023-05-01T10:02:00Z',"
            " 'success', '2023-04-17T00:00:00', 10, 9, 1, 2, NULL, '2023-05-01T04:00:00', NULL)"
        )
        db.execute(
            "INSERT INTO ingest_state VALUES ('ijzp-q8t2', '2023-05-01T04:00:00',"
            " '2023-05-01T10:00:00Z', '2023-05-01T10:02:00Z', 14, 10)"
        )
    db.close()

    store = StateStore(db_path)
    try:
        runs = store.recent_runs()
        state = store.ingest_state(DATASET)
    finally:
        store.close()

    assert query(db_path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    run_columns = [row[1] for row in query(db_path, "PRAGMA table_info(runs)")]
    for column in ("dataset_id", "kind", "updated_since", "rows_new", "rows_quarantined", "pid"):
        assert column in run_columns
    assert runs == [
        RunRecord(
            run_id=1,
            dataset_id=None,
            kind="ingest",
            status="success",
            started_at="2023-05-01T10:00:00Z",
            finished_at="2023-05-01T10:02:00Z",
            window_start="2023-04-17T00:00:00",
            updated_since=None,
            rows_fetched=10,
            rows_quarantined=None,
            rows_written=9,
            rows_new=None,
            rows_deleted=1,
            partitions_rewritten=2,
            watermark_before=None,
            watermark_after="2023-05-01T04:00:00",
            lake_version=None,
            pid=None,
            error=None,
            rows_revised=None,
        )
    ]
    assert state == IngestState(
        dataset_id=DATASET,
        watermark_max_date=dt.datetime(2023, 5, 1, 4, 0),
        watermark_max_updated_on=None,
        last_run_at="2023-05-01T10:00:00Z",
        last_success_at="2023-05-01T10:02:00Z",
        backfill_days=14,
        rows_last_run=10,
    )


def test_reopening_a_current_database_does_not_migrate_again(store, db_path):
    """Opening an up-to-date database twice keeps its version and its rows."""
    start(store)
    store.close()

    StateStore(db_path).close()

    assert query(db_path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    assert query(db_path, "SELECT count(*) FROM runs") == [(1,)]


def test_database_from_a_newer_chicrime_is_refused(db_path):
    """A schema version above the known migrations raises StateError instead of guessing."""
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()

    with pytest.raises(StateError) as caught:
        StateStore(db_path)

    assert str(caught.value) == (
        f"{db_path}: state database schema version 99 is newer than this chicrime understands "
        f"({len(MIGRATIONS)}); upgrade chicrime"
    )
    assert query(db_path, "PRAGMA user_version") == [(99,)]


def test_directory_in_place_of_database_raises_state_error(tmp_path):
    """A directory at the database path raises StateError naming the path."""
    path = tmp_path / "state" / "chicrime.db"
    path.mkdir(parents=True)

    with pytest.raises(StateError) as caught:
        StateStore(path)

    assert f"cannot use the state database {path}: " in str(caught.value)


def test_garbage_file_in_place_of_database_raises_state_error(db_path):
    """A file that is not SQLite raises StateError naming the path and leaves the file as it was."""
    db_path.parent.mkdir(parents=True)
    garbage = b"this is not a database\n" * 200
    db_path.write_bytes(garbage)

    with pytest.raises(StateError) as caught:
        StateStore(db_path)

    assert f"the state database {db_path} is damaged" in str(caught.value)
    assert "file is not a database" in str(caught.value)
    assert "move it aside" in str(caught.value)
    assert db_path.read_bytes() == garbage


def test_a_reader_reads_a_database_the_writer_has_not_migrated_yet(db_path):
    """After an upgrade the dashboard may read the state before the next run migrates it: the
    runs read back, with what the older schema lacks as unknown."""
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:
        for script in MIGRATIONS[:2]:
            db.executescript(script)
        db.execute("PRAGMA user_version = 2")
        db.execute(
            "INSERT INTO runs (started_at, finished_at, status, kind, rows_written)"
            " VALUES ('2026-11-01T03:15:00Z', '2026-11-01T03:16:00Z', 'success', 'demo', 7)"
        )
    db.close()

    view = StateView(db_path)
    (run,) = view.recent_runs(5)
    assert (run.run_id, run.kind, run.rows_written, run.rows_revised) == (1, "demo", 7, None)
    assert view.last_success() == run
    assert query(db_path, "PRAGMA user_version") == [(2,)]  # a reader never migrates
