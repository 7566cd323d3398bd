"""Scale-out benchmark: the lake published to an S3-compatible store and followed by web hosts.

Everything runs on loopback: moto's S3 server and redis-server as child processes
(tests/servers.py), two `chicrime serve` (tests/dashboard_server.py). The demo lake at
`--data-dir` (default /tmp/bench25c, from `chicrime demo --years 25`) is never written: the
publisher works on a copy whose lake and boundaries are hard links (`cp -al`; every commit
writes new files, never through old ones) and whose state/ is a real copy (SQLite and the run
lock are written in place).

1. Upload: the first (full) `publish` of the copy to the store: seconds, MB, MB/s, files; then
   an unchanged re-publish (it hashes every file again and uploads nothing).
2. Download: `Follower.sync` into an empty DATA_DIR, for two hosts in turn.
3. Commit → both hosts serving: the two DATA_DIRs served by `chicrime serve` (1 worker each)
   following the store every LAKE_POLL_SECONDS; per repeat one small commit on the publisher
   (one simulated day of upstream revisions, made by `chicrime.demo_revisions.daily_edits` as
   `chicrime demo` makes them, for a day the demo did not revise), published, then the
   overview callback for the whole range polled on both hosts every 0.1 s until both answer the
   new incidents count.
4. Analytics latency per call, diskcache vs Redis, in this process on a follower's DATA_DIR:
   for `--selections` random selections the calls a page makes (those bench_dashboard.py
   times), each cold (not in the cache: computed and stored) and warm (the same call again),
   both backends in the same run, alternating which goes first.

    .venv/bin/python bench/bench_scaleout.py --data-dir /tmp/bench25c --repeats 3
    DATA_DIR=/tmp/small .venv/bin/chicrime demo --years 1   # a quick check
    .venv/bin/python bench/bench_scaleout.py --data-dir /tmp/small --repeats 1 --selections 5
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import os
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chicrime.analytics import MAP_POINTS_MAX_DAYS, Analytics, Filters  # noqa: E402
from chicrime.demo import DEMO_KIND, FIRST_DAY, REVISION_DAYS, month_rows  # noqa: E402
from chicrime.demo_revisions import CANDIDATE_DAYS, LATE_DAYS, DailyEdits, daily_edits  # noqa: E402
from chicrime.remote.follow import Follower  # noqa: E402
from chicrime.remote.objects import ObjectStore  # noqa: E402
from chicrime.remote.publish import Published, publish, read_manifest, read_pointer  # noqa: E402
from chicrime.settings import Settings  # noqa: E402
from chicrime.store.lake import Lake  # noqa: E402
from chicrime.store.run import Committed, writer_run  # noqa: E402
from chicrime.store.schema import LAKE_SCHEMA  # noqa: E402
from tests.dash_requests import CALLBACK_PATH, overview_request  # noqa: E402
from tests.dashboard_server import running_dashboard  # noqa: E402
from tests.servers import RedisServer, S3Server  # noqa: E402

MB = 1e6
HOSTS = ("host-a", "host-b")
POLL_INTERVAL = 0.1  # seconds between overview requests to a host while waiting for a version
DEMO_SEED = 2001  # `chicrime demo`'s default; only the synthetic edits depend on it


# -- the lake copies ---------------------------------------------------------------------------


def publisher_copy(source: Path, target: Path) -> None:
    """`source`'s lake and boundaries hard-linked into `target`, its state copied for real."""
    target.mkdir(parents=True)
    for name in ("lake", "geo"):
        if (source / name).exists():
            subprocess.run(["cp", "-al", str(source / name), str(target / name)], check=True)
    if (source / "state").exists():
        shutil.copytree(source / "state", target / "state")


def lake_settings(data_dir: Path, url: str) -> Settings:
    return Settings(data_dir=data_dir, lake_url=url, lake_poll_seconds=1.0)


# -- small commits -----------------------------------------------------------------------------


