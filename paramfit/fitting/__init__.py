"""The seed API over the core: :func:`minimize`, :class:`Minimizer`, confidence
intervals and profiles."""

__all__: list[str] = []
