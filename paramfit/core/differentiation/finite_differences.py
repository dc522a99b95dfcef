"""Finite-difference Jacobians for the Levenberg-Marquardt iteration.

:func:`finite_difference_jacobian` is the cheap scheme the iteration uses: one
function evaluation per parameter (two for central differences), with MINPACK's
default step ``h = sqrt(eps) * |x|`` (``lmdif`` with ``epsfcn = 0``) and MPFIT's
per-parameter ``step``, relative step and ``mpside`` options.  A step is never
taken across a bound.  The accurate Jacobians computed once at a solution, for
the covariance matrix, live in :mod:`paramfit.core.differentiation.solution`.

A residual that is not finite (or raises
:class:`~paramfit.core.exceptions.NonFiniteResidualError`) at a perturbed point
does not end a finite-difference Jacobian: the other side and shorter steps
are tried first; only when none gives a finite residual is the error raised.

References
----------
.. [1] J. J. Moré, B. S. Garbow, K. E. Hillstrom, "User Guide for MINPACK-1",
   Argonne National Laboratory Report ANL-80-74, 1980 (``fdjac2``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from paramfit.core.exceptions import NonFiniteResidualError
from paramfit.core.linalg import is_tall

__all__ = [
    "SIDE_AUTO",
    "SIDE_FORWARD",
    "SIDE_BACKWARD",
    "SIDE_CENTRAL",
    "as_residual",
    "finite_difference_jacobian",
    "iteration_steps",
]

SIDE_AUTO, SIDE_FORWARD, SIDE_BACKWARD, SIDE_CENTRAL = 0, 1, -1, 2

EPS = float(np.finfo(float).eps)
#: Step reductions tried when a perturbed point gives a non-finite residual.
FALLBACK_SCALES = (1.0, 1.0 / 16.0, 1.0 / 256.0)
SQRT_EPS = EPS**0.5
#: Smallest normal double: below it (0 and subnormal values) a step relative to ``|x|``
#: underflows, so the relative step is taken as an absolute one, as at ``x = 0``.
TINY = float(np.finfo(float).tiny)
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
    # MINPACK's rule: the relative step times |x|, or the relative step itself where x is
    # 0 -- or subnormal, where the product underflows or is lost in the residual's rounding
    h = h * np.where(np.abs(x) < TINY, 1.0, np.abs(x))
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
    xj = float(x[j])
    xt[j] = xj + h
    return as_residual(fun(xt)), float(xt[j]) - xj


def as_residual(values: object) -> np.ndarray:
    """``values`` as a flat float64 array, without a copy when it already is one."""
    if type(values) is np.ndarray and values.dtype == np.float64 and values.ndim == 1:
        return values
    return np.asarray(values, dtype=float).reshape(-1)


def _finite_shift(fun: ResidualFunction, x: np.ndarray, j: int, h: float, lo: float,
                  hi: float, skip_first: bool = False) -> tuple[np.ndarray, float, int]:
    """``fun(x + d e_j)`` for the first ``d`` in ``h, -h, h/16, -h/16, ...`` that stays in
    ``[lo, hi]`` and gives a finite residual; returns the residual, ``d`` and the calls.
    ``skip_first``: ``h`` itself is known to fail.

    Raises the last :class:`~paramfit.core.exceptions.NonFiniteResidualError` (or a
    new one) when no candidate works.
    """
    calls = 0
    error: NonFiniteResidualError | None = None
    xj = float(x[j])
    for scale in FALLBACK_SCALES:
        for d in (h * scale, -h * scale):
            if d == 0.0 or not lo <= xj + d <= hi or (skip_first and d == h):
                continue
            calls += 1
            try:
                f1, dh = _shifted(fun, x, j, d)
            except NonFiniteResidualError as exc:
                error = exc
                continue
            if math.isfinite(float(np.sum(np.abs(f1)))):
                return f1, dh, calls
    if error is not None:
        raise error
    raise NonFiniteResidualError(
        f"the residual is not finite at any perturbation of parameter {j} tried for a "
        f"finite-difference derivative (step {h:g}, and shorter ones, both sides)")


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


def _fallback_column(fun: ResidualFunction, x: np.ndarray, f0: np.ndarray, j: int,
                     side: int, h: float, lo: float, hi: float, skip_first: bool = False
                     ) -> tuple[np.ndarray, int]:
    """A one-sided column from the first finite perturbation (see :func:`_finite_shift`)."""
    first = -h if side in (SIDE_BACKWARD, -3) else h
    f1, dh, calls = _finite_shift(fun, x, j, first, lo, hi, skip_first)
    return (f1 - f0) / dh, calls


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
    out: np.ndarray | None = None,
    steps_out: np.ndarray | None = None,
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
    out : ndarray, shape (m, n), Fortran order, optional
        Where to write the Jacobian (the solver reuses one array per fit: a
        fresh large array costs page faults on first touch).
    steps_out : ndarray, shape (n,), optional
        Filled with the exact step ``d_j`` of each column that is a plain one-sided
        difference ``(fun(x + d_j e_j) - f0) / d_j`` (``d_j < 0`` backward), NaN for
        the others (central or 3-point columns, shortened or fallback steps, no
        step): the final phase reuses those evaluations
        (:mod:`paramfit.core.differentiation.reuse`).

    Returns
    -------
    jac : ndarray, shape (m, n), Fortran order
    nfev : int
        Number of calls of ``fun``.

    Raises
    ------
    NonFiniteResidualError
        Only when, for some parameter, neither side nor a step 16 or 256 times
        shorter gives a finite residual.  A column whose perturbed residual is
        not finite (raised or returned) is recomputed one-sided from the first
        perturbation that is.

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
    xs = x.tolist()
    if absolute_step is None and relative_step is None and side is None:
        # the default (the solver passes None for options nobody set): no array calls
        rel = SQRT_EPS if default_relative_step is None else float(default_relative_step)
        hs = [rel * abs(v) if abs(v) >= TINY else rel for v in xs]  # 0, subnormal: rel
    else:
        steps = iteration_steps(x, absolute_step, relative_step, default_relative_step)
        if side is not None and np.any(side == SIDE_CENTRAL) and default_relative_step is None:
            central_steps = iteration_steps(x, absolute_step, relative_step, CBRT_EPS)
            steps = np.where(side == SIDE_CENTRAL, central_steps, steps)
        hs = steps.tolist()
    if out is not None and out.shape == (f0.size, n) and out.flags.f_contiguous:
        jac = out
    else:
        jac = np.empty((f0.size, n), order="F")
    if steps_out is not None:
        steps_out.fill(math.nan)
    if lower is None and upper is None and side is None:
        return _forward_unbounded(fun, x, xs, hs, f0, jac, steps_out)
    los = [-math.inf] * n if lower is None else np.asarray(lower, dtype=float).tolist()
    his = [math.inf] * n if upper is None else np.asarray(upper, dtype=float).tolist()
    sides = [SIDE_AUTO] * n if side is None else [int(s) for s in side]
    nfev = 0
    bad = []
    # as in _forward_unbounded: one-sided columns are divided by their steps after the
    # loop, all in one call (the other columns, already final, by 1.0: unchanged)
    divisors = [1.0] * n
    for j in range(n):
        used, h = _choose_side(xs[j], hs[j], sides[j], los[j], his[j])
        column = jac[:, j]          # a contiguous view (Fortran order): written in place
        try:
            if h != 0.0 and (used == SIDE_FORWARD or used == SIDE_BACKWARD):
                # the common case inline: one evaluation, two passes over the column
                xt = x.copy()       # a fresh vector per call: ``fun`` may keep its argument
                xj = xs[j]
                shifted = xj + (h if used == SIDE_FORWARD else -h)   # what xt[j] stores
                xt[j] = shifted
                np.subtract(as_residual(fun(xt)), f0, out=column)
                divisors[j] = step = shifted - xj
                calls = 1
                if steps_out is not None and h == hs[j]:
                    steps_out[j] = step
            else:
                column[:], calls = _column(fun, x, f0, j, used, h)
        except NonFiniteResidualError:
            nfev += 1
            column[:], calls = _fallback_column(fun, x, f0, j, used, h, los[j], his[j],
                                                skip_first=used in (SIDE_FORWARD, SIDE_BACKWARD))
            divisors[j] = 1.0
            if steps_out is not None:
                steps_out[j] = math.nan
        nfev += calls
    _divide_columns(jac, divisors)
    # a finite sum of squares proves the columns finite (one cheap pass); otherwise look
    # at each column's (a finite column may overflow the sum), then its elements
    flat = jac.ravel(order="F")
    if not math.isfinite(float(flat @ flat)):
        bad = [j for j in range(n) if not math.isfinite(float(jac[:, j] @ jac[:, j]))
               and not np.isfinite(jac[:, j]).all()]
    if bad:
        for j in bad:
            used, h = _choose_side(xs[j], hs[j], sides[j], los[j], his[j])
            if h != 0.0:
                jac[:, j], calls = _fallback_column(fun, x, f0, j, used, h, los[j], his[j])
                nfev += calls
            if steps_out is not None:
                steps_out[j] = math.nan
    return jac, nfev


#: Smallest step whose reciprocal multiplies a tall Jacobian's column instead of dividing
#: it (its reciprocal, at most 1e290, is finite and a quotient then overflows no sooner
#: than the division would).
RECIPROCAL_MIN_STEP = 1e-290


def _divide_columns(jac: np.ndarray, divisors: list[float]) -> None:
    """Divide each column of ``jac`` by its step, in place.

    A tall Jacobian (:func:`~paramfit.core.linalg.is_tall`, the iteration's Gram path)
    is multiplied by the reciprocal steps instead: a division pass over ``m n`` values
    is compute-bound (about 3x the time of a multiplication at ``m = 1e5``), and the one
    extra rounding (a relative 1.1e-16 per element) is 8 orders below the difference
    quotient's own error (about ``sqrt(eps)``).  Small Jacobians keep the division:
    there the pass costs nothing and their iterations (NIST StRD, MGH) stay as they were.
    """
    if is_tall(*jac.shape) and min(abs(d) for d in divisors) >= RECIPROCAL_MIN_STEP:
        np.multiply(jac, [1.0 / d for d in divisors], out=jac)
    else:
        np.divide(jac, divisors, out=jac)


def _forward_unbounded(fun: ResidualFunction, x: np.ndarray, xs: list[float],
                       hs: list[float], f0: np.ndarray, jac: np.ndarray,
                       steps_out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """:func:`finite_difference_jacobian` without bounds or side options: forward
    differences, the same arithmetic as the general loop with its bookkeeping left out.
    One finiteness test covers the whole Jacobian; only when it fails are the columns
    looked at one by one (and the non-finite ones recomputed as the general loop does).
    ``steps_out``: see :func:`finite_difference_jacobian` (NaN on entry).
    """
    n = len(xs)
    nfev = 0
    # each column gets ``f1 - f0`` here and is divided by its step after the loop, all
    # columns in one call (a column already final is divided by 1.0: unchanged); the
    # same two IEEE operations per element as a division column by column
    divisors = [1.0] * n
    copy, subtract = x.copy, np.subtract
    for j in range(n):
        h = hs[j]
        if h == 0.0:                # as the general loop: no step, no derivative
            jac[:, j] = 0.0
            continue
        xt = copy()                 # a fresh vector per call: ``fun`` may keep its argument
        xj = xs[j]
        shifted = xj + h            # the float64 sum that xt[j] stores
        xt[j] = shifted
        try:
            f1 = fun(xt)
        except NonFiniteResidualError:
            nfev += 1
            jac[:, j], calls = _fallback_column(fun, x, f0, j, SIDE_FORWARD, h, -math.inf,
                                                math.inf, skip_first=True)
            nfev += calls
            continue
        nfev += 1
        subtract(as_residual(f1), f0, out=jac[:, j])   # a contiguous view (Fortran order)
        divisors[j] = step = shifted - xj
        if steps_out is not None:
            steps_out[j] = step
    _divide_columns(jac, divisors)
    # a finite sum of squares proves every column finite (one cheap pass; jac is
    # Fortran-ordered, so the flat view is free)
    flat = jac.ravel(order="F")
    if not math.isfinite(float(flat @ flat)):
        for j in range(n):
            column = jac[:, j]
            if not math.isfinite(float(column @ column)) and not np.isfinite(column).all():
                column[:], calls = _fallback_column(fun, x, f0, j, SIDE_FORWARD, hs[j],
                                                    -math.inf, math.inf)
                nfev += calls
                if steps_out is not None:
                    steps_out[j] = math.nan
    return jac, nfev
