"""Tests of paramfit.core.parameters.parameters: Parameter, Parameters, bounds checks,
status, JSON, reprs."""

from __future__ import annotations

import copy
import io
import json
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paramfit.core.exceptions import (
    BoundsError,
    BoundsWarning,
    ExpressionError,
    ExpressionEvaluationError,
    ParameterError,
    ParameterKeyError,
    ParamfitWarning,
)
from paramfit.core.parameters.parameters import (
    Parameter,
    Parameters,
    ParameterStatus,
    create_params,
)


def double(x):
    """A module-level user function (picklable by reference)."""
    return 2 * x


@pytest.fixture
def seed_table():
    """Seed 000 §2.3's add_many table."""
    p = Parameters()
    #            (Name,   Value,   Vary,   Min,   Max,   Expr)
    p.add_many(("amp1", 10, True, None, None, None),
               ("cen1", 1.2, True, 0.5, 2.0, None),
               ("wid1", 0.8, True, 0.1, None, None),
               ("amp2", 7.5, True, None, None, None),
               ("cen2", 1.9, True, 1.0, 3.0, None),
               ("wid2", None, False, None, None, "2*wid1/3"))
    return p


# --------------------------------------------------------------------------- Parameters
def test_seed_section_2_1_examples():
    params = Parameters()
    params.add("amp", value=10, vary=False)
    params.add("decay", value=0.007, min=0.0)
    params.add("phase", value=0.2)
    params.add("frequency", value=3.0, max=10)
    assert params["amp"].is_fixed and params["amp"].status is ParameterStatus.FIXED
    assert params["decay"].min == 0.0 and params["frequency"].max == 10.0
    params["amp"].vary = True
    params["decay"].max = 0.10
    assert params["amp"].vary and params["amp"].status is ParameterStatus.FREE
    assert params["decay"].max == 0.1
    assert list(params) == ["amp", "decay", "phase", "frequency"]
    assert all(params[n].name == n for n in params)


def test_add_many_seed_table(seed_table):
    p = seed_table
    assert list(p) == ["amp1", "cen1", "wid1", "amp2", "cen2", "wid2"]
    assert (p["cen1"].min, p["cen1"].max) == (0.5, 2.0)
    assert p["wid1"].min == 0.1 and p["wid1"].max == math.inf
    assert p["wid2"].vary is False and p["wid2"].expr == "2*wid1/3"
    # 2 * 0.8 / 3 rounds twice: within 2 ulp of 1.6 / 3 (rel 1e-15 = 4.5 eps)
    assert p["wid2"].value == pytest.approx(0.5333333333333333, rel=1e-15)
    assert p["wid2"].status is ParameterStatus.TIED


def test_add_many_short_tuples_lists_and_parameters():
    p = Parameters()
    p.add_many(("a",), ("b", 2.0), ["c", 3.0, False], ("d", 4.0, True, 0.0),
               Parameter(5.0, name="e"))
    assert p["a"].value == -math.inf and p["b"].value == 2.0  # unset: lmfit 1.3's -inf
    assert p["c"].vary is False and p["d"].min == 0.0 and p["e"].value == 5.0
    q = Parameters()
    q.add_many([("x", 1.0), ("y", None, True, None, None, "x + 1")])
    assert q["y"].value == 2.0


@pytest.mark.parametrize("entry", [(), ("a", 1, True, None, None, None, 0.5, None, 9),
                                   "abc", 5, Parameter(1.0)])
def test_add_many_rejects_bad_entries(entry):
    with pytest.raises(ParameterError):
        Parameters().add_many(entry)


def test_add_options_and_parameter_object():
    p = Parameters()
    p.add("x", 1.0, step=0.01, side="forward", max_step=0.5, user_data=3)
    assert (p["x"].step, p["x"].side, p["x"].max_step, p["x"].user_data) == \
        (0.01, "forward", 0.5, 3)
    par = Parameter(2.0, name="y")
    p.add(par)
    assert p["y"] is par
    with pytest.raises(ParameterError, match="name"):
        p.add(Parameter(1.0))
    with pytest.raises(TypeError):
        p.add("z", 1.0, not_an_option=1)


@pytest.mark.parametrize("name", ["1abc", "a-b", "a b", "", "lambda", "class", "None",
                                  "__x__", "é", 3, None])
