"""Behaviour of the fake Socrata server, exercised over real HTTP with httpx."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import polars as pl
import pytest

from tests.socrata_server import Fault, SocrataDataset, SocrataServer

DATASET = "ijzp-q8t2"
RESOURCE = f"/resource/{DATASET}.json"


def crime(crime_id: int, **values: object) -> dict[str, object]:
    """Return an API-shaped crime row with a few defaults, overridden by ``values``."""
    row: dict[str, object] = {
        "id": str(crime_id),
        "case_number": f"JH{crime_id:06d}",
        "date": f"2024-01-{crime_id % 28 + 1:02d}T12:00:00.000",
        "primary_type": "THEFT",
        "arrest": crime_id % 2 == 0,
        "domestic": False,
        "beat": "0421",
        "ward": str(crime_id % 50 + 1),
        "updated_on": "2024-05-01T00:00:00.000",
        "latitude": "41.87",
    }
    row.update(values)
    return {key: value for key, value in row.items() if value is not None}


@pytest.fixture
def dataset() -> SocrataDataset:
    """Forty rows with ids 1..40, one without a block and one with a quote in its block."""
    rows = [crime(i, block=f"0{i}XX W MADISON ST") for i in range(1, 41)]
    rows[6] = crime(7, block=None)
    rows[7] = crime(8, block="O'HARE AIRPORT")
    return SocrataDataset(rows)


@pytest.fixture
def server(dataset: SocrataDataset) -> Iterator[SocrataServer]:
    """A running server exposing ``dataset`` as ijzp-q8t2."""
    with SocrataServer({DATASET: dataset}, geojson={"igwz-8jzy": b'{"type":"x"}'}) as running:
        yield running


@pytest.fixture
def client(server: SocrataServer) -> Iterator[httpx.Client]:
    """An httpx client bound to ``server``."""
    with httpx.Client(base_url=server.base_url, timeout=5) as http_client:
        yield http_client


def ids(client: httpx.Client, **params: str) -> list[int]:
    """Return the ids of the rows a ``/resource`` query answers with, in response order."""
    response = client.get(RESOURCE, params={"$select": "id", **params})
    assert response.status_code == 200, response.text
    return [int(row["id"]) for row in response.json()]


def test_count_is_a_string(client: httpx.Client) -> None:
    """count(*) answers one object whose count is a string, keyed by the alias if given."""
    assert client.get(RESOURCE, params={"$select": "count(*)"}).json() == [{"count": "40"}]
    filtered = client.get(RESOURCE, params={"$select": "COUNT(*) AS n", "$where": "id > 30"})
    assert filtered.json() == [{"n": "10"}]


def test_rows_omit_null_keys_and_use_json_booleans(client: httpx.Client) -> None:
    """Values are strings, arrest/domestic are JSON booleans and null keys are absent."""
    (row,) = client.get(RESOURCE, params={"$where": "id = 7"}).json()
    assert row == {
        "id": "7",
        "case_number": "JH000007",
        "date": "2024-01-08T12:00:00.000",
        "primary_type": "THEFT",
        "arrest": False,
        "domestic": False,
        "beat": "0421",
        "ward": "8",
        "updated_on": "2024-05-01T00:00:00.000",
        "latitude": "41.87",
    }


def test_select_sets_fields_and_type_headers(client: httpx.Client) -> None:
    """$select picks and orders fields, including :id, and the SODA2 headers describe them."""
    response = client.get(RESOURCE, params={"$select": "arrest, :id,id", "$where": "id = 2"})
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert json.loads(response.headers["x-soda2-fields"]) == ["arrest", ":id", "id"]
    assert json.loads(response.headers["x-soda2-types"]) == ["checkbox", "meta_data", "number"]
    (row,) = response.json()
    assert list(row) == ["arrest", ":id", "id"]
    assert row["arrest"] is True
    assert row[":id"].startswith("row-")
    assert row[":id"].endswith("~2")


def test_system_id_only_when_selected(client: httpx.Client) -> None:
    """Rows carry :id only when $select asks for it, and :* adds it to every column."""
    assert ":id" not in client.get(RESOURCE, params={"$where": "id = 1"}).json()[0]
    (row,) = client.get(RESOURCE, params={"$select": ":*, *", "$where": "id = 1"}).json()
    assert list(row)[:3] == [":id", "id", "case_number"]


def test_where_compares_numbers_numerically(client: httpx.Client) -> None:
    """id 9 < 10 holds although '9' > '10' as text; quoted numbers are numbers too."""
    assert ids(client, **{"$where": "id < 10 AND id >= 9"}) == [9]
    assert ids(client, **{"$where": "id > '38'", "$order": "id"}) == [39, 40]
    assert ids(client, **{"$where": "ward >= 39.5", "$order": "id"}) == [39, 40]


def test_where_compares_timestamps_with_or_without_millis(client: httpx.Client) -> None:
    """Timestamp literals compare as instants whether or not they carry .000."""
    plain = ids(client, **{"$where": "date >= '2024-01-27T12:00:00'", "$order": "id"})
    millis = ids(client, **{"$where": "date >= '2024-01-27T12:00:00.000'", "$order": "id"})
    assert plain == millis == [26, 27]
    assert ids(client, **{"$where": "date > '2024-01-27T12:00:00.001'"}) == [27]


def test_where_in_list(client: httpx.Client) -> None:
    """IN (case-insensitive) matches any listed value, typed by the column."""
    assert ids(client, **{"$where": "id in (1, 2, 3, 99)", "$order": "id"}) == [1, 2, 3]
    assert ids(client, **{"$where": "case_number IN ('JH000004')"}) == [4]


def test_where_and_binds_tighter_than_or(client: httpx.Client) -> None:
    """AND binds tighter than OR and parentheses override it."""
    loose = {"$where": "id = 1 OR id = 4 and arrest = false", "$order": "id"}
    grouped = {"$where": "(id = 1 OR id = 4) AND arrest = true", "$order": "id"}
    assert ids(client, **loose) == [1]
    assert ids(client, **grouped) == [4]


def test_where_unescapes_doubled_quotes(client: httpx.Client) -> None:
    """'' inside a quoted literal stands for one single quote."""
    assert ids(client, **{"$where": "block = 'O''HARE AIRPORT'"}) == [8]


def test_where_is_null_and_is_not_null(client: httpx.Client) -> None:
    """IS NULL matches missing values and IS NOT NULL the others."""
    assert ids(client, **{"$where": "block IS NULL"}) == [7]
    assert len(ids(client, **{"$where": "block is not null"})) == 39


def test_keyset_paging_visits_every_row_once(client: httpx.Client) -> None:
    """$order=id with id > last visits every row exactly once, in id order."""
    seen: list[int] = []
    while True:
        where = f"id > {seen[-1]}" if seen else "id > 0"
        page = ids(client, **{"$where": where, "$order": "id", "$limit": "7"})
        if not page:
            break
        seen.extend(page)
    assert seen == list(range(1, 41))


def test_order_is_typed_and_supports_desc(client: httpx.Client) -> None:
    """$order sorts numbers and timestamps by value, honours DESC and breaks ties by later keys."""
    assert ids(client, **{"$order": "id DESC", "$limit": "3"}) == [40, 39, 38]
    assert ids(client, **{"$order": "ward desc", "$limit": "3"}) == [40, 39, 38]
    assert ids(client, **{"$order": "date, id desc", "$limit": "3"}) == [28, 29, 1]


def test_unordered_results_are_not_in_id_order(client: httpx.Client) -> None:
    """Without $order the rows come back shuffled, not in id order."""
    unordered = ids(client)
    assert sorted(unordered) == list(range(1, 41))
    assert unordered != sorted(unordered)


def test_limit_and_offset(client: httpx.Client) -> None:
    """$limit and $offset slice the ordered result."""
    assert ids(client, **{"$order": "id", "$limit": "2", "$offset": "5"}) == [6, 7]
    assert ids(client, **{"$order": "id", "$offset": "40"}) == []


@pytest.mark.parametrize(
    "params",
    [{"$select": "id,foo"}, {"$where": "foo = 'x'"}, {"$order": "foo desc"}],
)
def test_unknown_column_is_rejected(client: httpx.Client, params: dict[str, str]) -> None:
    """Naming an unknown column anywhere answers 400 no-such-column."""
    response = client.get(RESOURCE, params=params)
    assert response.status_code == 400
    assert response.json() == {
        "message": "No such column: foo",
        "errorCode": "query.soql.no-such-column",
        "data": {"column": "foo"},
    }


def test_unparsable_where_is_rejected(client: httpx.Client) -> None:
    """A malformed $where answers 400 invalid-soql naming the problem."""
    response = client.get(RESOURCE, params={"$where": "id >"})
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "query.soql.invalid-soql"
    assert body["message"] == "Expected a literal but the $where clause ended"


def test_literal_of_wrong_type_is_rejected(client: httpx.Client) -> None:
    """Comparing a text column with a bare number answers 400 type-mismatch."""
    response = client.get(RESOURCE, params={"$where": "beat = 421"})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "query.soql.type-mismatch"


def test_unknown_dataset_is_404(client: httpx.Client) -> None:
    """An unknown dataset id answers 404 with Socrata's not_found body."""
    response = client.get("/resource/abcd-1234.json")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "code": "not_found",
        "error": True,
        "message": "Dataset 'abcd-1234' was not found",
    }