class RevisionDays:
    """Days of upstream edits for a demo lake, as `chicrime demo` simulates them, going back from
    the last day the demo did not revise; only days whose edits change the row count."""

    def __init__(self, lake: Lake, first: dt.date, last: dt.date, seed: int) -> None:
        self.lake, self.first, self.seed = lake, first, seed
        self.day = last - dt.timedelta(days=REVISION_DAYS)
        self._late_months: dict[tuple[int, int], pl.DataFrame] = {}

    def next(self) -> tuple[dt.date, DailyEdits, int]:
        """The next such day, its edits, and by how many rows they change the lake."""
        while self.day - dt.timedelta(days=LATE_DAYS[1]) > self.first:
            day, self.day = self.day, self.day - dt.timedelta(days=1)
            held = (
                self.lake.scan()
                .filter(
                    (pl.col("date") >= midnight(day, -CANDIDATE_DAYS))
                    & (pl.col("date") < midnight(day, 0))
                )
                .collect()
            )
            late = self._late_reports(
                day - dt.timedelta(LATE_DAYS[1]), day - dt.timedelta(LATE_DAYS[0])
            )
            edits = daily_edits(held, late, day, day.toordinal() - FIRST_DAY.toordinal(), self.seed)
            ids = pl.Series("id", [*edits.upserts["id"], *edits.removed], pl.Int64)
            present = set(
                self.lake.scan()
                .filter(pl.col("id").is_in(ids.implode()))
                .select("id")
                .collect()["id"]
            )
            new = sum(1 for i in edits.upserts["id"] if i not in present)
            gone = sum(1 for i in edits.removed if i in present)
            if new != gone:
                return day, edits, new - gone
        raise SystemExit(f"{self.lake.root}: no day left to simulate revisions for")

    def _late_reports(self, first: dt.date, last: dt.date) -> pl.DataFrame:
        """Rows a late report can be made of (the demo's rows for another seed), dated
        `first`..`last`; as `chicrime.demo` draws them."""
        first = max(first, self.first)
        parts = [pl.DataFrame(schema=LAKE_SCHEMA)]
        month = (first.year, first.month)
        while month <= (last.year, last.month):
            if month not in self._late_months:
                self._late_months[month] = month_rows(*month, self.seed + 1)
            parts.append(self._late_months[month])
            month = (month[0] + 1, 1) if month[1] == 12 else (month[0], month[1] + 1)
        return pl.concat(parts).filter(
            (pl.col("date") >= midnight(first, 0)) & (pl.col("date") < midnight(last, 1))
        )


def midnight(day: dt.date, shift_days: int) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=shift_days), dt.time())


def commit_day(settings: Settings, day: dt.date, edits: DailyEdits) -> Committed:
    """One writer run committing `edits` (as `chicrime demo` commits a simulated day)."""
    with writer_run(settings) as run:
        run_id = run.start(DEMO_KIND, midnight(day, -CANDIDATE_DAYS), revisions_of=day.isoformat())
        with run.staged(run_id) as staging:
            staging.add(edits.upserts)
            run.rows_fetched += edits.upserts.height
            committed = run.commit(run_id, staging, edits.removed, label=f"d{run_id:06d}")
        run.finished(run_id, committed)
    return committed


# -- hosts -------------------------------------------------------------------------------------


def incidents_shown(client: httpx.Client, url: str, whole: tuple[str, str]) -> str | None:
    """The overview's incidents KPI for `whole`, as the host shows it (None unless 200)."""
    answer = client.post(url + CALLBACK_PATH, json=overview_request(*whole))
    if answer.status_code != 200:
        return None
    return str(answer.json()["response"]["kpi-incidents-value"]["children"])


@dataclass
class Wait:
    """One host's wait for a version: when it first showed it, requests sent, failed answers."""

    seen_at: float = 0.0
    requests: int = 0
    failures: int = 0


