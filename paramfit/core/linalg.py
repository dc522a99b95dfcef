"""Linear algebra of the Levenberg-Marquardt trust-region step (MINPACK ``qrfac``,
``qrsolv``, ``lmpar``), written over LAPACK.

The scaled trust-region subproblem of Moré (1977) is

    minimise ||J p + f||  subject to  ||D p|| <= delta,

whose solution is ``p(lambda)`` of the damped system
``(J^T J + lambda D^T D) p = -J^T f`` for the ``lambda >= 0`` that makes
``||D p|| ~ delta``.  With the pivoted QR factorisation ``J P = Q R`` the
damped system is the least-squares problem ``[R; sqrt(lambda) P^T D P] y =
[Q^T f; 0]``; instead of MINPACK's Givens rotations (``qrsolv``) it is solved
here with one Householder QR of the stacked ``(2n, n+1)`` matrix, which is as
accurate and runs inside LAPACK.

References
----------
.. [1] J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and
   theory", in Numerical Analysis, ed. G. A. Watson, Lecture Notes in
   Mathematics 630, Springer, 1977, pp. 105-116.
.. [2] J. J. Moré, B. S. Garbow, K. E. Hillstrom, "User Guide for MINPACK-1",
   Argonne National Laboratory Report ANL-80-74, 1980.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.linalg import lapack

__all__ = ["PivotedQR", "TallFactor", "gram_matrix", "gram_triangle", "is_tall", "pivoted_qr",
           "gauss_newton_step", "lm_step", "factor_damped_system"]

DWARF = float(np.finfo(float).tiny)
_dgeqp3 = lapack.dgeqp3
_dgeqrf = lapack.dgeqrf
_dormqr = lapack.dormqr
_dtrtrs = lapack.dtrtrs
_dpotrf = lapack.dpotrf


class PivotedQR:
    """``J P = Q R`` with ``Q^T f`` (MINPACK ``qrfac`` output).

    Attributes
    ----------
    r : ndarray, shape (k, k)
        Upper-triangular factor, ``k = min(m, n)``, Fortran order.
    pivots : ndarray of int, shape (n,)
        0-based column permutation: column ``i`` of ``J P`` is column
        ``pivots[i]`` of ``J``.
    qtf : ndarray, shape (k,)
        First ``k`` components of ``Q^T f``.
    rank : int
        Number of leading non-zero diagonal entries of ``r`` (``nsing``).

    The Gauss-Newton solution ``R^{-1} Q^T f`` and ``R^T Q^T f`` (the
    pivoted gradient) are computed once and shared by every ``lmpar`` call
    made with this factorisation.
    """

    __slots__ = ("r", "pivots", "qtf", "rank", "_gn", "_grad", "_stack", "_damped")

    def __init__(self, r: np.ndarray, pivots: np.ndarray, qtf: np.ndarray, rank: int):
        self.r, self.pivots, self.qtf, self.rank = r, pivots, qtf, rank
        self._gn = self._grad = self._stack = self._damped = None

    def damped_solve(self, diag_p: np.ndarray, par: float, rhs: np.ndarray
                     ) -> np.ndarray | None:
        """``y`` with ``(R^T R + par D_P^2) y = rhs`` (pivoted order) from the factor of
        the last damped system solved with this ``diag_p`` and ``par``
        (:func:`lm_step`); None when there is none or it is singular."""
        damped = self._damped
        if damped is None or damped[0] != par or not np.array_equal(damped[1], diag_p):
            return None
        s, rank = damped[2], damped[3]
        if rank < s.shape[0]:
            return None
        return _solve_upper(s, _solve_upper(s, rhs, rank, transpose=True), rank)

    @property
    def gauss_newton(self) -> np.ndarray:
        """``y = R^{-1} Q^T f`` in pivoted order (rank-deficient part zero)."""
        if self._gn is None:
            self._gn = _solve_upper(self.r, self.qtf, self.rank)
        return self._gn

    @property
    def gradient(self) -> np.ndarray:
        """``R^T Q^T f = P^T J^T f`` (pivoted order)."""
        if self._grad is None:
            self._grad = self.r.T @ self.qtf
        return self._grad

    def stacked(self) -> np.ndarray:
        """A fresh ``[[R, qtf], [0, 0]]`` array of shape ``(2n, n+1)``, Fortran order."""
        if self._stack is None:
            n = self.r.shape[1]
            stack = np.zeros((2 * n, n + 1), order="F")
            stack[:n, :n] = self.r
            stack[:n, n] = self.qtf
            self._stack = stack
        return self._stack.copy(order="F")


#: Jacobians with at least this many rows (and ``TALL_RATIO`` rows per column) are
#: factorised in two stages (:class:`TallFactor`): LAPACK's unpivoted Householder QR
#: ``dgeqrf`` of the tall matrix, then the pivoted QR of its small triangle.  ``dgeqp3``
#: on a tall matrix updates the column norms row by row and is about 40 % slower.
TALL_ROWS = 2048
TALL_RATIO = 8


#: A tall Jacobian whose column-scaled condition number is at most this is factorised
#: through its Gram matrix (:meth:`TallFactor.from_gram`): Cholesky of ``J^T J`` gives
#: ``R1`` with a relative error of about ``cond**2 * eps`` (<= 2e-8 here), plenty for
#: an iteration step; worse conditioned ones take the Householder QR.
GRAM_CONDITION_LIMIT = 1e4


def is_tall(m: int, n: int) -> bool:
    return m >= TALL_ROWS and m >= TALL_RATIO * n


def gram_triangle(gram: np.ndarray, condition_limit: float) -> np.ndarray | None:
    """Upper-triangular ``R`` (Fortran order) with ``R^T R = gram``, or None.

    The Cholesky factorisation is made with unit diagonal (column scaling), and
    refused (None) when a column is zero or not finite or the column-scaled
    condition number of ``R`` exceeds ``condition_limit``.
    """
    norms2 = gram.diagonal()
    if not ((norms2 > 0.0).all() and np.isfinite(gram).all()):
        return None
    norms = np.sqrt(norms2)
    upper, info = _dpotrf(gram / np.multiply.outer(norms, norms), lower=0, clean=1)
    if info != 0:
        return None
    singular = np.linalg.svd(upper, compute_uv=False)
    if not singular[-1] * condition_limit >= singular[0]:
        return None
    return np.asfortranarray(upper * norms)     # gram = (U D)^T (U D)


def gram_matrix(jac: np.ndarray, f: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """``J^T J`` and ``J^T f`` (None without ``f``) by dot products of the columns of a
    Fortran-ordered ``J``.

    For a tall, narrow ``J`` this is several times faster than BLAS ``syrk``/``gemm``
    (which are tuned for wide matrices) and reads each column pair once.
    """
    n = jac.shape[1]
    columns = [jac[:, j] for j in range(n)]
    gram = np.empty((n, n))
    for i in range(n):
        ci = columns[i]
        for j in range(i + 1):
            gram[i, j] = gram[j, i] = ci @ columns[j]
    gradient = None if f is None else np.array([column @ f for column in columns])
    return gram, gradient


class TallFactor:
    """``J = Q1 R1`` (unpivoted), with ``Q1^T f``, the column norms and ``J^T f``.

    ``J[:, cols] = Q1 R1[:, cols]``, so the pivoted QR of (a column subset of)
    ``J`` is that of the ``n``-row matrix ``R1[:, cols]``, and ``Q^T f`` follows
    from ``Q1^T f``: the long dimension is touched once per Jacobian.
    """

    __slots__ = ("r", "qtf", "column_norms", "gradient")

    def __init__(self, jac: np.ndarray, f: np.ndarray, overwrite: bool = False):
        m, n = jac.shape
        qr, tau, _, info = _dgeqrf(jac, overwrite_a=int(overwrite))
        if info != 0:
            raise np.linalg.LinAlgError(f"dgeqrf failed with info={info}")
        qtf, _, info = _dormqr("L", "T", qr, tau, f.reshape(m, 1), lwork=max(64, n))
        self.r = qr[:n, :] * _upper_mask(n)
        self.qtf = qtf[:n, 0].copy()
        self.column_norms = np.sqrt(np.einsum("ij,ij->j", self.r, self.r))
        self.gradient = self.r.T @ self.qtf

    @classmethod
    def from_gram(cls, jac: np.ndarray, f: np.ndarray,
                  condition_limit: float = GRAM_CONDITION_LIMIT,
                  gram: np.ndarray | None = None) -> TallFactor | None:
        """The same factor from the Cholesky factorisation of ``J^T J`` (``J`` untouched).

        ``J^T J = R1^T R1`` and ``Q1^T f = R1^{-T} J^T f`` with ``Q1 = J R1^{-1}``:
        one read of ``J`` instead of the Householder QR's passes.  None when a column
        is zero or not finite, or when the column-scaled condition number exceeds
        ``condition_limit`` (the squared condition number of the normal equations
        would then cost digits): the caller falls back to :class:`TallFactor`.
        ``gram``: ``J^T J`` when the caller has it (:func:`gram_matrix` of ``jac``).
        """
        if not jac.flags.f_contiguous:
            return None
        if gram is None:
            gram, gradient = gram_matrix(jac, f)
        else:
            gradient = np.array([jac[:, j] @ f for j in range(jac.shape[1])])
        r = gram_triangle(gram, condition_limit)
        if r is None or not np.isfinite(gradient).all():
            return None
        self = cls.__new__(cls)
        self.r = r
        qtf, info = _dtrtrs(r, gradient, lower=0, trans=1)
        if info != 0 or not np.isfinite(qtf).all():
            return None
        self.qtf = qtf.reshape(-1)
        self.column_norms = np.sqrt(gram.diagonal())
        self.gradient = gradient
        return self

    def pivoted(self, columns: np.ndarray | None = None) -> PivotedQR:
        """:class:`PivotedQR` of ``J`` (or of ``J[:, columns]``)."""
        # a fresh array (dgeqp3 overwrites it): ``self`` can be factorised again
        sub = self.r.copy(order="F") if columns is None else np.asfortranarray(
            self.r[:, columns])
        return _pivoted_qr(sub, self.qtf, True, sub.shape[1])


def pivoted_qr(jac: np.ndarray, f: np.ndarray, overwrite: bool = False,
               gram: np.ndarray | None = None) -> PivotedQR:
    """Factorise ``jac`` (m, n), m >= n, with column pivoting and form ``Q^T f``.

    With ``overwrite`` a Fortran-ordered ``jac`` is destroyed (no copy).  Tall
    matrices (:func:`is_tall`) go through :class:`TallFactor` (``gram``: their ``J^T J``
    when the caller has it).
    """
    m, n = jac.shape
    if is_tall(m, n):
        factor = TallFactor.from_gram(jac, f, gram=gram)
        if factor is None:
            factor = TallFactor(jac, f, overwrite)
        return factor.pivoted()
    return _pivoted_qr(jac, f, overwrite, n)


def _pivoted_qr(jac: np.ndarray, f: np.ndarray, overwrite: bool, n: int) -> PivotedQR:
    m = jac.shape[0]
    qr, jpvt, tau, _, info = _dgeqp3(jac, lwork=max(3 * n + 1, 64 * n),
                                     overwrite_a=int(overwrite))
    if info != 0:
        raise np.linalg.LinAlgError(f"dgeqp3 failed with info={info}")
    qtf, _, info = _dormqr("L", "T", qr, tau, f.reshape(m, 1), lwork=max(64, n))
    r = qr[:n, :] * _upper_mask(n)
    return PivotedQR(r, jpvt - 1, qtf[:n, 0].copy(), _rank(r))


@functools.lru_cache(maxsize=64)
def _upper_mask(n: int) -> np.ndarray:
    return np.asfortranarray(np.triu(np.ones((n, n))))


@functools.lru_cache(maxsize=64)
def _lower_diagonal(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the diagonal of the lower block of the stacked system."""
    return np.arange(n, 2 * n), np.arange(n)


