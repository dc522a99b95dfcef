"""Complex-valued model helpers at lmfit's ``lmfit.model`` names: reduce a complex array
to a real one, propagate uncertainties through that reduction, coerce array-likes.

``get_reducer``, ``propagate_err`` and ``coerce_arraylike`` behave as lmfit 1.3's functions
of those names (re-exported by the public path :mod:`paramfit.model`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from paramfit.core.exceptions import ParameterError

__all__ = ["REDUCTIONS", "get_reducer", "propagate_err", "coerce_arraylike"]

#: The reductions of a complex array to a real one (NumPy functions of these names).
REDUCTIONS = ("real", "imag", "abs", "angle")


def _check_option(option: str) -> None:
    if option not in REDUCTIONS:
        raise ParameterError(f"Invalid option ({option!r}) for function 'propagate_err'; "
                             f"use one of {list(REDUCTIONS)}")


def get_reducer(option: str) -> Callable[[Any], Any]:
    """A function turning a complex array into a real one by ``numpy.<option>``.

    Parameters
    ----------
    option : {'real', 'imag', 'abs', 'angle'}

    Returns
    -------
    callable
        ``reducer(array)``: ``numpy.<option>(array)`` if any element is complex, else
        ``array`` unchanged.

    Raises
    ------
    ParameterError
        Another option (a ValueError).

    Examples
    --------
    >>> get_reducer('abs')(np.array([3 + 4j])).tolist()
    [5.0]
    """
    _check_option(option)
    function = getattr(np, option)

    def reducer(array: Any) -> Any:
        """``numpy.<option>`` of a complex array; a real array unchanged."""
        return function(array) if np.any(np.iscomplex(array)) else array

    return reducer


def propagate_err(z: Any, dz: Any, option: str) -> np.ndarray:
    """Uncertainty of ``numpy.<option>(z)`` given the uncertainty ``dz`` of ``z``.

    Parameters
    ----------
    z : array_like
        Complex (or real) values.
    dz : array_like
        Their uncertainties, of ``z``'s shape; real ``dz`` applies to the real and the
        imaginary part alike.
    option : {'real', 'imag', 'abs', 'angle'}

    Returns
    -------
    numpy.ndarray
        First-order propagated uncertainty; where ``|z| = 0`` the ``abs`` uncertainty is
        ``|dz|`` and the ``angle`` uncertainty is ``pi`` (the whole circle).  Real ``z``:
        ``dz`` unchanged.

    Raises
    ------
    ParameterError
        An unknown option, or ``dz`` of another shape than ``z`` (ValueErrors).

    Examples
    --------
    >>> round(float(propagate_err(np.array([3 + 4j]), np.array([0.1]), 'abs')[0]), 12)
    0.1
    """
    _check_option(option)
    if isinstance(dz, np.ndarray) and np.shape(z) != dz.shape:
        raise ParameterError(f"shape of z: {np.shape(z)} != shape of dz: {dz.shape}")
    if not np.any(np.iscomplex(z)):
        return dz
    if np.all(np.isreal(dz)):
        dz = dz + 1j * dz
    if option == "real":
        return np.real(dz)
    if option == "imag":
        return np.imag(dz)
    rz, iz, rdz, idz = np.real(z), np.imag(z), np.real(dz), np.imag(dz)
    magnitude = np.abs(z)
    zero = magnitude == 0
    safe = np.where(zero, 1.0, magnitude)
    if option == "abs":
        err = np.sqrt((iz * idz) ** 2 + (rz * rdz) ** 2) / safe
        return np.where(zero, np.abs(dz), err)
    err = np.sqrt((rz * idz) ** 2 + (iz * rdz) ** 2) / safe ** 2
    return np.where(zero, np.pi, err)


def coerce_arraylike(x: Any) -> Any:
    """Lists, tuples, pandas Series and objects with ``__array__`` as float64 or
    complex128 arrays; anything else unchanged.

    Examples
    --------
    >>> coerce_arraylike([1, 2]).dtype, coerce_arraylike((1j,)).dtype, coerce_arraylike('a')
    (dtype('float64'), dtype('complex128'), 'a')
    """
    if isinstance(x, (list, tuple)) or hasattr(x, "__array__"):
        if np.iscomplexobj(x):
            return np.asarray(x, dtype=np.complex128)
        if np.isrealobj(x):
            try:
                return np.asarray(x, dtype=np.float64)
            except (TypeError, ValueError):
                return x
    return x