def test_invalid_names_rejected(name):
    p = Parameters()
    with pytest.raises(ParameterError, match="invalid parameter name"):
        p.add(name, 1.0)
    with pytest.raises(ParameterError, match="invalid parameter name"):
        p[name] = Parameter(1.0)
    with pytest.raises(ParameterError, match="invalid parameter name"):
        p.update({name: Parameter(1.0)})
    assert len(p) == 0


@pytest.mark.parametrize("name", ["a", "_", "A_1", "_private", "x__", "wid_2"])
def test_valid_names(name):
    p = Parameters()
    p.add(name, 1.0)
    assert p[name].name == name


def test_values_must_be_parameters():
    p = Parameters()
    with pytest.raises(ParameterError, match="must be a Parameter"):
        p["a"] = 1.0
    with pytest.raises(ParameterError, match="must be a Parameter"):
        p.setdefault("a", 1.0)
    p["b"] = Parameter(2.0, name="other")
    assert p["b"].name == "b"  # the key names the parameter


def test_valuesdict(seed_table):
    vd = seed_table.valuesdict()
    assert list(vd) == list(seed_table)
    assert vd["amp1"] == 10.0 and vd["cen2"] == 1.9


def test_update_constraints_in_dependency_order():
    p = Parameters()
    p.add("c", expr="b * 2")       # reads b, which is tied too and added later
    p.add("b", expr="a + 1")
    p.add("a", 1.0)
    p["a"].value = 3.0
    p.update_constraints()
    assert p["b"].value == 4.0 and p["c"].value == 8.0


def test_update_constraints_seed_section_5_expressions():
    p = Parameters()
    p.add("amp_1", value=0.5, min=0, max=1)
    p.add("cen_1", value=2.2)
    p.add("wid_1", value=0.2)
    p.add("amp_2", expr="(2.0 - amp_1**2)")
    p.add("cen_2", expr="cen_1 * wid_2 / max(wid_1, 0.001)")
    p.add("wid_2", expr="sqrt(pi)*wid_1")
    p.add("frac_curve1", value=0.25, min=0, max=1)
    p.add("frac_curve2", expr="1-frac_curve1")
    p.update_constraints()
    sqrt_pi = 1.7724538509055160273  # sqrt(pi), Abramowitz & Stegun table 1.1
    # 2 - 0.5**2 is exact; sqrt(pi) * 0.2 rounds 3 times (pi, sqrt, product): 1e-15;
    # cen_2 = 2.2 * wid_2 / 0.2 adds two more roundings: 1e-14
    assert p["amp_2"].value == pytest.approx(1.75, rel=1e-15)
    assert p["wid_2"].value == pytest.approx(0.2 * sqrt_pi, rel=1e-15)
    assert p["cen_2"].value == pytest.approx(2.2 * sqrt_pi, rel=1e-14)
    assert p["frac_curve2"].value == 0.75


def test_update_constraints_agrees_with_lmfit():
    lmfit = pytest.importorskip("lmfit")
    exprs = {"w2": "2*w1/3", "c2": "c1 * w2 / max(w1, 0.001)", "f2": "1-f1",
             "e": "exp(-w1) + log10(c1) + atan2(f1, w1)"}
    ours, theirs = Parameters(), lmfit.Parameters()
    for name, value in (("w1", 0.37), ("c1", 4.1), ("f1", 0.3)):
        ours.add(name, value)
        theirs.add(name, value)
    for name, expr in exprs.items():
        ours.add(name, expr=expr)
        theirs.add(name, expr=expr)
    ours.update_constraints()
    theirs.update_constraints()
    # the same expressions on the same floats; math vs numpy scalar functions may differ
    # by an ulp: rel 1e-15 = 4.5 eps
    for name in exprs:
        assert ours[name].value == pytest.approx(theirs[name].value, rel=1e-15)


def test_update_constraints_cycle_named():
    p = Parameters()
    p.add("a", expr="b + 1")     # b not known yet: allowed (seed 000 §5), evaluated later
    with pytest.raises(ExpressionError, match=r"a -> b -> a|b -> a -> b"):
        p.add("b", expr="a * 2")  # closes the cycle: refused at add(), p unchanged
    assert list(p) == ["a"]
    p["b"] = Parameter(name="b", expr="a * 2")  # item assignment stores it unevaluated
    with pytest.raises(ExpressionError, match=r"a -> b -> a|b -> a -> b"):
        p.update_constraints()


def test_update_constraints_unknown_name_named():
    p = Parameters()
    p.add("a", 1.0)
    p.add("tied", expr="a + nonexistent")
    with pytest.raises(ExpressionError, match="nonexistent") as info:
        p.update_constraints()
    assert "tied" in str(info.value)


