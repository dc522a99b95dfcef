"""How a :class:`~paramfit.core.parameters.parameters.Parameters` is written and read back:
pickle state (lmfit 1.3's layout) and JSON (paramfit's layout written, lmfit 1.3's read too).

:class:`ParametersPersistence` is a mixin of ``Parameters``: it reads and fills the
container through its mapping interface and ``symbols``.
"""

from __future__ import annotations

import json
import numbers
import pickle
from collections.abc import Mapping
from typing import IO, Any

from paramfit.core.exceptions import ExpressionError, ParameterError
from paramfit.core.expressions.symbols import SymbolTable
from paramfit.core.parameters.formats import (
    load_json_document,
    parameters_from_json,
    parameters_to_json,
)
from paramfit.core.parameters.parameter import LMFIT_DEFAULT_SYMBOLS

__all__ = ["ParametersPersistence"]


class ParametersPersistence:
    """Pickle state and JSON of a ``Parameters`` (a mixin of that ``dict`` subclass)."""

    def __reduce__(self) -> tuple:
        symbols = self.symbols.user_symbols()
        for key, obj in symbols.items():
            if not isinstance(obj, numbers.Number):
                try:
                    pickle.dumps(obj)
                except Exception as exc:
                    raise ParameterError(
                        f"cannot pickle Parameters: user symbol {key!r} ({obj!r}) is not "
                        "picklable; define it at module level or remove it from "
                        "params.symbols") from exc
        # lmfit's state: its symbol table held every value too (stored values here: a
        # tie still waiting for a name must not stop a pickle; ties evaluate when read)
        unique = {**{name: par._value for name, par in self.items()}, **symbols}
        return (self.__class__, (), {"unique_symbols": unique, "params": list(self.values())})

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`__reduce__`'s state (lmfit 1.3's: ``unique_symbols``, the
        user symbols with every parameter's value, which is left out here with lmfit's
        built-in symbols) or that of paramfit before (``symbols``)."""
        if not hasattr(self, "symbols"):
            self.symbols = SymbolTable()
        if "symbols" in state:
            self.symbols.update(state["symbols"])
        else:
            skip = {par.name for par in state["params"]} | LMFIT_DEFAULT_SYMBOLS
            for key, obj in (state.get("unique_symbols") or {}).items():
                if key not in skip and key not in self.symbols:
                    self.symbols[key] = obj
        for par in state["params"]:
            self[par.name] = par

    # -------------------------------------------------------------------- JSON
    def dumps(self, **json_kws: Any) -> str:
        """The parameters as a JSON string (``json_kws`` go to :func:`json.dumps`).

        Tied values are evaluated first where they can be (one that cannot yet, reading
        a name still unknown, is written as stored). Everything round-trips through
        :meth:`loads`: names, values (inf and NaN as the
        strings ``"inf"``, ``"-inf"``, ``"nan"``), vary, bounds, expr, brute_step,
        stderr, correl, init_value, finite-difference options, the fit status,
        ``user_data`` when :func:`paramfit.jsonutils.encode4js` can encode it (dropped
        otherwise), and user symbols: numbers (bool, int, float, complex) in full,
        user *functions* by name only (no code is stored: give them again to
        :meth:`loads` with ``funcdefs`` or add them to ``symbols``).

        Examples
        --------
        >>> from paramfit.core.parameters.parameters import Parameters
        >>> p = Parameters(); p.add('a', 1.5, min=0)
        >>> Parameters().loads(p.dumps())['a']
        <Parameter 'a', value=1.5, bounds=[0.0:inf]>
        """
        try:
            self._refresh_ties()
        except ExpressionError:
            pass  # a tie not evaluable yet (an unknown name) keeps its stored value; ties
            # are evaluated again when read after loads()
        return json.dumps(parameters_to_json(self), **json_kws)

    def loads(self, s: str | bytes, funcdefs: Mapping[str, Any] | None = None,
              **json_kws: Any) -> Any:
        """Replace the contents with those of a JSON string; returns ``self``.

        Reads what :meth:`dumps` writes and what lmfit 1.3's ``Parameters.dumps``
        writes (``{"unique_symbols": ..., "params": [state, ...]}``; bounds written as
        ``null`` read as none). User symbols in the string are added to
        ``self.symbols`` (existing ones stay); a user function named there is restored
        only from ``funcdefs`` (``{name: function}``): nothing named in a document is
        imported, and a function not in ``funcdefs`` is left out with a
        :class:`~paramfit.ParamfitWarning`. ``json_kws`` go to :func:`json.loads`.

        Examples
        --------
        >>> from paramfit.core.parameters.parameters import Parameters
        >>> p = Parameters().loads('{"parameters": [{"name": "a", "value": "inf"}]}')
        >>> p['a'].value
        inf
        """
        data = load_json_document(s, "Parameters.loads")  # untrusted: bounded, no raw errors
        pars, symbols = parameters_from_json(data, funcdefs)  # symbols: finite numbers
        self.clear()
        for key, obj in symbols.items():
            self.symbols[key] = obj
        for par in pars:
            self[par.name] = par  # tied values are evaluated when read
        return self

    def dump(self, fp: IO[str], **json_kws: Any) -> None:
        """Write :meth:`dumps` to an open text file."""
        fp.write(self.dumps(**json_kws))

    def load(self, fp: IO[str], funcdefs: Mapping[str, Any] | None = None,
             **json_kws: Any) -> Any:
        """Read a file written by :meth:`dump` (or lmfit's) into ``self``; returns ``self``."""
        return self.loads(fp.read(), funcdefs, **json_kws)
