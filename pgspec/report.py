"""Differences and warnings turned into what a person or a CI script reads.

One formatter per output format, registered by name (``@formatter("text")``), so a new format
(github annotations, markdown for a pull-request comment) is one function that slots in. The
JSON shape is a contract (DESIGN.md, "Command-line contract"): scripts depend on it.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pgspec.catalog import Difference, Warning

__all__ = ["FORMATS", "formatter", "render_report", "summary"]

CHANGES = ("missing", "unexpected", "changed")


@dataclass(frozen=True)
class Report:
    """Everything a formatter may show."""

    differences: Sequence[Difference]
    expected_label: str
    actual_label: str
    warnings: Sequence[Warning]
    color: bool


Formatter = Callable[[Report], str]
_FORMATTERS: dict[str, Formatter] = {}


def formatter(name: str) -> Callable[[Formatter], Formatter]:
    """Register the formatter of one output format; a name registered twice is a bug."""

    def register(func: Formatter) -> Formatter:
        if name in _FORMATTERS:
            raise ValueError(f"a formatter for {name!r} is already registered")
        _FORMATTERS[name] = func
        return func

    return register


def render_report(
    differences: Sequence[Difference],
    *,
    fmt: str,
    expected_label: str,
    actual_label: str,
    warnings: Sequence[Warning] = (),
    color: bool | None = None,
) -> str:
    """The report in format ``fmt``; colour (text only) defaults to "stdout is a terminal"."""
    if fmt not in _FORMATTERS:
        raise ValueError(f"unknown report format {fmt!r}")
    if color is None:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    report = Report(list(differences), expected_label, actual_label, _unique(warnings), color)
    return _FORMATTERS[fmt](report)


def summary(differences: Sequence[Difference]) -> dict[str, int]:
    """How many differences of each change, every change named even when zero."""
    counts = dict.fromkeys(CHANGES, 0)
    for diff in differences:
        counts[diff.change] += 1
    return counts


def _unique(warnings: Sequence[Warning]) -> list[Warning]:
    """Warnings in order, each once (both sides may warn about the same object)."""
    seen: set[Warning] = set()
    kept: list[Warning] = []
    for warning in warnings:
        if warning not in seen:
            seen.add(warning)
            kept.append(warning)
    return kept


# --------------------------------------------------------------------------- json


@formatter("json")
def _json(report: Report) -> str:
    data = {
        "status": "drift" if report.differences else "match",
        "expected": report.expected_label,
        "actual": report.actual_label,
        "summary": summary(report.differences),
        "differences": [
            {
                "object_type": d.object_type,
                "name": d.name,
                "change": d.change,
                "attribute": d.attribute,
                "expected": d.expected,
                "actual": d.actual,
                "location": d.location,
            }
            for d in report.differences
        ],
        "warnings": [w.model_dump(mode="json") for w in report.warnings],
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


# --------------------------------------------------------------------------- text

_RED, _GREEN, _YELLOW, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[33m", "\033[1m", "\033[0m"


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _show(value: Any) -> str:
    """A value as a person reads it: SQL text as written, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _value_lines(expected: Any, actual: Any, color: bool) -> list[str]:
    """``-`` expected / ``+`` actual; a multi-line text (a body, a query) as a line diff."""
    old, new = _show(expected), _show(actual)
    if "\n" in old or "\n" in new:
        lines = []
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2):
            if line.startswith(("---", "+++")):
                continue
            if line.startswith("-"):
                lines.append(_paint(f"    - {line[1:]}", _RED, color))
            elif line.startswith("+"):
                lines.append(_paint(f"    + {line[1:]}", _GREEN, color))
            elif line.startswith("@@"):
                lines.append(f"    {line}")
            else:
                lines.append(f"      {line[1:]}")
        return lines
    return [_paint(f"    - {old}", _RED, color), _paint(f"    + {new}", _GREEN, color)]


def _count_line(differences: Sequence[Difference]) -> str:
    if not differences:
        return "no differences"
    counts = summary(differences)
    total = len(differences)
    parts = ", ".join(f"{counts[c]} {c}" for c in CHANGES if counts[c])
    return f"{total} difference{'s' if total != 1 else ''}: {parts}"


@formatter("text")
def _text(report: Report) -> str:
    color = report.color
    out = [
        _paint(f"--- expected: {report.expected_label}", _RED, color),
        _paint(f"+++ actual:   {report.actual_label}", _GREEN, color),
    ]
    groups: dict[tuple[str, str], list[Difference]] = {}
    for diff in report.differences:
        groups.setdefault((diff.object_type, diff.name), []).append(diff)
    for (object_type, name), diffs in groups.items():
        location = next((d.location for d in diffs if d.location), None)
        head = f"{object_type.replace('_', ' ')} {name}"
        where = f"  ({location})" if location else ""
        out.append("")
        for diff in diffs:
            if diff.change == "missing":
                out.append(_paint(f"{head}: missing", _RED, color) + where)
            elif diff.change == "unexpected":
                out.append(_paint(f"{head}: unexpected", _GREEN, color) + where)
        changed = [d for d in diffs if d.change == "changed"]
        if changed:
            out.append(_paint(f"{head}: changed", _BOLD, color) + where)
            for diff in changed:
                out.append(f"  {diff.attribute}:")
                out.extend(_value_lines(diff.expected, diff.actual, color))
    for warning in report.warnings:
        where = f"{warning.location}: " if warning.location else ""
        text = f"warning: {where}{warning.object_type} {warning.name}: {warning.message}"
        out.extend(["", _paint(text, _YELLOW, color)])
    out.extend(["", _count_line(report.differences)])
    return "\n".join(out) + "\n"


#: The formats the command line offers, in the order its help lists them.
FORMATS: tuple[str, ...] = tuple(_FORMATTERS)
