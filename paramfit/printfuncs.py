"""Public import path ``paramfit.printfuncs``: the text reports (seed 000's printfuncs).

Re-exports :mod:`paramfit.report.text`, where they are defined.
"""

from paramfit.report.text import *  # noqa: F403
from paramfit.report.text import __all__  # noqa: F401
