"""`chicrime daemon`: a real process on a fast schedule against the loopback Socrata server."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chicrime.daemon import Schedule, StopRequested, SystemdNotifier, _Daemon, next_daily_run
from chicrime.ingest.pipeline import ingest_once
from chicrime.settings import Settings
from tests.conftest import api_row, expected_lake, lake_rows
from tests.servers import S3Server
from tests.socrata_server import Fault, SocrataDataset, SocrataServer
from tests.test_cli import CHICRIME, run_cli

CHICAGO_3_15 = dt.time(3, 15)


def original_rows() -> list[dict[str, object]]:
    return [api_row(i, f"2024-{1 + i % 5:02d}-{10 + i % 9:02d}T12:00:00.000") for i in range(1, 13)]


def later_rows() -> list[dict[str, object]]:
    """An edit of row 2 and a new row 13, both updated after the first run."""
    return [
        api_row(2, "2024-03-11T12:00:00.000", "2024-07-01T09:00:00.000", arrest=True),
        api_row(13, "2024-06-30T23:00:00.000", "2024-07-01T09:00:00.000"),
    ]


def rows_after_change() -> list[dict[str, object]]:
    """Upstream once `later_rows` landed: the latest version of each id."""
    return list(
        ({r["id"]: r for r in original_rows()} | {r["id"]: r for r in later_rows()}).values()
    )


@pytest.fixture
def upstream() -> Iterator[tuple[SocrataServer, SocrataDataset]]:
    dataset = SocrataDataset(original_rows())
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        yield server, dataset


class Daemon:
    """A `chicrime daemon` child process with its stderr in a file."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        self.data_dir = tmp_path / "data"
        self.log = tmp_path / "daemon.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SODA_", "CHI_"))}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [CHICRIME, "daemon", *args],
                env={
                    **clean,
                    "DATA_DIR": str(self.data_dir),
                    "START_DATE": "2024-01-01",
                    "PAGE_LIMIT": "5",
                    **env,
                },
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def runs(self) -> list[tuple[int, str, str | None]]:
        db = self.data_dir / "state" / "chicrime.db"
        if not db.exists():
            return []
        with sqlite3.connect(db, timeout=10) as connection:
            try:
                return connection.execute(
                    "SELECT run_id, status, error FROM runs ORDER BY run_id"
                ).fetchall()
            except sqlite3.OperationalError:  # the daemon is still creating the schema
                return []

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"daemon exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{self.output()}"
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, float]:
        """Send `sig`; return the exit code and the seconds it took to exit."""
        sent = time.monotonic()
        self.process.send_signal(sig)
        code = self.process.wait(timeout=10)
        return code, time.monotonic() - sent

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(*args: str, **env: str) -> Daemon:
        started.append(Daemon(tmp_path, *args, **env))
        return started[-1]

    yield start
    for daemon in started:
        daemon.kill()


def successes(daemon: Daemon) -> int:
    return sum(status == "success" for _, status, _ in daemon.runs())


def assert_no_leftovers(data_dir: Path) -> None:
    """No staging files and no half-built lake version: only the current and previous ones,
    each with its facts file, rollups and history."""
    assert list((data_dir / "staging").glob("*")) == []
    current = (data_dir / "lake" / "crimes").resolve().name
    assert (data_dir / "lake" / "revisions").resolve().name == f".history{current}"
    entries = {
        p.name for p in (data_dir / "lake").iterdir() if p.name not in ("crimes", "revisions")
    }
    versions = {name for name in entries if name.startswith(".v-")}
    assert current in versions
    assert len(versions) <= 2
    assert entries - versions == {
        f"{prefix}{version}{suffix}"
        for version in versions
        for prefix, suffix in ((".facts", ".json"), (".rollups", ""), (".history", ""))
    }


