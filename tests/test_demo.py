"""`chicrime demo`: a synthetic lake shaped like the real data, written like an ingestion run."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chicrime import demo_profile as profile
from chicrime.clock import CHICAGO
from chicrime.demo import FIRST_DAY, DemoError, DemoResult, month_rows, write_demo_lake
from chicrime.errors import RunInProgressError
from chicrime.progress import LogProgress, Progress
from chicrime.settings import Settings
from chicrime.store.history import read_history
from chicrime.store.lake import Lake
from chicrime.store.lock import run_lock
from chicrime.store.schema import LAKE_SCHEMA
from chicrime.store.state import RunTotals, StateStore

CHICRIME = str(Path(sys.executable).with_name("chicrime"))
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
DISTRICTS = {f"{n:03d}" for n in range(1, 26)} - {"013", "021", "023"}


def clock() -> dt.datetime:
    return NOW


def lake_rows(data_dir: Path) -> pl.DataFrame:
    """The lake as a reader sees it, through the hive glob, in (id) order."""
    pattern = str(data_dir / "lake" / "crimes" / "year=*" / "month=*" / "*.parquet")
    return pl.read_parquet(pattern, hive_partitioning=False).sort("id")


def demo(
    data_dir: Path, start: dt.date, end: dt.date, seed: int = 7, revision_days: int = 0
) -> RunTotals:
    result = write_demo_lake(
        Settings(data_dir=data_dir),
        start=start,
        end=end,
        seed=seed,
        revision_days=revision_days,
        clock=clock,
    )
    return result.totals


@pytest.fixture(scope="module")
def year_2025() -> pl.DataFrame:
    """A full synthetic year after the 2024 sample, so the 2024 calibration applies as it is."""
    return pl.concat([month_rows(2025, month, seed=11) for month in range(1, 13)])


def test_writes_a_lake_in_the_lake_schema_recorded_as_a_demo_run(tmp_path: Path) -> None:
    """The lake holds the window's rows in LAKE_SCHEMA; one 'demo' run moved the watermark."""
    totals = demo(tmp_path, dt.date(2024, 1, 20), dt.date(2024, 3, 31))

    rows = lake_rows(tmp_path)
    assert rows.schema == LAKE_SCHEMA
    assert rows.height == totals.rows_written == totals.rows_new == totals.rows_fetched
    assert 45_000 < rows.height < 65_000  # ~700 a day in early 2024
    assert rows.get_column("id").is_unique().all()
    assert rows.get_column("date").min() >= dt.datetime(2024, 1, 20)
    assert rows.get_column("date").max() < dt.datetime(2024, 4, 1)
    assert (rows.get_column("updated_on") > rows.get_column("date")).all()
    assert rows.get_column("updated_on").max() <= dt.datetime(2024, 3, 31, 23, 59, 59)
    assert rows.select((pl.col("year") == pl.col("date").dt.year()).all()).item()
    assert rows.select((pl.col("month") == pl.col("date").dt.month()).all()).item()

    state = StateStore(tmp_path / "state" / "chicrime.db")
    [run] = state.recent_runs()
    newest = rows.get_column("date").max()
    assert (run.kind, run.status, run.rows_written) == ("demo", "success", rows.height)
    assert run.window_start == "2024-01-20T00:00:00"
    assert run.watermark_after == newest.isoformat(timespec="seconds")
    ingest_state = state.ingest_state("ijzp-q8t2")
    assert ingest_state is not None
    assert ingest_state.watermark_max_date == newest
    assert ingest_state.watermark_max_updated_on == rows.get_column("updated_on").max()
    state.close()


def test_same_seed_gives_the_same_lake_and_another_seed_a_different_one(tmp_path: Path) -> None:
    """Seeded and reproducible: equal seeds give identical rows, ids included."""
    window = (dt.date(2024, 5, 1), dt.date(2024, 6, 29))
    demo(tmp_path / "a", *window, seed=1)
    demo(tmp_path / "b", *window, seed=1)
    demo(tmp_path / "c", *window, seed=2)

    first = lake_rows(tmp_path / "a")
    assert first.equals(lake_rows(tmp_path / "b"))
    other = lake_rows(tmp_path / "c")
    assert not first.equals(other)
    assert first.height != other.height


