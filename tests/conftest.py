"""Shared pytest configuration: custom markers and the ``--perturb-ulps`` option."""

from pathlib import Path

import _perturb
import pytest

REFERENCE = Path(__file__).resolve().parent / "reference"


def pytest_addoption(parser):
    parser.addoption("--perturb-ulps", type=int, default=0, metavar="K",
                     help="move every start value of the reference suites (marker "
                     "'reference') by K units in the last place (see tests/_perturb.py)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a test that takes seconds (deselect with "
                            "-m 'not slow')")
    config.addinivalue_line("markers", "reference: a certified-data or seed-example test "
                            "whose start values follow --perturb-ulps")
    _perturb.ULPS = config.getoption("perturb_ulps")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if REFERENCE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reference)
