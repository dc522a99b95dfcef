"""The package's import graph, built from the source: layers point downwards, no cycles.

Layers, lowest first (``paramfit/__init__.py`` states the same rule)::

    core  <-  report  <-  fitting  <-  {models, frontends, reference}  <-  batch  <-  cli

A module may import modules of its own layer or of a lower one, never of a higher one;
the modules directly under ``paramfit/`` (the lazy ``__init__``, ``__main__`` and the
re-exporting public paths such as ``paramfit.mpfit``) sit above every layer.  Imports
inside functions count (they are how cycles hide), except under ``if TYPE_CHECKING:``;
no module imports paramfit's own modules inside a function, except the lazy loading of
``paramfit/__init__.py`` (through :func:`importlib.import_module`).  The core imports no
optional package (matplotlib, pandas, tqdm, dask, uncertainties, emcee) at module level.
``import paramfit`` and ``import paramfit.core.expressions.compiler`` stay light: the
public names are imported on first use, so neither drags in the parameters, the solvers
or scipy.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "paramfit"
LAYERS = {"core": 0, "report": 1, "fitting": 2, "models": 3, "frontends": 3,
          "reference": 3, "batch": 4, "cli": 5}
TOP = 6
OPTIONAL = {"matplotlib", "pandas", "tqdm", "dask", "distributed", "uncertainties", "emcee"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] not in LAYERS:
        return TOP
    return LAYERS[parts[1]]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement loads (a ``from package import submodule`` loads
    the submodule)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if not MODULES[module].name == "__init__.py":
            package = package[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    out = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        out.append(candidate if candidate in MODULES else base)
    return out


def _imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((t, child.lineno, in_function) for t in _targets(module, child))
            visit(child, in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


IMPORTS = {module: _imports(module) for module in MODULES}


def _own(target: str) -> str | None:
    """The paramfit module an imported name resolves to (None outside paramfit)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def test_no_module_imports_a_higher_layer():
    upward = [f"{m}:{line} imports {t}" for m, found in IMPORTS.items()
              for target, line, _ in found if (t := _own(target)) and _layer(t) > _layer(m)]
    assert not upward, "\n".join(upward)


def test_no_import_inside_a_function_of_paramfit_modules():
    inside = [f"{m}:{line} imports {target}" for m, found in IMPORTS.items()
              for target, line, in_function in found
              if in_function and _own(target) and m != "paramfit"]
    assert not inside, "\n".join(inside)


def _graph() -> dict[str, set[str]]:
    """module -> the paramfit modules it imports (a package's ``__init__`` re-exporting
    its own submodules is not an edge of the layout: ``paramfit.models`` importing
    ``paramfit.models.builtin`` is how a package is built)."""
    graph = {m: {t for target, _, _ in found if (t := _own(target)) and t != m}
             for m, found in IMPORTS.items()}
    return {m: {t for t in targets if not (MODULES[t].name == "__init__.py"
                                           and m.startswith(t + "."))}
            for m, targets in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        on_stack.add(m)
        for t in sorted(graph[m]):
            if t not in index:
                visit(t)
                low[m] = min(low[m], low[t])
            elif t in on_stack:
                low[m] = min(low[m], index[t])
        if low[m] == index[m]:
            component = []
            while True:
                t = stack.pop()
                on_stack.discard(t)
                component.append(t)
                if t == m:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    return sorted(found)


def test_import_graph_has_no_cycle():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles (each line: modules that import one another):\n" + \
        "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_cycles():
    # guards test_import_graph_has_no_cycle against a finder that never finds anything
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_core_imports_no_optional_package_at_module_level():
    bad = [f"{m}:{line} imports {target}" for m, found in IMPORTS.items() if _layer(m) == 0
           for target, line, in_function in found
           if not in_function and target.split(".")[0] in OPTIONAL]
    assert not bad, "\n".join(bad)


def test_the_graph_sees_the_package():
    # guards the tests above against vacuous passes: the walk finds the layers and imports
    assert {m.split(".")[1] for m in MODULES if "." in m} >= set(LAYERS)
    assert any(_own(t) == "paramfit.core.parameters.parameters"
               for t, _, _ in IMPORTS["paramfit.fitting.minimizer"])


def _loaded_by(module: str) -> tuple[list[str], list[str]]:
    """(paramfit modules, heavy third-party modules) a fresh interpreter has after
    ``import module``."""
    code = (f"import sys, json, {module}; "
            "print(json.dumps([sorted(m for m in sys.modules if m.split('.')[0] == 'paramfit'), "
            "[m for m in ('numpy', 'scipy', 'matplotlib', 'pandas') if m in sys.modules]]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent)
    own, heavy = json.loads(out.stdout)
    return own, heavy


def test_import_paramfit_loads_only_the_exceptions():
    own, heavy = _loaded_by("paramfit")
    assert own == ["paramfit", "paramfit.core", "paramfit.core.exceptions"] and heavy == []


def test_the_expression_compiler_loads_no_parameters_solvers_or_scipy():
    own, heavy = _loaded_by("paramfit.core.expressions.compiler")
    assert {m for m in own if m != "paramfit"} <= {
        "paramfit.core", "paramfit.core.exceptions", "paramfit.core.expressions",
        "paramfit.core.expressions.compiler", "paramfit.core.expressions.functions",
        "paramfit.core.expressions.symbols"}, own
    assert set(heavy) <= {"numpy"}, heavy  # its array functions; scipy.special on first use
