"""Work a fit no longer repeats (issue 21, per-fit overhead): the same results as before.

``Parameters.copy`` copies each Parameter through its own state instead of deepcopy's
walk over it, and ``differentiate_assignments`` builds the code for a text without user
symbols once.  Each is checked against the generic way of doing the same thing.
"""

from __future__ import annotations

import copy

import pytest

from paramfit import Parameters
from paramfit.core.exceptions import ExpressionError
from paramfit.core.expressions.derivatives import differentiate_assignments
from paramfit.core.parameters.parameter import ParameterStatus


def _fitted_like() -> Parameters:
    p = Parameters()
    p.add("a", 1.5, min=0.0, step=1e-4, side="central", user_data={"unit": "s", "tags": [1]})
    p.add("b", 2.0, max=3.0, relative_step=1e-7, max_step=0.5)
    p.add("c", expr="2*a + b")
    p["a"].stderr, p["a"].correl = 0.25, {"b": -0.5}
    p["b"].stderr, p["b"].correl = 0.125, {"a": -0.5}
    p["a"]._set_fit_status(ParameterStatus.AT_LOWER, "held at its lower bound")
    return p


def test_copy_has_the_state_deepcopy_gives_each_parameter():
    p = _fitted_like()
    q = p.copy()
    for name, par in p.items():
        # copy.deepcopy of a lone Parameter still takes the generic path: the reference
        assert q[name].__getstate__() == copy.deepcopy(par).__getstate__()
        assert q[name] is not par
    assert q["c"].value == p["c"].value == 5.0


def test_copy_shares_nothing_mutable():
    p = _fitted_like()
    q = p.copy()
    q["a"].user_data["tags"].append(2)
    q["a"].correl["b"] = 0.0
    assert p["a"].user_data == {"unit": "s", "tags": [1]}
    assert p["a"].correl == {"b": -0.5}


def test_deepcopy_memo_keeps_one_copy_per_parameter():
    p = _fitted_like()
    # a Parameter copied before and after its Parameters is the same object in the copy
    for items in ([p["a"], p], [p, p["a"]]):
        first, second = copy.deepcopy(items)
        lone, table = (first, second) if items[0] is p["a"] else (second, first)
        assert table["a"] is lone


def test_assignment_derivatives_of_a_text_are_built_once():
    first = differentiate_assignments([("c", "2*a + b*b")], ["a", "b"])
    again = differentiate_assignments((item for item in [("c", "2*a + b*b")]), ("a", "b"))
    assert again is first
    ns = first.namespace()
    ns.update(a=1.0, b=3.0)
    assert first.evaluate(ns) == ((11.0,), ((2, 6.0),))


def test_assignment_derivatives_with_user_symbols_follow_their_values():
    # a user constant may change between calls: such code is built each time
    for k in (2.0, 3.0):
        d = differentiate_assignments([("c", "k*a")], ["a"], symbols={"k": k})
        ns = d.namespace()
        ns["a"] = 1.0
        values, partials = d.evaluate(ns)
        assert values == (k,) and partials[0][0] == k


def test_a_refused_text_raises_every_time():
    for _ in range(2):
        with pytest.raises(ExpressionError):
            differentiate_assignments([("a", "2*a")], ["a"])   # assigns a variable


def test_variables_given_as_one_name():
    d = differentiate_assignments([("c", "a*a")], "a")
    ns = d.namespace()
    ns["a"] = 1.5
    assert d.evaluate(ns) == ((2.25,), ((3.0,),))
