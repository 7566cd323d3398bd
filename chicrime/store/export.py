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
from chicrime.store.schema import LAKE_SCHEMA
from chicrime.store.versions import scan_files, version_partitions

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
    changes = _Changes.none()
    if as_of_run is not None and files:
        check_as_of(lake.root, version, as_of_run)
        changes = _Changes.since(files, read_history(lake.root, version), as_of_run)
    build = out.parent / f".{out.name}.{secrets.token_hex(3)}.tmp"
    total = rebuilt = 0
    try:
        with writing(build):
            build.mkdir(parents=True)
        for partition in sorted(set(files) | set(changes.restored)):
            paths = files.get(partition, [])
            if partition in changes.reached or partition in changes.restored:
                total += changes.rebuild(partition, paths, build, f"as-of-{as_of_run}")
                rebuilt += 1
            else:
                total += _copy(partition, paths, build)
        with writing(out):
            build.rename(out)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    partitions = sum(1 for _ in out.glob("year=*/month=*"))
    return Exported(out, total, partitions, rebuilt, as_of_run)


@dataclass(frozen=True)
class _Changes:
    """What later runs changed: the ids they touched, the partitions holding those ids now,
    and the rows as of the run, by the partition they belong in."""

    affected: pl.Series
    reached: frozenset[Partition]
    restored: dict[Partition, pl.DataFrame]

    @classmethod
    def none(cls) -> _Changes:
        return cls(pl.Series("id", [], pl.Int64), frozenset(), {})

    @classmethod
    def since(
        cls, files: dict[Partition, list[Path]], history: pl.LazyFrame, run_id: int
    ) -> _Changes:
        every = [f for paths in files.values() for f in paths]
        current = scan_files(every)
        with reading(every):
            affected, rows = restored_rows(current, history, run_id)
            held = (
                current.filter(pl.col("id").is_in(affected.implode()))
                .select("year", "month")
                .unique()
                .collect()
            )
        return cls(
            affected,
            frozenset((int(y), int(m)) for y, m in held.iter_rows()),
            {
                (int(y), int(m)): part
                for (y, m), part in rows.partition_by(["year", "month"], as_dict=True).items()
            },
        )

    def rebuild(self, partition: Partition, paths: list[Path], build: Path, label: str) -> int:
        """Write the partition as of the run (its current rows less the affected ids, plus the
        restored rows that belong in it); how many rows it holds."""
        with reading(paths):
            current = pl.read_parquet(paths) if paths else pl.DataFrame(schema=LAKE_SCHEMA)
        rows = pl.concat(
            [
                current.filter(~pl.col("id").is_in(self.affected.implode())),
                self.restored.get(partition, current.clear()),
            ]
        ).sort(["date", "id"])
        if rows.height:
            write_partition(rows, build, partition, label)
        return rows.height


def _copy(partition: Partition, paths: list[Path], build: Path) -> int:
    """Copy the partition's files as they are; how many rows they hold (from their footers)."""
    target = partition_dir(build, partition)
    with writing(target):
        target.mkdir(parents=True)
        for path in paths:
            shutil.copyfile(path, target / path.name)
    with reading(paths):
        return int(
            pl.scan_parquet(paths, hive_partitioning=False).select(pl.len()).collect().item()
        )
