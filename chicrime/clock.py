"""Time as chicrime reads it: instants are aware UTC; the data's clock is Chicago's wall clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from chicrime.store.schema import TIMEZONE

__all__ = ["CHICAGO", "chicago_wall_clock", "utc_now", "utc_shown"]

CHICAGO = ZoneInfo(TIMEZONE)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def chicago_wall_clock(now: dt.datetime) -> dt.datetime:
    """The aware instant `now` as a floating Chicago wall-clock time, like the data's."""
    return now.astimezone(CHICAGO).replace(tzinfo=None)


def utc_shown(instant: str | None) -> str:
    """A stored UTC instant (`2026-12-06T08:53:09Z`) as people read it ("never" for None)."""
    return "never" if instant is None else instant.replace("T", " ").replace("Z", " UTC")
