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
   (:mod:`paramfit.solvers.levenberg_marquardt`) with the same ``ftol``,
   ``xtol``, ``gtol`` semantics and defaults, and the same
   :class:`~paramfit.solvers.levenberg_marquardt.Termination` codes.

Datasets that finish leave the active set, and the arrays (data included) are
compacted, so the work shrinks as the batch converges.  Every operation acts
on each dataset's own row, so a dataset's result does not depend on which
other datasets share its batch: chunked and unchunked fits agree bit for bit.

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

from paramfit.solvers._final import STATIONARITY_TOL
from paramfit.solvers.levenberg_marquardt import Termination

__all__ = ["BatchLMSolution", "batch_levenberg_marquardt", "cholesky_solve",
           "RUNNING", "DEFAULT_FTOL", "DEFAULT_XTOL", "DEFAULT_GTOL"]

EPS = float(np.finfo(float).eps)
#: The single-fit core's defaults (see :func:`paramfit.solvers.levenberg_marquardt.
#: levenberg_marquardt`).
DEFAULT_FTOL, DEFAULT_XTOL, DEFAULT_GTOL = 1e-15, 1e-12, 1e-12
RUNNING = -99
NEGLIGIBLE_RESIDUAL = 1e-10
ACCEPT = 1e-4

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
    """Arrays of the datasets still being fitted (compacted as they finish)."""

    def __init__(self, index, x, chisq, jtj, jtr):
        self.index = index
        self.x, self.chisq, self.jtj, self.jtr = x, chisq, jtj, jtr
        diag = np.einsum("iib->ib", jtj).copy()
        self.scale = np.where(diag == 0.0, 1.0, diag)
        self.mu = np.full(index.size, 1e-3)
        self.nu = np.full(index.size, 2.0)
        self.first = np.sqrt(chisq)
        self.nfev = np.ones(index.size, dtype=np.int64)
        self.niter = np.zeros(index.size, dtype=np.int64)

    def keep(self, mask):
        for name in ("index", "chisq", "mu", "nu", "first", "nfev", "niter"):
            setattr(self, name, getattr(self, name)[mask])
        self.x, self.jtr, self.scale = self.x[:, mask], self.jtr[:, mask], self.scale[:, mask]
        self.jtj = self.jtj[:, :, mask]


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
) -> BatchLMSolution:
    """Fit B datasets by Levenberg-Marquardt in lockstep.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(x) -> (chisq (b,), jtj (F, F, b), jtr (F, b))`` at the free
        vectors ``x`` (F, b) of the selected datasets, and
        ``evaluate.select(mask)`` restricting the selection (a boolean mask over
        the current one).  Non-finite results mark a failed evaluation.
    x0 : ndarray, shape (F, B)
        Start points, inside the bounds.
    lower, upper : ndarray, shape (F,)
        Bounds (``-inf``/``inf`` for none).
    max_step : ndarray, shape (F,), optional
        Largest change of each parameter per iteration (NaN: none).
    ftol, xtol, gtol : float
        As :func:`paramfit.solvers.levenberg_marquardt.levenberg_marquardt`
        (same defaults): relative reduction of the sum of squares, relative
        scaled step, largest cosine between residual and Jacobian columns.
    max_nfev : int, optional
        Most evaluations per dataset; default ``1000 * (F + 1)``.

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
    max_nfev = 1000 * (F + 1) if max_nfev is None else int(max_nfev)
    lo, hi = lower[:, None], upper[:, None]
    limited = max_step is not None and bool(np.any(np.isfinite(max_step) & (max_step > 0)))
    step_limit = np.where(np.isfinite(max_step) & (max_step > 0), max_step, np.inf) \
        if limited else None
    bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())
    out = BatchLMSolution(
        x=x0.astype(float, copy=True), chisq=np.full(B, np.nan), jtj=np.full((F, F, B), np.nan),
        jtr=np.full((F, B), np.nan), nfev=np.zeros(B, dtype=np.int64),
        niter=np.zeros(B, dtype=np.int64), termination=np.full(B, RUNNING, dtype=np.int8),
        active=np.zeros((F, B), dtype=np.int8))
    if B == 0:
        return out
    chisq, jtj, jtr = evaluate(out.x)
    good = np.isfinite(chisq) & np.isfinite(jtj).all(axis=(0, 1)) & np.isfinite(jtr).all(axis=0)
    good &= np.isfinite(out.x).all(axis=0)
    out.nfev[:] = 1
    out.termination[~good] = Termination.IMPROPER_INPUT.code
    state = _State(np.flatnonzero(good), out.x[:, good], chisq[good], jtj[:, :, good],
                   jtr[:, good])
    if not good.all():
        evaluate.select(good)
    while state.index.size:
        done = _iterate(evaluate, state, lo, hi, step_limit, bounded, ftol, xtol, gtol,
                        max_nfev)
        finished = done != RUNNING
        if finished.any():
            _record(out, state, finished, done, lo, hi, bounded)
            keep = ~finished
            state.keep(keep)
            if state.index.size:
                evaluate.select(keep)
    if bounded:
        out.active[:] = np.where(out.x <= lo, -1, np.where(out.x >= hi, 1, 0))
        out.active[:, out.termination == Termination.IMPROPER_INPUT.code] = 0
    return out


def _iterate(evaluate, s: _State, lo, hi, step_limit, bounded, ftol, xtol, gtol, max_nfev):
    """One outer iteration of every active dataset; returns their codes (RUNNING or done)."""
    F, b = s.x.shape
    done = np.full(b, RUNNING, dtype=np.int8)
    pegged = _pegged(s.x, s.jtr, lo, hi) if bounded else np.zeros((F, b), dtype=bool)
    gnorm = _scaled_gradient(s.jtj, s.jtr, s.chisq, pegged)
    done[gnorm <= gtol] = _GTOL
    s.scale = np.maximum(s.scale, np.einsum("iib->ib", s.jtj))
    matrix = s.jtj.copy()
    damping = s.mu * s.scale
    for i in range(F):
        matrix[i, i] += damping[i]
    rhs = -s.jtr
    if pegged.any():
        matrix[:, pegged] = 0.0
        matrix.transpose(1, 0, 2)[:, pegged] = 0.0
        for i in range(F):
            matrix[i, i][pegged[i]] = 1.0
        rhs = np.where(pegged, 0.0, rhs)
    step, ok = cholesky_solve(matrix, rhs)
    if bounded or step_limit is not None:
        trial, alpha = _truncate(s.x, step, lo, hi, step_limit)
    else:
        trial, alpha = s.x + step, np.ones(b)
    taken = trial - s.x
    pnorm = np.sqrt(np.einsum("ib,ib->b", s.scale * taken, taken))
    chisq1, jtj1, jtr1 = evaluate(trial)
    s.nfev += 1
    finite = np.isfinite(chisq1) & np.isfinite(jtj1).all(axis=(0, 1)) \
        & np.isfinite(jtr1).all(axis=0)
    chisq1 = np.where(finite, chisq1, np.inf)
    with np.errstate(all="ignore"):
        actred = np.where(0.1 * np.sqrt(chisq1) < np.sqrt(s.chisq), 1.0 - chisq1 / s.chisq,
                          -1.0)
        jp = np.einsum("ijb,ib,jb->b", s.jtj, step, step)
        dp = np.einsum("ib,ib->b", s.scale * step, step)
        temp1 = jp / s.chisq
        temp2 = s.mu * dp / s.chisq
        prered = np.where(s.chisq == 0.0, 0.0, alpha * (2.0 - alpha) * temp1
                          + 2.0 * alpha * temp2)
        ratio = np.where(prered != 0.0, actred / prered, 0.0)
    accept = (ratio >= ACCEPT) & ok & finite
    factor = np.maximum(1.0 / 3.0, 1.0 - (2.0 * ratio - 1.0) ** 3)
    s.mu = np.where(accept, s.mu * factor, s.mu * s.nu)
    s.nu = np.where(accept, 2.0, 2.0 * s.nu)
    if accept.any():
        s.x = np.where(accept, trial, s.x)
        s.chisq = np.where(accept, chisq1, s.chisq)
        s.jtj = np.where(accept, jtj1, s.jtj)
        s.jtr = np.where(accept, jtr1, s.jtr)
        s.niter += accept
    xnorm = np.sqrt(np.einsum("ib,ib->b", s.scale * s.x, s.x))
    _convergence(done, actred, prered, ratio, pnorm, xnorm, gnorm, s.nfev, ftol, xtol,
                 max_nfev)
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


def _record(out: BatchLMSolution, s: _State, finished, done, lo, hi, bounded):
    """Copy the finished datasets into ``out``, downgrading non-stationary 'converged' ones."""
    idx = s.index[finished]
    codes = done[finished].copy()
    x, jtj, jtr, chisq = s.x[:, finished], s.jtj[:, :, finished], s.jtr[:, finished], \
        s.chisq[finished]
    converged = (codes >= 1) & (codes <= 4) & (np.sqrt(chisq) > NEGLIGIBLE_RESIDUAL
                                               * s.first[finished])
    if converged.any():
        pegged = _pegged(x, jtr, lo, hi) if bounded else np.zeros(x.shape, dtype=bool)
        gnorm = _scaled_gradient(jtj, jtr, chisq, pegged)
        codes[converged & (gnorm > STATIONARITY_TOL)] = Termination.NOT_STATIONARY.code
    out.x[:, idx] = x
    out.jtj[:, :, idx] = jtj
    out.jtr[:, idx] = jtr
    out.chisq[idx] = chisq
    out.nfev[idx] = s.nfev[finished]
    out.niter[idx] = s.niter[finished]
    out.termination[idx] = codes
