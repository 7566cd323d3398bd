"""Progress on long work: a bar on a terminal, periodic log lines otherwise (cron, journald)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Protocol

from tqdm import tqdm

__all__ = ["LogProgress", "Progress", "ProgressFactory", "terminal_or_log_progress"]

log = logging.getLogger("chicrime.progress")


class Progress(Protocol):
    """What long work reports to: `update(n)` as units complete, `close()` at the end."""

    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[str, int | None, str], Progress]


class LogProgress:
    """Logs `done/total` at most every `interval` seconds, and once at the end."""

    def __init__(
        self, description: str, total: int | None, unit: str, interval: float = 15.0
    ) -> None:
        self.description, self.total, self.unit, self.interval = description, total, unit, interval
        self.done = 0
        self._started = self._last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._emit("progress")

    def close(self) -> None:
        self._emit("done")

    def _emit(self, event: str) -> None:
        elapsed = time.monotonic() - self._started
        fields: dict[str, object] = {"done": self.done, "unit": self.unit}
        if self.total:
            fields["total"] = self.total
            fields["percent"] = round(100 * self.done / self.total, 1)
        fields["rate_per_s"] = round(self.done / elapsed) if elapsed > 0 else self.done
        log.info(f"{self.description}: {event}", extra=fields)


def terminal_or_log_progress(description: str, total: int | None, unit: str) -> Progress:
    """A tqdm bar when stderr is a terminal, else `LogProgress`."""
    if sys.stderr.isatty():
        bar: Progress = tqdm(total=total, desc=description, unit=unit, unit_scale=True, leave=True)
        return bar
    return LogProgress(description, total, unit)
