"""The ``paramfit`` command line (also ``python -m paramfit``).

Commands
--------
``paramfit fit DATA --model FORMULA_OR_NAME [options]``
    Fit one data file (CSV with a header row, whitespace columns, or a NIST StRD
    ``.dat`` file) with a formula ``"y ~ a*exp(-x/t) + c"`` or a sum of built-in
    models ``"gaussian + linear"``; print the fit report (``--report text``) or JSON
    (``--report json``); ``--out`` writes the JSON, ``--plot`` a PNG, ``--ci`` adds
    confidence intervals.
``paramfit demo``
    Fit the bundled NIST StRD problem Misra1a from NIST's start 1, print the report and
    the certified values side by side with the number of digits that agree, and write
    ``paramfit-demo.png``.
``paramfit nist [NAME ...|--all] [--start 1|2|both] [--derivatives numeric|exact]``
    Run NIST StRD problems and print the digits of agreement with the certified values.
``paramfit batch DATA --model ... [--x-row | --x COLFILE] [--out results.csv]``
    Fit every row of a file with :func:`paramfit.batch.api`.

Formulas
--------
``LHS ~ RHS``: the left-hand side is the response column (or an expression of columns,
e.g. ``log(y)``); in the right-hand side every name that is a column of the data file
is data, every name that is a function or constant of the expression language
(``exp``, ``sin``, ``pi``...) is that, and every other name is a fitted parameter, in
order of first appearance. ``x`` in a formula means the ``--x`` column when the file
has no column called ``x``. Without ``~`` the formula is the right-hand side and the
response is ``--y`` (default: the column ``y``). Formulas are compiled by the safe
expression compiler (:mod:`paramfit.core.expressions.compiler`), never by Python's ``eval`` of text.

A formula whose names are all built-in models joined by ``+`` (or ``*``), such as
``gaussian + gaussian + linear``, is built from :mod:`paramfit.models.builtin`. Every
component gets a prefix made of the shortest start of its model name that tells the
names in the formula apart, and a counter: ``gaussian + gaussian + linear`` has the
parameters ``g1_amplitude, g1_center, g1_sigma, g2_amplitude, ..., l1_slope,
l1_intercept``; ``linear + lorentzian`` has ``li1_...`` and ``lo1_...``.

Start values come from ``--start``, else the built-in models' ``guess``, else NIST's
start 1 when the data file is a NIST StRD file with the same parameter names, else 1.0
(with a note on stderr). ``--err COL`` weights the residuals by ``1/err``.

Exit status: 0 when the fit converged (``fit``, ``demo``) or every case reached 4 digits
(``nist``); 1 when a fit did not converge or a NIST case fell below 4 digits; 2 for a
usage or data error, reported on one line ``paramfit: error: ...`` (a formula with a
syntax error is quoted with ``>>>`` at the position at fault). ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from paramfit.cli.commands import run
from paramfit.cli.data import UsageError
from paramfit.cli.parsing import (
    PROG,
    Formula,
    ModelExpression,
    builtin_model_names,
    parse_assignments,
    parse_bounds,
    parse_formula,
    parse_model_expression,
)
from paramfit.core import __version__
from paramfit.core.exceptions import ParamfitError

__all__ = [
    "Formula",
    "ModelExpression",
    "builtin_model_names",
    "parse_model_expression",
    "build_parser",
    "main",
    "parse_assignments",
    "parse_bounds",
    "parse_formula",
]

# ---------------------------------------------------------------- argument parser
_FIT_EPILOG = """\
formulas:
  "y ~ a*exp(-x/t) + c"  lhs = response column; rhs names that are columns are data,
                         other names (not exp, sin, pi...) are parameters
  "gaussian + linear"    built-in models; prefixes g1_, g2_, l1_ ... (shortest start of
                         the model name that tells the names apart, then a counter)
start values: --start, else the models' guess, else NIST start 1 for a NIST file, else 1.0
exit status: 0 converged, 1 not converged, 2 usage or data error
examples:
  paramfit fit data.csv -m "signal ~ a*exp(-t/tau) + c" --start tau=2 --plot fit.png
  paramfit fit peaks.txt -m "gaussian + gaussian + linear" --report json --out fit.json
  paramfit fit Misra1a.dat --ci
