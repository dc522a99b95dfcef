"""Starting-value heuristics for the built-in models (``Model.guess``).

Peaks: the data's peak position, height above the lowest point and full width at half
maximum (interpolated between samples) are measured, then converted into the model's
``amplitude``/``center``/``sigma`` by measuring the *same three quantities on the model
itself* (a fine grid at ``amplitude=1, center=0``).  This replaces lmfit's fixed
factors (which leave Gaussian amplitudes ~40% off) by exact ones for every lineshape,
including those whose width is not proportional to ``sigma`` (Student's t, an
exponentially modified Gaussian with fixed ``gamma``), solved for ``sigma`` by Brent's
method.  Lines and polynomials: a least-squares fit.  The other models' guesses (steps,
rectangles, exponentials, power laws, the damped oscillator, sines) are in
:mod:`paramfit.models.guess_curves`.  Every guess is one algorithm for 1 or B rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import optimize

from paramfit.core.exceptions import FitError

__all__ = [
    "PeakShape",
    "measure_peak",
    "measure_peaks",
    "guess_peak",
    "guess_peaks",
    "guess_polynomial",
    "guess_polynomials",
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


def _row_sorted(data: np.ndarray, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``data`` (B, m) with a shared ``x`` (m,) sorted by x: ``(xs, Ys, clean)``;
    ``clean`` flags the rows whose every point is finite (the others go one at a time
    through :func:`sorted_xy`, which drops their non-finite points)."""
    if x is None:
        raise FitError("guess() needs the independent variable x")
    x = np.asarray(x, dtype=float).ravel()
    if x.size != data.shape[1]:
        raise FitError(f"guess(): data has {data.shape[1]} points but x has {x.size}")
    keep = np.isfinite(x)
    order = np.argsort(x[keep], kind="stable")
    xs = x[keep][order]
    ys = data[:, keep][:, order]
    clean = np.isfinite(ys).all(axis=1)
    return xs, ys, clean


def _crossings(x: np.ndarray, y: np.ndarray, top: np.ndarray, level: np.ndarray,
               step: int) -> tuple[np.ndarray, np.ndarray]:
    """x where each row of y first drops below ``level`` walking from ``top`` by ``step``
    (linear interpolation between the two samples), and whether it does."""
    rows = np.arange(y.shape[0])
    index = np.arange(x.size)
    below = y < level[:, None]
    below &= (index > top[:, None]) if step > 0 else (index < top[:, None])
    found = below.any(axis=1)
    if step > 0:
        j = np.argmax(below, axis=1)
    else:
        j = x.size - 1 - np.argmax(below[:, ::-1], axis=1)
    j = np.where(found, j, np.clip(top + step, 0, x.size - 1))
    i = np.clip(j - step, 0, x.size - 1)
    yi, yj = y[rows, i], y[rows, j]
    with np.errstate(all="ignore"):
        t = np.where(yi != yj, (yi - level) / (yi - yj), 0.5)
    return x[i] + t * (x[j] - x[i]), found


def measure_peaks(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position, height above the minimum, FWHM), each (B,), of the highest peak of
    every row of ``y`` (B, m) sampled at sorted ``x`` (m,).

    The position is refined by the parabola through the three top points; the FWHM is
    interpolated between samples (from one side doubled where the other half-maximum
    is outside the data, a third of the x range where neither is inside).  Each row is
    measured by element-wise operations only, so a row gives the same bits alone or
    among others.
    """
    rows = np.arange(y.shape[0])
    m = x.size
    top = np.argmax(y, axis=1)
    base = np.min(y, axis=1)
    peak = y[rows, top]
    height = peak - base
    position = x[top]
    inner = (top > 0) & (top < m - 1)
    lo, hi = np.clip(top - 1, 0, m - 1), np.clip(top + 1, 0, m - 1)
    y0, y2 = y[rows, lo], y[rows, hi]
    denom = y0 - 2 * peak + y2
    with np.errstate(all="ignore"):
        shift = 0.5 * (y0 - y2) / denom
    refine = inner & (denom < 0) & (np.abs(shift) <= 1)
    position = np.where(refine, position + shift * (x[hi] - x[lo]) / 2, position)
    half = base + height / 2
    left, has_left = _crossings(x, y, top, half, -1)
    right, has_right = _crossings(x, y, top, half, 1)
    fwhm = np.where(has_left & has_right, right - left,
                    np.where(has_right, 2 * (right - position),
                             np.where(has_left, 2 * (position - left),
                                      (x[-1] - x[0]) / 3)))
    return position, height, np.maximum(fwhm, 1e-12)


def measure_peak(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(position, height above the minimum, FWHM) of the highest peak of sorted data
    (:func:`measure_peaks` on one row)."""
    position, height, fwhm = measure_peaks(np.asarray(x, dtype=float),
                                           np.asarray(y, dtype=float)[None, :])
    return float(position[0]), float(height[0]), float(fwhm[0])


