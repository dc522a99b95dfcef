"""One fit's set-up for the Levenberg-Marquardt iteration: MINPACK's checks of its input
and the iteration's view of the fit's options.

:func:`~paramfit.core.solvers.levenberg_marquardt.solve` makes an :class:`IterationOptions`
from the validated :class:`~paramfit.core.options.LMOptions` and the problem's arrays
(bounds, per-parameter steps and sides), after :func:`improper_input` (MINPACK's
``info = 0`` conditions plus a feasible start).
"""

from __future__ import annotations

import numpy as np

__all__ = ["IterationOptions", "as_vector", "improper_input"]


def as_vector(values: object, n: int, fill: float) -> np.ndarray:
    """``values`` as a float vector of length ``n`` (``fill`` everywhere when None)."""
    if values is None:
        return np.full(n, fill)
    out = np.array(values, dtype=float).reshape(-1)
    if out.size != n:
        raise ValueError(f"expected {n} values, got {out.size}")
    return out


def improper_input(x0: np.ndarray, n: int, lower: np.ndarray, upper: np.ndarray,
                   ftol: float, xtol: float, gtol: float, factor: float,
                   diag: np.ndarray | None, max_nfev: int) -> bool:
    """MINPACK's input checks, plus feasibility of the start."""
    if n == 0 or ftol < 0.0 or xtol < 0.0 or gtol < 0.0 or factor <= 0.0 or max_nfev <= 0:
        return True
    if diag is not None and not (diag > 0.0).all():
        return True
    # lower <= x0 <= upper (false for NaN, and for any x0 when lower > upper), x0 finite
    return not (((lower <= x0) & (x0 <= upper)).all() and np.isfinite(x0).all())


def _if_set(values: np.ndarray | None) -> np.ndarray | None:
    """Per-parameter option (NaN or <= 0: not set), or None when set for no parameter."""
    if values is None or not (np.isfinite(values) & (values > 0)).any():
        return None
    return values


class IterationOptions:
    """The iteration's view of one fit: the values of its
    :class:`~paramfit.core.options.LMOptions` (validated there) and the problem's
    arrays, as plain attributes for fast access."""

    def __init__(self, jac, lower, upper, absolute_step, relative_step, side, max_step,
                 ftol, xtol, gtol, max_nfev, factor, diag, callback, final_jacobian):
        self.jac, self.lower, self.upper = jac, lower, upper
        # options nobody set become None: the finite differences then take their fast path
        self.absolute_step = _if_set(absolute_step)
        self.relative_step = _if_set(relative_step)
        self.side = None if side is None or not side.any() else side
        self.max_step = _if_set(max_step)
        self.ftol, self.xtol, self.gtol = float(ftol), float(xtol), float(gtol)
        self.max_nfev, self.factor, self.diag = max_nfev, float(factor), diag
        self.callback = callback
        self.final_jacobian = final_jacobian
        self.broyden = False
        self.geodesic = True
        self.bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())
        self.limited_step = self.max_step is not None
