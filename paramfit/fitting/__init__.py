"""paramfit.fitting."""

__all__: list[str] = []
