"""Schemas, extensions, comments, drops, renames, the search path, and the kinds pgspec
reports instead of modelling."""

from __future__ import annotations

import copy
from typing import Any

from pglast import ast, enums

from pgspec.catalog import Extension, Schema
from pgspec.quoting import qualified
from pgspec.sources.replay import cascade as cascade_drops
from pgspec.sources.replay import collations, moves, privileges, renames, tables
from pgspec.sources.replay.aggregates import aggregate_key, create_aggregate, rename_aggregate
from pgspec.sources.replay.resolve import Moved
from pgspec.sources.replay.routines import drop_function, function_key
from pgspec.sources.replay.state import State, deparse, names_of

OT = enums.ObjectType

# --------------------------------------------------------------------------- search path


def set_search_path(state: State, value: str | None) -> None:
    """Track ``SET search_path`` / ``set_config('search_path', ...)``."""
    if value is None:
        state.search_path = ["public"]
        return
    from pgspec.sources.replay import parse_search_path

    state.search_path = parse_search_path(value)


def _set_role(state: State, stmt: ast.VariableSetStmt) -> None:
    """``SET ROLE`` / ``SET SESSION AUTHORIZATION`` and their RESETs: who owns what the script
    creates next, and whose ALTER DEFAULT PRIVILEGES it runs (RESET ALL leaves both alone:
``variable_set`` never sends it here)."""
    value = None
    if stmt.kind == enums.VariableSetKind.VAR_SET_VALUE and stmt.args:
        arg = stmt.args[0]
        const = arg.val if isinstance(arg, ast.A_Const) else arg
        value = const.sval if isinstance(const, ast.String) else None
    if stmt.name == "session_authorization":
        # A new session user drops any SET ROLE; DEFAULT/RESET is the role that ran the script.
        state.session_user = value
        state.role = None
    else:
        state.role = None if value is None or value == "none" else value


#: The session state each setting the replay follows is held in.
_SETTINGS = {"search_path": ("search_path",), "role": ("role",),
             "session_authorization": ("session_user", "role")}


def discard(state: State, stmt: ast.DiscardStmt) -> None:
    """``DISCARD ALL``: the session as it started (SET SESSION AUTHORIZATION DEFAULT, RESET
    ALL); the server refuses it inside a transaction block. Other DISCARDs change nothing pgspec
    follows."""
    if stmt.target == enums.DiscardMode.DISCARD_ALL and not state.transaction:
        state.session_user = state.role = None
        state.search_path = ["public"]


def variable_set(state: State, stmt: ast.VariableSetStmt) -> None:
    # RESET ALL has no name; of the settings followed here it resets search_path only (role
    # and session_authorization are exempt from it).
    name = "search_path" if stmt.kind == enums.VariableSetKind.VAR_RESET_ALL else stmt.name or ""
    attributes = _SETTINGS.get(name)
    if attributes is None:
        return
    if stmt.is_local:
        if not state.transaction:
            return  # the server warns and changes nothing outside a transaction block
        # SET LOCAL lasts until the transaction ends: remember what COMMIT goes back to.
        for attribute in attributes:
            state.local_settings.setdefault(attribute, copy.copy(getattr(state, attribute)))
    _apply_setting(state, stmt)
    if not stmt.is_local:
        # A plain SET inside the transaction is what COMMIT keeps.
        for attribute in attributes:
            if attribute in state.local_settings:
                state.local_settings[attribute] = copy.copy(getattr(state, attribute))


def _apply_setting(state: State, stmt: ast.VariableSetStmt) -> None:
    if stmt.name in ("role", "session_authorization"):
        _set_role(state, stmt)
        return
    if stmt.kind == enums.VariableSetKind.VAR_SET_VALUE:
        values: list[str] = []
        for arg in stmt.args or ():
            value = arg.val if isinstance(arg, ast.A_Const) else arg
            if isinstance(value, ast.String):
                values.append(value.sval)
        state.search_path = [v for v in values if v]
    elif stmt.kind in (enums.VariableSetKind.VAR_SET_DEFAULT, enums.VariableSetKind.VAR_RESET,
                       enums.VariableSetKind.VAR_RESET_ALL):
        state.search_path = ["public"]


def select(state: State, stmt: ast.SelectStmt) -> None:
    """``SELECT pg_catalog.set_config('search_path', '', false)`` (pg_dump); others ignored."""
    for target in stmt.targetList or ():
        call = target.val
        if not isinstance(call, ast.FuncCall) or names_of(call.funcname)[-1] != "set_config":
            continue
        args = call.args or ()
        if len(args) >= 2 and all(isinstance(a, ast.A_Const) for a in args[:2]):
            name, value = args[0].val, args[1].val
            if isinstance(name, ast.String) and name.sval == "search_path":
                set_search_path(state, value.sval if isinstance(value, ast.String) else "")


