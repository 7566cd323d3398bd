"""Hexagonal binning of incident locations: the SQL that bins points, the geometry that draws cells.

Cells are pointy-top hexagons on axial coordinates (`hex_q`, `hex_r`) laid over a plane where a
degree of longitude is shrunk by cos(latitude) around Chicago, so cells look regular on a web
map. `size_deg` is a cell's centre-to-corner distance in degrees of latitude (0.006 ≈ 670 m).
Only points inside `CITY_EXTENT` are binned, which bounds the number of cells whatever the date
range (about 1,500 at the default size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

__all__ = [
    "CITY_EXTENT",
    "HEXAGON_SIZE_DEG",
    "CityExtent",
    "binning_params",
    "binning_sql",
    "feature_collection",
    "with_centres",
]

HEXAGON_SIZE_DEG = 0.006


@dataclass(frozen=True)
class CityExtent:
    """A latitude/longitude box around the City of Chicago (O'Hare included)."""

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float


CITY_EXTENT = CityExtent(lat_min=41.64, lat_max=42.03, lon_min=-87.95, lon_max=-87.52)

# The grid's origin, near the city's centre; cell (0, 0) is centred here.
_ORIGIN_LAT = 41.84
_ORIGIN_LON = -87.70
_LON_SCALE = math.cos(math.radians(_ORIGIN_LAT))
_SQRT3 = math.sqrt(3)


def binning_sql(points: str) -> str:
    """SQL counting rows of `points` (a relation with latitude, longitude) per hexagon.

    Its parameters come from `binning_params`, in order, after those of `points`. The result
    has columns hex_q, hex_r (BIGINT) and incidents, ordered by cell.
    """
    # Fractional axial coordinates are linear in (longitude, latitude); rounding them to the
    # nearest hexagon uses Jacob Rus's axial rounding (redblobgames.com/grids/hexagons).
    return f"""
        WITH located AS (
            SELECT latitude, longitude FROM {points}
            WHERE latitude BETWEEN ? AND ? AND longitude BETWEEN ? AND ?
        ), fractional AS (
            SELECT ? * longitude + ? * latitude + ? AS qf, ? * latitude + ? AS rf FROM located
        ), grid AS (
            SELECT round(qf) AS q, round(rf) AS r, qf - round(qf) AS dq, rf - round(rf) AS dr
            FROM fractional
        )
        SELECT CASE WHEN abs(dq) >= abs(dr) THEN q + round(dq + 0.5 * dr) ELSE q END::BIGINT
                   AS hex_q,
               CASE WHEN abs(dq) >= abs(dr) THEN r ELSE r + round(dr + 0.5 * dq) END::BIGINT
                   AS hex_r,
               count(*) AS incidents
        FROM grid
        GROUP BY ALL
        ORDER BY hex_q, hex_r
    """


def binning_params(size_deg: float) -> list[object]:
    """The parameters of `binning_sql` for cells of `size_deg`; ValueError unless it is > 0."""
    if not size_deg > 0:
        raise ValueError(f"hexagon size must be a positive number of degrees, not {size_deg!r}")
    extent = CITY_EXTENT
    # With x = (lon - lon0) * scale / size and y = (lat - lat0) / size (pointy-top axial):
    # q = x / sqrt(3) - y / 3 and r = 2y / 3.
    q_lon = _LON_SCALE / (_SQRT3 * size_deg)
    q_lat = -1.0 / (3.0 * size_deg)
    r_lat = 2.0 / (3.0 * size_deg)
    return [
        extent.lat_min,
        extent.lat_max,
        extent.lon_min,
        extent.lon_max,
        q_lon,
        q_lat,
        -(q_lon * _ORIGIN_LON + q_lat * _ORIGIN_LAT),
        r_lat,
        -r_lat * _ORIGIN_LAT,
    ]


def with_centres(cells: pl.DataFrame, size_deg: float) -> pl.DataFrame:
    """`cells` (hex_q, hex_r, ...) with latitude and longitude of each cell's centre added."""
    q, r = pl.col("hex_q").cast(pl.Float64), pl.col("hex_r").cast(pl.Float64)
    x = size_deg * (_SQRT3 * q + _SQRT3 / 2 * r)
    return cells.with_columns(
        latitude=_ORIGIN_LAT + size_deg * 1.5 * r,
        longitude=_ORIGIN_LON + x / _LON_SCALE,
    )


def feature_collection(cells: pl.DataFrame, size_deg: float) -> dict[str, object]:
    """A GeoJSON FeatureCollection with one hexagon polygon per row of `cells`.

    Each feature's id is `"q:r"`; its properties hold hex_q, hex_r and, when `cells` has the
    column, incidents. Coordinates are [longitude, latitude], rounded to 6 decimals (≈ 0.1 m).
    """
    has_counts = "incidents" in cells.columns
    wanted = ["hex_q", "hex_r", "incidents"] if has_counts else ["hex_q", "hex_r"]
    features: list[dict[str, object]] = []
    for row in with_centres(cells.select(wanted), size_deg).iter_rows(named=True):
        q, r = int(row["hex_q"]), int(row["hex_r"])
        lon, lat = float(row["longitude"]), float(row["latitude"])
        ring = []
        for corner in (0, 1, 2, 3, 4, 5, 0):
            angle = math.radians(60 * corner - 30)
            ring.append(
                [
                    round(lon + size_deg * math.cos(angle) / _LON_SCALE, 6),
                    round(lat + size_deg * math.sin(angle), 6),
                ]
            )
        properties: dict[str, object] = {"hex_q": q, "hex_r": r}
        if has_counts:
            properties["incidents"] = int(row["incidents"])
        features.append(
            {
                "type": "Feature",
                "id": f"{q}:{r}",
                "properties": properties,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {"type": "FeatureCollection", "features": features}
