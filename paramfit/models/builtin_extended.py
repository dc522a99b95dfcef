"""The rest of lmfit 1.3's built-in models, with lmfit's names, parameters, hints and
``guess`` heuristics.

Gaussian2dModel, SplitLorentzianModel, Pearson4Model, BreitWignerModel, LognormalModel,
DampedHarmonicOscillatorModel, SkewedVoigtModel, DoniachModel, ThermalDistributionModel,
BoseModel, FermiModel, ComplexConstantModel and SplineModel (lmfit has the lineshape
``expsine`` but no model of it; ``Model(expsine)`` is one).  Each model over a
lineshape of :mod:`paramfit.models.lineshapes` fits with its analytic Jacobian; the spline
is linear in its coefficients, so its Jacobian is the B-spline basis.

The guesses are lmfit 1.3's heuristics (facts read from lmfit's ``models.py``): the peak
estimate from the points above half height (:func:`paramfit.models.guess.guess_peaks`, the
one peak guess of every built-in peak model, also for ``fit_many``), the 2-D estimate from
the extremes, the thermal estimate from the range.

Examples
--------
>>> import numpy as np
>>> from paramfit.models.builtin_extended import SplitLorentzianModel
>>> x = np.linspace(-10, 10, 401)
>>> model = SplitLorentzianModel()
>>> y = model.eval(x=x, amplitude=3.0, center=0.5, sigma=0.8, sigma_r=2.0)
>>> result = model.fit(y, model.guess(y, x=x), x=x)
>>> round(result.params['sigma_r'].value, 6), round(result.params['fwhm'].value, 6)
(2.0, 2.8)
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.interpolate import splev, splrep

import paramfit.models.lineshapes as lineshapes
from paramfit.core.exceptions import ParameterError
from paramfit.core.parameters.parameters import Parameters
from paramfit.models.builtin import _BuiltinModel
from paramfit.models.guess import guess_peaks
from paramfit.models.io import register_model_class
from paramfit.models.model import Model

__all__ = [
    "Gaussian2dModel", "SplitLorentzianModel", "Pearson4Model", "BreitWignerModel",
    "LognormalModel", "DampedHarmonicOscillatorModel", "SkewedVoigtModel", "DoniachModel",
    "ThermalDistributionModel", "BoseModel", "FermiModel",
    "ComplexConstantModel", "SplineModel", "EXTENDED_MODELS", "COMMON_INIT_DOC",
    "COMMON_GUESS_DOC", "update_param_vals",
]

#: The constructor arguments every built-in model takes (lmfit's name, for docstrings of
#: models written on the built-in ones).
COMMON_INIT_DOC = """
    Parameters
    ----------
    independent_vars : sequence of str, optional
        Names of the independent variables (default ``['x']``).
    prefix : str, optional
        Prepended to every parameter name (two models of one kind need different ones).
    nan_policy : {'raise', 'propagate', 'omit'}, optional
        NaN or inf in the data: raise an error (default), pass them on, or drop them.
    **kwargs : optional
        Keyword arguments of :class:`~paramfit.models.model.Model`.
"""

#: The docstring of the built-in models' ``guess`` (lmfit's name).
COMMON_GUESS_DOC = """Estimate start values for the parameters of the model from data.

    Parameters
    ----------
    data : array_like
        The values to be fitted.
    x : array_like
        The independent variable.
    **kwargs : optional
        Start values that replace the guessed ones.

    Returns
    -------
    Parameters
