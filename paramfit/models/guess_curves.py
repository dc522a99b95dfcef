"""Starting values of the non-peak built-in models, for one dataset or B at once.

Steps and rectangles (the 25/50/75% crossings of their edges, converted by the same
crossings measured once on the unit lineshape), exponentials and power laws (a straight
line through ``log|y|``) and sines (a periodogram of one-sinusoid
least-squares fits, then a finer scan).

One algorithm for 1 or B rows: each ``guess_*s`` function takes ``data`` of shape (B, m)
and returns ``{parameter: (B,) array}``; the single-dataset ``guess_*`` is the same
function on one row (``Model.guess`` on a row is ``Model.guess_rows`` on it, bit for
bit).  Every operation acts on each row by itself (sums by
:func:`paramfit.models.guess._row_dot`, no BLAS call whose kernel could depend on the
rows' number), so a row gives the same bits alone or among others.  Rows with non-finite
points are guessed one at a time from their finite points; a row that cannot be guessed
raises :class:`~paramfit.core.exceptions.FitError` (``errors='raise'``) or gives NaN
(``errors='nan'``, what ``fit_many`` asks).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from paramfit.core.exceptions import FitError
from paramfit.models.guess import _row_dot, row_groups

__all__ = [
    "guess_steps", "guess_step", "guess_rectangles", "guess_rectangle",
    "guess_exponentials", "guess_exponential", "guess_powerlaws", "guess_powerlaw",
    "guess_sines", "guess_sine",
]

Rows = dict[str, np.ndarray]


def _by_groups(data: Any, x: Any, names: tuple[str, ...], errors: str,
               guess: Callable[[np.ndarray, np.ndarray], tuple[Rows, np.ndarray | None,
                                                               str]]) -> Rows:
    """Run ``guess(xs, ys) -> (values, failed rows or None, message)`` on every group and
    gather the values into (B,) arrays (NaN where not guessed)."""
    b = np.asarray(data).shape[0]
    out = {name: np.full(b, math.nan) for name in names}
    for rows, xs, ys in row_groups(data, x, errors):
        values, failed, message = guess(xs, ys)
        if failed is not None and failed.any():
            if errors == "raise":
                raise FitError(message)
            values = {k: np.where(failed, math.nan, v) for k, v in values.items()}
        for name in names:
            out[name][rows] = values[name]
    return out


def _one(rows: Rows) -> dict[str, float]:
    return {k: float(v[0]) for k, v in rows.items()}


def _row(data: Any) -> np.ndarray:
    return np.asarray(data, dtype=float).ravel()[None, :]


# ---------------------------------------------------------------------- edges
def _crossings(x: np.ndarray, y: np.ndarray, level: np.ndarray,
               limit: np.ndarray | None = None) -> np.ndarray:
    """First x where each rising row of ``y`` reaches ``level`` among its points up to
    index ``limit`` (linear interpolation; the last of those points if it never does, the
    first point if that one does)."""
    b, m = y.shape
    rows = np.arange(b)
    above = y >= level[:, None]
    last = np.full(b, m - 1) if limit is None else limit
    if limit is not None:
        above &= np.arange(m) <= limit[:, None]
    found = above.any(axis=1)
    j = np.argmax(above, axis=1)
    i = np.maximum(j - 1, 0)
    with np.errstate(all="ignore"):
        t = (level - y[rows, i]) / (y[rows, j] - y[rows, i])
        value = x[i] + t * (x[j] - x[i])
    value = np.where(j == 0, x[0], value)
    return np.where(found, value, x[last])


def _edges(x: np.ndarray, y: np.ndarray, low: np.ndarray, amplitude: np.ndarray,
           limit: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(50% crossing, 25-75% width) of each rising edge from ``low`` by ``amplitude``."""
    x25, x50, x75 = (_crossings(x, y, low + q * amplitude, limit) for q in (0.25, 0.5, 0.75))
    return x50, np.maximum(x75 - x25, 1e-12 * np.maximum(1.0, np.abs(x50)))


