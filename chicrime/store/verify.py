"""`chicrime verify`: read every file of the current lake version and check it against the state.

Per file: the footer opens, the schema is the lake's, every row decodes and their number is the
footer's, and each row's `date`, `year` and `month` belong to the partition directory holding it.
Across the lake: one row per id. The version's record-history files must read back with the
history's columns (a damaged one is reported; the lake itself is still whole). Against the
state: the newest successful run recorded the current version, and the watermark is not after
the newest incident. A partition failing a file check is *damaged* (`--repair` re-fetches its
month); duplicated ids are *suspect* (`--repair` re-fetches them by id). Reading is one file at
a time, so memory stays bounded by a partition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from chicrime.store.history import HISTORY_SCHEMA, history_files
from chicrime.store.lake import Lake
from chicrime.store.layout import Partition
from chicrime.store.schema import LAKE_SCHEMA
from chicrime.store.state import StateStore, wall_text

__all__ = ["Problem", "VerifyReport", "verify_lake"]

ProblemKind = Literal["unreadable", "schema", "rows", "partition", "duplicate", "history", "state"]
_SHOWN_IDS = 10  # ids quoted in a problem's text; all of them are kept for the repair


@dataclass(frozen=True)
class Problem:
    """One thing wrong, with the partition/file it concerns and the ids a repair re-fetches."""

    kind: ProblemKind
    detail: str
    partition: Partition | None = None
    path: Path | None = None
    ids: tuple[int, ...] = ()

    def describe(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.kind}: {where}{self.detail}"


@dataclass(frozen=True)
class VerifyReport:
    """What `verify_lake` found."""

    version: str | None
    files: int
    rows: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems

    @property
    def damaged_partitions(self) -> list[Partition]:
        """Partitions whose files cannot be trusted: a repair re-fetches their months whole."""
        return sorted({p.partition for p in self.problems if p.partition and p.kind != "duplicate"})

    @property
    def suspect_ids(self) -> list[int]:
        """Ids held more than once: a repair re-fetches them by id."""
        return sorted({i for p in self.problems if p.kind == "duplicate" for i in p.ids})


def verify_lake(lake: Lake, state: StateStore | None, dataset_id: str) -> VerifyReport:
    """Check every file of `lake`'s current version, and `state`'s agreement with it.

    Never raises for damage (that is what the report is for); a missing lake gives an empty,
    clean report unless the state expects one.
    """
    version = lake.version()
    problems: list[Problem] = []
    ids: list[pl.Series] = []
    files = rows = 0
    newest: dt.datetime | None = None
    for partition, paths in sorted(lake.partition_files().items()):
        for path in paths:
            files += 1
            checked = _check_file(path, partition)
            if isinstance(checked, Problem):
                problems.append(checked)
                continue
            rows += checked.height
            ids.append(checked.get_column("id"))
            latest = checked.get_column("date").max()
            if isinstance(latest, dt.datetime) and (newest is None or latest > newest):
                newest = latest
            misplaced = _misplaced(checked, partition)
            if misplaced:
                problems.append(
                    Problem(
                        "partition",
                        f"{len(misplaced):,} row(s) dated outside {partition[0]:04d}-"
                        f"{partition[1]:02d} (ids {_some(misplaced)})",
                        partition,
                        path,
                        tuple(misplaced),
                    )
                )
    unreadable = any(p.kind in ("unreadable", "schema", "rows") for p in problems)
    problems += _duplicates(ids)
    problems += _history_problems(history_files(lake.root, version))
    if state is not None:
        # With a file unread the newest incident is unknown: only the version can be compared.
        problems += _state_problems(state, dataset_id, version, None if unreadable else newest)
    return VerifyReport(version, files, rows, problems)


def _check_file(path: Path, partition: Partition) -> pl.DataFrame | Problem:
    """The file's rows, or the problem that makes them untrustworthy."""
    try:
        declared = pl.scan_parquet(path).select(pl.len()).collect().item()  # from the footer
        schema = pl.read_parquet_schema(path)
        if schema != dict(LAKE_SCHEMA):
            return Problem(
                "schema", f"columns {_schema_text(schema)} are not the lake's", partition, path
            )
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        return Problem("unreadable", " ".join(str(exc).split()), partition, path)
    if frame.height != declared:
        return Problem(
            "rows", f"{frame.height:,} rows decode, the footer says {declared:,}", partition, path
        )
    return frame


def _history_problems(paths: list[Path]) -> list[Problem]:
    """History files that do not read back whole with the history's columns."""
    problems = []
    for path in paths:
        try:
            columns = pl.read_parquet(path).schema
        except (pl.exceptions.PolarsError, OSError) as exc:
            reason = " ".join(str(exc).split())
        else:
            if columns == HISTORY_SCHEMA:
                continue
            reason = "its columns are not the history's"
        problems.append(
            Problem(
                "history",
                f"this record-history file cannot be used ({reason}): the lake is whole, but "
                "/changes, `chicrime changes` and `export --as-of` fail until it is restored "
                "from a backup",
                path=path,
            )
        )
    return problems


def _misplaced(frame: pl.DataFrame, partition: Partition) -> list[int]:
    year, month = partition
    wrong = frame.filter(
        (pl.col("date").dt.year() != year)
        | (pl.col("date").dt.month() != month)
        | (pl.col("year") != year)
        | (pl.col("month") != month)
    )
    return sorted(wrong.get_column("id").to_list())


def _duplicates(ids: list[pl.Series]) -> list[Problem]:
    every = pl.concat([pl.Series("id", [], pl.Int64), *ids])
    repeated = sorted(every.filter(every.is_duplicated()).unique().to_list())
    if not repeated:
        return []
    return [
        Problem(
            "duplicate",
            f"{len(repeated):,} id(s) held more than once (ids {_some(repeated)})",
            ids=tuple(repeated),
        )
    ]


def _state_problems(
    state: StateStore, dataset_id: str, version: str | None, newest: dt.datetime | None
) -> list[Problem]:
    """The state's disagreements with the lake; `newest` None skips the watermark check."""
    problems = []
    last = next((r for r in state.recent_runs(50) if r.status == "success"), None)
    if last is not None and last.lake_version != version:
        problems.append(
            Problem(
                "state",
                f"the newest successful run #{last.run_id} recorded lake version "
                f"{last.lake_version}, but the lake is at {version}: a run stopped between its "
                "lake commit and its state commit",
            )
        )
    prior = state.ingest_state(dataset_id)
    watermark = prior.watermark_max_date if prior else None
    if watermark is not None and newest is not None and watermark > newest:
        problems.append(
            Problem(
                "state",
                f"the watermark {wall_text(watermark)} is after the newest incident in the lake "
                f"({wall_text(newest)}): later runs would skip records",
            )
        )
    return problems


def _some(ids: Iterable[int]) -> str:
    listed = list(ids)
    shown = ", ".join(str(i) for i in listed[:_SHOWN_IDS])
    return shown + (", …" if len(listed) > _SHOWN_IDS else "")


def _schema_text(schema: dict[str, pl.DataType]) -> str:
    return ", ".join(f"{name} {dtype}" for name, dtype in schema.items())
