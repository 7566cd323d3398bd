"""SQLite state: the watermark per dataset and one row per run, in WAL mode, migrated by number.

Times of events (`started_at`, `last_success_at`, ...) are UTC instants written as
`2026-11-27T03:15:02Z`. Watermarks are floating Chicago wall-clock times like the data
(`2026-11-26T23:58:00`, no zone). A run's success and the new watermark are written in one
transaction, so the watermark only moves together with a recorded, committed run.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from chicrime.errors import StateError
from chicrime.redaction import Redactor

__all__ = ["MIGRATIONS", "IngestState", "RunRecord", "RunTotals", "StateStore", "StateView"]

T = TypeVar("T")

log = logging.getLogger(__name__)

# Each entry moves the schema from version i to i + 1 (`PRAGMA user_version`). Never edit one
# that has shipped: append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE ingest_state (
        dataset_id TEXT PRIMARY KEY,
        watermark_max_date TEXT,
        last_run_at TEXT,
        last_success_at TEXT,
        backfill_days INTEGER,
        rows_last_run INTEGER
    );
    CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed')),
        window_start TEXT,
        rows_fetched INTEGER,
        rows_written INTEGER,
        rows_deleted INTEGER,
        partitions_rewritten INTEGER,
        watermark_before TEXT,
        watermark_after TEXT,
        error TEXT
    );
    """,
    """
    ALTER TABLE ingest_state ADD COLUMN watermark_max_updated_on TEXT;
    ALTER TABLE runs ADD COLUMN dataset_id TEXT;
    ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'ingest';
    ALTER TABLE runs ADD COLUMN updated_since TEXT;
    ALTER TABLE runs ADD COLUMN rows_new INTEGER;
    ALTER TABLE runs ADD COLUMN rows_quarantined INTEGER;
    ALTER TABLE runs ADD COLUMN lake_version TEXT;
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    CREATE INDEX runs_by_status ON runs (status, run_id);
    """,
    """
    ALTER TABLE runs ADD COLUMN rows_revised INTEGER;
    """,
)


def utc_text(moment: dt.datetime) -> str:
    """An aware instant as `YYYY-MM-DDTHH:MM:SSZ`."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def parse_utc(text: str) -> dt.datetime:
    """The aware instant `utc_text` wrote; ValueError for text that is not an aware instant."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment


def wall_text(moment: dt.datetime | None) -> str | None:
    """A floating wall-clock time as `YYYY-MM-DDTHH:MM:SS` (no zone), or None."""
    return None if moment is None else moment.isoformat(timespec="seconds")


