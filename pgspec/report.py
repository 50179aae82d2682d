"""Differences and warnings turned into what a person or a CI script reads.

One formatter per output format, registered by name (``@formatter("text")``), so a new format
is one function that slots in. The JSON shape is a contract (DESIGN.md, "Command-line
contract"): scripts depend on it.

* ``text``: for a terminal or a log; grouped by object, ``-`` expected / ``+`` actual lines,
  colour only on a terminal (never when ``NO_COLOR`` is set or ``TERM=dumb``).
* ``json``: the contract.
* ``github``: workflow commands (``::error file=…,line=…::…``) that GitHub turns into
  annotations on the spec line declaring the drifting object.
* ``markdown``: a summary table for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment.

``render_targets`` formats the one-row-per-target summary of ``verify`` against many targets.

``difflib`` and ``html`` are imported by the functions that print values, not at the top: a
clean ``verify`` (the everyday case, timed at every start-up) prints none.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pgspec.catalog import Difference, Warning

if TYPE_CHECKING:
    from pgspec.targets import Outcome

__all__ = ["FORMATS", "formatter", "render_report", "render_targets", "summary", "use_color"]

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
        color = use_color(sys.stdout)
    report = Report(list(differences), expected_label, actual_label, _unique(warnings), color)
    return _FORMATTERS[fmt](report)


def use_color(stream: TextIO) -> bool:
    """Colour only for a person at a terminal: never in a pipe, a file or a CI log, and never
    when ``NO_COLOR`` is set to anything (no-color.org) or the terminal is ``dumb``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


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
                # Optional: present only when there is advice (``--dev-db``), so scripts
                # reading the contract's keys see nothing new otherwise.
                **({"hint": d.hint} if d.hint else {}),
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
        import difflib

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
            if diff.change != "changed" and diff.hint:
                out.append(_paint(f"  hint: {diff.hint}", _YELLOW, color))
        changed = [d for d in diffs if d.change == "changed"]
        if changed:
            out.append(_paint(f"{head}: changed", _BOLD, color) + where)
            for diff in changed:
                out.append(f"  {diff.attribute}:")
                out.extend(_value_lines(diff.expected, diff.actual, color))
                if diff.hint:
                    out.append(_paint(f"  hint: {diff.hint}", _YELLOW, color))
    for warning in report.warnings:
        where = f"{warning.location}: " if warning.location else ""
        text = f"warning: {where}{warning.object_type} {warning.name}: {warning.message}"
        out.extend(["", _paint(text, _YELLOW, color)])
    out.extend(["", _count_line(report.differences)])
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- github

# GitHub's workflow commands (docs: "Workflow commands for GitHub Actions"): the message is
# data, where %, CR and LF must be escaped; property values (file, title) also escape ``:``
# and ``,``, which separate properties.


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def split_location(location: str) -> tuple[str, int | None]:
    """``schema/tenancy.yaml:42`` -> (``schema/tenancy.yaml``, 42); no line -> (text, None)."""
    file, sep, line = location.rpartition(":")
    if sep and line.isdigit():
        return file, int(line)
    return location, None