def test_update_constraints_evaluation_error_named():
    p = Parameters()
    p.add("a", 0.0)
    with pytest.raises(ExpressionEvaluationError, match="'r'") as info:
        p.add("r", expr="1/a")   # refused at add() (lmfit 1.3), p unchanged
    assert "1/a" in str(info.value) and list(p) == ["a"]
    p["a"].value = 2.0
    p.add("r", expr="1/a")
    p["a"].value = 0.0           # an assignment is not checked against the ties
    with pytest.raises(ExpressionEvaluationError, match="'r'") as info:
        p.update_constraints()
    assert "1/a" in str(info.value)
    with pytest.raises(ExpressionEvaluationError, match="'r'"):
        p["r"].value  # noqa: B018  (a tied value is evaluated when read)
    p["a"].value = -1.0
    with pytest.raises(ExpressionEvaluationError, match="'r'"):
        p["r"].expr = "log(a)"   # refused at assignment, the old expr kept
    assert p["r"].expr == "1/a" and p["r"].value == -1.0


def test_user_symbols_in_expressions():
    p = Parameters(symbols={"scale": 3.0})
    p.symbols["double"] = double
    p.add("a", 2.0)
    p.add("b", expr="double(a) * scale")
    assert p["b"].value == 12.0
    assert p.eval("a + scale") == 5.0
    assert "pi" in p.symbols  # defaults are readable
    assert p.symbols.user_symbols() == {"scale": 3.0, "double": double}


def test_eval():
    p = Parameters()
    p.add("a", 2.0)
    assert p.eval("sqrt(a*8)") == 4.0
    with pytest.raises(ExpressionError):
        p.eval("a.__class__")
    with pytest.raises(ExpressionEvaluationError, match="1/0"):
        p.eval("1/0")


# ------------------------------------------------------------------------ check_bounds
def test_equal_bounds_with_other_start_is_error():
    p = Parameters()
    p.add("b1", 200.0)
    p["b1"].set_bounds(196.0, 196.0)  # bounds set after the value do not move it
    with pytest.raises(BoundsError, match=r"'b1'.*min == max.*196\.0.*200\.0"):
        p.check_bounds()


def test_equal_bounds_fix_parameter():
    p = Parameters()
    p.add("b1", 200.0, min=200.0, max=200.0)
    p.add("b2", min=5.0, max=5.0)  # no start: takes the fixed value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p.check_bounds()
    assert p["b1"].is_fixed and p["b1"].status.bdmsk == 0
    assert p["b2"].value == 5.0


def test_near_equal_bounds_warn_and_fix():
    p = Parameters()
    p.add("k", 1.0, min=1.0, max=1.0 + 1e-12)
    with pytest.warns(BoundsWarning, match=r"'k'.*treated as fixed"):
        p.check_bounds()
    assert p["k"].is_fixed and p["k"].status is ParameterStatus.FIXED


@pytest.mark.parametrize(("value", "bound", "side"), [(5.0, 1.0, "upper"), (-2.0, 0.0, "lower")])
def test_infeasible_start_moved_with_warning(value, bound, side):
    p = Parameters()
    p.add("x", value)
    p["x"].set_bounds(0.0, 1.0)  # bounds set after the value leave it infeasible
    with pytest.warns(BoundsWarning, match=rf"'x'.*{side} bound"):
        p.check_bounds()
    assert p["x"].value == bound


def test_infeasible_start_raise():
    p = Parameters()
    p.add("x", 5.0)
    p["x"].set_bounds(0.0, 1.0)
    with pytest.raises(BoundsError, match=r"'x'.*5\.0.*infeasible"):
        p.check_bounds(infeasible="raise")
    assert p["x"].value == 5.0
    with pytest.raises(ParameterError, match="infeasible"):
        p.check_bounds(infeasible="clip")


def test_check_bounds_feasible_is_silent(seed_table):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seed_table.check_bounds(infeasible="raise")


def test_check_bounds_missing_start_and_tied():
    p = Parameters()
    p.add("a")
    assert p["a"].value == -math.inf  # never given a value: lmfit 1.3's -inf
    with pytest.raises(ParameterError, match="'a'.*no finite start value"):
        p.check_bounds()
    p["a"].value = 1.0
    p.add("t", expr="a * 100")
    p["t"].max = 1.0  # the stored value 100 is now outside
    p.check_bounds()  # a tied value is computed, not moved by check_bounds
    assert p["t"]._value == 100.0
    assert p["t"].value == 1.0  # read: evaluated by the tie rule, which clips, as the fit


