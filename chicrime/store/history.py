"""Record history: every upstream edit the lake's commits saw, kept beside the lake.

The portal keeps no history: once a record is edited, what it said before is gone. Each commit
compares the rows it replaces with the rows it writes and keeps, for every id it adds, changes or
removes, the fields that differ: before and after, as text, one row per field.

    lake/revisions -> .history.v-...                          follows `lake/crimes`
    lake/.history<version>/observed=YYYY-MM/run-NNNNNN.parquet   one file per run that changed
    lake/.history<version>/history.json                          {"first_run": N}

The history of a version is written by the commit that builds the version, before the version is
swapped in, and is removed with it: a reader that resolves `lake/crimes` reads the history that
matches the rows it sees, so the two are old together or new together. A run's file never
changes; the next version hard-links it. The `lake/revisions` link is moved right after the
`lake/crimes` link (a crash between the two is mended by the next run), for tools outside
chicrime that glob `lake/revisions/*/*.parquet`.

Kinds of event (the `kind` column):
- added:   an id the lake did not hold; one row, no field.
- changed: one row per tracked field whose value differs, plus `updated_on` when it moved.
- removed: an id upstream no longer has; one row per field, holding what the lake held.
- touched: only `updated_on` moved; one row. Not a revision (nothing a reader sees changed),
  kept so that the lake as of any run is reconstructed exactly.

`before`/`after` are the values as text (times `YYYY-MM-DDTHH:MM:SS.ffffff`, booleans
`true`/`false`, numbers in their shortest exact form), null for a missing value. A history that
begins later than the lake (it was written by an older chicrime, or the demo redefined the lake)
says so in `history.json`: runs before `first_run` cannot be reconstructed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from chicrime.errors import LakeError
from chicrime.store.faults import fsync_dir, fsync_file, writing
from chicrime.store.schema import LAKE_SCHEMA, RECORD_FIELDS

__all__ = [
    "HISTORY_PREFIX",
    "HISTORY_SCHEMA",
    "REVISIONS_LINK",
    "TRACKED_FIELDS",
    "HistoryRecorder",
    "Observation",
    "as_of_rows",
    "check_as_of",
    "first_run",
    "history_dir",
    "history_files",
    "link_history",
    "read_history",
    "restored_rows",
    "write_history",
]

log = logging.getLogger(__name__)

HISTORY_PREFIX = ".history"
REVISIONS_LINK = "revisions"
_META = "history.json"

# A revision changes one of these; `updated_on` alone moving is not one.
TRACKED_FIELDS: tuple[str, ...] = tuple(f for f in RECORD_FIELDS if f not in ("id", "updated_on"))
# What a removal keeps of the record: everything but the id, which the row carries anyway.
_IMAGE_FIELDS: tuple[str, ...] = tuple(f for f in RECORD_FIELDS if f != "id")

HISTORY_SCHEMA = pl.Schema(
    {
        "run_id": pl.Int64(),
        "observed_at": pl.Datetime("us", "UTC"),
        "kind": pl.String(),
        "id": pl.Int64(),
        "case_number": pl.String(),
        "date": pl.Datetime("us"),
        "primary_type": pl.String(),
        "fbi_code": pl.String(),
        "district": pl.String(),
        "community_area": pl.String(),
        "field": pl.String(),
        "before": pl.String(),
        "after": pl.String(),
    }
)
_TEXT_TIME = "%Y-%m-%dT%H:%M:%S%.6f"
# The record context every event row carries (so revisions can be filtered like incidents):
# from the new row, or the old one for a removal.
_CONTEXT = ("case_number", "date", "primary_type", "fbi_code", "district", "community_area")


@dataclass(frozen=True)
class Observation:
    """Which run a commit's events belong to and when it saw them (an aware instant).

    `restart` begins a new history with this run instead of recording it: for a run that
    defines the lake's whole content (the demo), whose differences are not upstream edits.
    """

    run_id: int
    observed_at: dt.datetime
    restart: bool = False


def history_dir(lake_root: Path, version: str) -> Path:
    """`lake/.history.v-...`: the history of `version`, beside it."""
    return lake_root / f"{HISTORY_PREFIX}{version}"


def history_files(lake_root: Path, version: str | None) -> list[Path]:
    """The history's run files of `version`, oldest observed month first (none for a version
    an older chicrime wrote)."""
    if version is None:
        return []
    return sorted(history_dir(lake_root, version).glob("observed=*/run-*.parquet"))


def first_run(lake_root: Path, version: str | None) -> int | None:
    """The first run whose changes the history of `version` holds, or None without a history."""
    if version is None:
        return None
    try:
        meta = json.loads((history_dir(lake_root, version) / _META).read_text())
        return int(meta["first_run"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _text(field: str, column: str | None = None) -> pl.Expr:
    """Lake field `field` (held in `column`, by default its own) as the history's text."""
    value = pl.col(column or field)
    if LAKE_SCHEMA[field] == pl.Datetime("us"):
        return value.dt.strftime(_TEXT_TIME)
    return value.cast(pl.String)