def _repo_path(file: str) -> str:
    """A spec path as GitHub names files: relative to the checkout (the working directory),
    with forward slashes. An absolute path outside it is kept as it is."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_posix()
    return Path(os.path.normpath(path)).as_posix()


def _brief(value: Any, limit: int = 200) -> str:
    text = _show(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _annotation_message(diffs: Sequence[Difference], actual_label: str) -> list[str]:
    lines = []
    for diff in diffs:
        if diff.change == "missing":
            lines.append(f"declared in the spec, missing from {actual_label}")
        elif diff.change == "unexpected":
            lines.append(f"found in {actual_label}, not declared in the spec")
        else:
            old, new = _show(diff.expected), _show(diff.actual)
            if "\n" in old or "\n" in new:
                import difflib

                lines.append(f"{diff.attribute} differs:")
                lines.extend(
                    line
                    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1)
                    if not line.startswith(("---", "+++"))
                )
            else:
                lines.append(f"{diff.attribute}: expected {_brief(old)}, actual {_brief(new)}")
        if diff.hint:
            lines.append(f"hint: {diff.hint}")
    return lines


def _groups(differences: Sequence[Difference]) -> dict[tuple[str, str, str], list[Difference]]:
    """Differences of one object and one change together, in report order."""
    groups: dict[tuple[str, str, str], list[Difference]] = {}
    for diff in differences:
        groups.setdefault((diff.object_type, diff.name, diff.change), []).append(diff)
    return groups


def github_lines(report: Report, prefix: str = "") -> list[str]:
    """One ``::error`` per drifting object (its changed attributes in one message) and one
    ``::warning`` per unmodelled object, anchored on the spec line that declares it."""
    out = []
    for (object_type, name, change), diffs in _groups(report.differences).items():
        title = f"{prefix}{object_type.replace('_', ' ')} {name}: {change}"
        message = "\n".join(_annotation_message(diffs, report.actual_label))
        location = next((d.location for d in diffs if d.location), None)
        if location:
            file, line = split_location(location)
            props = f"file={_gh_property(_repo_path(file))}"
            if line is not None:
                props += f",line={line}"
            out.append(f"::error {props},title={_gh_property(title)}::{_gh_data(message)}")
        else:
            out.append(f"::error::{_gh_data(title + chr(10) + message)}")
    for warning in report.warnings:
        text = f"{prefix}{warning.object_type} {warning.name}: {warning.message}"
        if warning.location:
            file, line = split_location(warning.location)
            props = f"file={_gh_property(_repo_path(file))}" + (f",line={line}" if line else "")
            out.append(f"::warning {props}::{_gh_data(text)}")
        else:
            out.append(f"::warning::{_gh_data(text)}")
    return out


@formatter("github")
def _github(report: Report) -> str:
    out = github_lines(report)
    out.append(f"pgspec: {_count_line(report.differences)} "
               f"(expected {report.expected_label}, actual {report.actual_label})")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- markdown

#: A value longer than this (or on several lines) is cut short in the table and shown in full
#: in a <details> block below it.
CELL_LIMIT = 60
#: Rows in one table; GitHub caps a step summary at 1 MiB, and nobody reads row 500.
ROW_LIMIT = 200


def _md_code(text: str) -> str:
    """Inline code safe in a table cell: HTML-escaped, pipes as entities (GFM splits cells on
    ``|`` before it parses code spans), no line breaks."""
    import html

    escaped = html.escape(text, quote=False).replace("|", "&#124;").replace("\n", " ")
    return f"<code>{escaped}</code>"


def _md_text(text: str) -> str:
    import html

    return html.escape(text, quote=False).replace("|", "\\|")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks inside the text."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _blob_url(file: str, line: int | None) -> str | None:
    """A link to the spec line on GitHub, when running in GitHub Actions."""
    server, repo, sha = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    if not (server and repo and sha):
        return None
    anchor = f"#L{line}" if line else ""
    return f"{server}/{repo}/blob/{sha}/{_repo_path(file)}{anchor}"


def _md_location(location: str | None) -> str:
    if not location:
        return ""
    file, line = split_location(location)
    url = _blob_url(file, line)
    shown = _md_code(f"{_repo_path(file)}:{line}" if line else _repo_path(file))
    return f"[{shown}]({url})" if url else shown


def _md_value(value: Any, change: str, side: str) -> tuple[str, bool]:
    """A table cell for one side, and whether it was cut short."""
    if change != "changed":
        present = (change == "missing") == (side == "expected")
        return ("present" if present else "absent"), False
    text = _show(value)
    if "\n" in text or len(text) > CELL_LIMIT:
        first = text.splitlines()[0] if text else ""
        return _md_code(first[: CELL_LIMIT - 1] + "…"), True
    return _md_code(text), False


def _md_details(diff: Difference) -> list[str]:
    old, new = _show(diff.expected), _show(diff.actual)
    head = f"<details><summary>{_md_text(diff.name)}: {_md_text(diff.attribute or '')} in full</summary>"
    if "\n" in old or "\n" in new:
        import difflib

        body = "\n".join(
            line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), "expected", "actual",
                                                  lineterm="")
        )
        fence = _fence(body)
        return [head, "", f"{fence}diff", body, fence, "", "</details>"]
    fence = _fence(old + new)
    return [head, "", "Expected:", "", f"{fence}sql", old, fence, "", "Actual:", "", f"{fence}sql", new,
            fence, "", "</details>"]


def markdown_lines(report: Report, heading: str = "###") -> list[str]:
    """The status line, the counts, the table of differences and what was cut from it."""
    diffs = list(report.differences)
    if diffs:
        out = [f"{heading} ❌ pgspec: drift", ""]
    else:
        out = [f"{heading} ✅ pgspec: no drift", ""]
    out += [f"Expected {_md_code(report.expected_label)}, actual {_md_code(report.actual_label)}.", ""]
    out += [f"**{_count_line(diffs)}**" if diffs else "**No differences.**", ""]
    if diffs:
        out += ["| Object | Change | Attribute | Expected | Actual | Location |",
                "| --- | --- | --- | --- | --- | --- |"]
        details: list[str] = []
        for diff in diffs[:ROW_LIMIT]:
            expected, cut_e = _md_value(diff.expected, diff.change, "expected")
            actual, cut_a = _md_value(diff.actual, diff.change, "actual")
            if cut_e or cut_a:
                details += [*_md_details(diff), ""]
            obj = f"{diff.object_type.replace('_', ' ')} {_md_code(diff.name)}"
            attribute = _md_code(diff.attribute) if diff.attribute else ""
            out.append(f"| {obj} | {diff.change} | {attribute} | {expected} | {actual} | "
                       f"{_md_location(diff.location)} |")
        if len(diffs) > ROW_LIMIT:
            out += ["", f"… and {len(diffs) - ROW_LIMIT} more (run with `--format json` for all of them)."]
        out.append("")
        hints = [d for d in diffs[:ROW_LIMIT] if d.hint]
        if hints:
            out += [f"- {_md_code(d.name)} {_md_text(d.attribute or '')}: {_md_text(d.hint or '')}" for d in hints]
            out.append("")
        out += details
    if report.warnings:
        out += [f"**Not modelled by pgspec** ({len(report.warnings)}): reported, not compared.", ""]
        for warning in report.warnings:
            where = f" ({_md_location(warning.location)})" if warning.location else ""
            out.append(f"- {_md_text(warning.object_type)} {_md_code(warning.name)}: "
                       f"{_md_text(warning.message)}{where}")
        out.append("")
    return out


@formatter("markdown")
def _markdown(report: Report) -> str:
    return "\n".join(markdown_lines(report)).rstrip("\n") + "\n"


# --------------------------------------------------------------------------- many targets


def targets_status(outcomes: Sequence[Outcome]) -> str:
    """``error`` if any target could not be read, else ``drift`` if any drifts, else ``match``."""
    statuses = {o.status for o in outcomes}
    return "error" if "error" in statuses else "drift" if "drift" in statuses else "match"


def _target_counts(outcomes: Sequence[Outcome]) -> str:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("match", "drift", "error")}
    total = len(outcomes)
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{total} target{'s' if total != 1 else ''}: {parts}"


def _outcome_report(outcome: Outcome, color: bool = False) -> Report:
    return Report(outcome.differences, outcome.expected_label, outcome.source, _unique(outcome.warnings), color)


def _targets_text(outcomes: Sequence[Outcome], color: bool) -> str:
    head = ("TARGET", "SOURCE", "STATUS", "MISSING", "UNEXPECTED", "CHANGED")
    rows = []
    for o in outcomes:
        if o.status == "error":
            counts = ["-", "-", "-"]
        else:
            c = summary(o.differences)
            counts = [str(c["missing"]), str(c["unexpected"]), str(c["changed"])]
        rows.append((o.name, o.source, o.status, *counts))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    paint = {"match": _GREEN, "drift": _RED, "error": _YELLOW}

    def line(cells: Sequence[str], status: str | None = None) -> str:
        parts = []
        for i, cell in enumerate(cells):
            padded = cell.rjust(widths[i]) if i >= 3 else cell.ljust(widths[i])
            parts.append(_paint(padded, paint[status], color) if i == 2 and status else padded)
        return "  ".join(parts).rstrip()

    out = [line(head)]
    for o, row in zip(outcomes, rows, strict=True):
        out.append(line(row, o.status))
        if o.error:
            out.append(f"  error: {o.error}")
    out += ["", _target_counts(outcomes)]
    return "\n".join(out) + "\n"


def _targets_json(outcomes: Sequence[Outcome]) -> str:
    data = {
        "status": targets_status(outcomes),
        "expected": outcomes[0].expected_label if outcomes else None,
        "summary": {s: sum(o.status == s for o in outcomes) for s in ("match", "drift", "error")},
        "targets": [
            {
                "name": o.name,
                "source": o.source,
                "status": o.status,
                "error": o.error,
                "summary": summary(o.differences),
                "differences": json.loads(_json(_outcome_report(o)))["differences"],
                "warnings": [w.model_dump(mode="json") for w in _unique(o.warnings)],
            }
            for o in outcomes
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _targets_github(outcomes: Sequence[Outcome]) -> str:
    out = []
    for o in outcomes:
        if o.status == "error":
            out.append(f"::error::{_gh_data(f'target {o.name} ({o.source}) could not be read: {o.error}')}")
        else:
            out += github_lines(_outcome_report(o), prefix=f"[{o.name}] ")
    out.append(_targets_text(outcomes, False).rstrip("\n"))
    return "\n".join(out) + "\n"


def _targets_markdown(outcomes: Sequence[Outcome]) -> str:
    status = targets_status(outcomes)
    mark = {"match": "✅", "drift": "❌", "error": "⚠️"}
    out = [f"### {mark[status]} pgspec: {_md_text(_target_counts(outcomes))}", ""]
    if outcomes:
        out += [f"Expected {_md_code(outcomes[0].expected_label)}.", ""]
    out += ["| Target | Source | Status | Missing | Unexpected | Changed |",
            "| --- | --- | --- | ---: | ---: | ---: |"]
    for o in outcomes:
        c = summary(o.differences)
        counts = ("-", "-", "-") if o.status == "error" else (c["missing"], c["unexpected"], c["changed"])
        state = f"{mark[o.status]} {o.status}"
        if o.error:
            state += f": {_md_text(o.error)}"
        out.append(f"| {_md_text(o.name)} | {_md_code(o.source)} | {state} | "
                   + " | ".join(str(n) for n in counts) + " |")
    out.append("")
    for o in outcomes:
        if o.status == "drift":
            out += [f"<details><summary>{_md_text(o.name)}: {_md_text(_count_line(o.differences))}</summary>",
                    "", *markdown_lines(_outcome_report(o), heading="####"), "</details>", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def render_targets(outcomes: Sequence[Outcome], *, fmt: str, color: bool | None = None) -> str:
    """One summary row per target, in format ``fmt`` (json: one object with a ``targets`` list)."""
    if fmt not in _FORMATTERS:
        raise ValueError(f"unknown report format {fmt!r}")
    if fmt == "json":
        return _targets_json(outcomes)
    if fmt == "github":
        return _targets_github(outcomes)
    if fmt == "markdown":
        return _targets_markdown(outcomes)
    return _targets_text(outcomes, use_color(sys.stdout) if color is None else color)


#: The formats the command line offers, in the order its help lists them.
FORMATS: tuple[str, ...] = tuple(_FORMATTERS)
