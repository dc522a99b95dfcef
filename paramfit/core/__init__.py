"""The core: parameters, expressions, the compiled problem, finite differences, the
solvers and the statistics.

numpy and scipy only; imports nothing of paramfit outside ``paramfit.core``."""

__all__ = ["__version__"]

#: The package version (``paramfit.__version__`` and ``paramfit --version`` read it here,
#: so neither the CLI nor any layer imports the top-level package).
__version__ = "0.1.0"
