"""Period-over-period comparison, as CompStat-style reports make it: the year to date, the last
28 days and the last 7 days, each against the same dates a year earlier, per crime category.

Counts are Poisson-like, so a change is judged by z = 2(√now - √before) (the difference of
the counts' square roots, which have a variance of about ¼ each): |z| ≥ 2 is unlikely as chance
alone (about 5 %). A percent change on fewer than `SMALL_COUNT` incidents a year earlier says
little and is shown muted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from chicrime.analytics.categories import BREAKDOWN

__all__ = [
    "ALL_CATEGORIES",
    "COMPARISON_SCHEMA",
    "PERIODS",
    "SMALL_COUNT",
    "Period",
    "comparison_rows",
    "periods_ending",
    "year_before",
    "z_score",
]

SMALL_COUNT = 20
ALL_CATEGORIES = "all"
PERIODS = (("ytd", "Year to date"), ("28d", "Last 28 days"), ("7d", "Last 7 days"))

COMPARISON_SCHEMA = pl.Schema(
    {
        "period": pl.String(),
        "start": pl.Date(),
        "end": pl.Date(),
        "category": pl.String(),
        "now": pl.Int64(),
        "before": pl.Int64(),
        "change": pl.Int64(),
        "percent_change": pl.Float64(),  # null when there were none a year earlier
        "z": pl.Float64(),
        # before, change, percent_change and z are null when the lake does not reach back to
        # the year-earlier period's first day: nothing is known of it.
        "small": pl.Boolean(),  # fewer than SMALL_COUNT a year earlier
    }
)


@dataclass(frozen=True)
class Period:
    """A comparison period: `key` of `PERIODS`, its dates now and the same dates a year
    earlier (all inclusive)."""

    key: str
    start: dt.date
    end: dt.date

    @property
    def before(self) -> tuple[dt.date, dt.date]:
        return year_before(self.start), year_before(self.end)


def year_before(day: dt.date) -> dt.date:
    """The same date a year earlier; 29 February becomes 28 February."""
    if (day.month, day.day) == (2, 29):
        return dt.date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def periods_ending(end: dt.date) -> tuple[Period, ...]:
    """The year to date, last 28 days and last 7 days ending at `end` (inclusive)."""
    starts = {
        "ytd": dt.date(end.year, 1, 1),
        "28d": end - dt.timedelta(days=27),
        "7d": end - dt.timedelta(days=6),
    }
    return tuple(Period(key, starts[key], end) for key, _label in PERIODS)


def z_score(now: int, before: int) -> float:
    """2(√now - √before): about standard normal when both counts are Poisson with one mean."""
    return 2.0 * (math.sqrt(now) - math.sqrt(before))


def comparison_rows(
    period: Period, now: Mapping[str, int], before: Mapping[str, int] | None
) -> list[dict[str, object]]:
    """The rows of one period: every category and the total ("all"), from counts per category
    now and a year earlier (a category missing from a mapping counted none; `before` None: the
    year earlier is not in the lake)."""
    rows = []
    for category in (ALL_CATEGORIES, *BREAKDOWN):
        counts = (now, {} if before is None else before)
        if category == ALL_CATEGORIES:
            current, earlier = (sum(c.values()) for c in counts)
        else:
            current, earlier = (c.get(category, 0) for c in counts)
        known = before is not None
        rows.append(
            {
                "period": period.key,
                "start": period.start,
                "end": period.end,
                "category": category,
                "now": current,
                "before": earlier if known else None,
                "change": current - earlier if known else None,
                "percent_change": (
                    100.0 * (current - earlier) / earlier if known and earlier else None
                ),
                "z": z_score(current, earlier) if known else None,
                "small": earlier < SMALL_COUNT,
            }
        )
    return rows
