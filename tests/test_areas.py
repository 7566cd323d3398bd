"""Community areas as places people live: names, residents and incidents per 100,000, and the
district and ward rankings — exact values on small hand-made fixtures."""

from __future__ import annotations

import polars as pl
import pytest

from chicrime.analytics import Analytics, Filters
from chicrime.analytics.areas import (
    AREA_RATES_SCHEMA,
    Population,
    area_names,
    area_rates,
    population_of,
)
from chicrime.store.geo import write_geo_file
from chicrime.store.layout import Layout
from tests.test_analytics import ALL_ROWS, MARCH, commit_rows

BOUNDARIES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"area_numbe": "32", "community": "LOOP"}},
        {"type": "Feature", "properties": {"area_numbe": "43", "community": "South Shore "}},
        {"type": "Feature", "properties": {"area_numbe": "25", "community": "AUSTIN"}},
        {"type": "Feature", "properties": {"area_numbe": "01", "community": "ROGERS PARK"}},
        {"type": "Feature", "properties": {"area_numbe": "", "community": "NOWHERE"}},
        {"type": "Feature", "properties": {"area_numbe": "N/A", "community": "NOWHERE"}},
        {"type": "Feature", "properties": {"area_numbe": "7", "community": " "}},
        {"type": "Feature", "properties": None},
        "not a feature",
    ],
}
POPULATION = {
    "acs_year": "2023",
    "residents": {
        "loop": 40_000,
        "SOUTH SHORE": 50_000,
        "AUSTIN": 100_000,
        "ROGERS PARK": 50_000,
        "HEGEWISCH": True,
        "EDGEWATER": 0,
    },
}
NAMES = {"32": "LOOP", "43": "SOUTH SHORE", "25": "AUSTIN", "1": "ROGERS PARK"}
COUNTS = pl.DataFrame(
    {"community_area": ["32", "43", "25"], "incidents": [7, 6, 4]},
    schema={"community_area": pl.String, "incidents": pl.Int64},
)


def test_area_names_come_from_the_boundaries_features() -> None:
    """Numbers lose leading zeros, names are upper-cased and trimmed; unusable features and
    a missing document give nothing."""
    assert area_names(BOUNDARIES) == NAMES
    assert area_names(None) == {}
    assert area_names({"features": "none"}) == {}


def test_population_keeps_positive_counts_by_upper_case_name() -> None:
    """A boolean or zero is no count; a document without a year or residents is none."""
    assert population_of(POPULATION) == Population(
        "2023", {"LOOP": 40_000, "SOUTH SHORE": 50_000, "AUSTIN": 100_000, "ROGERS PARK": 50_000}
    )
    assert population_of({"acs_year": 2023, "residents": {"LOOP": 1}}) is None
    assert population_of({"acs_year": "2023", "residents": {"LOOP": 0}}) is None
    assert population_of(None) is None


def test_rates_are_incidents_per_100000_residents_highest_first() -> None:
    """Loop 7 / 40,000 = 17.5; South Shore 6 / 50,000 = 12; Austin 4 / 100,000 = 4; Rogers
    Park has no incident and is listed with 0."""
    rates = area_rates(COUNTS, NAMES, population_of(POPULATION))
    assert rates.schema == AREA_RATES_SCHEMA
    assert rates.rows() == [
        ("32", "LOOP", 7, 40_000, 17.5),
        ("43", "SOUTH SHORE", 6, 50_000, 12.0),
        ("25", "AUSTIN", 4, 100_000, 4.0),
        ("1", "ROGERS PARK", 0, 50_000, 0.0),
    ]


def test_without_population_or_names_areas_rank_by_incidents() -> None:
    """No ACS table: no rate, most incidents first. No boundaries either: numbers only, and an
    area the counts name but the boundaries do not is still listed."""
    assert area_rates(COUNTS, NAMES, None).rows() == [
        ("32", "LOOP", 7, None, None),
        ("43", "SOUTH SHORE", 6, None, None),
        ("25", "AUSTIN", 4, None, None),
        ("1", "ROGERS PARK", 0, None, None),
    ]
    assert area_rates(COUNTS, {}, None).get_column("community_area").to_list() == [
        "32",
        "43",
        "25",
    ]


@pytest.fixture(scope="module")
def analytics(tmp_path_factory: pytest.TempPathFactory) -> Analytics:
    data_dir = tmp_path_factory.mktemp("areas") / "data"
    commit_rows(data_dir, ALL_ROWS, "areas")
    layout = Layout(data_dir)
    write_geo_file(layout.community_areas, BOUNDARIES)
    write_geo_file(layout.population, POPULATION)
    return Analytics(data_dir, cache=False)


def test_the_analytics_layer_answers_rates_for_a_selection(analytics: Analytics) -> None:
    """March 2024's areas: Loop 7, South Shore 6, Austin 4 (one row has no area); with only
    thefts (ids 1, 2, 8, 13, 18 in the Loop; 11, 17 in South Shore), 12.5 and 4 per 100,000."""
    assert analytics.population() == population_of(POPULATION)
    assert analytics.community_area_rates(MARCH).rows()[:3] == [
        ("32", "LOOP", 7, 40_000, 17.5),
        ("43", "SOUTH SHORE", 6, 50_000, 12.0),
        ("25", "AUSTIN", 4, 100_000, 4.0),
    ]
    thefts = Filters(MARCH.start, MARCH.end, primary_types=("THEFT",))
    assert analytics.community_area_rates(thefts).rows()[:2] == [
        ("32", "LOOP", 5, 40_000, 12.5),
        ("43", "SOUTH SHORE", 2, 50_000, 4.0),
    ]


def test_an_area_filter_selects_its_incidents(analytics: Analytics) -> None:
    """Areas 25 and 43: 4 + 6 incidents in March; their districts only (all four in 011,
    ids 5, 10, 12, 15, ended in an arrest)."""
    chosen = Filters(MARCH.start, MARCH.end, community_areas=("25", "43"))
    assert analytics.kpis(chosen).incidents == 10
    assert analytics.place_counts(chosen, "district").rows() == [("004", 6, 1), ("011", 4, 4)]


def test_districts_and_wards_rank_by_incidents(analytics: Analytics) -> None:
    """March: districts 001 (7), 004 (6), 011 (5); every fixture row is in ward 7."""
    assert analytics.place_counts(MARCH, "district").select("district", "incidents").rows() == [
        ("001", 7),
        ("004", 6),
        ("011", 5),
    ]
    assert analytics.place_counts(MARCH, "ward").rows()[0][:2] == ("7", 18)
