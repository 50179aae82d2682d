"""Tables as spec entries: columns, their shorthands, and the table's constraints.

This is where inspect does most of its shortening, so it has a module of its own: a column with
only a type is ``name: type``; a single-column primary key, unique constraint, foreign key or
CHECK named the way PostgreSQL names it sits on its column; a ``serial`` column is ``serial``
again (write_types.find_serials decided which). The table's indexes, policies and triggers are
written by write_table_children, the same way as those on tables the catalog lacks.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pgspec import naming
from pgspec.catalog import Column, Constraint, Table
from pgspec.errors import PgspecError
from pgspec.inspect.shorten import reference_name, short_default, short_expression, table_columns
from pgspec.inspect.write_state import WriteState, qualified_name, sql_value
from pgspec.inspect.write_table_children import index_entry, policy_entry, trigger_entry
from pgspec.inspect.yamlout import Flow, FlowList
from pgspec.quoting import qualified, quote

#: The order of a column's keys in its mapping form.
_COLUMN_KEYS = ("type", "primary_key", "not_null", "unique", "references", "default", "check",
                "identity", "generated", "collation", "comment", "grants")

#: Options of a foreign key and the value PostgreSQL takes when they are not given.
_FK_DEFAULTS = (("on_delete", "no action"), ("on_update", "no action"), ("match", "simple"))


@lru_cache(maxsize=16384)
def _check_columns(text: str) -> tuple[str, ...] | None:
    """The distinct columns a CHECK expression references in order, None when it does not
    parse; once per text (``char_length(name) > 0`` recurs across tables)."""
    from pgspec.spec.sqlcheck import expression_columns

    try:
        return tuple(dict.fromkeys(expression_columns(text)))
    except PgspecError:
        return None


def write_table(w: WriteState, table: Table) -> None:
    """The table's entry in the file the layout gave it, remembered for traits."""
    spec = w.table_file[table.key]
    spec.section("tables")[table.name] = _table(w, table, spec.schema)
    w.tables[table.key] = (spec.name, table.name)


def _table(w: WriteState, table: Table, schema: str) -> dict[str, Any]:
    children = w.by_table.get(table.key, {})
    constraints: list[Constraint] = sorted(children.get("constraint", []), key=lambda c: c.name)
    entry: dict[str, Any] = {}
    if table.comment:
        entry["comment"] = table.comment
    columns: dict[str, Any] = {}
    inline: dict[str, dict[str, Any]] = {c.name: {} for c in table.columns}
    rest: list[Constraint] = []
    pk_columns: set[str] = set()
    for con in constraints:
        if con.kind == "primary_key":
            pk_columns = set(con.columns)
        if not _inline_constraint(w, table, con, inline, schema):
            rest.append(con)
    for col in table.columns:
        grants = w.priv.column_grants(table.key, qualified(table.schema_name, table.name, col.name))
        if grants:
            inline[col.name]["grants"] = Flow(grants)
        columns[col.name] = _column(w, table, col, inline[col.name], pk_columns, schema)
    entry["columns"] = columns
    for con in rest:
        _constraint(w, table, con, entry, schema)
    indexes = {}
    for index in sorted(children.get("index", []), key=lambda i: i.name):
        indexes[index.name] = index_entry(index, schema, with_table=False)
    if indexes:
        entry["indexes"] = indexes
    if table.rls_enabled or table.rls_forced:
        entry["rls"] = True if not table.rls_forced else Flow(enabled=table.rls_enabled, forced=True)
    policies = {p.name: policy_entry(p, with_table=False) for p in sorted(children.get("policy", []), key=lambda p: p.name)}
    if policies:
        entry["policies"] = policies
    triggers = {}
    for trig in sorted(children.get("trigger", []), key=lambda t: t.name):
        triggers[trig.name] = trigger_entry(w, trig, schema, with_table=False)
    if triggers:
        entry["triggers"] = triggers
    if table.unlogged:
        entry["unlogged"] = True
    if table.partition_by:
        entry["partition_by"] = table.partition_by
    if table.partition_of:
        entry["partition_of"] = w.relation(table.partition_of, schema)
        entry["partition_bound"] = table.partition_bound
    if table.inherits:
        entry["inherits"] = FlowList(w.relation(p, schema) for p in table.inherits)
    entry.update(w.priv.extras("table", table.key, table.schema_name))
    return entry


def _inline_constraint(w: WriteState, table: Table, con: Constraint, inline: dict[str, dict[str, Any]], schema: str) -> bool:
    """Put a single-column constraint named as PostgreSQL names it on its column."""
    plain = not (con.deferrable or con.initially_deferred or con.comment or con.include
                 or con.nulls_not_distinct or con.no_inherit)
    if not plain:
        return False
    if con.kind == "primary_key" and len(con.columns) == 1 and con.name == naming.primary_key_name(table.name):
        inline[con.columns[0]]["primary_key"] = True
        return True
    if con.kind == "unique" and len(con.columns) == 1 and con.name == naming.unique_name(table.name, con.columns):
        inline[con.columns[0]]["unique"] = True
        return True
    if con.kind == "foreign_key" and len(con.columns) == 1 and con.name == naming.foreign_key_name(table.name, con.columns):
        inline[con.columns[0]]["references"] = _reference(w, con, schema, mapping=True)
        return True
    if con.kind == "check" and con.expression is not None:
        text = short_expression(con.expression, table_columns(table))
        found = _check_columns(text)
        if found is None:
            return False
        cols = list(found)
        if len(cols) == 1 and cols[0] in inline and con.name == naming.check_name(table.name, cols):
            if "check" in inline[cols[0]]:
                return False
            inline[cols[0]]["check"] = text
            return True
    return False


