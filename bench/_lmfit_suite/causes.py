"""Outcomes of lmfit's tests and examples, pytest's junit XML, and their first causes.

A failure is grouped by its first cause: the first exception of the chain the test ended
with (following ``raise ... from``, recorded by the plugin of :mod:`alias`), as type and
message, with memory addresses and, for assertion failures, numbers blanked; a wrapper
(``[raised as ResidualError]``) is named after it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Case", "FileResult", "ExampleResult", "tidy_paths", "normalise_cause",
           "last_error_line", "traceback_last_line", "traceback_cause", "parse_junit",
           "attach_causes", "cause_from_record", "with_wrapper"]


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


# ---------------------------------------------------------------------------- junit


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
