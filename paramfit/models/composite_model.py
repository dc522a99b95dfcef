"""``CompositeModel``: two models combined by an operator, as ``Model``'s ``+ - * /`` make.

Defined after :class:`~paramfit.models.model.Model` (it is one) in its own module, which
registers it with :func:`~paramfit.models.model.register_composite_class` so that
``Model``'s operators build it without importing it; ``paramfit.models`` imports this
module, so the registration is done whenever the Model layer is.  The derivative rules
are in :mod:`paramfit.models.composite`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from paramfit.core.exceptions import DuplicateNameError, ParameterError
from paramfit.models.composite import OPERATORS, Derivatives, combine_derivatives
from paramfit.models.io import register_model_class
from paramfit.models.model import Model, register_composite_class
from paramfit.models.signature import _func_name

__all__ = ["CompositeModel"]


class CompositeModel(Model):
    """Two models combined by ``+``, ``-``, ``*`` or ``/``, made by those operators.

    Parameters
    ----------
    left, right : Model
    op : {'+', '-', '*', '/'}

    Examples
    --------
    >>> from paramfit.models.lineshapes import gaussian, linear
    >>> model = Model(gaussian, prefix='g_') + Model(linear, prefix='bg_')
    >>> model.param_names
    ['g_amplitude', 'g_center', 'g_sigma', 'bg_slope', 'bg_intercept']
    >>> [c.prefix for c in model.components]
    ['g_', 'bg_']
    """

    def __init__(self, left: Model, right: Model, op: str | Callable, *,
                 name: str | None = None):
        symbols = {function: symbol for symbol, function in OPERATORS.items()}
        if callable(op):
            op = symbols.get(op, op)  # operator.add is '+'; np.convolve stays a function
        elif op not in OPERATORS:
            raise ParameterError(f"operator must be one of {list(OPERATORS)} or a function "
                                 f"of two arrays, got {op!r}")
        if not isinstance(left, Model) or not isinstance(right, Model):
            raise ParameterError("CompositeModel combines two Model objects")
        clash = set(left.param_names) & set(right.param_names)
        if clash:
            raise DuplicateNameError(
                f"the two models have parameters with the same name(s) {sorted(clash)}: "
                "give them different prefixes (Model(..., prefix='p1_'))")
        self.left, self.right, self.op = left, right, op
        self._operator = OPERATORS[op] if isinstance(op, str) else op
        self._name = name
        self.prefix = ""
        self.nan_policy = left.nan_policy
        self.param_hints = {}
        self.opts = {}
        self.user_jac = None
        self.func = None  # type: ignore[assignment]
        # lmfit: the unique independent variables of both sides, sorted
        self.independent_vars = sorted(set(left.independent_vars + right.independent_vars))
        self._roots = list(left.param_names) + list(right.param_names)

    @property
    def name(self) -> str:
        """``'left op right'`` from the component names."""
        return self._name or f"({self.left.name} {self._op_symbol} {self.right.name})"

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def _op_symbol(self) -> str:
        """``+ - * /``, or the name of the function combining the two sides."""
        return self.op if isinstance(self.op, str) else _func_name(self.op)

    def _reprstring(self, long: bool = True) -> str:
        """``(left op right)`` from the components' lmfit-style names."""
        return (f"({self.left._reprstring(long=long)} {self._op_symbol} "
                f"{self.right._reprstring(long=long)})")

    @property
    def param_names(self) -> list[str]:
        return list(self._roots)

    @property
    def components(self) -> list[Model]:
        return [*self.left.components, *self.right.components]

    @property
    def has_jacobian(self) -> bool:
        """Both sides have analytic derivatives and the operator is one of ``+ - * /``
        (a function such as ``np.convolve`` is differentiated numerically)."""
        return isinstance(self.op, str) and self.left.has_jacobian and \
            self.right.has_jacobian

    def __repr__(self) -> str:
        return f"<paramfit.CompositeModel: {self.name}>"

    def set_param_hint(self, name: str, **hints: Any) -> None:
        """Set a hint on the component that owns ``name``; a name no component has is a
        new parameter of the composite (give it a value or an ``expr``), as in lmfit."""
        for comp in self.components:
            if name in comp.param_names or name in comp.param_hints or \
                    (comp.prefix and name.startswith(comp.prefix)):
                comp.set_param_hint(name, **hints)
                return
        Model.set_param_hint(self, name, **hints)

    def _symbols(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for comp in self.components:
            out.update(comp._symbols())
        return out

    def _sub(self, model: Model, indep: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in indep.items() if k in model.independent_vars}

    def _evaluate(self, values: Mapping[str, Any], indep: Mapping[str, Any]) -> Any:
        # components may return lists (lmfit accepts them): arrays before the operator
        return self._operator(
            np.asarray(self.left._evaluate(values, self._sub(self.left, indep))),
            np.asarray(self.right._evaluate(values, self._sub(self.right, indep))))

    def _value_and_jacobian(self, values: Mapping[str, Any],
                            indep: Mapping[str, Any]) -> tuple[Any, Derivatives | None]:
        vl, dl = self.left._value_and_jacobian(values, self._sub(self.left, indep))
        vr, dr = self.right._value_and_jacobian(values, self._sub(self.right, indep))
        value = self._operator(np.asarray(vl), np.asarray(vr))
        if dl is None or dr is None or not isinstance(self.op, str):
            return value, None
        return value, combine_derivatives(self.op, value, (vl, dl), (vr, dr))


register_composite_class(CompositeModel)
register_model_class("composite", CompositeModel)
