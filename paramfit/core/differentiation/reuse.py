"""The final Jacobian from the iteration's last forward differences (issue 21).

The Levenberg-Marquardt iteration ends with a forward-difference Jacobian ``J`` at a
point ``x_J`` (:class:`ForwardDifferences`): its ``n`` evaluations
``f(x_J + s_j e_j)``, ``s_j = sqrt(eps) |x_j|``, are known to rounding
(``f0 + s_j J_j``).  One more evaluation per column, at the mirror point
``x_J - s_j e_j``, gives the central difference with the step ``s_j``
(:func:`reused_central_jacobian`):

* its truncation error ``s_j**2 f''' / 6`` is about ``1e-16`` relative for a function
  that varies on the scale of ``x`` (and the checks below catch one that does not);
* its rounding error, about ``eps |F| / s_j`` (``F`` the model's magnitude, which the
  residual does not show), is measured by the same three residuals: the second
  difference ``b = f(x+s) + f(x-s) - 2 f0`` is rounding (its ``s**2 f''`` part is
  ``1e-16`` relative), and ``|b| / (2 s)`` is ``sqrt(3)`` times the norm of the central
  quotient's rounding error when the roundings of the three residuals are
  independent.  Measured at the certified values of NIST's 27 problems, the estimate
  was 1.5 to 3 times the actual error of every column.

A column is kept when the estimated errors of all kept columns cannot move any
standard error by more than :data:`STDERR_BUDGET` (:func:`stderr_error_bound`, a
first-order worst-case bound); the others are Richardson-extrapolated as
:func:`~paramfit.core.differentiation.solution.accurate_jacobian` does, at ``x_J``.
Before spending the ``n`` evaluations, the bound with the smallest error a reused
column can have (:data:`PREDICTED_ERROR`) decides whether the reuse can pay off:
ill-conditioned problems skip it and cost what they did.  The caller uses the result
only when ``x_J`` is within ``1e-7`` (relative) of the solution
(:data:`paramfit.core.solvers.final_phase.JACOBIAN_REUSE_STEP`).

When the solution ``x = x_J + s`` is a little farther (the iteration's last step, up to
:data:`SKEWED_MAX_STEP`), :func:`skewed_central_jacobian` makes the central differences
at ``x`` itself on a skewed stencil: the points ``x_J + s_j e_j = x + (s_j e_j - s)`` are
mirrored through ``x`` and one more point ``x + s`` pairs with ``x_J = x - s``, so ``n + 1``
evaluations give every column, and a third difference along ``s`` (one more) measures
the residual's rounding noise that the mirrors' second differences measured above:
``n + 2`` evaluations instead of ``2 n`` for fresh forward differences and their mirrors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from paramfit.core.differentiation.finite_differences import (
    SQRT_EPS,
    ResidualFunction,
    as_residual,
    finite_difference_jacobian,
)
from paramfit.core.differentiation.solution import (
    RICHARDSON_LEVELS,
    RICHARDSON_STEP,
    _accurate_column,
    _bases,
    _bounds_lists,
    accurate_jacobian,
)
from paramfit.core.exceptions import NonFiniteResidualError
from paramfit.core.linalg import gram_matrix, is_tall

__all__ = ["ForwardDifferences", "forward_differences", "reuse_pays",
           "reused_central_jacobian", "skewed_central_jacobian", "stderr_error_bound",
           "scaled_inverse_gram", "STDERR_BUDGET", "PREDICTED_ERROR", "SKEWED_MAX_STEP"]

#: Largest first-order change of any standard error (relative) that the estimated
#: errors of the reused columns may cause (the issue's 1e-7).  The NIST test asks for 6
#: correct digits (relative error <= 1e-6): a margin of 10 before the estimate's own
#: slack (it is about sqrt(3) above the expected error, measured 1.5-3x) and the
#: worst-case Cauchy-Schwarz step of the bound (measured 10-100x above the actual
#: change of the standard errors on NIST's problems and the Gaussian benchmarks).
STDERR_BUDGET = 1e-7
#: The smallest relative error of a reused column, for the decision whether to try
#: the reuse at all: the rounding error of a central difference with the step
#: ``sqrt(eps) |x|`` is ``eps |F| / (sqrt(eps) |x f'|)``, at least about
#: ``sqrt(eps) / 4`` for a parameter whose effect is of the model's own size (the
#: measured estimates at NIST's certified values ranged from 2.5e-9 to 1e-6).  A
#: guess too low costs ``n`` evaluations where the reuse then fails, never accuracy.
PREDICTED_ERROR = SQRT_EPS / 4.0
#: A reused step longer than this many ``sqrt(eps) |x_j|`` (a user's ``epsfcn`` or
#: step) has a truncation error the second difference does not bound: not reused.
#: 2: the step as the iteration takes it, plus the rounding of ``x_j + s_j``.
LONGEST_STEP = 2.0
#: Largest last step ``s = x - x_J`` (relative, in every component) for which the final
#: Jacobian at ``x`` is made on the skewed stencil (:func:`skewed_central_jacobian`).
#: Its truncation error is second order in ``s``: ``|T[e_j, s, s]| / (2 |J_j|)``, about
#: ``(|s| / L)**2 / 2`` for a residual that varies on a scale ``L``; at ``|s| <= 1e-6 |x|``
#: that is 5e-13 when ``L ~ |x|`` and still 5e-7 for a parameter whose value is 1000
#: times the scale it acts on (a peak centre at 1000 with width 1).  Reusing the
#: forward differences made at ``x_J`` as they are (within 1e-7, the final phase's
#: :data:`~paramfit.core.solvers.final_phase.JACOBIAN_REUSE_STEP`) errs to first order,
#: ``|s| / L``, 1e-4 in that example: the skewed stencil is never the worse of the two.
SKEWED_MAX_STEP = 1e-6
#: The skewed stencil's error estimate is its expected rounding error times this: the
#: margin the mirrors' estimate has by construction (:func:`reused_central_jacobian`:
#: ``sqrt(3)`` times the expected error), so both schemes keep the same columns.
NOISE_MARGIN = math.sqrt(3.0)


@dataclass(frozen=True)
class ForwardDifferences:
    """The iteration's last finite-difference Jacobian and what it was made from.

    ``x``, ``f`` (``fun(x)``), ``jac`` (m, n), ``steps`` (n,): the exact step of each
    plain one-sided column, NaN for the others
    (:func:`~paramfit.core.differentiation.finite_differences.finite_difference_jacobian`'s
    ``steps_out``); ``gram``: ``J^T J`` when the iteration has it (``R^T R`` of its
    factorisation of a tall Jacobian), else None.
    """

    x: np.ndarray
    f: np.ndarray
    jac: np.ndarray
    steps: np.ndarray
    gram: np.ndarray | None = None


def forward_differences(fun: ResidualFunction, x: np.ndarray, f: np.ndarray, *,
                        lower: np.ndarray | None, upper: np.ndarray | None
                        ) -> ForwardDifferences:
    """Forward differences at ``x`` with the default steps ``sqrt(eps) |x_j|`` (``n``
    evaluations; backward where a bound is in the way), recorded for
    :func:`reused_central_jacobian`."""
    steps = np.empty(x.size)
    jac, _ = finite_difference_jacobian(fun, x, f, lower=lower, upper=upper,
                                        steps_out=steps)
    return ForwardDifferences(x, f, jac, steps)


def scaled_inverse_gram(jac: np.ndarray, gram: np.ndarray | None = None
                        ) -> np.ndarray | None:
    """``(J_s^T J_s)^-1`` with ``J_s`` the column-scaled ``jac`` (unit columns): the
    covariance up to the residual variance and the column scales; None when a column
    is zero or not finite or the matrix is singular.  ``gram``: ``J^T J`` if known."""
    if gram is None:
        # column dot products beat BLAS for tall, narrow Jacobians (core/linalg.py);
        # for short ones one BLAS call beats n (n + 1) / 2 Python-level dots
        gram = gram_matrix(np.asfortranarray(jac))[0] if is_tall(*jac.shape) else jac.T @ jac
    norms2 = gram.diagonal()
    if not ((norms2 > 0.0).all() and np.isfinite(gram).all()):
        return None
    norms = np.sqrt(norms2)
    try:
        inverse = np.linalg.inv(gram / np.multiply.outer(norms, norms))
    except np.linalg.LinAlgError:
        return None
    if not (np.isfinite(inverse).all() and (inverse.diagonal() > 0.0).all()):
        return None
    return inverse


def stderr_error_bound(inverse_gram: np.ndarray, column_errors: np.ndarray) -> np.ndarray:
    """First-order bound of the relative change of each standard error when column ``j``
    of the Jacobian has a relative error (2-norm) of at most ``column_errors[j]``.

    With ``C = (J^T J)^-1`` and a Jacobian error ``E``, ``dC = -C (J^T E + E^T J) C``, so
    ``dC_ii = -2 u_i^T E C e_i`` with ``u_i = J C e_i``, ``|u_i|^2 = C_ii``; by
    Cauchy-Schwarz ``|d sigma_i| / sigma_i = |dC_ii| / (2 C_ii) <= sum_j |E_j| |C_ij| /
    sqrt(C_ii)``.  In column-scaled variables (``inverse_gram``, unit columns) ``|E_j|``
    is the relative error of the column.  The residual variance does not depend on
    ``J``.  Returns the bound for each parameter.
    """
    scale = np.sqrt(inverse_gram.diagonal())
    return (np.abs(inverse_gram) @ column_errors) / scale


def reuse_pays(jac: np.ndarray, gram: np.ndarray | None = None,
               budget: float = STDERR_BUDGET) -> np.ndarray | None:
    """:func:`scaled_inverse_gram` of ``jac`` (``gram``: its ``J^T J`` if known) when
    reused columns with the smallest error they can have (:data:`PREDICTED_ERROR`)
    would meet ``budget``; else None (the reuse would cost evaluations and fail: the
    problem is too ill-conditioned)."""
    inverse = scaled_inverse_gram(jac, gram)
    if inverse is None:
        return None
    bound = stderr_error_bound(inverse, np.full(jac.shape[1], PREDICTED_ERROR))
    return inverse if float(bound.max()) <= budget else None


def _mirrored_column(fun: ResidualFunction, record: ForwardDifferences, j: int,
                     lo: float, hi: float, out: np.ndarray, bend: np.ndarray,
                     work: np.ndarray) -> float:
    """Central difference of column ``j`` from the iteration's evaluation at
    ``x + s e_j`` and a new one at ``x - s e_j``, written into ``out``; returns its
    estimated relative error (inf when the mirror point is outside the bounds or its
    residual is not finite).  ``bend`` and ``work`` (length m) are scratch: no
    temporaries (with a long residual vector the passes over memory are the cost)."""
    x, step = record.x, float(record.steps[j])
    xj = float(x[j])
    mirror = xj - step
    if not lo <= mirror <= hi:
        return math.inf
    xt = x.copy()                   # a fresh vector per call: ``fun`` may keep it
    xt[j] = mirror
    try:
        fm = as_residual(fun(xt))
    except NonFiniteResidualError:
        return math.inf
    back = float(xt[j]) - xj        # -step when x - s is exact (it is for |s| << |x|)
    np.multiply(record.jac[:, j], step, out=work)     # f(x + s e_j) - f0, to rounding
    np.subtract(record.f, fm, out=out)                # f0 - f(x - s e_j)
    np.subtract(work, out, out=bend)                  # f(x+s) + f(x-s) - 2 f0
    out += work                                       # f(x+s) - f(x-s)
    out /= step - back
    if step + back != 0.0:                            # remove the linear part
        np.multiply(out, step + back, out=work)
        bend -= work
    size2 = float(out @ out)
    error = math.sqrt(float(bend @ bend) / size2) / abs(step - back) if size2 > 0 else math.inf
    return error if math.isfinite(error) else math.inf


def reused_central_jacobian(
    fun: ResidualFunction,
    record: ForwardDifferences,
    *,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    typical_x: np.ndarray | None = None,
    inverse: np.ndarray | None = None,
    budget: float = STDERR_BUDGET,
) -> tuple[np.ndarray, int]:
    """Jacobian at ``record.x`` for the covariance, reusing forward differences made
    there (by the iteration, or :func:`forward_differences`).

    Each reusable column costs one evaluation (its mirror point); columns whose error
    would move a standard error by more than ``budget`` (:func:`stderr_error_bound`,
    the largest contributions first) and columns without a reusable step are
    Richardson-extrapolated at ``record.x`` (2 to 12 evaluations each, as in
    :func:`~paramfit.core.differentiation.solution.accurate_jacobian`).  No evaluation
    is made outside ``[lower, upper]``.  ``inverse``: :func:`scaled_inverse_gram` of a
    Jacobian near ``record.x`` (the bound is first order: a Jacobian within 1e-7 serves),
    by default of ``record.jac``; without one (singular) every column is extrapolated.

    Returns
    -------
    jac : ndarray, shape (m, n), Fortran order
    nfev : int
        The number of evaluations made.
    """
    x, f0 = record.x, record.f
    m, n = record.jac.shape
    if inverse is None:
        inverse = scaled_inverse_gram(record.jac)
    if inverse is None:
        return accurate_jacobian(fun, x, f0, lower=lower, upper=upper, typical_x=typical_x)
    los, his = _bounds_lists(lower, upper, n)
    bases = _bases(x, typical_x)
    jac = np.empty((m, n), order="F")
    bend, work = np.empty(m), np.empty(m)
    errors = np.full(n, math.inf)
    nfev = 0
    for j in range(n):
        step = float(record.steps[j])
        if math.isfinite(step) and 0.0 < abs(step) <= LONGEST_STEP * SQRT_EPS * bases[j]:
            errors[j] = _mirrored_column(fun, record, j, los[j], his[j], jac[:, j], bend,
                                         work)
            nfev += 1
    nfev += _extrapolate_to_budget(fun, x, f0, jac, errors, inverse, budget, los, his,
                                   bases)
    return jac, nfev


def _extrapolate_to_budget(fun: ResidualFunction, x: np.ndarray, f0: np.ndarray,
                           jac: np.ndarray, errors: np.ndarray, inverse: np.ndarray,
                           budget: float, los: list[float], his: list[float],
                           bases: list[float]) -> int:
    """Richardson-extrapolate columns of ``jac`` (at ``x``, in place) until the estimated
    relative errors ``errors`` (inf: no estimate) of the kept ones meet ``budget``
    (:func:`stderr_error_bound`): first the columns with no estimate, then the largest
    contribution to the worst standard error.  Returns the evaluations made."""
    refine = ~np.isfinite(errors)
    errors[refine] = 0.0
    while True:
        bound = stderr_error_bound(inverse, errors)
        worst = int(np.argmax(bound))
        if bound[worst] <= budget:
            break
        j = int(np.argmax(np.abs(inverse[worst]) * errors))
        refine[j], errors[j] = True, 0.0
    nfev = 0
    for j in np.flatnonzero(refine).tolist():
        jac[:, j], calls = _accurate_column(fun, x, f0, j, los[j], his[j], bases[j],
                                            RICHARDSON_STEP, RICHARDSON_LEVELS)
        nfev += calls
    return nfev


def skewed_central_jacobian(
    fun: ResidualFunction,
    record: ForwardDifferences,
    x: np.ndarray,
    f: np.ndarray,
    *,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    typical_x: np.ndarray | None = None,
    inverse: np.ndarray | None = None,
    budget: float = STDERR_BUDGET,
) -> tuple[np.ndarray, int] | None:
    """Jacobian at ``x`` for the covariance from forward differences made at a nearby
    ``record.x = x - s`` (the iteration's last step ``s``), ``n + 2`` evaluations.

    With ``a_j = f(x - s + h_j e_j)`` (known: ``f(x - s) + h_j J_j``, the recorded forward
    differences), ``b_j = f(x + s - h_j e_j)`` (the mirror of that point through ``x``),
    ``p = f(x + s)`` and ``q = f(x - s)`` (recorded):

        ``(a_j - b_j) + (p - q) = 2 J(x) ((h_j e_j - s) + s) + O(h_j |s|**2)``

    so column ``j`` is ``(h_j J_j + p - b_j) / (2 h_j)``, central at ``x`` with a
    truncation error of second order in ``s`` (:data:`SKEWED_MAX_STEP`).  The residual's
    rounding noise is measured by the third difference along ``s``,
    ``f(x + 2 s) - 3 p + 3 f - q``: its cubic part ``T[s, s, s]`` is below rounding for
    ``|s| <= 1e-6 |x|`` (and a residual that varies fast enough to show there only
    inflates the estimate, so more columns are extrapolated); its norm over ``sqrt(20)``
    is the norm ``nu`` of one evaluation's rounding, and ``nu / h_j`` that of column
    ``j`` (four residuals with weights ``1/2``).  The columns whose estimated errors
    could move a standard error by more than ``budget`` are Richardson-extrapolated at
    ``x``, as in :func:`reused_central_jacobian`.

    Returns None, with nothing evaluated, when the stencil does not apply: ``s`` is 0 or
    larger than :data:`SKEWED_MAX_STEP` somewhere, a point of it lies outside
    ``[lower, upper]``, a column of ``record`` is not a plain one-sided difference, or
    the points are not exact mirror images in floating point (a component crossing a
    power of two).  ``inverse``: as for :func:`reused_central_jacobian`.

    Returns
    -------
    jac : ndarray, shape (m, n), Fortran order
    nfev : int
        The number of evaluations made.
    """
    n = x.size
    steps = record.steps
    shift = x - record.x                       # s (exact: the numbers are this close)
    bases = _bases(x, typical_x)
    scale = np.array(bases)
    if (not shift.any() or not (np.abs(shift) <= SKEWED_MAX_STEP * scale).all()
            or not (np.isfinite(steps) & (steps != 0.0)
                    & (np.abs(steps) <= LONGEST_STEP * SQRT_EPS * scale)).all()):
        return None
    ahead = x + shift                          # x + s
    farther = ahead + shift                    # x + 2 s
    forward = record.x + steps                 # the forward points' shifted components
    mirrored = ahead - steps                   # ... and their mirrors' through x
    # exact mirror images in floating point: x - s and x + s, x_J + h_j e_j and its
    # mirror (component j; the others are those of x - s and x + s), and x + 2 s
    if not ((record.x + shift == x) & (ahead - x == shift) & (farther - ahead == shift)
            & (forward - x == x - mirrored)).all():
        return None
    los, his = _bounds_lists(lower, upper, n)
    if lower is not None or upper is not None:
        lo, hi = np.array(los), np.array(his)
        # x + s - h_j e_j differs from x + s only in component j
        if not ((lo <= farther) & (farther <= hi) & (lo <= ahead) & (ahead <= hi)
                & (lo <= mirrored) & (mirrored <= hi)).all():
            return None
    if inverse is None:
        inverse = scaled_inverse_gram(record.jac)
        if inverse is None:
            return None
    jac = np.empty((f.size, n), order="F")
    nfev = 0
    try:
        nfev += 1
        p = as_residual(fun(ahead.copy()))
        nfev += 1
        r = as_residual(fun(farther))
        for j, value in enumerate(mirrored.tolist()):
            point = ahead.copy()        # a fresh vector per call: ``fun`` may keep it
            point[j] = value
            nfev += 1
            np.subtract(p, as_residual(fun(point)), out=jac[:, j])     # p - b_j
    except NonFiniteResidualError:
        jac, more = accurate_jacobian(fun, x, f, lower=lower, upper=upper,
                                      typical_x=typical_x)
        return jac, nfev + more
    # rounding noise of one evaluation: the third difference along s, over sqrt(20)
    third = r - record.f
    third -= 3.0 * (p - f)
    noise = math.sqrt(float(third @ third) / 20.0)
    jac += record.jac * steps                  # + (a_j - q), to rounding
    jac /= 2.0 * steps
    sizes = np.sqrt(np.einsum("ij,ij->j", jac, jac)).tolist()
    # per column its estimated relative error; inf where there is none (a zero or
    # non-finite column, non-finite noise): extrapolated
    errors = np.array([NOISE_MARGIN * noise / (abs(h) * size) if size > 0.0 else math.inf
                       for size, h in zip(sizes, steps.tolist())])
    errors[~np.isfinite(errors)] = math.inf
    nfev += _extrapolate_to_budget(fun, x, f, jac, errors, inverse, budget, los, his, bases)
    return jac, nfev

