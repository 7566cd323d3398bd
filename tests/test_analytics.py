"""Analytics queries over a real lake built by the ingestion writer: exact answers per filter."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl
import pytest

from chicrime.analytics import (
    CSV_ROW_CAP,
    MAP_POINTS_LIMIT,
    MAP_POINTS_MAX_DAYS,
    TABLE_ROW_CAP,
    Analytics,
    Dimensions,
    Filters,
    Freshness,
    Kpis,
    hexagons,
    time_grain,
)
from chicrime.analytics.connections import Connections
from chicrime.analytics.export import neutralise_formulas
from chicrime.analytics.queries import (
    ARREST_RATES_SCHEMA,
    COMMUNITY_AREAS_SCHEMA,
    HEXAGONS_SCHEMA,
    MAP_POINTS_SCHEMA,
    TABLE_SCHEMA,
    TIME_SERIES_SCHEMA,
    TOP_TYPES_SCHEMA,
    WEEKDAY_HOUR_SCHEMA,
)
from chicrime.ingest.records import normalise
from chicrime.store.lake import Lake
from chicrime.store.staging import Staging
from chicrime.store.state import RunTotals, StateStore
from tests.conftest import api_row, observed

# Three places in the city, far enough apart to fall in three different hexagons.
LOOP = (41.88, -87.63)
SOUTH = (41.75, -87.55)
WEST = (41.88, -87.72)
MISSOURI = (36.62, -91.69)  # a bad geocode, as the real dataset has a few
AREA = {"001": "32", "004": "43", "011": "25"}
HYPERLINK = '=HYPERLINK("http://evil.example","x")'


def incident(
    row_id: int,
    date: str,
    primary_type: str = "THEFT",
    district: str = "001",
    *,
    arrest: bool = False,
    domestic: bool = False,
    at: tuple[float, float] | None = LOOP,
    **fields: object,
) -> dict[str, object]:
    """An API row with booleans as the strings Socrata's CSV-ish JSON gives to polars."""
    values: dict[str, object] = {
        "primary_type": primary_type,
        "district": district,
        "community_area": AREA[district],
        "arrest": str(arrest).lower(),
        "domestic": str(domestic).lower(),
        "latitude": None if at is None else str(at[0]),
        "longitude": None if at is None else str(at[1]),
    }
    values.update(fields)
    return api_row(row_id, f"{date}.000", **values)


MARCH_2024 = [
    incident(1, "2024-03-01T00:00:00"),
    incident(2, "2024-03-01T08:15:00", arrest=True),
    incident(3, "2024-03-02T13:00:00", "BATTERY", "004", domestic=True, at=SOUTH),
    incident(4, "2024-03-03T23:59:59", "BATTERY", "004", arrest=True, domestic=True, at=SOUTH),
    incident(5, "2024-03-05T09:00:00", "NARCOTICS", "011", arrest=True, at=WEST),
    incident(6, "2024-03-05T17:45:00", "THEFT", "011", at=None, community_area=None),
    incident(7, "2024-03-08T12:00:00", "ASSAULT", "004", at=SOUTH),
    incident(8, "2024-03-10T02:30:00"),  # spring forward: this wall-clock time never happened
    incident(9, "2024-03-10T03:10:00", "BATTERY", domestic=True),
    incident(10, "2024-03-12T18:00:00", "NARCOTICS", "011", arrest=True, at=WEST),
    incident(11, "2024-03-15T22:30:00", "THEFT", "004", at=None),
    incident(12, "2024-03-18T07:00:00", "ROBBERY", "011", arrest=True, at=WEST),
    incident(
        13,
        "2024-03-20T10:00:00",
        case_number="@x",
        block=HYPERLINK,
        description="+1",
        location_description="-2",
    ),
    incident(14, "2024-03-22T15:30:00", "BATTERY", "004", domestic=True, at=SOUTH),
    incident(15, "2024-03-25T19:00:00", "THEFT", "011", arrest=True, at=WEST),
    incident(16, "2024-03-28T21:00:00", "ASSAULT"),
    incident(17, "2024-03-31T23:30:00", "THEFT", "004", at=SOUTH),
    incident(18, "2024-03-19T04:00:00", at=MISSOURI),
]
OTHER_MONTHS = [
    incident(20, "2024-01-29T12:00:00"),  # the day before March's previous period
    incident(21, "2024-01-30T00:00:00"),  # the first instant of March's previous period
    incident(22, "2024-02-01T10:00:00"),
    incident(23, "2024-02-10T11:00:00", "BATTERY", "004", domestic=True, at=SOUTH),
    incident(24, "2024-02-14T20:00:00", "THEFT", "011", arrest=True, at=None),
    incident(25, "2024-02-29T23:00:00", "NARCOTICS", "011", arrest=True, at=WEST),
    incident(30, "2024-04-01T00:00:00"),
    incident(31, "2024-04-02T05:00:00", "BATTERY", "004", arrest=True, domestic=True, at=SOUTH),
    incident(32, "2024-04-15T14:00:00", "THEFT", "011", at=WEST),
    incident(40, "2023-11-05T01:30:00"),  # fall back: 01:30 happened twice that night
    incident(41, "2023-11-05T01:45:00", "BATTERY", "004", domestic=True, at=SOUTH),
    incident(42, "2023-11-20T06:00:00", "ROBBERY", "011", arrest=True, at=None),
]
ALL_ROWS = MARCH_2024 + OTHER_MONTHS

