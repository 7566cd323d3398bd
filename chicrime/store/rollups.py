"""Rollups: incident counts of one lake version, grouped several narrow ways, written by its commit.

A rollup counts incidents (and arrests) per day or per month and per combination of a few
dimensions, so the dashboard can answer a long date range from a few hundred thousand rows
instead of decoding millions. Each is one Parquet file, sorted by its time column:

    lake/.rollups<version>/<name>.parquet   day|month, <dimensions...>, incidents, arrests

They sit beside the version (like its facts), are written before the version is swapped in and
removed with it. A commit aggregates only the partitions it rewrote and copies the other
partitions' rows from the previous version's rollups; with none to copy from (the first commit,
or a version an older chicrime wrote) it aggregates every partition. A version without a
rollup is answered from the lake itself: rollups only ever make answers faster, never different.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from chicrime.store.hexgrid import cells_sql
from chicrime.store.layout import Partition

__all__ = [
    "DIMENSION_SQL",
    "ROLLUPS",
    "ROLLUPS_PREFIX",
    "Rollup",
    "remove_rollups",
    "rollup_path",
    "rollups_dir",
    "write_rollups",
]

log = logging.getLogger(__name__)

ROLLUPS_PREFIX = ".rollups"

Grain = Literal["day", "month"]

# Each dimension (and time grain) as SQL over the lake's columns.
DIMENSION_SQL: Mapping[str, str] = {
    "day": 'CAST("date" AS DATE)',
    "month": "CAST(date_trunc('month', \"date\") AS DATE)",
    "hour": 'CAST(hour("date") AS TINYINT)',
    "primary_type": "primary_type",
    "district": "district",
    "community_area": "community_area",
    "arrest": "arrest",
    "domestic": "domestic",
}
# Dimensions a located rollup gets from `chicrime.store.hexgrid` rather than a column.
_CELL = ("hex_q", "hex_r")


@dataclass(frozen=True)
class Rollup:
    """Counts per `grain` and per combination of `dimensions`.

    A `located` rollup counts only incidents inside the city's extent, per hexagonal cell of
    the default size (its dimensions are hex_q, hex_r).
    """

    name: str
    grain: Grain
    dimensions: tuple[str, ...]
    located: bool = False

    def columns(self) -> tuple[str, ...]:
        return (self.grain, *self.dimensions)


# In the order a reader should prefer them: among rollups that can answer a question, the
# first is the smallest (row counts of a 25-year lake in the README's Performance section).
ROLLUPS = (
    Rollup("day_type", "day", ("primary_type", "arrest", "domestic")),
    Rollup("day_district", "day", ("district", "arrest", "domestic")),
    Rollup("day_hour", "day", ("hour", "arrest", "domestic")),
    Rollup("month_hex", "month", _CELL, located=True),
    Rollup("month_type_district", "month", ("primary_type", "district", "arrest", "domestic")),
    Rollup("month_type_hour", "month", ("primary_type", "hour", "arrest", "domestic")),
    Rollup("month_area", "month", ("community_area", "primary_type", "arrest", "domestic")),
)

_ROW_GROUP_ROWS = 32_768
# The commit's DuckDB: what it aggregates is one version's rollups, far below this.
_MEMORY_LIMIT = "512MB"


def rollups_dir(lake_root: Path, version: str) -> Path:
    """`lake/.rollups.v-...`: the rollups of `version`, beside it."""
    return lake_root / f"{ROLLUPS_PREFIX}{version}"


def rollup_path(lake_root: Path, version: str, name: str) -> Path:
    return rollups_dir(lake_root, version) / f"{name}.parquet"


def _counts_sql(rollup: Rollup) -> str:
    """SQL aggregating the lake files given as its one parameter into `rollup`'s rows."""
    plain = [d for d in rollup.columns() if d not in _CELL]
    rows = ", ".join([*(f"{DIMENSION_SQL[d]} AS {d}" for d in plain), "arrest AS _arrest"])
    if rollup.located:
        rows += ", latitude, longitude"
    source = f"(SELECT {rows} FROM read_parquet(?, hive_partitioning = false))"
    if rollup.located:
        source = f"({cells_sql(source, carry=[*plain, '_arrest'])})"
    keys = ", ".join(rollup.columns())
    return (
        f"SELECT {keys}, CAST(count(*) AS INTEGER) AS incidents,"
        " CAST(count(*) FILTER (WHERE _arrest) AS INTEGER) AS arrests"
        f" FROM {source} GROUP BY ALL"
    )


def _partition_key(grain: Grain) -> str:
    return f"year({grain}) * 100 + month({grain})"


def write_rollups(
    lake_root: Path,
    version: str,
    files: Mapping[Partition, Sequence[Path]],
    rewritten: Collection[Partition],
    previous: str | None,
) -> None:
    """Write every rollup of `version`, whose partitions hold `files` (the caller makes the
    directory's entries durable).

    Partitions in `rewritten` are aggregated from their files; the others' rows are copied
    from `previous`'s rollup when it has one that can be read, else aggregated too. Raises
    `duckdb.Error` or OSError if a rollup cannot be written (nothing of `version` is current
    yet, so the caller removes what was written).
    """
    target = rollups_dir(lake_root, version)
    target.mkdir(parents=True, exist_ok=True)
    database = duckdb.connect(":memory:", config={"threads": 2, "memory_limit": _MEMORY_LIMIT})
    try:
        for rollup in ROLLUPS:
            old = rollup_path(lake_root, previous, rollup.name) if previous else None
            try:
                _write_rollup(database, rollup, target, files, rewritten, old)
            except duckdb.Error as error:
                if old is None:
                    raise
                log.warning(
                    "previous rollup unreadable, aggregating every partition",
                    extra={"rollup": rollup.name, "error": str(error).splitlines()[0]},
                )
                _write_rollup(database, rollup, target, files, rewritten, None)
    finally:
        database.close()


def _write_rollup(
    database: duckdb.DuckDBPyConnection,
    rollup: Rollup,
    target: Path,
    files: Mapping[Partition, Sequence[Path]],
    rewritten: Collection[Partition],
    old: Path | None,
) -> None:
    reuse = old is not None and old.is_file()
    fresh = [
        str(path)
        for partition, paths in files.items()
        if not reuse or partition in rewritten
        for path in paths
    ]
    kept = [year * 100 + month for year, month in files if reuse and (year, month) not in rewritten]
    branches: list[str] = []
    params: list[object] = []
    if reuse and kept:
        columns = ", ".join(rollup.columns())
        branches.append(
            f"SELECT {columns}, incidents, arrests FROM read_parquet(?)"
            f" WHERE {_partition_key(rollup.grain)} IN ?"
        )
        params += [str(old), kept]
    if fresh:
        branches.append(_counts_sql(rollup))
        params.append(fresh)
    if not branches:
        return  # a version without rows: readers answer it from its (empty) lake
    path = target / f"{rollup.name}.parquet"
    order = ", ".join(rollup.columns())
    database.execute(
        f"COPY (SELECT * FROM ({' UNION ALL '.join(branches)}) ORDER BY {order})"
        f" TO '{_literal(path)}' (FORMAT parquet, COMPRESSION zstd,"
        f" ROW_GROUP_SIZE {_ROW_GROUP_ROWS})",
        params,
    )
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _literal(path: Path) -> str:
    """`path` as the text of a SQL string literal (COPY TO takes no parameter for its file)."""
    return str(path).replace("'", "''")


def remove_rollups(lake_root: Path, version: str) -> None:
    """Remove `version`'s rollups, if any."""
    shutil.rmtree(rollups_dir(lake_root, version), ignore_errors=True)
