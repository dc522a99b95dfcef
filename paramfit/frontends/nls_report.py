"""Results of the R-style front end (seed 001) and their text form.

The declared result classes of :mod:`paramfit.frontends.nls` live here with their
presentation: :class:`NlsResult` (``nlxb`` / ``nlfb``), :class:`BoundsCheck`
(``bmchk``) and :class:`OptimrResult` (``optimr``).  :func:`format_r` reproduces R's
``format(x, digits=d)`` for one number, and :func:`format_nls` lays out an
:class:`NlsResult` the way nlsr's ``print.nlsr`` does::

    nlsr object: x
    residual sumsquares = 2.5873 on 12 observations
    after 5 Jacobian and 6 function evaluations
      name            coeff          SE       tstat      pval      gradient    JSingval
    b1               196.186       11.31     17.35  3.167e-08  -1.334e-10        1011

The column widths and digits are nlsr's (``format(name, width=10)``, coefficients
with 6 significant digits in width 12, the other columns with 4 digits in widths 9
and 10), and R's rule for choosing fixed or scientific notation is followed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paramfit.core.optional import require
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.statistics import FitResult

__all__ = ["NlsResult", "BoundsCheck", "OptimrResult", "format_r", "format_nls"]

_HEADER = ("  name     ", "      coeff    ", "     SE   ", "   tstat  ", "   pval  ",
           "   gradient  ", " JSingval  ")


def format_r(x: Any, digits: int = 7, width: int = 0) -> str:
    """Format one number as R's ``format(x, digits=digits, width=width)`` does.

    The number is rounded to ``digits`` significant digits, trailing zeros are
    dropped, and fixed notation is used unless scientific notation is narrower
    (R's rule with ``scipen = 0``).  ``None`` and NaN print as ``NA`` (R's
    missing value), infinities as ``Inf`` / ``-Inf``.  The text is right-justified
    in ``width`` characters.

    Parameters
    ----------
    x : float, int or None
        The number.
    digits : int, default 7
        Significant digits (R's ``digits``), 1 to 15.
    width : int, default 0
        Minimum width; the text is padded on the left.

    Returns
    -------
    str

    Examples
    --------
    >>> format_r(196.18628, 6), format_r(0.3135702, 6), format_r(3.1671e-08, 4)
    ('196.186', '0.31357', '3.167e-08')
    >>> format_r(0.0068634, 4), format_r(1011.2, 4), format_r(None, 4, width=5)
    ('0.006863', '1011', '   NA')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA".rjust(width)
    value = float(x)
    if math.isnan(value):
        return "NA".rjust(width)
    if math.isinf(value):
        return ("Inf" if value > 0 else "-Inf").rjust(width)
    if value == 0.0:
        return "0".rjust(width)
    digits = min(max(int(digits), 1), 15)
    mantissa, exponent_text = format(abs(value), f".{digits - 1}e").split("e")
    exponent = int(exponent_text)
    nsig = max(1, len(mantissa.replace(".", "").rstrip("0")))
    negative = 1 if value < 0 else 0
    decimals = max(0, nsig - exponent - 1)
    fixed_width = negative + (exponent + 1 if exponent >= 0 else 1) + (
        decimals + 1 if decimals else 0)
    sci_width = negative + (nsig + 1 if nsig > 1 else 1) + (4 if abs(exponent) < 100 else 5)
    if fixed_width <= sci_width:
        text = f"{value:.{decimals}f}"
    else:
        text = f"{value:.{nsig - 1}e}"
    return text.rjust(width)


def _row(result: NlsResult, i: int, name: str) -> str:
    masked = "M" if name in result.masked else " "
    cells = [
        format_r(result.std_errors[name], 4, 9),
        format_r(result.tvalues[name], 4, 9),
        format_r(result.pvalues[name], 4, 9),
    ]
    # R's cat(a, " ") writes a, a separator space and a space
    return (
        f"{name:<10}  {format_r(result.coefficients[name], 6, 12)}"
        f"{result.bound_flags[i]} {masked}  "
        + "".join(f"{cell}  " for cell in cells)
        + f"{format_r(result.gradient[i], 4, 10)}  "
        + f"{format_r(result.jac_singular_values[i], 4, 10)}"
    ).rstrip()


def format_nls(result: NlsResult) -> str:
    """The text nlsr's ``print.nlsr`` writes for ``result`` (seed 001).

    Parameters
    ----------
    result : NlsResult
        A result of :func:`paramfit.frontends.nls.nlxb` or :func:`paramfit.frontends.nls.nlfb`.

    Returns
    -------
    str
        Lines: object name, residual sum of squares (5 significant digits, as
        nlsr prints it), evaluation counts, the column header and one row per
        parameter with ``M`` beside masked coefficients (``L`` / ``U`` before it
        for a coefficient at its lower / upper bound, ``-`` / ``+`` outside).
    """
    lines = [
        f"nlsr object: {result.name}",
        f"residual sumsquares = {format_r(result.ssquares, 5)} on {result.nobs} observations",
        f"after {result.njev} Jacobian and {result.nfev} function evaluations",
        " ".join(_HEADER).rstrip(),
    ]
    lines.extend(_row(result, i, name) for i, name in enumerate(result.names))
    return "\n".join(lines)


@dataclass(repr=False)
class NlsResult:
    """Result of :func:`nlxb` / :func:`nlfb`; printing it gives nlsr's table (seed 001).

    Standard errors differ from nlsr's in one respect: where nlsr prints ``NA`` for
    every SE once a parameter is masked, paramfit gives the standard errors of the
    free parameters from the reduced problem (masked parameters removed, ``nobs -
    nfree_params`` degrees of freedom).  Masked parameters and parameters held at a
    bound have no SE, t statistic or p-value (``None``, printed ``NA``).

    Attributes
    ----------
    names : list of str
        Parameter names in start order (``p_1, p_2, ...`` when the start had none).
    coefficients : dict of str to float
        Best-fit values (masked ones at their start values).
    std_errors, tvalues, pvalues : dict of str to float or None
        Standard error, ``coeff / SE`` and two-sided p-value of Student's t.
    gradient : ndarray, shape (n,)
        ``J.T @ residuals`` at the solution (as nlsr: half the gradient of the sum
        of squares); 0 for masked parameters.
    jac_singular_values : ndarray, shape (n,)
        Singular values of the Jacobian over the free parameters, largest first,
        padded with zeros for the masked ones (nlsr's ``JSingval``).
    masked : list of str
        Names of the masked (fixed) parameters, marked ``M`` in the table.
    bdmsk : ndarray, shape (n,)
        Status codes of seed 001 from the core's :class:`ParameterStatus`.
    bound_flags : list of str
        nlsr's markers: ``'L'`` / ``'U'`` at the lower / upper bound, ``'-'`` /
        ``'+'`` below / above it, else ``' '``.
    ssquares : float
        Residual sum of squares (weighted when weights were given).
    nobs, njev, nfev : int
        Observations (with a positive weight), Jacobian and function evaluations as
        the core counts them: without a ``jacfn``, ``nfev`` includes the evaluations
        spent on finite-difference Jacobians (nlsr's ``nlxb`` differentiates
        symbolically, so its counts are smaller).
    residuals : ndarray, shape (nobs,)
        ``sqrt(w) * (model - data)`` at the solution.
    jacobian : ndarray, shape (nobs, n)
        Jacobian of ``residuals``; zero columns for masked parameters.
    lower, upper : ndarray, shape (n,)
        Bounds (``-inf`` / ``inf`` for none).
    formula : str or None
        The formula of :func:`nlxb`.
    success : bool
        Whether the solver converged.
    message : str
        Why it stopped.
    params : Parameters
        The core's parameters after the fit.
    fit : FitResult
        The core's full result (``covar``, ``aic``, ...).
    name : str
        Shown after ``nlsr object:`` (nlsr always prints ``x``).
    """

    names: list[str]
    coefficients: dict[str, float]
    std_errors: dict[str, float | None]
    tvalues: dict[str, float | None]
    pvalues: dict[str, float | None]
    gradient: np.ndarray
    jac_singular_values: np.ndarray
    masked: list[str]
    bdmsk: np.ndarray
    bound_flags: list[str]
    ssquares: float
    nobs: int
    njev: int
    nfev: int
    residuals: np.ndarray
    jacobian: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    formula: str | None
    success: bool
    message: str
    params: Parameters
    fit: FitResult
    name: str = "x"

    def __str__(self) -> str:
        return format_nls(self)

    __repr__ = __str__

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary: the fit statistics and one entry per parameter."""
        rows = {}
        for i, name in enumerate(self.names):
            rows[name] = {
                "coeff": self.coefficients[name], "SE": self.std_errors[name],
                "tstat": self.tvalues[name], "pval": self.pvalues[name],
                "gradient": float(self.gradient[i]),
                "JSingval": float(self.jac_singular_values[i]),
                "masked": name in self.masked, "bdmsk": float(self.bdmsk[i]),
            }
        return {"formula": self.formula, "ssquares": self.ssquares, "nobs": self.nobs,
                "njev": self.njev, "nfev": self.nfev, "success": self.success,
                "message": self.message, "parameters": rows}

    def to_dataframe(self) -> Any:
        """The table as a pandas DataFrame indexed by name (needs pandas)."""
        pd = require("pandas", "pandas", "NlsResult.to_dataframe")
        frame = pd.DataFrame.from_dict(self.to_dict()["parameters"], orient="index")
        frame.index.name = "name"
        return frame




@dataclass
class BoundsCheck:
    """Outcome of :func:`bmchk` (optimx's ``bmchk``, seed 001).

    Attributes
    ----------
    admissible : bool
        No lower bound exceeds its upper bound (of the unmasked parameters).
    feasible : bool
        Every start value lies within its bounds.
    maskadded : bool
        Some bounds were so close (``upper - lower`` within the tolerance) that the
        parameter was masked.
    parchanged : bool
        Some start values outside their bounds were moved to the nearest bound.
    onbound : bool
        Some (adjusted) value equals one of its bounds.
    bvec : ndarray, shape (n,)
        The (adjusted) parameter values.
    bdmsk : ndarray, shape (n,)
        Codes: 1 free, 0 masked, -3 at lower, -1 at upper, -3.5 below lower, -0.5
        above upper (the out-of-bound codes only when ``shift_to_bound=False``).
    bchar : list of str
        ``'F'``, ``'M'``, ``'L'``, ``'U'``, ``'-'``, ``'+'``: the codes for humans.
    lower, upper : ndarray, shape (n,)
        Bounds expanded to one per parameter (``-inf`` / ``inf`` for none).
    messages : list of str
        What was found, one sentence per finding.
    """

    admissible: bool
    feasible: bool
    maskadded: bool
    parchanged: bool
    onbound: bool
    bvec: np.ndarray
    bdmsk: np.ndarray
    bchar: list[str]
    lower: np.ndarray
    upper: np.ndarray
    messages: list[str] = field(default_factory=list)




@dataclass
class OptimrResult:
    """Result of :func:`optimr`, with the fields of R's ``optim`` / ``Rvmmin`` (seed 001).

    Attributes
    ----------
    par : ndarray, shape (n,)
        Best parameters (masked ones at their start values).
    value : float
        ``fn(par)``.
    counts : dict
        ``{'function': int, 'gradient': int or None}``: calls of ``fn`` (including
        finite-difference ones) and of ``gr`` (None when no ``gr`` was given).
    convergence : int
        0 converged (as R's ``optim``); 1 the iteration or evaluation limit was
        reached; 51 a warning (scipy reports precision loss); 52 any other failure.
    message : str
        The optimizer's message.
    bdmsk : ndarray, shape (n,)
        1 free, 0 masked, -3 at the lower bound, -1 at the upper bound.
    method : str
        The scipy method used.
    names : list of str or None
        Parameter names when ``par`` was a dict or Series.
    """

    par: np.ndarray
    value: float
    counts: dict[str, int | None]
    convergence: int
    message: str
    bdmsk: np.ndarray
    method: str
    names: list[str] | None = None
