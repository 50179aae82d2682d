"""CREATE TABLE and ALTER TABLE replayed the way the server applies them.

Columns follow the server's expansions: a serial column is an integer column with a
``nextval`` default and a sequence it owns; an identity column is NOT NULL and its sequence is
not a Sequence of the catalog; inherited columns (INHERITS, PARTITION OF) come first, with their
type, NOT NULL and default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pglast import ast, enums

from pgspec import naming
from pgspec.catalog import Column, Sequence, Table
from pgspec.normalize.types import SERIAL_TYPES
from pgspec.quoting import qualified
from pgspec.sources.replay.constraints import CT, add_constraint, fold_redundant_indexes
from pgspec.sources.replay.state import State, any_name, deparse, names_of

AT = enums.AlterTableType


def nextval_default(schema: str, sequence: str) -> str:
    """``nextval('schema.seq'::regclass)``, as the server prints a serial column's default."""
    literal = ast.A_Const(val=ast.String(sval=qualified(schema, sequence)))
    cast = ast.TypeCast(arg=literal, typeName=ast.TypeName(names=(ast.String(sval="regclass"),)))
    call = ast.FuncCall(funcname=(ast.String(sval="nextval"),), args=(cast,))
    return deparse(call)


def partition_key_text(spec: ast.PartitionSpec) -> str:
    """``RANGE (created_at)``, spelled as pg_get_partkeydef prints it."""
    strategy = {"r": "RANGE", "l": "LIST", "h": "HASH"}.get(str(spec.strategy), "")
    if not strategy:
        strategy = str(spec.strategy.name).rsplit("_", 1)[-1].upper()
    parts: list[str] = []
    for elem in spec.partParams or ():
        if elem.name:
            text = qualified(elem.name)
        elif isinstance(elem.expr, ast.FuncCall):
            text = deparse(elem.expr)
        else:
            text = f"({deparse(elem.expr)})"
        if elem.collation:
            text += f" COLLATE {any_name(elem.collation)}"
        if elem.opclass:
            text += f" {any_name(elem.opclass)}"
        parts.append(text)
    return f"{strategy} ({', '.join(parts)})"


def partition_bound_text(bound: ast.PartitionBoundSpec) -> str:
    """The bound clause as pg_get_expr(relpartbound) prints it."""
    if bound.is_default:
        return "DEFAULT"
    if str(bound.strategy) == "h":
        return f"FOR VALUES WITH (modulus {bound.modulus}, remainder {bound.remainder})"
    return deparse(bound)


def _column(state: State, schema: str, table: str, node: ast.ColumnDef,
            constraints: list[tuple[ast.Constraint, str]]) -> Column:
    """One column, collecting its constraint clauses for after the table exists."""
    names = names_of(node.typeName.names) if node.typeName else []
    fields: dict[str, Any] = {"name": node.colname}
    serial = SERIAL_TYPES.get(names[0]) if len(names) == 1 and not node.typeName.arrayBounds else None
    if serial:
        fields["type"] = serial
        fields["not_null"] = True
        seq = naming.sequence_name(table, node.colname)
        fields["default"] = nextval_default(schema, seq)
        state.put(
            "sequences",
            Sequence(schema=schema, name=seq, type=serial,
                     owned_by=qualified(schema, table, node.colname)),
        )
    elif node.typeName is not None:
        fields["type"] = state.type_text(node.typeName)
    if node.collClause is not None:
        fields["collation"] = any_name(node.collClause.collname)
    if node.is_not_null:
        fields["not_null"] = True
    if node.raw_default is not None:
        fields["default"] = deparse(node.raw_default)
    for con in node.constraints or ():
        if con.contype == CT.CONSTR_NOTNULL:
            fields["not_null"] = True
        elif con.contype == CT.CONSTR_DEFAULT:
            fields["default"] = deparse(con.raw_expr)
        elif con.contype == CT.CONSTR_IDENTITY:
            fields["identity"] = "always" if con.generated_when == "a" else "by default"
            fields["not_null"] = True
        elif con.contype == CT.CONSTR_GENERATED:
            fields["generated"] = deparse(con.raw_expr)
        elif con.contype == CT.CONSTR_PRIMARY:
            fields["not_null"] = True
            constraints.append((con, node.colname))
        elif con.contype in _ATTRIBUTES:
            # ``UNIQUE DEFERRABLE`` on a column: the grammar gives the attribute as a clause of
            # its own, which applies to the constraint before it (transformConstraintAttrs).
            if constraints:
                _ATTRIBUTES[con.contype](constraints[-1][0])
        elif con.contype != CT.CONSTR_NULL:
            constraints.append((con, node.colname))
    return Column(**fields)


