"""The shortcuts of the per-fit cost must change nothing.

Parameters.copy clones each Parameter slot by slot (Parameter._clone): the copy must be
the one lmfit's state round trip (__getstate__ -> __setstate__ on a new object) gives,
the reference here.  Parameter() skips the setters of options not given: the object must
be the one the setters give, and every option given is still checked.  A fit's start
evaluation marks the live ties current: a read before any change must not evaluate them
again, a read after one must."""

from __future__ import annotations

import copy
import math
import pickle
import sys

import numpy as np
import pytest

from paramfit import Parameter, Parameters
from paramfit.core.exceptions import ParameterError
from paramfit.core.mapping import ParameterMap
from paramfit.core.parameters.parameter import ParameterStatus
from paramfit.core.problem import FitProblem


def _round_trip(par: Parameter) -> Parameter:
    new = Parameter.__new__(Parameter)
    new.__setstate__(par.__getstate__())
    return new


def _slots(par: Parameter) -> dict:
    """Every slot but the owner links, with its type (np.float64 vs float matters)."""
    out = {}
    for slot in Parameter.__slots__:
        if slot in ("_owner", "_seen"):
            continue
        value = getattr(par, slot)
        out[slot] = (type(value), repr(value))
    return out


def _worked_parameters() -> Parameters:
    p = Parameters()
    p.add("amp", value=np.float64(3.5), min=0, max=np.float64(10.0), brute_step=0.5,
          user_data={"unit": ["V"]}, step=1e-3, side="central", max_step=2.0)
    p.add("cen", value=0.25, relative_step=1e-6)
    p.add("wid", value=1.0, vary=False)
    p.add("twice", expr="2*amp")
    # what a fit leaves: numpy scalars written by the fit's update code, stderr, correl,
    # fit status with its reason
    p["amp"]._value = np.float64(3.25)
    p["amp"].stderr = np.float64(0.125)
    p["amp"].correl = {"cen": np.float64(-0.5)}
    p["cen"].stderr = 0.01
    p["cen"].correl = {"amp": -0.5}
    p["amp"].init_value = np.float64(3.0)
    p["amp"]._set_fit_status(ParameterStatus.AT_UPPER, "held at its upper bound: no stderr")
    p["twice"]._set_fit_status(ParameterStatus.TIED, None)
    return p


@pytest.mark.parametrize("name", ["amp", "cen", "wid", "twice"])
def test_clone_is_the_state_round_trip(name):
    par = _worked_parameters()[name]
    assert _slots(par._clone()) == _slots(_round_trip(par))


def test_copy_is_independent_and_live():
    p = _worked_parameters()
    q = p.copy()
    assert _slots(q["amp"]) == _slots(_round_trip(p["amp"]))
    assert q["amp"].user_data == p["amp"].user_data
    assert q["amp"].user_data is not p["amp"].user_data          # deep-copied
    assert q["amp"].correl is not p["amp"].correl
    q["amp"].correl["cen"] = 0.0
    assert p["amp"].correl["cen"] == -0.5
    # the copy's tie reads the copy's values, the original's the original's
    q["amp"].value = 4.0
    assert q["twice"].value == 8.0
    assert p["twice"].value == 2 * p["amp"].value
    assert all(par._owner is q for par in q.values())


def test_copy_matches_deepcopy_and_pickle():
    p = _worked_parameters()
    for other in (p.copy(), copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        for name in p:
            assert other[name].__getstate__() == p[name].__getstate__()


def test_constructor_equals_setting_each_option_afterwards():
    given = {"step": 1e-3, "relative_step": 1e-6, "max_step": 0.5, "brute_step": 0.25,
             "side": "central", "expr": "2*b"}
    made = Parameter("a", 1.0, **given)
    set_later = Parameter("a", 1.0)
    for key, value in given.items():
        setattr(set_later, key, value)
    assert _slots(made) == _slots(set_later)
    plain = Parameter("a", 1.0)
    assert (plain.step, plain.relative_step, plain.max_step, plain.brute_step, plain.side,
            plain.expr) == (None, None, None, None, "auto", None)


@pytest.mark.parametrize("option, bad", [("step", -1.0), ("relative_step", 0.0),
                                         ("max_step", math.inf), ("brute_step", "x"),
                                         ("side", "left"), ("expr", 3)])
def test_constructor_still_checks_each_option_given(option, bad):
    with pytest.raises(ParameterError):
        Parameter("a", 1.0, **{option: bad})


def test_every_key_of_the_fit_namespace_is_interned():
    # names made at run time (not interned by Python): a parameter, a user symbol, and a
    # user symbol shadowing a default one; the generated update code finds each by identity
    names = ["".join(["am", "p"]), "".join(["sca", "le"]), "".join(["p", "i"])]
    assert all(sys.intern(name) is not name for name in names)
    p = Parameters()
    p.symbols[names[1]] = 2.0
    p.symbols[names[2]] = 3.0
    p.add(names[0], value=1.0)
    p.add("twice", expr=f"{names[1]}*{names[0]}*{names[2]}")
    mapping = ParameterMap(p)
    assert all(sys.intern(key) is key for key in mapping._ns)
    mapping.set_values(np.array([2.0]))
    assert p["twice"].value == 2.0 * 2.0 * 3.0


def _tied_parameters() -> Parameters:
    p = Parameters()
    p.add("slope", value=0.2)
    p.add("off", value=1.5, vary=False)
    p.add("icpt", expr="5*slope + off")
    p.add("capped", expr="10*slope", max=1.0)     # 2.0 clipped to its upper bound
    return p


def test_a_fit_start_leaves_the_ties_current(monkeypatch):
    p = _tied_parameters()
    p["slope"].value = 0.25        # a change after the ties were last evaluated
    refreshed = []
    original = Parameters._refresh_tie
    monkeypatch.setattr(Parameters, "_refresh_tie",
                        lambda self, par: (refreshed.append(par.name), original(self, par)))
    FitProblem(lambda params: np.zeros(3), p)
    # closed forms: 5*0.25 + 1.5 and min(10*0.25, 1.0)
    assert p["icpt"].value == 5 * 0.25 + 1.5
    assert p["capped"].value == 1.0
    assert refreshed == []          # the start evaluation made them current
    # a change after the start is seen (live tied values keep working)
    p["slope"].value = 0.05
    assert p["icpt"].value == 5 * 0.05 + 1.5
    assert p["capped"].value == 10 * 0.05
    assert sorted(set(refreshed)) == ["capped", "icpt"]



class _ParameterWithUnit(Parameter):
    """A subclass with its own state (an extra field): copies must go through it."""

    __slots__ = ("unit",)

    def __getstate__(self):
        return {"base": super().__getstate__(), "unit": self.unit}

    def __setstate__(self, state):
        super().__setstate__(state["base"])
        self.unit = state["unit"]


def test_copy_keeps_a_subclass_state():
    par = _ParameterWithUnit("amp", 2.0)
    par.unit = "V"
    p = Parameters()
    p["amp"] = par
    q = p.copy()
    assert type(q["amp"]) is _ParameterWithUnit
    assert q["amp"].unit == "V"
    assert q["amp"].value == 2.0 and q["amp"] is not par
