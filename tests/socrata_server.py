"""A local HTTP server speaking the subset of the Socrata SODA 2.x API used by ``chicrime``.

The server holds datasets as polars DataFrames, answers ``GET /resource/{id}.json``
queries (``$select``, ``$where``, ``$order``, ``$limit``, ``$offset``) with vectorised
polars evaluation, and can inject faults (error statuses, dropped connections,
truncated bodies, slow responses) one request at a time.  It is fast enough to serve
a benchmark over the full ~8.5 million row Crimes dataset and small enough in
behaviour to make exact assertions in unit tests.

Typical use::

    dataset = SocrataDataset([{"id": "1", "date": "2024-01-01T00:00:00.000"}])
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        server.faults.append(Fault.status(429, retry_after=1))
        httpx.get(f"{server.base_url}/resource/ijzp-q8t2.json")
"""

from __future__ import annotations

import collections
import http
import http.server
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

import polars as pl

API_COLUMNS: dict[str, str] = {
    "id": "number",
    "case_number": "text",
    "date": "floating_timestamp",
    "block": "text",
    "iucr": "text",
    "primary_type": "text",
    "description": "text",
    "location_description": "text",
    "arrest": "checkbox",
    "domestic": "checkbox",
    "beat": "text",
    "district": "text",
    "ward": "number",
    "community_area": "text",
    "fbi_code": "text",
    "x_coordinate": "number",
    "y_coordinate": "number",
    "year": "number",
    "updated_on": "floating_timestamp",
    "latitude": "number",
    "longitude": "number",
}
"""Columns of the Crimes dataset in API order, mapped to their Socrata type names."""

SYSTEM_COLUMNS: dict[str, str] = {":id": "meta_data"}
"""System fields returned only when ``$select`` names them (or uses ``:*``)."""

DEFAULT_CACHE_BYTES = 1 << 30
"""Default budget for cached JSON row fragments per dataset (1 GiB)."""

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.f"
"""polars ``strptime`` format of ``floating_timestamp`` values such as ``2024-02-10T00:44:00.000``."""

_ALL_COLUMNS: dict[str, str] = {**API_COLUMNS, **SYSTEM_COLUMNS}
_API_SCHEMA: dict[str, type[pl.DataType]] = {
    name: pl.Boolean if kind == "checkbox" else pl.String for name, kind in API_COLUMNS.items()
}
_TYPED_DTYPES: dict[str, pl.DataType] = {
    name: pl.Int64() if name == "id" else pl.Datetime("us") if kind == "floating_timestamp" else pl.Float64()
    for name, kind in API_COLUMNS.items()
    if kind in ("number", "floating_timestamp")
}
_POS = "__pos"
_TYPED_ID = "__typed_id"
_CHUNK_ROWS = 1 << 16
_DIRECT_ENCODE_FACTOR = 4
_ROW_ID_SEED = 20240210
_JSON_CONTENT_TYPE = "application/json;charset=utf-8"
_GEOJSON_CONTENT_TYPE = "application/vnd.geo+json;charset=utf-8"
_RESOURCE_PATH = re.compile(r"^/resource/(?P<dataset>[^/]+)\.(?P<format>json|geojson)$")
_IDENTIFIER = r":?[A-Za-z_][A-Za-z0-9_]*"
_COUNT_SELECT = re.compile(
    r"^count\(\s*\*\s*\)(?:\s+as\s+(?P<alias>[A-Za-z_][A-Za-z0-9_]*))?$", re.IGNORECASE
)
_ORDER_ITEM = re.compile(rf"^(?P<column>{_IDENTIFIER})(?:\s+(?P<direction>asc|desc))?$", re.IGNORECASE)
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')"
    r"|(?P<number>-?(?:\d+(?:\.\d*)?|\.\d+))"
    r"|(?P<op><=|>=|<>|!=|=|<|>)"
    r"|(?P<punct>[(),])"
    rf"|(?P<word>{_IDENTIFIER}))"
)
_QUERY_PARAMS = frozenset({"$select", "$where", "$order", "$limit", "$offset"})


def _typed_name(column: str) -> str:
    """Return the name of the hidden typed helper column kept for ``column``."""
    return f"__typed_{column}"


