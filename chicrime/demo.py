"""`chicrime demo`: a realistic synthetic lake, written exactly as a real ingestion run writes one.

Rows are drawn a month at a time with numpy from the calibration tables in `demo_profile`, then
staged, merged and committed through the same run skeleton as ingestion (`chicrime.store.run`),
as a run of kind 'demo' so run history marks the lake synthetic.

A month's rows depend only on the seed and the month (and ids only on the day), so a day holds the
same records whatever the window, and running again with the same arguments leaves the lake as it
was. A demo run defines the whole lake: its rows replace any earlier demo's, and lake rows it did
not generate are removed. A lake holding real ingested data is never touched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from chicrime import demo_profile as profile
from chicrime.clock import CHICAGO, utc_now
from chicrime.demo_geo import demo_boundaries, demo_population
from chicrime.demo_revisions import CANDIDATE_DAYS, LATE_DAYS, daily_edits
from chicrime.errors import ChicrimeError
from chicrime.progress import LogProgress, ProgressFactory
from chicrime.settings import Settings
from chicrime.store.geo import write_geo_file
from chicrime.store.run import WriterRun, writer_run
from chicrime.store.schema import LAKE_SCHEMA
from chicrime.store.staging import Staging
from chicrime.store.state import RunTotals

__all__ = [
    "DEMO_KIND",
    "FIRST_DAY",
    "REVISION_DAYS",
    "DemoError",
    "DemoResult",
    "default_end",
    "month_rows",
    "window_for_years",
    "write_demo_lake",
]

log = logging.getLogger("chicrime.demo")

DEMO_KIND = "demo"
# Days of simulated revisions by default: two months of daily runs.
REVISION_DAYS = 60
# Ids are `day number since FIRST_DAY * 10_000 + rank within the day`; the real dataset starts in
# 2001 too. Synthetic ids (tens of millions) stay clear of real ones (below 14 million).
FIRST_DAY = dt.date(2001, 1, 1)
_IDS_PER_DAY = 10_000
# Case numbers are two letters for the year and six digits: day of year * 2_600 + rank, unique.
_CASES_PER_DAY = 2_600
_CASE_LETTERS = "ABCDEFGHJKLMNPRSTVWXYZ"  # the department skips I, O, Q and U
_CASE_PREFIX_2014 = 7 * len(_CASE_LETTERS) + 19  # "HX", the prefix of 2014's case numbers
_DAY_NOISE = 0.06  # day-to-day spread of the expected count beyond Poisson (weather, events)
_UPDATE_LAG_DAYS = (1, 8)  # `updated_on` follows `date` by this many days
# Position of an incident around its beat's centre (degrees, about 280 m by 290 m): the spread
# of the calibration rows within each (community area, beat).
_JITTER_LAT, _JITTER_LON = 0.0025, 0.0035
_BOUNDS_LAT, _BOUNDS_LON = (41.645, 42.022), (-87.939, -87.525)  # Chicago's bounding box
# Address grid: State and Madison is 0/0, 800 numbers a mile.
_GRID_ORIGIN_LAT, _GRID_ORIGIN_LON = 41.88196, -87.62780
_DEGREES_LAT_PER_NUMBER, _DEGREES_LON_PER_NUMBER = 0.014482 / 800, 0.019417 / 800


class DemoError(ChicrimeError):
    """The demo cannot run with these arguments or over this DATA_DIR; nothing was written."""

    exit_code = 2


@dataclass(frozen=True)
class DemoResult:
    """What a demo run wrote."""

    run_id: int
    start: dt.date
    end: dt.date
    seed: int
    totals: RunTotals
    watermark_after: dt.datetime | None
    revision_runs: int = 0  # the runs that simulated upstream's later edits
    revisions: int = 0  # records they revised


def default_end(now: dt.datetime) -> dt.date:
    """Yesterday in Chicago: the last complete day a real mirror would hold."""
    return now.astimezone(CHICAGO).date() - dt.timedelta(days=1)


def window_for_years(end: dt.date, years: float) -> dt.date:
    """The first day of a window of `years` (365.25 days each, rounded) ending with `end`.

    Raises `DemoError` unless `years` is positive (and at most 100).
    """
    if not 0 < years <= 100:
        raise DemoError(f"--years must be a positive number of years, not {years}")
    return end - dt.timedelta(days=max(1, round(years * 365.25)) - 1)


def write_demo_lake(
    settings: Settings,
    *,
    start: dt.date,
    end: dt.date,
    seed: int,
    revision_days: int = REVISION_DAYS,
    clock: Callable[[], dt.datetime] = utc_now,
    progress: ProgressFactory = LogProgress,
) -> DemoResult:
    """Replace the lake under `settings.data_dir` with synthetic rows dated `start`..`end`,
    then revise it as upstream would have over the last `revision_days` days (one run each,
    seen at 03:15 Chicago time of that day; see `chicrime.demo_revisions`).

    Runs under the ingestion lock (`RunInProgressError` at once if a run holds it) and records
    runs of kind 'demo'; the watermark becomes the newest synthetic `date`. Raises `DemoError`,
    writing nothing, for a bad window or seed, or when the lake holds data a demo did not write.
    Any other failure is recorded as a failed run and re-raised, the lake left as it was.
    """
    today = clock().astimezone(CHICAGO).date()
    _check_arguments(start, end, seed, today)
    if not 0 <= revision_days <= 365:
        raise DemoError(f"--revision-days must be from 0 to 365, not {revision_days}")
    with writer_run(settings, clock=clock, progress=progress) as run:
        return _DemoRun(run).execute(start, end, seed, revision_days)


def _check_arguments(start: dt.date, end: dt.date, seed: int, today: dt.date) -> None:
    if seed < 0:
        raise DemoError(f"--seed must be a whole number >= 0, not {seed}")
    if end > today:
        raise DemoError(f"--end {end} is in the future (today is {today} in Chicago)")
    if start > end:
        raise DemoError(f"the window is empty: it starts {start}, after its end {end}")
    if start < FIRST_DAY:
        raise DemoError(
            f"the demo window would start {start}; synthetic data starts no earlier than "
            f"{FIRST_DAY}, like the real dataset: ask for fewer --years or a later --end"
        )


class _LateReports:
    """Rows a late report can be made of: the demo's rows for another seed, never in the lake."""

    def __init__(self, start: dt.date, seed: int) -> None:
        self.start, self.seed = start, seed
        self._months: dict[tuple[int, int], pl.DataFrame] = {}

    def dated(self, first: dt.date, last: dt.date) -> pl.DataFrame:
        """Such rows dated `first`..`last` (and not before the window)."""
        first = max(first, self.start)
        parts = [pl.DataFrame(schema=LAKE_SCHEMA)]
        for month in _months(first, last) if first <= last else ():
            if month not in self._months:
                self._months[month] = month_rows(*month, self.seed + 1)
            parts.append(self._months[month])
        return pl.concat(parts).filter(
            (pl.col("date") >= _midnight(first))
            & (pl.col("date") < _midnight(last + dt.timedelta(days=1)))
        )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


