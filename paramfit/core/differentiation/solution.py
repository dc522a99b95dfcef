"""Accurate Jacobians at a solution, for the covariance matrix.

Two schemes, both computed once after the iteration has converged:

* :func:`central_jacobian`: central differences with the step
  ``eps**(1/3) * |x|`` (``2 n`` evaluations, about ``1e-10`` relative error),
  falling back, column by column, to :func:`accurate_jacobian` where the
  differences show strong curvature on the scale of the step or a bound is
  in the way (the solver's ``final_jacobian='central'``);
* :func:`accurate_jacobian`: Richardson extrapolation of central differences
  (Ridders' method), one-sided extrapolation next to a bound; about ``1e-10``
  relative accuracy on smooth functions, also for parameters much smaller than
  their natural scale (the solver's default).  A column that is linear to
  rounding costs two evaluations.

No evaluation is made outside the bounds.  The evaluation helpers (perturbed
points, fallback on non-finite residuals) are shared with
:mod:`paramfit.core.differentiation.finite_differences`.

References
----------
.. [1] C. J. F. Ridders, "Accurate computation of F'(x) and F'(x)F''(x)",
   Advances in Engineering Software 4(2), 75-76, 1982.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from paramfit.core.differentiation.finite_differences import (
    CBRT_EPS,
    TINY,
    ResidualFunction,
    _shifted,
    as_residual,
)
from paramfit.core.exceptions import NonFiniteResidualError

__all__ = ["accurate_jacobian", "central_jacobian", "CURVATURE_LIMIT", "LINEAR_AGREEMENT",
           "FIRST_LEVEL_AGREEMENT", "RICHARDSON_STEP", "RICHARDSON_LEVELS"]

#: :func:`accurate_jacobian`'s first step relative to ``|x_j|``: large, so that the
#: rounding error of the quotients (``eps |F| / h``) is small; the extrapolation removes
#: the truncation error.
RICHARDSON_STEP = 2.0**-9
#: ... and its most extrapolation levels (two evaluations each, one when one-sided).
RICHARDSON_LEVELS = 6

#: :func:`accurate_jacobian` stops after the first Richardson level when Ridders' error
#: estimate of it (4/3 of the distance of the two lowest-order quotients) is at most this
#: (relative to the column): the extrapolated value is then good to about a quarter of its
#: square.  With the quotients ``c(h) = D + a h**2 + b h**4`` of a function smooth on a
#: scale ``L`` (``a h**2 ~ D (h/L)**2``, ``b h**4 ~ D (h/L)**4``), the extrapolated
#: ``(4 c(h/2) - c(h)) / 3`` is off by ``b h**4 / 4`` and the estimate is ``a h**2``, so
#: 1e-5 leaves ~2.5e-11, within the scheme's 1e-10.  (1e-6 until issue 21; 1e-5 saved
#: 146 of NIST's 16,828 evaluations with the same digits in every case.)
FIRST_LEVEL_AGREEMENT = 1e-5
#: :func:`accurate_jacobian` takes the central quotient of the first Richardson level as
#: it is (2 evaluations instead of at least 4) when the forward and backward quotients
#: of that level agree to this, relative to the column: the residual is then linear in
#: the parameter to rounding, the central quotient has no truncation error, and its
#: rounding error (about as large as the disagreement) is the smallest of the tableau
#: (the largest step).  1e-13 would reject truly linear columns: their quotients
#: typically disagree by 1e-13 to 1e-12 from the rounding of the residuals alone.
LINEAR_AGREEMENT = 1e-12
#: :func:`central_jacobian` extrapolates a column when the forward and backward
#: quotients differ by more than this (relative): the h**2 error may then exceed 1e-8.
CURVATURE_LIMIT = 1e-4


def _max_abs(a: np.ndarray) -> float:
    """``max(|a|)``; for long vectors without a temporary (NaN propagates as in
    ``np.max``)."""
    if a.size < 16384:
        return float(np.abs(a).max())
    return max(float(a.max()), -float(a.min()))


def _max_abs_diff(a: np.ndarray, b: np.ndarray, work: np.ndarray) -> float:
    """``max(|a - b|)`` using ``work`` as scratch."""
    return _max_abs(np.subtract(a, b, out=work))


def _richardson(deltas: Callable[[float, np.ndarray], np.ndarray], h0: float, powers: int,
                levels: int, m: int, first: np.ndarray | None = None
                ) -> tuple[np.ndarray, int]:
    """Ridders' extrapolation of difference quotients ``deltas(h, out)`` for h = h0 / 2**k.

    ``powers`` is 2 for central differences (error in h**2, h**4, ...) and 1
    for one-sided ones (h, h**2, ...).  Ridders' error estimate of an entry is
    its distance to its neighbours of lower order, i.e. roughly the error of
    those.  So the extrapolation stops after the first level when the
    lowest-order quotients already agree to :data:`FIRST_LEVEL_AGREEMENT`
    (the extrapolated value is then good to about its square), later when
    the estimate falls below ``1e-11`` or starts to grow.  Returns the best
    estimate and the number of quotients computed.

    ``deltas(h, out)`` writes the quotient into ``out`` (length ``m``) and returns
    it; every tableau entry is written in place into its own buffer (no
    temporaries: with a long residual vector the passes over memory, not the
    arithmetic, are the cost).  ``first``, when given, is ``deltas(h0)`` already computed.
    """
    work = np.empty(m)
    tableau = [deltas(h0, np.empty(m)) if first is None else first]
    scale = _max_abs(tableau[0]) + np.finfo(float).tiny
    best, best_error = tableau[0], np.inf
    start = 1
    if powers == 2 and levels > 1:
        # the first level, which usually ends it, in five passes over the column:
        # with d = c1 - c0 the extrapolated entry is c1 + d / 3, and its distances to
        # c1 and c0 are |d| / 3 and 4 |d| / 3
        c0 = tableau[0]
        c1 = deltas(h0 / 2.0, np.empty(m))
        d = np.subtract(c1, c0, out=work)
        best_error = 4.0 / 3.0 * _max_abs(d)
        best = np.divide(d, 3.0, out=np.empty(m))
        np.add(best, c1, out=best)
        if best_error <= FIRST_LEVEL_AGREEMENT * scale:
            return best, 2
        tableau, start = [c1, best], 2
    for k in range(start, levels):
        row = [deltas(h0 / 2.0**k, np.empty(m))]
        factor = 2.0**powers
        for i in range(1, k + 1):
            entry = np.multiply(row[i - 1], factor, out=np.empty(m))
            np.subtract(entry, tableau[i - 1], out=entry)
            np.divide(entry, factor - 1.0, out=entry)
            row.append(entry)
            factor *= 2.0**powers
            error = max(_max_abs_diff(entry, row[i - 1], work),
                        _max_abs_diff(entry, tableau[i - 1], work))
            if error <= best_error:
                best, best_error = entry, error
        if powers == 2 and k == 1 and best_error <= FIRST_LEVEL_AGREEMENT * scale:
            return best, 2
        grown = _max_abs_diff(row[k], tableau[k - 1], work) >= 2.0 * best_error
        tableau = row
        if grown or best_error <= 1e-11 * scale:
            return best, k + 1
    return best, levels


def _accurate_column(fun: ResidualFunction, x: np.ndarray, f0: np.ndarray, j: int,
                     lo: float, hi: float, base: float, relative_step: float,
                     levels: int) -> tuple[np.ndarray, int]:
    """One column of :func:`accurate_jacobian`: Ridders' extrapolation at ``x_j``.

    A column that comes out exactly zero with steps relative to a small ``|x_j|``
    (``base < 1``) is made again with steps relative to 1, the rule at ``x_j = 0``:
    steps of ``1e-3 |x_j|`` move nothing when ``x_j`` is tiny next to the scale on which
    the residual depends on it (scipy's trust-region-reflective method leaves a parameter
    bounded at 0 at ~1e-23 inside the box: a zero column there made the covariance
    singular and took every standard error away).  A parameter with no effect gives zero
    again; only such columns pay the extra evaluations.
    """
    column, calls = _extrapolated_column(fun, x, f0, j, lo, hi, base, relative_step, levels)
    if base < 1.0 and not column.any():
        column, more = _extrapolated_column(fun, x, f0, j, lo, hi, 1.0, relative_step,
                                            levels)
        calls += more
    return column, calls


def _extrapolated_column(fun: ResidualFunction, x: np.ndarray, f0: np.ndarray, j: int,
                         lo: float, hi: float, base: float, relative_step: float,
                         levels: int) -> tuple[np.ndarray, int]:
    """Ridders' extrapolation of the column ``j`` at ``x_j``, steps ``relative_step * base``."""
    xj = float(x[j])
    h0 = relative_step * base
    room = min(hi - xj, xj - lo)
    m = f0.size
    if room >= 0.25 * h0:
        h0 = min(h0, room)
        first, linear = _first_central(fun, x, f0, j, h0)
        if linear:
            return first, 2

        def deltas(h: float, out: np.ndarray) -> np.ndarray:
            fp, hp = _shifted(fun, x, j, h)
            fm, hm = _shifted(fun, x, j, -h)
            np.subtract(fp, fm, out=out)
            return np.divide(out, hp - hm, out=out)

        column, used = _richardson(deltas, h0, 2, levels, m, first)
        return column, 2 * used
    sign = 1.0 if hi - xj >= xj - lo else -1.0
    h0 = min(h0, max(hi - xj, xj - lo))
    if h0 == 0.0:
        return np.zeros_like(f0), 0

    def one_sided(h: float, out: np.ndarray) -> np.ndarray:
        f1, dh = _shifted(fun, x, j, sign * h)
        np.subtract(f1, f0, out=out)
        return np.divide(out, dh, out=out)

    return _richardson(one_sided, h0, 1, levels + 3, m)


