"""Collection rules for the whole repository (tests/ and the doctests in paramfit/).

The doctests of ``paramfit/report/plots.py`` draw figures, so they are collected only where
the optional package matplotlib (``paramfit[plot]``) is installed; ``make test-min``
runs without any optional package.
"""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("matplotlib") is None:
    collect_ignore.append("paramfit/report/plots.py")