def _rank(r: np.ndarray) -> int:
    """Number of leading non-zero diagonal entries (MINPACK ``nsing``)."""
    diagonal = r.diagonal().tolist()
    # the first exact zero (== as before: -0.0 too, never NaN), else all of them
    return diagonal.index(0.0) if 0.0 in diagonal else r.shape[0]


def _solve_upper(r: np.ndarray, b: np.ndarray, rank: int, transpose: bool = False
                 ) -> np.ndarray:
    """Solve ``R y = b`` (or ``R^T y = b``) using only the leading ``rank`` block."""
    if rank == r.shape[0]:
        sol, info = _dtrtrs(r, b, lower=0, trans=1 if transpose else 0)
        return sol.reshape(-1)
    y = np.zeros_like(b)
    if rank == 0:
        return y
    sol, info = _dtrtrs(r[:rank, :rank], b[:rank], lower=0, trans=1 if transpose else 0)
    y[:rank] = sol.ravel()
    return y


def gauss_newton_step(qr: PivotedQR) -> np.ndarray:
    """Minimum-residual step ``-P R^{-1} Q^T f`` (rank-deficient columns get 0)."""
    return _unpermute(-qr.gauss_newton, qr.pivots)


def factor_damped_system(qr: PivotedQR, diag_p: np.ndarray, par: float) -> None:
    """Factorise ``R^T R + par D_P^2`` for :meth:`PivotedQR.damped_solve` when no
    :func:`lm_step` left that factor (a caller's own ``par``)."""
    _damped_step(qr, diag_p, par)