def test_status_fault_sends_retry_after_once(server: SocrataServer, client: httpx.Client) -> None:
    """A status fault answers once with its code and Retry-After; the next request is normal."""
    server.faults.append(Fault.status(429, retry_after=3))
    throttled = client.get(RESOURCE, params={"$select": "count(*)"})
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "3"
    assert throttled.json()["message"] == "Too Many Requests"
    assert client.get(RESOURCE, params={"$select": "count(*)"}).json() == [{"count": "40"}]


def test_status_fault_202_says_processing(server: SocrataServer, client: httpx.Client) -> None:
    """A 202 fault answers Socrata's processing body."""
    server.faults.append(Fault.status(202))
    response = client.get(RESOURCE)
    assert (response.status_code, response.json()) == (202, {"message": "processing"})


def test_drop_fault_closes_without_response(server: SocrataServer, client: httpx.Client) -> None:
    """A drop fault closes the connection, so httpx raises; the server records no status."""
    server.faults.append(Fault.drop())
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(RESOURCE)
    assert server.requests[-1].status is None
    assert client.get(RESOURCE, params={"$select": "count(*)"}).status_code == 200


def test_truncate_fault_cuts_the_body(server: SocrataServer, client: httpx.Client) -> None:
    """A truncate fault promises the full length but delivers half, so the read fails."""
    server.faults.append(Fault.truncate())
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.get(RESOURCE, params={"$order": "id"})
    assert server.requests[-1].status == 200


