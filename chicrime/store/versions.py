"""Reading the lake's versions: which one is current, the files of each partition, its rows.

A version directory never changes after its commit (the next commit builds a new one), so a
listing may be kept for as long as its version is current.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from chicrime.store.layout import LAKE_LINK, Partition
from chicrime.store.schema import LAKE_SCHEMA

__all__ = ["current_version", "scan_files", "version_partitions", "version_rows"]


def current_version(lake_root: Path) -> str | None:
    """The version directory `lake/crimes` points at, or None when there is no such link."""
    try:
        return os.readlink(lake_root / LAKE_LINK)
    except OSError:  # missing, or not a link
        return None


def version_partitions(version_dir: Path) -> dict[Partition, list[Path]]:
    """A version's Parquet files by partition, oldest partition first, files sorted by name.

    Directories not named like partitions (`year=YYYY/month=MM`) are not chicrime's and are
    left out; a missing version lists as empty.
    """
    found: dict[Partition, list[Path]] = {}
    for path in sorted(version_dir.glob("year=*/month=*/*.parquet")):
        try:
            partition = (
                int(path.parent.parent.name.removeprefix("year=")),
                int(path.parent.name.removeprefix("month=")),
            )
        except ValueError:
            continue
        found.setdefault(partition, []).append(path)
    return dict(sorted(found.items()))


def scan_files(files: list[Path]) -> pl.LazyFrame:
    """Lake files as one lazy frame (an empty one, in the lake's columns, for no file)."""
    if not files:
        return pl.LazyFrame(schema=LAKE_SCHEMA)
    return pl.scan_parquet(files, hive_partitioning=False)


def version_rows(lake_root: Path, version: str) -> pl.LazyFrame:
    """Every row of lake version `version`, lazily."""
    return scan_files(
        [f for paths in version_partitions(lake_root / version).values() for f in paths]
    )
