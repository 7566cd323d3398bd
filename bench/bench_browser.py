"""Browser benchmark for the interaction-speed targets (issue 12): what a person waits for.

1. Builds a demo lake (`chicrime demo --years N`) in a scratch DATA_DIR, or reuses `--data-dir`.
2. Starts `chicrime serve` with 2 workers and opens every route in headless Chromium:
   - page load (default view) → every chart drawn: first visits (a new browser context each)
     and repeat visits (bundles in the browser's HTTP cache);
   - a filter change in the panel → every chart of the page drawn, for a 30-day and an all-time
     selection, three ways: warm (both selections already cached), new selection (a window
     shifted by a day per sample: cache kept, answers not in it) and cold (the query cache
     emptied before the change);
   - per change: the callback requests, their sequential round trips, each one's time to first
     byte (server time plus queueing on the 2 workers), and when the last answer arrived;
   - the map's 30-day callback response as sent (decoded body, bytes on the wire with the
     server's Content-Encoding, and gzip for comparison); the server's RSS after every route.
3. With `--users N`: N simulated users replay the browser's own callback requests with random
   filters for `--seconds`, over loopback: back to back, or with `--think S` seconds (± half)
   between one user's changes.

A filter change is made the way the panel's components make one: `dash_clientside.set_props`
on the two date fields (the same `updateProps` + `notifyObservers` a component's `setProps` does).
It is drawn when every Plotly graph on the page has fired `plotly_afterplot` after it, no
callback request is in flight, nothing is marked loading, and the DOM has been quiet for
QUIET_MS; the time reported is to the last draw or DOM change, not to the end of the quiet wait.

    .venv/bin/python bench/bench_browser.py [--years 25] [--data-dir DIR] [--repeats 7]
        [--routes / /map ...]
    .venv/bin/python bench/bench_browser.py --data-dir /tmp/bench25 --users 20 --seconds 60
        [--think 2] [--skip-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime as dt
import gzip
import json
import os
import random
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import diskcache
import httpx

# Importing bench_dashboard (through bench_ingest) puts the repository root on sys.path.
from bench_dashboard import PAGES, make_demo, rss_mb
from playwright.sync_api import Browser, BrowserContext, Page, Request, Response, sync_playwright

from chicrime.analytics import Analytics, Dimensions
from chicrime.store.layout import Layout
from tests.dashboard_server import BROWSER_ARGS, running_dashboard

WORKERS = 2
QUIET_MS = 150
UPDATE_PATH = "/_dash-update-component"
SELECTIONS = ("30-day", "all-time")
MODES = ("warm", "new selection", "cold")
TARGETS = {
    "warm": "≤ 80 ms",
    "cold/30-day": "≤ 150 ms",
    "cold/all-time": "≤ 250 ms",
    "callback": "≤ 40 ms",
    "first load": "≤ 1.5 s",
    "map payload": "≤ 600 kB",
    "load": "0 errors, p95 ≤ 400 ms",
    "rss": "≤ 500 MB",
}

# Installed before any page script: counts Dash's callback requests in flight (Dash uses
# `fetch`), notes when each output's answer arrived, and when the DOM last changed.
INIT_SCRIPT = """
(() => {
    const bench = window.__bench = {pending: 0, finished: {}, lastFinish: 0, lastMutation: 0};
    const send = window.fetch.bind(window);
    window.fetch = (input, init) => {
        const url = typeof input === "string" ? input : (input && input.url) || "";
        if (!url.includes("/_dash-update-component")) { return send(input, init); }
        let output = "";
        try { output = JSON.parse(init.body).output; } catch (error) { output = "?"; }
        bench.pending += 1;
        const settle = () => {
            bench.pending -= 1;
            bench.lastFinish = performance.now();
            bench.finished[output] = bench.lastFinish;
        };
        return send(input, init).then(
            (answer) => { settle(); return answer; },
            (error) => { settle(); throw error; },
        );
    };
    new MutationObserver(() => { bench.lastMutation = performance.now(); }).observe(
        document,
        {subtree: true, childList: true, attributes: true, characterData: true},
    );
})();
"""

HOOK_GRAPHS = """() => {
    const plots = document.querySelectorAll(".js-plotly-plot");
    for (const gd of plots) {
        if (!gd.__benchHooked) {
            gd.__benchHooked = true;
            gd.on("plotly_afterplot", () => { gd.__drawnAt = performance.now(); });
        }
    }
    return plots.length;
}"""

CHANGE_DATES = """(dates) => {
    const started = performance.now();
    // Both date fields in one tick: the panel's gathering callback runs once for the two.
    window.dash_clientside.set_props("filter-date-from", {value: dates.start});
    window.dash_clientside.set_props("filter-date-to", {value: dates.end});
    return [started, performance.timeOrigin + started];
}"""

# Truthy ({ms}) once the change made at `started` is drawn (see the module docstring).
DRAWN_AFTER_CHANGE = """([started, quiet]) => {
    const bench = window.__bench;
    const plots = Array.from(document.querySelectorAll(".js-plotly-plot"));
    if (plots.some((gd) => !(gd.__drawnAt > started))) { return false; }
    if (bench.pending > 0 || !(bench.lastFinish > started)) { return false; }
    if (document.querySelector('[data-dash-is-loading="true"]')) { return false; }
    const drawn = Math.max(bench.lastMutation, ...plots.map((gd) => gd.__drawnAt));
    if (performance.now() - Math.max(drawn, bench.lastFinish) < quiet) { return false; }
    return {ms: drawn - started};
}"""

# Truthy ({ms} since navigation start) once the page and every graph on it are drawn.
DRAWN_AFTER_LOAD = """(quiet) => {
    const bench = window.__bench;
    const answered = Object.keys(bench.finished);
    if (!answered.some((o) => o.includes("_pages_content.children"))) { return false; }
    if (!answered.some((o) => o.includes("url-query.data"))) { return false; }
    for (const graph of document.querySelectorAll(".dash-graph")) {
        const gd = graph.querySelector(".js-plotly-plot");
        if (!gd || !gd._fullLayout || !gd.querySelector(".main-svg")) { return false; }
    }
    if (bench.pending > 0) { return false; }
    if (document.querySelector('[data-dash-is-loading="true"]')) { return false; }
    if (performance.now() - Math.max(bench.lastMutation, bench.lastFinish) < quiet) {
        return false;
    }
    return {ms: bench.lastMutation};
}"""


@dataclass(frozen=True)
class Call:
    """One callback request as the browser saw it (epoch milliseconds)."""

    output: str
    started: float
    ended: float
    ttfb: float  # request sent → first byte of the answer: server time plus loopback


@dataclass(frozen=True)
class Sample:
    route: str
    selection: str
    mode: str
    ms: float  # the change → every chart drawn
    answered_ms: float  # the change → the last callback answer received
    calls: tuple[Call, ...]


@dataclass(frozen=True)
class Replay:
    """A callback request as the browser sent it: path with Dash's query, and JSON body."""

    target: str
    body: dict[str, Any]


