"""Syntax checks for the SQL fragments a spec holds, so a typo is reported at its line.

The spec stores fragments as written (the differ compares them through ``normalize``); this
module only proves each one parses as what it claims to be, by embedding it in a synthetic
statement and checking the parse tree has exactly the expected shape (so ``1) FROM x WHERE (1``
cannot pass as an expression). Expressions and queries are checked by
``pgspec.normalize.check_syntax``, the normaliser's own check, so the spec and the differ agree
on what is valid SQL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import pglast
from pglast import ast

from pgspec.catalog import Argument
from pgspec.errors import SqlError
from pgspec.quoting import quote


def _parse(sql: str, what: str, text: str) -> list[Any]:
    try:
        return list(pglast.parse_sql(sql))
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid {what} {text.strip()!r}: {exc.args[0]}") from None


def _check_parses(sql: str, what: str, text: str) -> None:
    """``_parse``'s check and message, without building the parse tree nobody reads."""
    try:
        pglast.parser.parse_sql_json(sql)
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid {what} {text.strip()!r}: {exc.args[0]}") from None


def only_target(stmt: ast.Node | None) -> ast.Node | None:
    """The value of ``SELECT value`` when the statement is exactly that: a SELECT of one
    unnamed target and nothing else (no FROM, WHERE, ORDER BY, UNION...); else None.

    How a fragment embedded in a synthetic SELECT is proved to be one expression (or one type
    name, ``SELECT NULL::type``): text such as ``1) FROM x WHERE (1`` or ``int UNION SELECT 1``
    parses, but into another shape.
    """
    if not isinstance(stmt, ast.SelectStmt) or not stmt.targetList or len(stmt.targetList) != 1:
        return None
    extra = (
        stmt.fromClause,
        stmt.whereClause,
        stmt.groupClause,
        stmt.havingClause,
        stmt.sortClause,
        stmt.limitCount,
        stmt.limitOffset,
        stmt.windowClause,
        stmt.distinctClause,
        stmt.withClause,
        stmt.lockingClause,
        stmt.valuesLists,
        stmt.op != pglast.enums.SetOperation.SETOP_NONE,
        stmt.targetList[0].name,
    )
    return None if any(extra) else stmt.targetList[0].val


def parse_expression(text: str, what: str = "expression") -> ast.Node:
    """The parse tree of one scalar expression; anything else is a SqlError."""
    stmts = _parse(f"SELECT ({text}\n)", what, text)
    value = only_target(stmts[0].stmt if len(stmts) == 1 else None)
    if value is None:
        raise SqlError(f"invalid {what} {text.strip()!r}: not a single expression")
    return value


def check_expression(text: str, what: str = "expression") -> None:
    """``text`` is one scalar expression; the message names the setting (``default``, ``where``)."""
    from pgspec.normalize import check_syntax  # loaded once a spec holds SQL, not on import

    try:
        check_syntax("expression", text)
    except SqlError as exc:
        if what == "expression":
            raise
        raise SqlError(f"{what}: {exc.problem.message}") from None


def check_query(text: str) -> None:
    """A view query: exactly one SELECT (or VALUES, or WITH ... SELECT)."""
    from pgspec.normalize import check_syntax

    check_syntax("query", text)


def check_definition(text: str) -> None:
    """An EXCLUDE constraint clause, written as pg_get_constraintdef prints it."""
    stmts = _parse(f"ALTER TABLE t ADD {text}", "exclusion constraint", text)
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    cmds = stmt.cmds if isinstance(stmt, ast.AlterTableStmt) else None
    if (
        not cmds
        or len(cmds) != 1
        or not isinstance(cmds[0].def_, ast.Constraint)
        or cmds[0].def_.contype != pglast.enums.ConstrType.CONSTR_EXCLUSION
        or cmds[0].def_.conname
    ):
        raise SqlError(f"invalid exclusion constraint {text.strip()!r}: write EXCLUDE USING ...")


def check_partition_by(text: str) -> None:
    stmts = _parse(f"CREATE TABLE t (a int) PARTITION BY {text}", "partition_by", text)
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(stmt, ast.CreateStmt) or stmt.options or stmt.tablespacename:
        raise SqlError(f"invalid partition_by {text.strip()!r}")


