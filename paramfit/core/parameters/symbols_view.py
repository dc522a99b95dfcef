"""lmfit 1.3's ``Parameters._asteval``, as a view of a Parameters' symbol table.

:class:`SymbolsView` is what ``params._asteval`` returns: ``symtable`` is the
Parameters' :class:`~paramfit.core.expressions.symbols.SymbolTable` and ``eval`` its
safe :meth:`~paramfit.core.parameters.parameters.Parameters.eval`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paramfit.core.expressions.compiler import SymbolTable

if TYPE_CHECKING:
    from paramfit.core.parameters.parameters import Parameters

__all__ = ["SymbolsView", "AstevalView"]


class SymbolsView:
    """lmfit 1.3's ``Parameters._asteval`` as far as its documentation uses it.

    lmfit's manual adds user functions with ``params._asteval.symtable['f'] = f``; here
    ``symtable`` is the Parameters' :class:`~paramfit.core.expressions.symbols.SymbolTable`
    (``params.symbols``), so that spelling adds a user symbol. There is no interpreter:
    ``eval`` is :meth:`Parameters.eval` (the safe expression compiler).

    Examples
    --------
    >>> from paramfit.core.parameters.parameters import Parameters
    >>> p = Parameters()
    >>> p._asteval.symtable['half'] = lambda x: x / 2
    >>> p.add('a', 3.0); p.add('b', expr='half(a)')
    >>> p['b'].value, sorted(p._asteval.user_defined_symbols())
    (1.5, ['half'])
    """

    def __init__(self, params: Parameters) -> None:
        self._params = params

    @property
    def symtable(self) -> SymbolTable:
        """The symbol table (``params.symbols``)."""
        return self._params.symbols

    def user_defined_symbols(self) -> set[str]:
        """Names of the user symbols."""
        return set(self._params.symbols.user_symbols())

    def eval(self, expression: str) -> Any:
        """:meth:`Parameters.eval`."""
        return self._params.eval(expression)


class AstevalView:
    """``Minimizer.asteval.symtable`` (seed 000 §5.3): the symbol table of the object
    given (a Minimizer: its ``symbols``)."""

    def __init__(self, owner: Any):
        self._owner = owner

    @property
    def symtable(self) -> SymbolTable:
        return self._owner.symbols
