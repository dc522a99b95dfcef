"""Parser and registry of the NIST StRD nonlinear regression problems (paramfit.reference.nist).

The certified numbers below were read by eye from the data files and typed in here, so they
check the parser independently of it. The residual-sum-of-squares test evaluates the
hand-written model functions at the certified values: agreement with the certified RSS to
8+ digits checks data, parser and model functions together.
"""

from __future__ import annotations

import importlib.resources

import numpy as np
import pytest

import paramfit.reference.nist as nist
import paramfit.reference.nist_models as _nist_models
from paramfit.reference.nist import load_nist, log_relative_error, nist_names

NAMES = nist_names()

# NIST's nonlinear regression page, by level of difficulty.
NIST_LEVELS = {
    "Lower": [
        "Misra1a",
        "Chwirut2",
        "Chwirut1",
        "Lanczos3",
        "Gauss1",
        "Gauss2",
        "DanWood",
        "Misra1b",
    ],
    "Average": [
        "Kirby2",
        "Hahn1",
        "Nelson",
        "MGH17",
        "Lanczos1",
        "Lanczos2",
        "Gauss3",
        "Misra1c",
        "Misra1d",
        "Roszman1",
        "ENSO",
    ],
    "Higher": ["MGH09", "Thurber", "BoxBOD", "Rat42", "MGH10", "Eckerle4", "Rat43", "Bennett5"],
}

# name: (n, k)
SIZES = {
    "Misra1a": (14, 2),
    "Thurber": (37, 7),
    "Bennett5": (154, 3),
    "Nelson": (128, 3),
    "ENSO": (168, 9),
    "Gauss1": (250, 8),
    "Hahn1": (236, 7),
    "BoxBOD": (6, 2),
    "Lanczos1": (24, 6),
    "Chwirut1": (214, 3),
    "MGH09": (11, 4),
    "Kirby2": (151, 5),
}

# Copied by eye from the files: (parameter index, certified value, certified std. dev.).
CERTIFIED_SPOT_CHECKS = {
    "Misra1a": [(0, 2.3894212918e02, 2.7070075241e00), (1, 5.5015643181e-04, 7.2668688436e-06)],
    "Bennett5": [(0, -2.5235058043e03, 2.9715175411e02), (2, 9.3218483193e-01, 2.0272299378e-02)],
    "Thurber": [(0, 1.2881396800e03, 4.6647963344e00), (3, 7.5416644291e01, 5.5675370270e00)],
    "ENSO": [(4, -1.6231428586e00, 2.8078369611e-01), (8, 1.4966870418e00, 2.5434468893e-01)],
    "Nelson": [(1, 5.6177717026e-09, 6.1124096540e-09), (2, -5.7701013174e-02, 3.9572366543e-03)],
    "Roszman1": [(1, -6.1953516256e-06, 3.2058931691e-06), (3, -1.8134269537e02, 4.9573513849e01)],
    "Lanczos1": [(0, 9.5100000027e-02, 5.3347304234e-11), (5, 5.0000000001e00, 1.1057500538e-10)],
}
# name: (RSS, residual standard deviation, degrees of freedom), copied by eye.
CERTIFIED_SUMMARY = {
    "Misra1a": (1.2455138894e-01, 1.0187876330e-01, 12),
    "Bennett5": (5.2404744073e-04, 1.8629312528e-03, 151),
    "ENSO": (7.8853978668e02, 2.2269642403e00, 159),
    "Lanczos1": (1.4307867721e-25, 8.9156129349e-14, 18),
}
# name: (start 1, start 2), copied by eye.
STARTS = {
    "Misra1a": ([500, 0.0001], [250, 0.0005]),
    "Nelson": ([2, 0.0001, -0.01], [2.5, 0.000000005, -0.05]),
    "Roszman1": ([0.1, -0.00001, 1000, -100], [0.2, -0.000005, 1200, -150]),
}
# First and last data rows (y, x...), copied by eye.
DATA_ROWS = {
    "Misra1a": ((10.07, 77.6), (81.78, 760.0)),
    "Thurber": ((80.574, -3.067), (1457.628, 2.200)),
    "Nelson": ((15.00, 1.0, 180.0), (1.20, 64.0, 275.0)),
    "Gauss1": ((97.62227, 1.0), (4.875359, 250.0)),
}

# RSS at the 11-digit certified values cannot reproduce a certified RSS of 1.4e-25: the
# residuals are then set by the rounding of the certified values (~1e-11), not by the fit.
RSS_ROUNDING_LIMITED = {"Lanczos1": 1e-19}

