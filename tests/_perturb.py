"""Start values moved by a few units in the last place: the ``--perturb-ulps`` runs.

``pytest --perturb-ulps=K`` moves every start value of the reference suites (NIST StRD,
the Moré-Garbow-Hillstrom problems, the seeds' examples: everything marked ``reference``)
by ``K`` units in the last place (``np.nextafter``, towards +inf for K > 0, -inf for
K < 0).  No outcome those suites assert may hinge on the last bit, so they must pass for
K = +2 and K = -2 as for K = 0 (``.ci/run`` runs all three).
"""

from __future__ import annotations

import numpy as np

#: Set from the command line by ``conftest.pytest_configure``; 0 leaves starts as given.
ULPS = 0


def nudged(values, ulps: int | None = None) -> np.ndarray:
    """``values`` (any shape, as float) moved by ``ulps`` units in the last place.

    ``ulps`` defaults to the ``--perturb-ulps`` option of this run.
    """
    ulps = ULPS if ulps is None else int(ulps)
    out = np.array(values, dtype=float)
    direction = np.inf if ulps > 0 else -np.inf
    for _ in range(abs(ulps)):
        out = np.nextafter(out, direction)
    return out


def nudged_float(value: float, ulps: int | None = None) -> float:
    """One start value, :func:`nudged`."""
    return float(nudged(value, ulps))
