"""Run one ingestion and SIGKILL this very process at a chosen pipeline step.

Usage: python -m tests.kill_at_step DATA_DIR BASE_URL STEP N — dies at the Nth `STEP` event
(`fetched`, `partition_written`, `lake_committed`, `state_committed`), like a power cut or an
OOM kill would, with no chance to clean up.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path

from chicrime.ingest.pipeline import ingest_once
from chicrime.settings import Settings


def main() -> None:
    data_dir, base_url, step, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    seen = 0

    def on_step(name: str) -> None:
        nonlocal seen
        if name == step:
            seen += 1
            if seen == nth:
                os.kill(os.getpid(), signal.SIGKILL)

    settings = Settings(
        soda_base_url=base_url,
        data_dir=Path(data_dir),
        start_date=dt.date(2024, 1, 1),
        page_limit=3,
        retry_attempts=2,
        retry_max_seconds=5,
    )
    ingest_once(settings, clock=lambda: dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC), on_step=on_step)


if __name__ == "__main__":
    main()
