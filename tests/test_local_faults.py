"""Local faults end in exit 1 and one `chicrime:` line, lose nothing, and show in `status`.

Real faults, not mocks: a small tmpfs filled to the brim (disk full), a tmpfs remounted
read-only, a second process holding SQLite's write lock, a truncated Parquet file, garbage in
the state file. Mounting needs root (CI runs as root); elsewhere those tests skip with a reason.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chicrime.errors import WriteError
from chicrime.store.faults import writing
from chicrime.store.lake import Lake
from chicrime.store.rollups import rollups_dir, write_rollups
from tests.conftest import api_row, lake_rows
from tests.socrata_server import SocrataDataset, SocrataServer
from tests.test_analytics import commit_rows, incident
from tests.test_cli import env_for, run_cli


def rows() -> list[dict[str, object]]:
    return [api_row(i, f"2024-0{1 + i % 5}-{10 + i:02d}T12:00:00.000") for i in range(1, 9)]


@pytest.fixture
def upstream() -> Iterator[tuple[SocrataServer, SocrataDataset]]:
    dataset = SocrataDataset(rows())
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        yield server, dataset


@contextmanager
def tmpfs(path: Path, megabytes: int) -> Iterator[Path]:
    """A fresh tmpfs of `megabytes` mounted at `path` for the block (root only)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


@contextmanager
def filled(directory: Path) -> Iterator[None]:
    """Take every free byte of `directory`'s file system for the block.

    The filler is unlinked at once and held open, so a run cleaning up its own directories
    cannot free the space; closing it at the end does.
    """
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    filler.unlink()
    try:
        for chunk in (65536, 512, 1):
            try:
                while True:
                    os.write(descriptor, b"\0" * chunk)
            except OSError:
                continue
        yield
    finally:
        os.close(descriptor)


def cli(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env, cwd=tmp_path)


def assert_one_chicrime_line(stderr: str, *fragments: str) -> str:
    """stderr's last line is the `chicrime:` line holding `fragments`; no traceback anywhere."""
    assert "Traceback" not in stderr
    line = stderr.splitlines()[-1]
    assert line.startswith("chicrime: ")
    for fragment in fragments:
        assert fragment in line
    return line


def status_problems(env: dict[str, str], tmp_path: Path) -> tuple[int, list[str]]:
    result = cli(env, tmp_path, "status", "--json")
    return result.returncode, json.loads(result.stdout)["problems"]


@pytest.mark.parametrize(
    ("place", "megabytes", "message"),
    [
        ("lake", 8, "cannot write {mount}/"),
        ("staging", 8, "cannot write {mount}/"),
        ("state", 4, "cannot write the state database {mount}/chicrime.db: the disk is full"),
    ],
)
def test_a_full_disk_fails_cleanly_and_heals(
    upstream: tuple[SocrataServer, SocrataDataset],
    tmp_path: Path,
    place: str,
    megabytes: int,
    message: str,
) -> None:
    """ENOSPC under the lake, staging or state: exit 1, one line naming the file, lake kept,
    status unhealthy while the disk is full; the next run after freeing space heals."""
    server, dataset = upstream
    env = env_for(server, tmp_path, STATUS_MIN_FREE_MB="1")
    with tmpfs(tmp_path / "data" / place, megabytes) as mount:
        assert cli(env, tmp_path, "ingest", "--once").returncode == 0
        before = lake_rows(tmp_path / "data")
        dataset.upsert([api_row(50, "2024-05-30T12:00:00.000", "2024-06-02T00:00:00.000")])
        with filled(mount):
            failed = cli(env, tmp_path, "ingest", "--once")
            code, problems = status_problems(env, tmp_path)

        assert failed.returncode == 1
        line = assert_one_chicrime_line(failed.stderr, message.format(mount=mount))
        if place != "state":
            assert "No space left on device" in line
            assert f"The disk is full: free space on the file system holding {mount}" in line
            assert "The lake and state were left as the last successful run committed them" in line
            assert any(p.startswith("last run #2 failed: cannot write") for p in problems)
        assert lake_rows(tmp_path / "data") == before
        assert code == 1
        assert any(
            p.startswith(f"only 0.0 MB free on the file system of {mount}") for p in problems
        )
        assert cli(env, tmp_path, "ingest", "--once").returncode == 0
        assert 50 in {r["id"] for r in lake_rows(tmp_path / "data")}
        assert status_problems(env, tmp_path) == (0, [])


