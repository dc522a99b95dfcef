"""The one map free vector -> every parameter value (paramfit.core.mapping).

Every tie evaluation -- Parameters.add, Parameters.update_constraints (and hence what
valuesdict reports), the fit's FitProblem.set_values and the batch -- goes through it,
so they all give the same values, clipping as the fit does (issue 14).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from paramfit import ExpressionEvaluationError, Parameters
from paramfit.batch import fit_many
from paramfit.batch.problem import BatchProblem, ModelSpec
from paramfit.core.expressions.derivatives import Differentiable
from paramfit.core.mapping import TIE_STEP, ParameterMap
from paramfit.core.problem import FitProblem
from paramfit.fitting.minimizer import minimize

EPS = float(np.finfo(float).eps)


def zero(params):
    return np.zeros(3)


def line(x, a=1.0, b=1.0):
    return a + b * x


def scaled(x, f0=1.0):
    return f0 * x


def batch_values(params, x, fixed=None):
    """Every value from the batch's problem for free vectors ``x`` (n, B)."""
    model = scaled if "f0" in params else line
    problem = BatchProblem(ModelSpec(model), params.copy())
    if fixed is None:
        fixed = np.array([[params[n].value] * x.shape[1] for n in problem.fixed_names])
    return problem.all_values(x, fixed.reshape(len(problem.fixed_names), x.shape[1]))


# ---------------------------------------------------------------------- clipping
def test_update_constraints_clips_tied_value_as_the_fit_does():
    p = Parameters()
    p.add("a", 1.0)
    p.add("b", expr="2*a", max=3.0)
    assert p["b"].value == 2.0
    p["a"].value = 5.0
    p.update_constraints()  # was 10: update_constraints did not clip
    assert p["b"].value == 3.0 and p.valuesdict()["b"] == 3.0

    q = Parameters()
    q.add("a", 5.0)
    q.add("b", expr="2*a", max=3.0)  # Parameters.add evaluates the tie: clipped too
    assert q["b"].value == 3.0 and q.valuesdict() == {"a": 5.0, "b": 3.0}

    fit = p.copy()
    FitProblem(zero, fit).set_values(np.array([5.0]))
    assert fit["b"].value == 3.0 and fit.valuesdict()["b"] == 3.0

    values = batch_values(p, np.array([[5.0, 1.0, 1.4]]))
    np.testing.assert_array_equal(values["b"], [3.0, 2.0, 2.8])  # 2*1.4 = 2.8 exactly


def test_batch_result_params_clip_tied_values_as_the_batch_fit_does():
    # y = 5 + 3x: with b = min(2a, 3) the exact fit is a = 5, b = 3 (clipped); the small
    # deterministic wiggle keeps the fit non-degenerate
    x = np.linspace(0.0, 1.0, 21)
    data = np.stack([5.0 + 3.0 * x + 0.01 * np.sin(7 * x + k) for k in range(3)])
    template = Parameters()
    template.add("a", 4.0)
    template.add("b", expr="2*a", max=3.0)
    res = fit_many(line, data, x, params=template, starts="params")
    single = minimize(lambda p: line(x, p["a"].value, p["b"].value) - data[0],
                      template.copy())
    assert res.values["b"][0] == 3.0 and single.params["b"].value == 3.0
    for i in range(3):
        # BatchResult.params refills the template by update_constraints: it gave
        # 2*a (about 10) before the tie rule was one
        assert res.params(i)["b"].value == res.values["b"][i] == 3.0


def test_a_tie_reading_a_clipped_tie_sees_the_clipped_value_everywhere():
    # one rule: each tie is clipped as soon as it is evaluated, so c = b + 1 holds with
    # the b the fit uses (lmfit 1.3 too); before, the fit gave c = 11, the batch 4
    p = Parameters()
    p.add("a", 5.0)
    p.add("b", expr="2*a", max=3.0)
    p.add("c", expr="b + 1")
    assert (p["b"].value, p["c"].value) == (3.0, 4.0)
    p.update_constraints()
    assert (p["b"].value, p["c"].value) == (3.0, 4.0)
    fit = p.copy()
    FitProblem(zero, fit).set_values(np.array([5.0]))
    assert (fit["b"].value, fit["c"].value) == (3.0, 4.0)
    values = batch_values(p, np.array([[5.0, 5.0]]))
    np.testing.assert_array_equal(values["b"], [3.0, 3.0])
    np.testing.assert_array_equal(values["c"], [4.0, 4.0])


# ---------------------------------------------------------------------- agreement
POOL = (  # positive for positive arguments, relative condition number <= ~4
    "{u} * {v}", "2*{u}/3 + {v}", "sqrt({u} + {v})", "exp(-{u}) * {v}",
    "log(1 + {u} * {v})", "{u} / (1 + {v})", "{u}**2 + 0.5*{v}", "hypot({u}, {v})",
)
FREE = ("f0", "f1", "f2")


