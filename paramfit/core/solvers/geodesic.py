"""Geodesic acceleration of a Levenberg-Marquardt step (Transtrum and Sethna 2012).

The Levenberg-Marquardt step ``v`` solves the damped linear model
``min ||J v + f||^2 + par ||D v||^2``: it is the tangent of the path of steepest
descent in the space of the residuals.  In a curved valley the tangent leaves the valley
floor after a short distance, the trust region holds ``||D v||`` there (ratios of actual
to predicted reduction between 0.25 and 0.75 neither grow nor shrink it), and MINPACK
creeps along for hundreds of iterations (NIST Bennett5 from start 1: 750 steps at one
radius).  The second-order term of the geodesic through ``x`` along ``v`` follows the
curve: with the second directional derivative of the residual,

    r_vv = (2 / h) ((f(x + h v) - f(x)) / h - J v),

the acceleration ``a`` solves ``min ||J a + r_vv||^2 + par ||D a||^2`` (the same
damped system, another right-hand side) and the step ``v + a / 2`` is taken when
``2 ||D a|| <= ACCELERATION_LIMIT ||D v||``.  One evaluation per accelerated step;
:func:`~paramfit.core.solvers.levenberg_marquardt.levenberg_marquardt` asks for it
(:func:`accelerated_step`) only for steps that the trust region cut short
(``par > 0``) while the fit crawls (:data:`CRAWL_STEPS`, :func:`crawl_count`), so
Gauss-Newton steps (the quadratic phase near a solution) and the first steps from a
poor start cost what they did; the batch solver applies the same rule
(:mod:`paramfit.core.solvers.batch_geodesic`).

References
----------
.. [1] M. K. Transtrum, J. P. Sethna, "Improvements to the Levenberg-Marquardt
   algorithm for nonlinear least-squares minimization", arXiv:1201.5885, 2012.
"""

from __future__ import annotations

import math

import numpy as np

from paramfit.core.exceptions import NonFiniteResidualError
from paramfit.core.linalg import PivotedQR, factor_damped_system
from paramfit.core.solvers.final_phase import POLISH_NORM_UNITS

__all__ = ["accelerated_step", "geodesic_acceleration", "second_difference",
           "measurable_reduction", "small_acceleration", "crawl_count", "ACCELERATION_PROBE",
           "ACCELERATION_LIMIT", "MEASURABLE_UNITS", "CRAWL_STEPS", "CRAWL_RATIO"]

#: The step ``h`` (a fraction of ``v``) of the finite difference that gives ``r_vv``
#: (Transtrum and Sethna 2012, section 4.2: 0.1).  Its truncation error is about
#: ``h / 3`` of the third-order term relative to ``r_vv``; the acceleration is a
#: second-order correction of the step, so an error of 10 % in it changes the step by
#: 10 % of ``a / 2``, which the trust region's ratio test then judges like any other
#: step.  Exact (to rounding) for a residual quadratic in the parameters.
ACCELERATION_PROBE = 0.1
#: The step ``v + a / 2`` is used only when ``2 ||D a|| / ||D v||`` is at most this
#: (Transtrum and Sethna's ``alpha``, 0.75): beyond it the second-order term is not a
#: correction of the tangent step but the larger part of it, the expansion in ``v`` it
#: rests on is not to be trusted, and the plain step ``v`` is tried instead.
ACCELERATION_LIMIT = 0.75
#: No probe for a step whose predicted relative reduction of the sum of squares is at
#: most this many rounding units of a computed sum of squares, times ``1 + sqrt(m)``: the
#: ratio test, which alone decides whether the accelerated step is kept, cannot tell such
#: a reduction from rounding, so the evaluation cannot pay.  Twice the final phase's
#: bound on the rounding of a computed norm
#: (:data:`~paramfit.core.solvers.final_phase.POLISH_NORM_UNITS`, measured), the
#: relative rounding of its square.  (At the end of a fit the trust region shrinks
#: through such steps, rejected or accepted by rounding: NIST Kirby2 start 2 tried ten.)
MEASURABLE_UNITS = 2.0 * POLISH_NORM_UNITS
#: A step is probed only when it continues a crawl: after this many consecutive accepted
#: steps that the trust region cut short (``par > 0``) without growing (ratio below
#: :data:`CRAWL_RATIO`), or that were accelerated (:func:`crawl_count`).  A fit from a
#: poor start takes a few cut-short steps while its radius grows, where a probe costs an
#: evaluation and saves none: probing every cut-short step cost Gaussian + line fits from
#: ``make_params()`` defaults 24% more evaluations (200 fits: 2,817 -> 3,489) for the NIST
#: set's 16,665 -> 9,398; after 7 such steps +4% (2,925) for 9,631 (3: +9% for 9,346).
CRAWL_STEPS = 7
#: MINPACK grows the trust radius after a step whose ratio of actual to predicted
#: reduction is at least this; below it (and above 0.25) the radius is held: the crawl.
CRAWL_RATIO = 0.75
EPS = float(np.finfo(float).eps)


