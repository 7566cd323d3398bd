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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl

from chicrime.clock import chicago_wall_clock, utc_now
from chicrime.errors import (
    DataDirConflictError,
    IncompletePullError,
    MassDeletionError,
    SocrataError,
)
from chicrime.ingest.boundaries import refresh_community_areas, refresh_population
from chicrime.ingest.client import SocrataClient, and_where, quote_literal
from chicrime.ingest.records import normalise
from chicrime.progress import LogProgress, ProgressFactory
from chicrime.settings import Settings
from chicrime.store.run import Committed, WriterRun, capped, watermark_ceiling, writer_run
from chicrime.store.staging import Staging, quarantine_rows
from chicrime.store.state import IngestState, RunTotals, wall_text
from chicrime.store.verify import VerifyReport, verify_lake

__all__ = [
    "UPDATED_OVERLAP",
    "IngestResult",
    "ingest_once",
    "open_client",
    "plan_window",
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


def _deletion_limit(window_rows: int, max_percent: float) -> int:
    """The most deletions a run may apply to a window of `window_rows` lake rows."""
    return max(_DELETE_FLOOR, int(window_rows * max_percent / 100))


def plan_window(
    settings: Settings, prior: IngestState | None, since: dt.date | None, now: dt.datetime
) -> Window:
    """The run's window: `--since`, else watermark - BACKFILL_DAYS, else START_DATE (first run).

    Watermarks are read capped at `watermark_ceiling(now)`, so a future date stored by an older
    chicrime cannot push the window past today either.
    """
    ceiling = watermark_ceiling(now)
    updated_since = None
    if prior is not None and prior.watermark_max_updated_on is not None:
        updated_since = min(prior.watermark_max_updated_on, ceiling) - UPDATED_OVERLAP
    watermark = capped(prior.watermark_max_date, ceiling) if prior is not None else None
    if since is not None:
        start = since
    elif watermark is not None:
        start = watermark.date() - dt.timedelta(days=settings.backfill_days)
    else:
        start = settings.first_window_start(chicago_wall_clock(now).date())
    return Window(start=dt.datetime.combine(start, dt.time()), updated_since=updated_since)


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
    reconcile: bool = False,
    client: SocrataClient | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
    progress: ProgressFactory = LogProgress,
    on_step: Callable[[str], None] | None = None,
) -> IngestResult:
    """Run one incremental ingestion (or a backfill from `since`) under the run lock.

    With `reconcile`, or when the last reconciliation is `RECONCILE_DAYS` old, the run also
    reconciles the whole lake with upstream (see `_Ingestion._reconcile`).

    Raises `RunInProgressError` at once if another run holds the lock. On any failure the run
    is recorded as failed with its reason and the exception propagates; the lake and the
    watermark are then exactly as the last successful run left them.
    """
    with _locked_run(settings, client, clock, progress, on_step) as run:
        return run.ingest(since, reconcile)


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
) -> Iterator[_Ingestion]:
    """A writer run with (unless given) a client open for its duration."""
    with writer_run(settings, clock=clock, progress=progress, on_step=on_step) as run:
        active = client or open_client(settings)
        try:
            yield _Ingestion(run, active)
        finally:
            if client is None:
                active.close()