def _dollar_quote(body: str) -> str:
    tag = "$pgspec$"
    n = 0
    while tag in body:
        n += 1
        tag = f"$pgspec{n}$"
    return f"{tag}{body}{tag}"


def check_body(
    body: str,
    language: str,
    *,
    name: str,
    arguments: Sequence[Argument],
    returns: str | None,
    returns_set: bool,
) -> None:
    """A routine body in its language: SQL is parsed, PL/pgSQL compiled by pglast's parser.

    PL/pgSQL refers to arguments and OUT columns by name, so the check embeds the body in a
    function with the real signature. Other languages (plpython, C) are not checked.
    """
    lang = language.lower()
    if lang not in ("sql", "plpgsql"):
        return
    if lang == "sql":
        if not body.strip():
            return
        try:
            _check_parses(body, "sql body", _short(body))
        except SqlError:
            from pgspec.deps import standard_body_refs

            # A SQL-standard body (BEGIN ATOMIC ... END, RETURN expr) is a clause of CREATE
            # FUNCTION, not a string: it parses only there. Asked only of a body that does not
            # parse as statements (most bodies are strings), so a spec without standard bodies
            # never loads the dependency reader.
            if standard_body_refs(body) is None:
                raise
        return
    params = []
    for arg in arguments:
        # A VARIADIC argument is an array inside the body; declared plain here, because
        # libpg_query's compiler cannot look the array type up and refuses VARIADIC ("VARIADIC
        # parameter must be an array") for a valid function.
        mode = {"in": "", "out": "OUT ", "inout": "INOUT ", "variadic": ""}.get(arg.mode)
        if mode is None:
            continue
        label = f"{quote(arg.name)} " if arg.name else ""
        params.append(f"{mode}{label}{arg.type}")
    table_cols = [a for a in arguments if a.mode == "table"]
    if table_cols:
        ret = "TABLE (" + ", ".join(f"{quote(a.name or 'c')} {a.type}" for a in table_cols) + ")"
    elif returns is None:
        ret = None
    else:
        ret = f"SETOF {returns}" if returns_set else returns
    head = "PROCEDURE" if ret is None else "FUNCTION"
    returns_sql = f" RETURNS {ret}" if ret else ""
    sql = (
        f"CREATE {head} {quote(name)}({', '.join(params)}){returns_sql} "
        f"LANGUAGE plpgsql AS {_dollar_quote(body)}"
    )
    try:
        pglast.parser.parse_plpgsql_json(sql)  # only whether it compiles: no Python objects
    except pglast.parser.ParseError as exc:
        # libpg_query's PL/pgSQL compiler cannot resolve some valid names (a variable typed
        # with a type of another schema: "Not implemented (LookupExplicitNamespace only
        # supports pg_catalog and public)"): that is no proof of a mistake, so no error.
        if str(exc.args[0]).startswith("Not implemented"):
            return
        raise SqlError(f"invalid plpgsql body: {exc.args[0]}") from None


def expression_columns(text: str) -> list[str]:
    """Column names an expression references, in order (for PostgreSQL's CHECK naming).

    The order is the breadth-first order of pglast's ``Visitor``, walked here directly: a
    ``Visitor`` instance lists its own methods (``inspect.getmembers``) on every call, which
    cost more than the walk itself once per CHECK column of a spec.
    """
    names: list[str] = []
    todo: deque[Any] = deque([parse_expression(text)])
    while todo:
        item = todo.popleft()
        for node in item if isinstance(item, tuple) else (item,):
            if isinstance(node, tuple):
                todo.extend(v for v in node if isinstance(v, tuple | ast.Node))
                continue
            if not isinstance(node, ast.Node):
                continue
            if isinstance(node, ast.ColumnRef) and node.fields and isinstance(node.fields[-1], ast.String):
                names.append(node.fields[-1].sval or "")
            for member in node:
                value = getattr(node, member)
                if isinstance(value, tuple | ast.Node):
                    todo.append(value)
    return names


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."
