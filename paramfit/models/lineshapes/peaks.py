"""Symmetric peak lineshapes (Gaussian, Lorentzian, Voigt family, Moffat) with their
Jacobians.

Private module; the public names are re-exported by :mod:`paramfit.models.lineshapes`.  Widths are
floored at ``TINY = 1e-15`` in the same places lmfit floors them; the derivatives are those
of the formula evaluated at the floored width, i.e. they are exact for widths above ``TINY``
(the only physically meaningful case) and ignore the floor below it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import wofz

from paramfit.models.lineshapes._registry import JACOBIAN, VALUE, derive
from paramfit.models.lineshapes.basic import TINY, _empty, _like, _shape

__all__ = [
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
]

SQRT2 = np.sqrt(2.0)
SQRTPI = np.sqrt(np.pi)
SQRT2PI = np.sqrt(2.0 * np.pi)
#: sigma_gaussian = sigma / PVOIGT_SIGMA_RATIO gives the pseudo-Voigt Gaussian the same FWHM.
PVOIGT_SIGMA_RATIO = np.sqrt(2.0 * np.log(2.0))


def _gaussian_unit(parts, x, amplitude, center, sigma, shape):
    """``amplitude`` times the unit-area Gaussian ``g`` (if ``parts & VALUE``) and
    ``(g, dg/dcenter, dg/dsigma)`` (if ``parts & JACOBIAN``), all of ``shape``."""
    only_value = not parts & JACOBIAN
    two_var = np.maximum(TINY, 2.0 * sigma * sigma)
    width = np.maximum(TINY, SQRT2PI * sigma)
    d = np.subtract(x, center, out=_like(x, shape))
    t = np.square(d, out=d if only_value else None)
    t *= -1.0 / two_var  # -z**2/2, z = d/sigma
    z2 = None if only_value else t * -2.0
    e = np.exp(t, out=t)
    value = None
    if parts & VALUE:
        value = np.multiply(e, amplitude / width, out=e if only_value else None)
    if only_value:
        return value, None
    norm = 1.0 / width
    g = np.multiply(e, norm, out=e)
    d *= 2.0 / two_var
    d *= g
    z2 -= 1.0
    z2 *= g
    z2 *= SQRT2PI * norm
    return value, (g, d, z2)


def _lorentzian_unit(parts, x, amplitude, center, sigma, shape):
    """``amplitude`` times the unit-area Lorentzian ``l`` (if ``parts & VALUE``) and
    ``(l, dl/dcenter, dl/dsigma)`` (if ``parts & JACOBIAN``), all of ``shape``."""
    only_value = not parts & JACOBIAN
    inv_sigma = 1.0 / np.maximum(TINY, sigma)
    width = np.maximum(TINY, np.pi * sigma)
    u = np.subtract(x, center, out=_like(x, shape))
    u *= inv_sigma
    q = np.square(u, out=u if only_value else None)
    q += 1.0  # 1 + u**2
    value = None
    if parts & VALUE:
        value = np.divide(amplitude / width, q, out=q if only_value else None)
    if only_value:
        return value, None
    r = np.reciprocal(q, out=q)
    lor = r * (1.0 / width)
    u *= r
    u *= 2.0 * inv_sigma
    u *= lor
    r *= -2.0
    r += 1.0
    r *= lor
    r *= inv_sigma
    return value, (lor, u, r)


def _peak(unit, parts, x, amplitude, center, sigma):
    """``(value, jacobian)`` of ``amplitude`` times a unit-area peak from its ``unit``."""
    value, jacobian = unit(parts, x, amplitude, center, sigma, _shape(x, amplitude, center, sigma))
    if jacobian is None:
        return value, None
    g, d_center, d_sigma = jacobian
    d_center *= amplitude
    d_sigma *= amplitude
    return value, (g, d_center, d_sigma)


def _gaussian(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
):
    """Gaussian peak of area ``amplitude``.

    ``gaussian(x, amplitude, center, sigma) =
    amplitude / (sqrt(2 pi) sigma) * exp(-(x - center)**2 / (2 sigma**2))``

    FWHM ``= 2 sqrt(2 ln 2) sigma ~= 2.3548200 sigma``; height
    ``= amplitude / (sqrt(2 pi) sigma) ~= 0.3989423 amplitude / sigma``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Area under the peak (units of y times units of x).
    center : array_like, scalar or shape (B, 1)
        Peak position, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Standard deviation, units of ``x``; ``sqrt(2 pi) sigma`` and ``2 sigma**2`` are
        floored at ``TINY``.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> round(float(gaussian(0.0, amplitude=1.0, sigma=1.0)), 7)
    0.3989423
    """
    return _peak(_gaussian_unit, parts, x, amplitude, center, sigma)


gaussian, gaussian_jacobian, gaussian_value_and_jacobian = derive(
    _gaussian,
    """Partial derivatives of :func:`gaussian` (see :func:`gaussian_value_and_jacobian`).

    Examples
    --------
    >>> [round(float(d), 7) for d in gaussian_jacobian(0.0)]
    [0.3989423, 0.0, -0.3989423]
    """,
    """Value of :func:`gaussian` and its partial derivatives, sharing the exponential.

    With ``g = gaussian(x, 1, center, sigma)`` and ``d = x - center``:
    ``d/damplitude = g``, ``d/dcenter = amplitude g d / sigma**2``,
    ``d/dsigma = amplitude g (d**2 / sigma**2 - 1) / sigma``.

    Returns
    -------
    value : numpy.ndarray
        As :func:`gaussian`.
    jacobian : tuple of numpy.ndarray
        ``(d/damplitude, d/dcenter, d/dsigma)``, each of the value's shape.

    Examples
    --------
    >>> value, (d_amp, d_cen, d_sig) = gaussian_value_and_jacobian(1.0)
    >>> bool(np.isclose(d_cen, value)), bool(np.isclose(d_sig, 0.0))
    (True, True)
    """,
)


def _lorentzian(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
):
    """Lorentzian (Cauchy) peak of area ``amplitude``.

    ``lorentzian(x, amplitude, center, sigma) =
    amplitude / (pi sigma) / (1 + ((x - center) / sigma)**2)``

    FWHM ``= 2 sigma``; height ``= amplitude / (pi sigma) ~= 0.3183099 amplitude / sigma``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Area under the peak.
    center : array_like, scalar or shape (B, 1)
        Peak position, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Half width at half maximum, units of ``x``; ``sigma`` and ``pi sigma`` are floored
        at ``TINY``.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> round(float(lorentzian(1.0, amplitude=np.pi)), 12)
    0.5
    """
    return _peak(_lorentzian_unit, parts, x, amplitude, center, sigma)


lorentzian, lorentzian_jacobian, lorentzian_value_and_jacobian = derive(
    _lorentzian,
    """Partial derivatives of :func:`lorentzian` (see :func:`lorentzian_value_and_jacobian`).

    Examples
    --------
    >>> [round(float(d), 7) for d in lorentzian_jacobian(0.0)]
    [0.3183099, 0.0, -0.3183099]
    """,
    """Value of :func:`lorentzian` and its partial derivatives, sharing ``1/(1 + u**2)``.

    With ``u = (x - center)/sigma``, ``r = 1/(1 + u**2)`` and ``l = lorentzian(x, 1, ...)``:
    ``d/damplitude = l``, ``d/dcenter = 2 amplitude l u r / sigma``,
    ``d/dsigma = amplitude l (1 - 2 r) / sigma``.

    Returns
    -------
    value : numpy.ndarray
        As :func:`lorentzian`.
    jacobian : tuple of numpy.ndarray
        ``(d/damplitude, d/dcenter, d/dsigma)``, each of the value's shape.

    Examples
    --------
    >>> value, (d_amp, d_cen, d_sig) = lorentzian_value_and_jacobian(1.0, amplitude=np.pi)
    >>> [round(float(v), 12) for v in (value, d_amp, d_cen, d_sig)]
    [0.5, 0.159154943092, 0.5, 0.0]
    """,
)


def _voigt(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike | None = None,
):
    """Voigt profile (Gaussian convolved with Lorentzian) of area ``amplitude``.

    ``voigt(x, amplitude, center, sigma, gamma) = amplitude Re[w(z)] / (sqrt(2 pi) sigma)``,
    ``z = (x - center + i gamma) / (sqrt(2) sigma)``, with ``w`` the Faddeeva function
    (:func:`scipy.special.wofz`).  ``gamma=None`` means ``gamma = sigma`` (lmfit's default
    constraint).  FWHM ``~= 1.0692 gamma + sqrt(0.8664 gamma**2 + 5.545083 sigma**2)``
    (``~= 3.6013 sigma`` for ``gamma = sigma``); height ``= voigt(center, ...)``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Area under the peak.
    center : array_like, scalar or shape (B, 1)
        Peak position, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Standard deviation of the Gaussian component, units of ``x`` (floored at ``TINY``).
    gamma : array_like or None, scalar or shape (B, 1)
        Half width at half maximum of the Lorentzian component, units of ``x``.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> from scipy.special import voigt_profile
    >>> bool(np.isclose(voigt(0.3, 2.0, 0.0, 1.0, 0.5), 2.0 * voigt_profile(0.3, 1.0, 0.5)))
    True
    """
    if gamma is None:
        gamma = sigma
    k = 1.0 / np.maximum(TINY, SQRT2 * sigma)
    z = np.empty(_shape(x, amplitude, center, sigma, gamma), dtype=complex)
    if np.iscomplexobj(x):  # lmfit's voigt at complex x: the same z, real part of w
        np.subtract(x, center, out=z)
        z += 1j * np.asarray(gamma)
    else:
        np.subtract(x, center, out=z.real)
        z.imag[...] = gamma
    z *= k  # (x - center + i gamma) / (sqrt(2) sigma)
    w = wofz(z, out=None if parts & JACOBIAN else z)
    value = jacobian = None
    if parts & VALUE:
        value = np.multiply(w.real, amplitude / np.maximum(TINY, SQRT2PI * sigma))
    if parts & JACOBIAN:
        n = 1.0 / np.maximum(TINY, SQRT2PI * sigma)
        zw = z * w
        d_amplitude = w.real * n
        scale = amplitude * n * k
        d_center = zw.real * (2.0 * scale)
        d_gamma = zw.imag * (2.0 * scale)
        d_gamma -= (2.0 / SQRTPI) * scale
        # Re(z w') = -2 Im(z)/sqrt(pi) - 2 Re(z * zw); d_sigma = -(A n / sigma)(Re w + Re(z w'))
        zw *= z
        d_sigma = zw.real * 2.0
        d_sigma += (2.0 / SQRTPI) * z.imag
        d_sigma -= w.real
        d_sigma *= scale * SQRT2
        jacobian = (d_amplitude, d_center, d_sigma, d_gamma)
    return value, jacobian


voigt, voigt_jacobian = derive(
    _voigt,
    """Partial derivatives of :func:`voigt`, from ``w'(z) = -2 z w(z) + 2i/sqrt(pi)``.

    With ``n = 1/(sqrt(2 pi) sigma)``, ``k = 1/(sqrt(2) sigma)``, ``V`` the value:
    ``d/damplitude = n Re w``, ``d/dcenter = -amplitude n k Re w'``,
    ``d/dgamma = -amplitude n k Im w'``,
    ``d/dsigma = -(amplitude n / sigma) (Re w + Re(z w'))``.
    Four arrays are always returned; with ``gamma=None`` they are the partial derivatives at
    ``gamma = sigma`` (``d/dsigma`` holds ``gamma`` fixed, so the total derivative along the
    tie is ``d/dsigma + d/dgamma``).

    Examples
    --------
    >>> [round(float(d), 6) for d in voigt_jacobian(0.0, gamma=0.5)][:2]
    [0.278955, 0.0]
    """,
)


def _pvoigt(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    fraction: ArrayLike = 0.5,
):
    """Pseudo-Voigt: a weighted sum of a Gaussian and a Lorentzian of equal FWHM and area.

    ``pvoigt(x, amplitude, center, sigma, fraction) =
    (1 - fraction) gaussian(x, amplitude, center, sigma_g)
    + fraction lorentzian(x, amplitude, center, sigma)``

    with ``sigma_g = sigma / sqrt(2 ln 2)``, so both components have FWHM ``2 sigma``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Area under the peak.
    center : array_like, scalar or shape (B, 1)
        Peak position, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Half width at half maximum, units of ``x``.
    fraction : array_like, scalar or shape (B, 1)
        Lorentzian weight, normally in [0, 1].

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> bool(np.isclose(pvoigt(0.2, fraction=1.0), lorentzian(0.2)))
    True
    """
    shape = _shape(x, amplitude, center, sigma, fraction)
    gauss_weight = 1.0 - np.asarray(fraction)
    value, gauss = _gaussian_unit(
        parts, x, amplitude * gauss_weight, center, sigma / PVOIGT_SIGMA_RATIO, shape
    )
    value_l, lor = _lorentzian_unit(parts, x, amplitude * np.asarray(fraction), center, sigma,
                                    shape)
    if parts & VALUE:
        value += value_l
    if not parts & JACOBIAN:
        return value, None
    (g, g_center, g_sigma), (lor, l_center, l_sigma) = gauss, lor
    d_fraction = lor - g
    d_fraction *= amplitude
    g *= gauss_weight
    lor *= fraction
    g += lor
    g_center *= gauss_weight
    l_center *= fraction
    g_center += l_center
    g_center *= amplitude
    g_sigma *= gauss_weight / PVOIGT_SIGMA_RATIO
    l_sigma *= fraction
    g_sigma += l_sigma
    g_sigma *= amplitude
    return value, (g, g_center, g_sigma, d_fraction)


pvoigt, pvoigt_jacobian = derive(
    _pvoigt,
    """Partial derivatives of :func:`pvoigt`.

    With unit-area components ``G`` (width ``sigma_g``) and ``L``:
    ``d/damplitude = (1 - fraction) G + fraction L``,
    ``d/dcenter = amplitude ((1 - fraction) dG/dcenter + fraction dL/dcenter)``,
    ``d/dsigma = amplitude ((1 - fraction) dG/dsigma_g / sqrt(2 ln 2) + fraction dL/dsigma)``,
    ``d/dfraction = amplitude (L - G)``.

    Examples
    --------
    >>> [round(float(d), 6) for d in pvoigt_jacobian(0.0, fraction=1.0)]
    [0.31831, 0.0, -0.31831, -0.151409]
    """,
)


def _moffat(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    beta: ArrayLike = 1.0,
):
    """Moffat profile of height ``amplitude``.

    ``moffat(x, amplitude, center, sigma, beta) = amplitude / (1 + ((x - center)/sigma)**2)**beta``

    FWHM ``= 2 sigma sqrt(2**(1/beta) - 1)``; height ``= amplitude``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Peak height.
    center : array_like, scalar or shape (B, 1)
        Peak position, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Width, units of ``x`` (floored at ``TINY``).
    beta : array_like, scalar or shape (B, 1)
        Dimensionless exponent (``beta = 1`` is a Lorentzian of height ``amplitude``).

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> moffat([0.0, 1.0], amplitude=2.0).tolist()
    [2.0, 1.0]
    """
    only_value = not parts & JACOBIAN
    inv_sigma = 1.0 / np.maximum(TINY, sigma)
    u = _empty(x, amplitude, center, sigma, beta)
    np.subtract(x, center, out=u)
    u *= inv_sigma
    u2 = np.square(u, out=u if only_value else None)
    value = None
    if parts & VALUE:
        q = np.add(u2, 1.0, out=u2 if only_value else None)
        np.power(q, beta, out=q)
        value = np.divide(amplitude, q, out=q)
    if only_value:
        return value, None
    log_q = np.log1p(u2)
    d_amplitude = log_q * np.negative(beta)
    np.exp(d_amplitude, out=d_amplitude)
    moffat_value = d_amplitude * amplitude
    u2 += 1.0
    np.reciprocal(u2, out=u2)
    u *= u2
    u *= moffat_value
    factor = 2.0 * np.asarray(beta) * inv_sigma
    u *= factor
    np.subtract(1.0, u2, out=u2)
    u2 *= moffat_value
    u2 *= factor
    log_q *= moffat_value
    np.negative(log_q, out=log_q)
    return value, (d_amplitude, u, u2, log_q)


moffat, moffat_jacobian = derive(
    _moffat,
    """Partial derivatives of :func:`moffat`.

    With ``u = (x - center)/sigma``, ``q = 1 + u**2`` and ``M`` the value:
    ``d/damplitude = q**-beta``, ``d/dcenter = 2 beta M u / (sigma q)``,
    ``d/dsigma = 2 beta M (1 - 1/q) / sigma``, ``d/dbeta = -M log(q)``.

    Examples
    --------
    >>> [round(float(d), 6) for d in moffat_jacobian(1.0)]
    [0.5, 0.5, 0.5, -0.346574]
    """,
)