def test_check_bounds_catches_slot_written_inadmissible_bounds():
    p = Parameters()
    p.add("a", 1.0)
    p["a"]._min, p["a"]._max = 3.0, 2.0
    with pytest.raises(BoundsError, match="'a'.*inadmissible"):
        p.check_bounds()


# ------------------------------------------------------------------- copy and pickle
def _assert_independent(p, q):
    assert q is not p and list(q) == list(p)
    for name in p:
        assert q[name] is not p[name]
        assert q[name].value == p[name].value or math.isnan(p[name].value)
    q["amp1"].value = -1.0
    q["cen1"].max = 1.5
    assert p["amp1"].value == 10.0 and p["cen1"].max == 2.0


@pytest.mark.parametrize("how", ["copy", "copy.copy", "deepcopy", "pickle"])
def test_copies_are_independent(seed_table, how):
    seed_table.symbols["double"] = double
    seed_table.symbols["k"] = 2.5
    q = {"copy": lambda p: p.copy(), "copy.copy": copy.copy, "deepcopy": copy.deepcopy,
         "pickle": lambda p: pickle.loads(pickle.dumps(p))}[how](seed_table)
    assert type(q) is Parameters
    _assert_independent(seed_table, q)
    assert q.symbols.user_symbols() == {"double": double, "k": 2.5}
    q.update_constraints()
    # the expression 2*wid1/3 evaluates the same operations as here: rounding at most
    assert q["wid2"].value == pytest.approx(2 * 0.8 / 3, rel=1e-15)
    assert q["wid2"].compiled_expr is not None


def test_pickle_unpicklable_symbol_clear_error():
    p = Parameters(symbols={"f": lambda x: x})
    p.add("a", 1.0)
    with pytest.raises(ParameterError, match="'f'.*not picklable"):
        pickle.dumps(p)
    q = copy.deepcopy(p)  # deepcopy does not need pickling
    assert q.symbols["f"](3) == 3


# ---------------------------------------------------------------------------- JSON
def _full_parameters():
    p = Parameters(symbols={"k": 2.5, "n": 3, "z": 1 + 2j, "flag": True, "f": double})
    p.add("a", 1.5, min=0, max=math.inf, step=1e-4, relative_step=1e-7, side="central",
          max_step=0.25, user_data={"unit": "s", "tags": [1, 2]})
    p.add("b", math.inf, vary=False, user_data=object())
    p.add("c", math.nan, vary=False)
    p.add("d", -math.inf, min=-math.inf, max=0.0)
    p.add("e", expr="a * k")
    p["a"].stderr, p["a"].init_value = 0.125, 1.0
    p["a"].correl = {"d": -0.5, "x": math.nan}
    p["a"]._set_fit_status(ParameterStatus.AT_LOWER, "at bound")
    return p


