"""Record history: what each commit records, and the lake as of any past run rebuilt from it."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chicrime.analytics import Analytics, Filters
from chicrime.errors import LakeError
from chicrime.ingest.pipeline import ingest_once
from chicrime.settings import Settings
from chicrime.store.export import export_lake
from chicrime.store.history import HISTORY_SCHEMA, history_files, read_history
from chicrime.store.lake import Lake
from tests.conftest import api_row, expected_lake, lake_rows
from tests.socrata_server import SocrataDataset, SocrataServer

NOW = dt.datetime(2024, 7, 20, 12, tzinfo=dt.UTC)
IDS = st.integers(min_value=1, max_value=30)
DATES = st.sampled_from(
    [dt.datetime(2023, 3, 5, 1, 30), dt.datetime(2023, 3, 20, 14), dt.datetime(2024, 5, 2, 9, 15)]
)
# One upstream edit: a record (re)published with some values (a put of the same values only
# moves `updated_on`), or a deletion.
EDITS = st.one_of(
    st.tuples(
        st.just("put"),
        IDS,
        DATES,
        st.sampled_from(["THEFT", "BATTERY"]),
        st.booleans(),
        st.sampled_from([None, "41.75", "41.8781136"]),
    ),
    st.tuples(st.just("delete"), IDS, st.none(), st.none(), st.none(), st.none()),
)
BATCHES = st.lists(st.lists(EDITS, max_size=10), min_size=1, max_size=5)
Edit = tuple[str, int, dt.datetime | None, str | None, bool | None, str | None]


def config(server: SocrataServer, data_dir: Path) -> Settings:
    """A window reaching back past every date: every deletion upstream is seen."""
    return Settings(
        soda_base_url=server.base_url,
        data_dir=data_dir,
        start_date=dt.date(2022, 12, 1),
        backfill_days=1000,
    )


def put(
    dataset: SocrataDataset, live: dict[int, dict[str, object]], row: dict[str, object]
) -> None:
    live[int(str(row["id"]))] = row
    dataset.upsert([row])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(batches=BATCHES)
def test_history_replays_every_committed_lake(batches: list[list[Edit]]) -> None:
    """For any sequence of puts, edits, moves and deletions: the lake is upstream's live rows,
    the lake as of every run equals the lake that run committed, and the analytics count it
    as they would count that lake."""
    dataset = SocrataDataset([])
    live: dict[int, dict[str, object]] = {}
    committed: dict[int, list[dict[str, object]]] = {}
    with tempfile.TemporaryDirectory() as tmp, SocrataServer({"ijzp-q8t2": dataset}) as server:
        data_dir = Path(tmp)
        for number, batch in enumerate(batches):
            updated = f"2024-07-{number + 1:02d}T00:00:00.000"
            for action, row_id, date, kind, arrest, latitude in batch:
                if action == "delete":
                    live.pop(row_id, None)
                    dataset.delete([row_id])
                    continue
                assert date is not None
                put(
                    dataset,
                    live,
                    api_row(
                        row_id,
                        date.isoformat(timespec="seconds"),
                        updated,
                        primary_type=kind,
                        arrest=arrest,
                        latitude=latitude,
                    ),
                )
            result = ingest_once(config(server, data_dir), clock=lambda: NOW)
            assert lake_rows(data_dir) == expected_lake(list(live.values()))
            committed[result.run_id] = lake_rows(data_dir)
        lake = Lake(data_dir / "lake")
        analytics = Analytics(data_dir, cache=False)
        for run_id, rows in committed.items():
            assert lake.as_of(run_id).sort("id").collect().to_dicts() == rows, run_id
            for types in ((), ("THEFT",)):
                chosen = [r for r in rows if not types or r["primary_type"] in types]
                selection = Filters(dt.date(2023, 1, 1), dt.date(2024, 12, 31), primary_types=types)
                assert analytics.counts_as_of(selection, run_id) == (
                    len(chosen),
                    sum(bool(r["arrest"]) for r in chosen),
                )


def test_a_run_records_additions_edits_moves_removals_and_touches(tmp_path: Path) -> None:
    """Exact events of one run: a new id, a reclassification with an arrest, a date moved into
    another month, a removal with the whole record, and an `updated_on`-only touch."""
    first = "2024-06-01T10:00:00.000"
    rows = [
        api_row(1, "2024-05-01T08:00:00", first, primary_type="THEFT"),
        api_row(2, "2024-05-02T09:00:00", first),
        api_row(3, "2024-05-03T10:00:00", first, latitude=None),
        api_row(4, "2024-05-04T11:00:00", first),
    ]
    dataset = SocrataDataset(rows)
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings_ = config(server, tmp_path)
        backfill = ingest_once(settings_, clock=lambda: NOW)
        later = "2024-06-05T10:00:00.000"
        dataset.upsert(
            [
                api_row(1, "2024-05-01T08:00:00", later, primary_type="ROBBERY", arrest=True),
                api_row(2, "2024-04-30T23:30:00", later),
                api_row(4, "2024-05-04T11:00:00", later),
                api_row(5, "2023-01-15T12:00:00", later),
            ]
        )
        dataset.delete([3])
        second = ingest_once(settings_, clock=lambda: NOW + dt.timedelta(days=1))

    lake = Lake(tmp_path / "lake")
    history = read_history(lake.root, lake.version()).collect()
    assert history.schema == HISTORY_SCHEMA
    assert backfill.totals.rows_revised == 0
    assert second.totals.rows_revised == 4
    assert history.get_column("run_id").unique().to_list() == [second.run_id]
    assert history.get_column("observed_at").unique().to_list() == [NOW + dt.timedelta(days=1)]
    events = history.select("kind", "id", "field", "before", "after").rows()
    removed_image = [
        ("removed", 3, field, before, None)
        for field, before in [
            ("arrest", "false"),
            ("beat", "0421"),
            ("block", "012XX W MADISON ST"),
            ("case_number", "JA000003"),
            ("community_area", "46"),
            ("date", "2024-05-03T10:00:00.000000"),
            ("description", "DOMESTIC BATTERY SIMPLE"),
            ("district", "004"),
            ("domestic", "true"),
            ("fbi_code", "08B"),
            ("iucr", "0486"),
            ("latitude", None),
            ("location_description", "APARTMENT"),
            ("longitude", "-87.55"),
            ("primary_type", "BATTERY"),
            ("updated_on", "2024-06-01T10:00:00.000000"),
            ("ward", "7"),
        ]
    ]
    assert events == [
        ("changed", 1, "arrest", "false", "true"),
        ("changed", 1, "primary_type", "THEFT", "ROBBERY"),
        ("changed", 1, "updated_on", "2024-06-01T10:00:00.000000", "2024-06-05T10:00:00.000000"),
        ("changed", 2, "date", "2024-05-02T09:00:00.000000", "2024-04-30T23:30:00.000000"),
        ("changed", 2, "updated_on", "2024-06-01T10:00:00.000000", "2024-06-05T10:00:00.000000"),
        *removed_image,
        ("touched", 4, "updated_on", "2024-06-01T10:00:00.000000", "2024-06-05T10:00:00.000000"),
        ("added", 5, None, None, None),
    ]
    # Context columns: the record's new case number, date and type (the old ones if removed).
    assert history.filter(pl.col("id") == 2).get_column("date").unique().to_list() == [
        dt.datetime(2024, 4, 30, 23, 30)
    ]
    assert history.filter(pl.col("id") == 3).get_column("primary_type").unique().to_list() == [
        "BATTERY"
    ]
    # Through the public link, as duckdb or polars users read it.
    public = sorted((lake.root / "revisions").glob("*/*.parquet"))
    assert [f.relative_to(lake.root / "revisions").as_posix() for f in public] == [
        f"observed=2024-07/run-{second.run_id:06d}.parquet"
    ]
    assert pl.read_parquet(public).equals(history)


def reclassify_daily(
    dataset: SocrataDataset, settings_: Settings, days: list[tuple[int, str]]
) -> dict[int, list[dict[str, object]]]:
    """Record 1 reclassified as each (day, type) of `days` says, with a run at noon that day
    (days count from 1 June 2024 on, into July), and the lake each run committed."""
    committed = {}
    for day, kind in days:
        seen = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC) + dt.timedelta(days=day - 1)
        updated = f"{seen:%Y-%m-%dT%H}:00:00.000"
        dataset.upsert([api_row(1, "2024-05-01T08:00:00", updated, primary_type=kind)])
        run = ingest_once(settings_, clock=lambda seen=seen: seen)
        committed[run.run_id] = lake_rows(settings_.data_dir)
    return committed


def history_names(data_dir: Path) -> list[str]:
    """The current version's history files, as month/name."""
    version = Lake(data_dir / "lake").version()
    return [f"{p.parent.name}/{p.name}" for p in history_files(data_dir / "lake", version)]


