"""A run's fetched rows on disk, partitioned like the lake, so memory stays bounded by a page.

Each page becomes one small Parquet file per (year, month) it touches. Every row is tagged with
its arrival order (`_seq`) so that, for an id fetched twice in one run, the later copy wins a tie.
Rows that fail normalisation are appended to `quarantine/run-NNNNNN.jsonl` with their reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from chicrime.store.faults import writing
from chicrime.store.layout import Partition, partition_dir
from chicrime.store.schema import LAKE_SCHEMA

__all__ = ["SEQ", "Staging", "quarantine_rows"]

SEQ = "_seq"

_STAGED_SCHEMA = pl.Schema({**LAKE_SCHEMA, SEQ: pl.Int64()})


class Staging:
    """The staging area of one run. Creating it discards whatever an earlier attempt left there;
    used as a context manager, it removes its directory on the way out, whatever happened."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        shutil.rmtree(directory, ignore_errors=True)
        with writing(directory):
            directory.mkdir(parents=True)
        self._pages = 0
        self.rows = 0
        self._files: dict[Partition, list[Path]] = {}

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *_exc: object) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def add(self, rows: pl.DataFrame) -> None:
        """Stage a page of normalised lake rows (any order, any partitions)."""
        if rows.is_empty():
            return
        self._pages += 1
        tagged = rows.with_row_index(SEQ, offset=self.rows).with_columns(pl.col(SEQ).cast(pl.Int64))
        self.rows += rows.height
        for (year, month), part in tagged.partition_by(
            ["year", "month"], as_dict=True, maintain_order=False
        ).items():
            partition = (int(str(year)), int(str(month)))
            target = partition_dir(self.directory, partition) / f"page-{self._pages:06d}.parquet"
            with writing(target):
                target.parent.mkdir(parents=True, exist_ok=True)
                part.write_parquet(target, compression="lz4", statistics=False)
            self._files.setdefault(partition, []).append(target)

    @property
    def partitions(self) -> list[Partition]:
        return sorted(self._files)

    def read_partition(self, partition: Partition) -> pl.DataFrame:
        """All staged rows of one partition, with their `_seq` column."""
        files = self._files.get(partition, [])
        if not files:
            return pl.DataFrame(schema=_STAGED_SCHEMA)
        return pl.read_parquet(files)

    def scan_keys(self) -> pl.LazyFrame:
        """`id, updated_on, year, month, _seq` of every staged row: what merge planning needs."""
        columns = ["id", "updated_on", "year", "month", SEQ]
        files = [f for paths in self._files.values() for f in paths]
        if not files:
            return pl.LazyFrame(schema={c: _STAGED_SCHEMA[c] for c in columns})
        return pl.scan_parquet(files).select(columns)


def quarantine_rows(directory: Path, run_id: int, rejected: pl.DataFrame) -> Path | None:
    """Append rejected raw rows (with `reason`) to this run's JSON-lines file; None if no rows."""
    if rejected.is_empty():
        return None
    path = directory / f"run-{run_id:06d}.jsonl"
    with writing(path):
        directory.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            rejected.write_ndjson(handle)
    return path