def _deferred(con: ast.Constraint) -> None:
    con.initdeferred = True
    con.deferrable = True  # INITIALLY DEFERRED alone implies DEFERRABLE


#: Column-level constraint attributes and how each changes the constraint before it.
_ATTRIBUTES: dict[Any, Callable[[ast.Constraint], None]] = {
    CT.CONSTR_ATTR_DEFERRABLE: lambda c: setattr(c, "deferrable", True),
    CT.CONSTR_ATTR_NOT_DEFERRABLE: lambda c: setattr(c, "deferrable", False),
    CT.CONSTR_ATTR_DEFERRED: _deferred,
    CT.CONSTR_ATTR_IMMEDIATE: lambda c: setattr(c, "initdeferred", False),
}


def _inherited(parent: Table, partition: bool) -> list[Column]:
    """Columns a child takes from its parent: type, NOT NULL, default, generation, collation.

    Comments are not inherited; identity is, for partitions only (PostgreSQL 17+ keeps it on
    partitions too, but an older server does not, so pgspec leaves it to the parent).
    """
    return [c.model_copy(update={"comment": None, "identity": None}) for c in parent.columns]


def create_table(state: State, stmt: ast.CreateStmt) -> None:
    rel = stmt.relation
    if rel.relpersistence == "t":
        return  # temporary tables do not outlive the session that made them
    schema, name = state.relation_key(rel, create=True)
    key = qualified(schema, name)
    state.known_types.add(key)
    if stmt.if_not_exists and (key in state.objects["tables"]):
        return
    if stmt.ofTypename is not None:
        state.warn("table", key, "typed tables (CREATE TABLE OF) are not modelled by pgspec")
    columns: list[Column] = []
    parents: list[str] = []
    partition = stmt.partbound is not None
    for parent_rv in stmt.inhRelations or ():
        p_schema, p_name = state.relation_key(parent_rv)
        parent_key = qualified(p_schema, p_name)
        parents.append(parent_key)
        parent = state.table(parent_key)
        if parent is None:
            continue
        for col in _inherited(parent, partition):
            if all(c.name != col.name for c in columns):
                columns.append(col)
    pending: list[tuple[ast.Constraint, str | None]] = []
    for elt in stmt.tableElts or ():
        if isinstance(elt, ast.ColumnDef):
            local: list[tuple[ast.Constraint, str]] = []
            if elt.typeName is None:
                # PARTITION OF ... (col WITH OPTIONS ...): options on an inherited column.
                col = _merge_options(state, next((c for c in columns if c.name == elt.colname),
                                                 None), elt, local)
                columns = [col if c.name == elt.colname else c for c in columns]
            else:
                col = _column(state, schema, name, elt, local)
                existing = next((c for c in columns if c.name == col.name), None)
                if existing is not None:
                    col = col.model_copy(update={
                        "not_null": col.not_null or existing.not_null,
                        "default": col.default if col.default is not None else existing.default,
                    })
                    columns = [col if c.name == col.name else c for c in columns]
                else:
                    columns.append(col)
            pending.extend(local)
        elif isinstance(elt, ast.Constraint):
            pending.append((elt, None))
        elif isinstance(elt, ast.TableLikeClause):
            state.warn("table", key, "CREATE TABLE ... (LIKE ...) is not replayed by pgspec")
    table = Table(
        schema=schema,
        name=name,
        columns=columns,
        unlogged=rel.relpersistence == "u",
        partition_by=partition_key_text(stmt.partspec) if stmt.partspec else None,
        partition_of=parents[0] if partition and parents else None,
        partition_bound=partition_bound_text(stmt.partbound) if partition else None,
        inherits=[] if partition else parents,
    )
    state.put("tables", table)
    for con, column in fold_redundant_indexes(pending):
        add_constraint(state, schema, name, con, column)


def _merge_options(state: State, col: Column | None, elt: ast.ColumnDef,
                   local: list[tuple[ast.Constraint, str]]) -> Column:
    if col is None:
        raise state.error(f"column {elt.colname!r} is not inherited from the parent")
    update: dict[str, Any] = {}
    for con in elt.constraints or ():
        if con.contype == CT.CONSTR_NOTNULL:
            update["not_null"] = True
        elif con.contype == CT.CONSTR_DEFAULT:
            update["default"] = deparse(con.raw_expr)
        elif con.contype != CT.CONSTR_NULL:
            local.append((con, elt.colname))
    return col.model_copy(update=update)