def _typed(column: str) -> pl.Expr:
    """Return the expression used to compare or order ``column`` by its Socrata type.

    Numbers and timestamps use their parsed helper columns; text, checkbox and
    ``:id`` columns are compared as stored.
    """
    return pl.col(_typed_name(column)) if column in _TYPED_DTYPES else pl.col(column)


class SoqlError(Exception):
    """A query the server rejects with HTTP 400 and a Socrata-shaped error body."""

    def __init__(self, error_code: str, message: str, data: Mapping[str, object]) -> None:
        """Store the Socrata ``errorCode``, human-readable ``message`` and ``data`` details."""
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.data = dict(data)

    def body(self) -> dict[str, object]:
        """Return the JSON error body the real API sends for this error."""
        return {"message": self.message, "errorCode": self.error_code, "data": self.data}


def _no_such_column(column: str) -> SoqlError:
    """Return the error for a reference to a column the dataset does not have."""
    return SoqlError("query.soql.no-such-column", f"No such column: {column}", {"column": column})


def _invalid(message: str, query: str) -> SoqlError:
    """Return the error for a query fragment that cannot be parsed."""
    return SoqlError("query.soql.invalid-soql", message, {"query": query})


def _type_mismatch(column: str, literal: str) -> SoqlError:
    """Return the error for a literal that cannot be compared with ``column``'s type."""
    return SoqlError(
        "query.soql.type-mismatch",
        f"Type mismatch: cannot compare {_ALL_COLUMNS[column]} column {column} with {literal}",
        {"column": column, "literal": literal},
    )


def _check_rows(rows: Iterable[Mapping[str, object]]) -> list[Mapping[str, object]]:
    """Validate API-shaped rows and return them as a list.

    Every key must be an API column; values must be strings (booleans for
    ``arrest``/``domestic``) or ``None``; ``id`` is required.  Raises ``ValueError``
    otherwise, because polars would silently coerce or drop such values.
    """
    checked = list(rows)
    for row in checked:
        unknown = set(row) - set(API_COLUMNS)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)} in row {row!r}")
        if row.get("id") is None:
            raise ValueError(f"row without id: {row!r}")
        for name, value in row.items():
            expected = bool if API_COLUMNS[name] == "checkbox" else str
            if value is not None and type(value) is not expected:
                raise ValueError(f"column {name} must be {expected.__name__} or absent, got {value!r}")
    return checked


def _api_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with exactly the API columns in API order and dtypes.

    Absent columns become all-null; unknown columns or wrong dtypes raise ``ValueError``.
    """
    unknown = set(frame.columns) - set(API_COLUMNS)
    if unknown:
        raise ValueError(f"unknown columns {sorted(unknown)}")
    for name, dtype in frame.schema.items():
        if dtype != _API_SCHEMA[name]:
            raise ValueError(f"column {name} must be {_API_SCHEMA[name]}, got {dtype}")
    return frame.select(
        pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in _API_SCHEMA.items()
    )


def _prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Turn an API-shaped frame into stored form: ``:id`` and typed helpers added, sorted by id.

    Duplicate ids keep their last row.  Unparsable ids, numbers or timestamps raise a polars error.
    """
    api = _api_frame(frame)
    if api["id"].null_count():
        raise ValueError("every row needs an id")
    helpers = [
        pl.col(name).str.to_datetime(TIMESTAMP_FORMAT, time_unit="us", strict=True).alias(_typed_name(name))
        if API_COLUMNS[name] == "floating_timestamp"
        else pl.col(name).cast(dtype, strict=True).alias(_typed_name(name))
        for name, dtype in _TYPED_DTYPES.items()
    ]
    row_id = pl.format(
        "row-{}~{}",
        (pl.col("id").hash(_ROW_ID_SEED) % 1_000_000).cast(pl.String).str.zfill(6),
        pl.col("id"),
    ).alias(":id")
    return (
        api.with_columns(*helpers, row_id)
        .unique(subset=_TYPED_ID, keep="last", maintain_order=True)
        .sort(_TYPED_ID)
    )


