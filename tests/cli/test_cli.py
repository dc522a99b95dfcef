"""The ``paramfit`` command line: fit, demo, nist, batch, and its error messages.

Subprocess tests (``python -m paramfit ...``) check the installed entry point end to
end; in-process ``main([...])`` tests check the details quickly. Certified NIST values
are read from the bundled data file here, independently of paramfit's parsers.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _reference import EXACT_RTOL, FIT_RTOL, least_squares_minimum

from paramfit import __version__
from paramfit.cli.app import main
from paramfit.cli.data import parse_table

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: NIST StRD: certified to 11 digits; Misra1a's values and standard errors come out with
#: >= 8 (see test_levenberg_marquardt.NIST_DIGITS): 6 digits is the bar.
NIST_DIGITS = 6


def nist_text(name: str) -> str:
    resource = importlib.resources.files("paramfit.reference") / "data" / "nist" / f"{name}.dat"
    return resource.read_text(encoding="ascii")


def certified(name: str) -> dict[str, tuple[float, float]]:
    """``{b1: (value, stderr), ...}`` read straight from the bundled StRD file."""
    pattern = re.compile(r"^\s*(b\d+)\s*=\s*\S+\s+\S+\s+(\S+)\s+(\S+)\s*$", re.M)
    return {m.group(1): (float(m.group(2)), float(m.group(3)))
            for m in pattern.finditer(nist_text(name))}


def digits(estimate: float, reference: float) -> float:
    relative = abs(estimate - reference) / abs(reference)
    return 99.0 if relative == 0 else float(-np.log10(relative))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paramfit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def call(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def decay_csv(tmp_path: Path) -> Path:
    """signal = 3 exp(-t/2.5) + 0.5 + small noise; sigma column 0.02; header row."""
    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 10.0, 60)
    signal = 3.0 * np.exp(-t / 2.5) + 0.5 + rng.normal(0.0, 0.02, t.size)
    rows = zip(t.tolist(), signal.tolist())
    lines = ["t,signal,sigma"] + [f"{a!r},{b!r},0.02" for a, b in rows]
    path = tmp_path / "decay.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def line_txt(tmp_path: Path) -> Path:
    """Whitespace columns, no header: y = 2.5 x - 1 exactly."""
    x = np.arange(10.0)
    path = tmp_path / "line.txt"
    path.write_text("# a comment line\n" + "".join(f"{a:g}   {2.5 * a - 1:g}\n" for a in x))
    return path


@pytest.fixture
def misra(tmp_path: Path) -> Path:
    path = tmp_path / "Misra1a.dat"
    path.write_text(nist_text("Misra1a"))
    return path


# ---------------------------------------------------------------- subprocess, end to end
def test_version_and_help(tmp_path):
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"paramfit {__version__}"
    assert main(["--help"]) == 0


def test_fit_nist_file_json_matches_certified_values(misra, tmp_path):
    out = tmp_path / "result.json"
    result = run_cli("fit", str(misra), "--report", "json", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert json.loads(out.read_text()) == printed
    assert printed["success"] is True and printed["nfev"] > 0
    for name, (value, stderr) in certified("Misra1a").items():
        assert digits(printed["values"][name], value) >= NIST_DIGITS
        assert digits(printed["stderr"][name], stderr) >= NIST_DIGITS
        assert printed["certified"]["params"][name]["digits_value"] >= NIST_DIGITS
    # the reader above against the file's text: decimal literals, parsed exactly alike
    assert certified("Misra1a")["b1"][0] == 2.3894212918e02
    assert certified("Misra1a")["b2"][0] == 5.5015643181e-04
    assert "model from the NIST file" in result.stderr


def test_demo_prints_certified_comparison_and_writes_png(tmp_path):
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[[Variables]]" in result.stdout
    for name, (value, _) in certified("Misra1a").items():
        row = next(line.split() for line in result.stdout.splitlines()
                   if line.split()[:1] == [name] and "e" in line)
        # the certified value as printed, to 11 significant digits (rounding <= 5e-12)
        assert float(row[2]) == pytest.approx(value, rel=1e-10)
        assert digits(float(row[1]), value) >= NIST_DIGITS and float(row[3]) >= NIST_DIGITS
    pytest.importorskip("matplotlib")  # the PNG needs paramfit[plot]
    png = tmp_path / "paramfit-demo.png"
    data = png.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_SIGNATURE


def test_nist_misra1a_both_starts_reach_six_digits(tmp_path):
    result = run_cli("nist", "Misra1a", "--start", "both", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("Misra1a")]
    assert [row[1] for row in rows] == ["1", "2"]
    for row in rows:
        assert float(row[2]) >= NIST_DIGITS and float(row[3]) >= NIST_DIGITS and row[5] == "yes"
    assert "values >= 6 digits: 2" in result.stdout


def test_error_is_one_line_without_traceback(tmp_path):
    result = run_cli("fit", str(tmp_path / "missing.csv"), "--model", "y ~ a*x", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"paramfit: error: data file {str(tmp_path / 'missing.csv')!r} does not exist"]
    assert result.stdout == ""


# ---------------------------------------------------------------- fit, in process
def test_fit_csv_with_header_and_weights(capsys, decay_csv, tmp_path):
    args = ["fit", str(decay_csv), "--model", "signal ~ a*exp(-t/tau) + c",
            "--start", "a=2,tau=1,c=0", "--report", "json"]
    code, out, err = call(capsys, *args)
    assert code == 0, err
    plain = json.loads(out)
    # near the truth (3, 2.5, 0.5): the stderrs are 0.009, 0.018, 0.005 and the fixed noise
    # draw puts tau 2.5 stderr off, so these bars are ~3 stderr ...
    assert plain["values"]["a"] == pytest.approx(3.0, abs=0.05)
    assert plain["values"]["tau"] == pytest.approx(2.5, abs=0.05)
    assert plain["values"]["c"] == pytest.approx(0.5, abs=0.02)
    # ... and at the minimum of the data as read back (JSON floats are repr, exact)
    t, signal = np.loadtxt(decay_csv, delimiter=",", skiprows=1, usecols=(0, 1)).T

    def resid(v):
        return v[0] * np.exp(-t / v[1]) + v[2] - signal

    def jac(v):
        e = np.exp(-t / v[1])
        return np.column_stack([e, v[0] * e * t / v[1] ** 2, np.ones_like(t)])

    ref = least_squares_minimum(resid, jac, [2.0, 1.0, 0.0])[0]
    assert [plain["values"][k] for k in ("a", "tau", "c")] == pytest.approx(ref, rel=FIT_RTOL)
    assert set(plain) >= {"values", "stderr", "chisqr", "redchi", "success", "message", "nfev"}
    code, out, _ = call(capsys, *args, "--err", "sigma")
    weighted = json.loads(out)
    # a constant sigma does not move the minimum, where chisqr is stationary: the
    # rounding of the sums is left (measured 2e-15)
    assert weighted["chisqr"] == pytest.approx(plain["chisqr"] / 0.02**2, rel=1e-12)
    assert weighted["values"]["tau"] == pytest.approx(plain["values"]["tau"], rel=FIT_RTOL)
    assert "no start value" not in err


def test_fit_whitespace_columns_without_header_text_report(capsys, line_txt):
    # as R's nls: parameters without start values are refused unless asked (issue 20)
    code, _, err = call(capsys, "fit", str(line_txt), "-m", "y ~ a*x + b")
    assert code == 2 and "no start value for 'a', 'b'" in err and "--default-start" in err
    code, out, err = call(capsys, "fit", str(line_txt), "-m", "y ~ a*x + b",
                          "--default-start", "1")
    assert code == 0
    assert "[[Fit Statistics]]" in out and "[[Variables]]" in out
    values = {m.group(1): float(m.group(2))
              for m in re.finditer(r"^\s+(a|b):\s+(\S+)", out, re.M)}
    # exact data; the text report rounds to 7 significant digits
    assert values == pytest.approx({"a": 2.5, "b": -1.0}, abs=1e-6)
    assert "paramfit: note: no start value for a, b: starting at 1 (--default-start)" in err


def test_fit_nist_with_explicit_formula_and_start2(capsys, misra):
    code, out, _ = call(capsys, "fit", str(misra), "--model", "y ~ b1*(1-exp(-b2*x))",
                        "--start", "b1=250,b2=0.0005", "--report", "json")
    assert code == 0
    result = json.loads(out)
    for name, (value, stderr) in certified("Misra1a").items():
        assert digits(result["values"][name], value) >= NIST_DIGITS
        assert digits(result["stderr"][name], stderr) >= NIST_DIGITS
        assert result["params"][name]["init_value"] in (250.0, 0.0005)


def test_fix_bounds_and_tie(capsys, decay_csv):
    base = ["fit", str(decay_csv), "-m", "signal ~ a*exp(-t/tau) + c", "--report", "json",
            "--start", "a=2,tau=2"]
    code, out, _ = call(capsys, *base, "--fix", "c=0.5", "--bounds", "a=0:2.9")
    result = json.loads(out)
    assert code == 0
    assert result["values"]["c"] == 0.5 and result["params"]["c"]["vary"] is False
    assert result["values"]["a"] == 2.9  # held at the bound: set to it exactly
    assert result["params"]["a"]["max"] == 2.9 and result["params"]["a"]["min"] == 0.0
    code, out, _ = call(capsys, *base, "--tie", "c=tau/5")
    result = json.loads(out)
    assert result["params"]["c"]["expr"] == "tau/5" and result["nvarys"] == 2
    # the expression is one IEEE division, as here (JSON floats round-trip exactly)
    assert result["values"]["c"] == pytest.approx(result["values"]["tau"] / 5, rel=1e-15)


def test_fit_ci_and_plot(capsys, decay_csv, tmp_path):
    png = tmp_path / "fit.png"
    code, out, _ = call(capsys, "fit", str(decay_csv), "-m", "signal ~ a*exp(-t/tau) + c",
                        "--start", "a=2,tau=2,c=0", "--ci", "--plot", str(png),
                        "--out", str(tmp_path / "r.json"))
    assert code == 0
    assert "[[Confidence intervals]]" in out
    result = json.loads((tmp_path / "r.json").read_text())
    for name, limits in result["ci"].items():
        values = [value for _, value in limits]
        assert values == sorted(values)
        assert min(values) < result["values"][name] < max(values)
    pytest.importorskip("matplotlib")  # the PNG needs paramfit[plot]
    assert png.read_bytes()[:8] == PNG_SIGNATURE


def test_x_alias_for_formula(capsys, decay_csv):
    code, out, _ = call(capsys, "fit", str(decay_csv), "-m", "signal ~ a*exp(-x/tau) + c",
                        "--x", "t", "--start", "a=2,tau=2,c=0", "--report", "json")
    assert code == 0
    # the same fit as in test_fit_csv_with_header_and_weights (tau 2.5 stderr off truth)
    assert json.loads(out)["values"]["tau"] == pytest.approx(2.5, abs=0.05)


# ---------------------------------------------------------------- built-in models
@pytest.fixture
def peaks_txt(tmp_path: Path) -> Path:
    """Two Gaussians on a line, whitespace columns with a header row."""
    from paramfit.models.lineshapes import gaussian

    x = np.linspace(0.0, 20.0, 201)
    y = gaussian(x, 8.0, 7.0, 1.2) + gaussian(x, 5.0, 13.0, 0.8) + 0.1 * x + 1.0
    path = tmp_path / "peaks.txt"
    np.savetxt(path, np.column_stack([x, y]), header="x y", comments="")
    return path


def test_builtin_models_with_automatic_prefixes_and_guess(capsys, peaks_txt, tmp_path):
    png = tmp_path / "peaks.png"
    code, out, err = call(capsys, "fit", str(peaks_txt), "-m", "y ~ gaussian + gaussian + linear",
                          "--report", "json", "--plot", str(png))
    assert code == 0, err
    values = json.loads(out)["values"]
    found = sorted([(values["g1_center"], values["g1_amplitude"], values["g1_sigma"]),
                    (values["g2_center"], values["g2_amplitude"], values["g2_sigma"])])
    # exact data (savetxt writes 18 digits): a zero-residual fit
    assert np.array(found) == pytest.approx(np.array([(7.0, 8.0, 1.2), (13.0, 5.0, 0.8)]),
                                            rel=EXACT_RTOL)
    assert values["l1_slope"] == pytest.approx(0.1, rel=EXACT_RTOL)
    assert values["l1_intercept"] == pytest.approx(1.0, rel=EXACT_RTOL)
    pytest.importorskip("matplotlib")  # the PNG needs paramfit[plot]
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert "no start value" not in err


def test_builtin_model_options_and_prefix_rule(capsys, peaks_txt):
    from paramfit.cli.app import parse_model_expression

    assert [p for _, p in parse_model_expression("linear + lorentzian").components] == [
        "li1_", "lo1_"]
    code, out, _ = call(capsys, "fit", str(peaks_txt), "-m", "gaussian + gaussian + linear",
                        "--fix", "l1_slope=0.1", "--report", "json")
    result = json.loads(out)
    assert code == 0 and result["params"]["l1_slope"]["vary"] is False
    code, _, err = call(capsys, "fit", str(peaks_txt), "-m", "gaussian + bump")
    assert code == 2 and "'bump' is not a built-in model" in err


# ---------------------------------------------------------------- batch
def test_batch_first_row_is_x_formula(capsys, tmp_path):
    pd = pytest.importorskip("pandas")
    x = np.linspace(0.0, 10.0, 50)
    truth = [(1.0, 2.0), (2.0, 3.0), (3.0, 1.5)]
    rows = [x] + [a * np.exp(-x / t) + 0.2 for a, t in truth]
    data = tmp_path / "rows.csv"
    np.savetxt(data, np.array(rows), delimiter=",")
    out = tmp_path / "results.csv"
    code, text, _ = call(capsys, "batch", str(data), "-m", "y ~ a*exp(-x/t) + c",
                         "--start", "a=1,t=1,c=0", "--out", str(out), "--progress")
    assert code == 0 and "3 datasets fitted" in text
    frame = pd.read_csv(out)
    assert len(frame) == 3 and frame["success"].all()
    # exact data (savetxt's 18 digits, read back by pandas' round-trip parser): zero
    # residuals, the batch fit converges quadratically to the truth (measured 2e-16); the
    # CSV holds repr'd floats
    assert frame[["a", "t"]].to_numpy() == pytest.approx(np.array(truth), rel=EXACT_RTOL)
    assert frame["c"].to_numpy() == pytest.approx(0.2, rel=EXACT_RTOL)
    assert {"a_stderr", "chisqr"} <= set(frame.columns)


def test_batch_x_file_builtin_model_subprocess(tmp_path):
    pd = pytest.importorskip("pandas")
    from paramfit.models.lineshapes import gaussian

    x = np.linspace(0.0, 10.0, 60)
    np.savetxt(tmp_path / "x.txt", x)
    np.savetxt(tmp_path / "data.txt", np.array([gaussian(x, a, c, 1.0)
                                                for a, c in [(1, 4), (2, 5), (3, 6)]]))
    result = run_cli("batch", "data.txt", "--x", "x.txt", "-m", "gaussian", "--out", "r.csv",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(tmp_path / "r.csv")
    # exact data, as in test_batch_first_row_is_x_formula
    assert frame["g1_center"].to_numpy() == pytest.approx([4.0, 5.0, 6.0], rel=EXACT_RTOL)
    assert frame["g1_amplitude"].to_numpy() == pytest.approx([1.0, 2.0, 3.0], rel=EXACT_RTOL)


def test_batch_errors(capsys, tmp_path):
    np.savetxt(tmp_path / "one.txt", np.ones((1, 5)))
    code, _, err = call(capsys, "batch", str(tmp_path / "one.txt"), "-m", "y ~ a*x")
    assert code == 2 and "no datasets after it" in err
    np.savetxt(tmp_path / "two.txt", np.ones((3, 5)))
    code, _, err = call(capsys, "batch", str(tmp_path / "two.txt"), "-m", "y ~ a*t")
    assert code == 2 and "must use x" in err


# ---------------------------------------------------------------- demo and nist, in process
def test_demo_no_plot_and_missing_matplotlib(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = call(capsys, "demo", "--no-plot")
    assert code == 0 and "Certified values" in out
    assert not (tmp_path / "paramfit-demo.png").exists()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = call(capsys, "demo", "--plot", str(tmp_path / "x.png"))
    assert code == 0 and "Certified values" in out
    assert "matplotlib is not installed" in err
    assert not (tmp_path / "x.png").exists()


def _fake_case(name, start, values, stderr):
    from paramfit.reference.nist import NistCaseResult

    return NistCaseResult(name=name, start=start, values=np.zeros(2), stderr=np.zeros(2),
                          digits_values=values, digits_stderr=stderr, digits_rss=values,
                          success=True, nfev=10, message="ok", rss=1.0)


def test_nist_exit_status_and_known_cases(capsys, monkeypatch):
    import paramfit.reference.nist

    monkeypatch.setattr(paramfit.reference.nist, "run_case",
                        lambda name, start, method="leastsq", **kws: _fake_case(name, start, 3.0,
                                                                          7.0))
    monkeypatch.setattr(paramfit.reference.nist, "KNOWN_OUT_OF_REACH", {}, raising=False)
    code, out, err = call(capsys, "nist", "Misra1a", "--start", "2")
    assert code == 1 and "BELOW 4 DIGITS" in out and "Misra1a/2" in err
    monkeypatch.setattr(paramfit.reference.nist, "KNOWN_OUT_OF_REACH", {("Misra1a", 2): "why"})
    code, out, _ = call(capsys, "nist", "Misra1a", "--start", "2")
    assert code == 0 and "known out of reach" in out
    code, out, _ = call(capsys, "nist", "--all", "--start", "1")
    assert code == 1 and "27 cases" in out


# ---------------------------------------------------------------- errors
ERRORS = [
    (["fit", "{csv}", "-m", "signal ~ a*t", "--x", "time"],
     "no column 'time' (from --x) in {csv}; its columns are: t, signal, sigma"),
    (["fit", "{csv}", "-m", "y ~ a*t"],
     "no column 'y' (the left-hand side of the formula) in the data; "
     "its columns are: t, signal, sigma"),
    (["fit", "{csv}", "-m", "signal ~ a*t", "--err", "dy"],
     "no column 'dy' (from --err) in {csv}; its columns are: t, signal, sigma"),
    (["fit", "{csv}", "-m", "signal ~ a*t + b", "--fix", "q"],
     "unknown parameter 'q' in --fix; the model's parameters are: a, b"),
    (["fit", "{csv}", "-m", "signal ~ a*t + b", "--bounds", "q=0:1"],
     "unknown parameter 'q' in --bounds; the model's parameters are: a, b"),
    (["fit", "{csv}", "-m", "signal ~ a*t + b", "--tie", "q=2*a"],
     "unknown parameter 'q' in --tie; the model's parameters are: a, b"),
    (["fit", "{csv}", "-m", "signal ~ a*t + b", "--start", "q=1"],
     "unknown parameter 'q' in --start; the model's parameters are: a, b"),
    (["fit", "{csv}", "-m", "signal ~ a*t + b", "--start", "a=one"],
     "--start a='one': 'one' is not a number"),
    (["fit", "{csv}", "-m", "signal ~ a.real*t"],
     "formula 'signal ~ a.real*t': attribute access (.) is not allowed"),
    (["fit", "{csv}", "-m", "signal ~ foo(a*t)"], "formula 'signal ~ foo(a*t)' calls unknown"),
    (["fit", "{csv}"], "--model is required"),
    (["fit", "{csv}", "-m", "signal ~ a*t", "--bogus"], "unrecognized arguments: --bogus"),
    (["nist", "NoSuchProblem"], "unknown NIST StRD problem 'NoSuchProblem'"),
]


@pytest.mark.parametrize(("args", "message"), ERRORS)
def test_errors_exit_2_with_one_line(capsys, decay_csv, args, message):
    args = [arg.format(csv=decay_csv) for arg in args]
    code, out, err = call(capsys, *args)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("paramfit: error: " + message.format(csv=decay_csv))


def test_formula_syntax_error_points_at_the_position(capsys, decay_csv):
    code, _, err = call(capsys, "fit", str(decay_csv), "-m", "signal ~ a*t +* b")
    assert code == 2
    assert err.splitlines() == [
        "paramfit: error: cannot parse the formula at column 15 (marked >>>): invalid syntax: "
        "signal ~ a*t +>>>* b"
    ]


def test_debug_shows_the_exception(decay_csv):
    with pytest.raises(Exception, match="unknown parameter 'q'"):
        main(["fit", str(decay_csv), "-m", "signal ~ a*t", "--fix", "q", "--debug"])
    with pytest.raises(Exception, match="does not exist"):
        main(["--debug", "fit", "nowhere.csv", "-m", "y ~ a*x"])


# ---------------------------------------------------------------- data files
def test_headerless_column_names_and_nist_detection():
    assert parse_table("1 2\n3 4\n", "a").names == ["x", "y"]
    assert parse_table("1 2 0.1\n3 4 0.1\n", "b").names == ["x", "y", "err"]
    assert parse_table("1,2,3,4\n5,6,7,8\n", "c").names == ["c0", "c1", "c2", "c3"]
    table = parse_table("x y\n1 2\n3 nan\n", "d")
    assert table.kind == "whitespace" and np.isnan(table.column("y")[1])
    nist = parse_table(nist_text("Nelson"), "Nelson.dat")
    assert nist.kind == "nist" and nist.names == ["y", "x1", "x2"]
    assert nist.certified.formula == "log(y) ~ b1 - b2*x1 * exp(-b3*x2)"
    assert nist.certified.values.tolist() == [v for v, _ in certified("Nelson").values()]


def test_ragged_rows_name_the_line():
    from paramfit.cli.data import UsageError

    with pytest.raises(UsageError, match=r"data.csv line 3: 1 values where the header names 2"):
        parse_table("a,b\n1,2\n3\n", "data.csv")
    with pytest.raises(UsageError, match=r"line 2: 'abc' is not a number"):
        parse_table("1 2\nabc 4\n", "f")


def test_nist_command_fits_the_formulas_with_exact_derivatives(capsys):
    # paramfit nist --derivatives exact: the NIST formula with its symbolic Jacobian reaches
    # the certified digits (Misra1a: 11 digits in the values, certified to 11) with fewer
    # evaluations than the finite-difference default
    assert main(["nist", "Misra1a", "--start", "2", "--derivatives", "exact"]) == 0
    exact = capsys.readouterr().out.splitlines()[1].split()
    assert main(["nist", "Misra1a", "--start", "2"]) == 0
    numeric = capsys.readouterr().out.splitlines()[1].split()
    assert float(exact[2]) >= 6 and float(exact[3]) >= 6
    assert int(exact[6]) < int(numeric[6])
