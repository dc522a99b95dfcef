"""Solver outcomes the fit facade builds around the core solver.

:func:`_stopped_at_start` (a fit aborted at its first evaluation),
:func:`_propagated_nan` (NaN/inf start residuals under ``nan_policy='propagate'``) and
:func:`_final_jacobian` (an accurate Jacobian at the solution where the solver left
none), used by :class:`~paramfit.fitting.minimizer.Minimizer`.
"""

from __future__ import annotations

import numpy as np

from paramfit.core.differentiation.solution import accurate_jacobian
from paramfit.core.exceptions import StopFit
from paramfit.core.options import FitOptions
from paramfit.core.problem import FitProblem
from paramfit.core.solvers.final_phase import Evaluator
from paramfit.core.solvers.scipy_methods import dense_jacobian
from paramfit.core.statistics import SolverOutcome
from paramfit.core.termination import Termination

__all__ = ["_stopped_at_start", "_propagated_nan", "_final_jacobian"]


def _stopped_at_start(problem: FitProblem, evaluator: Evaluator) -> SolverOutcome:
    """The outcome of a fit aborted at its first evaluation: the start values."""
    start = problem.start_residual()
    code, _ = Termination.USER_STOP.value
    return SolverOutcome(
        x=problem.x0.copy(), residual=start, jac=None, nfev=evaluator.nfev, njev=0,
        niter=0, success=False, message=f"Fit aborted: {evaluator.stopped}", ier=code,
        termination=Termination.USER_STOP, user_code=code,
        active=np.zeros(problem.nvarys, np.int8),
    )


def _propagated_nan(problem: FitProblem, evaluator: Evaluator, start: np.ndarray
                    ) -> SolverOutcome:
    """``nan_policy='propagate'`` and NaN/inf residuals at the start: the fit ends there,
    as MINPACK's ``lmdif`` does under lmfit 1.3 (its cosine test compares NaN and passes:
    status 4, success), with no error bars."""
    evaluator.first(problem.x0, start)
    x = problem.x0.copy()
    code, message = Termination.GTOL.value
    return SolverOutcome(
        x=x, residual=start, jac=np.full((start.size, problem.nvarys), np.nan),
        nfev=evaluator.nfev, njev=0, niter=0, success=True,
        message="Fit succeeded (as MINPACK with NaN residuals under nan_policy='propagate': "
                "the start values, no error bars): " + message,
        ier=code, termination=Termination.GTOL,
        active=np.zeros(problem.nvarys, np.int8),
    )


def _final_jacobian(problem: FitProblem, evaluator: Evaluator, outcome: SolverOutcome,
                    options: FitOptions) -> None:
    """An accurate Jacobian at the solution where the solver has none (the user's, or
    Richardson-extrapolated differences through the evaluator), and ``nfev`` from the
    evaluator, which counted every call of the fit."""
    if outcome.jac is None or not np.all(np.isfinite(outcome.jac)):
        outcome.jac_gram = None         # whatever Jacobian comes next, not of this one
        try:
            user = None
            if options.jac is not None:
                user = problem.user_jacobian(dense_jacobian(options.jac), options.col_deriv,
                                             allow_gradient=True)(outcome.x)
            if user is not None and user.ndim == 2:
                outcome.jac = user
            else:   # no function, or a scalar method's gradient: no covariance from it
                outcome.jac, _ = accurate_jacobian(evaluator.raw, outcome.x, outcome.residual,
                                                   lower=problem.lower, upper=problem.upper)
        except StopFit:  # the user stops every evaluation now: no error bars
            outcome.jac = np.full((outcome.residual.size, problem.nvarys), np.nan)
    outcome.nfev = evaluator.nfev
