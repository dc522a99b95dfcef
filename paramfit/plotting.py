"""Public import path ``paramfit.plotting``: the matplotlib plots.

Re-exports :mod:`paramfit.report.plots`, where they are defined.
"""

from paramfit.report.plots import *  # noqa: F403
from paramfit.report.plots import __all__  # noqa: F401
