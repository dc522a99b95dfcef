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

References
----------
.. [1] C. B. Markwardt, "Non-linear least squares fitting in IDL with MPFIT",
   ASP Conference Series 411, 251, 2009.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pegged_columns", "truncate_step", "active_bounds"]

EPS = float(np.finfo(float).eps)


def pegged_columns(x: np.ndarray, gradient: np.ndarray, lower: np.ndarray,
                   upper: np.ndarray) -> np.ndarray:
    """Boolean mask of parameters held on a bound during this iteration.

    ``gradient`` is ``J^T f`` (half the gradient of the sum of squares); the
    descent direction ``-gradient`` leaves the box at a lower bound when the
    gradient is positive, at an upper bound when it is negative.  A
    parameter with ``lower == upper`` is always pegged.
    """
    at_lower = x <= lower
    at_upper = x >= upper
    return (at_lower & (gradient > 0.0)) | (at_upper & (gradient < 0.0)) | (at_lower & at_upper)


def truncate_step(x: np.ndarray, step: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  max_step: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Shorten ``step`` so that ``x + alpha * step`` stays in the box and obeys ``max_step``.

    Components of parameters already on a bound that point outwards are set
    to zero first (MPFIT).  Returns the trial point, snapped onto bounds it
    reaches within rounding, and ``alpha``.
    """
    step = np.where(((x <= lower) & (step < 0.0)) | ((x >= upper) & (step > 0.0)), 0.0, step)
    alpha = 1.0
    trial = x + step
    below = trial < lower
    if below.any():
        alpha = min(alpha, float(np.min((lower[below] - x[below]) / step[below])))
    above = trial > upper
    if above.any():
        alpha = min(alpha, float(np.min((upper[above] - x[above]) / step[above])))
    if max_step is not None:
        limited = np.isfinite(max_step) & (max_step > 0.0)
        if limited.any():
            ratio = float(np.max(np.abs(alpha * step[limited]) / max_step[limited]))
            if ratio > 1.0:
                alpha /= ratio
    if alpha < 1.0:
        trial = x + alpha * step
        trial = _snap(trial, x, lower, upper, below, above)
    return trial, alpha


def _snap(trial: np.ndarray, x: np.ndarray, lower: np.ndarray, upper: np.ndarray,
          below: np.ndarray, above: np.ndarray) -> np.ndarray:
    """Put components that reached a bound within rounding exactly on it, and clip."""
    with np.errstate(invalid="ignore"):
        tol_low = 4.0 * EPS * np.maximum(np.abs(lower), np.abs(x))
        tol_up = 4.0 * EPS * np.maximum(np.abs(upper), np.abs(x))
        trial = np.where(below & (trial <= lower + tol_low), lower, trial)
        trial = np.where(above & (trial >= upper - tol_up), upper, trial)
    return np.clip(trial, lower, upper)


def active_bounds(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``int8`` flags: -1 where ``x`` is on its lower bound, +1 on its upper, else 0."""
    flags = np.zeros(x.shape, dtype=np.int8)
    flags[x >= upper] = 1
    flags[x <= lower] = -1
    return flags