class _Ingestion:
    """An ingestion or repair run: pulls from upstream into a `WriterRun`'s staging."""

    def __init__(self, run: WriterRun, client: SocrataClient) -> None:
        self.run, self.client, self.settings = run, client, run.settings
        self.returned_ids: list[pl.Series] = []  # every id upstream sent, quarantined ones too
        # Ids upstream listed but that could not be read: records it really serves that way.
        self.unreadable_listed = 0

    def ingest(self, since: dt.date | None, reconcile: bool) -> IngestResult:
        self._refuse_demo_lake()
        window = plan_window(self.settings, self.run.prior(), since, self.run.clock())
        due = not reconcile and self._reconciliation_due()
        kind = "reconcile" if reconcile or due else "backfill" if since else "ingest"
        run_id = self.run.start(kind, window.start, window.updated_since)
        with self.run.staged(run_id) as staging:
            queries = window.queries()
            counts = [self.client.count(where) for where in queries]
            bar = self.run.progress("fetching rows", sum(counts), "rows")
            for where, counted in zip(queries, counts, strict=True):
                self._pull(staging, run_id, where, counted, bar.update)
            bar.close()
            self.run.on_step("fetched")
            deleted = self._confirm_deletions(staging, run_id, window.start)
            if reconcile:
                deleted += self._reconcile(staging, run_id, set(deleted))
            elif due:
                deleted += self._reconcile_when_due(staging, run_id, set(deleted), since)
            committed = self.run.commit(run_id, staging, deleted, label=f"r{run_id:06d}")
        return self._finished(run_id, window, committed)

    def repair(self) -> tuple[VerifyReport, IngestResult | None]:
        self._refuse_demo_lake()
        report = verify_lake(self.run.lake, self.run.state, self.settings.dataset_id)
        if report.clean:
            return report, None
        damaged = report.damaged_partitions
        # The window a repair records: its first damaged month, or today when only ids or the
        # state need mending.
        today = chicago_wall_clock(self.run.clock()).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        window = Window(dt.datetime(*damaged[0], 1) if damaged else today, updated_since=None)
        run_id = self.run.start(
            "repair",
            window.start,
            damaged_months=len(damaged),
            suspect_ids=len(report.suspect_ids),
        )
        with self.run.staged(run_id) as staging:
            bar = self.run.progress("re-fetching damaged months", len(damaged), "months")
            for year, month in damaged:
                where = _month_query(year, month)
                self._pull(staging, run_id, where, self.client.count(where), lambda _n: None)
                bar.update(1)
            bar.close()
            suspects = pl.Series("id", report.suspect_ids, pl.Int64)
            self._pull_ids(staging, run_id, suspects)
            gone = suspects.filter(~suspects.is_in(self._returned().drop_nulls().implode()))
            committed = self.run.commit(
                run_id, staging, gone.to_list(), label=f"r{run_id:06d}", replaced=damaged
            )
        return report, self._finished(run_id, window, committed)

    def _reconciliation_due(self) -> bool:
        """`RECONCILE_DAYS` (0: never by itself) have passed since the last reconciliation."""
        days = self.settings.reconcile_days
        last = self.run.state.last_reconciled()
        return bool(days) and last is not None and self.run.clock() - last >= dt.timedelta(days)

    def _reconcile_when_due(
        self, staging: Staging, run_id: int, deleted: set[int], since: dt.date | None
    ) -> list[int]:
        """A reconciliation the schedule asked for: if upstream cannot give a complete listing
        or the deletions fail the guard, the run goes on without it (recorded as an ordinary
        run, so the next one tries again) rather than holding back the day's records."""
        try:
            return self._reconcile(staging, run_id, deleted)
        except (SocrataError, MassDeletionError) as exc:
            log.warning(
                "reconciliation skipped: the run commits the day's records without it and the "
                "next run tries again (`chicrime ingest --once --reconcile` shows the error)",
                extra={"run_id": run_id, "error": self.run.redact.line(str(exc))},
            )
            self.run.state.set_kind(run_id, "backfill" if since else "ingest")
            return []

    def _reconcile(self, staging: Staging, run_id: int, deleted: set[int]) -> list[int]:
        """Compare every id upstream lists with the lake's, beyond the window.

        Records upstream lists that the lake lacks are fetched by id and staged. Lake ids
        upstream no longer lists are asked for by id; those it cannot produce are returned as
        deleted (besides `deleted`, the window's). The listing must be complete (as many ids as
        upstream counts, every one readable), and the deletions a plausible share of the lake
        (`MAX_DELETE_PERCENT`); otherwise nothing is deleted: `IncompletePullError` or
        `MassDeletionError` fails the run.
        """
        counted = self.client.count(None)
        bar = self.run.progress("listing every id upstream", counted, "ids")
        listed = self.client.ids(None, self.settings.page_limit, bar.update)
        bar.close()
        if listed.len() < counted and listed.len() < min(counted, self.client.count(None)):
            raise IncompletePullError(
                f"upstream counted {counted:,} records but listed only {listed.len():,} ids: a "
                "server or proxy cut the listing short. Nothing was changed; the next run "
                "reconciles again."
            )
        if listed.null_count():
            raise IncompletePullError(
                f"upstream listed {listed.null_count():,} id(s) that cannot be read; any lake "
                "record could be one of them, so nothing was reconciled or changed."
            )
        held = self.run.lake.scan().select("id").collect().get_column("id")
        returned = self._returned().drop_nulls()
        lacking = listed.filter(~listed.is_in(held.implode()) & ~listed.is_in(returned.implode()))
        self._pull_ids(staging, run_id, lacking)
        unlisted = held.filter(~held.is_in(listed.implode()) & ~held.is_in(list(deleted)))
        limit = _deletion_limit(held.len(), self.settings.max_delete_percent)
        if unlisted.len() > limit:
            raise MassDeletionError(
                f"upstream no longer lists {unlisted.len():,} of the lake's {held.len():,} "
                f"records, more than MAX_DELETE_PERCENT={self.settings.max_delete_percent:g} "
                f"allows ({limit:,}); a broken upstream is more likely than real deletions. "
                "Nothing was deleted or changed. If upstream really removed them, run "
                "`chicrime ingest --once --reconcile` once with MAX_DELETE_PERCENT=100."
            )
        self._pull_ids(staging, run_id, unlisted)
        gone = unlisted.filter(~unlisted.is_in(self._returned().drop_nulls().implode()))
        log.info(
            "lake reconciled with upstream",
            extra={
                "run_id": run_id,
                "listed": listed.len(),
                "fetched_missing": lacking.len(),
                "deleted": gone.len(),
            },
        )
        return gone.to_list()

    def _refuse_demo_lake(self) -> None:
        """Real records are never mixed into a synthetic lake."""
        if self.run.state.last_success_kind() == "demo" and self.run.lake.partition_files():
            raise DataDirConflictError(
                f"{self.settings.data_dir} holds a synthetic lake written by `chicrime demo`; "
                "real records would be mixed into it (run `chicrime demo` again to rebuild it). "
                "Point DATA_DIR at another directory for real data."
            )

    def _finished(self, run_id: int, window: Window, committed: Committed) -> IngestResult:
        """After the state commit: optional work, and the run's summary line."""
        self._after_commit()
        self.run.finished(run_id, committed)
        return IngestResult(
            run_id,
            window,
            committed.totals,
            committed.watermark_before,
            committed.watermark_after,
        )

    def _after_commit(self) -> None:
        """Optional work once the run is committed: a failure here is a warning, never a failed
        run (the lake and state are already the new ones)."""
        layout, now = self.settings.layout, self.run.clock()
        steps = (
            (
                refresh_community_areas,
                layout.community_areas,
                "community-area boundaries not fetched; the map will use hexagons",
            ),
            (
                refresh_population,
                layout.population,
                "community-area residents not fetched; "
                "areas are ranked by incidents, not per resident",
            ),
        )
        for refresh, path, consequence in steps:
            try:
                refresh(self.client, path, now)
            except Exception as exc:  # whatever goes wrong, the committed run stays a success
                log.warning(
                    consequence,
                    extra={"error": self.run.redact.line(str(exc) or type(exc).__name__)},
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
        `IncompletePullError` fails the run before anything is changed. When records arrived
        without a readable id, the rows paging stepped over are fetched again by id (see
        `_fetch_stepped_over`).
        """
        arrived, received = self._fetch_into(staging, run_id, where, advance)
        if received.null_count():
            self._fetch_stepped_over(staging, run_id, where, received.drop_nulls(), counted)
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
    ) -> tuple[int, pl.Series]:
        """Pull every row matching `where` into staging (bad rows into quarantine); how many
        arrived, and their ids (null where one could not be read)."""
        arrived = 0
        received: list[pl.Series] = [pl.Series("id", [], pl.Int64)]
        for page in self.client.fetch_pages(where, self.settings.page_limit):
            normalised = normalise(page)
            staging.add(normalised.rows)
            if quarantine_rows(self.settings.layout.quarantine_dir, run_id, normalised.rejected):
                log.warning(
                    "rows quarantined",
                    extra={"run_id": run_id, "rows": normalised.rejected.height},
                )
            arrived += page.height
            self.run.rows_fetched += page.height
            self.run.rows_quarantined += normalised.rejected.height
            ids = page.get_column("id").cast(pl.Int64, strict=False)
            received.append(ids)
            self.returned_ids.append(ids)
            advance(page.height)
        return arrived, pl.concat(received)

    def _fetch_stepped_over(
        self, staging: Staging, run_id: int, where: str, received: pl.Series, counted: int
    ) -> None:
        """Fetch by id the rows matching `where` that upstream lists but did not send.

        Paging steps over a record whose id cannot be read. If it was a garbled answer (a
        proxy's, say, served the same way twice) in place of a real page, a real row was
        stepped over with it: listing the ids alone finds it. Ids the listing cannot read
        either are counted in `unreadable_listed`. A listing shorter than upstream's count
        (and a recount) was cut short itself, and fails the run with `IncompletePullError`:
        it could hide the stepped-over row.
        """
        listed = self.client.ids(where, self.settings.page_limit)
        if listed.len() < counted and listed.len() < min(counted, self.client.count(where)):
            raise IncompletePullError(
                f"upstream counted {counted:,} rows for {_describe(where)} but listed only "
                f"{listed.len():,} ids, after a page whose records had no readable id: a server "
                "or proxy garbled the answers. Nothing was changed; the next run pulls the "
                "window again."
            )
        self.unreadable_listed += listed.null_count()
        listed = listed.drop_nulls()
        missing = listed.filter(~listed.is_in(received.implode()))
        if missing.is_empty():
            return
        log.warning(
            "rows stepped over by a page without readable ids, fetched by id",
            extra={"query": _describe(where), "rows": missing.len()},
        )
        self._pull_ids(staging, run_id, missing)

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
        is quarantined keeps its lake row. Nothing is deleted when upstream serves a record
        whose id cannot be read, in the rows and in the list of ids alike (it may be any of
        them); a garbled page that the list of ids contradicts does not count.
        `MassDeletionError` refuses an implausible share.
        """
        in_window = self.run.lake.ids_dated_since(start)
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
        if deleted and self.unreadable_listed:
            log.warning(
                "deletions skipped: records arrived without a usable id, so any of the missing "
                "ids may still exist upstream (see quarantine/)",
                extra={
                    "run_id": run_id,
                    "without_id": self.unreadable_listed,
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