def test_a_month_no_run_adds_to_any_more_is_merged_into_one_file(tmp_path: Path) -> None:
    """Two runs in June write a file each; the first run in July merges June's two into one
    file, equal to them in run order, and the next version links that file as it is. The lake
    as of each June run is still rebuilt from it."""
    dataset = SocrataDataset([api_row(1, "2024-05-01T08:00:00", "2024-06-01T10:00:00.000")])
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings_ = config(server, tmp_path)
        ingest_once(settings_, clock=lambda: dt.datetime(2024, 6, 2, tzinfo=dt.UTC))
        june_runs = reclassify_daily(dataset, settings_, [(10, "ROBBERY"), (20, "BATTERY")])
        june = pl.read_parquet(sorted((tmp_path / "lake" / "revisions").glob("*/*.parquet")))
        july_runs = reclassify_daily(dataset, settings_, [(32, "THEFT"), (33, "ASSAULT")])
    first, last = june_runs
    assert history_names(tmp_path) == [
        f"observed=2024-06/run-{first:06d}-{last:06d}.parquet",
        *(f"observed=2024-07/run-{run_id:06d}.parquet" for run_id in july_runs),
    ]
    merged = sorted((tmp_path / "lake").glob(".history*/observed=2024-06/run-*-*.parquet"))
    assert len(merged) == 2  # the current version's and the one before, one file
    assert merged[0].samefile(merged[1])
    assert pl.read_parquet(merged[0]).equals(june)
    assert june.get_column("run_id").unique(maintain_order=True).to_list() == [first, last]
    lake = Lake(tmp_path / "lake")
    for run_id, rows in (june_runs | july_runs).items():
        assert lake.as_of(run_id).sort("id").collect().to_dicts() == rows, run_id


