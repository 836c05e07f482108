"""``python -m monitor``: see ``monitor/cli.py``."""

import sys

from monitor.cli import main

sys.exit(main())
