"""Public import path ``paramfit._ampgo`` (lmfit 1.3's ``lmfit._ampgo``): AMPGO.

Re-exports :mod:`paramfit.core.solvers.ampgo`, where the algorithm is written.
"""

from paramfit.core.solvers.ampgo import *  # noqa: F403
from paramfit.core.solvers.ampgo import __all__  # noqa: F401
