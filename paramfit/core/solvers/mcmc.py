"""Markov-chain Monte Carlo sampling of the posterior with emcee (optional extra ``emcee``).

:func:`run_emcee` samples ``ln p(x) = -chisqr(x) / 2`` (the residuals are taken to be
weighted by their standard deviations, lmfit 1.3's ``is_weighted=True``) under a
uniform prior inside the parameters' bounds, every evaluation through the fit's
:class:`~paramfit.core.solvers.final_phase.Evaluator`, with
``emcee.EnsembleSampler`` (Foreman-Mackey et al., PASP 125, 306, 2013).  The answer is
the median of the chain; its covariance (``extras['chain_covar']``) gives the
standard errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from paramfit.core.bounds import active_bounds
from paramfit.core.exceptions import OptionError, StopFit
from paramfit.core.optional import require
from paramfit.core.options import FitOptions
from paramfit.core.problem import FitProblem
from paramfit.core.solvers.final_phase import Evaluator
from paramfit.core.statistics import SolverOutcome

__all__ = ["run_emcee", "EMCEE_OPTIONS"]

#: the keywords of ``Minimizer.emcee`` (lmfit 1.3's names) and their defaults
EMCEE_OPTIONS = {"steps": 1000, "nwalkers": 100, "burn": 0, "thin": 1, "pos": None,
                 "seed": 0, "progress": False, "float_behavior": "posterior",
                 "is_weighted": True, "workers": 1, "ntemps": 1, "reuse_sampler": False,
                 "run_mcmc_kwargs": None}


def _settings(options: FitOptions) -> dict[str, Any]:
    kws = dict(options.solver_kws)
    unknown = sorted(set(kws) - set(EMCEE_OPTIONS) - {"reduce_fcn"})
    if unknown:
        raise OptionError(f"emcee got unknown keyword(s) {unknown}; it accepts "
                          f"{sorted(EMCEE_OPTIONS)}")
    out = {**EMCEE_OPTIONS, **kws}
    if not out["is_weighted"]:
        raise OptionError("emcee(is_weighted=False) (sampling the noise level too) is not "
                          "supported: weight the residuals by their standard deviations")
    if out["float_behavior"] not in ("posterior", "chi2"):
        raise OptionError("float_behavior must be 'posterior' or 'chi2', got "
                          f"{out['float_behavior']!r}")
    if int(out["ntemps"]) != 1 or out["reuse_sampler"]:
        raise OptionError("emcee: ntemps and reuse_sampler are not supported (one ensemble "
                          "sampler per call; pass pos=result.chain to continue a chain)")
    workers = out["workers"]
    if not callable(getattr(workers, "map", None)) and int(workers) != 1:
        raise OptionError(f"emcee: workers={workers!r}: give 1 (this process) or a pool "
                          "object with a map(function, iterable) method (the residual is "
                          "evaluated through the fit's own counter, which other processes "
                          "cannot reach)")
    return out


def run_emcee(problem: FitProblem, evaluator: Evaluator, options: FitOptions,
              callback: Callable | None = None) -> SolverOutcome:
    """Sample the posterior of the free parameters with emcee's ensemble sampler.

    Options (``options.solver_kws``): ``steps``, ``nwalkers``, ``burn``, ``thin``,
    ``pos`` (start positions, shape ``(nwalkers, nvarys)``, or a previous chain
    ``(steps, nwalkers, nvarys)``, continued from its last positions; default the start
    values with a relative scatter of 1e-4), ``workers`` (1, or a pool object with a
    ``map`` method, used by emcee for the walkers' evaluations), ``seed`` (default 0:
    of the walkers' random numbers and of ``pos``), ``progress``, ``run_mcmc_kwargs``.
    ``nfev`` counts every evaluation (the walkers' start positions and the median's
    included; lmfit 1.3 reports ``nwalkers * steps``).
    """
    emcee = require("emcee", "emcee", "method 'emcee'")
    cfg = _settings(options)
    n = problem.nvarys
    nwalkers, steps = int(cfg["nwalkers"]), int(cfg["steps"])
    rng = np.random.default_rng(cfg["seed"])
    lower, upper = problem.lower, problem.upper
    if cfg["pos"] is None:
        x0 = problem.x0
        scale = np.where(x0 != 0.0, np.abs(x0) * 1e-4, 1e-4)
        pos = x0 + scale * rng.standard_normal((nwalkers, n))
        pos = np.clip(pos, lower, upper)
    else:
        pos = np.asarray(cfg["pos"], dtype=float)
        if pos.ndim == 3 and pos.shape[1:] == (nwalkers, n):
            pos = pos[-1]  # a previous chain (steps, nwalkers, nvarys): continue from its end
        if pos.shape != (nwalkers, n):
            raise OptionError(f"pos must have shape (nwalkers, nvarys) = ({nwalkers}, {n}) "
                              f"or be a chain (steps, {nwalkers}, {n}), got {pos.shape}")
    half = 0.5 if cfg["float_behavior"] == "posterior" else 1.0

    def log_prob(theta: np.ndarray) -> float:
        if np.any(theta < lower) or np.any(theta > upper):
            return -np.inf
        r = evaluator.raw(np.array(theta, dtype=float))
        evaluator.record(np.array(theta, dtype=float), r.copy())
        value = float(r @ r)
        return -half * value if np.isfinite(value) else -np.inf

    pool = cfg["workers"] if callable(getattr(cfg["workers"], "map", None)) else None
    sampler = emcee.EnsembleSampler(nwalkers, n, log_prob, pool=pool)
    # the walkers' moves from the same seed (paramfit's determinism rule; seed=None: not)
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    try:
        sampler.run_mcmc(pos, steps, progress=bool(cfg["progress"]),
                         **dict(cfg["run_mcmc_kwargs"] or {}))
    except StopFit as stop:
        x = evaluator.best_x if evaluator.best_x is not None else problem.x0.copy()
        return SolverOutcome(x=x, residual=evaluator.best_f, jac=None, nfev=evaluator.nfev,
                             njev=0, niter=0, success=False, message=stop.message,
                             ier=stop.code, user_code=stop.code,
                             active=active_bounds(x, lower, upper))
    burn, thin = int(cfg["burn"]), int(cfg["thin"])
    chain = sampler.get_chain(thin=thin, discard=burn)
    flat = chain.reshape((-1, n))
    x = np.median(flat, axis=0)
    residual = evaluator.raw(x.copy())
    evaluator.adopt(x, residual)
    extras: dict[str, Any] = {
        "chain": np.copy(chain), "lnprob": np.copy(sampler.get_log_prob(thin=thin,
                                                                        discard=burn)),
        "acceptance_fraction": np.copy(sampler.acceptance_fraction),
        "chain_covar": np.atleast_2d(np.cov(flat.T)), "call_kws": dict(cfg),
    }
    try:
        extras["acor"] = sampler.get_autocorr_time(discard=burn, thin=thin, quiet=True)
    except Exception:  # noqa: BLE001  (a short chain: emcee cannot estimate it)
        extras["acor"] = None
    return SolverOutcome(x=x, residual=residual, jac=None, nfev=evaluator.nfev, njev=0,
                         niter=steps, success=True, message="emcee sampling finished",
                         ier=0, active=np.zeros(n, np.int8), extras=extras)
