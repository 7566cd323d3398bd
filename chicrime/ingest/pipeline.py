"""One ingestion run: window → fetch → stage → confirm deletions → merge → commit lake → state.

Order matters for crash safety. Rows are staged on disk first; the lake is swapped atomically;
only then are the run and the new watermark written, in one SQLite transaction. A run that dies
anywhere leaves the previous lake or the complete new one, and the next run (which marks the
dead run failed and clears its leftovers) re-pulls the same window, so nothing is lost or doubled.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from chicrime.errors import DataDirConflictError
from chicrime.ingest.boundaries import refresh_community_areas
from chicrime.ingest.client import SocrataClient, and_where, quote_literal
from chicrime.ingest.lake import Lake
from chicrime.ingest.lock import run_lock
from chicrime.ingest.schema import TIMEZONE, normalise
from chicrime.ingest.staging import Staging, quarantine_rows
from chicrime.ingest.state import IngestState, RunTotals, StateStore, wall_text
from chicrime.progress import LogProgress, ProgressFactory
from chicrime.settings import Settings

__all__ = ["UPDATED_OVERLAP", "IngestResult", "ingest_once", "plan_window", "recover"]

log = logging.getLogger("chicrime.ingest")

# Corrections are pulled from a little before the newest `updated_on` already held, so records
# published late or with a lagging clock are not missed. Re-pulling a few rows twice is harmless.
UPDATED_OVERLAP = dt.timedelta(days=2)
# How many ids one deletion-confirming request names (keeps the URL well under common limits).
CONFIRM_CHUNK = 300


@dataclass(frozen=True)
class Window:
    """What a run pulls: every row dated from `start`, plus rows updated since `updated_since`."""

    start: dt.datetime
    updated_since: dt.datetime | None

    def queries(self) -> list[str]:
        start = quote_literal(wall_text(self.start) or "")
        queries = [f"date >= {start}"]
        if self.updated_since is not None:
            since = quote_literal(wall_text(self.updated_since) or "")
            queries.append(and_where(f"updated_on > {since}", f"date < {start}"))
        return queries


@dataclass(frozen=True)
class IngestResult:
    run_id: int
    window: Window
    totals: RunTotals
    watermark_before: dt.datetime | None
    watermark_after: dt.datetime | None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def plan_window(
    settings: Settings, prior: IngestState | None, since: dt.date | None, now: dt.datetime
) -> Window:
    """The run's window: `--since`, else watermark - BACKFILL_DAYS, else START_DATE (first run)."""
    updated_since = None
    if prior is not None and prior.watermark_max_updated_on is not None:
        updated_since = prior.watermark_max_updated_on - UPDATED_OVERLAP
    if since is not None:
        start = since
    elif prior is not None and prior.watermark_max_date is not None:
        start = prior.watermark_max_date.date() - dt.timedelta(days=settings.backfill_days)
    else:
        start = settings.first_window_start(now.astimezone(ZoneInfo(TIMEZONE)).date())
    return Window(start=dt.datetime.combine(start, dt.time()), updated_since=updated_since)


def recover(state: StateStore, lake: Lake, staging_root: Path, now: dt.datetime) -> None:
    """Repair what a dead run left: its `running` row, half-built versions, staging files.

    Call only under the run lock (anything unreferenced could be another run's work).
    """
    abandoned = state.fail_abandoned_runs(finished_at=now)
    if abandoned:
        log.warning("marked interrupted runs as failed", extra={"run_ids": abandoned})
    removed = lake.remove_stale_versions()
    if removed:
        log.info("removed stale lake versions", extra={"versions": removed})
    shutil.rmtree(staging_root, ignore_errors=True)


def ingest_once(
    settings: Settings,
    *,
    since: dt.date | None = None,
    client: SocrataClient | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
    progress: ProgressFactory = LogProgress,
    on_step: Callable[[str], None] | None = None,
) -> IngestResult:
    """Run one incremental ingestion (or a backfill from `since`) under the run lock.

    Raises `RunInProgressError` at once if another run holds the lock. On any failure the run is
    recorded as failed with its reason and the exception propagates; the lake and the
    watermark are then exactly as the last successful run left them.
    """
    with run_lock(settings.state_dir / "ingest.lock"):
        state = StateStore(settings.state_db)
        own_client = client is None
        active = client or SocrataClient(
            settings.soda_base_url,
            settings.dataset_id,
            app_token=settings.soda_app_token,
            timeout=settings.http_timeout,
            retry_attempts=settings.retry_attempts,
            retry_max_seconds=settings.retry_max_seconds,
        )
        try:
            run = _Run(settings, state, active, clock, progress, on_step or (lambda _step: None))
            return run.execute(since)
        finally:
            if own_client:
                active.close()
            state.close()


