"""paramfit.mpfit side by side with the classic mpfit.py (Markwardt, Rivers, Koposov).

The classic module is *not* part of paramfit: pass its file, which is imported by path
at run time (for instance the copy kept in github.com/segasai/astrolibpy,
``mpfit/mpfit.py``)::

    python bench/mpfit_side_by_side.py --classic /path/to/mpfit.py
    python bench/mpfit_side_by_side.py --classic /path/to/mpfit.py --markdown
    python bench/mpfit_side_by_side.py --classic /path/to/mpfit.py --compact --markdown

Every problem is one function that takes an ``mpfit`` callable and runs the *same*
classic-style code with it: first with the classic class, then with
:func:`paramfit.mpfit.mpfit`.  For each it reports status, errmsg, params, perror, fnorm,
niter and nfev, and whether status, errmsg and params agree.  errmsg agrees when both
are ``''`` or paramfit's starts with the classic's (paramfit appends the detail), with
the addresses in ``<function f at 0x...>`` masked.
params agree within ``1e-3`` of the larger perror (or ``1e-6`` relative where no perror
exists): both stop on ``xtol = 1e-10``, but from different finite-difference
Jacobians.  A crash of either side is reported with its exception.  For the NIST rows
the digits (log relative error, min over parameters) of each side's values against the
certified ones are shown too.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paramfit.mpfit import mpfit as paramfit_mpfit
from paramfit.reference.nist import load_nist, log_relative_error
from paramfit.reference.nist_models import NIST_MODELS

__all__ = ["PROBLEMS", "Outcome", "load_classic", "main", "run_problem"]

# --------------------------------------------------------------------------- data
X = np.linspace(-5.0, 5.0, 101)
TRUTH = np.array([0.5, 4.0, 0.3, 1.2])  # background, amplitude, centre, sigma
ERR = np.full(X.size, 0.1)
Y = (TRUTH[0] + TRUTH[1] * np.exp(-0.5 * ((X - TRUTH[2]) / TRUTH[3]) ** 2)
     + ERR * np.random.default_rng(18).normal(size=X.size))
START = np.array([0.0, 3.0, 0.0, 1.0])
DATA = {"x": X, "y": Y, "err": ERR}


def gauss(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p[0] + p[1] * np.exp(-0.5 * ((x - p[2]) / p[3]) ** 2)


def myfunct(p, fjac=None, x=None, y=None, err=None):
    """The classic docstring's user function: weighted deviates, status 0."""
    return [0, (y - gauss(x, p)) / err]


def myfunct_deriv(p, fjac=None, x=None, y=None, err=None):
    """Analytic derivatives, the classic convention: pderiv = d(model)/dp / err."""
    deviates = (y - gauss(x, p)) / err
    if fjac is None:
        return [0, deviates]
    g = np.exp(-0.5 * ((x - p[2]) / p[3]) ** 2)
    cols = [np.ones_like(x), g, p[1] * g * (x - p[2]) / p[3] ** 2,
            p[1] * g * (x - p[2]) ** 2 / p[3] ** 3]
    return [0, deviates, np.column_stack(cols) / err[:, None]]


def parinfo(**entries: dict) -> list[dict]:
    """The classic docstring's parinfo: value, fixed, limited, limits for each."""
    out = [{"value": float(v), "fixed": 0, "limited": [0, 0], "limits": [0.0, 0.0]}
           for v in START]
    for key, entry in entries.items():
        out[int(key[1:])].update(entry)
    return out


# --------------------------------------------------------------------------- problems
def stop_after(n: int) -> Callable:
    calls = {"n": 0}

    def fcn(p, fjac=None, x=None, y=None, err=None):
        calls["n"] += 1
        return [-7, None] if calls["n"] > n else myfunct(p, x=x, y=y, err=err)

    return fcn


def iter_stop(fcn, p, iteration, fnorm, functkw=None, parinfo=None, quiet=0, dof=None):
    return -2 if iteration == 3 else None


def nan_start(p, fjac=None, x=None, y=None, err=None):
    return [0, np.where(x > 0, np.nan, 1.0) * p[0]]


