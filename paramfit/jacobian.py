"""Finite-difference Jacobians of residual functions.

Two schemes live here:

* :func:`finite_difference_jacobian` is the cheap one the Levenberg-Marquardt
  iteration uses: one function evaluation per parameter (two for central
  differences), with MINPACK's default step ``h = sqrt(eps) * |x|`` (``lmdif``
  with ``epsfcn = 0``) and MPFIT's per-parameter ``step``, relative step and
  ``mpside`` options.  A step is never taken across a bound.
* :func:`accurate_jacobian` is the expensive one used once at the solution,
  for the covariance matrix: Richardson extrapolation of central differences
  (Ridders' method), one-sided extrapolation next to a bound.  It reaches a
  relative accuracy of about ``1e-10`` on smooth functions.

References
----------
.. [1] J. J. Moré, B. S. Garbow, K. E. Hillstrom, "User Guide for MINPACK-1",
   Argonne National Laboratory Report ANL-80-74, 1980 (``fdjac2``).
.. [2] C. J. F. Ridders, "Accurate computation of F'(x) and F'(x)F''(x)",
   Advances in Engineering Software 4(2), 75-76, 1982.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "SIDE_AUTO",
    "SIDE_FORWARD",
    "SIDE_BACKWARD",
    "SIDE_CENTRAL",
    "finite_difference_jacobian",
    "accurate_jacobian",
    "iteration_steps",
]

SIDE_AUTO, SIDE_FORWARD, SIDE_BACKWARD, SIDE_CENTRAL = 0, 1, -1, 2

EPS = float(np.finfo(float).eps)
FIRST_LEVEL_AGREEMENT = 1e-6
SQRT_EPS = EPS**0.5
CBRT_EPS = EPS ** (1.0 / 3.0)

ResidualFunction = Callable[[np.ndarray], np.ndarray]


def _option(values: np.ndarray | None, j: int) -> float:
    """Per-parameter option ``values[j]``, NaN when the option is not set."""
    if values is None:
        return float("nan")
    return float(values[j])


def iteration_steps(
    x: np.ndarray,
    absolute_step: np.ndarray | None = None,
    relative_step: np.ndarray | None = None,
    default_relative_step: float | None = None,
) -> np.ndarray:
    """Finite-difference step for each parameter.

    An absolute step (MPFIT ``step``) wins over a relative step; otherwise the
    step is ``relative * |x|``, or ``relative`` itself where ``x == 0``
    (MINPACK ``fdjac2``).  There is deliberately no absolute floor, so
    parameters of size ``1e-12`` get steps of size ``1e-20``.

    Parameters
    ----------
    x : ndarray, shape (n,)
    absolute_step, relative_step : ndarray, shape (n,), optional
        NaN (or a non-positive value) means "not set".
    default_relative_step : float, optional
        Defaults to ``sqrt(eps)``.

    Returns
    -------
    ndarray, shape (n,)
    """
    rel = SQRT_EPS if default_relative_step is None else float(default_relative_step)
    h = np.full(x.shape, rel)
    if relative_step is not None:
        given = np.asarray(relative_step, dtype=float)
        use = np.isfinite(given) & (given > 0)
        h = np.where(use, given, h)
    h = h * np.where(x == 0.0, 1.0, np.abs(x))
    if absolute_step is not None:
        given = np.asarray(absolute_step, dtype=float)
        use = np.isfinite(given) & (given > 0)
        h = np.where(use, given, h)
    return h


def _choose_side(xj: float, h: float, side: int, lo: float, hi: float) -> tuple[int, float]:
    """Return the (side, step) actually used so that no evaluation leaves [lo, hi].

    The requested side is kept when it fits; otherwise the opposite side is
    used, and when neither fits a full step, the side with more room with
    the step shortened to that room.  Central differences that do not fit
    become the 3-point one-sided formula (coded as +3 / -3).
    """
    room_up = hi - xj
    room_down = xj - lo
    if side == SIDE_CENTRAL:
        if room_up >= h and room_down >= h:
            return SIDE_CENTRAL, h
        if room_up >= room_down:
            return 3, min(h, 0.5 * room_up)
        return -3, min(h, 0.5 * room_down)
    forward_first = side != SIDE_BACKWARD
    if forward_first and room_up >= h:
        return SIDE_FORWARD, h
    if room_down >= h:
        return SIDE_BACKWARD, h
    if not forward_first and room_up >= h:
        return SIDE_FORWARD, h
    if room_up >= room_down:
        return SIDE_FORWARD, room_up
    return SIDE_BACKWARD, room_down


def _shifted(fun: ResidualFunction, x: np.ndarray, j: int, h: float) -> tuple[np.ndarray, float]:
    """Evaluate ``fun`` at ``x + h e_j``; return the residual and the exact step."""
    xt = x.copy()
    xt[j] = x[j] + h
    return np.asarray(fun(xt), dtype=float), xt[j] - x[j]


def _column(fun: ResidualFunction, x: np.ndarray, f0: np.ndarray, j: int, side: int,
            h: float) -> tuple[np.ndarray, int]:
    """One Jacobian column by the difference formula named by ``side``."""
    if h == 0.0:
        return np.zeros_like(f0), 0
    if side == SIDE_FORWARD or side == SIDE_BACKWARD:
        f1, dh = _shifted(fun, x, j, h if side == SIDE_FORWARD else -h)
        return (f1 - f0) / dh, 1
    if side == SIDE_CENTRAL:
        fp, hp = _shifted(fun, x, j, h)
        fm, hm = _shifted(fun, x, j, -h)
        return (fp - fm) / (hp - hm), 2
    sign = 1.0 if side > 0 else -1.0
    f1, h1 = _shifted(fun, x, j, sign * h)
    f2, _ = _shifted(fun, x, j, 2.0 * h1)
    return (4.0 * f1 - 3.0 * f0 - f2) / (2.0 * h1), 2


def finite_difference_jacobian(
    fun: ResidualFunction,
    x: np.ndarray,
    f0: np.ndarray,
    *,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    absolute_step: np.ndarray | None = None,
    relative_step: np.ndarray | None = None,
    side: np.ndarray | None = None,
    default_relative_step: float | None = None,
) -> tuple[np.ndarray, int]:
    """Finite-difference Jacobian of ``fun`` at ``x`` (MINPACK ``fdjac2``, MPFIT ``mpside``).

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (m,)`` residual vector.
    x : ndarray, shape (n,)
    f0 : ndarray, shape (m,)
        ``fun(x)``, already known.
    lower, upper : ndarray, shape (n,) or None
        Bounds; no evaluation is ever made outside them.
    absolute_step, relative_step : ndarray, shape (n,), optional
        Per-parameter steps, NaN meaning "not set" (see :func:`iteration_steps`).
    side : ndarray of int, shape (n,), optional
        0 auto (forward unless that crosses the upper bound, then backward),
        1 forward, -1 backward, 2 central (3-point one-sided formula when a
        bound blocks one side).  A requested side that would cross a bound
        is switched to the other side.
    default_relative_step : float, optional
        Relative step where none is given; ``sqrt(eps)`` by default
        (``eps**(1/3)`` for central differences, their optimal step).

    Returns
    -------
    jac : ndarray, shape (m, n)
    nfev : int
        Number of calls of ``fun``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 5)
    >>> J, nfev = finite_difference_jacobian(lambda p: p[0] * t, np.array([2.0]),
    ...                                      2.0 * t, lower=None, upper=None)
    >>> np.allclose(J[:, 0], t), nfev
    (True, 1)
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    steps = iteration_steps(x, absolute_step, relative_step, default_relative_step)
    if side is not None and np.any(side == SIDE_CENTRAL) and default_relative_step is None:
        central_steps = iteration_steps(x, absolute_step, relative_step, CBRT_EPS)
        steps = np.where(side == SIDE_CENTRAL, central_steps, steps)
    jac = np.empty((f0.size, n), order="F")
    nfev = 0
    for j in range(n):
        lo = -np.inf if lower is None else float(lower[j])
        hi = np.inf if upper is None else float(upper[j])
        requested = SIDE_AUTO if side is None else int(side[j])
        used, h = _choose_side(float(x[j]), float(steps[j]), requested, lo, hi)
        jac[:, j], calls = _column(fun, x, f0, j, used, h)
        nfev += calls
    return jac, nfev


