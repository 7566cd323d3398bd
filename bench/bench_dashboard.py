"""Dashboard benchmark on a 25-year demo lake: query/callback latency, map payload, server RSS.

1. `chicrime demo --years 25` (timed, peak RSS) into a scratch DATA_DIR.
2. Each chart's work — the analytics query, the figure, its JSON (what a Dash callback does) —
   for a 30-day and an all-time selection: p50/p95 uncached (cache off) and cached.
3. Map payload bytes (points for 30 days, hexagons for all time).
4. `chicrime serve` with 2 workers, every page opened in headless Chromium for both
   selections, then the RSS of the master and each worker.

    .venv/bin/python bench/bench_dashboard.py [--years 25] [--repeats 9] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_ingest import RSS_PROBE  # the same child-RSS probe as the ingestion benchmark
from plotly.io.json import to_json_plotly

from chicrime.analytics import Analytics, Filters
from chicrime.app import charts
from chicrime.app.context import AppContext, install
from chicrime.settings import Settings
from tests.dashboard_server import BROWSER_ARGS, CHICRIME, running_dashboard

PAGES = ("/", "/trends", "/map", "/arrests", "/areas", "/changes", "/data")


def make_demo(data_dir: Path, years: float) -> dict[str, float]:
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, CHICRIME, "demo", "--years", str(years)],
        env={**os.environ, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    peak_kb = int(child.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
    print(child.stdout.strip(), flush=True)
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(peak_kb / 1024)}


def timed(work: Callable[[], object], repeats: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return round(statistics.median(samples), 1), round(p95, 1)


def chart_jobs(filters: Filters) -> dict[str, Callable[[], object]]:
    """What each callback computes for a selection, ending in the JSON Dash would send
    (Dash encodes figures with plotly's `to_json_plotly`)."""

    def figure(build: Callable[[Filters], object]) -> Callable[[], object]:
        def job() -> object:
            result = build(filters)
            shown = result[0] if isinstance(result, tuple) else result
            return None if shown is None else to_json_plotly(shown)

        return job

    from chicrime.app.context import current

    analytics = current().analytics
    return {
        "kpis": lambda: analytics.kpis(filters),
        "incidents_over_time": figure(charts.incidents_over_time),
        "top_types": figure(charts.top_types),
        "weekday_hour": figure(charts.weekday_hour),
        "arrest_rates": figure(charts.arrest_rates),
        "map": figure(charts.map_view),
        "table": lambda: analytics.table(filters).to_dicts(),
    }


def latency(data_dir: Path, repeats: int) -> dict[str, object]:
    settings = Settings(data_dir=data_dir, map_style="white-bg")
    results: dict[str, object] = {}
    for cached in (False, True):
        analytics = Analytics(data_dir, cache=cached)
        install(AppContext(settings=settings, analytics=analytics))
        default = analytics.default_filters()
        span = analytics.date_range()
        assert default is not None
        assert span is not None
        selections = {"30_days": default, "all_time": Filters(start=span[0], end=span[1])}
        for label, filters in selections.items():
            for name, job in chart_jobs(filters).items():
                job()  # warm: connection, file metadata, and (when cached) the cache entry
                p50, p95 = timed(job, repeats)
                key = f"{'cached' if cached else 'uncached'}/{label}/{name}"
                results[key] = {"p50_ms": p50, "p95_ms": p95}
                print(f"{key:45s} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms", flush=True)
        if cached:
            for label, filters in selections.items():
                figure, _note = charts.map_view(filters)
                assert figure is not None
                size = len(to_json_plotly(figure).encode())
                results[f"map_payload_bytes/{label}"] = size
                print(f"map payload {label}: {size:,} bytes", flush=True)
    return results


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_rss(data_dir: Path) -> dict[str, object]:
    """Open every page for the default and the all-time selection, then read the RSS."""
    from playwright.sync_api import sync_playwright

    span = Analytics(data_dir, cache=False).date_range()
    assert span is not None
    queries = ["", f"?start={span[0]}&end={span[1]}"]
    with tempfile.TemporaryFile() as log, running_dashboard(data_dir, log) as (url, server):
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=BROWSER_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            for query in queries:
                for path in PAGES:
                    page.goto(url + path + query)
                    page.wait_for_selector("#filter-types")
                    # A function, not an expression: the dashboard's CSP forbids eval.
                    page.wait_for_function(
                        "() => !document.querySelector('[data-dash-is-loading=\"true\"]')"
                    )
                    page.wait_for_timeout(500)
            browser.close()
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        workers = [round(rss_mb(int(pid))) for pid in children]
        master = round(rss_mb(server.pid))
    print(f"server RSS: master {master} MB, workers {workers} MB", flush=True)
    return {"master_mb": master, "workers_mb": workers, "total_mb": master + sum(workers)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=25)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--data-dir", type=Path, help="reuse (or create) a demo lake here")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    scratch = None
    if args.data_dir is None:
        scratch = tempfile.TemporaryDirectory()
        args.data_dir = Path(scratch.name) / "data"
    figures: dict[str, object] = {}
    if not (args.data_dir / "lake" / "crimes").exists():
        figures["demo"] = make_demo(args.data_dir, args.years)
        print(f"demo --years {args.years}: {figures['demo']}", flush=True)
    figures["latency"] = latency(args.data_dir, args.repeats)
    figures["server_rss"] = server_rss(args.data_dir)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if scratch is not None:
        scratch.cleanup()


if __name__ == "__main__":
    main()
