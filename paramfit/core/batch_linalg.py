"""Vectorised small linear algebra for B independent least-squares fits in lockstep.

The array operations of :func:`~paramfit.core.solvers.batch_levenberg_marquardt.
batch_levenberg_marquardt` that act on per-dataset columns: fixed-order sums over a short
leading axis (:func:`batch_dot`), the damped normal equations solved by a Cholesky
factorisation unrolled over the (few) parameters (:func:`cholesky_solve`) or, for three,
by the adjugate (:func:`solve_spd3`; both through :class:`SpdSystem`, factorised once and
solved for several right-hand sides), MINPACK's Levenberg-Marquardt parameter for a trust
radius (:func:`lm_step`, ``lmpar`` on the normal equations, Moré 1977, section 5), the
diagonals of stacked ``J^T J`` matrices (:func:`batch_diagonal`), MINPACK's scaled
gradient (:func:`scaled_gradient`) and its updates of the trust radius and of the LM
parameter after a step (:func:`radius_update`, :func:`parameter_update`, Moré 1977,
section 4).

Every operation acts elementwise on the batch axis (the last), and sums over a
dataset's parameters are added in a fixed order, so each dataset's result is rounded the
same whatever the datasets that share its batch.  The arrays are handled through an array
namespace ``xp`` (numpy by default), with no numpy-only array function (``np.errstate``
aside).

References
----------
.. [1] J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and
   theory", in Numerical Analysis, ed. G. A. Watson, Lecture Notes in
   Mathematics 630, Springer, 1977, pp. 105-116.
.. [2] J. J. Moré, B. S. Garbow, K. E. Hillstrom, "User Guide for MINPACK-1",
   Argonne National Laboratory Report ANL-80-74, 1980.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["batch_dot", "cholesky_solve", "solve_spd3", "SpdSystem", "damped_system",
           "held_pairs", "lm_step",
           "batch_diagonal", "scaled_gradient", "radius_update", "parameter_update"]

#: Smallest positive normal float (MINPACK's ``dwarf``, as in :mod:`paramfit.core.linalg`).
DWARF = float(np.finfo(float).tiny)


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


class SpdSystem:
    """Symmetric positive definite systems ``matrix[:, :, b] @ y = rhs[:, b]``, factorised
    once for every b and solved for any number of right-hand sides.

    Three parameters (unless ``adjugate`` is False): the adjugate (Cramer's rule), about
    twenty numpy calls for the whole batch instead of sixty, its six cofactors formed
    together from gathered entries; the products are equivariant under a diagonal
    scaling of the matrix, so the accuracy is governed by the condition number of the
    scaled matrix, as for Cholesky.
    Otherwise a Cholesky factorisation unrolled over the F parameters.  Each operation
    acts on the batch axis.

    Attributes
    ----------
    ok : ndarray of bool, shape (b,)
        False where a leading minor (a pivot) is not positive: no solution (``solve``
        gives 0 there).
    """

    def __init__(self, matrix: np.ndarray, xp: Any = np, adjugate: bool = True):
        self.xp = xp
        self.size = F = matrix.shape[0]
        self._by_adjugate = adjugate and F == 3
        if self._by_adjugate:
            a = xp.reshape(matrix, (9, -1))
            cof = a[_P1] * a[_P2] - a[_Q1] * a[_Q2]
            det = batch_dot(a[:3], cof[:3])
            # y_i = sum_k adj[i, k] rhs[k]: the sum over k leads
            self._adjugate = xp.reshape(cof[_ADJUGATE], (3, 3, -1)).transpose(1, 0, 2)
            self.ok = (a[0] > 0.0) & (cof[5] > 0.0) & (det > 0.0)
            self._det = xp.where(self.ok, det, 1.0)
            return
        lower = [[None] * F for _ in range(F)]
        ok = xp.ones(matrix.shape[2], dtype=bool)
        for j in range(F):
            pivot = matrix[j, j]
            for k in range(j):
                pivot = pivot - lower[j][k] * lower[j][k]
            ok = ok & (pivot > 0.0)
            diag = xp.sqrt(xp.where(pivot > 0.0, pivot, 1.0))
            lower[j][j] = diag
            inv = 1.0 / diag
            for i in range(j + 1, F):
                value = matrix[i, j]
                for k in range(j):
                    value = value - lower[i][k] * lower[j][k]
                lower[i][j] = value * inv
        self._lower = lower
        self.ok = ok

    def subset(self, index: np.ndarray) -> SpdSystem:
        """The systems ``index`` (indices along the batch axis), already factorised."""
        out = SpdSystem.__new__(SpdSystem)
        out.xp, out.size, out._by_adjugate = self.xp, self.size, self._by_adjugate
        out.ok = self.ok[index]
        if self._by_adjugate:
            out._adjugate, out._det = self._adjugate[:, :, index], self._det[index]
        else:
            out._lower = [[None if v is None else v[index] for v in row]
                          for row in self._lower]
        return out

    def inverse_norm2(self, q: np.ndarray) -> np.ndarray:
        """``q^T matrix^-1 q`` (b,): ``||L^-1 q||^2`` by forward substitution alone (the
        square of MINPACK's ``||R^-T q||`` in ``lmpar``, ``matrix = R^T R``)."""
        if self._by_adjugate:
            return batch_dot(q, self.solve(q))
        lower = self._lower
        total = None
        z = [None] * self.size
        for i in range(self.size):
            value = q[i]
            for k in range(i):
                value = value - lower[i][k] * z[k]
            z[i] = value / lower[i][i]
            total = z[i] * z[i] if total is None else total + z[i] * z[i]
        return self.xp.where(self.ok, total, 0.0)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``y (F, b)`` with ``matrix @ y = rhs`` (0 where not :attr:`ok`)."""
        xp = self.xp
        if self._by_adjugate:
            y = batch_dot(self._adjugate, rhs[:, None])
            return xp.where(self.ok, y / self._det, 0.0)
        F, lower = self.size, self._lower
        y = [None] * F
        for i in range(F):
            value = rhs[i]
            for k in range(i):
                value = value - lower[i][k] * y[k]
            y[i] = value / lower[i][i]
        for i in reversed(range(F)):
            value = y[i]
            for k in range(i + 1, F):
                value = value - lower[k][i] * y[k]
            y[i] = value / lower[i][i]
        return xp.where(self.ok, xp.stack(y), 0.0)


def cholesky_solve(matrix: np.ndarray, rhs: np.ndarray, xp: Any = np
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``matrix[:, :, b] @ y[:, b] = rhs[:, b]`` for every b (SPD matrices) by a
    Cholesky factorisation unrolled over the F parameters.

    Returns ``(y (F, b), ok (b,))``; ``ok`` is False where a pivot was not positive
    (``y`` is then 0).
    """
    system = SpdSystem(matrix, xp, adjugate=False)
    return system.solve(rhs), system.ok


# Flat indices (3 i + j) of the products forming the cofactors c00 c01 c02 c11 c12 c22 of
# a symmetric 3x3 matrix, c = a[P1] a[P2] - a[Q1] a[Q2], and of the full adjugate.
_P1, _P2 = np.array([4, 2, 1, 0, 1, 0]), np.array([8, 5, 5, 8, 2, 4])
_Q1, _Q2 = np.array([5, 1, 2, 2, 0, 1]), np.array([5, 8, 4, 2, 5, 1])
_ADJUGATE = np.array([0, 1, 2, 1, 3, 4, 2, 4, 5])


def solve_spd3(matrix: np.ndarray, rhs: np.ndarray, xp: Any = np
               ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cholesky_solve` for 3x3 matrices, by the adjugate (:class:`SpdSystem`).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])[:, :, None]
    >>> y, ok = solve_spd3(a, np.array([[1.0], [2.0], [3.0]]))
    >>> np.allclose(a[:, :, 0] @ y[:, 0], [1.0, 2.0, 3.0]), bool(ok[0])
    (True, True)
    """
    system = SpdSystem(matrix, xp)
    return system.solve(rhs), system.ok


def batch_diagonal(jtj: np.ndarray, xp: Any = np) -> np.ndarray:
    """The diagonals ``jtj[i, i, :]`` of (F, F, B) matrices, shape (F, B) (a view: every
    (F + 1)-th row of the matrices' F * F rows)."""
    F = jtj.shape[0]
    return xp.reshape(jtj, (F * F, -1))[:: F + 1]


def scaled_gradient(jtj, jtr, chisq, pegged, xp: Any = np):
    """MINPACK ``gnorm``: largest |cosine| between r and a (non-pegged) column of J.

    The single-fit core's formula (``max(|J^T r| / ||J_j||) / ||r||`` over the free,
    non-zero columns; 0 when there is none or ``r = 0``), each dataset on its own.
    """
    norms = xp.sqrt(batch_diagonal(jtj, xp))
    fnorm = xp.sqrt(chisq)
    used = ~pegged & (norms > 0.0)
    cosine = xp.where(used, xp.abs(jtr) / xp.where(used, norms, 1.0), 0.0)
    largest = xp.max(cosine, axis=0)
    return xp.where(fnorm > 0.0, largest / xp.where(fnorm > 0.0, fnorm, 1.0), 0.0)


def _shrink_factor(actred, dirder, fnorm, fnorm1, xp: Any = np):
    """MINPACK's factor ``temp`` in [0.1, 0.5] by which a poor step shrinks the trust
    radius (and divides the LM parameter), from a quadratic model of the reduction."""
    with np.errstate(divide="ignore", invalid="ignore"):
        quadratic = 0.5 * dirder / (dirder + 0.5 * actred)
    temp = xp.where(actred >= 0.0, 0.5, quadratic)
    return xp.where((0.1 * fnorm1 >= fnorm) | (temp < 0.1), 0.1, temp)


def radius_update(ratio, actred, dirder, fnorm, fnorm1, delta, pnorm, par, truncated,
                  xp: Any = np):
    """MINPACK's update of the trust radius ``delta`` after a step, for B fits.

    The rule of the single-fit core (``_radius_update`` of
    :mod:`paramfit.core.solvers.levenberg_marquardt`, Moré 1977, section 4),
    elementwise: a poor step (``ratio <= 0.25``) shrinks ``delta`` to ``temp *
    min(delta, 10 pnorm)`` with ``temp`` in [0.1, 0.5] from a quadratic model of the
    reduction; a good one (``ratio >= 0.75``, or the LM parameter ``par = 0``) sets
    it to ``2 pnorm``, or to at least that when the step was cut short by a bound;
    otherwise it is kept.  ``fnorm1`` is ``inf`` for a non-finite trial.  The LM
    parameter's own update is :func:`parameter_update`.
    """
    temp = _shrink_factor(actred, dirder, fnorm, fnorm1, xp)
    shrunk = temp * xp.minimum(delta, pnorm / 0.1)
    grown = xp.where(truncated, xp.maximum(delta, pnorm / 0.5), pnorm / 0.5)
    return xp.where(ratio <= 0.25, shrunk,
                    xp.where((par == 0.0) | (ratio >= 0.75), grown, delta))


def parameter_update(ratio, actred, dirder, fnorm, fnorm1, par, xp: Any = np):
    """MINPACK's update of the LM parameter ``par`` after a step, for B fits: divided by
    the factor that shrinks the radius after a poor step, halved after a good one (the
    rule of the single-fit core's ``_radius_update``), the start of the next
    :func:`lm_step`."""
    temp = _shrink_factor(actred, dirder, fnorm, fnorm1, xp)
    return xp.where(ratio <= 0.25, par / temp,
                    xp.where((par == 0.0) | (ratio >= 0.75), 0.5 * par, par))


def held_pairs(held: np.ndarray) -> np.ndarray:
    """The entries (F, F, b) of ``J^T J`` in the row or the column of a held parameter
    (``held`` (F, b)): :func:`damped_system` replaces them by the identity's."""
    return held[:, None] | held[None, :]


def damped_system(jtj: np.ndarray, scale: np.ndarray, damping: np.ndarray | None,
                  identity: np.ndarray | None = None, xp: Any = np) -> SpdSystem:
    """The factorised systems ``J^T J + damping D^2`` (``scale = D^2`` (F, b), ``damping``
    (b,); None: ``J^T J`` itself) with the rows and columns ``identity``
    (:func:`held_pairs`, None: none) those of the identity: the Levenberg-Marquardt
    systems of :func:`lm_step`, and of the geodesic acceleration at the step's ``par``
    (:mod:`paramfit.core.solvers.batch_geodesic`)."""
    F = jtj.shape[0]
    eye = xp.eye(F, dtype=bool)[:, :, None]
    matrix = jtj if damping is None else xp.where(eye, jtj + damping * scale, jtj)
    if identity is not None:
        matrix = xp.where(identity, xp.where(eye, 1.0, 0.0), matrix)
    return SpdSystem(matrix, xp)


#: Most iterations of the safeguarded Newton method of :func:`lm_step` (MINPACK's).
LM_STEP_ITERATIONS = 10


def lm_step(jtj, jtr, scale, delta, par, held, xp: Any = np):
    """MINPACK's Levenberg-Marquardt step for a trust radius, for B fits (``lmpar``).

    For each fit, ``par >= 0`` such that the step ``p`` solving ``(J^T J + par D^2) p =
    -J^T r`` has ``par = 0`` and ``||D p|| <= 1.1 delta``, or ``| ||D p|| - delta | <= 0.1
    delta``: the Gauss-Newton step when it is short enough, else at most ten iterations
    of Moré's safeguarded Newton method on ``phi(par) = ||D p(par)|| - delta`` (Moré 1977,
    section 5), with the bounds ``parl``, ``paru`` and the start of the single-fit core's
    :func:`paramfit.core.linalg.lm_step`, each fit on its own.  The single fit works on a
    QR factorisation of ``J`` (``R^T R = J^T J``); this one on the normal equations, by
    :class:`SpdSystem`, where ``||R^-T q||^2 = q^T (J^T J)^-1 q``.  A Gauss-Newton system
    that is not positive definite (``J`` rank-deficient) has no such step: its fits take
    the damped one (``par > 0``).  Fits whose iteration has stopped keep their step while
    the others iterate.

    Parameters
    ----------
    jtj : ndarray, shape (F, F, b)
    jtr : ndarray, shape (F, b)
    scale : ndarray, shape (F, b)
        ``D^2``, positive.
    delta : ndarray, shape (b,)
        Trust radii.
    par : ndarray, shape (b,)
        The previous LM parameters (the start).
    held : ndarray of bool, shape (F, b), or None
        Parameters held (pegged on a bound): their step is 0 and their rows and
        columns are left out.

    Returns
    -------
    step : ndarray, shape (F, b)
    par : ndarray, shape (b,)
    dxnorm : ndarray, shape (b,)
        ``||D p||``.
    ok : ndarray of bool, shape (b,)
        False where no step could be computed (a system not positive definite).
    """
    rhs = -jtr
    identity = None
    if held is not None:
        identity = held_pairs(held)
        rhs = xp.where(held, 0.0, rhs)

    def system(jtj, scale, identity, damping):
        return damped_system(jtj, scale, damping, identity, xp)

    def norm(scale, y):
        return xp.sqrt(batch_dot(scale * y, y))                       # ||D y||

    def slope(solver, scale, y, dy):
        # ||R^-T D^2 y / ||D y|| ||^2 (MINPACK's wa1 and its norm)
        return solver.inverse_norm2(scale * y / xp.where(dy > 0.0, dy, 1.0))

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gauss = system(jtj, scale, identity, None)                  # par = 0
        y = gauss.solve(rhs)
        dxnorm = xp.where(gauss.ok, norm(scale, y), xp.inf)
        short = gauss.ok & (dxnorm - delta <= 0.1 * delta)
        step, out_par, out_dx, ok = y, xp.zeros(delta.shape), dxnorm, gauss.ok
        if xp.all(short):
            return step, out_par, out_dx, ok
        # the Newton iteration on the fits that need it, dropped as they finish
        index = xp.nonzero(~short)[0]
        s_jtj, s_rhs, s_scale, s_delta = jtj[:, :, index], rhs[:, index], scale[:, index], \
            delta[index]
        s_identity = None if identity is None else identity[:, :, index]
        gauss, y, dxnorm = gauss.subset(index), y[:, index], dxnorm[index]
        fp = dxnorm - s_delta
        parl = xp.where(gauss.ok, fp / s_delta / slope(gauss, s_scale, y, dxnorm), 0.0)
        parl = xp.where(parl > 0.0, parl, 0.0)
        gnorm = xp.sqrt(batch_dot(s_rhs / s_scale, s_rhs))
        paru = gnorm / s_delta
        paru = xp.where(paru == 0.0, DWARF / xp.minimum(s_delta, 0.1), paru)
        par = xp.minimum(xp.maximum(par[index], parl), paru)
        par = xp.where(par == 0.0, gnorm / dxnorm, par)
        sub = [s_jtj, s_rhs, s_scale, s_identity, s_delta, par, parl, paru, fp]
        for iteration in range(LM_STEP_ITERATIONS):
            s_jtj, s_rhs, s_scale, s_identity, s_delta, par, parl, paru, fp = sub
            par = xp.where(par == 0.0, xp.maximum(DWARF, 0.001 * paru), par)
            damped = system(s_jtj, s_scale, s_identity, par)
            y = damped.solve(s_rhs)
            # a damping too small for the normal equations to be numerically positive
            # definite (J^T J singular in floating point, where the QR of J is not): the
            # step is longer than any radius
            dxnorm = xp.where(damped.ok, norm(s_scale, y), xp.inf)
            previous, fp = fp, dxnorm - s_delta
            stop = damped.ok & ((xp.abs(fp) <= 0.1 * s_delta)
                                | ((parl == 0.0) & (fp <= previous) & (previous < 0.0)))
            stop = stop | xp.isnan(fp) | xp.isnan(par)      # NaN: nothing to iterate on
            step[:, index] = y
            out_par[index] = par
            out_dx[index] = dxnorm
            ok[index] = damped.ok
            if iteration == LM_STEP_ITERATIONS - 1 or xp.all(stop):
                break
            parc = fp / s_delta / slope(damped, s_scale, y, dxnorm)
            parl = xp.where(fp > 0.0, xp.maximum(parl, par), parl)
            paru = xp.where(fp < 0.0, xp.minimum(paru, par), paru)
            # without a Newton step (no positive definite system), par grows: the next
            # value lies between it and paru, geometrically
            grown = xp.sqrt(xp.maximum(par, 1e-3 * paru) * paru)
            par = xp.where(damped.ok, xp.maximum(parl, par + parc), grown)
            sub = [s_jtj, s_rhs, s_scale, s_identity, s_delta, par, parl, paru, fp]
            if xp.any(stop):
                going = xp.nonzero(~stop)[0]
                index = index[going]
                sub = [None if a is None else a[..., going] for a in sub]
    return step, out_par, out_dx, ok