MARCH = Filters(start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 31))
EVERYTHING = Filters(start=dt.date(2023, 11, 1), end=dt.date(2024, 4, 30))
NOVEMBER = Filters(start=dt.date(2023, 11, 1), end=dt.date(2023, 11, 30))
HOSTILE_TYPE = Filters(MARCH.start, MARCH.end, primary_types=("THEFT' OR 1=1 --",))
HOSTILE_DISTRICT = Filters(MARCH.start, MARCH.end, districts=("; DROP TABLE x",))

CSV_HEADER = (
    "id,case_number,date,block,iucr,primary_type,description,location_description,arrest,"
    "domestic,beat,district,ward,community_area,fbi_code,latitude,longitude,updated_on"
)


def commit_rows(data_dir: Path, rows: list[dict[str, object]], label: str) -> str:
    """Write API rows into the lake under `data_dir` through the real writer; the new version."""
    normalised = normalise(pl.DataFrame(rows))
    assert normalised.rejected.is_empty()
    staging = Staging(data_dir / "staging" / label)
    staging.add(normalised.rows)
    lake = Lake(data_dir / "lake")
    return lake.commit(
        staging, lake.plan_merge(staging, ()), label=label, observation=observed()
    ).version


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose lake holds ALL_ROWS (shared: tests must not change it)."""
    data_dir = tmp_path_factory.mktemp("analytics") / "data"
    commit_rows(data_dir, ALL_ROWS, "fixture")
    return data_dir


@pytest.fixture
def analytics(lake_dir: Path) -> Analytics:
    return Analytics(lake_dir, cache=False)


def ids(frame: pl.DataFrame) -> list[int]:
    return frame.get_column("id").to_list()


def incidents(analytics: Analytics, f: Filters) -> int:
    return analytics.kpis(f).incidents


def csv_text(chunks: Iterator[bytes]) -> str:
    return b"".join(chunks).decode("utf-8")


# -- the lake as a whole ----------------------------------------------------------------------


def test_data_version_is_the_lake_link_target(analytics: Analytics, lake_dir: Path) -> None:
    """The data version is the name of the version directory `lake/crimes` points at."""
    version = analytics.data_version()
    assert version is not None
    assert version.startswith(".v-fixture-")
    assert (lake_dir / "lake" / "crimes").resolve() == (lake_dir / "lake" / version).resolve()


def test_date_range_spans_first_to_last_incident(analytics: Analytics) -> None:
    """The range runs from the oldest incident's day to the newest one's."""
    assert analytics.date_range() == (dt.date(2023, 11, 5), dt.date(2024, 4, 15))


def test_default_filters_are_the_last_30_days_in_the_lake(analytics: Analytics) -> None:
    """Default selection: 30 days ending at the newest incident date, no other restriction."""
    assert analytics.default_filters() == Filters(
        start=dt.date(2024, 3, 17), end=dt.date(2024, 4, 15)
    )


def test_dimensions_list_distinct_types_and_districts_sorted(analytics: Analytics) -> None:
    """The filter panel's choices are every type and district in the lake, sorted."""
    assert analytics.dimensions() == Dimensions(
        primary_types=("ASSAULT", "BATTERY", "NARCOTICS", "ROBBERY", "THEFT"),
        districts=("001", "004", "011"),
    )


def test_a_version_without_facts_gives_the_same_lake_wide_answers_by_scanning(
    analytics: Analytics, lake_dir: Path, tmp_path: Path
) -> None:
    """A version an older chicrime committed has no facts file: the same size, range, types and
    districts come from scanning its files, and the facts path runs no query at all."""
    older = tmp_path / "data"
    shutil.copytree(lake_dir / "lake", older / "lake", symlinks=True)
    (facts,) = (older / "lake").glob(".facts*.json")
    facts.unlink()
    labels: list[str] = []
    scanning = Analytics(older, cache=False, on_query=labels.append)
    answers = [
        (a.dimensions(), a.date_range(), a.freshness().rows, a.freshness().newest_date)
        for a in (analytics, scanning)
    ]

    assert answers[0] == answers[1]
    assert answers[0][2] == len(ALL_ROWS)
    assert sorted(set(labels)) == ["dimensions", "lake_stats"]


