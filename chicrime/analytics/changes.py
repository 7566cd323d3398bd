"""Revisions as a reader sees them: the record history (`chicrime.store.history`) labelled by
what an edit means, then counted and listed for /changes and `chicrime changes`.

An event row of the history becomes a labelled revision:

- reclassified:        primary type, IUCR code, description or FBI code changed
- arrest added/removed: `arrest` went false → true / true → false
- location corrected:  block, beat, district, ward, community area, coordinates or place type
- date corrected:      the incident's date or time
- other change:        any other field (case number, domestic)
- removed:             upstream no longer has the record
- late-added:          a record first seen more than `LATE_DAYS` after its incident date

A record's edit may carry several labels (reclassified with an arrest added); counts are of
distinct (run, record, label). `updated_on` moving is never a revision, nor is an ordinary
addition. The history is read once per selection (`labelled_sql`, chicrime's own SQL with
values as parameters); what /changes shows is worked out from those rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chicrime.analytics.categories import category_expr
from chicrime.store.history import HISTORY_SCHEMA

__all__ = [
    "LABELLED_SCHEMA",
    "LABELS",
    "LATE_DAYS",
    "LIST_SCHEMA",
    "MATRIX_SCHEMA",
    "SHARES_SCHEMA",
    "WEEKLY_SCHEMA",
    "Revisions",
    "labelled_sql",
    "listed",
    "matrix",
    "revised",
    "weekly",
]

LATE_DAYS = 30
LABELS = (
    "reclassified",
    "arrest added",
    "arrest removed",
    "location corrected",
    "date corrected",
    "other change",
    "removed",
    "late-added",
)
_RECLASSIFIED = ("primary_type", "iucr", "description", "fbi_code")
_LOCATION = (
    "block",
    "beat",
    "district",
    "ward",
    "community_area",
    "latitude",
    "longitude",
    "location_description",
)

# A history row labelled (`labelled_sql`), with the Chicago wall-clock time it was seen.
LABELLED_SCHEMA = pl.Schema({**HISTORY_SCHEMA, "observed": pl.Datetime("us"), "label": pl.String()})
WEEKLY_SCHEMA = pl.Schema({"week": pl.Date(), "label": pl.String(), "revisions": pl.Int64()})
MATRIX_SCHEMA = pl.Schema(
    {"from_type": pl.String(), "to_type": pl.String(), "revisions": pl.Int64()}
)
SHARES_SCHEMA = pl.Schema(
    {"category": pl.String(), "revised": pl.Int64(), "median_lag_days": pl.Float64()}
)
LIST_SCHEMA = pl.Schema(
    {
        "run_id": pl.Int64(),
        "observed_at": pl.Datetime("us", "UTC"),
        "label": pl.String(),
        "id": pl.Int64(),
        "case_number": pl.String(),
        "date": pl.Datetime("us"),
        "field": pl.String(),
        "before": pl.String(),
        "after": pl.String(),
    }
)


def _literals(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def labelled_sql(source: str) -> str:
    """Every revision row of `source` (history rows) with its `label` and `observed` (the
    Chicago wall-clock time the run saw it); rows that are no revision are left out."""
    return f"""(
        SELECT *, timezone('America/Chicago', observed_at) AS observed,
            CASE
                WHEN kind = 'removed' THEN 'removed'
                WHEN kind = 'added' THEN 'late-added'
                WHEN field IN ({_literals(_RECLASSIFIED)}) THEN 'reclassified'
                WHEN field = 'arrest' AND "after" = 'true' THEN 'arrest added'
                WHEN field = 'arrest' THEN 'arrest removed'
                WHEN field IN ({_literals(_LOCATION)}) THEN 'location corrected'
                WHEN field = 'date' THEN 'date corrected'
                ELSE 'other change'
            END AS label
        FROM {source}
        WHERE kind IN ('changed', 'removed')
            AND field IS DISTINCT FROM 'updated_on'
            OR kind = 'added'
            AND timezone('America/Chicago', observed_at) - "date" > INTERVAL {LATE_DAYS} DAY
    )"""


@dataclass(frozen=True)
class Revisions:
    """What /changes shows of a selection's revisions (see the module's functions)."""

    weekly: pl.DataFrame  # `WEEKLY_SCHEMA`
    matrix: pl.DataFrame  # `MATRIX_SCHEMA`
    revised: pl.DataFrame  # `SHARES_SCHEMA`
    listed: pl.DataFrame  # `LIST_SCHEMA`

    @classmethod
    def of(cls, rows: pl.DataFrame, limit: int) -> Revisions:
        """All four from the labelled rows (`LABELLED_SCHEMA`), at most `limit` listed."""
        return cls(weekly(rows), matrix(rows), revised(rows), listed(rows, limit))


def weekly(rows: pl.DataFrame) -> pl.DataFrame:
    """Revisions per week (from Monday, by when they were seen) and label."""
    return (
        rows.select(
            pl.col("observed").dt.truncate("1w").dt.date().alias("week"), "label", "run_id", "id"
        )
        .unique()
        .group_by("week", "label")
        .agg(pl.len().cast(pl.Int64).alias("revisions"))
        .sort("week", "label")
    )


def matrix(rows: pl.DataFrame) -> pl.DataFrame:
    """Primary-type reclassifications, from → to, most frequent first."""
    return (
        rows.filter((pl.col("kind") == "changed") & (pl.col("field") == "primary_type"))
        .group_by(pl.col("before").alias("from_type"), pl.col("after").alias("to_type"))
        .agg(pl.len().cast(pl.Int64).alias("revisions"))
        .sort(["revisions", "from_type", "to_type"], descending=[True, False, False])
    )


def revised(rows: pl.DataFrame) -> pl.DataFrame:
    """Per category (from `fbi_code`): records changed or removed, and the median days from the
    incident to the run that revised it (one lag per record and run, however many fields)."""
    return (
        rows.filter(pl.col("label") != "late-added")
        .select(
            "run_id",
            "id",
            category_expr("fbi_code").alias("category"),
            ((pl.col("observed") - pl.col("date")).dt.total_seconds() / 86_400).alias("lag"),
        )
        .unique()
        .group_by("category")
        .agg(
            pl.col("id").n_unique().cast(pl.Int64).alias("revised"),
            pl.col("lag").median().alias("median_lag_days"),
        )
        .cast(SHARES_SCHEMA)
    )


def listed(rows: pl.DataFrame, limit: int) -> pl.DataFrame:
    """Individual revisions, newest run first, at most `limit`: one row per changed field; a
    removed or late-added record is one row whose field is `record` (before → after: its type
    → `removed`, or nothing → its type)."""
    kind = pl.col("kind")
    return (
        rows.filter((kind != "removed") | (pl.col("field") == "primary_type"))
        .select(
            "run_id",
            "observed_at",
            "label",
            "id",
            "case_number",
            "date",
            pl.when(kind == "changed").then(pl.col("field")).otherwise(pl.lit("record")),
            pl.when(kind == "removed")
            .then(pl.col("primary_type"))
            .when(kind == "changed")
            .then(pl.col("before"))
            .alias("before"),
            pl.when(kind == "removed")
            .then(pl.lit("removed"))
            .when(kind == "added")
            .then(pl.col("primary_type"))
            .otherwise(pl.col("after"))
            .alias("after"),
        )
        .sort(["run_id", "id", "field"], descending=[True, False, False])
        .head(limit)
        .cast(LIST_SCHEMA)
    )
