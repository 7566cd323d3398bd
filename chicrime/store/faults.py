"""File failures turned into errors a user can act on: which file, what broke, what to do.

Reading a lake file that is truncated or corrupt raises `DamagedLakeError` naming the file and
`chicrime verify --repair`; a write that fails (disk full, read-only file system, permissions)
raises `WriteError` naming the path and its cause.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from chicrime.errors import DamagedLakeError, WriteError

__all__ = [
    "damage_error",
    "file_problem",
    "fsync_dir",
    "fsync_file",
    "reading",
    "replace_file",
    "writing",
]


@contextmanager
def reading(files: Sequence[Path]) -> Iterator[None]:
    """Turn a failed read of lake `files` into a `DamagedLakeError` naming the damaged file."""
    try:
        yield
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise damage_error(files, exc) from exc


def damage_error(files: Sequence[Path], exc: BaseException) -> DamagedLakeError:
    """Find which of `files` cannot be read in full and say what to do about it."""
    culprit, reason = None, " ".join(str(exc).split()) or type(exc).__name__
    for path in files:
        problem = file_problem(path)
        if problem is not None:
            culprit, reason = path, problem
            break
    where = f"the lake file {culprit}" if culprit else "a lake file"
    return DamagedLakeError(
        f"{where} cannot be read ({reason}). Run `chicrime verify` to list the damage and "
        "`chicrime verify --repair` to re-fetch the damaged months from upstream (for a demo "
        "lake, run `chicrime demo` again)."
    )


def file_problem(path: Path) -> str | None:
    """Why the Parquet file at `path` cannot be read in full, or None when it can."""
    try:
        pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn a failed write of `path` (disk full, read-only...) into a `WriteError` naming it."""
    try:
        yield
    except (pl.exceptions.PolarsError, duckdb.IOException, OSError) as exc:
        raise WriteError.at(path, exc) from exc


def fsync_dir(path: Path) -> None:
    """Make the entries of directory `path` (new files, renames) durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_file(path: Path) -> None:
    """Make the bytes of the file at `path` durable."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def replace_file(path: Path, body: bytes) -> None:
    """Replace the file at `path` with `body` durably and atomically: written beside it,
    fsynced, then renamed over it (a reader sees the old file or the new one)."""
    temporary = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary.write_bytes(body)
    fsync_file(temporary)
    os.replace(temporary, path)
