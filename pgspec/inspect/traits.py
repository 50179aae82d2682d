"""Recognising traits: a table whose columns and objects are exactly what a trait brings is
written as ``traits: [audit, soft_delete]`` instead of repeating them.

Recognition here is only a proposal made from names: the trait's columns are the table's last
columns, in order, and every trigger, index, policy and view the trait would create exists.
Whether expanding the trait reproduces the table *exactly* (types, defaults, comments, the
view's query) is decided by the caller, which loads the written spec and diffs it against the
source, and takes the trait back from every table where anything differs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import yaml

from pgspec.catalog import Catalog, Table
from pgspec.inspect.writer import SpecFile, Written
from pgspec.inspect.yamlout import Flow, FlowList
from pgspec.quoting import qualified, quote
from pgspec.spec.models import TRAIT_SCHEMA_SECTIONS, TRAIT_TABLE_SECTIONS
from pgspec.spec.traits import fill

#: The conventions pgspec recognises by default: the team's own (schema/conventions.yaml).
DEFAULT_TRAITS_YAML = """
audit:
  columns:
    created_at: {type: timestamptz, not_null: true, default: now()}
    updated_at: {type: timestamptz, not_null: true, default: now()}
    created_by: {type: uuid, comment: "users.id of who created the row (not a foreign key: the trail outlives the user)"}
    updated_by: {type: uuid, comment: "users.id of who last changed the row"}
  triggers:
    "update_{table}_updated_at":
      timing: before
      events: [update]
      level: row
      function: update_updated_at_column
soft_delete:
  parameters: {active_index: [id]}
  columns:
    deleted_at: {type: timestamptz, comment: "NULL while the row is active"}
    deleted_by: {type: uuid, comment: "users.id of who soft-deleted the row"}
  views:
    "{table}_active":
      options: {security_invoker: true}
      comment: "Active (not soft-deleted) rows of {table}"
      query: "SELECT {columns} FROM {table} WHERE deleted_at IS NULL"
  indexes:
    "idx_{table}_active":
      columns: ["{active_index}"]
      where: "deleted_at IS NULL"
"""


def default_traits() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(DEFAULT_TRAITS_YAML)


@dataclass
class Use:
    """One trait applied to one table, and what it took out of the table's entry."""

    trait: str
    parameters: dict[str, Any]
    #: (section of the table entry or of the file, object name) removed because the trait brings it.
    removed: list[tuple[str, str]] = field(default_factory=list)
    #: Keys of schema-level objects (views) the trait makes.
    view_keys: list[str] = field(default_factory=list)