NUMPY_SYMBOLS = {
    "exp": np.exp,
    "log": np.log,
    "sin": np.sin,
    "cos": np.cos,
    "arctan": np.arctan,
    "pi": np.pi,
}


def evaluate_expression(problem, b):
    """Evaluate the translated expression with numpy in a namespace without builtins."""
    namespace = {"__builtins__": {}, **NUMPY_SYMBOLS}
    namespace.update(zip(problem.param_names, b, strict=True))
    namespace.update(problem.predictors())
    return eval(problem.expression, namespace)  # noqa: S307 - restricted namespace, package data


def test_registry_lists_all_27_files_in_nist_order():
    files = sorted(
        entry.name[:-4]
        for entry in (importlib.resources.files("paramfit.reference") / "data" / "nist").iterdir()
        if entry.name.endswith(".dat")
    )
    assert len(NAMES) == 27
    assert sorted(NAMES) == files
    assert NAMES == [name for level in NIST_LEVELS.values() for name in level]


@pytest.mark.parametrize("name", NAMES)
def test_every_file_parses_consistently(name):
    problem = load_nist(name)
    assert problem.name == name
    assert problem.difficulty in NIST_LEVELS and name in NIST_LEVELS[problem.difficulty]
    k, n = problem.k, problem.n
    assert problem.param_names == tuple(f"b{i}" for i in range(1, k + 1))
    assert problem.starts.shape == (2, k)
    assert problem.certified_values.shape == problem.certified_stderr.shape == (k,)
    assert problem.y.shape == (n,)
    assert problem.x.shape == ((n,) if len(problem.predictor_names) == 1 else (n, 2))
    # Rat43.dat prints 9 degrees of freedom; n - k = 11 is what its residual SD uses.
    assert problem.certified_dof == (9 if name == "Rat43" else n - k)
    assert problem.certified_digits == 11
    assert np.all(problem.certified_stderr > 0)
    assert problem.certified_rss > 0
    # residual standard deviation = sqrt(RSS / dof), to the 11 printed digits: both are
    # printed numbers, each rounded by <= 5e-12 relative, so 1e-10
    assert np.sqrt(problem.certified_rss / (n - k)) == pytest.approx(
        problem.certified_residual_sd, rel=1e-10
    )
    assert problem.formula.startswith(("y", "log[y]", "pi"))
    assert "[" not in problem.expression and "+ e" not in problem.expression
    assert problem.description
    with pytest.raises(ValueError):
        problem.y[0] = 0.0  # read-only


def test_formula_and_expression_text():
    misra = load_nist("Misra1a")
    assert misra.formula == "y = b1*(1-exp[-b2*x])  +  e"
    assert misra.expression == "b1*(1-exp(-b2*x))"
    assert misra.response_expression == "y"
    assert load_nist("Bennett5").expression == "b1 * (b2+x)**(-1/b3)"
    nelson = load_nist("Nelson")
    assert nelson.response_expression == "log(y)"
    assert nelson.predictor_names == ("x1", "x2")
    assert nelson.expression == "b1 - b2*x1 * exp(-b3*x2)"
    assert load_nist("Roszman1").expression == "b1 - b2*x - arctan(b3/(x-b4))/pi"
    thurber = load_nist("Thurber")
    assert thurber.formula.count("\n") == 1
    assert thurber.expression == "(b1 + b2*x + b3*x**2 + b4*x**3) / (1 + b5*x + b6*x**2 + b7*x**3)"


@pytest.mark.parametrize("name, size", SIZES.items())
def test_sizes(name, size):
    problem = load_nist(name)
    assert (problem.n, problem.k) == size


@pytest.mark.parametrize("name", CERTIFIED_SPOT_CHECKS)
def test_certified_values_spot_checks(name):
    problem = load_nist(name)
    for index, value, stderr in CERTIFIED_SPOT_CHECKS[name]:
        assert problem.certified_values[index] == value
        assert problem.certified_stderr[index] == stderr


@pytest.mark.parametrize("name", CERTIFIED_SUMMARY)
def test_certified_summary_spot_checks(name):
    problem = load_nist(name)
    rss, sd, dof = CERTIFIED_SUMMARY[name]
    assert (problem.certified_rss, problem.certified_residual_sd, problem.certified_dof) == (
        rss,
        sd,
        dof,
    )


@pytest.mark.parametrize("name", STARTS)
def test_starting_values(name):
    # the same decimal literals, parsed by the reader and by Python: exact
    np.testing.assert_array_equal(load_nist(name).starts, np.array(STARTS[name], dtype=float))


