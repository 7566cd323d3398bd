"""Shared fixtures: a loopback Socrata server, settings pointing at it, lake readers, and real
S3 (moto) and Redis servers."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import polars as pl
import pytest
import stamina

from chicrime.app import PLOTLY_BUNDLE
from chicrime.settings import Settings
from chicrime.store.history import Observation
from chicrime.store.schema import LAKE_SCHEMA
from tests.servers import RedisServer, S3Server
from tests.socrata_server import SocrataDataset, SocrataServer

DATASET_ID = "ijzp-q8t2"

_RUN_IDS = itertools.count(1)


def observed() -> Observation:
    """A commit's observation for tests that drive the lake directly: a new run id each time."""
    return Observation(next(_RUN_IDS), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def api_row(
    row_id: int,
    date: str,
    updated_on: str = "2024-06-01T10:00:00.000",
    **fields: object,
) -> dict[str, object]:
    """A record shaped as the Socrata API sends it: strings, JSON booleans, no null keys."""
    row: dict[str, object] = {
        "id": str(row_id),
        "case_number": f"JA{row_id:06d}",
        "date": date,
        "block": "012XX W MADISON ST",
        "iucr": "0486",
        "primary_type": "BATTERY",
        "description": "DOMESTIC BATTERY SIMPLE",
        "location_description": "APARTMENT",
        "arrest": False,
        "domestic": True,
        "beat": "0421",
        "district": "004",
        "ward": "7",
        "community_area": "46",
        "fbi_code": "08B",
        "x_coordinate": "1193000",
        "y_coordinate": "1851000",
        "year": date[:4],
        "updated_on": updated_on,
        "latitude": "41.75",
        "longitude": "-87.55",
    }
    row.update(fields)
    return {k: v for k, v in row.items() if v is not None}


def expected_lake(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """What the lake must hold for these API rows, computed without chicrime's code."""
    out = []
    for row in rows:
        date = dt.datetime.fromisoformat(str(row["date"]))
        updated = row.get("updated_on")
        out.append(
            {
                "id": int(str(row["id"])),
                "case_number": row.get("case_number"),
                "date": date,
                "block": row.get("block"),
                "iucr": row.get("iucr"),
                "primary_type": row.get("primary_type"),
                "description": row.get("description"),
                "location_description": row.get("location_description"),
                "arrest": row.get("arrest"),
                "domestic": row.get("domestic"),
                "beat": row.get("beat"),
                "district": row.get("district"),
                "ward": row.get("ward"),
                "community_area": row.get("community_area"),
                "fbi_code": row.get("fbi_code"),
                "latitude": float(str(row["latitude"])) if "latitude" in row else None,
                "longitude": float(str(row["longitude"])) if "longitude" in row else None,
                "updated_on": dt.datetime.fromisoformat(str(updated)) if updated else None,
                "year": date.year,
                "month": date.month,
            }
        )
    return sorted(out, key=lambda r: int(str(r["id"])))


def read_lake(data_dir: Path) -> pl.DataFrame:
    """Every row of the lake through the public layout (the `crimes` link), sorted by id."""
    files = sorted((data_dir / "lake" / "crimes").glob("year=*/month=*/*.parquet"))
    if not files:
        return pl.DataFrame(schema=LAKE_SCHEMA)
    return pl.read_parquet(files, hive_partitioning=False).sort("id")


def lake_rows(data_dir: Path) -> list[dict[str, object]]:
    return read_lake(data_dir).to_dicts()


@pytest.fixture(autouse=True)
def _instant_retries() -> Iterator[None]:
    """Retries happen without waiting, at most 5 attempts, unless a test turns this off."""
    stamina.set_testing(True, attempts=5)
    yield
    stamina.set_testing(False)


@pytest.fixture
def dataset() -> SocrataDataset:
    return SocrataDataset([])


@pytest.fixture
def server(dataset: SocrataDataset) -> Iterator[SocrataServer]:
    with SocrataServer({DATASET_ID: dataset}) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, server: SocrataServer) -> Settings:
    return Settings(
        dataset_id=DATASET_ID,
        soda_base_url=server.base_url,
        start_date=dt.date(2024, 1, 1),
        backfill_days=14,
        page_limit=3,
        data_dir=tmp_path / "data",
        http_timeout=5,
        retry_attempts=5,
        retry_max_seconds=30,
    )


def needs_plotly_bundle() -> None:
    """Skip the calling test when `make` has not built the plotly.js bundle (no npm); under
    CI, fail it instead."""
    if not PLOTLY_BUNDLE.is_file():
        assert not os.environ.get("CI"), "CI needs the plotly.js bundle: make (npm) builds it"
        pytest.skip("no plotly.js bundle: `make install` builds it (needs npm)")


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test for `reason` (what to install); under CI=true, fail it instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs it: {reason}")
    pytest.skip(reason)


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server, started, with bucket `s3_server.bucket` created. `stop()` and
    `start()` take it away and bring it back on the same endpoint, empty (moto is in memory)."""
    if reason := S3Server.missing():
        unavailable(reason)
    with S3Server() as running:
        running.create_bucket(running.bucket)
        yield running


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """redis-server, started, in memory only; `stop()` takes it away."""
    if reason := RedisServer.missing():
        unavailable(reason)
    with RedisServer() as running:
        yield running
