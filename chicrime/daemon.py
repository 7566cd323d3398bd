"""`chicrime daemon`: the ingestion on a schedule, in one long-running process.

Runs `ingest_once` daily at `DAEMON_AT` (Chicago wall-clock time), or every N seconds for
development and tests. A failed run is logged and the next one still happens. SIGTERM/SIGINT
stop the daemon cleanly: between runs at once; during a run at the next safe point, which is
before the lake swap (the run is recorded failed, "interrupted", and the old lake stays) or, once
the new lake is in place, after the state commit. Under systemd `Type=notify` it reports
readiness, status and watchdog keep-alives on `$NOTIFY_SOCKET` with a plain datagram socket.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FrameType

from chicrime.clock import CHICAGO, utc_now
from chicrime.errors import ChicrimeError, RunInProgressError
from chicrime.ingest.pipeline import ingest_once
from chicrime.progress import LogProgress, Progress
from chicrime.redaction import Redactor
from chicrime.remote.objects import ObjectStore
from chicrime.remote.publish import publish
from chicrime.settings import Settings
from chicrime.store.schema import TIMEZONE
from chicrime.store.state import utc_text

__all__ = ["Schedule", "StopRequested", "SystemdNotifier", "next_daily_run", "run_daemon"]

log = logging.getLogger("chicrime.daemon")

# How often the idle loop wakes to notice a stop request or a due run.
TICK_SECONDS = 0.25


class StopRequested(BaseException):
    """Raised inside a run, before its lake swap, when SIGTERM/SIGINT asked the daemon to stop.

    A BaseException, like KeyboardInterrupt, so nothing that catches `Exception` swallows it and
    the pipeline records the run as "interrupted".
    """


def next_daily_run(at: dt.time, now: dt.datetime) -> dt.datetime:
    """The first moment after `now` (aware) when Chicago's wall clock reads `at`, in UTC.

    On the spring-forward day a time that does not exist (02:30) runs an hour later by the wall
    clock (03:30 CDT); on the fall-back day a time that happens twice runs the first time.
    """
    local_day = now.astimezone(CHICAGO).date()
    for day in (local_day, local_day + dt.timedelta(days=1), local_day + dt.timedelta(days=2)):
        candidate = dt.datetime.combine(day, at, tzinfo=CHICAGO).astimezone(dt.UTC)
        if candidate > now:
            return candidate
    raise AssertionError("a daily time always recurs within two days")


@dataclass(frozen=True)
class Schedule:
    """When runs happen: daily at `daily_at` (Chicago), or every `every_seconds` if set.

    With `every_seconds` the first run starts at once and each next one that many seconds after
    the previous run ended.
    """

    daily_at: dt.time
    every_seconds: float | None = None

    def first_run(self, now: dt.datetime) -> dt.datetime:
        return now if self.every_seconds is not None else next_daily_run(self.daily_at, now)

    def run_after(self, now: dt.datetime) -> dt.datetime:
        if self.every_seconds is not None:
            return now + dt.timedelta(seconds=self.every_seconds)
        return next_daily_run(self.daily_at, now)

    def describe(self) -> str:
        if self.every_seconds is not None:
            return f"every {self.every_seconds:g} s"
        return f"daily at {self.daily_at:%H:%M} {TIMEZONE}"


class SystemdNotifier:
    """sd_notify over `$NOTIFY_SOCKET` (AF_UNIX datagrams; '@' means the abstract namespace).

    Without `NOTIFY_SOCKET` every call does nothing. A socket that refuses a message is logged
    once and otherwise ignored: notification must never stop the ingestion.
    """

    def __init__(self, address: str | None = None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._warned = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SystemdNotifier:
        """Read systemd's `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (if meant for us)."""
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        for_us = not pid or pid == str(os.getpid())
        watchdog = int(usec) if usec.isdigit() and int(usec) > 0 and for_us else None
        return cls(environ.get("NOTIFY_SOCKET") or None, watchdog)

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between keep-alives: half the watchdog timeout, or None without a watchdog."""
        return None if self.watchdog_usec is None else self.watchdog_usec / 2e6

    def notify(self, *assignments: str) -> None:
        """Send `READY=1`, `STATUS=...` and the like as one datagram."""
        if not self.address:
            return
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(target)
                sock.sendall("\n".join(assignments).encode())
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning(
                    "cannot notify systemd", extra={"socket": self.address, "error": str(exc)}
                )


class _Watchdog:
    """Sends `WATCHDOG=1` from a thread while the main loop keeps showing signs of life.

    The main loop calls `beat()` on every idle tick, fetched page, partition and step. If no beat
    came for `stall_seconds` (longer than one request may take with all its retries), keep-alives
    stop and systemd restarts the hung daemon.
    """

    def __init__(self, notifier: SystemdNotifier, stall_seconds: float) -> None:
        self.notifier, self.stall_seconds = notifier, stall_seconds
        self._last_beat = time.monotonic()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    def start(self) -> None:
        interval = self.notifier.watchdog_interval
        if interval is None:
            return
        self._thread = threading.Thread(
            target=self._keep_alive, args=(interval,), name="watchdog", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _keep_alive(self, interval: float) -> None:
        while True:
            if time.monotonic() - self._last_beat <= self.stall_seconds:
                self.notifier.notify("WATCHDOG=1")
            if self._done.wait(interval):
                return


class _StopChecked:
    """A progress reporter that also gives the daemon a safe point after each update."""

    def __init__(self, inner: Progress, checkpoint: Callable[[], None]) -> None:
        self.inner, self.checkpoint = inner, checkpoint

    def update(self, n: int = 1) -> None:
        self.inner.update(n)
        self.checkpoint()

    def close(self) -> None:
        self.inner.close()


class _Daemon:
    def __init__(
        self,
        settings: Settings,
        schedule: Schedule,
        notifier: SystemdNotifier,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings, self.schedule, self.notifier, self.clock = (
            settings,
            schedule,
            notifier,
            clock,
        )
        self.watchdog = _Watchdog(
            notifier, stall_seconds=settings.http_timeout + settings.retry_max_seconds + 60
        )
        self.redact = Redactor(settings.secrets)
        self.stop_signal: str | None = None
        # True while a stop may still abort the current run: until its lake swap begins to count.
        self.abortable = False

    @property
    def stop_requested(self) -> bool:
        return self.stop_signal is not None

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        # Only record it (logging here could re-enter a stream write): the main loop and the
        # run's safe points act on it.
        self.stop_signal = signal.Signals(signum).name

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            due = self.schedule.first_run(self.clock())
            log.info(
                "daemon started",
                extra={"schedule": self.schedule.describe(), "next_run": utc_text(due)},
            )
            self.notifier.notify("READY=1", f"STATUS=next run at {utc_text(due)}")
            self.watchdog.start()
            while self._wait_until(due):
                outcome = self._run_once()
                if self.stop_requested:
                    break
                due = self.schedule.run_after(self.clock())
                log.info("next run scheduled", extra={"next_run": utc_text(due)})
                self.notifier.notify(f"STATUS={outcome}; next run at {utc_text(due)}")
        finally:
            self.notifier.notify("STOPPING=1", "STATUS=stopping")
            self.watchdog.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("daemon stopped", extra={"signal": self.stop_signal})
        return 0

    def _wait_until(self, due: dt.datetime) -> bool:
        """Sleep in short ticks until `due`; False as soon as a stop was requested."""
        while not self.stop_requested:
            remaining = (due - self.clock()).total_seconds()
            if remaining <= 0:
                return True
            self.watchdog.beat()
            time.sleep(min(TICK_SECONDS, remaining))
        return False

    def _run_once(self) -> str:
        """One scheduled run; every failure is logged and summarised, never raised."""
        self.notifier.notify(f"STATUS=ingesting since {utc_text(self.clock())}")
        self.abortable = True
        try:
            result = ingest_once(self.settings, progress=self._progress, on_step=self._on_step)
        except StopRequested:
            log.warning("run stopped before its commit; lake and watermark unchanged")
            return "last run interrupted"
        except RunInProgressError as exc:
            log.warning("run skipped: another run holds the lock", extra={"error": str(exc)})
            return "last run skipped (another run in progress)"
        except ChicrimeError as exc:
            log.error("scheduled run failed; the next one still happens", extra={"error": str(exc)})
            return f"last run failed: {self._describe(exc)}"
        except Exception as exc:
            log.exception("scheduled run failed unexpectedly; the next one still happens")
            return f"last run failed: {self._describe(exc)}"
        finally:
            self.abortable = False
        return f"last run #{result.run_id} succeeded{self._publish()}"

    def _publish(self) -> str:
        """Publish to LAKE_URL if it is set; what happened, for the status line."""
        if self.settings.lake_url is None:
            return ""
        try:
            publish(
                self.settings, ObjectStore(self.settings.lake_url), on_upload=self.watchdog.beat
            )
        except ChicrimeError as exc:
            log.error("publish failed; the next run publishes again", extra={"error": str(exc)})
            return f"; publish failed: {self._describe(exc)}"
        except Exception as exc:  # the daemon outlives any failure to publish
            log.exception("publish failed unexpectedly; the next run publishes again")
            return f"; publish failed: {self._describe(exc)}"
        return "; published"

    def _describe(self, exc: BaseException) -> str:
        # One line: a newline would split an sd_notify STATUS= assignment in two.
        return self.redact.line(str(exc)) or type(exc).__name__

    def _checkpoint(self) -> None:
        self.watchdog.beat()
        if self.stop_requested and self.abortable:
            raise StopRequested

    def _on_step(self, step: str) -> None:
        if step == "lake_committed":
            # The new lake is live: stopping now would leave the watermark behind it, so the run
            # finishes its state commit first.
            self.abortable = False
        self._checkpoint()

    def _progress(self, description: str, total: int | None, unit: str) -> Progress:
        return _StopChecked(LogProgress(description, total, unit), self._checkpoint)


def run_daemon(
    settings: Settings,
    schedule: Schedule,
    notifier: SystemdNotifier | None = None,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> int:
    """Run ingestions on `schedule` until SIGTERM/SIGINT, then return 0.

    Must run in the main thread (it installs signal handlers). No run failure ends the daemon;
    a stop during a run aborts it before the lake swap or lets it finish its commit.
    """
    return _Daemon(settings, schedule, notifier or SystemdNotifier(), clock).run()