def test_slow_fault_triggers_client_timeout(server: SocrataServer, client: httpx.Client) -> None:
    """A slow fault delays the answer past a short client timeout."""
    server.faults.append(Fault.slow(0.5))
    with pytest.raises(httpx.ReadTimeout):
        client.get(RESOURCE, timeout=0.05)


def test_on_request_sees_page_numbers_and_can_mutate(
    server: SocrataServer, dataset: SocrataDataset, client: httpx.Client
) -> None:
    """on_request gets 1-based page counts after each 200 and its mutations show next page."""
    pages: list[int] = []

    def hook(page: int) -> None:
        pages.append(page)
        if page == 1:
            dataset.upsert([crime(41), crime(2, primary_type="BATTERY")])

    server.on_request = hook
    first = client.get(RESOURCE, params={"$select": "count(*)"}).json()
    assert client.get("/resource/nope-nope.json").status_code == 404
    second = client.get(RESOURCE, params={"$select": "count(*)"}).json()
    assert (first, second, pages) == ([{"count": "40"}], [{"count": "41"}], [1, 2])
    assert ids(client, **{"$where": "primary_type = 'BATTERY'"}) == [2]


def test_requests_record_headers_and_params(server: SocrataServer, client: httpx.Client) -> None:
    """Every request is recorded with lower-cased headers, decoded params and status."""
    client.get(RESOURCE, params={"$limit": "5"}, headers={"X-App-Token": "s3cret"})
    record = server.requests[-1]
    assert (record.path, record.params, record.status) == (RESOURCE, {"$limit": "5"}, 200)
    assert record.headers["x-app-token"] == "s3cret"
    assert "s3cret" not in record.target
    assert server.time_in_handlers > 0


