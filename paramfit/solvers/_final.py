"""Bookkeeping of residual evaluations, and the final phase of a Levenberg-Marquardt fit.

:class:`Evaluator` counts calls and remembers the best point ever tried.
:func:`polish` runs after the iteration: it computes the accurate Jacobian
at the best point (:func:`paramfit.jacobian.accurate_jacobian`, unless the
user gave one), takes up to :data:`REFINEMENT_STEPS` Gauss-Newton steps with
it (the forward-difference iteration stops where the *approximate* gradient
vanishes, which can be a few units in the 8th digit away from the minimum),
and checks stationarity with that Jacobian.
"""

from __future__ import annotations

import math

import numpy as np

from paramfit.exceptions import StopFit
from paramfit.jacobian import accurate_jacobian
from paramfit.solvers._bounds import active_bounds, pegged_columns, truncate_step
from paramfit.solvers._termination import LMSolution, Termination
from paramfit.solvers._trust_region import gauss_newton_step, pivoted_qr

__all__ = ["Evaluator", "polish", "REFINEMENT_STEPS", "STATIONARITY_TOL", "scaled_gradient",
           "has_dead_column"]

REFINEMENT_STEPS = 4
#: A refinement step smaller than this (relative) keeps the Jacobian: it changes by
#: about as much, far below what matters for 6-digit standard errors.
JACOBIAN_REUSE_STEP = 1e-8
STATIONARITY_TOL = 1e-6
NEGLIGIBLE_RESIDUAL = 1e-10
EPS = float(np.finfo(float).eps)
_REFINED = (Termination.FTOL, Termination.XTOL, Termination.BOTH, Termination.GTOL,
            Termination.FTOL_TOO_SMALL, Termination.XTOL_TOO_SMALL,
            Termination.GTOL_TOO_SMALL)


class Evaluator:
    """Calls the residual function, counts calls, and keeps the best point tried."""

    def __init__(self, fun, lower: np.ndarray, upper: np.ndarray):
        self.fun = fun
        self.lower, self.upper = lower, upper
        self.nfev = 0
        self.best_x: np.ndarray | None = None
        self.best_f: np.ndarray | None = None
        self.best_norm = math.inf
        self.first_norm = math.inf

    def raw(self, x: np.ndarray) -> np.ndarray:
        """``fun(x)`` as a float array, counted."""
        self.nfev += 1
        return np.asarray(self.fun(x), dtype=float).reshape(-1)

    def first(self, x: np.ndarray) -> np.ndarray:
        f = self.raw(x.copy())
        self.best_x, self.best_f = x, f
        self.best_norm = self.first_norm = math.sqrt(float(f @ f))
        return f

    def trial(self, x: np.ndarray, accept_equal: bool = False) -> tuple[np.ndarray, float]:
        """Evaluate a trial point; a non-finite residual counts as an infinite norm.

        With ``accept_equal`` a point as good as the best (to the last bit) replaces it.
        """
        f = self.raw(x)
        norm = math.sqrt(float(f @ f))
        if not math.isfinite(norm):
            return f, math.inf
        if norm < self.best_norm or (accept_equal and norm == self.best_norm):
            self.best_x, self.best_f, self.best_norm = x, f, norm
        return f, norm

    def solution(self, jac, termination, njev, niter, user_code=None) -> LMSolution:
        x = self.best_x
        return LMSolution(x=x, fun=self.best_f, jac=jac, nfev=self.nfev, njev=njev,
                          niter=niter, termination=termination, user_code=user_code,
                          active=active_bounds(x, self.lower, self.upper))

    def improper(self, x: np.ndarray) -> LMSolution:
        if self.best_x is None:
            self.best_x, self.best_f = x, np.full(0, np.nan)
        nan_jac = np.full((self.best_f.size, x.size), np.nan)
        return self.solution(nan_jac, Termination.IMPROPER_INPUT, 0, 0)

    def user_stop(self, code, njev, niter, jac_x, jac) -> LMSolution:
        """Solution after a user stop: no further call of ``fun``."""
        if self.best_x is None:
            raise StopFit(-1 if code is None else code, "stopped at the first evaluation")
        if jac is None or jac_x is None or not np.array_equal(jac_x, self.best_x):
            jac = np.full((self.best_f.size, self.best_x.size), np.nan)
        return self.solution(jac, Termination.USER_STOP, njev, niter, user_code=code)


def scaled_gradient(jac: np.ndarray, f: np.ndarray, free: np.ndarray) -> float:
    """Largest |cosine| between ``f`` and a free column of ``jac`` (MINPACK ``gnorm``)."""
    fnorm = math.sqrt(float(f @ f))
    norms = np.sqrt(np.einsum("ij,ij->j", jac, jac))
    use = free & (norms > 0.0)
    if fnorm == 0.0 or not use.any():
        return 0.0
    return float(np.max(np.abs(jac[:, use].T @ f) / norms[use]) / fnorm)


