"""Adapters that run scipy's optimizers on a compiled :class:`~paramfit.core.problem.FitProblem`.

Each adapter takes the problem, the fit's
:class:`~paramfit.core.solvers.final_phase.Evaluator` and its resolved
:class:`~paramfit.core.options.FitOptions`, runs one scipy method on the free vector
with native bounds, and returns a :class:`~paramfit.core.statistics.SolverOutcome`.
The evaluator counts every call and keeps the best point ever evaluated, so a
:class:`~paramfit.StopFit` raised by the residual function or the iteration callback
returns it rather than losing the work done.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize

from paramfit.core.bounds import active_bounds
from paramfit.core.differentiation.finite_differences import finite_difference_jacobian
from paramfit.core.exceptions import FitError, NonFiniteResidualError, StopFit
from paramfit.core.options import FitOptions
from paramfit.core.problem import FitProblem
from paramfit.core.solvers.final_phase import Evaluator
from paramfit.core.statistics import SolverOutcome

__all__ = ["SCALAR_METHODS", "run_least_squares", "run_scalar_method"]

#: paramfit method name -> scipy.optimize.minimize method name
SCALAR_METHODS = {
    "lbfgsb": "L-BFGS-B",
    "l-bfgs-b": "L-BFGS-B",
    "nelder": "Nelder-Mead",
    "nelder-mead": "Nelder-Mead",
    "powell": "Powell",
    "anneal": "dual_annealing",
    "dual_annealing": "dual_annealing",
}


class _Objective:
    """The functions scipy calls, every evaluation through the fit's one
    :class:`~paramfit.core.solvers.final_phase.Evaluator` (count, best point), and the
    iteration callback."""

    def __init__(self, problem: FitProblem, evaluator: Evaluator, callback: Callable | None):
        self.problem = problem
        self.ev = evaluator
        self.callback = callback

    def residual(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float)        # a copy: scipy reuses its arrays
        f = self.ev.raw(x)
        self.ev.record(x, f.copy())
        if self.callback is not None and self.callback(x, self.ev.nfev, f):
            raise StopFit(-1, "fit stopped by the iteration callback")
        return f

    def chisqr(self, x: np.ndarray) -> float:
        """Sum of squares; a non-finite residual is a very large value, so a scalar
        method steps away from it instead of ending the fit."""
        try:
            r = self.residual(x)
        except NonFiniteResidualError:
            if self.ev.best_x is None:  # the start point: the user's error
                raise
            return 1e300
        c = float(r @ r)
        return c if np.isfinite(c) else 1e300

    def outcome(self, *, success: bool, message: str, ier: int, niter: int,
                termination: Any = None, user_code: int | None = None,
                njev: int = 0) -> SolverOutcome:
        ev = self.ev
        if ev.best_x is None:       # nothing evaluated: the start point
            x = self.problem.x0.copy()
            ev.adopt(x, ev.raw(x))
        x = ev.best_x
        return SolverOutcome(
            x=x, residual=ev.best_f, jac=None, nfev=ev.nfev, njev=njev, niter=niter,
            success=success, message=message, ier=ier, termination=termination,
            user_code=user_code, active=active_bounds(x, ev.lower, ev.upper),
        )


def _bounds(problem: FitProblem) -> list[tuple[float | None, float | None]]:
    return [
        (None if not np.isfinite(lo) else lo, None if not np.isfinite(hi) else hi)
        for lo, hi in zip(problem.lower, problem.upper)
    ]


def run_least_squares(problem: FitProblem, evaluator: Evaluator, options: FitOptions,
                      callback: Callable | None = None) -> SolverOutcome:
    """scipy.optimize.least_squares (trust-region reflective by default, ``loss=`` allowed).

    ``options.solver_kws`` go to scipy as given; ``options.max_nfev`` is its ``max_nfev``.
    """
    objective = _Objective(problem, evaluator, callback)
    kws = {"method": "trf", **options.solver_kws}
    if options.max_nfev is not None:
        kws["max_nfev"] = options.max_nfev
    try:
        res = optimize.least_squares(
            objective.residual, problem.x0, bounds=(problem.lower, problem.upper), **kws
        )
    except StopFit as stop:
        return objective.outcome(success=False, message=stop.message, ier=stop.code,
                               niter=evaluator.nfev, user_code=stop.code)
    except TypeError as exc:
        raise FitError(f"least_squares: {exc}") from exc
    # the solver's answer, not the least sum of squares seen: with a robust ``loss``
    # the objective is not the sum of squares
    x = np.array(res.x, dtype=float)
    evaluator.adopt(x, evaluator.raw(x))
    return objective.outcome(success=bool(res.success), message=str(res.message),
                           ier=int(res.status), niter=int(res.nfev),
                           njev=int(res.njev or 0))


def run_scalar_method(problem: FitProblem, evaluator: Evaluator, options: FitOptions,
                      callback: Callable | None = None) -> SolverOutcome:
    """Minimize ``chisqr = sum(residual**2)`` with a scalar scipy method.

    ``'lbfgsb'`` uses the gradient ``2 Jᵀ r`` from paramfit's finite-difference
    Jacobian; ``'anneal'`` is scipy's dual annealing (scipy removed ``anneal``), which
    needs finite bounds and is seeded (``seed=0`` unless given) so that the same
    inputs give the same result.  ``options.solver_kws`` go to scipy as given;
    ``options.max_nfev`` becomes the method's own limit (``maxfun`` or ``maxfev``).
    """
    method = options.method
    scipy_method = SCALAR_METHODS[method]
    objective = _Objective(problem, evaluator, callback)
    kws = dict(options.solver_kws)
    max_nfev = options.max_nfev
    try:
        if scipy_method == "dual_annealing":
            res = _dual_annealing(problem, objective, max_nfev, kws)
        else:
            scipy_options = dict(kws.pop("options", {}))
            if max_nfev is not None:
                key = "maxfun" if scipy_method == "L-BFGS-B" else "maxfev"
                scipy_options[key] = int(max_nfev)
            jac = _gradient(problem, objective) if scipy_method == "L-BFGS-B" else None
            res = optimize.minimize(
                objective.chisqr, problem.x0, method=scipy_method, jac=jac,
                bounds=_bounds(problem), options=scipy_options, **kws,
            )
    except StopFit as stop:
        return objective.outcome(success=False, message=stop.message, ier=stop.code,
                               niter=evaluator.nfev, user_code=stop.code)
    except TypeError as exc:
        raise FitError(f"{method}: {exc}") from exc
    return objective.outcome(success=bool(res.success), message=str(res.message),
                           ier=int(getattr(res, "status", 0) or 0),
                           niter=int(getattr(res, "nit", evaluator.nfev)))


def _gradient(problem: FitProblem, objective: _Objective) -> Callable:
    def grad(x: np.ndarray) -> np.ndarray:
        r = objective.residual(x)
        jac, _ = finite_difference_jacobian(
            objective.residual, np.asarray(x, dtype=float), r, lower=problem.lower,
            upper=problem.upper, absolute_step=problem.absolute_step,
            relative_step=problem.relative_step, side=problem.side,
        )
        return 2.0 * (jac.T @ r)

    return grad


def _dual_annealing(problem: FitProblem, objective: _Objective, max_nfev: int | None,
                    kws: dict) -> Any:
    missing = [name for name, lo, hi in zip(problem.free_names, problem.lower, problem.upper)
               if not (np.isfinite(lo) and np.isfinite(hi))]
    if missing:
        raise FitError(
            "method 'anneal' (dual annealing) searches a finite box: give finite min and max "
            f"to the varied parameter(s) {', '.join(missing)}"
        )
    if max_nfev is not None:
        kws.setdefault("maxfun", int(max_nfev))
    seed_kw = "rng" if "rng" in inspect.signature(optimize.dual_annealing).parameters else "seed"
    if "seed" in kws and seed_kw == "rng":
        kws["rng"] = kws.pop("seed")
    kws.setdefault(seed_kw, 0)
    return optimize.dual_annealing(
        objective.chisqr, bounds=list(zip(problem.lower, problem.upper)), x0=problem.x0, **kws
    )
