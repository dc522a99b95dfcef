"""Run lmfit 1.3's own tests and examples against paramfit, unchanged, and count what passes.

The measurement for "Run lmfit 1.3 code unchanged": lmfit's test files and example scripts
are run as they are, with ``import lmfit`` answered by paramfit.  Nothing of lmfit is copied
into this repository; its files are read from a checkout given by ``--lmfit-src``.

How it works
------------
* An alias package ``lmfit/`` is written into a temporary directory.  Its ``__init__``
  puts ``paramfit`` into ``sys.modules["lmfit"]`` and installs a ``sys.meta_path`` finder
  that answers ``lmfit.X`` with the module object ``paramfit.X`` (for any X, so modules
  that paramfit adds later under lmfit's names are picked up without changing this file).
  It then imports the submodules that lmfit's own ``__init__`` makes attributes of the
  package (``lmfit.minimizer``, ``lmfit.models``, ...), where paramfit has them.
* lmfit's ``tests/``, ``examples/`` and ``NIST_STRD/`` are copied side by side into a
  temporary tree (the tests read ``../examples/*.dat`` and ``../NIST_STRD/*.dat``).
* Each test file runs in its own ``python -m pytest`` process (working directory: the
  copy of ``tests/``; the alias directory first on ``PYTHONPATH``, so it shadows an
  installed lmfit) with a per-file timeout; the junit XML gives the per-test outcome.
* Each example runs in its own process, in its own fresh copy of ``examples/``, headless
  (``MPLBACKEND=Agg``), with a per-example timeout.
* ``--real-lmfit`` runs the same with the installed lmfit instead of the alias: the
  reference counts.

Failures are grouped by first cause: the first exception of the chain the test ended with
(following ``raise ... from``, recorded by a small pytest plugin written next to the alias),
as type and message, with memory addresses and, for assertion failures, numbers blanked; a
wrapper (``[raised as ResidualError]``) is named after it.  Files that cannot be imported
and examples that fail are listed with their last error line, and counted among the causes.

Run (from the repository root)::

    .venv/bin/python bench/lmfit_suite.py --lmfit-src /work/lmfit-1.3.4 --real-lmfit \\
        --json real.json
    .venv/bin/python bench/lmfit_suite.py --lmfit-src /work/lmfit-1.3.4 \\
        --reference real.json --json alias.json --markdown alias.md

Only one test or example process runs at a time.
"""

from __future__ import annotations

import argparse
import ast
import collections
import datetime
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

ALIAS = "lmfit"
TARGET = "paramfit"
TEST_TIMEOUT_S = 300.0
EXAMPLE_TIMEOUT_S = 120.0
STDERR_TAIL = 15  # lines of a failed example's stderr kept in the JSON
PLUGIN = "_lmfit_suite_plugin"
# Directories of the lmfit checkout the tests and examples read, laid out side by side.
TREE_DIRS = ("tests", "examples", "NIST_STRD")

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


@dataclass
class Case:
    """One test's outcome, from the junit XML."""

    test: str
    outcome: str  # passed, failed, error, skipped
    message: str = ""
    cause: str = ""


@dataclass
class FileResult:
    """The outcome of one lmfit test file."""

    file: str
    status: str  # ran, import-error, no-junit, timeout
    seconds: float
    collected: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    import_error: str = ""
    import_cause: str = ""
    alias_problems: list[str] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


@dataclass
class ExampleResult:
    """The outcome of one lmfit example script."""

    example: str
    status: str  # completed, failed, timeout
    seconds: float
    last_line: str = ""
    cause: str = ""
    stderr_tail: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- set-up


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


def lay_out_tree(lmfit_src: Path, destination: Path) -> Path:
    """Copy lmfit's tests, examples and NIST data side by side into ``destination``."""
    for name in TREE_DIRS:
        shutil.copytree(lmfit_src / name, destination / name)
    # An empty ini file: rootdir here, and none of lmfit's own pytest options (coverage).
    (destination / "pytest.ini").write_text("[pytest]\n")
    return destination


