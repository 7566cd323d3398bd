"""One writer run of the lake, whoever writes it (ingestion, repair, the demo).

Every run has the same skeleton, and this module is the only place that spells it:

    with writer_run(settings, clock, progress, on_step) as run:   # run lock, state, recovery
        run_id = run.start(kind, window_start, updated_since)     # a `running` row in `runs`
        with run.staged(run_id) as staging:                       # failure → `failed` row
            ... stage rows, counting them in run.rows_fetched ...
            totals = run.commit(run_id, staging, deleted_ids)     # merge, swap, `success` row
        run.finished(run_id, totals)                              # the run's summary line

The lake and the watermark change together or not at all: the new version is swapped in first,
then the success and the watermark are written in one transaction. A run that dies before that
transaction is marked `failed` by the next one, which also removes what it left behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chicrime.clock import chicago_wall_clock, utc_now
from chicrime.progress import LogProgress, ProgressFactory
from chicrime.redaction import Redactor
from chicrime.settings import Settings
from chicrime.store.history import Observation
from chicrime.store.lake import Lake
from chicrime.store.layout import Partition
from chicrime.store.lock import run_lock
from chicrime.store.staging import Staging
from chicrime.store.state import IngestState, RunTotals, StateStore, wall_text

__all__ = ["Committed", "WriterRun", "open_state", "recover", "watermark_ceiling", "writer_run"]

log = logging.getLogger("chicrime.run")


def watermark_ceiling(now: dt.datetime) -> dt.datetime:
    """The latest wall-clock time a watermark may hold: now in Chicago plus one day.

    A record dated (or updated) later is a data-entry error or a clock jump; letting it set the
    watermark would move every later window past the records still to come.
    """
    return chicago_wall_clock(now) + dt.timedelta(days=1)


def capped(moment: dt.datetime | None, ceiling: dt.datetime) -> dt.datetime | None:
    return None if moment is None else min(moment, ceiling)


def open_state(settings: Settings) -> StateStore:
    """The state database as every writer opens it: its busy timeout, errors stored redacted."""
    return StateStore(
        settings.layout.state_db,
        timeout=settings.sqlite_timeout,
        redact=Redactor(settings.secrets),
    )


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
    lake.mend_history_link()
    shutil.rmtree(staging_root, ignore_errors=True)


@dataclass(frozen=True)
class Committed:
    """What a committed run recorded."""

    totals: RunTotals
    watermark_before: dt.datetime | None
    watermark_after: dt.datetime | None


@contextmanager
def writer_run(
    settings: Settings,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
    progress: ProgressFactory = LogProgress,
    on_step: Callable[[str], None] | None = None,
) -> Iterator[WriterRun]:
    """A run under the run lock, with the state open and a dead run's leftovers cleared.

    Raises `RunInProgressError` at once if another run holds the lock.
    """
    with run_lock(settings.layout.run_lock):
        state = open_state(settings)
        try:
            run = WriterRun(settings, state, clock, progress, on_step or (lambda _step: None))
            recover(state, run.lake, settings.layout.staging_dir, clock())
            yield run
        finally:
            state.close()


class WriterRun:
    """The steps of one run; counts of rows seen go in `rows_fetched` and `rows_quarantined`.

    `on_step` is told each milestone ("partition_written", "lake_committed", "state_committed"),
    so tests can stop a run at any of them.
    """

    def __init__(
        self,
        settings: Settings,
        state: StateStore,
        clock: Callable[[], dt.datetime],
        progress: ProgressFactory,
        on_step: Callable[[str], None],
    ) -> None:
        self.settings, self.state, self.clock = settings, state, clock
        self.progress, self.on_step = progress, on_step
        self.lake = Lake(settings.layout.lake_dir)
        self.rows_fetched = 0
        self.rows_quarantined = 0
        self.redact = Redactor(settings.secrets)
        self._watermark_before: dt.datetime | None = None

    def prior(self) -> IngestState | None:
        """Where the last successful run left the dataset."""
        return self.state.ingest_state(self.settings.dataset_id)

    def start(
        self,
        kind: str,
        window_start: dt.datetime,
        updated_since: dt.datetime | None = None,
        **details: object,
    ) -> int:
        """Record a `running` run of `kind` and log it (with `details`); returns its id."""
        self.rows_fetched = self.rows_quarantined = 0
        prior = self.prior()
        self._watermark_before = prior.watermark_max_date if prior else None
        run_id = self.state.start_run(
            dataset_id=self.settings.dataset_id,
            kind=kind,
            started_at=self.clock(),
            window_start=window_start,
            updated_since=updated_since,
            watermark_before=self._watermark_before,
            pid=os.getpid(),
        )
        log.info(
            "run started",
            extra={
                "run_id": run_id,
                "kind": kind,
                "dataset": self.settings.dataset_id,
                "window_start": wall_text(window_start),
                "updated_since": wall_text(updated_since),
                **details,
            },
        )
        return run_id

    @contextmanager
    def staged(self, run_id: int) -> Iterator[Staging]:
        """The run's staging area; if the block raises, the run is recorded failed."""
        with (
            self.state.failure_recorded(
                run_id, clock=self.clock, rows_fetched=lambda: self.rows_fetched
            ),
            Staging(self.settings.layout.staging_dir / f"run-{run_id:06d}") as staging,
        ):
            yield staging

    def commit(
        self,
        run_id: int,
        staging: Staging,
        deleted: Collection[int],
        *,
        label: str,
        replaced: Collection[Partition] = (),
        staged_always_win: bool = False,
        restart_history: bool = False,
        observed_at: dt.datetime | None = None,
    ) -> Committed:
        """Merge staging into a new lake version, swap it in, then record the success.

        The watermark becomes the newest `date` in the lake, capped at `watermark_ceiling`.
        See `Lake.plan_merge` for `deleted`, `replaced` and `staged_always_win`; what the run
        changed is kept in the record history unless `restart_history` begins a new one (for a
        run that defines the whole lake), as seen at `observed_at` (default: now; the demo's
        simulated days give theirs).
        """
        plan = self.lake.plan_merge(
            staging, deleted, replaced=replaced, staged_always_win=staged_always_win
        )
        bar = self.progress("rewriting partitions", len(plan.partitions), "partitions")

        def partition_done(_partition: Partition) -> None:
            bar.update(1)
            self.on_step("partition_written")

        stats = self.lake.commit(
            staging,
            plan,
            label=label,
            observation=Observation(run_id, observed_at or self.clock(), restart=restart_history),
            on_partition=partition_done,
        )
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
            rows_revised=stats.revised,
        )
        ceiling = watermark_ceiling(self.clock())
        if summary.max_date is not None and summary.max_date > ceiling:
            log.warning(
                "records dated in the future are kept; the watermark stops at tomorrow",
                extra={"newest_date": wall_text(summary.max_date), "watermark": wall_text(ceiling)},
            )
        watermark_after = capped(summary.max_date, ceiling) or self._watermark_before
        self.state.finish_success(
            run_id,
            dataset_id=self.settings.dataset_id,
            finished_at=self.clock(),
            totals=totals,
            watermark_max_date=watermark_after,
            watermark_max_updated_on=capped(summary.max_updated_on, ceiling),
            backfill_days=self.settings.backfill_days,
        )
        self.on_step("state_committed")
        return Committed(totals, self._watermark_before, watermark_after)

    def finished(self, run_id: int, committed: Committed) -> None:
        """The run's summary line."""
        totals = committed.totals
        log.info(
            "run finished",
            extra={
                "run_id": run_id,
                "rows_fetched": totals.rows_fetched,
                "rows_written": totals.rows_written,
                "rows_new": totals.rows_new,
                "rows_deleted": totals.rows_deleted,
                "rows_revised": totals.rows_revised,
                "rows_quarantined": totals.rows_quarantined,
                "partitions_rewritten": totals.partitions_rewritten,
                "watermark": wall_text(committed.watermark_after),
            },
        )
