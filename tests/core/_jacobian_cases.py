"""Shared test problem of tests/test_jacobian.py and tests/test_solution_jacobian.py:
a residual with known analytic derivatives and a recording wrapper."""

from __future__ import annotations

import numpy as np

T = np.linspace(0.0, 5.0, 40)
Q0 = np.array([2.0, 0.7, 1.5, 3.0])


def model(q):
    return q[0] * np.exp(-q[1] * T) + q[2] * np.sin(q[3] * T)


def model_jacobian(q):
    e = np.exp(-q[1] * T)
    return np.column_stack([e, -q[0] * T * e, np.sin(q[3] * T), q[2] * T * np.cos(q[3] * T)])


def column_errors(estimate, exact):
    """Largest error of each column relative to that column's largest entry."""
    return np.max(np.abs(estimate - exact), axis=0) / np.max(np.abs(exact), axis=0)


class Recorder:
    """A residual function that remembers every x it is called with."""

    def __init__(self, scale=None):
        self.scale = np.ones(4) if scale is None else scale
        self.seen = []

    def __call__(self, p):
        self.seen.append(np.array(p, copy=True))
        return model(p * self.scale)
