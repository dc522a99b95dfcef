"""Built-in models, named as lmfit's, each with analytic derivatives and a ``guess``.

Every class is a :class:`~paramfit.models.model.Model` over a function of
:mod:`paramfit.models.lineshapes`, so fits use the lineshape's analytic Jacobian.  Peak
models add the derived parameters ``fwhm`` and ``height`` as tie expressions (as
lmfit does); ``guess(data, x)`` returns :class:`~paramfit.Parameters` estimated from
the data (see :mod:`paramfit.models.guess` for the heuristics).

Examples
--------
>>> import numpy as np
>>> from paramfit.models.builtin import GaussianModel, LinearModel
>>> x = np.linspace(0, 10, 201)
>>> y = 5 * np.exp(-(x - 4)**2 / 2) / np.sqrt(2 * np.pi) + 0.2 * x + 1
>>> model = GaussianModel(prefix='g_') + LinearModel(prefix='bg_')
>>> params = model.make_params(g_amplitude=4, g_center=4.5, g_sigma=1.3, bg_slope=0.1,
...                            bg_intercept=0.5)
>>> result = model.fit(y, params, x=x)
>>> round(result.params['g_center'].value, 6), round(result.params['g_fwhm'].value, 4)
(4.0, 2.3548)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import paramfit.models.guess as _guess
import paramfit.models.guess_curves as _curves
import paramfit.models.lineshapes as lineshapes
from paramfit.core.exceptions import ParameterError
from paramfit.core.parameters.parameters import Parameters
from paramfit.models.io import register_model_class
from paramfit.models.model import Model

__all__ = [
    "ConstantModel", "LinearModel", "QuadraticModel", "ParabolicModel", "PolynomialModel",
    "ExponentialModel", "PowerLawModel", "GaussianModel", "LorentzianModel", "VoigtModel",
    "PseudoVoigtModel", "MoffatModel", "Pearson7Model", "StudentsTModel",
    "SkewedGaussianModel", "SineModel", "DampedOscillatorModel", "StepModel",
    "RectangleModel", "ExponentialGaussianModel", "LogisticModel", "BUILTIN_MODELS",
]

_TINY = "1e-15"


class _BuiltinModel(Model):
    """Base of the built-in models: one lineshape, hints set per prefix.

    A subclass names its lineshape in the registry, ``class GaussianModel(_PeakModel,
    lineshape="gaussian")``, which gives it ``function`` and ``options`` (unless its body
    sets ``options`` itself).
    """

    function: Callable = staticmethod(lineshapes.constant)
    #: Options (``form``, ``degree``) saved by :mod:`paramfit.models.io`.
    options: tuple[str, ...] = ()

    def __init_subclass__(cls, lineshape: str | None = None, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if lineshape is not None:
            record = lineshapes.LINESHAPES[lineshape]
            cls.function = staticmethod(record.function)
            if "options" not in cls.__dict__:
                cls.options = record.options

    def __init__(self, independent_vars: Sequence[str] = ("x",), prefix: str = "",
                 nan_policy: str = "raise", *, name: str | None = None, **kws: Any):
        super().__init__(type(self).function, independent_vars=list(independent_vars),
                         prefix=prefix, nan_policy=nan_policy,
                         name=name, **kws)
        self._set_hints()

    def _set_hints(self) -> None:
        """Subclasses add bounds and derived parameters here."""

    def option_values(self) -> dict[str, Any]:
        """The constructor options of this model (for saving)."""
        return {key: self.opts[key] for key in self.options if key in self.opts}

    def _finish(self, values: dict[str, Any], kws: dict[str, Any]) -> Parameters:
        """make_params from guessed values; user keywords win; a guess leaves tied
        parameters (Voigt's gamma) tied: a value given to make_params unties (lmfit)."""
        tied = {root for root, hint in self.param_hints.items() if hint.get("expr")}
        values = {k: v for k, v in values.items() if k not in tied}
        values.update(kws)
        return self.make_params(**values)


class _PeakModel(_BuiltinModel):
    """A peak of ``amplitude``, ``center``, ``sigma`` (+ shape parameters)."""

    #: ``fwhm`` and ``height`` expressions in terms of unprefixed names.
    fwhm_expr: str | None = None
    height_expr: str | None = None
    #: The lower bound hinted for ``sigma`` (None: unbounded), as lmfit's model has it.
    sigma_min: float | None = 0.0
    #: ``(ampscale, sigscale)``: lmfit's factors of the guessed amplitude and sigma.
    scales: tuple[float, float] = (1.0, 1.0)

    def _shape(self, sigma: np.ndarray) -> dict[str, Any]:
        """Shape parameters (not amplitude/center/sigma) the guess gives: their hinted
        values (or the function's defaults)."""
        hints = self.param_hints
        return {root: float(hints.get(root, {}).get("value", self._defaults[root]))
                for root in self._roots if root not in ("amplitude", "center", "sigma")}

    def _set_hints(self) -> None:
        if self.sigma_min is not None:
            self.set_param_hint("sigma", min=self.sigma_min)
        for key in ("fwhm", "height"):
            expr = getattr(self, f"{key}_expr")
            if expr:
                self.set_param_hint(key, expr=_prefixed(expr, self.prefix, self._roots))

    def guess(self, data: Any, x: Any, negative: bool = False, **kws: Any) -> Parameters:
        """lmfit's peak guess (:func:`paramfit.models.guess.guess_peaks` with this model's
        ``scales``); ``sigma`` gets a lower bound 0 (as lmfit's guess sets).

        Examples
        --------
        A Lorentzian of half width 0.8 at 1 sampled every 0.05: the samples above half
        height run from 0.25 to 1.75, so ``sigma`` is 0.75 and ``center`` their mean:

        >>> import numpy as np
        >>> x = np.linspace(-10, 10, 401)
        >>> m = LorentzianModel()
        >>> p = m.guess(m.eval(x=x, amplitude=3, center=1, sigma=0.8), x=x)
        >>> round(p['center'].value, 6), round(p['sigma'].value, 6), p['sigma'].min
        (1.0, 0.75, 0.0)
        """
        row = np.asarray(data, dtype=float).ravel()[None, :]
        values = {k: float(v[0]) for k, v in self.guess_rows(row, x, negative=negative).items()}
        params = self._finish(values, kws)
        sigma = params[self.prefix + "sigma"]
        sigma.set_bounds(0.0, sigma.max)
        return params

    def guess_rows(self, data: Any, x: Any, negative: bool = False,
                   errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once, unprefixed names to (B,)
        arrays; :meth:`guess` is this on one row, bit for bit.  ``errors='nan'``: rows that
        cannot be guessed give NaN instead of raising."""
        ampscale, sigscale = self.scales
        values = _guess.guess_peaks(data, x, negative=negative, ampscale=ampscale,
                                    sigscale=sigscale, errors=errors)
        shape = self._shape(values["sigma"])
        return {**values, **{k: np.broadcast_to(v, values["sigma"].shape)
                             for k, v in shape.items()}}


def _one_row(model: Any, data: Any, x: Any, **kws: Any) -> dict[str, float]:
    """``model.guess_rows`` on one dataset, as floats: what ``guess`` starts from (the
    single-dataset checks and messages of :func:`paramfit.models.guess.sorted_xy` first,
    for the models that need an x)."""
    row = np.asarray(data, dtype=float).ravel()[None, :]
    if not isinstance(model, ConstantModel):
        _guess.sorted_xy(row[0], x)
    return {k: float(v[0]) for k, v in model.guess_rows(row, x, **kws).items()}


def _prefixed(expr: str, prefix: str, roots: Sequence[str]) -> str:
    """Write ``{name}`` placeholders of an expression template with the prefix."""
    names = {root: prefix + root for root in [*roots, "fwhm", "height"]}
    return expr.format(**names)


# ---------------------------------------------------------------------- lines
class ConstantModel(_BuiltinModel, lineshape="constant"):
    """``c`` (lmfit's ConstantModel); guess: the mean of the data."""

    def guess(self, data: Any, x: Any = None, **kws: Any) -> Parameters:
        """``c`` = mean of the data."""
        return self._finish(_one_row(self, data, x), kws)

    def guess_rows(self, data: Any, x: Any = None, errors: str = "raise"
                   ) -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once."""
        return {"c": _guess.guess_polynomials(data, x, 0)[0]}


class LinearModel(_BuiltinModel, lineshape="linear"):
    """``slope * x + intercept``; guess: least-squares line."""

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """Slope and intercept of the least-squares line."""
        return self._finish(_one_row(self, data, x), kws)

    def guess_rows(self, data: Any, x: Any, errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once."""
        c0, c1 = _guess.guess_polynomials(data, x, 1)
        return {"slope": c1, "intercept": c0}


class QuadraticModel(_BuiltinModel, lineshape="parabolic"):
    """``a * x**2 + b * x + c``; guess: least-squares parabola."""

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """Coefficients of the least-squares parabola."""
        return self._finish(_one_row(self, data, x), kws)

    def guess_rows(self, data: Any, x: Any, errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once."""
        c, b, a = _guess.guess_polynomials(data, x, 2)
        return {"a": a, "b": b, "c": c}


ParabolicModel = QuadraticModel


class PolynomialModel(_BuiltinModel, lineshape="polynomial"):
    """``c0 + c1 x + ... + c_degree x**degree`` with ``degree`` in 0..7."""

    options = ("degree",)

    def __init__(self, degree: int = 2, independent_vars: Sequence[str] = ("x",),
                 prefix: str = "", nan_policy: str = "raise", **kws: Any):
        if not isinstance(degree, int) or not 0 <= degree <= 7:
            raise ParameterError(f"PolynomialModel degree must be an integer 0..7, "
                                 f"got {degree!r}")
        self.poly_degree = degree
        super().__init__(independent_vars, prefix, nan_policy, **kws)
        self._roots = [f"c{i}" for i in range(degree + 1)]

    def option_values(self) -> dict[str, Any]:
        return {"degree": self.poly_degree}

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """Coefficients of the least-squares polynomial."""
        return self._finish(_one_row(self, data, x), kws)

    def guess_rows(self, data: Any, x: Any, errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once."""
        coefs = _guess.guess_polynomials(data, x, self.poly_degree)
        return {f"c{i}": c for i, c in enumerate(coefs)}


class ExponentialModel(_BuiltinModel, lineshape="exponential"):
    """``amplitude * exp(-x / decay)``; guess: line through ``log(y)``."""

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """Amplitude and decay from a log-linear fit."""
        return self._finish(_one_row(self, data, x), kws)

    def guess_rows(self, data: Any, x: Any, errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once."""
        return _curves.guess_exponentials(data, x, errors=errors)


class PowerLawModel(_BuiltinModel, lineshape="powerlaw"):
    """``amplitude * x**exponent``; guess: line through ``log(y)`` vs ``log(x)``."""

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """Amplitude and exponent from a log-log fit."""
        return self._finish(_one_row(self, data, x), kws)

    def guess_rows(self, data: Any, x: Any, errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once."""
        return _curves.guess_powerlaws(data, x, errors=errors)


class SineModel(_BuiltinModel, lineshape="sine"):
    """``amplitude * sin(frequency * x + shift)``; guess: periodogram + linear fit."""

    def _set_hints(self) -> None:
        self.set_param_hint("amplitude", min=0)
        self.set_param_hint("frequency", min=0)
        self.set_param_hint("shift", min=-6.283185307179586 - 1e-5,
                            max=6.283185307179586 + 1e-5)

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """Frequency of the best single sinusoid, then amplitude and shift."""
        return self._finish(_one_row(self, data, x), kws)

    def guess_rows(self, data: Any, x: Any, errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once."""
        return _curves.guess_sines(data, x, errors=errors)


# ---------------------------------------------------------------------- peaks
class GaussianModel(_PeakModel, lineshape="gaussian"):
    """Gaussian peak of area ``amplitude``; ``fwhm = 2.3548200 sigma``."""

    fwhm_expr = "2.3548200*{sigma}"
    height_expr = "0.3989423*{amplitude}/max(" + _TINY + ", {sigma})"


class LorentzianModel(_PeakModel, lineshape="lorentzian"):
    """Lorentzian peak of area ``amplitude``; ``fwhm = 2 sigma``."""

    scales = (1.25, 1.0)

    fwhm_expr = "2.0*{sigma}"
    height_expr = "0.3183099*{amplitude}/max(" + _TINY + ", {sigma})"


class VoigtModel(_PeakModel, lineshape="voigt"):
    """Voigt peak; ``gamma`` is tied to ``sigma`` by default (as in lmfit)."""

    scales = (1.5, 0.65)

    fwhm_expr = "1.0692*{gamma}+sqrt(0.8664*{gamma}**2+5.545083*{sigma}**2)"
    height_expr = "voigt(0.0, {amplitude}, 0.0, {sigma}, {gamma})"

    def _set_hints(self) -> None:
        super()._set_hints()
        self.set_param_hint("gamma", expr=self.prefix + "sigma")

    def _symbols(self) -> dict[str, object]:
        return {"voigt": lineshapes.voigt}

    def _shape(self, sigma: np.ndarray) -> dict[str, Any]:
        if self.param_hints.get("gamma", {}).get("expr"):
            return {"gamma": sigma}
        return super()._shape(sigma)


class PseudoVoigtModel(_PeakModel, lineshape="pvoigt"):
    """Weighted sum of a Gaussian and a Lorentzian of the same FWHM ``2 sigma``."""

    scales = (1.25, 1.0)

    fwhm_expr = "2.0*{sigma}"
    height_expr = ("(((1-{fraction})*{amplitude})/max(" + _TINY + ", ({sigma}*sqrt(pi/log(2))))"
                   "+({fraction}*{amplitude})/max(" + _TINY + ", (pi*{sigma})))")

    def _set_hints(self) -> None:
        super()._set_hints()
        self.set_param_hint("fraction", value=0.5, min=0.0, max=1.0)


class MoffatModel(_PeakModel, lineshape="moffat"):
    """Moffat peak of height ``amplitude``."""

    scales = (0.5, 1.0)

    fwhm_expr = "2*{sigma}*sqrt(2**(1.0/max(1e-3, {beta}))-1)"
    height_expr = "{amplitude}"


class Pearson7Model(_PeakModel, lineshape="pearson7"):
    """Pearson VII peak of area ``amplitude``; ``expon`` starts at 1.5."""

    fwhm_expr = "sqrt(2**(1/{expon})-1)*2*{sigma}"
    height_expr = ("{amplitude}*gamma({expon})/max(" + _TINY
                   + ", (gamma(0.5)*gamma({expon}-0.5)*{sigma}))")
    sigma_min = None  # lmfit hints no bound on Pearson VII's sigma (issue 16 #4)

    def _set_hints(self) -> None:
        super()._set_hints()
        self.set_param_hint("expon", value=1.5, max=100)


class StudentsTModel(_PeakModel, lineshape="students_t"):
    """Student's t peak; ``sigma`` is also the number of degrees of freedom."""

    fwhm_expr = "2*sqrt(2**(2/({sigma}+1))*{sigma}-{sigma})"
    height_expr = "{amplitude}*gamma(({sigma}+1)/2)/(sqrt({sigma}*pi)*gamma({sigma}/2))"

    def _set_hints(self) -> None:
        super()._set_hints()
        self.set_param_hint("sigma", min=0.0, max=100)


class SkewedGaussianModel(_PeakModel, lineshape="skewed_gaussian"):
    """Gaussian skewed by the error function (``gamma`` = 0: a Gaussian)."""


class ExponentialGaussianModel(_PeakModel, lineshape="expgaussian"):
    """Exponentially modified Gaussian (``gamma`` in 0..20)."""

    def _set_hints(self) -> None:
        super()._set_hints()
        self.set_param_hint("gamma", min=0, max=20)


class DampedOscillatorModel(_PeakModel, lineshape="damped_oscillator"):
    """Amplitude of a driven damped harmonic oscillator; ``height = amplitude/(2 sigma)``."""

    height_expr = "0.5*{amplitude}/max(" + _TINY + ", {sigma})"

    scales = (0.1, 0.1)


# ---------------------------------------------------------------------- steps
class _FormModel(_BuiltinModel):
    """A lineshape with the ``form`` option (the shape of its edges)."""

    def __init__(self, independent_vars: Sequence[str] = ("x",), prefix: str = "",
                 nan_policy: str = "raise", *, form: str = "linear", **kws: Any):
        super().__init__(independent_vars, prefix, nan_policy, form=form, **kws)


class StepModel(_FormModel, lineshape="step"):
    """Step of height ``amplitude`` at ``center``; ``form`` in linear, atan, erf, logistic.

    ``sigma`` is unbounded, as lmfit's: a negative width makes a falling step of positive
    amplitude (issue 16 #4: a ``min=0`` left a falling step unfittable from such a start).
    """

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """Amplitude from the plateaus, center and sigma from the 25/50/75% crossings."""
        return self._finish(_one_row(self, data, x), kws)

    def guess_rows(self, data: Any, x: Any, errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once."""
        return _curves.guess_steps(lineshapes.step, data, x,
                                   form=self.opts.get("form", "logistic"), errors=errors)


class LogisticModel(StepModel, lineshape="logistic"):
    """Logistic step ``amplitude * (1 - 1/(1 + exp((x - center)/sigma)))``."""

    def __init__(self, independent_vars: Sequence[str] = ("x",), prefix: str = "",
                 nan_policy: str = "raise", **kws: Any):
        _BuiltinModel.__init__(self, independent_vars, prefix, nan_policy, **kws)

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """As :meth:`StepModel.guess` with the logistic form."""
        return self._finish(_one_row(self, data, x), kws)


class RectangleModel(_FormModel, lineshape="rectangle"):
    """Rise at ``center1`` and fall at ``center2``; ``midpoint`` is derived."""

    def _set_hints(self) -> None:  # sigma1, sigma2 unbounded, as lmfit's (see StepModel)
        self.set_param_hint("midpoint",
                            expr=f"({self.prefix}center1+{self.prefix}center2)/2.0")

    def guess(self, data: Any, x: Any, **kws: Any) -> Parameters:
        """Edges from the 25/50/75% crossings on each side of the plateau."""
        return self._finish(_one_row(self, data, x), kws)

    def guess_rows(self, data: Any, x: Any, errors: str = "raise") -> dict[str, np.ndarray]:
        """:meth:`guess` for every row of ``data`` (B, m) at once."""
        return _curves.guess_rectangles(lineshapes.rectangle, data, x,
                                        form=self.opts["form"], errors=errors)


#: Every built-in model class by name (used to load saved models).
BUILTIN_MODELS: dict[str, type[Model]] = {
    cls.__name__: cls for cls in (
        ConstantModel, LinearModel, QuadraticModel, PolynomialModel, ExponentialModel,
        PowerLawModel, GaussianModel, LorentzianModel, VoigtModel, PseudoVoigtModel,
        MoffatModel, Pearson7Model, StudentsTModel, SkewedGaussianModel, SineModel,
        DampedOscillatorModel, StepModel, RectangleModel, ExponentialGaussianModel,
        LogisticModel,
    )
}

for _cls in BUILTIN_MODELS.values():  # saved by class name (paramfit.models.io)
    register_model_class("builtin", _cls)
del _cls
