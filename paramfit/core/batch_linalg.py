"""Vectorised small linear algebra for B independent least-squares fits in lockstep.

The array operations of :func:`~paramfit.core.solvers.batch_levenberg_marquardt.
batch_levenberg_marquardt` that act on per-dataset columns: fixed-order sums over a short
leading axis (:func:`batch_dot`), the damped normal equations solved by a Cholesky
factorisation unrolled over the (few) parameters (:func:`cholesky_solve`) or, for three,
by the adjugate (:func:`solve_spd3`), the diagonals of stacked ``J^T J`` matrices
(:func:`batch_diagonal`), MINPACK's scaled gradient (:func:`scaled_gradient`) and its
trust-radius update (:func:`radius_update`, Moré 1977, section 4).

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

__all__ = ["batch_dot", "cholesky_solve", "solve_spd3", "batch_diagonal", "scaled_gradient",
           "radius_update"]


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


def cholesky_solve(matrix: np.ndarray, rhs: np.ndarray, xp: Any = np
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``matrix[:, :, b] @ y[:, b] = rhs[:, b]`` for every b (SPD matrices).

    The factorisation is unrolled over the F parameters; each operation acts on
    the batch axis.  Returns ``(y (F, b), ok (b,))``; ``ok`` is False where a
    pivot was not positive (``y`` is then 0).
    """
    F = rhs.shape[0]
    lower = [[None] * F for _ in range(F)]
    ok = xp.ones(rhs.shape[1], dtype=bool)
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
    return xp.where(ok, xp.stack(y), 0.0), ok


# Flat indices (3 i + j) of the products forming the cofactors c00 c01 c02 c11 c12 c22 of
# a symmetric 3x3 matrix, c = a[P1] a[P2] - a[Q1] a[Q2], and of the full adjugate.
_P1, _P2 = np.array([4, 2, 1, 0, 1, 0]), np.array([8, 5, 5, 8, 2, 4])
_Q1, _Q2 = np.array([5, 1, 2, 2, 0, 1]), np.array([5, 8, 4, 2, 5, 1])
_ADJUGATE = np.array([0, 1, 2, 1, 3, 4, 2, 4, 5])


def solve_spd3(matrix: np.ndarray, rhs: np.ndarray, xp: Any = np
               ) -> tuple[np.ndarray, np.ndarray]:
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
    a = xp.reshape(matrix, (9, -1))
    cof = a[_P1] * a[_P2] - a[_Q1] * a[_Q2]
    det = batch_dot(a[:3], cof[:3])
    # y_i = sum_k adj[i, k] rhs[k]: the sum over k leads
    adjugate = xp.reshape(cof[_ADJUGATE], (3, 3, -1))
    y = batch_dot(adjugate.transpose(1, 0, 2), rhs[:, None])
    ok = (a[0] > 0.0) & (cof[5] > 0.0) & (det > 0.0)
    return xp.where(ok, y / xp.where(ok, det, 1.0), 0.0), ok


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


def radius_update(ratio, actred, dirder, fnorm, fnorm1, delta, pnorm, mu, truncated,
                  xp: Any = np):
    """MINPACK's update of the trust radius ``delta`` after a step, for B fits.

    The rule of the single-fit core (``_radius_update`` of
    :mod:`paramfit.core.solvers.levenberg_marquardt`, Moré 1977, section 4),
    elementwise: a poor step (``ratio <= 0.25``) shrinks ``delta`` to ``temp *
    min(delta, 10 pnorm)`` with ``temp`` in [0.1, 0.5] from a quadratic model of the
    reduction; a good one (``ratio >= 0.75``, or ``mu = 0``) sets it to ``2 pnorm``, or
    to at least that when the step was cut short by a bound; otherwise it is kept.
    ``fnorm1`` is ``inf`` for a non-finite trial.  (MINPACK's ``par`` update is not
    needed: ``mu`` follows Nielsen's rule.)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        quadratic = 0.5 * dirder / (dirder + 0.5 * actred)
    temp = xp.where(actred >= 0.0, 0.5, quadratic)
    temp = xp.where((0.1 * fnorm1 >= fnorm) | (temp < 0.1), 0.1, temp)
    shrunk = temp * xp.minimum(delta, pnorm / 0.1)
    grown = xp.where(truncated, xp.maximum(delta, pnorm / 0.5), pnorm / 0.5)
    return xp.where(ratio <= 0.25, shrunk,
                    xp.where((mu == 0.0) | (ratio >= 0.75), grown, delta))
