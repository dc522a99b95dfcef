"""Heavy-tailed, skewed and resonance peaks (Pearson VII, Student's t, skewed Gaussian,
exponentially modified Gaussian, damped oscillator) with their Jacobians.

Private module; the public names are re-exported by :mod:`paramfit.models.lineshapes`.  Floors on
widths follow lmfit (``TINY = 1e-15``); the derivatives are those of the formula evaluated
at the floored value, exact above the floor and ignoring it below.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, erf, erfcx, poch

from paramfit.models.lineshapes._registry import JACOBIAN, VALUE, derive
from paramfit.models.lineshapes.basic import TINY, _empty, _like, _shape
from paramfit.models.lineshapes.peaks import SQRT2, SQRTPI, _gaussian_unit

__all__ = [
    "pearson7",
    "pearson7_jacobian",
    "students_t",
    "students_t_jacobian",
    "skewed_gaussian",
    "skewed_gaussian_jacobian",
    "expgaussian",
    "expgaussian_jacobian",
    "damped_oscillator",
    "damped_oscillator_jacobian",
]

_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)


def _log_power(parts, t, exponent):
    """``log(1 + t)`` (kept where the Jacobian needs it) and ``exp(-exponent log(1 + t))``;
    with only the value wanted both overwrite ``t``."""
    only_value = not parts & JACOBIAN
    log_q = np.log1p(t, out=t if only_value else None)
    power = np.multiply(log_q, -exponent, out=log_q if only_value else None)
    return log_q, np.exp(power, out=power)


def _pearson7(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    expon: ArrayLike = 1.0,
):
    """Pearson type VII peak of area ``amplitude``.

    ``pearson7(x, amplitude, center, sigma, expon) =
    amplitude (1 + u**2)**(-expon) / (sigma B(expon - 1/2, 1/2))``, ``u = (x - center)/sigma``,

    with ``1/B(m - 1/2, 1/2) = Gamma(m) / (sqrt(pi) Gamma(m - 1/2))`` evaluated as
    ``scipy.special.poch(m - 1/2, 1/2) / sqrt(pi)`` (no overflow for large ``m``).
    FWHM ``= 2 sigma sqrt(2**(1/expon) - 1)``.  ``sigma`` and ``expon`` are floored at
    ``TINY``; the area is ``amplitude`` for ``expon > 1/2``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Area under the peak.
    center : array_like, scalar or shape (B, 1)
        Peak position, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Width, units of ``x``.
    expon : array_like, scalar or shape (B, 1)
        Dimensionless exponent (``expon = 1``: Lorentzian).

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> round(float(pearson7(1.0)), 7)  # expon = 1: Lorentzian, height 1/(2 pi) at x = sigma
    0.1591549
    """
    only_value = not parts & JACOBIAN
    expon = np.maximum(TINY, expon)
    sigma = np.maximum(TINY, sigma)
    inv_sigma = 1.0 / sigma
    u = _empty(x, amplitude, center, sigma, expon)
    np.subtract(x, center, out=u)
    u *= inv_sigma
    u2 = np.square(u, out=u if only_value else None)
    log_q, d_amplitude = _log_power(parts, u2, expon)  # d_amplitude: (1 + u**2)**-expon
    value = None
    if parts & VALUE:
        scale = amplitude * poch(expon - 0.5, 0.5) / (SQRTPI * sigma)
        value = np.multiply(d_amplitude, scale, out=d_amplitude if only_value else None)
    if only_value:
        return value, None
    d_amplitude *= poch(expon - 0.5, 0.5) * inv_sigma / SQRTPI
    pearson_value = d_amplitude * amplitude
    u2 += 1.0
    np.reciprocal(u2, out=u2)
    factor = 2.0 * expon * inv_sigma
    u *= u2
    u *= pearson_value
    u *= factor
    np.subtract(1.0, u2, out=u2)
    u2 *= factor
    u2 -= inv_sigma
    u2 *= pearson_value
    np.subtract(digamma(expon) - digamma(expon - 0.5), log_q, out=log_q)
    log_q *= pearson_value
    return value, (d_amplitude, u, u2, log_q)


pearson7, pearson7_jacobian = derive(
    _pearson7,
    """Partial derivatives of :func:`pearson7`.

    With ``q = 1 + u**2``, ``m = expon``, ``P`` the value and ``psi`` the digamma function:
    ``d/damplitude = P / amplitude``, ``d/dcenter = 2 m P u / (sigma q)``,
    ``d/dsigma = P (2 m (1 - 1/q) - 1) / sigma``,
    ``d/dexpon = P (psi(m) - psi(m - 1/2) - log q)``.  The ``TINY`` floors are not
    differentiated.

    Examples
    --------
    >>> [round(float(d), 6) for d in pearson7_jacobian(0.0)]
    [0.31831, 0.0, -0.31831, 0.441271]
    """,
)


def _students_t(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
):
    """Student's t distribution with ``sigma`` degrees of freedom, of area ``amplitude``.

    ``students_t(x, amplitude, center, sigma) = amplitude Gamma((sigma + 1)/2)
    / (sqrt(sigma pi) Gamma(sigma/2)) (1 + (x - center)**2 / sigma)**(-(sigma + 1)/2)``

    As in lmfit, ``sigma`` is the number of degrees of freedom ``nu`` (not a width; the
    scale is 1).  The Gamma ratio is evaluated as ``poch(nu/2, 1/2)`` (no overflow for large
    ``nu``) and ``nu`` is floored at ``TINY``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Area under the curve.
    center : array_like, scalar or shape (B, 1)
        Location, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Degrees of freedom ``nu > 0``.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> from scipy.stats import t
    >>> bool(np.isclose(students_t(0.7, 2.0, 0.0, 3.0), 2.0 * t.pdf(0.7, 3.0)))
    True
    """
    only_value = not parts & JACOBIAN
    nu = np.maximum(TINY, sigma)
    half_nu1 = 0.5 * (nu + 1.0)
    d = _empty(x, amplitude, center, nu)
    np.subtract(x, center, out=d)
    t = np.square(d, out=d if only_value else None)
    t *= 1.0 / nu
    log_q, d_amplitude = _log_power(parts, t, half_nu1)  # d_amplitude: q**-((nu + 1)/2)
    value = None
    if parts & VALUE:
        scale = amplitude * poch(0.5 * nu, 0.5) / np.sqrt(np.pi * nu)
        value = np.multiply(d_amplitude, scale, out=d_amplitude if only_value else None)
    if only_value:
        return value, None
    d_amplitude *= poch(0.5 * nu, 0.5) / np.sqrt(np.pi * nu)
    t_value = d_amplitude * amplitude
    t += 1.0
    np.reciprocal(t, out=t)  # 1/q
    d *= t
    d *= t_value
    d *= (nu + 1.0) / nu
    # s t / (nu q) = s (1 - 1/q) / nu
    t *= -half_nu1 / nu
    t += half_nu1 / nu + 0.5 * (digamma(half_nu1) - digamma(0.5 * nu) - 1.0 / nu)
    log_q *= 0.5
    t -= log_q
    t *= t_value
    return value, (d_amplitude, d, t)


students_t, students_t_jacobian = derive(
    _students_t,
    """Partial derivatives of :func:`students_t`.

    With ``nu = sigma``, ``d = x - center``, ``t = d**2/nu``, ``q = 1 + t``,
    ``s = (nu + 1)/2``, ``T`` the value and ``psi`` the digamma function:
    ``d/damplitude = T / amplitude``, ``d/dcenter = T (nu + 1) d / (nu q)``,
    ``d/dsigma = T ((psi(s) - psi(nu/2) - 1/nu - log q) / 2 + s t / (nu q))``.

    Examples
    --------
    >>> [round(float(d), 6) for d in students_t_jacobian(0.0)]
    [0.31831, 0.0, 0.061481]
    """,
)


def _skewed_gaussian(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike = 0.0,
):
    """Gaussian skewed by an error function (skew normal distribution), area ``amplitude``.

    ``skewed_gaussian(x, amplitude, center, sigma, gamma) =
    gaussian(x, amplitude, center, sigma) (1 + erf(gamma (x - center) / (sqrt(2) sigma)))``

    ``gamma > 0`` gives a tail towards high ``x``, ``gamma < 0`` towards low ``x``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Area under the curve.
    center : array_like, scalar or shape (B, 1)
        Location, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Scale, units of ``x`` (``sqrt(2) sigma`` floored at ``TINY``).
    gamma : array_like, scalar or shape (B, 1)
        Dimensionless skewness parameter.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> from scipy.stats import skewnorm
    >>> bool(np.isclose(skewed_gaussian(0.5, 1.0, 0.0, 2.0, 3.0), skewnorm.pdf(0.5, 3.0, 0, 2)))
    True
    """
    shape = _shape(x, amplitude, center, sigma, gamma)
    value = None
    if parts & VALUE:
        value = np.subtract(x, center, out=_like(x, shape))
        value *= gamma / np.maximum(TINY, SQRT2 * sigma)
        erf(value, out=value)
        value += 1.0
        value *= _gaussian_unit(VALUE, x, amplitude, center, sigma,
                                _shape(x, amplitude, center, sigma))[0]
    if not parts & JACOBIAN:
        return value, None
    g, g_center, g_sigma = _gaussian_unit(JACOBIAN, x, None, center, sigma, shape)[1]
    k = 1.0 / np.maximum(TINY, SQRT2 * sigma)
    w = np.subtract(x, center, out=_like(x, shape))
    w *= k
    v = w * gamma
    asym = erf(v)
    asym += 1.0
    ge = v * v
    np.negative(ge, out=ge)
    np.exp(ge, out=ge)
    ge *= g
    ge *= 2.0 / SQRTPI
    w *= ge
    w *= amplitude
    v *= ge
    v *= SQRT2 * k
    g_sigma *= asym
    g_sigma -= v
    g_sigma *= amplitude
    ge *= gamma * k
    g_center *= asym
    g_center -= ge
    g_center *= amplitude
    g *= asym
    return value, (g, g_center, g_sigma, w)


skewed_gaussian, skewed_gaussian_jacobian = derive(
    _skewed_gaussian,
    """Partial derivatives of :func:`skewed_gaussian`.

    With ``g`` the unit-area Gaussian, ``w = (x - center)/(sqrt(2) sigma)``, ``v = gamma w``,
    ``a = 1 + erf(v)`` and ``e = 2 exp(-v**2)/sqrt(pi)``:
    ``d/damplitude = a g``, ``d/dcenter = amplitude (a dg/dcenter - g e gamma / (sqrt(2) sigma))``,
    ``d/dsigma = amplitude (a dg/dsigma - g e v / sigma)``, ``d/dgamma = amplitude g e w``.

    Examples
    --------
    >>> [round(float(d), 6) for d in skewed_gaussian_jacobian(0.0)]
    [0.398942, 0.0, -0.398942, 0.0]
    """,
)


def _expgaussian_parts(x, center, sigma, gamma, shape):
    """``F = exp(a1) erfc(a2)``, ``g = exp(-d**2/(2 sigma**2))``, ``d = center - x`` and
    ``k = 1/(sqrt(2) sigma)``, with ``a1 = gamma (d + gamma sigma**2/2)``,
    ``a2 = (d + gamma sigma**2) k``.

    ``F`` is computed as ``g erfcx(a2)`` for ``a2 >= 0`` (no overflow of ``exp(a1)`` times
    underflow of ``erfc``) and as ``2 exp(a1) - g erfcx(-a2)`` for ``a2 < 0``.
    """
    k = 1.0 / np.maximum(TINY, SQRT2 * sigma)
    gamma_var = gamma * sigma * sigma
    d = np.subtract(center, x, out=_like(x, shape))
    a2 = d + gamma_var
    a2 *= k
    g = d * k
    np.square(g, out=g)
    np.negative(g, out=g)
    np.exp(g, out=g)
    negative = a2 < 0.0  # complex x: by the real part (both forms are analytic)
    if a2.dtype.kind == "c":
        f = np.negative(a2, out=a2, where=negative)
    else:
        f = np.abs(a2, out=a2)
    erfcx(f, out=f)
    f *= g
    if negative.any():
        a1 = d[negative] + np.broadcast_to(0.5 * gamma_var, shape)[negative]
        a1 *= np.broadcast_to(gamma, shape)[negative]
        f[negative] = 2.0 * np.exp(a1) - f[negative]
    return f, g, d, k


def _expgaussian(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike = 1.0,
):
    """Exponentially modified Gaussian (lmfit's ``expgaussian``), area ``amplitude``.

    ``expgaussian(x, amplitude, center, sigma, gamma) =
    amplitude (gamma/2) exp(gamma (center - x) + (gamma sigma)**2/2)
    erfc((center + gamma sigma**2 - x) / (sqrt(2) sigma))``

    evaluated through ``erfcx`` so that it stays finite far in the Gaussian tail, where
    lmfit's direct product gives ``inf * 0 = nan``.  Also available as
    ``exponential_gaussian``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Independent variable.
    amplitude : array_like, scalar or shape (B, 1)
        Area under the curve.
    center : array_like, scalar or shape (B, 1)
        Mean of the Gaussian, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Standard deviation of the Gaussian, units of ``x`` (``sqrt(2) sigma`` floored).
    gamma : array_like, scalar or shape (B, 1)
        Rate of the exponential, per unit of ``x`` (positive).

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> from scipy.stats import exponnorm
    >>> bool(np.isclose(expgaussian(1.0, 1.0, 0.0, 1.0, 0.5), exponnorm.pdf(1.0, 2.0)))
    True
    """
    shape = _shape(x, amplitude, center, sigma, gamma)
    f, h, d, k = _expgaussian_parts(x, center, sigma, gamma, shape)
    gamma = np.asarray(gamma)
    scale = 0.5 * amplitude * gamma
    value = None
    if parts & VALUE:
        value = np.multiply(f, scale, out=None if parts & JACOBIAN else f)
    if not parts & JACOBIAN:
        return value, None
    h *= _SQRT_2_OVER_PI
    d_gamma = d + gamma * sigma * sigma
    d_gamma *= f
    d_gamma -= h * sigma
    d_gamma *= scale
    d_gamma += f * (0.5 * np.asarray(amplitude))
    d_sigma = d * (2.0 * k * k)
    d_sigma -= gamma
    d_sigma *= h
    d_sigma += f * (gamma * gamma * sigma)
    d_sigma *= scale
    np.multiply(f, gamma, out=d)
    h *= SQRT2 * k
    d -= h
    d *= scale
    f *= 0.5 * gamma
    return value, (f, d, d_sigma, d_gamma)


expgaussian, expgaussian_jacobian = derive(
    _expgaussian,
    """Partial derivatives of :func:`expgaussian`.

    With ``d = center - x``, ``F = exp(a1) erfc(a2)`` (see :func:`expgaussian`),
    ``h = sqrt(2/pi) exp(-d**2/(2 sigma**2))`` and ``K = amplitude gamma / 2``:
    ``d/damplitude = gamma F / 2``, ``d/dcenter = K (gamma F - h / sigma)``,
    ``d/dsigma = K (gamma**2 sigma F - h (gamma - d / sigma**2))``,
    ``d/dgamma = amplitude F / 2 + K ((d + gamma sigma**2) F - h sigma)``.

    Examples
    --------
    >>> [round(float(d), 6) for d in expgaussian_jacobian(0.0)][:2]
    [0.261578, -0.137364]
    """,
)


def _damped_oscillator(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 1.0,
    sigma: ArrayLike = 0.1,
):
    """Amplitude response of a driven, damped harmonic oscillator.

    ``damped_oscillator(x, amplitude, center, sigma) =
    amplitude / sqrt((1 - (x/center)**2)**2 + (2 sigma x / center)**2)``

    ``|center|`` is floored at ``TINY``; the height is ``~ amplitude / (2 sigma)`` near
    ``x = center`` for small ``sigma``.

    Parameters
    ----------
    x : array_like, shape (N,) or (B, N)
        Driving frequency.
    amplitude : array_like, scalar or shape (B, 1)
        Static response (value at ``x = 0``).
    center : array_like, scalar or shape (B, 1)
        Resonance frequency, units of ``x``.
    sigma : array_like, scalar or shape (B, 1)
        Dimensionless damping ratio.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``x`` and the parameters.

    Examples
    --------
    >>> damped_oscillator([0.0, 1.0], amplitude=1.0, center=1.0, sigma=0.1).tolist()
    [1.0, 5.0]
    """
    only_value = not parts & JACOBIAN
    inv_center = 1.0 / np.maximum(TINY, np.abs(center))
    sigma2 = np.square(sigma)
    r2 = _empty(x, amplitude, center, sigma)
    np.multiply(x, inv_center, out=r2)
    np.square(r2, out=r2)  # (x/c)**2
    damping = r2 * (4.0 * sigma2)
    one_minus = np.subtract(1.0, r2, out=r2 if only_value else None)
    denominator = np.square(one_minus, out=one_minus if only_value else None)
    denominator += damping  # D
    value = None
    if parts & VALUE:
        root = np.sqrt(denominator, out=denominator if only_value else None)
        value = np.divide(amplitude, root, out=root)
    if only_value:
        return value, None
    inv_d = np.reciprocal(denominator, out=denominator)
    d_amplitude = np.sqrt(inv_d)
    r2 *= inv_d
    r2 *= d_amplitude
    r2 *= amplitude
    d_sigma = r2 * (-4.0 * np.asarray(sigma))
    one_minus -= 2.0 * sigma2
    one_minus *= r2
    one_minus *= -2.0 * np.sign(center) * inv_center
    return value, (d_amplitude, one_minus, d_sigma)


damped_oscillator, damped_oscillator_jacobian = derive(
    _damped_oscillator,
    """Partial derivatives of :func:`damped_oscillator`.

    With ``c = max(TINY, |center|)``, ``r2 = (x/c)**2``,
    ``D = (1 - r2)**2 + 4 sigma**2 r2`` and ``O`` the value:
    ``d/damplitude = D**-0.5``, ``d/dsigma = -4 sigma O r2 / D``,
    ``d/dcenter = -2 sign(center) O r2 (1 - r2 - 2 sigma**2) / (c D)``
    (0 at ``center = 0``; the floor is not differentiated).

    Examples
    --------
    >>> [round(float(d), 6) for d in damped_oscillator_jacobian(1.0)]
    [5.0, 5.0, -50.0]
    """,
)
