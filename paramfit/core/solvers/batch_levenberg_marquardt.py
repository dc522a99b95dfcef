"""Vectorized Levenberg-Marquardt: B independent small least-squares fits in lockstep.

Every dataset has its own damping parameter, trust in its own steps, bounds
and convergence tests; the batch only shares the numpy calls.  Each iteration

1. solves the damped normal equations ``(J^T J + mu D^2) p = -J^T r`` of all
   active datasets at once with a Cholesky factorisation unrolled over the
   (few) parameters, each operation acting on the whole batch (``D^2`` is the
   largest diagonal of ``J^T J`` seen so far, MINPACK's scaling);
2. holds parameters on a bound whose gradient points out of the box (MPFIT's
   pegging) and shortens steps that would leave it (projection);
3. evaluates the sum of squares, ``J^T J`` and ``J^T r`` at the trial points in
   one fused pass (the caller's ``evaluate``);
4. accepts steps with a ratio of actual to predicted reduction of at least
   1e-4 and updates ``mu`` by Nielsen's rule;
5. applies the convergence tests of the single-fit core
   (:mod:`paramfit.core.solvers.levenberg_marquardt`) with the same ``ftol``,
   ``xtol``, ``gtol`` semantics and defaults, and the same
   :class:`~paramfit.core.solvers.levenberg_marquardt.Termination` codes.

The datasets are fitted through a *working set* of fixed size: when datasets
finish, their slots are refilled with the next datasets of the batch (whose
start points are evaluated by the same call that evaluates the others' trial
points), so every numpy call acts on a full set however long the batch.  Once
no dataset is left to load, finished slots are dropped and the arrays (data
included) compacted.  Every operation acts on each dataset's own column, so a
dataset's result does not depend on which other datasets share its batch or its
working set: chunked, unchunked and refilled fits agree bit for bit.

References
----------
.. [1] J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and
   theory", in Numerical Analysis, ed. G. A. Watson, Lecture Notes in
   Mathematics 630, Springer, 1977, pp. 105-116.
.. [2] H. B. Nielsen, "Damping parameter in Marquardt's method", Technical
   Report IMM-REP-1999-05, Technical University of Denmark, 1999.
.. [3] C. B. Markwardt, "Non-linear least squares fitting in IDL with MPFIT",
   ASP Conference Series 411, 251, 2009.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from paramfit.core.solvers.final_phase import STATIONARITY_TOL
from paramfit.core.solvers.levenberg_marquardt import Termination

__all__ = ["BatchLMSolution", "batch_levenberg_marquardt", "batch_dot", "cholesky_solve",
           "solve_spd3", "RUNNING", "DEFAULT_FTOL", "DEFAULT_XTOL", "DEFAULT_GTOL", "WORKING_SET"]

EPS = float(np.finfo(float).eps)
#: The single-fit core's defaults (see :func:`paramfit.core.solvers.levenberg_marquardt.
#: levenberg_marquardt`).
DEFAULT_FTOL, DEFAULT_XTOL, DEFAULT_GTOL = 1e-15, 1e-12, 1e-12
RUNNING = -99
NEGLIGIBLE_RESIDUAL = 1e-10
ACCEPT = 1e-4
#: Datasets fitted side by side when the evaluator can refill its slots: enough that
#: the per-iteration numpy calls on per-dataset vectors cost little per dataset.
WORKING_SET = 4096

_FTOL, _XTOL, _BOTH, _GTOL = (Termination.FTOL.code, Termination.XTOL.code,
                              Termination.BOTH.code, Termination.GTOL.code)


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


def batch_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_k a[k] * b[k]`` over the leading axis (of the same length in ``a`` and ``b``;
    the other axes broadcast), added in the order k = 0, 1, 2, ...

    Elementwise arithmetic on the other axes (the batch axis among them), so every
    element of the result is rounded the same whatever the number of datasets computed
    with it.  A BLAS dot over a short leading axis is not: its stride is the batch
    size, and OpenBLAS picks its kernel (and summation order) by stride and alignment
    (e.g. ``OPENBLAS_CORETYPE=Prescott``, where one dataset alone and the same dataset
    among others gave different sums of three products).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(6.0).reshape(3, 2)
    >>> batch_dot(a, a)
    array([20., 35.])
    """
    total = a[0] * b[0]
    for k in range(1, a.shape[0]):
        total = total + a[k] * b[k]
    return total


