"""``python -m paramfit``: the command line (see :mod:`paramfit.cli`)."""

import sys

from paramfit.cli import main

if __name__ == "__main__":
    sys.exit(main())
