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
import dataclasses
import http
import http.server
import itertools
import json
import operator
import re
import socket
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
"""polars ``strptime`` format of ``floating_timestamp`` values (``2024-02-10T00:44:00.000``)."""

_ALL_COLUMNS: dict[str, str] = {**API_COLUMNS, **SYSTEM_COLUMNS}
_CHECKBOXES = tuple(name for name, kind in API_COLUMNS.items() if kind == "checkbox")
_TYPED_DTYPES: dict[str, pl.DataType] = {
    name: pl.Int64()
    if name == "id"
    else pl.Datetime("us")
    if kind == "floating_timestamp"
    else pl.Float64()
    for name, kind in API_COLUMNS.items()
    if kind in ("number", "floating_timestamp")
}
_POS = "__pos"
_TYPED_ID = "__typed_id"
_CHUNK_ROWS = 1 << 16
_DIRECT_ENCODE_FACTOR = 4
_ROW_ID_SEED = 20240210
_SHUTDOWN_POLL_SECONDS = 0.02
_JSON_CONTENT_TYPE = "application/json;charset=utf-8"
_GEOJSON_CONTENT_TYPE = "application/vnd.geo+json;charset=utf-8"
_RESOURCE_PATH = re.compile(r"^/resource/(?P<dataset>[^/]+)\.(?P<format>json|geojson)$")
_IDENTIFIER = r":?[A-Za-z_][A-Za-z0-9_]*"
_NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
_COMPARISONS: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_COUNT_SELECT = re.compile(
    r"^count\(\s*\*\s*\)(?:\s+as\s+(?P<alias>[A-Za-z_][A-Za-z0-9_]*))?$", re.IGNORECASE
)
_ORDER_ITEM = re.compile(
    rf"^(?P<column>{_IDENTIFIER})(?:\s+(?P<direction>asc|desc))?$", re.IGNORECASE
)
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')"
    rf"|(?P<number>{_NUMBER})"
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


def _raw_name(column: str) -> str:
    """Return the hidden column holding malformed (string) values of checkbox ``column``."""
    return f"__raw_{column}"


_INPUT_SCHEMA: dict[str, type[pl.DataType]] = {
    **{name: pl.Boolean if name in _CHECKBOXES else pl.String for name in API_COLUMNS},
    **{_raw_name(name): pl.String for name in _CHECKBOXES},
}


def _frame_from_rows(rows: Iterable[Mapping[str, object]]) -> pl.DataFrame:
    """Validate API-shaped dicts and return them as a frame of API plus raw-checkbox columns.

    Every key must be an API column and ``id`` is required.  Values must be strings,
    except that checkbox columns take booleans; a string in a checkbox column is a
    malformed value, kept in its raw column and served verbatim.  Raises ``ValueError``
    otherwise, because polars would silently coerce or drop such values.
    """
    normalized: list[dict[str, object]] = []
    for row in rows:
        unknown = set(row) - set(API_COLUMNS)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)} in row {row!r}")
        if row.get("id") is None:
            raise ValueError(f"row without id: {row!r}")
        clean: dict[str, object] = {}
        for name, value in row.items():
            checkbox = API_COLUMNS[name] == "checkbox"
            if value is None or type(value) is str:
                clean[_raw_name(name) if checkbox else name] = value
            elif checkbox and type(value) is bool:
                clean[name] = value
            else:
                allowed = "a boolean or a string" if checkbox else "a string"
                raise ValueError(f"column {name} must be {allowed} or absent, got {value!r}")
        normalized.append(clean)
    return pl.DataFrame(normalized, schema=_INPUT_SCHEMA)


