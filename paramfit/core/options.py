"""The options of one fit, resolved and validated in one place.

A fit's options come from two layers: the keywords given to
:class:`~paramfit.Minimizer` (or :func:`~paramfit.minimize`) and those given to the
method call (``fitter.leastsq(maxfev=5)``).  :meth:`FitOptions.resolve` merges them
once, **the call's keyword winning over the constructor's**, folds the synonyms
together (``maxfev`` is MINPACK's and seed 000's name for ``max_nfev``, lmfit 1.3's;
``Dfun`` is seed 000's name for ``jac``), checks every value and returns a frozen
:class:`FitOptions`.  Every layer after it (the Minimizer, the solver adapters, the
Levenberg-Marquardt iteration) reads that object; none normalises again.

What is checked here is what an option *is*: known names, types, choices.  Numbers of
the right type but out of MINPACK's range (``ftol < 0``, ``factor <= 0``, a negative
``max_nfev``, a non-positive ``diag``) are MINPACK's "improper input": the
Levenberg-Marquardt solver returns :attr:`~paramfit.core.termination.Termination.IMPROPER_INPUT`
(status 0) for them, as MINPACK does, rather than raising.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from paramfit.core.exceptions import OptionError

__all__ = ["OptionError", "FitOptions", "LMOptions", "LEASTSQ_OPTIONS", "SYNONYMS",
           "DEFAULT_FTOL", "DEFAULT_XTOL", "DEFAULT_GTOL", "DEFAULT_FACTOR",
           "FINAL_JACOBIANS", "JACOBIAN_UPDATES", "DEFAULT_JACOBIAN_UPDATE"]

#: Default tolerances of paramfit's Levenberg-Marquardt (much tighter than MINPACK's
#: ``sqrt(eps)``: see :func:`~paramfit.core.solvers.levenberg_marquardt.levenberg_marquardt`).
DEFAULT_FTOL = 1e-15
DEFAULT_XTOL = 1e-12
DEFAULT_GTOL = 1e-12
#: MINPACK's ``factor``: the initial trust radius is ``factor * ||D x0||``.
DEFAULT_FACTOR = 100.0
#: Schemes of the final (covariance) Jacobian; the first is the default.  ``'reuse'``:
#: central differences on the iteration's last forward differences, Richardson where
#: their error could move a standard error by 1e-7 (issue 21); ``'richardson'``: every
#: column extrapolated; ``'central'``: checked central differences.
FINAL_JACOBIANS = ("reuse", "richardson", "central")
#: Jacobian updates between finite-difference Jacobians.
JACOBIAN_UPDATES = ("none", "broyden")
DEFAULT_JACOBIAN_UPDATE = "none"

#: Another name -> the canonical name of the same option.
SYNONYMS = MappingProxyType({"maxfev": "max_nfev", "Dfun": "jac"})
#: Canonical names of the options of ``leastsq`` (their synonyms are accepted too).
LEASTSQ_OPTIONS = frozenset({"max_nfev", "ftol", "xtol", "gtol", "factor", "diag", "epsfcn",
                             "jac", "col_deriv", "final_jacobian", "jacobian_update",
                             "geodesic"})
#: Options of the fit itself whatever the method: ``max_nfev`` reaches every solver;
#: ``jac``/``col_deriv`` (a Jacobian of the Parameters) the covariance of every method.
_FITTER_OPTIONS = ("max_nfev", "jac", "col_deriv")


# ---------------------------------------------------------------------- value checks
def _where(layer: str) -> str:
    return f" (given to {layer})" if layer else ""


def _real(name: str, value: Any, layer: str = "") -> float:
    if type(value) is float:        # the usual case, without the ABC checks
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptionError(f"option {name!r} must be a real number, got {value!r}"
                          f"{_where(layer)}")
    return float(value)


def _count(name: str, value: Any, layer: str = "") -> int:
    """A whole number of evaluations (``1e4`` is accepted: it is whole)."""
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OptionError(f"option {name!r} must be a whole number of function "
                          f"evaluations, got {value!r}{_where(layer)}")
    return int(value)


def _max_nfev(name: str, value: Any, layer: str = "") -> int | None:
    """The fitter's evaluation limit; ``None`` or 0 (scipy.optimize.leastsq's
    convention for ``maxfev``) mean the solver's default."""
    return None if value is None else _count(name, value, layer) or None


def _choice(name: str, value: Any, choices: tuple[str, ...], layer: str = "") -> str:
    if value not in choices:
        raise OptionError(f"option {name!r} must be one of {', '.join(map(repr, choices))}, "
                          f"got {value!r}{_where(layer)}")
    return value


