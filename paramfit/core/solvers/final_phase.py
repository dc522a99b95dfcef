"""Bookkeeping of residual evaluations, and the final phase of a Levenberg-Marquardt fit.

:class:`Evaluator` counts calls and remembers the best point ever tried.
:func:`polish` runs after the iteration: it computes the final Jacobian at
the best point (central differences on the iteration's last forward differences with
Richardson extrapolation where needed,
:func:`paramfit.core.differentiation.reuse.reused_central_jacobian`, Richardson
extrapolation of every column,
:func:`paramfit.core.differentiation.solution.accurate_jacobian`, or checked central differences,
:func:`paramfit.core.differentiation.solution.central_jacobian`, unless the user gave one), takes
a Gauss-Newton step with it when that step is not negligible (the
forward-difference iteration stops where the *approximate* gradient
vanishes, which can be a few units in the 8th digit away from the minimum),
up to :data:`REFINEMENT_STEPS`, and checks stationarity with that Jacobian.
"""

from __future__ import annotations

import math

import numpy as np

from paramfit.core.bounds import active_bounds, pegged_columns, truncate_step
from paramfit.core.differentiation.reuse import (
    ForwardDifferences,
    forward_differences,
    reuse_pays,
    reused_central_jacobian,
    skewed_central_jacobian,
)
from paramfit.core.differentiation.solution import accurate_jacobian, central_jacobian
from paramfit.core.exceptions import NonFiniteResidualError, StopFit
from paramfit.core.linalg import gauss_newton_step, gram_matrix, is_tall, pivoted_qr
from paramfit.core.termination import LMSolution, Termination

__all__ = ["Evaluator", "BudgetSpent", "polish", "REFINEMENT_STEPS", "STATIONARITY_TOL",
           "POLISH_NOISE"]

#: Most Gauss-Newton steps of the final phase (usually one is evaluated, or none).
REFINEMENT_STEPS = 3
#: A refinement step smaller than this (relative) keeps the Jacobian: it changes by
#: about as much, far below what matters for 6-digit standard errors.
JACOBIAN_REUSE_STEP = 1e-7
#: A Gauss-Newton step smaller than this in every component (relative) is noise: it is
#: not evaluated.
POLISH_NOISE = 1e-12
#: A Gauss-Newton step of the final phase is kept when the norm of its residual exceeds
#: the current one by at most this many rounding units of a computed norm, times
#: ``1 + sqrt(m)``: at a converged point the step (often 1e-9 relative) changes the sum of
#: squares by less than the rounding of the two sums being compared, whose error grows
#: like ``sqrt(m) eps`` (Higham & Mary, SIAM J. Sci. Comput. 41(5), 2019, probabilistic
#: bound) plus the rounding of each residual.  Measured on a 30-point linear model under
#: four OpenBLAS kernels: the exact answer's norm came out -13 to +13 rounding units from
#: the iterate's; 8 (1 + sqrt(30)) = 52 units covers that with margin.  An increase
#: larger than this is real (the step overshoots) and the step is rejected.
POLISH_NORM_UNITS = 8.0
#: ... and also when the step's predicted effect on the sum of squares (``|J d|^2``) and
#: its measured increase are both below this fraction of the sum of squares.  When the
#: residual is a difference of large numbers (seed 002's example: data ~5e6, weighted
#: deviates ~1) its rounding moves the norm by ~1e3 units, far more than the bound
#: above, and a correct step cannot be told from noise by the norm.  A step of that
#: size moves the fit by at most ~sqrt(1e-10 * m) of a standard error (1e-4 for m = 100),
#: so keeping it cannot spoil a result; with the accurate Jacobian it is the better x.
POLISH_NOISE_FLOOR = 1e-10
#: A polish step too short for its effect to be told from rounding is kept when the
#: computed sums of squares differ by at most this many times ``|f| nu`` (``nu`` the norm of
#: the residual's measured rounding, :func:`_within_rounding`): each computed sum is off
#: by at most ``2 |f| nu`` (Cauchy-Schwarz), so two of them by ``4 |f| nu``.
ROUNDING_BOUND = 4.0
#: Central differences (~1e-10 relative error) are used for the final Jacobian only when
#: the column-scaled condition number is at most this; beyond it their error would reach
#: the 7th digit of the standard errors, and every column is extrapolated instead.
CENTRAL_CONDITION_LIMIT = 100.0
STATIONARITY_TOL = 1e-6
NEGLIGIBLE_RESIDUAL = 1e-10
EPS = float(np.finfo(float).eps)
_FLOAT64 = np.dtype(np.float64)
_REFINED = (Termination.FTOL, Termination.XTOL, Termination.BOTH, Termination.GTOL,
            Termination.FTOL_TOO_SMALL, Termination.XTOL_TOO_SMALL,
            Termination.GTOL_TOO_SMALL)