def export_paramfit(repo: Path, rev: str, destination: Path) -> Path:
    """``git archive`` paramfit at ``rev`` into ``destination`` (to measure a fixed commit)."""
    destination.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev, TARGET],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
    return destination


def child_env(pythonpath: list[Path]) -> dict[str, str]:
    """Environment for the test and example processes: ours, plus PYTHONPATH and MPLBACKEND."""
    env = dict(os.environ)
    paths = [str(path) for path in pythonpath]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    else:
        env.pop("PYTHONPATH", None)
    env["MPLBACKEND"] = "Agg"  # headless; nothing else is set (no BLAS thread variables)
    return env


def run_process(command: list[str], cwd: Path, env: dict[str, str],
                timeout: float) -> tuple[int | None, str, str, float]:
    """Run ``command``; on timeout kill its whole process group.

    Returns
    -------
    tuple
        ``(returncode or None on timeout, stdout, stderr, seconds)``.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    return code, out, err, time.perf_counter() - start


# ---------------------------------------------------------------------------- causes

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_WRAPPED = re.compile(r'^failed on (?:setup|teardown|call) with "(.*)"$', re.DOTALL)
_MAX_CAUSE = 160
# "/tmp/lmfit_suite_x/paramfit_src/paramfit/model.py" -> "paramfit/model.py"
_PATH = re.compile(r"/[^\s()\"']*/(?=(?:paramfit|lmfit)/)")


def tidy_paths(text: str) -> str:
    """Drop the machine-specific directories from the module paths in a message."""
    return _PATH.sub("", text)


def normalise_cause(message: str) -> str:
    """The grouping key of a failure: exception type and message, normalised.

    Memory addresses are blanked, module paths shortened, whitespace collapsed, the message
    cut at ``_MAX_CAUSE`` characters; for ``AssertionError`` numbers are blanked too (they are
    the test's figures, not the cause) and numpy's "Mismatched elements" details dropped.

    Parameters
    ----------
    message : str
        pytest's crash line, e.g. ``"AttributeError: 'X' object has no attribute 'y'"``.

    Returns
    -------
    str
        The normalised cause.
    """
    wrapped = _WRAPPED.match(message.strip())
    if wrapped:
        message = wrapped.group(1)
    text = _ADDRESS.sub("<address>", tidy_paths(message))
    if text.startswith("assert "):
        text = "AssertionError: " + text
    if text.startswith("AssertionError"):
        text = text.split("Mismatched elements")[0]
        text = _NUMBER.sub("#", text)
    text = " ".join(text.split())
    if len(text) > _MAX_CAUSE:
        text = text[:_MAX_CAUSE - 1] + "…"
    return text or "(no message)"


def last_error_line(text: str) -> str:
    """The last ``E   ...`` line of a pytest report, else the last non-empty line."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if any(line.startswith("E ") for line in lines):
        return _last_block_start(lines)
    return lines[-1].strip() if lines else ""


def _last_block_start(lines: list[str]) -> str:
    """First line of the last run of consecutive ``E`` lines (a message may span several)."""
    index = max(i for i, line in enumerate(lines) if line.startswith("E "))
    while index > 0 and lines[index - 1].startswith("E "):
        index -= 1
    return lines[index][1:].strip()


def traceback_last_line(stderr: str) -> str:
    """The exception line that ends a Python traceback in ``stderr``."""
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    if "Traceback (most recent call last):" not in stderr:
        return lines[-1].strip() if lines else ""
    start = max(i for i, line in enumerate(lines) if line.startswith("Traceback"))
    for line in reversed(lines[start:]):
        if not line.startswith(" "):
            return line.strip()
    return lines[-1].strip()


_CHAIN = re.compile(r"\n(The above exception was the direct cause of the following exception:"
                    r"|During handling of the above exception, another exception occurred:)\n")


def traceback_cause(stderr: str) -> str:
    """The first cause of a script's traceback, as the plugin finds it for tests.

    Walks back from the last traceback over "direct cause" links (``raise ... from``) only.
    """
    parts = _CHAIN.split(stderr)  # [block, separator, block, separator, block, ...]
    index = len(parts) - 1
    while index >= 2 and parts[index - 1].startswith("The above exception was the direct"):
        index -= 2
    first = traceback_last_line(parts[index])
    final = traceback_last_line(parts[-1])
    return with_wrapper(normalise_cause(first), first.partition(":")[0],
                        final.partition(":")[0])


# ---------------------------------------------------------------------------- tests


def parse_junit(path: Path, test_file: str) -> tuple[list[Case], str]:
    """Read pytest's junit XML of one test file.

    Returns
    -------
    tuple
        The test cases (ids ``test_file::Class::name``), and the import error line when the
        file could not be collected (else ``""``).
    """
    cases: list[Case] = []
    import_error = ""
    module = "tests." + test_file.removesuffix(".py")
    for element in ET.parse(path).getroot().iter("testcase"):
        failure, error = element.find("failure"), element.find("error")
        skipped = element.find("skipped")
        if error is not None and error.get("message") == "collection failure":
            import_error = last_error_line(error.text or "")
            continue
        inner = element.get("classname", "").removeprefix(module).lstrip(".")
        test = "::".join(part for part in (test_file, inner, element.get("name", "")) if part)
        if failure is not None:
            cases.append(Case(test, "failed", failure.get("message", "")))
        elif error is not None:
            cases.append(Case(test, "error", error.get("message", "")))
        elif skipped is not None:
            cases.append(Case(test, "skipped", skipped.get("message", "")))
        else:
            cases.append(Case(test, "passed"))
    return cases, import_error


def attach_causes(cases: list[Case], records: dict[str, dict]) -> None:
    """Set each failed case's cause from the plugin's record (keyed by pytest node id).

    A case with no record (the plugin did not run) falls back to pytest's crash line.
    """
    for case in cases:
        if case.outcome not in ("failed", "error"):
            continue
        phases = records.get("tests/" + case.test, {})
        record = next((phases[when] for when in ("setup", "call", "teardown")
                       if when in phases), None)
        case.cause = cause_from_record(record) if record else normalise_cause(case.message)


def cause_from_record(record: dict[str, str]) -> str:
    """``Type: message`` of the first exception, normalised, naming a wrapper after it."""
    first_type, _, first_message = record["first"].partition(": ")
    module = record["first_module"]
    if module != "builtins" and not module.startswith("_pytest"):
        first_type = f"{module}.{first_type}"
    return with_wrapper(normalise_cause(f"{first_type}: {first_message}"), first_type,
                        record["final"])


def with_wrapper(cause: str, first_type: str, final_type: str) -> str:
    """Append ``[raised as Final]`` when the exception the test saw wraps the first one."""
    final = final_type.rpartition(".")[2]
    if final in (first_type.rpartition(".")[2], "CollectError"):
        return cause
    return f"{cause} [raised as {final}]"


def run_test_file(test_file: str, tree: Path, python: str, env: dict[str, str],
                  timeout: float, alias: bool, scratch: Path) -> FileResult:
    """Run one of lmfit's test files in its own pytest process and count the outcomes."""
    junit = scratch / f"{test_file}.xml"
    plugin_out = scratch / f"{test_file}.plugin.json"
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=line", "-rf",
               "-c", str(tree / "pytest.ini"), "--rootdir", str(tree),
               f"--junitxml={junit}", "-p", PLUGIN, f"--suite-out={plugin_out}"]
    if alias:
        command.append("--suite-alias")
    code, out, err, seconds = run_process(command + [test_file], tree / "tests", env, timeout)
    if code is None:
        return FileResult(test_file, "timeout", seconds,
                          import_error=f"timeout after {timeout:g} s")
    if not junit.exists():
        return FileResult(test_file, "no-junit", seconds,
                          import_error=last_error_line(err or out) or f"pytest exit {code}")
    cases, import_error = parse_junit(junit, test_file)
    plugin = json.loads(plugin_out.read_text()) if plugin_out.exists() else {}
    records = plugin.get("causes", {})
    attach_causes(cases, records)
    collect = records.get("tests/" + test_file, {}).get("collect")
    import_cause = ""
    if import_error:
        import_cause = cause_from_record(collect) if collect else normalise_cause(import_error)
    result = FileResult(test_file, "import-error" if import_error else "ran", seconds,
                        import_error=tidy_paths(import_error), import_cause=import_cause,
                        cases=cases, alias_problems=plugin.get("alias_problems", []))
    for case in cases:
        setattr(result, _COUNTERS[case.outcome], getattr(result, _COUNTERS[case.outcome]) + 1)
    result.collected = len(cases)
    return result


