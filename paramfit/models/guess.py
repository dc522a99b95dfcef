"""Starting-value heuristics for the built-in models (``Model.guess``).

Peaks: lmfit 1.3's rule (facts read from its ``guess_from_peak``, re-implemented here
for rows): the points above half height give the center and the width, the amplitude is
``3 (max - min) sigma`` times the model's factor (``ampscale``; ``sigscale`` for sigma),
so every built-in peak model starts where lmfit's does (issue 16 #4).  Lines and
polynomials: a least-squares fit.  The other models' guesses (steps, rectangles,
exponentials, power laws, sines) are in :mod:`paramfit.models.guess_curves`.  Every
guess is one algorithm for 1 or B rows: ``Model.guess`` is ``Model.guess_rows`` on one
row, bit for bit, and ``fit_many`` starts from ``guess_rows``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from paramfit.core.exceptions import FitError

__all__ = [
    "guess_peak",
    "guess_peaks",
    "guess_polynomial",
    "guess_polynomials",
    "sorted_xy",
]


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


def _half_height_rule(x: np.ndarray, y: np.ndarray, negative: bool, ampscale: float,
                      sigscale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lmfit 1.3's peak rule on every row of ``y`` (B, m) sampled at sorted ``x`` (m,):
    ``(amplitude, center, sigma)``, each (B,).

    ``center`` is the x of the largest value and ``sigma`` a sixth of the x range,
    unless more than two points lie above half height ``(max + min) / 2`` (below it,
    for ``negative``): then ``center`` is the mean x of those points and ``sigma`` half
    the distance between the first and the last of them.  ``amplitude = 3 (max - min)
    sigma ampscale`` (negated for ``negative``), and ``sigma`` is then scaled by
    ``sigscale``.  Element-wise operations and per-row sums (:func:`_row_dot`) only, so
    a row gives the same bits alone or among others.
    """
    m = x.size
    top, bottom = np.max(y, axis=1), np.min(y, axis=1)
    center = x[np.argmax(y, axis=1)]
    height = (top - bottom) * 3.0
    sigma = np.full(y.shape[0], (x[-1] - x[0]) / 6.0)
    half = (top + bottom) / 2.0
    inside = y < half[:, None] if negative else y > half[:, None]
    if negative:
        height = -height
    count = np.count_nonzero(inside, axis=1)
    wide = count > 2
    first = x[np.argmax(inside, axis=1)]
    last = x[m - 1 - np.argmax(inside[:, ::-1], axis=1)]
    with np.errstate(all="ignore"):
        mean = _row_dot(inside.astype(float), x) / count
    sigma = np.where(wide, (last - first) / 2.0, sigma)
    center = np.where(wide, mean, center)
    return height * sigma * ampscale, center, sigma * sigscale


def row_groups(data: Any, x: Any, errors: str
               ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(rows, xs, ys)``: the all-finite rows together (x sorted once), then every other
    row alone on its finite points (:func:`sorted_xy`, with its checks and messages)."""
    data = np.asarray(data, dtype=float)
    xs, ys, clean = _row_sorted(data, x)
    if clean.any():
        if xs.size >= 3:
            yield np.flatnonzero(clean), xs, ys[clean]
        elif errors == "raise":
            raise FitError("guess() needs at least 3 finite data points")
    for r in np.flatnonzero(~clean):
        try:
            xr, yr = sorted_xy(data[r], x)
        except FitError:
            if errors == "raise":
                raise
            continue
        yield np.array([r]), xr, yr[None, :]


def guess_peaks(data: Any, x: Any, *, negative: bool = False, ampscale: float = 1.0,
                sigscale: float = 1.0, errors: str = "raise") -> dict[str, np.ndarray]:
    """``{'amplitude', 'center', 'sigma'}``, each (B,), for the rows of ``data`` (B, m).

    The one peak guess of the built-in peak models, lmfit 1.3's rule (its
    ``guess_from_peak``; facts, not code): on the data sorted by x, the points above
    half height ``(max + min) / 2`` give ``center`` (their mean x) and ``sigma`` (half
    the distance between the first and last of them) when there are more than two,
    else ``center`` is the x of the maximum and ``sigma`` a sixth of the x range;
    ``amplitude = 3 (max - min) sigma ampscale``, then ``sigma`` is multiplied by
    ``sigscale`` (each model's two factors, as lmfit's).  :func:`guess_peak` is this on
    one row.  Rows with non-finite points are guessed one at a time on their finite
    points.

    Parameters
    ----------
    data : array_like, shape (B, m)
    x : array_like, shape (m,)
    negative : bool, default False
        The peaks point down: the points below half height count, the amplitude is
        negative (the center without them stays at the maximum, as lmfit's).
    ampscale, sigscale : float
        The model's factors of the amplitude and of sigma.
    errors : {'raise', 'nan'}
        A row that cannot be guessed (under 3 finite points) raises FitError, or
        gives NaN.
    """
    b = np.asarray(data).shape[0]
    amplitude, center, sigma = (np.full(b, math.nan) for _ in range(3))
    for rows, xs, ys in row_groups(data, x, errors):
        guessed = _half_height_rule(xs, ys, negative, ampscale, sigscale)
        for out, value in zip((amplitude, center, sigma), guessed):
            out[rows] = value
    return {"amplitude": amplitude, "center": center, "sigma": sigma}


def guess_peak(data: Any, x: Any, *, negative: bool = False, ampscale: float = 1.0,
               sigscale: float = 1.0) -> dict[str, float]:
    """``{'amplitude', 'center', 'sigma'}`` of one peak (:func:`guess_peaks` on one row).

    Parameters
    ----------
    data, x : array_like
        The data and its independent variable (any order).
    negative : bool, default False
        The peak points down.
    ampscale, sigscale : float
        The model's factors of the amplitude and of sigma.

    Examples
    --------
    A Gaussian of height 2 (amplitude ``2 sqrt(2 pi)``, sigma 1) on a grid that puts
    ``x = +-1`` (above half height: ``exp(-1/2) > 1/2``) and ``x = +-1.5`` (below:
    ``exp(-9/8) < 1/2``) on samples: the points above half height are -1 .. 1, so sigma
    is 1 and the amplitude ``3 * 2 * 1``:

    >>> import numpy as np
    >>> x = np.linspace(-6, 6, 25)
    >>> g = guess_peak(2 * np.exp(-x**2 / 2), x)
    >>> [round(g[k], 6) for k in ('amplitude', 'center', 'sigma')]
    [6.0, 0.0, 1.0]
    """
    row = np.asarray(data, dtype=float).ravel()[None, :]
    if x is not None and np.size(x) != row.shape[1]:
        raise FitError(f"guess(): data has {row.shape[1]} points but x has {np.size(x)}")
    guessed = guess_peaks(row, x, negative=negative, ampscale=ampscale, sigscale=sigscale)
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