class BudgetSpent(StopFit):
    """Raised by :meth:`Evaluator.raw` instead of an evaluation beyond the fit's
    ``max_nfev`` (or after the user's ``iter_cb`` aborted the fit): the fit ends at
    the best point so far, every solver and the final phase alike."""


class Evaluator:
    """Calls the residual function, counts calls, and keeps the best point tried.

    The one place a fit counts its evaluations and remembers its best point: the
    Levenberg-Marquardt iteration and its final phase, the scipy-method adapters
    (:mod:`paramfit.core.solvers.scipy_methods`) and the Minimizer's final Jacobian
    all call the residual through one :class:`Evaluator`.  Every call is counted,
    also one that raises.

    ``limit`` is the most calls the fit may make (``max_nfev``; infinite by default):
    a call beyond it raises :class:`BudgetSpent` without calling ``fun``.
    :meth:`close` sets the limit to the calls made so far (an aborted fit calls
    nothing more).
    """

    def __init__(self, fun, lower: np.ndarray, upper: np.ndarray,
                 limit: float = math.inf, unchecked=None):
        self.fun = fun
        #: ``fun`` without its own test for values that are not finite, when it has one
        #: (:meth:`paramfit.core.problem.FitProblem.residual_unchecked`): what
        #: :meth:`raw_unchecked` calls
        self.unchecked = fun if unchecked is None else unchecked
        self.lower, self.upper = lower, upper
        self.nfev = 0
        self.limit = limit
        #: why the evaluations were stopped (None while they are not)
        self.stopped: str | None = None
        #: whether a call was refused because ``limit`` (max_nfev) was reached
        self.over_budget = False
        self.best_x: np.ndarray | None = None
        self.best_f: np.ndarray | None = None
        self.best_norm = math.inf
        self.first_norm = math.inf

    def raw(self, x: np.ndarray) -> np.ndarray:
        """``fun(x)`` as a float array, counted."""
        if self.nfev >= self.limit:
            self._spend()
        self.nfev += 1
        out = self.fun(x)
        if type(out) is np.ndarray and out.ndim == 1 and out.dtype is _FLOAT64:
            return out
        return np.asarray(out, dtype=float).reshape(-1)

    def raw_unchecked(self, x: np.ndarray) -> np.ndarray:
        """:meth:`raw` through ``unchecked``: the residual may be returned with values
        that are not finite instead of raising
        :class:`~paramfit.core.exceptions.NonFiniteResidualError`; for callers that test
        the values themselves (the iteration's finite differences and trial points)."""
        if self.nfev >= self.limit:
            self._spend()
        self.nfev += 1
        out = self.unchecked(x)
        if type(out) is np.ndarray and out.ndim == 1 and out.dtype is _FLOAT64:
            return out
        return np.asarray(out, dtype=float).reshape(-1)

    def _spend(self) -> None:
        if self.stopped is None:
            self.over_budget = True
            self.stopped = f"number of function evaluations > {self.limit}"
        raise BudgetSpent(-1, f"Fit aborted: {self.stopped}")

    def close(self, reason: str) -> None:
        """Allow no further evaluation; ``reason`` is reported as why."""
        self.limit = self.nfev
        if self.stopped is None:
            self.stopped = reason

    def first(self, x: np.ndarray, f: np.ndarray | None = None) -> np.ndarray:
        """The residual at the start: evaluated, or ``f`` when the caller already has
        it (counted all the same: it was evaluated for this fit)."""
        if f is None:
            f = self.raw(x.copy())
        else:
            self.nfev += 1
            f = np.asarray(f, dtype=float).reshape(-1)
        self.best_x, self.best_f = x, f
        self.best_norm = self.first_norm = math.sqrt(float(f @ f))
        return f

    def record(self, x: np.ndarray, f: np.ndarray, slack: float = 0.0) -> float:
        """Compare an evaluated point with the best so far; returns its norm.

        A non-finite norm counts as infinite (never the best, unless no point was
        recorded yet).  With ``slack > 0`` a point whose norm exceeds the best by at
        most ``slack`` (relative: rounding level, see :data:`POLISH_NORM_UNITS`)
        replaces it.
        """
        norm = math.sqrt(float(f @ f))
        if not math.isfinite(norm):
            if self.best_x is None:
                self.best_x, self.best_f = x, f
            return math.inf
        if (self.best_x is None or norm < self.best_norm
                or (slack and norm <= self.best_norm * (1.0 + slack))):
            self.best_x, self.best_f, self.best_norm = x, f, norm
        return norm

    def adopt(self, x: np.ndarray, f: np.ndarray) -> None:
        """Make ``x`` the answer whatever its norm (a solver whose objective is not the
        sum of squares, e.g. a robust loss, decides which point is best)."""
        self.best_x, self.best_f = x, f
        norm = math.sqrt(float(f @ f))
        self.best_norm = norm if math.isfinite(norm) else math.inf

    def trial(self, x: np.ndarray, slack: float = 0.0, unchecked: bool = False
              ) -> tuple[np.ndarray | None, float]:
        """Evaluate a trial point; a non-finite residual counts as an infinite norm.

        A :class:`~paramfit.core.exceptions.NonFiniteResidualError` raised by the
        function is caught: the point is rejected (``f`` is None, the norm
        infinite) and the iteration shrinks its trust region, as MINPACK does
        for a step that increases the sum of squares.  ``slack``: see :meth:`record`.
        ``unchecked``: evaluate through :meth:`raw_unchecked` (the norm computed here
        is the test: one pass over the residual instead of two).
        """
        try:
            f = self.raw_unchecked(x) if unchecked else self.raw(x)
        except NonFiniteResidualError:
            return None, math.inf
        return f, self.record(x, f, slack)

    def solution(self, jac, termination, njev, niter, user_code=None,
                 jac_gram=None) -> LMSolution:
        x = self.best_x
        return LMSolution(x=x, fun=self.best_f, jac=jac, nfev=self.nfev, njev=njev,
                          niter=niter, termination=termination, user_code=user_code,
                          active=active_bounds(x, self.lower, self.upper),
                          jac_gram=jac_gram)

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


