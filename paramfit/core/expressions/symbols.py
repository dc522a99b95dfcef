"""The namespace constraint expressions are evaluated in: default and user symbols.

:data:`DEFAULT_SYMBOLS` holds the read-only functions and constants every expression
can use; a :class:`SymbolTable` layers user functions and constants over them (what
``Parameters.symbols`` exposes); :func:`make_namespace` builds the dict an expression
is evaluated in from both.  Symbol names are checked here: valid identifiers, not
keywords, not dunder names.

Private module: the public names are re-exported from :mod:`paramfit.core.expressions.compiler`.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterator, Mapping, MutableMapping
from types import MappingProxyType

from paramfit.core.exceptions import ExpressionError
from paramfit.core.expressions.functions import CONSTANTS, FUNCTIONS, HELPERS

__all__ = ["CHANGES", "DEFAULT_SYMBOLS", "FLOAT_HELPER", "SymbolTable", "make_namespace",
           "mark_changed"]

CHANGES = [0]
"""One process-wide count of the changes that may make a tied value stale: every change
through a Parameter's setters (value, bounds, expr, vary, state), to a Parameters'
contents and to any :class:`SymbolTable`. A tied Parameter re-evaluates its ``expr``
when read only if the count moved since its last evaluation (``Parameter.value``). The
fit's hot path writes values directly (free and tied together, by the one tie rule) and
does not count. A list, so that readers hold the one object."""


def mark_changed() -> None:
    """Count a change that may make tied values stale (see :data:`CHANGES`)."""
    CHANGES[0] += 1

DEFAULT_SYMBOLS: Mapping[str, object] = MappingProxyType({**CONSTANTS, **FUNCTIONS, **HELPERS})
"""The read-only symbols every expression can use.

Constants ``pi``, ``e``, ``inf``, ``nan``; the functions of seed 000 §5.2 (``abs acos
acosh asin asinh atan atan2 atanh ceil copysign cos cosh degrees exp fabs factorial
floor fmod frexp fsum hypot isinf isnan ldexp log log10 log1p max min modf pow radians
sin sinh sqrt tan tanh trunc``), the numpy-style aliases ``arccos arccosh arcsin arcsinh
arctan arctan2 arctanh power``, and ``sign erf erfc gamma``.  Each function takes the
:mod:`math` fast path for Python scalars and the numpy path for arrays (see
:mod:`paramfit.core.expressions.functions`).  The guarded ``**`` and ``<<`` helpers are
also here, under the names ``'<pow>'`` and ``'<lshift>'``, which are not identifiers
and so can be neither written in an expression nor shadowed by a parameter.

Examples
--------
>>> DEFAULT_SYMBOLS['sqrt'](4.0)
2.0
>>> round(DEFAULT_SYMBOLS['pi'], 5)
3.14159
"""

FLOAT_HELPER = "<float>"
"""Name of ``float`` in every namespace:
:func:`paramfit.core.expressions.compiler.compile_assignments` wraps each tied value in it.
Not an identifier, so no expression can shadow it."""


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _check_symbol_name(name: object) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ExpressionError(
            f"symbol name {name!r} is not a valid Python identifier; use letters, digits "
            "and underscores, not starting with a digit, and not a keyword"
        )
    if _is_dunder(name):
        raise ExpressionError(f"symbol name {name!r} is a dunder name, which is not allowed")
    return name


def make_namespace(user_symbols: Mapping[str, object] | None = None) -> dict:
    """Build the dict an expression is evaluated in.

    Parameters
    ----------
    user_symbols : mapping, optional
        Extra functions and constants (a :class:`SymbolTable` contributes its user
        symbols).  They may shadow default symbols, never the guarded helpers.

    Returns
    -------
    dict
        ``{'__builtins__': {}}`` plus :data:`DEFAULT_SYMBOLS` plus ``user_symbols``.
        The caller adds the parameter values.

    Raises
    ------
    ExpressionError
        If a user symbol name is not a valid, non-dunder identifier.

    Examples
    --------
    >>> from paramfit.core.expressions.compiler import compile_expression
    >>> ns = make_namespace({'scale': 2.0})
    >>> ns['amp'] = 3.0
    >>> compile_expression('scale * amp').evaluate(ns)
    6.0
    >>> ns['__builtins__']
    {}
    """
    namespace: dict = {"__builtins__": {}}
    namespace.update(DEFAULT_SYMBOLS)
    namespace[FLOAT_HELPER] = float
    if user_symbols:
        if isinstance(user_symbols, SymbolTable):
            user_symbols = user_symbols.user_symbols()
        for name, value in user_symbols.items():
            namespace[_check_symbol_name(name)] = value
    return namespace

class SymbolTable(MutableMapping):
    """User functions and constants for expressions, layered over :data:`DEFAULT_SYMBOLS`.

    Reads fall through to the defaults; writes and deletes touch only the user symbols
    (a user symbol may shadow a default one; deleting it uncovers the default again).
    This is what ``Parameters.symbols`` and ``Minimizer.asteval.symtable`` expose
    (seed 000 §5.3).

    Parameters
    ----------
    symbols : mapping, optional
        Initial user symbols.

    Raises
    ------
    ExpressionError
        When a name is not a valid identifier, is a keyword or is a dunder name.

    Examples
    --------
    >>> def lorentzian(x, amp, cen, wid):
    ...     return amp / (1 + ((x - cen) / wid) ** 2)
    >>> from paramfit.core.expressions.compiler import compile_expression
    >>> table = SymbolTable()
    >>> table['lorentzian'] = lorentzian
    >>> ns = make_namespace(table)
    >>> compile_expression('lorentzian(1.0, 2.0, 1.0, 0.5)').evaluate(ns)
    2.0
    >>> table['sqrt'] is DEFAULT_SYMBOLS['sqrt']
    True
    """

    def __init__(self, symbols: Mapping[str, object] | None = None):
        self._user: dict[str, object] = {}
        if symbols:
            self.update(symbols)

    def __getitem__(self, name: str) -> object:
        try:
            return self._user[name]
        except KeyError:
            return DEFAULT_SYMBOLS[name]

    def __setitem__(self, name: str, value: object) -> None:
        self._user[_check_symbol_name(name)] = value
        CHANGES[0] += 1

    def __delitem__(self, name: str) -> None:
        if name in self._user:
            del self._user[name]
            CHANGES[0] += 1
        elif name in DEFAULT_SYMBOLS:
            raise KeyError(f"{name!r} is a built-in symbol and cannot be deleted")
        else:
            raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in self._user or name in DEFAULT_SYMBOLS

    def __iter__(self) -> Iterator[str]:
        yield from DEFAULT_SYMBOLS
        yield from (name for name in self._user if name not in DEFAULT_SYMBOLS)

    def __len__(self) -> int:
        return len(DEFAULT_SYMBOLS) + sum(1 for n in self._user if n not in DEFAULT_SYMBOLS)

    def user_symbols(self) -> dict[str, object]:
        """Return a copy of the user symbols (without the defaults).

        Examples
        --------
        >>> SymbolTable({'k': 2.0}).user_symbols()
        {'k': 2.0}
        """
        return dict(self._user)

    def __repr__(self) -> str:
        return f"SymbolTable({self._user!r})"
