"""Hand-fused evaluation kernels of the batch engine: a Gaussian peak, alone or on a
constant or linear background, in one pass over the data.

:class:`GaussianKernel` gives the sum of squares, ``J^T J`` and ``J^T r`` of B datasets
for ``GaussianModel()``, ``GaussianModel() + ConstantModel()`` and ``GaussianModel() +
LinearModel()`` (either order, any prefixes: :func:`fused_kind` recognises them) from a few
dot products of rows, without forming any Jacobian column: the profile of a 2,000-dataset
Gaussian + line fit spent about half its time building the five columns and their
twenty-one products through the models' generic ``value_and_jacobian``.

Every dot product is a BLAS call on rows that start on a 64-byte boundary
(:func:`aligned_rows`): OpenBLAS chooses its ``ddot`` kernel, hence the order of the sum,
by length, stride *and alignment*, so identical calls for every row keep each dataset's
sums independent of its position in a block, hence of the chunking, the working set, the
workers and the backend.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from paramfit.core.compat import vecdot
from paramfit.models.lineshapes import TINY, constant, gaussian, linear

__all__ = ["GaussianKernel", "KERNEL_BLOCK", "ROW_ALIGNMENT", "aligned_rows", "fused_kind"]

SQRT2PI = math.sqrt(2.0 * math.pi)

#: Datasets per block of the fused kernels: their (block, N) float64 buffers stay in a
#: core's L2 cache (1 MiB here) for N = 128.
KERNEL_BLOCK = 192

#: Alignment of the rows of the kernels' buffers, in bytes (a cache line; more than any
#: SIMD kernel of OpenBLAS aligns to).
ROW_ALIGNMENT = 64

#: Names of the Gaussian's and of each background's parameters, in the kernels' order.
_PEAK = ("amplitude", "center", "sigma")
_BACKGROUNDS = {linear: ("slope", "intercept"), constant: ("c",)}


def aligned_rows(rows: int, n: int) -> np.ndarray:
    """Uninitialised float64 array (rows, n) whose every row starts on a
    :data:`ROW_ALIGNMENT`-byte boundary (rows padded to a multiple of it)."""
    per_line = ROW_ALIGNMENT // 8
    stride = -(-n // per_line) * per_line
    raw = np.empty(rows * stride + per_line)
    start = (-raw.ctypes.data % ROW_ALIGNMENT) // 8
    return raw[start:start + rows * stride].reshape(rows, stride)[:, :n]


def _plain(model: Any, func: Any) -> bool:
    """``model`` is a built-in model of the lineshape ``func`` with no options."""
    return getattr(model, "func", None) is func and not getattr(model, "opts", None) \
        and tuple(getattr(model, "independent_vars", ())) == ("x",)


def fused_kind(model: Any) -> tuple[int, list[str]] | None:
    """``(number of background parameters, model parameter names in the kernel's order)``
    when :class:`GaussianKernel` evaluates ``model``, else None.

    The kernel's order is the Gaussian's ``amplitude, center, sigma``, then the
    background's ``slope, intercept`` (linear) or ``c`` (constant), prefixes included.
    """
    if model is gaussian:
        return 0, list(_PEAK)
    if _plain(model, gaussian) and len(getattr(model, "param_names", _PEAK)) == 3:
        prefix = getattr(model, "prefix", "")
        return 0, [prefix + n for n in _PEAK]
    if getattr(model, "op", None) != "+" or not hasattr(model, "left"):
        return None
    for peak, background in ((model.left, model.right), (model.right, model.left)):
        if not _plain(peak, gaussian) or getattr(peak, "left", None) is not None:
            continue
        for func, names in _BACKGROUNDS.items():
            if _plain(background, func) and getattr(background, "left", None) is None:
                return len(names), [peak.prefix + n for n in _PEAK] + [
                    background.prefix + n for n in names]
    return None


class GaussianKernel:
    """Hand-fused Gaussian on an optional constant or linear background: sum of squares,
    ``J^T J`` and ``J^T r`` in one pass over the data.

    With ``d = x - center``, ``e = exp(-d**2 / (2 sigma**2))`` and the unit-area
    Gaussian ``g = e / (sqrt(2 pi) sigma)`` (``= d model/d amplitude``),
    ``d/dcenter = k g z`` and ``d/dsigma = k g (z**2 - 1)`` with ``z = d/sigma``
    and ``k = amplitude/sigma``.  The Gaussian's block of the normal equations is
    therefore made of the sums ``S_m = sum(e**2 d**m)`` (m = 0..4) and ``R_m = sum(e r
    d**m)`` (m = 0..2), nine dot products of rows formed from ``e``, ``e d``, ``e d**2``
    and ``r`` without any Jacobian column; the per-dataset factors are applied afterwards.
    A background's columns ``u`` (``x`` and 1 for a line, 1 for a constant; times the
    weights) add ``sum(e d**m u)`` (m = 0..2), ``sum(u r)`` and ``sum(u u')``, the last
    computed once per call when ``x`` and the weights are shared by the datasets.  Rows
    are processed in blocks of :data:`KERNEL_BLOCK` datasets into preallocated buffers,
    so the passes over the data run in cache.  The floor of
    :func:`paramfit.models.lineshapes.gaussian` on ``sqrt(2 pi) sigma`` is applied.

    Parameters
    ----------
    n_points : int
        Points per dataset, N.
    block : int
        Datasets per block.
    background : {0, 1, 2}
        Background parameters: none, a constant ``c``, a line ``slope, intercept``.
    """

    def __init__(self, n_points: int, block: int = KERNEL_BLOCK, background: int = 0):
        self.block = block
        self.background = background
        self._buffers = aligned_rows((4 + background) * block, n_points).reshape(
            4 + background, block, n_points)
        self._shared = aligned_rows(max(1, background), n_points)
        self._size = 0

    def _outputs(self, b: int):
        """Output buffers for b datasets (views of the first b columns of larger ones)."""
        P = 3 + self.background
        if self._size < b:
            self._all = (np.empty((9, b)), np.empty((P, P, b)), np.empty((P, b)),
                         np.empty((3 + 1, max(1, self.background), b)))
            self._size = b
        moments, jtj, jtr, cross = self._all
        return moments[:, :b], jtj[:, :, :b], jtr[:, :b], cross[:, :, :b]

    def _columns(self, x: np.ndarray, weights: np.ndarray | None, lo: int, hi: int,
                 shared: bool) -> np.ndarray:
        """The background's columns ``u`` (weighted), (nb, N) shared or (nb, block, N)."""
        nb = self.background
        if shared:
            return self._shared
        u = self._buffers[4:, :hi - lo]
        w = None if weights is None else weights if weights.ndim == 1 else weights[lo:hi]
        if nb == 2:
            np.copyto(u[0], x if x.ndim == 1 else x[lo:hi])
            if w is not None:
                u[0] *= w
        u[-1] = 1.0 if w is None else w
        return u

    def _shared_columns(self, x: np.ndarray, weights: np.ndarray | None) -> bool:
        """Whether every dataset shares the background's columns (one ``x``, one weight
        vector); if so they are written into ``self._shared`` once per call."""
        nb = self.background
        shared = nb > 0 and x.ndim == 1 and (weights is None or weights.ndim == 1)
        if shared:
            self._shared[-1] = 1.0 if weights is None else weights
            if nb == 2:
                np.copyto(self._shared[0], x)
                if weights is not None:
                    self._shared[0] *= weights
        return shared

    def _residual(self, xb: np.ndarray, data: np.ndarray, values: np.ndarray,
                  height: np.ndarray, lo: int, hi: int, e: np.ndarray, r: np.ndarray,
                  ed: np.ndarray) -> None:
        """``r = height e - data + background`` of the datasets ``lo:hi`` (``e`` from
        :func:`_peak_factors`, the background's parameters ``values[3:]``), into ``r``
        (``ed`` is scratch)."""
        np.multiply(e, height[lo:hi, None], out=r)
        r -= data[lo:hi]
        if self.background == 2:
            np.multiply(xb, values[3, lo:hi, None], out=ed)
            ed += values[4, lo:hi, None]
            r += ed
        elif self.background == 1:
            r += values[3, lo:hi, None]

    def __call__(self, values: np.ndarray, x: np.ndarray, data: np.ndarray,
                 weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(chisq (b,), JtJ (P, P, b), Jtr (P, b))`` for model values (P, b) in the
        kernel's order (:func:`fused_kind`), P = 3 + background."""
        amplitude, center, sigma = values[:3]
        nb = self.background
        b = data.shape[0]
        mom, jtj, jtr, cross = self._outputs(b)
        norm = 1.0 / np.maximum(TINY, SQRT2PI * sigma)
        coef = -0.5 / (sigma * sigma)
        height = amplitude * norm
        dot = vecdot
        shared = self._shared_columns(x, weights)
        if shared:
            uu = dot(self._shared[:, None], self._shared[None, :])          # (nb, nb)
        for lo in range(0, b, self.block):
            hi = min(b, lo + self.block)
            d, e, r, ed = self._buffers[:4, :hi - lo]
            xb = x if x.ndim == 1 else x[lo:hi]
            _peak_factors(xb, center, coef, lo, hi, d, e)
            self._residual(xb, data, values, height, lo, hi, e, r, ed)
            if weights is not None:
                _weigh(weights, lo, hi, r, e)
            if nb:
                u = self._columns(x, weights, lo, hi, shared)
                for j in range(nb):
                    dot(e, u[j], out=cross[0, j, lo:hi])
                    dot(r, u[j], out=cross[3, j, lo:hi])
                if not shared:
                    for i in range(nb):
                        for j in range(i + 1):
                            dot(u[i], u[j], out=jtj[3 + i, 3 + j, lo:hi])
            dot(r, r, out=mom[0, lo:hi])
            dot(e, e, out=mom[1, lo:hi])
            dot(e, r, out=mom[6, lo:hi])
            np.multiply(e, d, out=ed)
            dot(e, ed, out=mom[2, lo:hi])
            dot(ed, ed, out=mom[3, lo:hi])
            dot(ed, r, out=mom[7, lo:hi])
            for j in range(nb):
                dot(ed, u[j], out=cross[1, j, lo:hi])
            edd = np.multiply(ed, d, out=d)
            dot(ed, edd, out=mom[4, lo:hi])
            dot(edd, edd, out=mom[5, lo:hi])
            dot(edd, r, out=mom[8, lo:hi])
            for j in range(nb):
                dot(edd, u[j], out=cross[2, j, lo:hi])
        chisq = _combine(mom, jtj[:3, :3], jtr[:3], amplitude, sigma, norm)
        if nb:
            _combine_background(cross, jtj, jtr, amplitude, sigma, norm,
                                uu if shared else None)
        return chisq, jtj, jtr

    def cross(self, values: np.ndarray, probe: np.ndarray, x: np.ndarray,
              data: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
        """``J(values)^T r(probe)`` (P, b), a new array: the Jacobian at the model values
        ``values`` (P, b), the residual at ``probe`` (P, b), both in the kernel's order
        (the batch's geodesic acceleration, :mod:`paramfit.core.solvers.batch_geodesic`).

        The sums are those of :meth:`__call__`'s ``J^T r`` (``R_0..R_2`` and ``sum(u r)``,
        the same calls on the same aligned buffers), with ``r`` taken at ``probe``: at
        ``probe = values`` the result is :meth:`__call__`'s ``J^T r``, bit for bit."""
        nb = self.background
        b = data.shape[0]
        out = np.empty((3 + nb, b))
        moments = np.empty((3, b))
        amplitude, center, sigma = values[:3]
        norm = 1.0 / np.maximum(TINY, SQRT2PI * sigma)
        coef = -0.5 / (sigma * sigma)
        at_probe = probe[:3]
        probe_coef = -0.5 / (at_probe[2] * at_probe[2])
        probe_height = at_probe[0] * (1.0 / np.maximum(TINY, SQRT2PI * at_probe[2]))
        dot = vecdot
        shared = self._shared_columns(x, weights)
        for lo in range(0, b, self.block):
            hi = min(b, lo + self.block)
            d, e, r, ed = self._buffers[:4, :hi - lo]
            xb = x if x.ndim == 1 else x[lo:hi]
            # the residual at the probe (as __call__ forms it at its point), then the
            # Jacobian's factors at the point
            _peak_factors(xb, at_probe[1], probe_coef, lo, hi, d, e)
            self._residual(xb, data, probe, probe_height, lo, hi, e, r, ed)
            _peak_factors(xb, center, coef, lo, hi, d, e)
            if weights is not None:
                _weigh(weights, lo, hi, r, e)
            if nb:
                u = self._columns(x, weights, lo, hi, shared)
                for j in range(nb):
                    dot(r, u[j], out=out[3 + j, lo:hi])
            dot(e, r, out=moments[0, lo:hi])
            np.multiply(e, d, out=ed)
            dot(ed, r, out=moments[1, lo:hi])
            edd = np.multiply(ed, d, out=d)
            dot(edd, r, out=moments[2, lo:hi])
        inv = 1.0 / sigma
        _gaussian_gradient(moments[0], moments[1], moments[2], amplitude * inv, inv,
                           inv * inv, norm, out)
        return out


def _weigh(weights: np.ndarray, lo: int, hi: int, *rows: np.ndarray) -> None:
    """Multiply the buffers ``rows`` by the weights of the datasets ``lo:hi`` (one vector
    for all, or one row each), in place."""
    w = weights if weights.ndim == 1 else weights[lo:hi]
    for row in rows:
        row *= w


def _peak_factors(xb: np.ndarray, center: np.ndarray, coef: np.ndarray, lo: int, hi: int,
                  d: np.ndarray, e: np.ndarray) -> None:
    """``d = x - center`` and ``e = exp(coef d**2)`` of the datasets ``lo:hi``, into the
    buffers ``d`` and ``e``."""
    np.subtract(xb, center[lo:hi, None], out=d)
    np.multiply(d, coef[lo:hi, None], out=e)
    e *= d
    np.exp(e, out=e)


def _combine(moments, jtj, jtr, amplitude, sigma, norm):
    """``J^T J`` and ``J^T r`` of the Gaussian from the moments ``S_0..S_4``, ``R_0..R_2``
    (into the 3x3 and 3 views ``jtj``, ``jtr``); returns the sum of squares."""
    chisq, s0, s1, s2, s3, s4, r0, r1, r2 = moments
    inv = 1.0 / sigma
    inv2 = inv * inv
    n2 = norm * norm
    k = amplitude * inv
    t1 = s1 * inv                       # sum(e**2 z)
    t2 = s2 * inv2                      # sum(e**2 z**2)
    t3 = s3 * inv2 * inv                # sum(e**2 z**3)
    t4 = s4 * inv2 * inv2               # sum(e**2 z**4)
    kn = k * n2
    kkn = k * kn
    jtj[0, 0] = n2 * s0
    np.multiply(kn, t1, out=jtj[0, 1])
    np.multiply(kn, t2 - s0, out=jtj[0, 2])
    np.multiply(kkn, t2, out=jtj[1, 1])
    np.multiply(kkn, t3 - t1, out=jtj[1, 2])
    np.multiply(kkn, t4 - 2.0 * t2 + s0, out=jtj[2, 2])
    jtj[1, 0] = jtj[0, 1]
    jtj[2, 0] = jtj[0, 2]
    jtj[2, 1] = jtj[1, 2]
    _gaussian_gradient(r0, r1, r2, k, inv, inv2, norm, jtr)
    return chisq


def _gaussian_gradient(r0, r1, r2, k, inv, inv2, norm, jtr):
    """The Gaussian's rows of ``J^T r`` (into ``jtr`` (3, b)) from ``R_m = sum(e r d**m)``
    (m = 0..2), with ``k = amplitude / sigma``, ``inv = 1 / sigma``, ``inv2 = inv**2``."""
    kn1 = k * norm
    np.multiply(norm, r0, out=jtr[0])
    np.multiply(kn1 * inv, r1, out=jtr[1])
    np.multiply(kn1, r2 * inv2 - r0, out=jtr[2])


def _combine_background(cross, jtj, jtr, amplitude, sigma, norm, shared_uu):
    """The background's rows of ``J^T J`` and ``J^T r`` from ``cross[m, j] = sum(e d**m
    u_j)`` (m = 0..2), ``cross[3, j] = sum(u_j r)`` and ``sum(u_i u_j)`` (``shared_uu``,
    (nb, nb), or already in ``jtj``'s lower background block)."""
    nb = jtr.shape[0] - 3
    inv = 1.0 / sigma
    kn1 = amplitude * inv * norm
    for j in range(nb):
        c = 3 + j
        a0, a1, a2 = cross[0, j], cross[1, j], cross[2, j]
        np.multiply(norm, a0, out=jtj[0, c])
        np.multiply(kn1 * inv, a1, out=jtj[1, c])
        np.multiply(kn1, a2 * (inv * inv) - a0, out=jtj[2, c])
        for i in range(3):
            jtj[c, i] = jtj[i, c]
        jtr[c] = cross[3, j]
        for i in range(j + 1):
            if shared_uu is not None:
                jtj[c, 3 + i] = shared_uu[j, i]
            jtj[3 + i, c] = jtj[c, 3 + i]
