"""Record-history benchmark: what keeping every revision costs a daily commit, and as-of export.

On a hard-linked copy of a 25-year demo lake (`chicrime demo --years 25`; built here if
missing), 30 simulated days of upstream changes (700 new records, 300 edits of recent ones,
40 corrections of old ones and 15 deletions a day) are merged and committed twice each, into
two copies of the lake: once recording the history (as every run does) and once with the
recording skipped. Both commits run the same code otherwise, in this process, alternately, so
the ratio of their times is what the history costs. Then the lake as of the first simulated
day is exported whole.

    .venv/bin/python bench/bench_history.py --data-dir /tmp/bench25 --days 30
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chicrime.store.export import export_lake  # noqa: E402
from chicrime.store.history import Observation, history_files  # noqa: E402
from chicrime.store.lake import Lake  # noqa: E402
from chicrime.store.staging import Staging  # noqa: E402

CHICRIME = str(Path(sys.executable).with_name("chicrime"))


def copy_lake(source: Path, target: Path) -> Lake:
    """A copy of `source`'s lake sharing its (never rewritten) files: `cp -al`."""
    target.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(source / "lake"), str(target / "lake")], check=True)
    return Lake(target / "lake")


def day_of_changes(
    lake: Lake, day: int, newest: dt.datetime, next_id: int, rng: np.random.Generator
) -> tuple[pl.DataFrame, list[int]]:
    """A day upstream, as lake rows: 700 new, 300 recent edits, 40 old corrections, and 15
    deletions of recent records."""
    seen = newest + dt.timedelta(days=day, hours=6)
    recent = lake.scan().filter(pl.col("date") >= newest - dt.timedelta(days=30)).collect()
    old = lake.scan().filter(pl.col("year") == 2012 + day % 10).head(50_000).collect()
    new = recent.sample(700, seed=day, with_replacement=True).with_columns(
        pl.Series("id", np.arange(next_id, next_id + 700, dtype=np.int64)),
        (pl.col("date") + dt.timedelta(days=day)).alias("date"),
    )
    edited = recent.sample(300, seed=1000 + day).with_columns(
        pl.col("arrest").not_(), pl.lit("ROBBERY").alias("primary_type")
    )
    corrected = old.sample(40, seed=2000 + day).with_columns(
        (pl.col("latitude") + 0.001).alias("latitude")
    )
    rows = pl.concat([new, edited, corrected]).with_columns(
        pl.lit(seen, pl.Datetime("us")).alias("updated_on"),
        pl.col("date").dt.year().cast(pl.Int16).alias("year"),
        pl.col("date").dt.month().cast(pl.Int8).alias("month"),
    )
    deleted = rng.choice(recent.get_column("id").to_numpy(), 15, replace=False).tolist()
    return rows, [int(i) for i in deleted]


def commit(
    lake: Lake, rows: pl.DataFrame, deleted: list[int], work: Path, run: Observation
) -> float:
    started = time.perf_counter()
    with Staging(work / f"staging-{run.run_id}-{run.restart}") as staging:
        staging.add(rows)
        plan = lake.plan_merge(staging, deleted)
        lake.commit(staging, plan, label=f"b{run.run_id:06d}", observation=run)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/bench25"))
    parser.add_argument("--years", type=float, default=25)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    if not (args.data_dir / "lake" / "crimes").exists():
        subprocess.run(
            [CHICRIME, "demo", "--years", str(args.years), "--revision-days", "0"],
            env={"DATA_DIR": str(args.data_dir), "PATH": "/usr/bin:/bin"},
            check=True,
        )
    with tempfile.TemporaryDirectory(dir=args.data_dir.parent) as tmp:
        work = Path(tmp)
        recorded = copy_lake(args.data_dir, work / "recorded")
        skipped = copy_lake(args.data_dir, work / "skipped")
        newest = recorded.summary().max_date
        assert newest is not None
        next_id = int(recorded.scan().select(pl.col("id").max()).collect().item()) + 1
        rng = np.random.default_rng(3)
        with_history: list[float] = []
        without: list[float] = []
        first_run = 1_000_001
        for day in range(1, args.days + 1):
            rows, deleted = day_of_changes(recorded, day, newest, next_id, rng)
            next_id += 700
            at = dt.datetime.now(dt.UTC)
            run = first_run + day - 1
            # Alternate which goes first, so neither always meets a warmer page cache.
            pair = [
                (recorded, Observation(run, at), with_history),
                (skipped, Observation(run, at, restart=True), without),
            ]
            for lake, observation, times in pair if day % 2 else pair[::-1]:
                times.append(commit(lake, rows, deleted, work, observation))
            print(
                f"day {day}: commit {with_history[-1]:.2f} s with history, "
                f"{without[-1]:.2f} s without",
                flush=True,
            )
        files = history_files(recorded.root, recorded.version())
        size = sum(f.stat().st_size for f in files)
        events = pl.scan_parquet(files).select(pl.len()).collect().item()
        started = time.perf_counter()
        exported = export_lake(recorded, work / "as-of", as_of_run=first_run)
        export_s = time.perf_counter() - started
        shutil.rmtree(work / "as-of")
        started = time.perf_counter()
        export_lake(recorded, work / "now")
        copy_s = time.perf_counter() - started

    median_with, median_without = statistics.median(with_history), statistics.median(without)
    print(
        f"\ncommit with history: median {median_with:.2f} s "
        f"(range {min(with_history):.2f}-{max(with_history):.2f}); without: median "
        f"{median_without:.2f} s (range {min(without):.2f}-{max(without):.2f}); "
        f"extra {100 * (median_with / median_without - 1):+.1f} %"
    )
    print(
        f"history after {args.days} days: {len(files)} files, {events:,} rows, {size / 1e6:.2f} MB"
    )
    print(
        f"export as of the first day: {exported.rows:,} rows, {exported.rebuilt} partitions "
        f"rebuilt, {export_s:.1f} s (a plain copy of the current lake: {copy_s:.1f} s)"
    )


if __name__ == "__main__":
    main()