def second_difference(at_probe, at_point, tangent, probe: float = ACCELERATION_PROBE):
    """``(2 / h) ((at_probe - at_point) / h - tangent)``: the second directional
    derivative ``r_vv`` along ``v`` from ``at_probe = f(x + h v)``, ``at_point = f(x)``
    and ``tangent = J v`` -- or, the same arithmetic on their projections, ``J^T r_vv``
    from ``J^T f(x + h v)``, ``J^T f(x)`` and ``J^T J v`` (the batch solver's,
    :mod:`paramfit.core.solvers.batch_geodesic`).  Elementwise, any array namespace."""
    out = at_probe - at_point
    out = out / probe
    out = out - tangent
    return out * (2.0 / probe)


def measurable_reduction(prered, m: int):
    """Whether a step's predicted relative reduction of the sum of squares ``prered``
    (a float or an array of them) is beyond rounding (:data:`MEASURABLE_UNITS`) for
    ``m`` residuals: only then is a probe worth its evaluation."""
    return prered > MEASURABLE_UNITS * (1.0 + math.sqrt(m)) * EPS


def crawl_count(count, par, ratio, accelerated):
    """The crawl count (:data:`CRAWL_STEPS`) after an accepted step: one more when the
    step was cut short (``par > 0``, its own ``par``) and did not grow the radius
    (``ratio < CRAWL_RATIO``) or was accelerated, else 0.  Elementwise on arrays (the batch
    solver's per-dataset counts)."""
    return (count + 1) * ((par > 0.0) & ((ratio < CRAWL_RATIO) | accelerated))


def small_acceleration(size, dxnorm):
    """Whether an acceleration of scaled length ``size = ||D a||`` corrects a step of
    scaled length ``dxnorm = ||D v||`` (:data:`ACCELERATION_LIMIT`; False for NaN).
    Elementwise on arrays."""
    return 2.0 * size <= ACCELERATION_LIMIT * dxnorm


