"""Synthetic revisions for `chicrime demo`: the edits the portal makes to records after
publishing them, a day at a time, so the record history and /changes have something to show.

Each simulated day edits records dated in the weeks before it, at about the rates below:
reclassifications (to a type the record is often re-filed as), arrests added late, locations
corrected, records removed as unfounded, and late reports (records first published more than a
month after their date). Everything depends only on the seed and the day, so a demo run with
the same arguments writes the same history. The edits go through the same merge and commit as
any ingestion run; `chicrime.demo` drives them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from chicrime import demo_profile as profile
from chicrime.store.schema import LAKE_SCHEMA

__all__ = ["CANDIDATE_DAYS", "LATE_DAYS", "DailyEdits", "daily_edits"]

# Records dated up to this many days before a simulated day may be edited that day.
CANDIDATE_DAYS = 60
# Expected edits per day (Poisson means).
_RECLASSIFIED, _ARRESTED, _RELOCATED, _REMOVED, _LATE = 12.0, 8.0, 6.0, 2.0, 4.0
# A late report is dated this many days before the day it is first seen.
LATE_DAYS = (31, 150)
# Types records are re-filed as: the second type's most common offense replaces the first's.
_REFILED_AS: Mapping[str, str] = {
    "BATTERY": "ASSAULT",
    "ASSAULT": "BATTERY",
    "THEFT": "DECEPTIVE PRACTICE",
    "DECEPTIVE PRACTICE": "THEFT",
    "CRIMINAL DAMAGE": "THEFT",
    "ROBBERY": "THEFT",
    "BURGLARY": "CRIMINAL TRESPASS",
    "MOTOR VEHICLE THEFT": "THEFT",
    "OTHER OFFENSE": "DECEPTIVE PRACTICE",
    "NARCOTICS": "OTHER OFFENSE",
    "WEAPONS VIOLATION": "OTHER OFFENSE",
    "CRIMINAL TRESPASS": "BURGLARY",
}
# The demo's ids are `day number * 10_000 + rank`; a late report seen on a day takes a rank from
# here up, far above any day's own incidents.
_LATE_RANK = 9_000
_IDS_PER_DAY = 10_000


@dataclass(frozen=True)
class DailyEdits:
    """One simulated day: rows upstream now serves differently (or for the first time), and
    ids it no longer has."""

    upserts: pl.DataFrame  # lake rows (`LAKE_SCHEMA`)
    removed: list[int]


def _main_offense(primary_type: str) -> profile.Offense | None:
    offenses = profile.OFFENSES.get(primary_type)
    return max(offenses, key=lambda o: o.share) if offenses else None


def daily_edits(
    held: pl.DataFrame, late_reports: pl.DataFrame, day: dt.date, day_number: int, seed: int
) -> DailyEdits:
    """The edits seen on `day` (its `day_number` from the demo's first day).

    `held` holds the current rows of the records that may be edited (dated in the
    `CANDIDATE_DAYS` before `day`), `late_reports` rows that could be reported late (dated
    `LATE_DAYS` before `day`, not in the lake; their ids and case numbers are replaced).
    """
    rng = np.random.default_rng([seed, 7_919, day.toordinal()])
    seen = dt.datetime.combine(day, dt.time(3, 15))
    counts = rng.poisson([_RECLASSIFIED, _ARRESTED, _RELOCATED, _REMOVED, _LATE])
    # Distinct records for the four kinds of edit, drawn at once.
    picked = held[np.sort(rng.permutation(held.height)[: int(counts[:4].sum())]).tolist()]
    picked = picked[rng.permutation(picked.height).tolist()]
    starts = np.concatenate([[0], np.cumsum(counts[:4])]).tolist()
    reclassify, arrest, relocate, removed = (
        picked.slice(starts[k], starts[k + 1] - starts[k]) for k in range(4)
    )
    edited = [
        _reclassified(reclassify),
        arrest.filter(~pl.col("arrest")).with_columns(pl.lit(True).alias("arrest")),
        _relocated(relocate, rng),
        _reported_late(late_reports, int(counts[4]), day, day_number, rng),
    ]
    upserts = pl.concat(edited).with_columns(
        pl.max_horizontal(
            pl.col("updated_on") + pl.duration(minutes=1), pl.lit(seen, pl.Datetime("us"))
        ).alias("updated_on")
    )
    return DailyEdits(upserts.cast(LAKE_SCHEMA), removed.get_column("id").to_list())


def _reclassified(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows re-filed under the type they are often re-filed as (others left out)."""
    out = []
    for row in rows.iter_rows(named=True):
        target = _REFILED_AS.get(row["primary_type"])
        offense = _main_offense(target) if target else None
        if target is None or offense is None:
            continue
        row.update(
            primary_type=target,
            iucr=offense.iucr,
            description=offense.description,
            fbi_code=offense.fbi_code,
        )
        out.append(row)
    return pl.DataFrame(out, schema=LAKE_SCHEMA)


def _relocated(rows: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The located rows moved a few hundred metres (a corrected address)."""
    located = rows.drop_nulls("latitude")
    shift = rng.uniform(-0.004, 0.004, (2, located.height))
    return located.with_columns(
        (pl.col("latitude") + pl.Series(shift[0])).round(9),
        (pl.col("longitude") + pl.Series(shift[1])).round(9),
    )


def _reported_late(
    candidates: pl.DataFrame, count: int, day: dt.date, day_number: int, rng: np.random.Generator
) -> pl.DataFrame:
    """`count` of `candidates`, as records first published on `day`: new ids and case numbers."""
    if not candidates.height or not count:
        return pl.DataFrame(schema=LAKE_SCHEMA)
    rows = np.sort(rng.choice(candidates.height, min(count, candidates.height), replace=False))
    chosen: pl.DataFrame = candidates[rows.tolist()]
    ranks = np.arange(chosen.height)
    year_day = day.timetuple().tm_yday
    return chosen.with_columns(
        pl.Series("id", day_number * _IDS_PER_DAY + _LATE_RANK + ranks),
        (
            pl.col("case_number").str.slice(0, 2)
            + pl.Series((960_000 + year_day * 100 + ranks).astype(str))
        ).alias("case_number"),
    )
