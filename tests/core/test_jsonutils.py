"""paramfit.core.jsonutils (public path paramfit.jsonutils): encode4js / decode4js."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

from paramfit.core.exceptions import MissingDependencyError, ParamfitError
from paramfit.core.jsonutils import decode4js, encode4js, find_importer, import_from


def _round_trip(obj):
    # through real JSON text, as a file would carry it
    return decode4js(json.loads(json.dumps(encode4js(obj))))


@pytest.mark.parametrize("obj", [
    "text", "café", 123.456, 10, True, None, 10.0 - 5.0j, ["a", 1, 2.5], ("a", ("b", 1)),
    {"a": 1.0, "b": [1, 2], "c": {"d": 1j}}, np.float32(1.5), np.int64(7),
])
def test_round_trip_plain_values(obj):
    back = _round_trip(obj)
    expected = obj.item() if isinstance(obj, np.generic) else obj  # numpy scalars: Python's
    assert back == expected and type(back) is type(expected)


@pytest.mark.parametrize("arr", [
    np.arange(6.0).reshape(2, 3), np.array([1 + 2j, -3.5j]), np.array([[1, 2]], np.int32),
    np.array([], dtype=float), np.array(True),
])
def test_round_trip_arrays_keep_shape_dtype_and_values(arr):
    back = _round_trip(arr)
    assert back.shape == arr.shape and back.dtype == arr.dtype
    assert np.array_equal(back, arr)


def test_object_arrays_element_by_element():
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = "a", np.array([1, 2, 3])
    back = _round_trip(arr)
    assert back.dtype == object and back[0] == "a" and back[1].tolist() == [1, 2, 3]


def test_lmfit_tags_and_layout():
    # the documents lmfit 1.3 writes: {'__class__': ..., ...}
    enc = encode4js(np.array([[1.0, 2.0]]))
    assert enc == {"__class__": "NDArray", "__shape__": (1, 2), "__dtype__": "float64",
                   "value": [1.0, 2.0]}
    assert encode4js(2j) == {"__class__": "Complex", "value": (0.0, 2.0)}
    assert encode4js({"k": (1,)}) == {"__class__": "Dict",
                                      "k": {"__class__": "Tuple", "value": [1]}}
    # and decoding does not modify its input
    doc = {"__class__": "List", "value": [1]}
    decode4js(doc)
    assert doc == {"__class__": "List", "value": [1]}


def test_callables_by_name_only():
    enc = encode4js(math.sqrt)
    assert enc["__class__"] == "Callable" and enc["__name__"] == "sqrt"
    assert enc["importer"] == "math" and "value" not in enc  # no code stored
    assert decode4js(enc) == "sqrt"  # no import: the name
    assert decode4js(enc, funcdefs={"sqrt": math.sqrt}) is math.sqrt


def test_decoding_a_named_module_imports_nothing():
    name = "paramfit_jsonutils_test_never_imported"
    doc = {"__class__": "Callable", "__name__": "system", "importer": name}
    assert decode4js(doc) == "system" and name not in sys.modules


def test_unknown_or_malformed_tags_are_clear_errors():
    with pytest.raises(ParamfitError, match="unknown '__class__' tag 'Pickle'"):
        decode4js({"__class__": "Pickle", "value": "..."})
    with pytest.raises(ParamfitError, match="malformed 'NDArray'"):
        decode4js({"__class__": "NDArray", "value": [1]})


def test_pandas_objects_round_trip():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(np.arange(9).reshape(3, 3), columns=["a", "b", "c"])
    series = pd.Series([1, 2, 3, 4], index=["a", "b", "c", "d"])
    assert encode4js(frame)["__class__"] == "PDataFrame"
    back_frame, back_series = _round_trip(frame), _round_trip(series)
    assert isinstance(back_frame, pd.DataFrame) and back_frame.equals(frame)
    assert isinstance(back_series, pd.Series) and back_series.equals(series)


def test_ufloat_round_trip():
    unc = pytest.importorskip("uncertainties")
    back = _round_trip(unc.ufloat(1.5, 0.25))
    assert (back.nominal_value, back.std_dev) == (1.5, 0.25)


def test_missing_optional_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # importing pandas now fails
    with pytest.raises(MissingDependencyError, match="pandas"):
        decode4js({"__class__": "PSeries", "value": "{}"})


def test_find_importer_and_import_from():
    from paramfit.report.text import alphanumeric_sort

    assert find_importer(np.array) == "numpy"
    assert find_importer(alphanumeric_sort) == "paramfit.report.text"
    assert import_from("paramfit.report.text", "alphanumeric_sort") is alphanumeric_sort
    assert find_importer(lambda x: x) is None  # defined nowhere importable


def test_matches_lmfit_encoding():
    lmfit_json = pytest.importorskip("lmfit.jsonutils")
    for obj in (np.arange(4.0).reshape(2, 2), 1 - 2j, ("a", [1, 2.5]), {"x": 1.0}):
        ours, theirs = encode4js(obj), lmfit_json.encode4js(obj)
        assert json.loads(json.dumps(ours)) == json.loads(json.dumps(theirs))
        assert np.all(lmfit_json.decode4js(json.loads(json.dumps(ours))) == obj)


def test_public_path():
    import paramfit.jsonutils as public

    assert public.encode4js is encode4js and public.decode4js is decode4js


def test_lineshape_callables_decode_to_paramfits_own_functions():
    """A Callable entry naming one of paramfit's (or lmfit's: the same functions)
    lineshapes decodes to paramfit's function; anything else stays its name, and nothing
    is imported (issue 20's rule)."""
    import sys

    from paramfit.models import lineshapes

    assert decode4js(encode4js(lineshapes.gaussian)) is lineshapes.gaussian
    entry = {"__class__": "Callable", "__name__": "voigt", "importer": "lmfit.lineshapes"}
    assert decode4js(entry) is lineshapes.voigt
    before = set(sys.modules)
    for importer in ("__main__", "os", "mypackage.lineshapes", None):
        entry = {"__class__": "Callable", "__name__": "gaussian", "importer": importer}
        assert decode4js(entry) == "gaussian"
    assert decode4js({"__class__": "Callable", "__name__": "system",
                      "importer": "os"}) == "system"
    assert set(sys.modules) == before
