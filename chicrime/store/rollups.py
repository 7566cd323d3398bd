"""Rollups: incident counts of one lake version, grouped several narrow ways, written by its commit.

A rollup counts incidents (and arrests) per day or per month and per combination of a few
dimensions, so the dashboard can answer a long date range from a few hundred thousand rows
instead of decoding millions. Each is one Parquet file, sorted by its time column:

    lake/.rollups<version>/<name>.f2.parquet   day|month, <dimensions...>, incidents, arrests

They sit beside the version (like its facts), are written before the version is swapped in and
removed with it. A commit aggregates only the partitions it rewrote and copies the other
partitions' rows from the previous version's rollups; with none to copy from (the first commit,
or a version an older chicrime wrote) it aggregates every partition. A version without a
rollup is answered from the lake itself: rollups only ever make answers faster, never different.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from chicrime.store.faults import fsync_file
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
    "fbi_code": "fbi_code",
    "district": "district",
    "community_area": "community_area",
    "ward": "ward",
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
    Rollup("day_type", "day", ("primary_type", "fbi_code", "arrest", "domestic")),
    Rollup("day_district", "day", ("district", "arrest", "domestic")),
    Rollup("day_hour", "day", ("hour", "arrest", "domestic")),
    Rollup("month_hex", "month", _CELL, located=True),
    Rollup(
        "month_type_district",
        "month",
        ("primary_type", "fbi_code", "district", "arrest", "domestic"),
    ),
    Rollup("month_type_hour", "month", ("primary_type", "fbi_code", "hour", "arrest", "domestic")),
    Rollup(
        "month_area", "month", ("community_area", "primary_type", "fbi_code", "arrest", "domestic")
    ),
    # Last: it answers only ward rankings, which no other rollup can.
    Rollup("month_ward", "month", ("ward", "arrest", "domestic")),
)

# The rollups' columns: bumped whenever a rollup gains or loses one (2: fbi_code added).
_FORMAT = "f2"
_ROW_GROUP_ROWS = 32_768
# A commit copies the previous rollups' rows when it kept at least this share of partitions;
# rewriting more (a backfill), it aggregates every file, holding no partition in memory.
_INCREMENTAL_SHARE = 0.75
# The commit's DuckDB: what it aggregates is one version's rollups, far below this.
_MEMORY_LIMIT = "512MB"


def rollups_dir(lake_root: Path, version: str) -> Path:
    """`lake/.rollups.v-...`: the rollups of `version`, beside it."""
    return lake_root / f"{ROLLUPS_PREFIX}{version}"


def rollup_path(lake_root: Path, version: str, name: str) -> Path:
    """`lake/.rollups.v-.../<name>.<format>.parquet`: a rollup an older chicrime wrote, with
    other columns, has another name, so readers answer that version from its lake files and
    the next commit aggregates its rollups afresh."""
    return rollups_dir(lake_root, version) / f"{name}.{_FORMAT}.parquet"


# Every dimension of every rollup, and what the counts and map cells need, per lake row.
_ROW_COLUMNS = ", ".join(
    [
        *(f"{sql} AS {name}" for name, sql in DIMENSION_SQL.items()),
        "latitude",
        "longitude",
    ]
)


def _rows_sql() -> str:
    """A relation of `_ROW_COLUMNS` over the lake files given as its one parameter."""
    return f"(SELECT {_ROW_COLUMNS} FROM read_parquet(?, hive_partitioning = false))"


def _counts_sql(rollup: Rollup, rows: str) -> str:
    """SQL aggregating `rows` (a relation of `_ROW_COLUMNS`) into `rollup`'s rows."""
    plain = [d for d in rollup.columns() if d not in _CELL]
    carry = plain if "arrest" in plain else [*plain, "arrest"]
    source = f"({cells_sql(rows, carry=carry)})" if rollup.located else rows
    keys = ", ".join(rollup.columns())
    return (
        f"SELECT {keys}, CAST(count(*) AS INTEGER) AS incidents,"
        " CAST(count(*) FILTER (WHERE arrest) AS INTEGER) AS arrests"
        f" FROM {source} GROUP BY ALL"
    )


