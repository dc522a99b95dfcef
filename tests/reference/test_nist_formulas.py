"""The NIST StRD problems written as formulas, fitted with exact derivatives (issue 19).

``run_case(..., derivatives='exact')`` builds each problem's formula string (parsed from
its file) with the one formula builder and passes the formula's exact Jacobian to the
fit; ``derivatives='numeric'`` is the same formula by finite differences.  Against the
certified values (an independent source), the issue's goals:

* values and standard errors >= 6 digits wherever double precision allows: every case
  but ``KNOWN_OUT_OF_REACH`` (Lanczos1's standard errors; BoxBOD from start 1, where
  every Levenberg-Marquardt path fails and says so);
* total evaluations (``nfev + njev``: each exact Jacobian is one run of the
  value-and-Jacobian code) at most half those of the finite-difference twin.

bench/bench_formulas.py prints the table and times both (the speed goal is measured
there, not asserted here: a wall-clock test would hinge on the machine's load).
"""

from __future__ import annotations

import _perturb
import numpy as np
import pytest

from paramfit.core.parameters.parameters import Parameters
from paramfit.reference.nist import (
    KNOWN_OUT_OF_REACH,
    NistCaseResult,
    formula_residual,
    load_nist,
    nist_names,
    run_case,
)

CASES = [(name, start) for name in nist_names() for start in (1, 2)]
#: The issue's bar.  Measured: the least over the cases within reach is 7.0 digits
#: (ENSO's values) and 7.4 (Thurber start 1's standard errors): a digit of margin.
DIGITS = 6


@pytest.fixture(scope="module")
def results() -> dict[str, dict[tuple[str, int], NistCaseResult]]:
    """Every case fitted once by each kind (starts moved by ``--perturb-ulps``)."""
    return {kind: {case: run_case(*case, start_ulps=_perturb.ULPS, derivatives=kind)
                   for case in CASES} for kind in ("exact", "numeric")}


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case[0]}-start{case[1]}")
def test_formula_with_exact_derivatives_reaches_six_digits(results, case):
    result = results["exact"][case]
    if result.digits_values < 4:
        assert not result.success, f"false success: {result.digits_values:.1f} digits"
    if case in KNOWN_OUT_OF_REACH:
        if case[0] == "Lanczos1":  # only its standard errors are out of reach
            assert result.digits_values >= DIGITS, result.message
        pytest.skip(f"known out of reach: {KNOWN_OUT_OF_REACH[case]}")
    assert result.digits_values >= DIGITS, result.message
    assert result.digits_stderr >= DIGITS, result.message
    assert result.njev > 0


def test_exact_derivatives_take_at_most_half_the_evaluations(results):
    exact = sum(r.nfev + r.njev for r in results["exact"].values())
    numeric = sum(r.nfev for r in results["numeric"].values())
    # measured 6452 against 16922 (0.38)
    assert exact <= 0.5 * numeric, (exact, numeric)


def test_formula_jacobian_is_the_hand_written_models_derivative():
    """At the certified values, the exact Jacobian of every formula against central
    differences of the hand-written model (nist_models.py, written independently of the
    formula text)."""
    for name in nist_names():
        problem = load_nist(name)
        residual, jacobian = formula_residual(problem)
        params = Parameters()
        for key, value in zip(problem.param_names, problem.certified_values, strict=True):
            params.add(key, value=float(value))
        b = np.array(problem.certified_values, dtype=float)
        got = jacobian(params)
        np.testing.assert_allclose(residual(params), problem.residual(b), rtol=1e-12,
                                   atol=1e-12 * np.abs(problem.response).max())
        for j in range(problem.k):
            h = 1e-6 * abs(b[j])  # every certified value is nonzero
            up, down = b.copy(), b.copy()
            up[j] += h
            down[j] -= h
            column = (problem.residual(up) - problem.residual(down)) / (2 * h)
            scale = np.abs(column).max()
            # central differences with h = 1e-6 |b|: truncation h^2 |f'''| / 6 and
            # rounding eps |f| / h; measured <= 7e-9 of the column's scale (ENSO b8):
            # 1e-7 leaves 14x, and a wrong column is off by O(1) of its scale
            np.testing.assert_allclose(got[:, j], column, rtol=0, atol=1e-7 * scale,
                                       err_msg=f"{name} column {j}")