#: Grid of the reference measurements: +-60 sigma in 60,000 steps.
_GRID_HALF_WIDTH, _GRID_POINTS = 60.0, 60001
#: Sigmas at which a lineshape is probed for a width proportional to sigma (and a
#: height to 1/sigma, a position to sigma): then one reference at sigma = 1 serves all.
_SCALE_PROBES = (0.25, 4.0)
#: Relative agreement of the probes that counts as proportional: the old per-row test
#: of the width (``_solve_width`` accepts the one-step sigma at 1e-6).
_SCALE_RTOL = 1e-6
_REFERENCES: dict[tuple, tuple[float, float, float] | None] = {}


def _reference(function: Callable, sigma: float, shape: PeakShape) -> tuple[float, float, float]:
    """(position, height, FWHM) of ``function`` at amplitude 1, center 0."""
    grid = np.linspace(-_GRID_HALF_WIDTH * sigma, _GRID_HALF_WIDTH * sigma, _GRID_POINTS)
    values = np.asarray(function(grid, 1.0, 0.0, sigma, **shape(sigma)), dtype=float)
    return measure_peak(grid, values)


def _shape_key(shape: PeakShape) -> tuple:
    return tuple(tuple(sorted((k, float(v)) for k, v in shape(s).items()))
                 for s in (1.0, *_SCALE_PROBES))


def _unit_reference(function: Callable, shape: PeakShape) -> tuple[float, float, float] | None:
    """The lineshape's (position, height, FWHM) at sigma = 1 when its position and width
    are proportional to sigma and its height to 1/sigma, else None; measured once per
    lineshape and shape (cached: the grid depends on the model only)."""
    key = (function, _shape_key(shape))
    if key not in _REFERENCES:
        unit = _reference(function, 1.0, shape)
        scales = True
        for s in _SCALE_PROBES:
            pos, height, fwhm = _reference(function, s, shape)
            scales &= (math.isclose(fwhm, unit[2] * s, rel_tol=_SCALE_RTOL)
                       and math.isclose(height, unit[1] / s, rel_tol=_SCALE_RTOL)
                       and abs(pos - unit[0] * s) <= _SCALE_RTOL * unit[2] * s)
        _REFERENCES[key] = unit if scales else None
    return _REFERENCES[key]


def _solve_width(function: Callable, shape: PeakShape, fwhm: float) -> float:
    """``sigma`` at which the lineshape's FWHM equals ``fwhm`` (Brent's method in log
    sigma), for lineshapes whose width is not proportional to sigma."""
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