@pytest.mark.parametrize("name", DATA_ROWS)
def test_first_and_last_data_rows(name):
    problem = load_nist(name)
    table = np.column_stack([problem.y, problem.x])
    first, last = DATA_ROWS[name]  # decimal literals as in the file: parsed exactly alike
    np.testing.assert_array_equal(table[0], first)
    np.testing.assert_array_equal(table[-1], last)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("where", ["certified", "start1", "start2"])
def test_expression_matches_hand_written_model(name, where):
    problem = load_nist(name)
    b = {
        "certified": problem.certified_values,
        "start1": problem.starts[0],
        "start2": problem.starts[1],
    }[where]
    with np.errstate(all="ignore"):
        expected = problem.model(b)
        got = evaluate_expression(problem, b)
    finite = np.isfinite(expected)
    assert np.array_equal(finite, np.isfinite(got))
    # the same formula written twice, evaluated in other orders: measured <= 2e-16 on every
    # problem and start, and no model value is near 0 (no cancellation to amplify it)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_rss_at_certified_values_matches_certified_rss(name):
    problem = load_nist(name)
    rss = float(np.sum(problem.residual(problem.certified_values) ** 2))
    # the RSS is stationary at the minimum, so 11-digit values give it to far more digits
    # than the rounding of its sum (m eps) allows: measured >= 10 digits on every problem
    # but Lanczos1; 8 digits.  Lanczos1: rounding-limited residuals (measured RSS 4e-21)
    if name in RSS_ROUNDING_LIMITED:
        assert rss < RSS_ROUNDING_LIMITED[name]
    else:
        assert log_relative_error(rss, problem.certified_rss) >= 8.0


def test_model_functions_are_vectorized_over_x():
    problem = load_nist("Misra1a")
    x = np.linspace(1.0, 10.0, 12).reshape(3, 4)
    assert problem.model(problem.certified_values, x).shape == (3, 4)
    nelson = load_nist("Nelson")
    assert nelson.model(nelson.certified_values, nelson.x[:5]).shape == (5,)
    assert set(_nist_models.NIST_MODELS) == set(NAMES)


def test_load_nist_is_case_insensitive_and_rejects_unknown_names():
    assert load_nist("misra1a") is load_nist("Misra1a")
    with pytest.raises(ValueError, match="unknown NIST StRD problem 'Nope'.*Misra1a"):
        load_nist("Nope")


@pytest.mark.parametrize(
    "estimate, certified, expected",
    [
        (1.0001, 1.0, 4.0),
        (-2.00000002, -2.0, 8.0),
        (1.0, 1.0, 15.0),
        (1.05, 1.0, 1.30103),
        (1.2, 1.0, 0.0),  # not even one digit
        (-1.0, 1.0, 0.0),
        (1e-9, 0.0, 9.0),  # certified zero: log absolute error
        (0.0, 0.0, 15.0),
        (float("nan"), 1.0, 0.0),
        (float("inf"), 1.0, 0.0),
        (None, 1.0, 0.0),
        (1.0 + 1e-14, 1.0, 14.0),
        (1.0 + 1e-16, 1.0, 15.0),
    ],
)
def test_log_relative_error(estimate, certified, expected):
    # abs=0.01 digits: the decimal literals round by ~1e-16, which moves the digits by
    # < 1e-3 (1 + 1e-14 is stored as 1 + 45 eps: 14.0003 digits)
    assert log_relative_error(estimate, certified) == pytest.approx(expected, abs=0.01)


def test_log_relative_error_cap():
    # capped: exactly max_digits, by definition
    assert log_relative_error(1.0, 1.0, max_digits=11) == 11.0
    assert log_relative_error(1.0 + 1e-13, 1.0, max_digits=11) == 11.0


def test_public_surface():
    assert set(nist.__all__) == {
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
    }
    with pytest.raises(ValueError, match="start must be 1 or 2"):
        nist.run_case("Misra1a", 3)


def test_nist_file_text_is_the_file_the_parser_reads():
    # the one reader of the bundled files: the CLI demo and load_nist share it
    text = nist.nist_file_text("Misra1a")
    assert text.splitlines()[0].startswith("NIST/ITL StRD")
    parsed, loaded = nist.parse_nist(text, "Misra1a"), nist.load_nist("Misra1a")
    # the same text parsed twice: identical numbers (exact)
    assert np.array_equal(parsed.x, loaded.x) and np.array_equal(parsed.response,
                                                                 loaded.response)
    assert np.array_equal(parsed.certified_values, loaded.certified_values)
