"""JSON encoding of the values Parameters and results carry (lmfit 1.3's ``jsonutils``).

:func:`encode4js` turns an object into JSON-ready data (numbers, strings, lists and
dicts with a ``"__class__"`` tag), :func:`decode4js` turns that back.  Tags, as lmfit
1.3 writes them: ``NDArray`` (with ``__shape__`` and ``__dtype__``; complex arrays as
``[real, imag]``, object arrays element by element), ``Complex``, ``List``, ``Tuple``,
``Dict``, ``PDataFrame`` / ``PSeries`` (pandas, as ``to_json`` text), ``UFloat``
(uncertainties) and ``Callable``.

Callables are stored **by name only** (``__name__`` and the module it can be found in,
``importer``); no code is stored, and decoding never imports anything nor runs code a
document names: :func:`decode4js` gives the function from ``funcdefs`` (a mapping the
caller trusts), paramfit's own lineshape of that name when the entry says it is one (see
:func:`register_known_functions`), or else its name as a string.  lmfit 1.3 stores
the function's pickled code (``dill``) and imports the named module when loading; a
document written by lmfit is read here with its callables by name (see docs/lmfit.md).

Examples
--------
>>> import numpy as np
>>> enc = encode4js(np.array([[1.0, 2.0]]))
>>> enc['__class__'], enc['__shape__'], enc['value']
('NDArray', (1, 2), [1.0, 2.0])
>>> decode4js(enc)
array([[1., 2.]])
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from io import StringIO
from typing import Any

import numpy as np

from paramfit.core.exceptions import ParamfitError
from paramfit.core.optional import require

__all__ = ["decode4js", "encode4js", "find_importer", "import_from", "pyvers",
           "register_known_functions"]

pyvers = f"{sys.version_info.major}.{sys.version_info.minor}"
"""The running Python's ``major.minor``, written with each encoded callable (as lmfit)."""


#: Functions a ``Callable`` entry may name and get back without ``funcdefs``: paramfit's
#: own lineshapes, registered by :mod:`paramfit.models.lineshapes` when it is imported
#: (nothing is imported here).  An entry gets one only when its ``importer`` is a
#: lineshapes module of paramfit or lmfit (lmfit's functions of those names are the same
#: functions: same names, parameters and formulas).
_KNOWN_FUNCTIONS: dict[str, Callable] = {}


def register_known_functions(functions: Mapping[str, Callable]) -> None:
    """Let :func:`decode4js` resolve these functions by name (see ``_KNOWN_FUNCTIONS``)."""
    _KNOWN_FUNCTIONS.update(functions)


def _known_function(name: str, importer: Any) -> Callable | None:
    if not isinstance(importer, str) or "lineshapes" not in importer.split("."):
        return None
    if importer.split(".", 1)[0] not in ("paramfit", "lmfit"):
        return None
    return _KNOWN_FUNCTIONS.get(name)


def find_importer(obj: Any) -> str | None:
    """Name of a loaded module that has ``obj`` under ``obj.__name__`` (None if none).

    Looks at ``obj.__module__`` first, then at every loaded module except ``__main__``;
    imports nothing.

    Examples
    --------
    >>> import math
    >>> find_importer(math.sqrt)
    'math'
    """
    name = getattr(obj, "__name__", None)
    if name is None:
        return None
    home = getattr(obj, "__module__", None)
    candidates = [home] if home else []
    candidates += [m for m in list(sys.modules) if m != home]
    for modname in candidates:
        if modname is None or modname.startswith("__main__"):
            continue
        module = sys.modules.get(modname)
        if module is not None and getattr(module, name, None) is obj:
            return modname
    return None


def import_from(modulepath: str, objectname: str) -> Any:
    """``from modulepath import objectname``, for a caller that chose to import it.

    :func:`decode4js` never calls this: only code that decides, itself, to import a
    module does.

    Examples
    --------
    >>> import_from('math', 'sqrt')(4.0)
    2.0
    """
    module = importlib.import_module(modulepath)
    return getattr(module, objectname)


def _loaded_class(module: str, name: str) -> type | None:
    """``module.name`` if ``module`` is already imported (no import otherwise)."""
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