def wait_for_count(
    url: str, whole: tuple[str, str], expected: str, timeout: float, cancel: threading.Event
) -> Wait:
    """Poll the host's overview every POLL_INTERVAL until it shows `expected` incidents (or
    `cancel` is set: TimeoutError)."""
    wait = Wait()
    deadline = time.perf_counter() + timeout
    with httpx.Client(timeout=60) as client:
        while True:
            wait.requests += 1
            try:
                shown = incidents_shown(client, url, whole)
            except httpx.HTTPError:
                shown = None
            if shown is None:
                wait.failures += 1
            if shown == expected:
                wait.seen_at = time.perf_counter()
                return wait
            if time.perf_counter() > deadline or cancel.is_set():
                raise TimeoutError(f"{url} did not show {expected} incidents within {timeout:g} s")
            cancel.wait(POLL_INTERVAL)


def kind_of(path: str) -> str:
    """What a publication's file is, by its path under DATA_DIR."""
    parts = path.split("/")
    if parts[0] != "lake":
        return {"state": "state db", "geo": "boundaries"}.get(parts[0], parts[0])
    for prefix, kind in ((".rollups.", "rollups"), (".history.", "history"), (".facts.", "facts")):
        if parts[1].startswith(prefix):
            return kind
    return "partitions"


def uploaded_by_kind(store: ObjectStore, before: str, after: str) -> dict[str, tuple[int, int]]:
    """Files and bytes of publication `after` that `before` did not hold (what `publish`
    uploads), by kind of file."""
    old, new = read_manifest(store, before), read_manifest(store, after)
    assert old is not None
    assert new is not None
    seen = {entry.sha256 for entry in old.entries}
    kinds: dict[str, tuple[int, int]] = {}
    for entry in new.entries:
        if entry.sha256 not in seen:
            seen.add(entry.sha256)
            files, size = kinds.get(kind_of(entry.path), (0, 0))
            kinds[kind_of(entry.path)] = (files + 1, size + entry.size)
    return kinds


@dataclass
class Propagation:
    day: dt.date
    upserted: int  # rows the simulated day added or changed
    removed: int  # ids it removed
    partitions: int  # partitions the commit rewrote
    commit_s: float
    publish_s: float
    files_uploaded: int
    bytes_uploaded: int
    uploaded: dict[str, tuple[int, int]]  # files and bytes uploaded, by kind of file
    after_publish_s: float  # publish returned → both hosts show the new count
    after_commit_s: float  # commit started → the same
    per_host_s: list[float]  # publish returned → each host shows it
    requests: int
    failures: int


# -- analytics latency -------------------------------------------------------------------------

PAGE_CALLS: dict[str, Callable[[Analytics, Filters], object]] = {
    "kpis": lambda a, f: a.kpis(f),
    "incidents_over_time": lambda a, f: a.incidents_over_time(f),
    "top_types": lambda a, f: a.top_types(f),
    "weekday_hour": lambda a, f: a.weekday_hour(f),
    "arrest_rates": lambda a, f: a.arrest_rates(f),
    "map": lambda a, f: (
        a.map_points(f) if f.days <= MAP_POINTS_MAX_DAYS else a.community_area_rates(f)
    ),
    "table": lambda a, f: a.table(f),
}
SELECTION_MIX = (
    "a window of 1, 7, 30, 30, 90 or 365 days at a random end, or all time (1 in 7); 0-2 primary "
    "types; a district 1 in 4; arrest and domestic all/yes/no; an hour range 1 in 5 "
    "(bench_browser.py's load mix)"
)


def random_selections(analytics: Analytics, count: int, seed: int) -> list[Filters]:
    """`count` distinct selections drawn as SELECTION_MIX says."""
    span = analytics.date_range()
    if span is None:
        raise SystemExit(f"{analytics.data_dir} holds no rows")
    first, last = span
    dimensions = analytics.dimensions()
    rng = random.Random(seed)
    total = (last - first).days + 1
    chosen: list[Filters] = []
    while len(chosen) < count:
        length = rng.choice([1, 7, 30, 30, 90, 365, None])
        if length is None or length >= total:
            start, end = first, last
        else:
            end = last - dt.timedelta(days=rng.randrange(total - length + 1))
            start = end - dt.timedelta(days=length - 1)
        hours = (0, 23) if rng.random() < 0.8 else tuple(sorted(rng.sample(range(24), 2)))
        selection = Filters(
            start=start,
            end=end,
            primary_types=tuple(
                sorted(rng.sample(dimensions.primary_types, rng.choice([0, 0, 0, 1, 2])))
            ),
            districts=(rng.choice(dimensions.districts),) if rng.random() < 0.25 else (),
            arrest=rng.choice([None, None, True, False]),
            domestic=rng.choice([None, None, True, False]),
            hour_from=hours[0],
            hour_to=hours[1],
        )
        if selection not in chosen:
            chosen.append(selection)
    return chosen