def _set_column(state: State, key: str, column: str, **changes: Any) -> None:
    table = state.table(key)
    if table is None:
        return
    cols = [c.model_copy(update=changes) if c.name == column else c for c in table.columns]
    state.update("tables", key, columns=cols)


def _drop_column(state: State, schema: str, name: str, column: str) -> None:
    """DROP COLUMN, with what the server drops along: constraints and indexes on it."""
    key = qualified(schema, name)
    table = state.table(key)
    if table is not None:
        state.update("tables", key, columns=[c for c in table.columns if c.name != column])
    for ckey, con in list(state.objects["constraints"].items()):
        if con.table_key == key and (column in con.columns or column in con.include):
            del state.objects["constraints"][ckey]
    for ikey, idx in list(state.objects["indexes"].items()):
        if idx.table_key == key and (
            any(k.column == column for k in idx.keys) or column in idx.include
        ):
            del state.objects["indexes"][ikey]
    for skey, seq in list(state.objects["sequences"].items()):
        if seq.owned_by == qualified(schema, name, column):
            del state.objects["sequences"][skey]


_TRIGGER_STATES = {
    AT.AT_EnableTrig: "origin",
    AT.AT_EnableAlwaysTrig: "always",
    AT.AT_EnableReplicaTrig: "replica",
    AT.AT_DisableTrig: "disabled",
    AT.AT_EnableTrigAll: "origin",
    AT.AT_DisableTrigAll: "disabled",
    AT.AT_EnableTrigUser: "origin",
    AT.AT_DisableTrigUser: "disabled",
}

#: Subcommands that change nothing pgspec models (storage, statistics, ownership, options...).
_IGNORED = {
    AT.AT_ChangeOwner, AT.AT_ReplicaIdentity, AT.AT_SetStatistics, AT.AT_SetOptions,
    AT.AT_ResetOptions, AT.AT_SetStorage, AT.AT_SetCompression, AT.AT_ClusterOn,
    AT.AT_DropCluster, AT.AT_SetTableSpace, AT.AT_SetAccessMethod, AT.AT_ValidateConstraint,
    AT.AT_SetIdentity, AT.AT_GenericOptions, AT.AT_AlterColumnGenericOptions,
    AT.AT_DetachPartitionFinalize, AT.AT_SetRelOptions, AT.AT_ResetRelOptions,
}


def alter_table(state: State, stmt: ast.AlterTableStmt) -> None:
    from pgspec.sources.replay import indexes, views

    objtype = stmt.objtype
    if objtype == enums.ObjectType.OBJECT_INDEX:
        indexes.alter_index(state, stmt)
        return
    schema, name = state.relation_key(stmt.relation)
    key = qualified(schema, name)
    if objtype in (enums.ObjectType.OBJECT_VIEW, enums.ObjectType.OBJECT_MATVIEW) or (
        key in state.objects["views"] or key in state.objects["materialized_views"]
    ):
        views.alter_view(state, stmt, schema, name)
        return
    if key not in state.objects["tables"]:
        # A sequence, a view altered with ALTER TABLE (pg_dump 15 does so for OWNER TO), a
        # foreign table, or an object outside the selected schemas: nothing pgspec keeps. A
        # table nobody created is reported: a server would have refused the statement.
        if (
            state.keep(schema)
            and objtype == enums.ObjectType.OBJECT_TABLE
            and key not in state.known_types
            and key not in state.objects["sequences"]
        ):
            state.warn("table", key, "ALTER TABLE on a table no statement created: not replayed")
        return
    for cmd in stmt.cmds or ():
        _alter_cmd(state, schema, name, key, cmd)