def _stationary(jac: np.ndarray, x: np.ndarray, f: np.ndarray, free: np.ndarray,
                gram: np.ndarray | None = None) -> bool:
    """Whether ``x`` is a stationary point for the free parameters.

    False when the largest |cosine| between ``f`` and a free column of ``jac``
    (MINPACK's ``gnorm``) exceeds :data:`STATIONARITY_TOL`, or when a free
    parameter has no effect on the residuals to rounding (e.g. an exponential
    rate driven so high that ``exp(-b x)`` underflows: a zero gradient there is
    no minimum).  One pass over ``jac`` for the column norms (none with ``gram``, its
    ``J^T J``).
    """
    norms = np.sqrt(np.einsum("ij,ij->j", jac, jac) if gram is None else gram.diagonal())
    fnorm = math.sqrt(float(f @ f))
    if fnorm == 0.0:
        return True
    effect = norms * np.where(x == 0.0, 1.0, np.abs(x))
    if (effect <= EPS * fnorm)[free].any():
        return False
    gradient = jac.T @ f
    if free.all() and norms.all():     # the usual case: no masks
        return float((np.abs(gradient) / norms).max()) / fnorm <= STATIONARITY_TOL
    use = free & (norms > 0.0)
    if not use.any():
        return True
    return float(np.max(np.abs(gradient[use]) / norms[use])) / fnorm <= STATIONARITY_TOL


