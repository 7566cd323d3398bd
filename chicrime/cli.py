"""The `chicrime` command: parses arguments, calls the library, turns errors into exit codes.

Exit codes: 0 ok, 1 a run failed (or `status` found the data unhealthy), 2 bad usage or
configuration, 75 another run holds the lock.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chicrime import __version__
from chicrime.errors import ChicrimeError, ConfigError, ObjectStoreError, PublishConflictError
from chicrime.logs import configure_logging
from chicrime.progress import terminal_or_log_progress
from chicrime.redaction import Redactor
from chicrime.settings import Settings, load_settings
from chicrime.store.state import RunRecord, StateStore, wall_text

if TYPE_CHECKING:
    from chicrime.store.verify import VerifyReport

# Each command imports what it needs when it runs (polars, httpx, numpy, dash...), so `--help`,
# `runs` and a usage error answer at once.

__all__ = ["main"]

log = logging.getLogger("chicrime")


def _date_argument(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date as YYYY-MM-DD") from None


def _run_or_date(raw: str) -> int | dt.date:
    if raw.isdigit():
        return int(raw)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is neither a run id nor a date (YYYY-MM-DD); `chicrime runs` lists the runs"
        ) from None


def _positive_number(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a positive number")
    return value


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argument type accepting whole numbers from `low` to `high`, naming the range if not."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{raw!r} is not a whole number from {low:,} to {high:,}"
            )
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chicrime",
        description="Keep a local Parquet copy of Chicago's crime records fresh.",
    )
    parser.add_argument("--version", action="version", version=f"chicrime {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="pull new and changed records into the lake")
    ingest.add_argument(
        "--once", action="store_true", required=True, help="run one ingestion and exit"
    )
    ingest.add_argument(
        "--since",
        type=_date_argument,
        metavar="DATE",
        help="backfill every record dated from DATE (YYYY-MM-DD), e.g. 2001-01-01",
    )
    ingest.add_argument(
        "--reconcile",
        action="store_true",
        help="also list every id upstream holds, fetch the records the lake lacks and remove "
        "(as revisions) those upstream no longer has, however old",
    )

    changes = commands.add_parser(
        "changes", help="revisions: what upstream changed in records the lake already held"
    )
    changes.add_argument(
        "--since", type=_date_argument, metavar="DATE", help="seen on or after DATE (Chicago)"
    )
    changes.add_argument("--id", type=int, metavar="ID", dest="record_id", help="one record")
    changes.add_argument(
        "--field", metavar="F", help="one field, e.g. primary_type, arrest, latitude"
    )
    changes.add_argument(
        "--limit", type=_whole_number(1, 1_000_000), default=200, help="at most N (default 200)"
    )
    changes.add_argument("--json", action="store_true", help="JSON lines instead of a table")

    export = commands.add_parser(
        "export", help="copy the lake, as it is or as it stood after a past run, to a directory"
    )
    export.add_argument("out", type=Path, metavar="DIR", help="a new directory to write")
    export.add_argument(
        "--as-of",
        type=_run_or_date,
        metavar="RUN_ID|DATE",
        help="the lake as run RUN_ID left it, or as it stood at the end of DATE (YYYY-MM-DD, "
        "Chicago): rebuilt from the record history",
    )

    runs = commands.add_parser("runs", help="recent ingestion runs, newest first")
    runs.add_argument(
        "--limit", type=_whole_number(1, 100_000), default=20, help="how many runs (default 20)"
    )
    runs.add_argument("--json", action="store_true", help="JSON instead of a table")

    serve = commands.add_parser("serve", help="the dashboard on a production WSGI server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument(
        "--port", type=_whole_number(1, 65_535), default=8050, help="port to listen on (8050)"
    )
    serve.add_argument(
        "--workers", type=_whole_number(1, 64), default=2, help="worker processes (2)"
    )
    serve.add_argument(
        "--threads", type=_whole_number(1, 256), default=4, help="threads per worker (4)"
    )
    serve.add_argument(
        "--debug", action="store_true", help="one process with Dash's debug tools (development)"
    )

    daemon = commands.add_parser(
        "daemon", help="run the ingestion on a schedule until stopped (SIGTERM/SIGINT)"
    )
    daemon.add_argument(
        "--every",
        type=_positive_number,
        metavar="SECONDS",
        help="run at once and then every SECONDS after the previous run, instead of daily at "
        "DAEMON_AT (development and tests)",
    )

    publish = commands.add_parser(
        "publish",
        help="publish the lake to the object store at LAKE_URL now (ingest and demo do it after "
        "each run)",
    )
    publish.add_argument(
        "--replace",
        action="store_true",
        help="publish even if the lake holds far fewer rows than the store serves (a new "
        "ingester replacing the old one)",
    )

    status = commands.add_parser(
        "status", help="watermark, freshness and lake size; exit 1 when unhealthy"
    )
    status.add_argument("--json", action="store_true", help="JSON instead of text")
    status.add_argument(
        "--max-age-hours",
        type=_positive_number,
        metavar="N",
        help="unhealthy when the last success is older than N hours (default STATUS_MAX_AGE_HOURS)",
    )

    verify = commands.add_parser(
        "verify", help="check every lake file and the state; exit 1 listing the problems"
    )
    verify.add_argument(
        "--repair",
        action="store_true",
        help="re-fetch damaged months and doubled ids from upstream and commit them",
    )
    verify.add_argument("--json", action="store_true", help="JSON instead of text")

    demo = commands.add_parser(
        "demo",
        help="write a realistic synthetic lake (no network), marked 'demo' in run history",
    )
    demo.add_argument(
        "--years",
        type=float,
        default=1.0,
        metavar="N",
        help="how many years of incidents, ending with --end (default 1; 25 is ~8 M rows)",
    )
    demo.add_argument(
        "--end",
        type=_date_argument,
        metavar="DATE",
        help="the newest incident day, YYYY-MM-DD (default: yesterday in Chicago)",
    )
    demo.add_argument(
        "--seed", type=int, default=2001, help="random seed; same seed, same lake (default 2001)"
    )
    demo.add_argument(
        "--revision-days",
        type=_whole_number(0, 365),
        metavar="N",
        help="then simulate N days of upstream revisions, one run a day (default 60; 0: none)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    redact = Redactor()
    try:
        settings = load_settings()
        redact = Redactor(settings.secrets)
        configure_logging(settings.log_level, settings.log_format, redact)
        return _command(settings, args, redact)
    except ChicrimeError as exc:
        print(f"chicrime: {redact.line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(
            "chicrime: "
            + redact.line(
                f"file system error: {exc}. Check that DATA_DIR is a writable directory with free "
                "space; the lake and state were left as the last successful run left them."
            ),
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("chicrime: interrupted", file=sys.stderr)
        return 130


def _command(settings: Settings, args: argparse.Namespace, redact: Redactor) -> int:
    def out(text: str) -> None:
        print(redact(text))

    if args.command == "ingest":
        return _ingest(settings, args.since, args.reconcile, out)
    if args.command == "changes":
        return _changes(settings, args, out)
    if args.command == "export":
        return _export(settings, args.out, args.as_of, out)
    if args.command == "runs":
        return _runs(settings, args.limit, args.json, out)
    if args.command == "demo":
        return _demo(settings, args, out)
    if args.command == "serve":
        return _serve(settings, args)
    if args.command == "daemon":
        return _daemon(settings, args.every)
    if args.command == "verify":
        return _verify(settings, args.repair, args.json, out)
    if args.command == "publish":
        if settings.lake_url is None:
            raise ConfigError("LAKE_URL", "", "an S3 address like s3://bucket/prefix to publish to")
        return _publish(settings, out, replace=args.replace)
    max_age = args.max_age_hours or settings.status_max_age_hours
    return _status(settings, args.json, max_age, out, redact)


Out = Callable[[str], None]


def _ingest(settings: Settings, since: dt.date | None, reconcile: bool, out: Out) -> int:
    from chicrime.ingest.pipeline import ingest_once

    result = ingest_once(
        settings, since=since, reconcile=reconcile, progress=terminal_or_log_progress
    )
    totals = result.totals
    out(
        f"run {result.run_id}: fetched {totals.rows_fetched:,} rows, wrote {totals.rows_written:,}"
        f" ({totals.rows_new:,} new), deleted {totals.rows_deleted:,}, quarantined "
        f"{totals.rows_quarantined:,}, rewrote {totals.partitions_rewritten} partition(s), "
        f"revised {totals.rows_revised:,} record(s); watermark {wall_text(result.watermark_after)}"
    )
    return _publish(settings, out)


def _publish(settings: Settings, out: Out, *, replace: bool = False) -> int:
    """Publish to LAKE_URL if it is set; a failure says the local lake is committed."""
    if settings.lake_url is None:
        return 0
    from chicrime.remote.objects import ObjectStore
    from chicrime.remote.publish import publish

    try:
        done = publish(settings, ObjectStore(settings.lake_url), replacing=replace)
    except PublishConflictError:
        raise
    except ObjectStoreError as exc:
        raise type(exc)(
            f"{exc} The local lake is committed; `chicrime publish` (or the next run) publishes it."
        ) from None
    out(
        f"published {done.version} to {settings.lake_url}: {done.files_uploaded} new file(s), "
        f"{done.bytes_uploaded / 1e6:,.1f} MB uploaded"
        if done.changed
        else f"{settings.lake_url} already serves {done.version}"
    )
    return 0


def _changes(settings: Settings, args: argparse.Namespace, out: Out) -> int:
    from chicrime.analytics import Analytics

    analytics = Analytics(settings.data_dir, cache=False)
    rows = analytics.revision_list(
        None,
        seen_since=args.since,
        record_id=args.record_id,
        field=args.field,
        limit=args.limit,
    )
    if args.json:
        for row in rows.iter_rows(named=True):
            out(json.dumps(row, default=str))
        return 0
    if rows.is_empty():
        begins = analytics.history_begins()
        out(
            "no revisions match"
            + (f" (the record history begins with run {begins})" if begins else "")
        )
        return 0
    header = ("run", "seen (UTC)", "revision", "id", "case", "incident", "field", "before", "after")
    out(
        _table(
            header,
            [
                (
                    str(r["run_id"]),
                    f"{r['observed_at']:%Y-%m-%d %H:%M}",
                    r["label"],
                    str(r["id"]),
                    r["case_number"] or "-",
                    f"{r['date']:%Y-%m-%d %H:%M}" if r["date"] else "-",
                    r["field"],
                    _shown(r["before"]),
                    _shown(r["after"]),
                )
                for r in rows.iter_rows(named=True)
            ],
        )
    )
    return 0


def _shown(value: str | None) -> str:
    return "-" if value is None else value[:40]


def _export(settings: Settings, target: Path, as_of: int | dt.date | None, out: Out) -> int:
    from chicrime.store.export import export_lake
    from chicrime.store.lake import Lake

    run_id = None if as_of is None else _as_of_run(settings, as_of)
    exported = export_lake(Lake(settings.layout.lake_dir), target, run_id)
    when = "as it is" if run_id is None else f"as of run {run_id}"
    out(
        f"exported the lake {when}: {exported.rows:,} rows in {exported.partitions} "
        f"partition(s) to {exported.out} ({exported.rebuilt} rebuilt from the record history)"
    )
    return 0


def _as_of_run(settings: Settings, as_of: int | dt.date) -> int:
    """A run id as given, or the last successful run by the end of a Chicago date."""
    from chicrime.clock import CHICAGO
    from chicrime.errors import LakeError
    from chicrime.store.state import StateView

    if isinstance(as_of, int):
        return as_of
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), CHICAGO)
    run_id = StateView(settings.layout.state_db).last_success_by(end)
    if run_id is None:
        raise LakeError(
            f"no run had finished by the end of {as_of} (Chicago time); `chicrime runs` lists "
            "the runs"
        )
    return run_id


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if settings.lake_url is not None:
        from chicrime.remote.follow import start_following
        from chicrime.remote.objects import ObjectStore

        # In this (gunicorn's master) process: one follower per host, however many workers.
        start_following(settings, ObjectStore(settings.lake_url))
    if args.debug:
        from chicrime.app import create_app

        create_app(settings).run(
            host=args.host, port=args.port, debug=True, dev_tools_disable_version_check=True
        )
        return 0
    from chicrime.web import serve

    serve(settings, args.host, args.port, args.workers, args.threads)
    return 0


def _daemon(settings: Settings, every: float | None) -> int:
    from chicrime.daemon import Schedule, SystemdNotifier, run_daemon

    schedule = Schedule(daily_at=settings.daemon_at, every_seconds=every)
    return run_daemon(settings, schedule, SystemdNotifier.from_environ(os.environ))


def _demo(settings: Settings, args: argparse.Namespace, out: Out) -> int:
    from chicrime.demo import default_end, window_for_years, write_demo_lake

    last_day = args.end or default_end(dt.datetime.now(dt.UTC))
    result = write_demo_lake(
        settings,
        start=window_for_years(last_day, args.years),
        end=last_day,
        seed=args.seed,
        progress=terminal_or_log_progress,
        **({} if args.revision_days is None else {"revision_days": args.revision_days}),
    )
    totals = result.totals
    out(
        f"demo run {result.run_id}: wrote {totals.rows_written:,} synthetic rows dated "
        f"{result.start} to {result.end} (seed {result.seed}), removed {totals.rows_deleted:,} "
        f"earlier demo rows, rewrote {totals.partitions_rewritten} partition(s); "
        f"watermark {wall_text(result.watermark_after)}; then {result.revision_runs} run(s) "
        f"simulating upstream's later edits revised {result.revisions:,} record(s)"
    )
    return _publish(settings, out)


def _runs(settings: Settings, limit: int, as_json: bool, out: Out) -> int:
    records: list[RunRecord] = []
    if settings.layout.state_db.exists():
        state = StateStore(settings.layout.state_db, timeout=settings.sqlite_timeout, readonly=True)
        try:
            records = state.recent_runs(limit)
        finally:
            state.close()
    if as_json:
        out(json.dumps([asdict(r) for r in records], indent=2))
    elif not records:
        out(f"no runs recorded yet in {settings.layout.state_db}; run `chicrime ingest --once`")
    else:
        out(_runs_table(records))
    return 0


def _verify(settings: Settings, repair: bool, as_json: bool, out: Out) -> int:
    """Print what `verify` found (and, with `repair`, what the repair run did); 1 if unclean."""
    from chicrime.ingest.pipeline import repair_lake

    lines: list[str] = []
    if repair:
        report, result = repair_lake(settings, progress=terminal_or_log_progress)
        if result is not None:
            totals = result.totals
            lines.append(
                f"repair run {result.run_id}: re-fetched {totals.rows_fetched:,} rows, rewrote "
                f"{totals.partitions_rewritten} partition(s), removed {totals.rows_deleted:,} "
                "id(s) upstream no longer has"
            )
            after = _verify_once(settings)
            lines += _verify_lines(report, "before the repair")
            report = after
    else:
        report = _verify_once(settings)
    if as_json:
        out(json.dumps(_verify_json(report), indent=2))
    else:
        out("\n".join([*lines, *_verify_lines(report, "now" if lines else "")]))
    if report.clean:
        return 0
    hint = "" if repair else "; `chicrime verify --repair` re-fetches the damaged data"
    print(f"chicrime: the lake has {len(report.problems)} problem(s){hint}", file=sys.stderr)
    return 1


def _verify_once(settings: Settings) -> VerifyReport:
    from chicrime.store.lake import Lake
    from chicrime.store.run import open_state
    from chicrime.store.verify import verify_lake

    state = open_state(settings) if settings.layout.state_db.exists() else None
    try:
        return verify_lake(Lake(settings.layout.lake_dir), state, settings.dataset_id)
    finally:
        if state is not None:
            state.close()


def _verify_lines(report: VerifyReport, when: str) -> list[str]:
    label = f" ({when})" if when else ""
    head = (
        f"lake version {report.version or '-'}{label}: {report.files} file(s), {report.rows:,} rows"
    )
    if report.clean:
        return [head + ": clean"]
    return [head + f": {len(report.problems)} problem(s)"] + [
        f"  {problem.describe()}" for problem in report.problems
    ]


def _verify_json(report: VerifyReport) -> dict[str, object]:
    return {
        "version": report.version,
        "files": report.files,
        "rows": report.rows,
        "clean": report.clean,
        "problems": [
            {
                "kind": p.kind,
                "detail": p.detail,
                "path": str(p.path) if p.path else None,
                "partition": list(p.partition) if p.partition else None,
                "ids": list(p.ids),
            }
            for p in report.problems
        ],
    }


def _runs_table(records: list[RunRecord]) -> str:
    header = (
        "run",
        "kind",
        "status",
        "started (UTC)",
        "fetched",
        "written",
        "new",
        "deleted",
        "revised",
        "parts",
        "watermark after",
        "error",
    )
    rows = [
        (
            str(r.run_id),
            r.kind,
            r.status,
            r.started_at.replace("T", " ").removesuffix("Z"),
            *(
                f"{n:,}" if n is not None else "-"
                for n in (
                    r.rows_fetched,
                    r.rows_written,
                    r.rows_new,
                    r.rows_deleted,
                    r.rows_revised,
                    r.partitions_rewritten,
                )
            ),
            (r.watermark_after or "-").replace("T", " "),
            (r.error or "")[:60],
        )
        for r in records
    ]
    return _table(header, rows)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, header first."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    )


def _status(
    settings: Settings, as_json: bool, max_age_hours: float, out: Out, redact: Redactor
) -> int:
    """Print the report; exit 1 (reasons on one stderr line) when the data is not healthy."""
    from chicrime.health import health_report

    report = health_report(settings, max_age_hours, dt.datetime.now(dt.UTC))
    problems: list[str] = report["problems"]
    if as_json:
        out(json.dumps(report, indent=2))
    else:
        out(_status_text(settings, report))
    if not problems:
        return 0
    print(f"chicrime: unhealthy: {redact.line('; '.join(problems))}", file=sys.stderr)
    return 1


def _status_text(settings: Settings, report: dict[str, Any]) -> str:
    last = report["last_run"]
    lake = report["lake"]
    lines = [
        f"dataset        {settings.dataset_id} from {settings.soda_base_url}",
        f"data dir       {report['data_dir']}",
        f"watermark      {report['watermark_max_date'] or '-'} (newest incident, Chicago time)",
        f"last success   {report['last_success_at'] or 'never'}"
        + (f" ({report['hours_since_success']} h ago)" if report["last_success_at"] else ""),
        "last run       "
        + (
            f"#{last['run_id']} {last['kind']} {last['status']} at {last['started_at']}"
            if last
            else "none"
        )
        + (f": {last['error']}" if last and last["error"] else ""),
        f"reconciled     {report['last_reconciled_at'] or 'never'} (every id compared with "
        "upstream's)",
        "lake           "
        + (
            "unreadable"
            if lake is None
            else f"{lake['rows']:,} rows in {lake['partitions']} partitions, "
            f"{lake['bytes'] / 1e6:,.1f} MB"
            + (f", version {lake['version']}" if lake["version"] else "")
        ),
    ]
    for key, doing in (("publish", "published"), ("follow", "following")):
        if (store := report[key]) is not None:
            lines.append(
                f"{doing:<15}{store['url']}: {store['version'] or 'nothing yet'}"
                + (f", published {store['done_at']}" if store["done_at"] else "")
                + (f"; failing since {store['failing_since']}" if store["failing_since"] else "")
            )
    if not report["state_exists"]:
        lines.append("no state yet: run `chicrime ingest --once` to populate the lake")
    return "\n".join(lines)