def parse_wall(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


@dataclass(frozen=True)
class IngestState:
    """Where the last successful run left a dataset."""

    dataset_id: str
    watermark_max_date: dt.datetime | None
    watermark_max_updated_on: dt.datetime | None
    last_run_at: str | None
    last_success_at: str | None
    backfill_days: int | None
    rows_last_run: int | None


@dataclass(frozen=True)
class RunTotals:
    """The counts a finished run records."""

    rows_fetched: int
    rows_quarantined: int
    rows_written: int
    rows_new: int
    rows_deleted: int
    partitions_rewritten: int
    lake_version: str | None
    rows_revised: int = 0  # ids the run added, changed or removed (see chicrime.store.history)


@dataclass(frozen=True)
class RunRecord:
    """One row of `runs`, as stored."""

    run_id: int
    dataset_id: str | None
    kind: str
    status: str
    started_at: str
    finished_at: str | None
    window_start: str | None
    updated_since: str | None
    rows_fetched: int | None
    rows_quarantined: int | None
    rows_written: int | None
    rows_new: int | None
    rows_deleted: int | None
    partitions_rewritten: int | None
    watermark_before: str | None
    watermark_after: str | None
    lake_version: str | None
    pid: int | None
    error: str | None
    rows_revised: int | None


# Free space below which a "disk I/O error" is taken for a full disk.
_FULL_BYTES = 1 << 20


class StateStore:
    """The state database at `path`, created and migrated on open (or only read, `readonly`).

    Every SQLite failure surfaces as `StateError` naming the file and what to do: locked by
    another process for longer than `timeout` seconds, disk full, read-only, or damaged. Error
    texts written into `runs.error` pass through `redact` (one line, secrets masked).
    """

    def __init__(
        self,
        path: Path,
        *,
        timeout: float = 30.0,
        redact: Redactor | None = None,
        readonly: bool = False,
    ) -> None:
        self.path = path
        self.timeout = timeout
        self._redact = redact or Redactor()
        with self._guarded():
            if readonly:
                uri = f"{path.absolute().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        try:
            with self._guarded():
                self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                if readonly:
                    check_version(self._db)
                else:
                    self._db.execute("PRAGMA journal_mode = WAL")
                    migrate(self._db)
                # A reader may meet a database an older chicrime wrote and the writer has not
                # migrated yet: the columns it lacks read as unknown (NULL).
                present = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
        except StateError:
            self._db.close()
            raise
        self._run_columns = ", ".join(
            name if name in present else f"NULL AS {name}"
            for name in RunRecord.__dataclass_fields__
        )

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """Turn SQLite and file-system failures inside the block into an actionable `StateError`."""
        try:
            yield
        except StateError as exc:
            raise StateError(f"{self.path}: {exc}") from exc
        except (OSError, sqlite3.Error) as exc:
            raise state_error(self.path, exc, self.timeout) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._guarded():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._guarded():
            return list(self._db.execute(sql, params).fetchall())

    def check_writable(self) -> None:
        """Take and release the write lock; `StateError` if another process holds it too long."""
        with self._transaction():
            pass

    def ingest_state(self, dataset_id: str) -> IngestState | None:
        rows = self._query(
            "SELECT dataset_id, watermark_max_date, watermark_max_updated_on, last_run_at,"
            " last_success_at, backfill_days, rows_last_run FROM ingest_state"
            " WHERE dataset_id = ?",
            (dataset_id,),
        )
        if not rows:
            return None
        row = rows[0]
        return IngestState(
            row[0], parse_wall(row[1]), parse_wall(row[2]), row[3], row[4], row[5], row[6]
        )

    def start_run(
        self,
        *,
        dataset_id: str,
        kind: str,
        started_at: dt.datetime,
        window_start: dt.datetime,
        updated_since: dt.datetime | None,
        watermark_before: dt.datetime | None,
        pid: int,
    ) -> int:
        """Record a run as `running` and return its id."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (dataset_id, kind, status, started_at, window_start,"
                " updated_since, watermark_before, pid) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (
                    dataset_id,
                    kind,
                    utc_text(started_at),
                    wall_text(window_start),
                    wall_text(updated_since),
                    wall_text(watermark_before),
                    pid,
                ),
            )
            db.execute(
                "INSERT INTO ingest_state (dataset_id, last_run_at) VALUES (?, ?)"
                " ON CONFLICT (dataset_id) DO UPDATE SET last_run_at = excluded.last_run_at",
                (dataset_id, utc_text(started_at)),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def set_kind(self, run_id: int, kind: str) -> None:
        """Record what a running run turned out to be (a scheduled reconciliation it skipped)."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET kind = ? WHERE run_id = ?", (kind, run_id))

    def finish_success(
        self,
        run_id: int,
        *,
        dataset_id: str,
        finished_at: dt.datetime,
        totals: RunTotals,
        watermark_max_date: dt.datetime | None,
        watermark_max_updated_on: dt.datetime | None,
        backfill_days: int,
    ) -> None:
        """Mark the run a success and move the watermark, in one transaction."""
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'success', finished_at = ?, rows_fetched = ?,"
                " rows_quarantined = ?, rows_written = ?, rows_new = ?, rows_deleted = ?,"
                " partitions_rewritten = ?, lake_version = ?, watermark_after = ?,"
                " rows_revised = ? WHERE run_id = ?",
                (
                    utc_text(finished_at),
                    totals.rows_fetched,
                    totals.rows_quarantined,
                    totals.rows_written,
                    totals.rows_new,
                    totals.rows_deleted,
                    totals.partitions_rewritten,
                    totals.lake_version,
                    wall_text(watermark_max_date),
                    totals.rows_revised,
                    run_id,
                ),
            )
            db.execute(
                "UPDATE ingest_state SET watermark_max_date = ?, watermark_max_updated_on = ?,"
                " last_success_at = ?, backfill_days = ?, rows_last_run = ?"
                " WHERE dataset_id = ?",
                (
                    wall_text(watermark_max_date),
                    wall_text(watermark_max_updated_on),
                    utc_text(finished_at),
                    backfill_days,
                    totals.rows_fetched,
                    dataset_id,
                ),
            )

    def finish_failed(
        self, run_id: int, *, finished_at: dt.datetime, error: str, rows_fetched: int | None
    ) -> None:
        """Mark a running run failed with its reason; the watermark is not touched.

        A run already recorded as a success (or failure) is left as it is: whatever fails after
        a commit cannot undo it.
        """
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'failed', finished_at = ?, error = ?, rows_fetched = ?"
                " WHERE run_id = ? AND status = 'running'",
                (utc_text(finished_at), self._redact.line(error), rows_fetched, run_id),
            )

    @contextmanager
    def failure_recorded(
        self, run_id: int, *, clock: Callable[[], dt.datetime], rows_fetched: Callable[[], int]
    ) -> Iterator[None]:
        """If the block raises, mark the run failed with the reason, then re-raise.

        Signals (KeyboardInterrupt, SystemExit) are recorded as "interrupted". If SQLite refuses
        the write too (a full disk), that is logged and the next run marks the run interrupted.
        """
        try:
            yield
        except BaseException as exc:
            reason = self._redact.line(str(exc)) or type(exc).__name__
            if not isinstance(exc, Exception):
                reason = f"interrupted ({type(exc).__name__})"
            log.error("run failed", extra={"run_id": run_id, "error": reason})
            try:
                self.finish_failed(
                    run_id, finished_at=clock(), error=reason, rows_fetched=rows_fetched()
                )
            except StateError as state_exc:
                log.error(
                    "could not record the failure; the next run will mark it interrupted",
                    extra={"run_id": run_id, "error": str(state_exc)},
                )
            raise

    def fail_abandoned_runs(self, *, finished_at: dt.datetime) -> list[int]:
        """Mark runs a dead process left `running` as failed. Call only under the run lock."""
        with self._transaction() as db:
            ids = [r[0] for r in db.execute("SELECT run_id FROM runs WHERE status = 'running'")]
            db.execute(
                "UPDATE runs SET status = 'failed', finished_at = ?, error = ?"
                " WHERE status = 'running'",
                (
                    utc_text(finished_at),
                    "interrupted: the process stopped before finishing (killed or crashed); "
                    "the lake and watermark were left as the last successful run committed them",
                ),
            )
        return ids

    def last_success_at(self) -> str | None:
        """The newest `ingest_state.last_success_at` (a UTC instant as text), or None."""
        rows = self._query("SELECT max(last_success_at) FROM ingest_state")
        return None if not rows or rows[0][0] is None else str(rows[0][0])

    def last_success_kind(self) -> str | None:
        """The `kind` of the newest successful run ('ingest', 'backfill', 'demo'), or None."""
        rows = self._query(
            "SELECT kind FROM runs WHERE status = 'success' ORDER BY run_id DESC LIMIT 1"
        )
        return str(rows[0][0]) if rows else None

    def last_success(self) -> RunRecord | None:
        """The newest successful run, or None."""
        rows = self._query(
            f"SELECT {self._run_columns} FROM runs WHERE status = 'success'"
            " ORDER BY run_id DESC LIMIT 1"
        )
        return RunRecord(*rows[0]) if rows else None

    def last_reconciled(self) -> dt.datetime | None:
        """When the lake was last compared with every id upstream: the newest successful
        reconciliation, else the first successful run (which built the lake); None if none."""
        for sql in (
            "SELECT max(finished_at) FROM runs WHERE status = 'success' AND kind = 'reconcile'",
            "SELECT min(finished_at) FROM runs WHERE status = 'success'",
        ):
            rows = self._query(sql)
            if rows and rows[0][0] is not None:
                return parse_utc(str(rows[0][0]))
        return None

    def last_success_by(self, moment: dt.datetime) -> int | None:
        """The newest successful run that finished at or before the aware instant `moment`."""
        rows = self._query(
            "SELECT max(run_id) FROM runs WHERE status = 'success' AND finished_at <= ?",
            (utc_text(moment),),
        )
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def recent_runs(self, limit: int = 20) -> list[RunRecord]:
        """The newest runs first."""
        rows = self._query(
            f"SELECT {self._run_columns} FROM runs ORDER BY run_id DESC LIMIT ?", (limit,)
        )
        return [RunRecord(*row) for row in rows]


