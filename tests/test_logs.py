"""Log lines in text and JSON formats, and progress reported as log lines."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from chicrime.logs import configure_logging
from chicrime.progress import LogProgress

TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"


@pytest.fixture(autouse=True)
def restore_root_logger():
    """`configure_logging` replaces the root logger's handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_format_prints_one_object_per_line_with_fields(capsys):
    """JSON format writes one line to stderr with ts, level, logger, msg and the extra fields."""
    configure_logging("INFO", "json")

    logging.getLogger("chicrime.ingest").info("run finished", extra={"run_id": 7})

    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    payload = json.loads(lines[0])
    assert list(payload) == ["ts", "level", "logger", "msg", "run_id"]
    assert re.fullmatch(TIMESTAMP, payload["ts"])
    assert {k: v for k, v in payload.items() if k != "ts"} == {
        "level": "INFO",
        "logger": "chicrime.ingest",
        "msg": "run finished",
        "run_id": 7,
    }


def test_json_format_renders_unserialisable_values_as_text(capsys):
    """Field values JSON cannot encode (paths, dates) are written as their string form."""
    configure_logging("INFO", "json")

    logging.getLogger("chicrime").info("wrote", extra={"path": Path("a/b")})

    assert json.loads(capsys.readouterr().err)["path"] == "a/b"


def test_text_format_renders_fields_as_key_value(capsys):
    """Text format writes `ts LEVEL logger msg key=value ...` and quotes values with spaces."""
    configure_logging("INFO", "text")

    logging.getLogger("chicrime.ingest").warning(
        "run failed", extra={"run_id": 7, "error": "HTTP 503 from API", "note": ""}
    )

    line = capsys.readouterr().err
    assert re.fullmatch(
        TIMESTAMP + r' WARNING chicrime\.ingest run failed run_id=7 error="HTTP 503 from API"'
        r' note=""\n',
        line,
    )


def test_level_filters_lower_records(capsys):
    """Records below the configured level are not written."""
    configure_logging("WARNING", "text")

    logging.getLogger("chicrime").info("hidden")
    logging.getLogger("chicrime").error("shown")

    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["ERROR chicrime shown"]


def test_log_progress_logs_done_total_and_percent(caplog):
    """With interval 0 every update logs done, total and percent; close logs a final line."""
    progress = LogProgress("fetch", total=200, unit="rows", interval=0)

    with caplog.at_level(logging.INFO, logger="chicrime.progress"):
        progress.update(50)
        progress.update(100)
        progress.close()

    assert [record.getMessage() for record in caplog.records] == [
        "fetch: progress",
        "fetch: progress",
        "fetch: done",
    ]
    assert [(r.done, r.total, r.percent, r.unit) for r in caplog.records] == [
        (50, 200, 25.0, "rows"),
        (150, 200, 75.0, "rows"),
        (150, 200, 75.0, "rows"),
    ]
    assert all(isinstance(r.rate_per_s, int) for r in caplog.records)


def test_log_progress_without_total_logs_only_done(caplog):
    """Without a known total, progress lines carry `done` but no total or percent."""
    progress = LogProgress("stage", total=None, unit="rows", interval=0)

    with caplog.at_level(logging.INFO, logger="chicrime.progress"):
        progress.update(3)

    (record,) = caplog.records
    assert record.done == 3
    assert not hasattr(record, "total")
    assert not hasattr(record, "percent")


def test_log_progress_waits_for_interval_between_lines(caplog):
    """Updates within the interval log nothing; `close` always logs the final count."""
    progress = LogProgress("merge", total=4, unit="partitions", interval=3600)

    with caplog.at_level(logging.INFO, logger="chicrime.progress"):
        progress.update()
        progress.update()
        progress.close()

    assert [(r.getMessage(), r.done, r.percent) for r in caplog.records] == [
        ("merge: done", 2, 50.0)
    ]


def test_log_progress_renders_as_a_text_log_line(capsys):
    """Through the text formatter a progress line reads `done=... total=... percent=...`."""
    configure_logging("INFO", "text")
    progress = LogProgress("fetch", total=8, unit="pages", interval=0)

    progress.update(2)

    line = capsys.readouterr().err
    assert re.fullmatch(
        TIMESTAMP + r" INFO chicrime\.progress fetch: progress done=2 unit=pages total=8"
        r" percent=25\.0 rate_per_s=\d+\n",
        line,
    )