@dataclass
class BrowserResults:
    samples: list[Sample] = field(default_factory=list)
    first_loads: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    map_payloads: dict[str, dict[str, object]] = field(default_factory=dict)
    rss_after_route: dict[str, dict[str, float]] = field(default_factory=dict)
    payloads: dict[str, list[Replay]] = field(default_factory=dict)
    alone: dict[str, list[float]] = field(default_factory=dict)  # callbacks_alone


@dataclass
class LoadResults:
    users: int
    seconds: float  # as asked for; users then finish the update they are in
    think: float  # seconds a user pauses between changes (0: none)
    elapsed: float = 0.0
    updates: list[float] = field(default_factory=list)  # ms per completed update
    route_updates: dict[str, list[float]] = field(default_factory=dict)  # the same, per route
    requests: list[float] = field(default_factory=list)  # ms per callback request
    errors: Counter[str] = field(default_factory=Counter)


# -- selections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lake:
    first: dt.date
    last: dt.date
    default_start: dt.date
    default_end: dt.date
    dimensions: Dimensions
    rows: int


def describe_lake(data_dir: Path) -> Lake:
    analytics = Analytics(data_dir, cache=False)
    span = analytics.date_range()
    default = analytics.default_filters()
    if span is None or default is None:
        raise SystemExit(f"no demo lake under {data_dir}")
    return Lake(
        first=span[0],
        last=span[1],
        default_start=default.start,
        default_end=default.end,
        dimensions=analytics.dimensions(),
        rows=analytics.freshness().rows,
    )


