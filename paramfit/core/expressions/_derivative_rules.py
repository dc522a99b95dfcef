"""Forward-differentiation rules for derivatives: operators and functions.

Part of :mod:`paramfit.core.expressions.derivatives` (internal).

:class:`_Derivative` differentiates DAG nodes (:mod:`paramfit.core.expressions._graph`) with
respect to one variable, memoized, through the graph's simplifying constructors; the
call rules (:data:`_CALL_RULES`) give the partials of the engine's functions.  A
construct without a derivative raises :class:`_NoDerivative` with the reason, which the
caller reports (:data:`NON_DIFFERENTIABLE_FUNCTIONS` names the engine functions that
have none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

from paramfit.core.expressions._derivative_engine import _CANONICAL, Differentiable
from paramfit.core.expressions._graph import _Graph

__all__ = ["NON_DIFFERENTIABLE_FUNCTIONS", "differentiable_functions"]

_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_DEGREES = math.degrees(1.0)
_RADIANS = math.radians(1.0)

class _NoDerivative(Exception):
    """Internal: why a node has no derivative with respect to the current variable."""


# --------------------------------------------------------------------------- derivative rules
def _unary_rule(partial: Callable[[_Graph, int, int], int]) -> Callable:
    """A rule for ``f(x)`` from ``partial(graph, x, p)`` = f'(x) (p is the value node)."""
    def rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
        return d.graph.mul(partial(d.graph, args[0], n), d.of(args[0]))
    rule.arity = (1,)
    return rule


def _partials_rule(partial: Callable[[_Graph, tuple[int, ...], int, int], int],
                   arity: tuple[int, ...] | None = None) -> Callable:
    """A rule from ``partial(graph, args, p, i)`` = df/d(args[i]), summed by the chain
    rule over the arguments that depend on the variable (the others are never built)."""
    def rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
        g = d.graph
        total = g.zero
        for index, arg in enumerate(args):
            darg = d.of(arg)
            if not g.is_zero(darg):
                total = g.add(total, g.mul(partial(g, args, n, index), darg))
        return total
    rule.arity = arity
    return rule


def _zero_rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
    return d.graph.zero


def _log_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    if len(args) == 1:
        return g.div(g.one, args[0])
    x, base = args
    log_base = g.call("log", base)
    if i == 0:
        return g.div(g.one, g.mul(x, log_base))
    return g.neg(g.div(p, g.mul(base, log_base)))


def _atan2_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    y, x = args
    denominator = g.add(g.mul(x, x), g.mul(y, y))
    return g.div(x, denominator) if i == 0 else g.neg(g.div(y, denominator))


def _hypot_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    return g.div(args[i], p)


def _exponent_partial(g: _Graph, p: int, base: int) -> int:
    """d(base**b)/db = p*log(base): folded for a literal base, else with the limit 0 at
    base = 0 (see ``_power_log``)."""
    if g.is_num(base):
        return g.mul(p, g.call("log", base))
    return g.call("power_log", p, base)


def _pow_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    x, y = args
    if i == 0:
        return g.mul(y, g.call("pow", x, g.sub(y, g.one)))
    return _exponent_partial(g, p, x)


def _copysign_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    x, y = args
    return g.mul(g.call("sign", x), g.call("copysign", g.num(1.0), y)) if i == 0 else g.zero


def _fmod_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    x, y = args
    return g.one if i == 0 else g.neg(g.call("trunc", g.div(x, y)))


def _ldexp_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    return g.call("ldexp", g.num(1.0), args[1]) if i == 0 else g.zero


def _fsum_rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
    if len(args) < 2:
        raise _NoDerivative("fsum of one argument is a reduction over an array, which has "
                            "no elementwise derivative")
    total = d.graph.zero
    for arg in args:
        total = d.graph.add(total, d.of(arg))
    return total


def _extreme_rule(greater: bool) -> Callable:
    def rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
        name = "max" if greater else "min"
        if len(args) < 2:
            raise _NoDerivative(f"{name} of one argument is a reduction over an array, "
                                "which has no elementwise derivative")
        g = d.graph
        # Python (and the engine) keep the first extreme argument: b wins only if
        # b > a (max) or b < a (min); several arguments reduce pairwise.
        current, derivative = args[0], d.of(args[0])
        for index, arg in enumerate(args[1:], start=2):
            darg = d.of(arg)
            wins = g._node("cmp", (">" if greater else "<",), (arg, current))
            if darg != derivative:
                derivative = g.call("select", wins, darg, derivative)
            if index < len(args):
                current = g.call(name, current, arg)
        return derivative
    return rule


