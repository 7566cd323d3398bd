"""The query cache in Redis (`CACHE_URL`): shared by every host and process, keyed by lake
version, expiring, and bypassed while the server is away."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

import chicrime.analytics.cache as cache_module
from chicrime.analytics import Analytics, Kpis
from chicrime.analytics.cache import ResultCache
from tests.dashboard_server import free_port
from tests.servers import RedisServer
from tests.test_analytics import ALL_ROWS, MARCH, commit_rows

CACHE_LOGGER = "chicrime.analytics.cache"
WEEK_SECONDS = 7 * 86_400
# A key as Analytics builds it: (format is added by ResultCache) name, lake version, filters.
KEY = ("kpis", ".v-first-52e431", "2024-03-01", "2024-03-31", ("BATTERY", "THEFT"), None, 0.5)

OpenCache = Callable[[str], ResultCache]


class Computations:
    """A `compute` for `memoise` that records each call and returns `value`."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


@pytest.fixture
def open_cache(tmp_path: Path) -> Iterator[OpenCache]:
    """Opens independent ResultCaches on a Redis URL (a disk directory given but never used);
    closes them all afterwards."""
    opened: list[ResultCache] = []

    def open_at(url: str) -> ResultCache:
        cache = ResultCache(tmp_path / "unused", 2**20, url=url)
        opened.append(cache)
        return cache

    yield open_at
    for cache in opened:
        cache.close()
    assert not (tmp_path / "unused").exists()


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == CACHE_LOGGER and record.levelno == logging.WARNING
    ]


def memoise_in_subprocess(url: str, value: str, hash_seed: str) -> str:
    """Memoise `KEY` in a new Python process with PYTHONHASHSEED=`hash_seed`, computing `value`
    on a miss; its stdout ("computed" first when it computed)."""
    script = (
        "from pathlib import Path\n"
        "from chicrime.analytics.cache import ResultCache\n"
        f"cache = ResultCache(Path('unused'), 2**20, url={url!r})\n"
        "def compute():\n"
        "    print('computed')\n"
        f"    return {value!r}\n"
        f"print(cache.memoise({KEY!r}, compute))\n"
        "cache.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_result_computed_through_one_cache_is_a_hit_in_another(
    redis_server: RedisServer, open_cache: OpenCache
) -> None:
    """A frame and a small value memoised by one ResultCache are read back equal by another."""
    frame = pl.DataFrame(
        {
            "period": [dt.date(2024, 3, 1), dt.date(2024, 3, 2)],
            "primary_type": ["THEFT", None],
            "incidents": [9, 4],
            "arrest_rate": [12.5, None],
        }
    )
    small = (dt.date(2024, 3, 31), Kpis(18, 6, 6 / 18, 5, 2.6))
    writer, reader = open_cache(redis_server.url), open_cache(redis_server.url)
    frame_compute, small_compute = Computations(frame), Computations(small)

    assert writer.memoise(("frame", "v1"), frame_compute) is frame
    assert writer.memoise(("small", "v1"), small_compute) is small
    read_frame = reader.memoise(("frame", "v1"), frame_compute)
    read_small = reader.memoise(("small", "v1"), small_compute)

    assert (frame_compute.calls, small_compute.calls) == (1, 1)
    assert isinstance(read_frame, pl.DataFrame)
    assert read_frame.equals(frame)
    assert read_frame.schema == frame.schema
    assert read_small == small
    assert read_small is not small


def test_keys_are_the_same_in_every_process(
    redis_server: RedisServer, open_cache: OpenCache
) -> None:
    """Memoised by a process with one hash seed, a key is a hit in one with another and here."""
    assert memoise_in_subprocess(redis_server.url, "from writer", "1") == (
        "computed\nfrom writer\n"
    )
    assert memoise_in_subprocess(redis_server.url, "from reader", "2") == "from writer\n"
    compute = Computations("from test")
    assert open_cache(redis_server.url).memoise(KEY, compute) == "from writer"
    assert compute.calls == 0


