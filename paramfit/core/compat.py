"""Compatibility with the oldest numpy that paramfit supports (see ``pyproject.toml``).

``np.vecdot`` (a generalised ufunc) arrived in numpy 2.0. On older numpy the same product
of real arrays is a stacked ``matmul`` of a row by a column, one dot product per output
element.  Neither is independent of the operand's layout under OpenBLAS (the kernel and
summation order can follow the stride), so per-dataset sums that must not depend on the
chunk size use ``batch_dot`` of :mod:`paramfit.core.batch_linalg`.
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
