"""The dashboard's questions, answered by DuckDB over the Parquet lake and memoised on disk.

Every method takes a `Filters` (or nothing) and returns a small polars frame or value. Queries
read only the month files the selection touches, pass every value (file list included) as a
parameter, and aggregate inside DuckDB. Results are memoised under the lake's data version, so a
commit by ingestion makes every later call recompute. With no lake, or no file for the range,
methods return empty results of their usual schema instead of raising; a DuckDB failure (for
example a file removed under a running query) raises `duckdb.Error`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar, cast

import duckdb
import polars as pl

from chicrime.analytics import changes, hexagons
from chicrime.analytics.areas import Population, area_names, area_rates, population_of
from chicrime.analytics.cache import ResultCache
from chicrime.analytics.categories import BREAKDOWN, category_expr
from chicrime.analytics.compare import COMPARISON_SCHEMA, comparison_rows, periods_ending
from chicrime.analytics.connections import Connections
from chicrime.analytics.export import CSV_COLUMNS, csv_bytes
from chicrime.analytics.filters import Filters
from chicrime.analytics.scan import (
    LakeFiles,
    MonthFiles,
    frame_selection,
    history_selection,
    newest_first,
    rolled_up,
    selection,
    whole_lake,
)
from chicrime.clock import CHICAGO, utc_now, utc_shown
from chicrime.remote.status import SyncStatus
from chicrime.store.geo import read_geo_file
from chicrime.store.hexgrid import cell_size, cells_sql
from chicrime.store.history import check_as_of, first_run, read_history, restored_rows
from chicrime.store.layout import Layout
from chicrime.store.rollups import DIMENSION_SQL, Rollup
from chicrime.store.schema import LAKE_SCHEMA
from chicrime.store.state import RunRecord, StateView
from chicrime.store.versions import version_rows

__all__ = [
    "ARREST_RATES_SCHEMA",
    "CATEGORIES_SCHEMA",
    "COMMUNITY_AREAS_SCHEMA",
    "COMPARISON_SCHEMA",
    "CSV_ROW_CAP",
    "DAILY_GRAIN_MAX_DAYS",
    "HEXAGONS_SCHEMA",
    "MAP_POINTS_LIMIT",
    "MAP_POINTS_MAX_DAYS",
    "MAP_POINTS_SCHEMA",
    "REVISION_SHARES_SCHEMA",
    "TABLE_ROW_CAP",
    "TABLE_SCHEMA",
    "TIME_SERIES_SCHEMA",
    "TOP_TYPES_SCHEMA",
    "WEEKDAY_HOUR_SCHEMA",
    "Analytics",
    "Dimensions",
    "Freshness",
    "Kpis",
    "revision_shares",
    "time_grain",
]

MAP_POINTS_MAX_DAYS = 90  # the map shows points up to this many days, hexagons beyond
MAP_POINTS_LIMIT = 20_000
TABLE_ROW_CAP = 500
CSV_ROW_CAP = 100_000
DAILY_GRAIN_MAX_DAYS = 120  # incidents_over_time counts per day up to this, per week beyond

_CSV_BATCH_ROWS = 10_000

TIME_SERIES_SCHEMA = pl.Schema({"period": pl.Date(), "incidents": pl.Int64(), "days": pl.Int64()})
TOP_TYPES_SCHEMA = pl.Schema({"primary_type": pl.String(), "incidents": pl.Int64()})
WEEKDAY_HOUR_SCHEMA = pl.Schema(
    {"weekday": pl.Int64(), "hour": pl.Int64(), "incidents": pl.Int64()}
)
ARREST_RATES_SCHEMA = pl.Schema(
    {
        "primary_type": pl.String(),
        "incidents": pl.Int64(),
        "arrests": pl.Int64(),
        "arrest_rate": pl.Float64(),
    }
)
_MAP_POINT_COLUMNS = ("latitude", "longitude", "primary_type", "date", "block", "arrest")
MAP_POINTS_SCHEMA = pl.Schema({c: LAKE_SCHEMA[c] for c in _MAP_POINT_COLUMNS})
HEXAGONS_SCHEMA = pl.Schema(
    {
        "hex_q": pl.Int64(),
        "hex_r": pl.Int64(),
        "latitude": pl.Float64(),
        "longitude": pl.Float64(),
        "incidents": pl.Int64(),
    }
)
COMMUNITY_AREAS_SCHEMA = pl.Schema({"community_area": pl.String(), "incidents": pl.Int64()})
CATEGORIES_SCHEMA = pl.Schema(
    {"category": pl.String(), "incidents": pl.Int64(), "arrests": pl.Int64()}
)
# What a reader wants: every column but the codes, the coordinates and the update time.
_TABLE_COLUMNS = tuple(
    c for c in CSV_COLUMNS if c not in ("iucr", "fbi_code", "latitude", "longitude", "updated_on")
)
TABLE_SCHEMA = pl.Schema({c: LAKE_SCHEMA[c] for c in _TABLE_COLUMNS})
_CSV_SCHEMA = pl.Schema({c: LAKE_SCHEMA[c] for c in CSV_COLUMNS})
REVISION_SHARES_SCHEMA = pl.Schema(
    {
        "category": pl.String(),
        "incidents": pl.Int64(),
        "revised": pl.Int64(),
        "median_lag_days": pl.Float64(),
        "share": pl.Float64(),
    }
)

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kpis:
    """Headline numbers of a selection, and its change against the period just before it."""

    incidents: int
    arrests: int
    arrest_rate: float | None  # arrests / incidents, None when there are no incidents
    previous_incidents: int
    change: float | None  # (incidents - previous) / previous, None when previous is 0


@dataclass(frozen=True)
class Dimensions:
    """The distinct, non-null values the filter panel offers, sorted."""

    primary_types: tuple[str, ...]
    districts: tuple[str, ...]


@dataclass(frozen=True)
class Freshness:
    """How recent the local copy is."""

    last_success_at: str | None  # UTC instant of the last successful ingestion, as stored
    newest_date: dt.datetime | None  # newest incident `date` (Chicago wall clock)
    rows: int
    synthetic: bool  # the last successful run wrote demo data (`chicrime demo`)
    revised_last_run: int | None  # records the last successful run revised (None: not known)
    # With LAKE_URL, why this host cannot follow the shared store (it shows the version it has).
    store_problem: str | None = None


@dataclass(frozen=True)
class _LakeStats:
    rows: int
    first: dt.datetime | None
    last: dt.datetime | None


@dataclass(frozen=True)
class _Query:
    """SQL over selected rows: `{source}` in `sql` stands for them, holding `columns`.

    `columns` and `sql` are chicrime's own text, never user input; `params` are the values of
    the placeholders `sql` adds after `{source}`.
    """

    columns: str
    sql: str
    schema: pl.Schema
    params: tuple[object, ...] = ()


@dataclass(frozen=True)
class _Key:
    """A column of a counting query: `sql` over the dimensions `needs` (named as in
    `chicrime.store.rollups`), output as `name`."""

    name: str
    sql: str
    needs: tuple[str, ...]
    dtype: pl.DataType


_PERIOD_DAY = _Key("period", "day", ("day",), pl.Date())
_PERIOD_WEEK = _Key("period", "CAST(date_trunc('week', day) AS DATE)", ("day",), pl.Date())
_WEEKDAY = _Key("weekday", "isodow(day) - 1", ("day",), pl.Int64())
_HOUR = _Key("hour", "hour", ("hour",), pl.Int64())
_PRIMARY_TYPE = _Key("primary_type", "primary_type", ("primary_type",), pl.String())
_FBI_CODE = _Key("fbi_code", "fbi_code", ("fbi_code",), pl.String())
_COMMUNITY_AREA = _Key("community_area", "community_area", ("community_area",), pl.String())
_HEX_CELL = (
    _Key("hex_q", "hex_q", ("hex_q",), pl.Int64()),
    _Key("hex_r", "hex_r", ("hex_r",), pl.Int64()),
)
_MEASURES = pl.Schema({"incidents": pl.Int64(), "arrests": pl.Int64()})
_CELL_DIMENSIONS = ("hex_q", "hex_r")
_COUNTS = (
    "CAST(count(*) AS BIGINT) AS incidents,"
    " CAST(count(*) FILTER (WHERE arrest) AS BIGINT) AS arrests"
)
_SUMS = "CAST(sum(incidents) AS BIGINT) AS incidents, CAST(sum(arrests) AS BIGINT) AS arrests"


def _filter_dimensions(f: Filters) -> set[str]:
    """The dimensions a source must hold to apply `f`'s conditions besides its dates."""
    used = {
        "primary_type": bool(f.primary_types),
        "district": bool(f.districts),
        "arrest": f.arrest is not None,
        "domestic": f.domestic is not None,
        "hour": (f.hour_from, f.hour_to) != (0, 23),
        "fbi_code": f.category is not None,
        "community_area": bool(f.community_areas),
        "location": f.near is not None,  # no rollup holds coordinates: the lake answers
    }
    return {dimension for dimension, restricted in used.items() if restricted}


