"""Names and signatures a spec writes as SQL (``auth.users(id)``, ``auth.uid()``), parsed by pglast.

A spec refers to other objects in SQL spelling: ``references: auth.users(id)``,
``function: public.handle_new_user``, ``external: {functions: ["auth.uid()"]}``. Each is parsed
as part of a synthetic statement, so quoting and case folding follow PostgreSQL exactly
(``"Accounts"`` keeps its case, ``Accounts`` means ``accounts``), and nothing is split by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import pglast
from pglast import ast
from pglast.stream import RawStream

from pgspec.catalog import Argument
from pgspec.errors import SqlError
from pgspec.normalize.types import (
    BUILTIN_TYPES,
    SERIAL_TYPES,
    canonical_type,
    cast_statements,
    format_type_name,
)
from pgspec.quoting import qualified
from pgspec.spec import sqlcheck


def _single(sql: str, text: str, what: str) -> ast.Node | None:
    try:
        stmts = pglast.parse_sql(sql)
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid {what} {text!r}: {exc.args[0]}") from None
    if len(stmts) != 1:
        raise SqlError(f"invalid {what} {text!r}")
    return stmts[0].stmt


def parse_qualified_name(text: str, default_schema: str) -> tuple[str, str]:
    """``schema.name`` or ``name`` (in ``default_schema``) as the pair of stored names."""
    source = text.strip()
    stmt = _single(f"DROP TABLE {source}", text, "name")
    if (
        not isinstance(stmt, ast.DropStmt)
        or not stmt.objects
        or len(stmt.objects) != 1
        or stmt.behavior != pglast.enums.DropBehavior.DROP_RESTRICT
    ):
        raise SqlError(f"invalid name {text!r}")
    parts = [p.sval for p in stmt.objects[0]]
    if len(parts) == 1:
        return default_schema, parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise SqlError(f"invalid name {text!r}: write schema.name")


@dataclass(frozen=True)
class Reference:
    """A foreign key target: the table and, when written, its columns."""

    schema: str
    table: str
    columns: list[str]


def parse_reference(text: str, default_schema: str) -> Reference:
    """``users(id)``, ``auth.users(id)`` or ``users`` (its primary key) as a Reference."""
    schema, table, columns = _reference(text, default_schema)
    return Reference(schema, table, list(columns))


@lru_cache(maxsize=4096)
def _reference(text: str, default_schema: str) -> tuple[str, str, tuple[str, ...]]:
    """parse_reference's answer, remembered: many columns reference the same few tables."""
    plain = _plain_reference(text, default_schema)
    if plain is not None:
        return plain
    source = text.strip()
    stmt = _single(f"CREATE TABLE t (c int REFERENCES {source})", text, "reference")
    if not isinstance(stmt, ast.CreateStmt) or not stmt.tableElts:
        raise SqlError(f"invalid reference {text!r}")
    try:
        column = stmt.tableElts[0]
        (constraint,) = column.constraints
        pktable = constraint.pktable
    except (AttributeError, TypeError, ValueError, IndexError):
        raise SqlError(f"invalid reference {text!r}") from None
    if (
        len(stmt.tableElts) != 1
        or constraint.fk_upd_action != "a"
        or constraint.fk_del_action != "a"
        or constraint.fk_matchtype != "s"
        or constraint.deferrable
        or pktable.catalogname
    ):
        raise SqlError(f"invalid reference {text!r}: write table(columns) only")
    columns = tuple(c.sval for c in constraint.pk_attrs or ())
    return pktable.schemaname or default_schema, pktable.relname, columns


def _plain_reference(text: str, default_schema: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``_reference``'s answer for a plain reference, read from libpg_query's JSON tree.

    Building pglast's Python tree of the synthetic ``CREATE TABLE`` was most of loading a
    spec's foreign keys (about 65 us a reference, where the JSON is about 9 us; a 3,000-table
    spec has 2,000 distinct targets). Only a reference every check of ``_reference`` accepts is
    answered here, with the same parts; anything else (None) goes through ``_reference``,
    which reports it.
    """
    try:
        raw = pglast.parser.parse_sql_json(f"CREATE TABLE t (c int REFERENCES {text.strip()})")
    except pglast.parser.ParseError:
        return None
    stmts: list[Any] = json.loads(raw).get("stmts") or []
    if len(stmts) != 1:
        return None
    elts: list[Any] = stmts[0].get("stmt", {}).get("CreateStmt", {}).get("tableElts") or []
    if len(elts) != 1:
        return None
    constraints: list[Any] = elts[0].get("ColumnDef", {}).get("constraints") or []
    if len(constraints) != 1:
        return None
    constraint = constraints[0].get("Constraint", {})
    pktable = constraint.get("pktable")
    if (
        constraint.get("contype") != "CONSTR_FOREIGN"
        or pktable is None
        or constraint.get("fk_upd_action") != "a"
        or constraint.get("fk_del_action") != "a"
        or constraint.get("fk_matchtype") != "s"
        or constraint.get("deferrable")
        or pktable.get("catalogname")
        or not pktable.get("relname")
    ):
        return None
    columns = []
    for attr in constraint.get("pk_attrs") or ():
        name = attr.get("String", {}).get("sval")
        if not name:
            return None
        columns.append(name)
    return pktable.get("schemaname") or default_schema, pktable["relname"], tuple(columns)


def parse_function_name(text: str, default_schema: str) -> tuple[str, str, list[str] | None]:
    """``schema.name(argtypes)`` as (schema, name, canonical argument types or None if omitted)."""
    schema, name, types = _function_name(text, default_schema)
    return schema, name, list(types) if types is not None else None


@lru_cache(maxsize=4096)
def _function_name(text: str, default_schema: str) -> tuple[str, str, tuple[str, ...] | None]:
    """parse_function_name's answer, remembered: every trigger names its function, and many
    triggers share one (``update_updated_at_column``)."""
    source = text.strip()
    stmt = _single(f"DROP FUNCTION {source}", text, "function")
    if not isinstance(stmt, ast.DropStmt) or not stmt.objects or len(stmt.objects) != 1:
        raise SqlError(f"invalid function {text!r}")
    obj = stmt.objects[0]
    parts = [p.sval for p in obj.objname]
    if len(parts) == 1:
        schema, name = default_schema, parts[0]
    elif len(parts) == 2:
        schema, name = parts
    else:
        raise SqlError(f"invalid function {text!r}: write schema.name(argument types)")
    if obj.args_unspecified:
        return schema, name, None
    return schema, name, tuple(format_type_name(t, default_schema) for t in obj.objargs or ())


def function_key(schema: str, name: str, types: list[str]) -> str:
    """A function's catalog key, as ``catalog.Function.key`` builds it."""
    return f"{qualified(schema, name)}({', '.join(types)})"


