"""One log format for every command: a line per event, `key=value` fields, or JSON lines.

Fields are passed as `extra={...}`; both formats render them, so a message reads the same in a
terminal, in cron's log file and in journald. An event is one line whatever its message holds
(only an unexpected exception's traceback follows it), and every configured secret is masked in
the finished line, so an app token an upstream echoes back never reaches a log. httpx's own
request logging is silenced.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from chicrime.redaction import Redactor, one_line

__all__ = ["configure_logging"]

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


def _timestamp(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then masks every secret `redact` knows in the finished line."""

    def __init__(self, inner: logging.Formatter, redact: Redactor) -> None:
        super().__init__()
        self.inner, self.redact = inner, redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


class TextFormatter(logging.Formatter):
    """`2026-11-27T03:15:02Z INFO chicrime.ingest run finished run_id=7 rows_written=1200`."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, one_line(record.getMessage())]
        parts += [f"{k}={_text_value(v)}" for k, v in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line with `ts`, `level`, `logger`, `msg` and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def _text_value(value: object) -> str:
    text = str(value)
    needs_quotes = not text or '"' in text or any(c.isspace() for c in text)
    return json.dumps(text) if needs_quotes else text


def configure_logging(
    level: str = "INFO", fmt: str = "text", redact: Redactor | None = None
) -> None:
    """Send chicrime's logs to stderr in the chosen format, replacing earlier configuration.

    `redact` masks secrets in every finished line.
    """
    handler = logging.StreamHandler(sys.stderr)
    inner = JsonFormatter() if fmt == "json" else TextFormatter()
    handler.setFormatter(RedactingFormatter(inner, redact or Redactor()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
