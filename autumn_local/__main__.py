"""``python -m autumn_local``."""

import sys

from autumn_local.cli import main

sys.exit(main())
