"""``CompositeModel``: two models combined by ``+``, ``-``, ``*`` or ``/``.

A composite evaluates both sides on the independent variables each needs and
combines the values with the operator.  When both sides have analytic derivatives
(see :attr:`Model.has_jacobian`), its derivatives follow from theirs by the sum,
difference, product and quotient rules (:func:`combine_derivatives`), so a fit of
a composite of built-in lineshapes needs no finite differences.

Made by the operators of :class:`~paramfit.models.model.Model`, and re-exported from
:mod:`paramfit.models.model` and :mod:`paramfit`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from paramfit.core.exceptions import ParameterError
from paramfit.models.model import Derivatives, Model

__all__ = ["CompositeModel", "combine_derivatives"]

_OPERATORS: dict[str, Callable] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}


def combine_derivatives(op: str, value: Any, left: tuple[Any, Derivatives],
                        right: tuple[Any, Derivatives]) -> Derivatives:
    """Derivatives of ``left op right`` from those of its two sides.

    Parameters
    ----------
    op : {'+', '-', '*', '/'}
        The operator.
    value : array_like
        ``left_value op right_value``, already computed (the quotient rule reuses it).
    left, right : (value, {parameter name: derivative})
        Each side's value and derivatives, arrays broadcastable to ``value``'s shape;
        the two sides have no parameter in common.

    Returns
    -------
    dict of str to ndarray
        ``d(left op right)/d(name)`` for every parameter of either side.

    Examples
    --------
    >>> import numpy as np
    >>> d = combine_derivatives('*', 6.0, (2.0, {'a': np.array(1.0)}),
    ...                         (3.0, {'b': np.array(1.0)}))
    >>> {k: float(v) for k, v in d.items()}
    {'a': 3.0, 'b': 2.0}
    """
    (vl, dl), (vr, dr) = left, right
    if op == "+":
        return {**dl, **dr}
    if op == "-":
        return {**dl, **{k: -d for k, d in dr.items()}}
    if op == "*":
        return {**{k: d * vr for k, d in dl.items()}, **{k: vl * d for k, d in dr.items()}}
    inv = 1.0 / vr
    scale = -value * inv
    return {**{k: d * inv for k, d in dl.items()}, **{k: scale * d for k, d in dr.items()}}


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

    def __init__(self, left: Model, right: Model, op: str, *, name: str | None = None):
        if op not in _OPERATORS:
            raise ParameterError(f"operator must be one of {list(_OPERATORS)}, got {op!r}")
        if not isinstance(left, Model) or not isinstance(right, Model):
            raise ParameterError("CompositeModel combines two Model objects")
        clash = set(left.param_names) & set(right.param_names)
        if clash:
            raise ParameterError(
                f"the two models have parameters with the same name(s) {sorted(clash)}: "
                "give them different prefixes (Model(..., prefix='p1_'))")
        self.left, self.right, self.op = left, right, op
        self._operator = _OPERATORS[op]
        self._name = name
        self.prefix = ""
        self.nan_policy = left.nan_policy
        self.param_hints = {}
        self.opts = {}
        self.user_jac = None
        self.func = None  # type: ignore[assignment]
        self.independent_vars = list(dict.fromkeys(left.independent_vars
                                                   + right.independent_vars))
        self._roots = list(left.param_names) + list(right.param_names)

    @property
    def name(self) -> str:
        """``'left op right'`` from the component names."""
        return self._name or f"({self.left.name} {self.op} {self.right.name})"

    @property
    def param_names(self) -> list[str]:
        return list(self._roots)

    @property
    def components(self) -> list[Model]:
        return [*self.left.components, *self.right.components]

    @property
    def has_jacobian(self) -> bool:
        return self.left.has_jacobian and self.right.has_jacobian

    def __repr__(self) -> str:
        return f"<paramfit.CompositeModel: {self.name}>"

    def set_param_hint(self, name: str, **hints: Any) -> None:
        """Set a hint on the component that owns ``name``."""
        for comp in self.components:
            if name in comp.param_names or name in comp.param_hints or \
                    (comp.prefix and name.startswith(comp.prefix)):
                comp.set_param_hint(name, **hints)
                return
        raise ParameterError(f"no component of {self.name} has a parameter {name!r}")

    def _symbols(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for comp in self.components:
            out.update(comp._symbols())
        return out

    def _sub(self, model: Model, indep: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in indep.items() if k in model.independent_vars}

    def _evaluate(self, values: Mapping[str, Any], indep: Mapping[str, Any]) -> Any:
        return self._operator(self.left._evaluate(values, self._sub(self.left, indep)),
                              self.right._evaluate(values, self._sub(self.right, indep)))

    def _value_and_jacobian(self, values: Mapping[str, Any],
                            indep: Mapping[str, Any]) -> tuple[Any, Derivatives | None]:
        vl, dl = self.left._value_and_jacobian(values, self._sub(self.left, indep))
        vr, dr = self.right._value_and_jacobian(values, self._sub(self.right, indep))
        value = self._operator(vl, vr)
        if dl is None or dr is None:
            return value, None
        return value, combine_derivatives(self.op, value, (vl, dl), (vr, dr))
