"""Docs as tests: the README and .env.example name every command and setting there is."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import chicrime.settings
from chicrime.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def settings_variables() -> set[str]:
    """Every env var `load_settings` reads, taken from its source."""
    source = Path(chicrime.settings.__file__).read_text()
    return set(re.findall(r'get\(\s*"([A-Z][A-Z0-9_]+)"', source))


def test_every_setting_is_in_the_readme_and_env_example() -> None:
    """Each variable has a README row and an .env.example line."""
    variables = settings_variables()
    assert "BACKFILL_DAYS" in variables
    assert "SODA_APP_TOKEN" in variables
    example = (ROOT / ".env.example").read_text()
    assert sorted(v for v in variables if f"| `{v}` |" not in README) == []
    assert sorted(v for v in variables if not re.search(rf"^{v}=", example, re.M)) == []


def test_every_cli_command_and_option_is_in_the_readme() -> None:
    """Each subcommand and each of its options appears in the README."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, sub in subparsers.choices.items():
        if f"chicrime {name}" not in README:
            missing.append(name)
        for action in sub._actions:
            missing += [
                o for o in action.option_strings if o != "-h" and o != "--help" and o not in README
            ]
    assert missing == []


def test_readme_gives_the_cron_line_and_exit_codes() -> None:
    """The scheduling line and the exit code table are what the CLI does."""
    assert (
        "15 3 * * * cd /path/to/repo && .venv/bin/chicrime ingest --once >> data/logs/ingest.log"
        " 2>&1" in README
    )
    assert "`75` another run is in progress" in README
