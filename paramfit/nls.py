"""Public import path ``paramfit.nls``: the R-style nlxb/nlfb front end (seed 001).

Re-exports :mod:`paramfit.frontends.nls`, where they are defined.
"""

from paramfit.frontends.nls import *  # noqa: F403
from paramfit.frontends.nls import __all__  # noqa: F401
