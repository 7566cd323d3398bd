"""The portal's community-area documents kept under `geo/` (boundaries, residents): written
atomically by ingestion (or the demo), read by the dashboard. Both are optional: readers treat a
missing or unreadable file as "none".
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from pathlib import Path

__all__ = ["geo_file_age", "read_geo_file", "write_geo_file"]


def read_geo_file(path: Path) -> dict[str, object] | None:
    """The JSON object at `path`, or None when it is missing, unreadable or not an object.

    Parsed once per version of the file (its size and modification time): callers share the
    result and must not change it.
    """
    try:
        stat = path.stat()
    except OSError:
        return None
    return _parsed(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _parsed(path: str, _mtime_ns: int, _size: int) -> dict[str, object] | None:
    try:
        loaded = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def geo_file_age(path: Path, now: dt.datetime) -> dt.timedelta | None:
    """How long ago the file at `path` was written (`now` aware), or None when there is none."""
    try:
        written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:
        return None
    return now - written


def write_geo_file(path: Path, document: object) -> None:
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