# -- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, 18),
        ({"primary_types": ("THEFT",)}, 9),
        ({"primary_types": ("BATTERY", "THEFT")}, 13),
        ({"districts": ("004",)}, 6),
        ({"districts": ("001", "011")}, 12),
        ({"arrest": True}, 6),
        ({"arrest": False}, 12),
        ({"domestic": True}, 4),
        ({"domestic": False}, 14),
        ({"hour_from": 0, "hour_to": 5}, 4),
        ({"hour_from": 8, "hour_to": 17}, 7),
        ({"hour_from": 22, "hour_to": 23}, 3),
        ({"hour_from": 22, "hour_to": 5}, 7),
        ({"community_areas": ("32",)}, 7),
        ({"near": LOOP, "radius": 0.25}, 6),
        ({"near": (41.88, -87.6222), "radius": 0.5}, 6),
        ({"near": (41.88, -87.6222), "radius": 0.25}, 0),
        ({"near": WEST, "radius": 2.0}, 4),
        ({"community_areas": ("25", "43")}, 10),
        ({"community_areas": ("43",), "primary_types": ("THEFT",)}, 2),
        ({"primary_types": ("THEFT",), "districts": ("001",), "arrest": False}, 4),
        (
            {"primary_types": ("THEFT",), "districts": ("001",), "arrest": False, "hour_to": 5},
            3,
        ),
        ({"primary_types": ("BATTERY",), "districts": ("004",), "domestic": True}, 3),
    ],
)
def test_each_filter_and_combination_counts_exactly(
    analytics: Analytics, changes: dict[str, object], expected: int
) -> None:
    """Every filter kind, alone and combined, selects exactly the matching March incidents."""
    f = Filters(**{"start": MARCH.start, "end": MARCH.end, **changes})
    assert incidents(analytics, f) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (dt.date(2024, 3, 1), dt.date(2024, 3, 1), 2),  # 00:00 and 08:15
        (dt.date(2024, 3, 3), dt.date(2024, 3, 3), 1),  # 23:59:59 belongs to its day
        (dt.date(2024, 3, 31), dt.date(2024, 4, 1), 2),  # across a month boundary
        (dt.date(2024, 2, 29), dt.date(2024, 3, 1), 3),
        (dt.date(2024, 1, 30), dt.date(2024, 1, 30), 1),
        (dt.date(2023, 11, 1), dt.date(2024, 4, 30), 30),
        (dt.date(2010, 1, 1), dt.date(2010, 12, 31), 0),  # no partition at all
    ],
)
def test_date_range_is_inclusive_from_midnight_to_the_end_of_the_last_day(
    analytics: Analytics, start: dt.date, end: dt.date, expected: int
) -> None:
    """Dates select from the first day's 00:00 through the last day's 23:59:59.999999."""
    assert incidents(analytics, Filters(start=start, end=end)) == expected


@pytest.mark.parametrize("hostile", [HOSTILE_TYPE, HOSTILE_DISTRICT])
def test_hostile_filter_values_match_nothing_and_change_nothing(
    analytics: Analytics, hostile: Filters
) -> None:
    """SQL-looking values are plain parameters: no rows match, no error, the lake is intact."""
    assert analytics.kpis(hostile) == Kpis(0, 0, None, 0, None)
    assert analytics.top_types(hostile).is_empty()
    assert analytics.table(hostile).is_empty()
    assert csv_text(analytics.csv(hostile)[0]) == CSV_HEADER + "\n"
    assert incidents(analytics, MARCH) == 18


# -- aggregates -------------------------------------------------------------------------------


def test_kpis_compare_with_the_previous_equally_long_period(analytics: Analytics) -> None:
    """March vs 30 Jan to 29 Feb: 18 incidents, 6 arrests, 5 before, so +260 %."""
    assert analytics.kpis(MARCH) == Kpis(
        incidents=18, arrests=6, arrest_rate=6 / 18, previous_incidents=5, change=2.6
    )


def test_kpis_apply_the_filters_to_the_previous_period_too(analytics: Analytics) -> None:
    """Thefts only: 9 in March (2 arrests) against 3 thefts in the previous period."""
    thefts = Filters(MARCH.start, MARCH.end, primary_types=("THEFT",))
    assert analytics.kpis(thefts) == Kpis(9, 2, 2 / 9, 3, 2.0)


def test_kpis_change_is_none_without_a_previous_incident(analytics: Analytics) -> None:
    """November 2023 has nothing before it in the lake, so no change can be computed."""
    assert analytics.kpis(NOVEMBER) == Kpis(3, 1, 1 / 3, 0, None)


def test_kpis_change_can_be_negative(analytics: Analytics) -> None:
    """April's 3 incidents against 16 in 2 to 31 March: -81.25 %."""
    april = Filters(start=dt.date(2024, 4, 1), end=dt.date(2024, 4, 30))
    assert analytics.kpis(april) == Kpis(3, 1, 1 / 3, 16, -0.8125)


