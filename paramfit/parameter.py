"""Public import path ``paramfit.parameter``: Parameter, Parameters, ParameterStatus.

Re-exports :mod:`paramfit.core.parameters`, where they are defined.
"""

from paramfit.core.parameters import *  # noqa: F403
from paramfit.core.parameters import __all__  # noqa: F401
