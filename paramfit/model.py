"""Public import path ``paramfit.model`` (lmfit's ``lmfit.model``): the Model layer.

Re-exports :class:`~paramfit.models.model.Model`, :class:`CompositeModel`,
:class:`~paramfit.models.result.ModelResult`, the save/load functions of
:mod:`paramfit.models.io` and the complex-data helpers of :mod:`paramfit.models.reducers`
(``get_reducer``, ``propagate_err``, ``coerce_arraylike``), where they are defined, and,
as lmfit's module has it, pandas' ``Series`` (imported on first access).
"""

from importlib.util import find_spec
from typing import Any

from paramfit.core.optional import require
from paramfit.models.composite_model import CompositeModel
from paramfit.models.io import load_model, load_modelresult, save_model, save_modelresult
from paramfit.models.model import Model
from paramfit.models.reducers import coerce_arraylike, get_reducer, propagate_err
from paramfit.models.result import ModelResult

__all__ = ["CompositeModel", "Model", "ModelResult", "coerce_arraylike", "get_reducer",
           "load_model", "load_modelresult", "propagate_err", "save_model",
           "save_modelresult"]

#: Whether matplotlib can be imported (lmfit's flag; found without importing it).
_HAS_MATPLOTLIB = find_spec("matplotlib") is not None


def __getattr__(name: str) -> Any:
    """``Series``: pandas' class (``lmfit.model.Series``), imported on first access; an
    AttributeError, as for any missing name, when pandas is not installed."""
    if name == "Series" and find_spec("pandas") is not None:
        return require("pandas", "pandas", "paramfit.model.Series").Series
    raise AttributeError(f"module 'paramfit.model' has no attribute {name!r}")
