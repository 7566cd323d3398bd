"""Which Parquet files a selection reads, and the parameterised SQL that reads them.

The file list comes from the lake version's own directory listing (never from user input) and is
passed to DuckDB as a parameter, like every filter value. Only the months a date range touches
are read. A month the range covers completely needs no test on `date` (the lake partitions rows
by the month of their `date`), so only the first and last month pay for one. A version's
rollups (`chicrime.store.rollups`) are read the same way: `rolled_up` selects their rows.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeVar

from chicrime.analytics.categories import CATEGORY_CODES
from chicrime.analytics.filters import MILES_PER_DEGREE, Filters, miles_per_degree_east
from chicrime.store.facts import VersionFacts, read_facts
from chicrime.store.history import history_files
from chicrime.store.rollups import ROLLUPS, Rollup, rollup_path
from chicrime.store.versions import current_version, version_partitions

__all__ = [
    "LakeFiles",
    "MonthFiles",
    "frame_selection",
    "history_selection",
    "newest_first",
    "revision_filters",
    "rolled_up",
    "selection",
    "whole_lake",
]

_READ = "read_parquet(?, hive_partitioning = false)"

T = TypeVar("T")


@dataclass(frozen=True)
class MonthFiles:
    """One month partition's files, and whether a date range covers the whole month."""

    year: int
    month: int
    files: tuple[str, ...]
    whole: bool = True


class _PerVersion(Generic[T]):
    """One value worked out per lake version: kept until another version is asked for."""

    def __init__(self, compute: Callable[[str], T]) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._held: tuple[str, T] | None = None

    def __call__(self, version: str) -> T:
        with self._lock:
            if self._held is not None and self._held[0] == version:
                return self._held[1]
        value = self._compute(version)  # outside the lock: a slow read blocks no other reader
        with self._lock:
            self._held = (version, value)
        return value


class LakeFiles:
    """The Parquet files, facts and rollups of lake versions under `lake_root`, read once per
    version."""

    def __init__(self, lake_root: Path) -> None:
        self.lake_root = lake_root
        self._months = _PerVersion(self._list_months)
        self._facts = _PerVersion(lambda version: read_facts(lake_root, version))
        self._rollups = _PerVersion(self._find_rollups)
        self._history = _PerVersion(
            lambda version: tuple(str(p) for p in history_files(lake_root, version))
        )

    def version(self) -> str | None:
        """The current version, or None when there is no lake chicrime committed yet."""
        return current_version(self.lake_root)

    def months(self, version: str) -> tuple[MonthFiles, ...]:
        """Every month partition of `version`, oldest first; empty if the version is gone."""
        return self._months(version)

    def facts(self, version: str | None) -> VersionFacts | None:
        """The lake-wide facts `version`'s commit wrote; None for no version or an older
        chicrime's version, which has none."""
        return None if version is None else self._facts(version)

    def rollups(self, version: str | None) -> tuple[Rollup, ...]:
        """The rollups `version`'s commit wrote, in `ROLLUPS` order (none for no version)."""
        return () if version is None else self._rollups(version)

    def history(self, version: str | None) -> tuple[str, ...]:
        """The record-history files of `version` (none for no version, or one without)."""
        return () if version is None else self._history(version)

    def _list_months(self, version: str) -> tuple[MonthFiles, ...]:
        return tuple(
            MonthFiles(year, month, tuple(str(f) for f in files))
            for (year, month), files in version_partitions(self.lake_root / version).items()
        )

    def _find_rollups(self, version: str) -> tuple[Rollup, ...]:
        return tuple(r for r in ROLLUPS if rollup_path(self.lake_root, version, r.name).is_file())

    def rollup_file(self, version: str, rollup: Rollup) -> str:
        return str(rollup_path(self.lake_root, version, rollup.name))

    def between(self, version: str, start: dt.date, end: dt.date) -> list[MonthFiles]:
        """The partitions holding dates from `start` to `end` (inclusive), oldest first."""
        chosen = []
        for part in self.months(version):
            first = dt.date(part.year, part.month, 1)
            after = _next_month(first)
            if first <= end and after > start:
                whole = start <= first and after - dt.timedelta(days=1) <= end
                chosen.append(MonthFiles(part.year, part.month, part.files, whole))
        return chosen


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _conditions(f: Filters, hour: str = 'hour("date")') -> tuple[str, list[object]]:
    """The non-date conditions of `f` as SQL with `?` placeholders, and their values; `hour`
    is the SQL of the wall-clock hour."""
    clauses: list[str] = []
    params: list[object] = []
    if f.primary_types:
        clauses.append("primary_type IN ?")
        params.append(list(f.primary_types))
    if f.districts:
        clauses.append("district IN ?")
        params.append(list(f.districts))
    if f.community_areas:
        clauses.append("community_area IN ?")
        params.append(list(f.community_areas))
    if f.arrest is not None:
        clauses.append("arrest = ?")
        params.append(f.arrest)
    if f.domestic is not None:
        clauses.append("domestic = ?")
        params.append(f.domestic)
    if f.category is not None:
        codes = CATEGORY_CODES[f.category]
        if codes is None:  # Part II: every code but Part I's, and none
            clauses.append("(fbi_code IS NULL OR fbi_code NOT IN ?)")
            params.append(list(CATEGORY_CODES["index"] or ()))
        else:
            clauses.append("fbi_code IN ?")
            params.append(list(codes))
    if f.near is not None:
        # Distance in miles on a plane tangent at the point: within 0.1 % up to 2 miles.
        lat, lon = f.near
        east = miles_per_degree_east(lat)
        clauses.append("pow((latitude - ?) * ?, 2) + pow((longitude - ?) * ?, 2) <= ?")
        params += [lat, MILES_PER_DEGREE, lon, east, f.radius**2]
    if (f.hour_from, f.hour_to) != (0, 23):
        overnight = f.hour_to < f.hour_from
        clauses.append(f"({hour} >= ? {'OR' if overnight else 'AND'} {hour} <= ?)")
        params += [f.hour_from, f.hour_to]
    return " AND ".join(clauses) or "TRUE", params