_COUNTERS = {"passed": "passed", "failed": "failed", "error": "errors", "skipped": "skipped"}


def run_tests(lmfit_src: Path, python: str, env: dict[str, str], timeout: float,
              only: str | None, alias: bool, scratch: Path) -> list[FileResult]:
    """Run every ``tests/test_*.py`` of lmfit (matching ``only``), one process each."""
    results = []
    for path in sorted((lmfit_src / "tests").glob("test_*.py")):
        if not matches(path.name, only):
            continue
        fresh = scratch / path.stem
        lay_out_tree(lmfit_src, fresh)  # a fresh tree each: files written by one stay there
        result = run_test_file(path.name, fresh, python, env, timeout, alias, scratch)
        shutil.rmtree(fresh, ignore_errors=True)
        print(f"  {path.name:34s} {summary_cells(result)}  {result.seconds:6.1f} s", flush=True)
        results.append(result)
    return results


def summary_cells(result: FileResult) -> str:
    """``collected passed failed errors skipped`` of one file, or why there are none."""
    if result.status in ("timeout", "no-junit", "import-error") and not result.cases:
        return f"{result.status}: {result.import_error}"
    return (f"{result.collected:4d} {result.passed:4d} {result.failed:4d} "
            f"{result.errors:4d} {result.skipped:4d}")


