"""The functions and constants available in constraint expressions.

Every function works on Python scalars *and* on numpy arrays.  A scalar argument
(``float``, ``int``, ``bool`` or a numpy scalar) takes the fast path through the
:mod:`math` module, so domain errors raise (``log(-1)`` raises ``ValueError``,
``exp(1000)`` raises ``OverflowError``) exactly as seed 000 §5.2 (asteval) does;
anything else (arrays, lists, complex numbers) goes to the numpy function of the
same meaning, which follows numpy's rules (``nan`` plus a ``RuntimeWarning``).

``max`` and ``min`` follow Python on scalars (``max(a, b, ...)``, ``max(iterable)``).
When an argument is an array they follow numpy: with one argument they reduce it
(``max(arr) == np.max(arr)``), with two or more they are elementwise
(``max(arr, 0.001) == np.maximum(arr, 0.001)``).

This module also holds the guarded helpers the expression compiler routes ``**`` and
``<<`` through, so that no expression can start unbounded integer arithmetic.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = [
    "FUNCTIONS",
    "CONSTANTS",
    "HELPERS",
    "POWER_HELPER",
    "LSHIFT_HELPER",
    "MAX_FACTORIAL",
    "MAX_SHIFT",
    "MAX_SHIFT_BITS",
    "guarded_power",
    "guarded_lshift",
]

MAX_FACTORIAL = 170
"""Largest ``n`` whose factorial is below the largest float (``170! ~ 7.3e306``)."""
MAX_SHIFT = 1024
"""Largest shift count ``a << n`` accepts when ``n`` is not a small literal."""
MAX_SHIFT_BITS = 65536
"""Largest bit length an integer produced by a guarded ``<<`` may have."""

POWER_HELPER = "<pow>"
"""Name of the guarded ``**`` in the namespace: not an identifier, so no source text,
parameter or user symbol can name or shadow it."""
LSHIFT_HELPER = "<lshift>"
"""Name of the guarded ``<<`` in the namespace (see :data:`POWER_HELPER`)."""

_SCALAR_TYPES = frozenset(
    {float, int, bool, np.float64, np.float32, np.float16, np.int64, np.int32, np.int16,
     np.int8, np.uint64, np.uint32, np.uint16, np.uint8, np.bool_}
)
_NUMPY_TYPES = (np.ndarray, np.generic)


def _special(name: str) -> Callable[..., Any]:
    """Return ``scipy.special.<name>``, imported on first use."""
    import scipy.special

    return getattr(scipy.special, name)


def _not_a_number(name: str, args: tuple, exc: Exception) -> TypeError:
    """numpy's object loops answer a non-number argument (a function named in an
    expression, ``hypot(erf, frexp, 100)``) with AttributeError: make it the TypeError
    every evaluation path reports as an ExpressionEvaluationError."""
    kinds = ", ".join(type(a).__name__ for a in args)
    return TypeError(f"{name}() needs numbers or numeric arrays, got ({kinds}): {exc}")


def _unary(name: str, scalar: Callable, array: Callable, doc: str) -> Callable[[Any], Any]:
    def func(x):
        if type(x) in _SCALAR_TYPES:
            return scalar(x)
        try:
            return array(x)
        except AttributeError as exc:
            raise _not_a_number(name, (x,), exc) from None

    func.__name__ = func.__qualname__ = name
    func.__doc__ = doc
    return func


def _binary(name: str, scalar: Callable, array: Callable, doc: str) -> Callable[[Any, Any], Any]:
    def func(x, y):
        if type(x) in _SCALAR_TYPES and type(y) in _SCALAR_TYPES:
            return scalar(x, y)
        try:
            return array(x, y)
        except AttributeError as exc:
            raise _not_a_number(name, (x, y), exc) from None

    func.__name__ = func.__qualname__ = name
    func.__doc__ = doc
    return func


def _lazy(name: str) -> Callable[[Any], Any]:
    return lambda x: _special(name)(x)


_UNARY = {
    # name: (math function, numpy function, description)
    "acos": (math.acos, np.arccos, "inverse cosine"),
    "acosh": (math.acosh, np.arccosh, "inverse hyperbolic cosine"),
    "asin": (math.asin, np.arcsin, "inverse sine"),
    "asinh": (math.asinh, np.arcsinh, "inverse hyperbolic sine"),
    "atan": (math.atan, np.arctan, "inverse tangent"),
    "atanh": (math.atanh, np.arctanh, "inverse hyperbolic tangent"),
    "ceil": (math.ceil, np.ceil, "ceiling (an int for a scalar)"),
    "cos": (math.cos, np.cos, "cosine"),
    "cosh": (math.cosh, np.cosh, "hyperbolic cosine"),
    "degrees": (math.degrees, np.degrees, "radians to degrees"),
    "exp": (math.exp, np.exp, "exponential"),
    "fabs": (math.fabs, np.fabs, "absolute value as a float"),
    "floor": (math.floor, np.floor, "floor (an int for a scalar)"),
    "frexp": (math.frexp, np.frexp, "mantissa and exponent, ``(m, e)``"),
    "isinf": (math.isinf, np.isinf, "True where infinite"),
    "isnan": (math.isnan, np.isnan, "True where NaN"),
    "log10": (math.log10, np.log10, "base-10 logarithm"),
    "log1p": (math.log1p, np.log1p, "``log(1 + x)``, accurate for small x"),
    "modf": (math.modf, np.modf, "fractional and integer parts, ``(frac, int)``"),
    "radians": (math.radians, np.radians, "degrees to radians"),
    "sin": (math.sin, np.sin, "sine"),
    "sinh": (math.sinh, np.sinh, "hyperbolic sine"),
    "sqrt": (math.sqrt, np.sqrt, "square root"),
    "tan": (math.tan, np.tan, "tangent"),
    "tanh": (math.tanh, np.tanh, "hyperbolic tangent"),
    "trunc": (math.trunc, np.trunc, "truncation toward zero (an int for a scalar)"),
    "erf": (math.erf, _lazy("erf"), "error function"),
    "erfc": (math.erfc, _lazy("erfc"), "complementary error function"),
    "gamma": (math.gamma, _lazy("gamma"), "gamma function"),
}

_BINARY = {
    "atan2": (math.atan2, np.arctan2, "``atan(y / x)`` in the right quadrant, ``atan2(y, x)``"),
    "copysign": (math.copysign, np.copysign, "magnitude of x with the sign of y"),
    "fmod": (math.fmod, np.fmod, "C-style remainder of x / y"),
    "ldexp": (lambda x, i: math.ldexp(x, int(i)), np.ldexp, "``x * 2**i``"),
    "pow": (math.pow, np.power, "``x ** y`` as a float (math.pow) or np.power for arrays"),
}


def _make_doc(name: str, description: str, arity: int) -> str:
    call = f"{name}(x)" if arity == 1 else f"{name}(x, y)"
    return (
        f"{call}: {description}.\n\n"
        f"Python scalars use ``math`` (domain errors raise); arrays use numpy."
    )


def _log(x, base=None):
    """log(x[, base]): natural logarithm, or the logarithm to ``base``.

    Python scalars use ``math.log`` (``log(-1)`` raises ``ValueError``); arrays use numpy.
    """
    if type(x) in _SCALAR_TYPES and (base is None or type(base) in _SCALAR_TYPES):
        return math.log(x) if base is None else math.log(x, base)
    try:
        return np.log(x) if base is None else np.log(x) / np.log(base)
    except AttributeError as exc:
        raise _not_a_number("log", (x,) if base is None else (x, base), exc) from None


def _sign(x):
    """sign(x): -1, 0 or 1 with the type of x (NaN stays NaN); ``np.sign`` for arrays."""
    if type(x) in _SCALAR_TYPES:
        if x != x:
            return x
        return type(x)((x > 0) - (x < 0)) if type(x) is not bool else int(x)
    try:
        return np.sign(x)
    except AttributeError as exc:
        raise _not_a_number("sign", (x,), exc) from None


_FACTORIALS = np.array([float(math.factorial(n)) for n in range(MAX_FACTORIAL + 1)])


def _factorial(n):
    """factorial(n): ``n!`` for an integral ``0 <= n <= 170``.

    A scalar gives an exact int; an array gives floats.  Larger ``n`` raises
    ``OverflowError`` (its factorial exceeds the largest float), so an expression can
    never start an unbounded computation.
    """
    if type(n) is int or type(n) is bool:
        if n < 0:
            raise ValueError("factorial() not defined for negative values")
        if n > MAX_FACTORIAL:
            raise OverflowError(
                f"factorial() argument larger than {MAX_FACTORIAL} overflows a float"
            )
        return math.factorial(n)
    values = np.asarray(n)
    if values.dtype.kind not in "biuf" or not np.all(values == np.floor(values)):
        raise ValueError(f"factorial() needs integral values, got {n!r}")
    if np.any(values < 0):
        raise ValueError("factorial() not defined for negative values")
    if np.any(values > MAX_FACTORIAL):
        raise OverflowError(
            f"factorial() argument larger than {MAX_FACTORIAL} overflows a float"
        )
    if values.ndim == 0:
        return math.factorial(int(values))
    return _FACTORIALS[values.astype(np.int64)]


def _fsum(*values):
    """fsum(iterable) or fsum(a, b, ...): exactly rounded float sum (``math.fsum``).

    An array argument is flattened first.
    """
    if len(values) == 1:
        (values,) = values
        if isinstance(values, np.ndarray):
            values = values.ravel()
    return math.fsum(values)


def _hypot(*values):
    """hypot(x, y, ...): Euclidean norm ``sqrt(x*x + y*y + ...)``.

    Python scalars use ``math.hypot``; arrays are combined elementwise with ``np.hypot``.
    """
    if all(type(v) in _SCALAR_TYPES for v in values):
        return math.hypot(*values)
    try:
        return functools.reduce(np.hypot, values)
    except AttributeError as exc:
        raise _not_a_number("hypot", values, exc) from None


def _extreme(name: str, scalar: Callable, reduce: Callable, elementwise: Callable) -> Callable:
    greater = name == "max"

    def func(*args, **kwargs):
        if len(args) == 2 and not kwargs:
            first, second = args
            if type(first) in _SCALAR_TYPES and type(second) in _SCALAR_TYPES:
                # exactly what the builtin does: the first extreme element wins
                if greater:
                    return second if second > first else first
                return second if second < first else first
        try:
            if len(args) == 1 and isinstance(args[0], np.ndarray):
                return reduce(args[0], **kwargs)
            if len(args) > 1 and any(isinstance(a, np.ndarray) for a in args):
                return functools.reduce(elementwise, args)
        except AttributeError as exc:
            raise _not_a_number(name, args, exc) from None
        return scalar(*args, **kwargs)

    func.__name__ = func.__qualname__ = name
    func.__doc__ = (
        f"{name}(a, b, ...) or {name}(iterable): Python's {name} for scalars.\n\n"
        f"One array argument is reduced (``np.{name}``); with several arguments of which "
        f"one is an array the result is elementwise (``np.{elementwise.__name__}``)."
    )
    return func


def guarded_power(base, exponent):
    """``base ** exponent`` that can never start an unbounded integer computation.

    A Python ``int`` (or ``bool``) base is converted to float first, so ``9 ** 9 ** 9``
    raises ``OverflowError`` at once instead of computing a 370-million-digit integer.
    Floats, complex numbers and numpy arrays (``np.power``) are unchanged.

    Examples
    --------
    >>> guarded_power(2, 10)
    1024.0
    >>> guarded_power(2.5, 2)
    6.25
    """
    kind = type(base)
    if kind is int or kind is bool:
        base = float(base)
    elif (
        type(exponent) is int
        and kind is not float
        and kind is not complex
        and not isinstance(base, _NUMPY_TYPES)
    ):
        exponent = float(exponent)  # e.g. a Fraction symbol: keep the result a float
    return base ** exponent


def guarded_lshift(value, count):
    """``value << count`` that refuses shifts producing huge integers.

    Raises ``OverflowError`` if ``count`` exceeds :data:`MAX_SHIFT` or the result would
    have more than :data:`MAX_SHIFT_BITS` bits.  Array shifts go to numpy unchanged.

    Examples
    --------
    >>> guarded_lshift(1, 10)
    1024
    """
    if not isinstance(count, np.ndarray) and count > MAX_SHIFT:
        raise OverflowError(f"left shift by {count} bits is too large (limit {MAX_SHIFT})")
    if type(value) is int and value.bit_length() + count > MAX_SHIFT_BITS:
        raise OverflowError(f"left shift result would exceed {MAX_SHIFT_BITS} bits")
    return value << count


def _build_functions() -> dict[str, Callable]:
    functions: dict[str, Callable] = {"abs": abs, "log": _log, "sign": _sign,
                                      "factorial": _factorial, "fsum": _fsum, "hypot": _hypot}
    for name, (scalar, array, description) in _UNARY.items():
        functions[name] = _unary(name, scalar, array, _make_doc(name, description, 1))
    for name, (scalar, array, description) in _BINARY.items():
        functions[name] = _binary(name, scalar, array, _make_doc(name, description, 2))
    functions["max"] = _extreme("max", max, np.max, np.maximum)
    functions["min"] = _extreme("min", min, np.min, np.minimum)
    aliases = {"arccos": "acos", "arccosh": "acosh", "arcsin": "asin", "arcsinh": "asinh",
               "arctan": "atan", "arctanh": "atanh", "arctan2": "atan2", "power": "pow"}
    for alias, name in aliases.items():
        functions[alias] = functions[name]
    return dict(sorted(functions.items()))


FUNCTIONS = MappingProxyType(_build_functions())
"""Every function an expression may call, by name (read-only)."""
CONSTANTS = MappingProxyType({"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan})
"""The constants ``pi``, ``e``, ``inf`` and ``nan`` (read-only)."""
HELPERS = MappingProxyType({POWER_HELPER: guarded_power, LSHIFT_HELPER: guarded_lshift})
"""The guarded operator helpers under their reserved, non-identifier names (read-only)."""