def _call_rules() -> dict[str, Callable]:
    u = _unary_rule
    rules: dict[str, Callable] = {
        "exp": u(lambda g, x, p: p),
        "log10": u(lambda g, x, p: g.div(g.one, g.mul(x, g.num(_LN10)))),
        "log1p": u(lambda g, x, p: g.div(g.one, g.add(g.one, x))),
        "sqrt": u(lambda g, x, p: g.div(g.num(0.5), p)),
        "sin": u(lambda g, x, p: g.call("cos", x)),
        "cos": u(lambda g, x, p: g.neg(g.call("sin", x))),
        "tan": u(lambda g, x, p: g.add(g.one, g.mul(p, p))),
        "asin": u(lambda g, x, p: g.div(g.one, g.call("sqrt", g.sub(g.one, g.mul(x, x))))),
        "acos": u(lambda g, x, p: g.neg(
            g.div(g.one, g.call("sqrt", g.sub(g.one, g.mul(x, x)))))),
        "atan": u(lambda g, x, p: g.div(g.one, g.add(g.one, g.mul(x, x)))),
        "sinh": u(lambda g, x, p: g.call("cosh", x)),
        "cosh": u(lambda g, x, p: g.call("sinh", x)),
        "tanh": u(lambda g, x, p: g.sub(g.one, g.mul(p, p))),
        "asinh": u(lambda g, x, p: g.div(g.one, g.call("sqrt", g.add(g.mul(x, x), g.one)))),
        "acosh": u(lambda g, x, p: g.div(g.one, g.mul(g.call("sqrt", g.sub(x, g.one)),
                                                       g.call("sqrt", g.add(x, g.one))))),
        "atanh": u(lambda g, x, p: g.div(g.one, g.sub(g.one, g.mul(x, x)))),
        "degrees": u(lambda g, x, p: g.num(_DEGREES)),
        "radians": u(lambda g, x, p: g.num(_RADIANS)),
        "erf": u(lambda g, x, p: g.mul(g.num(_TWO_OVER_SQRT_PI),
                                       g.call("exp", g.neg(g.mul(x, x))))),
        "erfc": u(lambda g, x, p: g.neg(g.mul(g.num(_TWO_OVER_SQRT_PI),
                                              g.call("exp", g.neg(g.mul(x, x)))))),
        "gamma": u(lambda g, x, p: g.mul(p, g.call("digamma", x))),
        "float": u(lambda g, x, p: g.one),  # the tie mapping's float(); not user-callable
        "abs": u(lambda g, x, p: g.call("sign", x)),
        "fabs": u(lambda g, x, p: g.call("sign", x)),
        "log": _partials_rule(_log_partial, (1, 2)),
        "atan2": _partials_rule(_atan2_partial, (2,)),
        "hypot": _partials_rule(_hypot_partial),
        "pow": _partials_rule(_pow_partial, (2,)),
        "copysign": _partials_rule(_copysign_partial, (2,)),
        "fmod": _partials_rule(_fmod_partial, (2,)),
        "ldexp": _partials_rule(_ldexp_partial, (2,)),
        "fsum": _fsum_rule,
        "max": _extreme_rule(True),
        "min": _extreme_rule(False),
    }
    for name in ("sign", "floor", "ceil", "trunc"):
        rules[name] = _zero_rule
    return rules


_CALL_RULES = _call_rules()

NON_DIFFERENTIABLE_FUNCTIONS: Mapping[str, str] = MappingProxyType({
    "factorial": "factorial is defined on integers only",
    "modf": "modf returns a pair (fraction, integer part), not a number",
    "frexp": "frexp returns a pair (mantissa, exponent), not a number",
    "isinf": "isinf is a test (True/False) used as a value",
    "isnan": "isnan is a test (True/False) used as a value",
})
"""Engine functions without a derivative, with the reason reported."""


def differentiable_functions() -> frozenset[str]:
    """The names (aliases included) of the engine functions :func:`differentiate` can
    differentiate; every other name of the function table is in
    :data:`NON_DIFFERENTIABLE_FUNCTIONS`."""
    return frozenset(name for name, canonical in _CANONICAL.items() if canonical in _CALL_RULES)


