"""Rollups: written by each commit beside its version, kept up to date incrementally, and the
source of exactly the answers the lake files give."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chicrime.analytics import Analytics, Filters, Kpis
from chicrime.analytics.categories import CATEGORY_CHOICES
from chicrime.store.lake import Lake
from chicrime.store.rollups import ROLLUPS, rollup_path, rollups_dir, write_rollups
from chicrime.store.versions import version_partitions
from tests.test_analytics import AREA, LOOP, MARCH, MISSOURI, SOUTH, WEST, commit_rows, incident

TYPES = ("THEFT", "BATTERY", "NARCOTICS")
DISTRICTS = ("001", "004", "011")
FBI_CODES = ("04B", "06", "08B", "26")  # violent, property and two other ones
FIRST_DAY, LAST_DAY = dt.date(2023, 10, 20), dt.date(2024, 5, 10)
INSTANTS = st.datetimes(
    min_value=dt.datetime.combine(FIRST_DAY, dt.time()),
    max_value=dt.datetime.combine(LAST_DAY, dt.time(23, 59)),
).map(lambda moment: moment.replace(second=0, microsecond=0))
ROWS = st.lists(
    st.tuples(
        INSTANTS,
        st.sampled_from(TYPES),
        st.sampled_from(DISTRICTS),
        st.booleans(),
        st.booleans(),
        st.sampled_from([LOOP, SOUTH, WEST, MISSOURI, None]),
        st.sampled_from(FBI_CODES),
    ),
    min_size=1,
    max_size=60,
)
DAYS = st.dates(min_value=FIRST_DAY - dt.timedelta(days=15), max_value=LAST_DAY + dt.timedelta(15))
FILTERS = st.builds(
    lambda start, end, types, districts, arrest, domestic, hours, category, areas, near: Filters(
        start=start,
        end=end,
        primary_types=tuple(sorted(types)),
        districts=tuple(sorted(districts)),
        arrest=arrest,
        domestic=domestic,
        hour_from=hours[0],
        hour_to=hours[1],
        category=category,
        community_areas=tuple(sorted(areas)),
        near=near,
    ),
    DAYS,
    DAYS,
    st.sets(st.sampled_from(TYPES), max_size=2),
    st.sets(st.sampled_from(DISTRICTS), max_size=2),
    st.sampled_from([None, True, False]),
    st.sampled_from([None, True, False]),
    st.one_of(st.just((0, 23)), st.tuples(st.integers(0, 23), st.integers(0, 23))),
    st.sampled_from([None, *CATEGORY_CHOICES]),
    st.sets(st.sampled_from(sorted(AREA.values())), max_size=2),
    st.sampled_from([None, LOOP, SOUTH]),
)
COUNTED = (
    "kpis",
    "incidents_over_time",
    "top_types",
    "weekday_hour",
    "arrest_rates",
    "community_area_counts",
    "map_hexagons",
    "category_counts",
    "compare",
    "district_counts",
    "ward_counts",
)
# Wards drawn with the district, so rankings by ward differ from those by district.
WARDS = {"001": "42", "004": "7", "011": "24"}
PLACES: dict[str, Literal["district", "ward"]] = {
    "district_counts": "district",
    "ward_counts": "ward",
}
Drawn = tuple[dt.datetime, str, str, bool, bool, tuple[float, float] | None, str]


def rows_of(drawn: list[Drawn]) -> list[dict[str, object]]:
    return [
        incident(
            number,
            moment.isoformat(timespec="seconds"),
            kind,
            district,
            arrest=arrest,
            domestic=domestic,
            at=at,
            fbi_code=code,
            ward=WARDS.get(district),
        )
        for number, (moment, kind, district, arrest, domestic, at, code) in enumerate(
            drawn, start=1
        )
    ]


def same_answer(method: str, rolled: Analytics, raw: Analytics, f: Filters) -> bool:
    if method in PLACES:
        place = PLACES[method]
        return bool(rolled.place_counts(f, place).equals(raw.place_counts(f, place)))
    mine, theirs = getattr(rolled, method)(f), getattr(raw, method)(f)
    return bool(mine == theirs) if method == "kpis" else bool(mine.equals(theirs))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=ROWS, selections=st.lists(FILTERS, min_size=1, max_size=6))
def test_rollups_answer_exactly_what_the_lake_files_answer(
    drawn: list[Drawn],
    selections: list[Filters],
) -> None:
    """For any lake and any selection, every count the dashboard shows is the same whether
    read from the version's rollups (and edge months) or from the lake files alone."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        commit_rows(data_dir, rows_of(drawn), "p")
        rolled = Analytics(data_dir, cache=False)
        raw = Analytics(data_dir, cache=False, rollups=False)
        for f in selections:
            for method in COUNTED:
                assert same_answer(method, rolled, raw, f), (method, f)


