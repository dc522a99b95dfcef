"""The NIST StRD nonlinear regression problems: certified-data runs (parser and registry in
:mod:`paramfit.reference.nist_problems`, re-exported here).

The 27 data files of the NIST Statistical Reference Datasets (StRD) for nonlinear least
squares ship with paramfit as package data (``paramfit/reference/data/nist/*.dat``) and
are read with
:mod:`importlib.resources`. Everything in a :class:`NistProblem` -- data, starting values,
certified values, standard deviations, residual sum of squares -- is parsed from the file;
nothing is hard-coded here. Each problem also has a hand-written model function
(:mod:`paramfit.reference.nist_models`) that serves as an independent check of the model text
translated into a Python expression.

:func:`run_case` fits one problem from one of its two NIST starting points through the
public :func:`paramfit.minimize` with default settings and scores the result with the
log relative error (:func:`log_relative_error`), as NIST and McCullough (1998) do.

References
----------
NIST Statistical Reference Datasets, Nonlinear Regression,
https://www.itl.nist.gov/div898/strd/nls/nls_main.shtml

B. D. McCullough, "Assessing the reliability of statistical software: Part I",
The American Statistician 52(4), 358-366 (1998).

Examples
--------
>>> from paramfit.reference.nist import load_nist
>>> problem = load_nist("Misra1a")
>>> problem.expression
'b1*(1-exp(-b2*x))'
>>> problem.x.shape, problem.param_names
((14,), ('b1', 'b2'))
"""


from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from paramfit.core.exceptions import FitError
from paramfit.core.parameters.parameters import Parameters
from paramfit.fitting.minimizer import minimize
from paramfit.frontends.formula import build_formula
from paramfit.frontends.formula_compiled import CompiledFormula
from paramfit.reference.nist_models import NIST_MODELS
from paramfit.reference.nist_problems import (
    NistProblem,
    load_nist,
    nist_file_text,
    nist_names,
    parse_nist,
)

__all__ = [
    "KNOWN_OUT_OF_REACH",
    "NistCaseResult",
    "NistProblem",
    "formula_residual",
    "load_nist",
    "nist_file_text",
    "log_relative_error",
    "nist_names",
    "parse_nist",
    "run_case",
]


#: (name, start) -> why paramfit's default settings do not reach 4 correct digits there
#: (measured; see bench/RESULTS.md). The test suite and ``paramfit nist`` allow these.
KNOWN_OUT_OF_REACH: dict[tuple[str, int], str] = {
    ("Lanczos1", 1): "certified RSS is 1.4e-25: residuals of ~1e-13 are a few hundred "
    "rounding units, so RSS and hence the standard errors carry only ~3 digits in double "
    "precision (parameters reach 10+ digits; lmfit and scipy also get ~3)",
    ("Lanczos1", 2): "same as start 1: standard errors limited to ~3 digits by double "
    "precision (parameters reach 10+ digits)",
    ("BoxBOD", 1): "from b = (1, 1) every Levenberg-Marquardt path (paramfit, MINPACK) drives "
    "b2 up until exp(-b2*x) underflows and the b2 column of the Jacobian is exactly 0; "
    "paramfit stops there and reports success=False (NOT_STATIONARY), never a false success",
}

@dataclass(frozen=True, eq=False)
class NistCaseResult:
    """Outcome of fitting one NIST problem from one starting point (see :func:`run_case`).

    Attributes
    ----------
    name : str
    start : int
        1 or 2.
    values, stderr : ndarray, shape (k,)
        Best-fit values and standard errors (NaN where the fit reported none).
    digits_values, digits_stderr : float
        Smallest log relative error over the parameters (0 to ``certified_digits``).
    digits_rss : float
        Log relative error of the residual sum of squares.
    success : bool
    nfev : int
    message : str
    rss : float
        Residual sum of squares at the reported values.
    njev : int
        Jacobian evaluations (the fit's ``njev``): with finite differences their
        evaluations are in ``nfev``; with ``derivatives='exact'`` each is one evaluation
        of the formula's value-and-Jacobian code.
    """

    name: str
    start: int
    values: np.ndarray
    stderr: np.ndarray
    digits_values: float
    digits_stderr: float
    digits_rss: float
    success: bool
    nfev: int
    message: str
    rss: float
    njev: int = 0


