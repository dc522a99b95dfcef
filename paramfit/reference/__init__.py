"""paramfit.reference."""

__all__: list[str] = []