def _encode_rows(frame: pl.DataFrame, fields: Sequence[str]) -> pl.Series:
    """Encode each row of ``frame[fields]`` as a JSON object string, omitting null-valued keys.

    Encoding is vectorised: ``struct.json_encode`` then a regex removes ``"key":null``
    members (string values cannot match because their quotes are escaped).
    """
    null_member = '"(?:' + "|".join(re.escape(name) for name in fields) + ')":null,?'
    return frame.select(
        pl.struct(list(fields))
        .struct.json_encode()
        .str.replace_all(null_member, "")
        .str.replace(r",\}$", "}")
        .alias("json")
    ).to_series()


@dataclass(frozen=True)
class _Snapshot:
    """An immutable view of a dataset's rows at one version."""

    frame: pl.DataFrame
    version: int


class SocrataDataset:
    """Thread-safe holder of one dataset's current rows, kept sorted by numeric id.

    Rows are API-shaped: every value a string except the ``arrest``/``domestic``
    booleans; a missing key (or ``None``) means null.  Internally each row also
    carries ``:id`` (``row-NNNNNN~<id>``, stable per id, not in id order) and typed
    helper columns so ``$where``/``$order`` compare numbers and timestamps by value.
    Encoded JSON row fragments are cached per (version, selected fields) in chunks
    of 65,536 stored rows, up to ``cache_bytes``; every mutation clears the cache.
    """

    def __init__(
        self, rows: Iterable[Mapping[str, object]] = (), *, cache_bytes: int = DEFAULT_CACHE_BYTES
    ) -> None:
        """Hold ``rows`` (API-shaped dicts; duplicate ids keep the last); ``ValueError`` on bad rows."""
        self._lock = threading.Lock()
        self._cache_bytes = cache_bytes
        self._cache: dict[tuple[int, tuple[str, ...], int], pl.Series] = {}
        self._cache_used = 0
        self._snapshot = _Snapshot(self._indexed(_prepare(self._rows_frame(rows))), 0)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> SocrataDataset:
        """Build a dataset from a DataFrame already in API shape (for millions of rows).

        Columns must be API columns: ``pl.String`` except ``pl.Boolean`` ``arrest``/``domestic``;
        absent columns are all-null.  Raises ``ValueError`` on unknown columns or dtypes.
        """
        dataset = cls(cache_bytes=cache_bytes)
        dataset._install(dataset._indexed(_prepare(frame)))
        return dataset

    @staticmethod
    def _rows_frame(rows: Iterable[Mapping[str, object]]) -> pl.DataFrame:
        """Validate API-shaped dicts and return them as a frame with the API schema."""
        return pl.DataFrame(_check_rows(rows), schema=_API_SCHEMA)

    @staticmethod
    def _indexed(frame: pl.DataFrame) -> pl.DataFrame:
        """Return a sorted stored frame with a fresh 0-based row position column."""
        return frame.with_row_index(_POS)

    def _install(self, frame: pl.DataFrame) -> None:
        """Replace the stored rows, bump the version and drop cached fragments."""
        with self._lock:
            self._snapshot = _Snapshot(frame, self._snapshot.version + 1)
            self._cache.clear()
            self._cache_used = 0

    def snapshot(self) -> _Snapshot:
        """Return the current immutable rows and version (consistent with each other)."""
        with self._lock:
            return self._snapshot

    def upsert(self, rows: Iterable[Mapping[str, object]]) -> None:
        """Replace rows whose id already exists and insert the others; ``ValueError`` on bad rows."""
        new = _prepare(self._rows_frame(rows))
        with self._lock:
            base = self._snapshot.frame.drop(_POS)
            kept = base.filter(~pl.col(_TYPED_ID).is_in(new[_TYPED_ID].implode()))
            self._install_locked(self._indexed(kept.merge_sorted(new, _TYPED_ID)))

    def delete(self, ids: Iterable[int]) -> None:
        """Remove the rows with these numeric ids; unknown ids are ignored."""
        doomed = pl.Series(list(ids), dtype=pl.Int64).implode()
        with self._lock:
            base = self._snapshot.frame.drop(_POS)
            self._install_locked(self._indexed(base.filter(~pl.col(_TYPED_ID).is_in(doomed))))

    def _install_locked(self, frame: pl.DataFrame) -> None:
        """Like ``_install`` for callers already holding the lock."""
        self._snapshot = _Snapshot(frame, self._snapshot.version + 1)
        self._cache.clear()
        self._cache_used = 0

    def rows(self) -> list[dict[str, object]]:
        """Return the current rows in API shape (null keys omitted, no ``:id``), sorted by id."""
        frame = self.snapshot().frame.select(list(API_COLUMNS))
        return [{k: v for k, v in row.items() if v is not None} for row in frame.iter_rows(named=True)]

    def __len__(self) -> int:
        """Return the number of rows currently held."""
        return self.snapshot().frame.height

    def fragments(self, snapshot: _Snapshot, fields: tuple[str, ...], positions: pl.Series) -> pl.Series:
        """Return JSON object strings for the stored rows at ``positions``, in that order.

        Whole chunks are encoded and cached when that costs at most a few times the
        page itself (keyset pages touch one or two chunks); scattered pages, such as
        unordered ones, are encoded directly.  Cached chunks belong to
        ``snapshot.version`` so a concurrent mutation never mixes versions.
        """
        chunk_of = (positions.cast(pl.Int64) // _CHUNK_ROWS).alias("chunk")
        chunks = chunk_of.unique().sort().to_list()
        height = snapshot.frame.height
        with self._lock:
            cached = {c: self._cache.get((snapshot.version, fields, c)) for c in chunks}
        missing_rows = sum(min(_CHUNK_ROWS, height - c * _CHUNK_ROWS) for c, s in cached.items() if s is None)
        if missing_rows > _DIRECT_ENCODE_FACTOR * positions.len():
            return _encode_rows(snapshot.frame[positions], fields)
        parts: list[pl.Series] = []
        for chunk, encoded in cached.items():
            if encoded is None:
                encoded = _encode_rows(snapshot.frame.slice(chunk * _CHUNK_ROWS, _CHUNK_ROWS), fields)
                self._remember((snapshot.version, fields, chunk), encoded)
            parts.append(encoded)
        starts = list(itertools.accumulate((part.len() for part in parts[:-1]), initial=0))
        local = positions.cast(pl.Int64) - chunk_of * _CHUNK_ROWS
        index = local + chunk_of.replace_strict(chunks, starts, return_dtype=pl.Int64)
        return pl.concat(parts).gather(index)

    def _remember(self, key: tuple[int, tuple[str, ...], int], encoded: pl.Series) -> None:
        """Cache an encoded chunk if it is for the current version and fits the byte budget."""
        size = encoded.estimated_size()
        with self._lock:
            if key[0] == self._snapshot.version and self._cache_used + size <= self._cache_bytes:
                self._cache[key] = encoded
                self._cache_used += size


class _WhereParser:
    """Recursive-descent parser turning a SoQL ``$where`` clause into a polars expression.

    Grammar (keywords case-insensitive)::

        clause     := conjunction (OR conjunction)*
        conjunction:= primary (AND primary)*
        primary    := '(' clause ')' | column predicate
        predicate  := op literal | IN '(' literal (',' literal)* ')' | IS [NOT] NULL
        op         := = | != | <> | < | <= | > | >=
        literal    := 'string' ('' escapes a quote) | number | true | false
    """

    def __init__(self, text: str) -> None:
        """Tokenize ``text``; raise ``SoqlError`` on a character that starts no token."""
        self._text = text
        self._tokens: list[tuple[str, str]] = []
        position = 0
        while text[position:].strip():
            match = _TOKEN.match(text, position)
            if match is None or match.lastgroup is None:
                raise _invalid(f"Unexpected character at position {position + 1} in $where", text)
            self._tokens.append((match.lastgroup, match.group(match.lastgroup)))
            position = match.end()
        self._index = 0

    def parse(self) -> pl.Expr:
        """Return the expression for the whole clause; ``SoqlError`` on any syntax or column error."""
        expression = self._clause()
        if self._index < len(self._tokens):
            raise _invalid(f"Unexpected {self._tokens[self._index][1]!r} in $where", self._text)
        return expression

    def _peek(self) -> tuple[str, str] | None:
        """Return the next token without consuming it, or ``None`` at the end."""
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _next(self, expected: str) -> tuple[str, str]:
        """Consume and return the next token; ``expected`` describes it for the end-of-input error."""
        token = self._peek()
        if token is None:
            raise _invalid(f"Expected {expected} but the $where clause ended", self._text)
        self._index += 1
        return token

    def _accept_word(self, word: str) -> bool:
        """Consume the next token if it is the keyword ``word`` (any case); report whether it was."""
        token = self._peek()
        if token is not None and token[0] == "word" and token[1].upper() == word:
            self._index += 1
            return True
        return False

    def _expect(self, value: str) -> None:
        """Consume the next token, which must be ``value`` (punctuation or keyword)."""
        token = self._next(repr(value))
        if token[1].upper() != value:
            raise _invalid(f"Expected {value!r} but found {token[1]!r} in $where", self._text)

    def _clause(self) -> pl.Expr:
        """Parse ``conjunction (OR conjunction)*``."""
        expression = self._conjunction()
        while self._accept_word("OR"):
            expression = expression | self._conjunction()
        return expression

    def _conjunction(self) -> pl.Expr:
        """Parse ``primary (AND primary)*``."""
        expression = self._primary()
        while self._accept_word("AND"):
            expression = expression & self._primary()
        return expression

    def _primary(self) -> pl.Expr:
        """Parse a parenthesised clause or a predicate on one column."""
        token = self._next("a column name or '('")
        if token == ("punct", "("):
            expression = self._clause()
            self._expect(")")
            return expression
        if token[0] != "word":
            raise _invalid(f"Expected a column name but found {token[1]!r} in $where", self._text)
        column = token[1]
        if column not in _ALL_COLUMNS:
            raise _no_such_column(column)
        return self._predicate(column)

    def _predicate(self, column: str) -> pl.Expr:
        """Parse what follows a column name: a comparison, ``IN (...)`` or ``IS [NOT] NULL``."""
        if self._accept_word("IS"):
            negated = self._accept_word("NOT")
            self._expect("NULL")
            return pl.col(column).is_not_null() if negated else pl.col(column).is_null()
        if self._accept_word("IN"):
            self._expect("(")
            values = [self._literal(column)]
            while self._peek() == ("punct", ","):
                self._index += 1
                values.append(self._literal(column))
            self._expect(")")
            return self._membership(column, values)
        kind, op = self._next("a comparison operator")
        if kind != "op":
            raise _invalid(f"Expected a comparison operator after {column} but found {op!r}", self._text)
        value = pl.lit(self._literal(column))
        typed = _typed(column)
        comparisons: dict[str, Callable[[], pl.Expr]] = {
            "=": lambda: typed == value,
            "!=": lambda: typed != value,
            "<>": lambda: typed != value,
            "<": lambda: typed < value,
            "<=": lambda: typed <= value,
            ">": lambda: typed > value,
            ">=": lambda: typed >= value,
        }
        return comparisons[op]()

    @staticmethod
    def _membership(column: str, values: list[object]) -> pl.Expr:
        """Return ``column IN values`` compared by type (numbers as Float64)."""
        kind = _ALL_COLUMNS[column]
        if kind == "number":
            floats = pl.Series([float(v) for v in values if isinstance(v, (int, float))], dtype=pl.Float64)
            return _typed(column).cast(pl.Float64).is_in(floats.implode())
        dtype: pl.DataType = (
            pl.Datetime("us") if kind == "floating_timestamp" else pl.Boolean() if kind == "checkbox" else pl.String()
        )
        return _typed(column).is_in(pl.Series(values, dtype=dtype).implode())

    def _literal(self, column: str) -> object:
        """Consume a literal and convert it to the Python value matching ``column``'s type."""
        kind, raw = self._next("a literal")
        if kind == "string":
            text: str | None = raw[1:-1].replace("''", "'")
        elif kind == "number":
            text = raw
        elif kind == "word" and raw.lower() in ("true", "false"):
            text = raw.lower()
        else:
            raise _invalid(f"Expected a literal after {column} but found {raw!r} in $where", self._text)
        column_type = _ALL_COLUMNS[column]
        try:
            if column_type == "number":
                return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
            if column_type == "floating_timestamp" and kind == "string":
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    return moment
            elif column_type == "checkbox" and text in ("true", "false"):
                return text == "true"
            elif column_type in ("text", "meta_data") and kind == "string":
                return text
        except ValueError:
            pass
        raise _type_mismatch(column, raw)


@dataclass(frozen=True)
class _Query:
    """A validated ``/resource`` query."""

    fields: tuple[str, ...]
    count_alias: str | None
    where: pl.Expr | None
    order: tuple[tuple[str, bool], ...]
    limit: int
    offset: int


def _parse_select(text: str | None) -> tuple[tuple[str, ...], str | None]:
    """Parse ``$select`` into (fields, count alias); count alias is set for ``count(*)``.

    ``*`` expands to all API columns and ``:*`` to the system fields; duplicates are dropped.
    """
    if text is None:
        return tuple(API_COLUMNS), None
    count = _COUNT_SELECT.match(text.strip())
    if count is not None:
        return ("count",), count.group("alias") or "count"
    fields: dict[str, None] = {}
    for item in (part.strip() for part in text.split(",")):
        expansion = {"*": tuple(API_COLUMNS), ":*": tuple(SYSTEM_COLUMNS)}.get(item, (item,))
        for name in expansion:
            if name not in _ALL_COLUMNS:
                if re.fullmatch(_IDENTIFIER, name):
                    raise _no_such_column(name)
                raise _invalid(f"Cannot parse $select item {name!r}", text)
            fields[name] = None
    return tuple(fields), None


def _parse_order(text: str | None) -> tuple[tuple[str, bool], ...]:
    """Parse ``$order`` into (column, descending) pairs."""
    if text is None:
        return ()
    order = []
    for item in (part.strip() for part in text.split(",")):
        match = _ORDER_ITEM.match(item)
        if match is None:
            raise _invalid(f"Cannot parse $order item {item!r}", text)
        column = match.group("column")
        if column not in _ALL_COLUMNS:
            raise _no_such_column(column)
        order.append((column, (match.group("direction") or "asc").lower() == "desc"))
    return tuple(order)


def _parse_count(params: Mapping[str, str], name: str, default: int) -> int:
    """Parse a non-negative integer parameter such as ``$limit``."""
    text = params.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"\d+", text.strip()):
        raise _invalid(f"{name} must be a non-negative integer, got {text!r}", text)
    return int(text)


