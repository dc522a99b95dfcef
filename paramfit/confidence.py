"""Public import path ``paramfit.confidence``: conf_interval and conf_interval2d.

Re-exports :mod:`paramfit.fitting.confidence`, where they are defined.
"""

from paramfit.fitting.confidence import *  # noqa: F403
from paramfit.fitting.confidence import __all__  # noqa: F401
