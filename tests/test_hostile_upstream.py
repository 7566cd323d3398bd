"""Upstream answers that must never cost a row or move the watermark wrongly (loopback server)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from chicrime.errors import (
    IncompletePullError,
    MassDeletionError,
    SocrataRequestError,
    SocrataUnavailableError,
)
from chicrime.ingest.pipeline import ingest_once
from chicrime.settings import Settings
from chicrime.store.schema import RECORD_FIELDS
from tests.conftest import api_row, expected_lake, lake_rows
from tests.socrata_server import Fault, SocrataDataset, SocrataServer
from tests.test_ingest import base_rows, clock, ingest_state, lake_files, runs_table

ROW_FIELDS = ",".join(RECORD_FIELDS)


def committed(settings: Settings) -> tuple[dict[str, bytes], dict[str, object]]:
    """The lake's files and the ingest state, to compare before and after a failed run."""
    return lake_files(settings), ingest_state(settings)


@pytest.mark.parametrize("body", [b"{}", b"null", b'{"rows": []}', b"5", b'"done"'])
def test_a_page_that_is_not_an_array_fails_the_run_and_changes_nothing(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings, body: bytes
) -> None:
    """`{}`, `null` or a bare value as a data page is retried, then fails the run."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    before = committed(settings)
    # Both counts (window and corrections), then the first data page and every retry of it.
    server.faults.extend([Fault.slow(0), Fault.slow(0)])
    server.faults.extend(Fault.status(200, body=body) for _ in range(5))

    with pytest.raises(SocrataUnavailableError, match="not a JSON array of records"):
        ingest_once(settings, clock=clock)

    assert committed(settings) == before
    failed = runs_table(settings)[-1]
    assert failed["status"] == "failed"
    assert "gave up after 5 attempt(s)" in str(failed["error"])
    assert len(lake_rows(settings.data_dir)) == 10


def test_a_non_array_page_once_is_retried_and_the_run_succeeds(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """One `{}` page among good ones is a transient protocol error: the retry gets the rows."""
    dataset.upsert(base_rows())
    server.faults.extend([Fault.slow(0), Fault.status(200, body=b"{}")])

    result = ingest_once(settings, clock=clock)

    assert lake_rows(settings.data_dir) == expected_lake(base_rows())
    assert result.totals.rows_deleted == 0


def test_pages_capped_below_the_limit_still_pull_every_row(tmp_path: object) -> None:
    """A server serving 2 rows where 50 were asked keeps being paged until an empty page."""
    dataset = SocrataDataset(base_rows())
    with SocrataServer({"ijzp-q8t2": dataset}, max_page_rows=2) as server:
        settings = Settings(
            soda_base_url=server.base_url,
            data_dir=tmp_path / "data",  # type: ignore[operator]
            start_date=dt.date(2024, 1, 1),
            page_limit=50,
        )
        result = ingest_once(settings, clock=clock)
        pages = [r for r in server.requests if r.params.get("$order") == "id"]

    assert lake_rows(settings.data_dir) == expected_lake(base_rows())
    assert result.totals.rows_fetched == 10
    assert len(pages) == 6  # five pages of two rows, then the empty page that ends the pull


def test_an_empty_page_before_the_counted_end_fails_the_run(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """A proxy that cuts the pull short (an early empty page) fails the run: nothing deleted."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    before = committed(settings)
    dataset.upsert([api_row(110 + i, "2024-06-29T10:00:00.000") for i in range(3)])
    # Both counts, one page of 3 window rows, then an empty page where 3 more rows were due.
    server.faults.extend([Fault.slow(0)] * 3 + [Fault.status(200, body=b"[]")])

    with pytest.raises(IncompletePullError) as raised:
        ingest_once(settings, clock=clock)

    assert str(raised.value) == (
        "upstream counted 6 rows for `date >= '2024-06-14T00:00:00'` but sent only 3 "
        "(a recount says 6): a server or proxy cut the pull short. Nothing was changed; the "
        "next run pulls the window again."
    )
    assert committed(settings) == before
    assert runs_table(settings)[-1]["status"] == "failed"


