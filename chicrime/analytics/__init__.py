"""chicrime's analytics: DuckDB queries over the local lake, memoised on disk, for the dashboard.

Pages call `Analytics` with a `Filters`; they never open DuckDB or write SQL themselves.
"""

from chicrime.analytics.filters import Filters
from chicrime.analytics.hexagons import CITY_EXTENT, HEXAGON_SIZE_DEG
from chicrime.analytics.queries import (
    CSV_ROW_CAP,
    DAILY_GRAIN_MAX_DAYS,
    MAP_POINTS_LIMIT,
    MAP_POINTS_MAX_DAYS,
    TABLE_ROW_CAP,
    TABLE_SCHEMA,
    Analytics,
    Dimensions,
    Freshness,
    Kpis,
    revision_shares,
    time_grain,
)

__all__ = [
    "CITY_EXTENT",
    "CSV_ROW_CAP",
    "DAILY_GRAIN_MAX_DAYS",
    "HEXAGON_SIZE_DEG",
    "MAP_POINTS_LIMIT",
    "MAP_POINTS_MAX_DAYS",
    "TABLE_ROW_CAP",
    "TABLE_SCHEMA",
    "Analytics",
    "Dimensions",
    "Filters",
    "Freshness",
    "Kpis",
    "revision_shares",
    "time_grain",
]
