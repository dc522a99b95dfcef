"""The errors of the formula builder (:mod:`paramfit.frontends.formula`).

Every one is a :class:`FormulaError`, itself an
:class:`~paramfit.core.exceptions.ExpressionError`: a formula that is not a string, lacks a
required ``~``, is not valid syntax (:class:`FormulaSyntaxError`, the position marked
``>>>``), calls an unknown function (:class:`UnknownFunctionError`), reads an unknown name
(:class:`UnknownNameError`) or has no parameters to fit (:class:`NoParametersError`).
"""

from __future__ import annotations

from collections.abc import Sequence

from paramfit.core.exceptions import ExpressionError

__all__ = [
    "FormulaError",
    "FormulaSyntaxError",
    "NoParametersError",
    "UnknownFunctionError",
    "UnknownNameError",
]


class FormulaError(ExpressionError):
    """A formula cannot be built: it is not a string, lacks a required ``~``, or uses a
    construct the expression compiler refuses.

    Attributes
    ----------
    formula : str
        The formula as written.
    reason : str
        What is wrong, without the formula (for front ends that quote it themselves).
    """

    def __init__(self, message: str, formula: str = "", reason: str = ""):
        super().__init__(message)
        self.formula = formula
        self.reason = reason or message


class FormulaSyntaxError(FormulaError):
    """A side of the formula is not valid syntax; ``offset`` is the 0-based position in
    the formula, marked ``>>>`` in the message."""

    def __init__(self, formula: str, offset: int = 0, reason: str = "invalid syntax"):
        marked = f"{formula[:offset]}>>>{formula[offset:]}"
        super().__init__(
            f"cannot parse the formula at column {offset + 1} (marked >>>): {reason}: {marked}",
            formula, reason)
        self.offset = offset


class UnknownFunctionError(FormulaError):
    """The formula calls a name that is not a function (neither a default nor a user
    symbol); ``names`` lists them in order of appearance."""

    def __init__(self, formula: str, names: Sequence[str] = ()):
        listed = ", ".join(names)
        super().__init__(
            f"formula {formula!r} calls unknown function(s) {listed}; available: exp, log, "
            "sqrt, sin, cos, arctan, ... (see paramfit.core.expressions.compiler)",
            formula, f"unknown function(s) {listed}")
        self.names = tuple(names)


class UnknownNameError(FormulaError):
    """The formula reads a name that is neither a parameter, data nor a symbol;
    ``names`` lists them in order of appearance (left-hand side first)."""

    def __init__(self, message: str, formula: str = "", names: Sequence[str] = ()):
        super().__init__(message, formula)
        self.names = tuple(names)


class NoParametersError(FormulaError):
    """Parameters were to be inferred, but every name of the formula is data or a
    symbol."""

    def __init__(self, formula: str):
        super().__init__(f"formula {formula!r} has no parameters to fit", formula,
                         "no parameters to fit")