def test_incidents_over_time_counts_every_day_including_empty_ones(analytics: Analytics) -> None:
    """A 31-day range gives 31 daily rows of one day each; days without incidents have 0."""
    series = analytics.incidents_over_time(MARCH)
    busy = {1: 2, 2: 1, 3: 1, 5: 2, 8: 1, 10: 2, 12: 1, 15: 1, 18: 1, 19: 1, 20: 1}
    busy |= {22: 1, 25: 1, 28: 1, 31: 1}
    assert series.schema == TIME_SERIES_SCHEMA
    assert series.rows() == [(dt.date(2024, 3, d), busy.get(d, 0), 1) for d in range(1, 32)]


def test_incidents_over_time_switches_to_iso_weeks_beyond_120_days(analytics: Analytics) -> None:
    """182 days are counted per ISO week, labelled by Monday, empty weeks included; the first
    week holds 5 selected days (Wed 1 Nov – Sun 5 Nov), the last 2 (Mon 29 – Tue 30 Apr)."""
    series = analytics.incidents_over_time(EVERYTHING)
    monday = dt.date(2023, 10, 30)
    busy = {
        dt.date(2023, 10, 30): 2,
        dt.date(2023, 11, 20): 1,
        dt.date(2024, 1, 29): 3,
        dt.date(2024, 2, 5): 1,
        dt.date(2024, 2, 12): 1,
        dt.date(2024, 2, 26): 5,
        dt.date(2024, 3, 4): 5,
        dt.date(2024, 3, 11): 2,
        dt.date(2024, 3, 18): 4,
        dt.date(2024, 3, 25): 3,
        dt.date(2024, 4, 1): 2,
        dt.date(2024, 4, 15): 1,
    }
    weeks = [monday + dt.timedelta(weeks=w) for w in range(27)]
    days = {weeks[0]: 5, weeks[-1]: 2}
    assert series.rows() == [(w, busy.get(w, 0), days.get(w, 7)) for w in weeks]


def test_time_grain_is_daily_up_to_120_days(analytics: Analytics) -> None:
    """120 days are daily (120 rows); 121 days are weekly."""
    days_120 = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 4, 29))
    days_121 = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 4, 30))
    assert (time_grain(days_120), time_grain(days_121)) == ("day", "week")
    assert analytics.incidents_over_time(days_120).height == 120
    assert analytics.incidents_over_time(days_121).height == 18
    assert analytics.incidents_over_time(days_121)["incidents"].sum() == 27


def test_top_types_descend_with_ties_by_name(analytics: Analytics) -> None:
    """THEFT 9, BATTERY 4, then ASSAULT before NARCOTICS (both 2), ROBBERY 1."""
    assert analytics.top_types(MARCH).rows() == [
        ("THEFT", 9),
        ("BATTERY", 4),
        ("ASSAULT", 2),
        ("NARCOTICS", 2),
        ("ROBBERY", 1),
    ]
    assert analytics.top_types(MARCH, n=3)["primary_type"].to_list() == [
        "THEFT",
        "BATTERY",
        "ASSAULT",
    ]


def test_weekday_hour_fills_all_168_cells_with_wall_clock_hours(analytics: Analytics) -> None:
    """Spring-forward 02:30 (Sunday 10 March) counts in hour 2, not shifted to 3."""
    cells = analytics.weekday_hour(MARCH)
    assert cells.schema == WEEKDAY_HOUR_SCHEMA
    assert cells.height == 168
    assert cells.select("weekday", "hour").rows() == [(d, h) for d in range(7) for h in range(24)]
    counts = {(d, h): n for d, h, n in cells.rows()}
    assert counts[(6, 2)] == 1
    assert counts[(6, 3)] == 1
    assert counts[(4, 0)] == 1  # Friday 1 March, 00:00
    assert counts[(4, 8)] == 1
    assert counts[(6, 23)] == 2  # Sundays 3 March 23:59:59 and 31 March 23:30
    assert sum(counts.values()) == 18


def test_weekday_hour_keeps_both_fall_back_hours_in_hour_one(analytics: Analytics) -> None:
    """Both 01:xx rows of Sunday 5 November 2023 count in hour 1; nothing else is moved."""
    counts = {(d, h): n for d, h, n in analytics.weekday_hour(NOVEMBER).rows() if n}
    assert counts == {(6, 1): 2, (0, 6): 1}


def test_arrest_rates_in_percent_for_the_most_frequent_types(analytics: Analytics) -> None:
    """Per type: incidents, arrests and 100 * arrests / incidents, most frequent first."""
    rates = analytics.arrest_rates(MARCH)
    assert rates.schema == ARREST_RATES_SCHEMA
    assert rates.rows() == [
        ("THEFT", 9, 2, pytest.approx(200 / 9)),
        ("BATTERY", 4, 1, 25.0),
        ("ASSAULT", 2, 0, 0.0),
        ("NARCOTICS", 2, 2, 100.0),
        ("ROBBERY", 1, 1, 100.0),
    ]
    assert analytics.arrest_rates(MARCH, n=2)["primary_type"].to_list() == ["THEFT", "BATTERY"]


