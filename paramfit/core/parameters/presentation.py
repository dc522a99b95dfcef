"""How a :class:`~paramfit.core.parameters.parameters.Parameters` shows itself: lmfit 1.3's
text forms, the parameter table and the notebook HTML.

:class:`ParametersPresentation` is a mixin of ``Parameters``: it reads the container
through its mapping interface; the tables themselves are built in
:mod:`paramfit.core.parameters.formats`.
"""

from __future__ import annotations

from collections.abc import Iterable

from paramfit.core.parameters.formats import parameters_html, parameters_table
from paramfit.core.parameters.parameter import DEFAULT_COLUMNS

__all__ = ["ParametersPresentation"]


class ParametersPresentation:
    """Text, table and HTML forms of a ``Parameters`` (a mixin of that ``dict`` subclass)."""

    def pretty_repr(self, oneline: bool = False) -> str:
        """lmfit 1.3's text form: one ``'name': <Parameter ...>`` line each, or with
        ``oneline`` the one-line ``Parameters([('name', <Parameter ...>), ...])``.

        Examples
        --------
        >>> from paramfit.core.parameters.parameters import Parameters
        >>> p = Parameters(); p.add('a', 1.0)
        >>> p.pretty_repr(oneline=True)
        "Parameters([('a', <Parameter 'a', value=1.0, bounds=[-inf:inf]>)])"
        """
        if oneline:
            return f"{self.__class__.__name__}({list(self.items())!r})"
        rows = "".join(f"    {name!r}: {par!r}, \n" for name, par in self.items())
        return f"{self.__class__.__name__}({{\n{rows}    }})\n"

    def pretty_table(self, colwidth: int = 8, precision: int = 4, fmt: str = "g",
                     columns: Iterable[str] = DEFAULT_COLUMNS) -> str:
        """The table :meth:`pretty_print` prints, as a string."""

        return parameters_table(self, colwidth=colwidth, precision=precision, fmt=fmt,
                                columns=tuple(columns))

    def pretty_print(self, oneline: bool = False, colwidth: int = 8, precision: int = 4,
                     fmt: str = "g", columns: Iterable[str] = DEFAULT_COLUMNS) -> None:
        """Print a table of the parameters, one row each (lmfit 1.3's layout).

        Parameters
        ----------
        oneline : bool
            Print the one-line form (:meth:`pretty_repr` with ``oneline=True``) instead.
        colwidth : int
            Width of each column.
        precision : int
            Digits for numbers, with format type ``fmt`` ('g', 'e', 'f').
        columns : sequence of str
            Among value, min, max, stderr, vary, expr, brute_step (the default set),
            init_value, status, step, relative_step, side, max_step.

        Examples
        --------
        >>> from paramfit.core.parameters.parameters import Parameters
        >>> p = Parameters(); p.add('amp', 10.0, min=0)
        >>> p.pretty_print(columns=['value', 'min', 'max', 'stderr', 'vary'])
        Name     Value      Min      Max   Stderr     Vary
        amp         10        0      inf     None     True
        """
        if oneline:
            print(self.pretty_repr(oneline=True))
            return
        print(self.pretty_table(colwidth, precision, fmt, columns))

    def __repr__(self) -> str:
        if not self:
            return "Parameters([])"
        return "Parameters([\n" + "".join(f"    {p!r},\n" for p in self.values()) + "])"

    def _repr_html_(self) -> str:
        return parameters_html(self)
