"""`Filters`: parsing any query mapping without raising, swapping, clamping, dropping choices."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chicrime.analytics import Filters
from chicrime.analytics.filters import parse_bool

DEFAULT = (dt.date(2024, 3, 2), dt.date(2024, 3, 31))
DEFAULT_FILTERS = Filters(start=DEFAULT[0], end=DEFAULT[1])


@pytest.mark.parametrize(
    "hostile", [5, 1.5, True, None, [], ["2024-03-05"], {"start": "2024-03-05"}, "", "  "]
)
def test_values_that_are_not_text_fall_back_to_the_defaults(hostile: object) -> None:
    """A number, list, dict, null or blank for any key gives the default selection."""
    keys = ("start", "end", "types", "district", "arrest", "domestic", "hours")
    assert Filters.from_query(dict.fromkeys(keys, hostile), DEFAULT) == DEFAULT_FILTERS


@pytest.mark.parametrize(
    "impossible", ["2024-02-30", "2024-13-01", "yesterday", "+10000-01-01", "2024-03-05 x"]
)
def test_impossible_dates_fall_back_to_the_default_range(impossible: str) -> None:
    """A date text that names no calendar day gives the default date in its place."""
    assert Filters.from_query({"start": impossible, "end": impossible}, DEFAULT) == DEFAULT_FILTERS


def test_reversed_dates_are_swapped() -> None:
    """`end` before `start` is read as the same range written the other way round."""
    assert Filters.from_query({"start": "2024-03-20", "end": "2024-03-05"}, DEFAULT) == Filters(
        start=dt.date(2024, 3, 5), end=dt.date(2024, 3, 20)
    )


def test_reversed_hours_are_an_overnight_range() -> None:
    """22-3 is kept as written and selects 22:00 to 03:59 across midnight."""
    parsed = Filters.from_query({"hours": "22-3"}, DEFAULT)
    assert (parsed.hour_from, parsed.hour_to) == (22, 3)
    assert parsed.hours == {22, 23, 0, 1, 2, 3}
    assert parsed.to_query()["hours"] == "22-3"


def test_a_forward_hour_range_selects_its_hours() -> None:
    """3-5 selects hours 3, 4 and 5; the default selects all 24."""
    assert Filters.from_query({"hours": "3-5"}, DEFAULT).hours == {3, 4, 5}
    assert Filters.from_query({}, DEFAULT).hours == set(range(24))


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ("3-9", (3, 9)),
        (" 3 - 9 ", (3, 9)),
        ("a-b", (0, 23)),
        ("5", (0, 23)),
        ("1-2-3", (0, 23)),
        ("0-24", (0, 23)),
        ("5-", (5, 23)),
        ("-5", (0, 5)),
        ("²-5", (0, 5)),
        ("٣-5", (0, 5)),
        ("5.0-7", (0, 7)),
        ("3-9x", (3, 23)),
    ],
)
def test_each_hour_that_is_not_an_hour_of_the_day_falls_back_on_its_own(
    hours: str, expected: tuple[int, int]
) -> None:
    """`from-to` needs one dash; each side not an ASCII hour 0..23 becomes 0 (from) or 23 (to)."""
    parsed = Filters.from_query({"hours": hours}, DEFAULT)
    assert (parsed.hour_from, parsed.hour_to) == expected


def test_codes_are_deduplicated_sorted_and_forged_ones_dropped() -> None:
    """Types are upper-case codes; lower-case, SQL-ish and over-long values are dropped."""
    raw = "THEFT|theft|BATTERY|THEFT|x' OR 1=1|" + "A" * 81 + "|ARSON"
    assert Filters.from_query({"types": raw}, DEFAULT).primary_types == (
        "ARSON",
        "BATTERY",
        "THEFT",
    )


def test_with_choices_keeps_only_known_values() -> None:
    """Ten thousand unknown types become no type filter; known ones survive."""
    raw = "|".join([f"FORGED {i}" for i in range(10_000)] + ["THEFT"])
    parsed = Filters.from_query({"types": raw, "district": "999|004"}, DEFAULT)
    chosen = parsed.with_choices(["BATTERY", "THEFT"], ["004", "011"])
    assert (chosen.primary_types, chosen.districts) == (("THEFT",), ("004",))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (dt.date(1, 1, 1), dt.date(9999, 12, 31), (dt.date(2024, 1, 1), dt.date(2024, 6, 30))),
        (dt.date(2024, 2, 1), dt.date(9999, 12, 31), (dt.date(2024, 2, 1), dt.date(2024, 6, 30))),
        (dt.date(1990, 1, 1), dt.date(1990, 2, 1), (dt.date(2024, 1, 1), dt.date(2024, 1, 1))),
        (dt.date(2030, 1, 1), dt.date(2031, 1, 1), (dt.date(2024, 6, 30), dt.date(2024, 6, 30))),
        (dt.date(2024, 3, 1), dt.date(2024, 3, 9), (dt.date(2024, 3, 1), dt.date(2024, 3, 9))),
    ],
)
def test_within_moves_both_dates_into_the_range(
    start: dt.date, end: dt.date, expected: tuple[dt.date, dt.date]
) -> None:
    """Dates outside first..last move to the nearer end; dates inside stay."""
    clamped = Filters(start=start, end=end, primary_types=("THEFT",)).within(
        dt.date(2024, 1, 1), dt.date(2024, 6, 30)
    )
    assert (clamped.start, clamped.end, clamped.primary_types) == (*expected, ("THEFT",))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), (" FALSE ", False), ("yes", None), (1, None), (True, None), (None, None)],
)
def test_parse_bool_reads_only_the_words_true_and_false(raw: object, expected: bool | None) -> None:
    """Only the text true/false (any case, any spaces) is a boolean; everything else is None."""
    assert parse_bool(raw) is expected


# Any value JSON can carry, as a crafted request might send it (shared by the app's property).
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)


@given(
    st.dictionaries(
        st.sampled_from(["start", "end", "types", "hours", "category", "x"]), JSON_VALUES
    )
)
def test_from_query_never_raises_and_stays_in_bounds(params: dict[str, object]) -> None:
    """For any JSON-like query, parsing gives ordered dates and hours inside 0..23."""
    parsed = Filters.from_query(params, DEFAULT)
    assert parsed.start <= parsed.end
    assert 0 <= parsed.hour_from <= 23
    assert 0 <= parsed.hour_to <= 23
    assert parsed.hours


def test_community_areas_travel_in_the_url_and_unknown_ones_are_dropped() -> None:
    """area=32|8 round-trips; 0, 78 and words are no Chicago community area."""
    parsed = Filters.from_query({"area": "32|8|0|78|LOOP"}, DEFAULT)
    assert parsed.community_areas == ("0", "32", "78", "8", "LOOP")
    kept = parsed.with_choices((), ())
    assert kept.community_areas == ("32", "8")
    assert kept.to_query()["area"] == "32|8"


@pytest.mark.parametrize(
    ("near", "radius", "expected"),
    [
        ("41.878114,-87.629798", "1", ((41.87811, -87.6298), 1.0, "41.87811,-87.62980", "1")),
        (" 41.9 , -87.7 ", "0.5", ((41.9, -87.7), 0.5, "41.90000,-87.70000", None)),
        ("41.9,-87.7", "3", ((41.9, -87.7), 0.5, "41.90000,-87.70000", None)),
        ("40.7,-74.0", "1", (None, 0.5, None, None)),
        ("41.9", "1", (None, 0.5, None, None)),
        ("north,west", "", (None, 0.5, None, None)),
    ],
)
def test_a_place_is_a_point_in_chicago_and_a_radius_of_the_choices(
    near: str, radius: str, expected: tuple[object, ...]
) -> None:
    """Points outside Chicago's extent (New York) or not two numbers are dropped; a radius
    not in 1/4, 1/2, 1, 2 miles (or without a place) is 1/2; the URL keeps 5 decimals and a
    radius other than 1/2."""
    parsed = Filters.from_query({"near": near, "radius": radius}, DEFAULT)
    query = parsed.to_query()
    assert (parsed.near, parsed.radius, query.get("near"), query.get("radius")) == expected
