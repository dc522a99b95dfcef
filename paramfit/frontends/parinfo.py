"""MPFIT's inputs (seed 002): ``parinfo`` -> :class:`Parameters`, user function -> callbacks.

``parinfo`` is a list with one dictionary per parameter; keys are case
insensitive and unknown keys are ignored (MPFIT reserves the ``mp`` prefix for
its own future keys).  Everything here runs before the user's function is
called: an inconsistent entry raises :class:`ImproperInput`, which
:func:`paramfit.frontends.mpfit.mpfit` turns into ``status = 0`` with the message in
``errmsg``, as MPFIT does for improper input.

The translation, key by key:

============  ==============================================================
parinfo key   Parameter
============  ==============================================================
value         ``value`` (``p0`` wins when both are given)
fixed         ``vary=False`` (limits of a fixed parameter are not used)
limited,      ``min`` / ``max`` on the flagged sides; as in the classic module,
limits        ``limited`` without ``limits`` means limits ``[0, 0]`` and ``limits``
              without ``limited`` is ignored
step          ``step`` (0: automatic)
relstep       ``relative_step`` (0: automatic); supersedes ``step``
mpside        ``side``: 0 ``'auto'``, 1 ``'forward'``, -1 ``'backward'``,
              2 ``'central'``
mpmaxstep     ``max_step`` (0: no maximum)
tied          ``expr``, with ``p[i]`` / ``p(i)`` (0-based) replaced by names and
              ``numpy.``/``np.``/``scipy.``/``math.`` prefixes of whitelisted
              functions dropped (:func:`map_module_prefixes`)
parname       the Parameter name when it is a usable identifier, else ``p<i>``
mpprint       only read by the default iteration function
============  ==============================================================

:class:`UserFunction` turns the seed's ``fcn(p, fjac=None, **functkw) ->
[status, deviates(, pderiv)]`` into the residual and Jacobian callbacks of
:class:`paramfit.Minimizer`; a negative status becomes
:class:`~paramfit.StopFit`, and a malformed return value :class:`ImproperReturn`.
Analytic derivatives follow the classic convention (seed 002, MPFIT's ``fdjac2``
negates them): ``pderiv`` is the derivative of the *model* (divided by ``err`` for
deviates ``(y - model) / err``), i.e. ``-d(deviates)/dp``.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paramfit.core.exceptions import StopFit
from paramfit.core.expressions.compiler import DEFAULT_SYMBOLS
from paramfit.core.parameters.parameters import Parameters

__all__ = ["ImproperInput", "ImproperReturn", "NonFiniteStart", "ParameterSpec",
           "UserFunction", "parse_parinfo", "build_parameters", "translate_references",
           "normalise_entry", "map_module_prefixes", "MODULE_PREFIXES"]

SIDES = {0: "auto", 1: "forward", -1: "backward", 2: "central"}
_REFERENCE = re.compile(r"(?<![\w.])p\s*[\[(]\s*([+-]?\d+)\s*[\])]")
_GENERIC_NAME = re.compile(r"p\d+\Z")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = frozenset({"p", "x"})


# numpy/scipy/math names that mean the same elementwise function of the safe engine
# (paramfit.core.expressions.symbols); reductions such as numpy.max are not listed.
_ELEMENTWISE = frozenset("""abs arccos arccosh arcsin arcsinh arctan arctan2 arctanh
    ceil copysign cos cosh degrees exp fabs floor fmod hypot isinf isnan ldexp log log10
    log1p power radians sign sin sinh sqrt tan tanh trunc pi e inf nan""".split())
_MODULE_NAMES: dict[str, dict[str, str]] = {
    "numpy": {**{n: n for n in _ELEMENTWISE}, "absolute": "abs"},
    "np": {**{n: n for n in _ELEMENTWISE}, "absolute": "abs"},
    "scipy": {n: n for n in _ELEMENTWISE},
    "scipy.special": {"erf": "erf", "erfc": "erfc", "gamma": "gamma"},
    "math": {n: n for n in ("acos acosh asin asinh atan atan2 atanh ceil copysign cos "
                            "cosh degrees e erf erfc exp fabs factorial floor fmod gamma "
                            "hypot inf isinf isnan ldexp log log10 log1p nan pi pow "
                            "radians sin sinh sqrt tan tanh trunc").split()},
}
MODULE_PREFIXES: tuple[str, ...] = tuple(_MODULE_NAMES)
"""Module prefixes :func:`map_module_prefixes` understands (``numpy.exp`` -> ``exp``)."""
_PREFIXED = re.compile(r"(?<![\w.])(scipy\s*\.\s*special|numpy|np|scipy|math)\s*\.\s*"
                       r"([A-Za-z_]\w*)")


class ImproperInput(ValueError):  # noqa: N818  (MPFIT's wording: "improper input")
    """Inconsistent arguments or ``parinfo``: becomes MPFIT ``status = 0``.

    ``classic`` is the classic module's ``errmsg`` for the same condition; the
    front end reports ``classic + ': ' + detail``.
    """

    def __init__(self, message: str, classic: str = "ERROR: improper input"):
        super().__init__(message)
        self.classic = classic


PARINFO_TYPE = "ERROR: PARINFO must be a list of dictionaries."
NOT_WITHIN_LIMITS = "ERROR: parameters are not within PARINFO limits"
BAD_PARINFO = "ERROR: improper PARINFO"


def map_module_prefixes(text: str, owner: str = "expression") -> str:
    """Drop ``numpy.``, ``np.``, ``scipy.``, ``scipy.special.`` and ``math.`` before the
    names of whitelisted functions and constants of the safe expression engine.

    Code written for the classic module evaluates such text with Python's ``eval``;
    here only names whose meaning is the engine's elementwise function are mapped.
    Any other ``module.name`` raises: there is no general attribute access.

    Raises
    ------
    ImproperInput
        ``module.name`` where ``name`` is not whitelisted for ``module``.

    Examples
    --------
    >>> map_module_prefixes('numpy.exp(-x / p[1]) + np.pi * scipy.special.erf(x)')
    'exp(-x / p[1]) + pi * erf(x)'
    """
    def replace(match: re.Match) -> str:
        module = re.sub(r"\s+", "", match.group(1))
        name = match.group(2)
        mapped = _MODULE_NAMES[module].get(name)
        if mapped is None:
            raise ImproperInput(f"{owner}: {module}.{name} is not available; the safe "
                                f"expression engine knows {module}."
                                f"{{{', '.join(sorted(_MODULE_NAMES[module]))}}}",
                                classic=BAD_PARINFO)
        return mapped

    return _PREFIXED.sub(replace, text)


@dataclass
class ParameterSpec:
    """One parameter after validation of its ``parinfo`` entry."""

    index: int
    name: str
    value: float
    fixed: bool = False
    lower: float | None = None
    upper: float | None = None
    step: float | None = None
    relative_step: float | None = None
    side: str = "auto"
    max_step: float | None = None
    tied: str | None = None
    parname: str | None = None
    mpprint: bool = True


def _label(index: int, entry: Mapping[str, Any]) -> str:
    parname = entry.get("parname")
    return f"parameter {index}" + (f" ({parname!r})" if parname not in (None, "") else "")


def normalise_entry(entry: Any, index: int) -> dict[str, Any]:
    """The entry with lower-case keys; ``None`` gives ``{}``."""
    if entry is None:
        return {}
    if not isinstance(entry, Mapping):
        raise ImproperInput(f"parinfo[{index}] must be a dict, got {type(entry).__name__}",
                            classic=PARINFO_TYPE)
    return {str(key).lower(): value for key, value in entry.items()}


def _number(value: Any, what: str, label: str) -> float:
    if isinstance(value, (str, bytes)) or value is None:
        raise ImproperInput(f"{label}: {what} must be a number, got {value!r}",
                            classic=BAD_PARINFO)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ImproperInput(f"{label}: {what} must be a number, got {value!r}",
                            classic=BAD_PARINFO) from None
    if not math.isfinite(out):
        raise ImproperInput(f"{label}: {what} must be finite, got {out!r}",
                            classic=BAD_PARINFO)
    return out


def _flag(value: Any, what: str, label: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return _number(value, what, label) != 0.0


def _pair(value: Any, what: str, label: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ImproperInput(f"{label}: {what} must be a two-element list, got {value!r}",
                            classic=BAD_PARINFO)
    items = list(value)
    if len(items) != 2:
        raise ImproperInput(f"{label}: {what} must have two elements, got {len(items)}",
                            classic=BAD_PARINFO)
    return items


def _optional_positive(entry: Mapping[str, Any], key: str, label: str) -> float | None:
    """A step-like option: absent or 0 means 'not set'; negative is an error."""
    if entry.get(key) is None:
        return None
    value = _number(entry[key], key, label)
    if value < 0:
        raise ImproperInput(f"{label}: {key} must be >= 0 (0 means automatic), got {value!r}",
                            classic=BAD_PARINFO)
    return value or None


def _limits(entry: Mapping[str, Any], label: str) -> tuple[float | None, float | None]:
    """The classic module's defaults: ``limits`` without ``limited`` is ignored,
    ``limited`` without ``limits`` uses ``[0, 0]``."""
    if entry.get("limited") is None:
        return None, None
    flags = [_flag(v, "limited", label) for v in _pair(entry["limited"], "limited", label)]
    if not any(flags):
        return None, None
    values = [0.0, 0.0] if entry.get("limits") is None else _pair(entry["limits"], "limits",
                                                                  label)
    lower = _number(values[0], "limits[0]", label) if flags[0] else None
    upper = _number(values[1], "limits[1]", label) if flags[1] else None
    if lower is not None and upper is not None and lower > upper:
        # the classic tests the start against the limits first, and inverted limits
        # always leave the start outside one of them
        raise ImproperInput(f"{label}: inconsistent limits, lower {lower!r} > upper {upper!r}",
                            classic=NOT_WITHIN_LIMITS)
    return lower, upper


def _side(entry: Mapping[str, Any], label: str) -> str:
    if entry.get("mpside") is None:
        return "auto"
    value = _number(entry["mpside"], "mpside", label)
    if value not in SIDES:
        raise ImproperInput(f"{label}: mpside must be 0, 1, -1 or 2, got {entry['mpside']!r}",
                            classic=BAD_PARINFO)
    return SIDES[int(value)]


def _tied(entry: Mapping[str, Any], label: str) -> str | None:
    tied = entry.get("tied")
    if tied is None:
        return None
    if not isinstance(tied, str):
        raise ImproperInput(f"{label}: tied must be a string expression, got {tied!r}",
                            classic=BAD_PARINFO)
    return map_module_prefixes(tied.strip(), label) or None


def _parse_one(index: int, entry: dict[str, Any], start: float | None) -> ParameterSpec:
    label = _label(index, entry)
    if start is None:
        if entry.get("value") is None:
            raise ImproperInput(f"{label}: no start value; give p0 or parinfo[{index}]['value']",
                                classic='ERROR: either P or PARINFO(*)["value"] must be '
                                        'supplied.')
        start = entry["value"]
    spec = ParameterSpec(index=index, name="", value=_number(start, "start value", label))
    spec.fixed = _flag(entry.get("fixed", 0), "fixed", label)
    spec.lower, spec.upper = _limits(entry, label)
    spec.step = _optional_positive(entry, "step", label)
    spec.relative_step = _optional_positive(entry, "relstep", label)
    spec.max_step = _optional_positive(entry, "mpmaxstep", label)
    spec.side = _side(entry, label)
    spec.tied = _tied(entry, label)
    parname = entry.get("parname")
    spec.parname = None if parname in (None, "") else str(parname)
    spec.mpprint = _flag(entry.get("mpprint", 1), "mpprint", label)
    if spec.fixed or spec.tied:
        return spec
    if (spec.lower is not None and spec.value < spec.lower) or (
            spec.upper is not None and spec.value > spec.upper):
        raise ImproperInput(f"{label}: start value {spec.value!r} is outside its limits "
                            f"[{spec.lower}, {spec.upper}]", classic=NOT_WITHIN_LIMITS)
    return spec


def _usable_name(parname: str | None, taken: set[str]) -> bool:
    return (parname is not None and bool(_IDENTIFIER.match(parname))
            and not keyword.iskeyword(parname) and not parname.startswith("__")
            and parname not in DEFAULT_SYMBOLS and parname not in _RESERVED
            and not _GENERIC_NAME.match(parname) and parname not in taken)


def _assign_names(specs: list[ParameterSpec]) -> None:
    taken: set[str] = set()
    for spec in specs:
        spec.name = spec.parname if _usable_name(spec.parname, taken) else f"p{spec.index}"
        taken.add(spec.name)


def translate_references(text: str, names: Sequence[str], owner: str) -> str:
    """Replace ``p[i]`` and the IDL form ``p(i)`` (0-based) by ``names[i]``.

    Examples
    --------
    >>> translate_references('2 * p[1] + p(0)', ['a', 'b'], 'parameter 2')
    '2 * b + a'
    """
    def replace(match: re.Match) -> str:
        i = int(match.group(1))
        if not 0 <= i < len(names):
            raise ImproperInput(f"{owner}: expression {text!r} refers to p[{i}], but the "
                                f"parameters are p[0] ... p[{len(names) - 1}]",
                                classic=BAD_PARINFO)
        return names[i]

    return _REFERENCE.sub(replace, text)


def parse_parinfo(p0: Any, parinfo: Sequence[Any] | None) -> list[ParameterSpec]:
    """Validate ``p0`` and ``parinfo`` and return one :class:`ParameterSpec` each.

    Raises
    ------
    ImproperInput
        Naming the parameter index (and ``parname``) at fault.
    """
    if parinfo is not None and (isinstance(parinfo, (str, bytes, Mapping))
                                or not isinstance(parinfo, Sequence)):
        raise ImproperInput(f"parinfo must be a list of dicts, got {type(parinfo).__name__}",
                            classic=PARINFO_TYPE)
    entries = [normalise_entry(e, i) for i, e in enumerate(parinfo or [])]
    if p0 is None:
        if not entries:
            raise ImproperInput("no parameters: pass p0 or parinfo with 'value' keys",
                                classic="ERROR: must pass parameters in P or PARINFO")
        starts: list[Any] = [None] * len(entries)
    else:
        starts = list(np.atleast_1d(np.asarray(p0, dtype=object)).ravel())
        if parinfo is not None and len(entries) != len(starts):
            raise ImproperInput(f"p0 has {len(starts)} values but parinfo has {len(entries)} "
                                "entries; they must have one per parameter",
                                classic="ERROR: number of elements in PARINFO and P must "
                                        "agree")
        entries = entries or [{} for _ in starts]
    if not starts:
        raise ImproperInput("no parameters: p0 and parinfo are empty",
                            classic="ERROR: must pass parameters in P or PARINFO")
    specs = [_parse_one(i, entry, start)
             for i, (entry, start) in enumerate(zip(entries, starts, strict=True))]
    _assign_names(specs)
    names = [spec.name for spec in specs]
    for spec in specs:
        if spec.tied:
            owner = _label(spec.index, entries[spec.index])
            spec.tied = translate_references(spec.tied, names, owner)
    return specs


def build_parameters(specs: Sequence[ParameterSpec]) -> Parameters:
    """A :class:`Parameters` in parinfo order, equivalent to the specs."""
    params = Parameters()
    for spec in specs:
        options: dict[str, Any] = {"side": spec.side, "max_step": spec.max_step}
        if spec.relative_step is not None:
            options["relative_step"] = spec.relative_step  # MPFIT: relstep supersedes step
        else:
            options["step"] = spec.step
        free = not spec.fixed and not spec.tied
        params.add(spec.name, value=spec.value, vary=free,
                   min=spec.lower if free else None, max=spec.upper if free else None,
                   expr=spec.tied, **options)
    return params


class ImproperReturn(Exception):  # noqa: N818  (becomes status 0, never escapes)
    """The user function returned something that is not ``[status, deviates(, pderiv)]``."""


class NonFiniteStart(ImproperReturn):
    """The deviates at the start are not all finite: MPFIT ``status = -16``."""

    def __init__(self, message: str, deviates: np.ndarray):
        super().__init__(message)
        self.deviates = deviates


class UserFunction:
    """The seed-002 user function seen as paramfit residual / Jacobian callbacks.

    Calls are counted, the last evaluation is cached (so the same point is never
    evaluated twice in a row), and once the user has stopped the fit the user
    function is not called again.  ``damp > 0`` replaces the deviates of plain calls
    by ``tanh(deviates / damp)`` (MPFIT's DAMP); ``debug`` prints the user's
    derivatives beside forward differences at every derivative call.
    """

    def __init__(self, fcn: Callable, functkw: Mapping[str, Any], specs: list[ParameterSpec],
                 damp: float = 0.0, debug: bool = False):
        self.fcn = fcn
        self.functkw = dict(functkw)
        self.damp = float(damp)
        self.debug = bool(debug)
        self.nall = len(specs)
        self.mask = np.array([1 if spec.tied or not spec.fixed else 0 for spec in specs],
                             dtype=int)
        self.plist: list = []
        self.nfev = 0
        self.ndata: int | None = None
        self.stop_code: int | None = None
        self.nonfinite = False  # some call returned non-finite deviates or derivatives
        self.user_error: BaseException | None = None
        self._key: bytes | None = None
        self._deviates: np.ndarray | None = None
        self._deriv: np.ndarray | None = None

    def vector(self) -> np.ndarray:
        return np.array([par._value for par in self.plist], dtype=float)

    def _call(self, p: np.ndarray, want_jac: bool) -> None:
        try:
            out = self.fcn(p.copy(), fjac=self.mask.copy() if want_jac else None,
                           **self.functkw)
        except StopFit:
            raise
        except Exception as exc:
            self.user_error = exc
            raise
        self.nfev += 1
        status, deviates, deriv = self._unpack(out, want_jac)
        if self.damp > 0 and not want_jac:
            deviates = np.tanh(deviates / self.damp)
        if not (np.isfinite(deviates).all() and (deriv is None or np.isfinite(deriv).all())):
            self.nonfinite = True
        if status < 0:
            self.stop_code = status
            raise StopFit(status, f"the user function returned status {status}")
        self._key, self._deviates, self._deriv = p.tobytes(), deviates, deriv

    def _unpack(self, out: Any, want_jac: bool) -> tuple[int, np.ndarray, np.ndarray | None]:
        if not isinstance(out, (list, tuple)) or len(out) < 2:
            raise ImproperReturn("the user function must return [status, deviates] or "
                                  f"[status, deviates, pderiv], got {type(out).__name__}")
        status = 0 if out[0] is None else out[0]
        try:
            status = int(status)
            deviates = np.asarray(out[1], dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise ImproperReturn(f"the user function returned an unusable status or "
                                  f"deviates: {exc}") from None
        if status < 0:
            return status, deviates, None
        if self.ndata is None:
            if not np.all(np.isfinite(deviates)):
                raise NonFiniteStart("the user function returned non-finite deviates at "
                                     "the start parameters", deviates)
            self.ndata = deviates.size
        if not want_jac:
            return status, deviates, None
        if len(out) < 3 or out[2] is None:
            raise ImproperReturn("autoderivative=0 but the user function returned no "
                                  "derivatives: return [status, deviates, pderiv] when fjac "
                                  "is not None")
        return status, deviates, self._derivatives(out[2], deviates.size)

    def _derivatives(self, pderiv: Any, m: int) -> np.ndarray:
        try:
            deriv = np.asarray(pderiv, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ImproperReturn(f"pderiv is not numeric: {exc}") from None
        n = self.nall
        if deriv.ndim >= 1 and deriv.shape[-1] == n and deriv.size == m * n:
            return -deriv.reshape(m, n)  # the classic convention: pderiv = -d(deviates)/dp
        hint = (" (it looks transposed: the parameter dimension must be last)"
                if deriv.ndim == 2 and deriv.shape == (n, m) else "")
        raise ImproperReturn(f"pderiv has shape {deriv.shape}; expected ({m}, {n}) or the "
                              f"data shape with the {n} parameters last{hint}")

    def residual(self, params: Parameters) -> np.ndarray:
        p = self.vector()
        if self.stop_code is not None and self._deviates is not None:
            return self._deviates.copy()  # stopped: no further user calls
        if self._key != p.tobytes():
            self._call(p, want_jac=False)
        return self._deviates.copy()

    def jacobian(self, params: Parameters) -> np.ndarray:
        p = self.vector()
        if self.stop_code is not None:
            return np.zeros((self.ndata or 0, self.nall))
        if self._key != p.tobytes() or self._deriv is None:
            self._call(p, want_jac=True)
            if self.debug:
                self._print_debug(p)
        return self._deriv.copy()

    def _print_debug(self, p: np.ndarray) -> None:
        """Print the user's ``pderiv`` beside forward differences of the model."""
        base = self._deviates
        h = np.sqrt(np.finfo(float).eps) * np.where(p != 0, np.abs(p), 1.0)
        print("FJAC DEBUG BEGIN")
        print("#  IPAR       DERIV_U        DERIV_N   MAX_DIFF_ABS   MAX_DIFF_REL")
        for j in np.flatnonzero(self.mask):
            shifted = p.copy()
            shifted[j] += h[j]
            out = self.fcn(shifted, fjac=None, **self.functkw)
            self.nfev += 1
            numerical = -(np.asarray(out[1], dtype=float).ravel() - base) / h[j]
            user = -self._deriv[:, j]
            diff = np.abs(user - numerical)
            scale = np.maximum(np.abs(user), np.abs(numerical))
            rel = np.max(np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0))
            k = int(np.argmax(diff))
            print(f"{j:7d} {user[k]:14.6g} {numerical[k]:14.6g} {diff[k]:14.6g} {rel:14.6g}")
        print("FJAC DEBUG END")
