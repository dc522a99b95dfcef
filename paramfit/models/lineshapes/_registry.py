"""The one mechanism that turns a lineshape kernel into its public functions and record.

Each lineshape is written once, as a *kernel*

``kernel(parts, x, p1=default1, p2=default2, ..., **options) -> (value, jacobian)``

whose signature after ``parts`` is the public signature (names, defaults, annotations) and
whose docstring is the public value function's docstring.  ``parts`` says what is wanted:
:data:`VALUE`, :data:`JACOBIAN` or :data:`BOTH` (bit flags); what is not wanted is
returned as None and not computed, and what both need is computed once.  In every
kernel the value is the same sequence of operations whichever parts are asked for, so
the value-only function and the value part of ``value_and_jacobian`` agree bit for bit.

:func:`derive` builds from a kernel the value function ``name``, the Jacobian function
``name_jacobian`` and, where asked, ``name_value_and_jacobian``, with the kernel's
signature and the given docstrings, and records a :class:`Lineshape` for the registry.
Each public function is one thin wrapper around the kernel that also lets scalar ``x``
with scalar parameters give NumPy scalars (the kernels work in place on arrays, which
0-d inputs do not give).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from paramfit.core.exceptions import ParameterError

__all__ = ["VALUE", "JACOBIAN", "BOTH", "Lineshape", "derive", "records", "lineshape_for"]

#: ``parts`` flags of a kernel call: the value, the Jacobian, or both.
VALUE, JACOBIAN, BOTH = 1, 2, 3

#: Keyword arguments of lineshapes that select a variant and are not fit parameters.
_OPTION_NAMES = ("form",)
#: ``x.ndim`` for an ndarray is ~10x cheaper than ``np.ndim(x)`` (array-function dispatch).
_NDARRAY = np.ndarray


@dataclass(frozen=True)
class Lineshape:
    """A lineshape function with its analytic derivatives, for the Model layer.

    Attributes
    ----------
    name : str
        Canonical name (lmfit's), e.g. ``'gaussian'``.
    function : callable
        ``function(x, *params, **options) -> ndarray``.
    jacobian : callable
        ``jacobian(x, *params, **options) -> tuple of ndarray``, one per parameter, in the
        order of `param_names`.
    param_names : tuple of str
        Fit parameters, in signature order (``x`` and options such as ``form`` excluded).
    defaults : tuple
        Default value of each parameter (``None`` for voigt's ``gamma``: equal to ``sigma``).
    options : tuple of str
        Keyword arguments that are not fit parameters (``('form',)`` for step, rectangle).
    value_and_jacobian : callable or None
        ``(x, *params) -> (value, jacobian)``, the public function of that name, where
        one exists (``gaussian``, ``lorentzian``, ``linear``).
    kernel : callable or None
        ``kernel(parts, x, *params, **options) -> (value or None, jacobian or None)``, the
        one function the lineshape is written as (``parts``: ``VALUE``, ``JACOBIAN`` or
        ``BOTH`` of :mod:`paramfit.models.lineshapes._registry`); arrays in, arrays out.

    Examples
    --------
    >>> from paramfit.models.lineshapes import LINESHAPES
    >>> shape = LINESHAPES["lorentzian"]
    >>> shape.param_names, shape.defaults
    (('amplitude', 'center', 'sigma'), (1.0, 0.0, 1.0))
    """

    name: str
    function: Callable
    jacobian: Callable
    param_names: tuple[str, ...]
    defaults: tuple[float | None, ...]
    options: tuple[str, ...] = ()
    value_and_jacobian: Callable | None = None
    kernel: Callable | None = None


#: Every derived lineshape, by canonical name, in the order of definition.
_RECORDS: dict[str, Lineshape] = {}
_BY_FUNCTION: dict[Callable, Lineshape] = {}


def _any_array(args: tuple, kwargs: dict) -> bool:
    """Whether any parameter (options such as ``form`` aside) is not a scalar."""
    return any(np.ndim(a) for a in args) or any(
        np.ndim(v) for k, v in kwargs.items() if k not in _OPTION_NAMES
    )


def _first(result):
    """The single element of each array in ``result`` (an array or nested tuples)."""
    if isinstance(result, tuple):
        return tuple(_first(item) for item in result)
    return result[0]


def _wrap(kernel: Callable, name: str, doc: str, annotation: str, parts: int,
          index: int | None) -> Callable:
    """Public function ``name`` returning part ``index`` (all when None) of the kernel."""
    if index is None:

        def function(x, *args, **kwargs):
            if (x.ndim if type(x) is _NDARRAY else np.ndim(x)) or _any_array(args, kwargs):
                return kernel(parts, x, *args, **kwargs)
            return _first(kernel(parts, np.reshape(x, (1,)), *args, **kwargs))

    else:

        def function(x, *args, **kwargs):
            if (x.ndim if type(x) is _NDARRAY else np.ndim(x)) or _any_array(args, kwargs):
                return kernel(parts, x, *args, **kwargs)[index]
            return _first(kernel(parts, np.reshape(x, (1,)), *args, **kwargs)[index])

    signature = inspect.signature(kernel)
    parameters = list(signature.parameters.values())[1:]
    function.__signature__ = signature.replace(parameters=parameters,
                                               return_annotation=annotation)
    function.__annotations__ = {
        **{p.name: p.annotation for p in parameters if p.annotation is not p.empty},
        "return": annotation,
    }
    function.__name__ = function.__qualname__ = name
    function.__module__ = kernel.__module__
    function.__doc__ = doc
    function.__wrapped__ = kernel  # doctest finds the examples' lines from the kernel's
    return function


def derive(kernel: Callable, jacobian_doc: str,
           value_and_jacobian_doc: str | None = None) -> tuple[Callable, ...]:
    """Public functions of a lineshape kernel; registers its :class:`Lineshape`.

    Parameters
    ----------
    kernel : callable
        ``_name(parts, x, *params, **options) -> (value, jacobian)``; its name less the
        leading underscore names the lineshape, its docstring documents the value.
    jacobian_doc : str
        Docstring of ``name_jacobian``.
    value_and_jacobian_doc : str, optional
        Docstring of ``name_value_and_jacobian``; without it that function is not made.

    Returns
    -------
    tuple of callable
        ``(name, name_jacobian)``, plus ``name_value_and_jacobian`` when its docstring is
        given.

    Examples
    --------
    >>> from paramfit.models.lineshapes import LINESHAPES, gaussian
    >>> inspect.signature(gaussian).parameters["sigma"].default
    1.0
    >>> record = LINESHAPES["gaussian"]
    >>> value, jacobian = record.kernel(BOTH, np.array([0.0, 1.0]), 2.0, 0.0, 1.0)
    >>> bool((value == gaussian(np.array([0.0, 1.0]), 2.0, 0.0, 1.0)).all()), len(jacobian)
    (True, 3)
    """
    name = kernel.__name__.lstrip("_")
    signature = inspect.signature(kernel)
    parameters = list(signature.parameters.values())[2:]
    names = tuple(p.name for p in parameters if p.name not in _OPTION_NAMES)
    array = "np.ndarray"
    tuple_of = "tuple[" + ", ".join([array] * len(names)) + "]"
    function = _wrap(kernel, name, kernel.__doc__, array, VALUE, 0)
    jacobian = _wrap(kernel, name + "_jacobian", jacobian_doc, tuple_of, JACOBIAN, 1)
    public = (function, jacobian)
    combined = None
    if value_and_jacobian_doc is not None:
        combined = _wrap(kernel, name + "_value_and_jacobian", value_and_jacobian_doc,
                         f"tuple[{array}, {tuple_of}]", BOTH, None)
        public += (combined,)
    record = Lineshape(
        name=name,
        function=function,
        jacobian=jacobian,
        param_names=names,
        defaults=tuple(p.default for p in parameters if p.name in names),
        options=tuple(p.name for p in parameters if p.name in _OPTION_NAMES),
        value_and_jacobian=combined,
        kernel=kernel,
    )
    _RECORDS[name] = record
    _BY_FUNCTION[function] = record
    return public


def records() -> dict[str, Lineshape]:
    """Every lineshape derived so far, by canonical name (a new dict)."""
    return dict(_RECORDS)


def lineshape_for(function: Callable) -> Lineshape:
    """Return the :class:`Lineshape` record of a lineshape function object.

    Parameters
    ----------
    function : callable
        One of the functions of :mod:`paramfit.models.lineshapes` (aliases included).

    Returns
    -------
    Lineshape

    Raises
    ------
    ParameterError
        If `function` is not a lineshape of this module (it has no analytic Jacobian).

    Examples
    --------
    >>> from paramfit.models.lineshapes import gaussian, gaussian_jacobian
    >>> lineshape_for(gaussian).jacobian is gaussian_jacobian
    True
    """
    try:
        return _BY_FUNCTION[function]
    except (KeyError, TypeError):
        raise ParameterError(
            f"{function!r} is not a paramfit lineshape, so it has no analytic Jacobian; "
            "use finite differences or pass a Jacobian yourself"
        ) from None
