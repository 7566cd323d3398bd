"""The lake's columns and time zone: what every reader and writer of the lake agrees on.

`date` and `updated_on` are floating Chicago wall-clock times (no zone, as the portal publishes
them); `year` and `month` are derived from `date` and name the row's partition.
"""

from __future__ import annotations

import polars as pl

__all__ = ["LAKE_SCHEMA", "PARQUET_METADATA", "RECORD_FIELDS", "TIMEZONE"]

TIMEZONE = "America/Chicago"

LAKE_SCHEMA = pl.Schema(
    {
        "id": pl.Int64(),
        "case_number": pl.String(),
        "date": pl.Datetime("us"),
        "block": pl.String(),
        "iucr": pl.String(),
        "primary_type": pl.String(),
        "description": pl.String(),
        "location_description": pl.String(),
        "arrest": pl.Boolean(),
        "domestic": pl.Boolean(),
        "beat": pl.String(),
        "district": pl.String(),
        "ward": pl.String(),
        "community_area": pl.String(),
        "fbi_code": pl.String(),
        "latitude": pl.Float64(),
        "longitude": pl.Float64(),
        "updated_on": pl.Datetime("us"),
        "year": pl.Int16(),
        "month": pl.Int8(),
    }
)

# A record's own fields, as the portal publishes them: every lake column but the partition keys.
RECORD_FIELDS: tuple[str, ...] = tuple(c for c in LAKE_SCHEMA if c not in ("year", "month"))

# Key-value metadata in every lake file, so a reader meeting one alone knows its clock.
PARQUET_METADATA = {
    "chicrime.timezone": TIMEZONE,
    "chicrime.timestamps": "date and updated_on are wall-clock times in America/Chicago, no zone",
}
