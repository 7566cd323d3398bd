"""What a link asked for that the dashboard could not show as written, in words for the page.

A link is opened as the nearest meaningful view (`chicrime.app.context.selection`): reversed
dates are swapped, dates are moved into the lake, values that name nothing are dropped. This
module says which of those happened and why, so a typo never silently shows all crimes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from chicrime.analytics.categories import CATEGORY_CHOICES
from chicrime.analytics.filters import (
    RADII,
    Filters,
    parse_bool,
    parse_date,
    parse_hour,
    parse_radius,
)

__all__ = ["link_corrections"]

_SHOWN = 3  # unknown values named one by one; more are counted


def _listed(values: list[str]) -> str:
    named = ", ".join(f"“{v}”" for v in values[:_SHOWN])
    more = len(values) - _SHOWN
    return named + (f" and {more} more" if more > 0 else "")


def _unknown(raw: str, kept: tuple[str, ...]) -> list[str]:
    values = (v.strip() for v in raw.split("|"))
    return list(dict.fromkeys(v for v in values if v and v not in kept))


def link_corrections(
    params: Mapping[str, str], shown: Filters, span: tuple[dt.date, dt.date]
) -> list[str]:
    """Sentences naming each value of the link `params` that `shown` (the view opened for it,
    in the lake's date range `span`) does not show as written; [] when it shows them all."""
    notes: list[str] = []
    raw_start, raw_end = params.get("start", ""), params.get("end", "")
    start, end = parse_date(raw_start), parse_date(raw_end)
    for name, raw, parsed in (("start", raw_start, start), ("end", raw_end, end)):
        if raw.strip() and parsed is None:
            notes.append(f"The {name} date “{raw}” is not a date (YYYY-MM-DD): default used.")
    if start and end and end < start:
        notes.append(f"The dates were given end first ({raw_start} to {raw_end}): swapped.")
    first, last = span
    asked = [day for day in (start, end) if day is not None]
    if any(not first <= day <= last for day in asked):
        notes.append(
            f"The lake holds incidents from {first:%d %b %Y} to {last:%d %b %Y}: "
            "the dates were moved into that range."
        )
    for name, noun, kept in (
        ("types", "primary type", shown.primary_types),
        ("district", "district", shown.districts),
        ("area", "community area", shown.community_areas),
    ):
        unknown = _unknown(params.get(name, ""), kept)
        if unknown:
            plural = "s" if len(unknown) > 1 else ""
            notes.append(f"No {noun}{plural} {_listed(unknown)} in the lake: ignored.")
    for name in ("arrest", "domestic"):
        raw = params.get(name, "").strip()
        if raw and raw.lower() != "all" and parse_bool(raw) is None:
            notes.append(f"{name}=“{raw}” is neither true nor false: ignored.")
    raw_category = params.get("category", "").strip()
    if raw_category and shown.category is None:
        choices = ", ".join(CATEGORY_CHOICES)
        notes.append(f"category=“{raw_category}” is not one of {choices}: ignored.")
    raw_near, raw_radius = params.get("near", "").strip(), params.get("radius", "").strip()
    if raw_near and shown.near is None:
        notes.append(f"near=“{raw_near}” is not a point in Chicago (latitude,longitude): ignored.")
    if raw_radius and parse_radius(raw_radius) is None and shown.near is not None:
        miles = ", ".join(f"{r:g}" for r in RADII)
        notes.append(
            f"radius=“{raw_radius}” is not one of {miles} miles: {shown.radius:g} is used."
        )
    raw_hours = params.get("hours", "").replace(" ", "")
    hours = raw_hours.split("-")
    whole = len(hours) == 2 and all(parse_hour(hour) is not None for hour in hours)
    if raw_hours and not whole:
        notes.append(
            f"hours=“{raw_hours}” is not a range of hours 0–23 such as 8-17 (or 22-4 overnight): "
            f"showing {shown.hour_from}-{shown.hour_to}."
        )
    return notes
