"""One BLAS thread for a fit's own linear algebra, through threadpoolctl (optional).

A Levenberg-Marquardt fit makes many small BLAS and LAPACK calls on its ``m x n``
Jacobian (``n`` is a handful of parameters): dot products and ``J^T f`` of length
``m``, the Gram matrix by column dot products, Householder QR.  A multi-threaded
BLAS splits such a call once it is long enough, and waking the helper threads costs
more than the arithmetic saves; when the other cores are busy, or the helper threads
have gone to sleep, one handoff can wait several milliseconds (a scheduler time
slice).  Measured on 2 cores (``bench/bench_threads.py``, OpenBLAS 0.3.30/0.3.31),
beside two busy processes: a 10,000-point Gaussian + line fit took a median 39 ms
with OpenBLAS's default threads against 2.5 ms with one thread in the solver, a
100,000-point one 111 ms (up to 300 ms) against 48 ms; on a quiet machine the two
were within 15 % of each other, either way.

:func:`sequential_blas` limits the BLAS libraries to one thread for the duration of
a block, with threadpoolctl [1]_ (the library scikit-learn uses for the same
purpose), and restores the previous settings on the way out, also when the block
raises.  No environment variable is read or set.  Rules:

* Only problems with at least :data:`MIN_ELEMENTS` Jacobian elements are limited:
  below it no BLAS call of the fit is long enough for OpenBLAS to thread it, and
  the limit (8-10 us to set and restore, about 20 us inside a fit) would only slow
  a fit of a few hundred points (about 0.8 ms).  At 2000 points (1.1 ms) it costs
  under 2 %, at 10,000 points under 1 %.
* The whole solver call is limited, the user's residual function included.
  Switching the limit off around every evaluation (48 of them in a 5-parameter fit)
  would add 0.5-1 ms, 25-60 % of a 2000- to 10,000-point fit, and paramfit's own
  check of each residual vector runs in that wrapper too; a limit per iteration
  would cost about 6 %.  A model that is itself a large matrix product and wants
  BLAS threads takes them back inside its own function (threadpoolctl's
  ``controller.limit(limits=k)`` around the product): measured with a 2000 x 2000
  response matrix on a quiet machine, 12 ms with the default threads, 37 ms
  limited, 14 ms with the model's own limit (but with one other busy core, 372 ms
  with the default threads against 92 ms limited).
* OpenBLAS's thread pool (pthreads builds: the numpy and scipy wheels) is shared by
  the whole process, and threadpoolctl's limits overlapped from several Python
  threads can restore one another's limit instead of the setting (measured: fits in
  four threads at once left OpenBLAS at one thread).  So one fit at a time holds the
  limit: a fit that starts while another thread's fit holds it, or a fit nested in
  a fit, leaves the settings alone (and runs with the single thread already set
  while the holder's limit lasts).
* Without threadpoolctl (``pip install 'paramfit[threads]'``) the limit does
  nothing: numpy and scipy offer no public way to set BLAS threads, and environment
  variables act only before the BLAS library is loaded (and would be process-wide).

The controller (which inspects the loaded libraries, about 1 ms) is made once, at
the first limited fit; BLAS libraries loaded after it are not limited.

References
----------
.. [1] threadpoolctl (joblib project): thread-pool limits for native libraries
   (BLAS, OpenMP), https://github.com/joblib/threadpoolctl
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["MIN_ELEMENTS", "sequential_blas", "blas_controller"]

#: Problems with fewer Jacobian elements (``m * n``) than this are not limited.  The
#: fit's largest BLAS operand is its ``m x n`` Jacobian, and OpenBLAS runs single-threaded
#: ``ddot`` up to 10,000 elements, ``dgemv``/``dger`` below ``m n = 2304 * 4 = 9216`` and
#: ``dgemm`` up to ``M N K = 65536 * 4``, i.e. ``m n <= 8192`` for the 32-column blocks of
#: LAPACK's QR: below 8192 elements none of the solver's calls is threaded.
MIN_ELEMENTS = 8192

_LOCK = threading.Lock()        # held by the one fit whose limit is in force
_UNSET = object()
_controller: Any = _UNSET       # threadpoolctl controller of the BLAS libraries, or None


def blas_controller() -> Any:
    """threadpoolctl's ``ThreadpoolController`` restricted to the BLAS libraries.

    None when threadpoolctl is not installed or no BLAS library was found.  Made at
    the first call and kept.
    """
    global _controller
    if _controller is _UNSET:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = None
        else:
            controller = ThreadpoolController().select(user_api="blas")
            _controller = controller if controller.lib_controllers else None
    return _controller


@contextlib.contextmanager
def sequential_blas(elements: int) -> Iterator[None]:
    """Limit the BLAS libraries to one thread inside the block, when worth it.

    Parameters
    ----------
    elements : int
        Size of the problem, ``m * n`` (residuals times parameters); below
        :data:`MIN_ELEMENTS` nothing is done.

    Notes
    -----
    Nothing is done either when threadpoolctl is not installed, or when another
    thread's fit (or an enclosing fit in this thread) holds the limit.  The
    previous thread counts are restored on exit, also when the block raises.

    Examples
    --------
    >>> import numpy as np
    >>> with sequential_blas(10_000 * 5):
    ...     total = float(np.ones(50_000) @ np.ones(50_000))
    >>> total
    50000.0
    """
    if elements < MIN_ELEMENTS or not _LOCK.acquire(blocking=False):
        yield
        return
    try:
        controller = blas_controller()
        if controller is None:
            yield
        else:
            with controller.limit(limits=1):
                yield
    finally:
        _LOCK.release()
