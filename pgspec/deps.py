"""What a SQL fragment refers to: the functions it calls, relations it reads, types it names.

The renderer orders DDL by these references (a view after the relations it reads, a default
that calls ``generate_api_token()`` after that function exists). They come from the real
PostgreSQL parser (pglast), so a name inside a string literal or a comment is never mistaken for
a reference, and a fragment that is not exactly one expression (or one query) is refused: a
spec's fragment is pasted into DDL, so it must not be able to close a parenthesis and smuggle in a
statement of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import pglast
from pglast import ast
from pglast.enums import SetOperation
from pglast.visitors import Visitor

from pgspec.errors import SqlError

#: A possibly schema-qualified object name: ``(schema or None, name)``.
QName = tuple[str | None, str]

#: Functions whose first argument is a relation name written as a string literal.
_REGCLASS_FUNCTIONS = frozenset({"nextval", "currval", "setval"})

#: SelectStmt fields that must be empty for ``SELECT <expr>`` to be just one expression.
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


def _qname(names: tuple[ast.Node, ...] | list[ast.Node]) -> QName | None:
    """``(schema, name)`` from a parser name list; ``None`` for pg_catalog (always built in)."""
    parts = [n.sval for n in names if isinstance(n, ast.String)]
    if not parts or len(parts) != len(names):
        return None
    if len(parts) >= 2 and parts[-2] == "pg_catalog":
        return None
    return (parts[-2] if len(parts) >= 2 else None, parts[-1])


class _Collector(Visitor):
    """Walks a parse tree and records every reference to a function, relation or type."""

    def __init__(self) -> None:
        super().__init__()
        self.functions: set[QName] = set()
        self.relations: set[QName] = set()
        self.types: set[QName] = set()
        self.columns: set[str] = set()
        self.ctes: set[str] = set()

    def visit_FuncCall(self, ancestors: object, node: ast.FuncCall) -> None:
        parts = [n.sval for n in node.funcname if isinstance(n, ast.String)]
        if not parts or len(parts) != len(node.funcname):
            return
        name = _qname(node.funcname)
        if name is not None:
            self.functions.add(name)
        if parts[-1] in _REGCLASS_FUNCTIONS and node.args:
            self._regclass_literal(node.args[0])

    def visit_TypeCast(self, ancestors: object, node: ast.TypeCast) -> None:
        names = [n.sval for n in node.typeName.names if isinstance(n, ast.String)]
        if names and names[-1] == "regclass":
            self._regclass_literal(node.arg)

    def _regclass_literal(self, arg: ast.Node | None) -> None:
        if isinstance(arg, ast.TypeCast):
            arg = arg.arg
        if isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String):
            try:
                parts = name_parts(arg.val.sval)
            except SqlError:
                return
            self.relations.add((parts[-2] if len(parts) >= 2 else None, parts[-1]))

    def visit_RangeVar(self, ancestors: object, node: ast.RangeVar) -> None:
        self.relations.add((node.schemaname, node.relname))

    def visit_TypeName(self, ancestors: object, node: ast.TypeName) -> None:
        name = _qname(node.names)
        if name is not None:
            self.types.add(name)

    def visit_ColumnRef(self, ancestors: object, node: ast.ColumnRef) -> None:
        last = node.fields[-1] if node.fields else None
        if isinstance(last, ast.String):
            self.columns.add(last.sval)

    def visit_IndexElem(self, ancestors: object, node: ast.IndexElem) -> None:
        if node.name:
            self.columns.add(node.name)

    def visit_CommonTableExpr(self, ancestors: object, node: ast.CommonTableExpr) -> None:
        self.ctes.add(node.ctename)

    def refs(self) -> Refs:
        relations = {r for r in self.relations if r[0] is not None or r[1] not in self.ctes}
        return Refs(
            frozenset(self.functions), frozenset(relations), frozenset(self.types),
            frozenset(self.columns),
        )


def _collect(node: ast.Node) -> Refs:
    collector = _Collector()
    collector(node)
    return collector.refs()


def _parse(text: str, what: str, fragment: str) -> tuple[ast.RawStmt, ...]:
    try:
        return pglast.parse_sql(text)
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid {what} {fragment!r}: {exc.args[0]}") from None


def parse_expression(text: str) -> ast.Node:
    """The parse tree of exactly one scalar expression, or SqlError."""
    stmts = _parse(f"SELECT {text}", "expression", text)
    select = stmts[0].stmt if len(stmts) == 1 else None
    if (
        not isinstance(select, ast.SelectStmt)
        or select.op != SetOperation.SETOP_NONE
        or any(getattr(select, extra) for extra in _SELECT_EXTRAS)
        or not select.targetList
        or len(select.targetList) != 1
        or select.targetList[0].name
    ):
        raise SqlError(f"invalid expression {text!r}: not exactly one expression")
    return select.targetList[0].val


def parse_query(text: str) -> ast.Node:
    """The parse tree of exactly one query (SELECT, VALUES, WITH ...), or SqlError."""
    stmts = _parse(text, "query", text)
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
        raise SqlError(f"invalid query {text!r}: not exactly one SELECT")
    if stmts[0].stmt.intoClause:
        raise SqlError(f"invalid query {text!r}: SELECT INTO is not a view query")
    return stmts[0].stmt


def parse_constraint(text: str) -> ast.Constraint:
    """The parse tree of one table constraint clause (``EXCLUDE USING gist (...)``), or SqlError."""
    stmts = _parse(f"ALTER TABLE x ADD {text}", "constraint", text)
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if (
        not isinstance(stmt, ast.AlterTableStmt)
        or len(stmt.cmds) != 1
        or not isinstance(stmt.cmds[0].def_, ast.Constraint)
    ):
        raise SqlError(f"invalid constraint {text!r}: not exactly one constraint clause")
    return stmt.cmds[0].def_


def parse_type(text: str) -> ast.TypeName:
    """The parse tree of one type name (``public.mood[]``, ``numeric(10,2)``), or SqlError."""
    stmts = _parse(f"SELECT NULL::{text}", "type", text)
    select = stmts[0].stmt if len(stmts) == 1 else None
    target = select.targetList[0].val if isinstance(select, ast.SelectStmt) and select.targetList else None
    if (
        not isinstance(target, ast.TypeCast)
        or any(getattr(select, extra) for extra in _SELECT_EXTRAS)
        or len(select.targetList) != 1
    ):
        raise SqlError(f"invalid type {text!r}")
    return target.typeName


@lru_cache(maxsize=8192)
def expression_refs(text: str) -> Refs:
    """References of a scalar expression (default, CHECK, WHERE, USING, WHEN, index key)."""
    return _collect(parse_expression(text))


@lru_cache(maxsize=2048)
def query_refs(text: str) -> Refs:
    """References of a view's query."""
    return _collect(parse_query(text))


