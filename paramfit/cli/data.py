"""Reading data files for the ``paramfit`` command line: CSV, whitespace columns, NIST StRD.

Three formats are told apart by their content, not by the file name:

* a NIST StRD nonlinear-regression file (``.dat`` as NIST distributes it): recognised by
  its ``Certified Values`` block and a ``Data:  y  x ...`` header line. The data block
  gives the columns; the parameter lines give NIST's two starting points and the
  certified values and standard deviations; the model line is translated to a Python
  expression (``[ ]`` to ``( )``, ``^`` to ``**``, the ``+ e`` error term dropped);
* a CSV file (its first data line holds a comma), with an optional header row;
* whitespace-separated columns, with an optional header row.

A header row is a first line that is not all numbers. Without one the columns are named
``x, y`` (two columns), ``x, y, err`` (three columns) or ``c0, c1, ...`` (otherwise).
Lines starting with ``#`` and blank lines are skipped; an empty field or ``nan`` is NaN.

Everything that goes wrong raises :class:`UsageError` with a message for a person.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paramfit.core.exceptions import ParamfitError, ParamfitWarning
from paramfit.reference.nist import log_relative_error, parse_nist

__all__ = [
    "CERTIFIED_DIGITS",
    "CertifiedValues",
    "DataTable",
    "UsageError",
    "certified_comparison",
    "certified_table",
    "finite_or_none",
    "parse_table",
    "read_matrix",
    "read_table",
    "read_text",
]

#: Certified values in the NIST StRD files have 11 significant digits: the most that
#: can agree.
CERTIFIED_DIGITS = 11

_DATA_HEADER = re.compile(r"^\s*Data:\s+y(\s+\w+)+\s*$")
_NAME_LINE = re.compile(r"Dataset Name:\s*(\S+)")


class UsageError(ParamfitError):
    """A mistake in what the user asked for: the CLI prints it as one line, exit code 2."""


@dataclass(frozen=True)
class CertifiedValues:
    """What a NIST StRD file certifies, parsed from the file itself.

    Attributes
    ----------
    name : str
        Dataset name from the ``Dataset Name:`` line (or the file stem).
    param_names : tuple of str
        ``("b1", ..., "bk")``.
    starts : ndarray, shape (2, k)
        NIST's "Start 1" (row 0) and "Start 2" (row 1).
    values, stderr : ndarray, shape (k,)
        Certified values and standard deviations.
    rss : float
        Certified residual sum of squares.
    formula : str or None
        The model as a formula ``"y ~ b1*(1-exp(-b2*x))"`` (``"log(y) ~ ..."`` for
        Nelson), or None when the model line could not be found.
    """

    name: str
    param_names: tuple[str, ...]
    starts: np.ndarray
    values: np.ndarray
    stderr: np.ndarray
    rss: float
    formula: str | None


@dataclass(frozen=True)
class DataTable:
    """Named numeric columns read from one file.

    Attributes
    ----------
    source : str
        Where the data came from (the path as given).
    kind : str
        ``'csv'``, ``'whitespace'`` or ``'nist'``.
    columns : dict of str to ndarray
        Column name to values, shape (n,), in file order.
    certified : CertifiedValues or None
        Set for NIST StRD files.
    lines : tuple of int or None
        The file line number (1-based) of each data row, for messages.
    """

    source: str
    kind: str
    columns: dict[str, np.ndarray]
    certified: CertifiedValues | None = None
    lines: tuple[int, ...] | None = None

    def line_of(self, row: int) -> str:
        """``'line N'`` of data row ``row`` (0-based) as numbered in the file (1-based)."""
        return f"line {self.lines[row]}" if self.lines else f"data row {row + 1}"

    @property
    def names(self) -> list[str]:
        """Column names in file order."""
        return list(self.columns)

    def column(self, name: str, *, option: str | None = None) -> np.ndarray:
        """The column ``name``; :class:`UsageError` listing the columns if there is none.

        Parameters
        ----------
        name : str
        option : str, optional
            The command-line option that named the column, quoted in the message.
        """
        try:
            return self.columns[name]
        except KeyError:
            where = f" (from {option})" if option else ""
            raise UsageError(
                f"no column {name!r}{where} in {self.source}; its columns are: "
                f"{', '.join(self.columns)}"
            ) from None


def read_text(path: str | Path) -> str:
    """The text of ``path``, or :class:`UsageError` saying why it cannot be read."""
    file = Path(path)
    if not file.exists():
        raise UsageError(f"data file {str(path)!r} does not exist")
    if file.is_dir():
        raise UsageError(f"{str(path)!r} is a directory, not a data file")
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark, which would
        # otherwise become part of the first column's name
        return file.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None


def read_table(path: str | Path) -> DataTable:
    """Read a CSV, whitespace-column or NIST StRD file (see the module docstring).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DataTable

    Raises
    ------
    UsageError
        Missing or unreadable file, no numeric data, rows of different lengths, a
        non-numeric value (with its line number).
    """
    return parse_table(read_text(path), str(path))


def parse_table(text: str, source: str) -> DataTable:
    """Parse file contents ``text``; ``source`` names the file in messages.

    Examples
    --------
    >>> table = parse_table("t,signal\\n0,1.5\\n1,2.5\\n", "example.csv")
    >>> table.kind, table.names, table.column("signal").tolist()
    ('csv', ['t', 'signal'], [1.5, 2.5])
    """
    text = text.removeprefix("\ufeff")  # a byte-order mark read without utf-8-sig
    if _looks_like_nist(text):
        return _parse_nist(text, source)
    rows = _content_lines(text)
    if not rows:
        raise UsageError(f"{source} holds no data")
    delimiter = "," if "," in rows[0][1] else None
    kind = "csv" if delimiter else "whitespace"
    fields = [(number, _split(line, delimiter)) for number, line in rows]
    header = None if _all_numbers(fields[0][1]) else fields.pop(0)[1]
    if not fields:
        raise UsageError(f"{source} has a header row but no data rows")
    width = len(header) if header is not None else len(fields[0][1])
    values = np.empty((len(fields), width))
    for i, (number, tokens) in enumerate(fields):
        if len(tokens) != width:
            raise UsageError(
                f"{source} line {number}: {len(tokens)} values where the "
                f"{'header names' if header is not None else 'first row has'} {width}"
            )
        values[i] = [_number(token, source, number) for token in tokens]
    names = _column_names(header, width, source)
    return DataTable(source, kind, {name: values[:, j] for j, name in enumerate(names)},
                     lines=tuple(number for number, _ in fields))


def read_matrix(path: str | Path) -> tuple[list[str] | None, np.ndarray]:
    """Read a numeric matrix (one dataset per row) for ``paramfit batch``.

    CSV or whitespace separated; a first line that is not all numbers is returned as the
    header. Returns ``(header or None, array of shape (rows, columns))``. Empty, NaN or
    infinite values are read as NaN and named by file line and column in a
    :class:`~paramfit.ParamfitWarning` (such a dataset ends failed: every dataset is
    fitted at every x).
    """
    table = parse_table(read_text(path), str(path))
    if table.kind == "nist":
        raise UsageError(f"{path} is a NIST StRD file; 'paramfit batch' wants one dataset a row")
    matrix = np.column_stack(list(table.columns.values()))
    missing = ~np.isfinite(matrix)
    if missing.any():  # those datasets end failed (IMPROPER_INPUT): say where, by file line
        rows = np.flatnonzero(missing.any(axis=1))
        shown = "; ".join(
            f"{table.line_of(int(r))} column{'s' if missing[r].sum() > 1 else ''} "
            f"{', '.join(str(c + 1) for c in np.flatnonzero(missing[r]))}"
            for r in rows[:5])
        more = f" (and {rows.size - 5} more rows)" if rows.size > 5 else ""
        warnings.warn(f"{path}: empty or NaN values at {shown}{more}: 'paramfit batch' "
                      "fits every dataset at every x value, so those rows cannot be fitted "
                      "(reported failed); fill the values or remove the rows, or fit such "
                      "a dataset alone with 'paramfit fit --nan-policy omit'",
                      ParamfitWarning, stacklevel=2)
    header = table.names if not _default_names(table.names) else None
    return header, matrix


# ---------------------------------------------------------------- certified values
def finite_or_none(value: Any) -> float | None:
    """``float(value)``, or None for None, NaN and infinities (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def certified_comparison(params: Any, chisqr: float,
                         certified: CertifiedValues) -> dict[str, Any] | None:
    """Fitted against certified values with the digits that agree (log relative error)."""
    if not set(certified.param_names) <= set(params):
        return None
    rows = {}
    for name, value, sd in zip(certified.param_names, certified.values, certified.stderr):
        par = params[name]
        rows[name] = {
            "value": finite_or_none(par.value), "certified_value": float(value),
            "digits_value": round(log_relative_error(
                par.value, value, max_digits=CERTIFIED_DIGITS), 2),
            "stderr": finite_or_none(par.stderr), "certified_stderr": float(sd),
            "digits_stderr": round(log_relative_error(
                par.stderr, sd, max_digits=CERTIFIED_DIGITS), 2),
        }
    return {
        "dataset": certified.name, "params": rows, "rss": finite_or_none(chisqr),
        "certified_rss": certified.rss,
        "digits_rss": round(log_relative_error(chisqr, certified.rss,
                                               max_digits=CERTIFIED_DIGITS), 2),
    }


def certified_table(comparison: Mapping[str, Any]) -> str:
    """Text table: fitted and certified values and standard errors, digits that agree."""
    lines = [
        f"[[Certified values: NIST StRD {comparison['dataset']}]]",
        f"    {'name':<6} {'value':>18} {'certified':>18} {'digits':>6}"
        f" {'stderr':>18} {'certified':>18} {'digits':>6}",
    ]
    for name, row in comparison["params"].items():
        lines.append(
            f"    {name:<6} {_num(row['value'])} {_num(row['certified_value'])} "
            f"{row['digits_value']:6.1f} {_num(row['stderr'])} "
            f"{_num(row['certified_stderr'])} {row['digits_stderr']:6.1f}"
        )
    lines.append(f"    {'RSS':<6} {_num(comparison['rss'])} "
                 f"{_num(comparison['certified_rss'])} {comparison['digits_rss']:6.1f}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return f"{'n/a':>18}" if value is None else f"{value:18.10e}"


# ---------------------------------------------------------------- plain tables
def _content_lines(text: str) -> list[tuple[int, str]]:
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [token.strip().strip('"').strip("'").strip() for token in line.split(delimiter)]


def _all_numbers(tokens: list[str]) -> bool:
    try:
        [float(token) for token in tokens if token]
    except ValueError:
        return False
    return True


def _number(token: str, source: str, line: int) -> float:
    if token == "":
        return float("nan")
    try:
        return float(token)
    except ValueError:
        raise UsageError(f"{source} line {line}: {token!r} is not a number") from None


def _column_names(header: list[str] | None, width: int, source: str) -> list[str]:
    if header is None:
        return {2: ["x", "y"], 3: ["x", "y", "err"]}.get(width, [f"c{j}" for j in range(width)])
    names = [name if name else f"c{j}" for j, name in enumerate(header)]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"{source}: the header names column(s) {duplicates} more than once")
    return names


def _default_names(names: list[str]) -> bool:
    return names in (["x", "y"], ["x", "y", "err"]) or names == [
        f"c{j}" for j in range(len(names))
    ]


# ---------------------------------------------------------------- NIST StRD files
def _looks_like_nist(text: str) -> bool:
    return "Certified Values" in text and any(
        _DATA_HEADER.match(line) for line in text.splitlines()
    )


def _parse_nist(text: str, source: str) -> DataTable:
    """A NIST StRD file through :func:`paramfit.reference.nist.parse_nist` (the one parser)."""
    name_match = _NAME_LINE.search(text)
    name = name_match.group(1) if name_match else Path(source).stem
    try:
        problem = parse_nist(text, name)
    except ValueError as exc:
        raise UsageError(f"{source}: {exc}") from None
    columns = {"y": problem.y.copy()}
    columns.update((key, value.copy()) for key, value in problem.predictors().items())
    certified = CertifiedValues(
        name=name, param_names=problem.param_names, starts=problem.starts.copy(),
        values=problem.certified_values.copy(), stderr=problem.certified_stderr.copy(),
        rss=problem.certified_rss,
        formula=f"{problem.response_expression} ~ {problem.expression}",
    )
    return DataTable(source, "nist", columns, certified)
