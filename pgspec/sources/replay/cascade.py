"""What a DROP takes along, as the server's pg_depend decides it.

Dropping a column, table, view, sequence or function drops what depends on it: automatically
for a table's own constraints and indexes on a dropped column, and only with CASCADE for the
rest (views, policies, triggers, generated columns, foreign keys of other tables, defaults
calling a dropped function or reading a dropped sequence; checked on PostgreSQL 15 and 18).
The replay finds the dependents in the stored SQL (``renames.references`` for relations and
columns, ``resolve.references_to`` for sequences and functions). Without CASCADE a dependent
found means the server would have refused the statement: the replay then keeps it and says
so. A reference pgspec cannot place is reported, never guessed.
"""

from __future__ import annotations

from typing import Any

from pgspec.quoting import qualified
from pgspec.sources.replay import privileges, renames, tables
from pgspec.sources.replay.resolve import Moved, references_to
from pgspec.sources.replay.state import State

__all__ = ["drop_column_dependents", "drop_object", "drop_relation_dependents", "drop_routine",
           "drop_routine_dependents", "drop_schema_contents", "drop_stored",
           "drop_type_dependents"]

#: Object types whose dependency on a dropped column is automatic (no CASCADE needed).
_AUTO = frozenset({"constraint", "index"})
_PLURALS = {"constraint": "constraints", "index": "indexes", "trigger": "triggers",
            "policy": "policies", "view": "views", "materialized_view": "materialized_views"}


def drop_object(state: State, object_type: str, key: str) -> None:
    """Drop one dependent (a view or materialized view with its own dependents in turn)."""
    if object_type == "domain":
        if key in state.objects["domains"]:
            drop_stored(state, "domains", key, cascade=True)
        return
    if object_type == "function":
        fn = state.objects["functions"].get(key)
        if fn is not None:
            # Called once per function: an overload dropped earlier no longer makes it ambiguous.
            drop_routine_dependents(state, Moved("function", fn.schema_name, fn.name, "", ""),
                                    True, ambiguous=len(state.function_names.get(
                                        qualified(fn.schema_name, fn.name), ())) > 1)
            drop_routine(state, key)
        return
    if object_type == "column":
        # ``table.column`` with the column as written (renames names generated columns so).
        for at in range(len(key)):
            table = state.table(key[:at]) if key[at] == "." else None
            if table is not None:
                # A generated column goes with what depends on it in turn (its indexes).
                tables.drop_column(state, table.schema_name, table.name, key[at + 1:], True)
                return
        return
    plural = _PLURALS[object_type]
    if key in state.objects[plural]:
        drop_stored(state, plural, key, cascade=True)


def drop_stored(state: State, plural: str, key: str, cascade: bool) -> None:
    """DROP of one stored object (not a function: ``drop_routine_dependents`` first), with
    what goes along: a table's children, partitions and (with CASCADE) inheritance children
    and foreign keys naming it; whatever names a relation, sequence or type."""
    obj = state.objects[plural][key]
    if plural in ("tables", "views", "materialized_views"):
        drop_relation_dependents(state, obj.schema_name, obj.name, cascade)
    elif plural == "sequences":
        drop_routine_dependents(state, Moved("relation", obj.schema_name, obj.name, "", ""),
                                cascade)
    if plural in ("enums", "domains", "composite_types"):
        drop_type_dependents(state, key, cascade)
    if plural == "tables":
        for child in tables.children(state, key):
            # Partitions go with their table; inheritance children only with CASCADE.
            if child.partition_of == key or cascade:
                drop_stored(state, "tables", child.key, cascade)
    found = state.objects[plural].pop(key, None)
    if found is None:
        return
    privileges.forget_object(state, plural, found)
    if plural == "tables":
        _drop_table_children(state, key)
        if cascade:
            for ckey, con in list(state.objects["constraints"].items()):
                if con.references == key:
                    del state.objects["constraints"][ckey]
    if plural in ("tables", "views", "materialized_views", "composite_types", "enums",
                  "domains"):
        state.known_types.discard(key)
    if plural == "materialized_views":
        for ikey, idx in list(state.objects["indexes"].items()):
            if idx.table_key == key:
                del state.objects["indexes"][ikey]


def _drop_table_children(state: State, key: str) -> None:
    for plural in ("constraints", "triggers", "policies"):
        for child_key, child in list(state.objects[plural].items()):
            if child.table_key == key:
                del state.objects[plural][child_key]
    for ikey, idx in list(state.objects["indexes"].items()):
        if idx.table_key == key:
            del state.objects["indexes"][ikey]
    for skey, seq in list(state.objects["sequences"].items()):
        if seq.owned_by and seq.owned_by.startswith(key + "."):
            del state.objects["sequences"][skey]
            privileges.forget_object(state, "sequences", seq)
    state.primary_keys.pop(key, None)


def _typed(text: str | None, key: str) -> bool:
    """Whether a canonical type string is the user type ``key`` or an array of it."""
    return text is not None and (text == key or text.startswith((key + "[", key + "(")))


def drop_type_dependents(state: State, key: str, cascade: bool) -> None:
    """DROP TYPE/DOMAIN: columns and attributes of the type (or an array of it), domains over
    it and functions taking or returning it go with CASCADE."""
    objects = state.objects
    found: dict[tuple[str, str], bool] = {}
    for table in objects["tables"].values():
        for col in table.columns:
            if _typed(col.type, key):
                found[("column", f"{table.key}.{col.name}")] = True
    for dkey, dom in objects["domains"].items():
        if _typed(dom.type, key) and dkey != key:
            found[("domain", dkey)] = True
    for fkey, fn in objects["functions"].items():
        if _typed(fn.returns, key) or any(_typed(a.type, key) for a in fn.arguments):
            found[("function", fkey)] = True
    for ckey, comp in list(objects["composite_types"].items()):
        if ckey != key and any(_typed(a.type, key) for a in comp.attributes):
            if cascade:
                objects["composite_types"][ckey] = comp.model_copy(update={
                    "attributes": [a for a in comp.attributes if not _typed(a.type, key)]})
            else:
                found[("composite_type", ckey)] = True
    _settle(state, found, cascade, f"type {key}")


