"""Public import path ``paramfit.minimizer``: minimize and Minimizer.

Re-exports :mod:`paramfit.fitting.minimizer`, where they are defined.
"""

from paramfit.fitting.minimizer import *  # noqa: F403
from paramfit.fitting.minimizer import __all__  # noqa: F401
