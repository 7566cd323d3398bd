"""Synthetic community-area boundaries and residents for `chicrime demo`, consistent with its
synthetic incidents, so the dashboard shows outlines, names and per-capita rates offline.

Outlines: the city's extent is cut into cells of about 450 m; each cell within ~1.3 km of a
beat centre of `demo_profile.COMMUNITY_AREAS` belongs to the area of the nearest one, and each
area's cells are traced into polygons (outer rings counter-clockwise, holes inside them). They
look like the real map only roughly: they are not the portal's boundaries, which the demo never
bundles. Residents: about 2.7 million in all, shared among the areas by their share of incidents
with a fixed random spread, so rates differ between areas as real ones do.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from chicrime import demo_profile as profile

__all__ = ["demo_boundaries", "demo_population"]

_CELL_LAT, _CELL_LON = 0.004, 0.0054  # ~445 m either way at Chicago's latitude
_REACH = 0.012  # a cell farther than this (in degrees of latitude) from every beat is outside
_LON_SCALE = 0.745  # a degree of longitude is cos(41.8°) of a degree of latitude
_RESIDENTS = 2_700_000

Vertex = tuple[int, int]  # (row, column) of the cell grid's corners


def _cell_areas() -> tuple[np.ndarray, float, float]:
    """The grid: each cell's area index (-1 outside the city) and the grid's south-west corner."""
    beats = [
        (index, b[2], b[3]) for index, a in enumerate(profile.COMMUNITY_AREAS) for b in a.beats
    ]
    owner = np.array([b[0] for b in beats])
    lat = np.array([b[1] for b in beats])
    lon = np.array([b[2] for b in beats])
    south, west = lat.min() - _REACH, lon.min() - _REACH / _LON_SCALE
    rows = int(np.ceil((lat.max() + _REACH - south) / _CELL_LAT))
    columns = int(np.ceil((lon.max() + _REACH / _LON_SCALE - west) / _CELL_LON))
    centre_lat = south + (np.arange(rows) + 0.5) * _CELL_LAT
    centre_lon = west + (np.arange(columns) + 0.5) * _CELL_LON
    grid_lat, grid_lon = np.meshgrid(centre_lat, centre_lon, indexing="ij")
    distance = np.hypot(
        grid_lat[..., None] - lat, (grid_lon[..., None] - lon) * _LON_SCALE
    )  # rows x columns x beats
    nearest = distance.argmin(axis=2)
    cells = np.where(distance.min(axis=2) <= _REACH, owner[nearest], -1)
    return cells, south, west


def _rings(cells: np.ndarray, area: int) -> list[list[Vertex]]:
    """The closed boundary rings of `area`'s cells, straight runs merged into one edge."""
    inside = cells == area
    padded = np.pad(inside, 1)
    following: dict[Vertex, list[Vertex]] = defaultdict(list)
    for r, c in zip(*np.nonzero(inside), strict=True):
        r, c = int(r), int(c)
        # Counter-clockwise around the cell; an edge counts where the neighbour is outside.
        sides = (
            (not padded[r, c + 1], (r, c), (r, c + 1)),  # south
            (not padded[r + 1, c + 2], (r, c + 1), (r + 1, c + 1)),  # east
            (not padded[r + 2, c + 1], (r + 1, c + 1), (r + 1, c)),  # north
            (not padded[r + 1, c], (r + 1, c), (r, c)),  # west
        )
        for outside, start, end in sides:
            if outside:
                following[start].append(end)
    rings = []
    while following:
        start = next(iter(following))
        ring = [start]
        vertex = start
        while True:
            ends = following[vertex]
            after = ends.pop()
            if not ends:
                del following[vertex]
            if after == start:
                break
            ring.append(after)
            vertex = after
        rings.append(_corners(ring))
    return rings


def _corners(ring: list[Vertex]) -> list[Vertex]:
    """`ring` without the vertices where it runs straight on."""
    count = len(ring)
    kept = []
    for i, (r, c) in enumerate(ring):
        (pr, pc), (nr, nc) = ring[i - 1], ring[(i + 1) % count]
        if (r - pr, c - pc) != (nr - r, nc - c) and (r - pr) * (nc - c) != (c - pc) * (nr - r):
            kept.append((r, c))
    return kept


def _signed_area(ring: list[Vertex]) -> float:
    return 0.5 * sum(
        ring[i - 1][1] * ring[i][0] - ring[i][1] * ring[i - 1][0] for i in range(len(ring))
    )


def _contains(ring: list[Vertex], point: tuple[float, float]) -> bool:
    """Whether `point` (row, column) lies inside `ring` (ray casting)."""
    y, x = point
    inside = False
    for i in range(len(ring)):
        (y1, x1), (y2, x2) = ring[i - 1], ring[i]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _polygons(rings: list[list[Vertex]]) -> list[list[list[Vertex]]]:
    """Outer rings (counter-clockwise) each with the holes (clockwise rings) inside them."""
    outers = [ring for ring in rings if _signed_area(ring) > 0]
    polygons: list[list[list[Vertex]]] = [[outer] for outer in outers]
    for hole in (ring for ring in rings if _signed_area(ring) < 0):
        probe = (hole[0][0] + 0.5, hole[0][1] + 0.5)
        for polygon in polygons:
            if _contains(polygon[0], probe):
                polygon.append(hole)
                break
    return polygons


def demo_boundaries() -> dict[str, object]:
    """A GeoJSON FeatureCollection shaped like the portal's boundaries dataset: one feature per
    community area with `area_numbe` and `community`, a MultiPolygon of its cells' outline."""
    cells, south, west = _cell_areas()

    def position(vertex: Vertex) -> list[float]:
        row, column = vertex
        return [round(west + column * _CELL_LON, 5), round(south + row * _CELL_LAT, 5)]

    features = []
    for index, area in enumerate(profile.COMMUNITY_AREAS):
        polygons = _polygons(_rings(cells, index))
        coordinates = [
            [[position(v) for v in [*ring, ring[0]]] for ring in polygon] for polygon in polygons
        ]
        features.append(
            {
                "type": "Feature",
                "properties": {"area_numbe": area.number, "community": area.name},
                "geometry": {"type": "MultiPolygon", "coordinates": coordinates},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def demo_population() -> dict[str, object]:
    """Residents per area, in the shape of the cached ACS document, marked synthetic."""
    rng = np.random.default_rng(1980)
    shares = np.array([a.share for a in profile.COMMUNITY_AREAS])
    weights = shares * rng.lognormal(0.0, 0.45, shares.size)
    residents = np.round(_RESIDENTS * weights / weights.sum()).astype(int)
    return {
        "acs_year": "synthetic",
        "residents": {
            area.name: int(n) for area, n in zip(profile.COMMUNITY_AREAS, residents, strict=True)
        },
        "synthetic": True,
    }
