"""End to end: the ingestion pipeline against a real Socrata-speaking server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from chicrime.errors import SocrataError, SocrataRequestError, SocrataUnavailableError
from chicrime.ingest.boundaries import population_document
from chicrime.ingest.pipeline import ingest_once
from chicrime.settings import Settings
from chicrime.store.lake import Lake
from tests.conftest import api_row, expected_lake, lake_rows, read_lake
from tests.socrata_server import Fault, RecordedRequest, SocrataDataset, SocrataServer

JULY = dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC)


def clock() -> dt.datetime:
    return JULY


def base_rows() -> list[dict[str, object]]:
    """Ten records over five months, one without coordinates, one without a beat."""
    dates = [
        "2024-01-03T08:15:00.000",
        "2024-01-20T23:59:00.000",
        "2024-02-10T00:44:00.000",
        "2024-02-29T12:00:00.000",
        "2024-03-10T02:30:00.000",  # spring-forward night in Chicago: 02:30 does not exist
        "2024-04-01T00:00:00.000",
        "2024-05-15T17:45:00.000",
        "2024-06-20T09:00:00.000",
        "2024-06-25T21:10:00.000",
        "2024-06-28T06:05:00",
    ]
    rows = [api_row(100 + i, d, updated_on="2024-06-29T01:00:00.000") for i, d in enumerate(dates)]
    rows[3] = api_row(
        103, dates[3], updated_on="2024-06-29T01:00:00.000", latitude=None, longitude=None
    )
    rows[6] = api_row(106, dates[6], updated_on="2024-06-29T01:00:00.000", beat=None)
    return rows


def runs_table(settings: Settings) -> list[dict[str, object]]:
    with sqlite3.connect(settings.layout.state_db) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM runs ORDER BY run_id")]


def ingest_state(settings: Settings) -> dict[str, object]:
    with sqlite3.connect(settings.layout.state_db) as db:
        db.row_factory = sqlite3.Row
        return dict(db.execute("SELECT * FROM ingest_state").fetchone())


def lake_files(settings: Settings) -> dict[str, bytes]:
    root = settings.layout.lake_dir / "crimes"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("year=*/month=*/*"))}


def test_first_run_fills_the_lake_with_every_row_in_the_window(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """A first run pulls every row dated from START_DATE, typed, one per id."""
    rows = base_rows()
    dataset.upsert([*rows, api_row(5, "2023-12-31T23:59:00.000")])

    result = ingest_once(settings, clock=clock)

    assert lake_rows(settings.data_dir) == expected_lake(rows)
    assert result.totals.rows_fetched == 10
    assert result.totals.rows_written == 10
    assert result.totals.rows_new == 10
    assert result.totals.rows_deleted == 0
    assert result.totals.partitions_rewritten == 6
    assert result.watermark_after == dt.datetime(2024, 6, 28, 6, 5)
    run = runs_table(settings)[0]
    assert {k: run[k] for k in ("status", "kind", "window_start", "rows_fetched", "error")} == {
        "status": "success",
        "kind": "ingest",
        "window_start": "2024-01-01T00:00:00",
        "rows_fetched": 10,
        "error": None,
    }
    assert run["watermark_before"] is None
    assert run["watermark_after"] == "2024-06-28T06:05:00"
    state = ingest_state(settings)
    assert state["watermark_max_date"] == "2024-06-28T06:05:00"
    assert state["watermark_max_updated_on"] == "2024-06-29T01:00:00"
    assert state["rows_last_run"] == 10


def test_lake_layout_is_hive_partitioned_sorted_and_zone_tagged(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """Files sit under year=YYYY/month=MM, sorted by date, with the zone in their metadata."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)

    files = lake_files(settings)
    assert sorted({name.rsplit("/", 1)[0] for name in files}) == [
        "year=2024/month=01",
        "year=2024/month=02",
        "year=2024/month=03",
        "year=2024/month=04",
        "year=2024/month=05",
        "year=2024/month=06",
    ]
    june = next((settings.layout.lake_dir / "crimes" / "year=2024" / "month=06").glob("*.parquet"))
    frame = pl.read_parquet(june)
    assert frame.get_column("date").to_list() == sorted(frame.get_column("date").to_list())
    assert frame.get_column("id").to_list() == [107, 108, 109]
    metadata = pq.read_metadata(june).metadata
    assert metadata[b"chicrime.timezone"] == b"America/Chicago"
    assert (settings.layout.lake_dir / "crimes").is_symlink()


