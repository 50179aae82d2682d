"""User types and sequences replayed: enums (with ADD VALUE), composite types, domains (with
ALTER DOMAIN), sequences (with ALTER SEQUENCE ... OWNED BY); range types are reported."""

from __future__ import annotations

from typing import Any

from pglast import ast

from pgspec import naming
from pgspec.catalog import Attribute, CompositeType, Domain, Enum, Sequence
from pgspec.quoting import qualified
from pgspec.sources.replay import collations
from pgspec.sources.replay.constraints import CT, SchemaConstraints
from pgspec.sources.replay.resolve import expression_text
from pgspec.sources.replay.state import State, names_of

#: Limits of the sequence types, for telling a default MINVALUE/MAXVALUE from a chosen one.
_TYPE_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}


def _type_key(state: State, node: ast.TypeName | list[str]) -> tuple[str, str]:
    parts = names_of(node.names) if isinstance(node, ast.TypeName) else node
    return state.object_key(parts, state.known_types.__contains__)


def create_enum(state: State, stmt: ast.CreateEnumStmt) -> None:
    schema, name = _type_key(state, names_of(stmt.typeName))
    state.known_types.add(qualified(schema, name))
    values = [v.sval for v in stmt.vals or ()]
    state.put("enums", Enum(schema=schema, name=name, values=values))


def alter_enum(state: State, stmt: ast.AlterEnumStmt) -> None:
    schema, name = _type_key(state, names_of(stmt.typeName))
    key = qualified(schema, name)
    enum = state.objects["enums"].get(key)
    if enum is None:
        return
    values = list(enum.values)
    if stmt.oldVal:
        values = [stmt.newVal if v == stmt.oldVal else v for v in values]
    elif stmt.newVal in values:
        if stmt.skipIfNewValExists:
            return
        raise state.error(f"enum label {stmt.newVal!r} already exists in {key}")
    elif stmt.newValNeighbor:
        if stmt.newValNeighbor not in values:
            raise state.error(f"{stmt.newValNeighbor!r} is not an existing label of {key}")
        at = values.index(stmt.newValNeighbor) + (1 if stmt.newValIsAfter else 0)
        values.insert(at, stmt.newVal)
    else:
        values.append(stmt.newVal)
    state.update("enums", key, values=values)


def create_composite(state: State, stmt: ast.CompositeTypeStmt) -> None:
    schema, name = state.relation_key(stmt.typevar, create=True)
    state.known_types.add(qualified(schema, name))
    attributes = [
        Attribute(
            name=col.colname,
            type=state.type_text(col.typeName),
            collation=collations.resolve(state, col.collClause.collname) if col.collClause
            else None,
        )
        for col in stmt.coldeflist or ()
    ]
    state.put("composite_types", CompositeType(schema=schema, name=name, attributes=attributes))


def create_domain(state: State, stmt: ast.CreateDomainStmt) -> None:
    schema, name = _type_key(state, names_of(stmt.domainname))
    state.known_types.add(qualified(schema, name))
    fields: dict[str, Any] = {"type": state.type_text(stmt.typeName), "checks": {}}
    if stmt.collClause is not None:
        fields["collation"] = collations.resolve(state, stmt.collClause.collname)
    domain = Domain(schema=schema, name=name, **fields)
    state.put("domains", domain)
    for con in stmt.constraints or ():
        _domain_constraint(state, qualified(schema, name), name, con)


def _domain_constraint(state: State, key: str, name: str, con: ast.Constraint) -> None:
    domain = state.objects["domains"].get(key)
    if domain is None:
        return
    if con.contype == CT.CONSTR_NOTNULL:
        state.update("domains", key, not_null=True)
    elif con.contype == CT.CONSTR_NULL:
        state.update("domains", key, not_null=False)
    elif con.contype == CT.CONSTR_DEFAULT:
        state.update("domains", key, default=expression_text(state, con.raw_expr))
    elif con.contype == CT.CONSTR_CHECK:
        checks = dict(domain.checks)
        # Numbered past every constraint of the schema, tables' included (ChooseConstraintName
        # in domainAddCheckConstraint): ``d_x_check1`` when a table ``d`` has ``d_x_check``.
        cname = con.conname or naming.check_name(
            name, [], SchemaConstraints(state, domain.schema_name))
        checks[cname] = expression_text(state, con.raw_expr)
        state.update("domains", key, checks=dict(sorted(checks.items())))


