"""paramfit: non-linear least-squares fitting with named, bounded and tied Parameters.

The whole public API is listed here; everything else is internal.
"""

import paramfit.report.text as printfuncs
from paramfit.models.io import load_model, load_modelresult, save_model, save_modelresult
from paramfit.batch import BatchResult, fit_many
from paramfit.fitting.confidence import conf_interval, conf_interval2d
from paramfit.core.exceptions import (
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
from paramfit.models.expression import ExpressionModel
from paramfit.fitting.minimizer import Minimizer, minimize
from paramfit.models.model import CompositeModel, Model
from paramfit.models.result import ModelResult
from paramfit.core.parameters.parameters import Parameter, Parameters, ParameterStatus
from paramfit.report.text import report_ci, report_errors, report_fit
from paramfit.core.statistics import FitResult

__version__ = "0.1.0"

__all__ = [
    "BatchResult",
    "CompositeModel",
    "ExpressionModel",
    "Model",
    "ModelResult",
    "fit_many",
    "load_model",
    "load_modelresult",
    "save_model",
    "save_modelresult",
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
    "conf_interval",
    "conf_interval2d",
    "minimize",
    "printfuncs",
    "report_ci",
    "report_errors",
    "report_fit",
    "__version__",
]
