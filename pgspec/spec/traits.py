"""Traits: conventions written once in the spec and stamped onto every table that opts in.

Expansion works on the positioned YAML data, before validation, so a trait's columns, indexes,
triggers and views are validated and built exactly like hand-written ones. Expanded data keeps
the line numbers of the trait's definition (a mistake in a trait is reported where the trait
is written), and the table's map records, per merged key, the trait's file and the table's
``traits:`` entry, which becomes the location of every object the trait brought.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgspec.errors import Problem
from pgspec.quoting import quote
from pgspec.spec.models import TRAIT_SCHEMA_SECTIONS, TRAIT_TABLE_SECTIONS
from pgspec.spec.yaml_loader import SpecFile, YamlFloat, YamlInt, YamlList, YamlMap

_SINGULAR = {
    "checks": "check",
    "unique": "unique constraint",
    "foreign_keys": "foreign key",
    "exclude": "exclusion constraint",
    "indexes": "index",
    "policies": "policy",
    "triggers": "trigger",
    "views": "view",
    "materialized_views": "materialized view",
}


@dataclass(frozen=True)
class TraitDef:
    name: str
    file: str
    line: int
    data: YamlMap


def collect_traits(files: list[SpecFile], problems: list[Problem]) -> dict[str, TraitDef]:
    """Every trait of the spec, from any file; the same name twice is an error."""
    found: dict[str, TraitDef] = {}
    for spec in files:
        section = spec.data.get("traits")
        if not isinstance(section, YamlMap):
            continue  # validation reports a wrong shape
        for name, body in section.items():
            line = section.lines[name]
            if name in found:
                first = found[name]
                problems.append(
                    Problem(
                        f"trait {name!r} is defined twice (first at {first.file}:{first.line})",
                        spec.name,
                        line,
                    )
                )
                continue
            if isinstance(body, YamlMap):
                found[name] = TraitDef(name, spec.name, line, body)
    return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, YamlInt | YamlFloat):
        return value.text
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if value is None:
        return ""
    return str(value)


def fill(text: str, values: dict[str, Any]) -> str:
    """Replace each ``{name}`` whose name is a placeholder; other braces (JSON, arrays) stay."""
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("{", pos)
        end = text.find("}", start + 1) if start >= 0 else -1
        if start < 0 or end < 0:
            out.append(text[pos:])
            return "".join(out)
        name = text[start + 1 : end]
        if name in values:
            out.append(text[pos:start])
            out.append(_text(values[name]))
            pos = end + 1
        else:
            out.append(text[pos : start + 1])
            pos = start + 1


def _whole(text: str, values: dict[str, Any]) -> str | None:
    """The placeholder name when ``text`` is exactly one placeholder, else None."""
    if text.startswith("{") and text.endswith("}") and text[1:-1] in values:
        return text[1:-1]
    return None


def instantiate(value: Any, values: dict[str, Any]) -> Any:
    """A deep copy of trait data with placeholders filled; positions (in the trait's file) kept."""
    if isinstance(value, YamlMap):
        copy = YamlMap()
        copy.lines = {}
        copy.line = value.line
        for key, item in value.items():
            new_key = fill(key, values) if isinstance(key, str) else key
            copy[new_key] = instantiate(item, values)
            copy.lines[new_key] = value.lines[key]
        return copy
    if isinstance(value, YamlList):
        items = YamlList()
        items.lines = []
        items.line = value.line
        for item, line in zip(value, value.lines, strict=True):
            name = _whole(item, values) if isinstance(item, str) else None
            if name is not None and isinstance(values[name], list):
                items.extend(values[name])  # a list parameter spliced in place
                items.lines.extend([line] * len(values[name]))
            else:
                items.append(instantiate(item, values))
                items.lines.append(line)
        return items
    if isinstance(value, str):
        name = _whole(value, values)
        if name is not None and not isinstance(values[name], str):
            return values[name]  # a scalar parameter keeps its type (a boolean stays boolean)
        return fill(value, values)
    return value


def _new_map(line: int) -> YamlMap:
    data = YamlMap()
    data.lines = {}
    data.line = line
    return data


def _put(target: YamlMap, name: Any, value: Any, line: int, spec: SpecFile, use: _Use) -> None:
    """Merge one trait-brought entry, remembering it comes from the trait and which use."""
    target[name] = value
    target.lines[name] = line
    if target.sources is None:
        target.sources = {}
    target.sources[name] = (use.trait.file, (spec.name, use.line))


@dataclass
class _Use:
    trait: TraitDef
    line: int
    values: dict[str, Any]


def _uses(
    table: str, entries: YamlList, traits: dict[str, TraitDef], file: str, problems: list[Problem]
) -> list[_Use]:
    uses: list[_Use] = []
    for entry, line in zip(entries, entries.lines, strict=True):
        name: Any
        overrides: Any  # the user's YAML: checked to be a mapping below
        if isinstance(entry, str):
            name, overrides = entry, {}
        elif isinstance(entry, dict) and len(entry) == 1:
            name, overrides = next(iter(entry.items()))
            overrides = overrides or {}
        else:
            problems.append(Problem("a traits entry is a name or {name: {parameter: value}}", file, line))
            continue
        trait = traits.get(name) if isinstance(name, str) else None
        if trait is None:
            problems.append(Problem(f"unknown trait {name!r} on table {table!r}", file, line))
            continue
        if any(u.trait.name == name for u in uses):
            problems.append(Problem(f"trait {name!r} is listed twice on table {table!r}", file, line))
            continue
        defaults = trait.data.get("parameters") or {}
        if not isinstance(defaults, dict) or not isinstance(overrides, dict):
            problems.append(Problem(f"parameters of trait {name!r} must be a mapping", file, line))
            continue
        unknown = [k for k in overrides if k not in defaults]
        if unknown:
            problems.append(Problem(f"trait {name!r} has no parameter {unknown[0]!r}", file, line))
            continue
        uses.append(_Use(trait, line, {**defaults, **overrides}))
    return uses


def expand_file(spec: SpecFile, traits: dict[str, TraitDef], problems: list[Problem]) -> None:
    """Stamp every table's traits into the file's data (in place)."""
    tables = spec.data.get("tables")
    if not isinstance(tables, YamlMap):
        return
    schema = spec.data.get("schema", "public")
    for table, body in tables.items():
        if not isinstance(body, YamlMap) or not isinstance(body.get("traits"), YamlList):
            continue
        uses = _uses(table, body["traits"], traits, spec.name, problems)
        if not uses:
            continue
        columns = body.get("columns")
        if columns is None:
            columns = body["columns"] = _new_map(body.lines["traits"])
            body.lines["columns"] = body.lines["traits"]
        if not isinstance(columns, YamlMap):
            continue  # validation reports it
        # First the names, so {columns} can list every column the table ends up with.
        names = list(columns)
        for use in uses:
            base = {"table": table, "schema": schema, **use.values}
            trait_columns = use.trait.data.get("columns")
            if isinstance(trait_columns, YamlMap):
                names.extend(fill(str(c), base) for c in trait_columns)
        for use in uses:
            values = {"table": table, "schema": schema, **use.values}
            values["columns"] = ", ".join(quote(str(n)) for n in names)
            brought = instantiate(use.trait.data, values)
            _merge_columns(spec, table, columns, brought.get("columns"), use, problems)
            for section in TRAIT_TABLE_SECTIONS:
                _merge(spec, body, section, brought.get(section), use, f"table {table!r}", problems)
            for section in TRAIT_SCHEMA_SECTIONS:
                _merge(spec, spec.data, section, brought.get(section), use, "the spec", problems)


def _merge_columns(
    spec: SpecFile, table: str, columns: YamlMap, brought: Any, use: _Use, problems: list[Problem]
) -> None:
    if not isinstance(brought, YamlMap):
        return
    for name, value in brought.items():
        if name in columns:
            problems.append(
                Problem(
                    f"column {name!r} of table {table!r} is also brought by trait "
                    f"{use.trait.name!r} (line {use.line})",
                    spec.name,
                    columns.lines[name],
                )
            )
            continue
        _put(columns, name, value, brought.lines[name], spec, use)


def _merge(
    spec: SpecFile, target: YamlMap, section: str, brought: Any, use: _Use, where: str, problems: list[Problem]
) -> None:
    if not isinstance(brought, YamlMap) or not brought:
        return
    existing = target.get(section)
    if existing is None:
        existing = target[section] = _new_map(use.line)
        target.lines[section] = use.line
    if not isinstance(existing, YamlMap):
        return  # validation reports it
    for name, value in brought.items():
        if name in existing:
            problems.append(
                Problem(
                    f"trait {use.trait.name!r} brings {_SINGULAR[section]} {name!r}, which {where} already has",
                    spec.name,
                    use.line,
                )
            )
            continue
        _put(existing, name, value, brought.lines[name], spec, use)