def _typed(field: str, text: pl.Expr) -> pl.Expr:
    """The history's text back as the lake column's type, exactly."""
    dtype = LAKE_SCHEMA[field]
    if dtype == pl.Datetime("us"):
        return text.str.to_datetime(_TEXT_TIME, time_unit="us")
    if dtype == pl.Boolean():
        return text == "true"
    return text.cast(dtype)


class HistoryRecorder:
    """Collects a commit's events partition by partition; `events()` gives them all.

    Each partition hands over the rows it replaced and the rows written over them, less the
    pairs that are identical (most of a re-pulled window). Pairing them up happens once, over
    the whole commit, so a record that moved to another month is one change, not a removal
    and an addition.
    """

    def __init__(self, observation: Observation) -> None:
        self.observation = observation
        self._before: list[pl.DataFrame] = [_empty_rows()]
        self._after: list[pl.DataFrame] = [_empty_rows()]
        self._unknown_before: list[pl.Series] = [pl.Series("id", [], pl.Int64)]

    def partition(self, before: pl.DataFrame, new: pl.DataFrame) -> None:
        """One rewritten partition: `before` its rows that lose their place (replaced by a new
        copy, moved away or deleted), `new` the rows written (lake columns only)."""
        same = before.join(new, on=list(LAKE_SCHEMA), how="semi", nulls_equal=True)
        unchanged = same.get_column("id").implode()
        self._before.append(before.filter(~pl.col("id").is_in(unchanged)))
        self._after.append(new.filter(~pl.col("id").is_in(unchanged)))

    def unknown(self, ids: pl.Series) -> None:
        """Ids written into a partition whose old content could not be read (under repair):
        their before is unknown, so they are neither added nor, elsewhere, removed."""
        self._unknown_before.append(ids)

    def events(self) -> pl.DataFrame:
        """Every event of the commit, typed as `HISTORY_SCHEMA`, sorted by id, kind and field."""
        before, after = pl.concat(self._before), pl.concat(self._after)
        unknown = pl.concat(self._unknown_before).implode()
        parts = [
            _differences(before, after),
            _removals(before.join(after, on="id", how="anti").filter(~pl.col("id").is_in(unknown))),
            _additions(after.join(before, on="id", how="anti")),
        ]
        run = self.observation
        return (
            pl.concat([p for p in parts if p.height] or [_empty_events()])
            .with_columns(
                pl.lit(run.run_id, pl.Int64).alias("run_id"),
                pl.lit(run.observed_at, pl.Datetime("us", "UTC")).alias("observed_at"),
            )
            .select(HISTORY_SCHEMA.names())
            .sort(["id", "kind", "field"], nulls_last=False)
        )


def _empty_rows() -> pl.DataFrame:
    return pl.DataFrame(schema=LAKE_SCHEMA)


def _empty_events() -> pl.DataFrame:
    """No events, in the columns of one before the run's are added."""
    run = ("run_id", "observed_at")
    return pl.DataFrame(schema={k: v for k, v in HISTORY_SCHEMA.items() if k not in run})