def dates_for(lake: Lake, selection: str, shift: int) -> dict[str, str]:
    """The date fields' values: the default 30 days moved `shift` days back, or all time
    starting `shift` days late (a new selection that still spans the whole lake)."""
    days = dt.timedelta(days=shift)
    if selection == "30-day":
        start, end = lake.default_start - days, lake.default_end - days
    else:
        start, end = lake.first + days, lake.last
    return {"start": start.isoformat(), "end": end.isoformat()}


# -- the browser -----------------------------------------------------------------------------


def is_callback(url: str) -> bool:
    # Dash 4 appends `?endId=…` (a signed page-load token) to every callback request.
    return urlsplit(url).path == UPDATE_PATH


def callback_name(output: str) -> str:
    """`..a.children...b.figure..` → `a+b`; a pattern id by its type."""
    names = []
    for part in output.strip(".").split("..."):
        component = part.rsplit(".", 1)[0]
        names.append(json.loads(component)["type"] if component.startswith("{") else component)
    return "+".join(names)


def is_chart(name: str) -> bool:
    """Whether the callback named `name` (`callback_name`) draws a page's figures or tables,
    rather than being the shell's address-bar callback."""
    return "url-query" not in name.split("+")


def call_of(request: Request) -> Call:
    timing = request.timing
    return Call(
        output=callback_name(json.loads(request.post_data or "{}").get("output", "?")),
        started=timing["startTime"],
        ended=timing["startTime"] + timing["responseEnd"],
        ttfb=timing["responseStart"] - timing["requestStart"],
    )


def rounds(calls: tuple[Call, ...]) -> int:
    """Sequential round trips: a request opens a new round when everything before it ended."""
    count, round_end = 0, float("-inf")
    for call in sorted(calls, key=lambda c: c.started):
        if call.started >= round_end:
            count += 1
            round_end = call.ended
        else:
            round_end = max(round_end, call.ended)
    return count


