"""The exceptions chicrime raises on purpose, each with the exit code the CLI turns it into."""

from __future__ import annotations

__all__ = [
    "ChicrimeError",
    "ConfigError",
    "DataDirConflictError",
    "LakeError",
    "RunInProgressError",
    "SocrataError",
    "SocrataRequestError",
    "SocrataUnavailableError",
    "StateError",
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


class LakeError(ChicrimeError):
    """The Parquet lake on disk is not in a state chicrime can safely change."""


class StateError(ChicrimeError):
    """The SQLite state database cannot be opened, migrated or written."""


class DataDirConflictError(ChicrimeError):
    """DATA_DIR holds a lake of the other kind (synthetic vs real); nothing was written."""

    exit_code = 2
