"""The dashboard's selection as one typed value, parsed and validated in one place.

A `Filters` comes from the URL query string or the filter panel and goes down to every query.
Parsing never raises: a value that does not parse (or could be hostile) is dropped and the
default used instead, so any link opens a working view.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

__all__ = ["Filters", "parse_bool"]

_CODE = re.compile(r"[A-Z0-9][A-Z0-9 ()/.,'&-]{0,79}")


def parse_bool(raw: str | None) -> bool | None:
    """`"true"`/`"false"` (any case) → bool; anything else → None (no filter)."""
    return {"true": True, "false": False}.get((raw or "").strip().lower())


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _hour(raw: str | None, default: int) -> int:
    text = (raw or "").strip()
    return int(text) if text.isdigit() and 0 <= int(text) <= 23 else default


def _codes(raw: str | None) -> tuple[str, ...]:
    """A `|`-separated list of upper-case codes/labels; anything else is dropped."""
    values = (v.strip() for v in (raw or "").split("|"))
    return tuple(sorted({v for v in values if _CODE.fullmatch(v)}))


@dataclass(frozen=True)
class Filters:
    """A selection of incidents. Empty tuples and None mean "no restriction"."""

    start: dt.date
    end: dt.date  # inclusive
    primary_types: tuple[str, ...] = field(default=())
    districts: tuple[str, ...] = field(default=())
    arrest: bool | None = None
    domestic: bool | None = None
    hour_from: int = 0
    hour_to: int = 23  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            object.__setattr__(self, "start", self.end)
        if self.hour_to < self.hour_from:
            object.__setattr__(self, "hour_from", self.hour_to)

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
        if (self.hour_from, self.hour_to) != (0, 23):
            query["hours"] = f"{self.hour_from}-{self.hour_to}"
        return query

    def cache_key(self) -> str:
        """A stable text key for memoising results of this selection."""
        return "&".join(f"{k}={v}" for k, v in sorted(self.to_query().items()))

    @classmethod
    def from_query(
        cls, params: Mapping[str, str | None], default_range: tuple[dt.date, dt.date]
    ) -> Filters:
        """Parse URL query parameters; unparsable values fall back to defaults, never raise."""
        start = _date(params.get("start")) or default_range[0]
        end = _date(params.get("end")) or default_range[1]
        hours = (params.get("hours") or "").split("-")
        return cls(
            start=start,
            end=end,
            primary_types=_codes(params.get("types")),
            districts=_codes(params.get("district")),
            arrest=parse_bool(params.get("arrest")),
            domestic=parse_bool(params.get("domestic")),
            hour_from=_hour(hours[0] if len(hours) == 2 else None, 0),
            hour_to=_hour(hours[1] if len(hours) == 2 else None, 23),
        )

    def with_choices(self, primary_types: Iterable[str], districts: Iterable[str]) -> Filters:
        """Keep only types and districts that exist in the lake (drops stale or forged values)."""
        known_types, known_districts = set(primary_types), set(districts)
        return replace(
            self,
            primary_types=tuple(t for t in self.primary_types if t in known_types),
            districts=tuple(d for d in self.districts if d in known_districts),
        )
