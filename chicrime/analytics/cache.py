"""Query results memoised on disk with diskcache, shared by every thread and server process.

Callers put the lake's data version in each key, so an ingestion commit makes old entries
unreachable (they age out under the size limit) and a stale result is never served. Polars
frames are stored as Arrow IPC bytes, other results (small dataclasses, tuples) as pickles.
The cache is a speed-up only: if it cannot be opened, read or written, the result is computed
and returned as if there were no cache, and a warning is logged.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar, cast

import diskcache
import polars as pl

__all__ = ["ResultCache"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Bump when the shape of a cached result changes, so entries written by an older chicrime are
# never decoded as the new shape.
_FORMAT = 1
_FRAME_TAG = "polars.ipc"
# SQLite busy timeout: a cache busy for longer than this is skipped rather than waited on.
_TIMEOUT_SECONDS = 2.0
_MISSING = object()


class ResultCache:
    """A size-bounded disk cache under `directory`, opened on first use."""

    def __init__(self, directory: Path, size_limit: int) -> None:
        self.directory = directory
        self.size_limit = size_limit
        self._cache: diskcache.Cache | None = None
        self._broken = False
        self._lock = threading.Lock()

    def memoise(self, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        """The cached value for `key`, or `compute()`'s result, stored for next time.

        Exceptions from `compute` propagate and nothing is stored; cache failures are logged
        and bypassed.
        """
        full_key = (_FORMAT, *key)
        found = self._get(full_key)
        if found is not _MISSING:
            return cast(T, found)
        value = compute()
        self._set(full_key, value)
        return value

    def close(self) -> None:
        """Close this process's handles on the cache (it reopens on next use)."""
        with self._lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None

    def _open(self) -> diskcache.Cache | None:
        with self._lock:
            if self._cache is None and not self._broken:
                try:
                    self._cache = diskcache.Cache(
                        str(self.directory), size_limit=self.size_limit, timeout=_TIMEOUT_SECONDS
                    )
                except Exception as exc:  # any failure to open means "run without a cache"
                    self._broken = True
                    log.warning("query cache disabled: cannot open %s: %s", self.directory, exc)
            return self._cache

    def _get(self, key: tuple[Hashable, ...]) -> object:
        """The decoded value, or `_MISSING` when absent or unreadable."""
        cache = self._open()
        if cache is None:
            return _MISSING
        try:
            stored = cache.get(key, default=_MISSING)
            return _MISSING if stored is _MISSING else _decode(stored)
        except Exception as exc:  # an unreadable entry is a miss, never a failed page
            log.warning("query cache read failed, computing instead: %s", exc)
            return _MISSING

    def _set(self, key: tuple[Hashable, ...], value: object) -> None:
        cache = self._open()
        if cache is None:
            return
        try:
            cache.set(key, _encode(value))
        except Exception as exc:  # a full disk or a locked cache must not fail the query
            log.warning("query cache write failed, result not cached: %s", exc)


def _encode(value: object) -> object:
    if isinstance(value, pl.DataFrame):
        buffer = io.BytesIO()
        value.write_ipc(buffer, compression="lz4")
        return (_FRAME_TAG, buffer.getvalue())
    return ("value", value)


def _decode(stored: object) -> object:
    tag, payload = cast(tuple[str, object], stored)
    if tag == _FRAME_TAG:
        return pl.read_ipc(io.BytesIO(cast(bytes, payload)))
    return payload
