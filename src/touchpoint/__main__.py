"""``python -m touchpoint``: the command line."""

import sys

from touchpoint.cli import main

sys.exit(main())
