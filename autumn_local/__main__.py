"""``python -m autumn_local``: the same program as the ``autumn-local`` command."""

import sys

from autumn_local.run.cli import main

sys.exit(main(prog="python -m autumn_local"))