class StateView:
    """What readers (the dashboard) may ask of the state database: each question on a fresh
    read-only connection, so a reader never changes run history or holds a run up for long.

    A missing, locked, damaged or older-schema database answers "no history" (None, or an
    empty list) with a warning in the log, never an exception.
    """

    def __init__(self, path: Path, *, timeout: float = 2.0) -> None:
        self.path = path
        self.timeout = timeout

    def last_success_at(self) -> str | None:
        return self._read(StateStore.last_success_at)

    def last_success_kind(self) -> str | None:
        return self._read(StateStore.last_success_kind)

    def recent_runs(self, limit: int) -> list[RunRecord]:
        return self._read(lambda store: store.recent_runs(limit)) or []

    def last_success_by(self, moment: dt.datetime) -> int | None:
        return self._read(lambda store: store.last_success_by(moment))

    def last_success(self) -> RunRecord | None:
        return self._read(StateStore.last_success)

    def _read(self, question: Callable[[StateStore], T]) -> T | None:
        if not self.path.is_file():
            return None
        try:
            store = StateStore(self.path, timeout=self.timeout, readonly=True)
        except StateError as exc:
            log.warning("cannot read run history: %s", exc)
            return None
        try:
            return question(store)
        except StateError as exc:
            log.warning("cannot read run history: %s", exc)
            return None
        finally:
            store.close()