def matches(name: str, only: str | None) -> bool:
    """Whether ``name`` is selected by ``--only`` (a glob, or a substring)."""
    return only is None or only in name or fnmatch.fnmatch(name, only)


# ---------------------------------------------------------------------------- examples


def run_examples(lmfit_src: Path, python: str, env: dict[str, str], timeout: float,
                 only: str | None, scratch: Path) -> list[ExampleResult]:
    """Run every ``examples/*.py`` of lmfit (matching ``only``), each in a fresh copy."""
    results = []
    for path in sorted((lmfit_src / "examples").glob("*.py")):
        if not matches(path.name, only):
            continue
        workdir = scratch / f"example-{path.stem}"
        lay_out_tree(lmfit_src, workdir)
        code, _, err, seconds = run_process([python, path.name], workdir / "examples", env,
                                            timeout)
        if code is None:
            result = ExampleResult(path.name, "timeout", seconds, f"timeout after {timeout:g} s")
        elif code == 0:
            result = ExampleResult(path.name, "completed", seconds)
        else:
            line = tidy_paths(traceback_last_line(err))
            result = ExampleResult(path.name, "failed", seconds, line, traceback_cause(err),
                                   err.splitlines()[-STDERR_TAIL:])
        print(f"  {path.name:46s} {result.status:9s} {seconds:6.1f} s  {result.last_line}",
              flush=True)
        results.append(result)
        shutil.rmtree(workdir, ignore_errors=True)
    return results


# ---------------------------------------------------------------------------- reports


def cause_table(files: list[FileResult], examples: list[ExampleResult],
                reference: dict | None) -> list[dict]:
    """Failures grouped by first cause, the most tests affected first.

    A cause counts each test it fails, each test of a file it stops from being imported
    (as many as the reference run collected there, else 1) and each example it fails.
    """
    ref = {item["file"]: item["collected"] for item in (reference or {}).get("tests", [])}
    table: dict[str, dict] = {}

    def add(cause: str, kind: str, count: int, where: str, first: str) -> None:
        entry = table.setdefault(cause, {"cause": cause, "count": 0, "failed_tests": 0,
                                         "blocked_tests": 0, "examples": 0, "where": set(),
                                         "first": first})
        entry[kind] += count
        entry["count"] += count
        entry["where"].add(where)

    for result in files:
        for case in result.cases:
            if case.outcome in ("failed", "error"):
                add(case.cause, "failed_tests", 1, result.file, case.test)
        if result.import_error:
            add(result.import_cause or normalise_cause(result.import_error), "blocked_tests",
                ref.get(result.file) or 1, result.file, result.file)
    for example in examples:
        if example.status != "completed":
            add(example.cause or example.last_line, "examples", 1, example.example,
                example.example)
    entries = sorted(table.values(), key=lambda entry: (-entry["count"], entry["cause"]))
    return [{**entry, "where": sorted(entry["where"])} for entry in entries]


