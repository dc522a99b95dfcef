"""paramfit.core.differentiation."""

__all__: list[str] = []
