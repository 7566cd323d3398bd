"""Crash safety: SIGKILL an ingestion at several points; the next run repairs everything."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chicrime.ingest.pipeline import ingest_once
from chicrime.settings import Settings
from chicrime.store.history import history_files
from chicrime.store.lake import Lake
from tests.conftest import api_row, expected_lake, lake_rows
from tests.socrata_server import SocrataDataset, SocrataServer

ROOT = Path(__file__).resolve().parent.parent


def clock() -> dt.datetime:
    return dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC)


def original_rows() -> list[dict[str, object]]:
    return [
        api_row(i, f"2024-{1 + i % 6:02d}-{10 + i % 15:02d}T0{i % 10}:00:00.000")
        for i in range(1, 21)
    ]


def changed_rows() -> list[dict[str, object]]:
    """Updates, inserts and a date move, all newer than the first run."""
    return [
        api_row(3, "2024-06-27T03:00:00.000", "2024-06-30T09:00:00.000"),  # moved month
        api_row(6, "2024-06-16T06:00:00.000", "2024-06-30T09:00:00.000", arrest=True),
        api_row(21, "2024-06-29T21:00:00.000", "2024-06-30T09:00:00.000"),
        api_row(22, "2024-06-30T22:00:00.000", "2024-06-30T09:00:00.000"),
    ]


def run_killed(settings: Settings, server: SocrataServer, step: str, nth: int) -> int:
    """Run an ingestion in a child process that SIGKILLs itself at the nth `step`."""
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.kill_at_step",
            str(settings.data_dir),
            server.base_url,
            step,
            str(nth),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return child.returncode


def statuses(settings: Settings) -> list[tuple[str, str | None]]:
    with sqlite3.connect(settings.layout.state_db) as db:
        return [
            (status, error and error.split(":")[0])
            for status, error in db.execute("SELECT status, error FROM runs ORDER BY run_id")
        ]


@pytest.mark.parametrize(
    ("step", "nth"),
    [
        ("fetched", 1),
        ("partition_written", 1),
        ("partition_written", 3),
        ("lake_committed", 1),
        ("state_committed", 1),
    ],
)
def test_kill_during_incremental_run_is_repaired_by_the_next_run(
    tmp_path: Path, step: str, nth: int
) -> None:
    """After a SIGKILL anywhere in the merge, the next run leaves exactly the expected lake."""
    dataset = SocrataDataset(original_rows())
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings = Settings(
            soda_base_url=server.base_url,
            data_dir=tmp_path / "data",
            start_date=dt.date(2024, 1, 1),
            page_limit=3,
        )
        ingest_once(settings, clock=clock)
        dataset.upsert(changed_rows())
        dataset.delete([20])  # dated 2024-03-20: outside the 14-day window, stays in the lake

        assert run_killed(settings, server, step, nth) == -signal.SIGKILL
        assert_lake_matches_its_history(settings.data_dir)
        ingest_once(settings, clock=clock)

    live = {int(str(r["id"])): r for r in original_rows()}
    live.update({int(str(r["id"])): r for r in changed_rows()})
    assert lake_rows(settings.data_dir) == expected_lake(list(live.values()))
    lake = Lake(settings.layout.lake_dir)
    assert lake.as_of(1).sort("id").collect().to_dicts() == expected_lake(original_rows())
    expected_second = ("success", None) if step == "state_committed" else ("failed", "interrupted")
    assert statuses(settings) == [("success", None), expected_second, ("success", None)]
    assert list(settings.layout.staging_dir.glob("*")) == []
    versions = sorted(
        p.name for p in settings.layout.lake_dir.iterdir() if p.name.startswith(".v-")
    )
    assert len(versions) <= 2
    assert os.readlink(settings.layout.lake_dir / "crimes") in versions


def assert_lake_matches_its_history(data_dir: Path) -> None:
    """Right after a kill: the lake is the first run's with no history of a later one, or the
    second run's with a history that undoes it back to the first's."""
    lake = Lake(data_dir / "lake")
    original = expected_lake(original_rows())
    if lake_rows(data_dir) == original:
        assert history_files(lake.root, lake.version()) == []
    else:
        assert lake.as_of(1).sort("id").collect().to_dicts() == original


def test_kill_during_the_first_run_leaves_no_half_lake(tmp_path: Path) -> None:
    """A first run killed mid-merge leaves no lake at all; the next run builds it whole."""
    with SocrataServer({"ijzp-q8t2": SocrataDataset(original_rows())}) as server:
        settings = Settings(
            soda_base_url=server.base_url,
            data_dir=tmp_path / "data",
            start_date=dt.date(2024, 1, 1),
            page_limit=3,
        )
        assert run_killed(settings, server, "partition_written", 2) == -signal.SIGKILL
        assert not (settings.layout.lake_dir / "crimes").exists()
        ingest_once(settings, clock=clock)

    assert lake_rows(settings.data_dir) == expected_lake(original_rows())
    assert statuses(settings) == [("failed", "interrupted"), ("success", None)]
