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

from paramfit.models.lineshapes.basic import TINY, _empty, _shape, scalar_safe

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


def _gaussian_unit(x, center, sigma, shape):
    """Unit-amplitude Gaussian ``g`` and ``(dg/dcenter, dg/dsigma)``, all of ``shape``."""
    norm = 1.0 / np.maximum(TINY, SQRT2PI * sigma)
    inv_var = 2.0 / np.maximum(TINY, 2.0 * sigma * sigma)
    d = np.subtract(x, center, out=np.empty(shape))
    z2 = d * d
    z2 *= inv_var
    g = np.multiply(z2, -0.5)
    np.exp(g, out=g)
    g *= norm
    d *= inv_var
    d *= g
    z2 -= 1.0
    z2 *= g
    z2 *= SQRT2PI * norm
    return g, d, z2


def _lorentzian_unit(x, center, sigma, shape):
    """Unit-amplitude Lorentzian ``l`` and ``(dl/dcenter, dl/dsigma)``, all of ``shape``."""
    inv_sigma = 1.0 / np.maximum(TINY, sigma)
    norm = 1.0 / np.maximum(TINY, np.pi * sigma)
    u = np.subtract(x, center, out=np.empty(shape))
    u *= inv_sigma
    r = u * u
    r += 1.0
    np.reciprocal(r, out=r)
    lor = r * norm
    u *= r
    u *= 2.0 * inv_sigma
    u *= lor
    r *= -2.0
    r += 1.0
    r *= lor
    r *= inv_sigma
    return lor, u, r


@scalar_safe
def gaussian(
    x: ArrayLike, amplitude: ArrayLike = 1.0, center: ArrayLike = 0.0, sigma: ArrayLike = 1.0
) -> np.ndarray:
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
    out = _empty(x, amplitude, center, sigma)
    np.subtract(x, center, out=out)
    np.square(out, out=out)
    out *= -1.0 / np.maximum(TINY, 2.0 * sigma * sigma)
    np.exp(out, out=out)
    out *= amplitude / np.maximum(TINY, SQRT2PI * sigma)
    return out


