"""Lazy import of optional dependencies with a message that says what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from paramfit.core.exceptions import MissingDependencyError

__all__ = ["require"]


def require(module: str, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"matplotlib.pyplot"``.
    extra : str
        The paramfit extra that installs it, e.g. ``"plot"``.
    feature : str, optional
        What the user asked for, used in the message.

    Examples
    --------
    >>> np = require("numpy", "core")
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = feature or module
        raise MissingDependencyError(
            f"{what} needs the optional package '{module.split('.')[0]}': "
            f"install it with  pip install 'paramfit[{extra}]'"
        ) from exc