"""

_TINY = "1e-15"


class _LmfitPeak(_BuiltinModel):
    """A peak model whose guess is :func:`paramfit.models.guess.guess_peaks` with
    ``sigma >= 0``."""

    #: ``(ampscale, sigscale)`` of the guess.
    scales: tuple[float, float] = (1.0, 1.0)

    def _hint(self, name: str, expr: str) -> None:
        """A derived parameter from a ``{name}`` template."""
        roots = [*self._roots, "fwhm", "height", "position"]
        names = {root: self.prefix + root for root in roots}
        self.set_param_hint(name, expr=expr.format(**names))

    def _guess_values(self, sigma: np.ndarray) -> dict[str, Any]:
        """Start values the guess gives besides amplitude, center, sigma (scalars or
        (B,) arrays, from the guessed ``sigma``)."""
        return {}

    def guess_rows(self, data: Any, x: Any, negative: bool = False,
                   errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess`'s values for every row of ``data`` (B, m) at once (unprefixed
        names to (B,) arrays): :func:`paramfit.models.guess.guess_peaks` with this model's
        ``scales``, and the model's other start values; :meth:`guess` is this on one row.
        ``errors='nan'``: rows that cannot be guessed give NaN instead of raising."""
        ampscale, sigscale = self.scales
        values = guess_peaks(data, x, negative=negative, ampscale=ampscale,
                             sigscale=sigscale, errors=errors)
        extra = self._guess_values(values["sigma"])
        return {**values, **{k: np.broadcast_to(v, values["sigma"].shape)
                             for k, v in extra.items()}}

    def guess(self, data: Any, x: Any, negative: bool = False, **kws: Any) -> Parameters:
        """lmfit's peak guess (half-height points); keywords set values afterwards.

        Parameters
        ----------
        data, x : array_like
            The peak and its independent variable (any order).
        negative : bool, default False
            A dip rather than a peak.
        **kws
            Start values that replace the guessed ones.

        Returns
        -------
        Parameters
        """
        row = np.asarray(data, dtype=float).ravel()[None, :]
        values = {k: float(v[0]) for k, v in self.guess_rows(row, x, negative=negative).items()}
        params = self.make_params(**values)
        params[self.prefix + "sigma"].set_bounds(0.0, params[self.prefix + "sigma"].max)
        return _update_values(params, self.prefix, kws)


def update_param_vals(pars: Parameters, prefix: str, **kwargs: Any) -> Parameters:
    """Set the values of the parameters named (without ``prefix``) by the keywords that
    ``pars`` has, ignore the others, and evaluate the ties (lmfit's helper for ``guess``).

    Examples
    --------
    >>> from paramfit.models import GaussianModel
    >>> p = update_param_vals(GaussianModel(prefix='g_').make_params(), 'g_', sigma=2.0,
    ...                       other=1.0)
    >>> p['g_sigma'].value, round(p['g_fwhm'].value, 4)
    (2.0, 4.7096)
    """
    return _update_values(pars, prefix, kwargs)


def _update_values(params: Parameters, prefix: str, kws: dict[str, Any]) -> Parameters:
    """lmfit's ``update_param_vals``: set the values of known names, refresh the ties."""
    for key, value in kws.items():
        if prefix + key in params:
            params[prefix + key].value = value
    if any(p.expr for p in params.values()):
        params.update_constraints()
    return params


class Gaussian2dModel(_BuiltinModel, lineshape="gaussian2d"):
    """Two-dimensional Gaussian of volume ``amplitude``, independent variables ``x, y``;
    ``fwhmx``, ``fwhmy`` and ``height`` are derived."""

    def __init__(self, independent_vars: Sequence[str] = ("x", "y"), prefix: str = "",
                 nan_policy: str = "raise", **kws: Any):
        super().__init__(independent_vars, prefix, nan_policy, **kws)

    def _set_hints(self) -> None:
        p = self.prefix
        self.set_param_hint("sigmax", min=0)
        self.set_param_hint("sigmay", min=0)
        self.set_param_hint("fwhmx", expr=f"2.3548200*{p}sigmax")
        self.set_param_hint("fwhmy", expr=f"2.3548200*{p}sigmay")
        self.set_param_hint("height", expr=f"0.1591549*{p}amplitude/(max({_TINY}, {p}sigmax)"
                                           f"*max({_TINY}, {p}sigmay))")

    def guess(self, data: Any, x: Any, y: Any, negative: bool = False,
              **kws: Any) -> Parameters:
        """lmfit's 2-D guess: centre at the extreme of ``data``, widths a sixth of the
        ranges, ``amplitude = (max - min) sigmax sigmay``.

        Returns
        -------
        Parameters
        """
        z = np.asarray(data, dtype=float).ravel()
        xs = np.asarray(x, dtype=float).ravel()
        ys = np.asarray(y, dtype=float).ravel()
        pick = int(np.argmin(z)) if negative else int(np.argmax(z))
        height = float(z.max() - z.min())
        sigmax = float(xs.max() - xs.min()) / 6.0
        sigmay = float(ys.max() - ys.min()) / 6.0
        amplitude = (-height if negative else height) * sigmax * sigmay
        params = self.make_params(amplitude=amplitude, centerx=float(xs[pick]),
                                  centery=float(ys[pick]), sigmax=sigmax, sigmay=sigmay)
        return _update_values(params, self.prefix, kws)


