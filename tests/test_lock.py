"""`run_lock` lets one ingestion run at a time, across processes, and never gets stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chicrime.errors import RunInProgressError
from chicrime.store.lock import run_lock

TRY_LOCK = """
import sys
from pathlib import Path
from chicrime.errors import RunInProgressError
from chicrime.store.lock import run_lock
try:
    with run_lock(Path(sys.argv[1])):
        print("acquired")
except RunInProgressError as exc:
    print(f"RunInProgressError: {exc}")
"""

HOLD_LOCK = """
import sys, time
from pathlib import Path
from chicrime.store.lock import run_lock
with run_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def try_lock_in_subprocess(path: Path) -> str:
    """Try to take the lock in another process; its one line of output says what happened."""
    result = subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ingest.lock"


def test_lock_records_the_holders_pid(lock_path):
    """Taking the lock creates its directory and file and writes the holder's pid into it."""
    with run_lock(lock_path):
        assert lock_path.read_text() == f"{os.getpid()}\n"


def test_lock_is_exclusive_across_processes(lock_path):
    """While this process holds the lock, another process gets RunInProgressError with our pid."""
    with run_lock(lock_path):
        output = try_lock_in_subprocess(lock_path)

    assert output.startswith(
        f"RunInProgressError: another ingestion run is in progress (pid {os.getpid()}, "
        f"lock {lock_path}); this run did nothing."
    )


def test_lock_can_be_taken_again_after_release(lock_path):
    """Once the holder leaves the block, another process and then this one can take the lock."""
    with run_lock(lock_path):
        pass

    assert try_lock_in_subprocess(lock_path) == "acquired"
    with run_lock(lock_path):
        assert lock_path.read_text() == f"{os.getpid()}\n"


def test_lock_is_released_when_the_block_raises(lock_path):
    """An exception inside the block releases the lock on its way out."""
    with pytest.raises(ValueError, match="boom"), run_lock(lock_path):
        raise ValueError("boom")

    assert try_lock_in_subprocess(lock_path) == "acquired"


def test_lock_of_a_killed_holder_is_not_stuck(lock_path):
    """A holder killed with SIGKILL leaves no stale lock: the next run takes it at once."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        with (
            pytest.raises(RunInProgressError, match=rf"\(pid {holder.pid}, lock "),
            run_lock(lock_path),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert holder.stdout is not None
        holder.stdout.close()

    assert holder.returncode == -signal.SIGKILL
    with run_lock(lock_path):
        assert lock_path.read_text() == f"{os.getpid()}\n"
