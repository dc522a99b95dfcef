"""paramfit.frontends."""

__all__: list[str] = []
