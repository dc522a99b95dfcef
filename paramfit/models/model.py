"""``Model``: fit a model *function* of named parameters to data.

A :class:`Model` wraps a function ``f(x, a, b, ...)``: the first positional argument
(or those named in ``independent_vars``) are the independent variables, every other
argument with a numeric (or no) default is a fit parameter.  Models combine with
``+ - * /`` into a :class:`~paramfit.models.composite_model.CompositeModel`.  When every
component has analytic derivatives (the built-in lineshapes, or a ``jac=`` given for a
user function) the fit uses them, so no residual evaluation is spent on finite
differences.  The composite is defined in :mod:`paramfit.models.composite_model`, which
imports this module and registers itself (:func:`register_composite_class`) as the class
the operators build; the derivative rules are in :mod:`paramfit.models.composite`.

The fit itself is a thin layer over :func:`paramfit.minimize`: the residual is
``(model - data) * weights`` (lmfit's convention) and the answer is a
:class:`~paramfit.models.result.ModelResult`.  Composition, not inheritance: a
ModelResult *holds* the :class:`~paramfit.Minimizer` that made it.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from paramfit.core.exceptions import FitError, OptionError, ParameterError, ParamfitWarning
from paramfit.core.parameters.parameters import Parameters
from paramfit.models.common import NAN_POLICIES, _as_data, _current, check_nan_policy
from paramfit.models.composite import Derivatives
from paramfit.models.fit_driver import run_fit
from paramfit.models.io import dumps_model, loads_model, register_model_class
from paramfit.models.lineshapes import Lineshape, lineshape_for
from paramfit.models.lmfit_format import model_from_state, model_state
from paramfit.models.result import ModelResult
from paramfit.models.signature import (
    _FORBIDDEN_NAMES,
    _HINT_KEYS,
    _apply_values,
    _func_name,
    _is_number,
    _overridden,
    _parse_signature,
    _refresh_ties,
)

__all__ = ["Model", "NAN_POLICIES", "register_composite_class"]


class Model:
    """A model function of independent variables and named fit parameters.

    Parameters
    ----------
    func : callable
        ``func(x, p1, p2, ..., **options) -> ndarray``.  Arguments with a numeric
        default or no default are parameters (the default is the initial value);
        arguments with a non-numeric default (``form='linear'``) are options.
    independent_vars : sequence of str, optional
        Names of the independent variables; default the first argument.
    param_names : sequence of str, optional
        Only these arguments are fit parameters (lmfit's option); the others keep the
        function's defaults.
    prefix : str, default ''
        Prepended to every parameter name (``'g1_'`` gives ``g1_amplitude``).
    nan_policy : {'raise', 'omit', 'propagate'}, default 'raise'
        NaN/inf in the data: raise an error naming them, drop those points, or pass them
        on.
    jac : callable, optional
        Analytic derivatives ``jac(x, **params) -> tuple`` (one array per parameter, in
        ``param_names`` order) or ``dict`` keyed by parameter name (with or without
        prefix).  Built-in lineshapes have theirs already.
    name : str, optional
        Name used in reports; default ``Model(<function name>)``.
    **hints
        A keyword naming a parameter gives its hint (a number: the initial value; a dict:
        ``value``/``min``/``max``/``vary``/``expr``); one naming an option sets it.

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit.models.model import Model
    >>> def decay(t, amp=1.0, tau=1.0):
    ...     return amp * np.exp(-t / tau)
    >>> model = Model(decay, tau={'value': 2.0, 'min': 0})
    >>> model.param_names, model.independent_vars
    (['amp', 'tau'], ['t'])
    >>> t = np.linspace(0, 5, 50)
    >>> result = model.fit(3.0 * np.exp(-t / 1.5), t=t)
    >>> round(result.params['tau'].value, 6)
    1.5
    """

    _lineshape: Lineshape | None = None

    def __init__(self, func: Callable, independent_vars: Sequence[str] | None = None,
                 prefix: str = "", nan_policy: str = "raise", *,
                 jac: Callable | None = None, name: str | None = None,
                 param_names: Sequence[str] | None = None, **hints: Any):
        if not callable(func):
            raise ParameterError(f"Model needs a callable, got {type(func).__name__}")
        check_nan_policy(nan_policy, ParameterError)
        self.func = func
        self._prefix = "" if prefix is None else str(prefix)
        self.nan_policy = nan_policy
        self.user_jac = jac
        try:
            self._lineshape = lineshape_for(func)
        except ParameterError:
            self._lineshape = None
        self._setup_names(independent_vars, param_names)
        self._name = name
        self.param_hints: dict[str, dict[str, Any]] = {}
        self.opts: dict[str, Any] = {}
        for key, value in hints.items():
            if key in self._options or key in self.independent_vars or \
                    (self._has_kwargs and key not in self._roots):
                self.opts[key] = value  # an option, or an independent variable's default
            elif isinstance(value, Mapping):
                self.set_param_hint(key, **value)
            else:
                self.set_param_hint(key, value=value)

    # ------------------------------------------------------------------ names
    def _setup_names(self, independent_vars: Sequence[str] | None,
                     param_names: Sequence[str] | None = None) -> None:
        record = self._lineshape
        if record is not None:
            candidates = ["x", *record.param_names]
            self._defaults = dict(zip(record.param_names, record.defaults))
            signature = inspect.signature(record.function).parameters
            self._defaults.update({o: signature[o].default for o in record.options})
            self._options = list(record.options)
            self._has_kwargs = False
            # an argument defaulting to None (voigt's gamma: gamma = sigma) is, by lmfit's
            # rule, an independent variable keeping that default
            unset = [n for n, d in zip(record.param_names, record.defaults) if d is None]
        else:
            candidates, self._defaults, self._options, self._has_kwargs = \
                _parse_signature(self.func)
            unset = []
        known = set(candidates) | set(self._options)
        if independent_vars is None:
            if not candidates:
                raise ParameterError(
                    f"model function {_func_name(self.func)!r} has no argument to use as "
                    "the independent variable")
            # lmfit's rule: the first argument, and those with a non-numeric default
            # (``form='linear'``), which keep that default unless given
            independent = [candidates[0], *self._options, *unset]
        else:
            independent = [independent_vars] if isinstance(independent_vars, str) \
                else list(independent_vars)
            unknown = [v for v in independent if v not in known]
            if unknown and not self._has_kwargs:
                raise ParameterError(
                    f"independent variable(s) {unknown} are not arguments of "
                    f"{_func_name(self.func)}{inspect.signature(self.func)}")
        self.independent_vars: list[str] = independent
        self._options += [n for n in unset if n in independent]
        self._roots = [c for c in candidates if c not in independent]
        if param_names is not None:  # lmfit: only these are parameters (the rest keep
            chosen = list(param_names)  # the function's defaults)
            unknown = [n for n in chosen if n not in self._roots]
            if unknown:
                raise ParameterError(
                    f"param_names {unknown} are not parameter arguments of "
                    f"{_func_name(self.func)}; its parameters are {self._roots}")
            self._roots = chosen
        for kind, names in (("independent variable", independent), ("parameter", self._roots)):
            bad = [n for n in names if n in _FORBIDDEN_NAMES]
            if bad:
                raise ParameterError(
                    f"Invalid {kind} name ({bad[0]!r}) for function {_func_name(self.func)}: "
                    f"{list(_FORBIDDEN_NAMES)} are the names of Model.fit's own arguments; "
                    "rename that argument")
        if not self._roots:
            raise ParameterError(f"model function {_func_name(self.func)!r} has no parameters")

    @property
    def name(self) -> str:
        """Name of the model as shown in reports: ``Model(<name>, prefix=..., opt=...)``
        (lmfit's), ``<name>`` the ``name`` given or the function's name."""
        return self._reprstring(long=True)

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def _reprstring(self, long: bool = True) -> str:
        """``Model(name, prefix='p_', opt='value', ...)``; options only when ``long``."""
        parts = [self._name or _func_name(self.func)]
        if self.prefix:
            parts.append(f"prefix='{self.prefix}'")
        if long:
            parts.extend(f"{k}='{v}'" for k, v in self.opts.items())
        return f"Model({', '.join(parts)})"

    @property
    def prefix(self) -> str:
        """Prepended to every parameter name; setting it rewrites the built-in models'
        derived-parameter expressions with the new prefix (as lmfit)."""
        return self._prefix

    @prefix.setter
    def prefix(self, value: str) -> None:
        self._prefix = str(value)
        rewrite = getattr(self, "_set_hints", None)
        if rewrite is not None and "param_hints" in self.__dict__:
            rewrite()

    @property
    def _param_names(self) -> list[str]:
        """Parameter names with prefix (lmfit's attribute)."""
        return self.param_names

    @property
    def def_vals(self) -> dict[str, float]:
        """Numeric defaults of the function's parameters (lmfit's attribute)."""
        return {k: v for k, v in self._defaults.items() if k in self._roots and _is_number(v)}

    @property
    def _param_root_names(self) -> list[str]:
        """Parameter names without prefix (lmfit's attribute)."""
        return list(self._roots)

    @property
    def independent_vars_defvals(self) -> dict[str, Any]:
        """Independent variables that have a default (``form='linear'``), with the value
        used when they are not given (lmfit's attribute)."""
        return {v: self.opts.get(v, self._defaults.get(v)) for v in self.independent_vars
                if v in self._options or v in self.opts}

    def _component_key(self) -> str:
        """Key of this component in ``eval_components`` and ``dely_comps``: the prefix, or
        the name (given or the function's), as lmfit."""
        return self.prefix or self._name or _func_name(self.func)

    def copy(self, **kws: Any) -> Model:
        """Not supported, as in lmfit: make a new Model instead."""
        raise NotImplementedError("Model.copy does not work. Make a new Model")

    def post_fit(self, result: ModelResult) -> None:
        """Called with the :class:`ModelResult` just after each fit; does nothing.

        Override it (or assign a function ``model.post_fit = f``) to add derived
        parameters to ``result.params``: an added tie expression gets its value and a
        standard error propagated from the fit's covariance.
        """

    def _make_all_args(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``{prefix + argument: value}`` of the function's parameters and options
        (lmfit's ``best_values``/``init_values``)."""
        out = {self.prefix + k: v for k, v in self.opts.items()}
        for root in self._roots:
            par = params.get(self.prefix + root)
            if par is not None:
                out[self.prefix + root] = par.value
        return out

    @property
    def param_names(self) -> list[str]:
        """Parameter names (with prefix), in function-signature order."""
        return [self.prefix + root for root in self._roots]

    @property
    def components(self) -> list[Model]:
        """The simple models this model is made of (``[self]`` for a simple one)."""
        return [self]

    @property
    def has_jacobian(self) -> bool:
        """Whether analytic derivatives are available for every parameter (not for a
        lineshape one of whose parameters is an independent variable left at None: the
        lineshape ties it to another, which its derivatives do not carry)."""
        record = self._lineshape
        if record is not None:
            return not any(n in self._options for n in record.param_names)
        return self.user_jac is not None

    def __repr__(self) -> str:
        return f"<paramfit.Model: {self.name}>"

    # ------------------------------------------------------------------ hints
    def set_param_hint(self, name: str, **hints: Any) -> None:
        """Set the initial value, bounds, vary flag or expression used by :meth:`make_params`.

        ``name`` may carry the prefix or not; a name that is not a function parameter
        creates a derived parameter (give it ``expr``).

        Examples
        --------
        >>> from paramfit.models.lineshapes import gaussian
        >>> m = Model(gaussian, prefix='g_')
        >>> m.set_param_hint('g_sigma', min=0)
        >>> m.set_param_hint('fwhm', expr='2.3548200*g_sigma')
        >>> m.make_params()['g_fwhm'].value
        2.35482
        """
        if self.prefix and name.startswith(self.prefix):
            name = name[len(self.prefix):]
        bad = [k for k in hints if k not in _HINT_KEYS]
        if bad:
            raise ParameterError(f"unknown parameter hint(s) {bad} for {name!r}; "
                                 f"hints are {list(_HINT_KEYS)}")
        self.param_hints.setdefault(name, {}).update(hints)

    def _symbols(self) -> dict[str, object]:
        """Functions the derived-parameter expressions need (added to Parameters.symbols)."""
        return {}

    def _add_params(self, params: Parameters) -> None:
        # a tied parameter reports vary=False, as in lmfit (its tie decides its value)
        for root in self._roots:
            hint = self.param_hints.get(root, {})
            default = self._defaults.get(root)
            value = hint.get("value", default if _is_number(default) else None)
            params.add(self.prefix + root, value=value,
                       vary=hint.get("vary", not hint.get("expr")),
                       min=hint.get("min"), max=hint.get("max"), expr=hint.get("expr"))
        for root, hint in self.param_hints.items():
            if root not in self._roots:
                params.add(self.prefix + root, value=hint.get("value"),
                           vary=hint.get("vary", not hint.get("expr")), min=hint.get("min"),
                           max=hint.get("max"), expr=hint.get("expr"))
        params.symbols.update(self._symbols())

    def make_params(self, **values: Any) -> Parameters:
        """Build the :class:`~paramfit.Parameters` of the model, hints applied.

        Parameters
        ----------
        **values
            ``name=number`` sets the initial value; ``name=dict(value=, min=, max=,
            vary=, expr=)`` sets those attributes.  Names with or without prefix.

        Examples
        --------
        >>> from paramfit.models.lineshapes import gaussian
        >>> p = Model(gaussian, prefix='p1_').make_params(amplitude=5, p1_sigma={'min': 0})
        >>> p['p1_amplitude'].value, p['p1_sigma'].min
        (5.0, 0.0)
        """
        params = Parameters()
        for component in self.components:
            component._add_params(params)
        if self.components != [self]:  # a composite's own hints: new derived parameters
            for root, hint in self.param_hints.items():
                if root not in params:
                    params.add(root, value=hint.get("value"),
                               vary=hint.get("vary", not hint.get("expr")),
                               min=hint.get("min"), max=hint.get("max"),
                               expr=hint.get("expr"))
        _apply_values(params, values, self.components)
        _refresh_ties(params)
        return params

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """Estimate initial values from data; implemented by the built-in models."""
        raise NotImplementedError(
            f"{self.name} has no guess(); set initial values with make_params(...)")

    # ------------------------------------------------------------------ evaluation
    def _call_opts(self, indep: Mapping[str, Any]) -> dict[str, Any]:
        """The options of a call: the model's, less those given as independent variables."""
        if not self.opts or not indep:
            return self.opts
        return {k: v for k, v in self.opts.items() if k not in indep}

    def _evaluate(self, values: Mapping[str, Any], indep: Mapping[str, Any]) -> Any:
        prefix = self.prefix
        kws = {root: values[prefix + root] for root in self._roots}
        return self.func(**indep, **kws, **self._call_opts(indep))

    def _value_and_jacobian(self, values: Mapping[str, Any],
                            indep: Mapping[str, Any]) -> tuple[Any, Derivatives | None]:
        prefix = self.prefix
        kws = {root: values[prefix + root] for root in self._roots}
        record = self._lineshape
        opts = self._call_opts(indep)
        if record is not None:
            x = indep[self.independent_vars[0]]
            args = [kws[n] if n in kws else indep[n] if n in indep else
                    opts.get(n, self._defaults[n])
                    for n in record.param_names]  # gaussian2d's y is an argument too
            opts = {**{k: v for k, v in opts.items() if k not in record.param_names},
                    **{k: indep[k] for k in record.options if k in indep}}
            if record.value_and_jacobian is not None and not opts:
                value, derivs = record.value_and_jacobian(x, *args)
            else:
                value = record.function(x, *args, **opts)
                derivs = record.jacobian(x, *args, **opts)
            return value, {prefix + n: d for n, d in zip(record.param_names, derivs)
                           if n in kws}
        value = self.func(**indep, **kws, **opts)
        if self.user_jac is None:
            return value, None
        derivs = self.user_jac(**indep, **kws, **opts)
        shape = np.shape(value)
        if isinstance(derivs, Mapping):
            out = {}
            for root in self._roots:
                d = derivs.get(root, derivs.get(prefix + root))
                if d is None:
                    raise FitError(f"the Jacobian of {self.name} gave no derivative for "
                                   f"parameter {root!r}")
                out[prefix + root] = np.broadcast_to(d, shape)
            return value, out
        derivs = tuple(derivs)
        if len(derivs) != len(self._roots):
            raise FitError(
                f"the Jacobian of {self.name} returned {len(derivs)} arrays; expected one "
                f"per parameter {self._roots}")
        return value, {prefix + r: np.broadcast_to(d, shape)
                       for r, d in zip(self._roots, derivs)}

    def value_and_jacobian(self, values: Mapping[str, Any],
                           **independent: Any) -> tuple[np.ndarray, Derivatives | None]:
        """Model value and analytic derivatives per parameter name.

        Parameters
        ----------
        values : mapping
            ``{param_name: value}`` for every name in :attr:`param_names`; scalars, or
            arrays of shape (B, 1) to evaluate a batch of B parameter sets at once.
        **independent
            The independent variables, e.g. ``x`` of shape (N,).

        Returns
        -------
        value : ndarray, shape (N,) or (B, N)
        derivatives : dict of str to ndarray, or None
            ``{param_name: d value / d param}``, each of the shape of ``value``; None
            when the model has no analytic Jacobian.

        Examples
        --------
        >>> import numpy as np
        >>> from paramfit.models.lineshapes import gaussian
        >>> m = Model(gaussian)
        >>> v, d = m.value_and_jacobian({'amplitude': np.array([[1.0], [2.0]]),
        ...                              'center': 0.0, 'sigma': 1.0}, x=np.zeros(3))
        >>> v.shape, sorted(d)
        ((2, 3), ['amplitude', 'center', 'sigma'])
        """
        indep = self._independent(independent)
        value, derivs = self._value_and_jacobian(values, indep)
        value = np.asarray(value, dtype=float)
        if derivs is None:
            return value, None
        return value, {k: np.broadcast_to(d, value.shape) for k, d in derivs.items()}

    def _independent(self, kws: Mapping[str, Any], coerce: bool = True) -> dict[str, Any]:
        """The independent variables of ``kws`` (lists, tuples, Series made arrays unless
        ``coerce`` is false: ``fit(coerce_farray=False)`` passes them as given)."""
        indep = {}
        for name in self.independent_vars:
            if name not in kws:
                if name in self._options or name in self.opts:  # has a default (lmfit's
                    continue                                    # independent_vars_defvals)
                raise OptionError(f"missing independent variable {name!r} for {self.name}: "
                               f"pass {name}=... (independent variables: "
                               f"{self.independent_vars})")
            indep[name] = _as_data(kws[name]) if coerce else kws[name]
        return indep

    def _split_kws(self, kws: Mapping[str, Any], params: Parameters, coerce: bool = True
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split keyword arguments into independent variables and parameter values."""
        indep, values = {}, {}
        for key, value in kws.items():
            if key in self.independent_vars:
                indep[key] = value
            elif key in params:
                values[key] = value
            elif self.prefix + key in params:
                values[self.prefix + key] = value
            elif any(c._has_kwargs for c in self.components):
                warnings.warn(f"the keyword argument {key!r} matches no argument of the "
                              f"model function(s) of {self.name}: it is ignored",
                              ParamfitWarning, stacklevel=3)
            else:
                raise OptionError(
                    f"unknown keyword {key!r}: it is neither an independent variable "
                    f"{self.independent_vars} nor a parameter {list(params)} of {self.name}")
        return self._independent(indep, coerce), values

    def _values(self, params: Parameters) -> dict[str, float]:
        missing = [n for n in self.param_names if n not in params]
        if missing:
            raise ParameterError(
                f"params lack {missing} needed by {self.name}; build them with "
                "model.make_params()")
        return {n: params[n]._value for n in self.param_names}

    def eval(self, params: Parameters | None = None, **kws: Any) -> np.ndarray:
        """Evaluate the model with ``params`` (default :meth:`make_params`).

        Keywords give the independent variables and override parameter values.

        Examples
        --------
        >>> from paramfit.models.lineshapes import linear
        >>> Model(linear).eval(x=[0.0, 1.0], slope=2.0, intercept=1.0).tolist()
        [1.0, 3.0]
        """
        params = _current(self.make_params() if params is None else params)
        indep, override = self._split_kws(kws, params)
        params = _overridden(params, override)
        values = {**self._values(params), **override}
        return _as_result(self._evaluate(values, indep))

    def eval_components(self, params: Parameters | None = None,
                        **kws: Any) -> dict[str, np.ndarray]:
        """``{prefix or function name: array}`` for every component."""
        params = _current(self.make_params() if params is None else params)
        indep, override = self._split_kws(kws, params)
        params = _overridden(params, override)
        values = {**{n: p._value for n, p in params.items()}, **override}
        out = {}
        for comp in self.components:
            key = comp._component_key()
            sub = {k: v for k, v in indep.items() if k in comp.independent_vars}
            out[key] = _as_result(comp._evaluate(values, sub))
        return out

    # ------------------------------------------------------------------ fitting
    def fit(self, data: Any, params: Parameters | None = None, weights: Any = None,
            method: str = "leastsq", *, nan_policy: str | None = None,
            fit_kws: Mapping[str, Any] | None = None, iter_cb: Callable | None = None,
            scale_covar: bool = True, calc_covar: bool = True, max_nfev: int | None = None,
            coerce_farray: bool = True, verbose: bool = False,
            **kws: Any) -> ModelResult:
        """Fit the model to ``data``.

        Parameters
        ----------
        data : array_like
            Values to fit (array, list or pandas Series).
        params : Parameters, optional
            Start values, bounds and ties (copied, never modified); default
            :meth:`make_params`.
        weights : array_like, optional
            Multiplies ``model - data`` (e.g. ``1/sigma``).
        method : str, default 'leastsq'
            Any method of :func:`paramfit.minimize`.
        nan_policy : {'raise', 'omit', 'propagate'}, optional
            Overrides the model's.
        fit_kws : dict, optional
            Passed to the fitting method (``xtol``, ``ftol``...).
        iter_cb, scale_covar, calc_covar, max_nfev
            As for :func:`paramfit.minimize` (``calc_covar=False``: no covariance, no
            error bars; ``max_nfev``: the evaluation limit, reported as
            ``result.max_nfev``; a fit stopped by it or by ``iter_cb`` has
            ``result.aborted``).
        coerce_farray : bool, default True
            Make the data and the independent variables given as lists, tuples, Series
            or arrays float64 (complex128 if complex) arrays, as lmfit; False passes the
            independent variables to the model function as given (``result.userkws``
            and ``result.userargs`` hold them so; the fit itself computes in float64).
        verbose : bool
            Accepted for lmfit's signature: nothing is printed while fitting.
        **kws
            Independent variables (``x=...``) and parameter start values.

        Returns
        -------
        ModelResult

        Raises
        ------
        FitError
            Missing or unknown independent variable, data and model of different
            lengths, NaN in the data with ``nan_policy='raise'``.
        """
        return run_fit(self, data, params, weights, method, nan_policy=nan_policy,
                       fit_kws=fit_kws, iter_cb=iter_cb, scale_covar=scale_covar,
                       max_nfev=max_nfev, calc_covar=calc_covar,
                       coerce_farray=coerce_farray, kws=kws)

    # ------------------------------------------------------------------ composition
    #: The class ``+ - * /`` build, set by :func:`register_composite_class` (the
    #: composite is defined in :mod:`paramfit.models.composite_model`, which imports this
    #: module; ``paramfit.models`` imports both).
    _composite_class: type[Model] | None = None

    def _compose(self, other: Any, op: str, reverse: bool = False) -> Model:
        if not isinstance(other, Model):
            return NotImplemented
        composite = Model._composite_class
        if composite is None:
            raise ParameterError("no composite model class is registered: import "
                                 "paramfit.models (it registers CompositeModel)")
        return composite(other, self, op) if reverse else composite(self, other, op)

    def __add__(self, other: Model) -> Model:
        return self._compose(other, "+")

    def __sub__(self, other: Model) -> Model:
        return self._compose(other, "-")

    def __mul__(self, other: Model) -> Model:
        return self._compose(other, "*")

    def __truediv__(self, other: Model) -> Model:
        return self._compose(other, "/")

    # ------------------------------------------------------------------ saving
    def dumps(self, **json_kws: Any) -> str:
        """The model as JSON (see :mod:`paramfit.models.io`); no code is pickled."""
        return dumps_model(self, **json_kws)

    @staticmethod
    def loads(s: str, *, funcdefs: Mapping[str, Callable] | None = None) -> Model:
        """Rebuild a model from :meth:`dumps`; ``funcdefs`` maps names to functions."""
        return loads_model(s, funcdefs=funcdefs)

    def _get_state(self) -> tuple[Any, Any, Any]:
        """lmfit 1.3's model state (:func:`paramfit.models.lmfit_format.model_state`)."""
        return model_state(self)

    def _set_state(self, state: Any, funcdefs: Mapping[str, Callable] | None = None
                   ) -> Model:
        """The model an lmfit state describes (a new one, as lmfit's ``_set_state``)."""
        return model_from_state(state, funcdefs)


# ---------------------------------------------------------------------- helpers
def _as_result(value: Any) -> np.ndarray:
    """A model's value as an array (a list a function returns becomes one)."""
    return np.asarray(value)


def register_composite_class(cls: type[Model]) -> None:
    """Make ``cls(left, right, op)`` the class that ``Model``'s ``+ - * /`` build."""
    Model._composite_class = cls


register_model_class("function", Model)
