"""`chicrime status` as a health check: exit 0 when fresh, 1 (reason on stderr) otherwise."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from chicrime.store.state import RunTotals, StateStore
from tests.test_cli import run_cli

DATASET = "ijzp-q8t2"


def record_run(data_dir: Path, *, hours_ago: float, ok: bool, error: str = "boom") -> int:
    """Write one finished run (success or failure) ending `hours_ago` hours before now."""
    state = StateStore(data_dir / "state" / "chicrime.db")
    # Now, not at import: a long suite would otherwise age the run by minutes.
    ended = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)
    run_id = state.start_run(
        dataset_id=DATASET,
        kind="ingest",
        started_at=ended - dt.timedelta(minutes=1),
        window_start=dt.datetime(2024, 1, 1),
        updated_since=None,
        watermark_before=None,
        pid=1,
    )
    if ok:
        state.finish_success(
            run_id,
            dataset_id=DATASET,
            finished_at=ended,
            totals=RunTotals(5, 0, 5, 5, 0, 1, None),
            watermark_max_date=dt.datetime(2024, 6, 30, 12),
            watermark_max_updated_on=dt.datetime(2024, 6, 30, 12),
            backfill_days=14,
        )
    else:
        state.finish_failed(run_id, finished_at=ended, error=error, rows_fetched=0)
    state.close()
    return run_id


def status(tmp_path: Path, *args: str, **env: str) -> tuple[int, dict[str, object], str]:
    """Run `status --json`; return the exit code, the parsed report and stderr."""
    result = run_cli(
        "status", "--json", *args, env={"DATA_DIR": str(tmp_path / "data"), **env}, cwd=tmp_path
    )
    return result.returncode, json.loads(result.stdout), result.stderr


def test_fresh_success_is_healthy(tmp_path: Path) -> None:
    """A success 2 hours ago, last run ok: exit 0, healthy, no problems, nothing on stderr."""
    record_run(tmp_path / "data", hours_ago=2, ok=True)
    code, report, stderr = status(tmp_path)
    assert (code, report["healthy"], report["problems"], stderr) == (0, True, [], "")
    assert report["max_age_hours"] == 36


def test_stale_success_exits_1_with_the_age(tmp_path: Path) -> None:
    """A last success 40 hours ago is older than the default 36 h: exit 1 and the reason."""
    record_run(tmp_path / "data", hours_ago=40, ok=True)
    code, report, stderr = status(tmp_path)
    assert (code, report["healthy"]) == (1, False)
    assert report["problems"] == ["last success 40 h ago, more than 36 h"]
    assert stderr == "chicrime: unhealthy: last success 40 h ago, more than 36 h\n"


@pytest.mark.parametrize(
    ("args", "env", "code"),
    [
        (("--max-age-hours", "48"), {}, 0),
        ((), {"STATUS_MAX_AGE_HOURS": "48"}, 0),
        ((), {"STATUS_MAX_AGE_HOURS": "12"}, 1),
        (("--max-age-hours", "30"), {"STATUS_MAX_AGE_HOURS": "48"}, 1),
    ],
)
def test_threshold_comes_from_the_option_over_the_setting(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], code: int
) -> None:
    """`--max-age-hours` wins over STATUS_MAX_AGE_HOURS, which wins over 36."""
    record_run(tmp_path / "data", hours_ago=40, ok=True)
    assert status(tmp_path, *args, **env)[0] == code


def test_failed_last_run_exits_1_even_after_a_recent_success(tmp_path: Path) -> None:
    """A success 3 h ago then a failure 1 h ago: unhealthy because of the failed run, whose
    reason is stored on one line."""
    record_run(tmp_path / "data", hours_ago=3, ok=True)
    run_id = record_run(tmp_path / "data", hours_ago=1, ok=False, error="API gave up\nafter 8")
    code, report, stderr = status(tmp_path)
    assert (code, report["healthy"]) == (1, False)
    assert report["problems"] == [f"last run #{run_id} failed: API gave up after 8"]
    assert stderr == f"chicrime: unhealthy: last run #{run_id} failed: API gave up after 8\n"


def test_never_succeeded_exits_1(tmp_path: Path) -> None:
    """Only failures so far: both problems are reported, in the text report's stderr line too."""
    run_id = record_run(tmp_path / "data", hours_ago=1, ok=False)
    result = run_cli("status", env={"DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.returncode == 1
    assert "last success   never" in result.stdout
    assert result.stderr == (
        f"chicrime: unhealthy: no successful run yet; last run #{run_id} failed: boom\n"
    )


def test_no_state_at_all_exits_1_and_says_what_to_run(tmp_path: Path) -> None:
    """A fresh install is not healthy yet: exit 1, and the report says what to run."""
    result = run_cli("status", env={"DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.returncode == 1
    assert "run `chicrime ingest --once` to populate the lake" in result.stdout
    assert result.stderr == "chicrime: unhealthy: no successful run yet\n"


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_bad_max_age_option_is_a_usage_error(tmp_path: Path, value: str) -> None:
    """`--max-age-hours` must be a positive number: exit 2 from argparse."""
    result = run_cli(
        "status", "--max-age-hours", value, env={"DATA_DIR": str(tmp_path)}, cwd=tmp_path
    )
    assert result.returncode == 2
    assert f"{value!r} is not a positive number" in result.stderr


def test_a_reconciliation_twice_overdue_is_a_problem(tmp_path: Path) -> None:
    """The lake was first built 15 days ago and never reconciled since: with RECONCILE_DAYS=7
    that is more than twice overdue; RECONCILE_DAYS=0 (only on demand) never asks for one."""
    record_run(tmp_path / "data", hours_ago=15 * 24, ok=True)
    record_run(tmp_path / "data", hours_ago=2, ok=True)
    code, report, stderr = status(tmp_path, RECONCILE_DAYS="7")
    assert code == 1
    assert "last reconciled with upstream 15 days ago" in stderr
    assert report["problems"] == [
        "the lake was last reconciled with upstream 15 days ago (RECONCILE_DAYS=7): deletions "
        "of older records go unnoticed; `chicrime ingest --once --reconcile` says why"
    ]
    assert str(report["last_reconciled_at"]).startswith(
        (dt.datetime.now(dt.UTC) - dt.timedelta(days=15)).date().isoformat()
    )
    code, report, _ = status(tmp_path, RECONCILE_DAYS="0")
    assert (code, report["problems"]) == (0, [])
