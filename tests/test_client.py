"""The Socrata client in isolation (httpx.MockTransport), plus Retry-After against a real server."""

from __future__ import annotations

import time

import httpx
import pytest
import stamina

from chicrime.errors import SocrataRequestError, SocrataUnavailableError
from chicrime.ingest.client import (
    SocrataClient,
    _retry_after,
    _retry_wait,
    _TransientResponse,
    and_where,
    parse_count,
    parse_page,
    quote_literal,
)
from chicrime.ingest.records import STRUCTURE
from tests.conftest import api_row
from tests.socrata_server import Fault, SocrataDataset, SocrataServer


def client_for(handler: httpx.MockTransport) -> SocrataClient:
    return SocrataClient("http://portal.test", "ijzp-q8t2", transport=handler, retry_attempts=5)


def test_count_parses_the_string_count() -> None:
    """`count(*)` comes back as a string; the client returns an int."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[{"count": "314245"}]))
    with client_for(transport) as client:
        assert client.count("date >= '2024-01-01T00:00:00'") == 314245


def test_pages_follow_the_keyset_and_stop_on_an_empty_page() -> None:
    """Each page continues after the previous page's largest id; only an empty page ends the
    pull (a short one may be a server's cap)."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("$where"))
        pages = {None: ["1", "2"], "(id > 2)": ["5", "9"], "(id > 9)": ["11"], "(id > 11)": []}
        ids = pages[request.url.params.get("$where")]
        return httpx.Response(200, json=[{"id": i, "date": "2024-01-01T00:00:00.000"} for i in ids])

    with client_for(httpx.MockTransport(handler)) as client:
        pages = list(client.fetch_pages(None, page_limit=2, fields=("id", "date")))
    assert [p.get_column("id").to_list() for p in pages] == [["1", "2"], ["5", "9"], ["11"]]
    assert seen == [None, "(id > 2)", "(id > 9)", "(id > 11)"]


def test_full_page_without_a_larger_id_stops_with_an_error() -> None:
    """A server ignoring the keyset would loop forever; the client refuses instead."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[{"id": "7"}]))
    with client_for(transport) as client, pytest.raises(SocrataUnavailableError, match="stalled"):
        list(client.fetch_pages(None, page_limit=1, fields=("id",)))


def test_missing_keys_become_nulls_and_booleans_strings() -> None:
    """Socrata omits null keys; pages always carry every requested column."""
    bodies = [[{"id": "1", "arrest": True}], []]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=bodies.pop(0)))
    with client_for(transport) as client:
        (page,) = client.fetch_pages(None, page_limit=5, fields=("id", "arrest", "beat"))
    assert page.drop(STRUCTURE).to_dicts() == [{"id": "1", "arrest": "true", "beat": None}]


def test_client_error_is_not_retried_and_quotes_the_api() -> None:
    """A 403 fails on the first attempt with the API's message and a hint."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            403, json={"code": "forbidden", "error": True, "message": "Bad token"}
        )

    with (
        client_for(httpx.MockTransport(handler)) as client,
        pytest.raises(
            SocrataRequestError, match=r"HTTP 403: Bad token \(forbidden\)\. Check SODA_APP_TOKEN"
        ),
    ):
        client.count("1 = 1")
    assert len(calls) == 1


def test_non_json_error_body_is_quoted_as_text() -> None:
    """An HTML error page still yields a readable message."""
    transport = httpx.MockTransport(lambda request: httpx.Response(404, text="<h1>nope</h1>"))
    with client_for(transport) as client, pytest.raises(SocrataRequestError, match="<h1>nope</h1>"):
        client.count("1 = 1")


def test_truncated_json_is_retried() -> None:
    """A body that is not complete JSON counts as transient, like a dropped connection."""
    bodies = [b'[{"id": "1"', b'[{"id": "1"}]', b"[]"]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=bodies.pop(0)))
    with client_for(transport) as client:
        (page,) = client.fetch_pages(None, page_limit=5, fields=("id",))
    assert page.get_column("id").to_list() == ["1"]
    assert bodies == []


def test_retry_hook_uses_retry_after_when_given() -> None:
    """The backoff hook returns the server's wait; otherwise it lets stamina back off."""
    assert _retry_wait(_TransientResponse("429", retry_after=7.0)) == 7.0
    assert _retry_wait(_TransientResponse("503")) is True
    assert _retry_wait(httpx.ReadTimeout("slow")) is True
    assert _retry_wait(SocrataRequestError("400")) is False


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0", 0.0), ("1.5", 1.5), ("99999", 300.0), ("-4", 0.0), ("soon", None)],
)
def test_retry_after_is_read_in_seconds_and_capped(header: str, expected: float | None) -> None:
    """Retry-After seconds are honoured up to five minutes; other forms fall back to backoff."""
    assert _retry_after(httpx.Response(429, headers={"Retry-After": header})) == expected


