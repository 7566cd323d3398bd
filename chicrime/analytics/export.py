"""CSV for download: every lake column a user reads, safe to open in a spreadsheet.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return could run as a formula
in Excel, LibreOffice or Google Sheets (CSV/formula injection, OWASP), so such a cell is prefixed
with a single quote `'`. Numeric and boolean columns are written as they are.
"""

from __future__ import annotations

import re

import polars as pl

from chicrime.analytics.filters import Filters
from chicrime.store.schema import RECORD_FIELDS

__all__ = ["CSV_COLUMNS", "csv_bytes", "csv_filename", "neutralise_formulas"]

# Every lake column but `year`/`month`, which repeat `date`: what the API publishes.
CSV_COLUMNS = RECORD_FIELDS

_FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with `'` put before every text cell a spreadsheet would read as a formula."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )


def csv_bytes(frame: pl.DataFrame, *, header: bool) -> bytes:
    """`frame` as UTF-8 CSV (formulas neutralised, times as `YYYY-MM-DDTHH:MM:SS`)."""
    text = neutralise_formulas(frame).write_csv(
        include_header=header, datetime_format="%Y-%m-%dT%H:%M:%S"
    )
    return text.encode("utf-8")


_NAME_PART = re.compile(r"[^a-z0-9]+")
_NAME_PART_MAX = 40


def csv_filename(filters: Filters, capped: int | None = None) -> str:
    """The download's file name: the dates, then every other filter as `-name-value` (lower
    case, runs of other characters as `_`, each value cut at 40 characters), and
    `-newest-N` when the file holds only the newest `capped` rows of the selection."""
    parts = [f"chicago-incidents-{filters.start}-{filters.end}"]
    for name, value in filters.to_query().items():
        if name not in ("start", "end"):
            parts.append(f"{name}-{_NAME_PART.sub('_', value.lower())[:_NAME_PART_MAX]}")
    if capped is not None:
        parts.append(f"newest-{capped}")
    return "-".join(parts) + ".csv"
