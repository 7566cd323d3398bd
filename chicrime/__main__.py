"""`python -m chicrime ...` is the `chicrime` command."""

import sys

from chicrime.cli import main

sys.exit(main())