def log_relative_error(
    estimate: float | None, certified: float, *, max_digits: float = 15.0
) -> float:
    """Number of correct significant digits of ``estimate``: NIST's log relative error.

    ``LRE = -log10(|estimate - certified| / |certified|)``; when ``certified == 0`` the log
    absolute error ``-log10(|estimate|)`` is used instead (McCullough 1998). The result is
    capped at ``max_digits`` (an exact match gives ``max_digits``; pass the number of
    certified digits, 11 for the StRD files) and set to 0 when it is below 1 (not even one
    digit right), when ``estimate`` is None, or not finite.

    Parameters
    ----------
    estimate : float or None
    certified : float
    max_digits : float, optional
        Cap, default 15 (about what a double can hold).

    Returns
    -------
    float
        In ``[0, max_digits]``.

    Examples
    --------
    >>> round(log_relative_error(1.0001, 1.0), 6)
    4.0
    >>> log_relative_error(3.0, 1.0), log_relative_error(1.0, 1.0, max_digits=11)
    (0.0, 11.0)
    """
    if estimate is None:
        return 0.0
    estimate = float(estimate)
    certified = float(certified)
    if not math.isfinite(estimate):
        return 0.0
    error = abs(estimate - certified)
    if certified != 0.0:
        error /= abs(certified)
    if error == 0.0:
        return float(max_digits)
    digits = -math.log10(error)
    if digits < 1.0:
        return 0.0
    return float(min(digits, max_digits))


def _min_digits(estimates: np.ndarray, certified: np.ndarray, max_digits: float) -> float:
    return min(
        log_relative_error(e, c, max_digits=max_digits)
        for e, c in zip(estimates, certified, strict=True)
    )


def _failed_case(problem: NistProblem, start: int, message: str) -> NistCaseResult:
    nan = np.full(problem.k, np.nan)
    return NistCaseResult(
        name=problem.name,
        start=start,
        values=nan,
        stderr=nan.copy(),
        digits_values=0.0,
        digits_stderr=0.0,
        digits_rss=0.0,
        success=False,
        nfev=0,
        message=message,
        rss=float("nan"),
    )


def formula_residual(problem: NistProblem, derivatives: str = "exact"
                     ) -> tuple[Callable[[Parameters], np.ndarray],
                                Callable[[Parameters], np.ndarray] | None]:
    """The residual ``response - model`` of a problem's formula written as a string, and
    its exact Jacobian (None with ``derivatives='numeric'``).

    Parameters
    ----------
    problem : NistProblem
    derivatives : {'exact', 'numeric'}

    Returns
    -------
    residual, jacobian : callable
        Functions of :class:`~paramfit.Parameters`, for :func:`paramfit.minimize`
        (``jacobian`` as its ``jac=``).

    Examples
    --------
    >>> residual, jacobian = formula_residual(load_nist("Misra1a"))
    >>> params = Parameters()
    >>> params.add("b1", 500.0); params.add("b2", 1e-4)
    >>> residual(params).shape, jacobian(params).shape
    ((14,), (14, 2))
    """
    if derivatives not in ("exact", "numeric"):
        raise ValueError(f"derivatives must be None, 'exact' or 'numeric', got "
                         f"{derivatives!r}")
    formula = _formula(problem.expression, problem.param_names, problem.predictor_names,
                       problem.name)
    data = problem.predictors()
    residual, shape = formula.residual(data, observed=problem.response,
                                       data_minus_model=True)
    residual.__qualname__ = f"NIST {problem.name} formula {problem.expression!r}"
    if derivatives == "numeric":
        return residual, None
    return residual, formula.residual_jacobian(data, shape, data_minus_model=True)


@functools.lru_cache(maxsize=64)
def _formula(expression: str, param_names: tuple[str, ...], predictor_names: tuple[str, ...],
             owner: str) -> CompiledFormula:
    """The compiled formula (and, once used, its derivative code), built once per
    problem."""
    return build_formula(expression, parameters=param_names, data=predictor_names,
                         lhs="none", owner=owner)