def _richardson(deltas: Callable[[float], np.ndarray], h0: float, powers: int,
                levels: int) -> tuple[np.ndarray, int]:
    """Ridders' extrapolation of difference quotients ``deltas(h)`` for h = h0 / 2**k.

    ``powers`` is 2 for central differences (error in h**2, h**4, ...) and 1
    for one-sided ones (h, h**2, ...).  Ridders' error estimate of an entry is
    its distance to its neighbours of lower order, i.e. roughly the error of
    those.  So the extrapolation stops after the first level when the
    lowest-order quotients already agree to :data:`FIRST_LEVEL_AGREEMENT`
    (the extrapolated value is then good to about its square), later when
    the estimate falls below ``1e-11`` or starts to grow.  Returns the best
    estimate and the number of quotients computed.
    """
    tableau = [deltas(h0)]
    scale = float(np.max(np.abs(tableau[0]))) + np.finfo(float).tiny
    best, best_error = tableau[0], np.inf
    for k in range(1, levels):
        row = [deltas(h0 / 2.0**k)]
        factor = 2.0**powers
        for i in range(1, k + 1):
            row.append((factor * row[i - 1] - tableau[i - 1]) / (factor - 1.0))
            factor *= 2.0**powers
            error = max(np.max(np.abs(row[i] - row[i - 1])),
                        np.max(np.abs(row[i] - tableau[i - 1])))
            if error <= best_error:
                best, best_error = row[i], error
        if powers == 2 and k == 1 and best_error <= FIRST_LEVEL_AGREEMENT * scale:
            return best, 2
        grown = np.max(np.abs(row[k] - tableau[k - 1])) >= 2.0 * best_error
        tableau = row
        if grown or best_error <= 1e-11 * scale:
            return best, k + 1
    return best, levels


