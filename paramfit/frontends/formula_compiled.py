"""A compiled formula and its evaluators: the value, the residual, the exact Jacobian.

:class:`CompiledFormula` is what :func:`paramfit.frontends.formula.build_formula`
returns (a parsed, classified and compiled formula); it evaluates the right-hand side vectorised
over arrays as a function of the parameter vector (:meth:`CompiledFormula.vector_function`),
of a mapping of values (:meth:`CompiledFormula.mapping_function`), or as a residual of
:class:`~paramfit.Parameters` (:meth:`CompiledFormula.residual`).

Derivatives of the formula are built here, from the kept syntax tree, in this one place:
:meth:`CompiledFormula.jacobian_function` (value and exact Jacobian of the right-hand side,
by :func:`paramfit.core.expressions.derivatives.differentiate`, evaluated by
:class:`FormulaJacobian`) and :meth:`CompiledFormula.residual_jacobian` (the Jacobian of
:meth:`CompiledFormula.residual`, what the front ends pass to the fit as ``jac=``).  A
parameter whose partial has no exact form (a comparison used as a value, a user function
without a declared derivative) is differenced, that column only;
:attr:`FormulaJacobian.differenced` says which and why.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paramfit.core.differentiation.finite_differences import (
    CBRT_EPS,
    SIDE_CENTRAL,
    finite_difference_jacobian,
)
from paramfit.core.exceptions import ExpressionError, NonFiniteResidualError
from paramfit.core.expressions.compiler import CompiledExpression
from paramfit.core.expressions.derivatives import (
    CompiledDerivatives,
    differentiate,
    install_derivative_helpers,
)
from paramfit.frontends.formula_errors import FormulaError

__all__ = [
    "CompiledFormula",
    "FormulaJacobian",
]


@dataclass(frozen=True, eq=False)
class CompiledFormula:
    """A parsed, classified and compiled formula; build one with :func:`build_formula`.

    Attributes
    ----------
    text : str
        The formula as written.
    lhs : CompiledExpression or None
        The left-hand side (the response), or None when there is none.
    rhs : CompiledExpression
        The right-hand side (the model), compiled once.
    param_names : tuple of str
        The parameters, in the order given or of first appearance in ``rhs``.
    data_names : tuple of str
        The data names the right-hand side reads, in order of appearance.
    response_names : tuple of str
        The data names the left-hand side reads, in order of appearance.
    unused_parameters, unused_data : tuple of str
        Parameters and data names given to :func:`build_formula` that the formula does
        not read.
    tree : ast.Expression
        The validated syntax tree of ``rhs`` (``p[i]`` already replaced by names): read
        it, do not change it.
    owner : str or None
        Named in evaluation errors (see
        :meth:`~paramfit.core.expressions.compiler.CompiledExpression.evaluate_checked`).

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit.frontends.formula import build_formula
    >>> f = build_formula("y ~ a*exp(-x/t) + c", data=["x", "y"])
    >>> f.param_names, f.data_names, f.response_names
    (('a', 't', 'c'), ('x',), ('y',))
    >>> model = f.vector_function({"x": np.array([0.0, 1.0])})
    >>> model([2.0, 1.0, 0.5]).round(6).tolist()
    [2.5, 1.235759]
    """

    text: str
    lhs: CompiledExpression | None
    rhs: CompiledExpression
    param_names: tuple[str, ...]
    data_names: tuple[str, ...]
    response_names: tuple[str, ...]
    unused_parameters: tuple[str, ...]
    unused_data: tuple[str, ...]
    tree: ast.Expression = field(repr=False)
    owner: str | None = None
    _base: dict = field(default_factory=dict, repr=False)
    _lhs_reads_parameters: bool = field(default=False, repr=False)
    _symbols: Mapping[str, object] | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def lhs_reads_parameters(self) -> bool:
        """Whether the left-hand side reads parameters (then it is not constant data)."""
        return self._lhs_reads_parameters

    def namespace(self, data: Mapping[str, Any] | None = None) -> dict:
        """A fresh namespace to evaluate the formula in: the symbols plus ``data``.

        Parameters
        ----------
        data : mapping, optional
            Values bound once (data columns); they shadow symbols of the same name.
        """
        namespace = dict(self._base)
        if data:
            namespace.update(data)
        return namespace

    def _evaluator(self, expression: CompiledExpression,
                   checked: bool) -> tuple[Callable[[dict, str | None], Any], str | None]:
        """``(evaluate, owner)``: call ``evaluate(namespace, owner)``.

        Checked: :meth:`CompiledExpression.evaluate_checked` and the owner.  Unchecked:
        :attr:`CompiledExpression.evaluate` (``eval`` of the code object) and None, the
        ``locals`` argument of ``eval``.  One call either way, with no partial in
        between (the per-evaluation cost).
        """
        if checked:
            return expression.evaluate_checked, self.owner
        return expression.evaluate, None

    def evaluate(self, namespace: dict) -> Any:
        """The right-hand side in ``namespace``; failures raise
        :class:`~paramfit.ExpressionEvaluationError` naming the expression."""
        return self.rhs.evaluate_checked(namespace, self.owner)

    def vector_function(self, data: Mapping[str, Any] | None = None, *,
                        argument: str | None = None, checked: bool = True) -> Callable[..., Any]:
        """The right-hand side as a function of the parameter vector.

        Parameters
        ----------
        data : mapping, optional
            Values bound once (see :meth:`namespace`).
        argument : str, optional
            A data name passed on every call, before the vector: with
            ``argument='x'`` the function is ``f(x, p)`` (MPFIT's model signature).
        checked : bool, default True
            Turn evaluation failures into :class:`~paramfit.ExpressionEvaluationError`;
            False lets them propagate unchanged.

        Returns
        -------
        callable
            ``f(values)`` or ``f(argument, values)`` with ``values`` the parameters in
            :attr:`param_names` order (a sequence or an ndarray, read as Python floats so
            that scalar functions take the :mod:`math` fast path).  It evaluates in one
            namespace of its own, updated in place: one thread at a time.
        """
        namespace = self.namespace(data)
        names = self.param_names
        evaluate, owner = self._evaluator(self.rhs, checked)

        def function(values: Any) -> Any:
            if type(values) is np.ndarray:
                values = values.tolist()
            namespace.update(zip(names, values, strict=True))
            return evaluate(namespace, owner)

        if argument is None:
            return function

        def function_of(value: Any, values: Any) -> Any:
            namespace[argument] = value
            if type(values) is np.ndarray:
                values = values.tolist()
            namespace.update(zip(names, values, strict=True))
            return evaluate(namespace, owner)

        return function_of

    def mapping_function(self, data: Mapping[str, Any] | None = None, *,
                         checked: bool = True) -> Callable[..., Any]:
        """The right-hand side as a function of keyword values (a model function).

        Returns
        -------
        callable
            ``f(**values)`` with ``values`` naming parameters and data; each call
            evaluates in a copy of the namespace, so calls may overlap (threads,
            re-entrant models).
        """
        base = self.namespace(data)
        evaluate, owner = self._evaluator(self.rhs, checked)

        def function(**values: Any) -> Any:
            namespace = base.copy()
            namespace.update(values)
            return evaluate(namespace, owner)

        return function

    def residual(self, data: Mapping[str, Any] | None = None, *,
                 start: Sequence[float] | None = None, observed: Any = None,
                 data_minus_model: bool = False, checked: bool = True,
                 ) -> tuple[Callable[[Mapping[str, Any]], np.ndarray], tuple[int, ...]]:
        """The residual as a function of :class:`~paramfit.Parameters`.

        Parameters
        ----------
        data : mapping, optional
            Values bound once (see :meth:`namespace`).
        start : sequence of float, optional
            Parameter values (in :attr:`param_names` order) at which the left-hand
            side and the shape of the residual are evaluated once, now; needed unless
            ``observed`` is given.
        observed : array_like, optional
            The response, instead of the left-hand side.
        data_minus_model : bool, default False
            ``observed - model`` (lmfit's sign) instead of ``model - observed`` (nlsr's).
        checked : bool, default True
            As in :meth:`vector_function`.

        Returns
        -------
        residual : callable
            ``residual(params) -> ndarray`` of shape ``(prod(shape),)``, reading the
            value of every parameter from ``params`` (a :class:`~paramfit.Parameters`).
            A left-hand side that reads parameters is evaluated on every call,
            otherwise once.
        shape : tuple of int
            The broadcast shape of model and response.

        Raises
        ------
        FormulaError
            Neither ``start`` nor ``observed`` is given, or there is no response.
        """
        if observed is None and self.lhs is None:
            raise FormulaError(f"formula {self.text!r} has no left-hand side; pass the "
                               "observed values", self.text)
        if start is None and observed is None:
            raise FormulaError(f"the residual of formula {self.text!r} needs start values "
                               "or the observed values", self.text)
        namespace = self.namespace(data)
        names = self.param_names
        evaluate, owner = self._evaluator(self.rhs, checked)
        if self.lhs is not None:
            response, _ = self._evaluator(self.lhs, checked)
        if start is not None:
            namespace.update(zip(names, start, strict=True))
            if observed is None and not self.lhs_reads_parameters:
                observed = response(namespace, owner)
            shape = np.broadcast(evaluate(namespace, owner), observed if observed is not None
                                 else response(namespace, owner)).shape
        else:
            shape = np.shape(observed)

        def residual(params: Mapping[str, Any]) -> np.ndarray:
            for key in names:
                namespace[key] = params[key]._value
            model = evaluate(namespace, owner)
            data_side = observed if observed is not None else response(namespace, owner)
            if data_minus_model:
                return np.broadcast_to(np.subtract(data_side, model, dtype=float), shape).ravel()
            return np.broadcast_to(np.subtract(model, data_side, dtype=float), shape).ravel()

        return residual, shape

    # ------------------------------------------------------------------ derivatives
    def derivatives(self) -> CompiledDerivatives:
        """The right-hand side and its exact partials with respect to
        :attr:`param_names`, compiled once (by
        :func:`~paramfit.core.expressions.derivatives.differentiate`) and kept."""
        compiled = self._cache.get("derivatives")
        if compiled is None:
            compiled = differentiate(self.rhs, self.param_names, symbols=self._symbols)
            self._cache["derivatives"] = compiled
        return compiled

    def jacobian_function(self, data: Mapping[str, Any] | None = None) -> FormulaJacobian:
        """The value and the Jacobian of the right-hand side as a function of the
        parameter vector (see :class:`FormulaJacobian`).

        Parameters
        ----------
        data : mapping, optional
            Values bound once (see :meth:`namespace`).

        Examples
        --------
        >>> import numpy as np
        >>> from paramfit.frontends.formula import build_formula
        >>> f = build_formula("a*exp(-b*x)", data=["x"], lhs="none")
        >>> value, jac = f.jacobian_function({"x": np.array([0.0, 1.0])})([2.0, 1.0])
        >>> jac.round(6).tolist()
        [[1.0, -0.0], [0.367879, -0.735759]]
        """
        return FormulaJacobian(self, data)

    def residual_jacobian(self, data: Mapping[str, Any] | None, shape: tuple[int, ...], *,
                          data_minus_model: bool = False,
                          ) -> Callable[[Mapping[str, Any]], np.ndarray] | None:
        """The Jacobian of :meth:`residual` as a function of
        :class:`~paramfit.Parameters`: ``jac(params) -> (prod(shape), n)``, one column per
        parameter of :attr:`param_names` (what :class:`~paramfit.Minimizer` accepts as
        ``jac=``, with the parameters added in :attr:`param_names` order).

        Parameters
        ----------
        data : mapping or None
            As for :meth:`residual`.
        shape : tuple of int
            The shape :meth:`residual` returned.
        data_minus_model : bool, default False
            As for :meth:`residual` (the sign of the Jacobian).

        Returns
        -------
        callable or None
            None when the left-hand side reads parameters (its derivative is not
            built) or the derivative code cannot be built (larger than
            :data:`~paramfit.core.expressions.derivatives.MAX_DERIVATIVE_NODES`): the fit
            then differences every column.  The callable has the
            :class:`FormulaJacobian` it evaluates as its ``formula_jacobian``
            attribute (``differenced``, ``difference_evaluations``).
        """
        if self.lhs_reads_parameters:
            return None
        try:
            evaluate = FormulaJacobian(self, data)
        except ExpressionError:  # derivative code too large to build: differences
            return None
        names = self.param_names
        rows = int(np.prod(shape)) if shape else 1
        full = (*shape, len(names))

        def jacobian(params: Mapping[str, Any]) -> np.ndarray:
            _, jac = evaluate([params[key]._value for key in names])
            if jac.shape != full or jac.dtype != np.float64:
                jac = np.array(np.broadcast_to(jac, full), dtype=float)
            jac = jac.reshape(rows, len(names))  # a fresh array: negated in place
            return np.negative(jac, out=jac) if data_minus_model else jac

        jacobian.formula_jacobian = evaluate  # type: ignore[attr-defined]
        jacobian.__qualname__ = f"exact Jacobian of formula {self.text!r:.80}"
        return jacobian


class FormulaJacobian:
    """The value and the exact Jacobian of a formula's right-hand side.

    ``evaluate(values) -> (value, J)`` with ``values`` the parameters in
    :attr:`CompiledFormula.param_names` order and ``J`` of shape
    ``value.shape + (n,)`` (``(n,)`` for a scalar value): the code of
    :meth:`CompiledFormula.derivatives`, which computes the value and every partial in
    one pass.  Build one with :meth:`CompiledFormula.jacobian_function`.

    A column is differenced instead (central differences,
    :func:`~paramfit.core.differentiation.finite_differences.finite_difference_jacobian`,
    two evaluations of the right-hand side each) where its partial has no exact form
    (:attr:`differenced`), and at a point where an exact partial is not finite while the
    value is (``sqrt(b)`` at ``b = 0``), or where evaluating the partials fails: there every
    column that needs it.  It evaluates in one namespace of its own: one thread at a time.

    Attributes
    ----------
    names : tuple of str
        The parameters (the columns).
    differenced : dict of str to str
        Parameter -> why its column is always differenced (empty: every column exact).
    difference_evaluations : int
        Evaluations of the right-hand side spent on differenced columns so far.
    """

    def __init__(self, formula: CompiledFormula, data: Mapping[str, Any] | None = None):
        self.derivatives = formula.derivatives()
        self.names = formula.param_names
        self.differenced = dict(self.derivatives.unavailable)
        self.difference_evaluations = 0
        self._namespace = install_derivative_helpers(formula.namespace(data),
                                                     formula._symbols)
        self._value_namespace = formula.namespace(data)
        self._rhs = formula.rhs
        self._always = np.array([name in self.differenced for name in self.names])

    def bind(self, data: Mapping[str, Any]) -> None:
        """Bind data values (e.g. a new ``x``) for the following calls."""
        self._namespace.update(data)
        self._value_namespace.update(data)

    def __call__(self, values: Any) -> tuple[Any, np.ndarray]:
        if type(values) is np.ndarray:
            values = values.tolist()
        namespace = self._namespace
        namespace.update(zip(self.names, values, strict=True))
        try:
            value, jac = self.derivatives.jacobian(namespace)
        except (ArithmeticError, ValueError, TypeError):
            value = self._rhs.evaluate_checked(dict(namespace), None)
            jac = np.full((*np.shape(value), len(self.names)), np.nan)
        if self._always.any() or not np.isfinite(jac).all():
            self._difference(values, value, jac)
        return value, jac

    def partials(self, values: Mapping[str, Any]) -> tuple[Any, tuple[Any, ...]]:
        """The value and one partial per parameter, from ``values`` naming the
        parameters and data (scalars, or arrays that broadcast: a batch of parameter
        sets).  Evaluates in a copy of the namespace, so calls may overlap.

        A partial with no exact form, or not finite where the value is, is a central
        difference of the right-hand side (step ``eps**(1/3) * max(|b|, 1)``).
        """
        namespace = self._namespace.copy()
        namespace.update(values)
        try:
            value, partials = self.derivatives.evaluate(namespace)
        except (ArithmeticError, ValueError, TypeError):
            value = self._rhs.evaluate_checked(namespace, None)
            partials = (None,) * len(self.names)
        out = list(partials)
        for i, (name, partial) in enumerate(zip(self.names, partials, strict=True)):
            if partial is None or not np.all(np.isfinite(partial) | ~np.isfinite(value)):
                out[i] = self._central(namespace, name)
        return value, tuple(out)

    def _central(self, namespace: dict, name: str) -> Any:
        point = namespace[name]
        step = CBRT_EPS * np.maximum(np.abs(point), 1.0)
        sides = []
        for moved in (point + step, point - step):
            namespace[name] = moved
            sides.append(np.asarray(self._rhs.evaluate(namespace), dtype=float))
        namespace[name] = point
        self.difference_evaluations += 2
        return (sides[0] - sides[1]) / (2.0 * step)

    def _difference(self, values: list, value: Any, jac: np.ndarray) -> None:
        """Central differences for the columns that are NaN or not finite where the
        value is finite, written into ``jac`` in place."""
        finite_value = np.isfinite(value)
        bad = ~np.isfinite(jac) & np.expand_dims(finite_value, -1)
        columns = np.flatnonzero(self._always | bad.reshape(-1, len(self.names)).any(axis=0))
        if not columns.size:
            return
        namespace = self._value_namespace
        names = self.names
        shape = np.shape(value)
        point = np.array(values, dtype=float)

        def model(sub: np.ndarray) -> np.ndarray:
            moved = point.copy()
            moved[columns] = sub
            namespace.update(zip(names, moved.tolist(), strict=True))
            try:
                value = self._rhs.evaluate(namespace)
            except (ArithmeticError, ValueError) as exc:  # try the other side
                raise NonFiniteResidualError(f"{self._rhs.source!r}: {exc}") from exc
            return np.broadcast_to(np.asarray(value, dtype=float), shape).ravel()

        base = np.broadcast_to(np.asarray(value, dtype=float), shape).ravel()
        diff, calls = finite_difference_jacobian(
            model, point[columns], base, lower=None, upper=None,
            side=np.full(columns.size, SIDE_CENTRAL))
        self.difference_evaluations += calls
        jac[..., columns] = diff.reshape(*shape, columns.size)
