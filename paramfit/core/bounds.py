"""Bound handling inside the Levenberg-Marquardt iteration (MPFIT style).

Bounds are never enforced by a change of variables.  Instead, as in
Markwardt's MPFIT:

* a parameter sitting exactly on a bound whose gradient points out of the
  box is *pegged*: its Jacobian column is left out of the step computation
  (:func:`pegged_columns`);
* a step that would leave the box is shortened by the largest factor
  ``alpha <= 1`` that keeps it inside, and a component that lands within
  rounding of a bound is snapped exactly onto it (:func:`truncate_step`);
* a per-parameter maximum step (MPFIT ``mpmaxstep``) shortens the whole step
  by a common factor.

The functions serve the single-fit solver (vectors of one fit) and the batch solver
(arrays (n, B) of B fits, every column on its own) alike.

References
----------
.. [1] C. B. Markwardt, "Non-linear least squares fitting in IDL with MPFIT",
   ASP Conference Series 411, 251, 2009.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["pegged_columns", "truncate_step", "active_bounds"]

EPS = float(np.finfo(float).eps)


def pegged_columns(x: np.ndarray, gradient: np.ndarray, lower: np.ndarray,
                   upper: np.ndarray) -> np.ndarray:
    """Boolean mask of parameters held on a bound during this iteration.

    ``gradient`` is ``J^T f`` (half the gradient of the sum of squares); the
    descent direction ``-gradient`` leaves the box at a lower bound when the
    gradient is positive, at an upper bound when it is negative.  A
    parameter with ``lower == upper`` is always pegged.  Elementwise: ``x`` and
    ``gradient`` of shape (n,) for one fit or (n, B) for B fits (bounds (n, 1)).
    """
    at_lower = x <= lower
    at_upper = x >= upper
    return (at_lower & (gradient > 0.0)) | (at_upper & (gradient < 0.0)) | (at_lower & at_upper)


#: A step that reaches a bound from inside after more than this fraction of its length
#: stops halfway there instead (see :func:`truncate_step`).  Not a rounding threshold:
#: either branch gives an admissible trial point, and the solver's acceptance test decides.
BOUND_STEP_BACK_ALPHA = 0.25


def truncate_step(x: np.ndarray, step: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  max_step: np.ndarray | None, xp: Any = np
                  ) -> tuple[np.ndarray, float | np.ndarray]:
    """Shorten ``step`` so that ``x + alpha * step`` stays in the box and obeys ``max_step``.

    Components of parameters already on a bound that point outwards are set
    to zero first (MPFIT).  Returns the trial point, snapped onto bounds it
    reaches within rounding, and ``alpha``.

    A step that would reach a bound from inside the box only after more than
    ``BOUND_STEP_BACK_ALPHA`` of its length stops halfway there (``alpha`` halved, the
    parameter stays interior): landing exactly on a bound where the model degenerates
    (a width or an amplitude of 0) leaves its Jacobian columns zero and the fit stuck
    there -- NIST Gauss2 as a composite from lmfit's start ended at chi-square 32,196
    with a width of 0 (certified 1,247.5).  A short overshoot (an optimum outside the
    box, approached by such halvings) is snapped onto the bound as MPFIT does.

    ``x`` and ``step`` have shape (n,) for one fit (``alpha`` is then a float) or
    (n, B) for B fits, each column on its own (``alpha`` of shape (B,); the bounds
    and ``max_step`` of shape (n, 1)); ``max_step`` is NaN or <= 0 where not set.
    ``xp`` is the array namespace.
    """
    step = xp.where(((x <= lower) & (step < 0.0)) | ((x >= upper) & (step > 0.0)), 0.0, step)
    trial = x + step
    below = trial < lower
    above = trial > upper
    one_fit = x.ndim == 1
    if one_fit and max_step is None and not (below.any() or above.any()):
        return trial, 1.0       # inside the box, no step limit: what the rest gives
    alpha = 1.0 if one_fit else xp.ones(x.shape[1:])
    # where a component does not leave the box it divides by 1, not by its step
    if below.any():
        fraction = (lower - x) / xp.where(below, step, 1.0)
        alpha = xp.minimum(alpha, xp.where(below, fraction, 1.0).min(axis=0))
    if above.any():
        fraction = (upper - x) / xp.where(above, step, 1.0)
        alpha = xp.minimum(alpha, xp.where(above, fraction, 1.0).min(axis=0))
    if max_step is not None:
        limited = xp.isfinite(max_step) & (max_step > 0.0)
        if limited.any():
            ratio = xp.where(limited, xp.abs(alpha * step) / xp.where(limited, max_step, 1.0),
                             0.0).max(axis=0)
            alpha = alpha / xp.maximum(ratio, 1.0)      # divided where the ratio exceeds 1
    # A step that would reach a bound from inside the box, with more than a quarter of
    # its length, stops halfway instead (the parameter stays interior): landing exactly on
    # a bound where the model degenerates (a width of 0, an amplitude of 0) leaves the
    # Jacobian column zero and the fit stuck there.  Shorter overshoots (an optimum
    # outside the box, approached by halving) are snapped onto the bound as before.
    crossing = ((below | above) & (x > lower) & (x < upper)).any(axis=0)
    halve = crossing & (alpha > BOUND_STEP_BACK_ALPHA) & (alpha < 1.0)
    if one_fit:
        alpha = float(alpha)
        if bool(halve):
            alpha *= 0.5
            return x + alpha * step, alpha
        if alpha < 1.0:
            trial = _snap(x + alpha * step, x, lower, upper, below, above, xp)
        return trial, alpha
    alpha = xp.where(halve, 0.5 * alpha, alpha)
    short = (alpha < 1.0) & ~halve
    if short.any():
        trial = xp.where(short, _snap(x + alpha * step, x, lower, upper, below, above, xp),
                         trial)
    if halve.any():
        trial = xp.where(halve, x + alpha * step, trial)
    return trial, alpha


def _snap(trial: np.ndarray, x: np.ndarray, lower: np.ndarray, upper: np.ndarray,
          below: np.ndarray, above: np.ndarray, xp: Any = np) -> np.ndarray:
    """Put components that reached a bound within rounding exactly on it, and clip."""
    with np.errstate(invalid="ignore"):     # inf - inf of an absent bound: no snap there
        tol_low = 4.0 * EPS * xp.maximum(xp.abs(lower), xp.abs(x))
        tol_up = 4.0 * EPS * xp.maximum(xp.abs(upper), xp.abs(x))
        trial = xp.where(below & (trial <= lower + tol_low), lower, trial)
        trial = xp.where(above & (trial >= upper - tol_up), upper, trial)
    return xp.clip(trial, lower, upper)


def active_bounds(x: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  xp: Any = np) -> np.ndarray:
    """``int8`` flags: -1 where ``x`` is on its lower bound, +1 on its upper, else 0
    (elementwise; (n,) or (n, B) with bounds (n, 1))."""
    return xp.where(x <= lower, -1, xp.where(x >= upper, 1, 0)).astype(xp.int8)