class _DemoRun:
    def __init__(self, run: WriterRun) -> None:
        self.run, self.settings, self.lake = run, run.settings, run.lake

    def execute(self, start: dt.date, end: dt.date, seed: int, revision_days: int) -> DemoResult:
        self._refuse_real_data()
        run_id = self.run.start(
            DEMO_KIND,
            dt.datetime.combine(start, dt.time()),
            start=start.isoformat(),
            end=end.isoformat(),
        )
        with self.run.staged(run_id) as staging:
            months = list(_months(start, end))
            bar = self.run.progress("generating demo rows", len(months), "months")
            for year, month in months:
                rows = _clip_to_window(month_rows(year, month, seed), start, end)
                staging.add(rows)
                self.run.rows_fetched += rows.height
                bar.update(1)
            bar.close()
            # Outlines and residents of the synthetic areas, for the map and per-capita rates.
            write_geo_file(self.settings.layout.community_areas, demo_boundaries())
            write_geo_file(self.settings.layout.population, demo_population())
            # Every demo row is written, even over an earlier demo's copy with a later
            # `updated_on`: the run defines the lake's content, whatever ran before.
            committed = self.run.commit(
                run_id,
                staging,
                self._ids_not_generated(staging),
                label=f"d{run_id:06d}",
                staged_always_win=True,
                restart_history=True,
            )
        self.run.finished(run_id, committed)
        revised = self._revise(start, end, seed, revision_days)
        return DemoResult(
            run_id, start, end, seed, committed.totals, committed.watermark_after, *revised
        )

    def _revise(self, start: dt.date, end: dt.date, seed: int, days: int) -> tuple[int, int]:
        """One run per day of the last `days` (none before the window's `CANDIDATE_DAYS`th
        day), each committing that day's synthetic edits; (runs, records revised)."""
        first = max(end - dt.timedelta(days=days - 1), start + dt.timedelta(CANDIDATE_DAYS))
        if first > end:
            return 0, 0
        since = dt.datetime.combine(first - dt.timedelta(CANDIDATE_DAYS), dt.time())
        held = self.lake.scan().filter(pl.col("date") >= since).collect()
        reports = _LateReports(start, seed)
        bar = self.run.progress("simulating revisions", (end - first).days + 1, "days")
        runs = revised = 0
        day = first
        while day <= end:
            edits = daily_edits(
                held.filter(
                    pl.col("date").is_between(
                        _midnight(day - dt.timedelta(CANDIDATE_DAYS)), _midnight(day), closed="left"
                    )
                ),
                reports.dated(day - dt.timedelta(LATE_DAYS[1]), day - dt.timedelta(LATE_DAYS[0])),
                day,
                day.toordinal() - FIRST_DAY.toordinal(),
                seed,
            )
            seen = dt.datetime.combine(day, dt.time(3, 15), CHICAGO).astimezone(dt.UTC)
            run_id = self.run.start(DEMO_KIND, since, revisions_of=day.isoformat())
            with self.run.staged(run_id) as staging:
                staging.add(edits.upserts)
                self.run.rows_fetched += edits.upserts.height
                committed = self.run.commit(
                    run_id, staging, edits.removed, label=f"d{run_id:06d}", observed_at=seen
                )
            self.run.finished(run_id, committed)
            changed = pl.concat([pl.Series("id", edits.removed, pl.Int64), edits.upserts["id"]])
            held = pl.concat([held.filter(~pl.col("id").is_in(changed.implode())), edits.upserts])
            runs, revised = runs + 1, revised + committed.totals.rows_revised
            bar.update(1)
            day += dt.timedelta(days=1)
        bar.close()
        return runs, revised

    def _refuse_real_data(self) -> None:
        """Only an empty lake or one the last successful run (a demo) wrote may be replaced."""
        if not self.lake.partition_files():
            return
        if self.run.state.last_success_kind() != DEMO_KIND:
            raise DemoError(
                f"{self.settings.data_dir} already holds a lake that `chicrime demo` did not "
                "write; the demo would mix synthetic rows into it. Point DATA_DIR at another "
                "directory for the demo (e.g. DATA_DIR=./demo-data chicrime demo)."
            )

    def _ids_not_generated(self, staging: Staging) -> list[int]:
        """Ids in the lake (from an earlier demo) that this run did not generate."""
        if not self.lake.partition_files():
            return []
        held = self.lake.scan().select("id")
        generated = staging.scan_keys().select("id")
        return held.join(generated, on="id", how="anti").collect().get_column("id").to_list()


