"""The systemd units in `systemd/`: they verify cleanly and keep their hardening."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "systemd"
INSTALLED_BINARY = "/opt/chicrime/.venv/bin/chicrime"
SERVICES = ("chicrime-ingest.service", "chicrime-web.service", "chicrime-daemon.service")
HARDENING = {
    "DynamicUser": "yes",
    "StateDirectory": "chicrime",
    "WorkingDirectory": "/var/lib/chicrime",
    "EnvironmentFile": "-/etc/chicrime/chicrime.env",
    "Environment": "DATA_DIR=/var/lib/chicrime",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "SystemCallFilter": "@system-service",
    "SystemCallArchitectures": "native",
    "CapabilityBoundingSet": "",
    "UMask": "0027",
}


def read_unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs systemd-analyze to verify the units: apt-get install systemd")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    return found


def test_unit_files_are_the_four_documented_ones() -> None:
    """`systemd/` holds the ingest service and timer, the web service and the daemon service."""
    assert sorted(p.name for p in UNITS.iterdir()) == sorted([*SERVICES, "chicrime-ingest.timer"])


def test_every_unit_verifies_without_a_single_warning(tmp_path: Path) -> None:
    """`systemd-analyze verify` prints nothing and exits 0 for all units (stub ExecStart binary)."""
    analyze = systemd_analyze()
    stub = tmp_path / "chicrime"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    names = sorted(p.name for p in UNITS.iterdir())
    for name in names:
        text = (UNITS / name).read_text()
        (tmp_path / name).write_text(text.replace(INSTALLED_BINARY, str(stub)))
    result = subprocess.run(
        [analyze, "verify", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_verify_reports_what_the_test_must_catch(tmp_path: Path) -> None:
    """An unknown key and a missing binary both produce output, so the clean run above means it."""
    analyze = systemd_analyze()
    (tmp_path / "broken.service").write_text(
        "[Service]\nType=oneshot\nExecStart=/nonexistent/chicrime ingest --once\n"
        "ProtectSytem=strict\n"
    )
    result = subprocess.run(
        [analyze, "verify", "broken.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "ProtectSytem" in result.stderr
    assert "/nonexistent/chicrime" in result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_service_runs_unprivileged_and_hardened(name: str) -> None:
    """Each service has every hardening key with the value the README promises."""
    service = read_unit(name)["Service"]
    assert {key: service.get(key) for key in HARDENING} == HARDENING
    assert "MemoryDenyWriteExecute" not in service  # polars' CPU check needs W^X off
    assert service["ExecStart"].startswith(INSTALLED_BINARY + " ")


def test_services_run_the_documented_commands() -> None:
    """Ingest is a oneshot `ingest --once`, web serves on loopback, the daemon is Type=notify."""
    ingest = read_unit("chicrime-ingest.service")["Service"]
    web = read_unit("chicrime-web.service")["Service"]
    daemon = read_unit("chicrime-daemon.service")["Service"]
    assert (ingest["Type"], ingest["ExecStart"]) == ("oneshot", f"{INSTALLED_BINARY} ingest --once")
    assert web["ExecStart"] == f"{INSTALLED_BINARY} serve --host 127.0.0.1 --port 8050"
    assert web["Restart"] == "on-failure"
    assert (daemon["Type"], daemon["ExecStart"]) == ("notify", f"{INSTALLED_BINARY} daemon")
    assert (daemon["Restart"], daemon["WatchdogSec"]) == ("on-failure", "2min")


def test_timer_is_daily_persistent_and_randomized() -> None:
    """The timer fires daily in Chicago time, catches up after downtime and spreads the load."""
    timer = read_unit("chicrime-ingest.timer")
    assert dict(timer["Timer"]) == {
        "OnCalendar": "*-*-* 03:15:00 America/Chicago",
        "Persistent": "true",
        "RandomizedDelaySec": "15min",
        "Unit": "chicrime-ingest.service",
    }
    assert timer["Install"]["WantedBy"] == "timers.target"
