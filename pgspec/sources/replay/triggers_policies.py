"""Triggers and row-level security policies replayed (CREATE [CONSTRAINT] TRIGGER, CREATE POLICY,
ALTER POLICY). Both belong to their table, whatever schema the trigger function lives in."""

from __future__ import annotations

from typing import Any

from pglast import ast, enums

from pgspec.catalog import Policy, Trigger
from pgspec.quoting import qualified
from pgspec.sources.replay.resolve import expression_text
from pgspec.sources.replay.state import State, deparse, names_of

# Trigger type bits (PostgreSQL's trigger.h).
_BEFORE, _INSERT, _DELETE, _UPDATE, _TRUNCATE, _INSTEAD = 2, 4, 8, 16, 32, 64


def _trigger_function(state: State, parts: list[str]) -> str:
    if len(parts) >= 2:
        return qualified(parts[-2], parts[-1])
    schema = state.lookup(parts[0], state.function_names.__contains__)
    return qualified(schema, parts[0])


def _argument(node: Any) -> str:
    if isinstance(node, ast.String):
        return node.sval
    if isinstance(node, ast.Integer):
        return str(node.ival)
    if isinstance(node, ast.Float):
        return str(node.fval)
    return deparse(node)


def create_trigger(state: State, stmt: ast.CreateTrigStmt) -> None:
    schema, table = state.relation_key(stmt.relation)
    timing = (
        "before" if stmt.timing & _BEFORE else "instead of" if stmt.timing & _INSTEAD else "after"
    )
    events = sorted(
        name
        for bit, name in ((_INSERT, "insert"), (_DELETE, "delete"), (_UPDATE, "update"),
                          (_TRUNCATE, "truncate"))
        if stmt.events & bit
    )
    old_table = new_table = None
    for transition in stmt.transitionRels or ():
        if transition.isNew:
            new_table = transition.name
        else:
            old_table = transition.name
    state.put(
        "triggers",
        Trigger(
            schema=schema,
            table=table,
            name=stmt.trigname,
            timing=timing,
            events=events,
            update_columns=names_of(stmt.columns),
            level="row" if stmt.row else "statement",
            when=expression_text(state, stmt.whenClause) if stmt.whenClause is not None
            else None,
            function=_trigger_function(state, names_of(stmt.funcname)),
            arguments=[_argument(a) for a in stmt.args or ()],
            old_table=old_table,
            new_table=new_table,
            constraint=bool(stmt.isconstraint),
            deferrable=bool(stmt.deferrable),
            initially_deferred=bool(stmt.initdeferred),
        ),
    )


def _roles(nodes: Any) -> list[str]:
    """Sorted role names; PUBLIC among them makes the policy apply to everyone (the server
    then ignores the others: "ignoring specified roles other than PUBLIC")."""
    roles: list[str] = []
    for spec in nodes or ():
        kind = spec.roletype
        if kind == enums.RoleSpecType.ROLESPEC_PUBLIC:
            return ["public"]
        if kind == enums.RoleSpecType.ROLESPEC_CSTRING:
            roles.append(spec.rolename)
        else:
            roles.append(kind.name.removeprefix("ROLESPEC_").lower())
    return sorted(roles) or ["public"]


def create_policy(state: State, stmt: ast.CreatePolicyStmt) -> None:
    schema, table = state.relation_key(stmt.table)
    state.put(
        "policies",
        Policy(
            schema=schema,
            table=table,
            name=stmt.policy_name,
            command=stmt.cmd_name or "all",
            permissive=bool(stmt.permissive),
            roles=_roles(stmt.roles),
            using=expression_text(state, stmt.qual) if stmt.qual is not None else None,
            with_check=(expression_text(state, stmt.with_check)
                        if stmt.with_check is not None else None),
        ),
    )


def alter_policy(state: State, stmt: ast.AlterPolicyStmt) -> None:
    schema, table = state.relation_key(stmt.table)
    key = qualified(schema, table, stmt.policy_name)
    changes: dict[str, Any] = {}
    if stmt.roles:
        changes["roles"] = _roles(stmt.roles)
    if stmt.qual is not None:
        changes["using"] = expression_text(state, stmt.qual)
    if stmt.with_check is not None:
        changes["with_check"] = expression_text(state, stmt.with_check)
    state.update("policies", key, **changes)
