"""What a SQL fragment refers to: the functions it calls, relations it reads, types it names.

The renderer orders DDL by these references (a view after the relations it reads, a default
that calls ``generate_api_token()`` after that function exists). They come from the real
PostgreSQL parser (pglast), so a name inside a string literal or a comment is never mistaken for
a reference, and a fragment that is not exactly one expression (or one query) is refused: a
spec's fragment is pasted into DDL, so it must not be able to close a parenthesis and smuggle in a
statement of its own.

The parse tree is read as pglast's JSON (``parse_sql_json``): building Python node objects costs
five times more than the parse itself, and a catalog has thousands of fragments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pglast import parser

from pgspec.errors import SqlError

#: A possibly schema-qualified object name: ``(schema or None, name)``.
QName = tuple[str | None, str]

#: Functions whose first argument is a relation name written as a string literal.
_REGCLASS_FUNCTIONS = frozenset({"nextval", "currval", "setval"})

#: SelectStmt fields that must be absent for ``SELECT <expr>`` to be just one expression.
_SELECT_EXTRAS = (
    "distinctClause", "intoClause", "fromClause", "whereClause", "groupClause", "havingClause",
    "windowClause", "valuesLists", "sortClause", "limitOffset", "limitCount", "lockingClause",
    "withClause", "larg", "rarg",
)


@dataclass(frozen=True)
class Refs:
    """Names a fragment refers to, as written (unqualified names have schema ``None``)."""

    functions: frozenset[QName] = field(default_factory=frozenset)
    relations: frozenset[QName] = field(default_factory=frozenset)
    types: frozenset[QName] = field(default_factory=frozenset)
    #: Last part of every column reference (``a.b`` gives ``b``): which columns a CHECK reads.
    columns: frozenset[str] = field(default_factory=frozenset)

    def __or__(self, other: Refs) -> Refs:
        return Refs(
            self.functions | other.functions,
            self.relations | other.relations,
            self.types | other.types,
            self.columns | other.columns,
        )


@dataclass(frozen=True)
class Shape:
    """What the top of an expression's tree is (enough to know where it needs parentheses)."""

    node: str
    #: For a FuncCall: ``COERCE_EXPLICIT_CALL`` for ``f(x)``, something else for SQL syntax
    #: that the parser turns into a call (``x AT TIME ZONE 'UTC'``).
    funcformat: str | None = None


def _strings(nodes: list[dict[str, Any]] | None) -> list[str] | None:
    """The texts of a list of String nodes, or None when any element is something else."""
    out = []
    for node in nodes or ():
        if "String" not in node:
            return None
        out.append(node["String"].get("sval", ""))
    return out


def _qname(parts: list[str] | None) -> QName | None:
    """``(schema, name)`` from parts; ``None`` for pg_catalog (always built in)."""
    if not parts:
        return None
    if len(parts) >= 2 and parts[-2] == "pg_catalog":
        return None
    return (parts[-2] if len(parts) >= 2 else None, parts[-1])


class _Collector:
    """Walks a parse tree (pglast JSON) and records every reference it makes."""

    def __init__(self) -> None:
        self.functions: set[QName] = set()
        self.relations: set[QName] = set()
        self.types: set[QName] = set()
        self.columns: set[str] = set()
        self.ctes: set[str] = set()

    def walk(self, tree: Any) -> Refs:
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
                continue
            if not isinstance(node, dict):
                continue
            for key, value in node.items():
                handler = _HANDLERS.get(key)
                if handler is not None and isinstance(value, dict):
                    handler(self, value)
                if isinstance(value, (dict, list)):
                    stack.append(value)
        relations = {r for r in self.relations if r[0] is not None or r[1] not in self.ctes}
        return Refs(frozenset(self.functions), frozenset(relations), frozenset(self.types),
                    frozenset(self.columns))

    def func_call(self, node: dict[str, Any]) -> None:
        parts = _strings(node.get("funcname"))
        name = _qname(parts)
        if name is not None:
            self.functions.add(name)
        if parts and parts[-1] in _REGCLASS_FUNCTIONS and node.get("args"):
            self.regclass_literal(node["args"][0])

    def type_cast(self, node: dict[str, Any]) -> None:
        parts = _strings(node.get("typeName", {}).get("names"))
        if parts and parts[-1] == "regclass":
            self.regclass_literal(node.get("arg"))

    def regclass_literal(self, arg: dict[str, Any] | None) -> None:
        if arg and "TypeCast" in arg:
            arg = arg["TypeCast"].get("arg")
        text = (arg or {}).get("A_Const", {}).get("sval", {}).get("sval")
        if text is None:
            return
        try:
            parts = name_parts(text)
        except SqlError:
            return
        self.relations.add((parts[-2] if len(parts) >= 2 else None, parts[-1]))

    def range_var(self, node: dict[str, Any]) -> None:
        if "relname" in node:
            self.relations.add((node.get("schemaname"), node["relname"]))

    def type_name(self, node: dict[str, Any]) -> None:
        name = _qname(_strings(node.get("names")))
        if name is not None:
            self.types.add(name)

    def column_ref(self, node: dict[str, Any]) -> None:
        fields = node.get("fields") or []
        if fields and "String" in fields[-1]:
            self.columns.add(fields[-1]["String"]["sval"])

    def index_elem(self, node: dict[str, Any]) -> None:
        if node.get("name"):
            self.columns.add(node["name"])

    def cte(self, node: dict[str, Any]) -> None:
        self.ctes.add(node.get("ctename", ""))


