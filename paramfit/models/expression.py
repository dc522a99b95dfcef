"""``ExpressionModel``: a model written as a formula, compiled by the safe engine.

The formula is built by :func:`paramfit.frontends.formula.build_formula`: parsed and
validated by the safe expression compiler (whitelisted syntax, no attribute access, no
imports, bounded size) -- never by Python's ``eval`` of raw text -- and evaluated in a
namespace of the default expression functions (``exp``, ``sin``, ``sqrt``..., all working
on arrays) plus user symbols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paramfit.core.exceptions import ExpressionError, ParameterError
from paramfit.frontends.formula import build_formula
from paramfit.frontends.formula_compiled import FormulaJacobian
from paramfit.models.common import check_nan_policy
from paramfit.models.io import register_model_class
from paramfit.models.model import Model

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
    nor known symbols, in order of first appearance.  The model has an exact Jacobian
    (:attr:`has_jacobian`), built from the expression by
    :meth:`paramfit.frontends.formula_compiled.CompiledFormula.jacobian_function`: fits pass it to
    the solver, so they spend no evaluations on finite differences.  A parameter whose
    partial has no exact form (a comparison used as a value, a user symbol that is not a
    :class:`~paramfit.core.expressions.derivatives.Differentiable`) is differenced
    centrally, that column only, and named in :attr:`differenced`.
    ``derivatives='numeric'`` turns the exact Jacobian off (finite differences, as a
    plain :class:`~paramfit.Model`).

    Attributes
    ----------
    differenced : dict of str to str
        Parameter -> why its Jacobian column is a finite difference (empty when every
        column is exact, and with ``derivatives='numeric'``, where all are).

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
                 derivatives: str = "exact", **hints: Any):
        if prefix:
            raise ParameterError("ExpressionModel does not take a prefix: write the "
                                 "parameter names you want in the expression")
        check_nan_policy(nan_policy, ParameterError)
        self.expr = str(expr)
        self.user_symbols = dict(symbols or {})
        independent = ["x"] if independent_vars is None else (
            [independent_vars] if isinstance(independent_vars, str) else list(independent_vars))
        self.formula = build_formula(self.expr, data=independent, symbols=self.user_symbols,
                                     lhs="none", owner="ExpressionModel")
        self.compiled = self.formula.rhs
        if self.formula.unused_data:
            raise ExpressionError(
                f"independent variable(s) {list(self.formula.unused_data)} do not appear in "
                f"the expression {self.expr!r}; pass independent_vars=[...] naming those it uses")
        self.func = self.formula.mapping_function()  # type: ignore[assignment]
        if derivatives not in ("exact", "numeric"):
            raise ParameterError(f"derivatives must be 'exact' or 'numeric', got "
                                 f"{derivatives!r}")
        self.derivatives = derivatives
        self._exact = self._exact_jacobian() if derivatives == "exact" else None
        self.differenced = dict(self._exact.differenced) if self._exact else {}
        self.prefix = ""
        self.nan_policy = nan_policy
        self.user_jac = None
        self._lineshape = None
        self._name = name
        self.independent_vars = independent
        self._roots = list(self.formula.param_names)
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

    def _exact_jacobian(self) -> FormulaJacobian | None:
        """The formula's exact Jacobian; None (finite differences) where its derivative
        code cannot be built (too large)."""
        try:
            return self.formula.jacobian_function()
        except ExpressionError:
            return None

    @property
    def has_jacobian(self) -> bool:
        """True unless built with ``derivatives='numeric'`` (or the expression's
        derivative code is too large to build): the Jacobian is exact, columns in
        :attr:`differenced` excepted."""
        return self._exact is not None

    def _value_and_jacobian(self, values: Mapping[str, Any],
                            indep: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        kws = {root: values[root] for root in self._roots}
        if self._exact is None:
            return self.func(**indep, **kws), None
        value, partials = self._exact.partials({**indep, **kws})
        return value, dict(zip(self._roots, partials, strict=True))

    @property
    def name(self) -> str:
        return self._name or f"Model(expr='{self.expr}')"

    def __repr__(self) -> str:
        return f"<paramfit.ExpressionModel: {self.expr!r}>"


register_model_class("expression", ExpressionModel)