def test_rows_deleted_upstream_during_the_pull_are_churn_not_a_failure(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """Fewer rows than counted, explained by a recount after the pull, succeed with a warning."""
    dataset.upsert(base_rows())

    def delete_ahead(page_number: int) -> None:
        if page_number == 2:  # after the count and the first page: rows not yet fetched vanish
            dataset.delete([108, 109])

    server.on_request = delete_ahead
    result = ingest_once(settings, clock=clock)

    assert result.totals.rows_fetched == 8
    assert [r["id"] for r in lake_rows(settings.data_dir)] == list(range(100, 108))
    assert runs_table(settings)[-1]["status"] == "success"


def june_rows(count: int) -> list[dict[str, object]]:
    """`count` records dated inside the second run's window (from 2024-06-14)."""
    return [api_row(1000 + i, f"2024-06-{15 + i % 14:02d}T10:00:00.000") for i in range(count)]


def test_an_empty_window_upstream_cannot_delete_the_lake(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """Upstream consistently answering "no rows" would delete the whole window: refused."""
    dataset.upsert(june_rows(60))
    ingest_once(settings, clock=clock)
    before = committed(settings)
    dataset.delete(range(1000, 1060))

    with pytest.raises(MassDeletionError) as raised:
        ingest_once(settings, clock=clock)

    assert str(raised.value) == (
        "upstream no longer has 60 of the 60 lake rows dated from 2024-06-14, more than "
        "MAX_DELETE_PERCENT=5 allows (20); a broken upstream is more likely than real "
        "deletions. Nothing was deleted or changed. If upstream really removed them, run once "
        "with MAX_DELETE_PERCENT=100."
    )
    assert committed(settings) == before
    assert runs_table(settings)[-1]["status"] == "failed"


def test_the_deletion_guard_lets_a_plausible_share_through_and_can_be_lifted(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """Deletions up to the limit apply; beyond it they are refused until the setting allows."""
    dataset.upsert(june_rows(60))
    ingest_once(settings, clock=clock)
    dataset.delete(range(1000, 1020))  # 20: the floor, applied
    assert ingest_once(settings, clock=clock).totals.rows_deleted == 20
    dataset.delete(range(1020, 1050))  # 30 of the remaining 40: refused at 5 %
    with pytest.raises(MassDeletionError):
        ingest_once(settings, clock=clock)
    assert len(lake_rows(settings.data_dir)) == 40

    lifted = ingest_once(dataclasses.replace(settings, max_delete_percent=100), clock=clock)

    assert lifted.totals.rows_deleted == 30
    assert [r["id"] for r in lake_rows(settings.data_dir)] == list(range(1050, 1060))


def test_a_record_dated_in_the_future_is_kept_but_caps_the_watermark(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """A 2099 record lands in the lake; the watermark stops at now in Chicago + 1 day."""
    future = api_row(500, "2099-01-01T00:00:00.000", updated_on="2099-01-02T00:00:00.000")
    dataset.upsert([*base_rows(), future])

    result = ingest_once(settings, clock=clock)

    assert 500 in {r["id"] for r in lake_rows(settings.data_dir)}
    # clock() is 2024-07-01 12:00 UTC, 07:00 in Chicago; plus one day.
    assert result.watermark_after == dt.datetime(2024, 7, 2, 7, 0)
    state = ingest_state(settings)
    assert state["watermark_max_date"] == "2024-07-02T07:00:00"
    assert state["watermark_max_updated_on"] == "2024-07-02T07:00:00"
    second = ingest_once(settings, clock=clock)
    assert second.window.start == dt.datetime(2024, 6, 18)
    assert second.window.updated_since == dt.datetime(2024, 6, 30, 7, 0)


def test_one_object_value_quarantines_one_row_not_the_page(
    dataset: SocrataDataset, settings: Settings
) -> None:
    """An object, an array, an oversized id: each quarantines its row with the field named."""
    dataset.upsert(base_rows())
    dataset.set_raw_value(103, "id", "99999999999999999999")
    dataset.set_raw_value(102, "block", {"street": "MADISON"})
    dataset.set_raw_value(104, "latitude", [41.8, 41.9])
    dataset.set_raw_value(105, "arrest", {"value": True})

    result = ingest_once(settings, clock=clock)

    assert [r["id"] for r in lake_rows(settings.data_dir)] == [100, 101, 106, 107, 108, 109]
    assert result.totals.rows_quarantined == 4
    lines = (settings.layout.quarantine_dir / "run-000001.jsonl").read_text().splitlines()
    reasons = {json.loads(line)["id"]: json.loads(line)["reason"] for line in lines}
    assert reasons == {
        "102": "block: an object where a single value belongs",
        "104": "latitude: an array where a single value belongs",
        "105": "arrest: an object where a single value belongs",
        "99999999999999999999": "id: cannot parse 99999999999999999999",
    }


def test_a_record_without_a_usable_id_blocks_deletions_for_the_run(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """A window row whose id cannot be read could be any missing id: nothing is deleted."""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    dataset.delete([108])
    dataset.set_raw_value(109, "id", {"n": 109})

    result = ingest_once(settings, clock=clock)

    assert result.totals.rows_deleted == 0
    assert {r["id"] for r in lake_rows(settings.data_dir)} >= {108, 109}


def test_a_garbled_page_in_place_of_a_real_one_loses_no_record(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """A page answered with a record that has no id (a proxy's garbage, say) is asked for
    again: the real page's records arrive, and nothing is quarantined."""
    dataset.upsert(base_rows())
    page_limit_one = dataclasses.replace(settings, page_limit=1)
    # The count answers normally; the first data page is replaced by an id-less record.
    server.faults.extend([Fault.slow(0), Fault.status(200, body=[{"count": "many"}])])

    result = ingest_once(page_limit_one, clock=clock)
    pages = [r for r in server.requests if r.params.get("$order") == "id"]

    assert lake_rows(settings.data_dir) == expected_lake(base_rows())
    assert result.totals.rows_quarantined == 0
    assert len(pages) == 12  # the garbled page, its repeat, ten rows, the empty page


def test_the_same_garbled_page_served_twice_loses_no_record(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """A garbled page shaped like a record (only selected fields) answered identically twice
    passes for a real id-less record and paging steps over a real row with it; listing the
    ids finds that row, fetched by id. (Found by the fault-schedule property.)"""
    dataset.upsert(base_rows())
    garbled = Fault.status(200, body=[{"id": "many"}])
    # The count, the first page answered, then the second page garbled twice.
    server.faults.extend([Fault.slow(0)] * 2 + [garbled, garbled])

    result = ingest_once(dataclasses.replace(settings, page_limit=4), clock=clock)
    by_id = [r.params for r in server.requests if "id in" in r.params.get("$where", "")]

    assert lake_rows(settings.data_dir) == expected_lake(base_rows())
    assert result.totals.rows_quarantined == 1  # the garbage, kept in quarantine
    assert [(p.get("$select"), p["$where"]) for p in by_id] == [
        ("count(*)", "id in (104)"),
        (ROW_FIELDS, "(id in (104))"),
        (ROW_FIELDS, "(id in (104)) AND (id > 104)"),
    ]


def test_a_page_with_fields_not_selected_is_no_answer_however_often_it_is_served(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """Upstream sends only the fields a query selects: a page with others (here a count reply
    where records belong) is asked for again, not read as an id-less record, for rows and ids
    alike. (Found by the fault-schedule property: garbled twice as a page, then twice as the
    list of ids, it made the one real record vanish.)"""
    dataset.upsert(base_rows())
    garbled = Fault.status(200, body=[{"count": "many"}])
    # The count answers; the first page is garbled three times, then answered.
    server.faults.extend([Fault.slow(0), garbled, garbled, garbled])

    result = ingest_once(dataclasses.replace(settings, page_limit=4), clock=clock)
    pages = [r for r in server.requests if r.params.get("$order") == "id"]

    assert lake_rows(settings.data_dir) == expected_lake(base_rows())
    assert result.totals.rows_quarantined == 0
    assert len(pages) == 7  # the first page four times, two more, the empty one


def test_a_garbled_page_the_id_list_contradicts_does_not_block_a_deletion(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """A record deleted upstream leaves the lake even when a garbled page (served twice) made
    the pull look like it held an id-less record: the ids alone, listed afresh, are all
    readable. (Found by the fault-schedule property.)"""
    dataset.upsert(base_rows())
    ingest_once(settings, clock=clock)
    dataset.delete([108])
    garbled = Fault.status(200, body=[{"count": "many"}])
    server.faults.extend([Fault.slow(0)] * 2 + [garbled, garbled])

    result = ingest_once(dataclasses.replace(settings, page_limit=4), clock=clock)

    assert lake_rows(settings.data_dir) == expected_lake(
        [row for row in base_rows() if row["id"] != "108"]
    )
    assert result.totals.rows_deleted == 1


def test_a_record_upstream_really_has_without_an_id_is_asked_for_twice_then_quarantined(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """An id-less record upstream serves every time is a real one: quarantined, the rest kept."""
    dataset.upsert(base_rows())
    dataset.set_raw_value(104, "id", "not-a-number")

    result = ingest_once(dataclasses.replace(settings, page_limit=4), clock=clock)
    pages = [r for r in server.requests if r.params.get("$order") == "id"]
    listing = [r for r in pages if r.params["$select"] == "id"]
    rows = [r for r in pages if r not in listing]

    assert result.totals.rows_quarantined == 1
    assert [r["id"] for r in lake_rows(settings.data_dir)] == [
        i for i in range(100, 110) if i != 104
    ]
    assert len(rows) == 5  # 3 pages of ids, the one holding "not-a-number" twice, the empty one
    assert len(listing) == 5  # the same pages of ids alone: nothing was stepped over


@pytest.mark.parametrize(
    "body", [[{"count": "many"}], [{"count": -4}], [], {"count": "3"}, [{"count": None}]]
)
def test_a_count_reply_that_is_not_a_number_fails_cleanly(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings, body: object
) -> None:
    """A non-numeric count is retried like any protocol error, then a failed run, one line."""
    dataset.upsert(base_rows())
    server.faults.extend(Fault.status(200, body=body) for _ in range(5))

    with pytest.raises(SocrataUnavailableError) as raised:
        ingest_once(settings, clock=clock)

    message = str(raised.value)
    assert "holds no whole number" in message
    assert "\n" not in message
    assert runs_table(settings)[-1]["status"] == "failed"


def test_an_echoed_app_token_is_masked_in_the_error_and_the_run_history(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """A 403 that quotes the token back never puts the token in the error or `runs.error`."""
    token = "s3cr3t-T0KEN-abc"
    server.faults.append(Fault.echo_token(403))
    with pytest.raises(SocrataRequestError) as raised:
        ingest_once(dataclasses.replace(settings, soda_app_token=token), clock=clock)

    assert token not in str(raised.value)
    assert "Invalid app token [redacted] (forbidden)" in str(raised.value)
    error = str(runs_table(settings)[-1]["error"])
    assert token not in error
    assert "Invalid app token [redacted]" in error


def test_multi_line_upstream_messages_are_stored_on_one_line(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """An error body spanning lines becomes one line in the exception and in `runs.error`."""
    server.faults.append(
        Fault.status(400, body={"message": "bad\nquery\r\nhere", "errorCode": "query.x"})
    )
    with pytest.raises(SocrataRequestError) as raised:
        ingest_once(settings, clock=clock)
    assert "bad query here (query.x)" in str(raised.value)
    assert "\n" not in str(runs_table(settings)[-1]["error"])


def test_a_list_of_ids_cut_short_after_a_stepped_over_row_fails_the_run(
    dataset: SocrataDataset, server: SocrataServer, settings: Settings
) -> None:
    """When paging stepped over a row, the list of ids must be whole to find it: an empty list
    where upstream counts ten rows fails the run and changes nothing. (Found by the
    fault-schedule property.)"""
    dataset.upsert(base_rows())
    garbled = Fault.status(200, body=[{"id": "many"}])
    # The count; the first page garbled twice; four more pages; the list of ids empty.
    server.faults.extend([Fault.slow(0), garbled, garbled, *[Fault.slow(0)] * 4])
    server.faults.append(Fault.status(200, body=[]))

    with pytest.raises(IncompletePullError, match="listed only 0 ids"):
        ingest_once(dataclasses.replace(settings, page_limit=4), clock=clock)
    listing = [r for r in server.requests if r.params.get("$select") == "id"]

    assert len(listing) == 1
    assert lake_rows(settings.data_dir) == []
