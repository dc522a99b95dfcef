"""The MPFITFUN and MPFITEXPR drivers: :func:`mpfitfun` and :func:`mpfitexpr`.

Both turn data ``(x, y, err)`` and a model (a function ``model(x, p)`` or an expression
string in ``p[i]`` and ``x``) into the deviates ``(y - model) / err`` and fit them with
:func:`paramfit.frontends.mpfit_core.mpfit`; :mod:`paramfit.frontends.mpfit` re-exports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from paramfit.core.exceptions import ExpressionError
from paramfit.frontends.formula import build_formula
from paramfit.frontends.formula_errors import UnknownNameError
from paramfit.frontends.mpfit_core import MPFitResult, _improper_input, _start_vector, mpfit
from paramfit.frontends.parinfo import (
    MODULE_PREFIXES,
    ImproperInput,
    map_module_prefixes,
)

__all__ = ["MPFitExprError", "mpfitexpr", "mpfitfun"]


def _data_arrays(y: Any, err: Any) -> tuple[np.ndarray, np.ndarray | float]:
    y = np.asarray(y, dtype=float)
    if err is None:
        return y, 1.0
    err = np.asarray(err, dtype=float)
    if not np.all(np.isfinite(err)) or np.any(err <= 0):
        raise ImproperInput("err must be positive and finite everywhere")
    np.broadcast_shapes(err.shape, y.shape)
    return y, err


def _driver(name: str, model: Callable, x: Any, y: Any, err: Any, p0: Any, parinfo: Any,
            kw: dict[str, Any], jacobian: Callable | None = None) -> MPFitResult:
    if not kw.pop("autoderivative", 1):
        how = "exactly from the expression" if jacobian is not None else "numerically"
        return _improper_input("ERROR: improper input", f"{name} computes derivatives "
                               f"{how}; use mpfit with autoderivative=0 for your own",
                               _start_vector(p0, parinfo), parinfo)
    extra = dict(kw.pop("functkw", None) or {})
    try:
        y, err = _data_arrays(y, err)
    except (ImproperInput, ValueError) as exc:
        return _improper_input("ERROR: improper input", str(exc),
                               _start_vector(p0, parinfo), parinfo)

    def deviates(p: np.ndarray, fjac: Any = None) -> list:
        out = (y - model(x, p, **extra)) / err
        if fjac is None or jacobian is None:
            return [0, out]
        _, jac = jacobian(x, p)  # d model / d p, the parameters last
        # MPFIT's convention: pderiv is d model / d p (over err); mpfit negates it
        return [0, out, np.broadcast_to(jac, (*np.shape(out), len(p)))
                / np.expand_dims(err, -1)]

    return mpfit(deviates, p0, parinfo=parinfo,
                 autoderivative=0 if jacobian is not None else 1, **kw)


def mpfitfun(model: Callable[..., Any], x: Any, y: Any, err: Any,
             p0: Sequence[float] | None = None, parinfo: Sequence[Mapping] | None = None,
             **kw: Any) -> MPFitResult:
    """Fit ``model(x, p)`` to data ``y`` with 1-sigma errors ``err`` (MPFITFUN).

    Parameters
    ----------
    model : callable
        ``model(x, p, **functkw) -> array`` shaped like ``y``.
    x, y : array_like
        Independent variable (passed through untouched) and data.
    err : array_like or float or None
        1-sigma errors of ``y`` (positive); None means 1 (unweighted: then scale
        ``perror`` by ``sqrt(fnorm / dof)``).
    p0, parinfo
        As ``xall`` and ``parinfo`` of :func:`mpfit`.
    **kw
        Keywords of :func:`mpfit`; ``functkw`` goes to ``model``.

    Returns
    -------
    MPFitResult

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> m = mpfitfun(lambda x, p: p[0] * np.exp(-x / p[1]), x, 3 * np.exp(-x / 2), 0.1,
    ...              [1.0, 1.0], quiet=1)
    >>> np.round(m.params, 6).tolist()
    [3.0, 2.0]
    """
    return _driver("mpfitfun", model, x, y, err, p0, parinfo, dict(kw))


class MPFitExprError(ExpressionError):
    """``mpfitexpr`` cannot use the expression or an ``imports`` entry (the classic
    raises a plain ``Exception`` for its checks; this is one too)."""


_IMPORTABLE = frozenset({*MODULE_PREFIXES} - {"np"})
# ``p[i]`` references, for ``check`` (the classic counts the bracket form only)
_BRACKET_REFERENCE = re.compile(r"(?<![\w.])p\s*\[\s*(\d+)\s*\]")


def _expression_model(expr: str, nparams: int,
                      extra: Mapping[str, Any]) -> tuple[Callable, Callable | None]:
    """``model(x, p)`` of ``expr`` (in ``x``, ``p[i]``, ``functkw`` names), built by
    :func:`paramfit.frontends.formula.build_formula`, and ``jacobian(x, p) -> (value,
    d model / d p)`` from the expression's exact derivatives (None where their code is
    too large to build: finite differences)."""
    if not isinstance(expr, str):
        raise MPFitExprError(f"mpfitexpr: func must be a string, got {type(expr).__name__}")
    try:
        text = map_module_prefixes(expr, "mpfitexpr")
        formula = build_formula(text, parameters=[f"p{i}" for i in range(nparams)],
                                data=("x",), symbols=extra, lhs="none",
                                vector_references=True, owner="mpfitexpr")
    except UnknownNameError as exc:
        raise MPFitExprError(f"mpfitexpr: expression {expr!r} uses unknown name(s) "
                             f"{sorted(exc.names)}; it may use x, p[0] ... p[{nparams - 1}], "
                             "functkw names and math functions (numpy./np./scipy./math. "
                             "prefixes allowed)") from None
    except ImproperInput as exc:
        raise MPFitExprError(str(exc)) from None
    model = formula.vector_function(argument="x", checked=False)
    try:
        exact = formula.jacobian_function()
    except ExpressionError:
        return model, None

    def jacobian(x: Any, p: Any) -> tuple[Any, np.ndarray]:
        exact.bind({"x": x})
        return exact(p)

    # errors in the expression propagate unchanged, as from a user's model function
    return model, jacobian


def _check_imports(imports: Any) -> None:
    for name in imports or ():
        if name not in _IMPORTABLE:
            raise MPFitExprError(
                f"mpfitexpr: imports={list(imports)!r}: {name!r} is not available; "
                "expressions are evaluated by paramfit's safe engine, which knows "
                f"{', '.join(sorted(_IMPORTABLE))} (their prefixes are always accepted)")


def mpfitexpr(func: str, x: Any, y: Any, err: Any, start_params: Sequence[float] | None = None,
              check: bool = True, full_output: bool = False,
              imports: Sequence[str] | None = None,
              **kw: Any) -> tuple[np.ndarray | MPFitResult | None, Any]:
    """Fit a model given as an expression in ``x`` and ``p[i]`` (the classic MPFITEXPR).

    The classic signature and return values.  The expression is built by
    :func:`paramfit.frontends.formula.build_formula` with paramfit's safe expression
    compiler (arithmetic and whitelisted functions only, never Python ``eval`` of
    the text): ``p[i]``/``p(i)`` (0-based) name the parameters, and the
    ``numpy.``, ``np.``, ``scipy.``, ``scipy.special.`` and ``math.`` prefixes of
    whitelisted functions are dropped (``numpy.exp`` is ``exp``); any other
    attribute is an error.  Names in ``functkw`` are available as constants.
    The fit uses the expression's exact derivatives
    (:meth:`paramfit.frontends.formula_compiled.CompiledFormula.jacobian_function`; central
    differences only for a parameter whose partial has no exact form), so ``nfev``
    counts no finite-difference evaluations.

    Parameters
    ----------
    func : str
        E.g. ``'p[0] + p[1] * numpy.exp(-x / p[2])'``.
    x, y, err
        Independent variable, data, 1-sigma errors (None: 1).
    start_params : sequence of float, optional
        Start values (may be None when ``parinfo=`` holds ``value`` keys).
    check : bool, default True
        Require ``p[i]`` references and ``max(i) + 1 == len(start_params)``.
    full_output : bool, default False
        Return the :class:`MPFitResult` instead of the best-fit parameters.
    imports : list of str, optional
        Modules the classic imports for the expression; accepted only for modules
        whose functions the safe engine has (``numpy``, ``scipy``,
        ``scipy.special``, ``math``).
    **kw
        Keywords of :func:`mpfit` (``parinfo``, ``quiet``...); ``functkw`` names
        become constants of the expression.

    Returns
    -------
    (params, yfit) or (MPFitResult, yfit)
        ``yfit`` is the expression at ``x`` and the best fit (None when the fit
        gave no parameters).

    Raises
    ------
    MPFitExprError
        The expression fails ``check``, cannot be compiled safely, uses an unknown
        name, or ``imports`` names a module the engine does not know.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 20)
    >>> params, yfit = mpfitexpr('p[0] + p[1] * numpy.exp(x)', x, 1 + 4 * np.exp(x), None,
    ...                          [0.0, 0.0], quiet=1)
    >>> np.round(params, 8).tolist()
    [1.0, 4.0]
    """
    _check_imports(imports)
    kw = dict(kw)
    extra = dict(kw.pop("functkw", None) or {})
    parinfo = kw.pop("parinfo", None)
    nparams = len(start_params) if start_params is not None else len(parinfo or [])
    if check and isinstance(func, str):
        found = [int(m.group(1)) for m in _BRACKET_REFERENCE.finditer(func)]
        if not found:
            raise MPFitExprError(f"mpfitexpr: wrong function format: {func!r} has no p[i]")
        if max(found) + 1 != nparams:
            raise MPFitExprError("mpfitexpr: the length of the start_params "
                                 f"({nparams}) != the length of the parameter vector of "
                                 f"the function ({max(found) + 1})")
    model, jacobian = _expression_model(func, nparams, extra)
    result = _driver("mpfitexpr", model, x, y, err, start_params, parinfo, kw, jacobian)
    yfit = None if result.params is None else model(x, result.params)
    return (result if full_output else result.params), yfit
