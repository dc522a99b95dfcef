"""paramfit.frontends.nls: nlxb / nlfb / optimr / bmchk against the numbers R printed in seed 001.

The expected numbers are copied from seed 001 (nlsr's and Rvmmin's printed output),
an independent source; they are compared at the digits R printed, formatted the way R
formats them.  None of those comparisons can flip on rounding: the value closest to a
rounding boundary of its printed digits (b2 = 49.0916) is 2e-7 relative away from it,
1e4 times the spread of the fits (<= 1e-11 between the ways of fitting below).
"""

import importlib.util
import math
import re
import warnings

import numpy as np
import pytest
from _perturb import nudged_float
from _reference import FIT_RTOL
from hypothesis import example, given, settings
from hypothesis import strategies as st

from paramfit.core.exceptions import (
    BoundsError,
    BoundsWarning,
    ExpressionError,
    FitError,
    ParameterError,
    ResidualError,
)
from paramfit.core.parameters.parameters import Parameters
from paramfit.fitting.minimizer import minimize
from paramfit.frontends.nls import (
    BoundsCheck,
    NlsResult,
    OptimrResult,
    bmchk,
    nlfb,
    nlxb,
    optimr,
)
from paramfit.frontends.nls import __all__ as nls_all

from paramfit.frontends.nls_report import format_r  # isort: skip

WEED = np.array([5.308, 7.24, 9.638, 12.866, 17.069, 23.192, 31.443,
                 38.558, 50.156, 62.948, 75.995, 91.972])
II = np.arange(1, 13)
DATA = {"weed": WEED, "ii": II}
FORMULA = "weed ~ b1/(1+b2*exp(-b3*ii))"
START = {"b1": 200, "b2": 50, "b3": 0.3}

# seed 001, `weedux` and `weedcx` (nlsr's printed tables, whitespace collapsed)
UNMASKED_TEXT = """\
nlsr object: x
residual sumsquares = 2.5873 on 12 observations
after 5 Jacobian and 6 function evaluations
name coeff SE tstat pval gradient JSingval
b1 196.186 11.31 17.35 3.167e-08 -1.334e-10 1011
b2 49.0916 1.688 29.08 3.284e-10 -5.431e-11 0.4605
b3 0.31357 0.006863 45.69 5.768e-12 3.865e-08 0.04714"""
MASKED_TEXT = """\
nlsr object: x
residual sumsquares = 2.6182 on 12 observations
after 4 Jacobian and 5 function evaluations
name coeff SE tstat pval gradient JSingval
b1 200 M NA NA NA 0 1022
b2 49.5108 NA NA NA 2.292e-11 0.4569
b3 0.311461 NA NA NA 1.035e-08 0"""


def rfn(bvec, weed, ii):
    """Seed 001's ``rfn``: residuals model - data, one observation at a time."""
    res = np.full(len(ii), np.nan)
    for i in ii:
        res[i - 1] = bvec[0] / (1 + bvec[1] * math.exp(-bvec[2] * i)) - weed[i - 1]
    return res


def rjac(bvec, weed, ii):
    e = np.exp(-bvec[2] * ii)
    d = 1 + bvec[1] * e
    return np.column_stack([1 / d, -bvec[0] * e / d**2, bvec[0] * bvec[1] * ii * e / d**2])


def tokens(text):
    return [line.split() for line in text.splitlines()]


def sq(x):
    """Seed 001's ``sq``."""
    return float(np.sum((np.arange(1, x.size + 1) - x) ** 2))


def sq_g(x):
    """Seed 001's ``sq.g``."""
    return 2 * (x - np.arange(1, x.size + 1))


def _nudged_start(masked=()):
    """Seed 001's start, the free values moved by ``--perturb-ulps`` (tests/_perturb.py;
    none by default)."""
    return {name: value if name in masked else nudged_float(value)
            for name, value in START.items()}


@pytest.fixture(scope="module")
def weedux():
    return nlxb(FORMULA, DATA, _nudged_start())


@pytest.fixture(scope="module")
def weedcx():
    return nlxb(FORMULA, DATA, _nudged_start(masked=["b1"]), masked=["b1"])