@lru_cache(maxsize=4096)
def serial_base(text: str) -> str | None:
    """The integer type a serial column becomes, or None when ``text`` is not a serial.

    Only a bare, unqualified, non-array name is a serial, as in PostgreSQL. Asked once per
    column, of a handful of distinct type spellings: remembered by text, since building the
    parse tree was a tenth of loading a spec.
    """
    try:
        stmts = cast_statements(text)
    except pglast.parser.ParseError:
        return None
    node = _cast_type_name(stmts)
    if node is None or not node.names or len(node.names) != 1 or node.arrayBounds or node.typmods:
        return None
    return SERIAL_TYPES.get(node.names[0].sval)


def _cast_type_name(stmts: tuple[ast.RawStmt, ...]) -> ast.TypeName | None:
    """The type of ``cast_statements``' ``SELECT NULL::type``; None when the text was not
    one type name (``serial, 1`` or ``int UNION SELECT 1`` parse, into another shape)."""
    value = sqlcheck.only_target(stmts[0].stmt if len(stmts) == 1 else None)
    return value.typeName if isinstance(value, ast.TypeCast) else None


def user_type_key(canonical: str) -> str | None:
    """The ``schema.name`` of a canonical type that is not built in, else None.

    ``public.project_type[]`` -> ``public.project_type``; ``integer`` -> None.
    """
    parts = user_type_parts(canonical)
    return qualified(*parts) if parts else None


@lru_cache(maxsize=4096)
def user_type_parts(canonical: str) -> tuple[str, str] | None:
    """(schema, name) of a canonical type that is not built in, else None (remembered by text,
    like ``serial_base``: every column asks, and columns share a few types)."""
    text = canonical.removeprefix("SETOF ")
    node = _cast_type_name(cast_statements(text))
    if node is None:
        raise SqlError(f"invalid type {canonical!r}")  # canonical_type output is one type name
    names = [n.sval for n in node.names or ()]
    if len(names) == 2 and names[0] == "pg_catalog":
        return None
    if len(names) == 1 and names[0] in BUILTIN_TYPES:
        return None
    if len(names) == 1:
        # A builtin spelled as SQL keywords (``character varying``) parses to pg_catalog names;
        # a single unknown name cannot come out of canonical_type, which qualifies user types.
        return None
    return names[0], names[1]


def type_name(text: str, default_schema: str) -> str:
    """canonical_type, as the one door every spec type goes through."""
    return canonical_type(text, default_schema)


def deparse(node: ast.Node) -> str:
    """SQL text of a parse node, as pglast prints it."""
    return RawStream()(node)


_Mode = Literal["in", "out", "inout", "variadic", "table"]

#: pg_proc.proargmodes letters (FunctionParameterMode) -> Argument.mode; ``d`` is a plain
#: parameter written without a mode, which PostgreSQL takes as IN.
_MODES: dict[str, _Mode] = {"i": "in", "d": "in", "o": "out", "b": "inout", "v": "variadic", "t": "table"}


@lru_cache(maxsize=4096)
def parse_argument(text: str, default_schema: str) -> Argument:
    """``"p_days integer DEFAULT 90"`` (or ``OUT total bigint``) as an Argument.

    The text is parsed as the only parameter of a synthetic CREATE FUNCTION, so modes,
    quoted names and defaults mean exactly what they mean to PostgreSQL. Remembered by text
    (an Argument is immutable): functions repeat their arguments (``p_account_id uuid``).
    """
    source = text.strip()
    stmt = _single(
        f"CREATE FUNCTION f({source}) RETURNS void LANGUAGE sql AS ''", text, "argument"
    )
    params = stmt.parameters if isinstance(stmt, ast.CreateFunctionStmt) else None
    if not params or len(params) != 1:
        raise SqlError(f"invalid argument {text!r}: write one argument, e.g. 'p_id uuid'")
    param = params[0]
    mode = _MODES[str(param.mode.value if hasattr(param.mode, "value") else param.mode)]
    return Argument(
        name=param.name,
        type=format_type_name(param.argType, default_schema),
        mode=mode,
        default=deparse(param.defexpr) if param.defexpr is not None else None,
    )


def parse_column_path(text: str) -> list[str]:
    """``table.column`` or ``schema.table.column`` as its parts (for a sequence's owned_by)."""
    stmt = _single(f"SELECT {text}", text, "column")
    target = sqlcheck.only_target(stmt)
    if not isinstance(target, ast.ColumnRef) or not all(isinstance(f, ast.String) for f in target.fields or ()):
        raise SqlError(f"invalid column {text!r}: write table.column")
    return [f.sval for f in target.fields or ()]
