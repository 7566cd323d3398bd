"""Raw API rows normalised into lake rows (polars, vectorised).

Socrata sends every value as a string (booleans excepted) and omits null keys. `normalise` turns
a page of such rows into typed lake rows and sets aside, with a reason, every row that has no
`id`, no `date`, or a value that does not parse. Timestamps are floating Chicago wall-clock times
and stay that way: parsed naive, never localised, so 02:30 on a spring-forward day and the
repeated 01:30 on a fall-back day survive unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chicrime.store.schema import LAKE_SCHEMA, RECORD_FIELDS

__all__ = ["STRUCTURE", "Normalised", "normalise", "raw_frame"]

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.f"
# A raw page's column naming values of the wrong JSON shape (an object where text belongs...):
# null when the record is well formed. Set by the client, read by `normalise`.
STRUCTURE = "__structure"

_BOOLEANS = ("arrest", "domestic")
_FLOATS = ("latitude", "longitude")
_TIMESTAMPS = ("date", "updated_on")


def raw_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """Conform raw API values to exactly `RECORD_FIELDS`, all strings, missing → null."""
    missing = [pl.lit(None, pl.String).alias(c) for c in RECORD_FIELDS if c not in rows.columns]
    return rows.with_columns(missing).select(pl.col(c).cast(pl.String) for c in RECORD_FIELDS)


@dataclass(frozen=True)
class Normalised:
    """A page split in two: typed lake rows, and raw rows rejected with a `reason` column."""

    rows: pl.DataFrame
    rejected: pl.DataFrame


def _blank_as_null(name: str) -> pl.Expr:
    """Typed columns treat an empty or blank string as a missing value, never as a bad one."""
    raw = pl.col(name)
    return pl.when(raw.str.strip_chars() == "").then(None).otherwise(raw).alias(name)


def _parse(name: str) -> pl.Expr:
    raw = pl.col(name)
    if name == "id":
        return raw.str.strip_chars().cast(pl.Int64, strict=False)
    if name in _TIMESTAMPS:
        return raw.str.to_datetime(TIMESTAMP_FORMAT, strict=False, time_unit="us")
    if name in _BOOLEANS:
        return pl.when(raw == "true").then(True).when(raw == "false").then(False)
    if name in _FLOATS:
        number = raw.cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number)
    return raw


def _problem(name: str) -> pl.Expr:
    """The reason a value of column `name` is unusable, or null when it is fine."""
    raw, parsed = pl.col(name), pl.col(f"__parsed_{name}")
    unparsable = pl.format(f"{name}: cannot parse {{}}", raw)
    if name in ("id", "date"):
        missing = pl.lit(f"{name}: missing")
        return pl.when(raw.is_null()).then(missing).when(parsed.is_null()).then(unparsable)
    return pl.when(raw.is_not_null() & parsed.is_null()).then(unparsable)


_CHECKED = ("id", *_TIMESTAMPS, *_BOOLEANS, *_FLOATS)


def normalise(raw: pl.DataFrame) -> Normalised:
    """Type a page of raw API rows; rows with a missing id/date or an unparsable value are rejected.

    A row whose `STRUCTURE` column (if present) names a misshapen value is rejected with that
    reason alone. Never raises for bad values: every input row ends up in exactly one of the two
    outputs.
    """
    structure = raw.get_column(STRUCTURE) if STRUCTURE in raw.columns else None
    # A misshapen value is the whole story of its row; otherwise every unparsable value is named.
    reason = pl.coalesce(
        STRUCTURE,
        pl.concat_str([_problem(c) for c in _CHECKED], separator="; ", ignore_nulls=True),
    )
    frame = (
        raw_frame(raw)
        .with_columns(pl.lit(None, pl.String).alias(STRUCTURE) if structure is None else structure)
        .with_columns(_blank_as_null(c) for c in _CHECKED)
        .with_columns(_parse(c).alias(f"__parsed_{c}") for c in _CHECKED)
        # concat_str of nothing but nulls is "", not null: a row is good when no column objects.
        .with_columns(pl.when(reason != "").then(reason).alias("reason"))
    )
    good = frame.filter(pl.col("reason").is_null())
    rows = good.select(
        *(pl.col(f"__parsed_{c}").alias(c) if c in _CHECKED else pl.col(c) for c in RECORD_FIELDS),
        pl.col("__parsed_date").dt.year().cast(pl.Int16).alias("year"),
        pl.col("__parsed_date").dt.month().cast(pl.Int8).alias("month"),
    ).cast(LAKE_SCHEMA)
    rejected = frame.filter(pl.col("reason").is_not_null()).select(*RECORD_FIELDS, "reason")
    return Normalised(rows=rows, rejected=rejected)
