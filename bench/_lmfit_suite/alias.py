"""The alias package ``lmfit/`` and the pytest plugin of ``bench/lmfit_suite.py``.

The alias's ``__init__`` puts ``paramfit`` into ``sys.modules["lmfit"]`` and installs a
``sys.meta_path`` finder that answers ``lmfit.X`` with the module object ``paramfit.X``; it
then imports the submodules that lmfit's own ``__init__`` makes attributes of the package
(read from lmfit's source by :func:`lmfit_attributes`).  The plugin records the first cause
of each failure (following ``raise ... from``) and whether the alias held.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["ALIAS", "TARGET", "PLUGIN", "ALIAS_INIT", "PLUGIN_SOURCE", "lmfit_attributes",
           "write_alias", "write_plugin"]

ALIAS = "lmfit"
TARGET = "paramfit"
PLUGIN = "_lmfit_suite_plugin"

ALIAS_INIT = '''\
"""Alias package written by paramfit's bench/lmfit_suite.py: ``import {alias}`` gives {target}.

``{alias}`` is the module object ``{target}``; ``{alias}.X`` is the module object ``{target}.X``.
"""

import importlib
import importlib.abc
import importlib.util
import sys

_ALIAS = {alias!r}
_TARGET = {target!r}
# Submodules that lmfit's own __init__ makes attributes of the package.
_PACKAGE_ATTRIBUTES = {attributes!r}


class _AliasLoader(importlib.abc.Loader):
    """Hand back the already-imported target module instead of creating one."""

    def __init__(self, target_name):
        self._target_name = target_name
        self._target_spec = None

    def create_module(self, spec):
        module = importlib.import_module(self._target_name)
        self._target_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamped the alias spec on the shared module: give its own back.
        module.__spec__ = self._target_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Answer ``{alias}.X`` with ``{target}.X`` for any X that {target} has."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(_ALIAS + "."):
            return None
        target_name = _TARGET + fullname[len(_ALIAS):]
        try:
            target_spec = importlib.util.find_spec(target_name)
        except ModuleNotFoundError:
            return None
        if target_spec is None:
            return None
        is_package = target_spec.submodule_search_locations is not None
        return importlib.util.spec_from_loader(
            fullname, _AliasLoader(target_name), is_package=is_package)


def _install():
    target = importlib.import_module(_TARGET)
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
    sys.modules[_ALIAS] = target
    for name in _PACKAGE_ATTRIBUTES:
        try:
            importlib.import_module(_ALIAS + "." + name)
        except ModuleNotFoundError as exc:
            if exc.name != _ALIAS + "." + name:
                raise


_install()
'''

PLUGIN_SOURCE = '''\
"""pytest plugin written by paramfit's bench/lmfit_suite.py.

Records, per failed test and per test file that cannot be collected, the first cause of
its exception (following ``raise ... from``), and, for an alias run, whether every
``{alias}.X`` module is still ``{target}.X``.
"""

import json
import sys

import pytest

_CAUSES = {{}}


def pytest_addoption(parser):
    parser.addoption("--suite-out", default=None, help="write causes and the alias check here")
    parser.addoption("--suite-alias", action="store_true", help="check the alias held")


def _first_cause(exc):
    seen = set()
    while exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return exc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    yield
    excinfo = call.excinfo
    if excinfo is None or excinfo.errisinstance(pytest.skip.Exception):
        return
    _CAUSES.setdefault(item.nodeid, {{}})[call.when] = _record(excinfo.value)


def _record(final):
    first = _first_cause(final)
    return {{
        "first": type(first).__qualname__ + ": " + str(first),
        "first_module": type(first).__module__,
        "final": type(final).__qualname__,
    }}


def pytest_exception_interact(node, call, report):
    # Collection errors (a test file that cannot be imported); tests are recorded above.
    if isinstance(node, pytest.Item) or call.excinfo is None:
        return
    _CAUSES.setdefault(node.nodeid, {{}})["collect"] = _record(call.excinfo.value)


def _alias_problems():
    alias, target = {alias!r}, {target!r}
    problems = []
    if alias in sys.modules and sys.modules[alias] is not sys.modules.get(target):
        problems.append(alias + " is not " + target)
    for name, module in list(sys.modules.items()):
        if name.startswith(alias + "."):
            twin = target + name[len(alias):]
            if module is not sys.modules.get(twin):
                problems.append(name + " is not " + twin)
    return problems


def pytest_sessionfinish(session, exitstatus):
    out = session.config.getoption("--suite-out")
    if out is None:
        return
    problems = _alias_problems() if session.config.getoption("--suite-alias") else []
    with open(out, "w") as handle:
        json.dump({{"causes": _CAUSES, "alias_problems": problems}}, handle)
'''


def lmfit_attributes(lmfit_src: Path) -> list[str]:
    """Submodules that lmfit's ``__init__`` imports, so ``lmfit.X`` works after ``import lmfit``.

    Parameters
    ----------
    lmfit_src : Path
        The lmfit checkout.

    Returns
    -------
    list of str
        Names X of ``lmfit/X.py`` imported at module level by lmfit's ``__init__``, directly
        or through the modules it imports (read from the source, not run).
    """
    package = lmfit_src / ALIAS
    modules = {path.stem for path in package.glob("*.py") if path.stem != "__init__"}
    found: set[str] = set()
    todo = ["__init__"]
    while todo:
        tree = ast.parse((package / f"{todo.pop()}.py").read_text())
        for name in _module_level_imports(tree, modules) - found:
            found.add(name)
            todo.append(name)
    return sorted(found)


def _module_level_imports(tree: ast.Module, modules: set[str]) -> set[str]:
    """The lmfit modules named by the import statements run when the module is imported."""
    names: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.ImportFrom):
            names |= _from_import_targets(node)
        elif isinstance(node, ast.Import):
            names |= {alias.name.split(".")[1] for alias in node.names
                      if alias.name.startswith(ALIAS + ".")}
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            pending.extend(ast.iter_child_nodes(node))  # if / try blocks at module level
    return names & modules


def _from_import_targets(node: ast.ImportFrom) -> set[str]:
    """``from .X import a`` / ``from lmfit.X import a`` -> X; ``from . import a, b`` -> a, b."""
    module = node.module or ""
    if node.level == 0:
        if not module.startswith(ALIAS + "."):
            return set()
        module = module[len(ALIAS) + 1:]
    if module:
        return {module.split(".")[0]}
    return {alias.name for alias in node.names}


def write_alias(directory: Path, attributes: list[str]) -> Path:
    """Write the alias package ``lmfit/`` into ``directory``; return ``directory``."""
    package = directory / ALIAS
    package.mkdir(parents=True)
    fields = {"alias": ALIAS, "target": TARGET, "attributes": tuple(attributes)}
    (package / "__init__.py").write_text(ALIAS_INIT.format(**fields))
    return directory


def write_plugin(directory: Path) -> Path:
    """Write the pytest plugin (first causes, alias check) into ``directory``; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{PLUGIN}.py").write_text(PLUGIN_SOURCE.format(alias=ALIAS, target=TARGET))
    return directory