@dataclass
class Latencies:
    """ms per call and per page (the sum of a page's calls), cold and warm."""

    calls: dict[str, list[float]] = field(default_factory=lambda: {"cold": [], "warm": []})
    pages: dict[str, list[float]] = field(default_factory=lambda: {"cold": [], "warm": []})
    by_call: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def page(self, analytics: Analytics, selection: Filters, mode: str) -> None:
        total = 0.0
        for name, call in PAGE_CALLS.items():
            started = time.perf_counter()
            call(analytics, selection)
            took = (time.perf_counter() - started) * 1000
            total += took
            self.calls[mode].append(took)
            self.by_call.setdefault((name, mode), []).append(took)
        self.pages[mode].append(total)


def cache_latency(
    data_dir: Path, cache_dir: Path, redis_url: str, redis: RedisServer, count: int, seed: int
) -> dict[str, Latencies]:
    redis.client().flushall()
    backends = {
        "diskcache": Analytics(data_dir, cache_dir=cache_dir),
        "redis": Analytics(data_dir, cache_url=redis_url),
    }
    selections = random_selections(backends["diskcache"], count + 1, seed)
    for analytics in backends.values():  # connections, lake statistics; not timed
        analytics.date_range()
        analytics.dimensions()
        for mode in ("cold", "warm"):
            Latencies().page(analytics, selections[0], mode)
    results = {name: Latencies() for name in backends}
    for index, selection in enumerate(selections[1:]):
        order = list(backends) if index % 2 == 0 else list(backends)[::-1]
        for name in order:
            results[name].page(backends[name], selection, "cold")
            results[name].page(backends[name], selection, "warm")
    return results


# -- the steps -------------------------------------------------------------------------------


@dataclass
class Bench:
    """The servers, the store and the scratch directories of one run."""

    source: Path  # the demo lake measured (never written)
    work: Path  # scratch: the publisher's copy, the hosts' DATA_DIRs, logs
    s3: S3Server
    redis: RedisServer
    url: str  # LAKE_URL
    store: ObjectStore

    @property
    def ingester(self) -> Path:
        return self.work / "ingester"

    def host_dir(self, host: str) -> Path:
        return self.work / host

    def log_tail(self, host: str) -> str:
        text = (self.work / f"{host}.log").read_text(errors="replace")
        return f"--- {host}'s log, last lines:\n{text[-3000:]}"


@dataclass
class Upload:
    first: Published
    first_s: float
    unchanged_s: float
    manifest_files: int
    manifest_bytes: int


def measure_upload(bench: Bench) -> Upload:
    settings = lake_settings(bench.ingester, bench.url)
    began = time.perf_counter()
    first = publish(settings, bench.store)
    first_s = time.perf_counter() - began
    manifest = read_manifest(bench.store, first.manifest)
    assert manifest is not None
    print(
        f"first publish: {first_s:.2f} s, {first.files_uploaded} files, "
        f"{first.bytes_uploaded / MB:.1f} MB",
        flush=True,
    )
    began = time.perf_counter()
    again = publish(settings, bench.store)
    unchanged_s = time.perf_counter() - began
    if again.changed or again.files_uploaded:
        raise SystemExit(f"the unchanged re-publish uploaded something: {again}")
    print(f"unchanged re-publish: {unchanged_s:.2f} s", flush=True)
    return Upload(
        first, first_s, unchanged_s, len(manifest.entries), sum(e.size for e in manifest.entries)
    )