def _differences(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Changed and touched events of ids held before and after (one row per differing field)."""
    pairs = before.join(after, on="id", suffix="_new")
    if not pairs.height:
        return _empty_events()
    differs = {f: pl.col(f).ne_missing(pl.col(f"{f}_new")) for f in _IMAGE_FIELDS}
    tracked = pl.any_horizontal(*(differs[f] for f in TRACKED_FIELDS))
    kind = pl.when(tracked).then(pl.lit("changed")).otherwise(pl.lit("touched"))
    pairs = pairs.with_columns(kind.alias("kind"))
    rows = [
        pairs.filter(differs[f]).select(
            "kind",
            "id",
            *(pl.col(f"{c}_new").alias(c) for c in _CONTEXT),
            pl.lit(f).alias("field"),
            _text(f).alias("before"),
            _text(f, f"{f}_new").alias("after"),
        )
        for f in _IMAGE_FIELDS
    ]
    return pl.concat(rows)


def _removals(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per field of each removed record: what the lake held."""
    if not rows.height:
        return _empty_events()
    return pl.concat(
        rows.select(
            pl.lit("removed").alias("kind"),
            "id",
            *_CONTEXT,
            pl.lit(f).alias("field"),
            _text(f).alias("before"),
            pl.lit(None, pl.String).alias("after"),
        )
        for f in _IMAGE_FIELDS
    )


def _additions(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per added record."""
    return rows.select(
        pl.lit("added").alias("kind"),
        "id",
        *_CONTEXT,
        pl.lit(None, pl.String).alias("field"),
        pl.lit(None, pl.String).alias("before"),
        pl.lit(None, pl.String).alias("after"),
    )


def write_history(
    lake_root: Path,
    version: str,
    previous: str | None,
    events: pl.DataFrame | None,
    observation: Observation,
) -> None:
    """Write the history of `version`: the previous version's run files (hard-linked) and this
    commit's `events`, if any. Without a previous version, or on `restart`, the history begins
    with this run and holds nothing yet (`events` is then ignored)."""
    target = history_dir(lake_root, version)
    begins = previous is None or observation.restart
    first = observation.run_id if begins else first_run(lake_root, previous)
    with writing(target):
        target.mkdir(parents=True)
        observed = observation.observed_at.astimezone(dt.UTC)
        if not begins and first is not None and previous is not None:
            _carry_over(history_files(lake_root, previous), target, f"observed={observed:%Y-%m}")
        if not begins and events is not None and events.height:
            month = target / f"observed={observed:%Y-%m}"
            month.mkdir(exist_ok=True)
            path = month / f"run-{observation.run_id:06d}.parquet"
            if path.exists():  # a linked file of the previous version: never write through it
                raise LakeError(f"run {observation.run_id} already has a history file, {path}")
            events.write_parquet(path, compression="zstd", statistics=True)
            fsync_file(path)
            fsync_dir(month)
        meta = target / _META
        meta.write_text(json.dumps({"first_run": first or observation.run_id}) + "\n")
        fsync_dir(target)


def _carry_over(files: list[Path], target: Path, current_month: str) -> None:
    """The previous version's history files into `target`: hard-linked, except that the files
    of a month before `current_month` (no run adds to it any more) are merged into one.

    One file per run would make every read of the history slower with every run (each file
    costs a reader ~0.3 ms before a row is read: a year of daily runs, ~0.1 s); merged, a
    year is twelve files and the current month's. The previous version's files stay as they
    are, for its readers.
    """
    months: dict[str, list[Path]] = {}
    for path in files:
        months.setdefault(path.parent.name, []).append(path)
    for month, paths in months.items():
        directory = target / month
        directory.mkdir()
        if month >= current_month or len(paths) == 1 or not _merged(paths, directory):
            for path in paths:
                os.link(path, directory / path.name)
        fsync_dir(directory)


def _merged(paths: list[Path], directory: Path) -> bool:
    """Write the rows of `paths` (one month's run files, in run order) as one new file in
    `directory`, `run-FIRST-LAST.parquet`. It counts only once it reads back equal to them;
    a file that cannot be read or written, or does not read back equal, is left out (the
    month keeps its run files, and the commit goes on: merging only saves readers time)."""
    first_id, last_id = _run_ids(paths[0])[0], _run_ids(paths[-1])[-1]
    merged = directory / f"run-{first_id:06d}-{last_id:06d}.parquet"
    try:
        rows = pl.read_parquet(paths, hive_partitioning=False, schema=HISTORY_SCHEMA)
        rows.write_parquet(merged, compression="zstd", statistics=True)
        fsync_file(merged)
        if pl.read_parquet(merged, hive_partitioning=False).equals(rows):
            return True
        log.warning("history of %s: the merged file did not read back equal; kept", directory)
    except (pl.exceptions.PolarsError, OSError) as exc:
        log.warning("history of %s not merged, its run files kept: %s", directory, exc)
    merged.unlink(missing_ok=True)
    return False


def _run_ids(path: Path) -> list[int]:
    """The run ids a history file's name spans: `run-000042` or `run-000001-000031`."""
    return [int(part) for part in path.stem.split("-")[1:]]


def link_history(lake_root: Path, version: str) -> None:
    """Point `lake/revisions` at the history of `version` (atomically), if it is not already."""
    link = lake_root / REVISIONS_LINK
    target = history_dir(lake_root, version).name
    try:
        if os.readlink(link) == target:
            return
    except OSError:  # missing, or not a link
        pass
    temporary = lake_root / f".revisions-{os.getpid()}.tmp"
    with writing(link):
        temporary.unlink(missing_ok=True)
        os.symlink(target, temporary)
        os.replace(temporary, link)
        fsync_dir(lake_root)


def read_history(lake_root: Path, version: str | None) -> pl.LazyFrame:
    """Every event in the history of `version` (none for a version without one)."""
    files = history_files(lake_root, version)
    if not files:
        return pl.LazyFrame(schema=HISTORY_SCHEMA)
    return pl.scan_parquet(files, hive_partitioning=False, schema=HISTORY_SCHEMA)


def check_as_of(lake_root: Path, version: str | None, run_id: int) -> None:
    """Raise `LakeError` unless the history of `version` can give the lake as of `run_id`."""
    first = first_run(lake_root, version)
    if first is None:
        raise LakeError(
            "this lake has no record history yet (it is written by every run from this "
            "version of chicrime on): run `chicrime ingest --once` first"
        )
    if run_id < first:
        raise LakeError(
            f"the record history begins with run {first}; the lake as of run {run_id} cannot "
            f"be reconstructed. Ask for run {first} or later."
        )


def restored_rows(
    current: pl.LazyFrame, history: pl.LazyFrame, run_id: int
) -> tuple[pl.Series, pl.DataFrame]:
    """What differs between the current lake and the lake as of `run_id`: the ids any later run
    touched, and the rows those ids had after `run_id` (ids added later have none).

    A field's value as of the run is the `before` of the first later event that names it,
    else the current value: every event's `before` is what the lake held just before it.
    """
    later = (
        history.filter(pl.col("run_id") > run_id)
        .select("run_id", "kind", "id", "field", "before")
        .collect()
        .sort(["run_id", "id"])
    )
    firsts = later.unique("id", keep="first", maintain_order=True)
    affected = firsts.get_column("id")
    held = firsts.filter(pl.col("kind") != "added").select("id")
    rows = held.join(
        current.filter(pl.col("id").is_in(held.get_column("id").implode())).collect(),
        on="id",
        how="left",
    )
    values = later.drop_nulls("field").unique(["id", "field"], keep="first", maintain_order=True)
    for field in _IMAGE_FIELDS:
        earlier = values.filter(pl.col("field") == field).select(
            "id", pl.col("before").alias("__before"), pl.lit(True).alias("__named")
        )
        rows = (
            rows.join(earlier, on="id", how="left")
            .with_columns(
                pl.when(pl.col("__named"))
                .then(_typed(field, pl.col("__before")))
                .otherwise(pl.col(field))
                .alias(field)
            )
            .drop("__before", "__named")
        )
    restored = rows.with_columns(
        pl.col("date").dt.year().cast(pl.Int16).alias("year"),
        pl.col("date").dt.month().cast(pl.Int8).alias("month"),
    ).select(LAKE_SCHEMA.names())
    return affected, restored


def as_of_rows(current: pl.LazyFrame, history: pl.LazyFrame, run_id: int) -> pl.LazyFrame:
    """The lake as it stood after run `run_id`, from the current lake and its history."""
    affected, restored = restored_rows(current, history, run_id)
    return pl.concat([current.filter(~pl.col("id").is_in(affected.implode())), restored.lazy()])