def inf_region(p, fjac=None, x=None, y=None, err=None):
    """Deviates are inf once the amplitude leaves [2.5, 3.5]; the fit wants 3.96."""
    r = (y - gauss(x, p)) / err
    return [0, r * np.inf if abs(p[1] - 3.0) > 0.5 else r]


def rosenbrock(p, fjac=None):
    """Rosenbrock's function as two residuals (More, Garbow, Hillstrom 1981, no. 1)."""
    return [0, np.array([10.0 * (p[1] - p[0] ** 2), 1.0 - p[0]])]


def nist_problem(name: str, start: int) -> Callable:
    problem = load_nist(name)
    model = NIST_MODELS[name]

    def fcn(p, fjac=None, x=None, y=None):
        return [0, y - model(p, x)]

    def run(mp: Callable) -> Any:
        return mp(fcn, problem.starts[start - 1].astype(float),
                  {"x": problem.x, "y": problem.y}, quiet=1)

    run.certified = problem.certified_values  # type: ignore[attr-defined]
    return run


PROBLEMS: dict[str, Callable[[Callable], Any]] = {
    "gauss plain": lambda mp: mp(myfunct, START, DATA, quiet=1),
    "gauss parinfo value only": lambda mp: mp(myfunct, None, DATA, parinfo(), quiet=1),
    "gauss fixed": lambda mp: mp(myfunct, None, DATA, parinfo(p2={"fixed": 1}), quiet=1),
    "gauss limited/limits": lambda mp: mp(myfunct, None, DATA, parinfo(
        p3={"limited": [1, 1], "limits": [0.5, 3.0]}), quiet=1),
    "gauss step": lambda mp: mp(myfunct, None, DATA, parinfo(p1={"step": 1e-3}), quiet=1),
    "gauss relstep": lambda mp: mp(myfunct, None, DATA, parinfo(p1={"relstep": 1e-4}),
                                   quiet=1),
    "gauss mpside 2": lambda mp: mp(myfunct, None, DATA, parinfo(
        p1={"mpside": 2}, p2={"mpside": 2}), quiet=1),
    "gauss mpside -1": lambda mp: mp(myfunct, None, DATA, parinfo(p3={"mpside": -1}), quiet=1),
    "gauss mpmaxstep": lambda mp: mp(myfunct, None, DATA, parinfo(p1={"mpmaxstep": 0.1}),
                                     quiet=1),
    "gauss tied": lambda mp: mp(myfunct, None, DATA, parinfo(p0={"tied": "0.125 * p[1]"}),
                                quiet=1),
    "gauss parname/mpprint": lambda mp: mp(myfunct, None, DATA, parinfo(
        p0={"parname": "bkg"}, p1={"mpprint": 0}), quiet=1),
    "printout (default iterfunct)": lambda mp: mp(myfunct, None, DATA, parinfo(
        p0={"parname": "bkg"}, p1={"mpprint": 0}), maxiter=3),
    "Rosenbrock from (-1.2, 1)": lambda mp: mp(rosenbrock, np.array([-1.2, 1.0]), quiet=1),
    "gauss analytic derivs": lambda mp: mp(myfunct_deriv, START, DATA, autoderivative=0,
                                           quiet=1),
    "pegged at lower": lambda mp: mp(myfunct, None, DATA, parinfo(
        p0={"limited": [1, 0], "limits": [0.8, 0.0], "value": 1.0}), quiet=1),
    "pegged at upper": lambda mp: mp(myfunct, None, DATA, parinfo(
        p1={"limited": [0, 1], "limits": [0.0, 3.5]}), quiet=1),
    "maxiter=3": lambda mp: mp(myfunct, START, DATA, maxiter=3, quiet=1),
    "maxiter=0": lambda mp: mp(myfunct, START, DATA, maxiter=0, quiet=1),
    "damp=1": lambda mp: mp(myfunct, START, DATA, damp=1.0, quiet=1),
    "epsfcn=1e-6": lambda mp: mp(myfunct, START, DATA, epsfcn=1e-6, quiet=1),
    "nocovar": lambda mp: mp(myfunct, START, DATA, nocovar=1, quiet=1),
    "iterfunct stop -2": lambda mp: mp(myfunct, START, DATA, iterfunct=iter_stop, quiet=1),
    "fcn -7 at call 1": lambda mp: mp(stop_after(0), START, DATA, quiet=1),
    "fcn -7 at call 8": lambda mp: mp(stop_after(7), START, DATA, quiet=1),
    "fcn -7 at call 11": lambda mp: mp(stop_after(10), START, DATA, quiet=1),
    "non-finite at start": lambda mp: mp(nan_start, START, DATA, quiet=1),
    "non-finite mid-fit (inf region)": lambda mp: mp(inf_region, START, DATA, quiet=1),
    "integer start vector": lambda mp: mp(myfunct, [0, 3, 0, 1], DATA, quiet=1),
    "improper: outside limits": lambda mp: mp(myfunct, None, DATA, parinfo(
        p3={"limited": [1, 1], "limits": [2.0, 3.0]}), quiet=1),
    "improper: all fixed": lambda mp: mp(myfunct, START, DATA,
                                         [{"fixed": 1} for _ in START], quiet=1),
    "improper: ftol=0": lambda mp: mp(myfunct, START, DATA, ftol=0.0, quiet=1),
    "improper: damp+analytic": lambda mp: mp(myfunct_deriv, START, DATA, damp=1.0,
                                             autoderivative=0, quiet=1),
    "improper: limits order": lambda mp: mp(myfunct, None, DATA, parinfo(
        p3={"limited": [1, 1], "limits": [3.0, 0.5]}), quiet=1),
    "improper: m < n": lambda mp: mp(lambda p, fjac=None: [0, np.array([p[0] - 1.0])],
                                     np.array([0.0, 0.0]), quiet=1),
    **{f"NIST {name} start {s}": nist_problem(name, s)
       for name, s in (("Misra1a", 1), ("Thurber", 1), ("BoxBOD", 1), ("BoxBOD", 2),
                       ("MGH09", 2), ("Eckerle4", 1), ("Lanczos3", 1), ("Rat43", 2))},
}


