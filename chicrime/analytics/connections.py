"""DuckDB connections for the analytics: an in-memory database per process, a cursor per thread.

DuckDB 2 refuses concurrent calls on one connection, and a connection must not cross a fork
(gunicorn workers). So the database is opened lazily in each process that queries, and every
thread gets its own cursor on it; the cursors share the database's Parquet metadata cache.
That cache keeps ~10 MB of footers per lake version (a commit renames every file), so each
lake version gets a fresh database and the one before last is dropped: memory stays flat over
months of daily ingestion.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import duckdb

__all__ = ["Connections"]

# Two cores is the machine chicrime is benchmarked on; more threads only add contention between
# concurrent callbacks.
_THREADS = 2
# Keeps the dashboard server's memory bounded; the queries aggregate, so they stay far below it.
_MEMORY_LIMIT = "256MB"


# Databases kept: the current lake version's and the previous one's (readers mid-switch).
_VERSIONS_KEPT = 2


class Connections:
    """Hands out DuckDB cursors per thread and lake version; spills go to `temp_directory`."""

    def __init__(self, temp_directory: Path) -> None:
        self._temp_directory = temp_directory
        self._lock = threading.Lock()
        self._databases: OrderedDict[tuple[int, str | None], duckdb.DuckDBPyConnection] = (
            OrderedDict()
        )
        self._local = threading.local()

    def cursor(self, version: str | None) -> duckdb.DuckDBPyConnection:
        """This thread's cursor for reading lake `version`, created on first use.

        A new cursor is made when the version changes or the process has forked since.
        """
        key = (os.getpid(), version)
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None or getattr(self._local, "key", None) != key:
            cursor = self.new_cursor(version)
            self._local.cursor, self._local.key = cursor, key
        return cursor

    def new_cursor(self, version: str | None) -> duckdb.DuckDBPyConnection:
        """A cursor for lake `version` owned by the caller, who must close it."""
        return self._database(version).cursor()

    def _database(self, version: str | None) -> duckdb.DuckDBPyConnection:
        key = (os.getpid(), version)
        with self._lock:
            database = self._databases.get(key)
            if database is None:
                database = duckdb.connect(
                    ":memory:",
                    config={
                        "threads": _THREADS,
                        "memory_limit": _MEMORY_LIMIT,
                        "temp_directory": str(self._temp_directory),
                    },
                )
                # Files of a lake version never change (a commit writes new files), so caching
                # their footers is safe and saves most of a small query's time.
                database.execute("SET GLOBAL parquet_metadata_cache = true")
                self._databases[key] = database
            self._databases.move_to_end(key)
            while len(self._databases) > _VERSIONS_KEPT:
                # Cursors still open on a dropped database keep it alive until they are replaced.
                self._databases.popitem(last=False)
            return database
