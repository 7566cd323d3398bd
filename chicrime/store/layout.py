"""Where everything lives under `DATA_DIR`: the one place that spells the on-disk layout.

lake/crimes -> .v-...            the current lake version (a relative symlink)
lake/.v-.../year=YYYY/month=MM/  one version's month partitions
state/chicrime.db, ingest.lock   run history and watermarks; the run lock
state/publish.json, follow.json  with LAKE_URL: the last publish / follow of the object store
staging/run-NNNNNN/              a run's fetched rows until its commit
quarantine/run-NNNNNN.jsonl      rows a run could not use, with the reason
geo/community_areas.geojson      community-area boundaries for the map
geo/population.json              residents per community area (ACS 5-year estimates)
cache/                           the dashboard's query cache and DuckDB spill files
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["LAKE_LINK", "VERSION_PREFIX", "Layout", "Partition", "partition_dir"]

# A month partition: (year, month).
Partition = tuple[int, int]

LAKE_LINK = "crimes"
VERSION_PREFIX = ".v-"


def partition_dir(root: Path, partition: Partition) -> Path:
    """`root/year=YYYY/month=MM`: the hive layout, month zero-padded."""
    year, month = partition
    return root / f"year={year:04d}" / f"month={month:02d}"


@dataclass(frozen=True)
class Layout:
    """The paths of one data directory."""

    data_dir: Path

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def state_db(self) -> Path:
        return self.state_dir / "chicrime.db"

    @property
    def run_lock(self) -> Path:
        return self.state_dir / "ingest.lock"

    @property
    def publish_status(self) -> Path:
        return self.state_dir / "publish.json"

    @property
    def follow_status(self) -> Path:
        return self.state_dir / "follow.json"

    @property
    def follow_manifest(self) -> Path:
        """The manifest of the publication this host serves (which local file has which hash)."""
        return self.state_dir / "follow-manifest.json"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def community_areas(self) -> Path:
        return self.data_dir / "geo" / "community_areas.geojson"

    @property
    def population(self) -> Path:
        return self.data_dir / "geo" / "population.json"

    @property
    def query_cache_dir(self) -> Path:
        return self.data_dir / "cache" / "analytics"

    @property
    def duckdb_temp_dir(self) -> Path:
        return self.data_dir / "cache" / "duckdb"