def totals(files: list[FileResult]) -> dict[str, int]:
    """Sums over the test files."""
    keys = ("collected", "passed", "failed", "errors", "skipped")
    out = {key: sum(getattr(result, key) for result in files) for key in keys}
    out["not_imported"] = sum(1 for result in files if result.import_error)
    return out


def example_totals(examples: list[ExampleResult]) -> dict[str, int]:
    """Counts of completed / failed / timed-out examples."""
    counter = collections.Counter(example.status for example in examples)
    return {"run": len(examples), "completed": counter["completed"],
            "failed": counter["failed"], "timeout": counter["timeout"]}


def load_reference(path: Path | None) -> dict | None:
    """A ``--json`` output of a ``--real-lmfit`` run, to compare against."""
    if path is None:
        return None
    data = json.loads(path.read_text())
    if data.get("mode") != "real-lmfit":
        raise SystemExit(f"{path}: not the JSON of a --real-lmfit run (mode {data.get('mode')!r})")
    return data


def file_rows(files: list[FileResult], reference: dict | None) -> list[list[str]]:
    """Rows of the per-file table: this run, then the reference run's counts."""
    ref = {item["file"]: item for item in (reference or {}).get("tests", [])}
    rows = []
    for result in files:
        row = [result.file, *_count_cells(asdict(result))]
        if reference is not None:
            row += _count_cells(ref[result.file]) if result.file in ref else ["–"] * 5
        row.append(_note(result))
        rows.append(row)
    return rows


def _count_cells(item: dict) -> list[str]:
    if item["import_error"] and not item["cases"]:
        return ["–"] * 5
    return [str(item[key]) for key in ("collected", "passed", "failed", "errors", "skipped")]


def _note(result: FileResult) -> str:
    notes = []
    if result.import_error:
        notes.append(f"{result.status}: {result.import_error}")
    if result.alias_problems:
        notes.append("ALIAS BROKEN: " + "; ".join(result.alias_problems))
    return " ".join(notes)


def reference_totals(files: list[FileResult], reference: dict) -> dict[str, int]:
    """The reference run's sums over the test files of this run (``--only`` may pick some)."""
    names = {result.file for result in files}
    picked = [item for item in reference.get("tests", []) if item["file"] in names]
    keys = ("collected", "passed", "failed", "errors", "skipped")
    out = {key: sum(item[key] for item in picked) for key in keys}
    out["not_imported"] = sum(1 for item in picked if item["import_error"])
    return out


def headline(data: dict, files: list[FileResult], reference: dict | None) -> str:
    """``lmfit V tests through the alias: P passed of N (real lmfit: R)``.

    N is the number of tests the real lmfit collects from the same files (a file the alias
    cannot import hides its tests from the alias's own count).
    """
    version = data["lmfit_version"]
    mine = data["totals"]
    if data["mode"] == "real-lmfit":
        return (f"lmfit {version} tests with the real lmfit: {mine['passed']} passed of "
                f"{mine['collected']}")
    if reference is None:
        return (f"lmfit {version} tests through the alias: {mine['passed']} passed of "
                f"{mine['collected']} collected (real lmfit: not given)")
    ref = reference_totals(files, reference)
    return (f"lmfit {version} tests through the alias: {mine['passed']} passed of "
            f"{ref['collected']} (real lmfit: {ref['passed']}); through the alias "
            f"{mine['collected']} collected, {mine['not_imported']} files not imported")