def _final_jacobian(ev: Evaluator, opt, x: np.ndarray, f: np.ndarray, typical: np.ndarray
                    ) -> tuple[np.ndarray, int]:
    """Jacobian at ``x`` for the covariance: the user's, or a finite-difference one.

    With ``opt.final_jacobian == 'central'`` finite differences are central
    (:func:`~paramfit.core.differentiation.solution.central_jacobian`, ``2 n`` evaluations,
    Richardson only on columns that need it) unless the central Jacobian is worse
    conditioned than :data:`CENTRAL_CONDITION_LIMIT` (then every column is
    extrapolated by :func:`~paramfit.core.differentiation.solution.accurate_jacobian`).  Returns
    the Jacobian and the number of Jacobian evaluations to count (1 for the user's,
    else 0).
    """
    if opt.jac is not None:
        return np.asarray(opt.jac(x.copy()), dtype=float), 1
    if opt.final_jacobian == "central":
        jac, _ = central_jacobian(ev.raw, x, f, lower=opt.lower, upper=opt.upper,
                                  typical_x=typical)
        if _scaled_condition(jac) <= CENTRAL_CONDITION_LIMIT:
            return jac, 0
    jac, _ = accurate_jacobian(ev.raw, x, f, lower=opt.lower, upper=opt.upper,
                               typical_x=typical)
    return jac, 0


def _scaled_condition(jac: np.ndarray) -> float:
    """Condition number of ``jac`` with unit columns: the factor by which relative errors
    of the Jacobian reach the covariance."""
    norms = np.sqrt(np.einsum("ij,ij->j", jac, jac))
    if not (norms > 0.0).all() or not np.isfinite(norms).all():
        return math.inf
    return float(np.linalg.cond(jac / norms))


def _free_mask(x: np.ndarray, jac: np.ndarray, f: np.ndarray, opt) -> np.ndarray:
    if not opt.bounded:
        return np.ones(x.size, dtype=bool)
    return ~pegged_columns(x, jac.T @ f, opt.lower, opt.upper)


def _gauss_newton_point(opt, x, f, jac, free: np.ndarray,
                        gram: np.ndarray | None = None) -> np.ndarray:
    """The point of one Gauss-Newton step on the free columns (inside the box).
    ``gram``: ``J^T J`` of a tall ``jac`` (:func:`_tall_gram`)."""
    if free.all():
        step = gauss_newton_step(pivoted_qr(np.asfortranarray(jac), f, gram=gram))
    else:
        step = np.zeros(x.size)
        columns = np.flatnonzero(free)
        if columns.size:
            step[columns] = gauss_newton_step(pivoted_qr(np.asfortranarray(jac[:, columns]),
                                                         f))
    if opt.bounded or opt.limited_step:
        trial, _ = truncate_step(x, step, opt.lower, opt.upper, opt.max_step)
        return trial
    return x + step


def _negligible(trial: np.ndarray, x: np.ndarray, tolerance: float) -> bool:
    """Every ``|trial_i - x_i| <= tolerance |x_i|`` (n is small: plain floats)."""
    return all(abs(a - b) <= tolerance * abs(b) for a, b in zip(trial.tolist(), x.tolist()))


def _within_rounding(ev: Evaluator, opt, x: np.ndarray, f: np.ndarray, trial: np.ndarray,
                     f_trial: np.ndarray, norm: float, norm_trial: float,
                     predicted: float) -> bool:
    """Whether a Gauss-Newton step whose predicted reduction of the sum of squares
    (``predicted = |J d|^2``) is below :data:`POLISH_NOISE_FLOOR` raised the computed sum
    by no more than the residual's own rounding can: one evaluation at the mirror point
    ``x - d`` measures that rounding.

    The second difference ``f(x + d) + f(x - d) - 2 f(x)`` of a step this short (its
    ``d^T H d`` part is ~1e-16 relative) is the rounding of three residuals, whose norm
    ``nu`` it gives as ``|.| / sqrt(6)``; the rounding moves a computed sum of squares by
    at most ``2 |f| nu`` (Cauchy-Schwarz), so the two computed sums can differ from the
    true change ``-|J d|^2`` by up to :data:`ROUNDING_BOUND` ``|f| nu``.  (NIST Lanczos2:
    residuals 1e-6 of data ~1 carry nu ~ 7e-10 |f|, where a step that improves the
    values from 6.6 to 10 digits raised the computed norm by 5e-11.)  False when the
    mirror point leaves the bounds, is not an exact mirror image, or its residual is not
    finite.
    """
    mirror = x - (trial - x)
    if not np.array_equal(trial - x, x - mirror):
        return False
    if opt.bounded and not ((opt.lower <= mirror) & (mirror <= opt.upper)).all():
        return False
    try:
        f_mirror = ev.raw(mirror)
    except NonFiniteResidualError:
        return False
    bend = f_trial + f_mirror - 2.0 * f
    noise = math.sqrt(float(bend @ bend) / 6.0)
    increase = (norm_trial - norm) * (norm_trial + norm)
    return math.isfinite(noise) and increase <= ROUNDING_BOUND * norm * noise - predicted


