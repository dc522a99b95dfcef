"""Lineshape functions with analytic partial derivatives.

The functions are named and parameterised as in ``lmfit.lineshapes`` (and lmfit's
``ConstantModel``, ``PolynomialModel``), so models written for lmfit evaluate unchanged.
Each function ``f`` has a companion ``f_jacobian(x, <same parameters>)`` returning a tuple
with one array of partial derivatives per parameter, in signature order; ``gaussian``,
``lorentzian`` and ``linear`` also have ``f_value_and_jacobian`` returning
``(value, jacobian)`` with the shared work done once.  :data:`LINESHAPES` maps each name to
a :class:`Lineshape` record (function, jacobian, parameter names and defaults) and
:func:`lineshape_for` finds that record from the function object.

Each lineshape is written once, as a kernel computing its value, its Jacobian or both;
``f``, ``f_jacobian`` (and ``f_value_and_jacobian``) and the record are derived from it by
:func:`paramfit.models.lineshapes._registry.derive`, so the value of ``f`` and the value
part of the kernel's joint result are the same numbers, bit for bit.

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

from paramfit.core.jsonutils import register_known_functions as _register_known_functions
from paramfit.models.lineshapes import basic, extended, peaks, steps, tailed
from paramfit.models.lineshapes._registry import Lineshape, lineshape_for
from paramfit.models.lineshapes._registry import records as _records
from paramfit.models.lineshapes.basic import *  # noqa: F403 (each module's __all__)
from paramfit.models.lineshapes.basic import TINY, parabolic, parabolic_jacobian
from paramfit.models.lineshapes.extended import *  # noqa: F403
from paramfit.models.lineshapes.peaks import *  # noqa: F403
from paramfit.models.lineshapes.steps import *  # noqa: F403
from paramfit.models.lineshapes.tailed import *  # noqa: F403
from paramfit.models.lineshapes.tailed import expgaussian, expgaussian_jacobian

#: lmfit's name of :data:`TINY`.
tiny = TINY
#: Names of lmfit 1.3's lineshape functions (``lmfit.lineshapes.functions``), every one
#: of them a function of this module.
functions = ("gaussian", "gaussian2d", "lorentzian", "voigt", "pvoigt", "moffat", "pearson4",
             "pearson7", "breit_wigner", "damped_oscillator", "dho", "logistic", "lognormal",
             "students_t", "expgaussian", "doniach", "skewed_gaussian", "skewed_voigt",
             "thermal_distribution", "bose", "fermi", "step", "rectangle", "exponential",
             "powerlaw", "linear", "parabolic", "sine", "expsine", "split_lorentzian")

# decode4js gives back these functions by name (lmfit's jsonutils does, by importing)
_register_known_functions({name: globals()[name] for name in functions})

#: Alias of :func:`parabolic` (lmfit's ``QuadraticModel``).
quadratic = parabolic
#: Alias of :func:`parabolic_jacobian`.
quadratic_jacobian = parabolic_jacobian
#: Alias of :func:`expgaussian` (lmfit's ``ExponentialGaussianModel``).
exponential_gaussian = expgaussian
#: Alias of :func:`expgaussian_jacobian`.
exponential_gaussian_jacobian = expgaussian_jacobian

__all__ = [
    "TINY",
    "tiny",
    "functions",
    "Lineshape",
    "LINESHAPES",
    "lineshape_for",
    *basic.__all__,
    "quadratic",
    "quadratic_jacobian",
    *peaks.__all__,
    *tailed.__all__,
    "exponential_gaussian",
    "exponential_gaussian_jacobian",
    *steps.__all__,
    *extended.__all__,
]

#: Every lineshape by name; the aliases ``'quadratic'`` and ``'exponential_gaussian'`` map
#: to the records of ``parabolic`` and ``expgaussian``.
LINESHAPES: dict[str, Lineshape] = _records()
LINESHAPES["quadratic"] = LINESHAPES["parabolic"]
LINESHAPES["exponential_gaussian"] = LINESHAPES["expgaussian"]