def example_headline(data: dict, reference: dict | None) -> str:
    """``lmfit V examples through the alias: C completed of E (real lmfit: R)``."""
    mine = data["example_totals"]
    how = "with the real lmfit" if data["mode"] == "real-lmfit" else "through the alias"
    line = f"lmfit {data['lmfit_version']} examples {how}: {mine['completed']} completed of "
    line += str(mine["run"])
    if reference is not None and data["mode"] != "real-lmfit":
        names = {item["example"] for item in data["examples"]}
        done = sum(1 for item in reference.get("examples", [])
                   if item["example"] in names and item["status"] == "completed")
        line += f" (real lmfit: {done})"
    return line


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain fixed-width table."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub markdown table."""
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"
    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def table_header(reference: dict | None, mode: str) -> list[str]:
    """Columns of the per-file table."""
    mine = "real" if mode == "real-lmfit" else "alias"
    cols = [f"{mine} {key}" for key in ("coll", "pass", "fail", "err", "skip")]
    if reference is not None:
        cols += [f"real {key}" for key in ("coll", "pass", "fail", "err", "skip")]
    return ["file", *cols, "note"]


def report(data: dict, reference: dict | None, files: list[FileResult],
           examples: list[ExampleResult], top: int, markdown: bool) -> str:
    """The printed (or markdown) report: per-file table, examples, causes, headline."""
    table = markdown_table if markdown else text_table
    parts = []
    if files:
        rows = file_rows(files, reference)
        all_row = ["TOTAL", *(str(data["totals"][k]) for k in
                              ("collected", "passed", "failed", "errors", "skipped"))]
        if reference is not None:
            ref = reference_totals(files, reference)
            all_row += [str(ref[k]) for k in ("collected", "passed", "failed", "errors",
                                              "skipped")]
        all_row.append(f"{data['totals']['not_imported']} files not imported")
        parts.append(table(table_header(reference, data["mode"]), [*rows, all_row]))
    if examples:
        ex = data["example_totals"]
        line = (f"examples: {ex['completed']} completed, {ex['failed']} failed, "
                f"{ex['timeout']} timed out, of {ex['run']}")
        ref_status = {item["example"]: item["status"] for item in (reference or {}).get(
            "examples", [])}
        header = ["example", "status", *(["real lmfit"] if reference else []), "last line"]
        rows = [[e.example, e.status, *([ref_status.get(e.example, "–")] if reference else []),
                 e.last_line] for e in examples if e.status != "completed"]
        parts.append(line)
        if rows:
            parts.append(table(header, rows))
    causes = data["causes"][:top]
    if causes:
        rows = [[str(c[key]) for key in ("count", "failed_tests", "blocked_tests", "examples")]
                + [str(len(c["where"])), c["cause"], c["first"]] for c in causes]
        parts.append(f"top {len(causes)} failure causes (of {len(data['causes'])}); count ="
                     " failed tests + tests in files not imported + failed examples:")
        parts.append(table(["count", "failed", "blocked", "examples", "files", "cause",
                            "first"], rows))
    if files:
        parts.append(headline(data, files, reference))
    if examples:
        parts.append(example_headline(data, reference))
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------- main


