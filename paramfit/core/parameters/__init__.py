"""paramfit.core.parameters."""

__all__: list[str] = []
