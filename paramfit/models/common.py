"""Definitions shared by the Model layer's modules (below all of them).

The NaN policies, the conversion of data given as lists, tuples or pandas Series, the
finite check of ``nan_policy='raise'``, tie evaluation before a model is evaluated, and
the names of the fit statistics a :class:`~paramfit.models.result.ModelResult` copies
from the core :class:`~paramfit.FitResult` (and :mod:`paramfit.models.io` saves).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from paramfit.core.exceptions import NonFiniteResidualError, OptionError, ParameterError
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.statistics import FitResult

__all__ = ["NAN_POLICIES", "STATISTICS", "check_nan_policy", "finite_or_raise"]

NAN_POLICIES = ("raise", "omit", "propagate")

#: Fit statistics a ModelResult saves (:mod:`paramfit.models.io`): the fields of the core
#: :class:`~paramfit.FitResult` but its Parameters and the solver's own internals
#: (``extras``, the method's own outputs -- a simplex, a grid, a chain --, and ``jac``,
#: the residual's Jacobian, ndata x nvarys numbers: two thirds of a file, read by no
#: loaded result -- the covariance is saved, bands use the model's own derivatives).
STATISTICS = tuple(f.name for f in fields(FitResult)
                   if f.name not in ("params", "x", "termination", "user_code", "active",
                                     "jac_singular_values", "extras", "jac"))


def check_nan_policy(policy: Any, error: type[Exception] = OptionError) -> str:
    """``policy`` if it is one of :data:`NAN_POLICIES`, else ``error`` (a ValueError) with
    lmfit 1.3's wording."""
    if policy not in NAN_POLICIES:
        raise error(f"nan_policy must be 'propagate', 'omit', or 'raise'; got {policy!r}")
    return policy


def _as_data(value: Any) -> Any:
    """Lists, tuples and pandas Series become float arrays; anything else passes through."""
    if isinstance(value, (list, tuple)) or hasattr(value, "to_numpy"):
        value = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biu":
        value = value.astype(float)
    return value


def _current(params: Parameters) -> Parameters:
    """Parameters with tie expressions evaluated (a copy when there are ties)."""
    if not isinstance(params, Parameters):
        raise ParameterError(f"params must be paramfit.Parameters, got {type(params).__name__}")
    if any(p.expr for p in params.values()):
        params = params.copy()
        params.update_constraints()
    return params


def finite_or_raise(name: str, values: np.ndarray, what: str) -> None:
    """Raise :class:`~paramfit.core.exceptions.NonFiniteResidualError` (a ValueError, as
    lmfit's) naming ``what`` when ``values`` holds NaN/inf (nan_policy='raise'); the
    message ends with lmfit 1.3's sentence for it, which lmfit users match."""
    values = np.asarray(values)
    finite = np.isfinite(values) if values.dtype.kind in "fc" else \
        np.isfinite(np.asarray(values, dtype=float))
    bad = np.flatnonzero(~finite.ravel())
    if bad.size:
        raise NonFiniteResidualError(
            f"{what} {name!r} contains {bad.size} NaN/inf value(s) (first at index "
            f"{bad[0]}); pass nan_policy='omit' to drop those points. NaN values detected "
            "in your input data or the output of your objective/model function - fitting "
            "algorithms cannot handle this!")