def accurate_jacobian(
    fun: ResidualFunction,
    x: np.ndarray,
    f0: np.ndarray,
    *,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    typical_x: np.ndarray | None = None,
    relative_step: float = 2.0**-9,
    levels: int = 6,
) -> tuple[np.ndarray, int]:
    """Jacobian accurate to about 1e-10 relative, for the covariance at a solution.

    Each column is a Richardson (Ridders) extrapolation of central
    differences with steps ``h0 / 2**k``, ``h0 = relative_step * |x_j|``
    (``typical_x[j]`` or 1 where ``x_j == 0``).  Next to a bound the step is
    first shortened to fit; where even a quarter of it does not fit, one-sided
    differences into the box are extrapolated instead.  No evaluation is made
    outside ``[lower, upper]``.

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
    jac = np.empty((f0.size, n), order="F")
    nfev = 0
    for j in range(n):
        xj = float(x[j])
        base = abs(xj)
        if base == 0.0:
            base = 1.0 if typical_x is None or typical_x[j] == 0 else abs(float(typical_x[j]))
        h0 = relative_step * base
        lo = -np.inf if lower is None else float(lower[j])
        hi = np.inf if upper is None else float(upper[j])
        room = min(hi - xj, xj - lo)
        if room >= 0.25 * h0 or room >= h0:
            h0 = min(h0, room)

            def deltas(h: float, j: int = j) -> np.ndarray:
                fp, hp = _shifted(fun, x, j, h)
                fm, hm = _shifted(fun, x, j, -h)
                return (fp - fm) / (hp - hm)

            calls_per, powers = 2, 2
        else:
            sign = 1.0 if hi - xj >= xj - lo else -1.0
            h0 = min(h0, max(hi - xj, xj - lo))
            if h0 == 0.0:
                jac[:, j] = 0.0
                continue

            def deltas(h: float, j: int = j, sign: float = sign) -> np.ndarray:
                f1, dh = _shifted(fun, x, j, sign * h)
                return (f1 - f0) / dh

            calls_per, powers = 1, 1
        column, used = _richardson(deltas, h0, powers, levels if powers == 2 else levels + 3)
        jac[:, j] = column
        nfev += used * calls_per
    return jac, nfev