@scalar_safe
def gaussian_value_and_jacobian(
    x: ArrayLike, amplitude: ArrayLike = 1.0, center: ArrayLike = 0.0, sigma: ArrayLike = 1.0
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
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
    """
    g, d_center, d_sigma = _gaussian_unit(x, center, sigma, _shape(x, amplitude, center, sigma))
    value = g * amplitude
    d_center *= amplitude
    d_sigma *= amplitude
    return value, (g, d_center, d_sigma)


@scalar_safe
def gaussian_jacobian(
    x: ArrayLike, amplitude: ArrayLike = 1.0, center: ArrayLike = 0.0, sigma: ArrayLike = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partial derivatives of :func:`gaussian` (see :func:`gaussian_value_and_jacobian`).

    Examples
    --------
    >>> [round(float(d), 7) for d in gaussian_jacobian(0.0)]
    [0.3989423, 0.0, -0.3989423]
    """
    return gaussian_value_and_jacobian(x, amplitude, center, sigma)[1]


@scalar_safe
def lorentzian(
    x: ArrayLike, amplitude: ArrayLike = 1.0, center: ArrayLike = 0.0, sigma: ArrayLike = 1.0
) -> np.ndarray:
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
    out = _empty(x, amplitude, center, sigma)
    np.subtract(x, center, out=out)
    out *= 1.0 / np.maximum(TINY, sigma)
    np.square(out, out=out)
    out += 1.0
    np.divide(amplitude / np.maximum(TINY, np.pi * sigma), out, out=out)
    return out


@scalar_safe
def lorentzian_value_and_jacobian(
    x: ArrayLike, amplitude: ArrayLike = 1.0, center: ArrayLike = 0.0, sigma: ArrayLike = 1.0
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
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
    """
    lor, d_center, d_sigma = _lorentzian_unit(x, center, sigma, _shape(x, amplitude, center, sigma))
    value = lor * amplitude
    d_center *= amplitude
    d_sigma *= amplitude
    return value, (lor, d_center, d_sigma)


@scalar_safe
def lorentzian_jacobian(
    x: ArrayLike, amplitude: ArrayLike = 1.0, center: ArrayLike = 0.0, sigma: ArrayLike = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partial derivatives of :func:`lorentzian` (see :func:`lorentzian_value_and_jacobian`).

    Examples
    --------
    >>> [round(float(d), 7) for d in lorentzian_jacobian(0.0)]
    [0.3183099, 0.0, -0.3183099]
    """
    return lorentzian_value_and_jacobian(x, amplitude, center, sigma)[1]


def _voigt_z(x, center, sigma, gamma, shape):
    """``z = (x - center + i gamma) / (sqrt(2) sigma)`` of ``shape`` and ``1/(sqrt(2) sigma)``."""
    inv = 1.0 / np.maximum(TINY, SQRT2 * sigma)
    z = np.empty(shape, dtype=complex)
    np.subtract(x, center, out=z.real)
    z.imag[...] = gamma
    z *= inv
    return z, inv


@scalar_safe
def voigt(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike | None = None,
) -> np.ndarray:
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
    z, _ = _voigt_z(x, center, sigma, gamma, _shape(x, amplitude, center, sigma, gamma))
    return np.multiply(wofz(z, out=z).real, amplitude / np.maximum(TINY, SQRT2PI * sigma))


@scalar_safe
def voigt_jacobian(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    """
    if gamma is None:
        gamma = sigma
    z, k = _voigt_z(x, center, sigma, gamma, _shape(x, amplitude, center, sigma, gamma))
    w = wofz(z)
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
    return d_amplitude, d_center, d_sigma, d_gamma


@scalar_safe
def pvoigt(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    fraction: ArrayLike = 0.5,
) -> np.ndarray:
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
    out = gaussian(x, amplitude * (1.0 - np.asarray(fraction)), center, sigma / PVOIGT_SIGMA_RATIO)
    out += lorentzian(x, amplitude * np.asarray(fraction), center, sigma)
    return out


@scalar_safe
def pvoigt_jacobian(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    fraction: ArrayLike = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    """
    shape = _shape(x, amplitude, center, sigma, fraction)
    g, g_center, g_sigma = _gaussian_unit(x, center, sigma / PVOIGT_SIGMA_RATIO, shape)
    lor, l_center, l_sigma = _lorentzian_unit(x, center, sigma, shape)
    gauss_weight = 1.0 - np.asarray(fraction)
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
    return g, g_center, g_sigma, d_fraction


@scalar_safe
def moffat(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    beta: ArrayLike = 1.0,
) -> np.ndarray:
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
    out = _empty(x, amplitude, center, sigma, beta)
    np.subtract(x, center, out=out)
    out *= 1.0 / np.maximum(TINY, sigma)
    np.square(out, out=out)
    out += 1.0
    np.power(out, beta, out=out)
    np.divide(amplitude, out, out=out)
    return out


@scalar_safe
def moffat_jacobian(
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    beta: ArrayLike = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Partial derivatives of :func:`moffat`.

    With ``u = (x - center)/sigma``, ``q = 1 + u**2`` and ``M`` the value:
    ``d/damplitude = q**-beta``, ``d/dcenter = 2 beta M u / (sigma q)``,
    ``d/dsigma = 2 beta M (1 - 1/q) / sigma``, ``d/dbeta = -M log(q)``.

    Examples
    --------
    >>> [round(float(d), 6) for d in moffat_jacobian(1.0)]
    [0.5, 0.5, 0.5, -0.346574]
    """
    inv_sigma = 1.0 / np.maximum(TINY, sigma)
    u = _empty(x, amplitude, center, sigma, beta)
    np.subtract(x, center, out=u)
    u *= inv_sigma
    u2 = u * u
    log_q = np.log1p(u2)
    d_amplitude = log_q * np.negative(beta)
    np.exp(d_amplitude, out=d_amplitude)
    value = d_amplitude * amplitude
    u2 += 1.0
    np.reciprocal(u2, out=u2)
    u *= u2
    u *= value
    factor = 2.0 * np.asarray(beta) * inv_sigma
    u *= factor
    np.subtract(1.0, u2, out=u2)
    u2 *= value
    u2 *= factor
    log_q *= value
    np.negative(log_q, out=log_q)
    return d_amplitude, u, u2, log_q
