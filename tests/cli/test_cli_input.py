"""Careless command-line input (issue 20): refused with messages that say what to do,
name file lines as the file numbers them, and never name internal functions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from paramfit.cli.app import main

X = np.linspace(0.0, 4.0, 12)
Y = 2.5 * X - 1.0  # exact data: a = 2.5, b = -1.0


def call(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def line_csv(tmp_path: Path) -> Path:
    path = tmp_path / "line.csv"
    rows = "".join(f"{float(x)!r},{float(y)!r}\n" for x, y in zip(X, Y, strict=True))
    path.write_text("x,y\n" + rows, encoding="utf-8")
    return path


def _json_fit(capsys, *argv: str) -> dict:
    code, out, err = call(capsys, *argv, "--report", "json")
    assert code == 0, err
    return json.loads(out)


def test_cli_excel_csv_utf8_bom_crlf(capsys, tmp_path, line_csv) -> None:
    excel = tmp_path / "excel.csv"
    excel.write_bytes(b"\xef\xbb\xbf" + line_csv.read_bytes().replace(b"\n", b"\r\n"))
    plain = _json_fit(capsys, "fit", str(line_csv), "-m", "y ~ a*x + b", "--start", "a=1,b=0")
    bom = _json_fit(capsys, "fit", str(excel), "-m", "y ~ a*x + b", "--start", "a=1,b=0")
    assert sorted(bom["values"]) == ["a", "b"]  # x is the column, not a parameter
    assert bom["values"] == plain["values"]     # the same numbers read, the same fit


def test_cli_unknown_model_name_suggests(capsys, line_csv) -> None:
    code, out, err = call(capsys, "fit", str(line_csv), "-m", "gausian")
    assert code == 2 and out == ""
    assert "'gausian' is not a built-in model; did you mean 'gaussian'?" in err
    code, _, err = call(capsys, "fit", str(line_csv), "-m", "gaussian + linar")
    assert code == 2 and "'linar' (did you mean 'linear'?)" in err


def test_cli_formula_column_typo_is_refused_with_suggestion(capsys, line_csv) -> None:
    code, out, err = call(capsys, "fit", str(line_csv), "-m", "y ~ a*xx", "--start", "a=1")
    assert code == 2 and out == ""
    assert "no start value for 'xx'" in err
    assert "did you mean the column 'x'?" in err
    # asked for explicitly: the parameter is allowed
    fit = _json_fit(capsys, "fit", str(line_csv), "-m", "y ~ a*x + b", "--default-start", "0.5")
    assert fit["values"]["a"] == pytest.approx(2.5, rel=1e-9)  # exact data, LM xtol 1.5e-8


def test_cli_fix_and_tie_conflict_refused(capsys, line_csv) -> None:
    code, _, err = call(capsys, "fit", str(line_csv), "-m", "y ~ a*x + b + 0*c",
                        "--start", "a=1,b=0,c=1", "--fix", "a=2", "--tie", "a=2*c")
    assert code == 2 and "'a' is given both --fix and --tie" in err


def test_cli_nan_policy_and_line_numbers(capsys, tmp_path, line_csv) -> None:
    lines = line_csv.read_text().splitlines()
    lines.insert(1, "# a comment line: the file's line numbers count it")
    lines[4] = lines[4].split(",")[0] + ","  # an empty y cell on file line 5
    holey = tmp_path / "holey.csv"
    holey.write_text("\n".join(lines) + "\n")
    args = ("fit", str(holey), "-m", "y ~ a*x + b", "--start", "a=1,b=0")
    code, _, err = call(capsys, *args)
    assert code == 2
    assert "column 'y' at line 5" in err and "--nan-policy omit" in err
    assert "nan_policy=" not in err and "<locals>" not in err and "_fit" not in err
    fit = _json_fit(capsys, *args, "--nan-policy", "omit")
    assert fit["ndata"] == X.size - 1
    # exact data on the 11 complete rows: the fit is the line (LM's xtol 1.5e-8)
    assert fit["values"]["a"] == pytest.approx(2.5, rel=1e-8)
    code, _, err = call(capsys, "fit", str(holey), "-m", "linear", "--nan-policy", "omit",
                        "--report", "json")
    assert code == 0, err


def test_cli_errors_name_no_internal_function(capsys, line_csv) -> None:
    code, _, err = call(capsys, "fit", str(line_csv), "-m", "y ~ a*log(x - 100)",
                        "--start", "a=1")
    assert code in (1, 2)
    assert not re.search(r"<locals>|_fit_formula|residual function \w+\.", err), err