def _peak_from_measures(function: Callable, shape: PeakShape, position: np.ndarray,
                        height: np.ndarray, fwhm: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(amplitude, center, sigma) of the lineshape with the measured peak."""
    unit = _unit_reference(function, shape)
    if unit is not None:
        sigma = fwhm / unit[2]
        ref_pos, ref_height = unit[0] * sigma, unit[1] / sigma
    else:
        sigma = np.array([_solve_width(function, shape, float(f)) for f in fwhm])
        refs = [_reference(function, float(s), shape) for s in sigma]
        ref_pos = np.array([r[0] for r in refs])
        ref_height = np.array([r[1] for r in refs])
    with np.errstate(all="ignore"):
        amplitude = np.where(ref_height > 0, height / ref_height, height)
    return amplitude, position - ref_pos, sigma


def guess_peaks(function: Callable, data: Any, x: Any, *, negative: bool = False,
                shape: PeakShape | None = None, errors: str = "raise"
                ) -> dict[str, np.ndarray]:
    """``{'amplitude', 'center', 'sigma'}``, each (B,), for the rows of ``data`` (B, m).

    The one peak guess (:func:`guess_peak` is this on one row): every row's peak
    position, height above its minimum and FWHM (:func:`measure_peaks`), converted
    with the lineshape's own measures at amplitude 1, center 0 -- one reference at
    sigma = 1, computed once per lineshape, when its width is proportional to sigma,
    else per row by Brent's method.  Rows with non-finite points are measured one at
    a time on their finite points.

    Parameters
    ----------
    function : callable
        Lineshape ``function(x, amplitude, center, sigma, **shape(sigma))``.
    data : array_like, shape (B, m)
    x : array_like, shape (m,)
    negative : bool, default False
        The peaks point down.
    shape : callable, optional
        Other shape parameters as a function of sigma.
    errors : {'raise', 'nan'}
        A row that cannot be guessed (under 3 finite points) raises FitError, or
        gives NaN.
    """
    shape = shape or (lambda s: {})
    data = np.asarray(data, dtype=float)
    xs, ys, clean = _row_sorted(data, x)
    if negative:
        ys = -ys
    b = data.shape[0]
    position, height, fwhm = (np.full(b, math.nan) for _ in range(3))
    if clean.any() and xs.size >= 3:
        measured = measure_peaks(xs, ys[clean])
        for out, value in zip((position, height, fwhm), measured):
            out[clean] = value
    elif clean.any() and errors == "raise":
        raise FitError("guess() needs at least 3 finite data points")
    for r in np.flatnonzero(~clean):
        try:
            xr, yr = sorted_xy(data[r], x)
        except FitError:
            if errors == "raise":
                raise
            continue
        position[r], height[r], fwhm[r] = measure_peak(xr, -yr if negative else yr)
    ok = np.isfinite(fwhm)
    amplitude, center, sigma = (np.full(b, math.nan) for _ in range(3))
    if ok.any():
        a, c, s = _peak_from_measures(function, shape, position[ok], height[ok], fwhm[ok])
        amplitude[ok], center[ok], sigma[ok] = -a if negative else a, c, s
    return {"amplitude": amplitude, "center": center, "sigma": sigma}


def guess_peak(function: Callable, data: Any, x: Any, *, negative: bool = False,
               shape: PeakShape | None = None) -> dict[str, float]:
    """``{'amplitude', 'center', 'sigma'}`` for a peak lineshape ``function(x, a, c, s)``
    (:func:`guess_peaks` on one row).

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
    row = np.asarray(data, dtype=float).ravel()[None, :]
    if x is not None and np.size(x) != row.shape[1]:
        raise FitError(f"guess(): data has {row.shape[1]} points but x has {np.size(x)}")
    guessed = guess_peaks(function, row, x, negative=negative, shape=shape)
    return {k: float(v[0]) for k, v in guessed.items()}


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row sums of ``a * b`` by numpy's own einsum loop (no BLAS): each row's sum in an
    order set by the row length only, so a row gives the same bits alone or among others."""
    return np.einsum("ij,ij->i", a, np.broadcast_to(b, a.shape))


def guess_polynomials(data: Any, x: Any, degree: int) -> np.ndarray:
    """Least-squares polynomial coefficients of every row of ``data`` (B, m), shape
    (degree + 1, B), constant term first; NaN for rows with too few finite points.

    Each row is projected on the pseudo-inverse of the Vandermonde matrix of its finite
    points, computed once for the rows that share them (all finite: once per call); a
    degree above the points' number less one is lowered to it, as in a single guess.
    """
    data = np.asarray(data, dtype=float)
    b = data.shape[0]
    out = np.full((degree + 1, b), math.nan)
    if degree == 0:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[0] = np.nanmean(data, axis=1)
        return out
    xs, ys, clean = _row_sorted(data, x)
    groups = [(np.flatnonzero(clean), xs, ys[clean])] if clean.any() else []
    for r in np.flatnonzero(~clean):
        try:
            xr, yr = sorted_xy(data[r], x)
        except FitError:
            continue
        groups.append((np.array([r]), xr, yr[None, :]))
    for rows, xg, yg in groups:
        if xg.size < 2:
            continue
        deg = min(degree, xg.size - 1)
        pinv = np.linalg.pinv(np.polynomial.polynomial.polyvander(xg, deg))
        for k in range(deg + 1):
            out[k, rows] = _row_dot(yg, pinv[k])
        out[deg + 1:, rows] = 0.0
    return out


def guess_polynomial(data: Any, x: Any, degree: int) -> list[float]:
    """Least-squares polynomial coefficients, constant term first
    (:func:`guess_polynomials` on one row)."""
    row = np.asarray(data, dtype=float).ravel()[None, :]
    if degree > 0:
        sorted_xy(row[0], x)              # the single guess's checks and messages
    return [float(c) for c in guess_polynomials(row, x, degree)[:, 0]]