# --------------------------------------------------------------------------- schemas, extensions


def create_schema(state: State, stmt: ast.CreateSchemaStmt, apply: Any) -> None:
    name = stmt.schemaname or (stmt.authrole.rolename if stmt.authrole else None)
    if name is None:
        return
    state.known_schemas.add(name)
    # Keyed like every Catalog key (quoted where SQL needs it), so COMMENT ON SCHEMA and the
    # live reader's key find it for a name with capitals, spaces or quotes.
    if qualified(name) not in state.objects["schemas"] and state.keep(name):
        state.objects["schemas"][qualified(name)] = Schema(name=name)
    if stmt.schemaElts:
        saved = state.search_path
        state.search_path = [name]
        try:
            for element in stmt.schemaElts:
                apply(element)
        finally:
            state.search_path = saved


def create_extension(state: State, stmt: ast.CreateExtensionStmt) -> None:
    fields: dict[str, Any] = {"name": stmt.extname}
    for opt in stmt.options or ():
        if opt.defname == "schema":
            fields["schema"] = opt.arg.sval
        elif opt.defname == "new_version":
            fields["version"] = opt.arg.sval
    if stmt.extname in state.objects["extensions"] and stmt.if_not_exists:
        return
    schema = fields.get("schema")
    if schema is None:
        try:
            schema = state.creation_schema()
        except Exception:
            schema = "public"
        fields["schema"] = schema
    if state.keep(schema):
        # The comment is the control file's, which only the server reads.
        state.objects["extensions"][stmt.extname] = Extension(**fields, comment_known=False)


# --------------------------------------------------------------------------- comments


def _relation_from_names(state: State, parts: list[str]) -> tuple[str, str]:
    rv = ast.RangeVar(schemaname=parts[-2] if len(parts) > 1 else None, relname=parts[-1])
    return state.relation_key(rv)


def _target(state: State, objtype: Any, obj: Any) -> tuple[str, str] | None:
    """``(plural, key)`` of the object a COMMENT/DROP names, or None when pgspec has no such."""
    if objtype == OT.OBJECT_SCHEMA:
        return "schemas", qualified(obj.sval)
    if objtype == OT.OBJECT_EXTENSION:
        return "extensions", qualified(obj.sval)
    if objtype in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_SEQUENCE,
                   OT.OBJECT_INDEX, OT.OBJECT_FOREIGN_TABLE):
        schema, name = _relation_from_names(state, names_of(obj))
        plural = {
            OT.OBJECT_TABLE: "tables",
            OT.OBJECT_VIEW: "views",
            OT.OBJECT_MATVIEW: "materialized_views",
            OT.OBJECT_SEQUENCE: "sequences",
            OT.OBJECT_INDEX: "indexes",
            OT.OBJECT_FOREIGN_TABLE: "tables",
        }[objtype]
        key = qualified(schema, name)
        if plural == "tables" and key not in state.objects["tables"]:
            # COMMENT ON TABLE works on views and composite types too.
            for other in ("views", "materialized_views", "composite_types"):
                if key in state.objects[other]:
                    return other, key
        return plural, key
    if objtype in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
        parts = names_of(obj.names) if isinstance(obj, ast.TypeName) else names_of(obj)
        schema, name = state.object_key(parts, state.known_types.__contains__)
        key = qualified(schema, name)
        for plural in ("enums", "domains", "composite_types"):
            if key in state.objects[plural]:
                return plural, key
        return "enums", key
    if objtype in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE):
        key = function_key(state, obj)
        return ("functions", key) if key else None
    if objtype == OT.OBJECT_AGGREGATE:
        return "aggregates", aggregate_key(state, obj)
    if objtype == OT.OBJECT_COLLATION:
        key = collations.key_of(state, obj)
        return ("collations", key) if key else None
    if objtype in (OT.OBJECT_TABCONSTRAINT, OT.OBJECT_TRIGGER, OT.OBJECT_POLICY):
        *rel, name = names_of(obj)
        schema, table = _relation_from_names(state, rel)
        plural = {OT.OBJECT_TABCONSTRAINT: "constraints", OT.OBJECT_TRIGGER: "triggers",
                  OT.OBJECT_POLICY: "policies"}[objtype]
        return plural, qualified(schema, table, name)
    return None