def cholesky_solve(matrix: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``matrix[:, :, b] @ y[:, b] = rhs[:, b]`` for every b (SPD matrices).

    The factorisation is unrolled over the F parameters; each operation acts on
    the batch axis.  Returns ``(y (F, b), ok (b,))``; ``ok`` is False where a
    pivot was not positive (``y`` is then 0).
    """
    F = rhs.shape[0]
    lower = [[None] * F for _ in range(F)]
    ok = np.ones(rhs.shape[1], dtype=bool)
    for j in range(F):
        pivot = matrix[j, j].copy()
        for k in range(j):
            pivot -= lower[j][k] * lower[j][k]
        ok &= pivot > 0.0
        diag = np.sqrt(np.where(pivot > 0.0, pivot, 1.0))
        lower[j][j] = diag
        inv = 1.0 / diag
        for i in range(j + 1, F):
            value = matrix[i, j].copy()
            for k in range(j):
                value -= lower[i][k] * lower[j][k]
            lower[i][j] = value * inv
    y = [None] * F
    for i in range(F):
        value = rhs[i].copy()
        for k in range(i):
            value -= lower[i][k] * y[k]
        y[i] = value / lower[i][i]
    for i in reversed(range(F)):
        value = y[i]
        for k in range(i + 1, F):
            value -= lower[k][i] * y[k]
        y[i] = value / lower[i][i]
    out = np.stack(y)
    out[:, ~ok] = 0.0
    return out, ok


# Flat indices (3 i + j) of the products forming the cofactors c00 c01 c02 c11 c12 c22 of
# a symmetric 3x3 matrix, c = a[P1] a[P2] - a[Q1] a[Q2], and of the full adjugate.
_P1, _P2 = [4, 2, 1, 0, 1, 0], [8, 5, 5, 8, 2, 4]
_Q1, _Q2 = [5, 1, 2, 2, 0, 1], [5, 8, 4, 2, 5, 1]
_ADJUGATE = [0, 1, 2, 1, 3, 4, 2, 4, 5]


def solve_spd3(matrix: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cholesky_solve` for 3x3 matrices, by the adjugate (Cramer's rule).

    About twenty numpy calls for the whole batch instead of sixty: the six
    cofactors are formed together from gathered entries.  The products are
    equivariant under a diagonal scaling of the matrix, so the accuracy is
    governed by the condition number of the scaled matrix, as for Cholesky.
    ``ok`` is False where a leading minor is not positive (not positive
    definite; ``y`` is then 0).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])[:, :, None]
    >>> y, ok = solve_spd3(a, np.array([[1.0], [2.0], [3.0]]))
    >>> np.allclose(a[:, :, 0] @ y[:, 0], [1.0, 2.0, 3.0]), bool(ok[0])
    (True, True)
    """
    a = matrix.reshape(9, -1)
    cof = a[_P1] * a[_P2]
    cof -= a[_Q1] * a[_Q2]
    det = batch_dot(a[:3], cof[:3])
    # y_i = sum_k adj[i, k] rhs[k]: the sum over k leads
    y = batch_dot(cof[_ADJUGATE].reshape(3, 3, -1).transpose(1, 0, 2), rhs[:, None])
    ok = (a[0] > 0.0) & (cof[5] > 0.0) & (det > 0.0)
    with np.errstate(all="ignore"):
        y /= det
    y[:, ~ok] = 0.0
    return y, ok


def _pegged(x, jtr, lower, upper):
    """MPFIT pegging: on a bound with the descent direction pointing out of the box."""
    at_lower = x <= lower
    at_upper = x >= upper
    return (at_lower & (jtr > 0.0)) | (at_upper & (jtr < 0.0)) | (at_lower & at_upper)


def _scaled_gradient(jtj, jtr, chisq, pegged):
    """MINPACK ``gnorm``: largest |cosine| between r and a (non-pegged) column of J."""
    norms = np.sqrt(np.einsum("iib->ib", jtj))
    fnorm = np.sqrt(chisq)
    with np.errstate(all="ignore"):
        cos = np.abs(jtr) / (norms * fnorm)
    cos[pegged | (norms == 0.0)] = 0.0
    gnorm = cos.max(axis=0)
    gnorm[fnorm == 0.0] = 0.0
    return gnorm


def _truncate(x, step, lower, upper, max_step):
    """Shorten steps to stay in the box (and obey ``max_step``); snap onto bounds."""
    step = np.where(((x <= lower) & (step < 0.0)) | ((x >= upper) & (step > 0.0)), 0.0, step)
    trial = x + step
    below = trial < lower
    above = trial > upper
    alpha = np.ones(x.shape[1])
    with np.errstate(all="ignore"):
        if below.any():
            alpha = np.minimum(alpha, np.where(below, (lower - x) / step, 1.0).min(axis=0))
        if above.any():
            alpha = np.minimum(alpha, np.where(above, (upper - x) / step, 1.0).min(axis=0))
        if max_step is not None:
            ratio = (np.abs(alpha * step) / max_step[:, None]).max(axis=0)
            alpha = np.where(ratio > 1.0, alpha / ratio, alpha)
    short = alpha < 1.0
    if short.any():
        trial = x + alpha * step
        tol_low = 4.0 * EPS * np.maximum(np.abs(lower), np.abs(x))
        tol_up = 4.0 * EPS * np.maximum(np.abs(upper), np.abs(x))
        with np.errstate(invalid="ignore"):
            trial = np.where(below & (trial <= lower + tol_low), lower, trial)
            trial = np.where(above & (trial >= upper - tol_up), upper, trial)
        trial = np.clip(trial, lower, upper)
    return trial, alpha


class _State:
    """Per-slot arrays of the working set (slot ``k`` holds chunk dataset ``index[k]``).

    A *fresh* slot has just been loaded: its start point is evaluated by the next
    evaluation, together with the trial points of the other slots.
    """

    def __init__(self, x0: np.ndarray, rows: np.ndarray):
        F, w = x0.shape[0], rows.size
        self.x0 = x0
        self.index = rows.copy()
        self.x = x0[:, rows].copy()
        self.chisq = np.ones(w)
        self.jtj = np.zeros((F, F, w))
        self.jtr = np.zeros((F, w))
        self.scale = np.ones((F, w))
        self.mu = np.full(w, 1e-3)
        self.nu = np.full(w, 2.0)
        self.first = np.ones(w)
        self.nfev = np.zeros(w, dtype=np.int64)
        self.niter = np.zeros(w, dtype=np.int64)
        self.fresh = np.ones(w, dtype=bool)
        self.n_fresh = w

    def load(self, slots: np.ndarray, rows: np.ndarray) -> None:
        """Put chunk datasets ``rows`` into ``slots`` (their start points not yet evaluated)."""
        self.index[slots] = rows
        self.x[:, slots] = self.x0[:, rows]
        self.nfev[slots] = 0
        self.niter[slots] = 0
        self.fresh[slots] = True
        self.n_fresh = int(np.count_nonzero(self.fresh))

    def start(self, good: np.ndarray, chisq, jtj, jtr) -> None:
        """Initialise the fresh slots ``good`` from the evaluation of their start points."""
        np.copyto(self.chisq, chisq, where=good)
        np.copyto(self.jtj, jtj, where=good)
        np.copyto(self.jtr, jtr, where=good)
        diag = np.einsum("iib->ib", jtj)
        np.copyto(self.scale, np.where(diag == 0.0, 1.0, diag), where=good)
        self.mu[good] = 1e-3
        self.nu[good] = 2.0
        np.copyto(self.first, np.sqrt(chisq), where=good)
        self.fresh = np.zeros(self.fresh.size, dtype=bool)
        self.n_fresh = 0

    def keep(self, keep: np.ndarray) -> None:
        """Keep the slots ``keep`` (a mask or indices; compaction once nothing is left to
        load)."""
        for name in ("index", "chisq", "mu", "nu", "first", "nfev", "niter", "fresh"):
            setattr(self, name, getattr(self, name)[keep])
        self.x, self.jtr, self.scale = self.x[:, keep], self.jtr[:, keep], self.scale[:, keep]
        self.jtj = self.jtj[:, :, keep]
        self.n_fresh = int(np.count_nonzero(self.fresh))


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
    x0 : ndarray, shape (F, B)
        Start points, inside the bounds.
    lower, upper : ndarray, shape (F,)
        Bounds (``-inf``/``inf`` for none).
    max_step : ndarray, shape (F,), optional
        Largest change of each parameter per iteration (NaN: none).
    ftol, xtol, gtol : float
        As :func:`paramfit.core.solvers.levenberg_marquardt.levenberg_marquardt`
        (same defaults): relative reduction of the sum of squares, relative
        scaled step, largest cosine between residual and Jacobian columns.
    max_nfev : int, optional
        Most evaluations per dataset; default ``1000 * (F + 1)``.
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
    limited = max_step is not None and bool(np.any(np.isfinite(max_step) & (max_step > 0)))
    step_limit = np.where(np.isfinite(max_step) & (max_step > 0), max_step, np.inf) \
        if limited else None
    bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())
    opts = _Options(lower[:, None], upper[:, None], step_limit, bounded, ftol, xtol, gtol,
                    1000 * (F + 1) if max_nfev is None else int(max_nfev))
    x0 = x0.astype(float, copy=True)
    out = BatchLMSolution(
        x=x0.copy(), chisq=np.full(B, np.nan), jtj=np.full((F, F, B), np.nan),
        jtr=np.full((F, B), np.nan), nfev=np.zeros(B, dtype=np.int64),
        niter=np.zeros(B, dtype=np.int64), termination=np.full(B, RUNNING, dtype=np.int8),
        active=np.zeros((F, B), dtype=np.int8))
    if B == 0:
        return out
    size = WORKING_SET if working_set is None else max(1, int(working_set))
    if not hasattr(evaluate, "load") or size >= B:
        size = B
    state = _State(x0, np.arange(size))
    if size < B:
        evaluate.select(np.arange(size))
    queue = size
    while state.index.size:
        done = _iterate(evaluate, state, opts)
        finished = done != RUNNING
        if not finished.any():
            continue
        _record(out, state, finished, done, opts)
        slots = np.flatnonzero(finished)
        if queue < B:
            take = min(slots.size, B - queue)
            loaded, slots = slots[:take], slots[take:]
            rows = np.arange(queue, queue + take)
            queue += take
            state.load(loaded, rows)
            evaluate.load(loaded, rows)
        if slots.size:
            order = _compaction(state.index.size, slots)
            state.keep(order)
            if order.size:
                evaluate.select(order)
    if bounded:
        lo, hi = opts.lower, opts.upper
        out.active[:] = np.where(out.x <= lo, -1, np.where(out.x >= hi, 1, 0))
        out.active[:, out.termination == Termination.IMPROPER_INPUT.code] = 0
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
    """Validated solver options, as plain attributes."""

    def __init__(self, lower, upper, step_limit, bounded, ftol, xtol, gtol, max_nfev):
        self.lower, self.upper, self.step_limit, self.bounded = lower, upper, step_limit, \
            bounded
        self.ftol, self.xtol, self.gtol, self.max_nfev = ftol, xtol, gtol, max_nfev