# ------------------------------------------------------------------ R formatting
@pytest.mark.parametrize("value, digits, text", [
    (196.18628, 6, "196.186"), (0.3135702, 6, "0.31357"), (200.0, 6, "200"),
    (2.587305, 5, "2.5873"), (3.16712e-08, 4, "3.167e-08"), (-1.33412e-10, 4, "-1.334e-10"),
    (0.00686341, 4, "0.006863"), (1011.24, 4, "1011"), (0.0471417, 4, "0.04714"),
    (100000.0, 7, "1e+05"), (123456.0, 7, "123456"), (0.0001, 7, "1e-04"),
    (1234567.0, 6, "1234567"), (0.0, 4, "0"), (None, 4, "NA"), (math.nan, 4, "NA"),
    (-math.inf, 4, "-Inf"), (9.99996, 4, "10"), (1.5e-300, 4, "1.5e-300"),
])
def test_format_r_matches_r_format(value, digits, text):
    assert format_r(value, digits) == text


@settings(deadline=None)
@example(7.262658873686155e-65, 15)  # rounds to 0.48 units, read back 0.51 units away
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
       st.integers(min_value=1, max_value=15))
def test_format_r_rounds_to_significant_digits(value, digits):
    text = format_r(value, digits)
    if value == 0:
        assert text == "0"
        return
    # at most half a unit of the last significant digit kept (R shows every integer
    # digit of a large number in fixed notation, so more digits may appear)
    unit = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    # correct rounding is within half a unit; float(text) rounds once more, by up to half
    # an ulp, which at 15 digits is 8% of a unit (e.g. 7.262658873686155e-65 -> '...616e-65'
    # is 0.48 units away, float() of it 0.51): + ulp(value); 1e-9 for the rounding of
    # 10.0 ** k; 1e-300 for subnormals
    assert abs(float(text) - value) <= 0.5 * unit * (1 + 1e-9) + math.ulp(value) + 1e-300


def test_format_r_pads_to_width():
    assert format_r(11.31, 4, 9) == "    11.31"


# ------------------------------------------------------------------ nlxb: seed 001
@pytest.mark.reference
def test_weed_unmasked_values_match_nlsr(weedux):
    fit = weedux
    assert format_r(fit.ssquares, 5) == "2.5873"
    assert fit.nobs == 12
    seed = {"b1": ("196.186", "11.31", "17.35", "3.167e-08", "1011"),
            "b2": ("49.0916", "1.688", "29.08", "3.284e-10", "0.4605"),
            "b3": ("0.31357", "0.006863", "45.69", "5.768e-12", "0.04714")}
    for i, (name, (coeff, se, t, p, sv)) in enumerate(seed.items()):
        assert format_r(fit.coefficients[name], 6) == coeff
        assert format_r(fit.std_errors[name], 4) == se
        assert format_r(fit.tvalues[name], 4) == t
        assert format_r(fit.pvalues[name], 4) == p
        assert format_r(fit.jac_singular_values[i], 4) == sv
    # at the minimum the gradient is rounding: eps |J| |r| sqrt(m) ~ 1e-12 (measured 1e-11);
    # nlsr printed up to 4e-8, so 1e-8 is its level and 1e3 above ours
    assert np.all(np.abs(fit.gradient) < 1e-8)
    assert fit.masked == [] and fit.bdmsk.tolist() == [1, 1, 1]
    assert fit.success


@pytest.mark.reference
def test_weed_unmasked_golden_text(weedux):
    """Every printed field nlsr shows, except the evaluation counts and the gradient
    (solver-dependent round-off at the solution), is reproduced."""
    got, want = tokens(str(weedux)), tokens(UNMASKED_TEXT)
    assert len(got) == len(want)
    assert got[:2] == want[:2] and got[3] == want[3]
    assert re.fullmatch(r"after \d+ Jacobian and \d+ function evaluations",
                        " ".join(got[2]))
    for g, w in zip(got[4:], want[4:], strict=True):
        assert g[:5] == w[:5] and g[6] == w[6]
        assert abs(float(g[5])) < 1e-8  # as in test_weed_unmasked_values_match_nlsr


