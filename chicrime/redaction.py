"""What chicrime prints, logs or stores about an error: one line, with every secret masked.

Upstreams sometimes echo what they were sent (an app token quoted in a 403 message), and library
messages span lines (tracebacks, multi-line parser errors), which would split a log line, an
sd_notify `STATUS=` or a `runs.error` cell. Every such text passes through a `Redactor`.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

__all__ = ["MASK", "Redactor", "one_line"]

MASK = "[redacted]"
# Shorter "secrets" would mask ordinary words; no real token is this short.
_MIN_SECRET_LENGTH = 4


def one_line(text: str) -> str:
    """`text` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(text.split())


class Redactor:
    """Masks each of `secrets` (and its URL-encoded form) in a text; None and "" are ignored."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        forms = {form for s in secrets if s for form in (s, quote(s, safe=""))}
        # Longest first, so a secret containing another is masked whole.
        self._secrets = tuple(
            sorted((f for f in forms if len(f) >= _MIN_SECRET_LENGTH), key=len, reverse=True)
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def line(self, text: str) -> str:
        """`text` masked and on one line: the form every error message is shown in."""
        return one_line(self(text))
