"""Ingestion benchmark: a 25-year backfill and daily incremental runs over loopback HTTP.

Generates ~8.5M synthetic records in the API's shape, serves them from the loopback Socrata
server (rows pre-sorted by id, JSON fragments pre-encoded by a warm-up pass), then runs
`chicrime ingest --once` as a separate process and reports wall time, rows/s, peak RSS (the
child's `ru_maxrss`) and the server's share of the wall time (time spent in its handlers).

    .venv/bin/python bench/bench_ingest.py                # full size, 5 daily runs
    .venv/bin/python bench/bench_ingest.py --rows 500000  # a quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.socrata_server import SocrataDataset, SocrataServer  # noqa: E402

CHICRIME = str(Path(sys.executable).with_name("chicrime"))
FIRST_DAY = dt.datetime(2001, 1, 1)
LAST_DAY = dt.datetime(2025, 12, 31, 23, 59)
TYPES = [
    "THEFT",
    "BATTERY",
    "CRIMINAL DAMAGE",
    "ASSAULT",
    "DECEPTIVE PRACTICE",
    "OTHER OFFENSE",
    "NARCOTICS",
    "BURGLARY",
    "MOTOR VEHICLE THEFT",
    "ROBBERY",
]
LOCATIONS = [
    "STREET",
    "RESIDENCE",
    "APARTMENT",
    "SIDEWALK",
    "PARKING LOT / GARAGE (NON RESIDENTIAL)",
]


def synthetic_frame(rows: int, seed: int = 7) -> pl.DataFrame:
    """API-shaped records: strings and JSON booleans, ids rising with date, ~2% lack coordinates."""
    rng = np.random.default_rng(seed)
    span = int((LAST_DAY - FIRST_DAY).total_seconds() // 60)
    minutes = np.sort(rng.integers(0, span, rows))
    ids = np.arange(1_000_000, 1_000_000 + rows, dtype=np.int64)
    lag_minutes = rng.integers(60, 60 * 24 * 30, rows)
    has_coordinates = rng.random(rows) > 0.02
    frame = pl.DataFrame(
        {
            "id": ids,
            "minute": minutes,
            "updated_minute": np.minimum(minutes + lag_minutes, span),
            "primary_type": rng.choice(TYPES, rows),
            "location_description": rng.choice(LOCATIONS, rows),
            "arrest": rng.random(rows) < 0.2,
            "domestic": rng.random(rows) < 0.17,
            "district": rng.integers(1, 26, rows),
            "beat_suffix": rng.integers(11, 35, rows),
            "ward": rng.integers(1, 51, rows),
            "community_area": rng.integers(1, 78, rows),
            "block_number": rng.integers(0, 120, rows),
            "latitude": np.where(has_coordinates, rng.uniform(41.65, 42.02, rows), np.nan),
            "longitude": np.where(has_coordinates, rng.uniform(-87.93, -87.52, rows), np.nan),
        }
    )
    origin = pl.lit(FIRST_DAY)

    def timestamp(column: str) -> pl.Expr:
        moment = origin + pl.duration(minutes=pl.col(column))
        return moment.dt.strftime("%Y-%m-%dT%H:%M:%S.000")

    return frame.select(
        pl.col("id").cast(pl.String),
        pl.format("J{}", pl.col("id")).alias("case_number"),
        timestamp("minute").alias("date"),
        pl.format("0{}XX W MADISON ST", pl.col("block_number")).alias("block"),
        pl.lit("0486").alias("iucr"),
        "primary_type",
        pl.lit("SIMPLE").alias("description"),
        "location_description",
        "arrest",
        "domestic",
        pl.format(
            "{}{}", pl.col("district").cast(pl.String).str.zfill(2), pl.col("beat_suffix")
        ).alias("beat"),
        pl.col("district").cast(pl.String).str.zfill(3).alias("district"),
        pl.col("ward").cast(pl.String),
        pl.col("community_area").cast(pl.String),
        pl.lit("08B").alias("fbi_code"),
        timestamp("updated_minute").alias("updated_on"),
        pl.col("latitude").fill_nan(None).round(9).cast(pl.String),
        pl.col("longitude").fill_nan(None).round(9).cast(pl.String),
    )


@dataclass
class Measurement:
    wall_s: float
    peak_rss_mb: float
    server_s: float
    rows_fetched: int
    stdout: str


def run_measured(args: list[str], env: dict[str, str], server: SocrataServer) -> Measurement:
    """Run `chicrime ARGS` as a grandchild of a probe that reports its peak RSS; time it."""
    server_before = server.time_in_handlers
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, CHICRIME, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"chicrime {' '.join(args)} failed ({child.returncode}):\n{child.stderr}")
    fetched = int(child.stdout.split("fetched ", 1)[1].split(" ", 1)[0].replace(",", ""))
    peak = _peak_rss_of_last_run(child.stderr)
    return Measurement(wall, peak, server.time_in_handlers - server_before, fetched, child.stdout)


def _peak_rss_of_last_run(stderr: str) -> float:
    for line in reversed(stderr.splitlines()):
        if line.startswith("PEAK_RSS_KB="):
            return int(line.removeprefix("PEAK_RSS_KB=")) / 1024
    raise SystemExit("the RSS probe did not report")


def daily_changes(
    dataset_max_id: int,
    newest: dt.datetime,
    day: int,
    rng: np.random.Generator,
    recent_ids: np.ndarray,
    old_ids: np.ndarray,
) -> tuple[list[dict[str, object]], list[int]]:
    """A day upstream: 700 new records, 300 recent edits, 40 old corrections, 15 deletions."""
    updated = (newest + dt.timedelta(days=day, hours=6)).strftime("%Y-%m-%dT%H:%M:%S.000")

    def record(row_id: int, date: dt.datetime, kind: str) -> dict[str, object]:
        return {
            "id": str(row_id),
            "case_number": f"J{row_id}",
            "date": date.strftime("%Y-%m-%dT%H:%M:%S.000"),
            "block": "001XX N STATE ST",
            "iucr": "0820",
            "primary_type": kind,
            "description": "$500 AND UNDER",
            "location_description": "STREET",
            "arrest": False,
            "domestic": False,
            "beat": "0111",
            "district": "001",
            "ward": "42",
            "community_area": "32",
            "fbi_code": "06",
            "updated_on": updated,
            "latitude": "41.8837",
            "longitude": "-87.6278",
        }

    base = newest + dt.timedelta(days=day - 1)
    new = [
        record(dataset_max_id + i + 1, base + dt.timedelta(minutes=2 * i), "THEFT")
        for i in range(700)
    ]
    edited = [
        record(int(i), newest - dt.timedelta(days=3, minutes=int(i) % 5000), "ROBBERY")
        for i in rng.choice(recent_ids, min(300, len(recent_ids)), replace=False)
    ]
    corrected = [
        record(int(i), dt.datetime(2012, 5, 5, 12), "ASSAULT")
        for i in rng.choice(old_ids, 40, replace=False)
    ]
    deleted = [int(i) for i in rng.choice(recent_ids, min(15, len(recent_ids)), replace=False)]
    return new + edited + corrected, deleted


RSS_PROBE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'PEAK_RSS_KB={peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8_500_000)
    parser.add_argument("--daily-runs", type=int, default=5)
    parser.add_argument("--backfill-runs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    t0 = time.perf_counter()
    frame = synthetic_frame(args.rows)
    print(
        f"generated {frame.height:,} synthetic rows in {time.perf_counter() - t0:.1f} s", flush=True
    )
    t0 = time.perf_counter()
    dataset = SocrataDataset.from_frame(frame, cache_bytes=8 << 30)
    max_id = int(frame.get_column("id").cast(pl.Int64).max())
    newest = dt.datetime.fromisoformat(frame.get_column("date").max())
    ids = frame.get_column("id").cast(pl.Int64).to_numpy()
    last_week = (newest - dt.timedelta(days=7)).isoformat()
    recent_ids = (
        frame.filter(pl.col("date") >= last_week).get_column("id").cast(pl.Int64).to_numpy()
    )
    old_ids = ids[: len(ids) // 2]
    del frame
    print(f"loaded into the server in {time.perf_counter() - t0:.1f} s", flush=True)

    figures: dict[str, object] = {"rows": args.rows}
    with SocrataServer({"ijzp-q8t2": dataset}) as server, tempfile.TemporaryDirectory() as tmp:
        base_env = {
            **os.environ,
            "SODA_BASE_URL": server.base_url,
            "PAGE_LIMIT": "50000",
            "LOG_LEVEL": "WARNING",
        }
        # Warm-up: the server encodes every row once, so measured runs pay only for serving.
        warm_env = {**base_env, "DATA_DIR": str(Path(tmp) / "warmup")}
        subprocess.run(
            [CHICRIME, "ingest", "--once", "--since", "2001-01-01"],
            env=warm_env,
            check=True,
            capture_output=True,
        )
        print("server warmed up (every page encoded once)", flush=True)

        backfills = []
        for number in range(args.backfill_runs):
            env = {**base_env, "DATA_DIR": str(Path(tmp) / f"lake{number}")}
            m = run_measured(["ingest", "--once", "--since", "2001-01-01"], env, server)
            backfills.append(m)
            print(
                f"backfill {number + 1}: {m.rows_fetched:,} rows in {m.wall_s:.1f} s "
                f"({m.rows_fetched / m.wall_s:,.0f} rows/s), peak RSS {m.peak_rss_mb:,.0f} MB, "
                f"server {m.server_s:.1f} s",
                flush=True,
            )

        env = {**base_env, "DATA_DIR": str(Path(tmp) / "lake0")}
        rng = np.random.default_rng(11)
        dailies = []
        for day in range(1, args.daily_runs + 1):
            changes, deleted = daily_changes(
                max_id + (day - 1) * 700, newest, day, rng, recent_ids, old_ids
            )
            dataset.upsert(changes)
            dataset.delete(deleted)
            recent_ids = np.setdiff1d(recent_ids, deleted)
            m = run_measured(["ingest", "--once"], env, server)
            dailies.append(m)
            print(
                f"daily {day}: {m.rows_fetched:,} rows in {m.wall_s:.2f} s, "
                f"peak RSS {m.peak_rss_mb:,.0f} MB, server {m.server_s:.2f} s | "
                f"{m.stdout.strip()}",
                flush=True,
            )

        history = sorted((Path(tmp) / "lake0" / "lake" / "revisions").glob("*/*.parquet"))
        figures["history"] = {
            "files": len(history),
            "rows": pl.scan_parquet(history).select(pl.len()).collect().item() if history else 0,
            "mb": round(sum(f.stat().st_size for f in history) / 1e6, 2),
        }
        print(f"record history after {len(dailies)} daily runs: {figures['history']}", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [CHICRIME, "export", str(Path(tmp) / "as-of-backfill"), "--as-of", "1"],
            env=env,
            check=True,
            capture_output=True,
        )
        figures["export_as_of_backfill_s"] = round(time.perf_counter() - started, 1)
        print(f"export as of the backfill: {figures['export_as_of_backfill_s']} s", flush=True)
        m = run_measured(["ingest", "--once", "--reconcile"], env, server)
        figures["reconcile"] = _summary([m])
        print(
            f"reconciliation of {len(dataset):,} ids: {m.wall_s:.1f} s, peak RSS "
            f"{m.peak_rss_mb:,.0f} MB, server {m.server_s:.1f} s | {m.stdout.strip()}",
            flush=True,
        )

        status = json.loads(
            subprocess.run(
                [CHICRIME, "status", "--json"], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        expected = len(dataset)

    figures["backfill"] = _summary(backfills)
    figures["daily"] = _summary(dailies)
    figures["lake_rows"] = status["lake"]["rows"]
    figures["upstream_rows"] = expected
    figures["lake_bytes"] = status["lake"]["bytes"]
    print(json.dumps(figures, indent=2))
    print(
        f"lake rows {status['lake']['rows']:,} vs upstream {expected:,}: "
        f"{'equal' if status['lake']['rows'] == expected else 'DIFFERENT'}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def _summary(runs: list[Measurement]) -> dict[str, float]:
    return {
        "runs": len(runs),
        "rows_fetched_median": statistics.median(m.rows_fetched for m in runs),
        "wall_s_median": round(statistics.median(m.wall_s for m in runs), 2),
        "wall_s_max": round(max(m.wall_s for m in runs), 2),
        "rows_per_s_median": round(statistics.median(m.rows_fetched / m.wall_s for m in runs)),
        "peak_rss_mb_median": round(statistics.median(m.peak_rss_mb for m in runs)),
        "peak_rss_mb_max": round(max(m.peak_rss_mb for m in runs)),
        "server_s_median": round(statistics.median(m.server_s for m in runs), 2),
        "server_share_median": round(statistics.median(m.server_s / m.wall_s for m in runs), 3),
    }


if __name__ == "__main__":
    main()