def test_a_read_only_lake_fails_cleanly_and_heals_when_writable_again(
    upstream: tuple[SocrataServer, SocrataDataset], tmp_path: Path
) -> None:
    """EROFS: exit 1 naming the read-only place; status says so; writable again, it heals."""
    server, dataset = upstream
    env = env_for(server, tmp_path, STATUS_MIN_FREE_MB="1")
    with tmpfs(tmp_path / "data" / "lake", 8) as mount:
        assert cli(env, tmp_path, "ingest", "--once").returncode == 0
        before = lake_rows(tmp_path / "data")
        dataset.upsert([api_row(50, "2024-05-30T12:00:00.000", "2024-06-02T00:00:00.000")])
        remount(mount, "ro")
        try:
            failed = cli(env, tmp_path, "ingest", "--once")
            code, problems = status_problems(env, tmp_path)
        finally:
            remount(mount, "rw")

        assert failed.returncode == 1
        assert_one_chicrime_line(
            failed.stderr,
            f"cannot write {mount}/",
            "is on a read-only file system: make it writable",
        )
        assert lake_rows(tmp_path / "data") == before
        assert code == 1
        assert f"{mount} is not writable: runs cannot change it" in problems
        assert cli(env, tmp_path, "ingest", "--once").returncode == 0
        assert 50 in {r["id"] for r in lake_rows(tmp_path / "data")}


