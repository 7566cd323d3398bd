"""The dashboard's selection as one typed value, parsed and validated in one place.

A `Filters` comes from the URL query string or the filter panel and goes down to every query.
Parsing never raises: a value that does not parse (or could be hostile, or is not even text) is
dropped and the default used instead, so any link or crafted request opens a working view.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from chicrime.analytics.categories import CATEGORY_CHOICES

__all__ = [
    "COMMUNITY_AREA_NUMBERS",
    "DEFAULT_RADIUS",
    "MILES_PER_DEGREE",
    "RADII",
    "Filters",
    "miles_per_degree_east",
    "parse_bool",
    "parse_date",
    "parse_hour",
    "parse_radius",
]

# "Around a place": incidents within a radius (miles) of a point inside Chicago's extent.
RADII = (0.25, 0.5, 1.0, 2.0)
DEFAULT_RADIUS = 0.5
MILES_PER_DEGREE = 69.055  # of latitude; of longitude, times the cosine of the latitude
_CHICAGO_LAT, _CHICAGO_LON = (41.6, 42.1), (-87.95, -87.5)

# Chicago's 77 community areas, numbered 1..77 (unchanged since Edgewater was split off in 1980).
COMMUNITY_AREA_NUMBERS = frozenset(str(number) for number in range(1, 78))

_CODE = re.compile(r"[A-Z0-9][A-Z0-9 ()/.,'&-]{0,79}")
_HOUR = re.compile(r"[0-9]{1,2}")


def _text(raw: object) -> str:
    """`raw` stripped if it is text; "" for anything else (None, numbers, lists, dicts)."""
    return raw.strip() if isinstance(raw, str) else ""


def parse_bool(raw: object) -> bool | None:
    """`"true"`/`"false"` (any case) → bool; anything else, text or not → None (no filter)."""
    return {"true": True, "false": False}.get(_text(raw).lower())


def parse_date(raw: object) -> dt.date | None:
    """A `YYYY-MM-DD` day (surrounding blanks ignored); anything else → None."""
    try:
        return dt.date.fromisoformat(_text(raw))
    except ValueError:
        return None


def parse_hour(raw: str) -> int | None:
    """An hour of the day, 0..23, in one or two ASCII digits; anything else → None."""
    return int(raw) if _HOUR.fullmatch(raw) and int(raw) <= 23 else None


def _hour(raw: str, default: int) -> int:
    hour = parse_hour(raw)
    return default if hour is None else hour


def _category(raw: object) -> str | None:
    """One of `CATEGORY_CHOICES` (any case); anything else → None (no filter)."""
    value = _text(raw).lower()
    return value if value in CATEGORY_CHOICES else None


def _near(raw: object) -> tuple[float, float] | None:
    """`"latitude,longitude"` of a point in Chicago's extent; anything else → None."""
    parts = _text(raw).split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    inside = _CHICAGO_LAT[0] <= lat <= _CHICAGO_LAT[1] and _CHICAGO_LON[0] <= lon <= _CHICAGO_LON[1]
    return (lat, lon) if inside else None


def parse_radius(raw: object) -> float | None:
    """One of `RADII` (miles, "0.5" or ".5" alike); anything else → None."""
    try:
        value = float(_text(raw))
    except ValueError:
        return None
    return value if value in RADII else None


def miles_per_degree_east(latitude: float) -> float:
    """Miles in a degree of longitude at `latitude` (on the plane tangent there)."""
    return MILES_PER_DEGREE * math.cos(math.radians(latitude))


def _codes(raw: object) -> tuple[str, ...]:
    """A `|`-separated list of upper-case codes/labels; anything else is dropped."""
    values = (v.strip() for v in _text(raw).split("|"))
    return tuple(sorted({v for v in values if _CODE.fullmatch(v)}))


