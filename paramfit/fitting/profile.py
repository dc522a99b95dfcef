"""Profile re-fits and the root finding behind :func:`paramfit.fitting.confidence.conf_interval`.

:class:`_Profile` re-fits the free parameters of a fitted problem with one or two
parameters held at trial values (warm-started from the nearest solution already
computed; see :meth:`paramfit.core.problem.FitProblem.set_held`).  :class:`_OneSide`
finds the confidence limits of one parameter on one side of the best fit: it steps
out in whole multiples of ``stderr`` until the largest level is bracketed, then
solves for each level by safeguarded inverse interpolation of
``z = sqrt(Δχ²/redchi_0)`` (cubic Hermite with the profile slope from the envelope
theorem, else quadratic), with :func:`scipy.optimize.brentq` as the fallback.

Private except for :class:`FitStatistics` (public from :mod:`paramfit.fitting.confidence`):
the public front ends and the probability functions live in
:mod:`paramfit.fitting.confidence`, which imports this module (never the reverse).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from paramfit.core.differentiation.finite_differences import finite_difference_jacobian
from paramfit.core.exceptions import ResidualError
from paramfit.core.problem import FitProblem
from paramfit.core.solvers.levenberg_marquardt import levenberg_marquardt

__all__ = ["FitStatistics"]  # the rest is private: used by paramfit.fitting.confidence only

ProbFunc = Callable[[Any, Any], float]  # prob_func(best, new) -> probability

_SCORE_TOL = 1e-6  # root-finder tolerance on z (standard errors) or on the probability
_XTOL = 1e-9       # root-finder tolerance on the value, in units of stderr
_IQI_STEPS = 6     # interpolation steps before falling back to brentq
_OVERSHOOT = 1.5   # stepping out aims this far beyond the largest level
_SQRT_EPS = math.sqrt(np.finfo(float).eps)
# Re-fit tolerances: chi-square to ~1e-9 relative moves z by < 1e-7 for N <= ~1e3;
# tighter ones make the solver crawl along flat valleys for nothing.
_FTOL = 1e-9


@dataclass(frozen=True)
class FitStatistics:
    """The numbers a probability function needs about one fit.

    ``prob_func(best, new)`` receives two of these (the best fit and the fit with
    parameters held), or anything else with the same attributes (a
    :class:`~paramfit.core.statistics.FitResult`, an lmfit ``MinimizerResult``), so lmfit's
    ``f_compare`` works unchanged as a ``prob_func``.

    Attributes
    ----------
    chisqr : float
        Chi-square of the fit.
    nvarys : int
        Number of parameters varied in that fit.
    ndata : int
        Number of residuals.
    """

    chisqr: float
    nvarys: int
    ndata: int

    @property
    def nfree(self) -> int:
        """Degrees of freedom ``ndata - nvarys``."""
        return self.ndata - self.nvarys


# ---------------------------------------------------------------------- profiles
class _Profile:
    """Re-fit the free parameters with ``held`` parameters fixed at trial values.

    Each re-fit starts from the solutions at the nearest trial values already
    computed (linearly extrapolated from the two nearest), and uses a plain
    forward-difference Jacobian (or the user's analytic one): only the minimum
    chi-square is needed here, not the accurate Jacobian a covariance needs.
    """

    def __init__(self, fitter: Any, held: Sequence[str], scales: Sequence[float]):
        params = fitter.params.copy()
        self.held = tuple(held)
        self.scales = np.asarray(scales, dtype=float)
        # 'raise' becomes 'propagate' inside: a trial step into a region where the
        # model is not finite is then rejected by the solver instead of ending the
        # profile; a non-finite *solution* still raises (see chisqr).
        nan_policy = getattr(fitter, "nan_policy", "raise")
        self.problem = FitProblem(
            fitter.userfcn, params, fitter.userargs, fitter.userkws,
            nan_policy="propagate" if nan_policy == "raise" else nan_policy,
            infeasible=getattr(fitter, "infeasible", "warn"),
            fixed={name: params[name].value for name in held},
        )
        self.names = list(params)
        self.jac = _profile_jacobian(fitter, self.problem) or self._forward_jacobian
        self._last: tuple[np.ndarray, np.ndarray] | None = None
        self._fd_options = _difference_options(self.problem)
        best = np.array([params[name].value for name in held])
        self.points = [(best, self.problem.x0.copy())]  # (held values, free x) computed
        self.records: list[list[float]] = []                 # all values + chi-square

    def _residual(self, x: np.ndarray) -> np.ndarray:
        f = self.problem.residual(x)
        self._last = (x.copy(), f)
        return f

    def _forward_jacobian(self, x: np.ndarray) -> np.ndarray:
        """The solver's own finite-difference Jacobian (MINPACK forward differences, the
        parameters' step options, never across a bound), reusing the residual at ``x``."""
        problem = self.problem
        last = self._last
        f0 = last[1] if last is not None and np.array_equal(last[0], x) else self._residual(x)
        jac, _ = finite_difference_jacobian(problem.residual, x, f0, **self._fd_options)
        return jac

    def _warm_start(self, values: np.ndarray) -> np.ndarray:
        dist = np.array([np.sum(((v - values) / self.scales) ** 2) for v, _ in self.points])
        order = np.argsort(dist, kind="stable")
        (v1, x1) = self.points[order[0]]
        if len(order) < 2 or len(self.held) != 1:
            return x1.copy()
        (v2, x2) = self.points[order[1]]
        if v1[0] == v2[0] or abs(values[0] - v1[0]) > 2.0 * abs(v1[0] - v2[0]):
            return x1.copy()
        guess = x1 + (x1 - x2) * ((values[0] - v1[0]) / (v1[0] - v2[0]))
        guess = np.clip(guess, self.problem.lower, self.problem.upper)
        # the extrapolation can point into another basin (a degenerate or multi-modal
        # profile): start from whichever of it and the nearest solution fits better
        return guess if self._start_chisqr(guess) <= self._start_chisqr(x1) else x1.copy()

    def _start_chisqr(self, x: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            f = self.problem.residual(x)
        value = float(f @ f)
        return value if math.isfinite(value) else math.inf

    def chisqr(self, values: Sequence[float]) -> float:
        """Chi-square of the best re-fit with the held parameters at ``values``."""
        problem = self.problem
        values = np.asarray(values, dtype=float)
        for name, value in zip(self.held, values, strict=True):
            problem.set_held(name, value)
        x0 = self._warm_start(values)
        with np.errstate(all="ignore"):  # trial steps far out may overflow
            if problem.nvarys == 0:
                x, resid = x0, problem.residual(x0)
            else:
                sol = levenberg_marquardt(
                    self._residual, x0, jac=self.jac, lower=problem.lower,
                    upper=problem.upper, max_step=problem.max_step, ftol=_FTOL, xtol=_FTOL,
                )
                x, resid = sol.x, sol.fun
                problem.set_values(x)
        chisqr = float(resid @ resid)
        if not math.isfinite(chisqr):
            raise ResidualError(
                f"the residual function is not finite at the best re-fit with "
                f"{', '.join(self.held)} held ({problem.describe_values()}); narrow the "
                "range (limits=, sigmas=) or bound the parameters"
            )
        self.points.append((values, np.array(x, dtype=float)))
        self.records.append([problem.params[n]._value for n in self.names] + [chisqr])
        self.last_x, self.last_resid = np.array(x, dtype=float), resid
        return chisqr

    def slope(self, step: float) -> float:
        """d(chisqr)/d(held value) at the last re-fit, the one held parameter moved by
        ``step``: at a re-fitted minimum the total derivative equals the partial one
        (envelope theorem), so one residual evaluation gives it."""
        problem, name = self.problem, self.held[0]
        value = problem.params[name]._value
        x, resid = self.last_x, self.last_resid
        problem.set_held(name, value + step)
        try:
            with np.errstate(all="ignore"):
                moved = problem.residual(x)
        finally:
            problem.set_held(name, value)
            problem.set_values(x)
        return float(2.0 * resid @ (moved - resid) / step)


def _difference_options(problem: FitProblem) -> dict[str, np.ndarray | None]:
    """The problem's finite-difference options for
    :func:`~paramfit.core.differentiation.finite_differences.finite_difference_jacobian`,
    None for those nobody set (its fast paths: the same arithmetic, less bookkeeping)."""
    def given(values: np.ndarray, unset: np.ndarray) -> np.ndarray | None:
        return None if np.all(unset) else values

    return {
        "lower": given(problem.lower, np.isneginf(problem.lower)),
        "upper": given(problem.upper, np.isposinf(problem.upper)),
        "absolute_step": given(problem.absolute_step, np.isnan(problem.absolute_step)),
        "relative_step": given(problem.relative_step, np.isnan(problem.relative_step)),
        "side": given(problem.side, problem.side == 0),
    }


def _profile_jacobian(fitter: Any, problem: FitProblem) -> Callable | None:
    """The user's analytic Jacobian adapted to a problem with parameters held."""
    user_jac = getattr(fitter, "jacfcn", None)
    if user_jac is None:
        return None
    col_deriv = bool(getattr(fitter, "col_deriv", False))
    names = list(problem.params)
    var_idx = [names.index(n) for n in fitter.result.var_names]

    def all_columns(params: Any, *args: Any, **kws: Any) -> np.ndarray:
        jac = np.asarray(user_jac(params, *args, **kws), dtype=float)
        jac = jac.T if col_deriv else jac
        jac = jac.reshape(-1, jac.shape[-1])
        if jac.shape[1] == len(var_idx) and len(var_idx) != len(names):
            full = np.zeros((jac.shape[0], len(names)))
            full[:, var_idx] = jac
            return full
        return jac

    return problem.user_jacobian(all_columns)


# ---------------------------------------------------------------------- limits
@dataclass(frozen=True)
class _Settings:
    """What every :class:`_OneSide` of one :func:`~paramfit.fitting.confidence.conf_interval`
    call shares.  ``chi2_target(prob)`` is the chi-square where ``prob_func`` (one
    parameter held) equals ``prob``, or NaN when that is not known in closed form."""

    params: Any
    stderrs: dict[str, float]
    maxiter: int
    prob_func: ProbFunc
    best: FitStatistics
    verbose: bool
    chi2_target: Callable[[float], float]


class _OneSide:
    """Limits of one parameter on one side of the best fit."""

    def __init__(self, profile: _Profile, settings: _Settings, name: str, side: int):
        self.profile, self.settings, self.name, self.side = profile, settings, name, side
        par = settings.params[name]
        self.best, self.step = par.value, settings.stderrs[name]
        self.bound = par.min if side < 0 else par.max
        # value -> (chisqr, prob); the best fit is known, never re-fitted
        self.cache: dict[float, tuple[float, float]] = {self.best: (settings.best.chisqr, 0.0)}
        self.slopes: dict[float, float] = {}  # value -> d(chisqr)/d(value)

    def evaluate(self, value: float) -> tuple[float, float]:
        """``(chisqr, prob)`` of the re-fit with the parameter held at ``value``."""
        if value not in self.cache:
            settings = self.settings
            chisqr = self.profile.chisqr([value])
            best = settings.best
            held = dataclasses.replace(best, chisqr=chisqr, nvarys=best.nvarys - 1)
            prob = float(settings.prob_func(best, held))
            self.cache[value] = (chisqr, prob)
            self.profile.records[-1].append(prob)
            step = _SQRT_EPS * self.step
            par = settings.params[self.name]
            self.slopes[value] = self.profile.slope(step if value + step <= par.max else -step)
            if settings.verbose:
                print(f"P({self.name}={value:.8g}) = {prob:.6f}")
        return self.cache[value]

    def level(self, value: float, target: float) -> float:
        """The quantity solved for: ``z = sqrt((chisqr - chi2_0) / redchi_0)``.

        ``z`` is the distance from the best fit in (profile) standard errors and is
        nearly linear in ``value``, so few re-fits find where it reaches the level of
        the built-in probabilities.  With a user ``prob_func`` (``target`` is NaN)
        the probability itself is used.
        """
        chisqr, prob = self.evaluate(value)
        if math.isnan(target):
            return prob
        best = self.settings.best
        scale = best.nfree / best.chisqr if best.chisqr > 0.0 else 1.0
        return math.sqrt(max(chisqr - best.chisqr, 0.0) * scale)

    def inverse_slope(self, value: float, target: float) -> float:
        """``d(value)/d(level)`` at an evaluated value (NaN where unknown)."""
        if math.isnan(target):
            return math.nan
        if value == self.best:  # z = |value - best| / stderr to first order
            return self.side * self.step
        best = self.settings.best
        scale = best.nfree / best.chisqr if best.chisqr > 0.0 else 1.0
        z = self.level(value, target)
        dz = scale * self.slopes.get(value, math.nan) / (2.0 * z) if z > 0.0 else math.nan
        return 1.0 / dz if dz != 0.0 else math.nan

    def limits(self, probs: list[float]) -> list[tuple[float, float, str | None]]:
        """``(prob, value, flag_reason)`` for each level, ascending ``prob``."""
        settings = self.settings
        goals = [self._goal(prob) for prob in probs]
        samples = [(self.best, 0.0)]  # (value, level) in stepping order
        multiples = [0]               # value = best + side * multiple * stderr
        hit_bound = False
        for _ in range(settings.maxiter):
            multiples.append(_next_multiple(multiples, [z for _, z in samples], goals[-1][0]))
            value = self.best + self.side * multiples[-1] * self.step
            if (value - self.bound) * self.side >= 0.0:
                value, hit_bound = self.bound, True
            samples.append((value, self.level(value, goals[-1][1])))
            if samples[-1][1] >= goals[-1][0] or hit_bound:
                break
        out = []
        for prob, (goal, target) in zip(probs, goals, strict=True):
            upper = next((i for i, (_, z) in enumerate(samples) if z >= goal), None)
            if upper is None:
                reason = "lower bound" if self.side < 0 else "upper bound"
                value = self.bound if hit_bound else self.side * math.inf
                out.append((prob, value, reason if hit_bound else "not found"))
                continue
            root = self._solve(samples, upper, goal, target)
            if root == self.best:  # a jump right at the best fit: the profile is broken
                out.append((prob, math.nan, "profile fit failed"))
                continue
            out.append((prob, root, None))
        return out

    def _goal(self, prob: float) -> tuple[float, float]:
        """``(level to reach, chi-square target or NaN)`` for probability ``prob``."""
        best = self.settings.best
        target = self.settings.chi2_target(prob)
        if math.isnan(target):
            return prob, target
        scale = best.nfree / best.chisqr if best.chisqr > 0.0 else 1.0
        return math.sqrt(max(target - best.chisqr, 0.0) * scale), target

    def _solve(self, samples: list[tuple[float, float]], upper: int, goal: float,
               target: float) -> float:
        """Value where the level equals ``goal``, between ``samples[upper - 1]`` and
        ``samples[upper]``: inverse quadratic interpolation through the samples nearest
        the goal (safeguarded to the bracket), then :func:`scipy.optimize.brentq` on the
        remaining bracket if that has not converged after a few steps."""
        (a, za), (b, zb) = samples[upper - 1], samples[upper]
        if abs(zb - goal) <= _SCORE_TOL:
            return b
        known = list(samples)
        for _ in range(_IQI_STEPS):
            guess = _inverse_hermite(a, za, self.inverse_slope(a, target),
                                     b, zb, self.inverse_slope(b, target), goal)
            lo, hi = min(a, b), max(a, b)
            if not (lo < guess < hi):
                guess = _inverse_interpolation(known, goal)
            if not (lo < guess < hi):
                guess = a + (goal - za) * (b - a) / (zb - za)
            z = self.level(guess, target)
            known.append((guess, z))
            if abs(z - goal) <= _SCORE_TOL:
                return guess
            if z < goal:
                a, za = guess, z
            else:
                b, zb = guess, z
        xtol = _XTOL * self.step + 4.0 * np.finfo(float).eps * abs(self.best)
        return float(optimize.brentq(self._score, a, b, args=(goal, target), xtol=xtol,
                                     rtol=4.0 * np.finfo(float).eps))

    def _score(self, value: float, goal: float, target: float) -> float:
        diff = self.level(value, target) - goal
        return 0.0 if abs(diff) <= _SCORE_TOL else diff


def _next_multiple(multiples: list[int], levels: list[float], goal: float) -> int:
    """Next trial value, in whole stderr from the best fit: one step further, or as
    many as the slope of the last two trials predicts to reach ``goal`` (times
    :data:`_OVERSHOOT`, at most doubling the distance)."""
    k = multiples[-1]
    if len(multiples) < 2:
        return 1
    slope = (levels[-1] - levels[-2]) / (k - multiples[-2])
    if not slope > 0.0:
        return k + 1
    jump = math.ceil(_OVERSHOOT * (goal - levels[-1]) / slope)
    return k + min(max(jump, 1), k)


def _inverse_hermite(a: float, za: float, da: float, b: float, zb: float, db: float,
                     goal: float) -> float:
    """Value at level ``goal`` of the cubic Hermite ``value(level)`` through ``(za, a)``
    and ``(zb, b)`` with slopes ``da``, ``db`` (NaN if a slope is unknown)."""
    if not (math.isfinite(da) and math.isfinite(db)) or za == zb:
        return math.nan
    h = zb - za
    t = (goal - za) / h
    t2, t3 = t * t, t * t * t
    return ((2 * t3 - 3 * t2 + 1) * a + (t3 - 2 * t2 + t) * h * da
            + (3 * t2 - 2 * t3) * b + (t3 - t2) * h * db)


def _inverse_interpolation(known: list[tuple[float, float]], goal: float) -> float:
    """Value at level ``goal`` of the quadratic ``value(level)`` through the three
    known points nearest ``goal`` (NaN if they do not have distinct levels)."""
    near = sorted(known, key=lambda vz: abs(vz[1] - goal))[:3]
    (x0, z0), (x1, z1), (x2, z2) = near if len(near) == 3 else (*near, near[-1])
    if len({z0, z1, z2}) < 3:
        return math.nan
    return (x0 * (goal - z1) * (goal - z2) / ((z0 - z1) * (z0 - z2))
            + x1 * (goal - z0) * (goal - z2) / ((z1 - z0) * (z1 - z2))
            + x2 * (goal - z0) * (goal - z1) / ((z2 - z0) * (z2 - z1)))
