"""Public import path ``paramfit.mpfit``: the MPFIT front end (seed 002).

Re-exports :mod:`paramfit.frontends.mpfit`, where they are defined.
"""

from paramfit.frontends.mpfit import *  # noqa: F403
from paramfit.frontends.mpfit import __all__  # noqa: F401
