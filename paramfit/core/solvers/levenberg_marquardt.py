"""Levenberg-Marquardt with bounds: MINPACK's ``lmdif``/``lmder`` in numpy, MPFIT's bounds.

The method is Moré's (1977) scaled trust-region Levenberg-Marquardt
algorithm as implemented in MINPACK-1: at each iteration the Jacobian ``J``
is factorised with column pivoting, the step solves

    minimise ||J p + f||  subject to  ||D p|| <= delta

(``D`` from the column norms of ``J``), and the ratio of actual to predicted
reduction of ``||f||`` decides whether the step is taken and how ``delta``
changes.  The convergence tests (``ftol``, ``xtol``, ``gtol``) and their
status codes are MINPACK's, evaluated by :mod:`paramfit.core.termination` (shared with
the batch solver).  Bounds are handled inside the iteration, as in
Markwardt's MPFIT (see :mod:`paramfit.core.bounds`), never by a change of
variables.

Additions to MINPACK:

* after the finite-difference iteration has converged, the final Jacobian is
  computed by central differences on the iteration's last forward differences
  (:func:`paramfit.core.differentiation.reuse.reused_central_jacobian`, the default
  ``final_jacobian='reuse'``, ``n`` to ``2 n`` evaluations), with Richardson
  extrapolation of the columns whose error could move a standard error by 1e-7
  (for ill-conditioned problems every column, as ``'richardson'`` does:
  :func:`paramfit.core.differentiation.solution.accurate_jacobian`, about ``4 n``
  evaluations) or, on request, checked central differences
  (:func:`paramfit.core.differentiation.solution.central_jacobian`, ``2 n``), a
  Gauss-Newton step is taken with it when it is not negligible, and a
  stationarity check with it downgrades a "converged" status to
  :attr:`Termination.NOT_STATIONARY` when the gradient is not small;
* a trial point whose residual is not finite (or raises
  :class:`~paramfit.core.exceptions.NonFiniteResidualError`) is a rejected step:
  its ratio of actual to predicted reduction is negative and the trust
  region shrinks by MINPACK's factor 0.1 (Moré 1977, section 4), so a
  model that overflows far from the solution does not end the fit;
* with ``ftol <= FAST_FTOL_MAX`` (the default 1e-15 is) the ``ftol`` test
  also passes when an accepted step shows superlinear convergence
  (relative reduction, actual and predicted, below
  :data:`~paramfit.core.termination.FAST_LIMIT` times the previous one)
  and the reduction still to come, estimated as
  ``actred**2 / actred_previous``, is below ``ftol``.  This keeps ``ftol``
  tight for linearly converging (large-residual) problems without paying
  two extra iterations where convergence is quadratic;
* geodesic acceleration (Transtrum and Sethna 2012) of the steps that the trust
  region cuts short (``par > 0``) once the fit crawls (``CRAWL_STEPS`` such steps in a
  row that did not grow the radius): one more evaluation along the step gives the
  curvature of the residual, and the step follows a curved valley instead of its
  tangent (:mod:`paramfit.core.solvers.geodesic`; the batch solver applies the same rule).

References
----------
.. [1] J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and
   theory", in Numerical Analysis, ed. G. A. Watson, Lecture Notes in
   Mathematics 630, Springer, 1977, pp. 105-116.
.. [2] J. J. Moré, B. S. Garbow, K. E. Hillstrom, "User Guide for MINPACK-1",
   Argonne National Laboratory Report ANL-80-74, 1980.
.. [3] C. B. Markwardt, "Non-linear least squares fitting in IDL with MPFIT",
   ASP Conference Series 411, 251, 2009.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from paramfit.core.bounds import pegged_columns, truncate_step
from paramfit.core.differentiation.finite_differences import finite_difference_jacobian
from paramfit.core.differentiation.reuse import ForwardDifferences
from paramfit.core.exceptions import NonFiniteResidualError, StopFit
from paramfit.core.linalg import TallFactor, is_tall, lm_step, pivoted_qr
from paramfit.core.options import (
    DEFAULT_FACTOR,
    DEFAULT_FTOL,
    DEFAULT_GTOL,
    DEFAULT_XTOL,
    FINAL_JACOBIANS,
    LMOptions,
)
from paramfit.core.solvers.blas_threads import sequential_blas
from paramfit.core.solvers.final_phase import Evaluator, polish
from paramfit.core.solvers.geodesic import CRAWL_STEPS, accelerated_step, crawl_count
from paramfit.core.solvers.lm_setup import IterationOptions, as_vector, improper_input
from paramfit.core.termination import (
    LMSolution,
    Termination,
    check_convergence,
    gradient_converged,
)

__all__ = ["levenberg_marquardt", "solve", "LMSolution", "Termination", "LMOptions"]

EPS = float(np.finfo(float).eps)
#: ``jacobian_update='broyden'``: a step whose ratio of actual to predicted reduction is
#: below this is followed by a finite-difference Jacobian instead of a rank-one update.
BROYDEN_MIN_RATIO = 0.1
#: ... and so is every ``BROYDEN_MAX_UPDATES * n``-th consecutive update.
BROYDEN_MAX_UPDATES = 2
#: After a convergence test was not believed for an updated Jacobian, this many accepted
#: steps are taken with finite-difference Jacobians (near the solution their quadratic
#: convergence ends the fit sooner than the superlinear convergence of the updates).
BROYDEN_CHECK_STEPS = 3
#: Terminations that rest on the Jacobian: with a rank-one-updated Jacobian they are
#: not believed, a finite-difference Jacobian is computed and the iteration goes on.
_JACOBIAN_TESTS = frozenset({"FTOL", "XTOL", "BOTH", "GTOL", "FTOL_TOO_SMALL",
                             "XTOL_TOO_SMALL", "GTOL_TOO_SMALL"})

ArrayFunction = Callable[[np.ndarray], np.ndarray]


def _radius_update(ratio: float, actred: float, dirder: float, fnorm: float,
                   fnorm1: float, delta: float, pnorm: float, par: float,
                   truncated: bool) -> tuple[float, float]:
    """MINPACK's update of the trust radius ``delta`` and LM parameter ``par``."""
    if ratio <= 0.25:
        temp = 0.5 if actred >= 0.0 else 0.5 * dirder / (dirder + 0.5 * actred)
        if 0.1 * fnorm1 >= fnorm or temp < 0.1:
            temp = 0.1
        return temp * min(delta, pnorm / 0.1), par / temp
    if par == 0.0 or ratio >= 0.75:
        # A step cut short by a bound says nothing about the radius: do not shrink it.
        return (max(delta, pnorm / 0.5) if truncated else pnorm / 0.5), 0.5 * par
    return delta, par


