"""Query results memoised on disk with diskcache, shared by every thread and server process,
or in Redis (`CACHE_URL`), shared by every web host.

Callers put the lake's data version in each key, so an ingestion commit makes old entries
unreachable (they age out under the size limit) and a stale result is never served. Polars
frames are stored as Arrow IPC bytes, other results (small dataclasses, tuples) as pickles.
The cache is a speed-up only: if it cannot be opened, read or written, the result is computed
and returned as if there were no cache, and a warning is logged (for Redis, once per pause: it
is not asked again for `_REDIS_PAUSE_SECONDS`, so a lost server costs no page a timeout more).
"""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
import threading
import time
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
# Entries of old lake versions are never asked for again; Redis drops them after a week (its own
# maxmemory policy may drop them sooner).
_REDIS_TTL_SECONDS = 7 * 86_400
_REDIS_PAUSE_SECONDS = 30.0
# Connect and answer timeouts of one Redis request: a server that does not answer is skipped.
_REDIS_TIMEOUT_SECONDS = 2.0


class ResultCache:
    """A size-bounded disk cache under `directory`, or the Redis at `url`; opened on first use."""

    def __init__(self, directory: Path, size_limit: int, url: str | None = None) -> None:
        self.directory = directory
        self.size_limit = size_limit
        self.url = url
        self._cache: diskcache.Cache | _RedisCache | None = None
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

    def _open(self) -> diskcache.Cache | _RedisCache | None:
        with self._lock:
            if self._cache is None and not self._broken:
                try:
                    self._cache = (
                        diskcache.Cache(
                            str(self.directory),
                            size_limit=self.size_limit,
                            timeout=_TIMEOUT_SECONDS,
                        )
                        if self.url is None
                        else _RedisCache(self.url)
                    )
                except Exception as exc:  # any failure to open means "run without a cache"
                    self._broken = True
                    where = self.directory if self.url is None else "CACHE_URL"
                    log.warning("query cache disabled: cannot open %s: %s", where, exc)
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


class _RedisCache:
    """diskcache's `get`/`set`/`close` over a Redis server, keyed by a hash of the key's text
    (the same on every host). After a failed request Redis is not asked again for a pause:
    reads miss and writes are skipped."""

    def __init__(self, url: str) -> None:
        import redis  # only with CACHE_URL: the cloud extra

        self._redis = redis.Redis.from_url(
            url,
            socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            socket_timeout=_REDIS_TIMEOUT_SECONDS,
        )
        self._paused_until = 0.0

    def get(self, key: tuple[Hashable, ...], default: object) -> object:
        raw = self._request(lambda: self._redis.get(_redis_key(key)))
        return default if raw is None else pickle.loads(cast(bytes, raw))

    def set(self, key: tuple[Hashable, ...], value: object) -> None:
        body = pickle.dumps(value, protocol=5)
        self._request(lambda: self._redis.set(_redis_key(key), body, ex=_REDIS_TTL_SECONDS))

    def close(self) -> None:
        self._redis.close()

    def _request(self, request: Callable[[], object]) -> object:
        if time.monotonic() < self._paused_until:
            return None
        try:
            return request()
        except Exception:
            self._paused_until = time.monotonic() + _REDIS_PAUSE_SECONDS
            raise


def _redis_key(key: tuple[Hashable, ...]) -> str:
    return "chicrime:" + hashlib.sha256(repr(key).encode()).hexdigest()


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
