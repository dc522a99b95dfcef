"""Adapters that run scipy's optimizers on a compiled :class:`~paramfit.core.problem.FitProblem`.

Each adapter takes the problem and the user's keyword arguments, runs one scipy
method on the free vector with native bounds, and returns a
:class:`~paramfit.core.statistics.SolverOutcome`.  The best point ever evaluated is kept,
so a :class:`~paramfit.StopFit` raised by the residual function or the iteration
callback returns it rather than losing the work done.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize

from paramfit.core.differentiation.finite_differences import finite_difference_jacobian
from paramfit.core.exceptions import FitError, NonFiniteResidualError, StopFit
from paramfit.core.problem import FitProblem
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


class _Tracker:
    """Counts evaluations, keeps the best point and runs the iteration callback."""

    def __init__(self, problem: FitProblem, callback: Callable | None):
        self.problem = problem
        self.callback = callback
        self.best_x = problem.x0.copy()
        self.best_r: np.ndarray | None = None
        self.best_chisqr = np.inf
        self.nfev = 0

    def residual(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        r = self.problem.residual(x)
        self.nfev += 1
        c = float(r @ r)
        if c < self.best_chisqr or self.best_r is None:
            self.best_chisqr, self.best_x, self.best_r = c, x.copy(), r.copy()
        if self.callback is not None and self.callback(x, self.nfev, r):
            raise StopFit(-1, "fit stopped by the iteration callback")
        return r

    def chisqr(self, x: np.ndarray) -> float:
        """Sum of squares; a non-finite residual is a very large value, so a scalar
        method steps away from it instead of ending the fit."""
        try:
            r = self.residual(x)
        except NonFiniteResidualError:
            if self.best_r is None:  # the start point: the user's error
                raise
            return 1e300
        c = float(r @ r)
        return c if np.isfinite(c) else 1e300

    def outcome(self, *, success: bool, message: str, ier: int, niter: int,
                termination: Any = None, user_code: int | None = None,
                njev: int = 0) -> SolverOutcome:
        if self.best_r is None:
            x = self.best_x
            self.best_r = self.problem.residual(x)
            self.nfev += 1
        x = self.best_x
        active = np.zeros(x.size, dtype=np.int8)
        active[x <= self.problem.lower] = -1
        active[x >= self.problem.upper] = 1
        return SolverOutcome(
            x=x, fun=self.best_r, jac=None, nfev=self.nfev, njev=njev, niter=niter,
            success=success, message=message, ier=ier, termination=termination,
            user_code=user_code, active=active,
        )


def _bounds(problem: FitProblem) -> list[tuple[float | None, float | None]]:
    return [
        (None if not np.isfinite(lo) else lo, None if not np.isfinite(hi) else hi)
        for lo, hi in zip(problem.lower, problem.upper)
    ]


def run_least_squares(problem: FitProblem, callback: Callable | None = None,
                      **kws: Any) -> SolverOutcome:
    """scipy.optimize.least_squares (trust-region reflective by default, ``loss=`` allowed)."""
    tracker = _Tracker(problem, callback)
    kws.setdefault("method", "trf")
    if "max_nfev" in kws and kws["max_nfev"] is None:
        del kws["max_nfev"]
    try:
        res = optimize.least_squares(
            tracker.residual, problem.x0, bounds=(problem.lower, problem.upper), **kws
        )
    except StopFit as stop:
        return tracker.outcome(success=False, message=stop.message, ier=stop.code,
                               niter=tracker.nfev, user_code=stop.code)
    except TypeError as exc:
        raise FitError(f"least_squares: {exc}") from exc
    # the solver's answer, not the least sum of squares seen: with a robust ``loss``
    # the objective is not the sum of squares
    tracker.best_x, tracker.best_r = np.asarray(res.x, dtype=float), None
    return tracker.outcome(success=bool(res.success), message=str(res.message),
                           ier=int(res.status), niter=int(res.nfev),
                           njev=int(res.njev or 0))


def run_scalar_method(problem: FitProblem, method: str, callback: Callable | None = None,
                      **kws: Any) -> SolverOutcome:
    """Minimize ``chisqr = sum(residual**2)`` with a scalar scipy method.

    ``'lbfgsb'`` uses the gradient ``2 Jᵀ r`` from paramfit's finite-difference
    Jacobian; ``'anneal'`` is scipy's dual annealing (scipy removed ``anneal``), which
    needs finite bounds and is seeded (``seed=0`` unless given) so that the same
    inputs give the same result.
    """
    scipy_method = SCALAR_METHODS[method.lower()]
    tracker = _Tracker(problem, callback)
    max_nfev = kws.pop("max_nfev", None)
    try:
        if scipy_method == "dual_annealing":
            res = _dual_annealing(problem, tracker, max_nfev, kws)
        else:
            options = dict(kws.pop("options", {}))
            if max_nfev is not None:
                key = "maxfun" if scipy_method == "L-BFGS-B" else "maxfev"
                options[key] = int(max_nfev)
            jac = _gradient(problem, tracker) if scipy_method == "L-BFGS-B" else None
            res = optimize.minimize(
                tracker.chisqr, problem.x0, method=scipy_method, jac=jac,
                bounds=_bounds(problem), options=options, **kws,
            )
    except StopFit as stop:
        return tracker.outcome(success=False, message=stop.message, ier=stop.code,
                               niter=tracker.nfev, user_code=stop.code)
    except TypeError as exc:
        raise FitError(f"{method}: {exc}") from exc
    return tracker.outcome(success=bool(res.success), message=str(res.message),
                           ier=int(getattr(res, "status", 0) or 0),
                           niter=int(getattr(res, "nit", tracker.nfev)))


def _gradient(problem: FitProblem, tracker: _Tracker) -> Callable:
    def grad(x: np.ndarray) -> np.ndarray:
        r = tracker.residual(x)
        jac, _ = finite_difference_jacobian(
            tracker.residual, np.asarray(x, dtype=float), r, lower=problem.lower,
            upper=problem.upper, absolute_step=problem.absolute_step,
            relative_step=problem.relative_step, side=problem.side,
        )
        return 2.0 * (jac.T @ r)

    return grad


def _dual_annealing(problem: FitProblem, tracker: _Tracker, max_nfev: int | None,
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
        tracker.chisqr, bounds=list(zip(problem.lower, problem.upper)), x0=problem.x0, **kws
    )