"""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``paramfit: error: ...``, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _add_debug(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--debug", action="store_true", default=default,
        help="show the Python traceback of an error",
    )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", metavar="FORMULA_OR_NAME",
                        help='"y ~ a*exp(-x/t) + c" or built-in models "gaussian + linear"')
    parser.add_argument("--start", action="append", metavar="NAME=VALUE[,...]",
                        help="start values, e.g. a=1,t=2 (repeatable)")
    parser.add_argument("--fix", action="append", metavar="NAME[=VALUE][,...]",
                        help="hold parameters at their start value (or at VALUE)")
    parser.add_argument("--bounds", action="append", metavar="NAME=LOW:HIGH[,...]",
                        help="bounds, e.g. a=0:10 or t=0: (an empty side is unbounded)")
    parser.add_argument("--tie", action="append", metavar="NAME=EXPRESSION",
                        help='tie a parameter to others, e.g. "w2=2*w1/3" (repeatable)')
    parser.add_argument("--method", default="leastsq",
                        help="fitting method (default leastsq; see paramfit.minimize)")
    parser.add_argument("--default-start", type=float, metavar="VALUE",
                        help="start every formula parameter that --start does not give at "
                             "VALUE (without it such a parameter is refused, as R's nls "
                             "does: it is often a misspelt column)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``paramfit`` command."""
    parser = _Parser(prog=PROG, description="Non-linear least-squares fitting with "
                     "named Parameters: fit data files, run the NIST StRD problems.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_debug(parser, False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    fit = commands.add_parser("fit", help="fit a data file with a formula or built-in models",
                              description="Fit one data file (CSV, whitespace columns or a "
                              "NIST StRD .dat file).", epilog=_FIT_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    fit.add_argument("data", metavar="DATA", help="data file")
    _add_model_options(fit)
    fit.add_argument("--x", metavar="COL", help="independent-variable column")
    fit.add_argument("--y", metavar="COL", help="response column (default: formula's lhs)")
    fit.add_argument("--err", metavar="COL", help="uncertainty column: weights 1/err")
    fit.add_argument("--nan-policy", choices=("raise", "omit"), default="raise",
                     help="rows with an empty or NaN value in a column the model uses: "
                          "refuse them with their line numbers (raise, default) or leave "
                          "them out of the fit (omit)")
    fit.add_argument("--ci", action="store_true", help="add profile confidence intervals")
    fit.add_argument("--report", choices=("text", "json"), default="text",
                     help="what to print (default text)")
    fit.add_argument("--plot", metavar="PNG", help="write a plot of data and fit")
    fit.add_argument("--out", metavar="JSON", help="write the result as JSON")
    _add_debug(fit, argparse.SUPPRESS)

    demo = commands.add_parser("demo", help="fit a bundled NIST StRD problem",
                               description="Fit a bundled NIST StRD problem and compare "
                               "with its certified values.")
    demo.add_argument("--dataset", default="Misra1a", help="NIST problem (default Misra1a)")
    demo.add_argument("--start", type=int, choices=(1, 2), default=1,
                      help="NIST starting point (default 1)")
    demo.add_argument("--plot", metavar="PNG", default="paramfit-demo.png",
                      help="where to write the plot (default paramfit-demo.png)")
    demo.add_argument("--no-plot", action="store_true", help="do not write a plot")
    _add_debug(demo, argparse.SUPPRESS)

    nist = commands.add_parser("nist", help="run NIST StRD problems, print correct digits",
                               description="Fit NIST StRD problems and print the number of "
                               "digits that agree with the certified values.")
    nist.add_argument("names", nargs="*", metavar="NAME", help="problems (default: all)")
    nist.add_argument("--all", action="store_true", help="all 27 problems")
    nist.add_argument("--start", choices=("1", "2", "both"), default="both",
                      help="NIST starting point(s) (default both)")
    nist.add_argument("--method", default="leastsq", help="fitting method (default leastsq)")
    nist.add_argument("--derivatives", choices=("numeric", "exact"), default=None,
                      help="'exact': fit each problem's formula with its symbolic Jacobian "
                      "(default: the hand-written model, finite differences)")
    _add_debug(nist, argparse.SUPPRESS)

    batch = commands.add_parser("batch", help="fit every row of a file",
                                description="Fit each row of DATA (one dataset a row) with "
                                "paramfit.batch.api.")
    batch.add_argument("data", metavar="DATA", help="data file, one dataset per row")
    _add_model_options(batch)
    where = batch.add_mutually_exclusive_group()
    where.add_argument("--x-row", action="store_true",
                       help="the first row holds x (the default)")
    where.add_argument("--x", metavar="COLFILE", help="file with the x values (one column)")
    batch.add_argument("--out", metavar="CSV", default="results.csv",
                       help="results file (default results.csv)")
    batch.add_argument("--progress", action="store_true", help="show a progress bar")
    _add_debug(batch, argparse.SUPPRESS)
    return parser


# ---------------------------------------------------------------- entry point
def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: object = None, line: str | None = None) -> None:
    """Show a warning as one line ``paramfit: warning: ...`` on stderr."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``paramfit`` command; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 success, 1 a fit did not converge or a NIST case fell short, 2 usage error.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            args = build_parser().parse_args(arguments)
            if args.command is None:
                build_parser().print_help()
                return 2
            return run(args)
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except BrokenPipeError:  # e.g. `paramfit fit ... | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (stay quiet at exit)
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
        return 2 if _is_user_error(exc) else 1


def _is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, ParamfitError | OSError | ValueError)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, UsageError):
        return text
    text = " ".join(text.split())
    if isinstance(exc, ParamfitError):
        return text
    if not isinstance(exc, OSError | ValueError):
        text = f"{type(exc).__name__}: {text}"
    return f"{text} (run with --debug for the traceback)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
