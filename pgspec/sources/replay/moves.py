"""Objects renamed or moved to another schema (``RENAME TO``, ``SET SCHEMA``), and everything
that follows them.

The server refers to relations, types and functions by oid, so a rename or a move reaches
every column typed with the type, every default calling the function, every trigger
executing it, every foreign key and view naming the table. The replay stores names, so it
rewrites each one here: keys, children (constraints, indexes, triggers, policies), owned
sequences (``ALTER TABLE ... SET SCHEMA`` takes them along, AlterSeqNamespaces), canonical
type strings, and stored SQL (``renames`` for queries with their scopes, ``resolve`` for the
function calls, casts and regclass literals of expressions).
"""

from __future__ import annotations

from typing import Any

from pglast import ast, enums

from pgspec.quoting import qualified
from pgspec.sources.replay import collations, privileges, renames, tables
from pgspec.sources.replay.resolve import Moved, move_references
from pgspec.sources.replay.routines import function_key
from pgspec.sources.replay.state import State, deparse, names_of

__all__ = ["move_function", "move_relation", "move_type", "set_schema"]

OT = enums.ObjectType

#: The kinds a relation can be stored as.
_RELATIONS = ("tables", "views", "materialized_views", "sequences", "composite_types")
#: The kinds a user type can be stored as.
_TYPES = ("enums", "domains", "composite_types")


def _rekey(state: State, plural: str, old: str, obj: Any) -> None:
    del state.objects[plural][old]
    if state.keep(obj.schema_name):
        state.objects[plural][obj.key] = obj


def _move_objects(
    state: State, plurals: tuple[str, ...], old_key: str, new_schema: str, new_name: str
) -> None:
    """The object under ``old_key`` in whichever of ``plurals`` holds it, renamed and moved
    under its new key, its grants and owner carried along."""
    for plural in plurals:
        obj = state.objects[plural].get(old_key)
        if obj is not None:
            moved = obj.model_copy(update={"name": new_name, "schema_name": new_schema})
            _rekey(state, plural, old_key, moved)
            privileges.carry(state, plural, moved, old_key)


def move_relation(state: State, schema: str, old: str, new: str,
                  new_schema: str | None = None) -> None:
    """A table, view, sequence or composite type renamed to ``new`` and/or moved to
    ``new_schema``, with everything that names it."""
    target = new_schema or schema
    # The SQL that names the relation first, while the state still resolves the old name.
    renames.rename_relation(state, schema, old, new, target)
    move_references(state, Moved("relation", schema, old, target, new))
    old_key, new_key = qualified(schema, old), qualified(target, new)
    tables.rename_inherited(state, old_key, new_key)
    _move_objects(state, _RELATIONS, old_key, target, new)
    if old_key in state.known_types:  # its row type, which columns may use
        move_type(state, schema, old, target, new)
    if old_key in state.primary_keys:
        state.primary_keys[new_key] = state.primary_keys.pop(old_key)
    for plural in ("constraints", "triggers", "policies", "indexes"):
        # Constraints, triggers and policies belong to the table; its indexes move with it.
        for key, child in list(state.objects[plural].items()):
            if child.schema_name == schema and child.table == old:
                _rekey(state, plural, key,
                       child.model_copy(update={"table": new, "schema_name": target}))
    for key, con in list(state.objects["constraints"].items()):
        if con.references == old_key:
            state.objects["constraints"][key] = con.model_copy(update={"references": new_key})
    owned: list[str] = []
    for key, seq in list(state.objects["sequences"].items()):
        if seq.owned_by and seq.owned_by.startswith(old_key + "."):
            column = seq.owned_by[len(old_key) + 1:]
            state.objects["sequences"][key] = seq.model_copy(
                update={"owned_by": f"{new_key}.{column}"})
            owned.append(seq.name)
    for key, table in list(state.objects["tables"].items()):
        changes: dict[str, Any] = {}
        if table.partition_of == old_key:
            changes["partition_of"] = new_key
        if old_key in table.inherits:
            changes["inherits"] = [new_key if p == old_key else p for p in table.inherits]
        if changes:
            state.objects["tables"][key] = table.model_copy(update=changes)
    if target != schema:
        for name in owned:  # a serial's sequence goes where its table goes
            move_relation(state, schema, name, name, target)


def _retyped(text: str, old: str, new: str) -> str:
    """A canonical type string with the user type ``old`` (a key) replaced by ``new``."""
    if text == old:
        return new
    for suffix in ("[]", "("):
        if text.startswith(old + suffix):
            return new + text[len(old):]
    return text