@pytest.mark.reference
def test_weed_masked_values_match_nlsr(weedcx):
    fit = weedcx
    assert format_r(fit.ssquares, 5) == "2.6182"
    assert fit.coefficients["b1"] == 200.0  # masked: never moved, exact
    assert format_r(fit.coefficients["b2"], 6) == "49.5108"
    assert format_r(fit.coefficients["b3"], 6) == "0.311461"
    assert [format_r(s, 4) for s in fit.jac_singular_values] == ["1022", "0.4569", "0"]
    assert fit.masked == ["b1"]
    assert fit.bdmsk.tolist() == [0, 1, 1]
    assert fit.gradient[0] == 0.0  # a masked parameter's gradient is set to 0
    # paramfit's documented difference: SEs of the free parameters of the reduced problem
    assert fit.std_errors["b1"] is None and fit.tvalues["b1"] is None
    assert fit.std_errors["b2"] > 0 and fit.std_errors["b3"] > 0
    assert fit.fit.nfree == 10


@pytest.mark.reference
def test_weed_masked_golden_text(weedcx):
    got, want = tokens(str(weedcx)), tokens(MASKED_TEXT)
    assert got[:2] == want[:2] and got[3] == want[3]
    assert got[4] == want[4]  # b1 200 M NA NA NA 0 1022
    for g, w in zip(got[5:], want[5:], strict=True):
        assert g[:2] == w[:2] and g[-1] == w[-1]
        assert len(g) == 7  # SE, tstat, pval are numbers here (reduced problem)


def _masked_fits():
    """The seed's masked weed fit reached in every documented way."""
    yield "nlxb masked", nlxb(FORMULA, DATA, START, masked=["b1"]).coefficients
    yield "nlxb masked str", nlxb(FORMULA, DATA, START, masked="b1").coefficients
    yield "nlfb maskidx", nlfb([200, 50, 0.3], rfn, weed=WEED, ii=II, maskidx=[0]).coefficients
    yield "nlfb maskidx one_based", nlfb(
        START, rfn, weed=WEED, ii=II, maskidx=[1], one_based=True).coefficients
    yield "nlxb equal bounds", nlxb(FORMULA, DATA, START, lower={"b1": 200},
                                    upper={"b1": 200}).coefficients
    yield "nlfb equal bounds", nlfb(START, rfn, weed=WEED, ii=II, lower=[200, -np.inf, -np.inf],
                                    upper=[200, np.inf, np.inf]).coefficients
    params = Parameters()
    params.add("b1", 200, vary=False)
    params.add("b2", 50)
    params.add("b3", 0.3)
    minimize(lambda p: rfn([p["b1"].value, p["b2"].value, p["b3"].value], WEED, II), params)
    yield "minimize vary=False", params.valuesdict()


@pytest.mark.parametrize("way, coefficients", list(_masked_fits()), ids=lambda v: str(v)[:24])
def test_every_way_of_masking_gives_the_same_fit(weedcx, way, coefficients):
    ref = weedcx.coefficients
    got = list(coefficients.values())
    # the same reduced problem fitted by other paths (measured <= 2.6e-12 apart)
    np.testing.assert_allclose(got, list(ref.values()), rtol=FIT_RTOL, err_msg=way)
    assert got[0] == 200.0  # fixed: never moved


@pytest.mark.skipif(importlib.util.find_spec("paramfit.frontends.mpfit") is None,
                    reason="paramfit.frontends.mpfit (MPFIT front end) is not in this tree yet")
def test_mpfit_parinfo_fixed_gives_the_same_fit(weedcx):
    from paramfit.frontends.mpfit import mpfit

    def fcn(p, fjac=None, weed=None, ii=None):
        return [0, rfn(p, weed, ii)]

    parinfo = [{"value": 200.0, "fixed": 1}, {"value": 50.0}, {"value": 0.3}]
    res = mpfit(fcn, parinfo=parinfo, functkw={"weed": WEED, "ii": II}, quiet=True)
    assert res.status > 0, res.errmsg
    # mpfit's default xtol = 1e-10 bounds its last step; 1e-8 leaves 100x for the
    # conditioning of the reduced problem (measured 2.6e-12)
    np.testing.assert_allclose(res.params, list(weedcx.coefficients.values()), rtol=1e-8)


