"""Settings: env vars, then `.env`, then defaults, resolved and validated once at start-up.

Nothing else in chicrime reads the environment. A bad value raises `ConfigError` naming the
variable and the form it accepts, before any work starts.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values

from chicrime.errors import ConfigError
from chicrime.store.layout import Layout

__all__ = ["MAP_STYLES", "Settings", "load_settings"]

MAP_STYLES = (
    "basic",
    "carto-darkmatter",
    "carto-darkmatter-nolabels",
    "carto-positron",
    "carto-positron-nolabels",
    "carto-voyager",
    "carto-voyager-nolabels",
    "dark",
    "light",
    "open-street-map",
    "outdoors",
    "satellite",
    "satellite-streets",
    "streets",
    "white-bg",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """Every knob chicrime has, typed. Paths under `data_dir` are derived, not configured."""

    dataset_id: str = "ijzp-q8t2"
    soda_base_url: str = "https://data.cityofchicago.org"
    soda_app_token: str | None = field(default=None, repr=False)
    start_date: dt.date | None = None
    backfill_days: int = 14
    page_limit: int = 50_000
    data_dir: Path = Path("data")
    map_style: str = "carto-positron"
    log_level: str = "INFO"
    log_format: str = "text"
    http_timeout: float = 60.0
    retry_attempts: int = 8
    retry_max_seconds: float = 600.0
    daemon_at: dt.time = dt.time(3, 15)
    status_max_age_hours: float = 36.0
    status_min_free_mb: float = 200.0
    max_delete_percent: float = 5.0
    sqlite_timeout: float = 30.0
    reconcile_days: int = 7
    lake_url: str | None = None
    lake_poll_seconds: float = 60.0
    lake_retention_hours: float = 24.0
    cache_url: str | None = field(default=None, repr=False)

    @property
    def layout(self) -> Layout:
        """The paths under `data_dir`."""
        return Layout(self.data_dir)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in output, logs or stored errors."""
        return tuple(
            secret
            for secret in (self.soda_app_token, _password(self.cache_url))
            if secret is not None
        )

    def first_window_start(self, today: dt.date) -> dt.date:
        """Where the first run starts when no state exists: `START_DATE`, else a year ago."""
        return self.start_date or today - dt.timedelta(days=365)


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = Path(".env")
) -> Settings:
    """Resolve settings from `environ` (default `os.environ`) over the `.env` file over defaults.

    Raises `ConfigError` for the first invalid value. Empty values count as unset.
    """
    file_values = dotenv_values(dotenv_path) if dotenv_path and dotenv_path.is_file() else {}
    values = _non_blank(file_values) | _non_blank(os.environ if environ is None else environ)
    defaults = Settings()

    def get(name: str, parse: Callable[[str], T], accepted: str, default: T) -> T:
        raw = values.get(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError:
            raise ConfigError(name, _without_password(raw), accepted) from None

    return Settings(
        dataset_id=get(
            "CHI_CRIME_DATASET_ID",
            _matching(r"[a-z0-9]{4}-[a-z0-9]{4}"),
            "a Socrata dataset id like ijzp-q8t2",
            defaults.dataset_id,
        ),
        soda_base_url=get(
            "SODA_BASE_URL",
            _base_url,
            "an http(s) URL of a portal root like https://data.cityofchicago.org",
            defaults.soda_base_url,
        ),
        soda_app_token=values.get("SODA_APP_TOKEN"),
        start_date=get("START_DATE", _date, "a date as YYYY-MM-DD", defaults.start_date),
        backfill_days=get(
            "BACKFILL_DAYS",
            _int_in(0, 3650),
            "a whole number of days from 0 to 3650",
            defaults.backfill_days,
        ),
        page_limit=get(
            "PAGE_LIMIT",
            _int_in(1, 1_000_000),
            "a whole number of rows from 1 to 1000000",
            defaults.page_limit,
        ),
        data_dir=get("DATA_DIR", Path, "a directory path", defaults.data_dir),
        map_style=get(
            "MAP_STYLE",
            _one_of(MAP_STYLES),
            "one of " + ", ".join(MAP_STYLES),
            defaults.map_style,
        ),
        log_level=get(
            "LOG_LEVEL",
            _one_of(LOG_LEVELS, str.upper),
            "one of " + ", ".join(LOG_LEVELS),
            defaults.log_level,
        ),
        log_format=get(
            "LOG_FORMAT", _one_of(LOG_FORMATS, str.lower), "text or json", defaults.log_format
        ),
        http_timeout=get(
            "HTTP_TIMEOUT", _float_in(1, 3600), "seconds from 1 to 3600", defaults.http_timeout
        ),
        retry_attempts=get(
            "RETRY_ATTEMPTS",
            _int_in(1, 100),
            "a whole number from 1 to 100",
            defaults.retry_attempts,
        ),
        retry_max_seconds=get(
            "RETRY_MAX_SECONDS",
            _float_in(0, 86_400),
            "seconds from 0 to 86400",
            defaults.retry_max_seconds,
        ),
        daemon_at=get(
            "DAEMON_AT",
            _clock_time,
            "a Chicago time of day as HH:MM (24-hour), like 03:15",
            defaults.daemon_at,
        ),
        status_max_age_hours=get(
            "STATUS_MAX_AGE_HOURS",
            _float_in(1, 8760),
            "hours from 1 to 8760",
            defaults.status_max_age_hours,
        ),
        status_min_free_mb=get(
            "STATUS_MIN_FREE_MB",
            _float_in(0, 10_000_000),
            "megabytes from 0 to 10000000",
            defaults.status_min_free_mb,
        ),
        max_delete_percent=get(
            "MAX_DELETE_PERCENT",
            _float_in(0, 100),
            "a percentage from 0 to 100",
            defaults.max_delete_percent,
        ),
        sqlite_timeout=get(
            "SQLITE_TIMEOUT",
            _float_in(0.1, 3600),
            "seconds from 0.1 to 3600",
            defaults.sqlite_timeout,
        ),
        reconcile_days=get(
            "RECONCILE_DAYS",
            _int_in(0, 3650),
            "a whole number of days from 0 (only with --reconcile) to 3650",
            defaults.reconcile_days,
        ),
        lake_url=get(
            "LAKE_URL",
            _lake_url,
            "an S3 address like s3://bucket or s3://bucket/prefix",
            defaults.lake_url,
        ),
        lake_poll_seconds=get(
            "LAKE_POLL_SECONDS",
            _float_in(1, 86_400),
            "seconds from 1 to 86400",
            defaults.lake_poll_seconds,
        ),
        lake_retention_hours=get(
            "LAKE_RETENTION_HOURS",
            _float_in(0, 8760),
            "hours from 0 to 8760",
            defaults.lake_retention_hours,
        ),
        cache_url=get(
            "CACHE_URL",
            _cache_url,
            "a Redis address like redis://host:6379/0 (rediss:// for TLS, unix:///path.sock)",
            defaults.cache_url,
        ),
    )


def _non_blank(source: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v.strip() for k, v in source.items() if v is not None and v.strip()}


def _date(raw: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise ValueError(raw)
    return dt.date.fromisoformat(raw)


def _clock_time(raw: str) -> dt.time:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", raw):
        raise ValueError(raw)
    return dt.time.fromisoformat(raw)


def _base_url(raw: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", raw):
        raise ValueError(raw)
    return raw.rstrip("/")


# S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a
# letter or digit; the prefix (optional) is any key path without empty segments.
_LAKE_URL = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^/\s]+)*/?")


def _lake_url(raw: str) -> str:
    if not _LAKE_URL.fullmatch(raw) or ".." in raw.removeprefix("s3://").split("/"):
        raise ValueError(raw)
    return raw.rstrip("/")


def _cache_url(raw: str) -> str:
    parsed = urlsplit(raw)
    if parsed.scheme not in ("redis", "rediss", "unix") or not (parsed.hostname or parsed.path):
        raise ValueError(raw)
    return raw


def _without_password(raw: str) -> str:
    """`raw` with the password of any URL in it masked (a bad CACHE_URL is shown in errors):
    `//user:***@`, and a `password=***` parameter."""
    masked = re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", raw)
    return re.sub(r"(password=)[^&\s]*", r"\1***", masked, flags=re.IGNORECASE)


def _password(url: str | None) -> str | None:
    """The password in a service URL, which must never be shown."""
    return None if url is None else urlsplit(url).password


def _matching(pattern: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not re.fullmatch(pattern, raw):
            raise ValueError(raw)
        return raw

    return parse


def _one_of(choices: tuple[str, ...], fold: Callable[[str], str] = str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if fold(raw) not in choices:
            raise ValueError(raw)
        return fold(raw)

    return parse


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", raw) or not low <= int(raw) <= high:
            raise ValueError(raw)
        return int(raw)

    return parse


def _float_in(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return parse
