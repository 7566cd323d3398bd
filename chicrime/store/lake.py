"""The Parquet lake: `lake/crimes/year=YYYY/month=MM/*.parquet`, changed only by atomic swaps.

`lake/crimes` is a relative symlink to a hidden version directory (`lake/.v-...`). A commit
builds the next version beside the current one, hard-linking every untouched partition's files
and writing fresh, date-sorted files for the partitions the run touched, then replaces the
symlink with `os.replace`. Readers therefore see either the old lake or the new one, never a
mix; a crash before the swap leaves the old lake as it was, and the half-built version is
removed by the next run. The version replaced last is kept one more run for readers mid-query.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from chicrime.errors import LakeError
from chicrime.store.facts import (
    FACTS_PREFIX,
    PartitionFacts,
    VersionFacts,
    facts_path,
    read_facts,
    write_facts,
)
from chicrime.store.faults import fsync_dir, fsync_file, reading, writing
from chicrime.store.history import (
    HISTORY_PREFIX,
    HistoryRecorder,
    Observation,
    as_of_rows,
    check_as_of,
    history_dir,
    link_history,
    read_history,
    write_history,
)
from chicrime.store.layout import LAKE_LINK, VERSION_PREFIX, Partition, partition_dir
from chicrime.store.rollups import ROLLUPS_PREFIX, remove_rollups, rollups_dir, write_rollups
from chicrime.store.schema import LAKE_SCHEMA, PARQUET_METADATA
from chicrime.store.staging import SEQ, Staging
from chicrime.store.versions import (
    current_version,
    scan_files,
    version_partitions,
    version_rows,
)

__all__ = ["Lake", "LakeSummary", "MergePlan", "MergeStats", "write_partition"]

log = logging.getLogger(__name__)

_EARLIEST = datetime(1, 1, 1)
# Staged rows planned at once; bounds the planning memory of a full backfill (~70 MB a bucket).
_BUCKET_ROWS = 1_000_000


@dataclass(frozen=True)
class MergePlan:
    """What a commit will do, in terms small enough to hold whatever the run's size.

    Every staged row is written except the `losers`; a lake row is dropped when its partition
    gets a staged copy of its id, or when `drops` names it (its id moved to another partition,
    or upstream deleted it).
    """

    losers: pl.DataFrame  # id, _seq: staged copies beaten by a newer copy (staged or in the lake)
    drops: pl.DataFrame  # id, year, month: lake rows to remove beyond those replaced in place
    partitions: list[Partition]
    replaced: frozenset[Partition]  # rebuilt from staged rows alone, their current files ignored
    rows_written: int
    rows_new: int  # written ids the lake did not hold
    rows_deleted: int  # lake rows removed because upstream no longer has their id


@dataclass(frozen=True)
class MergeStats:
    """What a commit did."""

    version: str
    rows_written: int
    rows_new: int
    rows_deleted: int
    partitions_rewritten: int
    revised: int  # ids added, changed or removed, as recorded in the history


@dataclass(frozen=True)
class LakeSummary:
    """Size and reach of the current lake version."""

    version: str | None
    rows: int
    partitions: int
    files: int
    bytes: int
    max_date: datetime | None
    max_updated_on: datetime | None


class Lake:
    """The lake under `root` (`DATA_DIR/lake`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.link = root / LAKE_LINK

    # -- reading ------------------------------------------------------------------------------

    def version(self) -> str | None:
        """The current version's directory name; it changes with every commit that changed data."""
        version = current_version(self.root)
        if version is None and self.link.is_dir():
            raise LakeError(
                f"{self.link} is a plain directory, not chicrime's versioned lake link. Move it "
                "aside (or point DATA_DIR elsewhere) and run `chicrime ingest --once` again."
            )
        return version

    def partition_files(self) -> dict[Partition, list[Path]]:
        """The current version's Parquet files, by partition."""
        version = self.version()
        return {} if version is None else version_partitions(self.root / version)

    def scan(
        self, partitions: Collection[Partition] | None = None, exclude: Collection[Partition] = ()
    ) -> pl.LazyFrame:
        """All current rows (or those of some partitions, less `exclude`) as a lazy frame."""
        return scan_files(
            [
                f
                for partition, paths in self.partition_files().items()
                if (partitions is None or partition in partitions) and partition not in exclude
                for f in paths
            ]
        )

    def summary(self) -> LakeSummary:
        """Rows, partitions, files, bytes and newest `date`/`updated_on` of the current version."""
        files = self.partition_files()
        paths = [f for group in files.values() for f in group]
        with reading(paths):
            stats = (
                self.scan()
                .select(pl.len().alias("rows"), pl.col("date").max(), pl.col("updated_on").max())
                .collect()
            )
        return LakeSummary(
            version=self.version(),
            rows=int(stats["rows"][0]),
            partitions=len(files),
            files=len(paths),
            bytes=sum(p.stat().st_size for p in paths),
            max_date=stats["date"][0],
            max_updated_on=stats["updated_on"][0],
        )

    def as_of(self, run_id: int) -> pl.LazyFrame:
        """The lake as it stood after run `run_id`: the current version's rows with every later
        change undone from its record history. `LakeError` when the history does not reach back
        to that run."""
        version = self.version()
        check_as_of(self.root, version, run_id)
        assert version is not None
        return as_of_rows(
            version_rows(self.root, version), read_history(self.root, version), run_id
        )

    def ids_dated_since(self, start: datetime) -> pl.Series:
        """Ids of current rows with `date >= start` (reads only partitions that can hold them)."""
        first = (start.year, start.month)
        files = self.partition_files()
        recent = [p for p in files if p >= first]
        with reading([f for p in recent for f in files[p]]):
            ids = self.scan(recent).filter(pl.col("date") >= start).select("id").collect()
        return ids.get_column("id")

    # -- writing ------------------------------------------------------------------------------

    def plan_merge(
        self,
        staging: Staging,
        deleted_ids: Collection[int],
        bucket_rows: int = _BUCKET_ROWS,
        replaced: Collection[Partition] = (),
        staged_always_win: bool = False,
    ) -> MergePlan:
        """Decide, per id, which copy survives: the most recent `updated_on` wins.

        Within the run a later page beats an earlier one on a tie; a staged copy beats the lake's
        on a tie (it is what upstream serves now), and always with `staged_always_win` (for a
        run that defines the lake's content, like the demo's). Deleted ids lose their lake rows.
        The current content of `replaced` partitions (damaged ones under repair) is ignored:
        they are rebuilt from staged rows alone. Ids are planned in hash buckets of about
        `bucket_rows` staged rows, so memory stays bounded for a full 25-year backfill too.
        """
        buckets = max(1, -(-staging.rows // bucket_rows))
        deleted = pl.Series("id", list(deleted_ids), pl.Int64)
        lake_files = [
            f
            for part, paths in self.partition_files().items()
            if part not in replaced
            for f in paths
        ]
        lake_keys = self.scan(exclude=replaced).select("id", "updated_on", "year", "month")
        losers: list[pl.DataFrame] = []
        drops: list[pl.DataFrame] = []
        rows_new = rows_deleted = 0
        for bucket in range(buckets):
            in_bucket = pl.col("id").hash(seed=0) % buckets == bucket
            staged = staging.scan_keys().filter(in_bucket).collect()
            best = staged.sort(["updated_on", SEQ], nulls_last=False).unique(
                "id", keep="last", maintain_order=False
            )
            losers.append(staged.join(best, on=["id", SEQ], how="anti").select("id", SEQ))
            wanted = pl.concat([best.get_column("id"), deleted]).implode()
            with reading(lake_files):
                held = lake_keys.filter(in_bucket & pl.col("id").is_in(wanted)).collect()
            contested = held.join(
                best.select(
                    "id",
                    pl.col("updated_on").alias("staged_updated_on"),
                    pl.col("year").alias("staged_year"),
                    pl.col("month").alias("staged_month"),
                    SEQ,
                ),
                on="id",
            )
            staged_wins = pl.lit(staged_always_win) | (
                pl.col("staged_updated_on").fill_null(_EARLIEST)
                >= pl.col("updated_on").fill_null(_EARLIEST)
            )
            moved = (pl.col("year") != pl.col("staged_year")) | (
                pl.col("month") != pl.col("staged_month")
            )
            losers.append(contested.filter(~staged_wins).select("id", SEQ))
            gone = held.filter(pl.col("id").is_in(deleted.implode()))
            drops += [
                contested.filter(staged_wins & moved).select("id", "year", "month"),
                gone.select("id", "year", "month"),
            ]
            rows_new += best.height - contested.height
            rows_deleted += gone.height
        all_losers = pl.concat(losers)
        all_drops = pl.concat(drops)
        touched = (
            set(staging.partitions)
            | set(replaced)
            | {(int(y), int(m)) for y, m in all_drops.select("year", "month").unique().iter_rows()}
        )
        return MergePlan(
            losers=all_losers,
            drops=all_drops,
            partitions=sorted(touched),
            replaced=frozenset(replaced),
            rows_written=staging.rows - all_losers.height,
            rows_new=rows_new,
            rows_deleted=rows_deleted,
        )

    def commit(
        self,
        staging: Staging,
        plan: MergePlan,
        *,
        label: str,
        observation: Observation,
        on_partition: Callable[[Partition], None] | None = None,
    ) -> MergeStats:
        """Build the next version from the current one plus `plan`, then swap it in atomically.

        Partitions whose merged content equals the old content keep their files; the plan's
        `replaced` partitions are always rewritten. The version's record history is the
        previous one's plus what this commit changed, as `observation`'s run (see
        `chicrime.store.history`). If anything fails before the swap, the current version is
        untouched and the partial build is removed.
        """
        current = {
            part: files
            for part, files in self.partition_files().items()
            if part not in plan.replaced
        }
        previous = self.version()
        previous_facts = read_facts(self.root, previous) if previous else None
        known = previous_facts.partitions if previous_facts else {}
        build_name = f"{VERSION_PREFIX}{label}-{secrets.token_hex(3)}"
        build = self.root / build_name
        with writing(build):
            build.mkdir(parents=True)
        rewritten: set[Partition] = set()
        facts: dict[Partition, PartitionFacts] = {}
        revised = 0
        recorder = None if previous is None or observation.restart else HistoryRecorder(observation)

        def kept(partition: Partition, files: list[Path]) -> None:
            self._link_files(files, build, partition)
            if files:
                facts[partition] = known.get(partition) or _facts_of_files(files)

        try:
            for partition in plan.partitions:
                merged = self._merged_partition(
                    staging, plan, partition, current.get(partition), recorder
                )
                if merged is None:
                    kept(partition, current.get(partition, []))
                else:
                    rewritten.add(partition)
                    if merged.height:
                        write_partition(merged, build, partition, label)
                        facts[partition] = PartitionFacts.of(merged)
                if on_partition is not None:
                    on_partition(partition)
            touched = set(plan.partitions)  # replaced partitions are among them
            for partition, files in current.items():
                if partition not in touched:
                    kept(partition, files)
            if rewritten or not current:
                with writing(facts_path(self.root, build_name)):
                    write_facts(self.root, build_name, VersionFacts(facts))
                with writing(rollups_dir(self.root, build_name)):
                    write_rollups(
                        self.root, build_name, version_partitions(build), rewritten, previous
                    )
                    fsync_dir(rollups_dir(self.root, build_name))
                events = recorder.events() if recorder is not None else None
                revised = 0 if events is None else _revised_ids(events)
                write_history(self.root, build_name, previous, events, observation)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            facts_path(self.root, build_name).unlink(missing_ok=True)
            remove_rollups(self.root, build_name)
            shutil.rmtree(history_dir(self.root, build_name), ignore_errors=True)
            raise
        if not rewritten and current:
            # Nothing changed: keep the current version (and the data version readers cache on).
            shutil.rmtree(build)
            version = self.version()
            assert version is not None
        else:
            self.switch_to(build_name)
            version = build_name
        return MergeStats(
            version=version,
            rows_written=plan.rows_written,
            rows_new=plan.rows_new,
            rows_deleted=plan.rows_deleted,
            partitions_rewritten=len(rewritten),
            revised=revised,
        )

    def _merged_partition(
        self,
        staging: Staging,
        plan: MergePlan,
        partition: Partition,
        old_files: list[Path] | None,
        recorder: HistoryRecorder | None,
    ) -> pl.DataFrame | None:
        """The partition's new rows sorted by (date, id), or None when they equal the old ones.

        `recorder` is told what the rows replaced (nothing is known of a replaced partition's
        old content: its new ids are recorded as of unknown origin)."""
        year, month = partition
        new = staging.read_partition(partition).join(plan.losers, on=["id", SEQ], how="anti")
        drops = plan.drops.filter((pl.col("year") == year) & (pl.col("month") == month))
        replaced = pl.col("id").is_in(
            pl.concat([new.get_column("id"), drops.get_column("id")]).implode()
        )
        with reading(old_files or []):
            old = pl.read_parquet(old_files) if old_files else pl.DataFrame(schema=LAKE_SCHEMA)
        merged = pl.concat([old.filter(~replaced), new.drop(SEQ)]).sort(["date", "id"])
        if old_files and merged.equals(old):
            return None
        if recorder is not None:
            if partition in plan.replaced:
                recorder.unknown(new.get_column("id"))
            else:
                recorder.partition(old.filter(replaced), new.drop(SEQ))
        return merged

    @staticmethod
    def _link_files(files: list[Path], build: Path, partition: Partition) -> None:
        target = partition_dir(build, partition)
        with writing(target):
            target.mkdir(parents=True, exist_ok=True)
            for path in files:
                os.link(path, target / path.name)

    def switch_to(self, build_name: str) -> None:
        """Point `crimes` at `build_name` atomically, then drop versions older than the previous.

        Only while holding the run lock, with `build_name` complete beside the current version."""
        previous = self.version()
        temporary = self.root / f".crimes-{secrets.token_hex(3)}.tmp"
        with writing(self.link):
            os.symlink(build_name, temporary)
            os.replace(temporary, self.link)
            fsync_dir(self.root)
        link_history(self.root, build_name)
        log.debug("lake version swapped", extra={"version": build_name, "previous": previous})
        self.remove_stale_versions(keep={build_name, previous})

    def mend_history_link(self) -> None:
        """Point `lake/revisions` at the current version's history, in case a run died between
        swapping `lake/crimes` and `lake/revisions`."""
        version = self.version()
        if version is not None and history_dir(self.root, version).is_dir():
            link_history(self.root, version)

    def remove_stale_versions(self, keep: Collection[str | None] = ()) -> list[str]:
        """Delete versions (and their facts and rollups) and temporary links other than the
        current and `keep`.

        Only safe while holding the run lock: an unreferenced version may be a build under way.
        """
        current = self.version()
        removed: list[str] = []
        if not self.root.is_dir():
            return removed
        kept = {name for name in (*keep, current) if name}
        kept |= {
            path(self.root, version).name
            for version in kept
            for path in (facts_path, rollups_dir, history_dir)
        }
        for entry in self.root.iterdir():
            name = entry.name
            if name in kept:
                continue
            if name.startswith(FACTS_PREFIX) or (
                name.startswith((".crimes-", ".revisions-")) and name.endswith(".tmp")
            ):
                entry.unlink()
                removed.append(name)
            elif name.startswith((VERSION_PREFIX, ROLLUPS_PREFIX, HISTORY_PREFIX)):
                shutil.rmtree(entry)
                removed.append(name)
        return removed


def write_partition(rows: pl.DataFrame, root: Path, partition: Partition, label: str) -> None:
    """Write a partition's rows (sorted by date and id) as the lake writes every file."""
    target = partition_dir(root, partition) / f"part-{label}.parquet"
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        rows.write_parquet(
            target,
            compression="zstd",
            statistics=True,
            row_group_size=16_384,
            metadata=PARQUET_METADATA,
        )
        fsync_file(target)


def _revised_ids(events: pl.DataFrame) -> int:
    """How many ids the events add, change or remove (touches are not revisions)."""
    return events.filter(pl.col("kind") != "touched").get_column("id").n_unique()


def _facts_of_files(files: list[Path]) -> PartitionFacts:
    """The facts of a partition kept from a version without them (an older chicrime's)."""
    with reading(files):
        return PartitionFacts.of(
            pl.scan_parquet(files, hive_partitioning=False).select(
                "date", "primary_type", "district"
            )
        )