def _parse_query(params: Mapping[str, str]) -> _Query:
    """Validate all query parameters; raise ``SoqlError`` for anything the API would reject."""
    unknown = sorted(set(params) - _QUERY_PARAMS)
    if unknown:
        raise _invalid(f"Unrecognized query parameters: {', '.join(unknown)}", "&".join(unknown))
    fields, count_alias = _parse_select(params.get("$select"))
    where_text = params.get("$where")
    return _Query(
        fields=fields,
        count_alias=count_alias,
        where=None if where_text is None else _WhereParser(where_text).parse(),
        order=_parse_order(params.get("$order")),
        limit=_parse_count(params, "$limit", 1000),
        offset=_parse_count(params, "$offset", 0),
    )


def _execute(dataset: SocrataDataset, query: _Query, shuffle_seed: int) -> tuple[bytes, list[str], list[str]]:
    """Run ``query`` and return (JSON body, X-SODA2-Fields, X-SODA2-Types).

    Without ``$order`` the matching rows come back in an order derived from
    ``shuffle_seed`` (a different one per request), never id order.
    """
    snapshot = dataset.snapshot()
    rows = snapshot.frame.lazy()
    if query.where is not None:
        rows = rows.filter(query.where)
    if query.count_alias is not None:
        total = rows.select(pl.len()).collect().item()
        page = [{query.count_alias: str(total)}][query.offset : query.offset + query.limit]
        return json.dumps(page, separators=(",", ":")).encode(), [query.count_alias], ["number"]
    if not query.order:
        rows = rows.sort(pl.col(_POS).hash(shuffle_seed))
    elif query.order[0][0] == "id":
        # Stored rows are in ascending unique id order, so later sort keys never matter.
        rows = rows.reverse() if query.order[0][1] else rows
    else:
        rows = rows.sort(
            [_typed(column) for column, _ in query.order],
            descending=[descending for _, descending in query.order],
            nulls_last=[not descending for _, descending in query.order],
            maintain_order=True,
        )
    positions = rows.slice(query.offset, query.limit).select(_POS).collect().to_series()
    encoded = dataset.fragments(snapshot, query.fields, positions)
    body = "[" + ",".join(encoded.to_list()) + "]"
    return body.encode(), list(query.fields), [_ALL_COLUMNS[name] for name in query.fields]


