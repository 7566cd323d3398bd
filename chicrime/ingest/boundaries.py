"""Community-area boundaries for the dashboard's map, fetched from the portal and cached.

The boundaries are a separate portal dataset (`igwz-8jzy`, GeoJSON). They are fetched after a
successful ingestion when the cached copy is missing or older than `MAX_AGE`, written
atomically, and never bundled. The pipeline treats the fetch as optional: failing it never fails
a run, and the map falls back to hexagons.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from chicrime.ingest.client import SocrataClient
from chicrime.store.geo import geo_file_age, write_geo_file

__all__ = ["COMMUNITY_AREAS_ID", "MAX_AGE", "refresh_community_areas"]

log = logging.getLogger(__name__)

COMMUNITY_AREAS_ID = "igwz-8jzy"
MAX_AGE = dt.timedelta(days=30)


def refresh_community_areas(client: SocrataClient, path: Path, now: dt.datetime) -> bool:
    """Fetch the boundaries into `path` unless a fresh copy is there; True if one was written.

    Raises `SocrataError` when the portal cannot serve them and `OSError` when they cannot be
    written; an earlier copy then stays as it was.
    """
    age = geo_file_age(path, now)
    if age is not None and age < MAX_AGE:
        return False
    write_geo_file(path, client.geojson(COMMUNITY_AREAS_ID))
    log.info("community-area boundaries cached", extra={"path": str(path)})
    return True