def measure_download(bench: Bench) -> dict[str, float]:
    """Seconds each host's first sync took (into an empty DATA_DIR)."""
    took: dict[str, float] = {}
    for host in HOSTS:
        began = time.perf_counter()
        outcome = Follower(lake_settings(bench.host_dir(host), bench.url), bench.store).sync()
        took[host] = time.perf_counter() - began
        if outcome != "switched":
            raise SystemExit(f"{host}: the first sync did not switch ({outcome})")
        print(f"{host} first sync: {took[host]:.2f} s", flush=True)
    return took


def measure_propagation(bench: Bench, repeats: int, timeout: float) -> list[Propagation]:
    """`repeats` small commits on the publisher, each published, until both hosts show it."""
    settings = lake_settings(bench.ingester, bench.url)
    reference = Analytics(bench.ingester, cache=False)
    span = reference.date_range()
    assert span is not None
    whole = (span[0].isoformat(), span[1].isoformat())
    everything = Filters(start=span[0], end=span[1])
    count = reference.kpis(everything).incidents
    days = RevisionDays(Lake(settings.layout.lake_dir), span[0], span[1], DEMO_SEED)
    environ = {**bench.s3.environ(bench.s3.bucket), "LAKE_URL": bench.url, "LAKE_POLL_SECONDS": "1"}
    results: list[Propagation] = []
    cancel = threading.Event()
    with ExitStack() as servers:
        urls = []
        for host in HOSTS:
            log = servers.enter_context((bench.work / f"{host}.log").open("w"))
            dashboard = running_dashboard(bench.host_dir(host), log, 1, environ)
            urls.append(servers.enter_context(dashboard)[0])
        pool = servers.enter_context(concurrent.futures.ThreadPoolExecutor(len(urls)))
        servers.callback(cancel.set)  # runs first: the pool's threads stop waiting

        def all_show(expected: int) -> list[Wait]:
            waits = [
                pool.submit(wait_for_count, url, whole, f"{expected:,}", timeout, cancel)
                for url in urls
            ]
            try:
                return [wait.result() for wait in waits]
            except TimeoutError as exc:
                logs = "\n".join(bench.log_tail(host) for host in HOSTS)
                raise SystemExit(f"{exc}\n{logs}") from None

        all_show(count)  # both serve the first publication
        pointer = read_pointer(bench.store)
        assert pointer is not None
        published = Published(pointer[0].version, pointer[0].manifest, False, 0, 0, 0)
        for _ in range(repeats):
            day, edits, change = days.next()
            commit_started = time.perf_counter()
            committed = commit_day(settings, day, edits)
            publish_started = time.perf_counter()
            previous = published.manifest
            published = publish(settings, bench.store)
            published_at = time.perf_counter()
            count += change
            done = all_show(count)
            both = max(wait.seen_at for wait in done)
            totals = committed.totals
            if totals.rows_new - totals.rows_deleted != change:
                raise SystemExit(f"the commit of {day}'s revisions changed the count unexpectedly")
            if reference.kpis(everything).incidents != count:
                raise SystemExit(f"the publisher does not count {count:,} incidents after {day}")
            results.append(
                Propagation(
                    day=day,
                    upserted=edits.upserts.height,
                    removed=len(edits.removed),
                    partitions=totals.partitions_rewritten,
                    commit_s=publish_started - commit_started,
                    publish_s=published_at - publish_started,
                    files_uploaded=published.files_uploaded,
                    bytes_uploaded=published.bytes_uploaded,
                    uploaded=uploaded_by_kind(bench.store, previous, published.manifest),
                    after_publish_s=both - published_at,
                    after_commit_s=both - commit_started,
                    per_host_s=[wait.seen_at - published_at for wait in done],
                    requests=sum(wait.requests for wait in done),
                    failures=sum(wait.failures for wait in done),
                )
            )
            print(
                f"commit {len(results)} (revisions of {day}): commit "
                f"{results[-1].commit_s:.2f} s, publish {results[-1].publish_s:.2f} s, both "
                f"hosts serving {results[-1].after_publish_s:.2f} s after publish",
                flush=True,
            )
    return results