def test_nlfb_prints_p_names_like_nlsr():
    fit = nlfb(start=[200, 50, 0.3], resfn=rfn, weed=WEED, ii=II)
    rows = tokens(str(fit))[4:]
    assert [r[0] for r in rows] == ["p_1", "p_2", "p_3"]
    assert [r[1] for r in rows] == ["196.186", "49.0916", "0.31357"]
    assert [r[2] for r in rows] == ["11.31", "1.688", "0.006863"]
    assert [r[-1] for r in rows] == ["1011", "0.4605", "0.04714"]
    masked = nlfb(start=[200, 50, 0.3], resfn=rfn, weed=WEED, ii=II, maskidx=[1],
                  one_based=True)
    assert tokens(str(masked))[4] == "p_1 200 M NA NA NA 0 1022".split()


def test_nlfb_with_jacobian_agrees(weedux):
    fit = nlfb([200, 50, 0.3], rfn, rjac, weed=WEED, ii=II)
    # analytic vs symbolic derivatives, the same minimum (measured 1.1e-11)
    np.testing.assert_allclose(list(fit.coefficients.values()),
                               list(weedux.coefficients.values()), rtol=FIT_RTOL)
    masked = nlfb([200, 50, 0.3], rfn, rjac, maskidx=[0], weed=WEED, ii=II)
    assert format_r(masked.coefficients["p_2"], 6) == "49.5108"


# ------------------------------------------------------------------ nlxb options
def test_dataframe_series_and_bounds_forms():
    pd = pytest.importorskip("pandas")
    fit = nlxb(FORMULA, pd.DataFrame(DATA), pd.Series(START), lower=0, upper=[500, 500, 5])
    assert format_r(fit.coefficients["b1"], 6) == "196.186"
    frame = fit.to_dataframe()
    assert list(frame.index) == ["b1", "b2", "b3"]
    assert {"coeff", "SE", "tstat", "pval", "gradient", "JSingval", "bdmsk"} <= set(frame)


def test_bound_codes_and_flags():
    fit = nlxb(FORMULA, DATA, {"b1": 180, "b2": 50, "b3": 0.3}, upper={"b1": 190})
    assert fit.coefficients["b1"] == 190.0  # held at the bound: set to it exactly
    assert fit.bdmsk.tolist() == [-1, 1, 1]
    assert fit.bound_flags[0] == "U"
    assert tokens(str(fit))[4][:4] == ["b1", "190U", "NA", "NA"]
    low = nlxb(FORMULA, DATA, {"b1": 200, "b2": 50, "b3": 0.33}, lower={"b3": 0.32})
    assert low.coefficients["b3"] == 0.32 and low.bdmsk.tolist() == [1, 1, -3]


def test_weights_scale_residuals_and_drop_zero_weights(weedux):
    twice = nlxb(FORMULA, DATA, START, weights=np.full(12, 2.0))
    # a constant weight does not move the minimum; the sum of squares is stationary there,
    # so only the rounding of a 12-term sum is left (measured 1.4e-14)
    assert twice.ssquares == pytest.approx(2 * weedux.ssquares, rel=1e-12)
    np.testing.assert_allclose(list(twice.coefficients.values()),
                               list(weedux.coefficients.values()), rtol=FIT_RTOL)
    w = np.ones(12)
    w[-1] = 0.0
    dropped = nlxb(FORMULA, DATA, START, weights=w)
    assert dropped.nobs == 11
    sub = nlxb(FORMULA, {"weed": WEED[:-1], "ii": II[:-1]}, START)
    # the same 11 points (identical here)
    np.testing.assert_allclose(list(dropped.coefficients.values()),
                               list(sub.coefficients.values()), rtol=FIT_RTOL)


def test_result_is_declared_data(weedux):
    assert isinstance(weedux, NlsResult)
    d = weedux.to_dict()
    assert d["formula"] == FORMULA and d["nobs"] == 12
    assert set(d["parameters"]) == {"b1", "b2", "b3"}
    assert d["parameters"]["b1"]["masked"] is False
    assert repr(weedux) == str(weedux)


# ------------------------------------------------------------------ clear errors
def test_formula_without_tilde_is_a_clear_error():
    with pytest.raises(ExpressionError, match="has no '~'"):
        nlxb("b1/(1+b2*exp(-b3*ii))", DATA, START)


def test_unknown_name_lists_the_columns():
    with pytest.raises(ExpressionError, match=r"'jj'.*data column \(weed, ii\)"):
        nlxb("weed ~ b1/(1+b2*exp(-b3*jj))", DATA, START)


