"""The thermal-occupation lineshapes of lmfit 1.3 parity (Maxwell-Boltzmann, Bose-Einstein
and Fermi-Dirac distributions) with their Jacobians.

Private module; the public names are re-exported by :mod:`paramfit.models.lineshapes`
(through :mod:`paramfit.models.lineshapes.extended`).
Each lineshape is one kernel turned into its public functions by
:func:`~paramfit.models.lineshapes._registry.derive`.  ``kt`` is floored at ``TINY``
in magnitude as in lmfit; the derivatives are those of the formula at the floored value
(exact above the floor, blind to it below), as in the other modules.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from paramfit.core.exceptions import ParameterError
from paramfit.models.lineshapes._registry import JACOBIAN, VALUE, derive
from paramfit.models.lineshapes.basic import TINY, _not_zero, _shape
from paramfit.models.lineshapes.extended_peaks import _full

__all__ = [
    "thermal_distribution", "thermal_distribution_jacobian",
    "bose", "bose_jacobian",
    "fermi", "fermi_jacobian",
]

_THERMAL_OFFSETS = {"bose": -1.0, "maxwell": 0.0, "fermi": 1.0}


def _thermal_offset(form: str) -> float:
    """``-1`` (Bose-Einstein), ``0`` (Maxwell-Boltzmann) or ``+1`` (Fermi-Dirac)."""
    name = str(form).lower()
    for key, offset in _THERMAL_OFFSETS.items():
        if name.startswith(key):
            return offset
    raise ParameterError(f"Invalid value ({form!r}) for argument 'form'; should be one of "
                         "'maxwell', 'fermi', or 'bose'.")


def _thermal_distribution(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    kt: ArrayLike = 1.0,
    form: str = "bose",
):
    """Thermal distribution, lmfit's ``thermal_distribution``.

    ``1 / (amplitude exp((x - center)/kt) + offset)`` with ``offset`` -1 for
    ``form='bose'`` (Bose-Einstein, default), 0 for ``'maxwell'`` (Maxwell-Boltzmann),
    +1 for ``'fermi'`` (Fermi-Dirac); a form is recognised by its start
    (``'Bose-Einstein'`` is ``'bose'``).  ``kt`` is kept at least ``TINY`` in magnitude
    and the pole is regularised as lmfit does: the value is the real part of
    ``1/(D + i TINY)``, ``D`` the denominator.  Negative ``kt``: the
    energy-loss convention.

    Raises
    ------
    ParameterError
        A ``form`` other than those (a ValueError).

    Examples
    --------
    >>> round(float(thermal_distribution(0.0, form='fermi')), 12)
    0.5
    """
    offset = _thermal_offset(form)
    t = _not_zero(kt)
    u = np.subtract(x, center) / t
    e = np.exp(u)
    inverse = 1.0 / (amplitude * e + offset + TINY * 1j)  # an infinite D gives 0
    v = inverse.real
    value = v if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    shape = _shape(x, amplitude, center, kt)
    slope = -(inverse * inverse)  # d(1/D) / dD
    if np.iscomplexobj(e):  # complex x: d value / dp = Re(slope dD/dp), dD/dp complex
        return value, (_full((slope * e).real, shape),
                       _full((-slope * amplitude * e / t).real, shape),
                       _full((-slope * amplitude * e * u / t).real, shape))
    slope = slope.real
    return value, (_full(slope * e, shape), _full(-slope * amplitude * e / t, shape),
                   _full(-slope * amplitude * e * u / t, shape))


thermal_distribution, thermal_distribution_jacobian = derive(
    _thermal_distribution,
    """Partial derivatives of :func:`thermal_distribution` (amplitude, center, kt).

    Examples
    --------
    >>> round(float(thermal_distribution_jacobian(0.0, form='fermi')[0]), 12)
    -0.25
    """,
)


def _occupation(parts: int, x, amplitude, center, kt, sign: float):
    """``amplitude / (exp((x - center)/kt) + sign)`` and its partials: Bose-Einstein
    (``sign = -1``, the denominator kept at least ``TINY**2`` in magnitude) or
    Fermi-Dirac (``sign = +1``)."""
    t = _not_zero(kt)
    u = np.subtract(x, center) / t
    e = np.exp(u)
    den = e + sign
    if sign < 0.0:
        den = np.where(np.abs(den) < TINY * TINY, TINY * TINY, den)
    v = amplitude / den
    value = v if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    shape = _shape(x, amplitude, center, kt)
    g = amplitude * e / (den * den * t)
    return value, (_full(1.0 / den, shape), _full(g, shape), _full(g * u, shape))


def _bose(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    kt: ArrayLike = 1.0,
):
    """Bose-Einstein distribution ``amplitude / (exp((x - center)/kt) - 1)``.

    ``kt`` is kept at least ``TINY`` in magnitude and the denominator is set to
    ``TINY**2`` where its magnitude is below that (at ``x = center``).

    Examples
    --------
    >>> round(float(bose(np.log(2.0))), 12)
    1.0
    """
    return _occupation(parts, x, amplitude, center, kt, -1.0)


bose, bose_jacobian = derive(
    _bose,
    """Partial derivatives of :func:`bose` (amplitude, center, kt).

    Examples
    --------
    >>> [round(float(d), 12) for d in bose_jacobian(np.log(2.0))]
    [1.0, 2.0, 1.38629436112]
    """,
)


def _fermi(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    kt: ArrayLike = 1.0,
):
    """Fermi-Dirac distribution ``amplitude / (exp((x - center)/kt) + 1)``.

    ``kt`` is kept at least ``TINY`` in magnitude.

    Examples
    --------
    >>> float(fermi(0.0, amplitude=2.0))
    1.0
    """
    return _occupation(parts, x, amplitude, center, kt, 1.0)


fermi, fermi_jacobian = derive(
    _fermi,
    """Partial derivatives of :func:`fermi` (amplitude, center, kt).

    Examples
    --------
    >>> [float(d) for d in fermi_jacobian(0.0)]
    [0.5, 0.25, 0.0]
    """,
)