def _frame_from_api_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Return an API-shaped ``frame`` with all API columns in order and empty raw columns.

    Absent columns become all-null; unknown columns or wrong dtypes raise ``ValueError``.
    """
    unknown = set(frame.columns) - set(API_COLUMNS)
    if unknown:
        raise ValueError(f"unknown columns {sorted(unknown)}")
    for name, dtype in frame.schema.items():
        if dtype != _INPUT_SCHEMA[name]:
            raise ValueError(f"column {name} must be {_INPUT_SCHEMA[name]}, got {dtype}")
    return frame.select(
        pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in _INPUT_SCHEMA.items()
    )


def _prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Turn an input frame into stored form: ``:id`` and typed helpers added, sorted by id.

    Duplicate ids keep their last row.  Ids must be integers (else ``ValueError``);
    numbers or timestamps that do not parse get a null helper, so they are served
    verbatim but match no typed comparison.
    """
    helpers = [
        (
            pl.col(name).str.to_datetime(TIMESTAMP_FORMAT, time_unit="us", strict=False)
            if API_COLUMNS[name] == "floating_timestamp"
            else pl.col(name).cast(dtype, strict=False)
        ).alias(_typed_name(name))
        for name, dtype in _TYPED_DTYPES.items()
    ]
    row_id = pl.format(
        "row-{}~{}",
        (pl.col("id").hash(_ROW_ID_SEED) % 1_000_000).cast(pl.String).str.zfill(6),
        pl.col("id"),
    ).alias(":id")
    stored = frame.with_columns(*helpers, row_id)
    if stored.get_column(_TYPED_ID).null_count():
        raise ValueError("every row needs an integer id")
    return stored.unique(subset=_TYPED_ID, keep="last", maintain_order=True).sort(_TYPED_ID)


def _source_columns(fields: Sequence[str]) -> list[str]:
    """Return the stored columns needed to encode ``fields`` (raw columns of checkboxes too)."""
    return [*fields, *(_raw_name(name) for name in fields if name in _CHECKBOXES)]


def _substitute_raw(encoded: pl.Series, name: str, raw: pl.Series) -> pl.Series:
    """Replace ``"name":null`` by ``"name":"<raw>"`` in the encoded rows where ``raw`` is set."""
    if raw.null_count() == raw.len():
        return encoded
    rows = raw.is_not_null().arg_true()
    member = pl.struct(pl.col("raw").alias(name)).struct.json_encode()
    replaced = pl.DataFrame({"json": encoded.gather(rows), "raw": raw.gather(rows)}).select(
        pl.col("json").str.replace(
            f'"{name}":null', member.str.slice(1).str.strip_suffix("}"), literal=True
        )
    )
    return encoded.scatter(rows, replaced.to_series())


def _encode_rows(frame: pl.DataFrame, fields: Sequence[str]) -> pl.Series:
    """Encode each row of ``frame[fields]`` as a JSON object string, omitting null-valued keys.

    Encoding is vectorised: ``struct.json_encode`` writes every row; rows whose checkbox
    holds a malformed raw string get it substituted as a JSON string; then only the
    rows still holding a null go through a regex that removes their ``"key":null``
    members (string values cannot match because the quotes inside them are escaped).
    ``frame`` must contain ``_source_columns(fields)``.
    """
    encoded = frame.select(pl.struct(list(fields)).struct.json_encode()).to_series()
    for name in fields:
        if name in _CHECKBOXES:
            encoded = _substitute_raw(encoded, name, frame.get_column(_raw_name(name)))
    nullable = [name for name in fields if frame.get_column(name).null_count()]
    if not nullable:
        return encoded
    null_member = '"(?:' + "|".join(re.escape(name) for name in nullable) + ')":null,?'
    rows = frame.select(pl.any_horizontal(pl.col(nullable).is_null())).to_series().arg_true()
    stripped = encoded.gather(rows).str.replace_all(null_member, "").str.replace(r",\}$", "}")
    return encoded.scatter(rows, stripped)


@dataclass(frozen=True)
class _Snapshot:
    """An immutable view of a dataset's rows at one version."""

    frame: pl.DataFrame
    version: int