def _alter_cmd(state: State, schema: str, name: str, key: str, cmd: ast.AlterTableCmd) -> None:
    sub = cmd.subtype
    table = state.table(key)
    if table is None:
        return
    if sub in _IGNORED:
        if sub == AT.AT_SetRelOptions or sub == AT.AT_ResetRelOptions:
            return
        return
    if sub == AT.AT_AddColumn:
        col_def: ast.ColumnDef = cmd.def_
        if table.column(col_def.colname) is not None:
            if cmd.missing_ok:
                return
            raise state.error(f"column {col_def.colname!r} of {key} already exists")
        local: list[tuple[ast.Constraint, str]] = []
        col = _column(state, schema, name, col_def, local)
        state.update("tables", key, columns=[*table.columns, col])
        for con, column in local:
            add_constraint(state, schema, name, con, column)
    elif sub == AT.AT_DropColumn:
        if table.column(cmd.name) is None:
            if cmd.missing_ok:
                return
            raise state.error(f"column {cmd.name!r} of {key} does not exist")
        _drop_column(state, schema, name, cmd.name)
    elif sub in (AT.AT_ColumnDefault, AT.AT_CookedColumnDefault):
        _set_column(state, key, cmd.name,
                    default=deparse(cmd.def_) if cmd.def_ is not None else None)
    elif sub == AT.AT_SetNotNull:
        _set_column(state, key, cmd.name, not_null=True)
    elif sub == AT.AT_DropNotNull:
        _set_column(state, key, cmd.name, not_null=False)
    elif sub == AT.AT_AlterColumnType:
        col_def = cmd.def_
        changes: dict[str, Any] = {"type": state.type_text(col_def.typeName)}
        changes["collation"] = any_name(col_def.collClause.collname) if col_def.collClause else None
        _set_column(state, key, cmd.name, **changes)
    elif sub == AT.AT_AddIdentity:
        when = "always" if cmd.def_.generated_when == "a" else "by default"
        _set_column(state, key, cmd.name, identity=when, not_null=True)
    elif sub == AT.AT_DropIdentity:
        _set_column(state, key, cmd.name, identity=None)
    elif sub == AT.AT_SetExpression:
        _set_column(state, key, cmd.name, generated=deparse(cmd.def_))
    elif sub == AT.AT_DropExpression:
        _set_column(state, key, cmd.name, generated=None)
    elif sub == AT.AT_AddConstraint:
        add_constraint(state, schema, name, cmd.def_)
    elif sub == AT.AT_DropConstraint:
        ckey = qualified(schema, name, cmd.name)
        if ckey in state.objects["constraints"]:
            con = state.objects["constraints"].pop(ckey)
            if con.kind == "primary_key":
                state.primary_keys.pop(key, None)
        elif not cmd.missing_ok:
            raise state.error(f"constraint {cmd.name!r} of {key} does not exist")
    elif sub == AT.AT_EnableRowSecurity:
        state.update("tables", key, rls_enabled=True)
    elif sub == AT.AT_DisableRowSecurity:
        state.update("tables", key, rls_enabled=False)
    elif sub == AT.AT_ForceRowSecurity:
        state.update("tables", key, rls_forced=True)
    elif sub == AT.AT_NoForceRowSecurity:
        state.update("tables", key, rls_forced=False)
    elif sub in _TRIGGER_STATES:
        enabled = _TRIGGER_STATES[sub]
        for tkey, trig in list(state.objects["triggers"].items()):
            if trig.table_key != key:
                continue
            if cmd.name is None or trig.name == cmd.name:
                if cmd.name is None and trig.constraint and sub in (
                    AT.AT_EnableTrigUser, AT.AT_DisableTrigUser):
                    continue
                state.objects["triggers"][tkey] = trig.model_copy(update={"enabled": enabled})
    elif sub == AT.AT_AttachPartition:
        part = cmd.def_
        c_schema, c_name = state.relation_key(part.name)
        state.update("tables", qualified(c_schema, c_name), partition_of=key,
                     partition_bound=partition_bound_text(part.bound), inherits=[])
    elif sub == AT.AT_DetachPartition:
        part = cmd.def_
        c_schema, c_name = state.relation_key(part.name)
        state.update("tables", qualified(c_schema, c_name), partition_of=None,
                     partition_bound=None)
    elif sub == AT.AT_SetLogged:
        state.update("tables", key, unlogged=False)
    elif sub == AT.AT_SetUnLogged:
        state.update("tables", key, unlogged=True)
    elif sub == AT.AT_AddInherit:
        p_schema, p_name = state.relation_key(cmd.def_)
        state.update("tables", key, inherits=[*table.inherits, qualified(p_schema, p_name)])
    elif sub == AT.AT_DropInherit:
        p_schema, p_name = state.relation_key(cmd.def_)
        parent = qualified(p_schema, p_name)
        state.update("tables", key, inherits=[p for p in table.inherits if p != parent])
    elif sub in (AT.AT_EnableRule, AT.AT_EnableAlwaysRule, AT.AT_EnableReplicaRule,
                 AT.AT_DisableRule):
        return
    else:
        state.warn("table", key, f"ALTER TABLE {sub.name[3:]} is not replayed by pgspec")