FaultKind = Literal["status", "drop", "truncate", "slow"]


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, consumed by the next ``/resource/...`` request.

    Build with the class methods; ``code``/``retry_after``/``body`` apply to ``status``
    faults and ``seconds`` to ``slow`` faults.
    """

    kind: FaultKind
    code: int = 200
    retry_after: int | str | None = None
    body: object = None
    seconds: float = 0.0

    @classmethod
    def status(cls, code: int, retry_after: int | str | None = None, body: object = None) -> Fault:
        """Answer with HTTP ``code``, an optional ``Retry-After`` header and a JSON body.

        ``body`` is sent raw if it is ``bytes``, JSON-encoded otherwise; ``None`` means a
        Socrata-shaped default (``{"message": "processing"}`` for 202).
        """
        return cls("status", code=code, retry_after=retry_after, body=body)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls("drop")

    @classmethod
    def truncate(cls) -> Fault:
        """Send status 200 and the full ``Content-Length`` but only half the real body, then close."""
        return cls("truncate")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Sleep ``seconds`` and then answer normally."""
        return cls("slow", seconds=seconds)


def _default_fault_body(code: int) -> object:
    """Return the JSON body sent for a status fault without an explicit body."""
    if code == http.HTTPStatus.ACCEPTED:
        return {"message": "processing"}
    phrase = http.HTTPStatus(code).phrase if code in http.HTTPStatus._value2member_map_ else "Error"
    if code == http.HTTPStatus.BAD_REQUEST:
        return {"message": phrase, "errorCode": "query.soql.invalid-soql", "data": {}}
    return {"code": phrase.lower().replace(" ", "_"), "error": True, "message": phrase}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it.

    ``target`` is the raw request target (path and query string), ``params`` the decoded
    query parameters (last value wins), ``headers`` the request headers with lower-case
    names, ``status`` the status sent (``None`` when the connection was dropped).
    """

    path: str
    target: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int | None


@dataclass
class _Response:
    """A complete HTTP response ready to send."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = _JSON_CONTENT_TYPE

    @classmethod
    def json(cls, status: int, payload: object, headers: dict[str, str] | None = None) -> _Response:
        """Return a response whose body is ``payload`` encoded as compact JSON."""
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), dict(headers or {}))


