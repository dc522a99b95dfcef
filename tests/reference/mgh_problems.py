"""Moré, Garbow and Hillstrom (1981) least-squares test problems.

Each problem gives residuals ``f(x) -> (m,)``; the objective is ``F(x) = sum(f(x)**2)``.
The standard starting point ``x0`` and the minima ``F*`` are those published in the paper
(six significant digits; some problems list several minima, among them minima reached only
as parameters run to infinity -- all are listed in ``minima``). Problem numbers are the
paper's.

References
----------
J. J. Moré, B. S. Garbow and K. E. Hillstrom, "Testing unconstrained optimization software",
ACM Transactions on Mathematical Software 7(1), 17-41 (1981).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import _perturb
import numpy as np

__all__ = ["FACTORS", "MGH_PROBLEMS", "MghProblem", "reaches_minimum", "scaled_start"]

#: Starting points tried: x0, 10 x0 and 100 x0 (see :func:`scaled_start`).
FACTORS = (1.0, 10.0, 100.0)


@dataclass(frozen=True)
class MghProblem:
    """One test problem: residual function, standard start and published minima.

    Attributes
    ----------
    number : int
        Problem number in Moré, Garbow and Hillstrom (1981).
    name : str
    n, m : int
        Number of variables and of residuals.
    residual : callable
        ``residual(x) -> ndarray (m,)``.
    x0 : tuple of float
        Standard starting point.
    minima : tuple of float
        Published values of ``F = sum(residual**2)`` at (local) minima; the first is the
        global one.
    """

    number: int
    name: str
    n: int
    m: int
    residual: Callable[[np.ndarray], np.ndarray]
    x0: tuple[float, ...]
    minima: tuple[float, ...]


def scaled_start(problem: MghProblem, factor: float) -> np.ndarray:
    """``factor * x0``; when ``x0`` is the zero vector, every component is ``factor``.

    This is the rule of MINPACK's test driver (``initpt``) for the 10x and 100x starts.
    Every component is then moved by ``--perturb-ulps`` units in the last place
    (:mod:`_perturb`; none by default).
    """
    x0 = np.array(problem.x0, dtype=float)
    if factor != 1.0 and not np.any(x0):
        return _perturb.nudged(np.full_like(x0, factor))
    return _perturb.nudged(factor * x0)


def reaches_minimum(problem: MghProblem, value: float) -> bool:
    """Whether ``F = value`` reaches one of the problem's published minima.

    Criterion: for ``F* = 0``, ``F <= 1e-10`` (absolute); otherwise
    ``|F - F*| <= 1e-6 * F* + u``, where ``u`` is one unit in the sixth (last) published
    significant digit of ``F*``: the paper prints six digits, sometimes truncated rather
    than rounded (Penalty I: 2.24997e-5 for 2.249978e-5).
    """
    if not np.isfinite(value):
        return False
    for target in problem.minima:
        if target == 0.0:
            if value <= 1e-10:
                return True
            continue
        last_digit = 10.0 ** (np.floor(np.log10(target)) - 5)
        if abs(value - target) <= 1e-6 * target + last_digit:
            return True
    return False


# ---------------------------------------------------------------------------------------
# Residual functions. ``x`` is a float array of shape (n,).


def _rosenbrock(x):
    return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def _freudenstein_roth(x):
    return np.array(
        [
            -13.0 + x[0] + ((5.0 - x[1]) * x[1] - 2.0) * x[1],
            -29.0 + x[0] + ((x[1] + 1.0) * x[1] - 14.0) * x[1],
        ]
    )


def _powell_badly_scaled(x):
    return np.array([1e4 * x[0] * x[1] - 1.0, np.exp(-x[0]) + np.exp(-x[1]) - 1.0001])


def _brown_badly_scaled(x):
    return np.array([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2.0])


def _beale(x):
    i = np.arange(1, 4)
    y = np.array([1.5, 2.25, 2.625])
    return y - x[0] * (1.0 - x[1] ** i)


def _jennrich_sampson(x, m=10):
    i = np.arange(1, m + 1)
    return 2.0 + 2.0 * i - (np.exp(i * x[0]) + np.exp(i * x[1]))


def _helical_valley(x):
    theta = np.arctan(x[1] / x[0]) / (2 * np.pi) if x[0] != 0 else 0.25 * np.sign(x[1])
    if x[0] < 0:
        theta += 0.5
    return np.array([10.0 * (x[2] - 10.0 * theta), 10.0 * (np.hypot(x[0], x[1]) - 1.0), x[2]])


_BARD_Y = np.array(
    [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39]
)


def _bard(x):
    u = np.arange(1.0, 16.0)
    v = 16.0 - u
    w = np.minimum(u, v)
    return _BARD_Y - (x[0] + u / (v * x[1] + w * x[2]))


_GAUSSIAN_Y = np.array(
    [
        0.0009,
        0.0044,
        0.0175,
        0.0540,
        0.1295,
        0.2420,
        0.3521,
        0.3989,
        0.3521,
        0.2420,
        0.1295,
        0.0540,
        0.0175,
        0.0044,
        0.0009,
    ]
)


def _gaussian(x):
    t = (8.0 - np.arange(1.0, 16.0)) / 2.0
    return x[0] * np.exp(-x[1] * (t - x[2]) ** 2 / 2.0) - _GAUSSIAN_Y


_MEYER_Y = np.array(
    [
        34780.0,
        28610.0,
        23650.0,
        19630.0,
        16370.0,
        13720.0,
        11540.0,
        9744.0,
        8261.0,
        7030.0,
        6005.0,
        5147.0,
        4427.0,
        3820.0,
        3307.0,
        2872.0,
    ]
)


def _meyer(x):
    t = 45.0 + 5.0 * np.arange(1.0, 17.0)
    return x[0] * np.exp(x[1] / (t + x[2])) - _MEYER_Y


def _box_3d(x, m=10):
    t = 0.1 * np.arange(1.0, m + 1)
    return np.exp(-t * x[0]) - np.exp(-t * x[1]) - x[2] * (np.exp(-t) - np.exp(-10.0 * t))


def _powell_singular(x):
    return np.array(
        [
            x[0] + 10.0 * x[1],
            np.sqrt(5.0) * (x[2] - x[3]),
            (x[1] - 2.0 * x[2]) ** 2,
            np.sqrt(10.0) * (x[0] - x[3]) ** 2,
        ]
    )


def _wood(x):
    return np.array(
        [
            10.0 * (x[1] - x[0] ** 2),
            1.0 - x[0],
            np.sqrt(90.0) * (x[3] - x[2] ** 2),
            1.0 - x[2],
            np.sqrt(10.0) * (x[1] + x[3] - 2.0),
            (x[1] - x[3]) / np.sqrt(10.0),
        ]
    )


_KOWALIK_Y = np.array(
    [0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246]
)
_KOWALIK_U = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625])


def _kowalik_osborne(x):
    u = _KOWALIK_U
    return _KOWALIK_Y - x[0] * (u**2 + u * x[1]) / (u**2 + u * x[2] + x[3])


def _brown_dennis(x, m=20):
    t = np.arange(1.0, m + 1) / 5.0
    return (x[0] + t * x[1] - np.exp(t)) ** 2 + (x[2] + x[3] * np.sin(t) - np.cos(t)) ** 2


_OSBORNE1_Y = np.array(
    [
        0.844,
        0.908,
        0.932,
        0.936,
        0.925,
        0.908,
        0.881,
        0.850,
        0.818,
        0.784,
        0.751,
        0.718,
        0.685,
        0.658,
        0.628,
        0.603,
        0.580,
        0.558,
        0.538,
        0.522,
        0.506,
        0.490,
        0.478,
        0.467,
        0.457,
        0.448,
        0.438,
        0.431,
        0.424,
        0.420,
        0.414,
        0.411,
        0.406,
    ]
)


def _osborne1(x):
    t = 10.0 * np.arange(33.0)
    return _OSBORNE1_Y - (x[0] + x[1] * np.exp(-t * x[3]) + x[2] * np.exp(-t * x[4]))


def _biggs_exp6(x, m=13):
    t = 0.1 * np.arange(1.0, m + 1)
    y = np.exp(-t) - 5.0 * np.exp(-10.0 * t) + 3.0 * np.exp(-4.0 * t)
    return x[2] * np.exp(-t * x[0]) - x[3] * np.exp(-t * x[1]) + x[5] * np.exp(-t * x[4]) - y


_OSBORNE2_Y = np.array(
    [
        1.366,
        1.191,
        1.112,
        1.013,
        0.991,
        0.885,
        0.831,
        0.847,
        0.786,
        0.725,
        0.746,
        0.679,
        0.608,
        0.655,
        0.616,
        0.606,
        0.602,
        0.626,
        0.651,
        0.724,
        0.649,
        0.649,
        0.694,
        0.644,
        0.624,
        0.661,
        0.612,
        0.558,
        0.533,
        0.495,
        0.500,
        0.423,
        0.395,
        0.375,
        0.372,
        0.391,
        0.396,
        0.405,
        0.428,
        0.429,
        0.523,
        0.562,
        0.607,
        0.653,
        0.672,
        0.708,
        0.633,
        0.668,
        0.645,
        0.632,
        0.591,
        0.559,
        0.597,
        0.625,
        0.739,
        0.710,
        0.729,
        0.720,
        0.636,
        0.581,
        0.428,
        0.292,
        0.162,
        0.098,
        0.054,
    ]
)


def _osborne2(x):
    t = np.arange(65.0) / 10.0
    return _OSBORNE2_Y - (
        x[0] * np.exp(-t * x[4])
        + x[1] * np.exp(-((t - x[8]) ** 2) * x[5])
        + x[2] * np.exp(-((t - x[9]) ** 2) * x[6])
        + x[3] * np.exp(-((t - x[10]) ** 2) * x[7])
    )


def _watson(x):
    n = x.size
    t = np.arange(1.0, 30.0) / 29.0
    j = np.arange(n)
    powers = t[:, None] ** j  # t**(j-1) for j = 1..n
    first = (powers[:, :-1] * (j[1:] * x[1:])).sum(axis=1)
    second = powers @ x
    return np.concatenate([first - second**2 - 1.0, [x[0], x[1] - x[0] ** 2 - 1.0]])


def _penalty1(x):
    return np.concatenate([np.sqrt(1e-5) * (x - 1.0), [x @ x - 0.25]])


def _penalty2(x):
    n = x.size
    a = np.sqrt(1e-5)
    i = np.arange(2, n + 1)
    y = np.exp(i / 10.0) + np.exp((i - 1) / 10.0)
    middle = a * (np.exp(x[1:] / 10.0) + np.exp(x[:-1] / 10.0) - y)
    tail = a * (np.exp(x[1:] / 10.0) - np.exp(-0.1))
    weights = np.arange(n, 0, -1)
    return np.concatenate([[x[0] - 0.2], middle, tail, [weights @ x**2 - 1.0]])


def _variably_dimensioned(x):
    s = np.arange(1, x.size + 1) @ (x - 1.0)
    return np.concatenate([x - 1.0, [s, s**2]])


def _trigonometric(x):
    n = x.size
    i = np.arange(1, n + 1)
    return n - np.cos(x).sum() + i * (1.0 - np.cos(x)) - np.sin(x)


def _brown_almost_linear(x):
    n = x.size
    return np.concatenate([x[:-1] + x.sum() - (n + 1), [np.prod(x) - 1.0]])


def _boundary_terms(n):
    h = 1.0 / (n + 1)
    return h, h * np.arange(1, n + 1)


def _discrete_boundary_value(x):
    h, t = _boundary_terms(x.size)
    padded = np.concatenate([[0.0], x, [0.0]])
    return 2.0 * x - padded[:-2] - padded[2:] + h**2 * (x + t + 1.0) ** 3 / 2.0


def _discrete_integral(x):
    h, t = _boundary_terms(x.size)
    cube = (x + t + 1.0) ** 3
    lower = np.cumsum(t * cube)  # sum_{j<=i} t_j (x_j + t_j + 1)^3
    upper = np.cumsum(((1.0 - t) * cube)[::-1])[::-1]  # sum_{j>=i}
    upper = np.concatenate([upper[1:], [0.0]])  # sum_{j>i}
    return x + h * ((1.0 - t) * lower + t * upper) / 2.0


def _broyden_tridiagonal(x):
    padded = np.concatenate([[0.0], x, [0.0]])
    return (3.0 - 2.0 * x) * x - padded[:-2] - 2.0 * padded[2:] + 1.0


def _broyden_banded(x, lower=5, upper=1):
    n = x.size
    g = x * (1.0 + x)
    out = x * (2.0 + 5.0 * x**2) + 1.0
    for i in range(n):
        band = [j for j in range(max(0, i - lower), min(n, i + upper + 1)) if j != i]
        out[i] -= g[band].sum()
    return out


def _linear_full_rank(x, m=10):
    total = x.sum()
    out = np.full(m, -2.0 * total / m - 1.0)
    out[: x.size] += x
    return out


def _linear_rank1(x, m=10):
    i = np.arange(1.0, m + 1)
    return i * (np.arange(1.0, x.size + 1) @ x) - 1.0


def _extended_rosenbrock(x):
    return np.column_stack([10.0 * (x[1::2] - x[::2] ** 2), 1.0 - x[::2]]).ravel()


# ---------------------------------------------------------------------------------------


def _problem(number, name, residual, x0, minima, m=None):
    x0 = tuple(float(v) for v in x0)
    m = m if m is not None else residual(np.array(x0)).size
    return MghProblem(number, name, len(x0), m, residual, x0, tuple(minima))


def _boundary_start(n):
    _, t = _boundary_terms(n)
    return t * (t - 1.0)


#: The test problems, in the paper's order (sizes: the paper's, or MINPACK's test driver's).
MGH_PROBLEMS: list[MghProblem] = [
    _problem(1, "Rosenbrock", _rosenbrock, (-1.2, 1.0), (0.0,)),
    _problem(2, "Freudenstein-Roth", _freudenstein_roth, (0.5, -2.0), (0.0, 48.9842)),
    _problem(3, "Powell badly scaled", _powell_badly_scaled, (0.0, 1.0), (0.0,)),
    _problem(4, "Brown badly scaled", _brown_badly_scaled, (1.0, 1.0), (0.0,)),
    _problem(5, "Beale", _beale, (1.0, 1.0), (0.0,)),
    _problem(6, "Jennrich-Sampson m=10", _jennrich_sampson, (0.3, 0.4), (124.362,)),
    _problem(7, "Helical valley", _helical_valley, (-1.0, 0.0, 0.0), (0.0,)),
    _problem(8, "Bard", _bard, (1.0, 1.0, 1.0), (8.21487e-3, 17.4286)),
    _problem(9, "Gaussian", _gaussian, (0.4, 1.0, 0.0), (1.12793e-8,)),
    _problem(10, "Meyer", _meyer, (0.02, 4000.0, 250.0), (87.9458,)),
    _problem(12, "Box 3-D m=10", _box_3d, (0.0, 10.0, 20.0), (0.0,)),
    _problem(13, "Powell singular", _powell_singular, (3.0, -1.0, 0.0, 1.0), (0.0,)),
    _problem(14, "Wood", _wood, (-3.0, -1.0, -3.0, -1.0), (0.0,)),
    _problem(
        15, "Kowalik-Osborne", _kowalik_osborne, (0.25, 0.39, 0.415, 0.39), (3.07505e-4, 1.02734e-3)
    ),
    _problem(16, "Brown-Dennis m=20", _brown_dennis, (25.0, 5.0, -5.0, -1.0), (85822.2,)),
    _problem(17, "Osborne 1", _osborne1, (0.5, 1.5, -1.0, 0.01, 0.02), (5.46489e-5,)),
    _problem(18, "Biggs EXP6", _biggs_exp6, (1.0, 2.0, 1.0, 1.0, 1.0, 1.0), (5.65565e-3, 0.0)),
    _problem(
        19,
        "Osborne 2",
        _osborne2,
        (1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5),
        (4.01377e-2,),
    ),
    _problem(20, "Watson n=6", _watson, (0.0,) * 6, (2.28767e-3,)),
    _problem(21, "Extended Rosenbrock n=10", _extended_rosenbrock, (-1.2, 1.0) * 5, (0.0,)),
    _problem(23, "Penalty I n=4", _penalty1, (1.0, 2.0, 3.0, 4.0), (2.24997e-5,)),
    _problem(24, "Penalty II n=4", _penalty2, (0.5,) * 4, (9.37629e-6,)),
    _problem(
        25,
        "Variably dimensioned n=10",
        _variably_dimensioned,
        1.0 - np.arange(1, 11) / 10.0,
        (0.0,),
    ),
    _problem(26, "Trigonometric n=10", _trigonometric, (0.1,) * 10, (0.0,)),
    _problem(27, "Brown almost-linear n=10", _brown_almost_linear, (0.5,) * 10, (0.0, 1.0)),
    _problem(
        28, "Discrete boundary value n=10", _discrete_boundary_value, _boundary_start(10), (0.0,)
    ),
    _problem(29, "Discrete integral n=10", _discrete_integral, _boundary_start(10), (0.0,)),
    _problem(30, "Broyden tridiagonal n=10", _broyden_tridiagonal, (-1.0,) * 10, (0.0,)),
    _problem(31, "Broyden banded n=10", _broyden_banded, (-1.0,) * 10, (0.0,)),
    _problem(32, "Linear full rank n=5 m=10", _linear_full_rank, (1.0,) * 5, (5.0,)),
    _problem(33, "Linear rank 1 n=5 m=10", _linear_rank1, (1.0,) * 5, (10 * 9 / (2 * 21),)),
]
