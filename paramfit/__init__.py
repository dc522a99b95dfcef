"""paramfit: non-linear least-squares fitting with named, bounded and tied Parameters.

The whole public API is listed here; everything else is internal.  The core
(Parameters, the exceptions) is imported at once; the Model layer, batch fitting and the
reports are imported on first use (PEP 562), so ``import paramfit`` stays light.

Layers (imports point downwards only; ``tests/test_layers.py`` checks it):
``core`` <- ``report`` <- ``fitting`` <- {``models``, ``frontends``, ``reference``} <-
``batch`` <- ``cli``.  The modules at this level (``paramfit.mpfit``, ``paramfit.nls``,
``paramfit.printfuncs``, ``paramfit.models``, ``paramfit.lineshapes``, ...) are the public
import paths and re-export their implementation.
"""

from __future__ import annotations

import importlib
from typing import Any

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
from paramfit.core.parameters.parameter import Parameter, ParameterStatus
from paramfit.core.parameters.parameters import Parameters, create_params

__version__ = "0.1.0"

#: Public name -> module that defines it, imported on first access.
_LAZY = {
    "Minimizer": "paramfit.fitting.minimizer",
    "minimize": "paramfit.fitting.minimizer",
    "FitResult": "paramfit.core.statistics",
    "conf_interval": "paramfit.fitting.confidence",
    "conf_interval2d": "paramfit.fitting.confidence",
    "ci_report": "paramfit.report.text",
    "fit_report": "paramfit.report.text",
    "report_ci": "paramfit.report.text",
    "report_errors": "paramfit.report.text",
    "report_fit": "paramfit.report.text",
    "printfuncs": "paramfit.printfuncs",
    "Model": "paramfit.models.model",
    "CompositeModel": "paramfit.models.model",
    "ExpressionModel": "paramfit.models.expression",
    "ModelResult": "paramfit.models.result",
    "load_model": "paramfit.models.io",
    "load_modelresult": "paramfit.models.io",
    "save_model": "paramfit.models.io",
    "save_modelresult": "paramfit.models.io",
    "BatchResult": "paramfit.batch.result",
    "fit_many": "paramfit.batch.api",
}

__all__ = [
    "BatchResult",
    "BoundsError",
    "BoundsWarning",
    "CompositeModel",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionModel",
    "FitError",
    "FitResult",
    "Minimizer",
    "MissingDependencyError",
    "Model",
    "ModelResult",
    "NonFiniteResidualError",
    "Parameter",
    "ParameterError",
    "ParameterStatus",
    "Parameters",
    "ParamfitError",
    "ParamfitWarning",
    "ResidualError",
    "StopFit",
    "ci_report",
    "conf_interval",
    "conf_interval2d",
    "create_params",
    "fit_many",
    "fit_report",
    "load_model",
    "load_modelresult",
    "minimize",
    "printfuncs",
    "report_ci",
    "report_errors",
    "report_fit",
    "save_model",
    "save_modelresult",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import the module of a public name on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paramfit' has no attribute {name!r}")
    value = importlib.import_module(module)
    if name != module.rsplit(".", 1)[-1]:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