def _reference(w: WriteState, con: Constraint, schema: str, *, mapping: bool) -> Any:
    """A foreign key's target: ``table(col)`` text, or a mapping when options must be said
    (with them only for a column's ``references``, where the options have no other place)."""
    ref_schema, ref_table = qualified_name(con.references or "", schema)
    if qualified(ref_schema, ref_table) not in w.catalog.tables:
        w.external_tables.add(qualified(ref_schema, ref_table))
    target = reference_name(ref_schema, ref_table, schema)
    options: dict[str, Any] = {}
    for key, default in _FK_DEFAULTS:
        if getattr(con, key) != default:
            options[key] = getattr(con, key)
    for key in ("deferrable", "initially_deferred"):
        if getattr(con, key):
            options[key] = True
    if not options:
        return f"{target}({', '.join(quote(c) for c in con.references_columns)})"
    if mapping:
        return Flow(table=target, columns=FlowList(con.references_columns), **options)
    return Flow(table=target, columns=FlowList(con.references_columns))


def _column(w: WriteState, table: Table, col: Column, inline: dict[str, Any], pk: set[str], schema: str) -> Any:
    entry: dict[str, Any] = {}
    seq_key = None
    if col.default is not None and col.type in ("smallint", "integer", "bigint"):
        seq_key = qualified(table.schema_name, naming.sequence_name(table.name, col.name))
    if seq_key in w.serial_sequences:
        entry["type"] = {"smallint": "smallserial", "integer": "serial", "bigint": "bigserial"}[col.type]
    else:
        entry["type"] = w.type_of(col.type, schema)
        implied = col.name in pk or col.identity is not None
        if col.not_null and not implied:
            entry["not_null"] = True
        if col.default is not None:
            entry["default"] = sql_value(short_default(col.default))
    entry.update(inline)
    if col.identity:
        entry["identity"] = col.identity
    if col.generated is not None:
        entry["generated"] = short_expression(col.generated, table_columns(table))
    if col.collation:
        entry["collation"] = col.collation
    if col.comment:
        entry["comment"] = col.comment
    if list(entry) == ["type"]:
        return entry["type"]
    return Flow({k: entry[k] for k in _COLUMN_KEYS if k in entry})


def _constraint(w: WriteState, table: Table, con: Constraint, entry: dict[str, Any], schema: str) -> None:
    """A constraint that cannot sit on its column, in the table's section for its kind."""
    extras: dict[str, Any] = {}
    for key in ("deferrable", "initially_deferred"):
        if getattr(con, key):
            extras[key] = True
    if con.comment:
        extras["comment"] = con.comment
    value: dict[str, Any]
    if con.kind == "primary_key":
        if con.name == naming.primary_key_name(table.name) and not extras and not con.include:
            entry["primary_key"] = FlowList(con.columns)
        else:
            value = {"columns": FlowList(con.columns)}
            if con.name != naming.primary_key_name(table.name):
                value = {"name": con.name, **value}
            if con.include:
                value["include"] = FlowList(con.include)
            entry["primary_key"] = Flow({**value, **extras})
    elif con.kind == "unique":
        if not extras and not con.include and not con.nulls_not_distinct:
            entry.setdefault("unique", {})[con.name] = FlowList(con.columns)
        else:
            value = {"columns": FlowList(con.columns)}
            if con.nulls_not_distinct:
                value["nulls_not_distinct"] = True
            if con.include:
                value["include"] = FlowList(con.include)
            entry.setdefault("unique", {})[con.name] = Flow({**value, **extras})
    elif con.kind == "check":
        text = short_expression(con.expression or "", table_columns(table))
        if con.no_inherit or con.comment:
            value = {"expression": text}
            if con.no_inherit:
                value["no_inherit"] = True
            if con.comment:
                value["comment"] = con.comment
            entry.setdefault("checks", {})[con.name] = Flow(value)
        else:
            entry.setdefault("checks", {})[con.name] = text
    elif con.kind == "foreign_key":
        ref = _reference(w, con, schema, mapping=False)
        value = {"columns": FlowList(con.columns), "references": ref}
        for key, default in _FK_DEFAULTS:
            if getattr(con, key) != default:
                value[key] = getattr(con, key)
        entry.setdefault("foreign_keys", {})[con.name] = Flow({**value, **extras})
    elif con.kind == "exclude":
        text = con.definition or ""
        if extras:
            entry.setdefault("exclude", {})[con.name] = Flow({"definition": text, **extras})
        else:
            entry.setdefault("exclude", {})[con.name] = text