def write_rollups(
    lake_root: Path,
    version: str,
    files: Mapping[Partition, Sequence[Path]],
    rewritten: Collection[Partition],
    previous: str | None,
) -> None:
    """Write every rollup of `version`, whose partitions hold `files` (the caller makes the
    directory's entries durable).

    Partitions in `rewritten` are aggregated from their files (read once, for every rollup);
    the others' rows are copied from `previous`'s rollup when it has one that can be read,
    else aggregated too. When most partitions were rewritten (a backfill), every rollup is
    aggregated from every file instead, which holds no partition's rows in memory. Raises
    `duckdb.Error` or OSError if a rollup cannot be written
    (nothing of `version` is current yet, so the caller removes what was written).
    """
    rollups_dir(lake_root, version).mkdir(parents=True, exist_ok=True)
    everything = [str(path) for paths in files.values() for path in paths]
    fresh = [str(path) for part, paths in files.items() if part in rewritten for path in paths]
    kept = [year * 100 + month for year, month in files if (year, month) not in rewritten]
    incremental = previous is not None and len(kept) >= _INCREMENTAL_SHARE * len(files)
    database = duckdb.connect(":memory:", config={"threads": 2, "memory_limit": _MEMORY_LIMIT})
    try:
        if incremental and fresh:
            database.execute(f"CREATE TEMP TABLE fresh AS SELECT * FROM {_rows_sql()}", [fresh])
        for rollup in ROLLUPS:
            path = rollup_path(lake_root, version, rollup.name)
            old = None
            if previous is not None and incremental:
                old = rollup_path(lake_root, previous, rollup.name)
            branches: list[tuple[str, list[object]]] = []
            if old is not None and old.is_file():
                if kept:
                    branches.append(
                        (
                            f"SELECT {', '.join(rollup.columns())}, incidents, arrests"
                            f" FROM read_parquet(?) WHERE {_partition_key(rollup.grain)} IN ?",
                            [str(old), kept],
                        )
                    )
                if fresh:
                    branches.append((_counts_sql(rollup, "fresh"), []))
                try:
                    _write_rollup(database, rollup, path, branches)
                    continue
                except duckdb.Error as error:
                    log.warning(
                        "previous rollup unreadable, aggregating every partition",
                        extra={"rollup": rollup.name, "error": str(error).splitlines()[0]},
                    )
            if everything:
                _write_rollup(
                    database, rollup, path, [(_counts_sql(rollup, _rows_sql()), [everything])]
                )
    finally:
        database.close()


def _partition_key(grain: Grain) -> str:
    return f"year({grain}) * 100 + month({grain})"


def _write_rollup(
    database: duckdb.DuckDBPyConnection,
    rollup: Rollup,
    path: Path,
    branches: Sequence[tuple[str, list[object]]],
) -> None:
    """Write the rows of `branches` (SQL and its parameters), sorted, as `rollup`'s `path`;
    nothing for no branch (a version without rows: readers answer it from its empty lake)."""
    if not branches:
        return
    union = " UNION ALL ".join(sql for sql, _ in branches)
    database.execute(
        f"COPY (SELECT * FROM ({union}) ORDER BY {', '.join(rollup.columns())})"
        f" TO '{_literal(path)}' (FORMAT parquet, COMPRESSION zstd,"
        f" ROW_GROUP_SIZE {_ROW_GROUP_ROWS})",
        [value for _, values in branches for value in values],
    )
    fsync_file(path)


def _literal(path: Path) -> str:
    """`path` as the text of a SQL string literal (COPY TO takes no parameter for its file)."""
    return str(path).replace("'", "''")


def remove_rollups(lake_root: Path, version: str) -> None:
    """Remove `version`'s rollups, if any."""
    shutil.rmtree(rollups_dir(lake_root, version), ignore_errors=True)