def random_parameters(rng: np.random.Generator) -> Parameters:
    """3 free, 1 fixed and 5 tied parameters; each tie reads two earlier names; the
    ties are added in shuffled order; about half of them get bounds that clip at the
    reference values."""
    names = [*FREE, "k"]
    exprs = {}
    for t in range(5):
        u, v = rng.choice(names, size=2, replace=False)
        exprs[f"t{t}"] = POOL[rng.integers(len(POOL))].format(u=u, v=v)
        names.append(f"t{t}")
    p = Parameters()
    for name in FREE:
        p.add(name, value=rng.uniform(0.5, 2.0), min=0.1, max=5.0)
    p.add("k", value=rng.uniform(0.5, 2.0), vary=False)
    for name in rng.permutation(list(exprs)):
        p.add(str(name), expr=exprs[str(name)])
    p.update_constraints()
    for name in exprs:  # bounds around the reference value: some ties clip
        ref = p[name].value
        kind = rng.integers(4)
        lo = ref * rng.uniform(0.6, 1.2) if kind in (1, 3) else None
        hi = ref * rng.uniform(0.8, 1.3) if kind in (2, 3) else None
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        p[name].set_bounds(lo, hi)
    return p


def scalar_evaluations(p: Parameters, x: np.ndarray, k: float) -> list[dict]:
    """update_constraints (+ valuesdict), the fit's set_values (+ valuesdict) and the
    map's pure evaluation, at free vector ``x`` and fixed value ``k``."""
    q = p.copy()
    for name, value in zip(FREE, x.tolist()):
        q[name].value = value
    q["k"].value = k
    q.update_constraints()
    fit = p.copy()
    fit["k"].value = k
    FitProblem(zero, fit).set_values(x)
    return [q.valuesdict(), fit.valuesdict(), ParameterMap(p.copy()).values(x, [k])]


@pytest.mark.parametrize("seed", range(12))
def test_every_tie_evaluation_agrees(seed):
    rng = np.random.default_rng(seed)
    p = random_parameters(rng)
    B = 6
    X = rng.uniform(0.3, 3.0, size=(len(FREE), B))
    K = rng.uniform(0.5, 2.0, size=B)           # a per-dataset fixed value in the batch
    batch = batch_values(p, X, K[None, :])
    mapped = ParameterMap(p.copy()).values(X, K[None, :])
    clipped = 0
    for j in range(B):
        update, fit, pure = scalar_evaluations(p, X[:, j], float(K[j]))
        # the same generated statements on the same floats: identical
        assert update == fit == pure
        for name in p:
            # the batch evaluates with numpy (arrays), the others with math (floats):
            # exp/log/hypot differ by <= 1 ulp between them, amplified by the
            # condition number of the pool (<= ~4) through at most 5 chained ties,
            # and clipping only moves values to a bound: rtol 1e-13 (~450 eps)
            assert batch[name][j] == pytest.approx(update[name], rel=1e-13, abs=0), name
            assert mapped[name][j] == batch[name][j], name  # one code, one input
        clipped += sum(update[n] in (p[n].min, p[n].max) for n in p if p[n].expr)
    assert clipped > 0  # the random bounds do clip


# ---------------------------------------------------------------------- derivatives
def jacobian_problem():
    p = Parameters()
    p.add("a", 1.3)
    p.add("b", 2.7, min=0.0)
    p.add("c", 1.0, vary=False)
    p.add("d", expr="a*b + c")
    p.add("e", expr="sqrt(d) / 2")
    p.add("f", expr="exp(-a) * b")
    p.add("g", expr="2*a", max=1.0)     # clipped for a > 0.5: derivative 0
    return p


def exact_tied_jacobian(a, b, c=1.0):
    """Closed-form d(d, e, f, g)/d(a, b) and the tie values."""
    d = a * b + c
    e = math.sqrt(d) / 2
    f = math.exp(-a) * b
    g = min(2 * a, 1.0)
    jac = np.array([[b, a], [b / (4 * math.sqrt(d)), a / (4 * math.sqrt(d))],
                    [-f, math.exp(-a)], [2.0 if 2 * a < 1.0 else 0.0, 0.0]])
    return jac, np.array([d, e, f, g])


JACOBIAN_POINTS = [(1.3, 2.7), (0.6, 0.2), (4.0, 30.0), (2.0, 1e-3), (0.3, 1.5)]


def test_tied_jacobian_is_exact_and_zero_where_clipped():
    X = np.array(JACOBIAN_POINTS).T
    mapping = ParameterMap(jacobian_problem())
    batch = mapping.tied_jacobian(X)
    for j, x in enumerate(JACOBIAN_POINTS):
        jac = mapping.tied_jacobian(np.array(x))
        exact, _ = exact_tied_jacobian(*x)
        # the same closed forms evaluated in another order: a few roundings each
        # (<= 4 per entry here): 8 eps relative; exact zeros where g is clipped
        np.testing.assert_allclose(jac, exact, rtol=8 * EPS, atol=0)
        assert (jac[3] == 0.0).all() == (2 * x[0] >= 1.0)
        # the batch form (numpy functions instead of math: <= 1 ulp per operation)
        np.testing.assert_allclose(batch[:, :, j], jac, rtol=8 * EPS, atol=0)