def _trial(s: _State, opts: _Options, done: np.ndarray):
    """Damped Gauss-Newton step of every slot, projected on the box.

    Returns ``(trial (F, w), step (F, w), alpha (w,), ok (w,), gnorm (w,))``.
    """
    F, w = s.x.shape
    pegged = _pegged(s.x, s.jtr, opts.lower, opts.upper) if opts.bounded \
        else np.zeros((F, w), dtype=bool)
    gnorm = _scaled_gradient(s.jtj, s.jtr, s.chisq, pegged)
    done[gnorm <= opts.gtol] = _GTOL
    np.maximum(s.scale, np.einsum("iib->ib", s.jtj), out=s.scale)
    matrix = s.jtj.copy()
    damping = s.mu * s.scale
    for i in range(F):
        matrix[i, i] += damping[i]
    rhs = np.negative(s.jtr)
    if pegged.any():
        matrix[:, pegged] = 0.0
        matrix.transpose(1, 0, 2)[:, pegged] = 0.0
        for i in range(F):
            matrix[i, i][pegged[i]] = 1.0
        rhs[pegged] = 0.0
    step, ok = solve_spd3(matrix, rhs) if F == 3 else cholesky_solve(matrix, rhs)
    if opts.bounded or opts.step_limit is not None:
        trial, alpha = _truncate(s.x, step, opts.lower, opts.upper, opts.step_limit)
    else:
        trial, alpha = s.x + step, np.ones(w)
    return trial, step, alpha, ok, gnorm