def test_a_state_database_locked_by_another_process_fails_cleanly(
    upstream: tuple[SocrataServer, SocrataDataset], tmp_path: Path
) -> None:
    """A writer holding SQLite's lock past SQLITE_TIMEOUT: exit 1, one line, status unhealthy."""
    server, _dataset = upstream
    env = env_for(server, tmp_path, SQLITE_TIMEOUT="0.5")
    assert cli(env, tmp_path, "ingest", "--once").returncode == 0
    database = tmp_path / "data" / "state" / "chicrime.db"
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        failed = cli(env, tmp_path, "ingest", "--once")
        code, problems = status_problems(env, tmp_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert failed.returncode == 1
    assert assert_one_chicrime_line(failed.stderr) == (
        f"chicrime: the state database {database} is locked by another process (waited 0.5 s): "
        "finish or close what holds it (a `sqlite3` shell inside a transaction, say), then run "
        "again; SQLITE_TIMEOUT sets how long to wait."
    )
    assert code == 1
    assert problems == [
        f"the state database {database} is locked by another process: runs cannot record "
        "anything until it is released"
    ]
    assert status_problems(env, tmp_path) == (0, [])


def test_a_truncated_lake_file_is_named_and_verify_repair_mends_it(
    upstream: tuple[SocrataServer, SocrataDataset], tmp_path: Path
) -> None:
    """A damaged Parquet file stops ingest with a pointer to `verify --repair`, which mends it."""
    server, _dataset = upstream
    env = env_for(server, tmp_path)
    assert cli(env, tmp_path, "ingest", "--once").returncode == 0
    expected = lake_rows(tmp_path / "data")
    (link,) = (tmp_path / "data" / "lake" / "crimes" / "year=2024" / "month=03").glob("*")
    damaged = link.resolve()
    damaged.write_bytes(damaged.read_bytes()[:100])

    failed = cli(env, tmp_path, "ingest", "--once")
    code, problems = status_problems(env, tmp_path)
    verified = cli(env, tmp_path, "verify")

    assert failed.returncode == 1
    assert_one_chicrime_line(
        failed.stderr, f"the lake file {damaged} cannot be read", "`chicrime verify --repair`"
    )
    assert code == 1
    assert any(p.startswith(f"the lake file {damaged} cannot be read") for p in problems)
    assert verified.returncode == 1
    assert f"  unreadable: {damaged}: " in verified.stdout
    assert verified.stderr.splitlines()[-1] == (
        "chicrime: the lake has 1 problem(s); `chicrime verify --repair` re-fetches the "
        "damaged data"
    )

    repaired = cli(env, tmp_path, "verify", "--repair")

    assert repaired.returncode == 0, repaired.stderr
    assert repaired.stdout.splitlines()[-1].endswith(": clean")
    assert lake_rows(tmp_path / "data") == expected
    assert cli(env, tmp_path, "ingest", "--once").returncode == 0
    assert status_problems(env, tmp_path) == (0, [])


def test_a_corrupt_state_file_fails_cleanly_naming_what_to_do(
    upstream: tuple[SocrataServer, SocrataDataset], tmp_path: Path
) -> None:
    """Garbage in chicrime.db: exit 1 and one line saying to move it aside; status unhealthy."""
    server, _dataset = upstream
    env = env_for(server, tmp_path)
    assert cli(env, tmp_path, "ingest", "--once").returncode == 0
    database = tmp_path / "data" / "state" / "chicrime.db"
    for leftover in database.parent.glob("chicrime.db-*"):
        leftover.unlink()
    database.write_bytes(b"this is not sqlite" * 100)

    failed = cli(env, tmp_path, "ingest", "--once")
    code, problems = status_problems(env, tmp_path)

    assert failed.returncode == 1
    assert assert_one_chicrime_line(failed.stderr) == (
        f"chicrime: the state database {database} is damaged (file is not a database): move it "
        "aside and run again (run history is lost; the lake is kept and the next run re-pulls "
        "its window)."
    )
    assert code == 1
    assert problems[0].startswith(f"the state database {database} is damaged")


def test_a_failure_after_the_commit_never_fails_the_run(tmp_path: Path) -> None:
    """Caching the boundaries fails with OSError (geo/ is a file): warning, run stays success."""
    areas = json.dumps({"type": "FeatureCollection", "features": []}).encode()
    with SocrataServer(
        {"ijzp-q8t2": SocrataDataset(rows())}, geojson={"igwz-8jzy": areas}
    ) as server:
        env = env_for(server, tmp_path)
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "geo").write_text("in the way")
        result = cli(env, tmp_path, "ingest", "--once")
        runs = json.loads(cli(env, tmp_path, "runs", "--json").stdout)

    assert result.returncode == 0
    assert "community-area boundaries not fetched; the map will use hexagons" in result.stderr
    assert [(r["status"], r["error"]) for r in runs] == [("success", None)]
    assert len(lake_rows(tmp_path / "data")) == 8


def test_rollups_on_a_full_disk_raise_the_one_line_write_error(tmp_path: Path) -> None:
    """DuckDB failing to write a rollup (ENOSPC) becomes the same `WriteError` as any lake
    write: it names the directory and says the disk is full."""
    data_dir = tmp_path / "data"
    commit_rows(
        data_dir, [incident(1, "2024-03-01T10:00:00"), incident(2, "2024-04-02T11:00:00")], "a"
    )
    lake = Lake(data_dir / "lake")
    files = lake.partition_files()
    with tmpfs(tmp_path / "full", 1) as mount:
        target = rollups_dir(mount, "v")
        target.mkdir()
        with filled(mount), pytest.raises(WriteError) as raised, writing(target):
            write_rollups(mount, "v", files, (), None)
    message = str(raised.value)
    assert message.startswith(f"cannot write {target}")
    assert "No space left on device" in message
    assert f"The disk is full: free space on the file system holding {mount}." in message