def test_community_area_counts_leave_out_rows_without_an_area(analytics: Analytics) -> None:
    """Area codes keep their text; the one March row without an area is not counted."""
    counts = analytics.community_area_counts(MARCH)
    assert counts.schema == COMMUNITY_AREAS_SCHEMA
    assert counts.rows() == [("32", 7), ("43", 6), ("25", 4)]


# -- the map ----------------------------------------------------------------------------------


def test_map_points_are_located_incidents_newest_first(analytics: Analytics) -> None:
    """Rows without coordinates or geocoded outside the city are left out; newest first."""
    points = analytics.map_points(MARCH)
    assert points.schema == MAP_POINTS_SCHEMA
    days = [31, 28, 25, 22, 20, 18, 12, 10, 10, 8, 5, 3, 2, 1, 1]
    assert points["date"].dt.day().to_list() == days
    assert points.row(0) == (
        41.75,
        -87.55,
        "THEFT",
        dt.datetime(2024, 3, 31, 23, 30),
        "012XX W MADISON ST",
        False,
    )


def test_map_points_are_bounded_by_the_limit(analytics: Analytics) -> None:
    """At most `limit` points, the newest ones, also when they span several months."""
    assert analytics.map_points(MARCH, limit=4)["date"].dt.day().to_list() == [31, 28, 25, 22]
    newest = analytics.map_points(EVERYTHING, limit=4)["date"].to_list()
    assert newest == [
        dt.datetime(2024, 4, 15, 14, 0),
        dt.datetime(2024, 4, 2, 5, 0),
        dt.datetime(2024, 4, 1, 0, 0),
        dt.datetime(2024, 3, 31, 23, 30),
    ]
    assert (MAP_POINTS_MAX_DAYS, MAP_POINTS_LIMIT) == (90, 20_000)


def test_map_hexagons_sum_to_the_located_incidents(analytics: Analytics) -> None:
    """March's 15 incidents inside the city fall in three cells: Loop 6, south 5, west 4."""
    cells = analytics.map_hexagons(MARCH)
    assert cells.schema == HEXAGONS_SCHEMA
    assert cells["incidents"].sum() == 15 == analytics.map_points(MARCH).height
    nearest = {
        place: cells.sort((pl.col("latitude") - lat) ** 2 + (pl.col("longitude") - lon) ** 2).row(
            0, named=True
        )
        for place, (lat, lon) in {"loop": LOOP, "south": SOUTH, "west": WEST}.items()
    }
    assert {place: cell["incidents"] for place, cell in nearest.items()} == {
        "loop": 6,
        "south": 5,
        "west": 4,
    }
    loop = nearest["loop"]
    assert abs(loop["latitude"] - LOOP[0]) <= hexagons.HEXAGON_SIZE_DEG
    assert abs(loop["longitude"] - LOOP[1]) <= 2 * hexagons.HEXAGON_SIZE_DEG


def bin_points(lats: list[float], lons: list[float]) -> dict[tuple[int, int], int]:
    """Run the hexagon binning SQL on bare coordinates."""
    source = "(SELECT unnest(?) AS latitude, unnest(?) AS longitude)"
    sql = hexagons.binning_sql(source, hexagons.HEXAGON_SIZE_DEG)
    return {(q, r): n for q, r, n in duckdb.sql(sql, params=[lats, lons]).fetchall()}


NEIGHBOURS = [(1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1), (0, 1)]


@pytest.mark.parametrize("reach", [0.0, 0.45, 0.55])
def test_hexagon_binning_splits_points_halfway_between_neighbouring_centres(reach: float) -> None:
    """A point 45 % of the way to a neighbour's centre stays in its cell; at 55 % it moves."""
    size = hexagons.HEXAGON_SIZE_DEG
    grid = [(q, r) for q in range(-3, 4) for r in range(-3, 4)]
    centre = {
        (q, r): (lat, lon)
        for q, r, lat, lon in hexagons.with_centres(
            pl.DataFrame(
                grid + [(q + dq, r + dr) for q, r in grid for dq, dr in NEIGHBOURS],
                schema=["hex_q", "hex_r"],
                orient="row",
            ).unique(),
            size,
        ).rows()
    }
    lats, lons, expected = [], [], []
    for q, r in grid:
        for dq, dr in NEIGHBOURS:
            (lat, lon), (to_lat, to_lon) = centre[(q, r)], centre[(q + dq, r + dr)]
            lats.append(lat + reach * (to_lat - lat))
            lons.append(lon + reach * (to_lon - lon))
            expected.append((q + dq, r + dr) if reach > 0.5 else (q, r))
    assert bin_points(lats, lons) == Counter(expected)