@dataclass(frozen=True)
class Filters:
    """A selection of incidents. Empty tuples and None mean "no restriction".

    A reversed date range is swapped. Hours are inclusive Chicago wall-clock hours; an hour
    range that runs backwards (22-4) is an overnight one: `hour_from` to midnight, then on to
    `hour_to`.
    """

    start: dt.date
    end: dt.date  # inclusive
    primary_types: tuple[str, ...] = field(default=())
    districts: tuple[str, ...] = field(default=())
    arrest: bool | None = None
    domestic: bool | None = None
    hour_from: int = 0
    hour_to: int = 23  # inclusive
    category: str | None = None  # one of `CATEGORY_CHOICES`
    community_areas: tuple[str, ...] = field(default=())  # numbers as stored, e.g. "32"
    near: tuple[float, float] | None = None  # (latitude, longitude), to 5 decimals (~1 m)
    radius: float = DEFAULT_RADIUS  # miles around `near`; one of `RADII`

    def __post_init__(self) -> None:
        if self.near is not None:
            object.__setattr__(self, "near", (round(self.near[0], 5), round(self.near[1], 5)))
        else:
            object.__setattr__(self, "radius", DEFAULT_RADIUS)  # no place, no radius
        if self.end < self.start:
            start, end = self.end, self.start
            object.__setattr__(self, "start", start)
            object.__setattr__(self, "end", end)

    @property
    def hours(self) -> frozenset[int]:
        """The selected hours of the day (0..23), across midnight for an overnight range."""
        if self.hour_from <= self.hour_to:
            return frozenset(range(self.hour_from, self.hour_to + 1))
        return frozenset(range(self.hour_from, 24)) | frozenset(range(self.hour_to + 1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous_period(self) -> Filters:
        """The same selection over the equally long period just before this one."""
        end = self.start - dt.timedelta(days=1)
        return replace(self, start=end - dt.timedelta(days=self.days - 1), end=end)

    def months(self) -> list[tuple[int, int]]:
        """Every (year, month) the date range touches, for partition pruning."""
        months = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def to_query(self) -> dict[str, str]:
        """The URL query parameters that reproduce this selection (defaults left out)."""
        query = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.primary_types:
            query["types"] = "|".join(self.primary_types)
        if self.districts:
            query["district"] = "|".join(self.districts)
        if self.arrest is not None:
            query["arrest"] = str(self.arrest).lower()
        if self.domestic is not None:
            query["domestic"] = str(self.domestic).lower()
        if self.category is not None:
            query["category"] = self.category
        if self.community_areas:
            query["area"] = "|".join(self.community_areas)
        if self.near is not None:
            query["near"] = f"{self.near[0]:.5f},{self.near[1]:.5f}"
            if self.radius != DEFAULT_RADIUS:
                query["radius"] = f"{self.radius:g}"
        if (self.hour_from, self.hour_to) != (0, 23):
            query["hours"] = f"{self.hour_from}-{self.hour_to}"
        return query

    def cache_key(self) -> str:
        """A stable text key for memoising results of this selection."""
        return "&".join(f"{k}={v}" for k, v in sorted(self.to_query().items()))

    @classmethod
    def from_query(
        cls, params: Mapping[str, object], default_range: tuple[dt.date, dt.date]
    ) -> Filters:
        """Parse URL query parameters; a value that is not valid text falls back to its default.

        Never raises, whatever the values are (a crafted request can send numbers, lists, dicts).
        """
        start = parse_date(params.get("start")) or default_range[0]
        end = parse_date(params.get("end")) or default_range[1]
        hours = _text(params.get("hours")).split("-")
        hour_from, hour_to = (hours[0].strip(), hours[1].strip()) if len(hours) == 2 else ("", "")
        return cls(
            start=start,
            end=end,
            primary_types=_codes(params.get("types")),
            districts=_codes(params.get("district")),
            arrest=parse_bool(params.get("arrest")),
            domestic=parse_bool(params.get("domestic")),
            hour_from=_hour(hour_from, 0),
            hour_to=_hour(hour_to, 23),
            category=_category(params.get("category")),
            community_areas=_codes(params.get("area")),
            near=_near(params.get("near")),
            radius=parse_radius(params.get("radius")) or DEFAULT_RADIUS,
        )

    def within(self, first: dt.date, last: dt.date) -> Filters:
        """The same selection with both dates moved into `first`..`last` (inclusive).

        A range wholly before `first` (or after `last`) becomes that single day.
        """
        return replace(
            self,
            start=min(max(self.start, first), last),
            end=min(max(self.end, first), last),
        )

    def with_choices(self, primary_types: Iterable[str], districts: Iterable[str]) -> Filters:
        """Keep only types and districts that exist in the lake, and community areas that
        exist in Chicago (drops stale or forged values)."""
        known_types, known_districts = set(primary_types), set(districts)
        return replace(
            self,
            primary_types=tuple(t for t in self.primary_types if t in known_types),
            districts=tuple(d for d in self.districts if d in known_districts),
            community_areas=tuple(a for a in self.community_areas if a in COMMUNITY_AREA_NUMBERS),
        )