def _iterate(evaluate, s: _State, opts: _Options) -> np.ndarray:
    """One outer iteration of every slot; returns their codes (RUNNING or done).

    Fresh slots evaluate their start point instead of a trial point.
    """
    w = s.x.shape[1]
    done = np.full(w, RUNNING, dtype=np.int8)
    trial, step, alpha, ok, gnorm = _trial(s, opts, done)
    fresh = s.fresh if s.n_fresh else None
    if fresh is not None:
        np.copyto(trial, s.x, where=fresh)
    taken = trial - s.x
    pnorm = np.sqrt(batch_dot(s.scale * taken, taken))
    chisq1, jtj1, jtr1 = evaluate(trial)
    s.nfev += 1
    finite = np.isfinite(chisq1) & np.isfinite(jtj1).all(axis=(0, 1)) \
        & np.isfinite(jtr1).all(axis=0)
    with np.errstate(all="ignore"):
        actred = np.where(0.1 * np.sqrt(chisq1) < np.sqrt(s.chisq), 1.0 - chisq1 / s.chisq,
                          -1.0)
        actred[~finite] = -1.0
        # |J p|^2 = p^T (J^T J) p, with (J^T J p)_i = sum_k jtj[i, k] p_k
        jp = batch_dot(step, batch_dot(s.jtj.transpose(1, 0, 2), step[:, None]))
        dp = batch_dot(s.scale * step, step)
        temp1 = jp / s.chisq
        temp2 = s.mu * dp / s.chisq
        prered = np.where(s.chisq == 0.0, 0.0, alpha * (2.0 - alpha) * temp1
                          + 2.0 * alpha * temp2)
        ratio = np.where(prered != 0.0, actred / prered, 0.0)
    accept = (ratio >= ACCEPT) & ok & finite & (done == RUNNING)
    if fresh is not None:
        accept &= ~fresh
    factor = np.maximum(1.0 / 3.0, 1.0 - (2.0 * ratio - 1.0) ** 3)
    s.mu *= np.where(accept, factor, s.nu)
    s.nu *= 2.0
    s.nu[accept] = 2.0
    if accept.any():
        np.copyto(s.x, trial, where=accept)
        np.copyto(s.chisq, chisq1, where=accept)
        np.copyto(s.jtj, jtj1, where=accept)
        np.copyto(s.jtr, jtr1, where=accept)
        s.niter += accept
    xnorm = np.sqrt(batch_dot(s.scale * s.x, s.x))
    _convergence(done, actred, prered, ratio, pnorm, xnorm, gnorm, s.nfev, opts.ftol,
                 opts.xtol, opts.max_nfev)
    if fresh is not None:
        good = fresh & finite & np.isfinite(s.x).all(axis=0)
        s.start(good, chisq1, jtj1, jtr1)
        done[fresh] = RUNNING
        done[fresh & ~good] = Termination.IMPROPER_INPUT.code
    return done


