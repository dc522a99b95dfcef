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
                                "Parameters", "check_name"}
    assert BOUNDS_TOLERANCE == 1e-10


def test_parameter_defaults():
    p = Parameter()
    assert math.isnan(p.value) and p.vary is True
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
    p.value = 7  # no clipping: feasibility is check_bounds' job
    assert p.value == 7.0
    p.value = None
    assert math.isnan(p.value)


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
    assert p.status is ParameterStatus.FREE
    with pytest.raises(ParameterError):
        p.expr = 3


def test_tied_ignores_vary():
    p = Parameter(name="b", vary=True, expr="a")
    assert p.status is ParameterStatus.TIED and p.vary is True
    p.expr = None
    assert p.status is ParameterStatus.FREE


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
    assert repr(Parameter(10, min=0, name="amp")) == "<Parameter 'amp', value=10.0, bounds=[0:inf]>"
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


