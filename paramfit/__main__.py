"""``python -m paramfit``: the command line (see :mod:`paramfit.cli.app`)."""

import sys

from paramfit.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