def _tall_gram(jac: np.ndarray) -> np.ndarray | None:
    """``J^T J`` of a tall Fortran-ordered Jacobian (:func:`~paramfit.core.linalg.is_tall`),
    formed once for the polish, the stationarity test and the covariance; else None."""
    if is_tall(*jac.shape) and jac.flags.f_contiguous:
        return gram_matrix(jac)[0]
    return None


def _refine(ev: Evaluator, opt, x, f, jac, jac_x, typical, gram=None):
    """Gauss-Newton steps with the final Jacobian while they matter and do not hurt.

    A step whose every component is below :data:`POLISH_NOISE` relative is not
    even evaluated.  The Jacobian is recomputed only after a step larger
    than :data:`JACOBIAN_REUSE_STEP` (relative).  Returns x, f, the
    Jacobian, the point it was computed at, and the number of Jacobian
    evaluations.  ``jac_x``: where ``jac`` was computed (within
    :data:`JACOBIAN_REUSE_STEP` of ``x``).  ``gram``: ``J^T J`` of a tall ``jac``
    (:func:`_tall_gram`), returned last, for the Jacobian returned.
    """
    calls = 0
    slack = POLISH_NORM_UNITS * (1.0 + math.sqrt(f.size)) * EPS
    for _ in range(REFINEMENT_STEPS):
        trial = _gauss_newton_point(opt, x, f, jac, _free_mask(x, jac, f, opt), gram)
        if _negligible(trial, x, POLISH_NOISE):
            break
        # at the minimum the sum of squares is flat to rounding, and the Gauss-Newton
        # step with an accurate Jacobian still improves x there: a change of the norm
        # within rounding does not decide against it
        norm = math.sqrt(float(f @ f))
        allowed = slack
        predicted = math.inf            # |J d|^2, the step's predicted reduction of S
        if norm > 0.0:
            effect = jac @ (trial - x)
            predicted = float(effect @ effect)
            if predicted <= POLISH_NOISE_FLOOR * norm * norm:
                allowed = max(slack, 0.5 * POLISH_NOISE_FLOOR)    # norm: half of S's
        f1, norm1 = ev.trial(trial, allowed)
        if not norm1 <= norm * (1.0 + allowed):
            if not (predicted <= POLISH_NOISE_FLOOR * norm * norm and f1 is not None
                    and _within_rounding(ev, opt, x, f, trial, f1, norm, norm1, predicted)):
                break
            ev.adopt(trial, f1)         # the better point, whatever rounding says
        x, f = trial, f1
        if _negligible(trial, jac_x, JACOBIAN_REUSE_STEP):
            break
        jac, count = _final_jacobian(ev, opt, x, f, typical)
        gram = _tall_gram(jac)
        jac_x = x
        calls += count
    return x, f, jac, jac_x, calls, gram