def _months(start: dt.date, end: dt.date) -> Iterator[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _clip_to_window(rows: pl.DataFrame, start: dt.date, end: dt.date) -> pl.DataFrame:
    """The rows dated `start`..`end`, none updated after the end of `end` (the demo's "now")."""
    first = dt.datetime.combine(start, dt.time())
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    last_update = after - dt.timedelta(seconds=1)
    return rows.filter((pl.col("date") >= first) & (pl.col("date") < after)).with_columns(
        pl.min_horizontal("updated_on", pl.lit(last_update, pl.Datetime("us"))).alias("updated_on")
    )


# -- drawing rows -----------------------------------------------------------------------------

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _cumulative(weights: FloatArray) -> FloatArray:
    """Row-wise cumulative probabilities of a (groups x options) weight matrix, each row ending at
    exactly 1 from its last non-zero option on, so an empty (padding) option is never drawn."""
    cumulative: FloatArray = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    options = weights.shape[1]
    last = options - 1 - np.argmax(weights[:, ::-1] > 0, axis=1)
    cumulative[np.arange(options)[None, :] >= last[:, None]] = 1.0
    return cumulative


def _draw_within(rng: np.random.Generator, groups: IntArray, cumulative: FloatArray) -> IntArray:
    """For each row, an option drawn from its group's row of `cumulative` (see `_cumulative`)."""
    count, options = cumulative.shape
    flat = (cumulative + np.arange(count)[:, None]).ravel()
    keys = groups + rng.random(groups.size) * (1 - 1e-9)
    chosen: IntArray = np.searchsorted(flat, keys, side="right") - groups * options
    return chosen


def _padded(rows: list[list[float]]) -> FloatArray:
    width = max(len(r) for r in rows)
    return np.array([r + [0.0] * (width - len(r)) for r in rows], dtype=np.float64)


def _ordinal(number: int) -> str:
    """47 -> 47TH, 51 -> 51ST, 111 -> 111TH: how numbered streets are spelled."""
    suffix = {1: "ST", 2: "ND", 3: "RD"}.get(number % 10, "TH")
    return f"{number}{'TH' if number % 100 in (11, 12, 13) else suffix}"


@dataclass(frozen=True)
class _Tables:
    """`demo_profile` compiled into arrays for vectorised drawing."""

    type_names: pl.Series
    share_2014: FloatArray
    share_2024: FloatArray
    arrest_2014: FloatArray
    arrest_2024: FloatArray
    offense_cumulative: FloatArray  # types x offenses
    offense_iucr: pl.Series  # flat, type * width + offense
    offense_description: pl.Series
    offense_fbi: pl.Series
    offense_arrest_factor: FloatArray  # types x offenses
    offense_domestic: FloatArray
    location_names: pl.Series
    location_cumulative: FloatArray  # types x locations
    area_share: FloatArray
    area_numbers: pl.Series
    area_districts: pl.Series
    beat_cumulative: FloatArray  # areas x beats
    beat_names: pl.Series  # flat, area * width + beat
    beat_lat: FloatArray
    beat_lon: FloatArray
    ward_names: pl.Series  # flat, area * width + ward
    ward_lat: FloatArray  # areas x wards, NaN where an area has fewer
    ward_lon: FloatArray
    hour_share: FloatArray
    minute_share: FloatArray
    weekday_factor: FloatArray
    trend_days: FloatArray  # ordinals of mid-years
    trend_rows_per_day: FloatArray
    east_west_numbers: FloatArray  # sorted
    north_south_numbers: FloatArray  # sorted
    street_names: pl.Series  # east-west streets, then north-south ones


def _compile_tables() -> _Tables:
    types = profile.TYPES
    offenses = [profile.OFFENSES[t.name] for t in types]
    offense_width = max(len(o) for o in offenses)

    def offense_column(pick: Callable[[profile.Offense], str]) -> pl.Series:
        return pl.Series(
            [pick(o[i]) if i < len(o) else "" for o in offenses for i in range(offense_width)]
        )

    location_names = [name for name, _ in profile.LOCATIONS]
    overall = np.array([share for _, share in profile.LOCATIONS])
    location_weights = np.zeros((len(types), len(location_names)))
    for row, crime_type in enumerate(types):
        own = profile.TYPE_LOCATIONS.get(crime_type.name, ())
        for name, share in own:
            location_weights[row, location_names.index(name)] = share
        # The rest of the type's rows follow the overall mix of the locations it does not list.
        rest = overall * (location_weights[row] == 0)
        location_weights[row] += (1 - location_weights[row].sum()) * rest / rest.sum()

    areas = profile.COMMUNITY_AREAS
    beat_width = max(len(a.beats) for a in areas)
    ward_width = max(len(a.wards) for a in areas)

    def beat_column(index: int) -> list[list[float]]:
        return [[float(b[index]) for b in a.beats] for a in areas]

    def ward_matrix(index: int) -> FloatArray:
        return np.array(
            [[w[index] for w in a.wards] + [np.nan] * (ward_width - len(a.wards)) for a in areas]
        )

    hour_share = np.array(profile.HOUR_SHARES)
    minute_share = np.full(60, profile.OTHER_MINUTE_WEIGHT)
    for minutes, weight in profile.MINUTE_WEIGHTS:
        minute_share[list(minutes)] = weight
    weekday = np.array(profile.WEEKDAY_FACTORS)

    years = sorted(profile.ANNUAL_ROWS)
    days_in = [dt.date(y + 1, 1, 1).toordinal() - dt.date(y, 1, 1).toordinal() for y in years]
    named = {number for number, _ in profile.EAST_WEST_STREETS}
    numbered = [(-100 * n, f"{_ordinal(n)} ST") for n in range(13, 139) if -100 * n not in named]
    east_west = sorted([*profile.EAST_WEST_STREETS, *numbered])
    north_south = sorted(profile.NORTH_SOUTH_STREETS)
    return _Tables(
        type_names=pl.Series([t.name for t in types]),
        share_2014=np.array([t.share_2014 for t in types]),
        share_2024=np.array([t.share_2024 for t in types]),
        arrest_2014=np.array([t.arrest_2014 for t in types]),
        arrest_2024=np.array([t.arrest_2024 for t in types]),
        offense_cumulative=_cumulative(_padded([[o.share for o in group] for group in offenses])),
        offense_iucr=offense_column(lambda o: o.iucr),
        offense_description=offense_column(lambda o: o.description),
        offense_fbi=offense_column(lambda o: o.fbi_code),
        offense_arrest_factor=_padded([[o.arrest_factor for o in group] for group in offenses]),
        offense_domestic=_padded([[o.domestic for o in group] for group in offenses]),
        location_names=pl.Series(location_names),
        location_cumulative=_cumulative(location_weights),
        area_share=np.array([a.share for a in areas]) / sum(a.share for a in areas),
        area_numbers=pl.Series([a.number for a in areas]),
        area_districts=pl.Series([a.district for a in areas]),
        beat_cumulative=_cumulative(_padded(beat_column(1))),
        beat_names=pl.Series(
            [a.beats[i][0] if i < len(a.beats) else "" for a in areas for i in range(beat_width)]
        ),
        beat_lat=_padded(beat_column(2)).ravel(),
        beat_lon=_padded(beat_column(3)).ravel(),
        ward_names=pl.Series(
            [a.wards[i][0] if i < len(a.wards) else "" for a in areas for i in range(ward_width)]
        ),
        ward_lat=ward_matrix(1),
        ward_lon=ward_matrix(2),
        hour_share=hour_share / hour_share.sum(),
        minute_share=minute_share / minute_share.sum(),
        weekday_factor=weekday / weekday.mean(),
        trend_days=np.array([dt.date(y, 7, 2).toordinal() for y in years], dtype=np.float64),
        trend_rows_per_day=np.array(
            [profile.ANNUAL_ROWS[y] / d for y, d in zip(years, days_in, strict=True)]
        ),
        east_west_numbers=np.array([n for n, _ in east_west], dtype=np.float64),
        north_south_numbers=np.array([n for n, _ in north_south], dtype=np.float64),
        street_names=pl.Series([name for _, name in east_west + north_south]),
    )


_TABLES = _compile_tables()


def _daily_counts(rng: np.random.Generator, first: dt.date, days: int) -> IntArray:
    """Rows per day: the long-run trend x season x weekday x day-to-day noise, Poisson-drawn."""
    tables = _TABLES
    ordinals = np.arange(first.toordinal(), first.toordinal() + days, dtype=np.float64)
    day_of_year = ordinals - dt.date(first.year, 1, 1).toordinal() + 1
    expected = (
        np.interp(ordinals, tables.trend_days, tables.trend_rows_per_day)
        * (
            1
            + profile.SEASONAL_AMPLITUDE
            * np.cos(2 * np.pi * (day_of_year - profile.SEASONAL_PEAK_DAY) / 365.25)
        )
        * tables.weekday_factor[(ordinals.astype(np.int64) - 1) % 7]
        * rng.gamma(1 / _DAY_NOISE**2, _DAY_NOISE**2, days)
    )
    return np.minimum(rng.poisson(expected), _CASES_PER_DAY - 1).astype(np.int64)


def _minute_of_day(rng: np.random.Generator, count: int) -> IntArray:
    """Minutes after midnight: the hour and minute mix, plus records of unknown time at 00:00
    and 12:00 as the real data files them."""
    tables = _TABLES
    minutes = rng.choice(24, count, p=tables.hour_share) * 60 + rng.choice(
        60, count, p=tables.minute_share
    )
    unknown = rng.random(count)
    minutes = np.where(unknown < profile.MIDNIGHT_SHARE, 0, minutes)
    noon = (unknown >= profile.MIDNIGHT_SHARE) & (
        unknown < profile.MIDNIGHT_SHARE + profile.NOON_SHARE
    )
    return np.where(noon, 12 * 60, minutes).astype(np.int64)


def _nearest(sorted_numbers: FloatArray, values: FloatArray) -> IntArray:
    """Index of the closest entry of `sorted_numbers` to each value."""
    right = np.clip(np.searchsorted(sorted_numbers, values), 1, sorted_numbers.size - 1)
    left = right - 1
    closer_left = np.abs(values - sorted_numbers[left]) <= np.abs(sorted_numbers[right] - values)
    return np.where(closer_left, left, right).astype(np.int64)


def _blocks(rng: np.random.Generator, lat: FloatArray, lon: FloatArray) -> pl.Series:
    """`012XX W MADISON ST`: the hundred-block of the nearest street on Chicago's address grid,
    half the rows on an east-west street, half on a north-south one."""
    tables = _TABLES
    north = (lat - _GRID_ORIGIN_LAT) / _DEGREES_LAT_PER_NUMBER
    east = (lon - _GRID_ORIGIN_LON) / _DEGREES_LON_PER_NUMBER
    on_east_west = rng.random(lat.size) < 0.5
    street = np.where(
        on_east_west,
        _nearest(tables.east_west_numbers, north),
        tables.east_west_numbers.size + _nearest(tables.north_south_numbers, east),
    )
    number = np.where(on_east_west, east, north)
    direction = np.where(on_east_west, np.where(east < 0, 3, 2), np.where(north < 0, 1, 0))
    frame = pl.DataFrame(
        {
            "hundreds": (np.abs(number) // 100).astype(np.int64),
            "direction": pl.Series(["N", "S", "E", "W"]).gather(direction),
            "street": tables.street_names.gather(street),
        }
    )
    return frame.select(
        pl.format(
            "{}XX {} {}",
            pl.col("hundreds").cast(pl.String).str.zfill(3),
            pl.col("direction"),
            pl.col("street"),
        )
    ).to_series()


def _case_prefix(year: int) -> str:
    """The two letters case numbers of `year` start with ("HX" in 2014, "JH" in 2024)."""
    index = _CASE_PREFIX_2014 + year - 2014
    letters = len(_CASE_LETTERS)
    return _CASE_LETTERS[index // letters % letters] + _CASE_LETTERS[index % letters]


class _Offenses(NamedTuple):
    """What happened: type, IUCR code (as an index into the flat offense columns) and outcome."""

    crime_type: IntArray
    offense: IntArray  # type * offenses-per-type + offense
    location: IntArray
    arrest: npt.NDArray[np.bool_]
    domestic: npt.NDArray[np.bool_]


def _draw_offenses(rng: np.random.Generator, count: int, year: int, month: int) -> _Offenses:
    """Types, IUCR codes, locations, arrests and domestic flags, with the month's type mix and
    arrest rates placed between the 2014 and 2024 samples' (and held beyond them)."""
    tables = _TABLES
    middle = year + (month - 0.5) / 12
    weight = min(
        1.0, max(0.0, (middle - profile.EARLY_YEAR) / (profile.RECENT_YEAR - profile.EARLY_YEAR))
    )
    type_share = (1 - weight) * tables.share_2014 + weight * tables.share_2024
    type_arrest = (1 - weight) * tables.arrest_2014 + weight * tables.arrest_2024
    crime_type = rng.choice(type_share.size, count, p=type_share / type_share.sum())
    offense = _draw_within(rng, crime_type, tables.offense_cumulative)
    arrest_rate = type_arrest[crime_type] * tables.offense_arrest_factor[crime_type, offense]
    return _Offenses(
        crime_type=crime_type,
        offense=crime_type * tables.offense_cumulative.shape[1] + offense,
        location=_draw_within(rng, crime_type, tables.location_cumulative),
        arrest=rng.random(count) < np.minimum(arrest_rate, 0.98),
        domestic=rng.random(count) < tables.offense_domestic[crime_type, offense],
    )


class _Places(NamedTuple):
    """Where it happened: community area, beat and ward (indexes) and true coordinates."""

    area: IntArray
    beat: IntArray  # area * beats-per-area + beat
    ward: IntArray  # area * wards-per-area + ward
    lat: FloatArray
    lon: FloatArray


def _draw_places(rng: np.random.Generator, count: int) -> _Places:
    """A community area by its share, one of its beats by share, a point around the beat's
    centre, and the area's ward whose centre is closest to that point."""
    tables = _TABLES
    area = rng.choice(tables.area_share.size, count, p=tables.area_share)
    beat = area * tables.beat_cumulative.shape[1] + _draw_within(rng, area, tables.beat_cumulative)
    lat = np.clip(tables.beat_lat[beat] + rng.normal(0, _JITTER_LAT, count), *_BOUNDS_LAT)
    lon = np.clip(tables.beat_lon[beat] + rng.normal(0, _JITTER_LON, count), *_BOUNDS_LON)
    # A degree of longitude is cos(41.8) = 0.745 times a degree of latitude at Chicago.
    distance = (lat[:, None] - tables.ward_lat[area]) ** 2 + (
        (lon[:, None] - tables.ward_lon[area]) * 0.745
    ) ** 2
    nearest = np.argmin(np.nan_to_num(distance, nan=np.inf), axis=1)
    return _Places(area, beat, area * tables.ward_lat.shape[1] + nearest, lat, lon)


def month_rows(year: int, month: int, seed: int) -> pl.DataFrame:
    """Every synthetic row dated in `year`-`month` for `seed`, in `LAKE_SCHEMA`, sorted by date.

    Deterministic: the same arguments always give the same rows (`updated_on` may fall after
    the month; `write_demo_lake` caps it at the window's end).
    """
    tables = _TABLES
    rng = np.random.default_rng([seed, year, month])
    first = dt.date(year, month, 1)
    days = (dt.date(year + month // 12, month % 12 + 1, 1) - first).days
    per_day = _daily_counts(rng, first, days)
    count = int(per_day.sum())
    day = np.repeat(np.arange(days, dtype=np.int64), per_day)
    minute = _minute_of_day(rng, count)
    order = np.lexsort((minute, day))
    day, minute = day[order], minute[order]
    rank = np.arange(count, dtype=np.int64) - np.repeat(np.cumsum(per_day) - per_day, per_day)
    offenses = _draw_offenses(rng, count, year, month)
    places = _draw_places(rng, count)
    located = rng.random(count) >= profile.NO_COORDINATES_SHARE
    microsecond = np.timedelta64(1, "us")
    date = np.datetime64(first, "us") + (day * 86_400 + minute * 60) * 1_000_000 * microsecond
    lag = rng.integers(_UPDATE_LAG_DAYS[0] * 86_400, _UPDATE_LAG_DAYS[1] * 86_400, count)
    day_number = first.toordinal() - FIRST_DAY.toordinal() + day
    case_digits = (first.timetuple().tm_yday - 1 + day) * _CASES_PER_DAY + rank
    frame = pl.DataFrame(
        {
            "id": day_number * _IDS_PER_DAY + rank,
            "case_number": pl.Series(case_digits).cast(pl.String).str.zfill(6),
            "date": date,
            "block": _blocks(rng, places.lat, places.lon),
            "iucr": tables.offense_iucr.gather(offenses.offense),
            "primary_type": tables.type_names.gather(offenses.crime_type),
            "description": tables.offense_description.gather(offenses.offense),
            "location_description": tables.location_names.gather(offenses.location),
            "arrest": offenses.arrest,
            "domestic": offenses.domestic,
            "beat": tables.beat_names.gather(places.beat),
            "district": tables.area_districts.gather(places.area),
            "ward": tables.ward_names.gather(places.ward),
            "community_area": tables.area_numbers.gather(places.area),
            "fbi_code": tables.offense_fbi.gather(offenses.offense),
            "latitude": pl.Series(np.where(located, places.lat, np.nan), nan_to_null=True),
            "longitude": pl.Series(np.where(located, places.lon, np.nan), nan_to_null=True),
            "updated_on": date + lag * 1_000_000 * microsecond,
            "year": np.full(count, year, dtype=np.int16),
            "month": np.full(count, month, dtype=np.int8),
        }
    )
    prefixed = pl.lit(_case_prefix(year)) + pl.col("case_number")
    return frame.with_columns(prefixed.alias("case_number")).select(LAKE_SCHEMA.names())
