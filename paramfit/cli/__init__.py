"""The ``paramfit`` command line: :func:`paramfit.cli.app.main` parses, :mod:`.commands`
runs, :mod:`.data` reads tables."""

__all__: list[str] = []
