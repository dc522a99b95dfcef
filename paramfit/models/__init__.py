"""paramfit.models.builtin."""

__all__: list[str] = []