def _scaled_gradient_norm(gradient: np.ndarray, column_norms: np.ndarray,
                          fnorm: float) -> float:
    """MINPACK ``gnorm``: largest |cosine| between ``f`` and a column of ``J``.

    ``gradient`` is ``J^T f`` (computed before the factorisation; MINPACK forms
    the same numbers from ``R^T Q^T f``).
    """
    if fnorm == 0.0:
        return 0.0
    if not column_norms.all():
        nonzero = column_norms > 0.0
        if not nonzero.any():
            return 0.0
        gradient, column_norms = gradient[nonzero], column_norms[nonzero]
    return float((np.abs(gradient) / column_norms).max()) / fnorm


def levenberg_marquardt(
    fun: ArrayFunction,
    x0: np.ndarray,
    *,
    jac: ArrayFunction | None = None,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    absolute_step: np.ndarray | None = None,
    relative_step: np.ndarray | None = None,
    side: np.ndarray | None = None,
    max_step: np.ndarray | None = None,
    ftol: float = DEFAULT_FTOL,
    xtol: float = DEFAULT_XTOL,
    gtol: float = DEFAULT_GTOL,
    max_nfev: int | None = None,
    factor: float = DEFAULT_FACTOR,
    diag: np.ndarray | None = None,
    callback: Callable[[np.ndarray, int, np.ndarray], object] | None = None,
    final_jacobian: str = FINAL_JACOBIANS[0],
    jacobian_update: str | None = None,
    geodesic: bool = True,
    f0: np.ndarray | None = None,
) -> LMSolution:
    """Minimise ``sum(fun(x)**2)`` by Levenberg-Marquardt, with bounds.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> ndarray (m,)``, m >= n.
    x0 : array_like, shape (n,)
        Start; must lie inside ``[lower, upper]``.
    jac : callable, optional
        ``jac(x) -> ndarray (m, n)``; finite differences when None.
    lower, upper : array_like, shape (n,), optional
        Bounds (``-inf``/``inf`` for none).
    absolute_step, relative_step : array_like, shape (n,), optional
        Finite-difference steps (MPFIT ``step``/``relstep``), NaN = default.
    side : array_like of int, shape (n,), optional
        Finite-difference side: 0 auto, 1 forward, -1 backward, 2 central.
    max_step : array_like, shape (n,), optional
        Largest change of each parameter in one iteration (MPFIT
        ``mpmaxstep``), NaN = none; the whole step is scaled down to obey it.
    ftol, xtol, gtol : float
        MINPACK's relative tolerances on the sum of squares, on ``x`` (via the
        trust radius) and on the cosine between ``f`` and the columns of ``J``.
        The defaults are much tighter than MINPACK's ``sqrt(eps)``: near a
        large-residual minimum convergence is linear, and a relative change
        of the sum of squares of 1e-10 still leaves ``x`` wrong in the 5th
        digit (NIST StRD ENSO, Thurber).
    max_nfev : int, optional
        Most residual evaluations of the iteration, finite differences and the
        probes of the geodesic acceleration included; default ``1000 * (n + 1)``.
        As in MINPACK the test is made after each trial point, so the iteration
        may end up to one Jacobian past it.  The final phase is not limited by it but is counted in
        ``nfev``: the final Jacobian (``n`` to ``2 n`` evaluations with ``'reuse'``
        on a well-conditioned problem, ``2 n``, more for columns that need
        extrapolation, with ``'central'``, about ``4 n`` with ``'richardson'``; none
        with ``jac``) and at most
        :data:`~paramfit.core.solvers.final_phase.REFINEMENT_STEPS` Gauss-Newton
        evaluations (each followed by a new final Jacobian if it moved ``x``
        by more than 1e-7 relative).
    factor : float
        Initial trust radius ``factor * ||D x0||`` (MINPACK ``factor``).
    diag : array_like, shape (n,), optional
        Fixed positive scaling ``D`` (MINPACK ``mode = 2``); by default the
        column norms of ``J``, updated each iteration (``mode = 1``).
    callback : callable, optional
        ``callback(x, niter, f)`` at the start of each iteration; a truthy
        return stops the fit with :attr:`Termination.USER_STOP`.
    final_jacobian : {'reuse', 'richardson', 'central'}
        Finite-difference scheme of the Jacobian returned for the covariance
        (ignored with ``jac``): central differences with the step
        ``sqrt(eps) |x|`` that reuse the iteration's last forward differences
        (the default; each column's rounding error is measured, and where it could
        move a standard error by more than 1e-7 the column is extrapolated as by
        ``'richardson'``; the values then lie within ``1e-7 sqrt(m - n)`` of their
        standard errors of the Richardson answer), Richardson extrapolation of every
        column (about ``4 n`` to ``12 n`` evaluations, about 1e-10 relative
        error, better on linear columns) or checked central differences
        (``2 n`` evaluations, about 1e-10 relative error but 1e-8 for
        parameters much smaller than their natural scale; extrapolated when
        the scaled Jacobian is ill-conditioned).
    jacobian_update : {'none', 'broyden'}, optional
        With finite differences (no ``jac``): ``'none'`` (MINPACK ``lmdif``)
        computes a finite-difference Jacobian after every accepted step;
        ``'broyden'`` updates the Jacobian by Broyden's scaled rank-one
        formula ``J += (f_new - f - J s) (D^2 s)^T / |D s|^2`` after an
        accepted step (as MINPACK's ``hybrd`` does, Moré et al. 1980;
        Dennis and Schnabel 1983, section 8.3) and recomputes it by finite
        differences only after a step whose ratio of actual to predicted
        reduction is below :data:`BROYDEN_MIN_RATIO`, after a rejected step,
        after ``BROYDEN_MAX_UPDATES * n`` consecutive updates, and before
        any convergence test is believed (every converged termination is
        declared with a finite-difference Jacobian at the current point).
        Default :data:`~paramfit.core.options.DEFAULT_JACOBIAN_UPDATE`.
    geodesic : bool
        Geodesic acceleration of the steps the trust region cuts short (one probe
        evaluation each, :mod:`paramfit.core.solvers.geodesic`); False takes MINPACK's
        steps alone (its path, evaluation for evaluation, up to the final phase).
    f0 : ndarray, shape (m,), optional
        ``fun(x0)`` when the caller has already evaluated it (counted in ``nfev``
        all the same); ``fun`` is then not called at ``x0`` again.

    Returns
    -------
    LMSolution

    Raises
    ------
    OptionError
        An option of the wrong type or an unknown ``final_jacobian`` /
        ``jacobian_update`` (:class:`~paramfit.core.options.LMOptions`, where every
        fit's options are validated).  Values of the right type outside MINPACK's
        range (``ftol < 0``, ``factor <= 0``, ``max_nfev <= 0``, ``diag <= 0``) and an
        infeasible start are MINPACK's improper input: ``Termination.IMPROPER_INPUT``.

    Notes
    -----
    Raising :class:`paramfit.core.exceptions.StopFit` from ``fun``, ``jac`` or
    ``callback`` stops the fit; the best point so far is returned with
    ``termination = USER_STOP`` and ``user_code = StopFit.code``, and ``fun``
    is not called again.

    :class:`~paramfit.core.exceptions.NonFiniteResidualError` from ``fun`` at the
    start point reaches the caller (the user's error); at a trial point it
    rejects the step, and in a finite-difference Jacobian the other side and
    shorter steps are tried before it is raised.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 3, 30)
    >>> y = 2.0 * np.exp(-1.3 * t)
    >>> sol = levenberg_marquardt(lambda p: p[0] * np.exp(-p[1] * t) - y, [1.0, 1.0])
    >>> np.allclose(sol.x, [2.0, 1.3]), sol.termination.converged
    (True, True)
    """
    x = np.array(x0, dtype=float).reshape(-1)
    n = x.size
    lower = as_vector(lower, n, -np.inf)
    upper = as_vector(upper, n, np.inf)
    options = LMOptions(ftol=ftol, xtol=xtol, gtol=gtol, max_nfev=max_nfev, factor=factor,
                        diag=diag, final_jacobian=final_jacobian,
                        jacobian_update=jacobian_update, geodesic=geodesic)
    return solve(Evaluator(fun, lower, upper), x, options, jac=jac,
                 absolute_step=absolute_step, relative_step=relative_step, side=side,
                 max_step=max_step, callback=callback, f0=f0)


