"""Revisions as a reader sees them: the record history (`chicrime.store.history`) labelled by
what an edit means, and the SQL that counts and lists them.

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
addition. The SQL here is chicrime's own text; values are parameters.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "LABELS",
    "LATE_DAYS",
    "LIST_SCHEMA",
    "MATRIX_SCHEMA",
    "SHARES_SCHEMA",
    "WEEKLY_SCHEMA",
    "labelled_sql",
    "list_sql",
    "matrix_sql",
    "shares_sql",
    "weekly_sql",
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


def weekly_sql(source: str) -> str:
    """Revisions per week (from Monday, by when they were seen) and label."""
    return f"""
        SELECT CAST(date_trunc('week', observed) AS DATE) AS week, label,
            CAST(count(DISTINCT (run_id, id)) AS BIGINT) AS revisions
        FROM {labelled_sql(source)} GROUP BY ALL ORDER BY week, label
    """


def matrix_sql(source: str) -> str:
    """Primary-type reclassifications, from → to, most frequent first."""
    return f"""
        SELECT "before" AS from_type, "after" AS to_type,
            CAST(count(*) AS BIGINT) AS revisions
        FROM {source} WHERE kind = 'changed' AND field = 'primary_type'
        GROUP BY ALL ORDER BY revisions DESC, from_type, to_type
    """


def shares_sql(source: str, category: str) -> str:
    """Per category (`category` is SQL naming it from `fbi_code`): records changed or removed,
    and the median days from the incident to the run that revised it (one lag per record and
    run, however many fields it changed)."""
    return f"""
        SELECT category, CAST(count(DISTINCT id) AS BIGINT) AS revised,
            median(lag_days) AS median_lag_days
        FROM (
            SELECT DISTINCT run_id, id, {category} AS category,
                epoch(observed - "date") / 86400.0 AS lag_days
            FROM {labelled_sql(source)} WHERE label <> 'late-added'
        )
        GROUP BY ALL
    """


def list_sql(source: str) -> str:
    """Individual revisions, newest first: one row per changed field; a removed or late-added
    record is one row whose field is `record` (before → after: its type → `removed`, or
    nothing → its type)."""
    return f"""
        SELECT run_id, observed_at, label, id, case_number, "date",
            CASE WHEN kind = 'changed' THEN field ELSE 'record' END AS field,
            CASE WHEN kind = 'removed' THEN primary_type
                WHEN kind = 'changed' THEN "before" END AS "before",
            CASE WHEN kind = 'removed' THEN 'removed'
                WHEN kind = 'added' THEN primary_type ELSE "after" END AS "after"
        FROM {labelled_sql(source)}
        WHERE kind <> 'removed' OR field = 'primary_type'
        ORDER BY run_id DESC, id, field
    """