def server_processes(root: int) -> list[int]:
    """`root` and every process descending from it (the gunicorn master and its workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree.extend(frontier)
    return tree


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def server_memory(root: int) -> dict[str, float]:
    pids = server_processes(root)
    return {
        "processes": len(pids),
        "rss_mb": round(sum(rss_mb(pid) for pid in pids)),
        "pss_mb": round(sum(pss_mb(pid) for pid in pids)),
    }


class RouteDriver:
    """One route in one page: filter changes, each timed to the last chart drawn."""

    def __init__(self, page: Page, route: str, lake: Lake, cache_dir: Path) -> None:
        self.page = page
        self.route = route
        self.lake = lake
        self.cache_dir = cache_dir
        self.requests: list[Request] = []
        self.map_responses: list[Response] = []
        page.on("requestfinished", self._note_request)
        page.on("response", self._note_response)

    def _note_request(self, request: Request) -> None:
        if is_callback(request.url):
            self.requests.append(request)

    def _note_response(self, response: Response) -> None:
        if is_callback(response.url) and "map-graph.figure" in (response.request.post_data or ""):
            self.map_responses.append(response)

    def open(self, base_url: str, dates: dict[str, str]) -> None:
        query = f"?start={dates['start']}&end={dates['end']}"
        self.page.goto(base_url + self.route + query)
        self.page.wait_for_function(DRAWN_AFTER_LOAD, arg=QUIET_MS, polling=20)
        self.page.evaluate(HOOK_GRAPHS)

    def change(self, dates: dict[str, str]) -> tuple[float, float, tuple[Call, ...]]:
        """Set the date fields; return the ms until drawn, until the last callback answer
        arrived, and the callback requests it cost."""
        self.requests.clear()
        started, started_epoch = self.page.evaluate(CHANGE_DATES, dates)
        drawn = self.page.wait_for_function(
            DRAWN_AFTER_CHANGE, arg=[started, QUIET_MS], polling=10
        ).json_value()
        calls = tuple(call_of(request) for request in self.requests)
        answered = max(call.ended for call in calls) - started_epoch
        return round(drawn["ms"], 1), round(answered, 1), calls

    def payloads(self) -> list[Replay]:
        """The requests the last change sent (the load mode replays them)."""
        replays = []
        for request in self.requests:
            url = urlsplit(request.url)
            replays.append(Replay(f"{url.path}?{url.query}", json.loads(request.post_data or "{}")))
        return replays

    def empty_cache(self) -> None:
        empty_query_cache(self.cache_dir)

    def measure(self, repeats: int, next_shift: Iterator[int]) -> Iterator[Sample]:
        """Warm, new-selection and cold samples for both selections, `repeats` of each."""
        warm = {s: dates_for(self.lake, s, 0) for s in SELECTIONS}

        def sample(selection: str, mode: str, dates: dict[str, str]) -> Sample:
            if mode == "cold":
                self.empty_cache()
            return Sample(self.route, selection, mode, *self.change(dates))

        for _ in range(repeats):
            yield sample("all-time", "warm", warm["all-time"])
            yield sample("30-day", "warm", warm["30-day"])
        for _ in range(repeats):
            shift = next(next_shift)
            yield sample("30-day", "new selection", dates_for(self.lake, "30-day", shift))
            yield sample("all-time", "new selection", dates_for(self.lake, "all-time", shift))
        for _ in range(repeats):
            yield sample("all-time", "cold", warm["all-time"])
            yield sample("30-day", "cold", warm["30-day"])


def empty_query_cache(cache_dir: Path) -> None:
    # diskcache is safe to clear while the server's processes hold it open.
    with diskcache.Cache(str(cache_dir)) as cache:
        cache.clear()


def map_payload(response: Response) -> dict[str, object]:
    body = response.body()
    headers = response.headers
    return {
        "body_bytes": len(body),
        "content_length": headers.get("content-length", "–"),
        "content_encoding": headers.get("content-encoding", "none"),
        "wire_bytes": response.request.sizes()["responseBodySize"],
        "gzip6_bytes": len(gzip.compress(body, compresslevel=6)),
    }


def new_page(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    page.set_default_timeout(180_000)
    return context, page


def load_time(page: Page, url: str) -> float:
    """Navigation start → every chart of the default view drawn."""
    page.goto(url)
    drawn = page.wait_for_function(DRAWN_AFTER_LOAD, arg=QUIET_MS, polling=20).json_value()
    return round(drawn["ms"], 1)


def page_loads(browser: Browser, url: str, repeats: int) -> dict[str, list[float]]:
    """First visits (each in a new browser context: nothing cached) and repeat visits (one
    context, after one visit: Dash's fingerprinted bundles come from the HTTP cache)."""
    first = []
    for _ in range(repeats):
        context, page = new_page(browser)
        first.append(load_time(page, url))
        context.close()
    context, page = new_page(browser)
    load_time(page, url)
    again = [load_time(page, url) for _ in range(repeats)]
    context.close()
    return {"first visit": first, "repeat visit": again}


def drive_browser(
    base_url: str,
    server_pid: int,
    lake: Lake,
    data_dir: Path,
    routes: tuple[str, ...],
    repeats: int,
    measure: bool,
) -> BrowserResults:
    """Every route, measured (or, with `measure` False, only visited to record payloads)."""
    results = BrowserResults()
    shifts = iter(range(1, 10_000))
    cache_dir = Layout(data_dir).query_cache_dir
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=BROWSER_ARGS
        )
        for route in routes:
            if measure:
                results.first_loads[route] = page_loads(browser, base_url + route, repeats)
                print(f"{route:9s} first load ms: {results.first_loads[route]}", flush=True)
            context, page = new_page(browser)
            driver = RouteDriver(page, route, lake, cache_dir)
            driver.open(base_url, dates_for(lake, "30-day", 0))
            driver.change(dates_for(lake, "all-time", 0))  # both selections cached from here
            driver.change(dates_for(lake, "30-day", 0))
            results.payloads[route] = driver.payloads()
            if measure:
                for sample in driver.measure(repeats, shifts):
                    results.samples.append(sample)
                    if route == "/map" and sample.mode == "warm":
                        results.map_payloads[sample.selection] = map_payload(
                            driver.map_responses[-1]
                        )
                    driver.map_responses.clear()
                results.rss_after_route[route] = server_memory(server_pid)
                done = [s.ms for s in results.samples if s.route == route]
                print(
                    f"{route:9s} {len(done)} changes, median {statistics.median(done):.0f} ms; "
                    f"server {results.rss_after_route[route]}",
                    flush=True,
                )
            context.close()
        browser.close()
    if measure:
        results.alone = callbacks_alone(base_url, results.payloads, lake, cache_dir, repeats)
    return results