def describe_lmfit(python: str, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """What ``import lmfit`` gives in the test processes (version, file, whether aliased)."""
    code = ("import json, sys, lmfit; import lmfit.minimizer as m; "
            "p = sys.modules.get('paramfit'); "
            "print(json.dumps({'version': lmfit.__version__, 'file': lmfit.__file__, "
            "'is_paramfit': p is not None and lmfit is p, 'minimizer': m.__name__, "
            "'minimizer_attribute': getattr(lmfit, 'minimizer', None) is m}))")
    done = subprocess.run([python, "-c", code], env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": traceback_last_line(done.stderr)}
    return json.loads(done.stdout)


def git_state(repo: Path, rev: str | None) -> dict[str, str]:
    """The commit of paramfit measured (``rev``, else HEAD plus the working tree's changes)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        return done.stdout.strip()
    if rev is not None:
        return {"rev": rev, "commit": git("rev-parse", rev)}
    return {"rev": "working tree", "commit": git("rev-parse", "HEAD"),
            "paramfit_changes": git("status", "--porcelain", "--", TARGET)}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lmfit-src", type=Path, required=True,
                        help="an lmfit checkout (its tests/, examples/, NIST_STRD/ are read)")
    parser.add_argument("--tests", action="store_true", help="run the test files")
    parser.add_argument("--examples", action="store_true", help="run the examples")
    parser.add_argument("--only", help="only test files / examples matching this glob or text")
    parser.add_argument("--real-lmfit", action="store_true",
                        help="use the installed lmfit instead of the alias (reference counts)")
    parser.add_argument("--reference", type=Path,
                        help="JSON of a --real-lmfit run, for the comparison columns")
    parser.add_argument("--paramfit-rev", help="measure paramfit as committed at this git rev "
                        "(exported into a temp dir) instead of the working tree")
    parser.add_argument("--json", type=Path, help="write the machine-readable result here")
    parser.add_argument("--markdown", type=Path, help="write the report as markdown here")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the runs")
    parser.add_argument("--test-timeout", type=float, default=TEST_TIMEOUT_S)
    parser.add_argument("--example-timeout", type=float, default=EXAMPLE_TIMEOUT_S)
    parser.add_argument("--top", type=int, default=30, help="failure causes to list")
    parser.add_argument("--keep-tmp", action="store_true", help="leave the temp dir in place")
    args = parser.parse_args(argv)
    if not (args.tests or args.examples):
        args.tests = args.examples = True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    lmfit_src = args.lmfit_src.resolve()
    reference = load_reference(args.reference)
    repo = Path(__file__).resolve().parent.parent
    scratch = Path(tempfile.mkdtemp(prefix="lmfit_suite_"))
    started = time.perf_counter()
    mode = "real-lmfit" if args.real_lmfit else "alias"
    try:
        pythonpath = [write_plugin(scratch / "plugin")]
        if not args.real_lmfit:
            pythonpath.append(write_alias(scratch / "alias", lmfit_attributes(lmfit_src)))
        if args.paramfit_rev:
            pythonpath.append(export_paramfit(repo, args.paramfit_rev, scratch / "paramfit_src"))
        env = child_env(pythonpath)
        lmfit_info = describe_lmfit(args.python, env, scratch)
        print(f"mode {mode}; import lmfit -> {lmfit_info}", flush=True)
        if "error" in lmfit_info:
            print(f"warning: `import lmfit` fails: {lmfit_info['error']}", flush=True)
        files = (run_tests(lmfit_src, args.python, env, args.test_timeout, args.only,
                           not args.real_lmfit, scratch / "runs") if args.tests else [])
        examples = (run_examples(lmfit_src, args.python, env, args.example_timeout, args.only,
                                 scratch / "runs") if args.examples else [])
    finally:
        if not args.keep_tmp:
            shutil.rmtree(scratch, ignore_errors=True)
    data = {
        "mode": mode,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "lmfit_src": str(lmfit_src),
        "lmfit_version": lmfit_version(lmfit_src),
        "import_lmfit": lmfit_info,
        "paramfit": git_state(repo, args.paramfit_rev),
        "python": args.python,
        "command": " ".join(["python", "bench/lmfit_suite.py", *(argv or sys.argv[1:])]),
        "seconds": round(time.perf_counter() - started, 1),
        "totals": totals(files),
        "example_totals": example_totals(examples),
        "tests": [asdict(result) for result in files],
        "examples": [asdict(example) for example in examples],
        "causes": cause_table(files, examples, reference),
    }
    print()
    print(report(data, reference, files, examples, args.top, markdown=False))
    print(f"total {data['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(report(data, reference, files, examples, args.top, True) + "\n")
    return 0


def lmfit_version(lmfit_src: Path) -> str:
    """lmfit's version, from the checkout's directory name (``lmfit-1.3.4``), else its git tag.

    lmfit's version lives in git tags only (setuptools_scm), so an exported tree has none.
    """
    match = re.search(r"(\d+\.\d+\.\d+\S*)$", lmfit_src.name)
    if match:
        return match.group(1)
    done = subprocess.run(["git", "-C", str(lmfit_src), "describe", "--tags", "--exact-match"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


if __name__ == "__main__":
    sys.exit(main())