def time_grain(f: Filters) -> Literal["day", "week"]:
    """The period `incidents_over_time` counts by for `f`: days up to 120 days, then ISO weeks."""
    return "day" if f.days <= DAILY_GRAIN_MAX_DAYS else "week"


def _filters_key(f: Filters) -> tuple[Hashable, ...]:
    # Every field, not the URL form: values joined with "|" there could collide.
    return (
        f.start.isoformat(),
        f.end.isoformat(),
        f.primary_types,
        f.districts,
        f.arrest,
        f.domestic,
        f.hour_from,
        f.hour_to,
        f.category,
        f.community_areas,
        f.near,
        f.radius,
    )


def _empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def revision_shares(counts: pl.DataFrame, revised: pl.DataFrame) -> pl.DataFrame:
    """Per category: its incidents (`Analytics.category_counts`), how many of them were
    changed or removed (`Revisions.revised`), that share, and the median days from incident to
    revision (`REVISION_SHARES_SCHEMA`)."""
    return (
        counts.select("category", "incidents")
        .join(revised, on="category", how="left")
        .with_columns(pl.col("revised").fill_null(0))
        .with_columns(
            pl.when(pl.col("incidents") > 0)
            .then(pl.col("revised") / pl.col("incidents"))
            .alias("share")
        )
        .cast(REVISION_SHARES_SCHEMA)
    )


