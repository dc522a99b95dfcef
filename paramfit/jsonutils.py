"""Public import path ``paramfit.jsonutils`` (lmfit 1.3's ``lmfit.jsonutils``).

Re-exports :mod:`paramfit.core.jsonutils`, where ``encode4js`` / ``decode4js`` are defined.
"""

from paramfit.core.jsonutils import *  # noqa: F403
from paramfit.core.jsonutils import __all__  # noqa: F401
