"""The public surface: what users import, and every module's ``__all__``."""

import importlib
import pkgutil
import subprocess
import sys

import paramfit

PUBLIC = {
    "BatchResult", "BoundsError", "BoundsWarning", "CompositeModel", "Differentiable",
    "ExpressionError",
    "ExpressionEvaluationError", "ExpressionModel", "FitError", "FitResult", "Minimizer",
    "MinimizerException",
    "MissingDependencyError", "Model", "ModelResult", "NonFiniteResidualError", "OptionError",
    "Parameter",
    "ParameterError", "ParameterStatus", "Parameters", "ParamfitError", "ParamfitWarning",
    "ResidualError", "StopFit", "ci_report", "conf_interval", "conf_interval2d",
    "create_params", "fit_many", "fit_report", "load_model",
    "load_modelresult", "minimize", "printfuncs", "report_ci", "report_errors", "report_fit",
    "save_model", "save_modelresult", "__version__",
}


def test_top_level_names_are_exactly_the_documented_ones():
    assert set(paramfit.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(paramfit, name), name


def test_front_end_modules_expose_the_seed_names():
    from paramfit import mpfit, nls, printfuncs

    assert {"mpfit", "mpfitfun", "mpfitexpr"} <= set(mpfit.__all__)
    assert {"nlxb", "nlfb", "optimr", "bmchk"} <= set(nls.__all__)
    assert {"report_errors", "report_ci", "report_fit", "fit_report"} <= set(printfuncs.__all__)


def test_every_module_declares_all_and_it_resolves():
    for info in pkgutil.walk_packages(paramfit.__path__, "paramfit."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        assert hasattr(module, "__all__"), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"


def test_core_import_loads_no_optional_dependency():
    code = ("import sys, paramfit; "
            "print(sorted(m for m in ('matplotlib', 'pandas', 'dask', 'tqdm', 'lmfit', "
            "'uncertainties', 'emcee') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
