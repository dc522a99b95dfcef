"""NIST StRD nonlinear regression: the certified-data suite (27 problems x 2 starts).

Every case runs through :func:`paramfit.reference.nist.run_case`, i.e. the public
:func:`paramfit.minimize` with default settings, once per session. Scored with the log
relative error (LRE, digits agreeing with the certified value, capped at the 11 certified
digits), the suite asserts:

* no false success: a fit reporting ``success`` has at least 4 correct digits in every value;
* every case reaches 4 digits in values and standard errors, except ``KNOWN_OUT_OF_REACH``;
* at least ``MIN_CASES_AT_6_DIGITS`` of the 54 reach 6 digits in values and standard errors.

``pytest -s`` prints the table of digits per case.
"""

from __future__ import annotations

import types

import _perturb
import numpy as np
import pytest
from scipy.optimize import least_squares

import paramfit.reference.nist
from paramfit.reference.nist import (
    KNOWN_OUT_OF_REACH,
    NistCaseResult,
    load_nist,
    nist_names,
    run_case,
)

CASES = [(name, start) for name in nist_names() for start in (1, 2)]
#: Measured: 51 in each of 9 runs (starts as given and moved by +-2 ulp, under three
#: OpenBLAS kernels); the other 3 are KNOWN_OUT_OF_REACH.
MIN_CASES_AT_6_DIGITS = 51



@pytest.fixture(scope="module")
def results() -> dict[tuple[str, int], NistCaseResult]:
    """All 54 cases, fitted once (starts moved by ``--perturb-ulps``)."""
    return {case: run_case(*case, start_ulps=_perturb.ULPS) for case in CASES}


def _label(case):
    return f"{case[0]}-start{case[1]}"


@pytest.mark.parametrize("case", CASES, ids=_label)
def test_case(results, case):
    result = results[case]
    if result.digits_values < 4:
        assert not result.success, f"false success: {result.digits_values:.1f} digits"
    if case in KNOWN_OUT_OF_REACH:
        pytest.skip(f"known out of reach: {KNOWN_OUT_OF_REACH[case]}")
    assert result.digits_values >= 4, result.message
    assert result.digits_stderr >= 4, result.message


def test_overall_counts(results):
    print()
    print(f"{'case':18s} {'values':>6s} {'stderr':>6s} {'rss':>5s} {'ok':>3s} {'nfev':>5s}")
    for case, r in results.items():
        print(
            f"{_label(case):18s} {r.digits_values:6.1f} {r.digits_stderr:6.1f}"
            f" {r.digits_rss:5.1f} {'y' if r.success else 'n':>3s} {r.nfev:5d}"
        )
    at6 = [c for c, r in results.items() if min(r.digits_values, r.digits_stderr) >= 6]
    below4 = [c for c, r in results.items() if min(r.digits_values, r.digits_stderr) < 4]
    false_success = [c for c, r in results.items() if r.success and r.digits_values < 4]
    print(
        f"at >= 6 digits: {len(at6)}/54; below 4 digits: {len(below4)}"
        f" {[_label(c) for c in below4]}; false successes: {len(false_success)};"
        f" nfev total: {sum(r.nfev for r in results.values())}"
    )
    assert not false_success
    assert len(at6) >= MIN_CASES_AT_6_DIGITS
    assert set(below4) <= set(KNOWN_OUT_OF_REACH)


def test_known_out_of_reach_entries_are_documented():
    for case, reason in KNOWN_OUT_OF_REACH.items():
        assert case in CASES and reason.strip()


# ---------------------------------------------------------------------------------------
# run_case's contract with the public API, checked against a local stand-in for
# paramfit.minimize / paramfit.Parameters (test-only; scipy.optimize.least_squares).


class _FallbackParameter:
    def __init__(self, value):
        self.value = value
        self.stderr = None


class _FallbackParameters(dict):
    def add(self, name, value=None):
        self[name] = _FallbackParameter(value)


def _fallback_minimize(fcn, params, method="leastsq", **fit_kws):
    assert method == "leastsq" and not fit_kws
    names = list(params)

    def residual(x):
        for name, value in zip(names, x, strict=True):
            params[name].value = value
        return fcn(params)

    x0 = [params[name].value for name in names]
    fit = least_squares(residual, x0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    residual(fit.x)
    chisqr = float(fit.fun @ fit.fun)
    covar = np.linalg.inv(fit.jac.T @ fit.jac) * chisqr / (fit.fun.size - len(names))
    for name, variance in zip(names, np.diag(covar), strict=True):
        params[name].stderr = float(np.sqrt(variance))
    return types.SimpleNamespace(
        params=params, success=fit.success, nfev=fit.nfev, njev=fit.njev or 0,
        message=fit.message, chisqr=chisqr
    )


@pytest.mark.parametrize("name", ["Misra1a", "Nelson"])
def test_run_case_contract_with_stand_in(monkeypatch, name):
    # run_case's names for the fit (imported at the top of paramfit.reference.nist)
    monkeypatch.setattr(paramfit.reference.nist, "minimize", _fallback_minimize)
    monkeypatch.setattr(paramfit.reference.nist, "Parameters", _FallbackParameters)
    result = run_case(name, 1)
    problem = load_nist(name)
    assert result.name == name and result.start == 1
    assert result.values.shape == result.stderr.shape == (problem.k,)
    assert result.success and result.nfev > 0 and isinstance(result.message, str)
    assert result.digits_values >= 6 and result.digits_stderr >= 4
    assert result.rss == pytest.approx(problem.certified_rss, rel=1e-8)
    assert result.digits_rss >= 8