def _damped_step(qr: PivotedQR, diag_p: np.ndarray, par: float
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Solve ``min ||R y - qtf||^2 + par ||diag_p * y||^2`` (MINPACK ``qrsolv``).

    Returns ``y`` (in pivoted order), the triangular factor ``S`` of the stacked
    system (``S^T S = R^T R + par D_P^2``) and its rank.
    """
    n = diag_p.size
    stacked = qr.stacked()
    stacked[_lower_diagonal(n)] = math.sqrt(par) * diag_p
    factor, _, _, _ = _dgeqrf(stacked, overwrite_a=1)
    s = factor[:n, :n]
    rank = _rank(s)
    qr._damped = (par, diag_p, s, rank)     # for a second right-hand side (damped_solve)
    return _solve_upper(s, factor[:n, n].copy(), rank), s, rank


def lm_step(qr: PivotedQR, diag: np.ndarray, delta: float, par: float
            ) -> tuple[np.ndarray, float, float, float]:
    """Levenberg-Marquardt step for trust radius ``delta`` (MINPACK ``lmpar``).

    Finds ``par >= 0`` such that the step ``p`` of the damped system satisfies
    ``par == 0`` and ``||D p|| <= 1.1 delta``, or ``| ||D p|| - delta | <=
    0.1 delta``; at most 10 iterations of Moré's safeguarded Newton method on
    ``phi(par) = ||D p(par)|| - delta`` (Moré 1977, section 5).

    Parameters
    ----------
    qr : PivotedQR
        Factorisation of the (active columns of the) Jacobian.
    diag : ndarray, shape (n,)
        Positive scaling ``D``, in the original column order.
    delta : float
        Trust-region radius.
    par : float
        Initial estimate of the LM parameter (the previous one).

    Returns
    -------
    step : ndarray, shape (n,)
        ``p`` (already negated: ``x + p`` is the trial point).
    par : float
    dxnorm : float
        ``||D p||``.
    jpnorm2 : float
        ``||J p||^2`` (from ``R``), for the predicted reduction.
    """
    n = diag.size
    perm = qr.pivots
    diag_p = diag[perm]
    y = qr.gauss_newton
    dxnorm = _norm(diag_p * y)
    fp = dxnorm - delta
    if fp <= 0.1 * delta:
        return _finish(qr, y, perm, 0.0, dxnorm)
    parl = 0.0
    if qr.rank == n:
        w = diag_p * (diag_p * y) / dxnorm
        w = _solve_upper(qr.r, w, n, transpose=True)
        parl = fp / delta / _dot(w)
    gnorm = _norm(qr.gradient / diag_p)
    paru = gnorm / delta
    if paru == 0.0:
        paru = DWARF / min(delta, 0.1)
    par = min(max(par, parl), paru)
    if par == 0.0:
        par = gnorm / dxnorm
    for iteration in range(10):
        if par == 0.0:
            par = max(DWARF, 0.001 * paru)
        y, s, rank = _damped_step(qr, diag_p, par)
        dxnorm = _norm(diag_p * y)
        previous, fp = fp, dxnorm - delta
        if (abs(fp) <= 0.1 * delta or (parl == 0.0 and fp <= previous < 0.0)
                or iteration == 9 or rank < n):
            break
        w = _solve_upper(s, diag_p * (diag_p * y) / dxnorm, n, transpose=True)
        parc = fp / delta / _dot(w)
        if fp > 0.0:
            parl = max(parl, par)
        elif fp < 0.0:
            paru = min(paru, par)
        par = max(parl, par + parc)
    return _finish(qr, y, perm, par, dxnorm)


def _finish(qr: PivotedQR, y: np.ndarray, perm: np.ndarray, par: float, dxnorm: float
            ) -> tuple[np.ndarray, float, float, float]:
    ry = qr.r @ y
    return _unpermute(-y, perm), par, dxnorm, _dot(ry)


def _unpermute(y: np.ndarray, perm: np.ndarray) -> np.ndarray:
    out = np.empty_like(y)
    out[perm] = y
    return out


def _dot(v: np.ndarray) -> float:
    return float(v @ v)


def _norm(v: np.ndarray) -> float:
    return math.sqrt(float(v @ v))