def test_tied_jacobian_differences_only_what_has_no_derivative():
    def params(symbol):
        p = Parameters()
        p.symbols["w"] = symbol
        p.add("a", 1.3)
        p.add("b", 2.7)
        p.add("d", expr="w(a) * b")
        p.add("e", expr="a * b")
        return p

    x = np.array([1.3, 2.7])
    exact = np.array([[math.cosh(1.3) * 2.7, math.sinh(1.3)], [2.7, 1.3]])
    declared = ParameterMap(params(Differentiable(np.sinh, (np.cosh,)))).tied_jacobian(x)
    np.testing.assert_allclose(declared, exact, rtol=8 * EPS, atol=0)
    plain = ParameterMap(params(np.sinh)).tied_jacobian(x)
    # d's row reaches w (no declared derivative): central differences, accurate to the
    # bound of test_tied_differences_have_their_stated_accuracy (~2e-10 here: 1e-9)
    np.testing.assert_allclose(plain[0], exact[0], rtol=1e-9)
    np.testing.assert_array_equal(plain[1], declared[1])   # e's row stays exact


def test_tied_differences_have_their_stated_accuracy():
    X = np.array(JACOBIAN_POINTS).T
    mapping = ParameterMap(jacobian_problem())
    batch = mapping.tied_differences(X)
    for j, x in enumerate(JACOBIAN_POINTS):
        jac = mapping.tied_differences(np.array(x))
        exact, values = exact_tied_jacobian(*x)
        s = np.maximum(np.abs(x), 1.0)
        h = TIE_STEP * s   # the step of column j
        # the stated accuracy (TIE_STEP): rounding of the two evaluations, k eps |t| / h
        # with k <= 4 roundings per expression here, plus the rounding of x +- h,
        # eps |x| |dt/dx| / h, plus the truncation h**2 |d3t/dx3| / 6, at most 1.5e-12
        # here (exp(-a) b at a = 4: h = 4e-6, third derivative 0.55): 1e-11
        bound = (4 * EPS * np.abs(values)[:, None] + EPS * s * np.abs(exact)) / h + 1e-11
        assert np.all(np.abs(jac - exact) <= bound), (x, jac - exact, bound)
        # the batch form (numpy functions instead of math: <= 1 ulp per evaluation)
        np.testing.assert_allclose(batch[:, :, j], jac, rtol=0, atol=float(bound.max()))


def test_fit_problem_tied_jacobian_is_the_maps_and_leaves_values_at_x():
    p = jacobian_problem()
    prob = FitProblem(zero, p)
    x = np.array([0.6, 0.2])
    np.testing.assert_array_equal(prob.tied_jacobian(x), ParameterMap(p.copy()).tied_jacobian(x))
    assert (p["a"].value, p["b"].value) == (0.6, 0.2)
    assert p["d"].value == 0.6 * 0.2 + 1.0


def test_a_held_tied_parameter_is_a_given_value_for_the_ties_reading_it():
    p = jacobian_problem()
    prob = FitProblem(zero, p, fixed={"d": 9.0})  # profile fits hold any parameter
    assert prob.free_names == ["a", "b"] and [t.name for t in prob.tied_params] == ["e", "f", "g"]
    prob.set_values(np.array([0.25, 2.0]))
    assert p["d"].value == 9.0 and p["e"].value == 1.5 and p["g"].value == 0.5


# ---------------------------------------------------------------------- errors
def test_failing_tie_is_named_in_scalar_and_array_evaluations():
    p = Parameters()
    p.add("a", 1.0)
    p.add("b", expr="a + 1")
    with pytest.raises(ExpressionEvaluationError, match="'c'"):
        p.add("c", expr="log(a - 10)")   # refused at add() (lmfit 1.3), p unchanged
    assert list(p) == ["a", "b"]
    p["a"].value = 20.0                  # log(10): fine now
    p.add("c", expr="log(a - 10)")
    p.add("d", expr="b * 2")
    p["a"].value = 1.0                   # an assignment is not checked against the ties
    with pytest.raises(ExpressionEvaluationError, match="'c'"):
        p.update_constraints()
    with pytest.raises(ExpressionEvaluationError, match="'c'"):
        FitProblem(zero, p)
    q = Parameters()
    q.add("a", 1.0)
    q.add("b", expr="a + 1")
    q.add("c", expr="a if a > 0 else 1.0")   # fine for floats, ambiguous for arrays
    q.add("d", expr="b * 2")
    assert ParameterMap(q).values(np.array([2.0]))["c"] == 2.0
    with pytest.raises(ExpressionEvaluationError, match="'c'.*truth value"):
        ParameterMap(q).values(np.array([[2.0, 3.0]]))