def alter_domain(state: State, stmt: ast.AlterDomainStmt) -> None:
    schema, name = _type_key(state, names_of(stmt.typeName))
    key = qualified(schema, name)
    domain = state.objects["domains"].get(key)
    if domain is None:
        return
    sub = stmt.subtype
    if sub == "C":
        _domain_constraint(state, key, name, stmt.def_)
    elif sub == "X":
        checks = dict(domain.checks)
        if checks.pop(stmt.name, None) is None and not stmt.missing_ok:
            raise state.error(f"constraint {stmt.name!r} of domain {key} does not exist")
        state.update("domains", key, checks=checks)
    elif sub == "T":
        state.update("domains", key,
                     default=expression_text(state, stmt.def_) if stmt.def_ else None)
    elif sub == "N":
        state.update("domains", key, not_null=False)
    elif sub == "O":
        state.update("domains", key, not_null=True)


def create_range(state: State, stmt: ast.CreateRangeStmt) -> None:
    schema, name = _type_key(state, names_of(stmt.typeName))
    state.known_types.add(qualified(schema, name))
    if state.keep(schema):
        state.warn("range type", qualified(schema, name))


# --------------------------------------------------------------------------- sequences


def _int(arg: Any) -> int | None:
    if isinstance(arg, ast.Integer):
        return arg.ival
    if isinstance(arg, ast.Float):
        return int(arg.fval)
    if isinstance(arg, ast.String):
        return int(arg.sval)
    return None


def _sequence_fields(state: State, options: Any, base: dict[str, Any]) -> dict[str, Any]:
    fields = dict(base)
    for opt in options or ():
        name = opt.defname
        if name == "as":
            fields["type"] = state.type_text(opt.arg)
        elif name == "start":
            fields["start"] = _int(opt.arg)
        elif name == "restart":
            continue
        elif name == "increment":
            fields["increment"] = _int(opt.arg)
        elif name == "minvalue":
            fields["min_value"] = _int(opt.arg) if opt.arg is not None else None
        elif name == "maxvalue":
            fields["max_value"] = _int(opt.arg) if opt.arg is not None else None
        elif name == "cache":
            fields["cache"] = _int(opt.arg)
        elif name == "cycle":
            fields["cycle"] = bool(opt.arg.boolval) if opt.arg is not None else True
        elif name == "owned_by":
            parts = names_of(opt.arg)
            if parts == ["none"]:
                fields["owned_by"] = None
            else:
                *rel, column = parts
                t_schema, t_name = state.object_key(rel, state.objects["tables"].__contains__)
                fields["owned_by"] = qualified(t_schema, t_name, column)
    return fields


def _normalised(fields: dict[str, Any]) -> dict[str, Any]:
    """Default limits and start as ``None``/implied, as for a sequence created without them."""
    type_max = _TYPE_MAX.get(fields.get("type", "bigint"), 2**63 - 1)
    ascending = fields.get("increment", 1) > 0
    default_min, default_max = (1, type_max) if ascending else (-type_max - 1, -1)
    if fields.get("min_value") == default_min:
        fields["min_value"] = None
    if fields.get("max_value") == default_max:
        fields["max_value"] = None
    low = fields.get("min_value") if fields.get("min_value") is not None else default_min
    high = fields.get("max_value") if fields.get("max_value") is not None else default_max
    if fields.get("start") is None:
        fields["start"] = low if ascending else high
    return fields


def create_sequence(state: State, stmt: ast.CreateSeqStmt) -> None:
    if stmt.sequence.relpersistence == "t":
        return
    schema, name = state.relation_key(stmt.sequence, create=True)
    key = qualified(schema, name)
    if stmt.if_not_exists and key in state.objects["sequences"]:
        return
    fields = _normalised(_sequence_fields(state, stmt.options, {"start": None}))
    state.put("sequences", Sequence(schema=schema, name=name, **fields))


def alter_sequence(state: State, stmt: ast.AlterSeqStmt) -> None:
    schema, name = state.relation_key(stmt.sequence)
    key = qualified(schema, name)
    seq = state.objects["sequences"].get(key)
    if seq is None:
        return
    base = seq.model_dump(include={"type", "start", "increment", "min_value", "max_value",
                                   "cache", "cycle", "owned_by"})
    fields = _normalised(_sequence_fields(state, stmt.options, base))
    state.update("sequences", key, **fields)

