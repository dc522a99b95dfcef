"""FitProblem: the compiled problem and its hot path (free vector <-> Parameters, ties)."""

import math

import numpy as np
import pytest

from paramfit import (
    ExpressionError,
    ExpressionEvaluationError,
    FitError,
    NonFiniteResidualError,
    Parameter,
    Parameters,
    ResidualError,
)
from paramfit.core.problem import FitProblem, check_fit_size


def make_params():
    p = Parameters()
    p.add("a", value=2.0)
    p.add("b", value=3.0, min=0.0, max=10.0)
    p.add("c", value=1.0, vary=False)
    p.add("d", expr="a*b + c")
    p.add("e", expr="sqrt(d) / 2")
    return p


def zero(params):
    return np.zeros(4)


def test_free_vector_bounds_and_ties_in_dependency_order():
    p = make_params()
    prob = FitProblem(zero, p)
    assert prob.free_names == ["a", "b"]
    assert [t.name for t in prob.tied_params] == ["d", "e"]
    assert prob.x0.tolist() == [2.0, 3.0]
    assert prob.lower.tolist() == [-math.inf, 0.0] and prob.upper.tolist() == [math.inf, 10.0]
    prob.set_values(np.array([4.0, 5.0]))
    assert p["a"].value == 4.0 and p["b"].value == 5.0
    assert p["d"].value == 4.0 * 5.0 + 1.0
    assert p["e"].value == math.sqrt(21.0) / 2


def test_residual_sees_current_values_and_counts_evaluations():
    seen = []

    def fcn(params, scale, offset=0.0):
        seen.append((params["a"].value, params["d"].value))
        return np.array([params["a"].value * scale + offset, params["e"].value])

    prob = FitProblem(fcn, make_params(), args=(2.0,), kws={"offset": 1.0})
    r = prob.residual(np.array([1.5, 2.0]))
    assert r.tolist() == [4.0, math.sqrt(4.0) / 2]  # small exact numbers: exact
    assert seen == [(1.5, 4.0)]  # building the problem never calls the user function
    assert prob.nfev == 1


def test_tied_jacobian_matches_analytic_derivatives():
    p = make_params()
    prob = FitProblem(zero, p)
    x = np.array([1.3, 2.7])
    g = prob.tied_jacobian(x)
    a, b = x
    d = a * b + 1.0
    expected = np.array([[b, a], [b / (4 * math.sqrt(d)), a / (4 * math.sqrt(d))]])
    # exact derivatives of the tie expressions (the map's chain rule), the same closed
    # forms evaluated in another order: a few roundings each, 8 eps
    np.testing.assert_allclose(g, expected, rtol=8 * np.finfo(float).eps)
    assert p["a"].value == a and p["d"].value == d  # values restored at x


def test_held_parameter_for_profile_fits():
    p = make_params()
    prob = FitProblem(zero, p, fixed={"a": 5.0})
    assert prob.free_names == ["b"] and prob.held_names == ("a",)
    prob.set_held("a", 6.0)
    prob.set_values(np.array([2.0]))
    assert p["d"].value == 13.0
    with pytest.raises(FitError, match="'b' is not held"):
        prob.set_held("b", 1.0)
    with pytest.raises(FitError, match="unknown parameter 'zz'"):
        FitProblem(zero, p, fixed={"zz": 1.0})


def test_tie_evaluation_failure_names_the_parameter():
    p = make_params()
    prob = FitProblem(zero, p)
    with pytest.raises(ExpressionEvaluationError, match="'e'"):
        prob.set_values(np.array([-5.0, 1.0]))  # d = -4: sqrt of a negative number


def test_cycles_and_unknown_names_fail_at_set_up():
    p = make_params()
    p["c"].vary = True  # before expr: vary=True on a tied parameter drops its expr (lmfit 1.3)
    with pytest.raises(ExpressionError, match="->"):
        p["c"].expr = "e + 1"  # closes a cycle: refused at assignment (lmfit 1.3)
    p["c"] = Parameter(name="c", expr="e + 1")  # item assignment stores it unevaluated
    with pytest.raises(ExpressionError, match="->"):
        FitProblem(zero, p)
    p = make_params()
    p["d"].expr = "a * nosuch"
    with pytest.raises(ExpressionError, match="nosuch"):
        FitProblem(zero, p)


def test_complex_residual_stacks_real_and_imaginary_parts():
    prob = FitProblem(lambda params: np.array([1 + 2j, 3 - 4j]), make_params())
    assert prob.residual(prob.x0).tolist() == [1.0, 3.0, 2.0, -4.0]


def test_nonfinite_residual_is_its_own_error_type():
    prob = FitProblem(lambda params: np.array([1.0, np.inf]), make_params())
    with pytest.raises(NonFiniteResidualError, match="index 1"):
        prob.residual(prob.x0)
    big = FitProblem(lambda params: np.array([1e200, 1e200]), make_params())
    assert big.residual(big.x0).tolist() == [1e200, 1e200]  # overflowing sum is no NaN
    # the first call (which sizes the problem) and the later ones check alike
    values = iter([np.array([1.0, 2.0]), np.array([np.nan, 2.0]), np.array([3.0, 4.0])])
    later = FitProblem(lambda params: next(values), make_params())
    assert later.residual(later.x0).tolist() == [1.0, 2.0]
    with pytest.raises(NonFiniteResidualError, match="index 0"):
        later.residual(later.x0)
    assert later.residual(later.x0).tolist() == [3.0, 4.0]


def test_non_numeric_and_none_residuals():
    with pytest.raises(ResidualError, match="non-numeric"):
        FitProblem(lambda params: ["a", "b"], make_params()).residual(np.array([1.0, 1.0]))
    with pytest.raises(ResidualError, match="returned None"):
        FitProblem(lambda params: None, make_params()).residual(np.array([1.0, 1.0]))


def test_check_fit_size():
    p = make_params()
    check_fit_size(FitProblem(lambda params: np.zeros(2), p))
    with pytest.raises(FitError, match="only 1 residuals"):
        check_fit_size(FitProblem(lambda params: np.zeros(1), p))


def test_bad_options():
    with pytest.raises(FitError, match="nan_policy"):
        FitProblem(zero, make_params(), nan_policy="ignore")
    with pytest.raises(FitError, match="callable"):
        FitProblem("not a function", make_params())
    with pytest.raises(FitError, match="Parameters"):
        FitProblem(zero, {"a": 1.0})
