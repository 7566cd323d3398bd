"""The Socrata SODA client: counts, keyset-paged row pulls, retries.

Requests go to `{base_url}/resource/{dataset_id}.json`. Pages are ordered by the unique numeric
`id` and continue with `id > last_id`, so rows inserted, updated or deleted upstream while a pull
is under way never shift a page boundary (offset paging would skip or repeat rows). Throttling,
5xx, 202, timeouts, dropped connections and truncated bodies are retried with exponential
backoff, honouring `Retry-After`; a 4xx fails at once, quoting the API's own message.
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
from chicrime.ingest.schema import API_FIELDS

__all__ = ["SocrataClient", "and_where", "quote_literal"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_RETRIED_STATUSES = frozenset({202, 408, 429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 300.0


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
    message = str(body.get("message") or body)
    return f"{message} ({code})" if code else message


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

    def count(self, where: str) -> int:
        """How many rows match `where` (the API counts); raises like `fetch_pages`."""
        rows = self._get_json({"$select": "count(*)", "$where": where})
        if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
            raise SocrataUnavailableError(f"{self.resource_url}: unexpected count reply {rows!r}")
        return int(next(iter(rows[0].values()), 0))

    def fetch_pages(
        self, where: str | None, page_limit: int, fields: Sequence[str] = API_FIELDS
    ) -> Iterator[pl.DataFrame]:
        """Yield every row matching `where` once, as pages of raw string columns in `id` order.

        Paging is keyset on `id`. If retries run out, `SocrataUnavailableError` is raised; a 4xx
        raises `SocrataRequestError`. Pages yielded before a failure stay valid.
        """
        select = ",".join(fields)
        last_id: int | None = None
        while True:
            keyset = None if last_id is None else f"id > {last_id}"
            params = {"$select": select, "$order": "id", "$limit": str(page_limit)}
            condition = and_where(where, keyset)
            if condition:
                params["$where"] = condition
            page = self._get_page(params, fields)
            if page.height:
                yield page
            if page.height < page_limit:
                return
            page_max = page.get_column("id").cast(pl.Int64, strict=False).max()
            if not isinstance(page_max, int) or (last_id is not None and page_max <= last_id):
                raise SocrataUnavailableError(
                    f"{self.resource_url}: paging stalled after id {last_id}: the API returned a "
                    "full page without a larger numeric id"
                )
            last_id = page_max

    def _get_page(self, params: dict[str, str], fields: Sequence[str]) -> pl.DataFrame:
        schema = {name: pl.String for name in fields}

        def parse(body: bytes) -> pl.DataFrame:
            try:
                return pl.read_json(io.BytesIO(body), schema=schema)
            except pl.exceptions.PolarsError as exc:
                raise _TransientResponse(f"unreadable JSON page ({exc})") from exc

        return self._request(params, parse)

    def geojson(self, dataset_id: str) -> dict[str, object]:
        """Another dataset of the same portal as GeoJSON (e.g. boundaries); raises like `count`."""
        document = self._get_json({}, f"{self.base_url}/resource/{dataset_id}.geojson")
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
            raise SocrataUnavailableError(f"{dataset_id}.geojson is not a FeatureCollection")
        return document

    def _get_json(self, params: dict[str, str], url: str | None = None) -> object:
        def parse(body: bytes) -> object:
            try:
                return json.loads(body)
            except ValueError as exc:
                raise _TransientResponse(f"unreadable JSON ({exc})") from exc

        return self._request(params, parse, url)

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
            return parse(response.content)

        try:
            return attempt()
        except (httpx.TransportError, _TransientResponse) as exc:
            raise SocrataUnavailableError(
                f"{target} kept failing, gave up after {attempts} attempt(s): "
                f"{exc or type(exc).__name__}. Check that SODA_BASE_URL is reachable; "
                "set SODA_APP_TOKEN if the API is throttling (HTTP 429)."
            ) from exc

    def _check_status(self, response: httpx.Response) -> None:
        """Raise a retryable error for transient statuses and `SocrataRequestError` for the rest."""
        status = response.status_code
        if status == 200:
            return
        if status in _RETRIED_STATUSES:
            raise _TransientResponse(
                f"HTTP {status}: {_error_message(response)}", _retry_after(response)
            )
        hint = _HINTS.get(status, "Check SODA_BASE_URL and CHI_CRIME_DATASET_ID.")
        url = response.request.url.copy_with(query=None)
        raise SocrataRequestError(
            f"{url} answered HTTP {status}: {_error_message(response)}. {hint}"
        )


_HINTS = {
    400: "The query was rejected: the dataset may not have the columns chicrime needs "
    "(check CHI_CRIME_DATASET_ID).",
    401: "Check SODA_APP_TOKEN.",
    403: "Check SODA_APP_TOKEN.",
    404: "Check CHI_CRIME_DATASET_ID and SODA_BASE_URL.",
}
