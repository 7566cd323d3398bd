"""Lake-wide facts of one version, written by the commit that builds it, so readers need not scan
the lake for them: how many rows, the first and last `date`, and which primary types and
districts occur. They are kept per partition, so a commit works out only the partitions it
rewrites.

The file lives beside the version directory, `lake/.facts<version>.json`, not inside it: a
reader globbing `lake/crimes/` meets nothing but Parquet. It is written before the version is
swapped in and removed with it; a version without one (built by an older chicrime) simply has
no facts, and readers compute them from the files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from chicrime.store.layout import Partition

__all__ = [
    "FACTS_PREFIX",
    "PartitionFacts",
    "VersionFacts",
    "facts_path",
    "read_facts",
    "write_facts",
]

FACTS_PREFIX = ".facts"


@dataclass(frozen=True)
class PartitionFacts:
    """What one partition's rows hold."""

    rows: int
    first: dt.datetime | None
    last: dt.datetime | None
    primary_types: tuple[str, ...]
    districts: tuple[str, ...]

    @classmethod
    def of(cls, rows: pl.DataFrame | pl.LazyFrame) -> PartitionFacts:
        """The facts of lake rows (at least `date`, `primary_type` and `district`)."""
        summary = (
            rows.lazy()
            .select(
                pl.len().alias("rows"),
                pl.col("date").min().alias("first"),
                pl.col("date").max().alias("last"),
                pl.col("primary_type").drop_nulls().unique().sort().implode(),
                pl.col("district").drop_nulls().unique().sort().implode(),
            )
            .collect()
            .row(0, named=True)
        )
        return cls(
            rows=int(summary["rows"]),
            first=summary["first"],
            last=summary["last"],
            primary_types=tuple(summary["primary_type"]),
            districts=tuple(summary["district"]),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "first": None if self.first is None else self.first.isoformat(),
            "last": None if self.last is None else self.last.isoformat(),
            "primary_types": list(self.primary_types),
            "districts": list(self.districts),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> PartitionFacts:
        """Raises KeyError, TypeError or ValueError for a document not written by `to_json`."""
        first, last = document["first"], document["last"]
        types, districts = document["primary_types"], document["districts"]
        if not isinstance(types, list) or not isinstance(districts, list):
            raise TypeError("primary_types and districts must be lists")
        return cls(
            rows=int(str(document["rows"])),
            first=None if first is None else dt.datetime.fromisoformat(str(first)),
            last=None if last is None else dt.datetime.fromisoformat(str(last)),
            primary_types=tuple(str(t) for t in types),
            districts=tuple(str(d) for d in districts),
        )


@dataclass(frozen=True)
class VersionFacts:
    """The facts of every partition of one version, and of the version as a whole."""

    partitions: Mapping[Partition, PartitionFacts]

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions.values())

    @property
    def first(self) -> dt.datetime | None:
        return min(_present(p.first for p in self.partitions.values()), default=None)

    @property
    def last(self) -> dt.datetime | None:
        return max(_present(p.last for p in self.partitions.values()), default=None)

    @property
    def primary_types(self) -> tuple[str, ...]:
        return tuple(sorted({t for p in self.partitions.values() for t in p.primary_types}))

    @property
    def districts(self) -> tuple[str, ...]:
        return tuple(sorted({d for p in self.partitions.values() for d in p.districts}))


def _present(moments: Iterable[dt.datetime | None]) -> list[dt.datetime]:
    return [m for m in moments if m is not None]


def facts_path(lake_root: Path, version: str) -> Path:
    """`lake/.facts.v-...json`: named after its version, beside it."""
    return lake_root / f"{FACTS_PREFIX}{version}.json"


def read_facts(lake_root: Path, version: str) -> VersionFacts | None:
    """The facts its commit wrote for `version`, or None when there are none readable."""
    try:
        document = json.loads(facts_path(lake_root, version).read_text())
        partitions = {
            (int(year), int(month)): PartitionFacts.from_json(facts)
            for year, month, facts in document["partitions"]
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return VersionFacts(partitions)


def write_facts(lake_root: Path, version: str, facts: VersionFacts) -> None:
    """Write the facts of `version` durably (a temporary file renamed into place)."""
    path = facts_path(lake_root, version)
    temporary = path.with_name(path.name + ".tmp")
    document = {
        "partitions": [
            [year, month, facts.partitions[(year, month)].to_json()]
            for year, month in sorted(facts.partitions)
        ]
    }
    with temporary.open("w") as handle:
        json.dump(document, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
