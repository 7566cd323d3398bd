"""The storage layer: the lake, its state and the run that changes them, shared by every part.

- `schema`, `layout`: the lake's columns and time zone; where everything lives under DATA_DIR.
- `versions`: which lake version is current and the files of each partition (readers).
- `staging`, `lake`, `faults`: a run's staged rows; merging and committing a new version.
- `state`: run history and watermarks (`StateStore` for writers, `StateView` for readers).
- `lock`, `run`: one writer at a time, and the skeleton every writer run follows.
- `verify`, `geo`: checking a version against the state; the map's boundaries file.

Ingestion, the demo, analytics, the dashboard and the daemon import this package; it imports
none of them.
"""