@pytest.mark.parametrize("rhs", ["b1.__class__", "__import__('os')", "[b1, b2, b3]",
                                 "(lambda: b1)()"])
def test_forbidden_constructs_are_rejected(rhs):
    with pytest.raises(ExpressionError, match="in formula"):
        nlxb(f"weed ~ {rhs} + b2*b3*ii", DATA, START)


def test_unused_start_parameter_is_an_error():
    with pytest.raises(ParameterError, match="does not use"):
        nlxb(FORMULA, DATA, {**START, "b4": 1.0})


def test_inadmissible_bounds_raise():
    with pytest.raises(BoundsError, match="inadmissible"):
        nlxb(FORMULA, DATA, START, lower={"b1": 300}, upper={"b1": 100})


def test_equal_bounds_with_a_different_start_raise():
    with pytest.raises(BoundsError, match="start value"):
        nlxb(FORMULA, DATA, START, lower={"b1": 190}, upper={"b1": 190})
    with pytest.raises(BoundsError, match="start value"):
        optimr([0.5, 4.0], sq, sq_g, lower=[0.3, -np.inf], upper=[0.3, np.inf])


def test_bad_mask_arguments():
    with pytest.raises(ParameterError, match="unknown"):
        nlxb(FORMULA, DATA, START, masked=["b9"])
    with pytest.raises(ParameterError, match="out of range"):
        nlfb([200, 50, 0.3], rfn, weed=WEED, ii=II, maskidx=[3])
    with pytest.raises(ParameterError, match="1-based"):
        nlfb([200, 50, 0.3], rfn, weed=WEED, ii=II, maskidx=[0], one_based=True)


# ------------------------------------------------------------------ optimr: Rvmmin example
#: sq has the Hessian 2 I, so L-BFGS-B's stop at a projected gradient <= pgtol = 1e-5
#: (scipy's default) bounds |x - x*| by 5e-6 and sq - sq* by 2 (5e-6)**2 per
#: coordinate (on this quadratic it lands on the answer to rounding, which is not promised)
PGTOL_X, PGTOL_VALUE = 5e-6, 1e-10


def test_optimr_unmasked_matches_rvmmin():
    ans = optimr([0.3, 4.0], sq, sq_g)
    assert isinstance(ans, OptimrResult)
    np.testing.assert_allclose(ans.par, [1.0, 2.0], rtol=0.0, atol=PGTOL_X)
    assert ans.value == pytest.approx(0.0, abs=PGTOL_VALUE)
    assert ans.convergence == 0
    assert ans.counts["function"] > 0 and ans.counts["gradient"] > 0
    assert ans.bdmsk.tolist() == [1, 1]


@pytest.mark.parametrize("kws", [
    {"bdmsk": [0, 1]},
    {"lower": [0.3, -np.inf], "upper": [0.3, np.inf]},
])
@pytest.mark.parametrize("method", ["L-BFGS-B", "Nelder-Mead", "BFGS"])
def test_optimr_masked_matches_rvmmin(kws, method):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # equal bounds fix silently
        ans = optimr([0.3, 4.0], sq, sq_g, method=method, **kws)
    assert ans.par[0] == 0.3  # masked: never moved
    # the loosest of the three methods: Nelder-Mead's xatol = 1e-4, so the value is within
    # (1e-4)**2 = 1e-8 of 0.49
    assert ans.par[1] == pytest.approx(2.0, abs=1e-4)
    assert ans.value == pytest.approx(0.49, abs=1e-8)
    assert ans.bdmsk.tolist() == [0, 1]
    assert ans.convergence == 0


def test_optimr_gradient_masked_and_counts_without_gradient():
    seen = []
    ans = optimr([0.3, 4.0], sq, lambda x: seen.append(x.copy()) or sq_g(x), bdmsk=[0, 1])
    assert all(x[0] == 0.3 for x in seen)  # masked: never moved
    assert ans.counts["gradient"] == len(seen)
    fd = optimr([0.3, 4.0], sq)
    assert fd.counts["gradient"] is None
    # PGTOL_X plus the forward-difference gradient's error (~1e-8 / 2): 1e-5
    np.testing.assert_allclose(fd.par, [1, 2], atol=1e-5)