def _first_central(fun: ResidualFunction, x: np.ndarray, f0: np.ndarray, j: int, h: float
                   ) -> tuple[np.ndarray, bool]:
    """Central quotient with step ``h`` (the first Richardson level), and whether the
    residual is linear in ``x_j`` to rounding (:data:`LINEAR_AGREEMENT`)."""
    fp, hp = _shifted(fun, x, j, h)
    fm, hm = _shifted(fun, x, j, -h)
    central = np.subtract(fp, fm, out=np.empty(f0.size))
    np.divide(central, hp - hm, out=central)
    # forward - backward quotient = ((fp - f0) hm' + (fm - f0) hp') / ..., which for the
    # symmetric steps used here (hm = -hp to rounding) is (fp + fm - 2 f0) / hp: two
    # passes and one temporary (never written into ``fp``/``fm``: ``fun`` may keep them)
    bend = np.add(fp, fm)
    bend -= f0
    bend -= f0
    disagreement = _max_abs(bend) / abs(hp)
    return central, bool(disagreement <= LINEAR_AGREEMENT * _max_abs(central))


def _bounds_lists(lower, upper, n: int) -> tuple[list[float], list[float]]:
    los = [-math.inf] * n if lower is None else np.asarray(lower, dtype=float).tolist()
    his = [math.inf] * n if upper is None else np.asarray(upper, dtype=float).tolist()
    return los, his


