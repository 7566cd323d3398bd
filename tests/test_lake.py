"""The lake writer on its own: merge rules, atomic versions, failure before the swap."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from chicrime.errors import LakeError
from chicrime.ingest.records import normalise
from chicrime.store.lake import Lake
from chicrime.store.staging import Staging
from tests.conftest import api_row, observed, read_lake


def staged(tmp_path: Path, *pages: list[dict[str, object]]) -> Staging:
    staging = Staging(tmp_path / "staging")
    for page in pages:
        raw = pl.DataFrame(
            [{k: str(v).lower() if isinstance(v, bool) else v for k, v in r.items()} for r in page]
        )
        staging.add(normalise(raw).rows)
    return staging


def commit(lake: Lake, staging: Staging, deleted: tuple[int, ...] = (), label: str = "t") -> None:
    lake.commit(staging, lake.plan_merge(staging, deleted), label=label, observation=observed())


def test_latest_updated_on_wins_within_a_run_and_against_the_lake(tmp_path: Path) -> None:
    """Newer copies replace older ones; an older staged copy does not overwrite the lake."""
    lake = Lake(tmp_path / "lake")
    commit(
        lake,
        staged(
            tmp_path,
            [
                api_row(1, "2024-01-05T00:00:00", "2024-02-01T00:00:00", primary_type="A"),
                api_row(2, "2024-01-06T00:00:00", "2024-02-01T00:00:00", primary_type="A"),
            ],
        ),
    )
    commit(
        lake,
        staged(
            tmp_path,
            [
                api_row(1, "2024-01-05T00:00:00", "2024-03-01T00:00:00", primary_type="B"),
                api_row(2, "2024-01-06T00:00:00", "2024-01-15T00:00:00", primary_type="OLD"),
            ],
            [api_row(1, "2024-01-05T00:00:00", "2024-02-15T00:00:00", primary_type="C")],
        ),
        label="u",
    )

    rows = read_lake(tmp_path).select("id", "primary_type").rows()
    assert rows == [(1, "B"), (2, "A")]


def test_equal_updated_on_prefers_the_later_page(tmp_path: Path) -> None:
    """On a tie within a run, the copy fetched later wins."""
    lake = Lake(tmp_path / "lake")
    commit(
        lake,
        staged(
            tmp_path,
            [api_row(1, "2024-01-05T00:00:00", "2024-02-01T00:00:00", primary_type="FIRST")],
            [api_row(1, "2024-03-05T00:00:00", "2024-02-01T00:00:00", primary_type="SECOND")],
        ),
    )
    assert read_lake(tmp_path).select("id", "primary_type", "month").rows() == [(1, "SECOND", 3)]


def test_date_move_rewrites_both_months_and_keeps_one_row(tmp_path: Path) -> None:
    """Moving a record to another month removes it from the old partition."""
    lake = Lake(tmp_path / "lake")
    commit(
        lake,
        staged(
            tmp_path,
            [
                api_row(1, "2024-01-05T00:00:00", "2024-02-01T00:00:00"),
                api_row(2, "2024-01-07T00:00:00", "2024-02-01T00:00:00"),
            ],
        ),
    )
    plan_staging = staged(tmp_path, [api_row(1, "2024-04-05T00:00:00", "2024-05-01T00:00:00")])
    plan = lake.plan_merge(plan_staging, [])
    assert plan.partitions == [(2024, 1), (2024, 4)]
    stats = lake.commit(plan_staging, plan, label="m", observation=observed())

    assert stats.partitions_rewritten == 2
    assert read_lake(tmp_path).select("id", "month").rows() == [(1, 4), (2, 1)]


def test_deleting_the_last_row_of_a_month_removes_the_partition(tmp_path: Path) -> None:
    """A partition left empty disappears instead of holding an empty file."""
    lake = Lake(tmp_path / "lake")
    commit(
        lake,
        staged(tmp_path, [api_row(1, "2024-01-05T00:00:00"), api_row(2, "2024-02-05T00:00:00")]),
    )
    stats = lake.commit(
        staged(tmp_path), lake.plan_merge(staged(tmp_path), [1]), label="d", observation=observed()
    )

    assert stats.rows_deleted == 1
    assert sorted(lake.partition_files()) == [(2024, 2)]


def test_failure_before_the_swap_leaves_the_current_version_untouched(tmp_path: Path) -> None:
    """An error mid-build (disk full, say) removes the partial build; readers see the old lake."""
    lake = Lake(tmp_path / "lake")
    commit(
        lake,
        staged(tmp_path, [api_row(1, "2024-01-05T00:00:00"), api_row(2, "2024-02-05T00:00:00")]),
    )
    version, before = lake.version(), read_lake(tmp_path).to_dicts()
    staging = staged(
        tmp_path, [api_row(3, "2024-01-06T00:00:00"), api_row(4, "2024-02-06T00:00:00")]
    )

    def disk_full(_partition: tuple[int, int]) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        lake.commit(
            staging,
            lake.plan_merge(staging, []),
            label="x",
            observation=observed(),
            on_partition=disk_full,
        )

    assert lake.version() == version
    assert read_lake(tmp_path).to_dicts() == before
    assert lake_entries(tmp_path) == version_entries(version)


def test_stale_versions_and_temporary_links_are_removed(tmp_path: Path) -> None:
    """Recovery deletes half-built versions, their facts, rollups and history and leftover
    links, never the current version or its facts, rollups and history."""
    lake = Lake(tmp_path / "lake")
    commit(lake, staged(tmp_path, [api_row(1, "2024-01-05T00:00:00")]))
    (tmp_path / "lake" / ".v-r000009-dead00" / "year=2024").mkdir(parents=True)
    os.symlink(".v-r000009-dead00", tmp_path / "lake" / ".crimes-abc123.tmp")
    (tmp_path / "lake" / ".facts.v-r000009-dead00.json").write_text("{}")
    (tmp_path / "lake" / ".rollups.v-r000009-dead00").mkdir()
    (tmp_path / "lake" / ".rollups.v-r000009-dead00" / "day_type.parquet").write_bytes(b"PAR1")
    (tmp_path / "lake" / ".history.v-r000009-dead00" / "observed=2026-01").mkdir(parents=True)
    os.symlink(".history.v-r000009-dead00", tmp_path / "lake" / ".revisions-77.tmp")

    removed = lake.remove_stale_versions()

    assert sorted(removed) == [
        ".crimes-abc123.tmp",
        ".facts.v-r000009-dead00.json",
        ".history.v-r000009-dead00",
        ".revisions-77.tmp",
        ".rollups.v-r000009-dead00",
        ".v-r000009-dead00",
    ]
    current = lake.version()
    assert current is not None
    assert lake_entries(tmp_path) == version_entries(current)


def lake_entries(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "lake").iterdir())


def version_entries(version: str | None) -> list[str]:
    """What the lake directory holds with `version` current: the two links, the version and
    its facts, rollups and history."""
    return sorted(
        [
            "crimes",
            "revisions",
            f"{version}",
            f".facts{version}.json",
            f".rollups{version}",
            f".history{version}",
        ]
    )


def test_plain_directory_in_place_of_the_link_is_refused(tmp_path: Path) -> None:
    """A copied-in directory is not overwritten; the error says what to do."""
    (tmp_path / "lake" / "crimes").mkdir(parents=True)
    with pytest.raises(LakeError, match="Move it aside"):
        Lake(tmp_path / "lake").version()


def test_ids_dated_since_reads_only_recent_rows(tmp_path: Path) -> None:
    """Deletion candidates come from rows dated at or after the window start."""
    lake = Lake(tmp_path / "lake")
    commit(
        lake,
        staged(
            tmp_path,
            [
                api_row(1, "2024-01-05T00:00:00"),
                api_row(2, "2024-03-01T00:00:00"),
                api_row(3, "2024-03-09T00:00:00"),
            ],
        ),
    )
    assert lake.ids_dated_since(dt.datetime(2024, 3, 1)).sort().to_list() == [2, 3]


def test_summary_counts_rows_files_and_newest_dates(tmp_path: Path) -> None:
    """The summary reports what is on disk now."""
    lake = Lake(tmp_path / "lake")
    assert lake.summary().rows == 0
    commit(
        lake,
        staged(
            tmp_path,
            [
                api_row(1, "2024-01-05T00:00:00", "2024-02-01T00:00:00"),
                api_row(2, "2024-03-01T08:00:00", "2024-03-02T00:00:00"),
            ],
        ),
    )
    summary = lake.summary()
    assert (summary.rows, summary.partitions, summary.files) == (2, 2, 2)
    assert summary.max_date == dt.datetime(2024, 3, 1, 8)
    assert summary.max_updated_on == dt.datetime(2024, 3, 2)
    assert summary.bytes == sum(
        p.stat().st_size for p in (tmp_path / "lake" / "crimes").glob("*/*/*.parquet")
    )


def test_planning_in_many_buckets_gives_the_same_lake(tmp_path: Path) -> None:
    """Bucketed planning (used for big runs) decides exactly as planning everything at once."""
    first = [
        api_row(i, f"2024-0{1 + i % 4}-0{1 + i % 7}T10:00:00", "2024-05-01T00:00:00")
        for i in range(1, 30)
    ]
    second = [
        *(
            api_row(i, f"2024-0{1 + (i + 1) % 4}-11T10:00:00", "2024-06-01T00:00:00")
            for i in range(1, 30, 3)
        ),  # moved to the next month, newer
        *(api_row(i, "2024-02-02T10:00:00", "2024-04-01T00:00:00") for i in range(2, 30, 5)),
        api_row(40, "2024-03-03T03:00:00", "2024-06-01T00:00:00"),
    ]
    results = []
    for bucket_rows in (1_000_000, 1):
        root = tmp_path / f"b{bucket_rows}"
        lake = Lake(root / "lake")
        commit(lake, staged(root, first))
        staging = staged(root, second, second[:4])
        plan = lake.plan_merge(staging, [5, 6], bucket_rows=bucket_rows)
        lake.commit(staging, plan, label="two", observation=observed())
        results.append(
            (
                read_lake(root).to_dicts(),
                plan.rows_new,
                plan.rows_deleted,
                plan.rows_written,
                plan.partitions,
            )
        )
    assert results[0] == results[1]
    assert results[0][1:] == (1, 2, 11, [(2024, 1), (2024, 2), (2024, 3), (2024, 4)])
    ids = [row["id"] for row in results[0][0]]
    assert ids == sorted(set(ids))
    assert len(ids) == 28
