"""paramfit.cli.app."""

__all__: list[str] = []