def test_mutations_are_served_and_listed(dataset: SocrataDataset, client: httpx.Client) -> None:
    """upsert replaces or inserts, delete removes, and both invalidate cached pages."""
    params = {"$where": "id <= 3", "$order": "id", "$select": "id,primary_type"}
    assert client.get(RESOURCE, params=params).json()[0] == {"id": "1", "primary_type": "THEFT"}
    dataset.upsert([{"id": "1", "primary_type": "ARSON"}, {"id": "0"}])
    dataset.delete([2, 999])
    assert client.get(RESOURCE, params=params).json() == [
        {"id": "0"},
        {"id": "1", "primary_type": "ARSON"},
        {"id": "3", "primary_type": "THEFT"},
    ]
    assert dataset.rows()[:2] == [{"id": "0"}, {"id": "1", "primary_type": "ARSON"}]
    assert len(dataset) == 40


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "1", "nope": "x"}, "unknown columns ['nope']"),
        ({"case_number": "x"}, "row without id"),
        ({"id": "x1"}, "every row needs an integer id"),
        ({"id": 1}, "column id must be a string or absent, got 1"),
        ({"id": "1", "arrest": 1}, "column arrest must be a boolean or a string"),
        ({"id": "1", "beat": True}, "column beat must be a string or absent, got True"),
    ],
)
def test_bad_rows_are_refused(row: dict[str, object], message: str) -> None:
    """Rows with unknown keys, missing or non-integer ids, or values of wrong type raise."""
    with pytest.raises(ValueError, match=re.escape(message)):
        SocrataDataset([row])


def test_malformed_values_are_served_verbatim(
    dataset: SocrataDataset, client: httpx.Client
) -> None:
    """Unparsable numbers and timestamps and strings in checkboxes are served as given."""
    bad = crime(41, latitude="north-ish", date="yesterday", arrest="maybe", domestic=None)
    dataset.upsert([bad])
    (row,) = client.get(RESOURCE, params={"$where": "id = 41"}).json()
    assert row == bad
    assert dataset.rows()[-1] == bad
    typed = "id = 41 AND (arrest IS NULL OR arrest = false OR latitude > 0 OR date > '2000-01-01')"
    assert ids(client, **{"$where": typed}) == []
    assert ids(client, **{"$where": "arrest IS NOT NULL AND domestic IS NULL"}) == [41]


def test_frame_columns_are_validated() -> None:
    """from_frame refuses unknown columns and columns of the wrong dtype."""
    with pytest.raises(ValueError, match="unknown columns"):
        SocrataDataset.from_frame(pl.DataFrame({"id": ["1"], "nope": ["x"]}))
    with pytest.raises(ValueError, match="column arrest must be"):
        SocrataDataset.from_frame(pl.DataFrame({"id": ["1"], "arrest": ["true"]}))


def test_big_frame_pages_cross_cache_chunks() -> None:
    """A frame-built dataset serves keyset pages across cache chunk boundaries exactly."""
    count = 70_000
    frame = pl.DataFrame(
        {"id": pl.int_range(1, count + 1, eager=True).cast(pl.String)}
    ).with_columns(pl.lit(True).alias("arrest"), pl.col("id").alias("beat"))
    big = SocrataDataset.from_frame(frame)
    with SocrataServer({DATASET: big}) as server, httpx.Client(base_url=server.base_url) as client:
        params = {
            "$where": "id > 50000",
            "$order": "id",
            "$limit": "20000",
            "$select": "id,beat,arrest",
        }
        for _ in range(2):
            rows = client.get(RESOURCE, params=params).json()
            assert [int(row["id"]) for row in rows] == list(range(50_001, 70_001))
            assert rows[-1] == {"id": "70000", "beat": "70000", "arrest": True}
        assert len(ids(client, **{"$limit": "500"})) == 500


def test_geojson_is_served_when_registered(client: httpx.Client) -> None:
    """A registered GeoJSON blob is served verbatim; other datasets answer 404."""
    response = client.get("/resource/igwz-8jzy.geojson")
    assert (response.status_code, response.content) == (200, b'{"type":"x"}')
    assert client.get(f"/resource/{DATASET}.geojson").status_code == 404