class SplitLorentzianModel(_LmfitPeak, lineshape="split_lorentzian"):
    """Lorentzian with half widths ``sigma`` (left) and ``sigma_r`` (right);
    ``fwhm = sigma + sigma_r``."""

    scales = (1.25, 1.0)

    def _set_hints(self) -> None:
        self.set_param_hint("sigma", min=0)
        self.set_param_hint("sigma_r", min=0)
        self._hint("fwhm", "{sigma}+{sigma_r}")
        self._hint("height", "2*{amplitude}/3.1415927/max(0.0000000, ({sigma}+{sigma_r}))")

    def _guess_values(self, sigma: np.ndarray) -> dict[str, Any]:
        return {"sigma_r": sigma}

    def guess(self, data: Any, x: Any, negative: bool = False, **kws: Any) -> Parameters:
        """The peak guess, with ``sigma_r`` as ``sigma`` (value and bounds)."""
        params = super().guess(data, x, negative)
        sigma = params[self.prefix + "sigma"]
        params[self.prefix + "sigma_r"].set_bounds(sigma.min, sigma.max)
        return _update_values(params, self.prefix, kws)


class Pearson4Model(_LmfitPeak, lineshape="pearson4"):
    """Pearson type IV peak; ``expon`` in (0.5, 1000] starts at 1.5, ``skew`` in
    [-1000, 1000] at 0; ``fwhm`` (approximate), ``height`` and ``position`` (of the
    maximum) are derived."""

    def _set_hints(self) -> None:
        self.set_param_hint("expon", value=1.5, min=0.5 + 1e-15, max=1000)
        self.set_param_hint("skew", value=0.0, min=-1000, max=1000)
        self._hint("fwhm", "{sigma}*sqrt(2**(1/{expon})-1)*pi/arctan2(exp(1)*{expon}, {skew})")
        self._hint("position", "{center}-{sigma}*{skew}/(2*{expon})")
        self._hint("height", "pearson4({center}-{sigma}*{skew}/(2*{expon}), {amplitude}, "
                             "{center}, {sigma}, {expon}, {skew})")

    def _symbols(self) -> dict[str, object]:
        return {"pearson4": lineshapes.pearson4}

    def _guess_values(self, sigma: np.ndarray) -> dict[str, Any]:
        return {"expon": 1.5, "skew": 0.0}


class BreitWignerModel(_LmfitPeak, lineshape="breit_wigner"):
    """Breit-Wigner-Fano lineshape; ``q`` starts at 1 in the guess."""

    def _set_hints(self) -> None:
        self.set_param_hint("sigma", min=0.0)

    def _guess_values(self, sigma: np.ndarray) -> dict[str, Any]:
        return {"q": 1.0}