class Analytics:
    """Read-only analytics over the lake and state under `data_dir`. Safe to share by threads.

    Results are memoised in a diskcache under `cache_dir` (default `data_dir/cache/analytics`)
    bounded by `cache_size_bytes`, shared by every process using that directory, or in the Redis
    at `cache_url` (shared by every host using it); `cache=False` turns memoisation off.
    `follows_store` (a web host with LAKE_URL) adds what the follower recorded to `freshness`.
    Counts come from the version's rollups where one answers exactly; `rollups=False` reads only the
    lake files (the answers are the same). `on_query`, if given, is called with a label before
    each DuckDB query runs (for tests and timing).
    `clock` returns the current instant (aware, UTC; default the system clock); it decides
    which incidents count as dated in the future.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        cache_dir: Path | None = None,
        cache_size_bytes: int = 256 * 2**20,
        cache: bool = True,
        cache_url: str | None = None,
        follows_store: bool = False,
        rollups: bool = True,
        on_query: Callable[[str], None] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.data_dir = data_dir
        layout = Layout(data_dir)
        self._layout = layout
        self._clock = clock or utc_now
        self._files = LakeFiles(layout.lake_dir)
        self._connections = Connections(temp_directory=layout.duckdb_temp_dir)
        self._cache = (
            ResultCache(cache_dir or layout.query_cache_dir, cache_size_bytes, cache_url)
            if cache
            else None
        )
        self._history = StateView(layout.state_db)
        self._on_query = on_query
        self._use_rollups = rollups
        self._follows_store = follows_store

    # -- the lake as a whole ------------------------------------------------------------------

    def data_version(self) -> str | None:
        """The lake version (target of `lake/crimes`); it changes with each committing run.

        None when there is no lake (no link yet, or `lake/crimes` is not chicrime's link).
        """
        return self._files.version()

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """The first and last incident date in the lake, or None when it holds no rows."""
        stats = self._lake_stats()
        if stats.first is None or stats.last is None:
            return None
        return stats.first.date(), stats.last.date()

    def default_filters(self) -> Filters | None:
        """The 30 days ending at the newest incident dated no later than tomorrow in Chicago.

        Incidents dated further ahead (upstream data-entry errors the lake keeps) do not move
        the default view; if every incident is dated that far ahead, it ends at the newest one.
        None when the lake holds no rows.
        """
        stats = self._lake_stats()
        if stats.first is None or stats.last is None:
            return None
        tomorrow = self._clock().astimezone(CHICAGO).date() + dt.timedelta(days=1)
        end = stats.last.date()
        if end > tomorrow:
            end = self._newest_date_until(stats.first.date(), tomorrow) or end
        return Filters(start=end - dt.timedelta(days=29), end=end)

    def dimensions(self) -> Dimensions:
        """Every primary type and district in the lake (empty tuples when there is no lake).

        Read from the facts the version's commit wrote; scanned only for an older version.
        """
        version = self.data_version()
        facts = self._files.facts(version)
        if facts is not None:
            return Dimensions(facts.primary_types, facts.districts)

        def compute() -> Dimensions:
            parts = self._all_months(version)
            if not parts:
                return Dimensions((), ())
            source, params = whole_lake("primary_type, district", parts)
            pairs = self._run("dimensions", version, f"SELECT DISTINCT * FROM {source}", params)
            return Dimensions(
                primary_types=tuple(sorted(set(pairs["primary_type"].drop_nulls()))),
                districts=tuple(sorted(set(pairs["district"].drop_nulls()))),
            )

        return self._memoised("dimensions", version, (), compute)

    def freshness(self) -> Freshness:
        """Last successful ingestion (from the state db) and the lake's newest date and size.

        A missing or unreadable state database gives `last_success_at=None`, `synthetic=False`.
        """
        stats = self._lake_stats()
        last = self._history.last_success()
        followed = SyncStatus.load(self._layout.follow_status) if self._follows_store else None
        return Freshness(
            last_success_at=self._history.last_success_at(),
            newest_date=stats.last,
            rows=stats.rows,
            synthetic=last is not None and last.kind == "demo",
            revised_last_run=None if last is None else last.rows_revised,
            store_problem=None
            if followed is None or followed.failing_since is None
            else f"has not been able to follow the shared store since "
            f"{utc_shown(followed.failing_since)}; it shows the version published "
            f"{utc_shown(followed.done_at)}",
        )

    def recent_runs(self, n: int = 10) -> list[RunRecord]:
        """The newest `n` rows of `runs`, newest first; empty when there is no readable state db.

        Not memoised: a failed run changes history without changing the lake.
        """
        return self._history.recent_runs(n)

    # -- aggregates of a selection ------------------------------------------------------------

    def kpis(self, f: Filters) -> Kpis:
        """Incidents, arrests and arrest rate of `f`, and incidents of `f.previous_period()`."""
        version = self.data_version()

        def compute() -> Kpis:
            incidents, arrests = self._selection_counts("kpis", version, f)
            previous, _ = self._selection_counts("kpis.previous", version, f.previous_period())
            return Kpis(
                incidents=incidents,
                arrests=arrests,
                arrest_rate=arrests / incidents if incidents else None,
                previous_incidents=previous,
                change=(incidents - previous) / previous if previous else None,
            )

        return self._memoised("kpis", version, _filters_key(f), compute)

    def incidents_over_time(self, f: Filters) -> pl.DataFrame:
        """Incidents per period (`period`, `incidents`, `days`), every period of the range
        present.

        Periods are days when `f.days` <= 120, else ISO weeks labelled by their Monday; a period
        with no incident has 0, also when the lake has no data for the range. `days` is how many
        days of the period lie in the selection: 7 for a whole week, fewer for a partial week at
        either end (which a chart must not read as a drop).
        """
        weekly = time_grain(f) == "week"
        return self._counted(
            "incidents_over_time",
            f,
            (_PERIOD_WEEK if weekly else _PERIOD_DAY,),
            lambda counts: _every_period(counts, f, weekly),
        )

    def top_types(self, f: Filters, n: int = 10) -> pl.DataFrame:
        """The `n` most frequent primary types (`primary_type`, `incidents`), ties by name."""
        return self._counted(
            "top_types",
            f,
            (_PRIMARY_TYPE,),
            lambda counts: (
                _most_first(counts, "primary_type").head(n).select(TOP_TYPES_SCHEMA.names())
            ),
            (n,),
        )

    def weekday_hour(self, f: Filters) -> pl.DataFrame:
        """Incidents per weekday (0 = Monday) and wall-clock hour: all 168 cells, zeros included.

        Hours are the stored Chicago wall-clock hours, so a 02:30 on a spring-forward night
        counts in hour 2 and both 01:30s of a fall-back night in hour 1.
        """
        return self._counted("weekday_hour", f, (_WEEKDAY, _HOUR), _every_weekday_hour)

    def arrest_rates(self, f: Filters, n: int = 15) -> pl.DataFrame:
        """For the `n` most frequent types: incidents, arrests and `arrest_rate` in percent."""
        return self._counted(
            "arrest_rates",
            f,
            (_PRIMARY_TYPE,),
            lambda counts: (
                _most_first(counts, "primary_type")
                .head(n)
                .with_columns(arrest_rate=100.0 * pl.col("arrests") / pl.col("incidents"))
                .select(ARREST_RATES_SCHEMA.names())
            ),
            (n,),
        )

    def community_area_counts(self, f: Filters) -> pl.DataFrame:
        """Incidents per community area (`community_area` as stored, e.g. "46"), most first.

        Rows without a community area are left out.
        """
        return self._counted(
            "community_area_counts",
            f,
            (_COMMUNITY_AREA,),
            lambda counts: _most_first(counts, "community_area").select(
                COMMUNITY_AREAS_SCHEMA.names()
            ),
        )

    def community_area_names(self) -> dict[str, str]:
        """Community area number → name, from the cached boundaries ({} when none)."""
        return area_names(read_geo_file(self._layout.community_areas))

    def population(self) -> Population | None:
        """Residents per community area from the cached ACS estimate (None when none)."""
        return population_of(read_geo_file(self._layout.population))

    def community_area_rates(self, f: Filters) -> pl.DataFrame:
        """Per community area: name, incidents, residents and incidents per 100,000 residents
        (`chicrime.analytics.areas.area_rates`)."""
        return area_rates(
            self.community_area_counts(f), self.community_area_names(), self.population()
        )

    def place_counts(self, f: Filters, place: Literal["district", "ward"]) -> pl.DataFrame:
        """Incidents and arrests per police district or ward, most incidents first, ties by
        name; rows without one are left out."""
        key = _Key(place, place, (place,), pl.String())
        return self._counted(
            f"{place}_counts",
            f,
            (key,),
            lambda counts: _most_first(counts, place).select(place, "incidents", "arrests"),
        )

    def category_counts(self, f: Filters) -> pl.DataFrame:
        """Incidents and arrests per category of `chicrime.analytics.categories` (violent,
        property, other; in that order, zeros included)."""
        return self._counted(
            "category_counts",
            f,
            (_FBI_CODE,),
            lambda counts: (
                pl.DataFrame({"category": BREAKDOWN}, schema={"category": pl.String()})
                .join(_per_category(counts), on="category", how="left")
                .with_columns(pl.col("incidents", "arrests").fill_null(0))
                .cast(CATEGORIES_SCHEMA)
            ),
        )

    def comparison_end(self, f: Filters) -> dt.date | None:
        """The day `compare` counts up to: `f.end`, or the newest full day in the lake if that
        is earlier (the lake's newest date, unless that is today in Chicago: then the day
        before). None when the lake holds no rows."""
        stats = self._lake_stats()
        if stats.last is None:
            return None
        newest = stats.last.date()
        if newest >= self._clock().astimezone(CHICAGO).date():
            newest = self._clock().astimezone(CHICAGO).date() - dt.timedelta(days=1)
        return min(f.end, newest)

    def compare(self, f: Filters) -> pl.DataFrame:
        """For the year to date, the last 28 days and the last 7 days ending at
        `comparison_end(f)`, per category and in all (`category` "all", first): incidents
        now and on the same dates a year earlier, with `f`'s other filters; the change, the
        percent change and z (`chicrime.analytics.compare`); the year-earlier figures are
        null where the lake does not reach back to its first day. Empty for an empty lake."""
        end = self.comparison_end(f)
        version = self.data_version()
        if end is None:
            return _empty(COMPARISON_SCHEMA)

        def compute() -> pl.DataFrame:
            first = self._lake_stats().first
            periods = periods_ending(end)
            known = {p.key: first is not None and p.before[0] >= first.date() for p in periods}
            # One count per category and day over every period and its year-earlier dates
            # (nested ranges ending together), summed per period below: one query, not six.
            earliest = min(p.before[0] if known[p.key] else p.start for p in periods)
            hull = replace(f, start=earliest, end=end)
            daily = _per_category(self._counts("compare", version, hull, (_FBI_CODE, _PERIOD_DAY)))

            def per_category(start: dt.date, last: dt.date) -> dict[str, int]:
                chosen = daily.filter(pl.col("period").is_between(start, last))
                sums = chosen.group_by("category").agg(pl.col("incidents").sum())
                return dict(zip(sums["category"], sums["incidents"], strict=True))

            rows = []
            for period in periods:
                before = per_category(*period.before) if known[period.key] else None
                rows += comparison_rows(period, per_category(period.start, period.end), before)
            return pl.DataFrame(rows, schema=COMPARISON_SCHEMA)

        return self._memoised("compare", version, (*_filters_key(f), end.isoformat()), compute)

    # -- revisions (the record history) --------------------------------------------------------

    def history_begins(self) -> int | None:
        """The first run the record history holds the changes of; None without a history."""
        return first_run(self._layout.lake_dir, self.data_version())

    def counts_as_of(self, f: Filters, run_id: int) -> tuple[int, int]:
        """(incidents, arrests) `f` selects in the lake as it stood after run `run_id`.

        Today's counts, less those of the rows later runs changed, plus those of their
        versions as of the run (`chicrime.store.history.restored_rows`). `LakeError` when the
        record history does not reach back to the run. Not memoised.
        """
        version = self.data_version()
        check_as_of(self._layout.lake_dir, version, run_id)
        assert version is not None
        current = version_rows(self._layout.lake_dir, version)
        history = read_history(self._layout.lake_dir, version)
        affected, restored = restored_rows(current, history, run_id)
        later = current.filter(pl.col("id").is_in(affected.implode())).collect()
        incidents, arrests = self._selection_counts("counts_as_of", version, f)
        cursor = self._connections.cursor(version)
        for sign, rows in ((-1, later), (1, restored)):
            cursor.register("as_of_rows", rows)
            source, params = frame_selection("as_of_rows", f)
            ((n, m),) = cursor.execute(
                f"SELECT count(*), count(*) FILTER (WHERE arrest) FROM {source}", params
            ).fetchall()
            cursor.unregister("as_of_rows")
            incidents, arrests = incidents + sign * n, arrests + sign * m
        return incidents, arrests

    def revisions(self, f: Filters) -> changes.Revisions:
        """What /changes shows of the revisions of incidents `f` selects: per week seen and
        label, primary-type reclassifications, records revised per category, and the newest
        `TABLE_ROW_CAP` revisions (`chicrime.analytics.changes`), from one read of the history."""
        version = self.data_version()

        def compute() -> changes.Revisions:
            rows = self._labelled("revisions", version, f)
            return changes.Revisions.of(rows, TABLE_ROW_CAP)

        return self._memoised("revisions", version, _filters_key(f), compute)

    def revision_shares(self, f: Filters) -> pl.DataFrame:
        """Per category (violent, property, other): incidents `f` selects (as the lake holds
        them now), how many were changed or removed, that share, and the median days from
        incident to revision (`revision_shares`)."""
        return revision_shares(self.category_counts(f), self.revisions(f).revised)

    def revision_list(
        self,
        f: Filters | None,
        *,
        seen_since: dt.date | None = None,
        record_id: int | None = None,
        field: str | None = None,
        limit: int = TABLE_ROW_CAP,
    ) -> pl.DataFrame:
        """Individual revisions, newest run first (`changes.listed`), at most `limit`: of
        incidents `f` selects (or all), seen from `seen_since` (a Chicago date) on, of one
        record, or of one field. Not memoised (for `chicrime changes`)."""
        clauses: list[str] = ["TRUE"]
        values: list[object] = []
        if seen_since is not None:
            clauses.append("timezone('America/Chicago', observed_at) >= ?")
            values.append(dt.datetime.combine(seen_since, dt.time()))
        if record_id is not None:
            clauses.append("id = ?")
            values.append(record_id)
        if field is not None:
            clauses.append("field = ?")
            values.append(field)
        rows = self._labelled(
            "revision_list", self.data_version(), f, " AND ".join(clauses), values
        )
        return changes.listed(rows, limit)

    def _labelled(
        self,
        label: str,
        version: str | None,
        f: Filters | None,
        where: str = "TRUE",
        values: Sequence[object] = (),
    ) -> pl.DataFrame:
        """The labelled revisions (`changes.labelled_sql`) of incidents `f` selects (all
        without `f`) for which `where` (chicrime's SQL, placeholders for `values`) holds."""
        files = self._files.history(version)
        if not files:
            return _empty(changes.LABELLED_SCHEMA)
        source, params = history_selection(files, f, where, values)
        query = f"SELECT * FROM {changes.labelled_sql(source)}"
        return self._run(label, version, query, params).cast(changes.LABELLED_SCHEMA)

    # -- the map ------------------------------------------------------------------------------

    def map_points(self, f: Filters, limit: int = MAP_POINTS_LIMIT) -> pl.DataFrame:
        """The newest `limit` incidents located inside the city's extent, newest first.

        Rows without coordinates, or geocoded outside `hexagons.CITY_EXTENT` (bad geocodes
        exist upstream), are left out, so the map and its hexagons show the same incidents.
        """
        extent = hexagons.CITY_EXTENT
        query = _Query(
            columns=f"{_quoted(_MAP_POINT_COLUMNS)}, id",
            sql=f"SELECT {_quoted(_MAP_POINT_COLUMNS)} FROM {{source}}"
            " WHERE latitude BETWEEN ? AND ? AND longitude BETWEEN ? AND ?"
            ' ORDER BY "date" DESC, id DESC LIMIT ?',
            schema=MAP_POINTS_SCHEMA,
            params=(extent.lat_min, extent.lat_max, extent.lon_min, extent.lon_max),
        )
        return self._newest_rows("map_points", f, limit, query)

    def map_hexagons(self, f: Filters, size_deg: float = hexagons.HEXAGON_SIZE_DEG) -> pl.DataFrame:
        """Located incidents counted per hexagonal cell, binned in DuckDB.

        Columns hex_q, hex_r (axial cell coordinates), latitude, longitude (the cell's centre)
        and incidents. Only the city's extent is binned, so the cell count stays bounded
        (about 1,400 at the default size) whatever the range. ValueError if `size_deg` <= 0.
        """
        cell_size(size_deg)
        return self._counted(
            "map_hexagons",
            f,
            _HEX_CELL,
            lambda cells: hexagons.with_centres(cells.sort("hex_q", "hex_r"), size_deg).select(
                HEXAGONS_SCHEMA.names()
            ),
            (size_deg,),
            size_deg=size_deg,
        )

    def hexagon_geojson(
        self, cells: pl.DataFrame, size_deg: float = hexagons.HEXAGON_SIZE_DEG
    ) -> dict[str, object]:
        """A GeoJSON FeatureCollection of the hexagons of `cells`, feature ids `"q:r"`."""
        return hexagons.feature_collection(cells, size_deg)

    # -- rows ---------------------------------------------------------------------------------

    def table(self, f: Filters, limit: int = TABLE_ROW_CAP) -> pl.DataFrame:
        """The newest `limit` selected incidents (ties by id, descending) in readable columns."""
        query = _Query(
            columns=_quoted(_TABLE_COLUMNS),
            sql='SELECT * FROM {source} ORDER BY "date" DESC, id DESC LIMIT ?',
            schema=TABLE_SCHEMA,
        )
        return self._newest_rows("table", f, limit, query)

    def csv(self, f: Filters, cap: int = CSV_ROW_CAP) -> tuple[Iterator[bytes], bool]:
        """The selected incidents as UTF-8 CSV chunks (header first), newest first, and a flag.

        At most `cap` rows are written; the flag is True when more rows matched. Rows stream
        from DuckDB in batches on a cursor of their own, so the chunks may be consumed in any
        one thread. Text cells that a spreadsheet would run as a formula are neutralised (see
        `chicrime.analytics.export`). Not memoised.
        """
        version = self.data_version()
        parts = self._months(version, f)
        capped = False
        if parts:
            source, params = selection("1 AS one", parts, f)
            found = self._run(
                "csv.count",
                version,
                f"SELECT count(*) AS n FROM (SELECT one FROM {source} LIMIT ?)",
                [*params, cap + 1],
            )
            capped = int(found["n"][0]) > cap
        return self._csv_chunks(version, parts, f, cap), capped

    def _csv_chunks(
        self, version: str | None, parts: list[MonthFiles], f: Filters, cap: int
    ) -> Iterator[bytes]:
        yield csv_bytes(_empty(_CSV_SCHEMA), header=True)
        remaining = cap
        if not parts or remaining <= 0:
            return
        cursor = self._connections.new_cursor(version)
        try:
            for group in newest_first(parts):
                source, params = selection(_quoted(CSV_COLUMNS), group, f)
                self._notify("csv.rows")
                reader = cursor.sql(
                    f'SELECT * FROM {source} ORDER BY "date" DESC, id DESC LIMIT ?',
                    params=[*params, remaining],
                ).to_arrow_reader(_CSV_BATCH_ROWS)
                for batch in reader:
                    rows = cast(pl.DataFrame, pl.from_arrow(batch)).cast(_CSV_SCHEMA)
                    remaining -= rows.height
                    yield csv_bytes(rows, header=False)
                if remaining <= 0:
                    return
        finally:
            cursor.close()

    # -- machinery ----------------------------------------------------------------------------

    def _memoised(
        self,
        name: str,
        version: str | None,
        args: tuple[Hashable, ...],
        compute: Callable[[], T],
    ) -> T:
        """`compute()`, memoised under (name, lake version, args); never cached without a lake."""
        if self._cache is None or version is None:
            return compute()
        return self._cache.memoise((name, version, *args), compute)

    def _notify(self, label: str) -> None:
        if self._on_query is not None:
            self._on_query(label)

    def _run(
        self, label: str, version: str | None, sql: str, params: Sequence[object]
    ) -> pl.DataFrame:
        self._notify(label)
        cursor = self._connections.cursor(version)
        # Through the Arrow C stream interface: polars reads DuckDB's result without pyarrow,
        # which `.pl()` would import (~40 MB in every dashboard worker).
        return pl.DataFrame(cursor.sql(sql, params=list(params)))

    def _all_months(self, version: str | None) -> tuple[MonthFiles, ...]:
        return () if version is None else self._files.months(version)

    def _months(self, version: str | None, f: Filters) -> list[MonthFiles]:
        return [] if version is None else self._files.between(version, f.start, f.end)

    def _lake_stats(self) -> _LakeStats:
        """Row count and first/last `date`: from the version's facts, or else from the Parquet
        footers and the end partitions."""
        version = self.data_version()
        facts = self._files.facts(version)
        if facts is not None:
            return _LakeStats(facts.rows, facts.first, facts.last)

        def compute() -> _LakeStats:
            parts = self._all_months(version)
            if not parts:
                return _LakeStats(0, None, None)
            every, every_params = whole_lake("1 AS one", parts)
            oldest, oldest_params = whole_lake('"date"', parts[:1])
            newest, newest_params = whole_lake('"date"', parts[-1:])
            row = self._run(
                "lake_stats",
                version,
                f'SELECT (SELECT count(*) FROM {every}) AS n, (SELECT min("date") FROM {oldest})'
                f' AS first, (SELECT max("date") FROM {newest}) AS last',
                [*every_params, *oldest_params, *newest_params],
            ).row(0, named=True)
            return _LakeStats(int(row["n"]), row["first"], row["last"])

        return self._memoised("lake_stats", version, (), compute)

    def _newest_date_until(self, first: dt.date, last: dt.date) -> dt.date | None:
        """The newest incident date from `first` to `last`, reading months from the newest."""
        version = self.data_version()
        window = Filters(start=first, end=last)

        def compute() -> dt.date | None:
            for group in newest_first(self._months(version, window)):
                source, params = selection('"date"', group, window)
                newest = self._run(
                    "newest_date", version, f'SELECT max("date") AS newest FROM {source}', params
                ).item()
                if newest is not None:
                    return cast(dt.datetime, newest).date()
            return None

        return self._memoised("newest_date", version, _filters_key(window), compute)

    def _selection_counts(self, label: str, version: str | None, f: Filters) -> tuple[int, int]:
        """(incidents, arrests) selected by `f`."""
        row = self._counts(label, version, f, ()).row(0)
        return int(row[0] or 0), int(row[1] or 0)

    def _counted(
        self,
        name: str,
        f: Filters,
        keys: tuple[_Key, ...],
        finish: Callable[[pl.DataFrame], pl.DataFrame],
        args: tuple[Hashable, ...] = (),
        size_deg: float | None = None,
    ) -> pl.DataFrame:
        """`finish` of the counts of `f`'s rows per `keys`, memoised under `name` and `args`."""
        version = self.data_version()
        return self._memoised(
            name,
            version,
            (*_filters_key(f), *args),
            lambda: finish(self._counts(name, version, f, keys, size_deg)),
        )

    def _counts(
        self,
        label: str,
        version: str | None,
        f: Filters,
        keys: tuple[_Key, ...],
        size_deg: float | None = None,
    ) -> pl.DataFrame:
        """Incidents and arrests of `f`'s rows per `keys` (one row when there are none).

        Hexagon cells (`size_deg` given) count located rows only. The cheapest source that
        answers exactly is read: a day rollup holding every dimension involved; else a month
        rollup for the months the range covers whole, plus the lake files of the months it
        covers in part; else the lake files alone. A rollup DuckDB cannot read (a damaged
        file) is logged and the lake files answer instead.
        """
        needs = {d for key in keys for d in key.needs} | _filter_dimensions(f)
        if version is None:
            return self._empty_counts(keys)
        rollup = self._rollup_for(version, needs, size_deg)
        try:
            return self._counts_from(label, version, f, keys, size_deg, rollup)
        except duckdb.Error as error:
            if rollup is None or self._files.rollup_file(version, rollup) not in str(error):
                raise  # the lake files failed, not the rollup
            log.warning(
                "rollup unreadable, counted from the lake files instead",
                extra={"rollup": rollup.name, "error": " ".join(str(error).split())[:300]},
            )
            return self._counts_from(label, version, f, keys, size_deg, None)

    def _counts_from(
        self,
        label: str,
        version: str,
        f: Filters,
        keys: tuple[_Key, ...],
        size_deg: float | None,
        rollup: Rollup | None,
    ) -> pl.DataFrame:
        """`_counts` from `rollup` (and the lake files it does not cover), or the lake files."""
        parts = self._months(version, f)
        branches: list[tuple[str, list[object]]] = []
        if rollup is not None and rollup.grain == "day":
            branches.append(self._rollup_branch(version, rollup, keys, f, f.start, f.end))
            parts = []
        elif rollup is not None and any(part.whole for part in parts):
            whole = [dt.date(p.year, p.month, 1) for p in parts if p.whole]
            branches.append(self._rollup_branch(version, rollup, keys, f, whole[0], whole[-1]))
            parts = [part for part in parts if not part.whole]
        if parts:
            branches.append(_lake_branch(parts, keys, f, size_deg))
        if not branches:
            return self._empty_counts(keys)
        names = ", ".join(key.name for key in keys)
        sql, params = branches[0]
        if len(branches) > 1:
            sql = (
                f"SELECT {names}{', ' if keys else ''}{_SUMS} FROM ("
                + " UNION ALL ".join(branch for branch, _ in branches)
                + ") GROUP BY ALL"
            )
            params = [value for _, values in branches for value in values]
        frame = self._run(label, version, sql, params).cast(_counts_schema(keys))
        if frame.is_empty() and not keys:
            return self._empty_counts(keys)
        return frame

    def _rollup_for(self, version: str, needs: set[str], size_deg: float | None) -> Rollup | None:
        """The first of `version`'s rollups holding every dimension in `needs` (and days, if
        needed), located ones for hexagon cells of `size_deg`; None when only the lake can
        answer."""
        located = size_deg is not None
        if not self._use_rollups or (located and size_deg != hexagons.HEXAGON_SIZE_DEG):
            return None
        for rollup in self._files.rollups(version):
            held = {*rollup.dimensions, rollup.grain}
            if rollup.located == located and needs <= held:
                return rollup
        return None

    def _rollup_branch(
        self,
        version: str,
        rollup: Rollup,
        keys: tuple[_Key, ...],
        f: Filters,
        first: dt.date,
        last: dt.date,
    ) -> tuple[str, list[object]]:
        source, params = rolled_up(
            ", ".join(rollup.columns()) + ", incidents, arrests",
            self._files.rollup_file(version, rollup),
            rollup.grain,
            first,
            last,
            f,
        )
        return _grouped_sql(keys, source, _SUMS), params

    @staticmethod
    def _empty_counts(keys: tuple[_Key, ...]) -> pl.DataFrame:
        if keys:
            return _empty(_counts_schema(keys))
        return pl.DataFrame({"incidents": [0], "arrests": [0]}, schema=_MEASURES)

    def _newest_rows(self, name: str, f: Filters, limit: int, query: _Query) -> pl.DataFrame:
        """Rows of a newest-first `query` ending in `LIMIT ?`, reading months from the newest.

        Stops as soon as `limit` rows are found, so a recent selection never reads old months.
        Memoised under `name` and `limit`.
        """
        version = self.data_version()

        def compute() -> pl.DataFrame:
            frames = [_empty(query.schema)]
            remaining = limit
            for group in newest_first(self._months(version, f)):
                if remaining <= 0:
                    break
                source, params = selection(query.columns, group, f)
                sql = query.sql.format(source=source)
                frame = self._run(name, version, sql, [*params, *query.params, remaining])
                frames.append(frame.cast(query.schema))
                remaining -= frame.height
            return pl.concat(frames)

        return self._memoised(name, version, (*_filters_key(f), limit), compute)


def _counts_schema(keys: tuple[_Key, ...]) -> pl.Schema:
    return pl.Schema({key.name: key.dtype for key in keys} | dict(_MEASURES))


def _grouped_sql(keys: tuple[_Key, ...], source: str, measures: str) -> str:
    columns = "".join(f"{key.sql} AS {key.name}, " for key in keys)
    return f"SELECT {columns}{measures} FROM {source} GROUP BY ALL"


def _lake_branch(
    parts: Sequence[MonthFiles], keys: tuple[_Key, ...], f: Filters, size_deg: float | None
) -> tuple[str, list[object]]:
    """Counts per `keys` of `f`'s rows in the lake files of `parts`."""
    needed = sorted({d for key in keys for d in key.needs} - set(_CELL_DIMENSIONS))
    columns = ", ".join([*(f"{DIMENSION_SQL[d]} AS {d}" for d in needed), "arrest"])
    if size_deg is None:
        source, params = selection(columns, parts, f)
    else:
        located, params = selection(f"{columns}, latitude, longitude", parts, f)
        source = f"({cells_sql(located, size_deg, carry=[*needed, 'arrest'])})"
    return _grouped_sql(keys, source, _COUNTS), params


def _per_category(counts: pl.DataFrame) -> pl.DataFrame:
    """Counts per FBI code (and any other keys) summed per breakdown category instead:
    grouping by the ~30 codes and naming their categories afterwards is a third of the work of
    naming every row's category in SQL (all time from `day_type`: 4 ms, not 12)."""
    keys = [c for c in counts.columns if c not in ("fbi_code", "incidents", "arrests")]
    return (
        counts.with_columns(category_expr("fbi_code").alias("category"))
        .group_by("category", *keys)
        .agg(pl.col("incidents", "arrests").sum())
    )


def _most_first(counts: pl.DataFrame, key: str) -> pl.DataFrame:
    """Rows with a `key`, most incidents first, ties by `key`."""
    return counts.filter(pl.col(key).is_not_null()).sort(
        ["incidents", key], descending=[True, False]
    )


def _every_period(counts: pl.DataFrame, f: Filters, weekly: bool) -> pl.DataFrame:
    """`counts` per period with a 0 row for every day (or ISO week) of `f` that has none."""
    first, last = f.start, f.end
    if weekly:
        first -= dt.timedelta(days=first.weekday())
        last -= dt.timedelta(days=last.weekday())
    periods = pl.date_range(first, last, "1w" if weekly else "1d", eager=True)
    length = 7 if weekly else 1
    period_end = pl.col("period") + pl.duration(days=length - 1)
    inside = (
        pl.min_horizontal(period_end, pl.lit(f.end)) - pl.max_horizontal("period", pl.lit(f.start))
    ).dt.total_days() + 1
    return (
        pl.DataFrame({"period": periods})
        .join(counts.select("period", "incidents"), on="period", how="left")
        .with_columns(pl.col("incidents").fill_null(0), days=inside)
        .select(TIME_SERIES_SCHEMA.names())
        .cast(TIME_SERIES_SCHEMA)
    )


def _every_weekday_hour(counts: pl.DataFrame) -> pl.DataFrame:
    """`counts` on the full 7 × 24 grid, Monday 00h first, 0 where nothing happened."""
    cells = pl.DataFrame({"weekday": range(7)}, schema={"weekday": pl.Int64}).join(
        pl.DataFrame({"hour": range(24)}, schema={"hour": pl.Int64}), how="cross"
    )
    return (
        cells.join(
            counts.select("weekday", "hour", "incidents"), on=["weekday", "hour"], how="left"
        )
        .with_columns(pl.col("incidents").fill_null(0))
        .cast(WEEKDAY_HOUR_SCHEMA)
    )


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)
