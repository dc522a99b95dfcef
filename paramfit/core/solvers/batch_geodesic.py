"""Geodesic acceleration of the batch solver's Levenberg-Marquardt steps (Transtrum and
Sethna 2012), the single fits' rule (:mod:`paramfit.core.solvers.geodesic`) on the
normal equations.

For each dataset whose step ``v`` the trust region cut short (``par > 0``), one probe
``x + h v`` gives the projection of the second directional derivative of the residual
on the Jacobian's columns,

    J^T r_vv = (2 / h) ((J(x)^T r(x + h v) - J^T r) / h - (J^T J) v),

the same arithmetic as the single fit's ``r_vv``
(:func:`~paramfit.core.solvers.geodesic.second_difference`) on the projections the batch
has: ``J^T r`` and ``J^T J`` at ``x`` and the evaluator's cross evaluation ``J(x)^T r(x +
h v)`` (the Jacobian at the point, the residual at the probe).  The acceleration solves
``(J^T J + par D^2) a = -J^T r_vv`` -- the damped system of the step at its ``par``
(:func:`~paramfit.core.batch_linalg.damped_system`, parameters held on a bound left out) --
and the step becomes ``v + a / 2`` when ``2 ||D a|| <= 0.75 ||D v||``.  The single fits'
constants and decisions, from their module: no probe for a step whose predicted reduction
is within rounding, nor outside the bounds; the ratio test keeps the tangent's predicted
reduction (the caller's).  The probe counts as one (fused) evaluation.  A probe would
also be no use where the step and its trial would pass ``max_nfev``: the batch probes
only where both fit within it (the single fit stops at the trial instead).

Every operation acts on each dataset's column, the selected datasets' columns gathered,
so a dataset's result does not depend on the others in its working set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paramfit.core.batch_linalg import batch_dot, damped_system, held_pairs
from paramfit.core.solvers.geodesic import (
    ACCELERATION_PROBE,
    measurable_reduction,
    second_difference,
    small_acceleration,
)

__all__ = ["accelerate"]


def accelerate(cross, n_residuals: int, x, chisq, jtj, jtr, scale, par, step, jtj_step,
               dp, jp, candidates, held, lower, upper, bounded: bool, nfev,
               xp: Any = np):
    """The accelerated steps of the slots ``candidates`` (w,): cut short (``par > 0``),
    with a computed step, still fitting.

    Parameters
    ----------
    cross : callable
        ``cross(x, probe, slots) -> J(x)^T r(probe)`` (F, k) of the slots ``slots``.
    n_residuals : int
        Residuals per dataset (the rounding bound on the predicted reduction).
    x, chisq, jtj, jtr, scale, par
        The slots' points, sums of squares, ``J^T J``, ``J^T r`` there, ``D^2`` and the
        steps' LM parameters.
    step : ndarray, shape (F, w)
        The steps ``v`` (0 for held parameters).
    jtj_step, dp, jp
        ``(J^T J) v`` (F, w), ``||D v||^2`` and ``||J v||^2`` (w,).
    held : ndarray of bool, shape (F, w), or None
        Parameters held on a bound.
    lower, upper : ndarray, shape (F, 1)
        Bounds (looked at when ``bounded``).
    nfev : ndarray of int, shape (w,)
        Evaluation counts, incremented in place for the slots probed.

    Returns
    -------
    step : ndarray, shape (F, w)
        ``v + a / 2`` where accelerated, else ``v`` (the same array when none is).
    accelerated : ndarray of bool, shape (w,), or None (none is)
    """
    with np.errstate(all="ignore"):
        # Moré (1977), eq. (5.6), of the whole tangent step (the single fit's "predicted")
        predicted = xp.where(chisq > 0.0, (jp + 2.0 * par * dp) / chisq, 0.0)
        slots = xp.nonzero(candidates & measurable_reduction(predicted, n_residuals))[0]
        if not slots.size:
            return step, None
        v = step[:, slots]
        at = x[:, slots]
        probe = at + ACCELERATION_PROBE * v
        if bounded:
            inside = xp.all((lower <= probe) & (probe <= upper), axis=0)
            slots, v, at, probe = slots[inside], v[:, inside], at[:, inside], probe[:, inside]
            if not slots.size:
                return step, None
        nfev[slots] += 1
        rvv = second_difference(cross(at, probe, slots), jtr[:, slots], jtj_step[:, slots],
                                ACCELERATION_PROBE)
        finite = xp.all(xp.isfinite(rvv), axis=0)
        rhs = xp.where(finite, -rvv, 0.0)
        sub_held = None if held is None else held[:, slots]
        if sub_held is not None:
            rhs = xp.where(sub_held, 0.0, rhs)
        sub_scale = scale[:, slots]
        system = damped_system(jtj[:, :, slots], sub_scale, par[slots],
                               None if sub_held is None else held_pairs(sub_held), xp)
        acceleration = system.solve(rhs)
        size = xp.sqrt(batch_dot(sub_scale * acceleration, acceleration))
        good = finite & system.ok & xp.all(xp.isfinite(acceleration), axis=0) \
            & small_acceleration(size, xp.sqrt(dp[slots]))
        if not xp.any(good):
            return step, None
        slots = slots[good]
        accelerated = xp.zeros(step.shape[1], dtype=bool)
        accelerated[slots] = True
        corrected = xp.zeros(step.shape)
        corrected[:, slots] = v[:, good] + 0.5 * acceleration[:, good]
    return xp.where(accelerated, corrected, step), accelerated