class LognormalModel(_BuiltinModel, lineshape="lognormal"):
    """Log-normal distribution of area ``amplitude``; ``height``, ``fwhm`` derived."""

    def _set_hints(self) -> None:
        p = self.prefix
        self.set_param_hint("sigma", min=0)
        self.set_param_hint("height", expr=f"{p}amplitude/max({_TINY}, ({p}sigma*sqrt(2*pi)))"
                                           f"*exp({p}sigma**2/2-{p}center)")
        self.set_param_hint("fwhm", expr=f"exp({p}center-{p}sigma**2+{p}sigma*sqrt(2*log(2)))"
                                         f"-exp({p}center-{p}sigma**2-{p}sigma*sqrt(2*log(2)))")

    def guess(self, data: Any, x: Any, negative: bool = False, **kws: Any) -> Parameters:
        """lmfit's fixed start: ``amplitude=1, center=0, sigma=0.25`` (``sigma >= 0``)."""
        params = self.make_params(amplitude=1.0, center=0.0, sigma=0.25)
        params[self.prefix + "sigma"].set_bounds(0.0, params[self.prefix + "sigma"].max)
        return _update_values(params, self.prefix, kws)


class DampedHarmonicOscillatorModel(_LmfitPeak, lineshape="dho"):
    """Damped harmonic oscillator (PAN's form); ``fwhm = 2 sigma``, ``height`` derived."""

    scales = (0.1, 0.1)

    def _set_hints(self) -> None:
        self.set_param_hint("center", min=0)
        self.set_param_hint("sigma", min=0)
        self.set_param_hint("gamma", min=1.0e-19)
        self._hint("height", "({amplitude}*{sigma})/max(" + _TINY + ", (pi*(1-exp(-{center}"
                             "/max(" + _TINY + ", {gamma})))))*(1/max(" + _TINY + ", "
                             "{sigma}**2)-1/max(" + _TINY + ", (4*{center}**2+{sigma}**2)))")
        self._hint("fwhm", "2.0000000*{sigma}")

    def _guess_values(self, sigma: np.ndarray) -> dict[str, Any]:
        return {"gamma": 1.0}

    def guess(self, data: Any, x: Any, negative: bool = False, **kws: Any) -> Parameters:
        """The peak guess with ``amplitude`` and ``sigma`` scaled by 0.1, ``gamma = 1``
        (``>= 0``)."""
        params = super().guess(data, x, negative)
        gamma = params[self.prefix + "gamma"]
        gamma.set_bounds(0.0, gamma.max)
        return _update_values(params, self.prefix, kws)


class SkewedVoigtModel(_LmfitPeak, lineshape="skewed_voigt"):
    """Voigt profile skewed by the error function; ``gamma`` tied to ``sigma`` as in
    VoigtModel."""

    def _set_hints(self) -> None:
        self.set_param_hint("sigma", min=0)
        self.set_param_hint("gamma", expr=f"{self.prefix}sigma")


class DoniachModel(_LmfitPeak, lineshape="doniach"):
    """Doniach-Sunjic lineshape; ``height`` derived; the guess scales amplitude by 0.5."""

    scales = (0.5, 1.0)

    def _set_hints(self) -> None:
        self._hint("height", "{amplitude}/max(" + _TINY + ", ({sigma}**(1-{gamma})))"
                             "*cos(pi*{gamma}/2)")


def _thermal_guess(model: Model, data: Any, x: Any, kws: dict[str, Any]) -> Parameters:
    """lmfit's thermal guess: ``center`` the mean of ``x``, ``kt`` a tenth of its range,
    ``amplitude = max(data) exp((min(x) - center)/kt)``."""
    xs = np.asarray(x, dtype=float)
    center = float(np.mean(xs))
    kt = float(xs.max() - xs.min()) / 10.0
    amplitude = float(np.max(data)) * float(np.exp((xs.min() - center) / max(1.0e-15, kt)))
    params = model.make_params(amplitude=amplitude, center=center, kt=kt)
    return _update_values(params, model.prefix, kws)