MARCH_ROWS = [
    incident(1, "2024-03-01T00:00:00", arrest=True),
    incident(2, "2024-03-09T13:00:00", "BATTERY", "004", domestic=True, at=SOUTH),
    incident(3, "2024-03-10T02:30:00", "BATTERY", "004", at=SOUTH),
    incident(4, "2024-03-31T23:59:00", "NARCOTICS", "011", arrest=True, at=WEST),
    incident(5, "2024-02-20T10:00:00"),
    # Earlier months, so that a commit touching one or two partitions keeps most of them and
    # copies their rollup rows rather than counting them again.
    *(
        incident(100 + m, f"2023-{m:02d}-10T12:00:00", "ROBBERY", "011", at=WEST)
        for m in (7, 8, 9, 10, 11, 12)
    ),
    incident(107, "2024-01-10T12:00:00", "ROBBERY", "011", at=WEST),
]


@pytest.fixture
def march(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    commit_rows(data_dir, MARCH_ROWS, "m")
    return data_dir


def unreadable_lake_files(data_dir: Path) -> None:
    """Overwrite every Parquet file of the current version, keeping its facts and rollups."""
    lake = Lake(data_dir / "lake")
    for files in lake.partition_files().values():
        for path in files:
            path.write_bytes(b"not parquet")


def test_counts_of_whole_months_and_days_come_from_the_rollups_alone(march: Path) -> None:
    """With the lake files unreadable, counts over whole months, per day, per type and
    district still come back exact: the rollups alone answer them."""
    unreadable_lake_files(march)
    analytics = Analytics(march, cache=False)
    assert analytics.kpis(MARCH) == Kpis(4, 2, 0.5, 1, 3.0)
    assert analytics.top_types(Filters(MARCH.start, MARCH.end, districts=("004",))).rows() == [
        ("BATTERY", 2)
    ]
    assert analytics.weekday_hour(MARCH).filter(pl.col("incidents") > 0).rows() == [
        (4, 0, 1),  # Friday 1 March, midnight
        (5, 13, 1),  # Saturday 9 March, 13h
        (6, 2, 1),  # Sunday 10 March, 02:30 (a wall-clock time that never happened)
        (6, 23, 1),  # Sunday 31 March, 23:59
    ]
    assert analytics.map_hexagons(MARCH)["incidents"].sum() == 4


def test_a_month_range_cut_short_reads_its_edge_from_the_lake_files(march: Path) -> None:
    """A month rollup answers whole months only: a range ending mid-month reads that month's
    files, so with them unreadable it fails rather than answer from the whole month."""
    selection = Filters(dt.date(2024, 2, 1), dt.date(2024, 3, 15), districts=("004",))
    assert Analytics(march, cache=False).top_types(selection).rows() == [("BATTERY", 2)]
    unreadable_lake_files(march)
    with pytest.raises(duckdb.Error, match="month=03"):
        Analytics(march, cache=False).top_types(selection)


def test_a_version_without_rollups_is_answered_from_the_lake_files(march: Path) -> None:
    """Rollups are a speed-up only: without them (an older chicrime's version) the same
    answers come from the files."""
    expected = Analytics(march, cache=False).kpis(MARCH)
    version = Lake(march / "lake").version()
    assert version is not None
    shutil.rmtree(rollups_dir(march / "lake", version))
    assert Analytics(march, cache=False).kpis(MARCH) == expected == Kpis(4, 2, 0.5, 1, 3.0)


def rollup_rows(lake_root: Path, version: str) -> dict[str, list[tuple[object, ...]]]:
    """The rows of each rollup `version` has (a version without rows has none)."""
    paths = {rollup.name: rollup_path(lake_root, version, rollup.name) for rollup in ROLLUPS}
    return {name: pl.read_parquet(path).rows() for name, path in paths.items() if path.exists()}


def committed_rollups(data_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    lake = Lake(data_dir / "lake")
    version = lake.version()
    assert version is not None
    return rollup_rows(lake.root, version)


def rollups_from_scratch(data_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    """The current version's rollups aggregated afresh from every one of its files."""
    lake = Lake(data_dir / "lake")
    version = lake.version()
    assert version is not None
    with tempfile.TemporaryDirectory() as scratch:
        write_rollups(Path(scratch), "all", version_partitions(lake.root / version), (), None)
        return rollup_rows(Path(scratch), "all")


def test_a_commit_aggregates_the_partitions_it_rewrites_and_copies_the_rest(march: Path) -> None:
    """After a commit that moves, adds and deletes rows in some months, every rollup equals
    one aggregated from scratch; the untouched month's rows are copied, not recounted."""
    lake = Lake(march / "lake")
    moved = incident(2, "2024-04-02T08:00:00", "BATTERY", "004", domestic=True, at=SOUTH)
    version = commit_rows(march, [moved, incident(6, "2024-04-03T09:00:00")], "n")
    assert lake.version() == version
    assert committed_rollups(march) == rollups_from_scratch(march)
    day_type = pl.read_parquet(rollup_path(lake.root, version, "day_type"))
    assert day_type.filter(pl.col("day") >= dt.date(2024, 4, 1)).rows() == [
        (dt.date(2024, 4, 2), "BATTERY", "08B", False, True, 1, 0),
        (dt.date(2024, 4, 3), "THEFT", "08B", False, False, 1, 0),
    ]


def test_an_unreadable_previous_rollup_is_aggregated_afresh(
    march: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged rollup of the previous version does not fail the next commit: that rollup is
    aggregated from every partition instead, and a warning names it."""
    lake = Lake(march / "lake")
    previous = lake.version()
    assert previous is not None
    rollup_path(lake.root, previous, "day_hour").write_bytes(b"not parquet")
    with caplog.at_level(logging.WARNING, logger="chicrime.store.rollups"):
        version = commit_rows(march, [incident(6, "2024-04-03T09:00:00")], "n")
    assert lake.version() == version
    assert committed_rollups(march) == rollups_from_scratch(march)
    assert [(r.getMessage(), getattr(r, "rollup", None)) for r in caplog.records] == [
        ("previous rollup unreadable, aggregating every partition", "day_hour")
    ]


def test_a_damaged_rollup_is_logged_and_the_lake_files_answer(
    march: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A rollup file damaged on disk never fails a chart: the warning names it and the same
    counts come from the lake files."""
    version = Lake(march / "lake").version()
    assert version is not None
    rollup_path(march / "lake", version, "day_type").write_bytes(b"not parquet")
    with caplog.at_level(logging.WARNING, logger="chicrime.analytics.queries"):
        kpis = Analytics(march, cache=False).kpis(MARCH)
    assert kpis == Kpis(4, 2, 0.5, 1, 3.0)
    assert [(r.getMessage(), getattr(r, "rollup", None)) for r in caplog.records] == [
        ("rollup unreadable, counted from the lake files instead", "day_type"),
        ("rollup unreadable, counted from the lake files instead", "day_type"),
    ]
