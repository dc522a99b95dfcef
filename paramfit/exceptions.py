"""Public import path ``paramfit.exceptions``: the exception and warning classes.

Re-exports :mod:`paramfit.core.exceptions`, where they are defined.
"""

from paramfit.core.exceptions import *  # noqa: F403
from paramfit.core.exceptions import __all__  # noqa: F401
