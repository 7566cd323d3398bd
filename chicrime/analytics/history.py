"""Read-only views of the ingestion state database (`state/chicrime.db`) for the dashboard.

The database is opened read-only (`mode=ro`), so the dashboard can never change run history
or block an ingestion run for long. A missing, locked, damaged or older-schema database reads
as "no history": None or an empty list, never an exception.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

__all__ = ["StateHistory"]

log = logging.getLogger(__name__)

_BUSY_TIMEOUT_SECONDS = 2.0


class StateHistory:
    """Queries on the state database at `path`, each on a fresh read-only connection."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def last_success_at(self) -> str | None:
        """The newest `ingest_state.last_success_at` (a UTC instant as text), or None."""
        row = self._read(lambda db: db.execute("SELECT max(last_success_at) FROM ingest_state"))
        return None if not row else _text(row[0][0])

    def last_success_kind(self) -> str | None:
        """The `kind` of the newest successful run ('ingest', 'backfill', 'demo'...), or None."""
        row = self._read(
            lambda db: db.execute(
                "SELECT kind FROM runs WHERE status = 'success' ORDER BY run_id DESC LIMIT 1"
            )
        )
        return None if not row else _text(row[0][0])

    def recent_runs(self, n: int) -> list[dict[str, object]]:
        """Up to `n` rows of `runs`, newest first, as column → value dicts."""
        columns: list[str] = []

        def query(db: sqlite3.Connection) -> sqlite3.Cursor:
            cursor = db.execute("SELECT * FROM runs ORDER BY run_id DESC LIMIT ?", (n,))
            columns.extend(d[0] for d in cursor.description)
            return cursor

        rows = self._read(query)
        return [dict(zip(columns, row, strict=True)) for row in rows or []]

    def _read(
        self, query: Callable[[sqlite3.Connection], sqlite3.Cursor]
    ) -> list[tuple[object, ...]] | None:
        """All rows `query` returns, or None when the database cannot be read."""
        if not self.path.is_file():
            return None
        uri = f"{self.path.absolute().as_uri()}?mode=ro"
        try:
            with closing(sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_SECONDS)) as db:
                return list(query(db).fetchall())
        except sqlite3.Error as exc:
            log.warning("cannot read run history from %s: %s", self.path, exc)
            return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
