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
import datetime
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from _lmfit_suite.alias import TARGET, lmfit_attributes, write_alias, write_plugin
from _lmfit_suite.causes import traceback_last_line
from _lmfit_suite.report import cause_table, example_totals, load_reference, report, totals
from _lmfit_suite.running import (
    EXAMPLE_TIMEOUT_S,
    TEST_TIMEOUT_S,
    child_env,
    export_paramfit,
    run_examples,
    run_tests,
)


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
