"""A publication: every file a host needs to serve one lake version, named by its content.

It holds the version's partitions, facts, rollups and record history, the community-area
boundaries and populations, and a snapshot of the state database (run history: the dashboard's
freshness and `chicrime status`). Each file is listed by its path under DATA_DIR with the
SHA-256 and size of its bytes, and stored once in the object store under that hash, so a file
shared by many versions (an untouched month) is uploaded and downloaded once.

A manifest read from a store is checked before any of it is used: every path must be one a
publication can hold, so a damaged or hostile manifest can never write outside DATA_DIR.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from chicrime.errors import LakeError, ObjectStoreError
from chicrime.store.facts import facts_path, read_facts
from chicrime.store.history import history_dir
from chicrime.store.layout import Layout
from chicrime.store.rollups import rollups_dir

__all__ = [
    "Entry",
    "Manifest",
    "build_manifest",
    "file_sha256",
    "host_files",
    "lake_roots",
    "version_roots",
]

_FORMAT = 1
_VERSION = re.compile(r"\.v-[A-Za-z0-9_-]{1,100}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 8 * 2**20


@dataclass(frozen=True)
class Entry:
    path: str  # relative to DATA_DIR, "/"-separated
    sha256: str
    size: int

    @property
    def key(self) -> str:
        """Where the file's bytes are in the store (relative to LAKE_URL)."""
        return f"objects/{self.sha256[:2]}/{self.sha256}"


@dataclass(frozen=True)
class Manifest:
    version: str  # the lake version's directory name, `.v-...`
    rows: int  # the version's lake rows (from its facts)
    synthetic: bool  # written by `chicrime demo`
    entries: tuple[Entry, ...]

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": _FORMAT,
                "version": self.version,
                "rows": self.rows,
                "synthetic": self.synthetic,
                "files": [[e.path, e.sha256, e.size] for e in self.entries],
            },
            indent=0,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes, source: str) -> Manifest:
        """The manifest in `raw`; `ObjectStoreError` naming `source` if it is not a valid one."""
        try:
            document = json.loads(raw)
            version = document["version"]
            rows = int(document["rows"])
            synthetic = document["synthetic"]
            if (
                document["format"] != _FORMAT
                or not _VERSION.fullmatch(version)
                or rows < 0
                or not isinstance(synthetic, bool)
            ):
                raise ValueError(f"format {document['format']!r}, version {version!r}, {rows} rows")
            entries = tuple(Entry(str(p), str(h), int(n)) for p, h, n in document["files"])
            roots = version_roots(Layout(Path(".")), version)
            for entry in entries:
                if not _SHA256.fullmatch(entry.sha256) or entry.size < 0:
                    raise ValueError(f"{entry.path}: hash {entry.sha256!r}, size {entry.size}")
                if not _allowed(entry.path, roots):
                    raise ValueError(f"{entry.path!r} is not a path a publication may hold")
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise ObjectStoreError(
                f"{source} is not a chicrime manifest this version can use ({exc}); nothing was "
                "downloaded. Publish again with this chicrime version."
            ) from None
        return cls(version, rows, synthetic, entries)


def version_roots(layout: Layout, version: str) -> tuple[str, ...]:
    """The paths (relative to DATA_DIR) a publication of `version` may hold: `lake_roots`, then
    `host_files`."""
    return lake_roots(layout, version) + host_files(layout)


def lake_roots(layout: Layout, version: str) -> tuple[str, ...]:
    """The version's own directories and facts under `lake/`; its directory first."""
    lake = layout.lake_dir
    return _relative(
        layout,
        lake / version,
        facts_path(lake, version),
        rollups_dir(lake, version),
        history_dir(lake, version),
    )


def host_files(layout: Layout) -> tuple[str, ...]:
    """The boundaries, populations and state database a publication carries beside its lake."""
    return _relative(layout, layout.community_areas, layout.population, layout.state_db)


def _relative(layout: Layout, *paths: Path) -> tuple[str, ...]:
    return tuple(path.relative_to(layout.data_dir).as_posix() for path in paths)


def build_manifest(
    layout: Layout, version: str, state_snapshot: Path, synthetic: bool
) -> tuple[Manifest, dict[str, Path]]:
    """The manifest of `version` as it is on disk, and each entry's local file.

    `state_snapshot` stands in for the state database (a consistent copy of it). Boundaries
    and populations that were never fetched are left out. `LakeError` if the version has no
    facts (a version an older chicrime wrote: the next commit writes them).
    """
    sources: dict[str, Path] = {}
    (state,) = _relative(layout, layout.state_db)
    for root in version_roots(layout, version):
        local = state_snapshot if root == state else layout.data_dir / root
        if local.is_file():
            sources[root] = local
        elif local.is_dir():
            for path in sorted(p for p in local.rglob("*") if p.is_file()):
                sources[root + "/" + path.relative_to(local).as_posix()] = path
    entries = tuple(
        Entry(path, file_sha256(local), local.stat().st_size) for path, local in sources.items()
    )
    facts = read_facts(layout.lake_dir, version)
    if facts is None:
        raise LakeError(
            f"{version} has no facts file, so its size is not known: it cannot be published. "
            "The next `chicrime ingest --once` that changes the lake writes one."
        )
    return Manifest(version, facts.rows, synthetic, entries), sources


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _allowed(path: str, roots: tuple[str, ...]) -> bool:
    if any(part in ("", ".", "..") for part in path.split("/")) or not path.isprintable():
        return False
    return any(path == root or path.startswith(root + "/") for root in roots)