def test_a_past_month_that_cannot_be_merged_keeps_its_run_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A June run file that cannot be read: the first July commit links June's files as they
    are, says why, and goes on (merging only saves readers time; it never holds a run up)."""
    dataset = SocrataDataset([api_row(1, "2024-05-01T08:00:00", "2024-06-01T10:00:00.000")])
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings_ = config(server, tmp_path)
        ingest_once(settings_, clock=lambda: dt.datetime(2024, 6, 2, tzinfo=dt.UTC))
        first, last = reclassify_daily(dataset, settings_, [(10, "ROBBERY"), (20, "BATTERY")])
        damaged = sorted((tmp_path / "lake" / "revisions").glob("*/*.parquet"))[0]
        damaged.write_bytes(b"not parquet")
        (july,) = reclassify_daily(dataset, settings_, [(32, "THEFT")])
    assert history_names(tmp_path) == [
        f"observed=2024-06/run-{first:06d}.parquet",
        f"observed=2024-06/run-{last:06d}.parquet",
        f"observed=2024-07/run-{july:06d}.parquet",
    ]
    assert "observed=2024-06 not merged, its run files kept" in caplog.text
    assert not list((tmp_path / "lake").glob(".history*/observed=2024-06/run-*-*.parquet"))


def test_a_run_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    """Same rows again: no new version, no history file; the first backfill records nothing."""
    dataset = SocrataDataset([api_row(1, "2024-05-01T08:00:00")])
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings_ = config(server, tmp_path)
        ingest_once(settings_, clock=lambda: NOW)
        lake = Lake(tmp_path / "lake")
        version = lake.version()
        again = ingest_once(settings_, clock=lambda: NOW)
    assert lake.version() == version
    assert again.totals.rows_revised == 0
    assert history_files(lake.root, version) == []
    assert lake.as_of(1).collect().get_column("id").to_list() == [1]


def test_as_of_before_the_history_begins_is_refused(tmp_path: Path) -> None:
    dataset = SocrataDataset([api_row(1, "2024-05-01T08:00:00")])
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings_ = config(server, tmp_path)
        ingest_once(settings_, clock=lambda: NOW)
        second = ingest_once(settings_, clock=lambda: NOW)
    lake = Lake(tmp_path / "lake")
    (lake.root / f".history{lake.version()}" / "history.json").write_text('{"first_run": 2}')
    with pytest.raises(LakeError, match="begins with run 2; the lake as of run 1 cannot"):
        lake.as_of(1)
    assert lake.as_of(second.run_id).collect().height == 1


def test_export_as_of_brings_back_a_month_that_no_longer_exists(tmp_path: Path) -> None:
    """A month whose only record was removed, and a record moved to a new month: the export as
    of the first run has the first run's months and rows, file for file in the lake layout."""
    first = "2024-06-01T10:00:00.000"
    rows = [
        api_row(1, "2024-02-10T08:00:00", first),
        api_row(2, "2024-03-11T09:00:00", first),
        api_row(3, "2024-03-12T09:00:00", first),
    ]
    dataset = SocrataDataset(rows)
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings_ = config(server, tmp_path / "data")
        ingest_once(settings_, clock=lambda: NOW)
        original = lake_rows(tmp_path / "data")
        dataset.delete([1])
        dataset.upsert([api_row(3, "2024-05-01T09:00:00", "2024-06-05T10:00:00.000")])
        ingest_once(settings_, clock=lambda: NOW)

    lake = Lake(tmp_path / "data" / "lake")
    exported = export_lake(lake, tmp_path / "out", as_of_run=1)
    files = sorted((tmp_path / "out").glob("year=*/month=*/*.parquet"))
    assert [f.parent.relative_to(tmp_path / "out").as_posix() for f in files] == [
        "year=2024/month=02",
        "year=2024/month=03",
    ]
    assert pl.read_parquet(files).sort("id").to_dicts() == original
    assert (exported.rows, exported.partitions, exported.rebuilt) == (3, 2, 3)
    now = export_lake(lake, tmp_path / "now")
    assert (now.rows, now.partitions, now.rebuilt) == (2, 2, 0)


