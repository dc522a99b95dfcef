"""Parameter: values, bounds, options, expressions, status (seed 000 §2.2, seed 001)."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest

from paramfit.core.exceptions import (
    BoundsError,
    ExpressionError,
    ParameterError,
)
from paramfit.core.parameters.parameters import (
    BOUNDS_TOLERANCE,
    Parameter,
    ParameterStatus,
)


def double(x):
    """A module-level user function (picklable by reference)."""
    return 2 * x


# --------------------------------------------------------------------------- Parameter
def test_public_surface():
    import paramfit.core.parameters.parameters as mod

    assert set(mod.__all__) == {"BOUNDS_TOLERANCE", "Parameter", "ParameterStatus",
                                "Parameters", "check_name", "create_params"}
    assert BOUNDS_TOLERANCE == 1e-10


def test_parameter_defaults():
    with pytest.raises(TypeError, match="'name'"):
        Parameter()  # nothing at all: lmfit 1.3's TypeError (the seed's calls give a value)
    p = Parameter(value=None)
    assert p.value == -math.inf and p.vary is True  # unset: lmfit 1.3's -inf
    assert p.min == -math.inf and p.max == math.inf
    assert p.name is None and p.expr is None and p.compiled_expr is None
    assert p.stderr is None and p.correl is None and p.init_value is None
    assert p.step is None and p.relative_step is None and p.max_step is None
    assert p.side == "auto" and p.user_data is None


def test_parameter_stores_floats():
    # values and bounds compared with == in this file are the numbers given, stored or
    # converted to float (exact for these): exact by construction
    p = Parameter(np.float32(2.5), min=0, max=np.int64(3), name="a")
    assert type(p.value) is float and p.value == 2.5
    assert type(p.min) is float and (p.min, p.max) == (0.0, 3.0)
    p.value = 7  # clipped to max on assignment (lmfit 1.3; issue 15 #6)
    assert p.value == 3.0
    p.value = None  # unset (-inf), clipped to the lower bound as lmfit 1.3's constructor
    assert p.value == 0.0


@pytest.mark.parametrize("bad", ["1.0", b"1", 1j, [1, 2], object()])
def test_value_must_be_real_number(bad):
    with pytest.raises(ParameterError, match="'a'"):
        Parameter(name="a").value = bad


def test_hot_path_slot():
    p = Parameter(1.0, name="a")
    p._value = 3.5
    assert p.value == 3.5
    assert not hasattr(p, "__dict__")


def test_inadmissible_bounds_at_construction():
    with pytest.raises(BoundsError, match=r"'amp'.*min=5\.0.*max=1\.0"):
        Parameter(2, min=5, max=1, name="amp")


def test_inadmissible_bounds_either_order_of_setting():
    p = Parameter(1.0, name="decay")
    p.max = 0.1
    with pytest.raises(BoundsError, match=r"'decay'.*min=0\.5.*max=0\.1"):
        p.min = 0.5
    assert p.min == -math.inf  # unchanged after the failed set
    p.min = 0.0
    with pytest.raises(BoundsError, match=r"'decay'.*min=0\.0.*max=-1\.0"):
        p.max = -1
    assert p.max == 0.1
    assert issubclass(BoundsError, ValueError)


def test_nan_bound_rejected():
    with pytest.raises(BoundsError, match="NaN"):
        Parameter(1.0, min=float("nan"), name="a")


def test_none_bound_clears():
    p = Parameter(1.0, min=0, max=2)
    p.min = None
    p.max = None
    assert (p.min, p.max) == (-math.inf, math.inf)


@pytest.mark.parametrize("side", ["auto", "forward", "backward", "central"])
def test_side_accepted(side):
    assert Parameter(side=side).side == side


def test_options_validated():
    with pytest.raises(ParameterError, match="side"):
        Parameter(name="a", side="left")
    for option in ("step", "relative_step", "max_step"):
        for bad in (0, -1.0, math.inf, math.nan, "x"):
            with pytest.raises(ParameterError, match=option):
                Parameter(name="a", **{option: bad})
    p = Parameter(step=1e-3, relative_step=1e-6, max_step=0.5, side="central")
    assert (p.step, p.relative_step, p.max_step, p.side) == (1e-3, 1e-6, 0.5, "central")


def test_expr_compiled_at_set_time():
    p = Parameter(name="wid2", expr="  2*wid1/3 ")
    assert p.expr == "2*wid1/3"
    assert p.compiled_expr.names == frozenset({"wid1"})
    assert p.status is ParameterStatus.TIED
    with pytest.raises(ExpressionError, match="wid2"):
        p.expr = "__import__('os')"
    with pytest.raises(ExpressionError):
        p.expr = "1 +"
    assert p.expr == "2*wid1/3"  # a failed set leaves the old expression
    p.expr = ""
    assert p.expr is None and p.compiled_expr is None
    # setting expr set vary=False (lmfit 1.3); removing it leaves vary as it is
    assert p.vary is False and p.status is ParameterStatus.FIXED
    with pytest.raises(ParameterError):
        p.expr = 3


def test_tied_parameter_reports_vary_false():
    # issue 15 #5: a tied parameter is not varied by the fit, so vary reads False (lmfit
    # 1.3), and counting vary over the parameters counts the fitted ones
    p = Parameter(name="b", vary=True, expr="a")
    assert p.status is ParameterStatus.TIED and p.vary is False
    p.expr = None
    assert p.status is ParameterStatus.FIXED and p.vary is False


def test_setting_vary_true_frees_a_tied_parameter():
    # issue 15 #3: vary=True on a tied parameter drops its expr (lmfit 1.3)
    p = Parameter(name="b", expr="2*a")
    p.vary = True
    assert p.expr is None and p.compiled_expr is None and p.status is ParameterStatus.FREE


# ---------------------------------------------------------------------------- status
def test_bdmsk_codes_match_seed_001():
    # seed 001: 1 free, 0 fixed/masked, -0.5 above upper, -1 at upper, -3 at lower,
    # -3.5 below lower
    expected = {"FREE": 1, "FIXED": 0, "TIED": 0, "AT_LOWER": -3, "AT_UPPER": -1,
                "BELOW_LOWER": -3.5, "ABOVE_UPPER": -0.5}
    assert {s.name: s.bdmsk for s in ParameterStatus} == expected
    assert ParameterStatus.AT_LOWER.value == "at lower bound"
    assert ParameterStatus.FREE.value == "free"
    # seed 001: adding 2 gives 1 for an upper bound and -1 for a lower bound
    assert ParameterStatus.AT_UPPER.bdmsk + 2 == 1
    assert ParameterStatus.AT_LOWER.bdmsk + 2 == -1
    assert ParameterStatus("tied") is ParameterStatus.TIED


def test_status_from_settings():
    assert Parameter(1.0).status is ParameterStatus.FREE
    assert Parameter(1.0, vary=False).status is ParameterStatus.FIXED
    assert Parameter(1.0, min=1.0, max=1.0).status is ParameterStatus.FIXED
    assert Parameter(1.0, min=1.0, max=1.0).is_fixed
    assert not Parameter(1.0, min=0.0, max=2.0).is_fixed


def test_is_fixed_near_equal_bounds():
    scale = 1e6
    p = Parameter(scale, min=scale, max=scale * (1 + 0.5 * BOUNDS_TOLERANCE))
    assert p.is_fixed and p.status is ParameterStatus.FIXED
    q = Parameter(0.0, min=0.0, max=0.5 * BOUNDS_TOLERANCE)  # absolute below |x| = 1
    assert q.is_fixed
    r = Parameter(scale, min=scale, max=scale * (1 + 1e-8))
    assert not r.is_fixed


def test_fit_status_cleared_by_user_changes():
    for change in (lambda p: setattr(p, "value", 0.5), lambda p: setattr(p, "vary", True),
                   lambda p: setattr(p, "min", -1), lambda p: setattr(p, "max", 3),
                   lambda p: setattr(p, "expr", "a+1")):
        p = Parameter(0.0, min=0, max=2, name="x")
        p._set_fit_status(ParameterStatus.AT_LOWER, "held at its lower bound")
        assert p.status is ParameterStatus.AT_LOWER
        assert p.status.bdmsk == -3
        assert p.status_reason == "held at its lower bound"
        change(p)
        assert p.status is not ParameterStatus.AT_LOWER


def test_fit_status_kept_by_hot_path_write():
    p = Parameter(0.0, min=0, max=2, name="x")
    p._set_fit_status(ParameterStatus.AT_UPPER)
    p._value = 2.0
    assert p.status is ParameterStatus.AT_UPPER


def test_parameter_repr():
    # lmfit 1.3's layout: bounds as repr() of floats, "(fixed)" before the stderr
    assert repr(Parameter(10, min=0, name="amp")) == \
        "<Parameter 'amp', value=10.0, bounds=[0.0:inf]>"
    fixed = Parameter(3.0, vary=False, name="c")
    assert repr(fixed) == "<Parameter 'c', value=3.0 (fixed), bounds=[-inf:inf]>"
    tied = Parameter(name="w", expr="2*wid1/3")
    assert "expr='2*wid1/3'" in repr(tied)
    tied.stderr = 0.25
    assert "+/- 0.25" in repr(tied)


def test_parameter_pickle_and_deepcopy():
    p = Parameter(1.5, min=0, max=4, name="a", expr="b*2", step=1e-3, side="central",
                  user_data={"unit": "s"})
    p.stderr, p.correl, p.init_value = 0.1, {"b": 0.5}, 1.0
    p._set_fit_status(ParameterStatus.TIED, "why")
    for q in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p)):
        assert q is not p
        assert (q.name, q.value, q.min, q.max, q.expr, q.step, q.side) == \
            ("a", 1.5, 0.0, 4.0, "b*2", 1e-3, "central")
        assert q.compiled_expr.names == frozenset({"b"})
        assert (q.stderr, q.correl, q.init_value, q.user_data) == \
            (0.1, {"b": 0.5}, 1.0, {"unit": "s"})
        assert q.status is ParameterStatus.TIED and q.status_reason == "why"
    q = copy.deepcopy(p)
    q.correl["b"] = 0.0
    q.user_data["unit"] = "ms"
    assert p.correl == {"b": 0.5} and p.user_data == {"unit": "s"}




# ------------------------------------------------------------- lmfit 1.3 compatibility
def test_value_outside_bounds_is_clipped_on_assignment():
    # issue 15 #6: max=10, value=50 reads 10 (lmfit 1.3), at construction and later
    p = Parameter("a", 50.0, True, None, 10.0)
    assert p.value == 10.0
    p.value = -1e300
    assert p.value == -1e300  # no lower bound: kept
    p.min = -5.0  # a bound set later does not move the value: check_bounds reports it
    assert p.value == -1e300
    p.value = -7.0
    assert p.value == -5.0
    p.value = float("inf")
    assert p.value == 10.0
    p.value = float("nan")  # NaN (no value) is not a number to clip
    assert math.isnan(p.value)


def test_fit_writes_value_slot_unclipped():
    # the fit's generated code writes _value; it keeps its iterates inside the bounds
    # itself, so the slot write is not checked (the hot path stays a plain store)
    p = Parameter("a", 1.0, min=0.0, max=2.0)
    p._value = 5.0
    assert p.value == 5.0 and p._val == 5.0


@pytest.mark.parametrize(("args", "kws"), [
    (("a", 10.0, False, -100.0, 100.0, None, 5.0, {"u": 1}), {}),  # lmfit 1.3 order
    ((10.0, False, -100.0, 100.0, "a"), {"brute_step": 5.0, "user_data": {"u": 1}}),  # seed
    ((), {"name": "a", "value": 10.0, "vary": False, "min": -100.0, "max": 100.0,
          "brute_step": 5.0, "user_data": {"u": 1}}),
])
def test_both_positional_orders(args, kws):
    p = Parameter(*args, **kws)
    assert (p.name, p.value, p.vary, p.min, p.max, p.expr, p.brute_step, p.user_data) == \
        ("a", 10.0, False, -100.0, 100.0, None, 5.0, {"u": 1})


def test_constructor_argument_errors():
    with pytest.raises(TypeError, match="multiple values for argument 'value'"):
        Parameter("a", 1.0, value=2.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        Parameter("a", bogus=1)
    with pytest.raises(TypeError, match="at most 8 positional"):
        Parameter("a", 1, True, 0, 2, None, 0.1, None, 9)
    with pytest.raises(ParameterError, match="brute_step must be positive"):
        Parameter("a", 1.0, brute_step=-1)


def test_init_value_is_the_value_given():
    assert Parameter("a", 25.0, max=10.0).init_value == 10.0  # the value stored
    assert Parameter("a").init_value is None


def test_set_semantics():
    p = Parameter("a", 10.0, True, -100.0, 100.0, None, 5.0)
    p.set()  # every argument None: nothing changes
    assert (p.value, p.vary, p.min, p.max, p.expr, p.brute_step) == \
        (10.0, True, -100.0, 100.0, None, 5.0)
    p.set(value=500.0, min=400, max=600)  # bounds first, so 500 is inside
    assert (p.value, p.min, p.max, p.init_value) == (500.0, 400.0, 600.0, 500.0)
    p.set(value=450.0, is_init_value=False)
    assert (p.value, p.init_value) == (450.0, 500.0)
    p.set(min=-math.inf)  # -inf (not None) removes a bound
    assert p.min == -math.inf
    p.set(expr="2*b")
    assert p.expr == "2*b" and p.vary is False
    p.set(expr=None)  # None leaves it
    assert p.expr == "2*b"
    p.set(value=3.0)  # an explicit value removes the expression
    assert p.expr is None and p.value == 3.0 and p.vary is False
    p.set(expr="2*b")
    p.set(vary=True)  # vary=True removes it too
    assert p.expr is None and p.vary is True
    p.set(brute_step=0)  # 0 removes the step
    assert p.brute_step is None
    p.set(brute_step=0.25)
    assert p.brute_step == 0.25
    with pytest.raises(BoundsError):
        p.set(min=700)  # above max=600


def test_set_on_unset_value_always_sets_init_value():
    p = Parameter("a", max=1.5)
    p.set(value=2.0, is_init_value=False)
    assert p.init_value == 1.5  # the start value, as stored (clipped)


def test_arithmetic_is_on_the_value():
    p, q = Parameter("p", 10.0), Parameter("q", 4.0)
    # each result equals the same operation on the floats, exactly (same operation)
    cases = [(p + 5.25, 15.25), (5.25 + p, 15.25), (p - 5.25, 4.75), (5.25 - p, -4.75),
             (p * 2.5, 25.0), (2.5 * p, 25.0), (p / 4, 2.5), (1.25 / p, 0.125),
             (p // 3, 3.0), (20 // p, 2), (p % 3, 1.0), (25 % p, 5), (p ** 2, 100.0),
             (2 ** p, 1024), (divmod(p, 3), (3.0, 1.0)), (divmod(23, p), (2, 3.0)),
             (p * q, 40.0), (p - q, 6.0), (p / q, 2.5), (-p, -10.0), (+p, 10.0),
             (abs(Parameter("n", -3.0)), 3.0), (round(Parameter("r", 2.567), 2), 2.57),
             (math.trunc(Parameter("t", -2.5)), -2), (math.floor(Parameter("f", 2.5)), 2),
             (math.ceil(Parameter("c", 2.5)), 3), (float(p), 10.0), (int(p), 10)]
    for got, want in cases:
        assert got == want
    assert type(float(p)) is float and type(int(p)) is int
    assert bool(p) and not bool(Parameter("z", 0.0))


def test_comparisons_are_on_the_value():
    p = Parameter("p", 10.0)
    assert p == 10 and p != 9 and p < 11 and p <= 10 and p > 9 and p >= 10
    assert not (p < 10) and not (p > 10)
    assert p == Parameter("other", 10.0)  # as in lmfit: equal values compare equal
    with pytest.raises(TypeError):
        hash(p)  # so, as in lmfit, a Parameter is not hashable


def test_numpy_sees_the_value():
    p = Parameter("p", 2.0)
    assert np.asarray(p) == np.asarray(2.0) and np.asarray(p).shape == ()
    assert np.asarray(p, dtype=np.float32).dtype == np.float32
    x = np.array([1.0, 2.0])
    assert (x * p).tolist() == [2.0, 4.0] and np.sqrt(np.asarray(p)) == math.sqrt(2.0)
    assert np.array([p, Parameter("q", 3.0)]).tolist() == [2.0, 3.0]


def test_repr_has_brute_step_and_fixed_before_stderr():
    p = Parameter("test", brute_step=0.1, value=1.0)
    assert repr(p) == "<Parameter 'test', value=1.0, bounds=[-inf:inf], brute_step=0.1>"
    p.vary, p.stderr = False, 0.5
    assert repr(p) == "<Parameter 'test', value=1.0 (fixed), bounds=[-inf:inf], brute_step=0.1>"
    assert str(p) == repr(p)


def test_getstate_is_lmfit_layout():
    p = Parameter("a", 10.0, True, -100.0, 100.0, None, 5.0, 1)
    assert p.__getstate__() == ("a", 10.0, True, None, -100.0, 100.0, 5.0, None, None,
                                10.0, 1)
    p.step, p._fit_status = 1e-3, ParameterStatus.AT_LOWER
    state = p.__getstate__()
    assert len(state) == 12 and state[11] == {"step": 1e-3, "fit_status": "AT_LOWER"}
    q = Parameter("new")
    q.__setstate__(state)
    assert (q.name, q.value, q.brute_step, q.user_data, q.step, q.status) == \
        ("a", 10.0, 5.0, 1, 1e-3, ParameterStatus.AT_LOWER)


def test_setstate_reads_lmfit_state_and_old_slot_dicts():
    q = Parameter("x")
    q.__setstate__(["b", 20.0, False, "2.0*a", -250.0, 250.0, 25.0, 0.5, {"a": 0.1},
                    None, 2.5])  # lmfit 1.3's state as JSON gives it (a list)
    assert (q.name, q.value, q.vary, q.expr, q.min, q.max, q.brute_step, q.stderr) == \
        ("b", 20.0, False, "2.0*a", -250.0, 250.0, 25.0, 0.5)
    assert q.correl == {"a": 0.1} and q.init_value is None and q.user_data == 2.5
    assert q.compiled_expr is not None
    old = {"name": "c", "_value": 1.0, "_vary": True, "_min": 0.0, "_max": 2.0,
           "_expr": None, "stderr": None, "correl": None, "init_value": None, "_step": 0.1,
           "_relative_step": None, "_side": "central", "_max_step": None,
           "user_data": None, "_fit_status": "free", "status_reason": None}
    q.__setstate__(old)  # a slot dict, as paramfit pickled Parameters before
    assert (q.name, q.value, q.step, q.side, q.status) == \
        ("c", 1.0, 0.1, "central", ParameterStatus.FREE)
    with pytest.raises(ParameterError, match="11 fields"):
        q.__setstate__(("a", 1.0))
