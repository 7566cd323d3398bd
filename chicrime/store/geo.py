"""The community-area boundaries kept under `geo/`: written atomically by ingestion, read by the
map. The file is optional: readers treat a missing or unreadable one as "no boundaries".
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

__all__ = ["boundaries_age", "read_boundaries", "write_boundaries"]


def read_boundaries(path: Path) -> dict[str, object] | None:
    """The GeoJSON document at `path`, or None when it is missing, unreadable or not an object."""
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def boundaries_age(path: Path, now: dt.datetime) -> dt.timedelta | None:
    """How long ago the file at `path` was written (`now` aware), or None when there is none."""
    try:
        written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:
        return None
    return now - written


def write_boundaries(path: Path, document: object) -> None:
    """Replace the file at `path` with `document` as JSON, atomically; `OSError` leaves the old
    file as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    try:
        temporary.write_text(json.dumps(document))
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
