"""Writing a fit's result into the user's Parameters: the one place that does.

:func:`_write_parameters` sets the values (ties evaluated at the best fit), ``stderr``,
``correl`` and the fit status (:class:`~paramfit.core.parameters.parameter.ParameterStatus`)
of every parameter; :class:`~paramfit.fitting.minimizer.Minimizer` calls it once a fit
has succeeded.
"""

from __future__ import annotations

from typing import Any

from paramfit.core.parameters.parameters import ParameterStatus
from paramfit.core.problem import FitProblem
from paramfit.core.statistics import FitResult, correlations, standard_errors, tied_stderr

__all__ = ["_write_parameters"]


def _write_parameters(problem: FitProblem, result: FitResult) -> None:
    """Write the fit into the user's Parameters: the one place that does.

    Values (ties evaluated at the best fit), ``stderr``, ``correl`` and the fit
    status of every parameter: held at a bound, free, tied (standard error through
    the tie expressions) or fixed.
    """
    problem.set_values(result.x)
    _write_free(problem, result)
    _write_tied(problem, result)
    free = {id(par) for par in problem.free_params}
    for par in problem.params.values():
        if not par.expr and id(par) not in free:
            par._set_fit_status(ParameterStatus.FIXED, None)


def _write_free(problem: FitProblem, result: FitResult) -> None:
    """Status, ``stderr`` and ``correl`` of the varied parameters; one held at a bound
    gets neither, nor does it appear in the others' correlations."""
    cov, names, active = result.covar, result.var_names, result.active
    inactive = (active == 0).tolist()
    if cov is not None:
        std_array = standard_errors(cov)
        corr = correlations(cov, std_array).tolist()
        std = std_array.tolist()
    for i, par in enumerate(problem.free_params):
        par.correl = None
        par.stderr = None
        if active[i] < 0:
            par._set_fit_status(ParameterStatus.AT_LOWER, "held at its lower bound: no stderr")
            continue
        if active[i] > 0:
            par._set_fit_status(ParameterStatus.AT_UPPER, "held at its upper bound: no stderr")
            continue
        reason = None if cov is not None else "covariance matrix is singular: no stderr"
        par._set_fit_status(_bound_status(par), reason)
        if cov is None:
            continue
        par.stderr = std[i]
        if std[i] > 0:
            row = corr[i]
            par.correl = {other: row[j] for j, other in enumerate(names)
                          if j != i and inactive[j] and std[j] > 0}
        else:
            par.correl = {}


def _write_tied(problem: FitProblem, result: FitResult) -> None:
    """Status and ``stderr`` (:func:`~paramfit.core.statistics.tied_stderr`) of the tied
    parameters."""
    stderr = tied_stderr(problem, result)
    for k, par in enumerate(problem.tied_params):
        par.correl = None
        if stderr is None:
            par.stderr = None
            par._set_fit_status(ParameterStatus.TIED, "covariance unavailable: no stderr")
        else:
            par.stderr = stderr[k]
            par._set_fit_status(ParameterStatus.TIED, None)


def _bound_status(par: Any) -> ParameterStatus:
    v = par._value
    if v < par.min:
        return ParameterStatus.BELOW_LOWER
    if v > par.max:
        return ParameterStatus.ABOVE_UPPER
    return ParameterStatus.FREE