def _reused_jacobian(ev: Evaluator, opt, x: np.ndarray, typical: np.ndarray,
                    forward: ForwardDifferences | None
                    ) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """The final Jacobian by central differences on forward differences (about ``2 n``
    evaluations, ``n`` when the iteration's last ones were made within
    :data:`JACOBIAN_REUSE_STEP` of ``x``: those are reused), with columns Richardson-
    extrapolated where their error could move a standard error by 1e-7
    (:func:`~paramfit.core.differentiation.reuse.reused_central_jacobian`), and where it
    was computed; ``(None, None)`` (nothing evaluated) when the iteration's Jacobian says
    the problem is too ill-conditioned for that to pay
    (:func:`~paramfit.core.differentiation.reuse.reuse_pays`)."""
    if forward is None or opt.jac is not None or opt.final_jacobian != "reuse":
        return None, None
    inverse = reuse_pays(forward.jac, forward.gram)
    if inverse is None:
        return None, None
    lower, upper = (opt.lower, opt.upper) if opt.bounded else (None, None)
    if not _negligible(x, forward.x, JACOBIAN_REUSE_STEP):
        # a short last step: central differences at x on the skewed stencil (n + 2
        # evaluations); else fresh forward differences at x and their mirrors (2 n)
        skewed = skewed_central_jacobian(ev.raw, forward, x, ev.best_f, lower=lower,
                                         upper=upper, typical_x=typical, inverse=inverse)
        if skewed is not None:
            return skewed[0], x
        forward = forward_differences(ev.raw, x, ev.best_f, lower=lower, upper=upper)
    jac, _ = reused_central_jacobian(ev.raw, forward, lower=lower, upper=upper,
                                     typical_x=typical, inverse=inverse)
    return jac, forward.x


def polish(ev: Evaluator, opt, termination: Termination, njev: int, niter: int,
           jac_x: np.ndarray | None, jac: np.ndarray | None,
           forward: ForwardDifferences | None = None) -> LMSolution:
    """Final Jacobian, Gauss-Newton refinement and stationarity check at the best point.

    The finite-difference iteration stops where the *approximate* gradient
    vanishes, which for a large-residual problem can be a few units in the
    8th digit away from the minimum; a Gauss-Newton step with the accurate
    Jacobian removes that error (Moré 1977 notes the same for the
    Gauss-Newton limit of the method).  The evaluations made here are
    counted in ``nfev`` and limited by the evaluator's ``limit`` (the fit's
    ``max_nfev``): when it is spent the iteration's termination stands, with no
    Jacobian (so no error bars).

    ``forward``: the iteration's last forward differences.  With the default
    ``final_jacobian='reuse'`` the final Jacobian is central differences on them when
    they were made within :data:`JACOBIAN_REUSE_STEP` of the best point (``n``
    evaluations), else on fresh ones there (``2 n``), Richardson-extrapolated in the
    columns whose error could move a standard error by 1e-7 (:func:`_reused_jacobian`;
    every column, as ``'richardson'``, for an ill-conditioned problem: ``2 n`` to
    ``6 n``).
    """
    x, f = ev.best_x, ev.best_f
    typical = np.abs(x)
    try:
        final_x = x
        if opt.jac is not None and jac_x is not None and np.array_equal(jac_x, x):
            final = jac
        else:
            final, reused_x = _reused_jacobian(ev, opt, x, typical, forward)
            if final is None:
                final, calls = _final_jacobian(ev, opt, x, f, typical)
                njev += calls
            else:
                final_x = reused_x
        gram = _tall_gram(final)        # one pass for the polish, the tests, the covariance
        if termination in _REFINED:
            x, f, final, final_x, calls, gram = _refine(ev, opt, x, f, final, final_x,
                                                        typical, gram)
            njev += calls
    except BudgetSpent:
        nan_jac = np.full((ev.best_f.size, ev.best_x.size), np.nan)
        return ev.solution(nan_jac, termination, njev, niter)
    except StopFit as stop:
        return ev.user_stop(stop.code, njev, niter, x, None)
    if termination.converged and ev.best_norm > NEGLIGIBLE_RESIDUAL * ev.first_norm:
        if not _stationary(final, x, f, _free_mask(x, final, f, opt), gram):
            termination = Termination.NOT_STATIONARY
    if not (final_x is ev.best_x or _negligible(ev.best_x, final_x, JACOBIAN_REUSE_STEP)):
        try:
            final, calls = _final_jacobian(ev, opt, ev.best_x, ev.best_f, typical)
        except BudgetSpent:
            final, calls = np.full((ev.best_f.size, ev.best_x.size), np.nan), 0
        except StopFit as stop:
            return ev.user_stop(stop.code, njev, niter, x, None)
        njev += calls
        gram = None                     # of the Jacobian replaced
    return ev.solution(final, termination, njev, niter, jac_gram=gram)