def test_json_round_trip_everything():
    p = _full_parameters()
    s = p.dumps()
    json.loads(s, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    q = Parameters().loads(s)
    assert list(q) == ["a", "b", "c", "d", "e"]
    a = q["a"]
    assert (a.value, a.min, a.max, a.step, a.relative_step, a.side, a.max_step) == \
        (1.5, 0.0, math.inf, 1e-4, 1e-7, "central", 0.25)
    assert (a.stderr, a.init_value, a.user_data) == (0.125, 1.0, {"unit": "s", "tags": [1, 2]})
    assert a.correl["d"] == -0.5 and math.isnan(a.correl["x"])
    assert a.status is ParameterStatus.AT_LOWER and a.status_reason == "at bound"
    assert q["b"].value == math.inf and q["b"].vary is False
    assert q["b"].user_data is None  # not JSON-serialisable: dropped
    assert math.isnan(q["c"].value)
    assert (q["d"].value, q["d"].min, q["d"].max) == (-math.inf, -math.inf, 0.0)
    assert q["e"].expr == "a * k" and q["e"].value == p["e"].value == 3.75
    assert q.symbols.user_symbols() == {"k": 2.5, "n": 3, "z": 1 + 2j, "flag": True}
    assert type(q.symbols["n"]) is int and type(q.symbols["flag"]) is bool
    # the user function is written by name only and restored only from funcdefs
    assert json.loads(s)["symbols"]["f"]["__name__"] == "double"
    r = Parameters().loads(s, funcdefs={"double": double})
    assert r.symbols["f"] is double and r.dumps() == s


def test_loads_replaces_contents_and_returns_self():
    p = Parameters()
    p.add("old", 1.0)
    out = p.loads(_full_parameters().dumps(indent=2))
    assert out is p and "old" not in p and list(p) == ["a", "b", "c", "d", "e"]


def test_dump_load_file():
    buf = io.StringIO()
    _full_parameters().dump(buf)
    buf.seek(0)
    q = Parameters().load(buf)
    assert q["a"].value == 1.5


@pytest.mark.parametrize("text", ["not json", "[]", '{"params": [["a", 1.0]]}',
                                  '{"params": [["1x", 1, true, null, null, null, null, null, '
                                  'null, null, null]]}',
                                  '{"parameters": [{"value": 1}]}',
                                  '{"parameters": [{"name": "1x"}]}'])
def test_loads_malformed(text):
    with pytest.raises(ParameterError):
        Parameters().loads(text)


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
values = st.one_of(finite, st.sampled_from([math.inf, -math.inf]), st.none())


@st.composite
def random_parameters(draw):
    n = draw(st.integers(1, 6))
    p = Parameters()
    names = []
    for i in range(n):
        name = f"p{i}"
        lo, hi = sorted(draw(st.tuples(st.one_of(finite, st.just(-math.inf)),
                                       st.one_of(finite, st.just(math.inf)))))
        expr = None
        if names and draw(st.booleans()):
            other = draw(st.sampled_from(names))
            expr = draw(st.sampled_from([f"{other}", f"2*{other} + 1", f"-{other}/3",
                                         f"sqrt(abs({other}))"]))
        p.add(name, draw(values), draw(st.booleans()), lo, hi, expr)
        par = p[name]
        par.stderr = draw(st.one_of(st.none(), finite))
        par.init_value = draw(st.one_of(st.none(), finite))
        if names and draw(st.booleans()):
            par.correl = {o: draw(st.floats(-1, 1)) for o in names}
        names.append(name)
    return p


def _state(p):
    out = []
    for par in p.values():
        out.append((par.name, par.value, par.vary, par.min, par.max, par.expr, par.stderr,
                    par.init_value, par.correl, par.step, par.side, par.status))
    return repr(out)  # repr makes nan == nan


@settings(max_examples=150, deadline=None)
@given(random_parameters())
def test_json_round_trip_is_lossless(p):
    q = Parameters().loads(p.dumps())
    # JSON floats are written with repr: lossless is promised, so exact equality
    assert _state(q) == _state(p)
    assert q.dumps() == p.dumps()


# ------------------------------------------------------------------------ presentation
def test_pretty_print(seed_table, capsys):
    seed_table.pretty_print()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Name", "Value", "Min", "Max", "Stderr", "Vary", "Expr",
                                "Brute_Step"]
    assert len(lines) == 7
    assert lines[2].split() == ["cen1", "1.2", "0.5", "2", "None", "True", "None", "None"]
    assert lines[6].split() == ["wid2", "0.5333", "-inf", "inf", "None", "False", "2*wid1/3",
                                "None"]
    # lmfit 1.3's layout: name column as wide as the longest name, then ' ' + ' %8s'
    assert lines[1] == "amp1        10     -inf      inf     None     True     None     None"