def geodesic_acceleration(jac: np.ndarray, f: np.ndarray, f_probe: np.ndarray,
                          jv: np.ndarray, qr: PivotedQR, diag: np.ndarray, par: float,
                          probe: float = ACCELERATION_PROBE) -> np.ndarray | None:
    """Geodesic acceleration ``a`` of a Levenberg-Marquardt step ``v`` (Transtrum and
    Sethna 2012, eq. 14): the solution of ``min ||J a + r_vv||^2 + par ||D a||^2``, with
    the second directional derivative ``r_vv = (2 / h) ((f_probe - f) / h - J v)`` from
    ``f_probe = fun(x + h v)``.

    The damped normal equations ``(R^T R + par D_P^2) a_P = -P^T J^T r_vv`` are solved
    through the triangular factor of the stacked ``[R; sqrt(par) D_P]`` (no squaring of
    the condition number of ``R``).

    Parameters
    ----------
    jac : ndarray, shape (m, k)
        The Jacobian's columns the step uses.
    f, f_probe : ndarray, shape (m,)
        The residual at ``x`` and at ``x + probe * v``.
    jv : ndarray, shape (m,)
        ``J v``.
    qr : PivotedQR
        The factorisation of ``jac`` the step was solved with (``J P = Q R``).
    diag : ndarray, shape (k,)
        The scaling ``D`` of those columns.
    par : float
        The step's Levenberg-Marquardt parameter (> 0).
    probe : float
        ``h``.

    Returns
    -------
    ndarray, shape (k,), or None
        ``a``; None when ``f_probe`` is not finite or the damped system is singular.

    Examples
    --------
    A residual quadratic in one parameter, ``f(x) = x**2 - 2`` at ``x = 1`` with
    ``v = 0.5``: ``J = 2``, ``r_vv = 2 v**2 = 0.5``, and with ``par = 1``, ``D = 1``,
    ``a = -J r_vv / (J**2 + par D**2) = -0.2``.

    >>> import numpy as np
    >>> from paramfit.core.linalg import pivoted_qr
    >>> jac, f = np.array([[2.0]]), np.array([-1.0])
    >>> qr = pivoted_qr(jac.copy(order="F"), f)
    >>> a = geodesic_acceleration(jac, f, np.array([1.05**2 - 2.0]), np.array([1.0]), qr,
    ...                           np.ones(1), 1.0)
    >>> round(float(a[0]), 12)
    -0.2
    """
    rvv = second_difference(f_probe, f, jv, probe)
    rhs = jac.T @ rvv
    if not np.isfinite(rhs).all():
        return None
    perm = qr.pivots
    diag_p = diag[perm]
    # the factor of the step's own damped system, as lm_step left it (else made here)
    solved = qr.damped_solve(diag_p, par, -rhs[perm])
    if solved is None:
        factor_damped_system(qr, diag_p, par)
        solved = qr.damped_solve(diag_p, par, -rhs[perm])
    if solved is None or not np.isfinite(solved).all():
        return None
    out = np.empty_like(solved)
    out[perm] = solved
    return out


def accelerated_step(fun, x: np.ndarray, f: np.ndarray, jac: np.ndarray,
                     free: np.ndarray | None, step: np.ndarray, qr: PivotedQR,
                     diag: np.ndarray, par: float, dxnorm: float, prered: float,
                     lower: np.ndarray | None, upper: np.ndarray) -> np.ndarray | None:
    """The step ``v + a / 2`` for the Levenberg-Marquardt step ``v`` (``step``, on the
    ``free`` columns, None: all), or None (take ``v``): when its predicted relative
    reduction of the sum of squares ``prered`` is within rounding
    (:data:`MEASURABLE_UNITS`; nothing is evaluated), the probe ``x + h v`` is outside
    ``[lower, upper]`` (None: no bounds; no evaluation is made outside), its residual is
    not finite, or the acceleration is too large (:data:`ACCELERATION_LIMIT`).

    ``fun`` is the fit's counted residual (one call); ``qr``, ``diag`` (on the free
    columns), ``par`` and ``dxnorm = ||D v||`` are the step's, from
    :func:`~paramfit.core.linalg.lm_step`.
    """
    if not measurable_reduction(prered, f.size):
        return None
    if free is None:
        v = step
    else:
        v = np.zeros(x.size)
        v[free] = step
    probe = x + ACCELERATION_PROBE * v
    if lower is not None and not ((lower <= probe) & (probe <= upper)).all():
        return None
    try:
        f_probe = fun(probe)
    except NonFiniteResidualError:
        return None
    columns = jac if free is None else jac[:, free]
    acceleration = geodesic_acceleration(columns, f, f_probe, jac @ v, qr, diag, par,
                                         ACCELERATION_PROBE)
    if acceleration is None:
        return None
    size = math.sqrt(float((diag * acceleration) @ (diag * acceleration)))
    if not small_acceleration(size, dxnorm):
        return None
    return step + 0.5 * acceleration
