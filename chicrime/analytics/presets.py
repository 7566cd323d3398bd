"""Date presets of the filter panel: ranges an analyst asks for by name, ending at the newest
day the lake holds (not today, which the lake may not reach yet)."""

from __future__ import annotations

import datetime as dt

from chicrime.analytics.compare import periods_ending, year_before

__all__ = ["PRESETS", "preset_range"]

PRESETS = (
    ("7d", "Last 7 days"),
    ("28d", "Last 28 days"),
    ("ytd", "Year to date"),
    ("last-year", "Last year"),
    ("year-before", "Same dates a year earlier"),
)


def preset_range(
    name: str, newest: dt.date, current: tuple[dt.date, dt.date]
) -> tuple[dt.date, dt.date] | None:
    """The inclusive dates of preset `name`: the last 7 or 28 days and the year to date end at
    `newest`; last year is the calendar year before `newest`'s; the year-earlier preset moves
    `current` back one year (29 February becomes 28 February). None for an unknown name."""
    if name == "year-before":
        return year_before(current[0]), year_before(current[1])
    if name == "last-year":
        return dt.date(newest.year - 1, 1, 1), dt.date(newest.year - 1, 12, 31)
    periods = {period.key: (period.start, period.end) for period in periods_ending(newest)}
    return periods.get(name)
