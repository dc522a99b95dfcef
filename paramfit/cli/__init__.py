"""The ``paramfit`` command line: :func:`paramfit.cli.app.main` parses, :mod:`.commands`
runs, :mod:`.parsing` reads formulas and ``NAME=VALUE`` options, :mod:`.data` reads tables."""

__all__: list[str] = []