def test_runs_on_schedule_and_records_every_run(
    upstream: tuple[SocrataServer, SocrataDataset], start_daemon: Callable[..., Daemon]
) -> None:
    """With `--every 1` it runs again and again; each run is recorded and the lake follows."""
    server, dataset = upstream
    daemon = start_daemon("--every", "1", SODA_BASE_URL=server.base_url)
    daemon.wait_for(lambda: successes(daemon) >= 1, "the first run")
    dataset.upsert(later_rows())
    first_after_change = len(daemon.runs()) + 1
    daemon.wait_for(lambda: successes(daemon) >= first_after_change, "a run after the change")
    code, seconds = daemon.stop()

    assert (code, seconds < 3) == (0, True)
    runs = daemon.runs()
    assert [status for _, status, _ in runs] == ["success"] * len(runs)
    assert len(runs) >= 2
    assert lake_rows(daemon.data_dir) == expected_lake(rows_after_change())
    log = daemon.output()
    assert 'daemon started schedule="every 1 s"' in log
    assert "run finished run_id=1 " in log
    assert f"run finished run_id={first_after_change} " in log
    assert "daemon stopped signal=SIGTERM" in log
    assert_no_leftovers(daemon.data_dir)


def test_a_failed_run_is_logged_and_the_next_run_still_happens(
    upstream: tuple[SocrataServer, SocrataDataset], start_daemon: Callable[..., Daemon]
) -> None:
    """503s exhaust the first run's retries; the daemon logs it, stays up, and run 2 succeeds."""
    server, _ = upstream
    server.faults.extend([Fault.status(503), Fault.status(503)])
    daemon = start_daemon(
        "--every",
        "1",
        SODA_BASE_URL=server.base_url,
        RETRY_ATTEMPTS="2",
        RETRY_MAX_SECONDS="1",
    )
    daemon.wait_for(lambda: successes(daemon) >= 1, "a successful run after the failure")
    code, _ = daemon.stop(signal.SIGINT)

    assert code == 0
    (failed_id, failed, error), (ok_id, ok, _) = daemon.runs()[:2]
    assert (failed_id, failed, ok_id, ok) == (1, "failed", 2, "success")
    assert error is not None
    assert "503" in error
    assert "scheduled run failed; the next one still happens" in daemon.output()
    assert lake_rows(daemon.data_dir) == expected_lake(original_rows())


def test_sigterm_mid_run_exits_0_and_leaves_the_previous_lake(
    upstream: tuple[SocrataServer, SocrataDataset], start_daemon: Callable[..., Daemon]
) -> None:
    """A stop while a slow run fetches aborts it before the swap: old lake, run 'interrupted'."""
    server, dataset = upstream
    daemon = start_daemon("--every", "1", SODA_BASE_URL=server.base_url, PAGE_LIMIT="1")
    daemon.wait_for(lambda: successes(daemon) >= 1, "the first run")
    lake_before = lake_rows(daemon.data_dir)
    dataset.upsert(later_rows())
    server.faults.extend(Fault.slow(0.3) for _ in range(60))
    daemon.wait_for(lambda: daemon.runs()[-1][1] == "running", "the slow run to start")
    time.sleep(1)  # well into the page-by-page fetch
    code, seconds = daemon.stop()

    assert (code, seconds < 3) == (0, True)
    *_, (_, status, error) = daemon.runs()
    assert (status, error) == ("failed", "interrupted (StopRequested)")
    assert lake_rows(daemon.data_dir) == lake_before == expected_lake(original_rows())
    assert "run stopped before its commit; lake and watermark unchanged" in daemon.output()
    assert_no_leftovers(daemon.data_dir)


def test_stop_between_runs_exits_at_once(
    upstream: tuple[SocrataServer, SocrataDataset], start_daemon: Callable[..., Daemon]
) -> None:
    """Waiting for the next slot, SIGTERM ends the daemon within a second, exit 0."""
    server, _ = upstream
    daemon = start_daemon("--every", "3600", SODA_BASE_URL=server.base_url)
    daemon.wait_for(lambda: "next run scheduled" in daemon.output(), "the first run to end")
    code, seconds = daemon.stop()
    assert (code, seconds < 1.5) == (0, True)
    assert [status for _, status, _ in daemon.runs()] == ["success"]


