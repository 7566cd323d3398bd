"""The Socrata SODA client: counts, keyset-paged row pulls, retries.

Requests go to `{base_url}/resource/{dataset_id}.json`. Pages are ordered by the unique numeric
`id` and continue with `id > last_id` until a page comes back empty: a short page proves nothing,
since servers and proxies may cap a page below the `$limit` asked for. Rows inserted, updated or
deleted upstream while a pull is under way never shift a page boundary (offset paging would skip
or repeat rows). Throttling, 5xx, 202, timeouts, dropped connections, truncated bodies and
answers of the wrong shape (a page that is not a JSON array, a count that is not a number) are
retried with exponential backoff, honouring `Retry-After`; a 4xx fails at once, quoting the API's
own message. The app token travels only in a header and is masked in every message.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import TypeVar

import httpx
import polars as pl
import stamina

from chicrime import __version__
from chicrime.errors import SocrataRequestError, SocrataUnavailableError
from chicrime.ingest.records import STRUCTURE
from chicrime.redaction import Redactor
from chicrime.store.schema import RECORD_FIELDS

__all__ = ["SocrataClient", "and_where", "quote_literal"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_RETRIED_STATUSES = frozenset({202, 408, 429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 300.0
_SNIPPET = 80  # characters of an unexpected value quoted in a message


class _TransientResponse(Exception):
    """A response worth asking for again; carries the server's `Retry-After`, if any."""

    def __init__(self, description: str, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.retry_after = retry_after


def _retry_wait(exc: Exception) -> bool | float:
    """stamina hook: retry transient failures; wait what the server asked for when it asked."""
    if isinstance(exc, _TransientResponse):
        return exc.retry_after if exc.retry_after is not None else True
    return isinstance(exc, httpx.TransportError)


def _retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (capped), or None when absent or not a number of seconds."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER)
    except ValueError:
        return None


def _error_message(response: httpx.Response) -> str:
    """The API's own words for a failed request: `message` plus `errorCode`/`code`, or the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    code = body.get("errorCode") or body.get("code")
    message = str(body.get("message") or body)[:300]
    return f"{message} ({code})" if code else message


def _snippet(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def _kind(value: object) -> str:
    """How JSON calls `value`'s type, with an article: "an object", "a number"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    return "an array" if isinstance(value, list) else "an object"


def parse_count(body: bytes) -> int:
    """The number in a `count(*)` reply (`[{"count": "314245"}]`).

    Raises `_TransientResponse` for any other shape or a value that is not a whole number.
    """
    try:
        rows = json.loads(body)
    except ValueError as exc:
        raise _TransientResponse(f"unreadable JSON count reply ({exc})") from exc
    value: object = None
    if isinstance(rows, list) and len(rows) == 1 and isinstance(rows[0], dict) and rows[0]:
        value = next(iter(rows[0].values()))
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.isdigit():
        return int(text)
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return text
    raise _TransientResponse(f"the count reply {_snippet(rows)} holds no whole number")


def parse_page(body: bytes, fields: Sequence[str]) -> pl.DataFrame:
    """A page of records as string columns `fields`, plus `STRUCTURE` naming misshapen values.

    The body must be a JSON array; anything else (`{}`, `null`, a number) raises
    `_TransientResponse`, because reading it as records would make the window look empty.
    Values are kept as the API's text (numbers and booleans as their JSON text). A value that is
    an object or an array, or an element that is not an object, becomes a row whose
    `STRUCTURE` says which field is wrong, so normalisation quarantines that row alone. A page
    with a record whose `id` cannot be read is checked for fields the query did not select:
    upstream never sends one, so such a page is a garbled answer (a proxy's, say) standing in
    for real records, and raises `_TransientResponse` rather than pass for an id-less record.
    """
    if body.lstrip()[:1] != b"[":
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise _TransientResponse(f"unreadable JSON page ({exc})") from exc
        raise _TransientResponse(
            f"the page is {_kind(document)} ({_snippet(document)}), not a JSON array of records"
        )
    schema = {name: pl.String for name in fields}
    try:
        page = pl.read_json(io.BytesIO(body), schema=schema)
        if "id" not in schema or page.get_column("id").null_count() == 0:
            return page.with_columns(pl.lit(None, pl.String).alias(STRUCTURE))
    except pl.exceptions.PolarsError:
        pass  # the fast reader refuses misshapen values: sort them out one record at a time
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise _TransientResponse(f"unreadable JSON page ({exc})") from exc
    if not isinstance(document, list):
        raise _TransientResponse(f"the page is {_kind(document)}, not a JSON array of records")
    for element in document:
        if isinstance(element, dict) and not set(element) <= set(fields):
            raise _TransientResponse(
                f"a record holds fields the query did not select ({_snippet(element)}): "
                "not an answer to it"
            )
    records = [_record(element, fields) for element in document]
    return pl.DataFrame(records, schema={**schema, STRUCTURE: pl.String}, orient="row")


def _record(element: object, fields: Sequence[str]) -> list[str | None]:
    """One array element as text values of `fields` and a trailing structure problem (or None)."""
    if not isinstance(element, dict):
        problem = f"record: {_kind(element)} ({_snippet(element)}), not an object"
        return [*([None] * len(fields)), problem]
    values: list[str | None] = []
    problems: list[str] = []
    for name in fields:
        value = element.get(name)
        if value is None or isinstance(value, str):
            values.append(value)
            continue
        if isinstance(value, dict | list):
            problems.append(f"{name}: {_kind(value)} where a single value belongs")
        values.append(json.dumps(value))
    return [*values, "; ".join(problems) or None]


def quote_literal(value: str) -> str:
    """A SoQL string literal: single quotes, embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def and_where(*clauses: str | None) -> str:
    """Join SoQL conditions with AND, each parenthesised; None entries are skipped."""
    return " AND ".join(f"({c})" for c in clauses if c)


class SocrataClient:
    """A connection to one dataset on one portal. Use as a context manager or call `close()`."""

    def __init__(
        self,
        base_url: str,
        dataset_id: str,
        *,
        app_token: str | None = None,
        timeout: float = 60.0,
        retry_attempts: int = 8,
        retry_max_seconds: float = 600.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": f"chicrime/{__version__}"}
        if app_token:
            headers["X-App-Token"] = app_token
        self._redact = Redactor([app_token])
        self.base_url = base_url
        self.resource_url = f"{base_url}/resource/{dataset_id}.json"
        self._retry_attempts = retry_attempts
        self._retry_max_seconds = retry_max_seconds
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> SocrataClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def count(self, where: str | None) -> int:
        """How many rows match `where` (all without one; the API counts); raises like
        `fetch_pages`."""
        params = {"$select": "count(*)"} | ({"$where": where} if where else {})
        return self._request(params, parse_count)

    def fetch_pages(
        self, where: str | None, page_limit: int, fields: Sequence[str] = RECORD_FIELDS
    ) -> Iterator[pl.DataFrame]:
        """Yield every row matching `where` once, as pages of raw string columns in `id` order.

        Each page has the columns `fields` plus `STRUCTURE` (see `parse_page`). Paging is keyset
        on `id` and ends with the first empty page. If retries run out,
        `SocrataUnavailableError` is raised; a 4xx raises `SocrataRequestError`. Pages yielded
        before a failure stay valid.
        """
        select = ",".join(fields)
        last_id: int | None = None
        skip = 0  # rows after `last_id` already received whose own id could not be read
        while True:
            keyset = None if last_id is None else f"id > {last_id}"
            params = {"$select": select, "$order": "id", "$limit": str(page_limit)}
            condition = and_where(where, keyset)
            if condition:
                params["$where"] = condition
            if skip:
                params["$offset"] = str(skip)
            page = self._settled_page(params, fields)
            if page.is_empty():
                return
            last_id, skip = self._next_keyset(page, last_id, skip)
            yield page

    def ids(
        self,
        where: str | None,
        page_limit: int,
        advance: Callable[[int], object] = lambda _rows: None,
    ) -> pl.Series:
        """The ids of every row matching `where` (all without one), ascending, null where one
        cannot be read; `advance` is told each page's size. Raises like `fetch_pages`."""
        pages = []
        for page in self.fetch_pages(where, page_limit, fields=("id",)):
            pages.append(page.get_column("id").cast(pl.Int64, strict=False))
            advance(page.height)
        return pl.concat([pl.Series("id", [], pl.Int64), *pages])

    def _settled_page(self, params: dict[str, str], fields: Sequence[str]) -> pl.DataFrame:
        """A page; one holding a record whose id cannot be read is asked for again until two
        answers agree. A garbled answer (a proxy's, say) in place of the real page would
        otherwise pass for a record upstream really has, and paging would step over the real
        one. Raises `SocrataUnavailableError` when the answers keep changing.
        """

        def fetch() -> pl.DataFrame:
            return self._request(params, lambda body: parse_page(body, fields))

        page = fetch()
        for _ in range(self._retry_attempts):
            if page.get_column("id").cast(pl.Int64, strict=False).null_count() == 0:
                return page
            again = fetch()
            if again.equals(page):
                return page
            page = again
        raise SocrataUnavailableError(
            f"{self.resource_url}: a page holding a record without a readable id changed with "
            f"each of {self._retry_attempts} requests; the next run asks again"
        )

    def _next_keyset(
        self, page: pl.DataFrame, last_id: int | None, skip: int
    ) -> tuple[int | None, int]:
        """Where the next page starts: after the page's last readable id, skipping the rows
        after it whose id could not be read (they have been received, and quarantined).

        Raises `SocrataUnavailableError` when the ids do not ascend: the API ignored the order.
        """
        ids = page.get_column("id").cast(pl.Int64, strict=False)
        readable = ids.drop_nulls()
        if readable.is_empty():
            return last_id, skip + page.height
        newest = readable[-1]
        if not readable.is_sorted() or (last_id is not None and readable[0] <= last_id):
            raise SocrataUnavailableError(
                f"{self.resource_url}: paging stalled after id {last_id}: the API returned ids "
                "out of order despite $order=id"
            )
        trailing = page.height - 1 - int(ids.is_not_null().arg_true()[-1])
        return int(newest), trailing

    def geojson(self, dataset_id: str) -> dict[str, object]:
        """Another dataset of the same portal as GeoJSON (e.g. boundaries); raises like `count`."""

        def parse(body: bytes) -> dict[str, object]:
            try:
                document = json.loads(body)
            except ValueError as exc:
                raise _TransientResponse(f"unreadable JSON ({exc})") from exc
            if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
                raise _TransientResponse(f"{dataset_id}.geojson is not a FeatureCollection")
            return document

        return self._request({}, parse, f"{self.base_url}/resource/{dataset_id}.geojson")

    def table(self, dataset_id: str, fields: Sequence[str], limit: int) -> list[dict[str, object]]:
        """Up to `limit` rows of another, small dataset of the same portal (e.g. a reference
        table), with only `fields`; raises like `count`."""

        def parse(body: bytes) -> list[dict[str, object]]:
            try:
                rows = json.loads(body)
            except ValueError as exc:
                raise _TransientResponse(f"unreadable JSON ({exc})") from exc
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise _TransientResponse(f"{dataset_id}.json is not a list of rows")
            return rows

        params = {"$select": ",".join(fields), "$limit": str(limit)}
        return self._request(params, parse, f"{self.base_url}/resource/{dataset_id}.json")

    def _request(
        self, params: dict[str, str], parse: Callable[[bytes], T], url: str | None = None
    ) -> T:
        """GET with params and parse the body, retrying transient failures within the budget."""
        target = url or self.resource_url
        attempts = 0

        @stamina.retry(
            on=_retry_wait,
            attempts=self._retry_attempts,
            timeout=self._retry_max_seconds,
            wait_initial=1.0,
            wait_max=60.0,
        )
        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            response = self._http.get(target, params=params)
            self._check_status(response)
            try:
                return parse(response.content)
            except _TransientResponse as exc:
                raise _TransientResponse(self._redact.line(str(exc))) from None

        try:
            return attempt()
        except (httpx.TransportError, _TransientResponse) as exc:
            raise SocrataUnavailableError(
                self._redact.line(
                    f"{target} kept failing, gave up after {attempts} attempt(s): "
                    f"{exc or type(exc).__name__}. Check that SODA_BASE_URL is reachable; "
                    "set SODA_APP_TOKEN if the API is throttling (HTTP 429)."
                )
            ) from exc

    def _check_status(self, response: httpx.Response) -> None:
        """Raise a retryable error for transient statuses and `SocrataRequestError` for the rest."""
        status = response.status_code
        if status == 200:
            return
        if status in _RETRIED_STATUSES:
            raise _TransientResponse(
                self._redact.line(f"HTTP {status}: {_error_message(response)}"),
                _retry_after(response),
            )
        hint = _HINTS.get(status, "Check SODA_BASE_URL and CHI_CRIME_DATASET_ID.")
        url = response.request.url.copy_with(query=None)
        raise SocrataRequestError(
            self._redact.line(f"{url} answered HTTP {status}: {_error_message(response)}. {hint}")
        )


_HINTS = {
    400: "The query was rejected: the dataset may not have the columns chicrime needs "
    "(check CHI_CRIME_DATASET_ID).",
    401: "Check SODA_APP_TOKEN.",
    403: "Check SODA_APP_TOKEN.",
    404: "Check CHI_CRIME_DATASET_ID and SODA_BASE_URL.",
}
