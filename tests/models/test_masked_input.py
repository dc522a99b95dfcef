"""Masked arrays are refused by every fitter (issue 20): the mask would be ignored and the
masked values fitted as numbers (a masked 1e6 outlier gave success=True and a = -2.2e8).

Choice: refuse, not honour.  A mask means different things to different users (bad
points, censored points, a plotting selection), and only some fitters see the arrays
(minimize sees only the residual's return), so one rule everywhere: a clear error that
says how to drop the points (``a[~a.mask]``) or omit them (``filled(np.nan)`` with
``nan_policy='omit'``).
"""

from __future__ import annotations

import numpy as np
import pytest

import paramfit
from paramfit.batch.api import fit_many
from paramfit.core.exceptions import FitError, ResidualError
from paramfit.frontends.mpfit import mpfit
from paramfit.frontends.nls import nlfb, nlxb
from paramfit.models.builtin import LinearModel

X = np.linspace(0.0, 1.0, 20)
Y = 2.0 * X + 1.0


def _outlier() -> np.ma.MaskedArray:
    y = np.ma.masked_array(Y.copy(), mask=np.zeros(X.size, bool))
    y[3] = 1e6
    y[3] = np.ma.masked
    return y


def _unchanged(*arrays: np.ndarray):
    copies = [np.ma.copy(a) for a in arrays]

    def check() -> None:
        for before, after in zip(copies, arrays, strict=True):
            np.testing.assert_array_equal(np.ma.getdata(before), np.ma.getdata(after))
            np.testing.assert_array_equal(np.ma.getmaskarray(before), np.ma.getmaskarray(after))
    return check


def test_masked_arrays_model_fit_data_weights_and_independent_vars() -> None:
    y = _outlier()
    check = _unchanged(y)
    for kws in (dict(data=y, x=X), dict(data=Y, x=np.ma.masked_array(X)),
                dict(data=Y, x=X, weights=np.ma.masked_array(np.ones(X.size)))):
        data = kws.pop("data")
        with pytest.raises(FitError, match="masked array.*nan_policy='omit'"):
            LinearModel().fit(data, slope=1.0, intercept=0.0, **kws)
    check()
    # what the message advises gives the fit of the unmasked points
    fit = LinearModel().fit(y.filled(np.nan), x=X, slope=1.0, intercept=0.0,
                            nan_policy="omit")
    # exact straight line through 19 points: LM stops within its xtol 1.5e-8 relative
    assert fit.params["slope"].value == pytest.approx(2.0, rel=1e-7)


def test_masked_arrays_minimize_residual_return() -> None:
    y = _outlier()
    p = paramfit.Parameters()
    p.add("a", 1.0)
    p.add("b", 0.0)
    before = p.dumps()
    with pytest.raises(ResidualError, match="masked array"):
        paramfit.minimize(lambda q: y - (q["a"].value * X + q["b"].value), p)
    assert p.dumps() == before


def test_masked_arrays_fit_many() -> None:
    data = np.ma.vstack([_outlier(), _outlier()])
    with pytest.raises(FitError, match="fit_many: data is a numpy masked array"):
        fit_many(LinearModel(), data, x=X)
    with pytest.raises(FitError, match="independent variable 'x'"):
        fit_many(LinearModel(), np.vstack([Y, Y]), x=np.ma.masked_array(X))
    with pytest.raises(FitError, match="weights"):
        fit_many(LinearModel(), np.vstack([Y, Y]), x=X, weights=np.ma.masked_array(X))


def test_masked_arrays_mpfit_improper_input() -> None:
    def deviates(p, fjac=None, x=None, y=None):
        return [0, y - (p[0] * x + p[1])]

    result = mpfit(deviates, [1.0, 0.0], functkw={"x": X, "y": _outlier()}, quiet=True)
    # the classic's improper-input result: status 0, params a copy of the start
    assert result.status == 0 and "masked array" in result.errmsg
    assert result.params.tolist() == [1.0, 0.0]


def test_masked_arrays_nlxb_nlfb() -> None:
    y = _outlier()
    with pytest.raises(FitError, match="data column 'y' is a numpy masked array"):
        nlxb("y ~ a*x + b", {"x": X, "y": y}, {"a": 1.0, "b": 0.0})
    with pytest.raises(ResidualError, match="masked array"):
        nlfb([1.0, 0.0], lambda b, x, y: y - (b[0] * x + b[1]), x=X, y=y)
    with pytest.raises(FitError, match="weights is a numpy masked array"):
        nlxb("y ~ a*x + b", {"x": X, "y": Y}, {"a": 1.0, "b": 0.0},
             weights=np.ma.masked_array(np.ones(X.size)))


def test_text_data_is_refused_by_every_fitter() -> None:
    text = [str(v) for v in Y]
    with pytest.raises(FitError, match="text"):
        LinearModel().fit(text, x=X, slope=1.0, intercept=0.0)
    with pytest.raises(FitError, match="text"):
        fit_many(LinearModel(), [text, text], x=X)
    with pytest.raises(FitError, match="dtype <U"):
        nlxb("y ~ a*x + b", {"x": X, "y": text}, {"a": 1.0, "b": 0.0})
    with pytest.raises(ResidualError, match="dtype <U1"):
        nlfb([1.0, 0.0], lambda b: ["1", "2", "3"])
    result = mpfit(lambda p, fjac=None: [0, ["1", "2", "3"]], [1.0, 0.0], quiet=True)
    assert result.status == 0 and "text" in result.errmsg