# --------------------------------------------------------------------------- running
@dataclass
class Outcome:
    """One side's result on one problem (``crash`` holds the exception, if any)."""

    crash: str = ""
    status: Any = None
    errmsg: str = ""
    params: Any = None
    perror: Any = None
    fnorm: Any = None
    niter: Any = None
    nfev: Any = None
    printed: str = ""


def load_classic(path: str) -> Callable:
    """The classic ``mpfit`` class, imported from its file by path."""
    spec = importlib.util.spec_from_file_location("classic_mpfit", Path(path))
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.mpfit


def _run(problem: Callable, mp: Callable) -> Outcome:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), np.errstate(all="ignore"):
            m = problem(mp)
    except Exception as exc:  # noqa: BLE001  (a crash is a result here)
        return Outcome(crash=f"{type(exc).__name__}: {exc}"[:80], printed=out.getvalue())
    return Outcome(status=m.status, errmsg=m.errmsg or "", params=m.params, perror=m.perror,
                   fnorm=getattr(m, "fnorm", "(none)"), niter=m.niter, nfev=m.nfev,
                   printed=out.getvalue())


def run_problem(problem: Callable, classic: Callable) -> tuple[Outcome, Outcome]:
    return _run(problem, classic), _run(problem, paramfit_mpfit)


def _params_agree(a: Outcome, b: Outcome) -> bool:
    if a.params is None or b.params is None:
        return a.params is None and b.params is None
    pa, pb = np.asarray(a.params, float), np.asarray(b.params, float)
    if pa.shape != pb.shape:
        return False
    scale = np.zeros_like(pa)
    for err in (a.perror, b.perror):
        if err is not None:
            scale = np.fmax(scale, np.nan_to_num(np.asarray(err, float)))
    tol = np.where(scale > 0, 1e-3 * scale, 1e-6 * np.maximum(np.abs(pa), 1e-300))
    return bool(np.all(np.abs(pa - pb) <= tol))


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _errmsg_agree(a: Outcome, b: Outcome) -> bool:
    """Both empty, or paramfit's starts with the classic's; object addresses in
    ``str(function)`` are masked (each side may get its own closure)."""
    first, second = (_ADDRESS.sub(" at 0x...", o.errmsg) for o in (a, b))
    return (first == second == "") or (bool(first) and second.startswith(first))


