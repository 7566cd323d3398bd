"""`chicrime serve` as a child process on a free loopback port, for browser tests and benches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

CHICRIME = str(Path(sys.executable).with_name("chicrime"))
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_dashboard(
    data_dir: Path,
    log: IO[bytes] | IO[str],
    workers: int = 2,
    environ: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `chicrime serve` on `data_dir` (offline map style, `environ` added to this
    process's environment); yield its URL and process.

    Output goes to `log` (a pipe nobody reads would fill and stall the server). Raises
    RuntimeError if it does not answer within a minute; stops it on exit.
    """
    port = free_port()
    env = {**os.environ, **(environ or {}), "DATA_DIR": str(data_dir), "MAP_STYLE": "white-bg"}
    server = subprocess.Popen(
        [CHICRIME, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise RuntimeError("chicrime serve did not come up within 60 s")
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=60)
