"""Secrets never leave chicrime: masked in messages, logs, stored errors and command output."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from chicrime.logs import configure_logging
from chicrime.redaction import Redactor, one_line
from tests.socrata_server import Fault, SocrataDataset, SocrataServer
from tests.test_cli import env_for, run_cli

TOKEN = "Zq8-secret+token/42"


def test_every_form_of_a_secret_is_masked() -> None:
    """The token and its URL-encoded form are masked; short or empty secrets are ignored."""
    redact = Redactor([TOKEN, None, "", "ab"])
    assert redact(f"bad token {TOKEN} (%s)" % "Zq8-secret%2Btoken%2F42") == (
        "bad token [redacted] ([redacted])"
    )
    assert redact("ab stays") == "ab stays"


def test_messages_become_one_line() -> None:
    """Newlines, tabs and runs of spaces collapse to single spaces."""
    assert one_line("a\nb\r\n\tc   d ") == "a b c d"
    assert Redactor([TOKEN]).line(f"x\n{TOKEN}\n") == "x [redacted]"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_mask_secrets_in_messages_and_fields(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A secret in a message or an `extra` field never reaches stderr; one line per event."""
    configure_logging("INFO", fmt, Redactor([TOKEN]))
    logging.getLogger("chicrime.test").warning(
        f"upstream said\n{TOKEN}", extra={"error": f"token {TOKEN} refused"}
    )
    configure_logging()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert TOKEN not in lines[0]
    if fmt == "json":
        event = json.loads(lines[0])
        assert (event["msg"], event["error"]) == (
            "upstream said\n[redacted]",
            "token [redacted] refused",
        )
    else:
        assert lines[0].endswith('upstream said [redacted] error="token [redacted] refused"')


def test_an_echoed_token_reaches_no_output_log_or_stored_error(tmp_path: Path) -> None:
    """A real `chicrime ingest` whose upstream echoes the token: not in stderr, runs or status."""
    with SocrataServer({"ijzp-q8t2": SocrataDataset([])}) as server:
        server.faults.append(Fault.echo_token(403))
        env = env_for(server, tmp_path, SODA_APP_TOKEN=TOKEN, LOG_FORMAT="json")
        ingest = run_cli("ingest", "--once", env=env, cwd=tmp_path)
        assert server.requests[0].headers["x-app-token"] == TOKEN
    status = run_cli("status", "--json", env=env, cwd=tmp_path)
    runs = run_cli("runs", "--json", env=env, cwd=tmp_path)

    assert ingest.returncode == 1
    assert ingest.stderr.splitlines()[-1].startswith("chicrime: ")
    assert "Invalid app token [redacted] (forbidden)" in ingest.stderr
    with sqlite3.connect(tmp_path / "data" / "state" / "chicrime.db") as db:
        (error,) = db.execute("SELECT error FROM runs").fetchone()
    assert "Invalid app token [redacted]" in error
    for text in (ingest.stdout, ingest.stderr, status.stdout, status.stderr, runs.stdout, error):
        assert TOKEN not in text
