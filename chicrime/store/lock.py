"""One ingestion at a time: an exclusive, non-blocking OS lock on `state/ingest.lock`.

The kernel releases a `flock` when its holder dies, even by SIGKILL, so a crashed run never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chicrime.errors import RunInProgressError

__all__ = ["run_lock"]


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold the lock for the block; raise `RunInProgressError` at once if another process has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunInProgressError(
                f"another ingestion run is in progress (pid {holder}, lock {path}); "
                "this run did nothing. Wait for it to finish, or check `chicrime runs`."
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)