def test_daylight_saving_rows_keep_their_wall_clock_time(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """Spring-forward 02:30 and the repeated fall-back 01:30 survive unshifted."""
    dataset.upsert(
        [
            api_row(1, "2014-03-09T02:30:00.000"),
            api_row(2, "2023-11-05T01:30:00.000"),
            api_row(3, "2023-11-05T01:30:00.000", case_number="JA000003-B"),
        ]
    )
    ingest_once(dataclasses.replace(settings, start_date=dt.date(2014, 1, 1)), clock=clock)

    frame = read_lake(settings.data_dir)
    assert frame.select("id", "date", "year", "month").rows() == [
        (1, dt.datetime(2014, 3, 9, 2, 30), 2014, 3),
        (2, dt.datetime(2023, 11, 5, 1, 30), 2023, 11),
        (3, dt.datetime(2023, 11, 5, 1, 30), 2023, 11),
    ]


def test_incremental_run_applies_inserts_updates_deletes_and_date_moves(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """After upstream changes, the lake equals the latest version of every live id."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)

    changed = [
        api_row(108, "2024-06-20T09:00:00.000", "2024-06-30T08:00:00.000", arrest=True),
        api_row(110, "2024-06-29T14:00:00.000", "2024-06-30T08:00:00.000"),
        # an old record reclassified: outside the 14-day window, caught through updated_on
        api_row(101, "2024-01-20T23:59:00.000", "2024-06-30T08:00:00.000", primary_type="THEFT"),
        # a record whose date moved out of its month and out of the window
        api_row(109, "2024-02-01T10:00:00.000", "2024-06-30T08:00:00.000"),
    ]
    dataset.upsert(changed)
    dataset.delete([107])
    result = ingest_once(settings, clock=clock)

    live = {int(str(r["id"])): r for r in base_rows() if r["id"] != "107"}
    live.update({int(str(r["id"])): r for r in changed})
    assert lake_rows(settings.data_dir) == expected_lake(list(live.values()))
    assert result.window.start == dt.datetime(2024, 6, 14)
    assert result.window.updated_since == dt.datetime(2024, 6, 27, 1, 0)
    assert result.totals.rows_deleted == 1
    assert result.totals.rows_new == 1
    assert result.watermark_after == dt.datetime(2024, 6, 29, 14, 0)
    assert (
        len(read_lake(settings.data_dir).get_column("id").unique())
        == read_lake(settings.data_dir).height
    )


def test_date_moved_out_of_window_without_new_updated_on_is_kept_not_deleted(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """A lake row missing from the window pull is asked for by id before it counts as deleted."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    moved = api_row(109, "2024-03-02T10:00:00.000", "2024-06-29T01:00:00.000")
    dataset.upsert([moved])

    result = ingest_once(settings, clock=clock)

    rows = {r["id"]: r for r in lake_rows(settings.data_dir)}
    assert rows[109]["date"] == dt.datetime(2024, 3, 2, 10, 0)
    assert rows[109]["month"] == 3
    assert result.totals.rows_deleted == 0
    assert len(rows) == 10


def test_run_without_upstream_change_leaves_the_lake_byte_identical(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """Idempotence: a second run with nothing new keeps every file and the lake version."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    before_files, before_version = lake_files(settings), Lake(settings.layout.lake_dir).version()

    result = ingest_once(settings, clock=clock)

    assert lake_files(settings) == before_files
    assert Lake(settings.layout.lake_dir).version() == before_version
    assert result.totals.partitions_rewritten == 0
    assert result.totals.rows_deleted == 0
    assert [r["status"] for r in runs_table(settings)] == ["success", "success"]


def test_faults_are_retried_and_give_the_same_lake(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings, tmp_path: Path
) -> None:
    """429 (with and without Retry-After), 500, 503, 202, drops and truncation change nothing."""
    dataset.upsert(base_rows())
    clean = dataclasses.replace(settings, data_dir=tmp_path / "clean")
    ingest_once(clean, clock=clock)

    served = Fault.slow(0)  # answers normally: at most four faults in a row, under 5 attempts
    for fault in (
        Fault.status(429, retry_after=0),
        Fault.status(429),
        Fault.status(500),
        Fault.drop(),
        served,
        Fault.status(503),
        Fault.truncate(),
        Fault.status(202),
        Fault.truncate(),
        served,
        Fault.drop(),
    ):
        server.faults.append(fault)
    result = ingest_once(settings, clock=clock)

    assert len(server.faults) == 0
    assert lake_rows(settings.data_dir) == lake_rows(clean.data_dir)
    assert result.totals.rows_fetched == 10


def test_exhausted_retries_fail_the_run_and_change_nothing(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """When retries run out the run is `failed` with the reason; lake and watermark stay put."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    before_files, before_state = lake_files(settings), ingest_state(settings)
    dataset.upsert([api_row(110, "2024-06-29T14:00:00.000", "2024-06-30T08:00:00.000")])
    for _ in range(6):
        server.faults.append(Fault.status(503))

    with pytest.raises(SocrataUnavailableError, match=r"gave up after 5 attempt\(s\): HTTP 503"):
        ingest_once(settings, clock=clock)

    assert lake_files(settings) == before_files
    after_state = ingest_state(settings)
    assert after_state["watermark_max_date"] == before_state["watermark_max_date"]
    assert after_state["last_success_at"] == before_state["last_success_at"]
    failed = runs_table(settings)[-1]
    assert failed["status"] == "failed"
    assert "HTTP 503" in str(failed["error"])
    assert failed["finished_at"] is not None
    assert list(settings.layout.staging_dir.glob("*")) == []


def test_upstream_changes_between_pages_lose_and_duplicate_nothing(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """Rows inserted, updated or deleted while a pull pages through do not shift pages."""
    dataset.upsert(base_rows())

    def mutate(page_number: int) -> None:
        if page_number == 2:  # the count plus one data page have been served
            dataset.delete([100, 101])  # already fetched: must not shift later pages
            dataset.upsert([api_row(120, "2024-06-30T10:00:00.000")])

    server.on_request = mutate
    ingest_once(settings, clock=clock)
    first = read_lake(settings.data_dir)
    server.on_request = None

    assert first.get_column("id").to_list() == [*range(100, 110), 120]
    ingest_once(settings, clock=clock)
    ids_after_second_run = read_lake(settings.data_dir).get_column("id").to_list()
    # 100 and 101 are older than the 14-day window: their deletion is not visible to run 2.
    assert ids_after_second_run == [*range(100, 110), 120]


def test_missing_dataset_fails_at_once_with_the_api_message(
    server: SocrataServer, settings: Settings
) -> None:
    """A 404 is not retried and names the setting to check."""
    wrong = dataclasses.replace(settings, dataset_id="xxxx-0000")
    with pytest.raises(SocrataRequestError) as raised:
        ingest_once(wrong, clock=clock)
    message = str(raised.value)
    assert "HTTP 404" in message
    assert "Dataset 'xxxx-0000' was not found (not_found)" in message
    assert "CHI_CRIME_DATASET_ID" in message
    assert len(server.requests) == 1
    assert runs_table(wrong)[-1]["status"] == "failed"


def test_rejected_query_fails_at_once_quoting_the_error_code(
    server: SocrataServer, settings: Settings
) -> None:
    """A 400 quotes the API's `message` and `errorCode` and is not retried."""
    server.faults.append(
        Fault.status(
            400,
            body={
                "message": "No such column: updated_on",
                "errorCode": "query.soql.no-such-column",
                "data": {},
            },
        )
    )
    with pytest.raises(SocrataRequestError) as raised:
        ingest_once(settings, clock=clock)
    assert "No such column: updated_on (query.soql.no-such-column)" in str(raised.value)
    assert len(server.requests) == 1


def test_malformed_records_are_quarantined_with_reasons_and_counted(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """Bad records go to quarantine/ with a reason; the good ones land; the run succeeds."""
    dataset.upsert(
        [
            *base_rows()[:3],
            api_row(200, "2024-03-01T10:00:00.000", latitude="north-ish"),
            api_row(201, "2024-03-01T10:00:00.000", arrest="maybe"),
        ]
    )
    result = ingest_once(settings, clock=clock)

    assert [r["id"] for r in lake_rows(settings.data_dir)] == [100, 101, 102]
    assert result.totals.rows_quarantined == 2
    assert runs_table(settings)[0]["rows_quarantined"] == 2
    lines = (settings.layout.quarantine_dir / "run-000001.jsonl").read_text().splitlines()
    quarantined = {json.loads(line)["id"]: json.loads(line)["reason"] for line in lines}
    assert quarantined == {
        "200": "latitude: cannot parse north-ish",
        "201": "arrest: cannot parse maybe",
    }


def test_quarantined_upstream_version_does_not_delete_the_lake_copy(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """An id upstream still serves, but malformed, keeps its last good version in the lake."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    dataset.upsert([api_row(109, "2024-06-25T21:10:00.000", longitude="west")])

    result = ingest_once(settings, clock=clock)

    assert result.totals.rows_deleted == 0
    assert result.totals.rows_quarantined == 1
    assert 109 in read_lake(settings.data_dir).get_column("id").to_list()


def test_app_token_is_sent_as_a_header_only(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """The token rides in X-App-Token on every request and never in a URL."""
    dataset.upsert(base_rows())
    ingest_once(dataclasses.replace(settings, soda_app_token="s3cr3t-t0ken"), clock=clock)

    assert server.requests
    for request in server.requests:
        assert request.headers.get("x-app-token") == "s3cr3t-t0ken"
        assert "s3cr3t" not in request.path
        assert "s3cr3t" not in json.dumps(request.params)


def test_keyset_paging_orders_by_id_and_selects_only_lake_columns(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """Pages ask for `$order=id`, continue with `id > last` until an empty page, and select the
    lake's columns (a short page is no proof of the end: servers may cap pages)."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)

    pages = [r.params for r in server.requests if r.params.get("$order")]
    assert [p["$where"] for p in pages] == [
        "(date >= '2024-01-01T00:00:00')",
        "(date >= '2024-01-01T00:00:00') AND (id > 102)",
        "(date >= '2024-01-01T00:00:00') AND (id > 105)",
        "(date >= '2024-01-01T00:00:00') AND (id > 108)",
        "(date >= '2024-01-01T00:00:00') AND (id > 109)",
    ]
    assert {p["$order"] for p in pages} == {"id"}
    assert {p["$limit"] for p in pages} == {"3"}
    assert pages[0]["$select"].split(",") == [
        "id",
        "case_number",
        "date",
        "block",
        "iucr",
        "primary_type",
        "description",
        "location_description",
        "arrest",
        "domestic",
        "beat",
        "district",
        "ward",
        "community_area",
        "fbi_code",
        "latitude",
        "longitude",
        "updated_on",
    ]


def test_backfill_since_pulls_older_history_into_an_existing_lake(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """`--since` widens the window back to a date; the run is recorded as a backfill."""
    old = [api_row(1, "2003-05-05T05:05:00.000"), api_row(2, "2015-07-04T21:00:00.000")]
    dataset.upsert([*base_rows(), *old])
    ingest_once(settings, clock=clock)
    assert read_lake(settings.data_dir).height == 10

    result = ingest_once(settings, since=dt.date(2001, 1, 1), clock=clock)

    assert read_lake(settings.data_dir).height == 12
    assert result.window.start == dt.datetime(2001, 1, 1)
    assert runs_table(settings)[-1]["kind"] == "backfill"


def test_unreachable_api_fails_cleanly(settings: Settings) -> None:
    """Nothing listening on the port: retried, then a failed run naming SODA_BASE_URL."""
    unreachable = dataclasses.replace(settings, soda_base_url="http://127.0.0.1:9")
    with pytest.raises(SocrataUnavailableError, match="Check that SODA_BASE_URL is reachable"):
        ingest_once(unreachable, clock=clock)
    assert runs_table(unreachable)[-1]["status"] == "failed"
    assert not (unreachable.layout.lake_dir / "crimes").exists()


def ingest_twice(
    tmp_path: Path,
    *,
    geojson: Mapping[str, bytes] | None = None,
    tables: Mapping[str, bytes] | None = None,
) -> tuple[Settings, list[RecordedRequest]]:
    """Two successful runs against a portal with `base_rows` and these other datasets; the
    settings used and every request the portal received."""
    with SocrataServer(
        {"ijzp-q8t2": SocrataDataset(base_rows())}, geojson=geojson, tables=tables
    ) as server:
        config = Settings(
            soda_base_url=server.base_url,
            data_dir=tmp_path / "data",
            start_date=dt.date(2024, 1, 1),
        )
        ingest_once(config, clock=clock)
        ingest_once(config, clock=clock)
        return config, list(server.requests)


def test_community_area_boundaries_are_cached_after_a_run(tmp_path: Path) -> None:
    """A successful run caches the portal's community areas once; a fresh copy is not refetched."""
    areas = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"area_numbe": "32", "community": "LOOP"},
                "geometry": None,
            }
        ],
    }
    config, requests = ingest_twice(tmp_path, geojson={"igwz-8jzy": json.dumps(areas).encode()})
    geo_requests = [r for r in requests if r.path.endswith(".geojson")]
    cached = config.data_dir / "geo" / "community_areas.geojson"
    assert json.loads(cached.read_text()) == areas
    assert len(geo_requests) == 1


def acs_rows(year: str, areas: int, first: int = 1000) -> list[dict[str, str]]:
    """ACS rows as the portal sends them: one per area, residents as text."""
    return [
        {"acs_year": year, "community_area": f"AREA {n}", "total_population": f"{first + n}"}
        for n in range(1, areas + 1)
    ]


def test_residents_per_area_come_from_the_newest_complete_acs_year(tmp_path: Path) -> None:
    """Of 2019 (77 areas), 2023 (77, one as "1012.0") and 2024 (only 5 areas: incomplete),
    2023 is cached, by upper-case name; the request selects three fields only."""
    rows = [*acs_rows("2019", 77, first=5000), *acs_rows("2023", 77), *acs_rows("2024", 5)]
    rows[77 + 11]["total_population"] = "1012.0"
    rows[77 + 12]["total_population"] = "not a number"
    config, requests = ingest_twice(tmp_path, tables={"t68z-cikk": json.dumps(rows).encode()})
    asked = [r for r in requests if r.path == "/resource/t68z-cikk.json"]

    cached = json.loads((config.data_dir / "geo" / "population.json").read_text())
    expected = {f"AREA {n}": 1000 + n for n in range(1, 78) if n != 13}
    assert cached == {"acs_year": "2023", "source": "t68z-cikk", "residents": expected}
    assert len(asked) == 1
    assert asked[0].params["$select"] == "acs_year,community_area,total_population"


def test_an_acs_table_without_a_complete_year_is_refused() -> None:
    """69 areas are too few to rank 77: no document, an error naming the dataset."""
    with pytest.raises(SocrataError, match="t68z-cikk names no ACS year"):
        population_document(acs_rows("2023", 69))


def test_missing_boundaries_do_not_fail_the_run(
    dataset: SocrataDataset, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A portal without the boundaries and ACS datasets logs a warning for each; the run still
    succeeds."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    assert runs_table(settings)[-1]["status"] == "success"
    assert not (settings.data_dir / "geo" / "community_areas.geojson").exists()
    assert not (settings.data_dir / "geo" / "population.json").exists()
    assert "community-area boundaries not fetched" in caplog.text
    assert "community-area residents not fetched" in caplog.text
