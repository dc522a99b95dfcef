"""paramfit.report."""

__all__: list[str] = []