# -- simulated users -------------------------------------------------------------------------


LOAD_MIX = (
    "each user stays on one route (round robin) and changes filters as soon as the answers to "
    "the last change arrived (with --think S: after a pause of 0.5-1.5 × S seconds, someone "
    "reading the charts): a window of 1, 7, 30, 30, 90 or 365 days at a random end, or all "
    "time (1 in 7); 0-2 primary types; a district 1 in 4; arrest and domestic all/yes/no; an "
    "hour range 1 in 5; the query cache emptied first"
)


def random_query(rng: random.Random, lake: Lake) -> dict[str, str]:
    """The `filters` store a person's panel choices make (LOAD_MIX), as the browser gathers it."""
    length = rng.choice([1, 7, 30, 30, 90, 365, None])
    total = (lake.last - lake.first).days + 1
    if length is None or length >= total:
        start, end = lake.first, lake.last
    else:
        end = lake.last - dt.timedelta(days=rng.randrange(total - length + 1))
        start = end - dt.timedelta(days=length - 1)
    hours = [0, 23] if rng.random() < 0.8 else sorted(rng.sample(range(24), 2))
    types = list(lake.dimensions.primary_types)
    districts = list(lake.dimensions.districts)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "types": "|".join(rng.sample(types, rng.choice([0, 0, 0, 1, 2]))),
        "district": rng.choice(districts) if rng.random() < 0.25 else "",
        "arrest": rng.choice(["", "", "true", "false"]),
        "domestic": rng.choice(["", "", "true", "false"]),
        "hours": f"{hours[0]}-{hours[1]}",
    }


async def post(
    client: httpx.AsyncClient, target: str, payload: dict[str, Any], results: LoadResults
) -> dict[str, Any] | None:
    """Send one callback request; None (and an error counted) unless it answers 200."""
    started = time.perf_counter()
    try:
        answer = await client.post(target, json=payload)
    except httpx.HTTPError as error:
        results.errors[type(error).__name__] += 1
        return None
    results.requests.append((time.perf_counter() - started) * 1000)
    if answer.status_code != 200:
        results.errors[f"HTTP {answer.status_code}"] += 1
        return None
    body: dict[str, Any] = answer.json()
    return body


async def simulated_user(
    client: httpx.AsyncClient,
    route: str,
    payloads: list[Replay],
    lake: Lake,
    seed: int,
    deadline: float,
    results: LoadResults,
) -> None:
    """Change filters (every callback the browser sends for a change, at once), back to back
    or with `results.think` seconds (± half) between changes."""
    rng = random.Random(seed)
    while time.perf_counter() < deadline:
        query = random_query(rng, lake)
        started = time.perf_counter()
        sends = []
        for payload in payloads:
            request = copy.deepcopy(payload.body)
            request["inputs"][0]["value"] = query
            sends.append(post(client, payload.target, request, results))
        answers = await asyncio.gather(*sends)
        if all(a is not None for a in answers):
            took = (time.perf_counter() - started) * 1000
            results.updates.append(took)
            results.route_updates.setdefault(route, []).append(took)
        if results.think:
            await asyncio.sleep(results.think * rng.uniform(0.5, 1.5))


async def simulate_users(
    base_url: str,
    payloads: dict[str, list[Replay]],
    lake: Lake,
    users: int,
    seconds: float,
    think: float,
) -> LoadResults:
    """`users` users, each on one route (round robin), for `seconds`; asyncio keeps the client
    cheap next to the server on a 2-core machine."""
    results = LoadResults(users=users, seconds=seconds, think=think)
    assigned = [list(payloads)[n % len(payloads)] for n in range(users)]
    limits = httpx.Limits(max_connections=users * 6, max_keepalive_connections=users * 6)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(
            *(
                simulated_user(client, route, payloads[route], lake, n, deadline, results)
                for n, route in enumerate(assigned)
            )
        )
        results.elapsed = time.perf_counter() - started
    return results


