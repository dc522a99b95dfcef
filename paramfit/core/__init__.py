"""The core: parameters, expressions, the compiled problem, finite differences, the
solvers and the statistics.

numpy and scipy only; imports nothing of paramfit outside ``paramfit.core``."""

__all__: list[str] = []