class _Derivative:
    """Forward differentiation of DAG nodes with respect to one variable (memoized)."""

    def __init__(self, graph: _Graph, variable: str, user: Mapping[str, object]):
        self.graph = graph
        self.variable = variable
        self.user = user
        self._memo: dict[int, int] = {}

    def of(self, n: int) -> int:
        g = self.graph
        if self.variable not in g.free[n]:
            return g.zero
        found = self._memo.get(n)
        if found is None:
            kind, attr, kids = g.keys[n]
            found = getattr(self, "_" + kind)(n, attr, kids)
            self._memo[n] = found
        return found

    def _name(self, n: int, attr: str, kids: tuple) -> int:
        return self.graph.one

    def _bin(self, n: int, op: str, kids: tuple[int, int]) -> int:
        g = self.graph
        a, b = kids
        if op == "+":
            return g.add(self.of(a), self.of(b))
        if op == "-":
            return g.sub(self.of(a), self.of(b))
        if op == "*":
            return g.add(g.mul(self.of(a), b), g.mul(a, self.of(b)))
        if op == "/":
            da, db = self.of(a), self.of(b)
            if g.is_zero(db):
                return g.div(da, b)
            return g.div(g.sub(da, g.mul(n, db)), b)  # (a' - (a/b)*b') / b
        if op == "//":
            return g.zero
        if op == "%":  # a % b = a - b*(a//b), with a//b piecewise constant
            return g.sub(self.of(a), g.mul(g.make("bin", "//", (a, b)), self.of(b)))
        raise _NoDerivative(f"the bitwise operator {op.rstrip('!')} is defined on integers only")

    def _pow(self, n: int, guarded: bool, kids: tuple[int, int]) -> int:
        g = self.graph
        a, b = kids
        da, db = self.of(a), self.of(b)
        if g.is_zero(db):
            return g.mul(g.mul(b, g.pw(a, g.sub(b, g.one))), da)
        log_a = g.call("log", a)
        if g.is_zero(da):
            return g.mul(_exponent_partial(g, n, a), db)
        return g.mul(n, g.add(g.mul(db, log_a), g.div(g.mul(b, da), a)))

    def _un(self, n: int, op: str, kids: tuple[int]) -> int:
        if op == "-":
            return self.graph.neg(self.of(kids[0]))
        if op == "+":
            return self.of(kids[0])
        what = "'not'" if op == "not" else "the bitwise operator ~"
        raise _NoDerivative(f"{what} used as a value has no derivative")

    def _bool(self, n: int, op: str, kids: tuple) -> int:
        raise _NoDerivative(f"the boolean operator '{op}' used as a value has no derivative")

    def _cmp(self, n: int, ops: tuple, kids: tuple) -> int:
        raise _NoDerivative(f"a comparison ({' '.join(ops)}) used as a value has no derivative")

    def _if(self, n: int, attr: None, kids: tuple[int, int, int]) -> int:
        g = self.graph
        test, body, orelse = kids
        dbody, dorelse = self.of(body), self.of(orelse)
        if dbody == dorelse and g.is_num(dbody):
            return dbody
        return g.make("if", None, (test, dbody, dorelse))

    def _call(self, n: int, attr: tuple[str, tuple[str, ...]], kids: tuple[int, ...]) -> int:
        name, keywords = attr
        args = kids
        if keywords:
            if name == "log" and keywords == ("base",) and len(kids) == 2:
                pass  # log(x, base=b) is log(x, b)
            else:
                raise _NoDerivative(f"{name}() called with keyword arguments "
                                    f"({', '.join(keywords)}) has no derivative rule")
        rule = _CALL_RULES.get(name)
        if rule is None:
            reason = NON_DIFFERENTIABLE_FUNCTIONS.get(name, f"{name} has no derivative rule")
            raise _NoDerivative(reason)
        arity = getattr(rule, "arity", None)
        if arity is not None and len(args) not in arity:
            raise _NoDerivative(f"{name}() called with {len(args)} arguments has no "
                                "derivative rule")
        return rule(self, n, args)

    def _ucall(self, n: int, attr: tuple[str, tuple[str, ...]], kids: tuple[int, ...]) -> int:
        name, keywords = attr
        symbol = self.user.get(name)
        if not isinstance(symbol, Differentiable):
            raise _NoDerivative(
                f"the user function {name!r} has no declared derivative; register it as "
                f"Differentiable({name}, derivatives=(...)) to differentiate through it")
        if keywords:
            raise _NoDerivative(f"the user function {name!r} is called with keyword "
                                "arguments; its derivatives are declared by position")
        g = self.graph
        total = g.zero
        for index, arg in enumerate(kids):
            darg = self.of(arg)
            if g.is_zero(darg):
                continue
            if index >= len(symbol.derivatives) or symbol.derivatives[index] is None:
                raise _NoDerivative(
                    f"the user function {name!r} declares no derivative with respect to "
                    f"its argument {index}")
            partial = g._node("dcall", (name, index), kids)
            total = g.add(total, g.mul(partial, darg))
        return total

    def _dcall(self, n: int, attr: tuple, kids: tuple) -> int:
        raise _NoDerivative("second derivatives of user functions are not available")

    def _tuple(self, n: int, attr: None, kids: tuple) -> int:
        raise _NoDerivative("a tuple used as a value has no derivative")
