"""`chicrime status`: where the data stands, and every reason a monitor should worry.

Unhealthy means the next run would fail or the data is not what users think it is: no success
yet, a stale last success, a failed or vanished last run, a reconciliation long overdue, a state
database that cannot be read or is locked by another process, a lake file that cannot be read, a
lake or state directory that is not writable, or too little free space under DATA_DIR. The
report never raises for those: it names them in `problems`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chicrime.errors import ChicrimeError
from chicrime.remote.status import SyncStatus
from chicrime.settings import Settings
from chicrime.store.lake import Lake, LakeSummary
from chicrime.store.state import IngestState, RunRecord, StateStore, wall_text

__all__ = ["health_report"]

# How long the write-lock probe waits: a run's own transactions last milliseconds.
_LOCK_PROBE_SECONDS = 2.0
_MB = 1_000_000


def health_report(settings: Settings, max_age_hours: float, now: dt.datetime) -> dict[str, Any]:
    """Everything `chicrime status` shows, with `healthy` and the list of `problems`."""
    problems: list[str] = []
    ingest_state: IngestState | None = None
    last_run: RunRecord | None = None
    reconciled: dt.datetime | None = None
    if settings.layout.state_db.exists():
        try:
            state = StateStore(
                settings.layout.state_db, timeout=settings.sqlite_timeout, readonly=True
            )
            try:
                ingest_state = state.ingest_state(settings.dataset_id)
                runs = state.recent_runs(1)
                last_run = runs[0] if runs else None
                reconciled = state.last_reconciled()
            finally:
                state.close()
        except ChicrimeError as exc:
            problems.append(str(exc))
        else:
            problems += _lock_problems(settings.layout.state_db)
    summary: LakeSummary | None = None
    try:
        summary = Lake(settings.layout.lake_dir).summary()
    except ChicrimeError as exc:
        problems.append(str(exc))
    last_success_at = ingest_state.last_success_at if ingest_state else None
    hours = _hours_since(last_success_at, now)
    if hours is None:
        problems.append("no successful run yet")
    elif hours > max_age_hours:
        problems.append(f"last success {hours:g} h ago, more than {max_age_hours:g} h")
    if last_run is not None:
        problems += _run_problems(last_run)
    problems += _reconcile_problems(settings, reconciled, now)
    problems += _disk_problems(settings)
    publishing, following = _store_statuses(settings)
    for status, doing in ((publishing, "publishing to"), (following, "following")):
        if status is not None and status.failing_since is not None:
            problems.append(
                f"{doing} {status.url} has failed since {status.failing_since}: {status.error}"
            )
    return {
        "dataset_id": settings.dataset_id,
        "soda_base_url": settings.soda_base_url,
        "data_dir": str(settings.data_dir.resolve()),
        "state_exists": settings.layout.state_db.exists(),
        "watermark_max_date": wall_text(ingest_state.watermark_max_date if ingest_state else None),
        "watermark_max_updated_on": wall_text(
            ingest_state.watermark_max_updated_on if ingest_state else None
        ),
        "last_success_at": last_success_at,
        "hours_since_success": hours,
        "last_run": asdict(last_run) if last_run else None,
        "last_reconciled_at": None if reconciled is None else reconciled.isoformat(),
        "lake": None
        if summary is None
        else {
            "version": summary.version,
            "rows": summary.rows,
            "partitions": summary.partitions,
            "files": summary.files,
            "bytes": summary.bytes,
            "newest_date": wall_text(summary.max_date),
        },
        "publish": None if publishing is None else asdict(publishing),
        "follow": None if following is None else asdict(following),
        "healthy": not problems,
        "problems": problems,
        "max_age_hours": max_age_hours,
    }


def _store_statuses(settings: Settings) -> tuple[SyncStatus | None, SyncStatus | None]:
    """With LAKE_URL: what the last publish and the last follow of that store did (a record of
    another store, from before LAKE_URL changed, is not this one's)."""
    url = settings.lake_url
    if url is None:
        return None, None
    publishing = SyncStatus.recorded(settings.layout.publish_status, url)
    following = SyncStatus.recorded(settings.layout.follow_status, url)
    return publishing, following


def _reconcile_problems(
    settings: Settings, reconciled: dt.datetime | None, now: dt.datetime
) -> list[str]:
    """A reconciliation twice as overdue as `RECONCILE_DAYS`: scheduled ones keep being skipped."""
    days = settings.reconcile_days
    if not days or reconciled is None or now - reconciled <= dt.timedelta(days=2 * days):
        return []
    age = (now - reconciled).days
    return [
        f"the lake was last reconciled with upstream {age} days ago (RECONCILE_DAYS={days}): "
        "deletions of older records go unnoticed; `chicrime ingest --once --reconcile` says why"
    ]


def _run_problems(run: RunRecord) -> list[str]:
    if run.status == "failed":
        return [f"last run #{run.run_id} failed: {run.error or 'no reason'}"]
    if run.status == "running" and not _alive(run.pid):
        return [
            f"last run #{run.run_id} stopped without finishing (its process {run.pid} is gone); "
            "the next run repairs what it left"
        ]
    return []


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _lock_problems(path: Path) -> list[str]:
    """Whether a run could take the state database's write lock now."""
    try:
        with closing(sqlite3.connect(path, timeout=_LOCK_PROBE_SECONDS)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        reason = " ".join(str(exc).split())
        if "locked" in reason or "busy" in reason:
            return [
                f"the state database {path} is locked by another process: runs cannot record "
                "anything until it is released"
            ]
        return [f"the state database {path} cannot be written ({reason})"]
    return []


def _disk_problems(settings: Settings) -> list[str]:
    """Read-only places a run writes to, and too little free space where it writes."""
    problems = []
    places = (
        settings.layout.lake_dir,
        settings.layout.staging_dir,
        settings.layout.state_dir,
        settings.data_dir,
    )
    for directory in places:
        if directory.exists() and not os.access(directory, os.W_OK):
            problems.append(f"{directory} is not writable: runs cannot change it")
    devices: set[int] = set()
    for directory in places:
        existing = next(d for d in (directory, *directory.parents) if d.exists())
        device = existing.stat().st_dev
        if device in devices:
            continue
        devices.add(device)
        free_mb = shutil.disk_usage(existing).free / _MB
        if free_mb < settings.status_min_free_mb:
            problems.append(
                f"only {free_mb:,.1f} MB free on the file system of {existing}, less than "
                f"STATUS_MIN_FREE_MB={settings.status_min_free_mb:g}: the next run may fail"
            )
    return problems


def _hours_since(utc: str | None, now: dt.datetime) -> float | None:
    if utc is None:
        return None
    then = dt.datetime.fromisoformat(utc.replace("Z", "+00:00"))
    return round((now - then).total_seconds() / 3600, 1)