def _bases(x: np.ndarray, typical_x: np.ndarray | None) -> list[float]:
    """``|x_j|``, or ``|typical_x[j]|`` (else 1) where ``x_j`` is 0 or subnormal (a
    step relative to a subnormal value underflows to 0)."""
    out = []
    for j, xj in enumerate(x.tolist()):
        base = abs(xj)
        if base < TINY:
            typical = 0.0 if typical_x is None else abs(float(typical_x[j]))
            base = typical if typical >= TINY else 1.0
        out.append(base)
    return out


def accurate_jacobian(
    fun: ResidualFunction,
    x: np.ndarray,
    f0: np.ndarray,
    *,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    typical_x: np.ndarray | None = None,
    relative_step: float = RICHARDSON_STEP,
    levels: int = RICHARDSON_LEVELS,
) -> tuple[np.ndarray, int]:
    """Jacobian accurate to about 1e-10 relative, by Richardson extrapolation.

    Each column is a Richardson (Ridders) extrapolation of central
    differences with steps ``h0 / 2**k``, ``h0 = relative_step * |x_j|``
    (``typical_x[j]`` or 1 where ``x_j == 0``).  Next to a bound the step is
    first shortened to fit; where even a quarter of it does not fit, one-sided
    differences into the box are extrapolated instead.  No evaluation is made
    outside ``[lower, upper]``.  About ``2 n`` (linear columns) to ``12 n``
    evaluations; the solver's default final Jacobian.  :func:`central_jacobian`
    is a cheaper option (``final_jacobian='central'``) that can lose digits on
    ill-scaled bases.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (m,)`` residual vector.
    x : ndarray, shape (n,)
    f0 : ndarray, shape (m,)
        ``fun(x)``.
    lower, upper : ndarray, shape (n,) or None
    typical_x : ndarray, shape (n,), optional
        Magnitude used for the step where ``x_j == 0``.
    relative_step : float
        Largest step relative to ``|x_j|``.
    levels : int
        Most extrapolation levels (each costs two evaluations, one when
        one-sided).

    Returns
    -------
    jac : ndarray, shape (m, n)
    nfev : int
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    los, his = _bounds_lists(lower, upper, n)
    bases = _bases(x, typical_x)
    jac = np.empty((f0.size, n), order="F")
    nfev = 0
    for j in range(n):
        jac[:, j], calls = _accurate_column(fun, x, f0, j, los[j], his[j], bases[j],
                                            relative_step, levels)
        nfev += calls
    return jac, nfev


def central_jacobian(
    fun: ResidualFunction,
    x: np.ndarray,
    f0: np.ndarray,
    *,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    typical_x: np.ndarray | None = None,
    curvature_limit: float = CURVATURE_LIMIT,
) -> tuple[np.ndarray, int]:
    """Jacobian for the covariance at a solution: central differences, checked.

    Column ``j`` is ``(f(x + h e_j) - f(x - h e_j)) / 2h`` with
    ``h = eps**(1/3) |x_j|`` (``typical_x[j]`` or 1 where ``x_j == 0``), whose
    truncation and rounding errors are both about ``eps**(2/3) ~ 4e-11``
    relative for a function that varies on the scale of ``x``.  The same two
    evaluations give the forward and backward quotients; where they differ by
    more than ``curvature_limit`` (relative to the column, in 2-norms) the function bends
    strongly on the scale of ``h``, the ``h**2`` error term may be large, and
    the column is recomputed by :func:`accurate_jacobian`'s Richardson
    extrapolation.  The same happens where a bound leaves no room for the
    step on both sides, or a perturbed residual is not finite.  Cost: ``2 n``
    evaluations in the usual case.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (m,)`` residual vector.
    x : ndarray, shape (n,)
    f0 : ndarray, shape (m,)
        ``fun(x)``.
    lower, upper : ndarray, shape (n,) or None
    typical_x : ndarray, shape (n,), optional
        Magnitude used for the step where ``x_j == 0``.
    curvature_limit : float
        Relative disagreement of the one-sided quotients above which a column
        is extrapolated; ``inf`` never extrapolates an interior column.

    Returns
    -------
    jac : ndarray, shape (m, n), Fortran order
    nfev : int
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    m = f0.size
    los, his = _bounds_lists(lower, upper, n)
    bases = _bases(x, typical_x)
    xs = x.tolist()
    jac = np.empty((m, n), order="F")
    bend = np.empty(m)
    twice_f0 = 2.0 * f0
    nfev = 0
    for j in range(n):
        h = CBRT_EPS * bases[j]
        xj = xs[j]
        if his[j] - xj >= h and xj - los[j] >= h:
            # fresh vectors per call: ``fun`` may keep its argument
            xp = x.copy()
            xp[j] = xj + h
            xm = x.copy()
            xm[j] = xj - h
            try:
                fp = as_residual(fun(xp))
                fm = as_residual(fun(xm))
            except NonFiniteResidualError:
                fp = None
            nfev += 2
            if fp is not None:
                column = jac[:, j]          # contiguous (Fortran order): written in place
                np.subtract(fp, fm, out=column)
                np.divide(column, float(xp[j]) - float(xm[j]), out=column)
                # the bend test in 2-norms (two dot products, no temporaries)
                size2 = float(column @ column)
                np.add(fp, fm, out=bend)
                np.subtract(bend, twice_f0, out=bend)
                limit = curvature_limit * h
                if math.isfinite(size2) and float(bend @ bend) <= limit * limit * size2:
                    continue
        jac[:, j], calls = _accurate_column(fun, x, f0, j, los[j], his[j], bases[j],
                                            RICHARDSON_STEP, RICHARDSON_LEVELS)
        nfev += calls
    return jac, nfev
