"""The peak and oscillation lineshapes of lmfit 1.3 parity (2-D Gaussian, split Lorentzian,
Pearson IV, Breit-Wigner-Fano, DHO, log-normal, Doniach-Sunjic, skewed Voigt, decaying
sine) with their Jacobians.

Private module; the public names are re-exported by :mod:`paramfit.models.lineshapes`
(through :mod:`paramfit.models.lineshapes.extended`).
Each lineshape is one kernel turned into its public functions by
:func:`~paramfit.models.lineshapes._registry.derive`.  Floors on widths and denominators
are where lmfit has them (``TINY = 1e-15``); the derivatives are those of the formula at
the floored value (exact above the floor, blind to it below), as in the other modules.
The kernels favour clarity over in-place arithmetic: none of them is on a benchmarked
hot path.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, erf, loggamma

from paramfit.models.lineshapes._registry import JACOBIAN, VALUE, derive
from paramfit.models.lineshapes.basic import TINY, _dtype, _shape
from paramfit.models.lineshapes.peaks import SQRT2, SQRTPI, _gaussian_unit, _voigt

__all__ = [
    "gaussian2d", "gaussian2d_jacobian",
    "split_lorentzian", "split_lorentzian_jacobian",
    "pearson4", "pearson4_jacobian",
    "breit_wigner", "breit_wigner_jacobian",
    "dho", "dho_jacobian",
    "lognormal", "lognormal_jacobian",
    "doniach", "doniach_jacobian",
    "skewed_voigt", "skewed_voigt_jacobian",
    "expsine", "expsine_jacobian",
]


def _full(value: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """A writable array of ``shape`` filled from ``value`` (broadcast): float, or complex
    for complex ``value``."""
    out = np.empty(shape, dtype=_dtype(value))
    out[...] = value
    return out


def _gaussian2d(
    parts: int,
    x: ArrayLike,
    y: ArrayLike = 0.0,
    amplitude: ArrayLike = 1.0,
    centerx: ArrayLike = 0.0,
    centery: ArrayLike = 0.0,
    sigmax: ArrayLike = 1.0,
    sigmay: ArrayLike = 1.0,
):
    """Two-dimensional Gaussian of volume ``amplitude`` (lmfit's ``gaussian2d``).

    ``gaussian2d(x, y, amplitude, centerx, centery, sigmax, sigmay) = amplitude
    g(x; centerx, sigmax) g(y; centery, sigmay)`` with ``g`` the unit-area Gaussian of
    :func:`gaussian` (the same ``TINY`` floors).

    Parameters
    ----------
    x, y : array_like
        The two independent variables (broadcast together).
    amplitude : array_like
        Volume under the surface.
    centerx, centery : array_like
        Position of the maximum.
    sigmax, sigmay : array_like
        Standard deviations along ``x`` and ``y``.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> round(float(gaussian2d(0.0, 0.0)), 7)  # 1/(2 pi)
    0.1591549
    """
    shape = _shape(x, y, amplitude, centerx, centery, sigmax, sigmay)
    _, (gx, dgx_c, dgx_s) = _gaussian_unit(JACOBIAN, np.broadcast_to(x, shape), 1.0,
                                           centerx, sigmax, shape)
    _, (gy, dgy_c, dgy_s) = _gaussian_unit(JACOBIAN, np.broadcast_to(y, shape), 1.0,
                                           centery, sigmay, shape)
    value = amplitude * (gx * gy) if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    d_y = -amplitude * gx * dgy_c  # d/dy = -d/dcentery
    return value, (d_y, gx * gy, amplitude * dgx_c * gy, amplitude * gx * dgy_c,
                   amplitude * dgx_s * gy, amplitude * gx * dgy_s)


gaussian2d, gaussian2d_jacobian = derive(
    _gaussian2d,
    """Partial derivatives of :func:`gaussian2d`: ``(d/dy, d/damplitude, d/dcenterx,
    d/dcentery, d/dsigmax, d/dsigmay)``, products of the 1-D Gaussian's derivatives.

    Examples
    --------
    >>> [round(float(d), 7) for d in gaussian2d_jacobian(0.0, 0.0)][1]
    0.1591549
    """,
)


def _split_lorentzian(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    sigma_r: ArrayLike = 1.0,
):
    """Lorentzian with half widths ``sigma`` left and ``sigma_r`` right of ``center``.

    ``split_lorentzian = 2 amplitude / (pi (sigma + sigma_r)) * s**2 / (s**2 + (x -
    center)**2)`` with ``s = sigma`` for ``x < center`` and ``s = sigma_r`` otherwise;
    area ``amplitude``.  Both widths are floored at ``TINY``.

    Examples
    --------
    >>> round(float(split_lorentzian(0.0, sigma=1.0, sigma_r=1.0)), 7)  # 1/pi
    0.3183099
    """
    s = np.maximum(TINY, sigma)
    r = np.maximum(TINY, sigma_r)
    d = np.subtract(x, center)
    d2 = d * d
    left = d < 0
    w = np.where(left, s, r)
    ww = w * w
    q = 1.0 / (ww + d2)
    shape_part = ww * q
    amp = 2.0 * amplitude / (np.pi * (s + r))
    value = amp * shape_part if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    shape = _shape(x, amplitude, center, sigma, sigma_r)
    v = _full(amp * shape_part, shape)
    d_width = amp * 2.0 * w * d2 * q * q  # derivative of ww/(ww+d2) times amp
    base = -v / (s + r)
    return value, (
        _full(shape_part * (2.0 / (np.pi * (s + r))), shape),
        _full(amp * 2.0 * d * ww * q * q, shape),
        _full(base + np.where(left, d_width, 0.0), shape),
        _full(base + np.where(left, 0.0, d_width), shape),
    )


split_lorentzian, split_lorentzian_jacobian = derive(
    _split_lorentzian,
    """Partial derivatives of :func:`split_lorentzian` (amplitude, center, sigma,
    sigma_r); each width moves its own side and the common normalisation.

    Examples
    --------
    >>> [round(float(d), 7) for d in split_lorentzian_jacobian(0.0)][:2]
    [0.3183099, 0.0]
    """,
)


def _pearson4(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    expon: ArrayLike = 1.0,
    skew: ArrayLike = 0.0,
):
    """Pearson type IV peak of area ``amplitude`` (Wikipedia's parameterisation).

    ``pearson4 = amplitude / sigma * |Gamma(m + i nu/2) / Gamma(m)|**2 / B(m - 1/2, 1/2)
    * (1 + a**2)**(-m) * exp(-nu arctan(a))`` with ``a = (x - center)/sigma``,
    ``m = expon``, ``nu = skew``; ``expon`` and ``sigma`` floored at ``TINY``.

    Examples
    --------
    >>> from scipy.integrate import quad
    >>> round(quad(lambda t: pearson4(t, expon=1.5, skew=1.0), -np.inf, np.inf)[0], 7)
    1.0
    """
    m = np.maximum(TINY, expon)
    s = np.maximum(TINY, sigma)
    a = (np.subtract(x, center)) / s
    z = m + 0.5j * np.asarray(skew)
    log_norm = 2.0 * (np.real(loggamma(z)) - loggamma(m)) - betaln(m - 0.5, 0.5)
    one_a2 = 1.0 + a * a
    unit = np.exp(log_norm - m * np.log1p(a * a) - skew * np.arctan(a)) / s
    v = amplitude * unit
    value = v if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    shape = _shape(x, amplitude, center, sigma, expon, skew)
    slope = (2.0 * m * a + skew) / one_a2  # -d(log v)/da
    psi_z = digamma(z)
    d_log_m = (2.0 * np.real(psi_z) - 2.0 * digamma(m)
               - (digamma(m - 0.5) - digamma(m)) - np.log1p(a * a))
    d_log_nu = -np.imag(psi_z) - np.arctan(a)
    d_amplitude = unit
    return value, (
        _full(d_amplitude, shape),
        _full(v * slope / s, shape),
        _full(v * (a * slope - 1.0) / s, shape),
        _full(v * d_log_m, shape),
        _full(v * d_log_nu, shape),
    )


pearson4, pearson4_jacobian = derive(
    _pearson4,
    """Partial derivatives of :func:`pearson4` (amplitude, center, sigma, expon, skew),
    from ``d log|Gamma(m + i nu/2)|**2 / dm = 2 Re psi(m + i nu/2)`` and
    ``d/dnu = -Im psi(m + i nu/2)`` (``psi`` the digamma function).

    Examples
    --------
    >>> round(float(pearson4_jacobian(0.0)[1]), 7)  # symmetric: zero slope at center
    0.0
    """,
)


def _breit_wigner(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    q: ArrayLike = 1.0,
):
    """Breit-Wigner-Fano lineshape.

    ``breit_wigner = amplitude (q sigma/2 + x - center)**2 / ((sigma/2)**2 + (x -
    center)**2)`` (no floor, as lmfit).

    Examples
    --------
    >>> float(breit_wigner(0.0, sigma=2.0, q=1.0))
    1.0
    """
    g = 0.5 * np.asarray(sigma)
    d = np.subtract(x, center)
    n = q * g + d
    den = g * g + d * d
    v = amplitude * n * n / den
    value = v if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    shape = _shape(x, amplitude, center, sigma, q)
    dv_dd = amplitude * (2.0 * n * den - n * n * 2.0 * d) / (den * den)
    dv_dg = amplitude * (2.0 * q * n * den - n * n * 2.0 * g) / (den * den)
    return value, (_full(n * n / den, shape), _full(-dv_dd, shape),
                   _full(0.5 * dv_dg, shape), _full(amplitude * 2.0 * n * g / den, shape))


breit_wigner, breit_wigner_jacobian = derive(
    _breit_wigner,
    """Partial derivatives of :func:`breit_wigner` (amplitude, center, sigma, q).

    Examples
    --------
    >>> [float(d) for d in breit_wigner_jacobian(0.0, sigma=2.0)]
    [1.0, -2.0, 0.0, 2.0]
    """,
)


def _dho(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 1.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike = 1.0,
):
    """Damped harmonic oscillator (PAN's form).

    ``dho = amplitude sigma / pi * (lm - lp) / (1 - exp(-x/gamma))`` with
    ``lm = 1/((x - center)**2 + sigma**2)``, ``lp = 1/((x + center)**2 + sigma**2)``; at
    ``x = 0`` (``numpy.isclose``) its limit ``4 gamma center / (center**2 + sigma**2)**2``
    times ``amplitude sigma / pi``.  ``gamma`` is floored at ``TINY`` in the exponent and
    the Bose factor ``1 - exp(-x/gamma)`` at ``TINY`` (NaN too), as lmfit.

    Examples
    --------
    >>> round(float(dho(0.0)), 7)  # sigma/pi * 4/(1+1)**2
    0.3183099
    """
    x = np.asarray(x, dtype=_dtype(x))
    shape = _shape(x, amplitude, center, sigma, gamma)
    x = np.broadcast_to(x, shape)
    factor = np.asarray(amplitude) * sigma / np.pi
    gam = np.maximum(TINY, gamma)
    e = np.exp(-x / gam)
    bose = 1.0 - e
    bose = np.where(np.isnan(bose) | (np.abs(bose) <= TINY), TINY, bose)
    lm = 1.0 / ((x - center) ** 2 + sigma * sigma)
    lp = 1.0 / ((x + center) ** 2 + sigma * sigma)
    at_zero = np.isclose(x, 0.0)
    c2s2 = center * center + sigma * sigma
    unit = np.where(at_zero, 4.0 * gamma * center / c2s2 ** 2, (lm - lp) / bose)
    v = factor * unit
    value = v if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    d_amplitude = sigma / np.pi * unit
    d_center = factor * np.where(at_zero, 4.0 * gamma * (sigma * sigma - 3.0 * center ** 2)
                                 / c2s2 ** 3,
                                 (2.0 * (x - center) * lm * lm
                                  + 2.0 * (x + center) * lp * lp) / bose)
    d_unit_sigma = np.where(at_zero, -16.0 * gamma * center * sigma / c2s2 ** 3,
                            2.0 * sigma * (lp * lp - lm * lm) / bose)
    d_sigma = np.asarray(amplitude) / np.pi * unit + factor * d_unit_sigma
    with np.errstate(over="ignore", invalid="ignore"):
        d_bose_inv = np.where(np.abs(1.0 - e) <= TINY, 0.0, e * x / (gam * gam * bose * bose))
    d_gamma = factor * np.where(at_zero, 4.0 * center / c2s2 ** 2, (lm - lp) * d_bose_inv)
    return value, (_full(d_amplitude, shape), _full(d_center, shape),
                   _full(d_sigma, shape), _full(d_gamma, shape))


dho, dho_jacobian = derive(
    _dho,
    """Partial derivatives of :func:`dho` (amplitude, center, sigma, gamma), of the
    ``x = 0`` limit where the value uses it.

    Examples
    --------
    >>> round(float(dho_jacobian(0.0)[3]), 7)  # amplitude sigma/pi * 4 center/c2s2**2
    0.3183099
    """,
)


def _lognormal(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
):
    """Log-normal distribution of area ``amplitude``.

    ``lognormal = amplitude / (x sigma sqrt(2 pi)) exp(-(ln x - center)**2 / (2
    sigma**2))``; ``x`` is floored at ``TINY`` (a copy: the argument is not modified),
    ``sqrt(2 pi) sigma`` and ``2 sigma**2`` at ``TINY``.

    Examples
    --------
    >>> round(float(lognormal(1.0)), 7)
    0.3989423
    """
    xt = np.maximum(TINY, np.asarray(x, dtype=_dtype(x)))
    lx = np.log(xt) - center
    e = np.exp(-lx * lx / np.maximum(TINY, 2.0 * sigma * sigma))
    unit = e / (xt * np.maximum(TINY, sigma * np.sqrt(2.0 * np.pi)))
    v = amplitude * unit
    value = v if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    shape = _shape(x, amplitude, center, sigma)
    return value, (_full(unit, shape), _full(v * lx / (sigma * sigma), shape),
                   _full(v * (lx * lx / (sigma * sigma) - 1.0) / sigma, shape))


lognormal, lognormal_jacobian = derive(
    _lognormal,
    """Partial derivatives of :func:`lognormal` (amplitude, center, sigma).

    Examples
    --------
    >>> [round(float(d), 7) for d in lognormal_jacobian(1.0)]
    [0.3989423, 0.0, -0.3989423]
    """,
)


def _doniach(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike = 0.0,
):
    """Doniach-Sunjic asymmetric lineshape (photo-emission).

    ``doniach = amplitude / sigma**(1 - gamma) * cos(pi gamma/2 + (1 - gamma) arctan(a))
    / (1 + a**2)**((1 - gamma)/2)``, ``a = (x - center)/sigma`` (``sigma`` and
    ``sigma**(1 - gamma)`` floored at ``TINY``).

    Examples
    --------
    >>> float(doniach(0.0))
    1.0
    """
    a = np.subtract(x, center) / np.maximum(TINY, sigma)
    gm1 = 1.0 - np.asarray(gamma)
    scale = amplitude / np.maximum(TINY, sigma ** gm1)
    phi = np.pi * np.asarray(gamma) / 2.0 + gm1 * np.arctan(a)
    p = (1.0 + a * a) ** (-gm1 / 2.0)
    v = scale * np.cos(phi) * p
    value = v if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    shape = _shape(x, amplitude, center, sigma, gamma)
    one_a2 = 1.0 + a * a
    dv_da = -scale * gm1 * p * (np.sin(phi) + a * np.cos(phi)) / one_a2
    with np.errstate(divide="ignore", invalid="ignore"):
        d_amplitude = np.cos(phi) * p / np.maximum(TINY, sigma ** gm1)
        log_s = np.log(sigma)
    d_gamma = v * (log_s + 0.5 * np.log1p(a * a)) - scale * p * np.sin(phi) * (
        np.pi / 2.0 - np.arctan(a))
    return value, (_full(d_amplitude, shape), _full(-dv_da / sigma, shape),
                   _full(-gm1 * v / sigma - dv_da * a / sigma, shape), _full(d_gamma, shape))


doniach, doniach_jacobian = derive(
    _doniach,
    """Partial derivatives of :func:`doniach` (amplitude, center, sigma, gamma).

    Examples
    --------
    >>> [round(float(d), 7) for d in doniach_jacobian(0.0)][:3]
    [1.0, 0.0, -1.0]
    """,
)


def _skewed_voigt(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    center: ArrayLike = 0.0,
    sigma: ArrayLike = 1.0,
    gamma: ArrayLike | None = None,
    skew: ArrayLike = 0.0,
):
    """Voigt profile skewed by the error function.

    ``skewed_voigt = voigt(x, amplitude, center, sigma, gamma) * (1 + erf(beta (x -
    center)))``, ``beta = skew / (sqrt(2) sigma)`` (``sqrt(2) sigma`` floored at ``TINY``);
    ``gamma=None`` means ``gamma = sigma`` as in :func:`voigt`.

    Examples
    --------
    >>> from paramfit.models.lineshapes import voigt
    >>> bool(np.isclose(skewed_voigt(0.3, skew=0.0), voigt(0.3)))
    True
    """
    from_sigma = gamma is None
    gamma = sigma if from_sigma else gamma
    shape = _shape(x, amplitude, center, sigma, gamma, skew)
    beta = skew / np.maximum(TINY, SQRT2 * sigma)
    d = np.subtract(x, center)
    asym = 1.0 + erf(beta * d)
    voigt_value, voigt_jac = _voigt(parts | VALUE, np.broadcast_to(x, shape), amplitude,
                                    center, sigma, gamma)
    value = asym * voigt_value if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    bump = (2.0 / SQRTPI) * np.exp(-(beta * d) ** 2) * voigt_value
    d_amp, d_cen, d_sig, d_gam = voigt_jac
    return value, (
        _full(asym * d_amp, shape),
        _full(asym * d_cen - bump * beta, shape),
        _full(asym * d_sig - bump * d * beta / sigma, shape),
        _full(asym * d_gam, shape),
        _full(bump * d / (SQRT2 * sigma), shape),
    )


skewed_voigt, skewed_voigt_jacobian = derive(
    _skewed_voigt,
    """Partial derivatives of :func:`skewed_voigt` (amplitude, center, sigma, gamma,
    skew); with ``gamma=None`` they are taken at ``gamma = sigma`` with ``gamma`` held
    fixed (as :func:`voigt_jacobian`).

    Examples
    --------
    >>> from paramfit.models.lineshapes import voigt
    >>> bool(np.isclose(skewed_voigt_jacobian(0.0)[0], voigt(0.0)))
    True
    """,
)


def _expsine(
    parts: int,
    x: ArrayLike,
    amplitude: ArrayLike = 1.0,
    frequency: ArrayLike = 1.0,
    shift: ArrayLike = 0.0,
    decay: ArrayLike = 0.0,
):
    """Exponentially decaying sinusoid.

    ``expsine = amplitude sin(frequency x + shift) exp(-decay x)``.

    Examples
    --------
    >>> round(float(expsine(np.pi / 2, decay=0.0)), 12)
    1.0
    """
    phase = np.multiply(x, frequency) + shift
    e = np.exp(-np.multiply(x, decay))
    s = np.sin(phase) * e
    v = amplitude * s
    value = v if parts & VALUE else None
    if not parts & JACOBIAN:
        return value, None
    shape = _shape(x, amplitude, frequency, shift, decay)
    c = amplitude * np.cos(phase) * e
    return value, (_full(s, shape), _full(c * x, shape), _full(c, shape),
                   _full(-np.multiply(x, v), shape))


expsine, expsine_jacobian = derive(
    _expsine,
    """Partial derivatives of :func:`expsine` (amplitude, frequency, shift, decay).

    Examples
    --------
    >>> [round(float(d), 12) for d in expsine_jacobian(0.0)]
    [0.0, 0.0, 1.0, -0.0]
    """,
)

