"""Hand-written model functions of the 27 NIST StRD nonlinear regression problems.

Each function ``model(b, x)`` takes the parameter vector ``b`` (``b[0]`` is NIST's ``b1``)
and the predictor ``x`` and returns the model value, vectorized over ``x``. For ``Nelson``
(two predictors) ``x`` has shape ``(n, 2)`` with columns ``x1, x2`` and the function
returns the model of ``log(y)``, as NIST writes it (``log[y] = b1 - b2*x1 * exp[-b3*x2]``).

The functions are coded by hand from the formulas printed in the data files, independently
of the text translation in :mod:`paramfit.reference.nist`; the test suite checks that both agree.

References
----------
NIST Statistical Reference Datasets, Nonlinear Regression,
https://www.itl.nist.gov/div898/strd/nls/nls_main.shtml
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["NIST_MODELS", "NistModel"]

NistModel = Callable[[Sequence[float], np.ndarray], np.ndarray]


def _misra1a(b, x):
    return b[0] * (1.0 - np.exp(-b[1] * x))


def _chwirut(b, x):
    return np.exp(-b[0] * x) / (b[1] + b[2] * x)


def _lanczos(b, x):
    return b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-b[3] * x) + b[4] * np.exp(-b[5] * x)


def _gauss(b, x):
    return (
        b[0] * np.exp(-b[1] * x)
        + b[2] * np.exp(-((x - b[3]) ** 2) / b[4] ** 2)
        + b[5] * np.exp(-((x - b[6]) ** 2) / b[7] ** 2)
    )


def _danwood(b, x):
    return b[0] * x ** b[1]


def _misra1b(b, x):
    return b[0] * (1.0 - (1.0 + b[1] * x / 2.0) ** (-2))


def _kirby2(b, x):
    return (b[0] + b[1] * x + b[2] * x**2) / (1.0 + b[3] * x + b[4] * x**2)


def _rational_cubic(b, x):
    """Hahn1 and Thurber: cubic over cubic."""
    numerator = b[0] + b[1] * x + b[2] * x**2 + b[3] * x**3
    denominator = 1.0 + b[4] * x + b[5] * x**2 + b[6] * x**3
    return numerator / denominator


def _nelson(b, x):
    x = np.asarray(x, dtype=float)
    x1, x2 = x[..., 0], x[..., 1]
    return b[0] - b[1] * x1 * np.exp(-b[2] * x2)


def _mgh17(b, x):
    return b[0] + b[1] * np.exp(-x * b[3]) + b[2] * np.exp(-x * b[4])


def _misra1c(b, x):
    return b[0] * (1.0 - (1.0 + 2.0 * b[1] * x) ** (-0.5))


def _misra1d(b, x):
    return b[0] * b[1] * x / (1.0 + b[1] * x)


def _roszman1(b, x):
    return b[0] - b[1] * x - np.arctan(b[2] / (x - b[3])) / np.pi


def _enso(b, x):
    angle = 2.0 * np.pi * x
    return (
        b[0]
        + b[1] * np.cos(angle / 12.0)
        + b[2] * np.sin(angle / 12.0)
        + b[4] * np.cos(angle / b[3])
        + b[5] * np.sin(angle / b[3])
        + b[7] * np.cos(angle / b[6])
        + b[8] * np.sin(angle / b[6])
    )


def _mgh09(b, x):
    return b[0] * (x**2 + x * b[1]) / (x**2 + x * b[2] + b[3])


def _boxbod(b, x):
    return b[0] * (1.0 - np.exp(-b[1] * x))


def _rat42(b, x):
    return b[0] / (1.0 + np.exp(b[1] - b[2] * x))


def _mgh10(b, x):
    return b[0] * np.exp(b[1] / (x + b[2]))


def _eckerle4(b, x):
    return (b[0] / b[1]) * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2)


def _rat43(b, x):
    return b[0] / (1.0 + np.exp(b[1] - b[2] * x)) ** (1.0 / b[3])


def _bennett5(b, x):
    return b[0] * (b[1] + x) ** (-1.0 / b[2])


#: name -> hand-written model function, in NIST's order of difficulty.
NIST_MODELS: dict[str, NistModel] = {
    # lower difficulty
    "Misra1a": _misra1a,
    "Chwirut2": _chwirut,
    "Chwirut1": _chwirut,
    "Lanczos3": _lanczos,
    "Gauss1": _gauss,
    "Gauss2": _gauss,
    "DanWood": _danwood,
    "Misra1b": _misra1b,
    # average difficulty
    "Kirby2": _kirby2,
    "Hahn1": _rational_cubic,
    "Nelson": _nelson,
    "MGH17": _mgh17,
    "Lanczos1": _lanczos,
    "Lanczos2": _lanczos,
    "Gauss3": _gauss,
    "Misra1c": _misra1c,
    "Misra1d": _misra1d,
    "Roszman1": _roszman1,
    "ENSO": _enso,
    # higher difficulty
    "MGH09": _mgh09,
    "Thurber": _rational_cubic,
    "BoxBOD": _boxbod,
    "Rat42": _rat42,
    "MGH10": _mgh10,
    "Eckerle4": _eckerle4,
    "Rat43": _rat43,
    "Bennett5": _bennett5,
}
