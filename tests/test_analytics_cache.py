"""Memoised analytics: served from disk while the lake version holds, recomputed after a commit."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from chicrime.analytics import Analytics, Filters, Kpis
from chicrime.store.rollups import rollups_dir
from tests.test_analytics import ALL_ROWS, MARCH, MARCH_2024, commit_rows, incident


class CountingAnalytics:
    """An `Analytics` whose DuckDB queries are recorded by label through the `on_query` hook."""

    def __init__(self, data_dir: Path, cache_dir: Path, *, cache: bool = True) -> None:
        self.queries: list[str] = []
        self.analytics = Analytics(
            data_dir, cache_dir=cache_dir, cache=cache, on_query=self.queries.append
        )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    commit_rows(data_dir, ALL_ROWS, "first")
    return data_dir


@pytest.fixture
def counting(data_dir: Path, tmp_path: Path) -> CountingAnalytics:
    return CountingAnalytics(data_dir, tmp_path / "cache")


def test_second_identical_call_is_served_from_the_cache(counting: CountingAnalytics) -> None:
    """The first call runs DuckDB; the same call again runs no query and returns equal results."""
    analytics = counting.analytics
    first = analytics.top_types(MARCH)
    assert counting.queries == ["top_types"]
    second = analytics.top_types(MARCH)
    assert counting.queries == ["top_types"]
    assert second.equals(first)
    assert second.schema == first.schema


def test_every_query_method_is_memoised(counting: CountingAnalytics) -> None:
    """Each query method runs its queries once; repeating them all runs nothing."""
    analytics = counting.analytics

    def ask_everything() -> list[object]:
        return [
            analytics.date_range(),
            analytics.default_filters(),
            analytics.dimensions(),
            analytics.kpis(MARCH),
            analytics.incidents_over_time(MARCH),
            analytics.top_types(MARCH),
            analytics.weekday_hour(MARCH),
            analytics.arrest_rates(MARCH),
            analytics.map_points(MARCH),
            analytics.map_hexagons(MARCH),
            analytics.community_area_counts(MARCH),
            analytics.table(MARCH),
            analytics.freshness().newest_date,
        ]

    first = ask_everything()
    ran = list(counting.queries)
    # The lake's size, date range, types and districts come from the version's facts file.
    assert sorted(set(ran)) == sorted(
        {
            "kpis",
            "kpis.previous",
            "incidents_over_time",
            "top_types",
            "weekday_hour",
            "arrest_rates",
            "map_points",
            "map_hexagons",
            "community_area_counts",
            "table",
        }
    )
    second = ask_everything()
    assert counting.queries == ran
    for old, new in zip(first, second, strict=True):
        assert new.equals(old) if isinstance(old, pl.DataFrame) else new == old


def test_cached_results_survive_the_lake_files_disappearing(
    counting: CountingAnalytics, data_dir: Path, tmp_path: Path
) -> None:
    """With the Parquet files (and rollups) gone, same version, a new instance still answers
    from the cache."""
    expected = counting.analytics.kpis(MARCH)
    version = counting.analytics.data_version()
    assert version is not None
    shutil.rmtree(data_dir / "lake" / version)
    shutil.rmtree(rollups_dir(data_dir / "lake", version))
    (data_dir / "lake" / version).mkdir()
    fresh = CountingAnalytics(data_dir, tmp_path / "cache")
    assert fresh.analytics.kpis(MARCH) == expected == Kpis(18, 6, 6 / 18, 5, 2.6)
    assert fresh.queries == []
    uncached = Analytics(data_dir, cache=False)
    assert uncached.kpis(MARCH) == Kpis(0, 0, None, 0, None)


def test_a_new_lake_version_invalidates_cached_results(
    counting: CountingAnalytics, data_dir: Path
) -> None:
    """After ingestion commits another batch, the same call recomputes and sees the new rows."""
    analytics = counting.analytics
    before = analytics.data_version()
    assert analytics.kpis(MARCH).incidents == 18
    assert analytics.date_range() == (dt.date(2023, 11, 5), dt.date(2024, 4, 15))
    queries_before = len(counting.queries)
    after = commit_rows(
        data_dir, [incident(100, "2024-03-15T12:00:00"), incident(101, "2024-05-02T08:00:00")], "b"
    )
    assert analytics.data_version() == after != before
    assert analytics.kpis(MARCH).incidents == 19
    assert analytics.date_range() == (dt.date(2023, 11, 5), dt.date(2024, 5, 2))
    assert len(counting.queries) > queries_before


def test_a_commit_that_changes_nothing_keeps_the_cache(
    counting: CountingAnalytics, data_dir: Path
) -> None:
    """Re-committing identical rows keeps the version, so cached results stay valid."""
    analytics = counting.analytics
    analytics.kpis(MARCH)
    version = analytics.data_version()
    commit_rows(data_dir, MARCH_2024, "again")
    assert analytics.data_version() == version
    analytics.kpis(MARCH)
    assert counting.queries == ["kpis", "kpis.previous"]


def test_instances_on_the_same_cache_dir_share_entries(data_dir: Path, tmp_path: Path) -> None:
    """What one instance (e.g. one server process) computed, another reads without querying."""
    writer = CountingAnalytics(data_dir, tmp_path / "shared")
    reader = CountingAnalytics(data_dir, tmp_path / "shared")
    computed = writer.analytics.weekday_hour(MARCH)
    assert reader.analytics.weekday_hour(MARCH).equals(computed)
    assert (writer.queries, reader.queries) == (["weekday_hour"], [])


def test_each_selection_and_argument_has_its_own_entry(counting: CountingAnalytics) -> None:
    """Different filters or a different `n` are computed separately, with their own answers."""
    analytics = counting.analytics
    thefts = Filters(MARCH.start, MARCH.end, primary_types=("THEFT",))
    assert analytics.top_types(MARCH, n=1).rows() == [("THEFT", 9)]
    assert analytics.top_types(MARCH, n=2).height == 2
    assert analytics.top_types(thefts, n=2).rows() == [("THEFT", 9)]
    assert analytics.top_types(MARCH, n=1).rows() == [("THEFT", 9)]
    assert counting.queries == ["top_types"] * 3


def test_filters_differing_only_in_separators_do_not_share_an_entry(
    counting: CountingAnalytics,
) -> None:
    """Types ("A|B",) and ("A", "B") have the same URL form but are different selections."""
    analytics = counting.analytics
    two = Filters(MARCH.start, MARCH.end, primary_types=("BATTERY", "THEFT"))
    one = Filters(MARCH.start, MARCH.end, primary_types=("BATTERY|THEFT",))
    assert two.cache_key() == one.cache_key()
    assert analytics.kpis(two).incidents == 13
    assert analytics.kpis(one).incidents == 0


def test_cache_off_queries_every_time(data_dir: Path, tmp_path: Path) -> None:
    """With `cache=False` nothing is stored and each call runs DuckDB."""
    counting = CountingAnalytics(data_dir, tmp_path / "unused", cache=False)
    counting.analytics.top_types(MARCH)
    counting.analytics.top_types(MARCH)
    assert counting.queries == ["top_types", "top_types"]
    assert not (tmp_path / "unused").exists()


def test_csv_is_streamed_fresh_every_time(counting: CountingAnalytics) -> None:
    """CSV downloads are never memoised: each one counts and reads rows again."""
    for _ in range(2):
        chunks, _ = counting.analytics.csv(MARCH)
        assert len(b"".join(chunks).splitlines()) == 19
    assert counting.queries == ["csv.count", "csv.rows"] * 2


def test_an_unusable_cache_directory_is_bypassed(data_dir: Path, tmp_path: Path) -> None:
    """A cache path that is a file: results are still right, just computed every time."""
    blocked = tmp_path / "blocked"
    blocked.write_text("not a directory")
    counting = CountingAnalytics(data_dir, blocked)
    assert counting.analytics.kpis(MARCH).incidents == 18
    assert counting.analytics.kpis(MARCH).incidents == 18
    assert counting.queries == ["kpis", "kpis.previous"] * 2


def test_results_without_a_lake_are_not_cached(tmp_path: Path) -> None:
    """Before the first ingestion nothing is cached, so the first commit shows at once."""
    data_dir = tmp_path / "data"
    analytics = Analytics(data_dir, cache_dir=tmp_path / "cache")
    assert analytics.kpis(MARCH).incidents == 0
    assert analytics.date_range() is None
    commit_rows(data_dir, MARCH_2024, "first")
    assert analytics.kpis(MARCH).incidents == 18
    assert analytics.date_range() == (dt.date(2024, 3, 1), dt.date(2024, 3, 31))


def test_default_cache_dir_is_under_the_data_dir(data_dir: Path) -> None:
    """Without `cache_dir`, entries go to DATA_DIR/cache/analytics."""
    Analytics(data_dir).top_types(MARCH)
    assert (data_dir / "cache" / "analytics" / "cache.db").is_file()
