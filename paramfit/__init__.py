"""paramfit: non-linear least-squares fitting with named, bounded and tied Parameters.

The whole public API is listed here; everything else is internal.  Only the exceptions
(:mod:`paramfit.core.exceptions`, no dependencies) are imported at once; every other public
name -- ``Parameters`` included -- is imported on first use (PEP 562), so ``import paramfit``
loads neither numpy nor scipy, and importing one submodule (say the expression compiler
:mod:`paramfit.core.expressions.compiler`) loads only what that submodule imports.

Layers (imports point downwards only; ``tests/test_layers.py`` checks it):
``core`` <- ``report`` <- ``fitting`` <- {``models``, ``frontends``, ``reference``} <-
``batch`` <- ``cli``.  The modules at this level (``paramfit.mpfit``, ``paramfit.nls``,
``paramfit.printfuncs``, ``paramfit.models``, ``paramfit.lineshapes``, ...) are the public
import paths and re-export their implementation.
"""

from __future__ import annotations

import importlib
from typing import Any

from paramfit.core import __version__
from paramfit.core.exceptions import (
    BoundsError,
    BoundsWarning,
    ExpressionError,
    ExpressionEvaluationError,
    FitError,
    MissingDependencyError,
    NonFiniteResidualError,
    OptionError,
    ParameterError,
    ParamfitError,
    ParamfitWarning,
    ResidualError,
    StopFit,
)

#: Public name -> module that defines it, imported on first access.
_LAZY = {
    "Parameter": "paramfit.core.parameters.parameter",
    "ParameterStatus": "paramfit.core.parameters.parameter",
    "Parameters": "paramfit.core.parameters.parameters",
    "create_params": "paramfit.core.parameters.parameters",
    "Differentiable": "paramfit.core.expressions.derivatives",
    "Minimizer": "paramfit.fitting.minimizer",
    "MinimizerException": "paramfit.fitting.minimizer",
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
    "CompositeModel": "paramfit.models.composite_model",
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
    "Differentiable",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionModel",
    "FitError",
    "FitResult",
    "Minimizer",
    "MinimizerException",
    "MissingDependencyError",
    "Model",
    "ModelResult",
    "NonFiniteResidualError",
    "OptionError",
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
