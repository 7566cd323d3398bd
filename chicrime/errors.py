"""The exceptions chicrime raises on purpose, each with the exit code the CLI turns it into."""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = [
    "ChicrimeError",
    "ConfigError",
    "DamagedLakeError",
    "DataDirConflictError",
    "IncompletePullError",
    "LakeError",
    "MassDeletionError",
    "ObjectStoreError",
    "PublishConflictError",
    "RunInProgressError",
    "SocrataError",
    "SocrataRequestError",
    "SocrataUnavailableError",
    "StateError",
    "WriteError",
]


class ChicrimeError(Exception):
    """Base class: a failure with a message fit to show a user as it is."""

    exit_code = 1


class ConfigError(ChicrimeError):
    """A setting (env var, `.env` or CLI option) has a value chicrime cannot use."""

    exit_code = 2

    def __init__(self, variable: str, value: str, accepted: str) -> None:
        super().__init__(f"{variable}={value!r} is not valid: expected {accepted}")
        self.variable = variable


class RunInProgressError(ChicrimeError):
    """Another ingestion run holds the lock; this one did nothing."""

    exit_code = 75  # EX_TEMPFAIL: "try again later", what cron and systemd users expect


class SocrataError(ChicrimeError):
    """The Socrata API could not give chicrime the rows it asked for."""


class SocrataRequestError(SocrataError):
    """The API refused the request (4xx): retrying cannot help; the request or settings must."""


class SocrataUnavailableError(SocrataError):
    """The API kept failing (throttling, 5xx, network) until the retry budget ran out."""


class IncompletePullError(SocrataError):
    """Upstream sent fewer rows than it counted for the same query, beyond what churn explains."""


class MassDeletionError(ChicrimeError):
    """A run would delete an implausible share of its window; it deleted nothing."""


class LakeError(ChicrimeError):
    """The Parquet lake on disk is not in a state chicrime can safely change."""


class DamagedLakeError(LakeError):
    """A file of the current lake version cannot be read; `chicrime verify --repair` mends it."""


class WriteError(ChicrimeError):
    """A file could not be written (disk full, read-only file system, permissions)."""

    @classmethod
    def at(cls, path: Path, exc: BaseException) -> WriteError:
        """The error for a failed write of `path`, with what to do about its cause."""
        reason = " ".join(str(exc).split()) or type(exc).__name__
        code = getattr(exc, "errno", None)
        if code == errno.ENOSPC or "os error 28" in reason or "No space left" in reason:
            advice = f"The disk is full: free space on the file system holding {path.parent}."
        elif code == errno.EROFS or "os error 30" in reason or "Read-only file" in reason:
            advice = f"{path.parent} is on a read-only file system: make it writable."
        elif code in (errno.EACCES, errno.EPERM):
            advice = f"Check the owner and permissions of {path.parent}."
        else:
            advice = "Check DATA_DIR's file system."
        return cls(
            f"cannot write {path}: {reason}. {advice} The lake and state were left as the last "
            "successful run committed them; the next run after the fix repairs the rest."
        )


class ObjectStoreError(ChicrimeError):
    """The object store at LAKE_URL could not be reached, or refused a request."""


class PublishConflictError(ObjectStoreError):
    """Another publisher switched the store's pointer first; this publication was withdrawn."""


class StateError(ChicrimeError):
    """The SQLite state database cannot be opened, migrated or written."""


class DataDirConflictError(ChicrimeError):
    """DATA_DIR holds a lake of the other kind (synthetic vs real); nothing was written."""

    exit_code = 2
