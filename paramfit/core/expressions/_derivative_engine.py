"""The run-time side of derivative code: reserved names, engine functions, user derivatives.

Derivative code (:mod:`paramfit.core.expressions.derivatives`) calls the engine's functions, the
helpers ``digamma``, ``select``, ``pack``, ``power_log`` and the declared derivatives of
:class:`Differentiable` user symbols under reserved names that are not identifiers
(``'<f:exp>'``, ``'<d0:f>'``, ``'<out>'``), so no parameter or user symbol can collide
with or shadow them.  This module holds those names, the functions behind them, and
the namespace builders (:func:`derivative_namespace`, :func:`install_derivative_helpers`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import numpy as np

from paramfit.core.exceptions import ExpressionError
from paramfit.core.expressions.functions import _SCALAR_TYPES, FUNCTIONS, _lazy, _special, _unary
from paramfit.core.expressions.symbols import SymbolTable, make_namespace

__all__ = [
    "OUTPUT_NAME",
    "Differentiable",
    "derivative_namespace",
    "install_derivative_helpers",
]

OUTPUT_NAME = "<out>"
_TEMP = "<t{}>"
_ENGINE = "<f:{}>"
_USER_DERIVATIVE = "<d{}:{}>"

# --------------------------------------------------------------------------- helpers
def _digamma_scalar(x):
    return float(_special("psi")(x))


_DIGAMMA = _unary(
    "digamma", _digamma_scalar, _lazy("psi"),
    "digamma(x): the logarithmic derivative of gamma (scipy.special.psi); derivative code "
    "only, as gamma' = gamma*digamma.",
)


def _select(condition, if_true, if_false):
    """``if_true if condition else if_false``; elementwise (``np.where``) for an array
    condition.  Both branches are already evaluated (derivatives of ``max``/``min``)."""
    if isinstance(condition, np.ndarray):
        return np.where(condition, if_true, if_false)
    return if_true if condition else if_false


def _power_log(power, base):
    """``power * log(base)``, the derivative of ``base ** b`` with respect to ``b``
    (``power = base ** b``), with its limit 0 where ``power == 0`` (``base = 0 < b``):
    a power law ``x**b`` with data ``x = 0`` gets the exact 0, not NaN."""
    if type(power) in _SCALAR_TYPES and type(base) in _SCALAR_TYPES:
        return 0.0 if power == 0 else power * math.log(base)
    # log(1) = 0 where power == 0: no log(0), no warning, no NaN
    return power * np.log(np.where(power == 0, 1, base))


def _pack(*values):
    return values


def _canonical_names() -> dict[str, str]:
    """Each function name (aliases included) -> the shortest name of the same function."""
    by_function: dict[int, list[str]] = {}
    for name, function in FUNCTIONS.items():
        by_function.setdefault(id(function), []).append(name)
    return {name: min(names, key=lambda n: (len(n), n))
            for names in by_function.values() for name in names}


_CANONICAL = _canonical_names()
_ENGINE_FUNCTIONS: Mapping[str, Callable] = MappingProxyType({
    **{name: FUNCTIONS[name] for name in set(_CANONICAL.values())},
    "digamma": _DIGAMMA, "select": _select, "pack": _pack, "float": float,
    "power_log": _power_log,
})
_ENGINE_NAMESPACE = MappingProxyType(
    {_ENGINE.format(name): function for name, function in _ENGINE_FUNCTIONS.items()})


class Differentiable:
    """A user function together with its partial derivatives, for expressions.

    Store it as a user symbol (``params.symbols['f'] = Differentiable(f, (df_dx, df_dy))``,
    or in the ``symbols`` given to :func:`differentiate`): expressions call it like
    ``f``, and :func:`differentiate` uses ``derivatives[i](*args)`` as the partial of
    ``f`` with respect to its ``i``-th argument (chain rule through the arguments).

    Parameters
    ----------
    function : callable
        The function, called with positional arguments.
    derivatives : callable or sequence of (callable or None)
        The partial derivative with respect to each positional argument, each called
        with the same arguments as ``function``; one callable for a function of one
        argument.  ``None`` marks a partial as unknown: a variable reaching ``f`` through
        that argument gets no exact derivative (and the caller differences it).

    Examples
    --------
    >>> from paramfit.core.expressions.derivatives import differentiate
    >>> cube = Differentiable(lambda x: x**3, lambda x: 3 * x**2)
    >>> d = differentiate('cube(2*a)', ['a'], symbols={'cube': cube})
    >>> ns = d.namespace({'cube': cube})
    >>> ns['a'] = 1.0
    >>> d.evaluate(ns)
    (8.0, (24.0,))
    """

    __slots__ = ("function", "derivatives")

    function: Callable
    derivatives: tuple[Callable | None, ...]

    def __init__(self, function: Callable, derivatives: Callable | Sequence[Callable | None]):
        if not callable(function):
            raise ExpressionError(
                f"Differentiable needs a callable function, got {type(function).__name__}")
        if callable(derivatives):
            derivatives = (derivatives,)
        derivatives = tuple(derivatives)
        for index, derivative in enumerate(derivatives):
            if derivative is not None and not callable(derivative):
                raise ExpressionError(
                    f"derivative {index} given to Differentiable is not callable "
                    f"({type(derivative).__name__}); give a function or None")
        self.function = function
        self.derivatives = derivatives

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Differentiable({self.function!r}, {self.derivatives!r})"


def _user_symbols(symbols: Mapping[str, object] | None) -> dict[str, object]:
    if not symbols:
        return {}
    if isinstance(symbols, SymbolTable):
        return symbols.user_symbols()
    return dict(symbols)


def derivative_namespace(symbols: Mapping[str, object] | None = None) -> dict:
    """The namespace derivative code runs in: :func:`make_namespace` plus the engine's
    functions under reserved names and the declared derivatives of the user symbols.

    Parameters
    ----------
    symbols : mapping, optional
        The user symbols (a :class:`SymbolTable` or a dict), as given to
        :func:`differentiate`.

    Returns
    -------
    dict
        Add the values of the variables (and of every other name) before evaluating.
    """
    user = _user_symbols(symbols)
    return install_derivative_helpers(make_namespace(user), user)


def install_derivative_helpers(namespace: dict,
                               symbols: Mapping[str, object] | None = None) -> dict:
    """Add what derivative code needs to an existing namespace from :func:`make_namespace`
    (the engine's functions under reserved names, the declared derivatives of the user
    symbols), so that one namespace serves the expression and its derivatives.

    Returns
    -------
    dict
        ``namespace`` itself.  Only reserved (non-identifier) names are added.
    """
    namespace.update(_ENGINE_NAMESPACE)
    for name, value in _user_symbols(symbols).items():
        if isinstance(value, Differentiable):
            for index, derivative in enumerate(value.derivatives):
                if derivative is not None:
                    namespace[_USER_DERIVATIVE.format(index, name)] = derivative
    return namespace
