"""The runs of ``bench/lmfit_suite.py``: lmfit's tree, the test and example processes.

lmfit's ``tests/``, ``examples/`` and ``NIST_STRD/`` are copied side by side into a fresh
temporary tree for each test file and each example; each runs in its own process (tests
through ``python -m pytest`` with a junit XML and the plugin), headless, with a timeout that
kills its whole process group.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from _lmfit_suite.alias import PLUGIN, TARGET
from _lmfit_suite.causes import (
    ExampleResult,
    FileResult,
    attach_causes,
    cause_from_record,
    last_error_line,
    normalise_cause,
    parse_junit,
    tidy_paths,
    traceback_cause,
    traceback_last_line,
)

__all__ = ["TEST_TIMEOUT_S", "EXAMPLE_TIMEOUT_S", "STDERR_TAIL", "TREE_DIRS", "lay_out_tree",
           "export_paramfit", "child_env", "run_process", "run_test_file", "run_tests",
           "summary_cells", "matches", "run_examples"]

TEST_TIMEOUT_S = 300.0
EXAMPLE_TIMEOUT_S = 120.0
STDERR_TAIL = 15  # lines of a failed example's stderr kept in the JSON
# Directories of the lmfit checkout the tests and examples read, laid out side by side.
TREE_DIRS = ("tests", "examples", "NIST_STRD")


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


# ---------------------------------------------------------------------------- tests


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