def test_running_again_with_the_same_arguments_changes_nothing(tmp_path: Path) -> None:
    """A rerun rewrites no partition and keeps the lake version readers cache on."""
    window = (dt.date(2024, 5, 1), dt.date(2024, 6, 29))
    demo(tmp_path, *window)
    before = lake_rows(tmp_path)
    version = os.readlink(tmp_path / "lake" / "crimes")

    totals = demo(tmp_path, *window)

    assert (totals.partitions_rewritten, totals.rows_new, totals.rows_deleted) == (0, 0, 0)
    assert os.readlink(tmp_path / "lake" / "crimes") == version
    assert lake_rows(tmp_path).equals(before)


def test_simulated_revisions_go_through_the_history_day_by_day(tmp_path: Path) -> None:
    """After the base run, one run per simulated day revises records; the history undoes them
    back to the base lake exactly, and a rerun with the same arguments ends in the same lake."""
    window = (dt.date(2024, 3, 1), dt.date(2024, 6, 29))
    demo(tmp_path / "plain", *window, revision_days=0)

    def revised_demo() -> DemoResult:
        return write_demo_lake(
            Settings(data_dir=tmp_path / "revised"),
            start=window[0],
            end=window[1],
            seed=7,
            revision_days=10,
            clock=clock,
        )

    result = revised_demo()
    assert (result.run_id, result.revision_runs) == (1, 10)
    assert result.revisions > 100
    lake = Lake(tmp_path / "revised" / "lake")
    history = read_history(lake.root, lake.version()).collect()
    assert sorted(set(history.get_column("run_id"))) == list(range(2, 12))
    seen = {t.astimezone(CHICAGO) for t in history.get_column("observed_at")}
    assert sorted(seen) == [
        dt.datetime(2024, 6, day, 3, 15, tzinfo=CHICAGO) for day in range(20, 30)
    ]
    assert set(history.get_column("kind")) == {"added", "changed", "removed"}
    revised = lake_rows(tmp_path / "revised")
    assert not revised.equals(lake_rows(tmp_path / "plain"))
    base = lake.as_of(1).sort("id").collect()
    assert base.equals(lake_rows(tmp_path / "plain"))

    revised_demo()
    assert lake_rows(tmp_path / "revised").equals(revised)


