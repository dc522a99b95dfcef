"""The Model layer: built-in models, :class:`Model`, :class:`ExpressionModel`.

``from paramfit.models import GaussianModel`` is the public path of the built-in models
(:mod:`paramfit.models.builtin`); the lineshape functions are in
:mod:`paramfit.models.lineshapes` (public path ``paramfit.lineshapes``).
"""

from paramfit.models.builtin import *  # noqa: F403
from paramfit.models.builtin import __all__ as _builtin_all
from paramfit.models.builtin_extended import *  # noqa: F403
from paramfit.models.builtin_extended import __all__ as _extended_all
from paramfit.models.composite_model import CompositeModel
from paramfit.models.expression import ExpressionModel
from paramfit.models.lmfit_format import modelresult_from_lmfit as _lmfit_files  # noqa: F401
from paramfit.models.model import Model

__all__ = [*_builtin_all, *_extended_all, "CompositeModel", "ExpressionModel", "Model"]
