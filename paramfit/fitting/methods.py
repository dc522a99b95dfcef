"""The fitting methods a :class:`~paramfit.fitting.minimizer.Minimizer` knows by name.

lmfit 1.3's method names (``leastsq`` and its aliases, ``least_squares``, scipy's scalar
and global methods, ``emcee``), its ``scalar_minimize`` table, and its flags for the
optional packages (found with :func:`importlib.util.find_spec`, not imported).
"""

from __future__ import annotations

import importlib.util

from paramfit.core.solvers.scipy_methods import GLOBAL_METHODS
from paramfit.core.solvers.scipy_methods import SCALAR_METHODS as _SCIPY_SCALAR

__all__ = ["METHODS", "SCALAR_METHODS", "HAS_EMCEE", "HAS_PANDAS"]

_LEASTSQ_NAMES = ("leastsq", "lm", "levenberg_marquardt")
METHODS = (*_LEASTSQ_NAMES, "least_squares", *_SCIPY_SCALAR, *GLOBAL_METHODS, "emcee")
#: lmfit 1.3's table of ``scalar_minimize`` methods: its name -> scipy's name
SCALAR_METHODS = {
    **{name: _SCIPY_SCALAR[name] for name in (
        "nelder", "powell", "cg", "bfgs", "newton", "lbfgsb", "l-bfgsb", "tnc", "cobyla",
        "slsqp", "dogleg", "trust-ncg")},
    "differential_evolution": "differential_evolution",
    **{name: _SCIPY_SCALAR[name] for name in ("trust-constr", "trust-exact",
                                              "trust-krylov")},
}
#: Whether the optional packages are installed (lmfit 1.3's flags; found, not imported)
HAS_EMCEE = importlib.util.find_spec("emcee") is not None
HAS_PANDAS = importlib.util.find_spec("pandas") is not None