def test_hexagon_count_is_bounded_by_the_city_extent() -> None:
    """Points every 0.002° over and around the city: only the city is binned, in < 1,500 cells."""
    extent = hexagons.CITY_EXTENT
    lats = [41.5 + i * 0.002 for i in range(300)]
    lons = [-88.1 + i * 0.002 for i in range(400)]
    inside = [
        (a, o)
        for a in lats
        for o in lons
        if extent.lat_min <= a <= extent.lat_max and extent.lon_min <= o <= extent.lon_max
    ]
    cells = bin_points([a for a in lats for _ in lons], [o for _ in lats for o in lons])
    assert sum(cells.values()) == len(inside)
    assert 1_000 < len(cells) < 1_500


def test_hexagons_leave_out_points_outside_the_city(tmp_path: Path) -> None:
    """Two incidents at opposite corners of the city count; (0, 0) and Missouri do not."""
    extent = hexagons.CITY_EXTENT
    places = [(extent.lat_min, extent.lon_min), (extent.lat_max, extent.lon_max), (0.0, 0.0)]
    rows = [incident(i, "2024-03-01T12:00:00", at=at) for i, at in enumerate(places, start=1)]
    commit_rows(tmp_path / "data", [*rows, incident(9, "2024-03-02T12:00:00", at=MISSOURI)], "c")
    analytics = Analytics(tmp_path / "data", cache=False)
    assert analytics.map_hexagons(MARCH)["incidents"].to_list() == [1, 1]
    assert analytics.map_points(MARCH).height == 2


def test_hexagon_geojson_draws_a_closed_hexagon_around_each_cell(analytics: Analytics) -> None:
    """One feature per cell, id "q:r", a closed 7-point ring centred on the cell's centre."""
    cells = analytics.map_hexagons(MARCH)
    geojson = analytics.hexagon_geojson(cells)
    features = geojson["features"]
    assert isinstance(features, list)
    assert geojson["type"] == "FeatureCollection"
    assert [f["id"] for f in features] == [
        f"{q}:{r}" for q, r in cells.select("hex_q", "hex_r").rows()
    ]
    for feature, (lat, lon, n) in zip(
        features, cells.select("latitude", "longitude", "incidents").rows(), strict=True
    ):
        ring = feature["geometry"]["coordinates"][0]
        assert len(ring) == 7
        assert ring[0] == ring[-1]
        assert sum(p[0] for p in ring[:6]) / 6 == pytest.approx(lon, abs=1e-6)
        assert sum(p[1] for p in ring[:6]) / 6 == pytest.approx(lat, abs=1e-6)
        assert feature["properties"]["incidents"] == n


def test_map_hexagons_reject_a_non_positive_size(analytics: Analytics) -> None:
    """A cell size of 0 degrees is refused with a ValueError naming the problem."""
    with pytest.raises(ValueError, match="positive number of degrees"):
        analytics.map_hexagons(MARCH, size_deg=0)


# -- rows -------------------------------------------------------------------------------------