def _fmt(values: Any, digits: int = 6) -> str:
    if values is None:
        return "None"
    return "[" + ", ".join(f"{v:.{digits}g}" for v in np.asarray(values, float).ravel()) + "]"


def _scalar(value: Any) -> str:
    return f"{value:.8g}" if isinstance(value, (float, np.floating)) else str(value)


def _digits(out: Outcome, certified: np.ndarray) -> str:
    if out.params is None or out.crash:
        return "-"
    pairs = zip(out.params, certified, strict=True)
    return f"{min(log_relative_error(v, c, max_digits=11) for v, c in pairs):.1f}"


def _side(out: Outcome) -> list[str]:
    if out.crash:
        return ["CRASH", out.crash, "", "", "", "", ""]
    return [str(out.status), repr(out.errmsg[:60]), _fmt(out.params), _fmt(out.perror, 3),
            _scalar(out.fnorm), str(out.niter), str(out.nfev)]


def _pair(a: Outcome, b: Outcome, attr: str) -> str:
    return " / ".join("crash" if o.crash else _scalar(getattr(o, attr)) for o in (a, b))


def _compact_row(name: str, a: Outcome, b: Outcome, digits: dict[str, str]) -> list[str]:
    ran = not a.crash and not b.crash
    return [name, _pair(a, b, "status"),
            repr(a.errmsg[:44]) if not a.crash else "CRASH " + a.crash[:40],
            ("yes" if _errmsg_agree(a, b) else "no") if ran else "-",
            ("yes" if _params_agree(a, b) else "no") if ran else "-",
            _pair(a, b, "fnorm"), _pair(a, b, "niter"), _pair(a, b, "nfev"),
            " / ".join(digits.values()) if digits["classic"] else ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classic", required=True, help="path of the classic mpfit.py")
    parser.add_argument("--markdown", action="store_true", help="a markdown table")
    parser.add_argument("--compact", action="store_true",
                        help="one row per problem: classic/paramfit side by side")
    args = parser.parse_args(argv)
    classic = load_classic(args.classic)
    header = ["problem", "side", "status", "errmsg", "params", "perror", "fnorm", "niter",
              "nfev", "agree (status/errmsg/params)", "digits"]
    compact_header = ["problem", "status", "errmsg (classic)", "errmsg agrees", "params agree",
                      "fnorm", "niter", "nfev", "digits"]
    rows, compact, counts = [], [], {"status": 0, "errmsg": 0, "params": 0, "both ran": 0}
    printouts: list[tuple[str, bool, int]] = []
    for name, problem in PROBLEMS.items():
        a, b = run_problem(problem, classic)
        ran = not a.crash and not b.crash
        agree = ("classic crashed" if a.crash and not b.crash else
                 "/".join("yes" if ok else "NO" for ok in (
                     a.status == b.status, _errmsg_agree(a, b), _params_agree(a, b))))
        if ran:
            counts["both ran"] += 1
            counts["status"] += a.status == b.status
            counts["errmsg"] += _errmsg_agree(a, b)
            counts["params"] += _params_agree(a, b)
        certified = getattr(problem, "certified", None)
        digits = {side: _digits(out, certified) if certified is not None else ""
                  for side, out in (("classic", a), ("paramfit", b))}
        for side, out in (("classic", a), ("paramfit", b)):
            rows.append([name, side, *_side(out), agree if side == "paramfit" else "",
                         digits[side]])
        compact.append(_compact_row(name, a, b, digits))
        if a.printed or b.printed:
            printouts.append((name, a.printed == b.printed, len(a.printed.splitlines())))
    if args.compact:
        _print(compact_header, compact, args.markdown)
    else:
        _print(header, rows, args.markdown)
    print(f"\n{len(PROBLEMS)} problems, both ran on {counts['both ran']}: status agrees on "
          f"{counts['status']}, errmsg on {counts['errmsg']}, params on {counts['params']}")
    for name, same, lines in printouts:
        print(f"printout of {name!r}: {'identical' if same else 'DIFFERS'} ({lines} lines)")
    return 0


def _print(header: list[str], rows: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