# -- callbacks alone --------------------------------------------------------------------------


def callbacks_alone(
    base_url: str, payloads: dict[str, list[Replay]], lake: Lake, cache_dir: Path, repeats: int
) -> dict[str, list[float]]:
    """Each callback the browser sends for a change to all time, one request at a time over
    loopback with the query cache emptied before each: the server's own time per callback,
    without the browser's other requests sharing the two cores. ms until the whole answer."""
    everything = dates_for(lake, "all-time", 0)
    took: dict[str, list[float]] = {}
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for route_payloads in payloads.values():
            for payload in route_payloads:
                body = copy.deepcopy(payload.body)
                value = body["inputs"][0].get("value")
                if isinstance(value, dict) and "start" in value:
                    value.update(everything)
                for _ in range(repeats):
                    empty_query_cache(cache_dir)
                    started = time.perf_counter()
                    answer = client.post(payload.target, json=body)
                    assert answer.status_code in (200, 204), answer.text[:300]
                    took.setdefault(body["output"], []).append(
                        (time.perf_counter() - started) * 1000
                    )
    return took


# -- the report ------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    return f"{min(values):.0f}–{max(values):.0f}"


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def worst_route(samples: list[Sample], mode: str, selections: tuple[str, ...]) -> tuple[str, str]:
    """The route × selection with the slowest median: its median (named) and spread."""
    groups: dict[tuple[str, str], list[float]] = {}
    for s in samples:
        if s.mode == mode and s.selection in selections:
            groups.setdefault((s.route, s.selection), []).append(s.ms)
    (route, selection), values = max(groups.items(), key=lambda item: statistics.median(item[1]))
    return (
        f"{statistics.median(values):.0f} ms (p95 {p95(values):.0f}; {route} {selection})",
        f"{spread(values)} ms",
    )


def detail_report(samples: list[Sample]) -> str:
    rows = []
    for route in dict.fromkeys(s.route for s in samples):
        for mode in MODES:
            for selection in SELECTIONS:
                group = [
                    s for s in samples if (s.route, s.mode, s.selection) == (route, mode, selection)
                ]
                values = [s.ms for s in group]
                answered = statistics.median(s.answered_ms for s in group)
                requests = Counter(len(s.calls) for s in group).most_common(1)[0][0]
                trips = Counter(rounds(s.calls) for s in group).most_common(1)[0][0]
                rows.append(
                    (
                        route,
                        selection,
                        mode,
                        f"{statistics.median(values):.0f}",
                        f"{p95(values):.0f}",
                        spread(values),
                        f"{answered:.0f}",
                        str(len(values)),
                        f"{requests} / {trips}",
                    )
                )
    header = (
        "route",
        "selection",
        "cache",
        "median ms",
        "p95 ms",
        "min–max",
        "answered ms",
        "n",
        "requests/rounds",
    )
    return table(rows, header)


def callback_report(samples: list[Sample]) -> tuple[str, tuple[str, str]]:
    """Median time to first byte per callback and case; and the slowest chart callback for
    the all-time cold row."""
    ttfbs: dict[tuple[str, str, str], list[float]] = {}
    for s in samples:
        for call in s.calls:
            ttfbs.setdefault((call.output, s.selection, s.mode), []).append(call.ttfb)
    rows = []
    for output in sorted({key[0] for key in ttfbs}):
        cells = [output]
        for mode in MODES:
            for selection in SELECTIONS:
                values = ttfbs.get((output, selection, mode))
                cells.append(f"{statistics.median(values):.0f}" if values else "–")
        rows.append(tuple(cells))
    header = ("callback (TTFB ms, median)", *(f"{m} {s}" for m in MODES for s in SELECTIONS))
    cold_all = {
        output: values
        for (output, selection, mode), values in ttfbs.items()
        if (selection, mode) == ("all-time", "cold") and is_chart(output)
    }
    slowest = max(cold_all, key=lambda o: statistics.median(cold_all[o]))
    values = cold_all[slowest]
    headline = (f"{statistics.median(values):.0f} ms ({slowest})", f"{spread(values)} ms")
    return table(rows, header), headline