def test_table_lists_readable_columns_newest_first(analytics: Analytics) -> None:
    """All 18 March rows, newest first, in the columns a reader wants."""
    table = analytics.table(MARCH)
    assert table.schema == TABLE_SCHEMA
    assert ids(table) == [17, 16, 15, 14, 13, 18, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert table.row(0, named=True) == {
        "id": 17,
        "case_number": "JA000017",
        "date": dt.datetime(2024, 3, 31, 23, 30),
        "block": "012XX W MADISON ST",
        "primary_type": "THEFT",
        "description": "DOMESTIC BATTERY SIMPLE",
        "location_description": "APARTMENT",
        "arrest": False,
        "domestic": False,
        "beat": "0421",
        "district": "004",
        "ward": "7",
        "community_area": "43",
    }


def test_table_is_capped_at_the_limit_reading_back_across_months(analytics: Analytics) -> None:
    """The newest `limit` rows, found in April first and then March."""
    assert TABLE_ROW_CAP == 500
    assert ids(analytics.table(EVERYTHING, limit=5)) == [32, 31, 30, 17, 16]
    assert ids(analytics.table(MARCH, limit=3)) == [17, 16, 15]
    assert ids(analytics.table(EVERYTHING)) == [
        32, 31, 30, 17, 16, 15, 14, 13, 18, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
        25, 24, 23, 22, 21, 20, 42, 41, 40,
    ]  # fmt: skip


def test_csv_has_a_header_and_every_selected_row_newest_first(analytics: Analytics) -> None:
    """Thefts in March: the header and 9 rows, ids in the table's order."""
    chunks, capped = analytics.csv(Filters(MARCH.start, MARCH.end, primary_types=("THEFT",)))
    lines = csv_text(chunks).splitlines()
    assert capped is False
    assert lines[0] == CSV_HEADER
    assert [int(line.split(",")[0]) for line in lines[1:]] == [17, 15, 13, 18, 11, 8, 6, 2, 1]
    assert lines[-1] == (
        "1,JA000001,2024-03-01T00:00:00,012XX W MADISON ST,0486,THEFT,DOMESTIC BATTERY SIMPLE,"
        "APARTMENT,false,false,0421,001,7,32,08B,41.88,-87.63,2024-06-01T10:00:00"
    )
    assert CSV_ROW_CAP == 100_000


def test_csv_neutralises_formula_cells_but_not_numbers(analytics: Analytics) -> None:
    """=, +, -, @ cells get a leading quote; a negative longitude stays a number."""
    only_13 = Filters(dt.date(2024, 3, 20), dt.date(2024, 3, 20))
    lines = csv_text(analytics.csv(only_13)[0]).splitlines()
    assert lines[1] == (
        '13,\'@x,2024-03-20T10:00:00,"\'=HYPERLINK(""http://evil.example"",""x"")",'
        "0486,THEFT,'+1,'-2,false,false,0421,001,7,32,08B,41.88,-87.63,2024-06-01T10:00:00"
    )


def test_neutralise_formulas_prefixes_tab_and_carriage_return_cells() -> None:
    """Cells starting with a tab or CR are neutralised too; inner characters are left alone."""
    frame = pl.DataFrame({"text": ["\tcmd", "\rcmd", "a=b", "-", None], "n": [-1, 2, 3, 4, 5]})
    assert neutralise_formulas(frame).rows() == [
        ("'\tcmd", -1),
        ("'\rcmd", 2),
        ("a=b", 3),
        ("'-", 4),
        (None, 5),
    ]


@pytest.mark.parametrize(("cap", "capped", "rows"), [(5, True, 5), (17, True, 17), (18, False, 18)])
def test_csv_is_capped_and_says_so(analytics: Analytics, cap: int, capped: bool, rows: int) -> None:
    """At most `cap` rows (the newest); the flag is set only when more rows matched."""
    chunks, flag = analytics.csv(MARCH, cap=cap)
    lines = csv_text(chunks).splitlines()
    assert (flag, len(lines) - 1) == (capped, rows)
    assert [int(line.split(",")[0]) for line in lines[1:4]] == [17, 16, 15]


def test_csv_streams_across_months_up_to_the_cap(analytics: Analytics) -> None:
    """Rows come newest first across month files and stop at the cap."""
    chunks, flag = analytics.csv(EVERYTHING, cap=22)
    lines = csv_text(chunks).splitlines()
    assert flag is True
    assert [int(line.split(",")[0]) for line in lines[1:]][-3:] == [2, 1, 25]


def test_csv_chunks_can_be_consumed_in_another_thread(analytics: Analytics) -> None:
    """The stream owns its cursor, so a web server may iterate it in any one thread."""
    chunks, _ = analytics.csv(MARCH)
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(csv_text(chunks)))
    worker.start()
    worker.join()
    assert len(result[0].splitlines()) == 19
    assert incidents(analytics, MARCH) == 18


# -- empty lake, empty selection --------------------------------------------------------------


@pytest.mark.parametrize("where", ["no lake", "no rows selected"])
def test_empty_results_keep_their_schema(lake_dir: Path, tmp_path: Path, where: str) -> None:
    """No lake at all, or a selection matching nothing: empty frames, zero-filled grids."""
    analytics = Analytics(tmp_path / "empty" if where == "no lake" else lake_dir, cache=False)
    f = MARCH if where == "no lake" else HOSTILE_TYPE
    assert analytics.kpis(f) == Kpis(0, 0, None, 0, None)
    schemas = {
        analytics.top_types: TOP_TYPES_SCHEMA,
        analytics.arrest_rates: ARREST_RATES_SCHEMA,
        analytics.community_area_counts: COMMUNITY_AREAS_SCHEMA,
        analytics.map_points: MAP_POINTS_SCHEMA,
        analytics.map_hexagons: HEXAGONS_SCHEMA,
        analytics.table: TABLE_SCHEMA,
    }
    for method, schema in schemas.items():
        frame = method(f)
        assert (frame.schema, frame.height) == (schema, 0), method.__name__
    assert analytics.incidents_over_time(f)["incidents"].to_list() == [0] * 31
    assert analytics.weekday_hour(f)["incidents"].to_list() == [0] * 168
    assert analytics.hexagon_geojson(analytics.map_hexagons(f)) == {
        "type": "FeatureCollection",
        "features": [],
    }
    chunks, capped = analytics.csv(f)
    assert (csv_text(chunks), capped) == (CSV_HEADER + "\n", False)


def test_no_lake_has_no_version_range_defaults_or_choices(tmp_path: Path) -> None:
    """Before the first ingestion everything reads as absent, nothing raises."""
    analytics = Analytics(tmp_path / "empty")
    assert analytics.data_version() is None
    assert analytics.date_range() is None
    assert analytics.default_filters() is None
    assert analytics.dimensions() == Dimensions((), ())
    assert analytics.freshness() == Freshness(None, None, 0, False, None)
    assert analytics.recent_runs() == []
    assert not (tmp_path / "empty").exists()


