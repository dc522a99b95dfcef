"""MPFIT front end (seed 002): ``mpfit``, ``mpfitfun`` and ``mpfitexpr`` over paramfit's core.

Code written for the classic Python ``mpfit`` module (Markwardt, Rivers,
Koposov) runs unchanged: the same positional order ``mpfit(fcn, xall, functkw,
parinfo, ftol, xtol, gtol, damp, maxiter, ...)``, the user function returns
``[status, deviates]`` (or ``[status, deviates, pderiv]`` with
``autoderivative=0``, ``pderiv`` being the derivative of the *model*, the
classic's sign), constraints come in ``parinfo``, and the result holds
``status, errmsg, params, perror, covar, niter, nfev, fnorm, dof`` with the
classic's codes and messages (``errmsg`` is ``''`` after a successful fit).
Where paramfit differs on purpose, see ``docs/mpfit.md``.  The fit
itself is paramfit's bounded Levenberg-Marquardt solver
(:mod:`paramfit.core.solvers.levenberg_marquardt`, MINPACK-1 with MPFIT's bound
handling), reached through :class:`paramfit.fitting.minimizer.Minimizer`.

Status codes (``MPFitResult.status``)
-------------------------------------
-16
    The deviates at the start are not all finite (``params`` is the start), or the
    user function returned non-finite values during the fit and the solver could
    not reach a stationary point (``params`` is the best point found).  A fit that
    converges while stepping around non-finite trial points keeps its 1-4.
0
    Improper input: bad ``parinfo``, inconsistent keywords, no free parameter,
    fewer deviates than free parameters, or a malformed return value of the
    user function.  ``errmsg`` is the classic's message followed by what and
    which parameter; ``params`` is a copy of the start (when it can be read),
    ``fnorm`` -1 and ``dof`` 0, as in the classic.  This is *returned*, not
    raised; Python exceptions raised *by* the user's function or iteration
    function propagate unchanged.
1, 2, 3, 4
    Converged: ``ftol``, ``xtol``, both, ``gtol`` (orthogonality).
5
    ``maxiter`` iterations done (or ``maxfev`` evaluations, when set).
6, 7, 8
    ``ftol``, ``xtol``, ``gtol`` too small: no further progress possible.
9
    paramfit addition: the solver converged, but the accurate Jacobian at the
    end shows a gradient that is not small (the point is not a minimum).
    Classic code reads every positive status as success, so this one also sets
    ``errmsg`` to a ``'WARNING: ...'``: test ``if m.errmsg:`` or ``m.status == 9``.
-1 ... -15 (any negative)
    The user function or the iteration function asked to stop; ``params``
    hold the best point found, ``covar`` is None and ``perror`` NaN.

References
----------
.. [1] C. B. Markwardt, "Non-linear least squares fitting in IDL with MPFIT",
   ASP Conference Series 411, 251, 2009.
.. [2] J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and
   theory", Lecture Notes in Mathematics 630, Springer, 1977.
"""


from paramfit.frontends.mpfit_core import (  # _BEFORE_PARAMS: read by tests/frontends
    _BEFORE_PARAMS,  # noqa: F401
    STATUS_MESSAGES,
    MPFitResult,
    default_iterfunct,
    mpfit,
)
from paramfit.frontends.mpfit_drivers import mpfitexpr, mpfitfun

__all__ = ["MPFitResult", "mpfit", "mpfitfun", "mpfitexpr", "default_iterfunct",
           "STATUS_MESSAGES"]