def report(
    command: str,
    lake: Lake,
    browser: BrowserResults | None,
    load: LoadResults | None,
    memory: dict[str, dict[str, float]],
) -> None:
    print()
    print(f"command: {command}")
    print(
        f"lake: {lake.rows:,} rows, {lake.first} to {lake.last}; 30-day = {lake.default_start} "
        f"to {lake.default_end}; chicrime serve --workers {WORKERS}; {os.cpu_count()} cores"
    )
    load_average = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min): {load_average} (other work shares the cores)")
    rows: list[tuple[str, ...]] = []
    if browser is not None and browser.samples:
        samples = browser.samples
        rows.append(
            (
                "browser: filter change → every chart drawn, warm cache, any route",
                *worst_route(samples, "warm", SELECTIONS),
                TARGETS["warm"],
            )
        )
        for selection in SELECTIONS:
            rows.append(
                (
                    f"browser: same, cold cache, {selection} selection",
                    *worst_route(samples, "cold", (selection,)),
                    TARGETS[f"cold/{selection}"],
                )
            )
        callbacks, slowest = callback_report(samples)
        rows.append(
            (
                "server: each chart's callback, all-time, cold, in the browser (TTFB)",
                *slowest,
                TARGETS["callback"],
            )
        )
        alone = {o: v for o, v in browser.alone.items() if is_chart(callback_name(o))}
        if alone:
            worst = max(alone, key=lambda o: statistics.median(alone[o]))
            rows.append(
                (
                    "server: the same, one request at a time (callbacks_alone)",
                    f"{statistics.median(alone[worst]):.0f} ms ({callback_name(worst)})",
                    f"{spread(alone[worst])} ms",
                    TARGETS["callback"],
                )
            )
        for visit in ("first visit", "repeat visit"):
            loads = {route: kinds[visit] for route, kinds in browser.first_loads.items()}
            worst = max(loads, key=lambda r: statistics.median(loads[r]))
            rows.append(
                (
                    f"first page load to charts drawn, {visit} (slowest route)",
                    f"{statistics.median(loads[worst]) / 1000:.2f} s ({worst})",
                    f"{min(loads[worst]) / 1000:.2f}–{max(loads[worst]) / 1000:.2f} s",
                    TARGETS["first load"],
                )
            )
        thirty = browser.map_payloads.get("30-day")
        if thirty is not None:
            rows.append(
                (
                    "map payload for 30 days (JSON body as sent)",
                    f"{int(thirty['body_bytes']) / 1000:.0f} kB",
                    f"{int(thirty['wire_bytes']) / 1000:.0f} kB on the wire "
                    f"({thirty['content_encoding']}); "
                    f"gzip-6 {int(thirty['gzip6_bytes']) / 1000:.0f} kB",
                    TARGETS["map payload"],
                )
            )
    if load is not None:
        rate = len(load.requests) / load.elapsed
        errors = sum(load.errors.values())
        value = f"{errors} errors, p95 {p95(load.updates):.0f} ms" if load.updates else "no updates"
        rows.append(
            (
                f"{load.users} concurrent users changing filters for {load.seconds:.0f} s"
                + (f", pausing ~{load.think:g} s between changes" if load.think else ""),
                value,
                f"{spread(load.updates)} ms; {rate:.1f} req/s" if load.updates else "–",
                TARGETS["load"],
            )
        )
    for label, figures in memory.items():
        rows.append(
            (
                f"server RSS, all processes, {label}",
                f"{figures['rss_mb']:.0f} MB",
                f"{figures['processes']:.0f} processes; PSS {figures['pss_mb']:.0f} MB",
                TARGETS["rss"],
            )
        )
    print()
    print(table(rows, ("measure", "value", "spread / detail", "target")))
    if browser is not None and browser.samples:
        print()
        print("filter change → every chart drawn, per route. answered = median ms until the last")
        print("callback answer arrived (the rest is the browser decoding and drawing);")
        print("requests = callback requests per change, rounds = sequential round trips:")
        print(detail_report(browser.samples))
        print()
        print(callbacks)
        print()
        print("each callback alone, all time, cold (one request at a time, cache emptied), ms:")
        print(
            table(
                [
                    (callback_name(o), f"{statistics.median(v):.0f}", spread(v))
                    for o, v in sorted(browser.alone.items())
                ],
                ("callback", "median", "min–max"),
            )
        )
        print()
        print("page load to charts drawn, default view (ms); first visit = new browser context:")
        print(
            table(
                [
                    (route, visit, f"{statistics.median(v):.0f}", f"{p95(v):.0f}", spread(v))
                    for route, kinds in browser.first_loads.items()
                    for visit, v in kinds.items()
                ],
                ("route", "visit", "median", "p95", "min–max"),
            )
        )
        print()
        for selection, payload in browser.map_payloads.items():
            print(f"map callback response, {selection}: {payload}")
        for route, figures in browser.rss_after_route.items():
            print(f"server memory after {route}: {figures}")
    if load is not None:
        print()
        print(
            f"load: {load.users} users, {load.seconds:.0f} s ({load.elapsed:.1f} s until the last "
            f"update ended), {len(load.updates)} updates, {len(load.requests)} requests "
            f"({len(load.requests) / load.elapsed:.1f} req/s), errors {dict(load.errors) or 0}"
        )
        print(
            f"  an update = every callback request the browser sends for a change, at once; "
            f"{LOAD_MIX}"
        )
        if load.updates:
            print(
                f"  per update: p50 {statistics.median(load.updates):.0f} ms, "
                f"p95 {p95(load.updates):.0f} ms, max {max(load.updates):.0f} ms"
            )
            for route, took in load.route_updates.items():
                print(
                    f"    {route:9s} {len(took):4d} updates: p50 {statistics.median(took):.0f} "
                    f"ms, p95 {p95(took):.0f} ms"
                )
            print(
                f"  per request: p50 {statistics.median(load.requests):.0f} ms, "
                f"p95 {p95(load.requests):.0f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=25)
    parser.add_argument("--data-dir", type=Path, help="reuse (or create) a demo lake here")
    parser.add_argument("--repeats", type=int, default=7, help="changes per case (7)")
    parser.add_argument("--users", type=int, default=0, help="simulated users (0: no load run)")
    parser.add_argument("--seconds", type=float, default=60, help="length of the load run")
    parser.add_argument(
        "--think", type=float, default=0, help="seconds users pause between changes (0)"
    )
    parser.add_argument("--skip-browser", action="store_true", help="no browser measurements")
    parser.add_argument(
        "--routes", nargs="+", choices=PAGES, default=PAGES, help="pages to drive (all)"
    )
    args = parser.parse_args()
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])

    scratch = None
    if args.data_dir is None:
        scratch = tempfile.TemporaryDirectory()
        args.data_dir = Path(scratch.name) / "data"
    if not (args.data_dir / "lake" / "crimes").exists():
        print(f"demo --years {args.years}: {make_demo(args.data_dir, args.years)}", flush=True)
    lake = describe_lake(args.data_dir)

    browser: BrowserResults | None = None
    load: LoadResults | None = None
    memory: dict[str, dict[str, float]] = {}
    with (
        tempfile.NamedTemporaryFile(prefix="bench_browser_", suffix=".log", delete=False) as log,
        running_dashboard(args.data_dir, log, workers=WORKERS) as (url, server),
    ):
        print(f"server log: {log.name}", flush=True)
        if not args.skip_browser or args.users:
            browser = drive_browser(
                url,
                server.pid,
                lake,
                args.data_dir,
                tuple(args.routes),
                args.repeats,
                not args.skip_browser,
            )
        if not args.skip_browser:
            memory["after every route and both selections"] = server_memory(server.pid)
        if args.users:
            assert browser is not None  # it recorded the requests the users replay
            # From an empty query cache: the figures must not depend on what ran before.
            empty_query_cache(Layout(args.data_dir).query_cache_dir)
            load = asyncio.run(
                simulate_users(url, browser.payloads, lake, args.users, args.seconds, args.think)
            )
            memory[f"after {args.users} users"] = server_memory(server.pid)
    report(command, lake, browser, load, memory)
    if scratch is not None:
        scratch.cleanup()


if __name__ == "__main__":
    main()
