"""Hexagon geometry for the map: each cell's centre and its polygon, for cells binned by
`chicrime.store.hexgrid` (which defines the grid and bins locations in SQL).
"""

from __future__ import annotations

import functools
import math

import polars as pl

from chicrime.store.hexgrid import (
    CITY_EXTENT,
    GRID_ORIGIN,
    HEXAGON_SIZE_DEG,
    LON_SCALE,
    CityExtent,
    binning_sql,
    cells_sql,
)

__all__ = [
    "CITY_EXTENT",
    "HEXAGON_SIZE_DEG",
    "CityExtent",
    "binning_sql",
    "cells_sql",
    "feature_collection",
    "with_centres",
]

_SQRT3 = math.sqrt(3)
_ORIGIN_LAT, _ORIGIN_LON = GRID_ORIGIN


def with_centres(cells: pl.DataFrame, size_deg: float) -> pl.DataFrame:
    """`cells` (hex_q, hex_r, ...) with latitude and longitude of each cell's centre added."""
    q, r = pl.col("hex_q").cast(pl.Float64), pl.col("hex_r").cast(pl.Float64)
    x = size_deg * (_SQRT3 * q + _SQRT3 / 2 * r)
    return cells.with_columns(
        latitude=_ORIGIN_LAT + size_deg * 1.5 * r,
        longitude=_ORIGIN_LON + x / LON_SCALE,
    )


@functools.lru_cache(maxsize=16_384)
def _ring(q: int, r: int, size_deg: float) -> tuple[tuple[float, float], ...]:
    """The closed ring of cell (q, r): a cell's shape never changes, so it is worked out once
    per process (the city holds about 1,500 cells at the default size)."""
    x = size_deg * (_SQRT3 * q + _SQRT3 / 2 * r)
    lat, lon = _ORIGIN_LAT + size_deg * 1.5 * r, _ORIGIN_LON + x / LON_SCALE
    return tuple(
        (
            round(lon + size_deg * math.cos(math.radians(60 * corner - 30)) / LON_SCALE, 6),
            round(lat + size_deg * math.sin(math.radians(60 * corner - 30)), 6),
        )
        for corner in (0, 1, 2, 3, 4, 5, 0)
    )


def feature_collection(cells: pl.DataFrame, size_deg: float) -> dict[str, object]:
    """A GeoJSON FeatureCollection with one hexagon polygon per row of `cells`.

    Each feature's id is `"q:r"`; its properties hold hex_q, hex_r and, when `cells` has the
    column, incidents. Coordinates are [longitude, latitude], rounded to 6 decimals (≈ 0.1 m).
    """
    has_counts = "incidents" in cells.columns
    wanted = ["hex_q", "hex_r", "incidents"] if has_counts else ["hex_q", "hex_r"]
    features: list[dict[str, object]] = []
    for row in cells.select(wanted).iter_rows(named=True):
        q, r = int(row["hex_q"]), int(row["hex_r"])
        properties: dict[str, object] = {"hex_q": q, "hex_r": r}
        if has_counts:
            properties["incidents"] = int(row["incidents"])
        features.append(
            {
                "type": "Feature",
                "id": f"{q}:{r}",
                "properties": properties,
                "geometry": {"type": "Polygon", "coordinates": [_ring(q, r, size_deg)]},
            }
        )
    return {"type": "FeatureCollection", "features": features}
