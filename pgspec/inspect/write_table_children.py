"""Indexes, triggers and policies as spec entries, on a table's entry or at the top level.

They are written in two places: under the table they belong to, or, when the catalog does not
hold that table (an index on a materialized view, a trigger on ``auth.users``), in a top-level
section with a ``table:`` key, the table becoming an external one. One module writes both so the
two forms cannot drift apart; ``write_orphans`` places the second kind.
"""

from __future__ import annotations

from typing import Any

from pgspec.catalog import Index, IndexKey, Policy, Trigger
from pgspec.inspect.shorten import index_key_text, reference_name, short_expression
from pgspec.inspect.write_state import WriteState, qualified_name, sorted_objects
from pgspec.inspect.yamlout import Flow, FlowList
from pgspec.quoting import qualified, quote


def index_entry(index: Index, schema: str, *, with_table: bool) -> Flow:
    entry: dict[str, Any] = {}
    if with_table:
        entry["table"] = quote(index.table)
    entry["columns"] = FlowList(_index_key(k, schema) for k in index.keys)
    if index.unique:
        entry["unique"] = True
    if index.method != "btree":
        entry["method"] = index.method
    if index.where is not None:
        entry["where"] = short_expression(index.where)
    if index.include:
        entry["include"] = FlowList(index.include)
    if index.nulls_not_distinct:
        entry["nulls_not_distinct"] = True
    if index.comment:
        entry["comment"] = index.comment
    return Flow(entry)


def _index_key(key: IndexKey, schema: str) -> Any:
    """A key as text (``name DESC``) where the loader reads that back, else a mapping."""
    text = index_key_text(key, schema)
    if text is not None:
        return text
    value: dict[str, Any] = {}
    if key.column is not None:
        value["column"] = key.column
    else:
        value["expression"] = key.expression
    if key.order != "asc":
        value["order"] = key.order
    if key.nulls:
        value["nulls"] = key.nulls
    if key.opclass:
        value["opclass"] = key.opclass
    if key.collation:
        value["collation"] = key.collation
    return Flow(value)


def policy_entry(policy: Policy, *, with_table: bool) -> Flow:
    entry: dict[str, Any] = {}
    if with_table:
        entry["table"] = qualified(policy.schema_name, policy.table)
    if policy.command != "all":
        entry["command"] = policy.command
    if not policy.permissive:
        entry["permissive"] = False
    if policy.roles != ["public"]:
        entry["roles"] = FlowList(policy.roles)
    if policy.using is not None:
        entry["using"] = short_expression(policy.using)
    if policy.with_check is not None:
        entry["with_check"] = short_expression(policy.with_check)
    if policy.comment:
        entry["comment"] = policy.comment
    return Flow(entry)


def trigger_entry(w: WriteState, trig: Trigger, schema: str, *, with_table: bool) -> Flow:
    """The trigger's entry; a trigger function the catalog lacks becomes an external one."""
    entry: dict[str, Any] = {}
    if with_table:
        entry["table"] = qualified(trig.schema_name, trig.table)
    entry["timing"] = trig.timing
    entry["events"] = FlowList(trig.events)
    if trig.update_columns:
        entry["update_of"] = FlowList(trig.update_columns)
    if trig.level != "row":
        entry["level"] = trig.level
    if trig.when is not None:
        entry["when"] = short_expression(trig.when)
    fschema, fname = qualified_name(trig.function, schema)
    entry["function"] = reference_name(fschema, fname, schema)
    if not w.has_function(fschema, fname):
        w.external_functions.add(f"{qualified(fschema, fname)}()")
    if trig.arguments:
        entry["arguments"] = FlowList(trig.arguments)
    if trig.old_table:
        entry["old_table"] = trig.old_table
    if trig.new_table:
        entry["new_table"] = trig.new_table
    if trig.enabled != "origin":
        entry["enabled"] = trig.enabled
    for key in ("constraint", "deferrable", "initially_deferred"):
        if getattr(trig, key):
            entry[key] = True
    if trig.comment:
        entry["comment"] = trig.comment
    return Flow(entry)


def write_orphans(w: WriteState) -> None:
    """Indexes on materialized views, and triggers or policies on tables the catalog does
    not hold (``auth.users``): top-level sections with a ``table:`` key."""
    catalog = w.catalog
    for index in sorted_objects(catalog.indexes):
        if index.table_key in catalog.tables:
            continue
        spec = w.schema_file[index.schema_name]
        if index.table_key not in catalog.materialized_views:
            w.external_tables.add(index.table_key)
        spec.section("indexes")[index.name] = index_entry(index, spec.schema, with_table=True)
    for trig in sorted_objects(catalog.triggers):
        if trig.table_key not in catalog.tables:
            spec = w.schema_file[trig.schema_name]
            if trig.table_key not in catalog.views:
                w.external_tables.add(trig.table_key)
            spec.section("triggers")[trig.name] = trigger_entry(w, trig, spec.schema, with_table=True)
    for policy in sorted_objects(catalog.policies):
        if policy.table_key not in catalog.tables:
            w.external_tables.add(policy.table_key)
            spec = w.schema_file[policy.schema_name]
            spec.section("policies")[policy.name] = policy_entry(policy, with_table=True)
    for con in sorted_objects(catalog.constraints):
        if con.table_key not in catalog.tables:
            w.notes.append(f"constraint {con.key} is on {con.table_key}, which is not in the source: left out")
