"""Community-area boundaries for the dashboard's map, fetched from the portal and cached.

The boundaries are a separate portal dataset (`igwz-8jzy`, GeoJSON). They are fetched after a
successful ingestion when the cached copy is missing or older than `MAX_AGE`, written
atomically, and never bundled. The pipeline treats the fetch as optional: failing it never fails
a run, and the map falls back to hexagons.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

from chicrime.ingest.client import SocrataClient

__all__ = ["COMMUNITY_AREAS_ID", "MAX_AGE", "community_areas_path", "refresh_community_areas"]

log = logging.getLogger(__name__)

COMMUNITY_AREAS_ID = "igwz-8jzy"
MAX_AGE = dt.timedelta(days=30)


def community_areas_path(data_dir: Path) -> Path:
    return data_dir / "geo" / "community_areas.geojson"


def refresh_community_areas(client: SocrataClient, data_dir: Path, now: dt.datetime) -> bool:
    """Fetch the boundaries unless a fresh copy exists; True if a new copy was written.

    Raises `SocrataError` when the portal cannot serve them and `OSError` when they cannot be
    written; an earlier copy then stays as it was.
    """
    path = community_areas_path(data_dir)
    if path.exists():
        written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        if now - written < MAX_AGE:
            return False
    document = client.geojson(COMMUNITY_AREAS_ID)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    try:
        temporary.write_text(json.dumps(document))
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    log.info("community-area boundaries cached", extra={"path": str(path)})
    return True
