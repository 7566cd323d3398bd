"""One ingester and two web hosts sharing nothing but an S3 bucket (moto's server) and a Redis
(redis-server), all real processes on loopback: `chicrime demo` publishes, two `chicrime serve`
follow the bucket into their own DATA_DIR and answer the dashboard's callbacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.dash_requests import CALLBACK_PATH, overview_request
from tests.dashboard_server import running_dashboard
from tests.servers import RedisServer, S3Server

CHICRIME = str(Path(sys.executable).with_name("chicrime"))
POLL_SECONDS = 1
# The demo's windows end here; the selection below spans both (every row of either lake).
END = "2026-06-30"
SELECTION = ("2025-06-01", END)


def chicrime(
    data_dir: Path, environ: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHICRIME, *args],
        env={**os.environ, **environ, "DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def incidents(url: str) -> str:
    """The overview's incidents KPI, as the host shows it, for the whole selection."""
    answer = httpx.post(url + CALLBACK_PATH, json=overview_request(*SELECTION), timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["response"]["kpi-incidents-value"]["children"])


def freshness(url: str) -> str:
    answer = httpx.post(url + CALLBACK_PATH, json=overview_request(*SELECTION), timeout=30)
    return json.dumps(answer.json()["response"]["overview-freshness"]["children"])


def lake_rows(data_dir: Path, environ: dict[str, str]) -> str:
    status = chicrime(data_dir, environ, "status", "--json")
    return f"{json.loads(status.stdout)['lake']['rows']:,}"


def wait_for(condition: object, seconds: float) -> float:
    """Poll `condition()` until true; the seconds it took (fails the test after `seconds`)."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - started < seconds, f"not true within {seconds} s"
        time.sleep(0.2)
    return time.monotonic() - started


@pytest.fixture
def hosts(
    tmp_path: Path, s3_server: S3Server, redis_server: RedisServer
) -> Iterator[tuple[dict[str, str], list[str]]]:
    """The environment every process shares (store, cache, poll interval) and the URLs of two
    web hosts following the store, started after the ingester's first publication."""
    environ = {
        **s3_server.environ(s3_server.bucket),
        "LAKE_URL": f"s3://{s3_server.bucket}/chicago",
        "LAKE_POLL_SECONDS": str(POLL_SECONDS),
        "CACHE_URL": redis_server.url,
    }
    first = chicrime(
        tmp_path / "ingester", environ, "demo", "--years", "0.1", "--end", END,
        "--revision-days", "0",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "published .v-" in first.stdout
    with ExitStack() as stack:
        urls = [
            stack.enter_context(
                running_dashboard(tmp_path / name, (tmp_path / f"{name}.log").open("w"), 1, environ)
            )[0]
            for name in ("host-a", "host-b")
        ]
        yield environ, urls


def test_both_hosts_serve_each_commit_within_the_poll_interval(
    tmp_path: Path, hosts: tuple[dict[str, str], list[str]]
) -> None:
    """Both hosts serve the first publication, then the next commit's numbers within the poll
    interval (plus the download); neither ever answers with an error meanwhile."""
    environ, urls = hosts
    ingester = tmp_path / "ingester"
    before = lake_rows(ingester, environ)
    assert [incidents(url) for url in urls] == [before, before]
    second = chicrime(
        ingester, environ, "demo", "--years", "0.3", "--end", END, "--revision-days", "0"
    )
    assert second.returncode == 0, second.stderr
    after = lake_rows(ingester, environ)
    assert after != before
    took = wait_for(lambda: [incidents(url) for url in urls] == [after, after], 15)
    assert took < POLL_SECONDS + 5
    versions = {
        (tmp_path / name / "lake" / "crimes").readlink().name for name in ("host-a", "host-b")
    }
    assert versions == {(ingester / "lake" / "crimes").readlink().name}


def test_hosts_keep_serving_when_the_store_goes_away(
    tmp_path: Path, hosts: tuple[dict[str, str], list[str]], s3_server: S3Server
) -> None:
    """With the store gone, both hosts answer with the last version's numbers, and say so in
    the freshness line and `chicrime status` (unhealthy, naming the store)."""
    environ, urls = hosts
    rows = lake_rows(tmp_path / "ingester", environ)
    s3_server.stop()
    wait_for(lambda: all("has not been able to follow" in freshness(url) for url in urls), 15)
    assert [incidents(url) for url in urls] == [rows, rows]
    status = chicrime(tmp_path / "host-a", environ, "status", "--json")
    assert status.returncode == 1
    report = json.loads(status.stdout)
    assert report["follow"]["failing_since"] is not None
    assert report["follow"]["version"] == (tmp_path / "ingester/lake/crimes").readlink().name
    assert any(
        p.startswith(f"following {environ['LAKE_URL']} has failed since")
        for p in report["problems"]
    )


def test_a_result_computed_on_one_host_is_a_hit_on_the_other(
    hosts: tuple[dict[str, str], list[str]], redis_server: RedisServer
) -> None:
    """The query cache is shared through Redis: the second host's answer to the same selection
    stores nothing new (every query a hit) and equals the first's."""
    _environ, urls = hosts
    client = redis_server.client()
    first = httpx.post(urls[0] + CALLBACK_PATH, json=overview_request(*SELECTION), timeout=30)
    stored = sorted(client.keys("chicrime:*"))
    assert len(stored) >= 3  # the KPIs, the comparison and the charts' queries at least
    second = httpx.post(urls[1] + CALLBACK_PATH, json=overview_request(*SELECTION), timeout=30)
    assert sorted(client.keys("chicrime:*")) == stored
    assert second.json()["response"] == first.json()["response"]
