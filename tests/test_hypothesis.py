"""Property: for any sequence of upstream batches the lake holds the latest copy of each live id."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chicrime.ingest.pipeline import ingest_once
from chicrime.settings import Settings
from tests.conftest import api_row, expected_lake, lake_rows
from tests.socrata_server import SocrataDataset, SocrataServer

IDS = st.integers(min_value=1, max_value=40)
DATES = st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2024, 6, 30))
# One upstream edit: a record (re)published with a date, or a deletion.
EDITS = st.one_of(
    st.tuples(st.just("put"), IDS, DATES, st.sampled_from(["THEFT", "BATTERY", "ASSAULT"])),
    st.tuples(st.just("delete"), IDS, st.none(), st.none()),
)
BATCHES = st.lists(st.lists(EDITS, max_size=12), min_size=1, max_size=4)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(batches=BATCHES, page_limit=st.integers(min_value=1, max_value=7))
def test_lake_equals_latest_version_of_each_live_id(
    batches: list[list[tuple[str, int, dt.datetime | None, str | None]]], page_limit: int
) -> None:
    """Inserts, updates, deletes and date moves in any order end as upstream's live rows."""
    dataset = SocrataDataset([])
    live: dict[int, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp, SocrataServer({"ijzp-q8t2": dataset}) as server:
        # A window reaching back past every date: every run sees every live row, so every
        # upstream deletion is inside the re-pulled window.
        config = Settings(
            soda_base_url=server.base_url,
            data_dir=Path(tmp),
            start_date=dt.date(2022, 12, 1),
            backfill_days=1000,
            page_limit=page_limit,
        )
        for number, batch in enumerate(batches):
            updated = f"2024-07-{number + 1:02d}T00:00:00.000"
            for action, row_id, date, kind in batch:
                if action == "delete":
                    live.pop(row_id, None)
                    dataset.delete([row_id])
                else:
                    assert date is not None
                    row = api_row(
                        row_id, date.isoformat(timespec="seconds"), updated, primary_type=kind
                    )
                    live[row_id] = row
                    dataset.upsert([row])
            ingest_once(config, clock=lambda: dt.datetime(2024, 7, 20, tzinfo=dt.UTC))
            assert lake_rows(Path(tmp)) == expected_lake(list(live.values()))
