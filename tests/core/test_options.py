"""FitOptions: a fit's options resolved and validated in one place (issue 14, change 3)."""

import warnings

import numpy as np
import pytest

from paramfit import FitError, ParamfitError
from paramfit.core.options import (
    DEFAULT_FTOL,
    FitOptions,
    LMOptions,
    OptionError,
)
from paramfit.core.solvers.levenberg_marquardt import levenberg_marquardt
from paramfit.reference.nist import run_case


def jac(params):
    return np.zeros((1, 1))


def other_jac(params):
    return np.ones((1, 1))


def resolve(constructor=None, call=None, method="leastsq"):
    return FitOptions.resolve(method, constructor or {}, call or {})


# ---------------------------------------------------------------------- layers
def test_the_call_overrides_the_constructor_under_either_name():
    for ctor_name in ("max_nfev", "maxfev"):
        for call_name in ("max_nfev", "maxfev"):
            options = resolve({ctor_name: 1000}, {call_name: 5})
            assert options.max_nfev == 5 and options.lm.max_nfev == 5, (ctor_name, call_name)
    assert resolve({"max_nfev": 1000}).lm.max_nfev == 1000
    options = resolve({"ftol": 1e-3, "xtol": 1e-4}, {"ftol": 1e-9})
    assert (options.lm.ftol, options.lm.xtol) == (1e-9, 1e-4)
    assert resolve({"jac": jac}, {"Dfun": other_jac}).jac is other_jac
    assert resolve({"col_deriv": True}).col_deriv is True
    assert resolve({"col_deriv": True}, {"col_deriv": False}).col_deriv is False


def test_none_is_not_given_and_zero_is_the_default_limit():
    # None: not given, the constructor's value stands
    assert resolve({"max_nfev": 1000}, {"maxfev": None}).max_nfev == 1000
    # 0: scipy.optimize.leastsq's "maxfev=0" means its default, 1000 * (n + 1) here
    options = resolve({"max_nfev": 1000}, {"maxfev": 0})
    assert options.max_nfev is None and options.lm.max_nfev_for(4) == 5000
    assert resolve(call={"maxfev": 1e4}).max_nfev == 10000      # a whole number as float
    assert resolve().lm == LMOptions() and resolve().lm.ftol == DEFAULT_FTOL


def test_other_methods_get_the_limit_and_scipy_keywords_unchanged():
    options = resolve({"max_nfev": 1000, "jac": jac, "xtol": None, "loss": "huber"},
                      {"maxfev": 7, "jac": "3-point", "f_scale": 0.5}, method="least_squares")
    assert options.max_nfev == 7 and options.lm is None
    # the constructor's jac is a Jacobian of the Parameters (for the covariance); the
    # call's jac is scipy's own keyword and goes to scipy, as does every other keyword
    assert options.jac is jac and options.analytic_jac
    assert dict(options.solver_kws) == {"xtol": None, "loss": "huber", "jac": "3-point",
                                        "f_scale": 0.5}
    with pytest.raises(TypeError):
        options.solver_kws["loss"] = "linear"        # read-only


def test_options_are_frozen():
    options = resolve()
    with pytest.raises(AttributeError):
        options.max_nfev = 3
    with pytest.raises(ValueError):
        resolve(call={"diag": [1.0, 2.0]}).lm.diag[0] = 5.0


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(("call", "words"), [
    ({"xtoll": 1e-3}, r"unknown keyword\(s\) \['xtoll'\] \(given to leastsq"),
    ({"ftol": "tight"}, "'ftol' must be a real number, got 'tight'"),
    ({"factor": True}, "'factor' must be a real number"),
    ({"maxfev": 2.5}, "'max_nfev' must be a whole number of function evaluations, got 2.5"),
    ({"maxfev": 5, "max_nfev": 6}, "maxfev=5 and max_nfev=6 are the same option"),
    ({"Dfun": jac, "jac": other_jac}, "are the same option"),
    ({"final_jacobian": "magic"},
     "'final_jacobian' must be one of 'reuse', 'richardson', 'central'"),
    ({"jacobian_update": "bfgs"}, "'jacobian_update' must be one of 'none', 'broyden'"),
    ({"jac": 3.0}, "'jac' must be a function"),
    ({"col_deriv": 2}, "'col_deriv' must be True or False"),
    ({"geodesic": "yes"}, "'geodesic' must be True or False"),
    ({"diag": "abc"}, "'diag' must be positive scale factors"),
    ({"epsfcn": -1e-10}, "'epsfcn' must be >= 0"),
])
def test_a_bad_option_is_an_option_error_naming_it(call, words):
    with pytest.raises(OptionError, match=words) as info:
        resolve({"max_nfev": 1000}, call)
    # the one error class is a FitError (what paramfit raised before) and a ValueError
    assert isinstance(info.value, FitError) and isinstance(info.value, ValueError)
    assert isinstance(info.value, ParamfitError)


def test_a_bad_constructor_option_names_the_constructor():
    with pytest.raises(OptionError, match=r"given to Minimizer"):
        resolve({"xtoll": 1e-3})
    with pytest.raises(OptionError, match=r"max_nfev=6 and maxfev=5 .*given to Minimizer"):
        resolve({"max_nfev": 6, "maxfev": 5})
    # the same value under both names is one option given twice, not a conflict
    assert resolve({"max_nfev": 5, "maxfev": 5}).max_nfev == 5


def test_the_array_level_solver_validates_through_the_same_class():
    with pytest.raises(OptionError, match="'gtol' must be a real number"):
        levenberg_marquardt(lambda p: p - 1.0, [0.0], gtol="small")
    # a number of the right type outside MINPACK's range stays MINPACK's improper input
    sol = levenberg_marquardt(lambda p: p - 1.0, [0.0], gtol=-1.0)
    assert sol.termination.code == 0


def test_geodesic_acceleration_can_be_turned_off():
    # NIST Bennett5 from start 1: a curved valley MINPACK crawls along (lmfit's lmdif
    # needs ~3,000 evaluations); with the acceleration (the default) far fewer.  Both
    # reach the certified values (6 digits, the NIST suite's criterion).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = run_case("Bennett5", 1)
        minpack = run_case("Bennett5", 1, geodesic=False)
    assert default.success and minpack.success
    assert min(default.digits_values, minpack.digits_values) >= 6
    assert resolve(call={"geodesic": False}).lm.geodesic is False
    assert resolve().lm.geodesic is True
    # measured 353 and 3,036: a factor 3 leaves room for other paths
    assert 3 * default.nfev < minpack.nfev
