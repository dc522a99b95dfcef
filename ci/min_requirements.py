"""Pin paramfit's core dependencies to the minimum versions that pyproject.toml declares.

The single source of the minimums is ``[project] dependencies`` in ``pyproject.toml``
(``numpy>=X``, ``scipy>=Y``); this script reads them from the installed metadata of
paramfit, so run it with the interpreter of an environment where paramfit is installed
(``pip install -e . --no-deps``).  ``make test-min`` uses it:

    python ci/min_requirements.py           # print  numpy==X  scipy==Y  (a requirements file)
    python ci/min_requirements.py --check   # exit 1 unless exactly those versions are installed
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*$")


def minimum_pins(requirements: list[str]) -> dict[str, str]:
    """``{name: minimum version}`` of the unconditional requirements.

    Requirements with a marker (the optional extras) are left out; every other one must
    be a plain ``name>=version`` floor, since that floor is what ``make test-min`` tests.
    """
    pins = {}
    for requirement in requirements:
        if ";" in requirement:
            continue
        match = FLOOR.match(requirement)
        if match is None:
            raise SystemExit(f"ci/min_requirements.py: core dependency {requirement!r} must be "
                             "written 'name>=version' in pyproject.toml, so that its minimum "
                             "can be installed and tested")
        pins[match[1]] = match[2]
    return pins


def check(pins: dict[str, str]) -> int:
    """0 when every pinned package is installed at exactly its minimum, else 1 (and why)."""
    wrong = []
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            wrong.append(f"{name} {installed} (expected {version})")
    for line in wrong:
        print(f"ci/min_requirements.py: {line}; rebuild with  rm -rf .venv-min && make test-min",
              file=sys.stderr)
    if not wrong:
        print("minimum versions installed: "
              + ", ".join(f"{name} {version}" for name, version in pins.items()))
    return 1 if wrong else 0


def main(argv: list[str]) -> int:
    """Print the pins, or with ``--check`` verify them."""
    pins = minimum_pins(metadata.requires("paramfit") or [])
    if argv == ["--check"]:
        return check(pins)
    if argv:
        raise SystemExit(__doc__)
    for name, version in pins.items():
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
