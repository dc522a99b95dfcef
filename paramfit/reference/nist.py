"""The NIST StRD nonlinear regression problems: parser, registry and certified-data runs.

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
import importlib.resources
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from paramfit.core.exceptions import FitError
from paramfit.core.parameters.parameters import Parameters
from paramfit.fitting.minimizer import minimize
from paramfit.frontends.formula import build_formula
from paramfit.frontends.formula_compiled import CompiledFormula
from paramfit.reference.nist_models import NIST_MODELS

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

#: Names of the functions and constants the translated expressions may use.
EXPRESSION_SYMBOLS = frozenset({"exp", "log", "sin", "cos", "arctan", "pi"})

_DIFFICULTY = re.compile(r"\b(Lower|Average|Higher)\s+Level\s+of\s+Difficulty", re.I)
_PARAM_LINE = re.compile(r"^\s*(b\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")
_N_PARAMS_LINE = re.compile(r"^\s*\d+\s+Parameters\s*\(")
_NUMBER_AFTER_COLON = r"^{}:\s*(\S+)\s*$"


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
class NistProblem:
    """One NIST StRD nonlinear regression problem, as parsed from its data file.

    Attributes
    ----------
    name : str
        Dataset name, e.g. ``"Misra1a"``.
    description : str
        The file's "Description" paragraph on one line.
    difficulty : str
        ``"Lower"``, ``"Average"`` or ``"Higher"`` (NIST's level of difficulty).
    formula : str
        The model as printed in the file, e.g. ``"y = b1*(1-exp[-b2*x])  +  e"``;
        multi-line formulas keep their line breaks (common indentation removed).
    expression : str
        The model's right-hand side as a Python expression in ``b1..bk`` and the predictor
        names, using only ``exp log sin cos arctan pi`` (e.g. ``"b1*(1-exp(-b2*x))"``).
    response_expression : str
        What the model predicts: ``"y"``, or ``"log(y)"`` for Nelson.
    predictor_names : tuple of str
        ``("x",)``, or ``("x1", "x2")`` for Nelson.
    param_names : tuple of str
        ``("b1", ..., "bk")``.
    starts : ndarray, shape (2, k)
        NIST's "Start 1" (row 0) and "Start 2" (row 1).
    certified_values, certified_stderr : ndarray, shape (k,)
        Certified parameter values and their standard deviations.
    certified_rss, certified_residual_sd : float
        Certified residual sum of squares and residual standard deviation.
    certified_dof : int
        Degrees of freedom as printed in the file: ``n - k``, except Rat43, whose file
        prints 9 where ``n - k = 11`` (its residual standard deviation uses 11).
    certified_digits : int
        Fewest significant digits printed for a certified value or standard deviation
        (11 for every StRD file): the most a log relative error can claim.
    x : ndarray, shape (n,) or (n, 2)
        Predictor; for Nelson the columns are ``x1, x2``.
    y : ndarray, shape (n,)
        Response, as printed in the file (for Nelson, *not* its logarithm).
    """

    name: str
    description: str
    difficulty: str
    formula: str
    expression: str
    response_expression: str
    predictor_names: tuple[str, ...]
    param_names: tuple[str, ...]
    starts: np.ndarray
    certified_values: np.ndarray
    certified_stderr: np.ndarray
    certified_rss: float
    certified_residual_sd: float
    certified_dof: int
    certified_digits: int
    x: np.ndarray
    y: np.ndarray

    @property
    def n(self) -> int:
        """Number of observations."""
        return int(self.y.shape[0])

    @property
    def k(self) -> int:
        """Number of parameters."""
        return len(self.param_names)

    @property
    def response(self) -> np.ndarray:
        """The fitted response, shape (n,): ``y``, or ``log(y)`` for Nelson."""
        return np.log(self.y) if self.response_expression == "log(y)" else self.y

    def predictors(self) -> dict[str, np.ndarray]:
        """Map each predictor name to its data column, shape (n,)."""
        if self.x.ndim == 1:
            return {self.predictor_names[0]: self.x}
        return {name: self.x[:, i] for i, name in enumerate(self.predictor_names)}

    def model(self, b: Sequence[float], x: np.ndarray | None = None) -> np.ndarray:
        """Evaluate the hand-written model function at parameters ``b`` (``b[0]`` is b1).

        Parameters
        ----------
        b : sequence of float, length k
        x : ndarray, optional
            Predictor values; the problem's own ``x`` by default.

        Returns
        -------
        ndarray
            Model of :attr:`response`, same leading shape as ``x``.
        """
        return NIST_MODELS[self.name](b, self.x if x is None else x)

    def residual(self, b: Sequence[float]) -> np.ndarray:
        """Residual ``response - model(b)``, shape (n,)."""
        return self.response - self.model(b)


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


def nist_names() -> list[str]:
    """Names of the 27 StRD problems in NIST's order of difficulty.

    The order is that of NIST's nonlinear regression page: the 8 problems of lower
    difficulty, then the 11 of average, then the 8 of higher difficulty; within a level,
    NIST's listing order.

    Returns
    -------
    list of str
    """
    return list(NIST_MODELS)


def _resolve_name(name: str) -> str:
    if name in NIST_MODELS:
        return name
    lowered = {known.lower(): known for known in NIST_MODELS}
    try:
        return lowered[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown NIST StRD problem {name!r}; choose one of: {', '.join(NIST_MODELS)}"
        ) from None


def load_nist(name: str) -> NistProblem:
    """Parse the bundled StRD data file of problem ``name``.

    Parameters
    ----------
    name : str
        One of :func:`nist_names` (case-insensitive).

    Returns
    -------
    NistProblem
        Frozen; its arrays are read-only. Results are cached.

    Raises
    ------
    ValueError
        For an unknown name, or a file that does not parse (the message says what is wrong).
    """
    return _load(_resolve_name(name))


def nist_file_text(name: str) -> str:
    """The text of the bundled NIST StRD file of problem ``name`` (a :func:`nist_names`
    entry), as NIST distributes it."""
    resource = importlib.resources.files("paramfit.reference") / "data" / "nist" / f"{name}.dat"
    return resource.read_text(encoding="ascii")


@functools.cache
def _load(name: str) -> NistProblem:
    return parse_nist(nist_file_text(name), name)


def parse_nist(text: str, name: str) -> NistProblem:
    """Parse the text of a NIST StRD nonlinear-regression file (as NIST distributes it).

    Parameters
    ----------
    text : str
        The whole file.
    name : str
        The problem's name (e.g. the file stem).

    Returns
    -------
    NistProblem

    Raises
    ------
    ValueError
        When the text is not a well-formed StRD file; the message says what is missing.
    """
    try:
        return _parse(name, text.splitlines())
    except (ValueError, IndexError) as exc:
        raise ValueError(f"cannot parse NIST StRD file {name}: {exc}") from exc


def _significant_digits(token: str) -> int:
    mantissa = re.split(r"[eE]", token)[0].lstrip("+-").replace(".", "").lstrip("0")
    return len(mantissa)


def _labelled_number(lines: list[str], label: str) -> str:
    pattern = re.compile(_NUMBER_AFTER_COLON.format(re.escape(label)))
    for line in lines:
        match = pattern.match(line.strip())
        if match:
            return match.group(1)
    raise ValueError(f"no line '{label}: <number>'")


def _section(lines: list[str], label: str, stop: str) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith(label))
    block = [lines[start][len(label) :]]
    for line in lines[start + 1 :]:
        if line.strip().startswith(stop) or re.match(r"^[A-Z][A-Za-z ]+:", line):
            break
        block.append(line)
    return [line.strip() for line in block if line.strip()]


def _formula_lines(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if _N_PARAMS_LINE.match(line))
    block = []
    for line in lines[start + 1 :]:
        if "starting values" in line.lower():
            break
        if line.strip():
            block.append(line.rstrip())
    if not block:
        raise ValueError("no model formula after the 'Parameters' line")
    indent = min(len(line) - len(line.lstrip()) for line in block)
    return [line[indent:] for line in block]


def _translate(formula_lines: list[str]) -> tuple[str, str]:
    """Turn the printed model into (response expression, model expression) in Python."""
    kept = [line for line in formula_lines if not re.match(r"^\s*pi\s*=", line)]
    text = " ".join(line.strip() for line in kept)
    text = text.replace("[", "(").replace("]", ")").replace("^", "**")
    lhs, rhs = (part.strip() for part in text.split("=", 1))
    rhs = re.sub(r"\+\s*e\s*$", "", rhs).strip()
    rhs = re.sub(r"\s+", " ", rhs)
    rhs = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", rhs))
    return lhs.replace(" ", ""), rhs


def _parse(name: str, lines: list[str]) -> NistProblem:
    params = [match.groups() for match in map(_PARAM_LINE.match, lines) if match]
    param_names = tuple(group[0] for group in params)
    if param_names != tuple(f"b{i}" for i in range(1, len(params) + 1)):
        raise ValueError(f"parameter lines name {param_names}, expected b1..bk")
    numbers = np.array([[float(v) for v in group[1:]] for group in params])
    cert_tokens = [token for group in params for token in group[3:]]

    formula_lines = _formula_lines(lines)
    response_expression, expression = _translate(formula_lines)
    difficulty = _DIFFICULTY.search("\n".join(lines))
    if difficulty is None:
        raise ValueError("no 'Level of Difficulty' line")

    header = max(i for i, line in enumerate(lines) if re.match(r"^Data:\s+y\b", line))
    columns = lines[header].split()[1:]
    data = np.array(
        [[float(v) for v in line.split()] for line in lines[header + 1 :] if line.strip()]
    )
    if data.ndim != 2 or data.shape[1] != len(columns):
        raise ValueError(f"data rows do not have the {len(columns)} columns {columns}")
    n_obs = int(_labelled_number(lines, "Number of Observations"))
    if data.shape[0] != n_obs:
        raise ValueError(f"{data.shape[0]} data rows, the header says {n_obs}")

    predictor_names = tuple(columns[1:])
    x = data[:, 1] if len(predictor_names) == 1 else data[:, 1:]
    _check_expression(expression, param_names, predictor_names)
    rss_token = _labelled_number(lines, "Residual Sum of Squares")
    sd_token = _labelled_number(lines, "Residual Standard Deviation")
    arrays = {
        "starts": numbers[:, :2].T.copy(),
        "certified_values": numbers[:, 2].copy(),
        "certified_stderr": numbers[:, 3].copy(),
        "x": np.ascontiguousarray(x),
        "y": data[:, 0].copy(),
    }
    for array in arrays.values():
        array.flags.writeable = False
    return NistProblem(
        name=name,
        description=" ".join(_section(lines, "Description:", "Reference:")),
        difficulty=difficulty.group(1).capitalize(),
        formula="\n".join(formula_lines),
        expression=expression,
        response_expression=response_expression,
        predictor_names=predictor_names,
        param_names=param_names,
        certified_rss=float(rss_token),
        certified_residual_sd=float(sd_token),
        certified_dof=int(_labelled_number(lines, "Degrees of Freedom")),
        certified_digits=min(map(_significant_digits, cert_tokens + [rss_token, sd_token])),
        **arrays,
    )


def _check_expression(
    expression: str, param_names: tuple[str, ...], predictor_names: tuple[str, ...]
) -> None:
    code = compile(expression, "<nist model>", "eval")
    allowed = EXPRESSION_SYMBOLS | set(param_names) | set(predictor_names)
    unknown = set(code.co_names) - allowed
    if unknown:
        raise ValueError(f"model expression {expression!r} uses unknown names {sorted(unknown)}")


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