def comment(state: State, stmt: ast.CommentStmt) -> None:
    text = stmt.comment if stmt.comment else None
    if stmt.objtype == OT.OBJECT_COLUMN:
        *rel, column = names_of(stmt.object)
        schema, table = _relation_from_names(state, rel)
        key = qualified(schema, table)
        for plural in ("tables", "views", "materialized_views"):
            obj = state.objects[plural].get(key)
            if obj is not None and plural == "tables":
                cols = [c.model_copy(update={"comment": text}) if c.name == column else c
                        for c in obj.columns]
                state.update("tables", key, columns=cols)
        return
    target = _target(state, stmt.objtype, stmt.object)
    if target is None:
        return
    plural, key = target
    if plural == "extensions":
        state.update(plural, key, comment=text, comment_known=True)
        return
    state.update(plural, key, comment=text)


# --------------------------------------------------------------------------- drops


def drop(state: State, stmt: ast.DropStmt) -> None:
    kind = stmt.removeType
    cascade = stmt.behavior == enums.DropBehavior.DROP_CASCADE
    for obj in stmt.objects or ():
        if kind in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE):
            key = function_key(state, obj)
            dropped = state.objects["functions"].get(key) if key else None
            if dropped is not None:
                ref = qualified(dropped.schema_name, dropped.name)
                cascade_drops.drop_routine_dependents(
                    state, Moved("function", dropped.schema_name, dropped.name, "", ""),
                    cascade, ambiguous=len(state.function_names.get(ref, ())) > 1)
            drop_function(state, obj, stmt.missing_ok)
            if dropped is not None and key not in state.objects["functions"]:
                privileges.forget_object(state, "functions", dropped)
            continue
        if kind == OT.OBJECT_COLLATION:
            collations.drop(state, obj)
            continue
        if kind == OT.OBJECT_SCHEMA:
            name = obj.sval
            schema = state.objects["schemas"].pop(qualified(name), None)
            if schema is not None:
                privileges.forget_object(state, "schemas", schema)
            state.known_schemas.discard(name)
            if cascade:
                # What other schemas hold that depends on the schema's objects goes too.
                cascade_drops.drop_schema_contents(state, name)
                for plural, objs in state.objects.items():
                    for key, item in list(objs.items()):
                        if getattr(item, "schema_name", None) == name:
                            del objs[key]
                            privileges.forget_object(state, plural, item)
            continue
        target = _target(state, kind, obj)
        if target is None:
            continue
        plural, key = target
        if key in state.objects[plural]:
            cascade_drops.drop_stored(state, plural, key, cascade)


# --------------------------------------------------------------------------- renames


def _rekey(state: State, plural: str, old: str, obj: Any) -> None:
    del state.objects[plural][old]
    state.objects[plural][obj.key] = obj


def _rename_column(state: State, schema: str, table: str, old: str, new: str) -> None:
    # Expressions and queries first, while the table still has the column under its old name.
    renames.rename_column(state, schema, table, old, new)
    key = qualified(schema, table)
    obj = state.table(key)
    if obj is None:
        return
    cols = [c.model_copy(update={"name": new}) if c.name == old else c for c in obj.columns]
    state.update("tables", key, columns=cols)
    privileges.carry_column(state, key, old, new)

    def swap(names: list[str]) -> list[str]:
        return [new if n == old else n for n in names]

    for ckey, con in list(state.objects["constraints"].items()):
        changes: dict[str, Any] = {}
        if con.table_key == key:
            changes["columns"] = swap(con.columns)
            changes["include"] = swap(con.include)
        if con.references == key:
            changes["references_columns"] = swap(con.references_columns)
        if changes:
            state.objects["constraints"][ckey] = con.model_copy(update=changes)
    for ikey, idx in list(state.objects["indexes"].items()):
        if idx.table_key == key:
            keys = [k.model_copy(update={"column": new}) if k.column == old else k
                    for k in idx.keys]
            state.objects["indexes"][ikey] = idx.model_copy(
                update={"keys": keys, "include": swap(idx.include)})
    for tkey, trig in list(state.objects["triggers"].items()):
        if trig.table_key == key and old in trig.update_columns:
            state.objects["triggers"][tkey] = trig.model_copy(
                update={"update_columns": swap(trig.update_columns)})
    old_owner = qualified(schema, table, old)
    for skey, seq in list(state.objects["sequences"].items()):
        if seq.owned_by == old_owner:
            state.objects["sequences"][skey] = seq.model_copy(
                update={"owned_by": qualified(schema, table, new)})
    if state.primary_keys.get(key):
        state.primary_keys[key] = swap(state.primary_keys[key])


