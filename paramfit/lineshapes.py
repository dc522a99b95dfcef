"""Public import path ``paramfit.lineshapes``: the lineshape functions.

Re-exports :mod:`paramfit.models.lineshapes`, where they are defined.
"""

from paramfit.models.lineshapes import *  # noqa: F403
from paramfit.models.lineshapes import __all__  # noqa: F401