def encode4js(obj: Any) -> Any:
    """JSON-ready data for ``obj`` (see the module docstring for the tags).

    Objects of no known kind are returned unchanged (``json.dumps`` then decides).

    Examples
    --------
    >>> encode4js(1 - 2j)
    {'__class__': 'Complex', 'value': (1.0, -2.0)}
    >>> encode4js(('a', 1))
    {'__class__': 'Tuple', 'value': ['a', 1]}
    """
    frame, series = _loaded_class("pandas", "DataFrame"), _loaded_class("pandas", "Series")
    if frame is not None and isinstance(obj, frame):
        return {"__class__": "PDataFrame", "value": obj.to_json()}
    if series is not None and isinstance(obj, series):
        return {"__class__": "PSeries", "value": obj.to_json()}
    ufloat_type = _loaded_class("uncertainties.core", "AffineScalarFunc")
    if ufloat_type is not None and isinstance(obj, ufloat_type):
        return {"__class__": "UFloat", "val": obj.nominal_value, "err": obj.std_dev}
    if isinstance(obj, np.ndarray):
        return _encode_array(obj)
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, (complex, np.complexfloating)):
        return {"__class__": "Complex", "value": (float(obj.real), float(obj.imag))}
    if isinstance(obj, (list, tuple)):
        return {"__class__": "Tuple" if isinstance(obj, tuple) else "List",
                "value": [encode4js(item) for item in obj]}
    if isinstance(obj, dict):
        out: dict[Any, Any] = {"__class__": "Dict"}
        for key, value in obj.items():
            out[encode4js(key)] = encode4js(value)
        return out
    if callable(obj) and hasattr(obj, "__name__"):
        return {"__class__": "Callable", "__name__": obj.__name__, "pyversion": pyvers,
                "importer": find_importer(obj)}
    return obj


def _encode_array(arr: np.ndarray) -> dict[str, Any]:
    if arr.dtype.kind == "c":
        value: list = [arr.real.ravel().tolist(), arr.imag.ravel().tolist()]
    elif arr.dtype.kind == "O":
        value = [encode4js(item) for item in arr.ravel()]
    else:
        value = arr.ravel().tolist()
    return {"__class__": "NDArray", "__shape__": arr.shape, "__dtype__": arr.dtype.name,
            "value": value}


def decode4js(obj: Any, funcdefs: Mapping[str, Callable] | None = None) -> Any:
    """The object :func:`encode4js` encoded (``obj`` itself is not modified).

    Parameters
    ----------
    obj : object
        Decoded JSON data.
    funcdefs : mapping, optional
        ``{name: function}`` to resolve ``Callable`` entries; a callable not in it
        decodes to its name (a string). Nothing is imported.

    Examples
    --------
    >>> decode4js({'__class__': 'Callable', '__name__': 'mysine', 'importer': 'os'})
    'mysine'
    >>> decode4js({'__class__': 'List', 'value': [1, {'__class__': 'Complex',
    ...                                               'value': [0, 1]}]})
    [1, 1j]
    """
    if isinstance(obj, list):
        return [decode4js(item, funcdefs) for item in obj]
    if not isinstance(obj, dict):
        return obj
    kind = obj.get("__class__")
    if kind is None or kind in ("Dict", "dict"):
        return {key: decode4js(value, funcdefs) for key, value in obj.items()
                if key != "__class__"}
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ParamfitError(f"decode4js: unknown '__class__' tag {kind!r}; known tags are "
                            f"{sorted(_DECODERS)}")
    try:
        return decoder(obj, funcdefs)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ParamfitError(f"decode4js: malformed {kind!r} entry {obj!r}") from exc


def _decode_array(obj: Mapping[str, Any], funcdefs: Any) -> np.ndarray:
    dtype, shape, value = obj["__dtype__"], tuple(obj["__shape__"]), obj["value"]
    if dtype.startswith("complex"):
        out = (np.asarray(value[0], dtype=float) + 1j * np.asarray(value[1], dtype=float))
        out = out.astype(dtype)
    elif dtype.startswith("object"):
        items = [decode4js(v, funcdefs) for v in value]
        out = np.empty(len(items), dtype=object)
        out[:] = items
    else:
        out = np.asarray(value, dtype=dtype)
    return out.reshape(shape)


def _decode_callable(obj: Mapping[str, Any], funcdefs: Mapping[str, Callable] | None) -> Any:
    name = obj["__name__"]
    if funcdefs is not None and name in funcdefs:
        return funcdefs[name]
    known = _known_function(name, obj.get("importer"))
    return name if known is None else known


def _decode_pandas(obj: Mapping[str, Any], typ: str) -> Any:
    pandas = require("pandas", "pandas", "decoding a pandas object from JSON")
    return pandas.read_json(StringIO(obj["value"]), typ=typ)


def _decode_ufloat(obj: Mapping[str, Any], funcdefs: Any) -> Any:
    uncertainties = require("uncertainties", "uncertainties", "decoding a ufloat from JSON")
    return uncertainties.ufloat(obj["val"], obj["err"])


_DECODERS: dict[str, Callable[[Mapping[str, Any], Any], Any]] = {
    "Complex": lambda o, f: complex(float(o["value"][0]), float(o["value"][1])),
    "List": lambda o, f: [decode4js(v, f) for v in o["value"]],
    "Tuple": lambda o, f: tuple(decode4js(v, f) for v in o["value"]),
    "NDArray": _decode_array,
    "PDataFrame": lambda o, f: _decode_pandas(o, "frame"),
    "PSeries": lambda o, f: _decode_pandas(o, "series"),
    "UFloat": _decode_ufloat,
    "Callable": _decode_callable,
}
