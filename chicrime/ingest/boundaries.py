"""Community areas as places, for the dashboard: their boundaries and their residents, fetched
from the portal and cached.

Both are separate portal datasets: the boundaries (`igwz-8jzy`, GeoJSON) and "ACS 5 Year Data
by Community Area" (`t68z-cikk`, one row per area per ACS year, areas by name). They are fetched
after a successful ingestion when the cached copy is missing or older than `MAX_AGE`, written
atomically, and never bundled. The pipeline treats each fetch as optional: failing it never
fails a run; the map then falls back to hexagons, rates to counts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from chicrime.errors import SocrataError
from chicrime.ingest.client import SocrataClient
from chicrime.store.geo import geo_file_age, write_geo_file

__all__ = [
    "COMMUNITY_AREAS_ID",
    "MAX_AGE",
    "MIN_AREAS",
    "POPULATION_ID",
    "population_document",
    "refresh_community_areas",
    "refresh_population",
]

log = logging.getLogger(__name__)

COMMUNITY_AREAS_ID = "igwz-8jzy"
POPULATION_ID = "t68z-cikk"
MAX_AGE = dt.timedelta(days=30)
# An ACS year is used only when it counts the residents of at least this many of the 77 areas.
MIN_AREAS = 70
_POPULATION_FIELDS = ("acs_year", "community_area", "total_population")


def _stale(path: Path, now: dt.datetime) -> bool:
    age = geo_file_age(path, now)
    return age is None or age >= MAX_AGE


def refresh_community_areas(client: SocrataClient, path: Path, now: dt.datetime) -> bool:
    """Fetch the boundaries into `path` unless a fresh copy is there; True if one was written.

    Raises `SocrataError` when the portal cannot serve them and `OSError` when they cannot be
    written; an earlier copy then stays as it was.
    """
    if not _stale(path, now):
        return False
    write_geo_file(path, client.geojson(COMMUNITY_AREAS_ID))
    log.info("community-area boundaries cached", extra={"path": str(path)})
    return True


def _count(value: object) -> int | None:
    """A population as the API sends it ("12345", sometimes "12345.0"); None if it is none."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    return int(number) if number.is_integer() and number > 0 else None


def population_document(rows: Iterable[Mapping[str, object]]) -> dict[str, object]:
    """The cached form of the ACS rows: the newest ACS year that counts the residents of at
    least `MIN_AREAS` areas, with residents by upper-case area name. Raises `SocrataError`
    when no year does (the table is not what chicrime expects)."""
    years: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        year, name = row.get("acs_year"), row.get("community_area")
        residents = _count(row.get("total_population"))
        if isinstance(year, str | int) and isinstance(name, str) and residents is not None:
            years[str(year).strip()][name.strip().upper()] = residents
    usable = sorted(year for year, areas in years.items() if len(areas) >= MIN_AREAS)
    if not usable:
        raise SocrataError(
            f"{POPULATION_ID} names no ACS year with residents for {MIN_AREAS} or more areas"
        )
    newest = usable[-1]
    return {"acs_year": newest, "source": POPULATION_ID, "residents": years[newest]}


def refresh_population(client: SocrataClient, path: Path, now: dt.datetime) -> bool:
    """Fetch the residents per area into `path` unless a fresh copy is there; True if one was
    written. Raises like `refresh_community_areas`."""
    if not _stale(path, now):
        return False
    rows = client.table(POPULATION_ID, _POPULATION_FIELDS, limit=50_000)
    document = population_document(rows)
    write_geo_file(path, document)
    log.info("community-area residents cached", extra={"acs_year": document["acs_year"]})
    return True
