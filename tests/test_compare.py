"""Crime categories and period-over-period comparisons: exact answers on a hand-counted lake."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest

from chicrime.analytics import Analytics, Filters
from chicrime.analytics.categories import CATEGORY_CHOICES, category_of
from chicrime.analytics.compare import (
    SMALL_COUNT,
    comparison_rows,
    periods_ending,
    year_before,
    z_score,
)
from chicrime.analytics.presets import preset_range
from tests.test_analytics import commit_rows, incident

# The clock: 15:00 in Chicago on 2024-03-20, so the lake's newest day (the 20th) is partial.
NOW = dt.datetime(2024, 3, 20, 20, 0, tzinfo=dt.UTC)


def offence(row_id: int, day: str, fbi_code: str | None, **fields: object) -> dict[str, object]:
    """An incident at noon on `day` with `fbi_code` (None: the record has no code)."""
    row = incident(row_id, f"{day}T12:00:00", **fields)
    if fbi_code is None:
        del row["fbi_code"]
    else:
        row["fbi_code"] = fbi_code
    return row


ROWS = [
    # 2024, before the 28-day window (year to date only).
    offence(1, "2024-01-05", "01A", primary_type="HOMICIDE"),
    offence(2, "2024-02-10", "06"),
    offence(3, "2024-02-20", "08B", primary_type="BATTERY", arrest=True),
    # In the last 28 days (2024-02-21 .. 2024-03-19), before the last 7.
    offence(4, "2024-02-22", "04B", primary_type="BATTERY"),
    offence(5, "2024-03-01", "05", primary_type="BURGLARY"),
    offence(6, "2024-03-12", "26", primary_type="OTHER OFFENSE"),
    # In the last 7 days (2024-03-13 .. 2024-03-19).
    offence(7, "2024-03-13", "03", primary_type="ROBBERY", arrest=True),
    offence(8, "2024-03-19", "07", primary_type="MOTOR VEHICLE THEFT"),
    offence(9, "2024-03-19", None, primary_type="OTHER OFFENSE"),
    # Today, partial: counted by no period.
    offence(10, "2024-03-20", "01A", primary_type="HOMICIDE"),
    # A year earlier: 2023-01-01 .. 2023-03-19 (the 28 days from 2023-02-21, the 7 from 03-13).
    offence(20, "2023-01-02", "06"),
    offence(21, "2023-01-03", "06"),
    offence(22, "2023-02-20", "02", primary_type="CRIMINAL SEXUAL ASSAULT"),  # ytd only
    offence(23, "2023-02-21", "08A", primary_type="ASSAULT"),
    offence(24, "2023-03-13", "06"),
    offence(25, "2023-03-19", "09", primary_type="ARSON"),
    offence(26, "2023-03-20", "06"),  # the day after the year-earlier periods end
    offence(27, "2022-12-31", "06"),  # the day before the year-earlier year to date
]


@pytest.fixture(scope="module")
def analytics(tmp_path_factory: pytest.TempPathFactory) -> Analytics:
    data_dir = tmp_path_factory.mktemp("compare") / "data"
    commit_rows(data_dir, ROWS, "compare")
    return Analytics(data_dir, cache=False, clock=lambda: NOW)


def rows_of(frame: pl.DataFrame, period: str) -> list[tuple[str, int, int]]:
    chosen = frame.filter(pl.col("period") == period)
    return list(chosen.select("category", "now", "before").iter_rows())


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("01A", "violent"),
        ("02", "violent"),
        ("03", "violent"),
        ("04A", "violent"),
        ("04B", "violent"),
        ("05", "property"),
        ("06", "property"),
        ("07", "property"),
        ("09", "property"),
        ("01B", "other"),  # involuntary manslaughter: non-index in the IUCR list
        ("08A", "other"),
        ("08B", "other"),
        ("26", "other"),
        (None, "other"),
    ],
)
def test_fbi_codes_map_to_the_ucr_categories(code: str | None, category: str) -> None:
    assert category_of(code) == category


def test_category_counts_follow_the_fbi_codes(analytics: Analytics) -> None:
    f = Filters(dt.date(2024, 1, 1), dt.date(2024, 3, 20))
    counts = analytics.category_counts(f)
    assert list(counts.iter_rows()) == [
        ("violent", 4, 1),  # 1, 4, 7, 10
        ("property", 3, 0),  # 2, 5, 8
        ("other", 3, 1),  # 3, 6, 9
    ]


@pytest.mark.parametrize(
    ("category", "ids"),
    [
        ("violent", {1, 4, 7, 10}),
        ("property", {2, 5, 8}),
        ("index", {1, 2, 4, 5, 7, 8, 10}),
        ("other", {3, 6, 9}),
    ],
)
def test_the_category_filter_selects_by_fbi_code(
    analytics: Analytics, category: str, ids: set[int]
) -> None:
    f = Filters(dt.date(2024, 1, 1), dt.date(2024, 3, 20), category=category)
    assert analytics.kpis(f).incidents == len(ids)
    assert set(analytics.table(f)["id"].to_list()) == ids


def test_the_category_filter_is_read_from_links_and_written_back() -> None:
    default = (dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert Filters.from_query({"category": "Violent"}, default).category == "violent"
    assert Filters.from_query({"category": "violent'--"}, default).category is None
    assert Filters.from_query({"category": ["index"]}, default).category is None
    chosen = Filters(*default, category="index")
    assert chosen.to_query()["category"] == "index"
    assert Filters.from_query(chosen.to_query(), default) == chosen
    assert CATEGORY_CHOICES == ("violent", "property", "index", "other")


def test_comparison_ends_at_the_newest_full_day(analytics: Analytics) -> None:
    f = Filters(dt.date(2024, 2, 1), dt.date(2024, 3, 20))
    assert analytics.comparison_end(f) == dt.date(2024, 3, 19)  # the 20th is today
    earlier = Filters(dt.date(2024, 2, 1), dt.date(2024, 3, 1))
    assert analytics.comparison_end(earlier) == dt.date(2024, 3, 1)


def test_compare_counts_each_period_against_the_same_dates_a_year_earlier(
    analytics: Analytics,
) -> None:
    frame = analytics.compare(Filters(dt.date(2024, 2, 1), dt.date(2024, 3, 20)))
    assert frame.select("period", "start", "end").unique(maintain_order=True).rows() == [
        ("ytd", dt.date(2024, 1, 1), dt.date(2024, 3, 19)),
        ("28d", dt.date(2024, 2, 21), dt.date(2024, 3, 19)),
        ("7d", dt.date(2024, 3, 13), dt.date(2024, 3, 19)),
    ]
    assert rows_of(frame, "ytd") == [
        ("all", 9, 6),
        ("violent", 3, 1),  # 1, 4, 7 / 22
        ("property", 3, 4),  # 2, 5, 8 / 20, 21, 24, 25
        ("other", 3, 1),  # 3, 6, 9 / 23
    ]
    assert rows_of(frame, "28d") == [
        ("all", 6, 3),
        ("violent", 2, 0),  # 4, 7
        ("property", 2, 2),  # 5, 8 / 24, 25
        ("other", 2, 1),  # 6, 9 / 23
    ]
    assert rows_of(frame, "7d") == [
        ("all", 3, 2),
        ("violent", 1, 0),
        ("property", 1, 2),
        ("other", 1, 0),
    ]
    total = frame.row(0, named=True)
    assert total["change"] == 3
    assert total["percent_change"] == pytest.approx(50.0)
    assert total["z"] == pytest.approx(2 * (3 - math.sqrt(6)))
    assert total["small"] is True
    violent_28 = frame.filter(period="28d", category="violent").row(0, named=True)
    assert violent_28["percent_change"] is None  # none a year earlier


def test_compare_applies_the_other_filters(analytics: Analytics) -> None:
    arrests = analytics.compare(Filters(dt.date(2024, 2, 1), dt.date(2024, 3, 20), arrest=True))
    assert rows_of(arrests, "ytd") == [
        ("all", 2, 0),
        ("violent", 1, 0),
        ("property", 0, 0),
        ("other", 1, 0),
    ]


def test_compare_of_an_empty_lake_is_empty(tmp_path: Path) -> None:
    empty = Analytics(tmp_path / "nothing", cache=False, clock=lambda: NOW)
    assert empty.compare(Filters(dt.date(2024, 1, 1), dt.date(2024, 1, 2))).is_empty()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2024, 2, 29), dt.date(2023, 2, 28)),
        (dt.date(2024, 3, 1), dt.date(2023, 3, 1)),
        (dt.date(2025, 1, 1), dt.date(2024, 1, 1)),
    ],
)
def test_year_before_keeps_the_calendar_date(day: dt.date, expected: dt.date) -> None:
    assert year_before(day) == expected


def test_periods_of_the_first_of_january_are_one_day_of_the_year() -> None:
    ytd, last28, last7 = periods_ending(dt.date(2025, 1, 1))
    assert (ytd.start, ytd.end) == (dt.date(2025, 1, 1), dt.date(2025, 1, 1))
    assert last28.start == dt.date(2024, 12, 5)
    assert last7.before == (dt.date(2023, 12, 26), dt.date(2024, 1, 1))


def test_z_is_twice_the_difference_of_square_roots() -> None:
    assert z_score(100, 64) == pytest.approx(4.0)
    assert z_score(0, 0) == 0.0
    assert z_score(49, 81) == pytest.approx(-4.0)


def test_a_small_count_a_year_earlier_mutes_the_percent_change() -> None:
    period = periods_ending(dt.date(2024, 3, 19))[2]
    rows = comparison_rows(period, {"violent": 30}, {"violent": SMALL_COUNT - 1})
    violent = next(row for row in rows if row["category"] == "violent")
    assert violent["small"] is True
    enough = comparison_rows(period, {"violent": 30}, {"violent": SMALL_COUNT})
    assert next(row for row in enough if row["category"] == "violent")["small"] is False


def test_a_year_earlier_the_lake_does_not_reach_is_unknown_not_zero(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    commit_rows(data_dir, ROWS[:10], "recent")  # 2024 only: nothing a year earlier is known
    frame = Analytics(data_dir, cache=False, clock=lambda: NOW).compare(
        Filters(dt.date(2024, 1, 1), dt.date(2024, 3, 20))
    )
    total = frame.filter(period="7d", category="all").row(0, named=True)
    assert (total["now"], total["before"], total["change"], total["z"]) == (3, None, None, None)
    assert frame.get_column("before").null_count() == 12


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("7d", (dt.date(2024, 3, 4), dt.date(2024, 3, 10))),
        ("28d", (dt.date(2024, 2, 12), dt.date(2024, 3, 10))),
        ("ytd", (dt.date(2024, 1, 1), dt.date(2024, 3, 10))),
        ("last-year", (dt.date(2023, 1, 1), dt.date(2023, 12, 31))),
        ("year-before", (dt.date(2023, 2, 28), dt.date(2023, 3, 5))),
        ("tomorrow", None),
    ],
)
def test_date_presets_end_at_the_newest_day_or_move_the_selection_back_a_year(
    name: str, expected: tuple[dt.date, dt.date] | None
) -> None:
    """Newest day Sunday 10 March 2024; the selection 29 February – 5 March 2024."""
    current = (dt.date(2024, 2, 29), dt.date(2024, 3, 5))
    assert preset_range(name, dt.date(2024, 3, 10), current) == expected