def _filled(value: Any, values: dict[str, Any]) -> Any:
    """A trait template with placeholders filled, on plain YAML data (as the loader fills)."""
    if isinstance(value, dict):
        return {fill(str(k), values): _filled(v, values) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if isinstance(item, str) and item.startswith("{") and item.endswith("}") and item[1:-1] in values \
                    and isinstance(values[item[1:-1]], list):
                out.extend(values[item[1:-1]])
            else:
                out.append(_filled(item, values))
        return out
    if isinstance(value, str):
        return fill(value, values)
    return value


def _infer_parameters(trait: dict[str, Any], table: Table, catalog: Catalog) -> dict[str, Any]:
    """Parameters read off the table: a list parameter that is an index's whole column list
    takes that index's key columns (``soft_delete``'s ``active_index``)."""
    params = dict(trait.get("parameters") or {})
    base = {"table": table.name, "schema": table.schema_name}
    for index_name, index in (trait.get("indexes") or {}).items():
        cols = index.get("columns") if isinstance(index, dict) else None
        if not (isinstance(cols, list) and len(cols) == 1 and isinstance(cols[0], str)):
            continue
        param = cols[0][1:-1] if cols[0].startswith("{") and cols[0].endswith("}") else None
        if param not in params:
            continue
        name = fill(str(index_name), {**base, **params})
        found = catalog.indexes.get(qualified(table.schema_name, name))
        if found is None or found.table != table.name or any(k.column is None for k in found.keys):
            continue
        params[param] = [k.column for k in found.keys]
    return params


def propose(
    catalog: Catalog, written: Written, traits: dict[str, dict[str, Any]], skip: set[str]
) -> dict[str, list[Use]]:
    """Trait uses for every table whose names fit, applied to ``written`` in place."""
    uses: dict[str, list[Use]] = {}
    for table_key, (file_name, table_name) in written.tables.items():
        if table_key in skip:
            continue
        table = catalog.tables[table_key]
        spec = written.files[file_name]
        found = _match(table, catalog, traits)
        if found:
            for use in found:
                _apply(spec, table, use, traits[use.trait], [c.name for c in table.columns])
            entry = spec.data["tables"][table_name]
            _set_traits(entry, found, traits)
            uses[table_key] = found
    return uses


def _match(table: Table, catalog: Catalog, traits: dict[str, dict[str, Any]]) -> list[Use]:
    """Traits whose columns are the table's trailing columns (last trait last), whose other
    objects all exist by name."""
    names = [c.name for c in table.columns]
    tail = len(names)
    picked: list[Use] = []
    progress = True
    while progress and tail > 0:
        progress = False
        for trait_name, trait in traits.items():
            if any(u.trait == trait_name for u in picked):
                continue
            params = _infer_parameters(trait, table, catalog)
            values = {"table": table.name, "schema": table.schema_name, **params}
            cols = [fill(str(c), values) for c in (trait.get("columns") or {})]
            if not cols or len(cols) > tail or names[tail - len(cols) : tail] != cols:
                continue
            if not _objects_exist(trait, table, catalog, values):
                continue
            picked.insert(0, Use(trait_name, params))
            tail -= len(cols)
            progress = True
            break
    return picked


def _objects_exist(trait: dict[str, Any], table: Table, catalog: Catalog, values: dict[str, Any]) -> bool:
    kinds = {"indexes": "index", "policies": "policy", "triggers": "trigger", "checks": "constraint",
             "unique": "constraint", "foreign_keys": "constraint", "exclude": "constraint"}
    for section, kind in kinds.items():
        for name in trait.get(section) or {}:
            filled = fill(str(name), values)
            key = (qualified(table.schema_name, filled) if kind == "index"
                   else qualified(table.schema_name, table.name, filled))
            found = catalog.objects(kind).get(key)
            if found is None or getattr(found, "table", table.name) != table.name:
                return False
    for section in TRAIT_SCHEMA_SECTIONS:
        kind = "view" if section == "views" else "materialized_view"
        for name in trait.get(section) or {}:
            if qualified(table.schema_name, fill(str(name), values)) not in catalog.objects(kind):
                return False
    return True


def _apply(spec: SpecFile, table: Table, use: Use, trait: dict[str, Any], columns: list[str]) -> None:
    """Take out of the written entry what the trait will bring back."""
    values = {"table": table.name, "schema": table.schema_name, **use.parameters,
              "columns": ", ".join(quote(c) for c in columns)}
    entry = spec.data["tables"][table.name]
    for col in trait.get("columns") or {}:
        name = fill(str(col), values)
        entry["columns"].pop(name, None)
        use.removed.append(("columns", name))
    for section in TRAIT_TABLE_SECTIONS:
        for name in trait.get(section) or {}:
            filled = fill(str(name), values)
            found = entry.get(section)
            if isinstance(found, dict):
                found.pop(filled, None)
                if not found:
                    entry.pop(section)
            use.removed.append((section, filled))
    for section in TRAIT_SCHEMA_SECTIONS:
        for name in trait.get(section) or {}:
            # Views may sit in another file of the schema: remove_views takes them out.
            use.view_keys.append(qualified(table.schema_name, fill(str(name), values)))


def _set_traits(entry: dict[str, Any], uses: list[Use], traits: dict[str, dict[str, Any]]) -> None:
    items: list[Any] = []
    for use in uses:
        defaults = (traits[use.trait].get("parameters") or {})
        overrides = {k: (FlowList(v) if isinstance(v, list) else v)
                     for k, v in use.parameters.items() if defaults.get(k) != v}
        items.append(Flow({use.trait: Flow(overrides)}) if overrides else use.trait)
    rebuilt = {}
    if "comment" in entry:
        rebuilt["comment"] = entry.pop("comment")
    rebuilt["traits"] = FlowList(items)
    rebuilt.update(entry)
    entry.clear()
    entry.update(rebuilt)


def remove_views(written: Written, uses: dict[str, list[Use]]) -> None:
    """Views a trait brings are taken out of whichever file of the schema holds them."""
    wanted = {key for table_uses in uses.values() for use in table_uses for key in use.view_keys}
    for spec in written.files.values():
        for section in TRAIT_SCHEMA_SECTIONS:
            found = spec.data.get(section)
            if not isinstance(found, dict):
                continue
            for name in list(found):
                if qualified(spec.schema, name) in wanted:
                    found.pop(name)
            if not found:
                spec.data.pop(section)


def definitions(traits: dict[str, dict[str, Any]], used: set[str]) -> dict[str, Any]:
    """The ``traits:`` section defining the traits in use, laid out like a hand-written one."""
    out: dict[str, Any] = {}
    for name in sorted(used):
        trait = copy.deepcopy(traits[name])
        body: dict[str, Any] = {}
        for key, value in trait.items():
            if key == "parameters" and isinstance(value, dict):
                body[key] = Flow({k: FlowList(v) if isinstance(v, list) else v for k, v in value.items()})
            elif isinstance(value, dict):
                body[key] = {k: _flowish(v) for k, v in value.items()}
            else:
                body[key] = value
        out[name] = body
    return out


def _flowish(value: Any) -> Any:
    if isinstance(value, dict):
        return Flow({k: _flowish(v) for k, v in value.items()})
    if isinstance(value, list):
        return FlowList(_flowish(v) for v in value)
    return value
