"""paramfit: non-linear least-squares fitting with named, bounded and tied Parameters.

The whole public API is listed here; everything else is internal.
"""

from paramfit.exceptions import (
    BoundsError,
    BoundsWarning,
    ExpressionError,
    ExpressionEvaluationError,
    FitError,
    MissingDependencyError,
    NonFiniteResidualError,
    ParameterError,
    ParamfitError,
    ParamfitWarning,
    ResidualError,
    StopFit,
)
from paramfit.minimizer import Minimizer, minimize
from paramfit.parameters import Parameter, Parameters, ParameterStatus
from paramfit.result import FitResult

__version__ = "0.1.0"

__all__ = [
    "BoundsError",
    "BoundsWarning",
    "ExpressionError",
    "ExpressionEvaluationError",
    "FitError",
    "FitResult",
    "Minimizer",
    "MissingDependencyError",
    "NonFiniteResidualError",
    "Parameter",
    "ParameterError",
    "ParameterStatus",
    "Parameters",
    "ParamfitError",
    "ParamfitWarning",
    "ResidualError",
    "StopFit",
    "minimize",
    "__version__",
]
