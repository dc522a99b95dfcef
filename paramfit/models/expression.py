"""``ExpressionModel``: a model written as a formula, compiled by the safe engine.

The formula is parsed and validated by :func:`paramfit.core.expressions.compiler.compile_expression`
(whitelisted syntax, no attribute access, no imports, bounded size) -- never by Python's
``eval`` of raw text -- and evaluated in a namespace of the default expression functions
(``exp``, ``sin``, ``sqrt``..., all working on arrays) plus user symbols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paramfit.core.exceptions import ExpressionError, ParameterError
from paramfit.core.expressions.compiler import DEFAULT_SYMBOLS, compile_expression, make_namespace
from paramfit.models.io import register_model_class
from paramfit.models.model import NAN_POLICIES, Model

__all__ = ["ExpressionModel"]


class ExpressionModel(Model):
    """A model given as an expression such as ``"amp*exp(-x/tau) + c"``.

    Parameters
    ----------
    expr : str
        The model formula.
    independent_vars : sequence of str, optional
        Independent variables; default ``['x']`` (which must appear in ``expr``).
    prefix : str, default ''
        Not supported (names are those written in ``expr``); must be empty.
    nan_policy : {'raise', 'omit', 'propagate'}, default 'raise'
    symbols : mapping, optional
        Extra functions and constants usable in ``expr``.
    name : str, optional
    **hints
        Parameter hints, as for :class:`~paramfit.models.model.Model`.

    Notes
    -----
    Parameter names are the names in ``expr`` that are neither independent variables
    nor known symbols, in order of first appearance.  The model has no analytic
    Jacobian: fits use finite differences.

    Examples
    --------
    >>> import numpy as np
    >>> model = ExpressionModel("amp*exp(-x/tau) + c")
    >>> model.param_names
    ['amp', 'tau', 'c']
    >>> x = np.linspace(0, 5, 60)
    >>> result = model.fit(2.0 * np.exp(-x / 1.3) + 0.5, x=x, amp=1, tau=1, c=0)
    >>> round(result.params['tau'].value, 6)
    1.3
    """

    def __init__(self, expr: str, independent_vars: Sequence[str] | None = None,
                 prefix: str = "", nan_policy: str = "raise", *,
                 symbols: Mapping[str, object] | None = None, name: str | None = None,
                 **hints: Any):
        if prefix:
            raise ParameterError("ExpressionModel does not take a prefix: write the "
                                 "parameter names you want in the expression")
        if nan_policy not in NAN_POLICIES:
            raise ParameterError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
        self.expr = str(expr)
        self.compiled = compile_expression(self.expr, owner="ExpressionModel")
        self.user_symbols = dict(symbols or {})
        self._namespace = make_namespace(self.user_symbols)
        order = _names_in_order(self.expr, self.compiled.names)
        independent = ["x"] if independent_vars is None else (
            [independent_vars] if isinstance(independent_vars, str) else list(independent_vars))
        missing = [v for v in independent if v not in self.compiled.names]
        if missing:
            raise ExpressionError(
                f"independent variable(s) {missing} do not appear in the expression "
                f"{self.expr!r}; pass independent_vars=[...] naming those it uses")
        known = set(DEFAULT_SYMBOLS) | set(self.user_symbols)
        self.func = self._call  # type: ignore[assignment]
        self.prefix = ""
        self.nan_policy = nan_policy
        self.user_jac = None
        self._lineshape = None
        self._name = name
        self.independent_vars = independent
        self._roots = [n for n in order if n not in independent and n not in known]
        if not self._roots:
            raise ExpressionError(f"the expression {self.expr!r} has no parameters")
        self._defaults = {}
        self._options = []
        self._has_kwargs = False
        self.opts = {}
        self.param_hints = {}
        for key, value in hints.items():
            if isinstance(value, Mapping):
                self.set_param_hint(key, **value)
            else:
                self.set_param_hint(key, value=value)

    def _call(self, **values: Any) -> Any:
        namespace = self._namespace.copy()
        namespace.update(values)
        return self.compiled.evaluate_checked(namespace, "ExpressionModel")

    @property
    def name(self) -> str:
        return self._name or f"Model(expr='{self.expr}')"

    def __repr__(self) -> str:
        return f"<paramfit.ExpressionModel: {self.expr!r}>"


register_model_class("expression", ExpressionModel)


def _names_in_order(source: str, names: frozenset[str]) -> list[str]:
    """The names of an expression in order of first appearance in its text."""
    import io
    import tokenize

    seen: list[str] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string in names and token.string not in seen:
            seen.append(token.string)
    return seen + sorted(n for n in names if n not in seen)
