"""paramfit: non-linear least-squares fitting with named, bounded and tied Parameters."""

from paramfit.exceptions import (
    BoundsError,
    BoundsWarning,
    ExpressionError,
    ExpressionEvaluationError,
    FitError,
    MissingDependencyError,
    ParameterError,
    ParamfitError,
    ParamfitWarning,
    ResidualError,
    StopFit,
)

__version__ = "0.1.0"
