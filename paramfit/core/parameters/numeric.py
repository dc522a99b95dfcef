"""The numeric protocol of a :class:`~paramfit.core.parameters.parameter.Parameter`.

A Parameter behaves as its value in arithmetic and comparisons (``2 * p``, ``p > 0``,
``float(p)``, ``np.asarray(p)``), as in lmfit 1.3.  :class:`NumericValue` holds those
dunder methods (conversions, unary and binary operators, comparisons), each of which
reads ``self.value``; :class:`~paramfit.core.parameters.parameter.Parameter` inherits
them.  The mixin has no slots of its own, so a Parameter keeps its ``__slots__`` layout.

Examples
--------
>>> class Three(NumericValue):
...     value = 3.0
>>> 2 * Three(), Three() > 2, float(Three())
(6.0, True, 3.0)
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["NumericValue"]


class NumericValue:
    """Mixin: arithmetic, comparisons and conversions act on ``self.value``.

    The class using it defines ``value`` (a float) and, since it compares equal to
    its value, sets ``__hash__ = None``.
    """

    __slots__ = ()

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return self.value != 0

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.asarray(self.value, dtype=dtype)

    def __abs__(self) -> float:
        return abs(self.value)

    def __neg__(self) -> float:
        return -self.value

    def __pos__(self) -> float:
        return +self.value

    def __trunc__(self) -> int:
        return math.trunc(self.value)

    def __floor__(self) -> int:
        return math.floor(self.value)

    def __ceil__(self) -> int:
        return math.ceil(self.value)

    def __round__(self, ndigits: int | None = None) -> float | int:
        return round(self.value, ndigits)


def _binary(op: Callable[[Any, Any], Any], name: str) -> tuple[Callable, Callable]:
    def forward(self: NumericValue, other: Any) -> Any:
        return op(self.value, other)

    def reflected(self: NumericValue, other: Any) -> Any:
        return op(other, self.value)

    forward.__name__, reflected.__name__ = f"__{name}__", f"__r{name}__"
    return forward, reflected


for _name, _op in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("mod", operator.mod), ("pow", operator.pow), ("divmod", divmod)):
    _fwd, _rev = _binary(_op, _name)
    setattr(NumericValue, _fwd.__name__, _fwd)
    setattr(NumericValue, _rev.__name__, _rev)
for _name, _op in (("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt),
                   ("le", operator.le), ("gt", operator.gt), ("ge", operator.ge)):
    _cmp = _binary(_op, _name)[0]
    setattr(NumericValue, _cmp.__name__, _cmp)
del _name, _op, _fwd, _rev, _cmp