def _convergence(done, actred, prered, ratio, pnorm, xnorm, gnorm, nfev, ftol, xtol,
                 max_nfev):
    """MINPACK's tests in its order, written into ``done`` where still RUNNING."""
    f_ok = (np.abs(actred) <= ftol) & (prered <= ftol) & (0.5 * ratio <= 1.0)
    x_ok = pnorm <= xtol * xnorm
    tests = (
        (f_ok & x_ok, _BOTH), (x_ok, _XTOL), (f_ok, _FTOL),
        (nfev >= max_nfev, Termination.MAX_NFEV.code),
        ((np.abs(actred) <= EPS) & (prered <= EPS) & (0.5 * ratio <= 1.0),
         Termination.FTOL_TOO_SMALL.code),
        (pnorm <= EPS * xnorm, Termination.XTOL_TOO_SMALL.code),
        (gnorm <= EPS, Termination.GTOL_TOO_SMALL.code),
    )
    for condition, code in tests:
        done[(done == RUNNING) & condition] = code


def _record(out: BatchLMSolution, s: _State, finished, done, opts: _Options):
    """Copy the finished datasets into ``out``, downgrading non-stationary 'converged' ones.

    Datasets whose start could not be evaluated keep NaN sums of squares and moments.
    """
    idx = s.index[finished]
    codes = done[finished].copy()
    out.x[:, idx] = s.x[:, finished]
    out.nfev[idx] = s.nfev[finished]
    out.niter[idx] = s.niter[finished]
    evaluated = codes != Termination.IMPROPER_INPUT.code
    if not evaluated.all():
        out.termination[idx[~evaluated]] = codes[~evaluated]
        finished = finished.copy()
        finished[finished] = evaluated
        idx, codes = idx[evaluated], codes[evaluated]
    x, jtj, jtr, chisq = s.x[:, finished], s.jtj[:, :, finished], s.jtr[:, finished], \
        s.chisq[finished]
    converged = (codes >= 1) & (codes <= 4) & (np.sqrt(chisq) > NEGLIGIBLE_RESIDUAL
                                               * s.first[finished])
    if converged.any():
        pegged = _pegged(x, jtr, opts.lower, opts.upper) if opts.bounded \
            else np.zeros(x.shape, dtype=bool)
        gnorm = _scaled_gradient(jtj, jtr, chisq, pegged)
        codes[converged & (gnorm > STATIONARITY_TOL)] = Termination.NOT_STATIONARY.code
    out.jtj[:, :, idx] = jtj
    out.jtr[:, idx] = jtr
    out.chisq[idx] = chisq
    out.termination[idx] = codes
