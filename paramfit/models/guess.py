"""Starting-value heuristics for the built-in models (``Model.guess``).

Peaks: the data's peak position, height above the lowest point and full width at half
maximum (interpolated between samples) are measured, then converted into the model's
``amplitude``/``center``/``sigma`` by measuring the *same three quantities on the model
itself* (a fine grid at ``amplitude=1, center=0``).  This replaces lmfit's fixed
factors (which leave Gaussian amplitudes ~40% off) by exact ones for every lineshape,
including those whose width is not proportional to ``sigma`` (Student's t, an
exponentially modified Gaussian with fixed ``gamma``), solved for ``sigma`` by Brent's
method.  Steps use the 25/50/75% crossings the same way; lines and
polynomials a least-squares fit; exponentials and power laws a log-linear fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import optimize

from paramfit.core.exceptions import FitError

__all__ = [
    "PeakShape",
    "measure_peak",
    "guess_peak",
    "guess_step",
    "guess_rectangle",
    "guess_polynomial",
    "guess_exponential",
    "guess_powerlaw",
    "guess_sine",
    "sorted_xy",
]

#: ``shape(sigma) -> {other parameter: value}`` for the parameters that are neither
#: amplitude, center nor sigma (e.g. voigt's gamma tied to sigma).
PeakShape = Callable[[float], Mapping[str, float]]


def sorted_xy(data: Any, x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Finite (x, y) pairs as float arrays sorted by x."""
    y = np.asarray(data, dtype=float).ravel()
    if x is None:
        raise FitError("guess() needs the independent variable x")
    x = np.asarray(x, dtype=float).ravel()
    if x.size != y.size:
        raise FitError(f"guess(): data has {y.size} points but x has {x.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    order = np.argsort(x[keep], kind="stable")
    x, y = x[keep][order], y[keep][order]
    if x.size < 3:
        raise FitError("guess() needs at least 3 finite data points")
    return x, y


def _crossing(x: np.ndarray, y: np.ndarray, start: int, level: float, step: int) -> float | None:
    """x where y first drops below ``level`` walking from ``start`` by ``step``."""
    i = start
    while 0 <= i + step < x.size:
        j = i + step
        if y[j] < level:
            t = (y[i] - level) / (y[i] - y[j]) if y[i] != y[j] else 0.5
            return float(x[i] + t * (x[j] - x[i]))
        i = j
    return None


def measure_peak(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(position, height above the minimum, FWHM) of the highest peak of sorted data."""
    i = int(np.argmax(y))
    base = float(np.min(y))
    height = float(y[i]) - base
    position = float(x[i])
    if 0 < i < x.size - 1:  # parabola through the three top points
        y0, y1, y2 = y[i - 1], y[i], y[i + 1]
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            shift = 0.5 * (y0 - y2) / denom
            if abs(shift) <= 1:
                position += shift * (x[i + 1] - x[i - 1]) / 2
    half = base + height / 2
    left = _crossing(x, y, i, half, -1)
    right = _crossing(x, y, i, half, 1)
    if left is None and right is None:
        fwhm = (x[-1] - x[0]) / 3
    elif left is None:
        fwhm = 2 * (right - position)
    elif right is None:
        fwhm = 2 * (position - left)
    else:
        fwhm = right - left
    return position, height, float(max(fwhm, 1e-12))


def _reference(function: Callable, sigma: float, shape: PeakShape) -> tuple[float, float, float]:
    """(position, height, FWHM) of ``function`` at amplitude 1, center 0."""
    grid = np.linspace(-60 * sigma, 60 * sigma, 60001)
    values = np.asarray(function(grid, 1.0, 0.0, sigma, **shape(sigma)), dtype=float)
    return measure_peak(grid, values)


def _solve_width(function: Callable, shape: PeakShape, fwhm: float) -> float:
    """``sigma`` at which the lineshape's FWHM equals ``fwhm`` (Brent's method in log sigma;
    one step for lineshapes whose width is proportional to sigma)."""
    first = fwhm / _reference(function, 1.0, shape)[2]

    def gap(log_sigma: float) -> float:
        return math.log(_reference(function, math.exp(log_sigma), shape)[2] / fwhm)

    center = math.log(first)
    if abs(gap(center)) < 1e-6:
        return first
    for span in (1.0, 3.0, 8.0):
        lo, hi = center - span, center + span
        if gap(lo) * gap(hi) < 0:
            return math.exp(optimize.brentq(gap, lo, hi, xtol=1e-6))
    return first


def guess_peak(function: Callable, data: Any, x: Any, *, negative: bool = False,
               shape: PeakShape | None = None) -> dict[str, float]:
    """``{'amplitude', 'center', 'sigma'}`` for a peak lineshape ``function(x, a, c, s)``.

    Parameters
    ----------
    function : callable
        Lineshape ``function(x, amplitude, center, sigma, **shape(sigma))``.
    data, x : array_like
        The data and its independent variable.
    negative : bool, default False
        The peak points down.
    shape : callable, optional
        Other shape parameters as a function of sigma.

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit.models.lineshapes import gaussian
    >>> x = np.linspace(-10, 10, 201)
    >>> g = guess_peak(gaussian, gaussian(x, 4.0, 1.0, 1.5), x)
    >>> [round(g[k], 2) for k in ('amplitude', 'center', 'sigma')]
    [4.0, 1.0, 1.5]
    """
    shape = shape or (lambda s: {})
    xs, ys = sorted_xy(data, x)
    if negative:
        ys = -ys
    position, height, fwhm = measure_peak(xs, ys)
    sigma = _solve_width(function, shape, fwhm)
    ref_pos, ref_height, _ = _reference(function, sigma, shape)
    amplitude = height / ref_height if ref_height > 0 else height
    return {"amplitude": -amplitude if negative else amplitude,
            "center": float(position - ref_pos), "sigma": float(sigma)}


def _level_crossing(x: np.ndarray, y: np.ndarray, level: float) -> float:
    """First x where a rising y reaches ``level`` (linear interpolation)."""
    above = np.flatnonzero(y >= level)
    if above.size == 0:
        return float(x[-1])
    j = int(above[0])
    if j == 0:
        return float(x[0])
    t = (level - y[j - 1]) / (y[j] - y[j - 1])
    return float(x[j - 1] + t * (x[j] - x[j - 1]))


def _edge(x: np.ndarray, y: np.ndarray, low: float, amplitude: float) -> tuple[float, float]:
    """(50% crossing, 25-75% width) of a rising edge from ``low`` by ``amplitude``."""
    levels = [low + q * amplitude for q in (0.25, 0.5, 0.75)]
    x25, x50, x75 = (_level_crossing(x, y, level) for level in levels)
    return x50, max(x75 - x25, 1e-12 * max(1.0, abs(x50)))


def _step_width(step: Callable, form: str) -> float:
    grid = np.linspace(-20.0, 20.0, 40001)
    values = np.asarray(step(grid, 1.0, 0.0, 1.0, form=form), dtype=float)
    return _edge(grid, values, 0.0, 1.0)[1]


def guess_step(step: Callable, data: Any, x: Any, *, form: str = "linear") -> dict[str, float]:
    """``{'amplitude', 'center', 'sigma'}`` of a step ``step(x, a, c, s, form=)``."""
    xs, ys = sorted_xy(data, x)
    k = max(2, xs.size // 30)
    low, high = float(np.mean(ys[:k])), float(np.mean(ys[-k:]))
    amplitude = high - low
    sign = 1.0 if amplitude >= 0 else -1.0
    center, width = _edge(xs, sign * ys, sign * low, abs(amplitude) or 1.0)
    return {"amplitude": amplitude, "center": center,
            "sigma": width / _step_width(step, form)}


def guess_rectangle(rectangle: Callable, data: Any, x: Any, *,
                    form: str = "linear") -> dict[str, float]:
    """Rectangle parameters from the rising and the falling edge of
    ``rectangle(x, amplitude, center1, sigma1, center2, sigma2, form=)``."""
    xs, ys = sorted_xy(data, x)
    low = float(min(ys[0], ys[-1]))
    top = int(np.argmax(ys))
    amplitude = float(ys[top]) - low
    if amplitude <= 0:
        raise FitError("guess(): the data has no rectangle (no point above the ends)")
    grid = np.linspace(-20.0, 20.0, 40001)
    edge = np.asarray(rectangle(grid, 1.0, 0.0, 1.0, 1e3, 1.0, form=form), dtype=float)
    reference = _edge(grid, edge, 0.0, 1.0)[1]
    c1, w1 = _edge(xs[:top + 1], ys[:top + 1], low, amplitude)
    c2, w2 = _edge(-xs[top:][::-1], ys[top:][::-1], low, amplitude)
    return {"amplitude": amplitude, "center1": c1, "sigma1": w1 / reference,
            "center2": -c2, "sigma2": w2 / reference}


def guess_polynomial(data: Any, x: Any, degree: int) -> list[float]:
    """Least-squares polynomial coefficients, constant term first."""
    xs, ys = sorted_xy(data, x) if degree > 0 else (None, np.asarray(data, float))
    if degree == 0:
        return [float(np.nanmean(ys))]
    degree = min(degree, xs.size - 1)
    return [float(c) for c in np.polynomial.polynomial.polyfit(xs, ys, degree)]


def guess_exponential(data: Any, x: Any) -> dict[str, float]:
    """``amplitude * exp(-x / decay)`` by a straight line through ``log|y|``."""
    xs, ys = sorted_xy(data, x)
    sign = 1.0 if np.sum(ys) >= 0 else -1.0
    keep = sign * ys > 0
    if keep.sum() < 2:
        raise FitError("guess(): an exponential needs at least 2 points of one sign")
    slope, intercept = np.polyfit(xs[keep], np.log(sign * ys[keep]), 1)
    decay = -1.0 / slope if slope != 0 else 1e3 * (xs[-1] - xs[0])
    return {"amplitude": sign * math.exp(intercept), "decay": float(decay)}


def guess_powerlaw(data: Any, x: Any) -> dict[str, float]:
    """``amplitude * x**exponent`` by a straight line through ``log|y|`` vs ``log x``."""
    xs, ys = sorted_xy(data, x)
    sign = 1.0 if np.sum(ys) >= 0 else -1.0
    keep = (xs > 0) & (sign * ys > 0)
    if keep.sum() < 2:
        raise FitError("guess(): a power law needs at least 2 points with x > 0")
    exponent, intercept = np.polyfit(np.log(xs[keep]), np.log(sign * ys[keep]), 1)
    return {"amplitude": sign * math.exp(intercept), "exponent": float(exponent)}


def guess_sine(data: Any, x: Any) -> dict[str, float]:
    """``amplitude * sin(frequency * x + shift)``: periodogram peak, then linear fit."""
    xs, ys = sorted_xy(data, x)
    span = xs[-1] - xs[0]
    if span <= 0:
        raise FitError("guess(): x must span a range")
    nyquist = math.pi * (xs.size - 1) / span
    omegas = np.linspace(2 * math.pi / span / 4, nyquist, 4 * xs.size)

    def fit_at(omega: float) -> tuple[float, np.ndarray]:
        basis = np.column_stack([np.sin(omega * xs), np.cos(omega * xs)])
        coef, *_ = np.linalg.lstsq(basis, ys, rcond=None)
        return float(np.sum((basis @ coef - ys) ** 2)), coef

    errors = [fit_at(w)[0] for w in omegas]
    k = int(np.argmin(errors))
    step = omegas[1] - omegas[0]
    fine = np.linspace(omegas[k] - step, omegas[k] + step, 41)
    omega = float(fine[int(np.argmin([fit_at(w)[0] for w in fine]))])
    _, (a, b) = fit_at(omega)
    return {"amplitude": float(math.hypot(a, b)), "frequency": omega,
            "shift": float(math.atan2(b, a))}