@pytest.mark.parametrize("value", ["25:00", "3:15", "03:15:00", "noon"])
def test_bad_daemon_at_exits_2_naming_the_variable(tmp_path: Path, value: str) -> None:
    """DAEMON_AT must be HH:MM; anything else stops the daemon before it starts."""
    result = run_cli("daemon", env={"DAEMON_AT": value}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"chicrime: DAEMON_AT={value!r} is not valid: expected a Chicago time of day as HH:MM "
        "(24-hour), like 03:15\n"
    )


def receive_until(sock: socket.socket, wanted: str) -> list[str]:
    """Every datagram up to and including the first containing `wanted`."""
    messages = []
    while not messages or wanted not in messages[-1]:
        messages.append(sock.recv(4096).decode())
    return messages


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_systemd_readiness_watchdog_and_stopping(
    tmp_path: Path,
    start_daemon: Callable[..., Daemon],
    abstract: bool,
) -> None:
    """Under Type=notify: READY=1 first, WATCHDOG=1 every half timeout, STOPPING=1 on SIGTERM."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"chicrime-test-{os.getpid()}-{time.monotonic_ns()}"
    address = f"@{name}" if abstract else str(tmp_path / "notify")
    sock.bind("\0" + name if abstract else address)
    sock.settimeout(10)
    with sock:
        daemon = start_daemon(NOTIFY_SOCKET=address, WATCHDOG_USEC="200000")
        started = receive_until(sock, "READY=1")
        pings = time.monotonic()
        watchdog = receive_until(sock, "WATCHDOG=1")
        watchdog += receive_until(sock, "WATCHDOG=1") + receive_until(sock, "WATCHDOG=1")
        elapsed = time.monotonic() - pings
        code, _ = daemon.stop()
        stopping = receive_until(sock, "STOPPING=1")

    assert code == 0
    ready = started[0].split("\n")
    assert ready[0] == "READY=1"
    assert ready[1].startswith("STATUS=next run at ")
    assert set(watchdog) == {"WATCHDOG=1"}
    assert 0.15 < elapsed < 2  # three pings, 0.1 s apart
    assert stopping[-1] == "STOPPING=1\nSTATUS=stopping"


def test_watchdog_is_off_when_watchdog_pid_names_another_process() -> None:
    """WATCHDOG_USEC meant for another pid (systemd sets WATCHDOG_PID) is ignored."""
    other = SystemdNotifier.from_environ(
        {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    )
    ours = SystemdNotifier.from_environ(
        {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
    )
    assert (other.watchdog_interval, ours.watchdog_interval) == (None, 0.5)
    assert SystemdNotifier.from_environ({}).address is None


@pytest.mark.parametrize(
    ("stop_at", "status", "lake"),
    [
        ("fetched", "failed", "old"),
        ("partition_written", "failed", "old"),
        ("lake_committed", "success", "new"),
        ("state_committed", "success", "new"),
    ],
)
def test_stop_aborts_before_the_swap_and_finishes_after_it(
    settings: Settings,
    server: SocrataServer,
    dataset: SocrataDataset,
    stop_at: str,
    status: str,
    lake: str,
) -> None:
    """A stop at a step before the lake swap aborts the run; from the swap on, the run commits."""
    dataset.upsert(original_rows())
    ingest_once(settings)
    dataset.upsert(later_rows())
    daemon = _Daemon(
        settings, Schedule(CHICAGO_3_15), SystemdNotifier(), lambda: dt.datetime.now(dt.UTC)
    )

    def on_step(step: str) -> None:
        if step == stop_at:
            daemon.request_stop(signal.SIGTERM, None)
        daemon._on_step(step)

    daemon.abortable = True
    if status == "failed":
        with pytest.raises(StopRequested):
            ingest_once(settings, on_step=on_step)
    else:
        ingest_once(settings, on_step=on_step)
    upstream = original_rows() if lake == "old" else rows_after_change()
    assert lake_rows(settings.data_dir) == expected_lake(upstream)
    assert_no_leftovers(settings.data_dir)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Before today's slot (CDT, UTC-5): today 08:15 UTC.
        (dt.datetime(2024, 7, 1, 7, 0, tzinfo=dt.UTC), dt.datetime(2024, 7, 1, 8, 15)),
        # Exactly at the slot: the next day's.
        (dt.datetime(2024, 7, 1, 8, 15, tzinfo=dt.UTC), dt.datetime(2024, 7, 2, 8, 15)),
        # Winter (CST, UTC-6).
        (dt.datetime(2024, 1, 15, 12, 0, tzinfo=dt.UTC), dt.datetime(2024, 1, 16, 9, 15)),
        # Spring forward on 2024-03-10: 03:15 CDT is 08:15 UTC, after 09:15 UTC the day before.
        (dt.datetime(2024, 3, 9, 10, 0, tzinfo=dt.UTC), dt.datetime(2024, 3, 10, 8, 15)),
        # Fall back on 2024-11-03: 03:15 CST is 09:15 UTC.
        (dt.datetime(2024, 11, 2, 9, 0, tzinfo=dt.UTC), dt.datetime(2024, 11, 3, 9, 15)),
    ],
)
def test_next_daily_run_follows_chicago_wall_clock(now: dt.datetime, expected: dt.datetime) -> None:
    """The daily slot is 03:15 in Chicago whatever the offset that day."""
    assert next_daily_run(CHICAGO_3_15, now) == expected.replace(tzinfo=dt.UTC)


def test_nonexistent_wall_time_runs_an_hour_later() -> None:
    """02:30 does not exist on the spring-forward day: the run happens at 03:30 CDT."""
    now = dt.datetime(2024, 3, 10, 6, 0, tzinfo=dt.UTC)  # 00:00 CST
    assert next_daily_run(dt.time(2, 30), now) == dt.datetime(2024, 3, 10, 8, 30, tzinfo=dt.UTC)


def test_every_schedule_runs_at_once_then_after_each_run() -> None:
    """`--every` runs at start, then N seconds after the previous run ended."""
    now = dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC)
    schedule = Schedule(CHICAGO_3_15, every_seconds=90)
    assert schedule.first_run(now) == now
    assert schedule.run_after(now) == now + dt.timedelta(seconds=90)
    assert Schedule(CHICAGO_3_15).first_run(now) == dt.datetime(2024, 7, 2, 8, 15, tzinfo=dt.UTC)


def test_each_run_publishes_and_a_lost_store_only_delays_it(
    upstream: tuple[SocrataServer, SocrataDataset],
    start_daemon: Callable[..., Daemon],
    s3_server: S3Server,
) -> None:
    """With LAKE_URL each successful run publishes; while the store is gone the runs still
    succeed (the failure to publish is logged), and the first run after it is back publishes
    the current version."""
    server, _ = upstream
    url = f"s3://{s3_server.bucket}/lake"
    daemon = start_daemon(
        "--every",
        "1",
        SODA_BASE_URL=server.base_url,
        LAKE_URL=url,
        **s3_server.environ(s3_server.bucket),
    )
    status_file = daemon.data_dir / "state" / "publish.json"

    def published() -> dict[str, object]:
        return json.loads(status_file.read_text()) if status_file.exists() else {}

    daemon.wait_for(lambda: published().get("version") is not None, "the first publish")
    s3_server.stop()
    daemon.wait_for(lambda: published().get("error") is not None, "a failed publish")
    runs_while_down = successes(daemon)
    daemon.wait_for(lambda: successes(daemon) > runs_while_down, "a run while the store is down")
    s3_server.start()
    s3_server.create_bucket(s3_server.bucket)
    daemon.wait_for(lambda: published().get("error") is None, "a publish after the outage")
    code, _ = daemon.stop()

    assert code == 0
    answer = s3_server.client().get_object(Bucket=s3_server.bucket, Key="lake/current.json")
    pointer = json.loads(answer["Body"].read())
    assert pointer["version"] == (daemon.data_dir / "lake" / "crimes").readlink().name
    assert "publish failed; the next run publishes again" in daemon.output()
    assert [status for _, status, _ in daemon.runs()] == ["success"] * len(daemon.runs())