def selection(columns: str, parts: Sequence[MonthFiles], f: Filters) -> tuple[str, list[object]]:
    """A parenthesised SQL relation of `columns` for the rows of `parts` that `f` selects.

    `columns` must be SQL written in chicrime's code, never user input. `parts` must not be
    empty. Dates run from `f.start` 00:00 to `f.end` 23:59:59.999999 inclusive.
    """
    where, values = _conditions(f)
    whole = [file for part in parts if part.whole for file in part.files]
    edge = [file for part in parts if not part.whole for file in part.files]
    branches: list[str] = []
    params: list[object] = []
    if whole:
        branches.append(f"SELECT {columns} FROM {_READ} WHERE {where}")
        params += [whole, *values]
    if edge:
        dated, dated_values = _dated(f)
        branches.append(f"SELECT {columns} FROM {_READ} WHERE {dated}")
        params += [edge, *dated_values]
    return "(" + " UNION ALL ".join(branches) + ")", params


def rolled_up(
    columns: str, path: str, grain: str, first: dt.date, last: dt.date, f: Filters
) -> tuple[str, list[object]]:
    """A parenthesised SQL relation of `columns` for the rows of rollup file `path` whose
    `grain` column (day or month, a DATE) lies from `first` to `last` and that `f`'s other
    conditions select. `columns` and `grain` must be chicrime's own SQL."""
    where, values = _conditions(f, hour="hour")
    return (
        f"(SELECT {columns} FROM read_parquet(?) WHERE {grain} BETWEEN ? AND ? AND {where})",
        [path, first, last, *values],
    )


def revision_filters(f: Filters) -> Filters:
    """The part of `f` a revision can be selected by: its incident's dates, types, category,
    district and community area (arrest, domestic, hours and place are what revisions change,
    or are not kept with them)."""
    return replace(f, arrest=None, domestic=None, near=None, hour_from=0, hour_to=23)


def history_selection(
    files: Sequence[str], f: Filters | None, where: str = "TRUE", values: Sequence[object] = ()
) -> tuple[str, list[object]]:
    """A parenthesised SQL relation of the history rows in `files` whose incident `f` selects
    (by `revision_filters`; every row without `f`) and that `where` (chicrime's own SQL, with
    placeholders for `values`) holds for. `files` must not be empty."""
    dated, dated_values = ("TRUE", []) if f is None else _dated(revision_filters(f))
    return (
        f"(SELECT * FROM {_READ} WHERE {where} AND {dated})",
        [list(files), *values, *dated_values],
    )


def frame_selection(name: str, f: Filters) -> tuple[str, list[object]]:
    """A parenthesised SQL relation of the rows of the relation registered as `name`
    (chicrime's own name, lake columns) that `f` selects."""
    dated, values = _dated(f)
    return f"(SELECT * FROM {name} WHERE {dated})", values


def _dated(f: Filters) -> tuple[str, list[object]]:
    """All of `f`'s conditions as SQL with `?` placeholders, and their values: its dates (from
    its first day's midnight to the midnight after its last day) and `_conditions`."""
    where, values = _conditions(f)
    start = dt.datetime.combine(f.start, dt.time())
    after = dt.datetime.combine(f.end + dt.timedelta(days=1), dt.time())
    return f'"date" >= ? AND "date" < ? AND {where}', [start, after, *values]


def whole_lake(columns: str, parts: Sequence[MonthFiles]) -> tuple[str, list[object]]:
    """A parenthesised SQL relation of `columns` over every row of `parts` (not empty)."""
    return f"(SELECT {columns} FROM {_READ})", [[file for part in parts for file in part.files]]


def newest_first(parts: Sequence[MonthFiles]) -> Iterator[list[MonthFiles]]:
    """`parts` in groups from the newest back, each group twice as many months as the last.

    A newest-first query with a row limit usually needs only the latest month; a selective
    filter reads further back in a few queries instead of sorting the whole lake.
    """
    end, size = len(parts), 1
    while end > 0:
        start = max(0, end - size)
        yield list(parts[start:end])
        end, size = start, size * 2