@dataclass
class CacheRun:
    latencies: dict[str, Latencies]
    disk_mb: float
    redis_keys: int
    redis_mb: float


def measure_caches(bench: Bench, count: int, seed: int) -> CacheRun:
    cache_dir = bench.work / "diskcache"
    latencies = cache_latency(
        bench.host_dir(HOSTS[0]), cache_dir, bench.redis.url, bench.redis, count, seed
    )
    client = bench.redis.client()
    return CacheRun(
        latencies=latencies,
        disk_mb=sum(p.stat().st_size for p in cache_dir.rglob("*") if p.is_file()) / MB,
        redis_keys=int(client.dbsize()),
        redis_mb=int(client.info("memory")["used_memory"]) / MB,
    )


# -- the report --------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  " + "  ".join(cells).rstrip()

    rule = "  " + "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def rate(size: int, took: float) -> str:
    return f"{size / MB / took:.1f}" if took > 0 else "-"


def report_store(upload: Upload, download: dict[str, float]) -> None:
    first = upload.first
    print("\n1. upload: publish() (hashes every file, uploads what the store lacks)")
    rows = [
        (
            "first publish (full)",
            f"{upload.first_s:.2f}",
            f"{first.bytes_uploaded / MB:.1f}",
            rate(first.bytes_uploaded, upload.first_s),
            f"{first.files_uploaded}",
        ),
        ("unchanged re-publish (uploads nothing)", f"{upload.unchanged_s:.2f}", "0.0", "-", "0"),
    ]
    print(table(rows, ("", "seconds", "MB", "MB/s", "files")))
    print(
        f"  manifest: {upload.manifest_files} files, {upload.manifest_bytes / MB:.1f} MB "
        "(a file shared by two paths is uploaded once)"
    )
    print(
        "\n2. download: Follower.sync() into an empty DATA_DIR (downloads, checks hashes, switches)"
    )
    rows = [
        (
            f"{host}: first sync",
            f"{took:.2f}",
            f"{upload.manifest_bytes / MB:.1f}",
            rate(upload.manifest_bytes, took),
            f"{upload.manifest_files}",
        )
        for host, took in download.items()
    ]
    print(table(rows, ("", "seconds", "MB", "MB/s", "files")))


def report_propagation(results: list[Propagation]) -> None:
    print(
        f"\n3. commit → both hosts serving it: {len(results)} small commit(s), each one simulated "
        "day of upstream revisions; 2 × `chicrime serve` (1 worker), LAKE_POLL_SECONDS=1; the "
        f"overview callback for the whole range polled every {POLL_INTERVAL:g} s on each host "
        "until it shows the new incidents count"
    )
    if not results:
        return

    def row(label: str, values: list[float]) -> tuple[str, ...]:
        return (label, *(f"{v:.2f}" for v in (statistics.median(values), min(values), max(values))))

    rows = [
        row("commit (writer run)", [r.commit_s for r in results]),
        row("publish (incremental)", [r.publish_s for r in results]),
        row("publish returned → both hosts serve it", [r.after_publish_s for r in results]),
        row("commit started → both hosts serve it", [r.after_commit_s for r in results]),
        *(
            row(f"  publish returned → {host} serves it", [r.per_host_s[i] for r in results])
            for i, host in enumerate(HOSTS)
        ),
    ]
    print(table(rows, ("seconds", "median", "min", "max")))
    for n, r in enumerate(results, 1):
        print(
            f"  commit {n}, revisions of {r.day}: {r.upserted} rows upserted, {r.removed} removed, "
            f"{r.partitions} partitions rewritten → publish uploaded {r.files_uploaded} files, "
            f"{r.bytes_uploaded / MB:.2f} MB; {r.requests} overview requests while waiting, "
            f"{r.failures} failed"
        )
        kinds = sorted(r.uploaded.items(), key=lambda item: -item[1][1])
        print(
            "      uploaded: "
            + ", ".join(f"{kind} {files} ({size / MB:.2f} MB)" for kind, (files, size) in kinds)
        )


