"""The report of ``bench/lmfit_suite.py``: totals, failure causes, headlines, tables.

Printed as fixed-width text and written as markdown; with the ``--json`` of a
``--real-lmfit`` run as reference, each count is set beside the real lmfit's.
"""

from __future__ import annotations

import collections
import json
from dataclasses import asdict
from pathlib import Path

from _lmfit_suite.causes import ExampleResult, FileResult, normalise_cause

__all__ = ["cause_table", "totals", "example_totals", "load_reference", "file_rows",
           "reference_totals", "headline", "example_headline", "text_table", "markdown_table",
           "table_header", "report"]


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
