"""Fit statistics, covariance and diagnostics computed once a solver has finished.

Everything here works on the solution of a :class:`~paramfit.core.problem.FitProblem`:
the best free vector, the residual there and an accurate Jacobian there.  It records
nothing in the user's Parameters (values, stderr, correl, status: that is
:class:`~paramfit.Minimizer`'s one job after the statistics).  The
covariance is computed from the singular value decomposition of the Jacobian
restricted to the parameters that are free *and* not held at a bound, so a
parameter stopped by a bound neither gets a meaningless standard error nor
distorts the others'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special
from scipy.linalg import lapack

from paramfit.core.linalg import _upper_mask, gram_matrix, gram_triangle, is_tall
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.problem import FitProblem

__all__ = ["FitResult", "SolverOutcome", "build_result", "standard_errors", "correlations",
           "tied_stderr"]


@dataclass(kw_only=True, eq=False)
class SolverOutcome:
    """What every solver hands back, whatever its family.

    The fields a solver knows are declared here once; :class:`FitResult` adds the
    statistics computed from them (and :class:`~paramfit.models.result.ModelResult`
    shows both).

    Attributes
    ----------
    x : ndarray, shape (n,)
        Best free vector found.
    residual : ndarray, shape (m,)
        Residual at ``x``.
    jac : ndarray, shape (m, n) or None
        An accurate Jacobian at ``x`` if the solver has one; else it is computed.
    nfev, njev, niter : int
        Residual evaluations (counted by the fit's
        :class:`~paramfit.core.solvers.final_phase.Evaluator`), Jacobian evaluations
        (analytic or finite-difference sweeps) and iterations.
    success : bool
        Whether the solver's convergence test was met.
    message : str
        Why it stopped, in words.
    ier : int
        Integer code (MINPACK's 1..8 for Levenberg–Marquardt, 0 improper input,
        negative for a user stop).
    termination : object
        The solver's own termination value (an enum member where it has one).
    user_code : int or None
        The code carried by :class:`~paramfit.StopFit` when the user stopped the fit.
    active : ndarray of int8, shape (n,) or None
        -1 for a parameter held at its lower bound, +1 at its upper bound, else 0.
    extras : dict
        What only some solvers have, under lmfit 1.3's result attribute names (brute's
        ``brute_x0``, ``brute_fval``, ``brute_grid``, ``brute_Jout``; emcee's ``chain``,
        ``lnprob``, ``acceptance_fraction``...; scipy's ``nit``...) and ``call_kws``.
    jac_gram : ndarray, shape (n, n), or None
        ``jac.T @ jac`` when the solver formed it for ``jac`` (a tall Jacobian), so that
        the covariance does not pass over the Jacobian again; None otherwise.
    """

    x: np.ndarray
    residual: np.ndarray
    jac: np.ndarray | None
    nfev: int
    njev: int
    niter: int
    success: bool
    message: str
    ier: int
    termination: Any = None
    user_code: int | None = None
    active: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    jac_gram: np.ndarray | None = None


@dataclass(kw_only=True, eq=False)
class FitResult(SolverOutcome):
    """Every statistic of a fit (seed 000 §3.4 plus nlsr's diagnostics, seed 001).

    The solver's fields (``x``, ``residual``, ``jac``, ``nfev``, ``njev``, ``niter``,
    ``success``, ``message``, ``ier``, ``termination``, ``user_code``, ``active``) are
    those of :class:`SolverOutcome`; ``jac`` is the accurate Jacobian at the best fit.
    Building a FitResult (:func:`build_result`) writes nothing into the Parameters:
    :class:`~paramfit.Minimizer` does that.

    Attributes
    ----------
    method : str
        The fitting method used.
    params : Parameters
        The Parameters of the fit (the Minimizer writes the best fit into them).
    var_names : list of str
        Names of the varied parameters, the order of ``covar``, ``jac`` and ``x``.
    init_vals : list of float
        Start values of the varied parameters.
    errorbars : bool
        Whether standard errors could be estimated.
    lmdif_message : str
        The solver's own termination message.
    nvarys, ndata, nfree : int
        Varied parameters, residuals, degrees of freedom ``ndata - nvarys``.
    chisqr, redchi : float
        ``sum(residual**2)`` and ``chisqr / nfree``.
    aic, bic : float
        Akaike and Bayesian information criteria, ``N ln(chisqr/N) + 2k`` and
        ``N ln(chisqr/N) + k ln N``.
    covar : ndarray, shape (nvarys, nvarys) or None
        Covariance of the varied parameters (scaled by ``redchi`` when
        ``scale_covar``); rows and columns of parameters held at a bound are 0.
    gradient : ndarray, shape (nvarys,)
        ``jac.T @ residual``: half the gradient of ``chisqr``.
    jac_singular_values : ndarray, shape (nvarys,)
        Singular values of ``jac``, largest first.
    tvalues, pvalues : dict
        ``value / stderr`` and the two-sided p-value of Student's t with ``nfree``
        degrees of freedom, per varied parameter with a standard error.
    scale_covar : bool
        Whether ``covar`` was scaled by ``redchi``.
    """

    method: str
    params: Parameters
    var_names: list[str]
    init_vals: list[float]
    errorbars: bool
    lmdif_message: str
    nvarys: int
    ndata: int
    nfree: int
    chisqr: float
    redchi: float
    aic: float
    bic: float
    covar: np.ndarray | None
    gradient: np.ndarray
    jac_singular_values: np.ndarray
    tvalues: dict[str, float] = field(default_factory=dict)
    pvalues: dict[str, float] = field(default_factory=dict)
    scale_covar: bool = True


#: Rank tolerance on the column-normalised Jacobian: singular-value ratio below which
#: the covariance is declared singular.  A finite-difference Jacobian is accurate to
#: ~1e-10, so two parameters with the same effect show a ratio of 1e-10..1e-13; the
#: most ill-conditioned NIST StRD problem (Bennett5) has 1.8e-5.
RANK_RTOL_FINITE_DIFFERENCE = 1e-9
RANK_RTOL_ANALYTIC = 1e-13
EPS = float(np.finfo(float).eps)
_dgeqrf = lapack.dgeqrf
_dgesdd = lapack.dgesdd
_dtrtri = lapack.dtrtri


def _covariance(factor: np.ndarray, inactive: np.ndarray, rtol: float) -> np.ndarray | None:
    """``inv(J.T J)`` over the inactive columns, or None when rank deficient.

    ``factor`` is the triangular factor R of ``J = Q R`` (shape (n, n)): every
    quantity here depends on ``J`` only through ``JᵀJ = RᵀR``, so the work is on
    n×n matrices.  The rank test is made with unit-norm columns, so it does not
    depend on the units of the parameters.  With every column inactive the
    column-scaled ``S = R D⁻¹`` is still triangular and ``inv(JᵀJ) = D⁻¹ S⁻¹ S⁻ᵀ D⁻¹``
    (one triangular inverse); a column subset goes through the SVD of ``R D⁻¹``.
    """
    n = factor.shape[1]
    if inactive.all():
        idx, sub = None, factor
    else:
        idx = np.flatnonzero(inactive)
        if idx.size == 0:
            return np.zeros((n, n))
        sub = factor[:, idx]
    norms = np.sqrt(np.einsum("ij,ij->j", sub, sub))
    if not ((norms > 0.0).all() and math.isfinite(float(norms.sum()))):
        return None     # a zero column, or a non-finite entry somewhere
    scaled = np.asfortranarray(sub / norms)
    limit = max(rtol, max(sub.shape) * EPS)
    if idx is None:
        _, singular, _, info = _dgesdd(scaled, compute_uv=0)
        if info != 0 or not singular[-1] > singular[0] * limit:
            return None
        inverse, info = _dtrtri(scaled, lower=0)
        if info != 0:
            return None
        inverse /= norms[:, None]
        return inverse @ inverse.T
    _, s, vt = np.linalg.svd(scaled, full_matrices=False)
    if not s[-1] > s[0] * limit:
        return None
    v = (vt.T / s) / norms[:, None]
    cov = np.zeros((n, n))
    cov[np.ix_(idx, idx)] = v @ v.T
    return cov


#: A tall Jacobian (:func:`~paramfit.core.linalg.is_tall`) whose column-scaled
#: condition number is at most this gets its triangular factor from its Gram matrix
#: (relative error about ``cond**2 * eps`` <= 2e-10): one read of the Jacobian instead
#: of the Householder QR's passes.
COVARIANCE_GRAM_LIMIT = 1e3


def triangular_factor(jac: np.ndarray, gram: np.ndarray | None = None) -> np.ndarray:
    """``R`` of ``J = Q R`` (shape (n, n)): all the covariance needs (``J^T J = R^T R``).
    ``gram``: ``J^T J`` of a tall ``jac`` when the solver formed it."""
    m, n = jac.shape
    if is_tall(m, n) and jac.flags.f_contiguous:
        r = gram_triangle(gram_matrix(jac)[0] if gram is None else gram,
                          COVARIANCE_GRAM_LIMIT)
        if r is not None:
            return r
    if m < n:
        return np.linalg.qr(jac, mode="r")
    qr, _, _, info = _dgeqrf(jac)    # LAPACK directly: a copy of jac is factorised
    if info != 0:
        raise np.linalg.LinAlgError(f"dgeqrf failed with info={info}")
    return np.asfortranarray(qr[:n] * _upper_mask(n))


def _singular_values(factor: np.ndarray) -> np.ndarray:
    """Singular values of ``R`` (those of ``J``), largest first."""
    _, singular, _, info = _dgesdd(np.asfortranarray(factor), compute_uv=0)
    if info != 0:
        return np.linalg.svd(factor, compute_uv=False)
    return singular


def _statistics(resid: np.ndarray, nvarys: int) -> tuple[float, float, float, float]:
    ndata = resid.size
    chisqr = float(resid @ resid)
    nfree = ndata - nvarys
    redchi = chisqr / nfree if nfree > 0 else math.nan
    neg2loglik = ndata * math.log(max(chisqr, 1e-300) / ndata)
    return chisqr, redchi, neg2loglik + 2 * nvarys, neg2loglik + math.log(ndata) * nvarys


def build_result(
    problem: FitProblem,
    outcome: SolverOutcome,
    *,
    method: str,
    init_vals: list[float],
    scale_covar: bool = True,
    analytic_jac: bool = False,
) -> FitResult:
    """Compute every statistic at the solution; nothing is written into the Parameters.

    Parameters
    ----------
    problem : FitProblem
        The compiled problem that was solved (read only).
    outcome : SolverOutcome
        The solver's answer; ``outcome.jac`` must be set (an accurate Jacobian).
    method : str
        Name of the method, stored on the result.
    init_vals : list of float
        Start values of the varied parameters.
    scale_covar : bool
        Scale the covariance by the reduced chi-square.
    analytic_jac : bool
        ``outcome.jac`` is the user's analytic Jacobian (a tighter rank tolerance).
    """
    x, resid, jac = outcome.x, outcome.residual, outcome.jac
    n = problem.nvarys
    chisqr, redchi, aic, bic = _statistics(resid, n)
    ndata = resid.size
    active = outcome.active if outcome.active is not None else np.zeros(n, np.int8)
    rtol = RANK_RTOL_ANALYTIC if analytic_jac else RANK_RTOL_FINITE_DIFFERENCE
    # fewer residuals than parameters (a scalar objective of a scalar method): no covariance
    finite = jac.size and ndata >= n and bool(np.isfinite(jac).all())
    if finite:
        factor = triangular_factor(jac, outcome.jac_gram)
        cov = _covariance(factor, active == 0, rtol)
        singular = _singular_values(factor)
    else:
        cov, singular = None, np.full(n, np.nan)
    if cov is not None and scale_covar and ndata > n:
        cov *= redchi
    errorbars = cov is not None and bool(np.isfinite(cov).all())
    cov = cov if errorbars else None
    names = list(problem.free_names)
    tvalues, pvalues = _t_statistics(x, cov, active, names, ndata - n)
    return FitResult(
        x=x.copy(), residual=resid, jac=jac, nfev=outcome.nfev, njev=outcome.njev,
        niter=outcome.niter, success=bool(outcome.success), message=outcome.message,
        ier=outcome.ier, termination=outcome.termination, user_code=outcome.user_code,
        active=active, extras=outcome.extras, method=method, params=problem.params, var_names=names,
        init_vals=list(init_vals), errorbars=errorbars, lmdif_message=outcome.message,
        nvarys=n, ndata=ndata, nfree=ndata - n, chisqr=chisqr, redchi=redchi, aic=aic,
        bic=bic, covar=cov, gradient=jac.T @ resid if finite else np.full(n, np.nan),
        jac_singular_values=singular, tvalues=tvalues, pvalues=pvalues,
        scale_covar=scale_covar,
    )


def standard_errors(covar: np.ndarray) -> np.ndarray:
    """``sqrt(diag(covar))`` (negative rounding of a zero variance taken as 0)."""
    return np.sqrt(np.maximum(covar.diagonal(), 0.0))


def correlations(covar: np.ndarray, stderr: np.ndarray) -> np.ndarray:
    """Correlation matrix ``C_ij / (s_i s_j)``; a zero standard error divides by 1."""
    safe = np.where(stderr > 0, stderr, 1.0)
    return covar / safe / safe[:, None]


def _t_statistics(x: np.ndarray, cov: np.ndarray | None, active: np.ndarray,
                  names: list[str], nfree: int) -> tuple[dict[str, float], dict[str, float]]:
    """``value / stderr`` and its two-sided Student-t p-value, per varied parameter that
    is not held at a bound and has a positive standard error."""
    if cov is None:
        return {}, {}
    std = standard_errors(cov)
    # a zero standard error divides by 1: that parameter is left out below
    tvalues = x / np.where(std > 0.0, std, 1.0)
    # two-sided Student-t p-value: 2 * t.sf(|t|, nfree) = 2 * stdtr(nfree, -|t|)
    pvalues = (2.0 * special.stdtr(max(nfree, 1), -np.abs(tvalues))).tolist()
    tvalues, std = tvalues.tolist(), std.tolist()
    keep = [i for i in range(len(names)) if active[i] == 0 and std[i] > 0]
    return ({names[i]: tvalues[i] for i in keep}, {names[i]: pvalues[i] for i in keep})


def tied_stderr(problem: FitProblem, result: FitResult) -> list[float] | None:
    """Standard errors of the tied parameters, the covariance carried through the tie
    expressions: ``var = g C gᵀ`` (None without a covariance).

    Evaluates the ties (:meth:`~paramfit.core.problem.FitProblem.tied_jacobian`), which
    leaves them at ``result.x``.
    """
    cov = result.covar
    if cov is None or not problem.tied_params:
        return None
    grad = problem.tied_jacobian(result.x)
    return [float(math.sqrt(max(g @ cov @ g, 0.0))) for g in grad]