class ThermalDistributionModel(_BuiltinModel, lineshape="thermal_distribution"):
    """Bose-Einstein (``form='bose'``), Maxwell-Boltzmann or Fermi-Dirac distribution
    ``1/(amplitude exp((x - center)/kt) + offset)``."""

    valid_forms = ("bose", "maxwell", "fermi")

    def __init__(self, independent_vars: Sequence[str] = ("x",), prefix: str = "",
                 nan_policy: str = "raise", form: str = "bose", **kws: Any):
        lineshapes.thermal._thermal_offset(form)  # an unknown form fails here
        independent = [v for v in independent_vars if v != "form"]  # lmfit lists 'form'
        super().__init__(independent, prefix, nan_policy, form=form, **kws)

    def guess(self, data: Any, x: Any, negative: bool = False, **kws: Any) -> Parameters:
        """lmfit's thermal guess (from the range of ``x`` and the largest value)."""
        return _thermal_guess(self, data, x, kws)


class BoseModel(_BuiltinModel, lineshape="bose"):
    """Bose-Einstein distribution ``amplitude/(exp((x - center)/kt) - 1)``."""

    def __init__(self, prefix: str = "", nan_policy: str = "raise", **kws: Any):
        super().__init__(kws.pop("independent_vars", ("x",)), prefix, nan_policy, **kws)

    def guess(self, data: Any, x: Any, negative: bool = False, **kws: Any) -> Parameters:
        """lmfit's thermal guess (from the range of ``x`` and the largest value)."""
        return _thermal_guess(self, data, x, kws)


class FermiModel(BoseModel, lineshape="fermi"):
    """Fermi-Dirac distribution ``amplitude/(exp((x - center)/kt) + 1)``."""


def _complex_constant(x: Any, re: float = 0.0, im: float = 0.0) -> np.ndarray:
    """``re + i im`` at every point of ``x``."""
    return (re + 1j * im) * np.ones(np.shape(x))


def _complex_constant_jacobian(x: Any, re: float = 0.0, im: float = 0.0) -> tuple:
    ones = np.ones(np.shape(x))
    return ones + 0j, 1j * ones


class ComplexConstantModel(Model):
    """The complex constant ``re + i im`` (lmfit's ComplexConstantModel)."""

    def __init__(self, independent_vars: Sequence[str] = ("x",), prefix: str = "",
                 nan_policy: str = "raise", name: str | None = None, **kws: Any):
        super().__init__(_complex_constant, independent_vars=list(independent_vars),
                         prefix=prefix, nan_policy=nan_policy, name=name,
                         jac=_complex_constant_jacobian, **kws)

    def option_values(self) -> dict[str, Any]:
        """The constructor options of this model (none; for saving)."""
        return {}

    def guess(self, data: Any, x: Any = None, **kws: Any) -> Parameters:
        """``re``, ``im``: the means of the real and imaginary parts of the data."""
        params = self.make_params(re=float(np.real(data).mean()),
                                  im=float(np.imag(data).mean()))
        return _update_values(params, self.prefix, kws)