def _diag(value: Any, layer: str = "") -> np.ndarray | None:
    if value is None:
        return None
    try:
        out = np.array(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise OptionError(f"option 'diag' must be positive scale factors, one per varied "
                          f"parameter, got {value!r}{_where(layer)}") from None
    out.flags.writeable = False
    return out


def _callable(name: str, value: Any, layer: str = "") -> Callable[..., Any] | None:
    if value is not None and not callable(value):
        raise OptionError(f"option {name!r} must be a function (the Jacobian), got "
                          f"{type(value).__name__}{_where(layer)}")
    return value


def _flag(name: str, value: Any, layer: str = "") -> bool:
    if value in (0, 1) and isinstance(value, (bool, numbers.Integral, np.bool_)):
        return bool(value)
    raise OptionError(f"option {name!r} must be True or False, got {value!r}{_where(layer)}")


# ---------------------------------------------------------------------- LM options
@dataclass(frozen=True)
class LMOptions:
    """The options of paramfit's Levenberg-Marquardt iteration, validated on creation.

    Attributes
    ----------
    ftol, xtol, gtol : float
        MINPACK's tolerances (see
        :func:`~paramfit.core.solvers.levenberg_marquardt.levenberg_marquardt`).
    max_nfev : int or None
        Most evaluations of the iteration; None: ``1000 * (n + 1)``.
    factor : float
        Initial trust radius factor.
    diag : ndarray or None
        Fixed scaling ``D`` (MINPACK ``mode = 2``), read-only.
    final_jacobian : {'reuse', 'richardson', 'central'}
    jacobian_update : {'none', 'broyden'}
    geodesic : bool
        Geodesic acceleration of the steps the trust region cuts short
        (:mod:`paramfit.core.solvers.geodesic`); False: MINPACK's steps alone.

    Raises
    ------
    OptionError
        A value of the wrong type, or a choice that does not exist.
    """

    ftol: float = DEFAULT_FTOL
    xtol: float = DEFAULT_XTOL
    gtol: float = DEFAULT_GTOL
    max_nfev: int | None = None
    factor: float = DEFAULT_FACTOR
    diag: np.ndarray | None = None
    final_jacobian: str = FINAL_JACOBIANS[0]
    jacobian_update: str = DEFAULT_JACOBIAN_UPDATE
    geodesic: bool = True

    def __post_init__(self) -> None:
        fix = object.__setattr__
        for name in ("ftol", "xtol", "gtol", "factor"):
            fix(self, name, _real(name, getattr(self, name)))
        if self.max_nfev is not None:   # 0 and negatives stay: MINPACK's improper input
            fix(self, "max_nfev", _count("max_nfev", self.max_nfev))
        fix(self, "diag", _diag(self.diag))
        _choice("final_jacobian", self.final_jacobian, FINAL_JACOBIANS)
        if self.jacobian_update is None:
            fix(self, "jacobian_update", DEFAULT_JACOBIAN_UPDATE)
        _choice("jacobian_update", self.jacobian_update, JACOBIAN_UPDATES)
        fix(self, "geodesic", _flag("geodesic", self.geodesic))

    def max_nfev_for(self, n: int) -> int:
        """The evaluation limit of a problem with ``n`` free parameters (MINPACK's
        ``maxfev``; default ``1000 * (n + 1)``)."""
        return 1000 * (n + 1) if self.max_nfev is None else self.max_nfev


# ---------------------------------------------------------------------- fit options
@dataclass(frozen=True)
class FitOptions:
    """Every option of one fit, from the constructor and the method call, resolved once.

    Build it with :meth:`resolve`.

    Attributes
    ----------
    method : str
        Canonical method name (``'leastsq'``, ``'least_squares'``, ``'nelder'``...).
    max_nfev : int or None
        Most function evaluations (``max_nfev`` or ``maxfev``); None: the method's
        default.  For ``leastsq`` it limits the iteration; the final phase's
        evaluations are counted in ``nfev`` but not limited.
    jac : callable or None
        The user's Jacobian of the Parameters, ``jac(params, *args, **kws)``
        (``jac`` or ``Dfun``).
    col_deriv : bool
        ``jac`` returns the transpose.
    epsfcn : float or None
        ``leastsq``: relative finite-difference step ``sqrt(epsfcn)`` for the
        parameters without a step of their own.
    lm : LMOptions or None
        ``leastsq``: the options of the iteration.
    solver_kws : mapping
        Other methods: the keywords passed to scipy unchanged (read-only).
    """

    method: str
    max_nfev: int | None = None
    jac: Callable[..., Any] | None = None
    col_deriv: bool = False
    epsfcn: float | None = None
    lm: LMOptions | None = None
    solver_kws: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def analytic_jac(self) -> bool:
        """Whether the covariance Jacobian is the user's (not finite differences)."""
        return self.jac is not None

    @classmethod
    def resolve(cls, method: str, constructor: Mapping[str, Any],
                call: Mapping[str, Any]) -> FitOptions:
        """Merge the constructor's and the method call's options, the call's winning.

        Parameters
        ----------
        method : str
            Canonical method name; ``'leastsq'`` accepts exactly
            :data:`LEASTSQ_OPTIONS` (and :data:`SYNONYMS`), other methods pass
            every keyword but ``max_nfev``/``maxfev`` on to scipy.
        constructor : mapping
            ``max_nfev``, ``jac``, ``Dfun``, ``col_deriv`` and the extra keywords
            of :class:`~paramfit.Minimizer`; ``None`` means not given.
        call : mapping
            The keywords of the method call; ``None`` means not given.

        Raises
        ------
        OptionError
            An unknown ``leastsq`` option, a value of the wrong type, or one option
            given under both its names with different values.
        """
        leastsq = method == "leastsq"
        owned = LEASTSQ_OPTIONS if leastsq else frozenset({"max_nfev"})
        base = _canonical(constructor, "Minimizer(...)", owned | set(_FITTER_OPTIONS))
        over = _canonical(call, f"{method}(...)", owned)
        if leastsq:
            return cls._leastsq({**base, **over}, over)
        # other methods: a Jacobian of the Parameters is the fitter's (the covariance's);
        # every other keyword, ``jac`` of the call included, is scipy's, passed unchanged
        solver_kws = {k: v for k, v in base.items() if k not in _FITTER_OPTIONS}
        if isinstance(base.get("jac"), str):    # scipy's '2-point', '3-point', 'cs'
            solver_kws["jac"] = base.pop("jac")
        solver_kws.update((k, v) for k, v in over.items() if k != "max_nfev")
        max_nfev = over["max_nfev"] if "max_nfev" in over else base.get("max_nfev")
        return cls(method=method, max_nfev=_max_nfev("max_nfev", max_nfev),
                   jac=_callable("jac", base.get("jac"), "Minimizer(...)"),
                   col_deriv=_flag("col_deriv", base.get("col_deriv", False)),
                   solver_kws=MappingProxyType(solver_kws))

    @classmethod
    def _leastsq(cls, merged: dict[str, Any], call: dict[str, Any]) -> FitOptions:
        unknown = sorted(set(merged) - LEASTSQ_OPTIONS)
        if unknown:
            layer = "leastsq(...)" if set(unknown) & set(call) else "Minimizer(...)"
            accepted = sorted(LEASTSQ_OPTIONS | set(SYNONYMS))
            raise OptionError(f"leastsq got unknown keyword(s) {unknown}{_where(layer)}; it "
                              f"accepts {accepted}")
        max_nfev = _max_nfev("max_nfev", merged.get("max_nfev"))
        epsfcn = merged.get("epsfcn")
        if epsfcn is not None and not _real("epsfcn", epsfcn) >= 0.0:
            raise OptionError(f"option 'epsfcn' must be >= 0 (the relative step is "
                              f"sqrt(epsfcn)), got {epsfcn!r}")
        lm = LMOptions(
            ftol=merged.get("ftol", DEFAULT_FTOL), xtol=merged.get("xtol", DEFAULT_XTOL),
            gtol=merged.get("gtol", DEFAULT_GTOL), max_nfev=max_nfev,
            factor=merged.get("factor", DEFAULT_FACTOR), diag=merged.get("diag"),
            final_jacobian=merged.get("final_jacobian", FINAL_JACOBIANS[0]),
            jacobian_update=merged.get("jacobian_update", DEFAULT_JACOBIAN_UPDATE),
            geodesic=merged.get("geodesic", True),
        )
        return cls(method="leastsq", max_nfev=max_nfev,
                   jac=_callable("jac", merged.get("jac")),
                   col_deriv=_flag("col_deriv", merged.get("col_deriv", False)),
                   epsfcn=None if epsfcn is None else _real("epsfcn", epsfcn), lm=lm)


def _canonical(layer: Mapping[str, Any], where: str, owned: set[str] | frozenset[str]
               ) -> dict[str, Any]:
    """One layer's options, the ``owned`` ones (paramfit's) under their canonical names.

    A synonym (:data:`SYNONYMS`) is folded into its canonical name where that name is
    owned, and an owned option given as ``None`` is not given.  Other keywords are
    scipy's: kept as they are, ``None`` included.  Both names of one option with
    different values is an error.
    """
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, value in layer.items():
        canonical = SYNONYMS.get(name, name)
        if canonical not in owned:
            canonical = name
        elif value is None:
            continue
        if canonical in out and not _same(out[canonical], value):
            raise OptionError(f"{origin[canonical]}={out[canonical]!r} and {name}={value!r} "
                              f"are the same option{_where(where)}: give one of them")
        out[canonical] = value
        origin[canonical] = name
    return out


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b) and not (isinstance(a, float) and math.isnan(a))
    except (TypeError, ValueError):     # arrays: ambiguous truth value
        return False
