"""Reconciliation: every id upstream lists compared with the lake's, however old."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from chicrime.errors import IncompletePullError, MassDeletionError
from chicrime.ingest.pipeline import ingest_once
from chicrime.settings import Settings
from chicrime.store.history import read_history
from chicrime.store.lake import Lake
from tests.conftest import api_row, expected_lake, lake_rows
from tests.socrata_server import SocrataDataset, SocrataServer

NOW = dt.datetime(2024, 7, 20, 12, tzinfo=dt.UTC)


def old_rows(count: int) -> list[dict[str, object]]:
    """Records dated in 2019, five years before the runs: far outside any re-pulled window."""
    return [api_row(i, f"2019-03-{1 + i % 28:02d}T08:00:00") for i in range(1, count + 1)]


def recent_rows() -> list[dict[str, object]]:
    return [api_row(1000 + i, f"2024-07-{10 + i:02d}T08:00:00") for i in range(5)]


def configured(server: SocrataServer, data_dir: Path, **extra: object) -> Settings:
    return Settings(
        soda_base_url=server.base_url,
        data_dir=data_dir,
        start_date=dt.date(2019, 1, 1),
        page_limit=7,
        **extra,  # type: ignore[arg-type]
    )


def kinds(data_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "state" / "chicrime.db") as db:
        return list(db.execute("SELECT kind, status FROM runs ORDER BY run_id"))


def test_reconciliation_finds_a_deletion_and_a_missing_record_five_years_back(
    tmp_path: Path,
) -> None:
    rows = old_rows(30) + recent_rows()
    dataset = SocrataDataset(rows)
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings = configured(server, tmp_path)
        ingest_once(settings, clock=lambda: NOW)
        # Upstream removes a 2019 record and gains one the incremental window cannot see
        # (dated 2019, updated before the lake's newest update).
        dataset.delete([7])
        late = api_row(500, "2019-04-02T10:00:00", "2024-05-01T00:00:00.000")
        dataset.upsert([late])
        plain = ingest_once(settings, clock=lambda: NOW)
        assert plain.totals.rows_deleted == 0
        reconciled = ingest_once(settings, reconcile=True, clock=lambda: NOW)

    live = [r for r in rows if r["id"] != "7"] + [late]
    assert lake_rows(tmp_path) == expected_lake(live)
    assert reconciled.totals.rows_deleted == 1
    assert reconciled.totals.rows_new == 1
    assert reconciled.totals.rows_revised == 2
    assert kinds(tmp_path) == [
        ("ingest", "success"),
        ("ingest", "success"),
        ("reconcile", "success"),
    ]
    lake = Lake(tmp_path / "lake")
    events = (
        read_history(lake.root, lake.version())
        .filter(pl.col("field").is_null() | (pl.col("field") == "primary_type"))
        .select("run_id", "kind", "id")
        .collect()
        .rows()
    )
    assert events == [(reconciled.run_id, "removed", 7), (reconciled.run_id, "added", 500)]


def test_reconciliation_refuses_a_mass_deletion(tmp_path: Path) -> None:
    rows = old_rows(60) + recent_rows()
    dataset = SocrataDataset(rows)
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings = configured(server, tmp_path)
        ingest_once(settings, clock=lambda: NOW)
        before = lake_rows(tmp_path)
        dataset.delete(list(range(1, 41)))
        with pytest.raises(MassDeletionError, match="no longer lists 40 of the lake's 65 records"):
            ingest_once(settings, reconcile=True, clock=lambda: NOW)

    assert lake_rows(tmp_path) == before
    assert kinds(tmp_path) == [("ingest", "success"), ("reconcile", "failed")]


@pytest.mark.parametrize(("days_later", "kind"), [(6, "ingest"), (7, "reconcile")])
def test_runs_reconcile_by_themselves_every_reconcile_days(
    tmp_path: Path, days_later: int, kind: str
) -> None:
    with SocrataServer({"ijzp-q8t2": SocrataDataset(recent_rows())}) as server:
        settings = configured(server, tmp_path, reconcile_days=7)
        ingest_once(settings, clock=lambda: NOW)
        ingest_once(settings, clock=lambda: NOW + dt.timedelta(days=days_later))
    assert kinds(tmp_path) == [("ingest", "success"), (kind, "success")]


def test_a_scheduled_reconciliation_that_fails_its_guard_does_not_hold_back_the_day(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """When the schedule asks for a reconciliation and upstream no longer lists most of the
    lake, the day's new records are still committed, nothing old is deleted, and the run is
    an ordinary one, so the next run tries again."""
    rows = old_rows(60) + recent_rows()
    dataset = SocrataDataset(rows)
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings = configured(server, tmp_path, reconcile_days=7)
        ingest_once(settings, clock=lambda: NOW)
        dataset.delete(list(range(1, 41)))
        new = api_row(2000, "2024-07-25T08:00:00")
        dataset.upsert([new])
        later = NOW + dt.timedelta(days=8)
        result = ingest_once(settings, clock=lambda: later)
        with pytest.raises(MassDeletionError):
            ingest_once(settings, reconcile=True, clock=lambda: later)

    assert result.totals.rows_new == 1
    assert result.totals.rows_deleted == 0
    assert lake_rows(tmp_path) == expected_lake([*rows, new])
    assert kinds(tmp_path) == [
        ("ingest", "success"),
        ("ingest", "success"),
        ("reconcile", "failed"),
    ]
    assert "reconciliation skipped: the run commits the day's records without it" in caplog.text


@pytest.mark.parametrize("forced", [True, False])
def test_a_listing_with_an_unreadable_id_deletes_nothing(
    tmp_path: Path, forced: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Upstream lists a 2019 record (outside every window) with an id that cannot be read:
    any lake record could be that one, so nothing is deleted. Asked for, the run fails
    saying so; scheduled, the run commits without the reconciliation."""
    rows = old_rows(30) + recent_rows()
    dataset = SocrataDataset(rows)
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        settings = configured(server, tmp_path, reconcile_days=7)
        ingest_once(settings, clock=lambda: NOW)
        before = lake_rows(tmp_path)
        dataset.delete([3])
        dataset.set_raw_value(7, "id", "seven")
        later = NOW + dt.timedelta(days=8)
        if forced:
            with pytest.raises(IncompletePullError, match="listed 1 id\\(s\\) that cannot be read"):
                ingest_once(settings, reconcile=True, clock=lambda: later)
        else:
            ingest_once(settings, clock=lambda: later)

    assert lake_rows(tmp_path) == before
    expected = ("reconcile", "failed") if forced else ("ingest", "success")
    assert kinds(tmp_path) == [("ingest", "success"), expected]
    assert ("reconciliation skipped" in caplog.text) is not forced