class SplineModel(Model):
    """Cubic B-spline through knots at ``xknots`` with coefficients ``s0 .. s{N-1}``.

    As lmfit's SplineModel: ``xknots`` (1-D, 4 to 100 values) are the ``x`` positions of
    the knots, the parameters are the spline coefficients (close to the curve's ``y`` at
    the knots for fine knots).  The model is linear in them, so its Jacobian is the
    B-spline basis, computed once per ``x``.

    Parameters
    ----------
    xknots : array_like
        Knot positions.
    independent_vars : sequence of str, default ('x',)
        One name only.
    prefix, nan_policy, **kws
        As :class:`~paramfit.models.model.Model`.

    Raises
    ------
    ParameterError
        ``xknots`` not 1-D or with more than 100 values, or more than one independent
        variable (TypeErrors in lmfit; these are ValueErrors).
    """

    MAX_KNOTS = 100

    def __init__(self, xknots: Any, independent_vars: Sequence[str] = ("x",),
                 prefix: str = "", nan_policy: str = "raise", **kws: Any):
        knots_x = np.asarray(xknots, dtype=float)
        if knots_x.ndim != 1:
            raise ParameterError("SplineModel xknots must be 1-D array-like")
        if len(knots_x) > self.MAX_KNOTS:
            raise ParameterError(f"SplineModel supports up to {self.MAX_KNOTS:d} knots")
        independent = [independent_vars] if isinstance(independent_vars, str) \
            else list(independent_vars)
        if len(independent) != 1:
            raise ParameterError("SplineModel supports only 1-d spline interpolation")
        self.xknots = knots_x
        self.nknots = len(knots_x)
        self.order = 3
        self.knots = splrep(knots_x, np.ones(self.nknots), k=self.order)[0]
        self._basis_cache: tuple[Any, np.ndarray] | None = None
        function = self._make_function(independent[0])
        super().__init__(function, independent_vars=independent, prefix=prefix,
                         nan_policy=nan_policy, jac=self._jacobian, **kws)

    def option_values(self) -> dict[str, Any]:
        """The knots, for saving (:mod:`paramfit.models.io`)."""
        return {"xknots": [float(v) for v in self.xknots]}

    def _make_function(self, xname: str):
        names = [f"s{i}" for i in range(self.nknots)]

        def spline_model(*args: Any, **kws: Any) -> np.ndarray:
            x = kws.pop(xname) if xname in kws else args[0]
            coefs = np.array([float(kws.get(n, 1.0)) for n in names])
            return self._basis(x) @ coefs

        params = [inspect.Parameter(xname, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        params += [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=1.0)
                   for n in names]
        spline_model.__signature__ = inspect.Signature(params)
        return spline_model

    def _basis(self, x: Any) -> np.ndarray:
        """The B-spline basis at ``x``, shape ``x.shape + (nknots,)`` (cached per ``x``)."""
        cached = self._basis_cache
        if cached is not None and cached[0] is x:
            return cached[1]
        xs = np.asarray(x, dtype=float)
        columns = []
        for i in range(self.nknots):
            unit = np.zeros(len(self.knots))
            unit[i] = 1.0
            columns.append(splev(xs.ravel(), (self.knots, unit, self.order)))
        basis = np.stack(columns, axis=-1).reshape((*xs.shape, self.nknots))
        self._basis_cache = (x, basis)
        return basis

    def _jacobian(self, *args: Any, **kws: Any) -> tuple[np.ndarray, ...]:
        x = kws[self.independent_vars[0]] if self.independent_vars[0] in kws else args[0]
        basis = self._basis(x)
        return tuple(basis[..., i] for i in range(self.nknots))

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """lmfit's spline guess: each coefficient from the data nearest its knot,
        ``(4 y[i] + y[i-1] + y[i+1]) / 6``."""
        xs = np.asarray(x, dtype=float)
        ys = np.asarray(data, dtype=float)
        values = {}
        for i, knot in enumerate(self.xknots):
            ix = int(np.abs(xs - knot).argmin())
            here = ys[ix]
            after = ys[ix + 1] if ix < len(xs) - 2 else here
            before = ys[ix - 1] if ix > 0 else here
            values[f"s{i}"] = float((4.0 * here + after + before) / 6.0)
        return _update_values(self.make_params(**values), self.prefix, kws)


#: The models of this module by class name.
EXTENDED_MODELS: dict[str, type[Model]] = {
    cls.__name__: cls for cls in (
        Gaussian2dModel, SplitLorentzianModel, Pearson4Model, BreitWignerModel,
        LognormalModel, DampedHarmonicOscillatorModel, SkewedVoigtModel, DoniachModel,
        ThermalDistributionModel, BoseModel, FermiModel, ComplexConstantModel, SplineModel,
    )
}

for _cls in (Gaussian2dModel, SplitLorentzianModel, Pearson4Model, BreitWignerModel,
             LognormalModel, DampedHarmonicOscillatorModel, SkewedVoigtModel, DoniachModel,
             ThermalDistributionModel, BoseModel, FermiModel, ComplexConstantModel,
             SplineModel):
    register_model_class("builtin", _cls)  # saved by class name (paramfit.models.io)
del _cls
