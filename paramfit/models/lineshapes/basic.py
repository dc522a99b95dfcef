"""Shared helpers and the polynomial, exponential, power-law and sine lineshapes.

Private module: the public names are re-exported by :mod:`paramfit.models.lineshapes`, which also
documents the broadcasting contract all lineshapes share.  The helpers here (``TINY``,
``_shape``, ``_empty``, ``_broadcast``) are used by the other lineshape modules; each
lineshape is one kernel turned into its public functions by
:func:`~paramfit.models.lineshapes._registry.derive`.

Every kernel allocates its full-broadcast-shape output once and works in place on it;
derivatives that do not depend on the parameters are returned as read-only
``np.broadcast_to`` views (copy them before writing into them).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from paramfit.models.lineshapes._registry import JACOBIAN, VALUE, derive

__all__ = [
    "not_zero",
    "constant",
    "constant_jacobian",
    "linear",
    "linear_jacobian",
    "linear_value_and_jacobian",
    "parabolic",
    "parabolic_jacobian",
    "polynomial",
    "polynomial_jacobian",
    "exponential",
    "exponential_jacobian",
    "powerlaw",
    "powerlaw_jacobian",
    "sine",
    "sine_jacobian",
]

#: Floor on widths and normalisations, as lmfit (``numpy.finfo(float).resolution``).
TINY = 1.0e-15


def _shape(x: ArrayLike, *params: ArrayLike) -> tuple[int, ...]:
    """Broadcast shape of ``x`` and all parameters (fast path for scalar parameters)."""
    shape = np.shape(x)
    for param in params:
        if isinstance(param, float):
            continue
        param_shape = np.shape(param)
        if param_shape and param_shape != shape:
            shape = np.broadcast_shapes(shape, param_shape)
    return shape


def _dtype(x: ArrayLike) -> type:
    """The dtype of values computed from ``x``: complex for complex ``x`` (lmfit's
    lineshapes accept it, e.g. ``eval_uncertainty`` at a complex point), else float."""
    if isinstance(x, (float, int)):  # the cheap cases first (np.iscomplexobj ~1 us)
        return float
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return complex if dtype.kind == "c" else float
    return complex if np.iscomplexobj(x) else float


def _like(x: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """Uninitialised array of ``shape`` for values computed from ``x`` (:func:`_dtype`)."""
    dtype = getattr(x, "dtype", None)  # inline _dtype: this is on every evaluation
    if dtype is not None and dtype.kind != "c" or dtype is None and _dtype(x) is float:
        return np.empty(shape)  # no dtype keyword: the float path's cost unchanged
    return np.empty(shape, dtype=complex)


def _empty(x: ArrayLike, *params: ArrayLike, dtype: type | None = None) -> np.ndarray:
    """Uninitialised array of the broadcast shape of ``x`` and the parameters (float, or
    complex for complex ``x``, unless ``dtype`` is given)."""
    return np.empty(_shape(x, *params), dtype=dtype or _dtype(x))


def _broadcast(value: float | ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """Read-only view of ``value`` broadcast to ``shape`` (no memory per element), as
    float (complex values stay complex)."""
    return np.broadcast_to(np.asarray(value, dtype=_dtype(value)), shape)


def _constant(parts: int, x: ArrayLike, c: ArrayLike = 0.0):
    """Constant lineshape, independent of ``x``.

    ``constant(x, c) = c``, broadcast to the shape of ``x`` (and of ``c``).

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable (only its shape is used).
    c : array_like, scalar or shape (B, 1)
        The constant value.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and ``c``.

    Examples
    --------
    >>> constant([1.0, 2.0], c=3.0).tolist()
    [3.0, 3.0]
    """
    shape = _shape(x, c)
    value = jacobian = None
    if parts & VALUE:
        value = np.empty(shape)
        value[...] = c
    if parts & JACOBIAN:
        jacobian = (_broadcast(1.0, shape),)
    return value, jacobian


constant, constant_jacobian = derive(
    _constant,
    """Partial derivative of :func:`constant`: ``d/dc = 1`` (a read-only view).

    Examples
    --------
    >>> constant_jacobian([1.0, 2.0])[0].tolist()
    [1.0, 1.0]
    """,
)


def _linear(parts: int, x: ArrayLike, slope: ArrayLike = 1.0, intercept: ArrayLike = 0.0):
    """Straight line.

    ``linear(x, slope, intercept) = slope * x + intercept``

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    slope, intercept : array_like, scalar or shape (B, 1)
        Slope (units of y per unit of x) and value at ``x = 0``.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> linear([0.0, 1.0], slope=2.0, intercept=1.0).tolist()
    [1.0, 3.0]
    """
    shape = _shape(x, slope, intercept)
    value = jacobian = None
    if parts & VALUE:
        value = np.multiply(x, slope, out=_like(x, shape))
        value += intercept
    if parts & JACOBIAN:
        jacobian = (_broadcast(x, shape), _broadcast(1.0, shape))
    return value, jacobian


linear, linear_jacobian, linear_value_and_jacobian = derive(
    _linear,
    """Partial derivatives of :func:`linear`: ``(x, 1)`` as read-only broadcast views.

    Examples
    --------
    >>> [d.tolist() for d in linear_jacobian([0.0, 2.0])]
    [[0.0, 2.0], [1.0, 1.0]]
    """,
    """Value of :func:`linear` and its partial derivatives in one call.

    ``d/dslope = x``, ``d/dintercept = 1`` (both read-only broadcast views).

    Returns
    -------
    value : numpy.ndarray
        As :func:`linear`.
    jacobian : tuple of numpy.ndarray
        ``(d/dslope, d/dintercept)``, each of the value's shape.

    Examples
    --------
    >>> value, (d_slope, d_intercept) = linear_value_and_jacobian([0.0, 2.0], 3.0, 1.0)
    >>> value.tolist(), d_slope.tolist(), d_intercept.tolist()
    ([1.0, 7.0], [0.0, 2.0], [1.0, 1.0])
    """,
)


def _parabolic(
    parts: int, x: ArrayLike, a: ArrayLike = 0.0, b: ArrayLike = 0.0, c: ArrayLike = 0.0
):
    """Quadratic polynomial (lmfit's ``QuadraticModel`` / ``ParabolicModel``).

    ``parabolic(x, a, b, c) = a * x**2 + b * x + c``, evaluated by Horner's rule.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    a, b, c : array_like, scalar or shape (B, 1)
        Coefficients of ``x**2``, ``x`` and ``1``.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> parabolic([2.0], a=1.0, b=1.0, c=1.0).tolist()
    [7.0]
    """
    shape = _shape(x, a, b, c)
    value = jacobian = None
    if parts & VALUE:
        value = np.multiply(x, a, out=_like(x, shape))
        value += b
        value *= x
        value += c
    if parts & JACOBIAN:
        x = np.asarray(x, dtype=_dtype(x))
        jacobian = (_broadcast(x * x, shape), _broadcast(x, shape), _broadcast(1.0, shape))
    return value, jacobian


parabolic, parabolic_jacobian = derive(
    _parabolic,
    """Partial derivatives of :func:`parabolic`: ``(x**2, x, 1)`` as read-only views.

    Examples
    --------
    >>> [d.tolist() for d in parabolic_jacobian([3.0])]
    [[9.0], [3.0], [1.0]]
    """,
)


def _polynomial(
    parts: int,
    x: ArrayLike,
    c0: ArrayLike = 0.0,
    c1: ArrayLike = 0.0,
    c2: ArrayLike = 0.0,
    c3: ArrayLike = 0.0,
    c4: ArrayLike = 0.0,
    c5: ArrayLike = 0.0,
    c6: ArrayLike = 0.0,
    c7: ArrayLike = 0.0,
):
    """Polynomial of degree at most 7 (lmfit's ``PolynomialModel``).

    ``polynomial(x, c0, ..., c7) = sum(c_k * x**k, k = 0..7)``, evaluated by Horner's rule;
    a lower degree is obtained by leaving the higher coefficients at 0.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    c0, ..., c7 : array_like, scalar or shape (B, 1)
        Coefficient of ``x**k``.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the coefficients.

    Examples
    --------
    >>> polynomial([2.0], 1.0, 0.0, 3.0).tolist()
    [13.0]
    """
    coefficients = (c7, c6, c5, c4, c3, c2, c1, c0)
    shape = _shape(x, *coefficients)
    value = jacobian = None
    if parts & VALUE:
        value = _like(x, shape)
        value[...] = c7
        for coefficient in coefficients[1:]:
            value *= x
            value += coefficient
    if parts & JACOBIAN:
        x = np.asarray(x, dtype=_dtype(x))
        powers = [np.ones_like(x), x]
        for _ in range(6):
            powers.append(powers[-1] * x)
        jacobian = tuple(_broadcast(power, shape) for power in powers)
    return value, jacobian


polynomial, polynomial_jacobian = derive(
    _polynomial,
    """Partial derivatives of :func:`polynomial`: ``d/dc_k = x**k`` for k = 0..7.

    The powers are computed once on ``x`` and returned as read-only broadcast views.

    Examples
    --------
    >>> [float(d[0]) for d in polynomial_jacobian([2.0])]
    [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]
    """,
)


def _not_zero(value: ArrayLike) -> np.ndarray:
    """``value`` with its magnitude floored at :data:`TINY`, keeping its sign (lmfit)."""
    return np.copysign(np.maximum(TINY, np.abs(value)), value)


def not_zero(value: float) -> float:
    """A scalar with its magnitude floored at :data:`TINY`, keeping its sign (lmfit's).

    Parameters
    ----------
    value : float
        Any real number; ``-0.0`` gives ``-TINY``.

    Returns
    -------
    float

    Examples
    --------
    >>> not_zero(0.0), not_zero(-0.0), not_zero(-2)
    (1e-15, -1e-15, -2.0)
    """
    return float(_not_zero(value))


def _exponential(parts: int, x: ArrayLike, amplitude: ArrayLike = 1.0, decay: ArrayLike = 1.0):
    """Exponential decay.

    ``exponential(x, amplitude, decay) = amplitude * exp(-x / decay)``

    ``|decay|`` is floored at ``TINY = 1e-15`` keeping its sign, as lmfit does.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Value at ``x = 0``.
    decay : array_like, scalar or shape (B, 1)
        Decay length, in units of ``x``.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> round(float(exponential(1.0, amplitude=2.0, decay=1.0)), 6)
    0.735759
    """
    decay = _not_zero(decay)
    e = _empty(x, amplitude, decay)  # exp(-x/decay) = d/damplitude
    np.multiply(x, -1.0 / decay, out=e)
    np.exp(e, out=e)
    value = jacobian = None
    if parts & JACOBIAN:
        d_decay = e * x
        d_decay *= amplitude / (decay * decay)
        jacobian = (e, d_decay)
    if parts & VALUE:
        value = np.multiply(e, amplitude, out=e if jacobian is None else None)
    return value, jacobian


exponential, exponential_jacobian = derive(
    _exponential,
    """Partial derivatives of :func:`exponential`.

    ``d/damplitude = exp(-x/decay)``, ``d/ddecay = amplitude * x * exp(-x/decay) / decay**2``
    (with the floored ``decay``; the floor itself is not differentiated).

    Examples
    --------
    >>> [round(float(d), 6) for d in exponential_jacobian(1.0)]
    [0.367879, 0.367879]
    """,
)


def _powerlaw(parts: int, x: ArrayLike, amplitude: ArrayLike = 1.0, exponent: ArrayLike = 1.0):
    """Power law.

    ``powerlaw(x, amplitude, exponent) = amplitude * x**exponent``

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable; must be positive for a non-integer ``exponent``.
    amplitude, exponent : array_like, scalar or shape (B, 1)
        Prefactor and (dimensionless) exponent.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> powerlaw([2.0, 3.0], amplitude=2.0, exponent=2.0).tolist()
    [8.0, 18.0]
    """
    x = np.asarray(x, dtype=_dtype(x))
    power = _empty(x, amplitude, exponent)  # x**exponent = d/damplitude
    np.power(x, exponent, out=power)
    value = jacobian = None
    if parts & JACOBIAN:
        with np.errstate(invalid="ignore"):
            log_x = np.log(np.where(x == 0.0, 1.0, x))
        d_exponent = power * log_x
        d_exponent *= amplitude
        jacobian = (power, d_exponent)
    if parts & VALUE:
        value = np.multiply(power, amplitude, out=power if jacobian is None else None)
    return value, jacobian


powerlaw, powerlaw_jacobian = derive(
    _powerlaw,
    """Partial derivatives of :func:`powerlaw`.

    ``d/damplitude = x**exponent``, ``d/dexponent = amplitude * x**exponent * log(x)``.
    The exponent derivative is real only for ``x > 0``; at ``x = 0`` it is given its limit 0
    (for ``exponent > 0``) and for ``x < 0`` it is NaN.

    Examples
    --------
    >>> [round(float(d), 6) for d in powerlaw_jacobian(2.0, 1.0, 2.0)]
    [4.0, 2.772589]
    """,
)


def _sine(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    frequency: ArrayLike = 1.0,
    shift: ArrayLike = 0.0,
):
    """Sinusoid.

    ``sine(x, amplitude, frequency, shift) = amplitude * sin(frequency * x + shift)``

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Peak value.
    frequency : array_like, scalar or shape (B, 1)
        Angular frequency, radians per unit of ``x``.
    shift : array_like, scalar or shape (B, 1)
        Phase shift in radians.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> round(float(sine(0.5, amplitude=2.0, frequency=np.pi)), 12)
    2.0
    """
    phase = _empty(x, amplitude, frequency, shift)
    np.multiply(x, frequency, out=phase)
    phase += shift
    sin = np.sin(phase, out=None if parts & JACOBIAN else phase)  # = d/damplitude
    value = jacobian = None
    if parts & JACOBIAN:
        d_shift = np.cos(phase, out=phase)
        d_shift *= amplitude
        d_frequency = d_shift * x
        jacobian = (sin, d_frequency, d_shift)
    if parts & VALUE:
        value = np.multiply(sin, amplitude, out=sin if jacobian is None else None)
    return value, jacobian


sine, sine_jacobian = derive(
    _sine,
    """Partial derivatives of :func:`sine`.

    ``d/damplitude = sin(phase)``, ``d/dfrequency = amplitude * x * cos(phase)``,
    ``d/dshift = amplitude * cos(phase)`` with ``phase = frequency * x + shift``.

    Examples
    --------
    >>> [round(float(d), 12) for d in sine_jacobian(0.0)]
    [0.0, 0.0, 1.0]
    """,
)
