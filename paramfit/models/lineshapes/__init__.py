"""Lineshape functions with analytic partial derivatives.

The functions are named and parameterised as in ``lmfit.lineshapes`` (and lmfit's
``ConstantModel``, ``PolynomialModel``), so models written for lmfit evaluate unchanged.
Each function ``f`` has a companion ``f_jacobian(x, <same parameters>)`` returning a tuple
with one array of partial derivatives per parameter, in signature order; ``gaussian``,
``lorentzian`` and ``linear`` also have ``f_value_and_jacobian`` returning
``(value, jacobian)`` with the shared work done once.  :data:`LINESHAPES` maps each name to
a :class:`Lineshape` record (function, jacobian, parameter names and defaults) and
:func:`lineshape_for` finds that record from the function object.

Broadcasting
------------
Every function and Jacobian accepts scalar parameters with ``x`` of shape (N,), and
parameters of shape (B, 1) with ``x`` of shape (N,) or (B, N) -- a batch of B parameter sets
evaluated at once -- in any mix.  Results, and every derivative array, have the full
broadcast shape.  Derivatives that do not depend on the parameters (``d/dintercept = 1``,
``d/dc_k = x**k``...) are read-only ``numpy.broadcast_to`` views: copy before writing.

Floors
------
As in lmfit, widths and normalisations are floored at ``TINY = 1e-15`` to avoid division by
zero (each docstring says where).  The derivatives are those of the formula evaluated at the
floored value; they are exact for widths above the floor and ignore it below.

Sigmoid forms (``step``, ``rectangle``)
---------------------------------------
``'linear'``: ``clip(u + 1/2, 0, 1)``; ``'atan'``/``'arctan'``: ``1/2 + arctan(u)/pi``;
``'erf'``: ``(1 + erf(u))/2``; ``'logistic'``: ``1 - 1/(1 + exp(u))``.

Examples
--------
>>> import numpy as np
>>> from paramfit.models.lineshapes import gaussian, gaussian_jacobian, LINESHAPES
>>> x = np.linspace(-3.0, 3.0, 7)
>>> gaussian(x, amplitude=np.array([[1.0], [2.0]]), center=0.0, sigma=1.0).shape
(2, 7)
>>> len(gaussian_jacobian(x))
3
>>> LINESHAPES["gaussian"].param_names
('amplitude', 'center', 'sigma')
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from paramfit.core.exceptions import ParameterError
from paramfit.models.lineshapes.basic import (
    TINY,
    constant,
    constant_jacobian,
    exponential,
    exponential_jacobian,
    linear,
    linear_jacobian,
    linear_value_and_jacobian,
    parabolic,
    parabolic_jacobian,
    polynomial,
    polynomial_jacobian,
    powerlaw,
    powerlaw_jacobian,
    sine,
    sine_jacobian,
)
from paramfit.models.lineshapes.peaks import (
    gaussian,
    gaussian_jacobian,
    gaussian_value_and_jacobian,
    lorentzian,
    lorentzian_jacobian,
    lorentzian_value_and_jacobian,
    moffat,
    moffat_jacobian,
    pvoigt,
    pvoigt_jacobian,
    voigt,
    voigt_jacobian,
)
from paramfit.models.lineshapes.steps import (
    logistic,
    logistic_jacobian,
    rectangle,
    rectangle_jacobian,
    step,
    step_jacobian,
)
from paramfit.models.lineshapes.tailed import (
    damped_oscillator,
    damped_oscillator_jacobian,
    expgaussian,
    expgaussian_jacobian,
    pearson7,
    pearson7_jacobian,
    skewed_gaussian,
    skewed_gaussian_jacobian,
    students_t,
    students_t_jacobian,
)

__all__ = [
    "TINY",
    "Lineshape",
    "LINESHAPES",
    "lineshape_for",
    "constant",
    "constant_jacobian",
    "linear",
    "linear_jacobian",
    "linear_value_and_jacobian",
    "parabolic",
    "parabolic_jacobian",
    "quadratic",
    "quadratic_jacobian",
    "polynomial",
    "polynomial_jacobian",
    "exponential",
    "exponential_jacobian",
    "powerlaw",
    "powerlaw_jacobian",
    "gaussian",
    "gaussian_jacobian",
    "gaussian_value_and_jacobian",
    "lorentzian",
    "lorentzian_jacobian",
    "lorentzian_value_and_jacobian",
    "voigt",
    "voigt_jacobian",
    "pvoigt",
    "pvoigt_jacobian",
    "moffat",
    "moffat_jacobian",
    "pearson7",
    "pearson7_jacobian",
    "students_t",
    "students_t_jacobian",
    "skewed_gaussian",
    "skewed_gaussian_jacobian",
    "sine",
    "sine_jacobian",
    "damped_oscillator",
    "damped_oscillator_jacobian",
    "step",
    "step_jacobian",
    "rectangle",
    "rectangle_jacobian",
    "expgaussian",
    "expgaussian_jacobian",
    "exponential_gaussian",
    "exponential_gaussian_jacobian",
    "logistic",
    "logistic_jacobian",
]

#: Alias of :func:`parabolic` (lmfit's ``QuadraticModel``).
quadratic = parabolic
#: Alias of :func:`parabolic_jacobian`.
quadratic_jacobian = parabolic_jacobian
#: Alias of :func:`expgaussian` (lmfit's ``ExponentialGaussianModel``).
exponential_gaussian = expgaussian
#: Alias of :func:`expgaussian_jacobian`.
exponential_gaussian_jacobian = expgaussian_jacobian

#: Keyword arguments of lineshapes that select a variant and are not fit parameters.
_OPTION_NAMES = ("form",)


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
        ``(x, *params) -> (value, jacobian)`` sharing work, where one exists.

    Examples
    --------
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


def _make(function: Callable, jacobian: Callable, value_and_jacobian=None) -> Lineshape:
    """Build a :class:`Lineshape` from a function's signature."""
    parameters = list(inspect.signature(function).parameters.values())[1:]
    names = tuple(p.name for p in parameters if p.name not in _OPTION_NAMES)
    return Lineshape(
        name=function.__name__,
        function=function,
        jacobian=jacobian,
        param_names=names,
        defaults=tuple(p.default for p in parameters if p.name in names),
        options=tuple(p.name for p in parameters if p.name in _OPTION_NAMES),
        value_and_jacobian=value_and_jacobian,
    )


