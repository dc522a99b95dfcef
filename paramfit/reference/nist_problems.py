"""Parser and registry of the bundled NIST StRD nonlinear regression files.

The 27 data files of the NIST Statistical Reference Datasets (StRD) for nonlinear least
squares ship with paramfit as package data (``paramfit/reference/data/nist/*.dat``) and
are read with :mod:`importlib.resources`. Everything in a :class:`NistProblem` -- data,
starting values, certified values, standard deviations, residual sum of squares -- is
parsed from the file; nothing is hard-coded here. The runs on these problems
(:func:`paramfit.reference.nist.run_case`) live in :mod:`paramfit.reference.nist`, which
re-exports this module's public names.

Examples
--------
>>> from paramfit.reference.nist_problems import load_nist
>>> load_nist("Misra1a").param_names
('b1', 'b2')
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paramfit.reference.nist_models import NIST_MODELS

__all__ = [
    "EXPRESSION_SYMBOLS",
    "NistProblem",
    "load_nist",
    "nist_file_text",
    "nist_names",
    "parse_nist",
]

#: Names of the functions and constants the translated expressions may use.
EXPRESSION_SYMBOLS = frozenset({"exp", "log", "sin", "cos", "arctan", "pi"})

_DIFFICULTY = re.compile(r"\b(Lower|Average|Higher)\s+Level\s+of\s+Difficulty", re.I)
_PARAM_LINE = re.compile(r"^\s*(b\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")
_N_PARAMS_LINE = re.compile(r"^\s*\d+\s+Parameters\s*\(")
_NUMBER_AFTER_COLON = r"^{}:\s*(\S+)\s*$"


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
