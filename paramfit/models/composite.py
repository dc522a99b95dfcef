"""The algebra of composite models: the operators and the rules for their derivatives.

A :class:`~paramfit.models.composite_model.CompositeModel` (made by the ``+ - * /`` of
:class:`~paramfit.models.model.Model`) evaluates
both sides on the independent variables each needs and combines the values with one of
:data:`OPERATORS`.  When both sides have analytic derivatives (see
:attr:`Model.has_jacobian <paramfit.models.model.Model.has_jacobian>`), its derivatives
follow from theirs by the sum, difference, product and quotient rules
(:func:`combine_derivatives`), so a fit of a composite of built-in lineshapes needs no
finite differences.  Arrays only: this module knows no model class.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["OPERATORS", "Derivatives", "combine_derivatives"]

#: ``{parameter name: derivative array}``, as models return them.
Derivatives = dict[str, np.ndarray]

#: The operators that combine two models, by symbol.
OPERATORS: dict[str, Callable] = {
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