def report_caches(run: CacheRun, selections: int) -> None:
    print(
        f"\n4. analytics calls in-process on {HOSTS[0]}'s DATA_DIR, diskcache (temp dir) vs Redis "
        f"(loopback, FLUSHALL first), in one run: {selections} random selections × "
        f"{len(PAGE_CALLS)} calls ({', '.join(PAGE_CALLS)}); cold = not cached yet (computed, "
        f"stored), warm = the same call again. Selections: {SELECTION_MIX}"
    )
    disk, red = run.latencies["diskcache"], run.latencies["redis"]
    rows = []
    for unit in ("call", "page"):
        for mode in ("cold", "warm"):
            a = (disk.calls if unit == "call" else disk.pages)[mode]
            b = (red.calls if unit == "call" else red.pages)[mode]
            rows.append(
                (
                    f"per {unit}, {mode}",
                    f"{statistics.median(a):.1f}",
                    f"{p95(a):.1f}",
                    f"{statistics.median(b):.1f}",
                    f"{p95(b):.1f}",
                    f"{statistics.median(b) / statistics.median(a):.2f}",
                    f"{p95(b) / p95(a):.2f}",
                )
            )
    header = ("ms", "disk p50", "disk p95", "redis p50", "redis p95", "×p50", "×p95")
    print(table(rows, header))
    print(f"  (×: Redis / diskcache; a page: the sum of its {len(PAGE_CALLS)} calls)")
    per_call = [
        (
            name,
            *(
                f"{statistics.median(lat.by_call[name, mode]):.1f}"
                for mode in ("cold", "warm")
                for lat in (disk, red)
            ),
        )
        for name in PAGE_CALLS
    ]
    print(
        table(per_call, ("p50 ms per call", "cold disk", "cold redis", "warm disk", "warm redis"))
    )
    print(
        f"  cached afterwards: diskcache {run.disk_mb:.1f} MB on disk; Redis {run.redis_keys} "
        f"keys, {run.redis_mb:.1f} MB used memory"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path("/tmp/bench25c"), help="a demo lake (only read)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="small commits in step 3 (3)")
    parser.add_argument("--selections", type=int, default=30, help="selections in step 4 (30)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random selections (1)")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds the hosts may take per commit (300)"
    )
    args = parser.parse_args()
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(f"command: {command}", flush=True)
    source: Path = args.data_dir.resolve()
    if not (source / "lake" / "crimes").is_symlink():
        raise SystemExit(
            f"no lake under {source}: make one with `DATA_DIR={source} chicrime demo --years 25`"
        )
    for missing in (S3Server.missing(), RedisServer.missing()):
        if missing is not None:
            raise SystemExit(missing)

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    started = time.perf_counter()
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="bench_scaleout_", dir=source.parent))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        s3 = stack.enter_context(S3Server())
        redis = stack.enter_context(RedisServer())
        s3.create_bucket(s3.bucket)
        os.environ.update(s3.environ(s3.bucket))  # for this process's ObjectStore (boto3)
        url = f"s3://{s3.bucket}/chicago"
        bench = Bench(source, work, s3, redis, url, ObjectStore(url))
        publisher_copy(source, bench.ingester)
        lake = Lake(bench.ingester / "lake")
        summary = lake.summary()
        print(f"lake: {source}, {lake.version()}, {summary.rows:,} rows", flush=True)
        upload = measure_upload(bench)
        download = measure_download(bench)
        propagation = measure_propagation(bench, args.repeats, args.timeout)
        caches = measure_caches(bench, args.selections, args.seed)

    print(f"\ncommand: {command}")
    print(
        f"lake: {source} ({summary.rows:,} rows, version {summary.version}); the publisher "
        "works on a hard-linked copy; store: moto_server, Redis: redis-server, both on "
        f"loopback; MB = 10^6 bytes; whole run {time.perf_counter() - started:.0f} s"
    )
    report_store(upload, download)
    report_propagation(propagation)
    report_caches(caches, args.selections)


if __name__ == "__main__":
    main()