def test_pretty_print_options(seed_table, capsys):
    seed_table["amp1"].stderr = 0.123456
    seed_table.pretty_print(colwidth=12, precision=2, fmt="e", columns=["value", "stderr",
                                                                        "status"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Name", "Value", "Stderr", "Status"]
    assert lines[1].split() == ["amp1", "1.00e+01", "1.23e-01", "free"]
    seed_table.pretty_print(oneline=True)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Parameters([('amp1', <Parameter 'amp1'")
    with pytest.raises(ParameterError, match="column"):
        seed_table.pretty_print(columns=["bogus"])


def test_parameters_repr(seed_table):
    text = repr(seed_table)
    lines = text.splitlines()
    assert lines[0] == "Parameters([" and lines[-1] == "])"
    assert len(lines) == 8
    assert lines[2].strip() == "<Parameter 'cen1', value=1.2, bounds=[0.5:2.0]>,"
    assert repr(Parameters()) == "Parameters([])"


def test_repr_html(seed_table):
    seed_table.add("q", expr="amp1 if amp1 < 3 else amp2")
    seed_table["amp1"].stderr = 0.5
    text = seed_table._repr_html_()
    assert text.startswith('<table class="jp-toc-ignore"><caption>Parameters</caption>')
    assert text.endswith("</table>")
    assert text.count("<tr>") == len(seed_table) + 1
    for name in seed_table:
        assert f"<td style='text-align:left'>{name}</td>" in text
    assert "amp1 &lt; 3" in text and "amp1 < 3" not in text
    assert "(5.00%)" in text  # 0.5 / 10
    assert "tied" in text


# ------------------------------------------------------------- lmfit 1.3 compatibility
def test_add_many_every_tuple_length_and_parameter_objects():
    full = ("g", 7.0, False, 0.0, 10.0, None, 0.5, {"u": 1})
    p = Parameters()
    p.add_many(*(full[:n] for n in range(1, 9)))  # names 'g' repeat: the last one wins
    g = p["g"]
    assert (g.value, g.vary, g.min, g.max, g.expr, g.brute_step, g.user_data) == \
        (7.0, False, 0.0, 10.0, None, 0.5, {"u": 1})
    q = Parameters()
    q.add_many(("a", 1.0, None), ("b", 2.0, True, None, None, "2*a", 0.1),
               Parameter("c", 3.0), Parameter(4.0, name="d"))
    assert list(q) == ["a", "b", "c", "d"] and q["a"].vary is True  # None vary: default
    assert q["b"].value == 2.0 and q["b"].brute_step == 0.1 and q["b"].vary is False
    assert [q[n].value for n in "cd"] == [3.0, 4.0]


def test_add_brute_step_user_data_and_parameter_variants():
    p = Parameters()
    p.add("b", 1, False, -5.0, 5.0, None, 0.1, "note")  # lmfit 1.3's positional order
    assert (p["b"].brute_step, p["b"].user_data, p["b"].vary) == (0.1, "note", False)
    own = Parameter("a", value=3, min=0)
    p.add(own)  # stored as is
    assert p["a"] is own
    template = Parameter("c", value=9, user_data={"form": "square"})
    p.add("c1", template, min=1)  # a renamed copy; unset attributes filled in
    assert p["c1"] is not template and p["c1"].name == "c1" and template.name == "c"
    assert (p["c1"].value, p["c1"].min, p["c1"].user_data) == (9.0, 1.0, {"form": "square"})
    p.add(Parameter("e", 1.0, min=2.0, max=8.0), min=-1, max=99, vary=False)
    assert (p["e"].min, p["e"].max, p["e"].vary) == (2.0, 8.0, False)  # bounds were set


def test_plus_and_plus_equal_combine_parameters_and_symbols():
    p = Parameters(usersyms={"half": 0.5, "k": 1.0})
    p.add("a", 1.0)
    q = Parameters(symbols={"k": 2.0, "m": 3.0})
    q.add("b", expr="a * k * m")
    q.add("a", 10.0)  # q's 'a' wins over p's
    r = p + q
    assert list(r) == ["a", "b"] and r["a"].value == 10.0
    assert r.symbols.user_symbols() == {"half": 0.5, "k": 1.0, "m": 3.0}  # p's k wins
    assert r["b"].value == 10.0 * 1.0 * 3.0
    assert r["a"] is not q["a"] and r["a"] is not p["a"]  # copies, both sides
    assert list(p) == ["a"] and p["a"].value == 1.0  # p unchanged
    p += q
    assert list(p) == ["a", "b"] and p["a"].value == 10.0 and p["a"] is not q["a"]
    with pytest.raises(ParameterError, match="'x' is not a Parameters object"):
        p + "x"  # noqa: B018
    with pytest.raises(ParameterError, match="not a Parameters object"):
        p.update("test")


def test_usersyms_positional_and_keyword():
    p = Parameters({"f": abs}, symbols={"g": 2.0})
    p.add("a", -3.0)
    assert p.eval("f(a) * g") == 6.0


def test_create_params_and_set():
    p = create_params(a=8, b=9, c={"value": 3, "min": 0, "max": 10}, d={"expr": "a+b/c"},
                      e={"value": 10000, "brute_step": 4})
    assert [p[n].value for n in "abcde"] == [8.0, 9.0, 3.0, 11.0, 10000.0]
    assert (p["c"].min, p["c"].max, p["d"].vary, p["e"].brute_step) == (0.0, 10.0, False, 4.0)
    p.set(a=2.0, c={"value": 4.0, "is_init_value": False})
    assert (p["a"].value, p["a"].init_value, p["c"].value, p["c"].init_value) == \
        (2.0, 2.0, 4.0, 3.0)
    with pytest.raises(ParameterError, match="unknown attribute.*'stderr'"):
        p.set(a={"stderr": 1.0})


def test_parameters_as_array():
    p = create_params(a=1.5, b=-2.0)
    assert np.asarray(p).tolist() == [1.5, -2.0]


def test_pretty_repr_lmfit_forms(seed_table):
    text = seed_table.pretty_repr()
    lines = text.split("\n")
    assert lines[0] == "Parameters({" and lines[-2:] == ["    })", ""]
    assert lines[1] == "    'amp1': <Parameter 'amp1', value=10.0, bounds=[-inf:inf]>, "
    one = seed_table.pretty_repr(oneline=True)
    assert one.startswith("Parameters([('amp1', <Parameter 'amp1'") and "\n" not in one


def test_pretty_print_brute_step_and_e_format(capsys):
    p = create_params(a={"value": 10.0, "min": -100, "max": 100, "brute_step": 5.0})
    p.pretty_print(fmt="e", precision=2, columns=["value", "min", "max", "brute_step"])
    lines = capsys.readouterr().out.splitlines()
    # a one-letter name: lmfit's layout widens nothing, a 8-wide column overflows
    assert lines == ["Name     Value      Min      Max Brute_Step",
                     "a  1.00e+01 -1.00e+02 1.00e+02 5.00e+00"]


def _pars_for_lmfit_json():
    p = Parameters()
    p.add("a", 10.0, min=-100.0, max=100.0, brute_step=5.0, user_data=1)
    p.add("b", 0.0, min=-250.0, max=250.0, expr="2.0*a")
    p.add("c", 3.0)
    p["c"].stderr, p["c"].correl = 0.25, {"a": -0.5}
    return p


def test_loads_reads_lmfit_json_written_by_lmfit():
    lmfit = pytest.importorskip("lmfit")
    ref = lmfit.Parameters(usersyms={"k": 2.5})
    ref.add("a", 10.0, min=-100.0, max=100.0, brute_step=5.0, user_data=1)
    ref.add("b", 0.0, min=-250.0, max=250.0, expr="2.0*a*k")
    ref.add("c", 3.0)
    ref.add("d", 1.0, min=0)
    ref["c"].stderr, ref["c"].correl = 0.25, {"a": -0.5}
    q = Parameters().loads(ref.dumps())
    assert list(q) == ["a", "b", "c", "d"]
    for name in q:  # lmfit's own values, read back exactly (JSON keeps every digit)
        mine, theirs = q[name], ref[name]
        assert (mine.value, mine.vary, mine.min, mine.max, mine.expr, mine.brute_step,
                mine.stderr, mine.correl, mine.init_value, mine.user_data) == \
            (theirs.value, theirs.vary, theirs.min, theirs.max, theirs.expr,
             theirs.brute_step, theirs.stderr, theirs.correl, theirs.init_value,
             theirs.user_data)
    assert q.symbols["k"] == 2.5 and "a" not in q.symbols  # lmfit's symtable holds values


def test_loads_reads_lmfit_json_by_hand():
    # lmfit 1.3's layout, written out: Infinity for inf, and null bounds (JSON mangled by
    # JavaScript) read as no bound; a saved function is restored only from funcdefs
    text = ('{"unique_symbols": {"a": 10.0, "half": {"__class__": "Callable", '
            '"__name__": "xhalf", "pyversion": "3.11", "value": "ZGlsbA==", '
            '"importer": null}}, "params": ['
            '["a", 10.0, true, null, -Infinity, null, 5.0, null, null, 10.0, 1], '
            '["b", 20.0, false, "half(a)*4", -250.0, 250.0, null, null, null, 0.0, null]]}')
    with pytest.warns(ParamfitWarning, match="'half'.*funcdefs"):
        q = Parameters().loads(text)
    assert "half" not in q.symbols and q["a"].max == math.inf and q["a"].min == -math.inf
    r = Parameters().loads(text, funcdefs={"xhalf": lambda x: x / 2})
    assert r.symbols["half"](4.0) == 2.0 and r["b"].value == 20.0  # half(10) * 4
    assert r["b"].expr == "half(a)*4" and r["b"].vary is False and r["a"].brute_step == 5.0


class _ImportSpy:
    """A meta-path finder that records any attempt to import the module it watches."""

    def __init__(self, name):
        self.name, self.asked = name, []

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] == self.name:
            self.asked.append(fullname)
        return None


def test_loads_never_imports_what_a_document_names(monkeypatch):
    import sys

    spy = _ImportSpy("paramfit_test_never_imported")
    monkeypatch.setattr(sys, "meta_path", [spy, *sys.meta_path])
    text = ('{"unique_symbols": {"f": {"__class__": "Callable", "__name__": "run", '
            '"importer": "paramfit_test_never_imported.sub"}}, "params": [["a", 1.0, true, '
            'null, null, null, null, null, null, null, null]]}')
    with pytest.warns(ParamfitWarning, match="not restored"):
        q = Parameters().loads(text)
    assert spy.asked == [] and "f" not in q.symbols and list(q) == ["a"]
    __import__("importlib").util.find_spec("paramfit_test_never_imported")
    assert spy.asked == ["paramfit_test_never_imported"]  # the spy does see imports


def test_json_round_trip_keeps_brute_step_and_encoded_user_data():
    p = _pars_for_lmfit_json()
    p["a"].user_data = {"arr": np.arange(3.0), "z": 1 + 2j, "t": (1, "x")}
    q = Parameters().loads(p.dumps())
    assert q["a"].brute_step == 5.0 and q["b"].vary is False and q["b"].value == 20.0
    ud = q["a"].user_data
    assert ud["arr"].tolist() == [0.0, 1.0, 2.0] and ud["z"] == 1 + 2j and ud["t"] == (1, "x")


def test_asteval_symtable_spelling_adds_user_symbols():
    # lmfit 1.3's manual: params._asteval.symtable['f'] = f
    p = Parameters()
    p._asteval.symtable["lorentz"] = lambda x, w: 1 / (1 + (x / w) ** 2)
    p.add("w", 2.0)
    p.add("y", expr="lorentz(2.0, w)")
    assert p["y"].value == 0.5 and p._asteval.user_defined_symbols() == {"lorentz"}
    assert p._asteval.symtable is p.symbols and p._asteval.eval("w * 2") == 4.0


def test_setstate_reads_lmfit_parameters_state():
    lmfit = pytest.importorskip("lmfit")
    ref = lmfit.Parameters(usersyms={"k": 2.5})
    ref.add("a", 3.0, min=0.0, brute_step=0.5)
    ref.add("b", expr="a * k")
    state = ref.__reduce__()[2]  # {'unique_symbols': {...}, 'params': [lmfit Parameter]}
    pars = []
    for lp in state["params"]:  # each lmfit Parameter through its own 11-tuple state
        par = Parameter.__new__(Parameter)
        par.__setstate__(lp.__getstate__())
        pars.append(par)
    q = Parameters()
    q.__setstate__({"unique_symbols": state["unique_symbols"], "params": pars})
    assert q.symbols.user_symbols() == {"k": 2.5}  # not 'a', 'b', nor lmfit's built-ins
    assert (q["a"].value, q["a"].min, q["a"].brute_step) == (3.0, 0.0, 0.5)
    assert q["b"].expr == "a * k" and q["b"].value == ref["b"].value == 7.5


def test_counting_vary_counts_the_fitted_parameters():
    # issue 15 #5: tied parameters read vary=False, so this sum is the number of varied
    # parameters a fit has (as in lmfit 1.3)
    p = create_params(a=1.0, b={"value": 2.0, "vary": False}, c={"expr": "2*a"}, d=4.0)
    assert sum(par.vary for par in p.values()) == 2
    p["c"].vary = True  # freeing the tied parameter drops its expr (issue 15 #3)
    assert p["c"].expr is None and sum(par.vary for par in p.values()) == 3


def test_setitem_with_an_invalid_key_is_a_key_error_naming_it():
    """lmfit 1.3 raises KeyError for ``Parameters['10'] = ...``; paramfit's error is both
    a ParameterError and a KeyError, its text unquoted; a value that is no Parameter is
    a ValueError naming it."""
    p = Parameters()
    with pytest.raises(KeyError, match="'10' is not a valid Parameters name") as caught:
        p["10"] = Parameter("a", 1.0)
    assert isinstance(caught.value, ParameterKeyError)
    assert str(caught.value).startswith("'10' is not")          # not KeyError's quoting
    with pytest.raises(ValueError, match="'text' is not a Parameter"):
        p["a"] = "text"
    assert len(p) == 0