def solve(
    evaluator: Evaluator,
    x0: np.ndarray,
    options: LMOptions,
    *,
    jac: ArrayFunction | None = None,
    absolute_step: np.ndarray | None = None,
    relative_step: np.ndarray | None = None,
    side: np.ndarray | None = None,
    max_step: np.ndarray | None = None,
    callback: Callable[[np.ndarray, int, np.ndarray], object] | None = None,
    f0: np.ndarray | None = None,
) -> LMSolution:
    """:func:`levenberg_marquardt` on a caller's :class:`Evaluator` with validated options.

    The evaluator calls the residual function, counts the calls and keeps the best
    point (its ``lower``/``upper`` are the bounds); the caller may go on using it
    after the fit (the Minimizer's final Jacobian is counted by it too).  The other
    arguments are those of :func:`levenberg_marquardt`.
    """
    x = np.array(x0, dtype=float).reshape(-1)
    n = x.size
    lower, upper = evaluator.lower, evaluator.upper
    steps = [None if v is None else as_vector(v, n, np.nan)
             for v in (absolute_step, relative_step, max_step)]
    side = None if side is None else np.asarray(side, dtype=int).reshape(-1)
    diag = None if options.diag is None else as_vector(options.diag, n, 1.0)
    max_nfev = options.max_nfev_for(n)
    if improper_input(x, n, lower, upper, options.ftol, options.xtol, options.gtol,
                      options.factor, diag, max_nfev):
        return evaluator.improper(x)
    opt = IterationOptions(jac, lower, upper, steps[0], steps[1], side, steps[2],
                           options.ftol, options.xtol, options.gtol, max_nfev,
                           options.factor, diag, callback, options.final_jacobian)
    # rank-one updates replace finite differences only: a user's Jacobian is exact
    opt.broyden = options.jacobian_update == "broyden" and jac is None
    opt.geodesic = options.geodesic
    return _Iteration(evaluator, opt).run(x, f0)


