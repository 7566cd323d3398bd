"""`chicrime export`: a copy of the lake, as it is or as it stood after a past run.

The copy has the lake's layout (`year=YYYY/month=MM/*.parquet`, the same columns and file
metadata), so whatever reads the lake reads the export. It is built in a temporary directory
beside `out` and renamed into place only when complete; an existing `out` is never touched.
A partition no later change reached is copied as it is; the others are rebuilt from the
current rows and the record history (`chicrime.store.history.restored_rows`).
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from chicrime.errors import LakeError
from chicrime.store.faults import reading, writing
from chicrime.store.history import check_as_of, read_history, restored_rows
from chicrime.store.lake import Lake, write_partition
from chicrime.store.layout import Partition, partition_dir
from chicrime.store.versions import version_partitions

__all__ = ["Exported", "export_lake"]


@dataclass(frozen=True)
class Exported:
    """What an export wrote."""

    out: Path
    rows: int
    partitions: int
    rebuilt: int  # partitions rebuilt from the history rather than copied
    as_of_run: int | None


def export_lake(lake: Lake, out: Path, as_of_run: int | None = None) -> Exported:
    """Write the current lake, or the lake as of run `as_of_run`, to the new directory `out`."""
    if out.exists():
        raise LakeError(f"{out} already exists; export writes a new directory only")
    version = lake.version()
    if version is None:
        raise LakeError("there is no lake to export yet: run `chicrime ingest --once` first")
    files = version_partitions(lake.root / version)
    every = [f for paths in files.values() for f in paths]
    current = pl.scan_parquet(every, hive_partitioning=False) if every else None
    affected = pl.Series("id", [], pl.Int64)
    restored: dict[Partition, pl.DataFrame] = {}
    reached: set[Partition] = set()
    if as_of_run is not None and current is not None:
        check_as_of(lake.root, version, as_of_run)
        with reading(every):
            affected, rows = restored_rows(current, read_history(lake.root, version), as_of_run)
            reached = {
                (int(y), int(m))
                for y, m in current.filter(pl.col("id").is_in(affected.implode()))
                .select("year", "month")
                .unique()
                .collect()
                .iter_rows()
            }
        restored = {
            (int(y), int(m)): part
            for (y, m), part in rows.partition_by(["year", "month"], as_dict=True).items()
        }
    build = out.parent / f".{out.name}.{secrets.token_hex(3)}.tmp"
    total = rebuilt = 0
    try:
        with writing(build):
            build.mkdir(parents=True)
        for partition in sorted(set(files) | set(restored)):
            paths = files.get(partition, [])
            if partition in reached or partition in restored:
                with reading(paths):
                    old = pl.read_parquet(paths) if paths else restored[partition].clear()
                rows_now = pl.concat(
                    [
                        old.filter(~pl.col("id").is_in(affected.implode())),
                        restored.get(partition, old.clear()),
                    ]
                ).sort(["date", "id"])
                if rows_now.height:
                    write_partition(rows_now, build, partition, f"as-of-{as_of_run}")
                total += rows_now.height
                rebuilt += 1
            else:
                target = partition_dir(build, partition)
                with writing(target):
                    target.mkdir(parents=True)
                    for path in paths:
                        shutil.copyfile(path, target / path.name)
                with reading(paths):
                    total += (
                        pl.scan_parquet(paths, hive_partitioning=False)
                        .select(pl.len())
                        .collect()
                        .item()
                    )
        with writing(out):
            build.rename(out)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    partitions = sum(1 for _ in out.glob("year=*/month=*"))
    return Exported(out, total, partitions, rebuilt, as_of_run)