def run_case(name: str, start: int, *, method: str = "leastsq", start_ulps: int = 0,
             derivatives: str | None = None, **fit_kws) -> NistCaseResult:
    """Fit NIST problem ``name`` from NIST start 1 or 2 with :func:`paramfit.minimize`.

    Parameters ``b1..bk`` start at the NIST starting values, unbounded; the residual is
    ``response - model(b)`` with the hand-written model. Nothing else is set: the fit runs
    with paramfit's default settings unless ``fit_kws`` say otherwise.

    With ``derivatives`` the model is instead the NIST formula as a string
    (:attr:`NistProblem.expression`), built by
    :func:`paramfit.frontends.formula.build_formula`: ``'exact'`` passes its exact
    Jacobian (:meth:`~paramfit.frontends.formula_compiled.CompiledFormula.residual_jacobian`) to
    the fit, ``'numeric'`` fits the same formula by finite differences (the twin to
    compare with).

    Parameters
    ----------
    name : str
        One of :func:`nist_names`.
    start : {1, 2}
        Which NIST starting point.
    method : str, optional
        Passed to :func:`paramfit.minimize` (default ``'leastsq'``).
    start_ulps : int, optional
        Move every start value by this many units in the last place (``np.nextafter``;
        towards +inf when positive): a result that changes with it hinges on rounding.
    derivatives : {None, 'exact', 'numeric'}, optional
        None: the hand-written model, finite differences (the default path).
        ``'exact'`` / ``'numeric'``: the NIST formula as a string, with its exact
        Jacobian / by finite differences.
    **fit_kws
        Passed to :func:`paramfit.minimize`.

    Returns
    -------
    NistCaseResult
        Values, standard errors and their numbers of correct digits against the certified
        ones, plus the fit's success flag, function evaluations, message and RSS. A fit
        that raises :class:`paramfit.FitError` (e.g. a residual that overflows to inf on
        the way) is a failed case: NaN values, 0 digits, ``success=False``, ``nfev=0`` and
        the error in ``message``.
    """
    if start not in (1, 2):
        raise ValueError(f"start must be 1 or 2 (NIST's two starting points), got {start!r}")
    problem = load_nist(name)
    names = problem.param_names
    if derivatives is None:
        response = problem.response
        model = NIST_MODELS[problem.name]
        x = problem.x

        def residual(params):
            return response - model([params[p].value for p in names], x)
    else:
        residual, jacobian = formula_residual(problem, derivatives)
        fit_kws = {**fit_kws, "jac": jacobian}

    starts = np.array(problem.starts[start - 1], dtype=float)
    for _ in range(abs(int(start_ulps))):
        starts = np.nextafter(starts, math.copysign(math.inf, start_ulps))
    params = Parameters()
    for param_name, value in zip(names, starts.tolist(), strict=True):
        params.add(param_name, value=value)
    try:
        with np.errstate(all="ignore"):  # overflow on the way is the solver's business
            fit = minimize(residual, params, method=method, **fit_kws)
    except FitError as exc:
        return _failed_case(problem, start, f"{type(exc).__name__}: {exc}")

    values = np.array([fit.params[p].value for p in names], dtype=float)
    stderr = np.array(
        [np.nan if fit.params[p].stderr is None else fit.params[p].stderr for p in names],
        dtype=float,
    )
    rss = float(np.sum(problem.residual(values) ** 2))
    digits = problem.certified_digits
    return NistCaseResult(
        name=problem.name,
        start=start,
        values=values,
        stderr=stderr,
        digits_values=_min_digits(values, problem.certified_values, digits),
        digits_stderr=_min_digits(stderr, problem.certified_stderr, digits),
        digits_rss=log_relative_error(rss, problem.certified_rss, max_digits=digits),
        success=bool(fit.success),
        nfev=int(fit.nfev),
        message=str(fit.message),
        rss=rss,
        njev=int(fit.njev),
    )