class _Iteration:
    """MINPACK's outer/inner iteration over one :class:`Evaluator`."""

    def __init__(self, evaluator: Evaluator, options: IterationOptions):
        self.ev = evaluator
        self.opt = options
        self.niter = 0
        self.njev = 0
        self.jac_x: np.ndarray | None = None
        self.jac: np.ndarray | None = None
        self._buffer: np.ndarray | None = None      # the finite-difference Jacobian
        self._work: np.ndarray | None = None        # its copy destroyed by a tall QR
        self._gram_ok = True                         # tall: try the Gram factorisation
        #: the last finite-difference Jacobian with its point, residual and steps, while
        #: it is the current one (for the final phase)
        self.forward: ForwardDifferences | None = None

    def jacobian(self, x: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Jacobian for the iteration: the user's, or forward differences (kept, with
        its point, for a user stop)."""
        opt = self.opt
        self.njev += 1
        if opt.jac is not None:
            jac = np.asarray(opt.jac(x.copy()), dtype=float)
            if jac.shape != (f.size, x.size):
                raise ValueError(f"jac returned shape {jac.shape}, expected {(f.size, x.size)}")
        else:
            # one array per fit, overwritten by each Jacobian (forget it meanwhile)
            self.jac_x = self.jac = self.forward = None
            if self._buffer is None or self._buffer.shape != (f.size, x.size):
                self._buffer = np.empty((f.size, x.size), order="F")
            steps = np.empty(x.size)
            # unchecked: the differences test the Jacobian's values themselves; when no
            # perturbation of some parameter gives a finite residual, once more through
            # the checked residual, whose error names the parameter values
            try:
                jac = self.differences(self.ev.raw_unchecked, x, f, steps)
            except NonFiniteResidualError:
                jac = self.differences(self.ev.raw, x, f, steps)
            self.forward = ForwardDifferences(x, f, jac, steps)
        self.jac_x, self.jac = x, jac
        return jac

    def differences(self, fun: ArrayFunction, x: np.ndarray, f: np.ndarray,
                    steps: np.ndarray) -> np.ndarray:
        """Forward differences of ``fun`` at ``x`` into the fit's one Jacobian array, with
        the fit's bounds and step options (``steps``: filled with the steps taken)."""
        opt = self.opt
        # no bounds: None, and the finite differences take their unbounded fast path
        jac, _ = finite_difference_jacobian(
            fun, x, f, lower=opt.lower if opt.bounded else None,
            upper=opt.upper if opt.bounded else None,
            absolute_step=opt.absolute_step, relative_step=opt.relative_step,
            side=opt.side, out=self._buffer, steps_out=steps)
        return jac

    def run(self, x: np.ndarray, f0: np.ndarray | None = None) -> LMSolution:
        ev = self.ev
        try:
            f = ev.first(x, f0)
            if f.size < x.size or not np.isfinite(f).all():
                return ev.improper(x)
        except StopFit as stop:
            return ev.user_stop(stop.code, self.njev, self.niter, self.jac_x, self.jac)
        # one BLAS thread for the linear algebra (paramfit.core.solvers.blas_threads)
        with sequential_blas(f.size * x.size):
            return self.solve(x, f)

    def solve(self, x: np.ndarray, f: np.ndarray) -> LMSolution:
        """The iteration from ``x`` and its residual ``f``, then the final phase."""
        ev = self.ev
        try:
            termination = self.iterate(x, f)
        except StopFit as stop:
            return ev.user_stop(stop.code, self.njev, self.niter, self.jac_x, self.jac)
        if termination is Termination.USER_STOP:
            return ev.user_stop(None, self.njev, self.niter, self.jac_x, self.jac)
        return polish(ev, self.opt, termination, self.njev, self.niter, self.jac_x, self.jac,
                      self.forward)

    def iterate(self, x: np.ndarray, f: np.ndarray) -> Termination:
        """Outer loop of ``lmdif``: one Jacobian, then inner loop until a step is taken.

        With ``opt.broyden`` the Jacobian after an accepted step is a rank-one update of
        the previous one (:meth:`broyden_update`) when that step was good; ``updates``
        counts the updates since the last finite-difference Jacobian, and no test that
        rests on the Jacobian ends the fit while it is not 0.
        """
        opt, ev = self.opt, self.ev
        fnorm = math.sqrt(float(f @ f))
        diag = opt.diag
        delta = xnorm = par = 0.0
        last_actred = 0.0
        jac = None              # None: a new Jacobian is due at x
        updates = 0
        max_updates = BROYDEN_MAX_UPDATES * x.size
        checking = 0            # accepted steps still to take without updates
        crawl = 0               # accepted steps in a crawl (geodesic.crawl_count)
        new_point = True        # x is a new iterate (the callback sees each one once)
        while True:
            if new_point and opt.callback is not None and opt.callback(
                    x.copy(), self.niter, f.copy()):
                return Termination.USER_STOP
            if jac is None:
                jac = self.jacobian(x, f)
                updates = 0
            if is_tall(*jac.shape):
                # J = Q1 R1 from one read of the tall Jacobian, everything else from R1:
                # through J^T J when well conditioned, else a Householder QR of a copy
                # (J itself is kept for a user stop), in a reused array
                tall = TallFactor.from_gram(jac, f) if self._gram_ok else None
                if tall is None:
                    self._gram_ok = False     # ill-conditioned once: QR for the rest
                    if self._work is None or self._work.shape != jac.shape:
                        self._work = np.empty(jac.shape, order="F")
                    np.copyto(self._work, jac)
                    tall = TallFactor(self._work, f, overwrite=True)
                column_norms, gradient = tall.column_norms, tall.gradient
                forward = self.forward
                if forward is not None and forward.jac is jac and forward.gram is None:
                    # J^T J = R1^T R1: the final phase's conditioning test needs no pass
                    # over the long Jacobian
                    self.forward = dataclasses.replace(forward, gram=tall.r.T @ tall.r)
            else:
                tall = None
                column_norms = np.sqrt(np.einsum("ij,ij->j", jac, jac))
            if not math.isfinite(float(column_norms.sum())):
                if updates:
                    jac, new_point = None, False
                    continue
                return Termination.IMPROPER_INPUT
            if tall is None:
                gradient = jac.T @ f
            free = self.free_columns(x, gradient)
            if free is not None and free.size == 0:
                # every column pinned at a bound, its gradient pointing out: the projected
                # gradient is 0 (gtol's test; a QR of no columns would fail)
                if not updates:
                    return Termination.GTOL
                jac, new_point, checking = None, False, BROYDEN_CHECK_STEPS
                continue
            if free is None:
                qr = pivoted_qr(jac, f) if tall is None else tall.pivoted()
                sub_norms, sub_gradient = column_norms, gradient
            else:
                qr = (pivoted_qr(np.asfortranarray(jac[:, free]), f, overwrite=True)
                      if tall is None else tall.pivoted(free))
                sub_norms, sub_gradient = column_norms[free], gradient[free]
            if self.niter == 0 and delta == 0.0:
                if diag is None:
                    diag = np.where(column_norms == 0.0, 1.0, column_norms)
                xnorm = _norm(diag * x)
                delta = opt.factor * xnorm if xnorm != 0.0 else opt.factor
            gnorm = _scaled_gradient_norm(sub_gradient, sub_norms, fnorm)
            if gradient_converged(gnorm, opt.gtol):
                if not updates:
                    return Termination.GTOL
                jac, new_point, checking = None, False, BROYDEN_CHECK_STEPS
                continue
            if opt.diag is None:
                diag = np.maximum(diag, column_norms)
            sub_diag = diag if free is None else diag[free]
            while True:
                step_free, par, dxnorm, jpnorm2 = lm_step(qr, sub_diag, delta, par)
                accelerated = None
                step_par = par
                if par > 0.0 and opt.geodesic and crawl >= CRAWL_STEPS:
                    # cut short by the trust region: the tangent step, corrected for the
                    # curvature along it (the predicted reduction stays the tangent's)
                    # Moré (1977), eq. (5.6), of the whole step (as prered below)
                    predicted = ((jpnorm2 + 2.0 * par * dxnorm * dxnorm) / (fnorm * fnorm)
                                 if fnorm > 0.0 else 0.0)
                    accelerated = accelerated_step(
                        ev.raw, x, f, jac, free, step_free, qr, sub_diag, par, dxnorm,
                        predicted, opt.lower if opt.bounded else None, opt.upper)
                    if accelerated is not None:
                        step_free = accelerated
                if free is None and not (opt.bounded or opt.limited_step):
                    trial, alpha = x + step_free, 1.0
                    pnorm = dxnorm if accelerated is None else _norm(diag * step_free)
                else:
                    step = step_free if free is None else _expand(step_free, free, x.size)
                    trial, alpha = truncate_step(x, step, opt.lower, opt.upper, opt.max_step)
                    pnorm = _norm(diag * (trial - x))
                if self.niter == 0:
                    delta = min(delta, pnorm)
                f1, fnorm1 = ev.trial(trial, unchecked=True)    # its norm is the test
                actred = 1.0 - (fnorm1 / fnorm) ** 2 if 0.1 * fnorm1 < fnorm else -1.0
                # Moré (1977), eq. (5.6): predicted reduction and directional derivative
                # along alpha * p, free of cancellation since f^T J p = -(|Jp|^2 + par |Dp|^2)
                if fnorm == 0.0:
                    prered = dirder = 0.0
                else:
                    temp1 = jpnorm2 / (fnorm * fnorm)
                    temp2 = par * dxnorm * dxnorm / (fnorm * fnorm)
                    prered = alpha * (2.0 - alpha) * temp1 + 2.0 * alpha * temp2
                    dirder = -alpha * (temp1 + temp2)
                ratio = actred / prered if prered != 0.0 else 0.0
                accepted = ratio >= 1e-4
                if accepted or not updates:
                    delta, par = _radius_update(ratio, actred, dirder, fnorm, fnorm1, delta,
                                                pnorm, par, alpha < 1.0)
                # else: the updated Jacobian, not the radius, is suspect; it is recomputed
                if accepted:
                    crawl = crawl_count(crawl, step_par, ratio, accelerated is not None)
                    previous_x, previous_f = x, f
                    x, f, fnorm = trial, f1, fnorm1
                    xnorm = _norm(diag * x)
                    self.niter += 1
                # MINPACK's tests and the superlinear ftol test (paramfit.core.termination)
                done = check_convergence(actred, prered, ratio, delta, xnorm, gnorm, ev.nfev,
                                        accepted, last_actred, opt.ftol, opt.xtol,
                                        opt.max_nfev)
                if accepted:
                    last_actred = actred
                if done is not None:
                    if not (updates and done.name in _JACOBIAN_TESTS):
                        return done
                    # an updated Jacobian: check with a finite-difference one at x
                    jac = None
                    checking = BROYDEN_CHECK_STEPS + (1 if accepted else 0)
                elif accepted:
                    if checking:
                        checking -= 1
                    if (opt.broyden and ratio >= BROYDEN_MIN_RATIO and not checking
                            and updates < max_updates):
                        jac = self.broyden_update(jac, x - previous_x, f - previous_f, diag)
                        updates += 1
                    else:
                        jac = None
                elif updates:
                    # a rejected step may be the updated Jacobian's fault
                    jac = None
                if accepted or jac is None:
                    new_point = accepted
                    break

    def broyden_update(self, jac: np.ndarray, s: np.ndarray, y: np.ndarray,
                       diag: np.ndarray) -> np.ndarray | None:
        """Broyden's scaled rank-one update ``J += (y - J s) (D^2 s)^T / |D s|^2``, in
        place (MINPACK ``hybrd``; Dennis and Schnabel 1983, section 8.3).  None (a
        finite-difference Jacobian is due) when the step is zero."""
        ds = diag * s
        denominator = float(ds @ ds)
        # the updated matrix is no Jacobian at any point: a user stop gets none
        self.jac_x = self.jac = self.forward = None
        if not denominator > 0.0:
            return None
        y -= jac @ s
        jac += np.multiply.outer(y, (diag * ds) / denominator)
        return jac

    def free_columns(self, x: np.ndarray, gradient: np.ndarray) -> np.ndarray | None:
        """Indices of the columns used for the step (None: all of them)."""
        if not self.opt.bounded:
            return None
        on_bound = (x <= self.opt.lower) | (x >= self.opt.upper)
        if not on_bound.any():
            return None
        pegged = pegged_columns(x, gradient, self.opt.lower, self.opt.upper)
        if not pegged.any():
            return None
        return np.flatnonzero(~pegged)


def _norm(v: np.ndarray) -> float:
    return math.sqrt(float(v @ v))


def _expand(values: np.ndarray, free: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[free] = values
    return out