@lru_cache(maxsize=2048)
def constraint_refs(text: str) -> Refs:
    """References of a whole constraint clause (an EXCLUDE constraint's definition)."""
    return _collect(parse_constraint(text))


@lru_cache(maxsize=4096)
def type_refs(text: str) -> Refs:
    """The user type a type name refers to (``public.mood[]`` refers to ``public.mood``)."""
    return _collect(parse_type(text))


@lru_cache(maxsize=4096)
def name_parts(text: str) -> tuple[str, ...]:
    """The parts of a qualified name written as SQL (``auth.users``, ``public."My Table"``).

    Catalog references (``Constraint.references``, ``Table.partition_of``, ``Trigger.function``)
    are written the way catalog keys are, quoted only where SQL needs it.
    """
    stmts = _parse(f"SELECT {text}", "name", text)
    select = stmts[0].stmt if len(stmts) == 1 else None
    target = (
        select.targetList[0].val
        if isinstance(select, ast.SelectStmt) and select.targetList and len(select.targetList) == 1
        else None
    )
    if (
        not isinstance(target, ast.ColumnRef)
        or select.targetList[0].name
        or any(getattr(select, extra) for extra in _SELECT_EXTRAS)
        or not all(isinstance(f, ast.String) for f in target.fields)
    ):
        raise SqlError(f"invalid qualified name {text!r}")
    return tuple(f.sval for f in target.fields)
