"""`python -m chicrime.ingest --once [--since DATE]` is `chicrime ingest --once [...]`."""

import sys

from chicrime.cli import main

sys.exit(main(["ingest", *sys.argv[1:]]))
