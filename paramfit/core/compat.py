"""Compatibility with the oldest numpy that paramfit supports (see ``pyproject.toml``).

``np.vecdot`` (a generalised ufunc) arrived in numpy 2.0. On older numpy the same product
of real arrays is a stacked ``matmul`` of a row by a column: like the ufunc, it computes each
output element by one dot product that does not depend on how many others are computed
with it, so batch results stay bit-for-bit independent of the chunk size (an ``einsum``
is not: its summation order changes with the shape of the whole operand).
"""

from __future__ import annotations

import numpy as np

__all__ = ["vecdot"]


def _vecdot(x1: np.ndarray, x2: np.ndarray, /, *, axis: int = -1,
            out: np.ndarray | None = None) -> np.ndarray:
    """``np.vecdot`` of real arrays for numpy < 2.0: the sum of products along ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(6.0).reshape(2, 3)
    >>> _vecdot(a, a, axis=0)
    array([ 9., 17., 29.])
    """
    row = np.moveaxis(np.asarray(x1), axis, -1)[..., None, :]
    column = np.moveaxis(np.asarray(x2), axis, -1)[..., :, None]
    product = np.matmul(row, column)[..., 0, 0]
    if out is None:
        return product
    out[...] = product
    return out


vecdot = getattr(np, "vecdot", _vecdot)
