"""Safe compiled expressions: parse, whitelist, compile (:mod:`.compiler`), the symbol
tables (:mod:`.symbols`) and the scalar/array functions (:mod:`.functions`)."""

from paramfit.core.expressions.compiler import *  # noqa: F403
from paramfit.core.expressions.compiler import __all__  # noqa: F401