def rename(state: State, stmt: ast.RenameStmt) -> None:
    kind = stmt.renameType
    new = stmt.newname
    if kind in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_SEQUENCE,
                OT.OBJECT_FOREIGN_TABLE):
        schema, name = state.relation_key(stmt.relation)
        moves.move_relation(state, schema, name, new)
    elif kind == OT.OBJECT_INDEX:
        schema, name = state.relation_key(stmt.relation)
        key = qualified(schema, name)
        idx = state.objects["indexes"].get(key)
        if idx is not None:
            _rekey(state, "indexes", key, idx.model_copy(update={"name": new}))
        else:
            # Renaming a constraint's index renames the constraint.
            for ckey, con in list(state.objects["constraints"].items()):
                if con.schema_name == schema and con.name == name:
                    _rekey(state, "constraints", ckey, con.model_copy(update={"name": new}))
    elif kind == OT.OBJECT_COLUMN:
        schema, table = state.relation_key(stmt.relation)
        key = qualified(schema, table)
        # The server renames an inherited column in every table below too (renameatt); with
        # ONLY it refuses while any of them has it.
        below = tables.inheritors(state, key, stmt.subname)
        if below and stmt.relation is not None and not stmt.relation.inh:
            raise state.error(f"inherited column {stmt.subname!r} must be renamed in child "
                              "tables too (ALTER TABLE ONLY ... RENAME COLUMN)")
        for target in [(schema, table), *((t.schema_name, t.name) for t in below)]:
            _rename_column(state, *target, stmt.subname, new)
            tables.rename_inherited(state, qualified(*target), qualified(*target), stmt.subname, new)
    elif kind in (OT.OBJECT_TABCONSTRAINT, OT.OBJECT_TRIGGER, OT.OBJECT_POLICY):
        schema, table = state.relation_key(stmt.relation)
        plural = {OT.OBJECT_TABCONSTRAINT: "constraints", OT.OBJECT_TRIGGER: "triggers",
                  OT.OBJECT_POLICY: "policies"}[kind]
        key = qualified(schema, table, stmt.subname)
        obj = state.objects[plural].get(key)
        if obj is not None:
            _rekey(state, plural, key, obj.model_copy(update={"name": new}))
    elif kind in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
        parts = names_of(stmt.object)
        schema, name = state.object_key(parts, state.known_types.__contains__)
        moves.move_type(state, schema, name, schema, new)
    elif kind in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE):
        key = function_key(state, stmt.object)
        fn = state.objects["functions"].get(key) if key else None
        if fn is not None:
            moves.move_function(state, key, fn.schema_name, new)
    elif kind == OT.OBJECT_AGGREGATE:
        before = set(state.objects["aggregates"])
        rename_aggregate(state, stmt)
        gone = before - state.objects["aggregates"].keys()
        came = state.objects["aggregates"].keys() - before
        if len(gone) == 1 and len(came) == 1:
            privileges.carry(state, "aggregates", state.objects["aggregates"][came.pop()], gone.pop())
    elif kind == OT.OBJECT_COLLATION:
        collations.rename(state, stmt)
    elif kind == OT.OBJECT_SCHEMA:
        state.warn("schema", stmt.subname or "?", "ALTER SCHEMA ... RENAME is not replayed")
    elif kind == OT.OBJECT_ATTRIBUTE:
        state.warn("composite_type", deparse(stmt.relation), "attribute renames not replayed")


# --------------------------------------------------------------------------- not modelled


def unmodelled(state: State, object_type: str, name: str, schema: str | None = None) -> None:
    """A Warning for an object kind pgspec does not model (only inside the selected schemas)."""
    if schema is not None and not state.keep(schema):
        return
    state.warn(object_type, qualified(schema, name) if schema else name)


def define(state: State, stmt: ast.DefineStmt) -> None:
    if stmt.kind == OT.OBJECT_AGGREGATE:
        create_aggregate(state, stmt)
        return
    if stmt.kind == OT.OBJECT_COLLATION:
        collations.create(state, stmt)
        return
    kinds = {
        OT.OBJECT_OPERATOR: "operator",
        OT.OBJECT_TYPE: "base type",
        OT.OBJECT_TSCONFIGURATION: "text search configuration",
        OT.OBJECT_TSDICTIONARY: "text search dictionary",
        OT.OBJECT_TSPARSER: "text search parser",
        OT.OBJECT_TSTEMPLATE: "text search template",
    }
    parts = names_of(stmt.defnames)
    if not parts:
        return
    if stmt.kind == OT.OBJECT_TYPE and not stmt.definition:
        return  # a shell type (CREATE TYPE name;) precedes its real definition
    schema = parts[-2] if len(parts) > 1 else state.creation_schema()
    unmodelled(state, kinds.get(stmt.kind, stmt.kind.name.lower()), parts[-1], schema)