def test_the_dashboard_counts_revisions_by_kind_week_and_category(tmp_path: Path) -> None:
    """One run reclassifies a theft as a robbery with an arrest, removes a battery and adds a
    record dated 18 months earlier: each appears once per label, in the week it was seen."""
    first = "2024-06-01T10:00:00.000"
    dataset = SocrataDataset(
        [
            api_row(1, "2024-05-01T12:00:00", first, primary_type="THEFT", fbi_code="06"),
            api_row(2, "2024-05-02T09:00:00", first),
            api_row(3, "2024-05-03T10:00:00", first),
        ]
    )
    seen = dt.datetime(2024, 7, 21, 17, tzinfo=dt.UTC)  # 12:00 in Chicago, a Sunday
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings_ = config(server, tmp_path)
        ingest_once(settings_, clock=lambda: NOW)
        later = "2024-06-05T10:00:00.000"
        dataset.upsert(
            [
                api_row(1, "2024-05-01T12:00:00", later, primary_type="ROBBERY", fbi_code="03",
                        arrest=True),
                api_row(5, "2023-01-15T12:00:00", later),
            ]
        )  # fmt: skip
        dataset.delete([3])
        second = ingest_once(settings_, clock=lambda: seen)

    analytics = Analytics(tmp_path, cache=False)
    selection = Filters(dt.date(2023, 1, 1), dt.date(2024, 7, 1))
    week = dt.date(2024, 7, 15)
    assert analytics.revisions(selection).weekly.rows() == [
        (week, "arrest added", 1),
        (week, "late-added", 1),
        (week, "reclassified", 1),
        (week, "removed", 1),
    ]
    assert analytics.revisions(selection).matrix.rows() == [("THEFT", "ROBBERY", 1)]
    # The robbery (violent) was revised 81 days after it happened, the battery (other) 79;
    # shares are of the incidents the lake holds now (the removed battery is not among them).
    assert analytics.revision_shares(selection).rows() == [
        ("violent", 1, 1, 81.0, 1.0),
        ("property", 0, 0, None, None),
        ("other", 2, 1, 79.08333333333333, 0.5),
    ]
    listed = analytics.revisions(selection).listed.select("run_id", "label", "id", "field")
    assert listed.equals(analytics.revision_list(selection).select(listed.columns))
    assert listed.rows() == [
        (second.run_id, "arrest added", 1, "arrest"),
        (second.run_id, "reclassified", 1, "fbi_code"),
        (second.run_id, "reclassified", 1, "primary_type"),
        (second.run_id, "removed", 3, "record"),
        (second.run_id, "late-added", 5, "record"),
    ]
    # Only incidents in the selection: the May records, not the late one from 2023.
    may = Filters(dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    assert analytics.revision_list(may).get_column("id").unique().sort().to_list() == [1, 3]
    assert analytics.revision_list(None, field="arrest").get_column("id").to_list() == [1]
