"""paramfit.core.linalg against dense linear algebra (numpy) in the same test."""

from __future__ import annotations

import numpy as np
import pytest

from paramfit.core.linalg import lm_step, pivoted_qr

RNG = np.random.default_rng(4)
JAC = RNG.normal(size=(40, 4)) @ np.diag([3.0, 1.0, 0.2, 5.0])
F = RNG.normal(size=40)
DIAG = np.linalg.norm(JAC, axis=0)


def test_damped_solve_reuses_the_steps_factor_for_another_right_hand_side():
    qr = pivoted_qr(np.asfortranarray(JAC), F)
    gauss_newton = np.linalg.lstsq(JAC, -F, rcond=None)[0]
    delta = 0.2 * np.linalg.norm(DIAG * gauss_newton)     # cuts the step short: par > 0
    step, par, _, _ = lm_step(qr, DIAG, delta, 0.0)
    assert par > 0.0
    perm = qr.pivots
    rhs = RNG.normal(size=4)
    solved = qr.damped_solve(DIAG[perm], par, rhs[perm])
    # the damped normal equations (J^T J + par D^2) y = rhs, in pivoted order; their
    # condition (~1e3 here) times eps bounds the difference of the two solutions
    dense = np.linalg.solve(JAC.T @ JAC + par * np.diag(DIAG**2), rhs)
    np.testing.assert_allclose(solved, dense[perm], rtol=1e-11)
    # the same step solves the damped system it was made from
    np.testing.assert_allclose(step, np.linalg.solve(JAC.T @ JAC + par * np.diag(DIAG**2),
                                                     -JAC.T @ F), rtol=1e-11)


@pytest.mark.parametrize("change", ["par", "diag"])
def test_damped_solve_refuses_another_system(change):
    qr = pivoted_qr(np.asfortranarray(JAC), F)
    gauss_newton = np.linalg.lstsq(JAC, -F, rcond=None)[0]
    _, par, _, _ = lm_step(qr, DIAG, 0.2 * np.linalg.norm(DIAG * gauss_newton), 0.0)
    diag_p = DIAG[qr.pivots]
    if change == "par":
        par *= 1.5
    else:
        diag_p = 2.0 * diag_p
    assert qr.damped_solve(diag_p, par, np.ones(4)) is None
    # and a factorisation no damped step was solved with has none
    assert pivoted_qr(np.asfortranarray(JAC), F).damped_solve(diag_p, par, np.ones(4)) is None
