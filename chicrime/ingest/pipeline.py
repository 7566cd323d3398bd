"""One ingestion run: window → fetch → stage → confirm deletions → merge → commit lake → state.

Order matters for crash safety. Rows are staged on disk first; the lake is swapped atomically;
only then are the run and the new watermark written, in one SQLite transaction. A run that dies
anywhere leaves the previous lake or the complete new one, and the next run (which marks the
dead run failed and clears its leftovers) re-pulls the same window, so nothing is lost or doubled.

Deleting is the most dangerous thing a run does, so it happens only after a verified pull: every
query's rows are compared with upstream's own count, and the ids upstream no longer has are
removed only if they are a plausible share of the window (`MAX_DELETE_PERCENT`). A record dated
in the future is kept, but the watermark never passes tomorrow in Chicago.
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
from zoneinfo import ZoneInfo

import polars as pl

from chicrime.errors import DataDirConflictError, IncompletePullError, MassDeletionError
from chicrime.ingest.boundaries import refresh_community_areas
from chicrime.ingest.client import SocrataClient, and_where, quote_literal
from chicrime.ingest.lake import Lake
from chicrime.ingest.lock import run_lock
from chicrime.ingest.schema import TIMEZONE, normalise
from chicrime.ingest.staging import Partition, Staging, quarantine_rows
from chicrime.ingest.state import IngestState, RunTotals, StateStore, wall_text
from chicrime.ingest.verify import VerifyReport, verify_lake
from chicrime.progress import LogProgress, ProgressFactory
from chicrime.redaction import Redactor
from chicrime.settings import Settings

__all__ = [
    "UPDATED_OVERLAP",
    "IngestResult",
    "ingest_once",
    "open_client",
    "open_state",
    "plan_window",
    "recover",
    "repair_lake",
]

log = logging.getLogger("chicrime.ingest")

# Corrections are pulled from a little before the newest `updated_on` already held, so records
# published late or with a lagging clock are not missed. Re-pulling a few rows twice is harmless.
UPDATED_OVERLAP = dt.timedelta(days=2)
# How many ids one deletion-confirming request names (keeps the URL well under common limits).
CONFIRM_CHUNK = 300
# Deletions up to this many rows are always plausible, whatever share of a small window they are.
_DELETE_FLOOR = 20


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


def _chicago_wall_clock(now: dt.datetime) -> dt.datetime:
    return now.astimezone(ZoneInfo(TIMEZONE)).replace(tzinfo=None)


def _watermark_ceiling(now: dt.datetime) -> dt.datetime:
    """The latest wall-clock time a watermark may hold: now in Chicago plus one day.

    A record dated (or updated) later is a data-entry error or a clock jump; letting it set the
    watermark would move every later window past the records still to come.
    """
    return _chicago_wall_clock(now) + dt.timedelta(days=1)


def _capped(moment: dt.datetime | None, ceiling: dt.datetime) -> dt.datetime | None:
    return None if moment is None else min(moment, ceiling)


def _deletion_limit(window_rows: int, max_percent: float) -> int:
    """The most deletions a run may apply to a window of `window_rows` lake rows."""
    return max(_DELETE_FLOOR, int(window_rows * max_percent / 100))


def plan_window(
    settings: Settings, prior: IngestState | None, since: dt.date | None, now: dt.datetime
) -> Window:
    """The run's window: `--since`, else watermark - BACKFILL_DAYS, else START_DATE (first run).

    Watermarks are read capped at `_watermark_ceiling(now)`, so a future date stored by an older
    chicrime cannot push the window past today either.
    """
    ceiling = _watermark_ceiling(now)
    updated_since = None
    if prior is not None and prior.watermark_max_updated_on is not None:
        updated_since = min(prior.watermark_max_updated_on, ceiling) - UPDATED_OVERLAP
    watermark = _capped(prior.watermark_max_date, ceiling) if prior is not None else None
    if since is not None:
        start = since
    elif watermark is not None:
        start = watermark.date() - dt.timedelta(days=settings.backfill_days)
    else:
        start = settings.first_window_start(_chicago_wall_clock(now).date())
    return Window(start=dt.datetime.combine(start, dt.time()), updated_since=updated_since)


def open_state(settings: Settings) -> StateStore:
    """The state database as every writer opens it: its busy timeout, errors stored redacted."""
    return StateStore(
        settings.state_db, timeout=settings.sqlite_timeout, redact=Redactor(settings.secrets)
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
    shutil.rmtree(staging_root, ignore_errors=True)


def open_client(settings: Settings) -> SocrataClient:
    """A client for the configured portal and dataset, with the configured retry budget."""
    return SocrataClient(
        settings.soda_base_url,
        settings.dataset_id,
        app_token=settings.soda_app_token,
        timeout=settings.http_timeout,
        retry_attempts=settings.retry_attempts,
        retry_max_seconds=settings.retry_max_seconds,
    )


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
    with _locked_run(settings, client, clock, progress, on_step) as run:
        return run.ingest(since)


def repair_lake(
    settings: Settings,
    *,
    client: SocrataClient | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
    progress: ProgressFactory = LogProgress,
) -> tuple[VerifyReport, IngestResult | None]:
    """Verify the lake and, if it has problems, mend them through a run of kind 'repair'.

    Damaged partitions are rebuilt from their months re-fetched upstream, ids held twice are
    re-fetched by id, and the state is brought in line with the committed lake. Returns the
    report found before the repair and the repair run's result (None when the lake was clean).
    Raises `DataDirConflictError` for a demo lake (there is no upstream to re-fetch from), and
    fails like `ingest_once` otherwise, the lake left as it was.
    """
    with _locked_run(settings, client, clock, progress, None) as run:
        return run.repair()


@contextmanager
def _locked_run(
    settings: Settings,
    client: SocrataClient | None,
    clock: Callable[[], dt.datetime],
    progress: ProgressFactory,
    on_step: Callable[[str], None] | None,
) -> Iterator[_Run]:
    """A run under the lock, with the state and (unless given) a client open for its duration."""
    with run_lock(settings.state_dir / "ingest.lock"):
        state = open_state(settings)
        active = client or open_client(settings)
        try:
            yield _Run(settings, state, active, clock, progress, on_step or (lambda _step: None))
        finally:
            if client is None:
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
        self.redact = Redactor(settings.secrets)
        self.rows_fetched = 0
        self.rows_quarantined = 0
        self.returned_ids: list[pl.Series] = []  # every id upstream sent, quarantined ones too

    def ingest(self, since: dt.date | None) -> IngestResult:
        self._prepare()
        prior = self.state.ingest_state(self.settings.dataset_id)
        window = plan_window(self.settings, prior, since, self.clock())
        watermark_before = prior.watermark_max_date if prior else None
        run_id = self._start("backfill" if since else "ingest", window, watermark_before)
        with self._recorded(run_id) as staging:
            queries = window.queries()
            counts = [self.client.count(where) for where in queries]
            bar = self.progress("fetching rows", sum(counts), "rows")
            for where, counted in zip(queries, counts, strict=True):
                self._pull(staging, run_id, where, counted, bar.update)
            bar.close()
            self.on_step("fetched")
            deleted = self._confirm_deletions(staging, run_id, window.start)
            totals, watermark_after = self._commit(run_id, staging, deleted, watermark_before)
        return self._finished(
            IngestResult(run_id, window, totals, watermark_before, watermark_after)
        )

    def repair(self) -> tuple[VerifyReport, IngestResult | None]:
        self._prepare()
        report = verify_lake(self.lake, self.state, self.settings.dataset_id)
        if report.clean:
            return report, None
        damaged = report.damaged_partitions
        prior = self.state.ingest_state(self.settings.dataset_id)
        watermark_before = prior.watermark_max_date if prior else None
        # The window a repair records: its first damaged month, or today when only ids or the
        # state need mending.
        today = _chicago_wall_clock(self.clock()).replace(hour=0, minute=0, second=0, microsecond=0)
        window = Window(dt.datetime(*damaged[0], 1) if damaged else today, updated_since=None)
        run_id = self._start("repair", window, watermark_before)
        log.warning(
            "repairing the lake",
            extra={
                "run_id": run_id,
                "damaged_months": len(damaged),
                "suspect_ids": len(report.suspect_ids),
            },
        )
        with self._recorded(run_id) as staging:
            bar = self.progress("re-fetching damaged months", len(damaged), "months")
            for year, month in damaged:
                where = _month_query(year, month)
                self._pull(staging, run_id, where, self.client.count(where), lambda _n: None)
                bar.update(1)
            bar.close()
            suspects = pl.Series("id", report.suspect_ids, pl.Int64)
            self._pull_ids(staging, run_id, suspects)
            gone = suspects.filter(~suspects.is_in(self._returned().drop_nulls().implode()))
            totals, watermark_after = self._commit(
                run_id, staging, gone.to_list(), watermark_before, replaced=damaged
            )
        result = IngestResult(run_id, window, totals, watermark_before, watermark_after)
        return report, self._finished(result)

    def _prepare(self) -> None:
        """Clear what a dead run left, and refuse to mix real records into a demo lake."""
        recover(self.state, self.lake, self.settings.staging_dir, self.clock())
        if self.state.last_success_kind() == "demo" and self.lake.partition_files():
            raise DataDirConflictError(
                f"{self.settings.data_dir} holds a synthetic lake written by `chicrime demo`; "
                "real records would be mixed into it (run `chicrime demo` again to rebuild it). "
                "Point DATA_DIR at another directory for real data."
            )

    def _start(self, kind: str, window: Window, watermark_before: dt.datetime | None) -> int:
        run_id = self.state.start_run(
            dataset_id=self.settings.dataset_id,
            kind=kind,
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
                "kind": kind,
                "dataset": self.settings.dataset_id,
                "window_start": wall_text(window.start),
                "updated_since": wall_text(window.updated_since),
            },
        )
        return run_id

    @contextmanager
    def _recorded(self, run_id: int) -> Iterator[Staging]:
        """The run's staging area; if the block raises, the run is recorded failed."""
        with (
            self.state.failure_recorded(
                run_id, clock=self.clock, rows_fetched=lambda: self.rows_fetched
            ),
            Staging(self.settings.staging_dir / f"run-{run_id:06d}") as staging,
        ):
            yield staging

    def _commit(
        self,
        run_id: int,
        staging: Staging,
        deleted: list[int],
        watermark_before: dt.datetime | None,
        replaced: Collection[Partition] = (),
    ) -> tuple[RunTotals, dt.datetime | None]:
        """Merge staging into a new lake version, swap it in, then record the success."""
        plan = self.lake.plan_merge(staging, deleted, replaced=replaced)
        bar = self.progress("rewriting partitions", len(plan.partitions), "partitions")

        def partition_done(_partition: Partition) -> None:
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
        ceiling = _watermark_ceiling(self.clock())
        if summary.max_date is not None and summary.max_date > ceiling:
            log.warning(
                "records dated in the future are kept; the watermark stops at tomorrow",
                extra={"newest_date": wall_text(summary.max_date), "watermark": wall_text(ceiling)},
            )
        watermark_after = _capped(summary.max_date, ceiling) or watermark_before
        self.state.finish_success(
            run_id,
            dataset_id=self.settings.dataset_id,
            finished_at=self.clock(),
            totals=totals,
            watermark_max_date=watermark_after,
            watermark_max_updated_on=_capped(summary.max_updated_on, ceiling),
            backfill_days=self.settings.backfill_days,
        )
        return totals, watermark_after

    def _finished(self, result: IngestResult) -> IngestResult:
        """After the state commit: optional work, and the run's summary line."""
        self.on_step("state_committed")
        self._after_commit()
        totals = result.totals
        log.info(
            "run finished",
            extra={
                "run_id": result.run_id,
                "rows_fetched": totals.rows_fetched,
                "rows_written": totals.rows_written,
                "rows_new": totals.rows_new,
                "rows_deleted": totals.rows_deleted,
                "rows_quarantined": totals.rows_quarantined,
                "partitions_rewritten": totals.partitions_rewritten,
                "watermark": wall_text(result.watermark_after),
            },
        )
        return result

    def _after_commit(self) -> None:
        """Optional work once the run is committed: a failure here is a warning, never a failed
        run (the lake and state are already the new ones)."""
        try:
            refresh_community_areas(self.client, self.settings.data_dir, self.clock())
        except Exception as exc:  # whatever goes wrong, the committed run stays a success
            log.warning(
                "community-area boundaries not fetched; the map will use hexagons",
                extra={"error": self.redact.line(str(exc) or type(exc).__name__)},
            )

    def _pull(
        self,
        staging: Staging,
        run_id: int,
        where: str,
        counted: int,
        advance: Callable[[int], object],
    ) -> None:
        """Pull every row matching `where` and check that as many arrived as upstream counted.

        Fewer rows than counted is accepted only when a recount after the pull explains it
        (rows deleted or moved upstream meanwhile), with a warning; otherwise
        `IncompletePullError` fails the run before anything is changed.
        """
        arrived = self._fetch_into(staging, run_id, where, advance)
        if arrived >= counted:
            return
        recounted = self.client.count(where)
        if arrived < min(counted, recounted):
            raise IncompletePullError(
                f"upstream counted {counted:,} rows for {_describe(where)} but sent only "
                f"{arrived:,} (a recount says {recounted:,}): a server or proxy cut the pull "
                "short. Nothing was changed; the next run pulls the window again."
            )
        log.warning(
            "upstream changed during the pull",
            extra={
                "query": _describe(where),
                "counted": counted,
                "recounted": recounted,
                "arrived": arrived,
            },
        )

    def _fetch_into(
        self, staging: Staging, run_id: int, where: str, advance: Callable[[int], object]
    ) -> int:
        """Pull every row matching `where` into staging (bad rows into quarantine); how many."""
        arrived = 0
        for page in self.client.fetch_pages(where, self.settings.page_limit):
            normalised = normalise(page)
            staging.add(normalised.rows)
            if quarantine_rows(self.settings.quarantine_dir, run_id, normalised.rejected):
                log.warning(
                    "rows quarantined",
                    extra={"run_id": run_id, "rows": normalised.rejected.height},
                )
            arrived += page.height
            self.rows_fetched += page.height
            self.rows_quarantined += normalised.rejected.height
            self.returned_ids.append(page.get_column("id").cast(pl.Int64, strict=False))
            advance(page.height)
        return arrived

    def _pull_ids(self, staging: Staging, run_id: int, ids: pl.Series) -> None:
        """Ask upstream for these ids, a chunk at a time, each chunk verified like any pull."""
        ids = ids.sort()
        for offset in range(0, ids.len(), CONFIRM_CHUNK):
            chunk = ids.slice(offset, CONFIRM_CHUNK).to_list()
            where = f"id in ({', '.join(str(i) for i in chunk)})"
            self._pull(staging, run_id, where, self.client.count(where), lambda _n: None)

    def _returned(self) -> pl.Series:
        return pl.concat([pl.Series("id", [], pl.Int64), *self.returned_ids])

    def _confirm_deletions(self, staging: Staging, run_id: int, start: dt.datetime) -> list[int]:
        """Ids in the lake dated inside the window that upstream no longer has.

        A lake row the window pull did not return is asked for by id; if upstream still has it
        (its date moved out of the window, say) it is staged like any fetched row, and only ids
        upstream cannot produce at all count as deleted. An id upstream returns in a shape that
        is quarantined keeps its lake row. Nothing is deleted when a record arrived without a
        usable id (it may be any of them), and `MassDeletionError` refuses an implausible share.
        """
        in_window = self.lake.ids_dated_since(start)
        missing = in_window.filter(~in_window.is_in(self._returned().drop_nulls().implode()))
        if missing.is_empty():
            return []
        self._pull_ids(staging, run_id, missing)
        returned = self._returned()
        deleted = missing.filter(~missing.is_in(returned.drop_nulls().implode())).to_list()
        log.info(
            "deletions confirmed",
            extra={"run_id": run_id, "checked": missing.len(), "deleted": len(deleted)},
        )
        if deleted and returned.null_count():
            log.warning(
                "deletions skipped: records arrived without a usable id, so any of the missing "
                "ids may still exist upstream (see quarantine/)",
                extra={
                    "run_id": run_id,
                    "without_id": returned.null_count(),
                    "not_deleted": len(deleted),
                },
            )
            return []
        limit = _deletion_limit(in_window.len(), self.settings.max_delete_percent)
        if len(deleted) > limit:
            raise MassDeletionError(
                f"upstream no longer has {len(deleted):,} of the {in_window.len():,} lake rows "
                f"dated from {start:%Y-%m-%d}, more than MAX_DELETE_PERCENT="
                f"{self.settings.max_delete_percent:g} allows ({limit:,}); a broken upstream is "
                "more likely than real deletions. Nothing was deleted or changed. If upstream "
                "really removed them, run once with MAX_DELETE_PERCENT=100."
            )
        return deleted


def _month_query(year: int, month: int) -> str:
    first = dt.datetime(year, month, 1)
    after = dt.datetime(year + month // 12, month % 12 + 1, 1)
    start, end = (quote_literal(wall_text(moment) or "") for moment in (first, after))
    return and_where(f"date >= {start}", f"date < {end}")


def _describe(where: str) -> str:
    """A short name for a query in messages (an id list is summarised, not spelled out)."""
    if where.startswith("id in ("):
        return f"{where.count(',') + 1} ids asked for by id"
    return f"`{where}`"