def state_error(path: Path, exc: Exception, timeout: float) -> StateError:
    """What to tell a user whose state database failed with `exc`."""
    reason = " ".join(str(exc).split())
    if "locked" in reason or "busy" in reason:
        return StateError(
            f"the state database {path} is locked by another process (waited {timeout:g} s): "
            "finish or close what holds it (a `sqlite3` shell inside a transaction, say), then "
            "run again; SQLITE_TIMEOUT sets how long to wait."
        )
    if "full" in reason or getattr(exc, "errno", None) == errno.ENOSPC or _no_room(path, reason):
        return StateError(
            f"cannot write the state database {path}: the disk is full. Free space on its file "
            "system, then run again; the next run repairs what this one left."
        )
    if "readonly" in reason or getattr(exc, "errno", None) == errno.EROFS:
        return StateError(
            f"cannot write the state database {path}: the file or its file system is "
            "read-only. Make DATA_DIR/state writable for the user running chicrime."
        )
    if "not a database" in reason or "malformed" in reason:
        return StateError(
            f"the state database {path} is damaged ({reason}): move it aside and run again "
            "(run history is lost; the lake is kept and the next run re-pulls its window)."
        )
    return StateError(
        f"cannot use the state database {path}: {reason}. Check DATA_DIR and its permissions;"
        " a damaged file can be moved aside (run history is lost, the lake is kept)."
    )


def _no_room(path: Path, reason: str) -> bool:
    """SQLite reports a full disk under WAL as a "disk I/O error" (growing its -shm file)."""
    if "disk I/O error" not in reason:
        return False
    try:
        return shutil.disk_usage(path.parent).free < _FULL_BYTES
    except OSError:
        return False


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def check_version(db: sqlite3.Connection) -> int:
    """The schema version; `StateError` if it is newer than this chicrime understands."""
    version = schema_version(db)
    if version > len(MIGRATIONS):
        raise StateError(
            f"state database schema version {version} is newer than this chicrime understands "
            f"({len(MIGRATIONS)}); upgrade chicrime"
        )
    return version


def migrate(db: sqlite3.Connection) -> int:
    """Apply every migration the database lacks, each with its version bump in one transaction.

    Returns the resulting version. A database newer than this chicrime is refused with a clear
    error rather than guessed at.
    """
    version = check_version(db)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        statements = [s.strip() for s in script.split(";") if s.strip()]
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return schema_version(db)
