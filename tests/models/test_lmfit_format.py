"""lmfit 1.3's model state (``Model._get_state``/``_set_state``) and its saved files read by
paramfit (:mod:`paramfit.models.lmfit_format`): the files are written by the real lmfit in
the same test (``pytest.importorskip``), and what paramfit loads evaluates as lmfit's model
does.  Nothing pickled is loaded: a function comes from ``funcdefs`` or paramfit's
lineshapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import paramfit.models as M
from paramfit.core.exceptions import ParameterError
from paramfit.models.io import loads_model, loads_modelresult
from paramfit.models.lineshapes import gaussian, lorentzian
from paramfit.models.model import Model

#: The same lineshape formula evaluated by lmfit and by paramfit: equal to rounding
#: (a few ulps of values of order 1).
SAME_FORMULA_ATOL = 1e-12


def mysine(x, amp, freq, shift):
    return amp * np.sin(x * freq + shift)


def test_state_round_trip_gives_the_same_model():
    model = Model(gaussian, prefix="g_") + M.LorentzianModel(prefix="l_")
    state = model._get_state()
    assert state[2] == "add" and state[0][1] is None  # lmfit's (left, right, op) layout
    left = state[0][0]
    assert left["version"] == "2" and left["funcname"] == "gaussian"
    assert left["param_root_names"] == ["amplitude", "center", "sigma"]
    rebuilt = Model(lorentzian)._set_state(state)
    assert rebuilt.param_names == model.param_names
    assert rebuilt.independent_vars == model.independent_vars
    x = np.linspace(-3, 3, 31)
    params = model.make_params(g_amplitude=2, g_center=0.1, g_sigma=0.7, l_amplitude=1,
                               l_center=-0.5, l_sigma=0.4)
    np.testing.assert_array_equal(rebuilt.eval(params, x=x), model.eval(params, x=x))


def test_legacy_tuple_state_is_read():
    # before lmfit 1.2.3 a simple model's state was a 9-tuple (lmfit's _get_state notes)
    state = (("gaussian", None, "gaussian", "p_", ["x"], ["amplitude", "center", "sigma"],
              {"sigma": {"min": 0}}, "omit", {}), None, None)
    model = Model(gaussian)._set_state(state)
    assert model.param_names == ["p_amplitude", "p_center", "p_sigma"]
    assert model.nan_policy == "omit" and model.make_params()["p_sigma"].min == 0


def test_lmfit_saved_model_files_load(tmp_path):
    lmfit = pytest.importorskip("lmfit")
    x = np.linspace(0, 10, 101)
    theirs = lmfit.models.GaussianModel(prefix="g_") + lmfit.Model(mysine)
    path = tmp_path / "model.sav"
    lmfit.model.save_model(theirs, str(path))
    text = path.read_text()
    with pytest.raises(ParameterError, match=r"never unpickles.*funcdefs=\{'mysine'"):
        loads_model(text)
    ours = loads_model(text, funcdefs={"mysine": mysine})
    assert ours.param_names == theirs.param_names
    values = dict(g_amplitude=3.0, g_center=4.0, g_sigma=1.2, amp=2.0, freq=0.8, shift=0.2)
    expected = theirs.eval(theirs.make_params(**values), x=x)
    got = ours.eval(ours.make_params(**values), x=x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=SAME_FORMULA_ATOL)
    # lmfit's hints came along: fwhm and height are ties
    assert ours.make_params()["g_fwhm"].expr and not ours.make_params()["g_fwhm"].vary


def test_lmfit_saved_modelresult_files_load(tmp_path):
    lmfit = pytest.importorskip("lmfit")
    rng = np.random.default_rng(4)
    x = np.linspace(-5, 5, 201)
    y = gaussian(x, 3.0, 0.3, 0.9) + rng.normal(0, 0.02, x.size)
    theirs = lmfit.models.GaussianModel().fit(y, x=x, amplitude=2, center=0, sigma=1.5)
    path = tmp_path / "result.sav"
    lmfit.model.save_modelresult(theirs, str(path))
    ours = loads_modelresult(path.read_text())
    assert (ours.nfev, ours.nvarys, ours.ndata) == (theirs.nfev, theirs.nvarys, theirs.ndata)
    assert ours.chisqr == theirs.chisqr and ours.success is True
    for name in ("amplitude", "center", "sigma", "fwhm", "height"):
        assert ours.params[name].value == theirs.params[name].value
        assert ours.params[name].stderr == theirs.params[name].stderr
        assert ours.init_params[name].value == theirs.init_params[name].value
    np.testing.assert_array_equal(ours.covar, theirs.covar)
    np.testing.assert_allclose(ours.best_fit, theirs.best_fit, rtol=0, atol=SAME_FORMULA_ATOL)
    np.testing.assert_array_equal(ours.data, y)
    assert "[[Variables]]" in ours.fit_report()


def test_malformed_lmfit_states_are_parameter_errors():
    with pytest.raises(ParameterError, match="unknown operator 'pow'"):
        Model(gaussian)._set_state((Model(gaussian)._get_state(),
                                    Model(gaussian, prefix="b_")._get_state(), "pow"))
    with pytest.raises(ParameterError, match="unrecognized state data"):
        Model(gaussian)._set_state(({"no": "version"}, None, None))
    doc = {"__class__": "Tuple", "value": [{"__class__": "Tuple", "value": [
        "no_such_function", {"__class__": "Callable", "__name__": "no_such_function",
                             "value": "gASV...", "importer": "os"},
        "m", "", ["x"], ["a"], {}, "raise", {}]}, None, None]}
    with pytest.raises(ParameterError, match="cannot restore the model function"):
        loads_model(json.dumps(doc))


def test_a_model_file_given_as_a_result_says_so():
    saved = M.GaussianModel().dumps()
    with pytest.raises(ParameterError, match="needs saved ModelResult.*load_model"):
        loads_modelresult(saved)


@pytest.mark.parametrize("field, value", [(4, 5), (5, "amplitude"), (7, 3), (8, [1])])
def test_malformed_lmfit_files_are_parameter_errors(field, value):
    state = ["gaussian", None, "gaussian", "", ["x"], ["amplitude", "center", "sigma"], {},
             "raise", {}]
    state[field] = value
    doc = {"__class__": "Tuple", "value": [{"__class__": "Tuple", "value": state},
                                           None, None]}
    with pytest.raises(ParameterError):
        loads_model(json.dumps(doc))