def _settle(state: State, found: dict[tuple[str, str], bool], cascade: bool, what: str,
            auto: frozenset[str] = frozenset()) -> None:
    """Drop the dependents found, or report the ones the server's answer is unknown for."""
    for (object_type, key), certain in sorted(found.items()):
        if not certain:
            state.warn(object_type, key, f"may depend on {what}, which was dropped: pgspec "
                       "cannot tell and keeps it")
        elif object_type in auto or cascade:
            drop_object(state, object_type, key)
        else:
            state.warn(object_type, key, f"depends on {what}: the server refuses the DROP "
                       "without CASCADE; pgspec keeps it as the replay has it")


def drop_column_dependents(state: State, schema: str, table: str, column: str,
                           cascade: bool) -> None:
    """DROP COLUMN: what names the column in stored SQL, triggers ``UPDATE OF`` it, foreign
    keys of other tables referencing it (call while the column is still there)."""
    key = qualified(schema, table)
    found = renames.references(state, schema, table, column)
    for tkey, trig in state.objects["triggers"].items():
        if trig.table_key == key and column in trig.update_columns:
            found[("trigger", tkey)] = True
    for ckey, con in state.objects["constraints"].items():
        if con.references == key and con.table_key != key and column in con.references_columns:
            found[("constraint", ckey)] = True
    found.pop(("column", f"{key}.{column}"), None)
    what = f"column {qualified(schema, table, column)}"
    own = {(t, k): c for (t, k), c in found.items()
           if t in _AUTO and _table_of(state, t, k) == key}
    _settle(state, own, cascade, what, _AUTO)
    _settle(state, {k: v for k, v in found.items() if k not in own}, cascade, what)


def drop_schema_contents(state: State, schema: str) -> None:
    """DROP SCHEMA ... CASCADE: each relation, type and function of the schema dropped with
    CASCADE, so that what other schemas hold that depends on them goes too."""
    for plural in ("views", "materialized_views", "tables", "sequences", "domains", "enums",
                   "composite_types"):
        for key, obj in list(state.objects[plural].items()):
            if obj.schema_name == schema and key in state.objects[plural]:
                drop_stored(state, plural, key, cascade=True)
    for key, fn in list(state.objects["functions"].items()):
        if fn.schema_name == schema:
            drop_object(state, "function", key)


def drop_routine(state: State, key: str) -> None:
    """Remove a function from the state and its name index (its dependents are gone)."""
    fn = state.objects["functions"].pop(key)
    privileges.forget_object(state, "functions", fn)
    for group in state.function_names.values():
        if key in group:
            group.remove(key)


def drop_relation_dependents(state: State, schema: str, name: str, cascade: bool) -> None:
    """DROP TABLE/VIEW: views and other tables' policies that name it (its own children
    go with it; foreign keys referencing a table are handled by the caller)."""
    key = qualified(schema, name)
    found = {(t, k): c for (t, k), c in renames.references(state, schema, name).items()
             if not (t in _PLURALS and _table_of(state, t, k) == key)}
    _settle(state, found, cascade, f"relation {key}")


def _table_of(state: State, object_type: str, key: str) -> str | None:
    obj: Any = state.objects[_PLURALS[object_type]].get(key)
    return getattr(obj, "table_key", None) if obj is not None else None


def drop_routine_dependents(state: State, moved: Moved, cascade: bool,
                            ambiguous: bool = False) -> None:
    """DROP SEQUENCE / DROP FUNCTION (``moved`` names it, kind ``relation`` or ``function``):
    defaults lose their expression, generated columns, constraints, indexes, policies, trigger
    WHENs and views that use it go, and so do triggers executing a dropped function.
    ``ambiguous``: other overloads share the function's name, so a call cannot be placed."""
    what = f"{'sequence' if moved.kind == 'relation' else 'function'} " + qualified(
        moved.schema, moved.name)
    found: dict[tuple[str, str], bool] = {}
    defaults: list[tuple[str, str]] = []
    for plural, key, field in references_to(state, moved):
        if plural == "tables":
            column, attr = field.split(".")
            if attr == "default":
                defaults.append((key, column))
                continue
            found[("column", f"{key}.{column}")] = not ambiguous
        elif plural == "domains":
            defaults.append((key, ""))
        else:
            object_type = next(t for t, p in _PLURALS.items() if p == plural)
            found[(object_type, key)] = not ambiguous
    if moved.kind == "function":
        target = qualified(moved.schema, moved.name)
        for tkey, trig in state.objects["triggers"].items():
            if trig.function == target:
                found[("trigger", tkey)] = not ambiguous
    for table_key, column in defaults:
        if ambiguous:
            state.warn("column", f"{table_key}.{qualified(column)}" if column else table_key,
                       f"its default may call {what}, which was dropped: pgspec cannot tell "
                       "which overload it calls and keeps it")
        elif not cascade:
            state.warn("column", f"{table_key}.{qualified(column)}" if column else table_key,
                       f"its default uses {what}: the server refuses the DROP without "
                       "CASCADE; pgspec keeps it as the replay has it")
        elif column:
            table = state.table(table_key)
            if table is not None:
                state.update("tables", table_key, columns=[
                    c.model_copy(update={"default": None}) if c.name == column else c
                    for c in table.columns])
        else:
            state.update("domains", table_key, default=None)
    _settle(state, found, cascade, what)
