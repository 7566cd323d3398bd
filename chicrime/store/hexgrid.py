"""The hexagonal grid incidents are binned on: which cell a location falls in, as SQL.

Cells are pointy-top hexagons on axial coordinates (`hex_q`, `hex_r`) laid over a plane where a
degree of longitude is shrunk by cos(latitude) around Chicago, so cells look regular on a web
map. `size_deg` is a cell's centre-to-corner distance in degrees of latitude (0.006 ≈ 670 m).
Only points inside `CITY_EXTENT` are binned, which bounds the number of cells whatever the date
range (about 1,500 at the default size). The store bins with it when it writes a version's
rollups, the analytics when they bin a selection; both use `cells_sql`, so they agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CITY_EXTENT",
    "GRID_ORIGIN",
    "HEXAGON_SIZE_DEG",
    "LON_SCALE",
    "CityExtent",
    "binning_sql",
    "cell_size",
    "cells_sql",
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

# The grid's origin (latitude, longitude), near the city's centre; cell (0, 0) is centred here.
GRID_ORIGIN = (41.84, -87.70)
LON_SCALE = math.cos(math.radians(GRID_ORIGIN[0]))
_SQRT3 = math.sqrt(3)


def cell_size(size_deg: float) -> float:
    """`size_deg` as a float; ValueError unless it is a finite number of degrees > 0."""
    size = float(size_deg)
    if not (math.isfinite(size) and size > 0):
        raise ValueError(f"hexagon size must be a positive number of degrees, not {size_deg!r}")
    return size


def cells_sql(points: str, size_deg: float = HEXAGON_SIZE_DEG, carry: Sequence[str] = ()) -> str:
    """SQL giving each located row of `points` its cell of `size_deg`: `carry`, hex_q, hex_r.

    `points` is a relation with latitude and longitude (and the `carry` columns); rows outside
    `CITY_EXTENT` or without coordinates are left out. `points` and `carry` must be chicrime's
    own SQL, never user input; the grid's numbers are written into the SQL as literals, so any
    parameters are those of `points`. ValueError unless `size_deg` is a finite number > 0.
    """
    size = cell_size(size_deg)
    extent = CITY_EXTENT
    origin_lat, origin_lon = GRID_ORIGIN
    # With x = (lon - lon0) * scale / size and y = (lat - lat0) / size (pointy-top axial):
    # q = x / sqrt(3) - y / 3 and r = 2y / 3.
    q_lon = LON_SCALE / (_SQRT3 * size)
    q_lat = -1.0 / (3.0 * size)
    r_lat = 2.0 / (3.0 * size)
    q_0 = -(q_lon * origin_lon + q_lat * origin_lat)
    r_0 = -r_lat * origin_lat
    kept = "".join(f"{column}, " for column in carry)
    # Fractional axial coordinates are linear in (longitude, latitude); rounding them to the
    # nearest hexagon uses Jacob Rus's axial rounding (redblobgames.com/grids/hexagons).
    return f"""
        SELECT {kept}
               CASE WHEN abs(dq) >= abs(dr) THEN q + round(dq + 0.5 * dr) ELSE q END::BIGINT
                   AS hex_q,
               CASE WHEN abs(dq) >= abs(dr) THEN r ELSE r + round(dr + 0.5 * dq) END::BIGINT
                   AS hex_r
        FROM (
            SELECT {kept} round(qf) AS q, round(rf) AS r, qf - round(qf) AS dq,
                   rf - round(rf) AS dr
            FROM (
                SELECT {kept} {q_lon!r} * longitude + {q_lat!r} * latitude + {q_0!r} AS qf,
                       {r_lat!r} * latitude + {r_0!r} AS rf
                FROM {points}
                WHERE latitude BETWEEN {extent.lat_min!r} AND {extent.lat_max!r}
                  AND longitude BETWEEN {extent.lon_min!r} AND {extent.lon_max!r}
            )
        )
    """


def binning_sql(points: str, size_deg: float = HEXAGON_SIZE_DEG) -> str:
    """SQL counting rows of `points` (a relation with latitude, longitude) per hexagon.

    The result has columns hex_q, hex_r (BIGINT) and incidents, ordered by cell; ValueError
    for a `size_deg` that is not a finite number > 0.
    """
    return (
        f"SELECT hex_q, hex_r, count(*) AS incidents FROM ({cells_sql(points, size_deg)})"
        " GROUP BY ALL ORDER BY hex_q, hex_r"
    )