class SocrataDataset:
    """Thread-safe holder of one dataset's current rows, kept sorted by numeric id.

    Rows are API-shaped: every value a string except the ``arrest``/``domestic``
    booleans; a missing key (or ``None``) means null.  Malformed values (a number or
    timestamp that does not parse, a string in a checkbox) are stored and served
    verbatim and match no typed comparison, so clients' validation can be tested.
    Internally each row also carries ``:id`` (``row-NNNNNN~<id>``, stable per id, not
    in id order) and typed helper columns so ``$where``/``$order`` compare numbers
    and timestamps by value.
    Encoded JSON row fragments are cached per (version, selected fields) in chunks
    of 65,536 stored rows, up to ``cache_bytes``; every mutation clears the cache.
    """

    def __init__(
        self, rows: Iterable[Mapping[str, object]] = (), *, cache_bytes: int = DEFAULT_CACHE_BYTES
    ) -> None:
        """Hold ``rows`` (API-shaped dicts, last duplicate id wins); ``ValueError`` on bad rows."""
        self._lock = threading.Lock()
        self._cache_bytes = cache_bytes
        self._cache: dict[tuple[int, tuple[str, ...], int], pl.Series] = {}
        self._cache_used = 0
        self._cache_full = False
        self._state = _Snapshot(self._indexed(_prepare(_frame_from_rows(rows))), 0)
        self._raw_values: dict[int, dict[str, object]] = {}

    @classmethod
    def from_frame(
        cls, frame: pl.DataFrame, *, cache_bytes: int = DEFAULT_CACHE_BYTES
    ) -> SocrataDataset:
        """Build a dataset from a DataFrame already in API shape (for millions of rows).

        Columns must be API columns: ``pl.String`` except ``pl.Boolean`` ``arrest``/``domestic``;
        absent columns are all-null.  Raises ``ValueError`` on unknown columns or dtypes.
        """
        dataset = cls(cache_bytes=cache_bytes)
        stored = dataset._indexed(_prepare(_frame_from_api_frame(frame)))
        with dataset._lock:
            dataset._install(stored)
        return dataset

    @staticmethod
    def _indexed(frame: pl.DataFrame) -> pl.DataFrame:
        """Return a sorted stored frame with a fresh 0-based row position column."""
        return frame.with_row_index(_POS)

    def _install(self, frame: pl.DataFrame) -> None:
        """Replace the stored rows, bump the version and drop cached fragments; lock held."""
        self._state = _Snapshot(frame, self._state.version + 1)
        self._cache.clear()
        self._cache_used = 0
        self._cache_full = False

    def _snapshot(self) -> _Snapshot:
        """Return the current immutable rows and version (consistent with each other)."""
        with self._lock:
            return self._state

    def upsert(self, rows: Iterable[Mapping[str, object]]) -> None:
        """Replace rows whose id exists and insert the others; ``ValueError`` on bad rows."""
        new = _prepare(_frame_from_rows(rows))
        with self._lock:
            base = self._state.frame.drop(_POS)
            kept = base.filter(~pl.col(_TYPED_ID).is_in(new[_TYPED_ID].implode()))
            self._install(self._indexed(kept.merge_sorted(new, _TYPED_ID)))

    def set_raw_value(self, row_id: int, column: str, value: object) -> None:
        """Serve ``value`` (any JSON value: an object, an array, a bare number...) as ``column``
        of row ``row_id``, verbatim, as a misbehaving upstream would; ``None`` stops it.

        Only what is served changes: filters and ordering still see the stored row.
        """
        if column not in API_COLUMNS:
            raise ValueError(f"unknown column {column!r}")
        with self._lock:
            overrides = self._raw_values.setdefault(row_id, {})
            if value is None:
                overrides.pop(column, None)
            else:
                overrides[column] = value

    def _with_raw_values(
        self, snapshot: _Snapshot, positions: pl.Series, encoded: pl.Series
    ) -> pl.Series:
        """``encoded`` rows with the raw values set by ``set_raw_value`` substituted."""
        with self._lock:
            raw = {row_id: dict(values) for row_id, values in self._raw_values.items() if values}
        if not raw:
            return encoded
        ids = snapshot.frame.get_column(_TYPED_ID).gather(positions).to_list()
        fragments = encoded.to_list()
        for index, row_id in enumerate(ids):
            if row_id in raw:
                row = json.loads(fragments[index])
                row.update(raw[row_id])
                fragments[index] = json.dumps(row, separators=(",", ":"))
        return pl.Series("json", fragments, dtype=pl.String)

    def delete(self, ids: Iterable[int]) -> None:
        """Remove the rows with these numeric ids; unknown ids are ignored."""
        doomed = pl.Series(list(ids), dtype=pl.Int64).implode()
        with self._lock:
            base = self._state.frame.drop(_POS)
            self._install(self._indexed(base.filter(~pl.col(_TYPED_ID).is_in(doomed))))

    def rows(self) -> list[dict[str, object]]:
        """Return the current rows in API shape (null keys omitted, no ``:id``), sorted by id.

        Malformed checkbox values come back as the strings they were given as.
        """
        columns = [*API_COLUMNS, *(_raw_name(name) for name in _CHECKBOXES)]
        result: list[dict[str, object]] = []
        for row in self._snapshot().frame.select(columns).iter_rows(named=True):
            for name in _CHECKBOXES:
                raw = row.pop(_raw_name(name))
                if raw is not None:
                    row[name] = raw
            result.append({key: value for key, value in row.items() if value is not None})
        return result

    def __len__(self) -> int:
        """Return the number of rows currently held."""
        return self._snapshot().frame.height

    def _fragments(
        self, snapshot: _Snapshot, fields: tuple[str, ...], positions: pl.Series
    ) -> pl.Series:
        """Return JSON object strings for the stored rows at ``positions``, in that order.

        Rows come from cached whole-chunk encodings; missing chunks are encoded and
        cached while the byte budget lasts and while that costs at most a few times
        the page itself (keyset pages touch one or two chunks).  Otherwise, e.g. for
        scattered unordered pages, just the page is encoded.  Cached chunks belong to
        ``snapshot.version`` so a concurrent mutation never mixes versions.
        """
        if positions.is_empty():
            return pl.Series("json", [], dtype=pl.String)
        chunk_of = (positions.cast(pl.Int64) // _CHUNK_ROWS).alias("chunk")
        chunks = chunk_of.unique().sort().to_list()
        height = snapshot.frame.height
        with self._lock:
            cached = {c: self._cache.get((snapshot.version, fields, c)) for c in chunks}
            cache_full = self._cache_full
        missing_rows = sum(
            min(_CHUNK_ROWS, height - c * _CHUNK_ROWS) for c, s in cached.items() if s is None
        )
        if missing_rows and (cache_full or missing_rows > _DIRECT_ENCODE_FACTOR * positions.len()):
            return _encode_rows(snapshot.frame.select(_source_columns(fields))[positions], fields)
        parts: list[pl.Series] = []
        for chunk, encoded in cached.items():
            if encoded is None:
                encoded = _encode_rows(
                    snapshot.frame.slice(chunk * _CHUNK_ROWS, _CHUNK_ROWS), fields
                )
                self._remember((snapshot.version, fields, chunk), encoded)
            parts.append(encoded)
        starts = list(itertools.accumulate((part.len() for part in parts[:-1]), initial=0))
        local = positions.cast(pl.Int64) - chunk_of * _CHUNK_ROWS
        index = local + chunk_of.replace_strict(chunks, starts, return_dtype=pl.Int64)
        return pl.concat(parts).gather(index)

    def _remember(self, key: tuple[int, tuple[str, ...], int], encoded: pl.Series) -> None:
        """Cache an encoded chunk of the current version if it fits the byte budget.

        The first chunk that does not fit marks the cache full until the next mutation,
        so later pages are encoded directly instead of chunk-wise.
        """
        size = int(encoded.estimated_size())
        with self._lock:
            if key[0] != self._state.version:
                return
            if self._cache_used + size > self._cache_bytes:
                self._cache_full = True
                return
            self._cache[key] = encoded
            self._cache_used += size


_Literal = int | float | bool | str | datetime


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
        """Return the expression for the whole clause; ``SoqlError`` on syntax or column errors."""
        expression = self._clause()
        if self._index < len(self._tokens):
            raise _invalid(f"Unexpected {self._tokens[self._index][1]!r} in $where", self._text)
        return expression

    def _peek(self) -> tuple[str, str] | None:
        """Return the next token without consuming it, or ``None`` at the end."""
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _next(self, expected: str) -> tuple[str, str]:
        """Consume and return the next token; ``expected`` names it in the end-of-input error."""
        token = self._peek()
        if token is None:
            raise _invalid(f"Expected {expected} but the $where clause ended", self._text)
        self._index += 1
        return token

    def _accept_word(self, word: str) -> bool:
        """Consume the next token if it is the keyword ``word`` (any case); say whether it was."""
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
            missing = pl.col(column).is_null()
            if column in _CHECKBOXES:
                missing = missing & pl.col(_raw_name(column)).is_null()
            return ~missing if negated else missing
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
            raise _invalid(
                f"Expected a comparison operator after {column} but found {op!r}", self._text
            )
        return _COMPARISONS[op](_typed(column), pl.lit(self._literal(column)))

    @staticmethod
    def _membership(column: str, values: list[_Literal]) -> pl.Expr:
        """Return ``column IN values`` compared by type (numbers as Float64)."""
        kind = _ALL_COLUMNS[column]
        if kind == "number":
            floats = pl.Series(values, dtype=pl.Float64, strict=False)
            return _typed(column).cast(pl.Float64).is_in(floats.implode())
        dtype: pl.DataType = (
            pl.Datetime("us")
            if kind == "floating_timestamp"
            else pl.Boolean()
            if kind == "checkbox"
            else pl.String()
        )
        return _typed(column).is_in(pl.Series(values, dtype=dtype).implode())

    def _literal(self, column: str) -> _Literal:
        """Consume a literal and convert it to the Python value matching ``column``'s type.

        Numbers accept quoted or bare numerals, timestamps quoted ISO values without a
        zone, checkboxes ``true``/``false`` (quoted or not), text only quoted strings;
        anything else raises a type-mismatch ``SoqlError``.
        """
        kind, raw = self._next("a literal")
        if kind == "string":
            text = raw[1:-1].replace("''", "'")
        elif kind == "number" or (kind == "word" and raw.lower() in ("true", "false")):
            text = raw.lower()
        else:
            raise _invalid(f"Expected a literal after {column} but found {raw!r}", self._text)
        column_type = _ALL_COLUMNS[column]
        if column_type == "number" and re.fullmatch(_NUMBER, text):
            return float(text) if "." in text else int(text)
        if column_type == "checkbox" and text in ("true", "false"):
            return text == "true"
        if column_type in ("text", "meta_data") and kind == "string":
            return text
        if column_type == "floating_timestamp" and kind == "string":
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise _type_mismatch(column, raw) from None
            if moment.tzinfo is None:
                return moment
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
    """Parse ``$select`` into (fields, count alias); only ``count(*)`` sets the alias.

    ``*`` expands to all API columns and ``:*`` to the system fields; duplicates are dropped.
    """
    if text is None:
        return tuple(API_COLUMNS), None
    count = _COUNT_SELECT.match(text.strip())
    if count is not None:
        return (), count.group("alias") or "count"
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


def _execute(
    dataset: SocrataDataset, query: _Query, shuffle_seed: int
) -> tuple[bytes, list[str], list[str]]:
    """Run ``query`` and return (JSON body, X-SODA2-Fields, X-SODA2-Types).

    Without ``$order`` the matching rows come back in an order derived from
    ``shuffle_seed`` (a different one per request), never id order.
    """
    snapshot = dataset._snapshot()
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
    encoded = dataset._with_raw_values(
        snapshot, positions, dataset._fragments(snapshot, query.fields, positions)
    )
    body = b"[" + encoded.str.join(",").item().encode() + b"]"
    return body, list(query.fields), [_ALL_COLUMNS[name] for name in query.fields]


FaultKind = Literal["status", "drop", "truncate", "slow", "echo_token"]


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
        """Send 200 and the full ``Content-Length`` but only half the real body, then close."""
        return cls("truncate")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Sleep ``seconds`` and then answer normally."""
        return cls("slow", seconds=seconds)

    @classmethod
    def echo_token(cls, code: int = 403) -> Fault:
        """Answer HTTP ``code`` with an error message quoting the request's ``X-App-Token``,
        as some gateways do."""
        return cls("echo_token", code=code)


def _default_fault_body(code: int) -> object:
    """Return the JSON body sent for a status fault without an explicit body."""
    if code == http.HTTPStatus.ACCEPTED:
        return {"message": "processing"}
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = "Error"
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
    def of_json(
        cls, status: int, payload: object, headers: dict[str, str] | None = None
    ) -> _Response:
        """Return a response whose body is ``payload`` encoded as compact JSON."""
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), dict(headers or {}))


class _Handler(http.server.BaseHTTPRequestHandler):
    """Delegates GETs to the owning ``SocrataServer``; keep-alive, TCP_NODELAY, no logging."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        """Serve one GET request."""
        self.server.app._handle(self)

    def log_message(self, format: str, *args: object) -> None:
        """Discard per-request log lines so test output stays quiet."""

    def write_response(self, response: _Response, *, truncate: bool = False) -> None:
        """Write ``response``; with ``truncate`` send half the body and close the connection."""
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
    """Threaded loopback HTTP server that knows its ``SocrataServer``; quiet on disconnects."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, app: SocrataServer) -> None:
        """Bind to an ephemeral port on the loopback interface."""
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        """Stay silent when the client went away; print the traceback for anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SocrataServer:
    """A running fake Socrata endpoint, used as a context manager.

    ``datasets`` maps dataset ids (``ijzp-q8t2``) to ``SocrataDataset``; ``geojson`` maps
    ids to bytes served verbatim at ``/resource/{id}.geojson``, ``tables`` ids of small
    reference tables to bytes served verbatim at ``/resource/{id}.json`` (whatever the
    query).  Attributes for tests:

    * ``faults`` - FIFO (``collections.deque``; ``append``/``extend`` are thread-safe) of
      ``Fault`` values, one consumed per ``/resource/...`` request before normal handling;
    * ``requests`` - every request received, as ``RecordedRequest``;
    * ``max_page_rows`` - the page cap (see ``__init__``), changeable while serving;
    * ``on_request`` - called with the 1-based count of complete 200 ``.json`` responses,
      just before each is sent.  While it is set, ``/resource`` requests are handled one at a
      time, so a request sent after a response was received sees the hook's changes.
    """

    def __init__(
        self,
        datasets: Mapping[str, SocrataDataset],
        *,
        geojson: Mapping[str, bytes] | None = None,
        tables: Mapping[str, bytes] | None = None,
        max_page_rows: int | None = None,
    ) -> None:
        """Configure the served datasets; the socket is bound and served on ``__enter__``.

        ``max_page_rows`` caps every page below the ``$limit`` asked for, as SODA 2.0
        endpoints (50,000) and some proxies do.
        """
        self.datasets = dict(datasets)
        self.geojson = dict(geojson or {})
        self.tables = dict(tables or {})
        self.faults: collections.deque[Fault] = collections.deque()
        self.requests: list[RecordedRequest] = []
        self.on_request: Callable[[int], None] | None = None
        self.max_page_rows = max_page_rows
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
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
            name="socrata-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
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

    def _handle(self, handler: _Handler) -> None:
        """Serve one request: apply the next fault if any, record it, then answer it.

        The request is recorded (and any `on_request` hook has run) before the first byte of
        the answer leaves, so a client that has its answer can rely on both.
        """
        started = time.perf_counter()
        split = urlsplit(handler.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        truncate = False
        response: _Response | None
        if not split.path.startswith("/resource/"):
            response = _Response.of_json(404, _not_found("Not found"))
        elif self.on_request is None:
            response, truncate = self._answer_resource(split.path, params, handler.headers)
        else:
            with self._hook_lock:
                response, truncate = self._answer_resource(split.path, params, handler.headers)
        self.requests.append(
            RecordedRequest(
                path=split.path,
                target=handler.path,
                params=params,
                headers={name.lower(): value for name, value in handler.headers.items()},
                status=None if response is None else response.status,
            )
        )
        self._add_handler_time(time.perf_counter() - started)
        sending = time.perf_counter()
        try:
            if response is None:
                handler.close_connection = True
            else:
                handler.write_response(response, truncate=truncate)
        finally:
            self._add_handler_time(time.perf_counter() - sending)

    def _add_handler_time(self, seconds: float) -> None:
        with self._stats_lock:
            self._time_in_handlers += seconds

    def _answer_resource(
        self, path: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[_Response | None, bool]:
        """The answer to a ``/resource/...`` request after consuming one fault.

        Returns the response (None to drop the connection) and whether to truncate it.
        """
        try:
            fault: Fault | None = self.faults.popleft()
        except IndexError:
            fault = None
        if fault is not None and fault.kind == "drop":
            return None, False
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            body = _default_fault_body(fault.code) if fault.body is None else fault.body
            if isinstance(body, bytes):
                return _Response(fault.code, body, headers), False
            return _Response.of_json(fault.code, body, headers), False
        if fault is not None and fault.kind == "echo_token":
            token = headers.get("X-App-Token", "")
            body = {"code": "forbidden", "error": True, "message": f"Invalid app token {token}"}
            return _Response.of_json(fault.code, body), False
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        truncate = fault is not None and fault.kind == "truncate"
        match = _RESOURCE_PATH.match(path)
        if match is None:
            return _Response.of_json(404, _not_found("Not found")), truncate
        dataset_id = match.group("dataset")
        if match.group("format") == "geojson":
            blob = self.geojson.get(dataset_id)
            if blob is None:
                return _dataset_not_found(dataset_id), truncate
            return _Response(200, blob, content_type=_GEOJSON_CONTENT_TYPE), truncate
        table = self.tables.get(dataset_id)
        if table is not None:
            return _Response(200, table), truncate
        response = self._query(dataset_id, params)
        if response.status == 200 and not truncate:
            with self._stats_lock:
                self._data_responses += 1
                page = self._data_responses
            if self.on_request is not None:
                self.on_request(page)
        return response, truncate

    def _query(self, dataset_id: str, params: Mapping[str, str]) -> _Response:
        """Evaluate a ``.json`` query against ``dataset_id`` and build the response."""
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            return _dataset_not_found(dataset_id)
        try:
            query = _parse_query(params)
        except SoqlError as error:
            return _Response.of_json(400, error.body())
        if self.max_page_rows is not None and query.limit > self.max_page_rows:
            query = dataclasses.replace(query, limit=self.max_page_rows)
        body, fields, types = _execute(dataset, query, next(self._shuffle_seeds))
        headers = {"X-SODA2-Fields": json.dumps(fields), "X-SODA2-Types": json.dumps(types)}
        return _Response(200, body, headers)


def _not_found(message: str) -> dict[str, object]:
    """Return a Socrata-shaped 404 body."""
    return {"code": "not_found", "error": True, "message": message}


def _dataset_not_found(dataset_id: str) -> _Response:
    """Return the 404 response for an unknown dataset id."""
    return _Response.of_json(404, _not_found(f"Dataset '{dataset_id}' was not found"))