def test_soql_helpers_quote_and_join() -> None:
    """String literals double embedded quotes; conditions are parenthesised and ANDed."""
    assert quote_literal("O'HARE") == "'O''HARE'"
    assert and_where("a > 1", None, "b = 'x'") == "(a > 1) AND (b = 'x')"


def test_retry_after_is_honoured_against_a_real_server() -> None:
    """With real waits on, a 429 with Retry-After: 1 delays the retry by about a second."""
    waits: list[float] = []
    stamina.set_testing(False)
    stamina.instrumentation.set_on_retry_hooks([lambda details: waits.append(details.wait_for)])
    try:
        dataset = SocrataDataset([api_row(1, "2024-01-01T00:00:00.000")])
        with SocrataServer({"ijzp-q8t2": dataset}) as server:
            server.faults.append(Fault.status(429, retry_after=1))
            started = time.monotonic()
            with SocrataClient(server.base_url, "ijzp-q8t2") as client:
                assert client.count("id > 0") == 1
            elapsed = time.monotonic() - started
    finally:
        stamina.instrumentation.set_on_retry_hooks(None)
    assert waits == [1.0]
    assert elapsed >= 1.0


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"{}", "an object"), (b"null", "null"), (b"12", "a number"), (b'"x"', "a text")],
)
def test_a_page_that_is_not_an_array_is_a_protocol_error(body: bytes, kind: str) -> None:
    """Reading `{}` as one all-null record would make the window look empty: it is refused."""
    with pytest.raises(_TransientResponse) as raised:
        parse_page(body, ("id", "date"))
    assert str(raised.value) == (
        f"the page is {kind} ({body.decode()}), not a JSON array of records"
    )


def test_misshapen_values_are_named_per_record_and_the_rest_kept() -> None:
    """Objects, arrays and non-object elements mark their record; numbers become their text."""
    body = (
        b'[{"id": "1", "block": {"a": 1}}, {"id": 2, "block": "X", "latitude": 41.5},'
        b' 7, {"id": "3", "block": ["a"]}]'
    )
    page = parse_page(body, ("id", "block", "latitude"))
    assert page.to_dicts() == [
        {
            "id": "1",
            "block": '{"a": 1}',
            "latitude": None,
            STRUCTURE: "block: an object where a single value belongs",
        },
        {"id": "2", "block": "X", "latitude": "41.5", STRUCTURE: None},
        {
            "id": None,
            "block": None,
            "latitude": None,
            STRUCTURE: "record: a number (7), not an object",
        },
        {
            "id": "3",
            "block": '["a"]',
            "latitude": None,
            STRUCTURE: "block: an array where a single value belongs",
        },
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b'[{"count": "314245"}]', 314245), (b'[{"count": 12}]', 12), (b'[{"n": " 7 "}]', 7)],
)
def test_count_replies_are_read_as_whole_numbers(body: bytes, expected: int) -> None:
    """The count may be text or a number, under any alias."""
    assert parse_count(body) == expected


@pytest.mark.parametrize(
    "body", [b'[{"count": "many"}]', b'[{"count": -1}]', b"[]", b'{"count": "3"}', b'[{"c": 1.5}]']
)
def test_count_replies_without_a_whole_number_are_protocol_errors(body: bytes) -> None:
    """A count that is not a whole number is retried like a truncated body, never a traceback."""
    with pytest.raises(_TransientResponse, match="holds no whole number"):
        parse_count(body)


def test_rows_with_unreadable_ids_are_skipped_by_offset_not_fetched_forever() -> None:
    """After a page ending in ids that cannot be read, the next page skips them by `$offset`.

    A page holding such an id is asked for twice (the same answer both times: a real record)."""
    seen: list[tuple[str | None, str | None]] = []
    served = {
        (None, None): [{"id": "1"}, {"id": "x"}],
        ("(id > 1)", "1"): [{"id": "y"}],
        ("(id > 1)", "2"): [{"id": "5"}],
        ("(id > 5)", None): [],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        key = (request.url.params.get("$where"), request.url.params.get("$offset"))
        seen.append(key)
        return httpx.Response(200, json=served[key])

    with client_for(httpx.MockTransport(handler)) as client:
        pages = list(client.fetch_pages(None, page_limit=2, fields=("id",)))
    assert [p.get_column("id").to_list() for p in pages] == [["1", "x"], ["y"], ["5"]]
    first, skip_one, skip_two, end = served
    assert seen == [first, first, skip_one, skip_one, skip_two, end]