def move_type(state: State, schema: str, name: str, new_schema: str, new_name: str) -> None:
    """A user type renamed or moved: columns, attributes, domains and function signatures
    typed with it follow, and so do casts to it in stored SQL."""
    old_key, new_key = qualified(schema, name), qualified(new_schema, new_name)
    _move_objects(state, _TYPES, old_key, new_schema, new_name)
    state.known_types.discard(old_key)
    state.known_types.add(new_key)
    objects = state.objects
    for key, table in list(objects["tables"].items()):
        columns = [c.model_copy(update={"type": _retyped(c.type, old_key, new_key)})
                   for c in table.columns]
        if columns != table.columns:
            objects["tables"][key] = table.model_copy(update={"columns": columns})
    for key, comp in list(objects["composite_types"].items()):
        attributes = [a.model_copy(update={"type": _retyped(a.type, old_key, new_key)})
                      for a in comp.attributes]
        if attributes != comp.attributes:
            objects["composite_types"][key] = comp.model_copy(update={"attributes": attributes})
    for key, dom in list(objects["domains"].items()):
        if _retyped(dom.type, old_key, new_key) != dom.type:
            objects["domains"][key] = dom.model_copy(
                update={"type": _retyped(dom.type, old_key, new_key)})
    for key, fn in list(objects["functions"].items()):
        arguments = [a.model_copy(update={"type": _retyped(a.type, old_key, new_key)})
                     for a in fn.arguments]
        returns = _retyped(fn.returns, old_key, new_key) if fn.returns else fn.returns
        if arguments != fn.arguments or returns != fn.returns:
            _replace_function(state, key, fn.model_copy(
                update={"arguments": arguments, "returns": returns}))
    move_references(state, Moved("type", schema, name, new_schema, new_name))


def _replace_function(state: State, key: str, fn: Any) -> None:
    """Store a function whose key may have changed (its name, schema or argument types)."""
    del state.objects["functions"][key]
    if state.keep(fn.schema_name):
        state.objects["functions"][fn.key] = fn
    for group in state.function_names.values():
        if key in group:
            group.remove(key)
    group = state.function_names.setdefault(qualified(fn.schema_name, fn.name), [])
    if fn.key not in group:
        group.append(fn.key)
    privileges.carry(state, "functions", fn, key)


def move_function(state: State, key: str, new_schema: str, new_name: str) -> None:
    """A function renamed or moved: triggers executing it and stored SQL calling it follow."""
    fn = state.objects["functions"][key]
    _replace_function(state, key, fn.model_copy(update={"name": new_name,
                                                         "schema_name": new_schema}))
    old_ref = qualified(fn.schema_name, fn.name)
    if not state.function_names.get(old_ref):
        state.function_names.pop(old_ref, None)
    new_ref = qualified(new_schema, new_name)
    for tkey, trig in list(state.objects["triggers"].items()):
        if trig.function == old_ref:
            state.objects["triggers"][tkey] = trig.model_copy(update={"function": new_ref})
    move_references(state, Moved("function", fn.schema_name, fn.name, new_schema, new_name))


def set_schema(state: State, stmt: ast.AlterObjectSchemaStmt) -> None:
    """``ALTER TABLE/VIEW/SEQUENCE/TYPE/DOMAIN/FUNCTION/COLLATION ... SET SCHEMA``."""
    kind, new_schema = stmt.objectType, stmt.newschema
    if kind in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_SEQUENCE,
                OT.OBJECT_FOREIGN_TABLE):
        schema, name = state.relation_key(stmt.relation)
        key = qualified(schema, name)
        if not any(key in state.objects[p] for p in _RELATIONS):
            _not_found(state, stmt, key, new_schema)
            return
        move_relation(state, schema, name, name, new_schema)
    elif kind in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
        parts = names_of(stmt.object.names if isinstance(stmt.object, ast.TypeName)
                         else stmt.object)
        schema, name = state.object_key(parts, state.known_types.__contains__)
        key = qualified(schema, name)
        if key not in state.known_types:
            _not_found(state, stmt, key, new_schema)
            return
        move_type(state, schema, name, new_schema, name)
    elif kind in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE):
        key = function_key(state, stmt.object)
        if key is None or key not in state.objects["functions"]:
            _not_found(state, stmt, key or deparse(stmt.object), new_schema)
            return
        fn = state.objects["functions"][key]
        move_function(state, key, new_schema, fn.name)
    elif kind == OT.OBJECT_COLLATION:
        collations.set_schema(state, stmt)
    else:
        name = deparse(stmt.relation) if stmt.relation is not None else deparse(stmt.object)
        state.warn("object", name, "ALTER ... SET SCHEMA of this kind is not replayed by pgspec")


def _not_found(state: State, stmt: ast.AlterObjectSchemaStmt, name: str, new_schema: str) -> None:
    """A move of an object the replay does not hold: one outside the selected schemas stays
    out of sight; one moved into them cannot be built, and is reported."""
    if stmt.missing_ok or not state.keep(new_schema):
        return
    state.warn("object", name, f"moved into schema {new_schema!r} from outside the schemas "
               "read, or never created: not replayed")