# -- freshness and run history ----------------------------------------------------------------


def record_run(store: StateStore, kind: str, day: int, *, ok: bool = True) -> None:
    started = dt.datetime(2024, 6, day, 3, 0, tzinfo=dt.UTC)
    run_id = store.start_run(
        dataset_id="ijzp-q8t2",
        kind=kind,
        started_at=started,
        window_start=dt.datetime(2024, 1, 1),
        updated_since=None,
        watermark_before=None,
        pid=1,
    )
    finished = started + dt.timedelta(minutes=5)
    if not ok:
        store.finish_failed(run_id, finished_at=finished, error="boom", rows_fetched=None)
        return
    store.finish_success(
        run_id,
        dataset_id="ijzp-q8t2",
        finished_at=finished,
        totals=RunTotals(30, 0, 30, 30, 0, 5, None, rows_revised=run_id * 10),
        watermark_max_date=dt.datetime(2024, 4, 15, 14, 0),
        watermark_max_updated_on=None,
        backfill_days=14,
    )


def test_freshness_without_state_db_still_reports_the_lake(analytics: Analytics) -> None:
    """No state database: no last success, not synthetic, but the lake's newest date and size."""
    assert analytics.freshness() == Freshness(
        last_success_at=None,
        newest_date=dt.datetime(2024, 4, 15, 14, 0),
        rows=30,
        synthetic=False,
        revised_last_run=None,
    )
    assert analytics.recent_runs() == []


def test_freshness_and_runs_come_from_the_state_db(tmp_path: Path) -> None:
    """Last success and run history are read back; a demo run marks the data synthetic."""
    data_dir = tmp_path / "data"
    commit_rows(data_dir, MARCH_2024, "march")
    store = StateStore(data_dir / "state" / "chicrime.db")
    record_run(store, "demo", 1)
    analytics = Analytics(data_dir, cache=False)
    assert analytics.freshness() == Freshness(
        "2024-06-01T03:05:00Z", dt.datetime(2024, 3, 31, 23, 30), 18, True, 10
    )
    record_run(store, "ingest", 2)
    record_run(store, "ingest", 3, ok=False)
    store.close()
    assert analytics.freshness().synthetic is False
    assert analytics.freshness().last_success_at == "2024-06-02T03:05:00Z"
    assert analytics.freshness().revised_last_run == 20  # the failed run 3 revised nothing
    runs = analytics.recent_runs()
    assert [(r.run_id, r.kind, r.status) for r in runs] == [
        (3, "ingest", "failed"),
        (2, "ingest", "success"),
        (1, "demo", "success"),
    ]
    assert runs[0].error == "boom"
    assert [r.run_id for r in analytics.recent_runs(2)] == [3, 2]


def test_an_unreadable_state_db_reads_as_no_history(lake_dir: Path, tmp_path: Path) -> None:
    """A damaged state file gives no last success and no runs rather than an error."""
    data_dir = tmp_path / "data"
    (data_dir / "state").mkdir(parents=True)
    (data_dir / "state" / "chicrime.db").write_bytes(b"this is not a database" * 100)
    (data_dir / "lake").symlink_to(lake_dir / "lake")
    analytics = Analytics(data_dir, cache=False)
    assert analytics.freshness() == Freshness(
        None, dt.datetime(2024, 4, 15, 14, 0), 30, False, None
    )
    assert analytics.recent_runs() == []


# -- concurrency ------------------------------------------------------------------------------


def test_threads_query_concurrently_with_their_own_connections(analytics: Analytics) -> None:
    """Eight threads querying at once all get exact answers (no shared-connection errors)."""
    thefts = Filters(MARCH.start, MARCH.end, primary_types=("THEFT",))

    def ask(i: int) -> tuple[int, int]:
        f = MARCH if i % 2 else thefts
        return analytics.kpis(f).incidents, analytics.top_types(f).height

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(32)))
    assert answers == [(9, 1), (18, 5)] * 16


def test_cursors_are_per_thread_and_per_lake_version(tmp_path: Path) -> None:
    """A thread reuses its cursor for one version; another thread or version gets its own."""
    connections = Connections(temp_directory=tmp_path / "spill")
    main = connections.cursor("v1")
    other: list[duckdb.DuckDBPyConnection] = []
    worker = threading.Thread(target=lambda: other.append(connections.cursor("v1")))
    worker.start()
    worker.join()
    assert connections.cursor("v1") is main
    assert other[0] is not main
    newer = connections.cursor("v2")
    assert newer is not main
    assert newer.sql("SELECT 42").fetchall() == [(42,)]
    assert main.sql("SELECT 1").fetchall() == [(1,)]  # an older version's cursor still works