#: JSON keys that introduce a node the collector reads. ``relation`` and ``typeName`` are
#: typed fields, which pglast's JSON does not wrap in a node-type key.
_HANDLERS = {
    "FuncCall": _Collector.func_call,
    "TypeCast": _Collector.type_cast,
    "RangeVar": _Collector.range_var,
    "relation": _Collector.range_var,
    "TypeName": _Collector.type_name,
    "typeName": _Collector.type_name,
    "ColumnRef": _Collector.column_ref,
    "IndexElem": _Collector.index_elem,
    "CommonTableExpr": _Collector.cte,
}


def _stmts(text: str, what: str, fragment: str) -> list[dict[str, Any]]:
    try:
        return json.loads(parser.parse_sql_json(text)).get("stmts", [])
    except parser.ParseError as exc:
        raise SqlError(f"invalid {what} {fragment!r}: {exc.args[0]}") from None


def _only(stmts: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    if len(stmts) != 1:
        return None
    return stmts[0].get("stmt", {}).get(kind)


def _single_target(select: dict[str, Any] | None) -> dict[str, Any] | None:
    """The one unnamed target of a bare ``SELECT x``, or None."""
    if (
        select is None
        or select.get("op", "SETOP_NONE") != "SETOP_NONE"
        or any(extra in select for extra in _SELECT_EXTRAS)
        or len(select.get("targetList", [])) != 1
    ):
        return None
    target = select["targetList"][0].get("ResTarget", {})
    if "name" in target or "val" not in target:
        return None
    return target["val"]


@lru_cache(maxsize=65536)
def _expression(text: str) -> dict[str, Any]:
    val = _single_target(_only(_stmts(f"SELECT {text}", "expression", text), "SelectStmt"))
    if val is None:
        raise SqlError(f"invalid expression {text!r}: not exactly one expression")
    return val


def expression_refs(text: str) -> Refs:
    """References of a scalar expression (default, CHECK, WHERE, USING, WHEN, index key);
    SqlError unless ``text`` is exactly one expression."""
    return _expression_refs(text)


@lru_cache(maxsize=65536)
def _expression_refs(text: str) -> Refs:
    return _Collector().walk(_expression(text))


def expression_shape(text: str) -> Shape:
    """The kind of node at the top of an expression (validating it, like expression_refs)."""
    val = _expression(text)
    (node, body), = val.items()
    return Shape(node, body.get("funcformat") if node == "FuncCall" else None)


@lru_cache(maxsize=2048)
def query_refs(text: str) -> Refs:
    """References of a view's query; SqlError unless it is exactly one SELECT."""
    select = _only(_stmts(text, "query", text), "SelectStmt")
    if select is None:
        raise SqlError(f"invalid query {text!r}: not exactly one SELECT")
    if "intoClause" in select:
        raise SqlError(f"invalid query {text!r}: SELECT INTO is not a view query")
    return _Collector().walk(select)


@lru_cache(maxsize=2048)
def _constraint(text: str) -> dict[str, Any]:
    stmt = _only(_stmts(f"ALTER TABLE x ADD {text}", "constraint", text), "AlterTableStmt")
    cmds = (stmt or {}).get("cmds", [])
    constraint = cmds[0].get("AlterTableCmd", {}).get("def", {}).get("Constraint") if len(cmds) == 1 else None
    if constraint is None:
        raise SqlError(f"invalid constraint {text!r}: not exactly one constraint clause")
    return constraint


def constraint_refs(text: str) -> Refs:
    """References of a whole constraint clause (an EXCLUDE constraint's definition)."""
    return _Collector().walk(_constraint(text))


def constraint_is_deferrable(text: str) -> bool:
    """Whether a constraint clause already says DEFERRABLE."""
    return bool(_constraint(text).get("deferrable"))


@lru_cache(maxsize=4096)
def type_refs(text: str) -> Refs:
    """The user type a type name refers to (``public.mood[]`` refers to ``public.mood``);
    SqlError unless ``text`` is exactly one type name."""
    val = _single_target(_only(_stmts(f"SELECT NULL::{text}", "type", text), "SelectStmt"))
    cast = (val or {}).get("TypeCast")
    if cast is None or (cast.get("arg") or {}).get("A_Const", {}).get("isnull") is not True:
        raise SqlError(f"invalid type {text!r}")
    return _Collector().walk({"TypeName": cast["typeName"]})


@lru_cache(maxsize=2048)
def standard_body_refs(body: str) -> Refs | None:
    """References of a SQL-standard function body (``BEGIN ATOMIC ... END`` or ``RETURN expr``),
    or None when ``body`` is not one (then it is a string body, kept in a dollar quote).

    The server parses such a body when the function is created, whatever
    check_function_bodies says, so what it names must exist by then.
    """
    try:
        stmts = json.loads(parser.parse_sql_json(f"CREATE FUNCTION x() RETURNS void LANGUAGE sql {body}"))
    except parser.ParseError:
        return None
    func = _only(stmts.get("stmts", []), "CreateFunctionStmt")
    if func is None or "sql_body" not in func:
        return None
    return _Collector().walk(func["sql_body"])


@lru_cache(maxsize=4096)
def name_parts(text: str) -> tuple[str, ...]:
    """The parts of a qualified name written as SQL (``auth.users``, ``public."My Table"``).

    Catalog references (``Constraint.references``, ``Table.partition_of``, ``Trigger.function``)
    are written the way catalog keys are, quoted only where SQL needs it.
    """
    val = _single_target(_only(_stmts(f"SELECT {text}", "name", text), "SelectStmt"))
    parts = _strings((val or {}).get("ColumnRef", {}).get("fields"))
    if not parts:
        raise SqlError(f"invalid qualified name {text!r}")
    return tuple(parts)