def test_a_day_holds_the_same_records_whatever_the_window(tmp_path: Path) -> None:
    """Rows depend on the seed and the day only; just `updated_on` stops at the window's end."""
    demo(tmp_path / "long", dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    demo(tmp_path / "short", dt.date(2024, 2, 10), dt.date(2024, 2, 20))

    short = lake_rows(tmp_path / "short")
    same_days = lake_rows(tmp_path / "long").filter(
        pl.col("date").is_between(dt.datetime(2024, 2, 10), dt.datetime(2024, 2, 21), "left")
    )
    assert short.drop("updated_on").equals(same_days.drop("updated_on"))


def test_a_later_demo_replaces_an_earlier_one_entirely(tmp_path: Path) -> None:
    """Another seed and a shorter window: the lake equals a fresh demo with those arguments."""
    demo(tmp_path / "lake", dt.date(2024, 3, 1), dt.date(2024, 4, 29), seed=1)
    earlier = set(lake_rows(tmp_path / "lake").get_column("id"))

    totals = demo(tmp_path / "lake", dt.date(2024, 4, 1), dt.date(2024, 4, 20), seed=2)
    demo(tmp_path / "fresh", dt.date(2024, 4, 1), dt.date(2024, 4, 20), seed=2)

    fresh = lake_rows(tmp_path / "fresh")
    assert lake_rows(tmp_path / "lake").equals(fresh)
    assert totals.rows_deleted == len(earlier - set(fresh.get_column("id")))
    assert totals.rows_new == len(set(fresh.get_column("id")) - earlier)
    assert totals.rows_written == fresh.height


def test_refuses_a_lake_that_real_ingestion_wrote(tmp_path: Path) -> None:
    """Synthetic rows are never mixed into real data: the demo stops with exit code 2."""
    demo(tmp_path, dt.date(2024, 5, 1), dt.date(2024, 5, 10))
    before = lake_rows(tmp_path)
    state = StateStore(tmp_path / "state" / "chicrime.db")
    run_id = state.start_run(
        dataset_id="ijzp-q8t2",
        kind="ingest",
        started_at=NOW,
        window_start=dt.datetime(2024, 5, 1),
        updated_since=None,
        watermark_before=None,
        pid=1,
    )
    state.finish_success(
        run_id,
        dataset_id="ijzp-q8t2",
        finished_at=NOW,
        totals=RunTotals(0, 0, 0, 0, 0, 0, None),
        watermark_max_date=None,
        watermark_max_updated_on=None,
        backfill_days=14,
    )

    with pytest.raises(DemoError, match="did not write") as raised:
        demo(tmp_path, dt.date(2024, 5, 1), dt.date(2024, 5, 10))

    assert raised.value.exit_code == 2
    assert [r.kind for r in state.recent_runs()] == ["ingest", "demo"]
    assert lake_rows(tmp_path).equals(before)
    state.close()


def test_a_failure_is_recorded_and_leaves_the_lake_as_it_was(tmp_path: Path) -> None:
    """An error mid-run marks the run failed with its reason; lake and watermark stay."""
    window = (dt.date(2024, 5, 1), dt.date(2024, 6, 10))
    demo(tmp_path, *window)
    before = lake_rows(tmp_path)

    class Exploding(LogProgress):
        def update(self, n: int = 1) -> None:
            raise OSError("disk full")

    def exploding(description: str, total: int | None, unit: str) -> Progress:
        return Exploding(description, total, unit)

    with pytest.raises(OSError, match="disk full"):
        write_demo_lake(
            Settings(data_dir=tmp_path),
            start=window[0],
            end=window[1],
            seed=99,
            clock=clock,
            progress=exploding,
        )

    state = StateStore(tmp_path / "state" / "chicrime.db")
    failed, succeeded = state.recent_runs()
    assert (failed.kind, failed.status, failed.error) == ("demo", "failed", "disk full")
    ingest_state = state.ingest_state("ijzp-q8t2")
    assert ingest_state is not None
    assert ingest_state.watermark_max_date == before.get_column("date").max()
    assert succeeded.status == "success"
    assert lake_rows(tmp_path).equals(before)
    assert not any((tmp_path / "staging").glob("*"))
    state.close()


def test_waits_for_no_one_when_a_run_holds_the_lock(tmp_path: Path) -> None:
    """Like ingestion, the demo takes the run lock and gives up at once if it is held."""
    with run_lock(tmp_path / "state" / "ingest.lock"), pytest.raises(RunInProgressError):
        demo(tmp_path, dt.date(2024, 5, 1), dt.date(2024, 5, 10))
    assert not (tmp_path / "lake" / "crimes").exists()


@pytest.mark.parametrize(
    ("start", "end", "seed", "message"),
    [
        (dt.date(2026, 11, 1), dt.date(2026, 11, 28), 1, "in the future"),
        (dt.date(2000, 6, 1), dt.date(2001, 6, 1), 1, "no earlier than 2001-01-01"),
        (dt.date(2024, 2, 1), dt.date(2024, 1, 1), 1, "empty"),
        (dt.date(2024, 1, 1), dt.date(2024, 2, 1), -1, "--seed"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    tmp_path: Path, start: dt.date, end: dt.date, seed: int, message: str
) -> None:
    """A window in the future, before 2001 or empty, or a negative seed: nothing is written."""
    with pytest.raises(DemoError, match=message):
        demo(tmp_path, start, end, seed)
    assert not (tmp_path / "state").exists()


def test_type_mix_follows_the_calibration(year_2025: pl.DataFrame) -> None:
    """Each primary type's share of a year is within 10 % (+0.1 point) of the 2024 sample's."""
    shares = dict(year_2025.group_by("primary_type").agg(pl.len() / year_2025.height).iter_rows())
    for crime_type in profile.TYPES:
        expected = crime_type.share_2024
        assert abs(shares.get(crime_type.name, 0.0) - expected) <= 0.1 * expected + 0.001, (
            crime_type.name
        )
    assert max(shares, key=lambda name: shares[name]) in ("BATTERY", "THEFT")


def test_arrests_and_domestic_cases_follow_their_types(year_2025: pl.DataFrame) -> None:
    """Narcotics end in arrest far more often than theft; battery is mostly domestic, theft not."""
    rates = {
        name: (arrest, domestic)
        for name, arrest, domestic in year_2025.group_by("primary_type")
        .agg(pl.col("arrest").mean(), pl.col("domestic").mean())
        .iter_rows()
    }
    assert rates["NARCOTICS"][0] > 0.8 > 0.15 > rates["THEFT"][0]
    assert rates["BATTERY"][1] > 0.4 > 0.1 > rates["THEFT"][1]
    iucr = year_2025.filter(pl.col("iucr") == "0486")
    assert (iucr.get_column("description") == "DOMESTIC BATTERY SIMPLE").all()
    assert iucr.get_column("domestic").mean() > 0.85


def test_time_of_day_and_seasons_have_the_real_rhythm(year_2025: pl.DataFrame) -> None:
    """Few incidents at 5 am, many at 6 pm; July busier than February; 00:00 and 12:00 spikes."""
    by_hour = dict(year_2025.group_by(pl.col("date").dt.hour()).len().iter_rows())
    assert by_hour[5] * 2.5 < by_hour[18]
    by_month = dict(year_2025.group_by("month").len().iter_rows())
    assert by_month[7] > 1.2 * by_month[2]
    times = year_2025.select(
        pl.col("date").dt.hour().cast(pl.Int32) * 60 + pl.col("date").dt.minute()
    )
    per_minute = times.to_series().value_counts(name="rows")
    rows_at = dict(per_minute.iter_rows())
    assert rows_at[0] > 1.8 * rows_at[60]
    assert rows_at[12 * 60] > 1.8 * rows_at[11 * 60]
    weekdays = dict(year_2025.group_by(pl.col("date").dt.weekday()).len().iter_rows())
    assert weekdays[5] > weekdays[7]  # Fridays busier than Sundays


def test_volume_mix_and_arrests_change_over_the_years_like_the_real_data() -> None:
    """2003 has far more rows, narcotics and arrests than 2024; 2010 follows the 2014 sample."""
    june_2003, june_2010, june_2024 = (month_rows(year, 6, seed=5) for year in (2003, 2010, 2024))
    assert june_2003.height > 1.6 * june_2024.height
    narcotics = next(t for t in profile.TYPES if t.name == "NARCOTICS")
    assert abs(share_of(june_2010, "NARCOTICS") - narcotics.share_2014) < 0.01
    assert share_of(june_2024, "NARCOTICS") < 0.03 < 0.07 < share_of(june_2003, "NARCOTICS")
    assert june_2003.get_column("arrest").mean() > june_2024.get_column("arrest").mean() + 0.05
    assert june_2003.get_column("case_number").str.starts_with("HJ").all()


def share_of(rows: pl.DataFrame, primary_type: str) -> float:
    return float((rows.get_column("primary_type") == primary_type).mean() or 0.0)


@settings(max_examples=15, deadline=None)
@given(
    day=st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2030, 12, 31)),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_month_gives_well_formed_rows(day: dt.date, seed: int) -> None:
    """For any month and seed: LAKE_SCHEMA, dated in the month, ids that encode their day."""
    rows = month_rows(day.year, day.month, seed)
    assert rows.schema == LAKE_SCHEMA
    assert rows.height > 4_000
    assert rows.select(
        (pl.col("year") == day.year).all() & (pl.col("month") == day.month).all()
    ).item()
    assert rows.select((pl.col("date").dt.month() == day.month).all()).item()
    assert rows.get_column("id").is_unique().all()
    days = rows.select(
        pl.col("id") // 10_000 == (pl.col("date").dt.date() - pl.lit(FIRST_DAY)).dt.total_days()
    )
    assert days.to_series().all()
    assert rows.get_column("date").is_sorted()
    assert rows.get_column("case_number").is_unique().all()


def test_spring_forward_hour_keeps_its_rows() -> None:
    """2024-03-10 02:00-02:59 does not exist in Chicago; real data has such rows, so do we."""
    march = month_rows(2024, 3, seed=3)
    lost_hour = march.filter(
        pl.col("date").is_between(dt.datetime(2024, 3, 10, 2), dt.datetime(2024, 3, 10, 3), "left")
    )
    assert lost_hour.height > 0


def test_geography_agrees_with_itself(year_2025: pl.DataFrame) -> None:
    """Districts, beats, wards and community areas are coded like the real data and agree."""
    assert set(year_2025.get_column("district").unique()) == DISTRICTS
    assert year_2025.select(
        (pl.col("beat").str.slice(0, 2) == pl.col("district").str.slice(1, 2)).all()
    ).item()
    assert year_2025.select(pl.col("beat").str.contains(r"^\d{4}$").all()).item()
    assert set(year_2025.get_column("ward").unique()) == {str(n) for n in range(1, 51)}
    assert set(year_2025.get_column("community_area").unique()) == {str(n) for n in range(1, 78)}
    districts_per_area = year_2025.group_by("community_area").agg(pl.col("district").n_unique())
    assert (districts_per_area.get_column("district") == 1).all()


def test_coordinates_fall_inside_chicago_with_a_few_missing(year_2025: pl.DataFrame) -> None:
    """1-3 % of rows lack coordinates (both together); the rest lie within the city's box."""
    missing = year_2025.get_column("latitude").is_null()
    assert (missing == year_2025.get_column("longitude").is_null()).all()
    assert 0.01 <= missing.mean() <= 0.03
    located = year_2025.filter(~missing)
    assert located.select(
        pl.col("latitude").is_between(41.64, 42.03).all()
        & pl.col("longitude").is_between(-87.94, -87.52).all()
    ).item()


def test_text_fields_look_like_the_real_ones(year_2025: pl.DataFrame) -> None:
    """Blocks like 012XX W MADISON ST, case numbers like JH123456, IUCR and FBI codes as text."""
    assert year_2025.select(
        pl.col("block").str.contains(r"^\d{3}XX [NSEW] [0-9A-Z ]+$").all()
    ).item()
    assert (year_2025.get_column("case_number").str.contains(r"^JJ\d{6}$")).all()
    assert year_2025.get_column("case_number").is_unique().all()
    assert year_2025.select(pl.col("iucr").str.contains(r"^[0-9]{3}[0-9A-Z]$").all()).item()
    lag = year_2025.select(pl.col("updated_on") - pl.col("date")).to_series()
    assert lag.min() >= dt.timedelta(days=1)
    assert lag.max() < dt.timedelta(days=8)
    known = {t.name for t in profile.TYPES}
    assert set(year_2025.get_column("primary_type").unique()) <= known


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SODA_", "CHI_"))}
    env |= {"DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [CHICRIME, *args], env=env, cwd=data_dir.parent, capture_output=True, text=True, timeout=60
    )


def test_cli_demo_writes_a_lake_and_runs_shows_it_as_demo(tmp_path: Path) -> None:
    """`chicrime demo --years ... --end ...` prints one summary line; `runs --json` says 'demo'."""
    data_dir = tmp_path / "data"
    done = run_cli(
        "demo", "--years", "0.2", "--end", "2024-03-31", "--revision-days", "0", data_dir=data_dir
    )

    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        r"demo run 1: wrote [\d,]+ synthetic rows dated 2024-01-19 to 2024-03-31 \(seed 2001\), "
        r"removed 0 earlier demo rows, rewrote 3 partition\(s\); "
        r"watermark 2024-03-31T\d\d:\d\d:00; then 0 run\(s\) simulating upstream's later "
        r"edits revised 0 record\(s\)\n",
        done.stdout,
    )
    runs = json.loads(run_cli("runs", "--json", data_dir=data_dir).stdout)
    assert [(r["kind"], r["status"]) for r in runs] == [("demo", "success")]
    written = int(re.findall(r"wrote ([\d,]+)", done.stdout)[0].replace(",", ""))
    assert runs[0]["rows_written"] == written == lake_rows(data_dir).height


def test_cli_demo_with_bad_years_exits_2(tmp_path: Path) -> None:
    """A non-positive --years is bad usage: exit 2, one line naming the option."""
    done = run_cli("demo", "--years", "0", data_dir=tmp_path / "data")
    assert done.returncode == 2
    assert done.stderr.startswith("chicrime: --years must be a positive number")
