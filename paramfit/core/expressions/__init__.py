"""paramfit.core.expressions."""

__all__: list[str] = []
