"""Run every benchmark in bench/ one after the other and print their output.

Each runs in its own process in the environment it was started from: nothing here
sets BLAS thread variables, so the figures are what a user gets (paramfit limits its own
small linear algebra to one BLAS thread).  The figures go into bench/RESULTS.md by hand,
with the date, the machine load and this command.

Run:  python bench/run_all.py [NAME ...]     (e.g. ``core nist``; default: all)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = {
    "expressions": ["bench_expressions.py"],
    "core": ["bench_core.py"],
    "profile": ["profile_core.py"],
    "nist": ["bench_nist.py", "--mgh"],
    "confidence": ["bench_confidence.py"],
    "model": ["bench_model.py"],
    "batch": ["bench_batch.py"],
    "threads": ["bench_threads.py", "--quick"],
    "formulas": ["bench_formulas.py"],
}


def main(names: list[str]) -> int:
    status = 0
    for name in names or list(BENCHES):
        args = BENCHES[name]
        print(f"\n===== {name}: python bench/{' '.join(args)}  (load {os.getloadavg()[0]:.2f})",
              flush=True)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]])
        print(f"===== {name}: exit {done.returncode}, {time.perf_counter() - start:.1f} s",
              flush=True)
        status = status or done.returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