_RECORDS = (
    _make(constant, constant_jacobian),
    _make(linear, linear_jacobian, linear_value_and_jacobian),
    _make(parabolic, parabolic_jacobian),
    _make(polynomial, polynomial_jacobian),
    _make(exponential, exponential_jacobian),
    _make(powerlaw, powerlaw_jacobian),
    _make(gaussian, gaussian_jacobian, gaussian_value_and_jacobian),
    _make(lorentzian, lorentzian_jacobian, lorentzian_value_and_jacobian),
    _make(voigt, voigt_jacobian),
    _make(pvoigt, pvoigt_jacobian),
    _make(moffat, moffat_jacobian),
    _make(pearson7, pearson7_jacobian),
    _make(students_t, students_t_jacobian),
    _make(skewed_gaussian, skewed_gaussian_jacobian),
    _make(sine, sine_jacobian),
    _make(damped_oscillator, damped_oscillator_jacobian),
    _make(step, step_jacobian),
    _make(rectangle, rectangle_jacobian),
    _make(expgaussian, expgaussian_jacobian),
    _make(logistic, logistic_jacobian),
)

#: Every lineshape by name; the aliases ``'quadratic'`` and ``'exponential_gaussian'`` map
#: to the records of ``parabolic`` and ``expgaussian``.
LINESHAPES: dict[str, Lineshape] = {record.name: record for record in _RECORDS}
LINESHAPES["quadratic"] = LINESHAPES["parabolic"]
LINESHAPES["exponential_gaussian"] = LINESHAPES["expgaussian"]

_BY_FUNCTION = {record.function: record for record in _RECORDS}


def lineshape_for(function: Callable) -> Lineshape:
    """Return the :class:`Lineshape` record of a lineshape function object.

    Parameters
    ----------
    function : callable
        One of the functions of this module (aliases included).

    Returns
    -------
    Lineshape

    Raises
    ------
    ParameterError
        If `function` is not a lineshape of this module (it has no analytic Jacobian).

    Examples
    --------
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
