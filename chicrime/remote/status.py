"""What the last publish (ingester) or follow (web host) did, kept in `state/` for
`chicrime status` and the dashboard's freshness line.

Each is one small JSON file, replaced atomically; a missing or unreadable file reads as None.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from chicrime.store.faults import replace_file

__all__ = ["SyncStatus"]


@dataclass(frozen=True)
class SyncStatus:
    """The store a host publishes to or follows, the publication it last published or switched
    to, and since when it has been failing (None while it succeeds)."""

    url: str
    version: str | None = None  # lake version of the publication last published / served
    manifest: str | None = None  # its manifest's key in the store
    done_at: str | None = None  # UTC instant it was published / switched to
    checked_at: str | None = None  # UTC instant of the last attempt
    error: str | None = None  # why the last attempt failed
    failing_since: str | None = None  # UTC instant of the first failure in a row

    @classmethod
    def of(cls, path: Path, url: str) -> SyncStatus:
        """What `path` records of the store at `url`, or a fresh status."""
        return cls.recorded(path, url) or cls(url)

    @classmethod
    def recorded(cls, path: Path, url: str) -> SyncStatus | None:
        """What `path` records of the store at `url`; None when there is no readable record,
        or it is of another store (LAKE_URL changed since)."""
        found = cls.load(path)
        return found if found is not None and found.url == url else None

    @classmethod
    def load(cls, path: Path) -> SyncStatus | None:
        try:
            document = json.loads(path.read_text())
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in document.items() if k in known})
        except (OSError, ValueError, TypeError):
            return None

    def save(self, path: Path) -> None:
        replace_file(path, json.dumps(asdict(self), indent=2).encode())

    def succeeded(
        self,
        now: str,
        version: str | None = None,
        manifest: str | None = None,
        done_at: str | None = None,
    ) -> SyncStatus:
        """This status after an attempt that worked at `now`, with what it published or
        switched to (what it last did is kept where not given)."""
        return replace(
            self,
            checked_at=now,
            error=None,
            failing_since=None,
            version=version or self.version,
            manifest=manifest or self.manifest,
            done_at=done_at or self.done_at,
        )

    def failed(self, now: str, error: str) -> SyncStatus:
        """This status after an attempt that failed at `now`, what it last did kept."""
        return replace(self, checked_at=now, error=error, failing_since=self.failing_since or now)
