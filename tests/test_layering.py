"""The package map holds: readers never reach into the writer, the store depends on no user of
it, the Socrata client knows nothing of the dashboard, and publishing/following the object
store knows nothing of either front end (imports read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every `chicrime...` module a source file imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == "chicrime" or m.startswith("chicrime.")}


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def offenders(files: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.startswith(forbidden)
        )
        for path in files
    }
    return {name: modules for name, modules in found.items() if modules}


# Everything above the store and the remote layer: neither may import any of it.
STORE_USERS = (
    "chicrime.ingest",
    "chicrime.analytics",
    "chicrime.app",
    "chicrime.pages",
    "chicrime.demo",
    "chicrime.daemon",
    "chicrime.cli",
    "chicrime.health",
)


@pytest.mark.parametrize(
    ("folders", "forbidden"),
    [
        (("chicrime/analytics", "chicrime/app", "pages"), ("chicrime.ingest", "chicrime.demo")),
        (("chicrime/store",), STORE_USERS),
        (("chicrime/ingest",), ("chicrime.analytics", "chicrime.app", "chicrime.pages")),
        (("chicrime/remote",), STORE_USERS),
        # The dashboard reads what the follower recorded, never the store itself.
        (
            ("chicrime/analytics", "chicrime/app", "pages"),
            ("chicrime.remote.objects", "chicrime.remote.publish", "chicrime.remote.follow"),
        ),
    ],
)
def test_layers_import_only_what_is_below_them(
    folders: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    files = sources(*folders)
    assert files, folders
    assert offenders(files, forbidden) == {}


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The scanner finds imports inside functions too (the CLI's lazy ones, say)."""
    module = tmp_path / "sample.py"
    module.write_text("def f() -> None:\n    from chicrime.ingest.pipeline import ingest_once\n")
    assert imported_modules(module) == {"chicrime.ingest.pipeline"}
