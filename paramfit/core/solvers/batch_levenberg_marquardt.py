"""Vectorized Levenberg-Marquardt: B independent small least-squares fits in lockstep.

Every dataset has its own trust radius, LM parameter, bounds and convergence tests; the
batch only shares the array calls.  The method is the single-fit core's
(:func:`~paramfit.core.solvers.levenberg_marquardt.levenberg_marquardt`, MINPACK's
``lmder`` with MPFIT's bounds), each step of it acting on all datasets at once:

1. holds parameters on a bound whose gradient points out of the box (MPFIT's
   pegging) and MINPACK's ``gtol`` test, before the step;
2. finds MINPACK's LM step for the trust radius ``delta``: the Gauss-Newton step when
   ``||D p|| <= 1.1 delta``, else the ``par`` of Moré's safeguarded Newton iteration
   (``lmpar``; :func:`~paramfit.core.batch_linalg.lm_step`), from the normal
   equations ``(J^T J + par D^2) p = -J^T r`` solved by a Cholesky factorisation (or
   the adjugate for three parameters) unrolled over the (few) parameters, each operation
   acting on the whole batch (``D^2`` is the largest diagonal of ``J^T J`` seen so far,
   MINPACK's scaling);
3. shortens steps that would leave the box with the single-fit core's function
   (:mod:`paramfit.core.bounds`, every column on its own);
4. evaluates the sum of squares, ``J^T J`` and ``J^T r`` at the trial points in
   one fused pass (the caller's ``evaluate``);
5. accepts steps with a ratio of actual to predicted reduction of at least 1e-4 and
   updates ``delta`` and ``par`` by MINPACK's rules (Moré 1977, section 4);
6. applies the convergence tests of the single-fit core, from the same code
   (:mod:`paramfit.core.termination`): MINPACK's ``ftol``, ``xtol`` (on ``delta``
   relative to ``||D x||``) and ``gtol`` tests, their stringent versions, the
   evaluation budget and the superlinear ``ftol`` test, in MINPACK's priority
   (8 > 7 > 6 > 5), with the same defaults and
   :class:`~paramfit.core.termination.Termination` codes.

The single fits' geodesic acceleration of the steps the trust region cuts short
(``par > 0``) is applied by the same rule and constants, between steps 2 and 3
(:mod:`paramfit.core.solvers.batch_geodesic`): one probe ``x + h v`` per such step,
through the evaluator's cross evaluation ``evaluate.cross(x, probe, slots) = J(x)^T
r(probe)``, gives ``J^T r_vv`` from the moments the batch has; an evaluator without
``cross`` (the example below) gets plain steps.

What differs from the single-fit core: the linear algebra (the normal equations instead
of a QR factorisation of ``J``: where ``J^T J`` is singular in floating point, e.g. a
peak's width driven onto its bound 0, the Gauss-Newton step does not exist and the step
is damped, ``par > 0``, and a trial with no computable step counts as a failed one), the
Jacobian (the caller's ``J^T J`` and ``J^T r``, no finite differences, hence ``nfev``
counts fused evaluations, a probe among them, and ``max_nfev`` limits those), and the end
(no final phase: no accurate Jacobian and Gauss-Newton polish; a converged status is
downgraded to ``NOT_STATIONARY`` by the single fits' stationarity test, from the
iteration's own ``J^T J`` and gradient).  Before, the batch damped its steps by
Nielsen's rule, which followed other paths than the single fits from poor starts: 1 in
200 Gaussian + line fits from the models' default starts reached another (worse) minimum
than the single fit and reported success.

The datasets are fitted through a *working set* of fixed size: when datasets
finish, their slots are refilled with the next datasets of the batch (whose
start points are evaluated by the same call that evaluates the others' trial
points), so every array call acts on a full set however long the batch.  Once
no dataset is left to load, finished slots are dropped and the arrays (data
included) compacted.  Every operation acts on each dataset's own column, and
sums over a dataset's parameters are added in a fixed order
(:func:`~paramfit.core.batch_linalg.batch_dot`, never a BLAS call whose kernel
depends on the batch's stride), so a dataset's result does not depend on which
other datasets share its batch or its working set: chunked, unchunked and refilled
fits agree bit for bit.

The arrays are handled through an array namespace ``xp`` (the one of ``x0``:
numpy today), with no numpy-only array function (``np.errstate`` aside, which
silences numpy's floating-point warnings and does nothing to other arrays), so
that another backend needs no copy of the solver.

References
----------
.. [1] J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and
   theory", in Numerical Analysis, ed. G. A. Watson, Lecture Notes in
   Mathematics 630, Springer, 1977, pp. 105-116.
.. [2] J. J. Moré, B. S. Garbow, K. E. Hillstrom, "User Guide for MINPACK-1",
   Argonne National Laboratory Report ANL-80-74, 1980.
.. [3] C. B. Markwardt, "Non-linear least squares fitting in IDL with MPFIT",
   ASP Conference Series 411, 251, 2009.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from paramfit.core.batch_linalg import (
    batch_diagonal,
    batch_dot,
    lm_step,
    parameter_update,
    radius_update,
    scaled_gradient,
)
from paramfit.core.bounds import active_bounds, pegged_columns, truncate_step
from paramfit.core.solvers.batch_geodesic import accelerate
from paramfit.core.solvers.final_phase import EPS, STATIONARITY_TOL
from paramfit.core.solvers.geodesic import CRAWL_STEPS, crawl_count
from paramfit.core.termination import (
    RUNNING,
    Termination,
    convergence_codes,
    gradient_converged,
)

__all__ = ["BatchLMSolution", "batch_levenberg_marquardt", "RUNNING", "DEFAULT_FTOL",
           "DEFAULT_XTOL", "DEFAULT_GTOL", "DEFAULT_FACTOR", "WORKING_SET"]

#: The single-fit core's defaults (see :func:`paramfit.core.solvers.levenberg_marquardt.
#: levenberg_marquardt`), and its initial trust radius ``factor * ||D x0||``.
DEFAULT_FTOL, DEFAULT_XTOL, DEFAULT_GTOL, DEFAULT_FACTOR = 1e-15, 1e-12, 1e-12, 100.0
NEGLIGIBLE_RESIDUAL = 1e-10
ACCEPT = 1e-4
#: Datasets fitted side by side when the evaluator can refill its slots: enough that
#: the per-iteration array calls on per-dataset vectors cost little per dataset.
WORKING_SET = 4096


def _namespace(x: Any) -> Any:
    """The array namespace of ``x`` (array API ``__array_namespace__``; numpy before 2.0)."""
    get = getattr(x, "__array_namespace__", None)
    return get() if get is not None else np


@dataclass
class BatchLMSolution:
    """Result of :func:`batch_levenberg_marquardt` for B datasets and F parameters.

    Attributes
    ----------
    x : ndarray, shape (F, B)
        Best point of each dataset.
    chisq : ndarray, shape (B,)
        Sum of squares there (NaN for datasets whose start could not be evaluated).
    jtj : ndarray, shape (F, F, B)
        ``J^T J`` there.
    jtr : ndarray, shape (F, B)
        ``J^T r`` there.
    nfev, niter : ndarray of int, shape (B,)
        Evaluations (start and trial points) and accepted iterations.
    termination : ndarray of int8, shape (B,)
        :class:`Termination` codes.
    active : ndarray of int8, shape (F, B)
        -1 at the lower bound, +1 at the upper bound, 0 interior.
    """

    x: np.ndarray
    chisq: np.ndarray
    jtj: np.ndarray
    jtr: np.ndarray
    nfev: np.ndarray
    niter: np.ndarray
    termination: np.ndarray
    active: np.ndarray


class _State:
    """Per-slot arrays of the working set (slot ``k`` holds chunk dataset ``index[k]``).

    A *fresh* slot has just been loaded: its start point is evaluated by the next
    evaluation, together with the trial points of the other slots.  Besides the
    point and its moments each slot has MINPACK's LM parameter ``par``, the ``actred`` of
    its last accepted step (the superlinear ftol test), the scaling
    ``D^2`` (``scale``), MINPACK's trust radius ``delta`` and ``xnorm = ||D x||`` (as
    of the last accepted step, as in MINPACK).
    """

    _PER_SLOT = ("index", "chisq", "par", "last_actred", "first", "nfev", "niter", "fresh",
                 "delta", "xnorm", "crawl")

    def __init__(self, x0: np.ndarray, rows: np.ndarray, xp: Any):
        F, w = x0.shape[0], rows.size
        self.xp = xp
        self.x0 = x0
        self.index = rows.copy()
        self.x = x0[:, rows]
        self.chisq = xp.ones(w)
        self.jtj = xp.zeros((F, F, w))
        self.jtr = xp.zeros((F, w))
        self.scale = xp.ones((F, w))
        self.par = xp.zeros(w)
        self.last_actred = xp.zeros(w)
        self.first = xp.ones(w)
        self.delta = xp.zeros(w)
        self.xnorm = xp.zeros(w)
        self.nfev = xp.zeros(w, dtype=xp.int64)
        self.niter = xp.zeros(w, dtype=xp.int64)
        self.crawl = xp.zeros(w, dtype=xp.int64)       # geodesic.crawl_count
        self.fresh = xp.ones(w, dtype=bool)
        self.n_fresh = w

    def load(self, slots: np.ndarray, rows: np.ndarray) -> None:
        """Put chunk datasets ``rows`` into ``slots`` (their start points not yet evaluated)."""
        self.index[slots] = rows
        self.x[:, slots] = self.x0[:, rows]
        self.nfev[slots] = 0
        self.niter[slots] = 0
        self.crawl[slots] = 0
        self.fresh[slots] = True
        self.n_fresh = int(self.xp.count_nonzero(self.fresh))

    def start(self, good: np.ndarray, chisq, jtj, jtr, factor: float) -> None:
        """Initialise the fresh slots ``good`` from the evaluation of their start points:
        MINPACK's initial scaling (``D^2`` = the diagonal of ``J^T J``, 1 where it is 0)
        and trust radius ``factor * ||D x0||`` (``factor`` if that is 0)."""
        xp = self.xp
        self.chisq = xp.where(good, chisq, self.chisq)
        self.jtj = xp.where(good, jtj, self.jtj)
        self.jtr = xp.where(good, jtr, self.jtr)
        diag = batch_diagonal(jtj, xp)
        self.scale = xp.where(good, xp.where(diag == 0.0, 1.0, diag), self.scale)
        self.par = xp.where(good, 0.0, self.par)
        self.last_actred = xp.where(good, 0.0, self.last_actred)
        self.first = xp.where(good, xp.sqrt(chisq), self.first)
        xnorm = xp.sqrt(batch_dot(self.scale * self.x, self.x))
        self.xnorm = xp.where(good, xnorm, self.xnorm)
        self.delta = xp.where(good, xp.where(xnorm != 0.0, factor * xnorm, factor),
                              self.delta)
        self.fresh = xp.zeros(self.fresh.size, dtype=bool)
        self.n_fresh = 0

    def keep(self, keep: np.ndarray) -> None:
        """Keep the slots ``keep`` (a mask or indices; compaction once nothing is left to
        load)."""
        for name in self._PER_SLOT:
            setattr(self, name, getattr(self, name)[keep])
        self.x, self.jtr, self.scale = self.x[:, keep], self.jtr[:, keep], self.scale[:, keep]
        self.jtj = self.jtj[:, :, keep]
        self.n_fresh = int(self.xp.count_nonzero(self.fresh))


def batch_levenberg_marquardt(
    evaluate: Callable,
    x0: np.ndarray,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    max_step: np.ndarray | None = None,
    ftol: float = DEFAULT_FTOL,
    xtol: float = DEFAULT_XTOL,
    gtol: float = DEFAULT_GTOL,
    max_nfev: int | None = None,
    working_set: int | None = None,
) -> BatchLMSolution:
    """Fit B datasets by Levenberg-Marquardt in lockstep.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(x) -> (chisq (w,), jtj (F, F, w), jtr (F, w))`` at the free
        vectors ``x`` (F, w) of the datasets in the current slots (the arrays
        may be buffers that the next call overwrites), and
        ``evaluate.select(keep)`` keeping the slots ``keep`` (a boolean mask or
        indices over the current slots).  Initially the slots are all B
        datasets.  With ``evaluate.load(slots, rows)`` (put datasets ``rows``
        into ``slots``) the working set is refilled; without it every dataset
        has a slot from the start.  Non-finite results mark a failed evaluation.
        With ``evaluate.cross(x, probe, slots)`` (``J(x)^T r(probe)`` (F, k) of the
        slots ``slots``: the Jacobian at their points ``x`` (F, k), the residual at
        ``probe``) and ``evaluate.n_residuals`` (residuals per dataset) the steps cut
        short by the trust region are accelerated
        (:mod:`paramfit.core.solvers.batch_geodesic`).
    x0 : ndarray, shape (F, B)
        Start points, inside the bounds.
    lower, upper : ndarray, shape (F,)
        Bounds (``-inf``/``inf`` for none).
    max_step : ndarray, shape (F,), optional
        Largest change of each parameter per iteration (NaN: none).
    ftol, xtol, gtol : float
        The tolerances of :func:`paramfit.core.solvers.levenberg_marquardt.
        levenberg_marquardt`, with its defaults and tested by the same code
        (:mod:`paramfit.core.termination`): actual and predicted relative
        reductions of the sum of squares, trust radius relative to ``||D x||``,
        largest cosine between residual and Jacobian columns.
    max_nfev : int, optional
        Most evaluations per dataset (each gives the sum of squares, ``J^T J`` and
        ``J^T r``, or a probe's ``J(x)^T r(probe)``; the single-fit core counts every
        residual, finite differences included); default ``1000 * (F + 1)``.
    working_set : int, optional
        Datasets fitted side by side (default :data:`WORKING_SET`; needs
        ``evaluate.load``).  As datasets converge their slots are given to the
        next ones, so every numpy call works on a full set.  The results do
        not depend on it.

    Returns
    -------
    BatchLMSolution

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0.0, 3.0, 30)
    >>> y = np.array([[2.0], [5.0]]) * np.exp(-1.3 * t)
    >>> class Exp:
    ...     rows = np.arange(2)
    ...     def select(self, mask): self.rows = self.rows[mask]
    ...     def __call__(self, p):
    ...         e = np.exp(-p[1][:, None] * t)
    ...         r = p[0][:, None] * e - y[self.rows]
    ...         j = np.stack([e, -p[0][:, None] * t * e])
    ...         return ((r * r).sum(1), np.einsum('pbn,qbn->pqb', j, j),
    ...                 np.einsum('pbn,bn->pb', j, r))
    >>> sol = batch_levenberg_marquardt(Exp(), np.ones((2, 2)), lower=np.full(2, -np.inf),
    ...                                 upper=np.full(2, np.inf))
    >>> np.round(sol.x, 8).tolist(), bool(sol.termination.min() >= 1)
    ([[2.0, 5.0], [1.3, 1.3]], True)
    """
    F, B = x0.shape
    xp = _namespace(x0)
    limited = max_step is not None and bool(xp.any(xp.isfinite(max_step) & (max_step > 0)))
    bounded = bool(xp.any(xp.isfinite(lower)) or xp.any(xp.isfinite(upper)))
    opts = _Options(lower[:, None], upper[:, None], max_step[:, None] if limited else None,
                    bounded, ftol, xtol, gtol,
                    1000 * (F + 1) if max_nfev is None else int(max_nfev), xp)
    x0 = xp.asarray(x0, dtype=float)
    out = BatchLMSolution(
        x=x0.copy(), chisq=xp.full(B, np.nan),
        jtj=xp.full((F, F, B), np.nan), jtr=xp.full((F, B), np.nan),
        nfev=xp.zeros(B, dtype=xp.int64), niter=xp.zeros(B, dtype=xp.int64),
        termination=xp.full(B, RUNNING, dtype=xp.int8), active=xp.zeros((F, B), dtype=xp.int8))
    if B == 0:
        return out
    size = WORKING_SET if working_set is None else max(1, int(working_set))
    if not hasattr(evaluate, "load") or size >= B:
        size = B
    state = _State(x0, xp.arange(size), xp)
    if size < B:
        evaluate.select(xp.arange(size))
    queue = size
    while state.index.size:
        done = _iterate(evaluate, state, opts)
        finished = done != RUNNING
        if not xp.any(finished):
            continue
        _record(out, state, finished, done, opts)
        slots = xp.nonzero(finished)[0]
        if queue < B:
            take = min(slots.size, B - queue)
            loaded, slots = slots[:take], slots[take:]
            rows = xp.arange(queue, queue + take)
            queue += take
            state.load(loaded, rows)
            evaluate.load(loaded, rows)
        if slots.size:
            order = _compaction(state.index.size, slots)
            state.keep(order)
            if order.size:
                evaluate.select(order)
    if bounded:
        improper = out.termination == Termination.IMPROPER_INPUT.code
        out.active = xp.where(improper, 0, active_bounds(out.x, opts.lower, opts.upper, xp)
                              ).astype(xp.int8)
    return out


def _compaction(size: int, dropped: np.ndarray) -> np.ndarray:
    """Slots to keep, as indices: the last live slots move into the holes left by
    ``dropped``, the others stay where they are (so little data has to move)."""
    live = np.ones(size, dtype=bool)
    live[dropped] = False
    new_size = size - dropped.size
    order = np.arange(new_size)
    order[dropped[dropped < new_size]] = np.flatnonzero(live[new_size:]) + new_size
    return order


class _Options:
    """Validated solver options, as plain attributes (``xp``: the array namespace)."""

    def __init__(self, lower, upper, max_step, bounded, ftol, xtol, gtol, max_nfev, xp):
        self.lower, self.upper, self.max_step, self.bounded = lower, upper, max_step, bounded
        self.ftol, self.xtol, self.gtol, self.max_nfev = ftol, xtol, gtol, max_nfev
        self.factor = DEFAULT_FACTOR
        self.xp = xp


def _step(s: _State, opts: _Options):
    """Levenberg-Marquardt step of every slot for its trust radius (MINPACK's ``lmpar``,
    :func:`~paramfit.core.batch_linalg.lm_step`).

    Returns ``(step (F, w), ok (w,), gnorm (w,), gtol (w,), pegged (F, w) or None)``;
    ``gtol`` marks the slots that MINPACK's gtol test stops before their step.  The slots'
    LM parameters ``par`` become those of their steps.
    """
    xp = opts.xp
    F, w = s.x.shape
    pegged = pegged_columns(s.x, s.jtr, opts.lower, opts.upper) if opts.bounded else None
    if pegged is not None and not xp.any(pegged):
        pegged = None
    gnorm = scaled_gradient(s.jtj, s.jtr, s.chisq,
                            xp.zeros((F, w), dtype=bool) if pegged is None else pegged, xp)
    s.scale = xp.maximum(s.scale, batch_diagonal(s.jtj, xp))
    # fresh slots evaluate their start, not a step: an infinite radius keeps them out of
    # lmpar's Newton iteration (their radius is not set yet)
    radius = xp.where(s.fresh, xp.inf, s.delta) if s.n_fresh else s.delta
    step, s.par, _, ok = lm_step(s.jtj, s.jtr, s.scale, radius, s.par, pegged, xp)
    return step, ok, gnorm, gradient_converged(gnorm, opts.gtol), pegged


def _iterate(evaluate, s: _State, opts: _Options) -> np.ndarray:
    """One outer iteration of every slot; returns their codes (RUNNING or done).

    Fresh slots evaluate their start point instead of a trial point.  The order is the
    single-fit core's: gtol test, step, its geodesic acceleration where the trust region
    cut it short (:mod:`paramfit.core.solvers.batch_geodesic`), its projection on the
    box, first-iteration bound on ``delta``, evaluation, radius update, acceptance, then
    the tests of :mod:`paramfit.core.termination`.
    """
    xp = opts.xp
    step, ok, gnorm, gtol, pegged = _step(s, opts)
    w = s.x.shape[1]
    done = xp.where(gtol, xp.asarray(Termination.GTOL.code, dtype=xp.int8),
                    xp.asarray(RUNNING, dtype=xp.int8))
    fresh = s.fresh if s.n_fresh else None
    # the tangent step's ||D p||^2, J^T J p and ||J p||^2 (the predicted reduction's)
    with np.errstate(all="ignore"):
        dp = batch_dot(s.scale * step, step)
        jtj_step = batch_dot(s.jtj.transpose(1, 0, 2), step[:, None])
        jp = batch_dot(step, jtj_step)
    taken, accelerated = step, None
    cross = getattr(evaluate, "cross", None)
    if cross is not None:
        candidates = (ok & (s.par > 0.0) & ~gtol & (s.nfev + 2 <= opts.max_nfev)
                      & (s.crawl >= CRAWL_STEPS))
        if fresh is not None:
            candidates = candidates & ~fresh
        if xp.any(candidates):
            taken, accelerated = accelerate(
                cross, evaluate.n_residuals, s.x, s.chisq, s.jtj, s.jtr, s.scale, s.par,
                step, jtj_step, dp, jp, candidates, pegged, opts.lower, opts.upper,
                opts.bounded, s.nfev, xp)
    if opts.bounded or opts.max_step is not None:
        trial, alpha = truncate_step(s.x, taken, opts.lower, opts.upper, opts.max_step, xp)
    else:
        trial, alpha = s.x + taken, xp.ones(w)
    if fresh is not None:
        trial = xp.where(fresh, s.x, trial)
    if opts.bounded or opts.max_step is not None:
        # the step taken, as the single-fit core (cut short, snapped onto bounds)
        moved = trial - s.x
        pnorm = xp.sqrt(batch_dot(s.scale * moved, moved))
    else:
        pnorm = xp.sqrt(dp)                    # ||D p||, MINPACK's (and the core's)
        if accelerated is not None:
            pnorm = xp.where(accelerated, xp.sqrt(batch_dot(s.scale * taken, taken)), pnorm)
    # MINPACK: on the first iteration the initial radius is cut to the first step
    delta = xp.where(s.niter == 0, xp.minimum(s.delta, pnorm), s.delta)
    chisq1, jtj1, jtr1 = evaluate(trial)
    s.nfev += 1
    finite = xp.isfinite(chisq1) & xp.all(xp.isfinite(jtj1), axis=(0, 1)) \
        & xp.all(xp.isfinite(jtr1), axis=0)
    # no step computed (ok False): a failed trial, as a non-finite one (fresh slots
    # aside, whose start is what was evaluated)
    tried = finite & (ok | s.fresh) if fresh is not None else finite & ok
    step_par = s.par                        # this step's (updated below for the next)
    with np.errstate(all="ignore"):
        fnorm = xp.sqrt(s.chisq)
        fnorm1 = xp.where(tried, xp.sqrt(chisq1), xp.inf)     # a failed trial: infinite
        actred = xp.where(0.1 * fnorm1 < fnorm, 1.0 - chisq1 / s.chisq, -1.0)
        # Moré (1977), eq. (5.6), as in the single-fit core, along alpha * p (p the
        # tangent step: an acceleration leaves the predicted reduction as it is)
        temp1 = jp / s.chisq
        temp2 = s.par * dp / s.chisq
        zero = s.chisq == 0.0
        prered = xp.where(zero, 0.0, alpha * (2.0 - alpha) * temp1 + 2.0 * alpha * temp2)
        dirder = xp.where(zero, 0.0, -alpha * (temp1 + temp2))
        ratio = xp.where(prered != 0.0, actred / prered, 0.0)
        delta = radius_update(ratio, actred, dirder, fnorm, fnorm1, delta, pnorm, s.par,
                              alpha < 1.0, xp)
        s.par = parameter_update(ratio, actred, dirder, fnorm, fnorm1, s.par, xp)
        # no step computed: the radius shrinks by MINPACK's factor for a failed trial
        # (its rule would set it to the zero step's length)
        delta = xp.where(ok, delta, 0.1 * s.delta)
    accept = (ratio >= ACCEPT) & tried & (done == RUNNING)
    if fresh is not None:
        accept = accept & ~fresh
    s.delta = delta
    if xp.any(accept):
        s.x = xp.where(accept, trial, s.x)
        s.chisq = xp.where(accept, chisq1, s.chisq)
        s.jtj = xp.where(accept, jtj1, s.jtj)
        s.jtr = xp.where(accept, jtr1, s.jtr)
        s.niter = s.niter + accept
        s.crawl = xp.where(accept, crawl_count(s.crawl, step_par, ratio,
                                               False if accelerated is None else accelerated),
                           s.crawl)
        # MINPACK: ||D x|| after each accepted step (with this iteration's D)
        s.xnorm = xp.where(accept, xp.sqrt(batch_dot(s.scale * s.x, s.x)), s.xnorm)
    # the single-fit core's tests, its superlinear ftol test included
    codes = convergence_codes(actred, prered, ratio, delta, s.xnorm, gnorm, s.nfev,
                              opts.ftol, opts.xtol, opts.max_nfev, accepted=accept,
                              last_actred=s.last_actred, xp=xp)
    s.last_actred = xp.where(accept, actred, s.last_actred)
    done = xp.where(done == RUNNING, codes, done)
    if fresh is not None:
        good = fresh & finite & xp.all(xp.isfinite(s.x), axis=0)
        s.start(good, chisq1, jtj1, jtr1, opts.factor)
        done = xp.where(fresh, xp.where(good, xp.asarray(RUNNING, dtype=xp.int8),
                                        xp.asarray(Termination.IMPROPER_INPUT.code,
                                                   dtype=xp.int8)), done)
    return done


def _record(out: BatchLMSolution, s: _State, finished, done, opts: _Options):
    """Copy the finished datasets into ``out``, downgrading non-stationary 'converged' ones.

    Datasets whose start could not be evaluated keep NaN sums of squares and moments.
    """
    xp = opts.xp
    idx = s.index[finished]
    codes = done[finished]
    out.x[:, idx] = s.x[:, finished]
    out.nfev[idx] = s.nfev[finished]
    out.niter[idx] = s.niter[finished]
    evaluated = codes != Termination.IMPROPER_INPUT.code
    if not xp.all(evaluated):
        out.termination[idx[~evaluated]] = codes[~evaluated]
        finished = finished & (done != Termination.IMPROPER_INPUT.code)
        idx, codes = idx[evaluated], codes[evaluated]
    x, jtj, jtr, chisq = s.x[:, finished], s.jtj[:, :, finished], s.jtr[:, finished], \
        s.chisq[finished]
    converged = (codes >= 1) & (codes <= 4) & (xp.sqrt(chisq) > NEGLIGIBLE_RESIDUAL
                                               * s.first[finished])
    if xp.any(converged):
        pegged = pegged_columns(x, jtr, opts.lower, opts.upper) if opts.bounded \
            else xp.zeros(x.shape, dtype=bool)
        gnorm = scaled_gradient(jtj, jtr, chisq, pegged, xp)
        # the single fits' test (final_phase._stationary): the gradient is small, and
        # every free parameter has an effect on the residuals beyond rounding (a zero
        # gradient where a column vanishes, e.g. a peak's width on its bound 0, is no
        # minimum)
        effect = xp.sqrt(batch_diagonal(jtj, xp)) * xp.where(x == 0.0, 1.0, xp.abs(x))
        inert = xp.any((effect <= EPS * xp.sqrt(chisq)) & ~pegged, axis=0)
        codes = xp.where(converged & ((gnorm > STATIONARITY_TOL) | inert),
                         xp.asarray(Termination.NOT_STATIONARY.code, dtype=xp.int8), codes)
    out.jtj[:, :, idx] = jtj
    out.jtr[:, idx] = jtr
    out.chisq[idx] = chisq
    out.termination[idx] = codes