@functools.lru_cache(maxsize=64)
def _step_width(step: Callable, form: str) -> float:
    """25-75% width of the unit step (model-only work: computed once per step and form)."""
    grid = np.linspace(-20.0, 20.0, 40001)
    values = np.asarray(step(grid, 1.0, 0.0, 1.0, form=form), dtype=float)
    return float(_edges(grid, values[None, :], np.zeros(1), np.ones(1))[1][0])


@functools.lru_cache(maxsize=64)
def _rectangle_width(rectangle: Callable, form: str) -> float:
    """25-75% width of the unit rectangle's rising edge (computed once per form)."""
    grid = np.linspace(-20.0, 20.0, 40001)
    edge = np.asarray(rectangle(grid, 1.0, 0.0, 1.0, 1e3, 1.0, form=form), dtype=float)
    return float(_edges(grid, edge[None, :], np.zeros(1), np.ones(1))[1][0])


def _plateau(ys: np.ndarray, k: int, first: bool) -> np.ndarray:
    part = ys[:, :k] if first else ys[:, -k:]
    return _row_dot(part, np.ones(k)) / k


def guess_steps(step: Callable, data: Any, x: Any, *, form: str = "linear",
                errors: str = "raise") -> Rows:
    """``{'amplitude', 'center', 'sigma'}`` of a step ``step(x, a, c, s, form=)`` for every
    row: the plateaus (means of the first and last thirtieth, at least 2 points), the
    50% crossing and the 25-75% width of the edge, over the unit step's.  The plateau
    nearer 0 is the step's 0: on the right, sigma is negative (lmfit's falling step)."""
    reference = _step_width(step, form)

    def guess(xs, ys):
        k = max(2, xs.size // 30)
        low, high = _plateau(ys, k, True), _plateau(ys, k, False)
        amplitude = high - low
        sign = np.where(amplitude >= 0, 1.0, -1.0)
        size = np.abs(amplitude)
        center, width = _edges(xs, sign[:, None] * ys, sign * low,
                               np.where(size != 0.0, size, 1.0))
        # A step has no offset: one plateau is its 0.  Where the right plateau is nearer 0,
        # the step runs from amplitude (left) to 0 (right): a negative sigma, lmfit's
        # convention for a falling step; otherwise from 0 to amplitude, sigma > 0.
        to_zero = np.abs(high) < np.abs(low)
        return {"amplitude": np.where(to_zero, low - high, amplitude), "center": center,
                "sigma": np.where(to_zero, -1.0, 1.0) * width / reference}, None, ""

    return _by_groups(data, x, ("amplitude", "center", "sigma"), errors, guess)


def guess_step(step: Callable, data: Any, x: Any, *, form: str = "linear") -> dict[str, float]:
    """:func:`guess_steps` on one dataset."""
    return _one(guess_steps(step, _row(data), x, form=form))


def guess_rectangles(rectangle: Callable, data: Any, x: Any, *, form: str = "linear",
                     errors: str = "raise") -> Rows:
    """Rectangle parameters ``amplitude, center1, sigma1, center2, sigma2`` of
    ``rectangle(x, amplitude, center1, sigma1, center2, sigma2, form=)`` for every row,
    from the rising edge up to the highest point and the falling edge after it."""
    reference = _rectangle_width(rectangle, form)

    def guess(xs, ys):
        b, m = ys.shape
        low = np.minimum(ys[:, 0], ys[:, -1])
        top = np.argmax(ys, axis=1)
        amplitude = ys[np.arange(b), top] - low
        c1, w1 = _edges(xs, ys, low, amplitude, top)
        c2, w2 = _edges(-xs[::-1], ys[:, ::-1], low, amplitude, m - 1 - top)
        return ({"amplitude": amplitude, "center1": c1, "sigma1": w1 / reference,
                 "center2": -c2, "sigma2": w2 / reference}, ~(amplitude > 0),
                "guess(): the data has no rectangle (no point above the ends)")

    return _by_groups(data, x, ("amplitude", "center1", "sigma1", "center2", "sigma2"),
                      errors, guess)


def guess_rectangle(rectangle: Callable, data: Any, x: Any, *,
                    form: str = "linear") -> dict[str, float]:
    """:func:`guess_rectangles` on one dataset."""
    return _one(guess_rectangles(rectangle, _row(data), x, form=form))


# ---------------------------------------------------------------------- log-linear
def _lines(u: np.ndarray, v: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares lines ``v = slope u + intercept`` through the points ``keep`` of each
    row (u (m,) or (B, m), v and keep (B, m)), about the rows' kept means."""
    w = keep.astype(float)
    with np.errstate(all="ignore"):
        count = _row_dot(w, np.ones(w.shape[1]))
        u_mean = _row_dot(w, u) / count
        v_mean = _row_dot(w, np.where(keep, v, 0.0)) / count
        du = np.where(keep, u - u_mean[:, None], 0.0)
        dv = np.where(keep, v - v_mean[:, None], 0.0)
        slope = _row_dot(du, dv) / _row_dot(du, du)
    return slope, v_mean - slope * u_mean


def _signs(ys: np.ndarray) -> np.ndarray:
    """+1 for rows whose sum is >= 0, else -1."""
    return np.where(_row_dot(ys, np.ones(ys.shape[1])) >= 0, 1.0, -1.0)


def guess_exponentials(data: Any, x: Any, errors: str = "raise") -> Rows:
    """``amplitude * exp(-x / decay)`` for every row: a straight line through ``log|y|`` of
    the points of the sign of the row's sum (at least 2)."""

    def guess(xs, ys):
        sign = _signs(ys)
        signed = sign[:, None] * ys
        keep = signed > 0
        slope, intercept = _lines(xs, np.log(np.where(keep, signed, 1.0)), keep)
        with np.errstate(all="ignore"):
            decay = np.where(slope != 0, -1.0 / slope, 1e3 * (xs[-1] - xs[0]))
            amplitude = sign * np.exp(intercept)
        return {"amplitude": amplitude, "decay": decay}, keep.sum(axis=1) < 2, \
            "guess(): an exponential needs at least 2 points of one sign"

    return _by_groups(data, x, ("amplitude", "decay"), errors, guess)


def guess_exponential(data: Any, x: Any) -> dict[str, float]:
    """:func:`guess_exponentials` on one dataset."""
    return _one(guess_exponentials(_row(data), x))


def guess_powerlaws(data: Any, x: Any, errors: str = "raise") -> Rows:
    """``amplitude * x**exponent`` for every row: a straight line through ``log|y|`` vs
    ``log x`` of the points with ``x > 0`` of the sign of the row's sum (at least 2)."""

    def guess(xs, ys):
        sign = _signs(ys)
        signed = sign[:, None] * ys
        keep = (xs > 0) & (signed > 0)
        with np.errstate(all="ignore"):
            log_x = np.log(np.where(xs > 0, xs, 1.0))
        exponent, intercept = _lines(log_x, np.log(np.where(keep, signed, 1.0)), keep)
        with np.errstate(all="ignore"):
            amplitude = sign * np.exp(intercept)
        return {"amplitude": amplitude, "exponent": exponent}, keep.sum(axis=1) < 2, \
            "guess(): a power law needs at least 2 points with x > 0"

    return _by_groups(data, x, ("amplitude", "exponent"), errors, guess)


def guess_powerlaw(data: Any, x: Any) -> dict[str, float]:
    """:func:`guess_powerlaws` on one dataset."""
    return _one(guess_powerlaws(_row(data), x))


# ---------------------------------------------------------------------- sines
#: Frequencies of the coarse periodogram per data point, and of the fine scan around its
#: best one.
_COARSE_PER_POINT, _FINE = 4, 41
#: Most elements of a (rows, frequencies, points) temporary of the sine guess (16 MiB).
_SINE_BLOCK = 1 << 21


def _sinusoids(xs: np.ndarray, ys: np.ndarray, omegas: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares ``a sin(w x) + b cos(w x)`` of every row at the frequencies
    ``omegas`` ((W,) shared, or (B, W) per row): ``(sum of squares, a, b)``, each (B, W),
    by the 2x2 normal equations; the sum of squares as ``y.y - a s.y - b c.y``.

    The sums over the points are numpy's own einsum loops over the contiguous last axis
    (no BLAS, as :func:`paramfit.models.guess._row_dot`, whose bits they equal): the
    same bits for a row alone or among others.  Rows with their own frequencies are
    taken in blocks that bound the temporaries."""
    b, m = ys.shape
    yy = np.einsum("bm,bm->b", ys, ys)[:, None]
    if omegas.ndim == 1:
        phase = omegas[:, None] * xs
        s, c = np.sin(phase), np.cos(phase)
        ss, cc, sc = (np.einsum("wm,wm->w", p, q) for p, q in ((s, s), (c, c), (s, c)))
        sy, cy = np.einsum("bm,wm->bw", ys, s), np.einsum("bm,wm->bw", ys, c)
        return _normal_equations(ss, cc, sc, sy, cy, yy)
    width = omegas.shape[1]
    out = tuple(np.empty((b, width)) for _ in range(3))
    block = max(1, _SINE_BLOCK // (width * m))
    for lo in range(0, b, block):
        y = ys[lo:lo + block]
        phase = omegas[lo:lo + block, :, None] * xs
        s, c = np.sin(phase), np.cos(phase)
        sums = [np.einsum("bwm,bwm->bw", p, q) for p, q in ((s, s), (c, c), (s, c))]
        sums += [np.einsum("bwm,bm->bw", s, y), np.einsum("bwm,bm->bw", c, y)]
        for whole, part in zip(out, _normal_equations(*sums, yy[lo:lo + block])):
            whole[lo:lo + block] = part
    return out


def _normal_equations(ss, cc, sc, sy, cy, yy):
    """(sum of squares, a, b) of the 2x2 least-squares problems from their sums."""
    with np.errstate(all="ignore"):
        det = ss * cc - sc * sc
        a = (cc * sy - sc * cy) / det
        b = (ss * cy - sc * sy) / det
    return yy - a * sy - b * cy, a, b


def guess_sines(data: Any, x: Any, errors: str = "raise") -> Rows:
    """``amplitude * sin(frequency * x + shift)`` for every row: the best of
    ``4 m`` frequencies from a quarter of a cycle over the data to Nyquist's, refined on
    41 frequencies around it, then the amplitude and shift of that sinusoid."""

    def guess(xs, ys):
        b = ys.shape[0]
        span = xs[-1] - xs[0]
        if span <= 0:
            return {k: np.full(b, math.nan) for k in ("amplitude", "frequency", "shift")}, \
                np.ones(b, dtype=bool), "guess(): x must span a range"
        nyquist = math.pi * (xs.size - 1) / span
        coarse = np.linspace(2 * math.pi / span / 4, nyquist, _COARSE_PER_POINT * xs.size)
        errors_at, _, _ = _sinusoids(xs, ys, coarse)
        best = coarse[np.argmin(errors_at, axis=1)]
        step = coarse[1] - coarse[0]
        fine = best[:, None] + np.linspace(-step, step, _FINE)
        errors_at, a, c = _sinusoids(xs, ys, fine)
        k = np.argmin(errors_at, axis=1)
        rows = np.arange(b)
        a, c = a[rows, k], c[rows, k]
        return {"amplitude": np.hypot(a, c), "frequency": fine[rows, k],
                "shift": np.arctan2(c, a)}, None, ""

    return _by_groups(data, x, ("amplitude", "frequency", "shift"), errors, guess)


def guess_sine(data: Any, x: Any) -> dict[str, float]:
    """:func:`guess_sines` on one dataset."""
    return _one(guess_sines(_row(data), x))
