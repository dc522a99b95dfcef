"""Public import path ``paramfit.model`` (lmfit's ``lmfit.model``): the Model layer.

Re-exports :class:`~paramfit.models.model.Model`, :class:`CompositeModel`,
:class:`~paramfit.models.result.ModelResult` and the save/load functions of
:mod:`paramfit.models.io`, where they are defined.
"""

from paramfit.models.io import load_model, load_modelresult, save_model, save_modelresult
from paramfit.models.model import CompositeModel, Model
from paramfit.models.result import ModelResult

__all__ = ["CompositeModel", "Model", "ModelResult", "load_model", "load_modelresult",
           "save_model", "save_modelresult"]