def test_optimr_bounds_codes_and_errors():
    with pytest.warns(BoundsWarning, match="outside its upper bound 1.5"):
        ans = optimr([0.3, 4.0], sq, sq_g, lower=0, upper=[3, 1.5])
    np.testing.assert_allclose(ans.par, [1.0, 1.5], rtol=0.0, atol=PGTOL_X)
    assert ans.bdmsk.tolist() == [1, -1]
    with pytest.raises(FitError, match="BFGS"):
        optimr([0.3, 4.0], sq, sq_g, upper=5, method="BFGS")
    with pytest.raises(FitError, match="not available"):
        optimr([0.3, 4.0], sq, method="SANN")
    with pytest.raises(BoundsError, match="inadmissible"):
        optimr([0.3, 4.0], sq, lower=[1, 0], upper=[0, 5])
    with pytest.warns(BoundsWarning, match="moved to the bound"):
        optimr([0.3, 4.0], sq, sq_g, upper=3)
    with pytest.warns(BoundsWarning, match="nearly"):
        near = optimr([0.3, 4.0], sq, sq_g, lower=[0.3, 0], upper=[0.3 + 1e-14, 10])
    assert near.bdmsk[0] == 0


# ------------------------------------------------------------------ bmchk
def test_bmchk_clean_start():
    chk = bmchk([1.0, 2.0], lower=0, upper=5)
    assert isinstance(chk, BoundsCheck)
    assert chk.admissible and chk.feasible and not chk.maskadded and not chk.parchanged
    assert not chk.onbound and chk.bdmsk.tolist() == [1, 1] and chk.messages == []


def test_bmchk_inadmissible():
    chk = bmchk([1.0, 2.0], lower=[0, 3], upper=[5, 1])
    assert not chk.admissible
    assert "par[1]" in chk.messages[0] and "inadmissible" in chk.messages[0]


def test_bmchk_masked_inadmissible_bounds_are_ignored():
    assert bmchk([1.0, 2.0], lower=[0, 3], upper=[5, 1], bdmsk=[1, 0]).admissible


def test_bmchk_maskadded():
    chk = bmchk([0.3, 2.0], lower=[0.3, 0], upper=[0.3, 5])
    assert chk.maskadded and chk.bdmsk.tolist() == [0, 1] and chk.bchar == ["M", "F"]
    assert bmchk([1.0], lower=1.0, upper=1.001, tol=0.01).maskadded
    assert not bmchk([1.0], lower=1.0, upper=1.001).maskadded


def test_bmchk_infeasible_shifted_to_bound():
    chk = bmchk([-1.0, 9.0, 2.0], lower=0, upper=5)
    assert not chk.feasible and chk.parchanged and chk.onbound
    assert chk.bvec.tolist() == [0.0, 5.0, 2.0]
    assert chk.bdmsk.tolist() == [-3, -1, 1] and chk.bchar == ["L", "U", "F"]
    assert len(chk.messages) == 2


def test_bmchk_infeasible_not_shifted():
    chk = bmchk([-1.0, 9.0], lower=0, upper=5, shift_to_bound=False)
    assert not chk.feasible and not chk.parchanged
    assert chk.bvec.tolist() == [-1.0, 9.0]
    assert chk.bdmsk.tolist() == [-3.5, -0.5] and chk.bchar == ["-", "+"]


def test_bmchk_onbound_and_masked_values_never_move():
    chk = bmchk([0.0, 7.0], lower=0, upper=5, bdmsk=[1, 0])
    assert chk.onbound and chk.bdmsk.tolist() == [-3, 0]
    assert chk.bvec.tolist() == [0.0, 7.0] and not chk.feasible and not chk.parchanged


def test_optimr_named_start():
    ans = optimr({"a": 0.3, "b": 4.0}, sq, sq_g, bdmsk=[0, 1])
    assert ans.names == ["a", "b"] and ans.par[0] == 0.3


def test_nlfb_resfn_failure_names_the_function():
    def broken(b, x):
        raise ValueError("boom")

    with pytest.raises(ResidualError, match=r"broken raised ValueError: boom"):
        nlfb([1.0], broken, x=1)


def test_public_surface():
    assert set(nls_all) == {"NlsResult", "OptimrResult", "BoundsCheck", "nlxb", "nlfb",
                            "optimr", "bmchk"}