class _Handler(http.server.BaseHTTPRequestHandler):
    """Request handler delegating GETs to the owning ``SocrataServer``; keep-alive, no logging."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:
        """Serve one GET request."""
        self.server.app.handle(self)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        """Discard per-request log lines so test output stays quiet."""

    def send(self, response: _Response, *, truncate: bool = False) -> None:
        """Write ``response``; with ``truncate`` send only half the body and close the connection."""
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body[: len(response.body) // 2] if truncate else response.body)
        self.wfile.flush()
        if truncate:
            self.close_connection = True


class _HTTPServer(http.server.ThreadingHTTPServer):
    """Threaded HTTP server on 127.0.0.1 that knows its ``SocrataServer`` and ignores client disconnects."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, app: SocrataServer) -> None:
        """Bind to an ephemeral port on the loopback interface."""
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay silent when the client went away; print the traceback for anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class SocrataServer:
    """A running fake Socrata endpoint, used as a context manager.

    ``datasets`` maps dataset ids (``ijzp-q8t2``) to ``SocrataDataset``; ``geojson`` maps
    ids to bytes served verbatim at ``/resource/{id}.geojson``.  Attributes for tests:

    * ``faults`` - FIFO (``collections.deque``; ``append``/``extend`` are thread-safe) of
      ``Fault`` values, one consumed per ``/resource/...`` request before normal handling;
    * ``requests`` - every request received, as ``RecordedRequest``;
    * ``on_request`` - called with the 1-based count of complete 200 ``.json`` responses
      after each is sent.  While it is set, ``/resource`` requests are handled one at a
      time, so a request sent after a response was received sees the hook's changes.
    """

    def __init__(self, datasets: Mapping[str, SocrataDataset], *, geojson: Mapping[str, bytes] | None = None) -> None:
        """Configure the served datasets; the socket is bound and served on ``__enter__``."""
        self.datasets = dict(datasets)
        self.geojson = dict(geojson or {})
        self.faults: collections.deque[Fault] = collections.deque()
        self.requests: list[RecordedRequest] = []
        self.on_request: Callable[[int], None] | None = None
        self._stats_lock = threading.Lock()
        self._hook_lock = threading.Lock()
        self._time_in_handlers = 0.0
        self._data_responses = 0
        self._shuffle_seeds = itertools.count(1)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SocrataServer:
        """Bind an ephemeral port and start serving in a daemon thread."""
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="socrata-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Stop serving and close the listening socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:PORT`` of the running server."""
        if self._httpd is None:
            raise RuntimeError("SocrataServer is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def time_in_handlers(self) -> float:
        """Return the seconds spent inside request handlers, summed over all requests."""
        with self._stats_lock:
            return self._time_in_handlers

    def handle(self, handler: _Handler) -> None:
        """Serve one request: apply the next fault if any, answer it and record it."""
        started = time.perf_counter()
        split = urlsplit(handler.path)
        status: int | None = None
        try:
            if split.path.startswith("/resource/"):
                if self.on_request is None:
                    status = self._serve_resource(handler, split.path, split.query)
                else:
                    with self._hook_lock:
                        status = self._serve_resource(handler, split.path, split.query)
            else:
                status = self._send(handler, _Response.json(404, _not_found("Not found")))
        finally:
            self.requests.append(
                RecordedRequest(
                    path=split.path,
                    target=handler.path,
                    params=dict(parse_qsl(split.query, keep_blank_values=True)),
                    headers={name.lower(): value for name, value in handler.headers.items()},
                    status=status,
                )
            )
            with self._stats_lock:
                self._time_in_handlers += time.perf_counter() - started

    @staticmethod
    def _send(handler: _Handler, response: _Response, *, truncate: bool = False) -> int:
        """Send ``response`` and return its status."""
        handler.send(response, truncate=truncate)
        return response.status

    def _serve_resource(self, handler: _Handler, path: str, query: str) -> int | None:
        """Answer a ``/resource/...`` request after consuming one fault; return the status sent."""
        try:
            fault: Fault | None = self.faults.popleft()
        except IndexError:
            fault = None
        if fault is not None and fault.kind == "drop":
            handler.close_connection = True
            return None
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            body = _default_fault_body(fault.code) if fault.body is None else fault.body
            if isinstance(body, bytes):
                return self._send(handler, _Response(fault.code, body, headers))
            return self._send(handler, _Response.json(fault.code, body, headers))
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        truncate = fault is not None and fault.kind == "truncate"
        match = _RESOURCE_PATH.match(path)
        if match is None:
            return self._send(handler, _Response.json(404, _not_found("Not found")), truncate=truncate)
        dataset_id = match.group("dataset")
        if match.group("format") == "geojson":
            blob = self.geojson.get(dataset_id)
            if blob is None:
                return self._send(handler, _dataset_not_found(dataset_id), truncate=truncate)
            return self._send(handler, _Response(200, blob, content_type=_GEOJSON_CONTENT_TYPE), truncate=truncate)
        response = self._query(dataset_id, dict(parse_qsl(query, keep_blank_values=True)))
        status = self._send(handler, response, truncate=truncate)
        if status == 200 and not truncate:
            with self._stats_lock:
                self._data_responses += 1
                page = self._data_responses
            if self.on_request is not None:
                self.on_request(page)
        return status

    def _query(self, dataset_id: str, params: Mapping[str, str]) -> _Response:
        """Evaluate a ``.json`` query against ``dataset_id`` and build the response."""
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            return _dataset_not_found(dataset_id)
        try:
            query = _parse_query(params)
        except SoqlError as error:
            return _Response.json(400, error.body())
        body, fields, types = _execute(dataset, query, next(self._shuffle_seeds))
        headers = {"X-SODA2-Fields": json.dumps(fields), "X-SODA2-Types": json.dumps(types)}
        return _Response(200, body, headers)


def _not_found(message: str) -> dict[str, object]:
    """Return a Socrata-shaped 404 body."""
    return {"code": "not_found", "error": True, "message": message}


def _dataset_not_found(dataset_id: str) -> _Response:
    """Return the 404 response for an unknown dataset id."""
    return _Response.json(404, _not_found(f"Dataset '{dataset_id}' was not found"))