def has_dead_column(jac: np.ndarray, x: np.ndarray, f: np.ndarray, free: np.ndarray) -> bool:
    """True when a free parameter has no effect on the residuals to rounding.

    Such a point (e.g. an exponential rate driven so high that ``exp(-b x)``
    underflows) can have a zero gradient without being a minimum.
    """
    norms = np.sqrt(np.einsum("ij,ij->j", jac, jac))
    fnorm = math.sqrt(float(f @ f))
    effect = norms * np.where(x == 0.0, 1.0, np.abs(x))
    return bool(np.any(free & (effect <= EPS * fnorm)))


def _final_jacobian(ev: Evaluator, opt, x: np.ndarray, f: np.ndarray, typical: np.ndarray
                    ) -> tuple[np.ndarray, int]:
    """Jacobian at ``x`` for the covariance: the user's, or the accurate FD one."""
    if opt.jac is not None:
        return np.asarray(opt.jac(x.copy()), dtype=float), 1
    jac, calls = accurate_jacobian(ev.raw, x, f, lower=opt.lower, upper=opt.upper,
                                   typical_x=typical)
    return jac, 0


def _free_mask(x: np.ndarray, jac: np.ndarray, f: np.ndarray, opt) -> np.ndarray:
    return ~pegged_columns(x, jac.T @ f, opt.lower, opt.upper)


def _gauss_newton_trial(ev: Evaluator, opt, x, f, jac) -> tuple[np.ndarray, np.ndarray, float]:
    """One Gauss-Newton step on the free columns; returns trial point, residual, norm."""
    free = np.flatnonzero(_free_mask(x, jac, f, opt))
    step = np.zeros(x.size)
    if free.size:
        step[free] = gauss_newton_step(pivoted_qr(np.asfortranarray(jac[:, free]), f))
    trial, _ = truncate_step(x, step, opt.lower, opt.upper, opt.max_step)
    if np.array_equal(trial, x):
        return trial, f, math.inf
    f1, norm1 = ev.trial(trial, accept_equal=True)
    return trial, f1, norm1


def _refine(ev: Evaluator, opt, x, f, jac, typical):
    """Gauss-Newton steps with the accurate Jacobian while they lower the sum of squares.

    The Jacobian is recomputed only after a step larger than
    :data:`JACOBIAN_REUSE_STEP` (relative).  Returns x, f, the Jacobian and
    the number of Jacobian evaluations.
    """
    calls = 0
    for _ in range(REFINEMENT_STEPS):
        trial, f1, norm1 = _gauss_newton_trial(ev, opt, x, f, jac)
        # equal counts: at the minimum the sum of squares is flat to rounding, and
        # the Gauss-Newton step with an accurate Jacobian still improves x there
        if not norm1 <= math.sqrt(float(f @ f)):
            break
        small = bool(np.all(np.abs(trial - x) <= JACOBIAN_REUSE_STEP * np.abs(x)))
        x, f = trial, f1
        if not small:
            jac, count = _final_jacobian(ev, opt, x, f, typical)
            calls += count
    return x, f, jac, calls


def polish(ev: Evaluator, opt, termination: Termination, njev: int, niter: int,
           jac_x: np.ndarray | None, jac: np.ndarray | None) -> LMSolution:
    """Accurate Jacobian, Gauss-Newton refinement and stationarity check at the best point."""
    x, f = ev.best_x, ev.best_f
    typical = np.abs(x)
    try:
        if opt.jac is not None and jac_x is not None and np.array_equal(jac_x, x):
            final = jac
        else:
            final, calls = _final_jacobian(ev, opt, x, f, typical)
            njev += calls
        if termination in _REFINED:
            x, f, final, calls = _refine(ev, opt, x, f, final, typical)
            njev += calls
    except StopFit as stop:
        return ev.user_stop(stop.code, njev, niter, x, None)
    if termination.converged and ev.best_norm > NEGLIGIBLE_RESIDUAL * ev.first_norm:
        free = _free_mask(x, final, f, opt)
        if (scaled_gradient(final, f, free) > STATIONARITY_TOL
                or has_dead_column(final, x, f, free)):
            termination = Termination.NOT_STATIONARY
    if not np.array_equal(x, ev.best_x):
        final, calls = _final_jacobian(ev, opt, ev.best_x, ev.best_f, typical)
        njev += calls
    return ev.solution(final, termination, njev, niter)
