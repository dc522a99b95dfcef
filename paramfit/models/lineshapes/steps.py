"""Sigmoidal lineshapes: step, rectangle and logistic, with their Jacobians.

Private module; the public names are re-exported by :mod:`paramfit.models.lineshapes`.

Each ``form`` is a sigmoid ``F(u)`` rising from 0 to 1 with ``F(0) = 1/2``:

=============  ==============================  ====================================
form           ``F(u)``                        ``F'(u)``
=============  ==============================  ====================================
``'linear'``   ``clip(u + 1/2, 0, 1)``         ``1`` for ``|u| < 1/2``, else ``0``
``'atan'``     ``1/2 + arctan(u)/pi``          ``1 / (pi (1 + u**2))``
``'erf'``      ``(1 + erf(u)) / 2``            ``exp(-u**2) / sqrt(pi)``
``'logistic'`` ``1 - 1/(1 + exp(u))``          ``F (1 - F)``
=============  ==============================  ====================================

The logistic form is evaluated as ``scipy.special.expit(u)``, which equals lmfit's
``1 - 1/(1 + exp(u))`` without its overflow warnings and cancellation for ``u << 0``.  At the
kinks of the ``'linear'`` form (``|u| = 1/2``) the derivative returned is 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import erf, expit

from paramfit.core.exceptions import ParameterError
from paramfit.models.lineshapes._registry import JACOBIAN, VALUE, derive
from paramfit.models.lineshapes.basic import TINY, _empty, _like, _shape

__all__ = [
    "step",
    "step_jacobian",
    "rectangle",
    "rectangle_jacobian",
    "logistic",
    "logistic_jacobian",
]

_FORMS = ("linear", "atan", "arctan", "erf", "logistic")
_INV_SQRTPI = 1.0 / np.sqrt(np.pi)


def _check_form(form: str) -> str:
    """Return the canonical name of a step ``form`` or raise :class:`ParameterError`."""
    if form not in _FORMS:
        raise ParameterError(
            f"Invalid value ({form!r}) for argument 'form' of a step or rectangle; should be "
            "one of 'linear', 'atan' (or 'arctan'), 'erf' or 'logistic'"
        )
    return "atan" if form == "arctan" else form


def _sigmoid(u: np.ndarray, form: str) -> np.ndarray:
    """``F(u)`` of the table in the module docstring, overwriting ``u``."""
    if form == "linear":
        u += 0.5
        return np.clip(u, 0.0, 1.0, out=u)
    if form == "atan":
        np.arctan(u, out=u)
        u *= 1.0 / np.pi
        u += 0.5
        return u
    if form == "erf":
        erf(u, out=u)
        u += 1.0
        u *= 0.5
        return u
    if u.dtype.kind == "c":  # complex x (expit is real only): 1 / (1 + exp(-u))
        np.negative(u, out=u)
        np.exp(u, out=u)
        u += 1.0
        return np.reciprocal(u, out=u)
    return expit(u, out=u)


def _sigmoid_and_slope(u: np.ndarray, form: str) -> tuple[np.ndarray, np.ndarray]:
    """``(F(u), F'(u))``; ``u`` is left untouched."""
    if form == "linear":
        if u.dtype.kind == "c":  # where F is not clipped (complex: numpy's ordering)
            slope = ((u > -0.5) & (u < 0.5)).astype(float)
        else:
            slope = (np.abs(u) < 0.5).astype(float)
    elif form == "atan":
        slope = u * u
        slope += 1.0
        np.reciprocal(slope, out=slope)
        slope *= 1.0 / np.pi
    elif form == "erf":
        slope = u * u
        np.negative(slope, out=slope)
        np.exp(slope, out=slope)
        slope *= _INV_SQRTPI
    else:
        value = _sigmoid(u.copy(), form) if u.dtype.kind == "c" else expit(u)
        slope = 1.0 - value
        slope *= value
        return value, slope
    return _sigmoid(u.copy(), form), slope


def _rise(parts, x, amplitude, center, scale, form, shape):
    """``amplitude F(u)`` and its ``(d/damplitude, d/dcenter, d/dwidth)`` for
    ``u = (x - center) scale`` of a width ``1/scale``, as ``(value, jacobian)``."""
    u = np.subtract(x, center, out=_like(x, shape))
    u *= scale
    if not parts & JACOBIAN:
        value = _sigmoid(u, form)
        value *= amplitude
        return value, None
    d_amplitude, slope = _sigmoid_and_slope(u, form)
    value = d_amplitude * amplitude if parts & VALUE else None
    slope *= -amplitude * scale
    u *= slope
    return value, (d_amplitude, slope, u)


def _step(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    form: str = "linear",
):
    """Step from 0 to ``amplitude`` with its half-height at ``center``.

    ``step(x, amplitude, center, sigma, form) = amplitude * F((x - center) / sigma)``

    with the sigmoid ``F`` of ``form`` (see the table in :mod:`paramfit.models.lineshapes`).
    ``sigma > 0`` rises, ``sigma < 0`` falls; ``|sigma|`` is floored at ``TINY**2`` as lmfit.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Height of the step.
    center : array_like, scalar or shape (B, 1)
        Position of the half-height, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Width of the rise, units of ``x``.
    form : {'linear', 'atan', 'arctan', 'erf', 'logistic'}
        Shape of the rise.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Raises
    ------
    ParameterError
        If ``form`` is not one of the names above.

    Examples
    --------
    >>> step([-1.0, 0.0, 1.0], amplitude=2.0, form="linear").tolist()
    [0.0, 1.0, 2.0]
    """
    form = _check_form(form)
    scale = np.sign(sigma) / np.maximum(TINY * TINY, np.abs(sigma))
    shape = _shape(x, amplitude, center, sigma)
    return _rise(parts, x, amplitude, center, scale, form, shape)


step, step_jacobian = derive(
    _step,
    """Partial derivatives of :func:`step`.

    With ``u = (x - center) / sigma``: ``d/damplitude = F(u)``,
    ``d/dcenter = -amplitude * F'(u) / sigma``, ``d/dsigma = -amplitude * F'(u) * u / sigma``.
    The ``TINY**2`` floor on ``|sigma|`` is not differentiated.

    Examples
    --------
    >>> [float(d) for d in step_jacobian(0.0, form="linear")]
    [0.5, -1.0, -0.0]
    """,
)


def _rectangle(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center1: ArrayLike = 0.0,
    sigma1: ArrayLike = 1.0,
    center2: ArrayLike = 1.0,
    sigma2: ArrayLike = 1.0,
    form: str = "linear",
):
    """Step up at ``center1`` followed by a step down at ``center2``.

    ``rectangle(x, ...) = amplitude * (F(u1) + F(u2) - 1)`` with
    ``u1 = (x - center1) / sigma1`` and ``u2 = (center2 - x) / sigma2``, where ``F`` is the
    sigmoid of ``form``, except for ``form='linear'``, where (as lmfit)
    ``rectangle = amplitude * (clip(u1, -1, 1) + clip(u2, -1, 1)) / 2``, i.e. ``u1, u2`` are
    halved before ``F``.  Both widths are floored at ``TINY`` (they must be positive).

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Height of the plateau.
    center1, center2 : array_like, scalar or shape (B, 1)
        Positions of the rising and falling half-heights, units of ``x``.
    sigma1, sigma2 : array_like, scalar or shape (B, 1)
        Widths of the rising and falling edges, units of ``x``.
    form : {'linear', 'atan', 'arctan', 'erf', 'logistic'}
        Shape of the edges.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> rectangle([-2.0, 0.5, 3.0], center1=0.0, center2=1.0, sigma1=0.1, sigma2=0.1).tolist()
    [0.0, 1.0, 0.0]
    """
    form = _check_form(form)
    half = 0.5 if form == "linear" else 1.0
    width1 = np.maximum(TINY, sigma1)
    width2 = np.maximum(TINY, sigma2)
    u1 = _empty(x, amplitude, center1, sigma1, center2, sigma2)
    np.subtract(x, center1, out=u1)
    u1 *= half / width1
    u2 = np.subtract(center2, x, out=np.empty_like(u1))
    u2 *= half / width2
    if not parts & JACOBIAN:
        value = _sigmoid(u1, form)
        value += _sigmoid(u2, form)
        value -= 1.0
        value *= amplitude
        return value, None
    f1, slope1 = _sigmoid_and_slope(u1, form)
    f2, slope2 = _sigmoid_and_slope(u2, form)
    f1 += f2
    f1 -= 1.0
    value = f1 * amplitude if parts & VALUE else None
    inv1 = 1.0 / width1
    inv2 = 1.0 / width2
    slope1 *= amplitude
    slope2 *= amplitude
    u1 *= slope1
    u1 *= -inv1
    u2 *= slope2
    u2 *= -inv2
    slope1 *= -half * inv1
    slope2 *= half * inv2
    return value, (f1, slope1, u1, slope2, u2)


rectangle, rectangle_jacobian = derive(
    _rectangle,
    """Partial derivatives of :func:`rectangle`.

    With ``k_i = h / sigma_i`` (``h = 1/2`` for ``'linear'``, else 1),
    ``u1 = k_1 (x - center1)``, ``u2 = k_2 (center2 - x)``:
    ``d/damplitude = F(u1) + F(u2) - 1``, ``d/dcenter1 = -amplitude k_1 F'(u1)``,
    ``d/dsigma1 = -amplitude F'(u1) u1 / sigma1``, ``d/dcenter2 = amplitude k_2 F'(u2)``,
    ``d/dsigma2 = -amplitude F'(u2) u2 / sigma2``.  The ``TINY`` floors are not
    differentiated.

    Examples
    --------
    >>> [float(d) for d in rectangle_jacobian(0.0, sigma1=1.0, center2=5.0)]
    [0.5, -0.5, -0.0, 0.0, -0.0]
    """,
)


def _logistic(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
):
    """Logistic sigmoid, as lmfit's ``logistic``.

    ``logistic(x, amplitude, center, sigma) = amplitude * (1 - 1/(1 + exp((x - center)/sigma)))``

    evaluated as ``amplitude * expit((x - center) / sigma)``; ``sigma`` is floored at ``TINY``
    (so, unlike ``step(form='logistic')``, a negative ``sigma`` does not give a falling step).

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Limit for ``x -> +inf``.
    center : array_like, scalar or shape (B, 1)
        Half-height position, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Width, units of ``x`` (the 12%-88% rise takes ``4 sigma``).

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> logistic([0.0], amplitude=2.0).tolist()
    [1.0]
    """
    shape = _shape(x, amplitude, center, sigma)
    return _rise(parts, x, amplitude, center, 1.0 / np.maximum(TINY, sigma), "logistic", shape)


logistic, logistic_jacobian = derive(
    _logistic,
    """Partial derivatives of :func:`logistic`.

    With ``u = (x - center)/sigma`` and ``F = expit(u)``: ``d/damplitude = F``,
    ``d/dcenter = -amplitude F (1 - F) / sigma``, ``d/dsigma = -amplitude F (1 - F) u / sigma``.
    The ``TINY`` floor on ``sigma`` is not differentiated.

    Examples
    --------
    >>> [float(d) for d in logistic_jacobian(0.0)]
    [0.5, -0.25, -0.0]
    """,
)