class _Run:
    def __init__(
        self,
        settings: Settings,
        state: StateStore,
        client: SocrataClient,
        clock: Callable[[], dt.datetime],
        progress: ProgressFactory,
        on_step: Callable[[str], None],
    ) -> None:
        self.settings, self.state, self.client = settings, state, client
        self.clock, self.progress, self.on_step = clock, progress, on_step
        self.lake = Lake(settings.lake_dir)
        self.rows_fetched = 0
        self.rows_quarantined = 0
        self.returned_ids: list[pl.Series] = []  # every id upstream sent, quarantined ones too

    def execute(self, since: dt.date | None) -> IngestResult:
        recover(self.state, self.lake, self.settings.staging_dir, self.clock())
        settings = self.settings
        if self.state.last_success_kind() == "demo" and self.lake.partition_files():
            raise DataDirConflictError(
                f"{settings.data_dir} holds a synthetic lake written by `chicrime demo`; real "
                "records would be mixed into it. Point DATA_DIR at another directory."
            )
        prior = self.state.ingest_state(settings.dataset_id)
        window = plan_window(settings, prior, since, self.clock())
        watermark_before = prior.watermark_max_date if prior else None
        run_id = self.state.start_run(
            dataset_id=settings.dataset_id,
            kind="backfill" if since else "ingest",
            started_at=self.clock(),
            window_start=window.start,
            updated_since=window.updated_since,
            watermark_before=watermark_before,
            pid=os.getpid(),
        )
        log.info(
            "run started",
            extra={
                "run_id": run_id,
                "dataset": settings.dataset_id,
                "window_start": wall_text(window.start),
                "updated_since": wall_text(window.updated_since),
            },
        )
        with (
            self.state.failure_recorded(
                run_id, clock=self.clock, rows_fetched=lambda: self.rows_fetched
            ),
            Staging(settings.staging_dir / f"run-{run_id:06d}") as staging,
        ):
            result = self._ingest(run_id, window, staging, watermark_before)
        log.info(
            "run finished",
            extra={
                "run_id": run_id,
                "rows_fetched": result.totals.rows_fetched,
                "rows_written": result.totals.rows_written,
                "rows_new": result.totals.rows_new,
                "rows_deleted": result.totals.rows_deleted,
                "rows_quarantined": result.totals.rows_quarantined,
                "partitions_rewritten": result.totals.partitions_rewritten,
                "watermark": wall_text(result.watermark_after),
            },
        )
        return result

    def _ingest(
        self,
        run_id: int,
        window: Window,
        staging: Staging,
        watermark_before: dt.datetime | None,
    ) -> IngestResult:
        queries = window.queries()
        expected = sum(self.client.count(where) for where in queries)
        bar = self.progress("fetching rows", expected, "rows")
        for where in queries:
            self._fetch_into(staging, run_id, where, bar.update)
        bar.close()
        self.on_step("fetched")

        deleted = self._confirm_deletions(staging, run_id, window.start)
        plan = self.lake.plan_merge(staging, deleted)
        bar = self.progress("rewriting partitions", len(plan.partitions), "partitions")

        def partition_done(_partition: tuple[int, int]) -> None:
            bar.update(1)
            self.on_step("partition_written")

        stats = self.lake.commit(staging, plan, label=f"r{run_id:06d}", on_partition=partition_done)
        bar.close()
        self.on_step("lake_committed")

        summary = self.lake.summary()
        totals = RunTotals(
            rows_fetched=self.rows_fetched,
            rows_quarantined=self.rows_quarantined,
            rows_written=stats.rows_written,
            rows_new=stats.rows_new,
            rows_deleted=stats.rows_deleted,
            partitions_rewritten=stats.partitions_rewritten,
            lake_version=stats.version,
        )
        watermark_after = summary.max_date or watermark_before
        self.state.finish_success(
            run_id,
            dataset_id=self.settings.dataset_id,
            finished_at=self.clock(),
            totals=totals,
            watermark_max_date=watermark_after,
            watermark_max_updated_on=summary.max_updated_on,
            backfill_days=self.settings.backfill_days,
        )
        self.on_step("state_committed")
        refresh_community_areas(self.client, self.settings.data_dir, self.clock())
        return IngestResult(run_id, window, totals, watermark_before, watermark_after)

    def _fetch_into(
        self, staging: Staging, run_id: int, where: str, advance: Callable[[int], object]
    ) -> None:
        """Pull every row matching `where` into staging (bad rows into quarantine)."""
        for page in self.client.fetch_pages(where, self.settings.page_limit):
            normalised = normalise(page)
            staging.add(normalised.rows)
            if quarantine_rows(self.settings.quarantine_dir, run_id, normalised.rejected):
                log.warning(
                    "rows quarantined",
                    extra={"run_id": run_id, "rows": normalised.rejected.height},
                )
            self.rows_fetched += page.height
            self.rows_quarantined += normalised.rejected.height
            self.returned_ids.append(page.get_column("id").cast(pl.Int64, strict=False))
            advance(page.height)

    def _returned(self) -> pl.Series:
        return pl.concat([pl.Series("id", [], pl.Int64), *self.returned_ids]).drop_nulls()

    def _confirm_deletions(self, staging: Staging, run_id: int, start: dt.datetime) -> list[int]:
        """Ids in the lake dated inside the window that upstream no longer has.

        A lake row the window pull did not return is asked for by id; if upstream still has it
        (its date moved out of the window, say) it is staged like any fetched row, and only ids
        upstream cannot produce at all count as deleted. An id upstream returns in a shape that
        is quarantined keeps its lake row.
        """
        missing = self.lake.ids_dated_since(start)
        missing = missing.filter(~missing.is_in(self._returned().implode())).sort()
        if missing.is_empty():
            return []
        for offset in range(0, missing.len(), CONFIRM_CHUNK):
            chunk = missing.slice(offset, CONFIRM_CHUNK).to_list()
            where = f"id in ({', '.join(str(i) for i in chunk)})"
            self._fetch_into(staging, run_id, where, lambda _n: None)
        deleted = missing.filter(~missing.is_in(self._returned().implode())).to_list()
        log.info(
            "deletions confirmed",
            extra={"run_id": run_id, "checked": missing.len(), "deleted": len(deleted)},
        )
        return deleted