def test_another_lake_version_is_a_miss(redis_server: RedisServer, open_cache: OpenCache) -> None:
    """The same name and arguments under another version string are computed afresh."""
    cache = open_cache(redis_server.url)
    old, new = Computations("old"), Computations("new")
    assert cache.memoise(("kpis", "v-1", "2024-03-01"), old) == "old"
    assert cache.memoise(("kpis", "v-2", "2024-03-01"), new) == "new"
    assert cache.memoise(("kpis", "v-1", "2024-03-01"), new) == "old"
    assert cache.memoise(("kpis", "v-2", "2024-03-01"), old) == "new"
    assert (old.calls, new.calls) == (1, 1)


def test_entries_expire_after_a_week(redis_server: RedisServer, open_cache: OpenCache) -> None:
    """The one stored key has a time to live of (just under) seven days."""
    open_cache(redis_server.url).memoise(KEY, Computations("value"))
    client = redis_server.client()
    try:
        keys = client.keys("chicrime:*")
        assert len(keys) == 1
        assert WEEK_SECONDS - 60 < client.ttl(keys[0]) <= WEEK_SECONDS
    finally:
        client.close()


def test_a_lost_server_is_bypassed_and_asked_again_after_the_pause(
    redis_server: RedisServer,
    open_cache: OpenCache,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With Redis stopped, results are computed, one warning is logged and no call waits; after
    the pause, with Redis back, results are cached again."""
    pause = 1.0
    monkeypatch.setattr(cache_module, "_REDIS_PAUSE_SECONDS", pause)
    caplog.set_level(logging.WARNING, logger=CACHE_LOGGER)
    cache = open_cache(redis_server.url)
    stored = Computations("stored")
    assert cache.memoise(KEY, stored) == "stored"
    assert cache.memoise(KEY, stored) == "stored"
    assert stored.calls == 1

    redis_server.stop()
    computed = Computations("computed")
    assert cache.memoise(KEY, computed) == "computed"
    paused_at = time.monotonic()
    assert computed.calls == 1
    [warning] = warnings_logged(caplog)
    assert warning.startswith("query cache read failed, computing instead: ")

    started = time.perf_counter()
    values = [cache.memoise(KEY, computed) for _ in range(20)]
    elapsed = time.perf_counter() - started
    assert values == ["computed"] * 20
    assert computed.calls == 21
    assert elapsed < pause
    assert warnings_logged(caplog) == [warning]

    redis_server.start()  # on the same port, empty
    time.sleep(max(0.0, paused_at + pause - time.monotonic()) + 0.05)
    again = Computations("again")
    assert cache.memoise(KEY, again) == "again"
    assert cache.memoise(KEY, again) == "again"
    assert again.calls == 1
    assert warnings_logged(caplog) == [warning]


def test_an_unreachable_server_at_open_time_is_bypassed(
    open_cache: OpenCache, caplog: pytest.LogCaptureFixture
) -> None:
    """With nothing listening at the URL, each result is computed and returned; one warning."""
    caplog.set_level(logging.WARNING, logger=CACHE_LOGGER)
    cache = open_cache(f"redis://127.0.0.1:{free_port()}/0")
    compute = Computations("value")
    assert cache.memoise(KEY, compute) == "value"
    assert cache.memoise(KEY, compute) == "value"
    assert compute.calls == 2
    [warning] = warnings_logged(caplog)
    assert warning.startswith("query cache read failed, computing instead: ")


def test_analytics_on_two_hosts_share_results_through_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Two hosts with the same DATA_DIR content: what the first queried, the second reads."""
    first_dir, second_dir = tmp_path / "host-1", tmp_path / "host-2"
    commit_rows(first_dir, ALL_ROWS, "first")
    shutil.copytree(first_dir, second_dir, symlinks=True)
    first_queries: list[str] = []
    second_queries: list[str] = []
    first = Analytics(first_dir, cache_url=redis_server.url, on_query=first_queries.append)
    second = Analytics(second_dir, cache_url=redis_server.url, on_query=second_queries.append)
    assert first.data_version() == second.data_version() is not None

    computed = first.kpis(MARCH)
    read = second.kpis(MARCH)

    assert computed == read == Kpis(18, 6, 6 / 18, 5, 2.6)
    assert first_queries == ["kpis", "kpis.previous"]
    assert second_queries == []
    assert not (first_dir / "cache" / "analytics").exists()
    assert not (second_dir / "cache" / "analytics").exists()
