"""README.md works as pasted: every python block runs, every command it names exists.

Each ```python block is executed on its own, in a fresh namespace and an empty working
directory, so a block that leans on another block's variables (or on files lying around)
fails here with its number and first line.  Shell blocks and inline ``make X`` /
``paramfit[extra]`` mentions are checked against the Makefile, the command-line parser
and the package's extras; the minimum versions the README states are checked against
pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from paramfit.cli.app import build_parser
from paramfit.core.exceptions import MissingDependencyError, ParamfitError

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHELL_LANGUAGES = ("", "sh", "bash", "shell", "console")


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    language: str
    line: int  # 1-based line of its first source line
    source: str

    @property
    def first_line(self) -> str:
        return next((text for text in self.source.splitlines() if text.strip()), "")


def fenced_blocks(text: str) -> list[Block]:
    """The fenced (```) code blocks of a Markdown text, in order."""
    blocks, language, start, lines = [], None, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        if language is None and line.startswith("```"):
            language, start, lines = line[3:].strip().lower(), number + 1, []
        elif language is not None and line.strip() == "```":
            blocks.append(Block(language, start, "\n".join(lines) + "\n"))
            language = None
        elif language is not None:
            lines.append(line)
    assert language is None, f"README.md: the code block opened at line {start - 1} is not closed"
    return blocks


TEXT = README.read_text(encoding="utf-8")
BLOCKS = fenced_blocks(TEXT)
PYTHON = [block for block in BLOCKS if block.language == "python"]
SHELL = [block for block in BLOCKS if block.language in SHELL_LANGUAGES]


def test_readme_has_the_blocks_this_file_checks():
    assert len(PYTHON) >= 2 and len(SHELL) >= 2


@pytest.mark.parametrize("number", range(1, len(PYTHON) + 1),
                         ids=[f"python-block-{n}" for n in range(1, len(PYTHON) + 1)])
def test_python_block_runs_as_pasted(number, tmp_path, monkeypatch):
    block = PYTHON[number - 1]
    where = f"README.md python block {number} (line {block.line}: {block.first_line!r})"
    monkeypatch.chdir(tmp_path)
    if "plot" in block.source or "matplotlib" in block.source:
        if importlib.util.find_spec("matplotlib") is not None:
            import matplotlib

            matplotlib.use("Agg")  # no display: figures are drawn off screen
    try:
        exec(compile(block.source, where, "exec"), {"__name__": "__readme__"})
    except MissingDependencyError as exc:  # an optional extra that is not installed
        pytest.skip(f"{where} needs an optional package: {exc}")
    except Exception as exc:
        raise AssertionError(f"{where} raised {type(exc).__name__}: {exc}") from exc
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


def shell_commands() -> list[tuple[int, list[str]]]:
    """``(README line, argv)`` of every command line of the shell blocks."""
    commands = []
    for block in SHELL:
        for offset, line in enumerate(block.source.splitlines()):
            argv = shlex.split(line, comments=True)
            if argv:
                commands.append((block.line + offset, argv))
    return commands


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):", makefile, flags=re.M))


def test_shell_commands_name_existing_cli_options_and_make_targets():
    parser, targets, checked = build_parser(), make_targets(), 0
    for line, argv in shell_commands():
        if argv[0] == "paramfit":
            try:
                parser.parse_args(argv[1:])
            except ParamfitError as exc:  # the parser's one-line usage errors
                raise AssertionError(f"README.md line {line}: {shlex.join(argv)}: {exc}") from exc
            checked += 1
        elif argv[0] == "make":
            assert set(argv[1:]) <= targets, f"README.md line {line}: no such make target"
            checked += 1
    assert checked >= 5  # make demo, make test and the three paramfit examples


def test_inline_make_targets_and_extras_exist():
    targets = set(re.findall(r"`make ([\w-]+)`", TEXT))
    assert targets and targets <= make_targets(), targets - make_targets()
    extras = set(re.findall(r"\[(\w+)\]`", TEXT)) | set(re.findall(r"paramfit\[(\w+)\]", TEXT))
    declared = set(metadata.metadata("paramfit").get_all("Provides-Extra") or [])
    assert extras and extras <= declared, extras - declared


def test_stated_minimum_versions_are_pyprojects():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    python = project["requires-python"]
    assert python.startswith(">="), python
    stated = [f"Python ≥ {python[2:]}"]
    for requirement in project["dependencies"]:
        name, _, floor = requirement.partition(">=")
        stated.append(f"{name.strip()} ≥ {floor.strip()}")
    opening = TEXT[:TEXT.index("\n## ")]  # the statement belongs near the top
    missing = [text for text in stated if text not in opening]
    assert not missing, f"README.md does not state {missing} near the top"
