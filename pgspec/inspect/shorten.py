"""The shortest faithful spelling of what a server printed: types, expressions, index keys.

A server prints ``'active'::character varying``, ``((status)::text = 'x'::text)`` and
``timestamp with time zone``; a person writes ``'active'``, ``status = 'x'`` and
``timestamptz``. Every shortening here is a rewrite of the pglast parse tree (never of text),
and it is kept only when ``pgspec.normalize`` says the short text means exactly what the
original meant (``equivalent`` / ``canonical_type``); otherwise the original text is kept.

Some casts carry meaning that the canonical comparison does not see, so they are never
touched: a cast of NULL or of an empty ARRAY (the type would be lost, or the SQL would not
even parse-analyse), and a cast directly inside another cast (``'now'::text::timestamptz``
is evaluated per row, ``'now'::timestamptz`` once at CREATE time). View queries are never
shortened: a cast in a SELECT list decides the type of the view's column.
"""

from __future__ import annotations

import contextlib
import re
from functools import lru_cache
from typing import Any

import pglast
from pglast import ast, enums
from pglast.stream import RawStream

from pgspec.catalog import Argument, IndexKey
from pgspec.errors import PgspecError
from pgspec.normalize import canonical_expression, canonical_type
from pgspec.normalize.types import internal_type_name
from pgspec.quoting import qualified, quote
from pgspec.sources.elements import parse_index_element

#: How people spell the built-in types whose ``format_type`` name is long.
_SPELLING = {
    "timestamptz": "timestamptz",
    "timetz": "timetz",
    "timestamp": "timestamp",
    "time": "time",
    "varchar": "varchar",
    "bpchar": "char",
    "varbit": "varbit",
    "bool": "boolean",
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
}

_ARRAY_OPS = (enums.A_Expr_Kind.AEXPR_OP_ANY, enums.A_Expr_Kind.AEXPR_OP_ALL)

#: Operators whose literal operand takes the other side's type (parse analysis resolves an
#: unknown literal against the known operand), so the literal's cast may go.
_COMPARISONS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">=", "~", "~*", "!~", "!~*",
                          "~~", "~~*", "!~~", "!~~*", "@>", "<@", "&&", "?", "?|", "?&"})

_NUMERIC = frozenset({"int2", "int4", "int8", "numeric", "float4", "float8"})


# --------------------------------------------------------------------------- types


def _type_node(text: str) -> ast.TypeName | None:
    try:
        stmts = pglast.parse_sql(f"SELECT NULL::{text}")
    except pglast.parser.ParseError:
        return None
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(stmt, ast.SelectStmt) or not stmt.targetList:
        return None  # text that is not one type name (``int UNION SELECT 1``)
    target = stmt.targetList[0].val
    return target.typeName if isinstance(target, ast.TypeCast) else None


def _mods(node: ast.TypeName) -> str:
    mods = []
    for mod in node.typmods or ():
        if isinstance(mod, ast.A_Const) and mod.val is not None:
            mods.append(str(getattr(mod.val, "ival", None) or getattr(mod.val, "sval", "")))
        else:
            return ""
    return f"({','.join(mods)})" if mods else ""


@lru_cache(maxsize=4096)
def short_type(canonical: str, schema: str) -> str:
    """``timestamptz``, ``varchar(255)``, ``project_type`` (in its own schema's file) for the
    canonical type, provided ``canonical_type`` of the short text gives the canonical back."""
    node = _type_node(canonical.removeprefix("SETOF "))
    setof = "SETOF " if canonical.startswith("SETOF ") else ""
    candidates: list[str] = []
    if node is not None:
        names = [getattr(n, "sval", "") for n in node.names or ()]
        arrays = "[]" * len(node.arrayBounds or ())
        if len(names) == 2 and names[0] == "pg_catalog" and names[1] in _SPELLING:
            candidates.append(f"{_SPELLING[names[1]]}{_mods(node)}{arrays}")
        elif len(names) == 2 and names[0] == schema:
            candidates.append(f"{quote(names[1])}{_mods(node)}{arrays}")
        with contextlib.suppress(Exception):  # pglast prints every type it parsed
            candidates.append(RawStream()(node))
    for candidate in sorted(candidates, key=len):
        try:
            if canonical_type(setof + candidate, schema) == canonical:
                return setof + candidate
        except PgspecError:
            continue
    return canonical


# --------------------------------------------------------------------------- expressions


def _is_null(node: Any) -> bool:
    return isinstance(node, ast.A_Const) and bool(node.isnull)


def _is_empty_array(node: Any) -> bool:
    return isinstance(node, ast.A_ArrayExpr) and not node.elements


def _number(text: str) -> ast.A_Const | None:
    """``'-1'::integer`` as the literal ``-1``; None unless the text is a plain number."""
    value = text.strip()
    if not value or value != text:
        return None
    try:
        number = int(value)
        return ast.A_Const(isnull=False, val=ast.Integer(ival=number)) if -(2**31) <= number < 2**31 else None
    except ValueError:
        pass
    try:
        float(value)
    except ValueError:
        return None
    if not any(c.isdigit() for c in value) or "e" in value.lower():
        return None
    return ast.A_Const(isnull=False, val=ast.Float(fval=value))


def _strip(node: Any, inside_cast: bool) -> Any:
    """The tree with the casts a server adds removed (in place where possible)."""
    if isinstance(node, tuple | list):
        return tuple(_strip(n, inside_cast) for n in node)
    if not isinstance(node, ast.Node):
        return node
    if isinstance(node, ast.TypeCast):
        arg = node.arg
        if inside_cast or _is_null(arg) or _is_empty_array(arg) or isinstance(arg, ast.TypeCast):
            node.arg = _strip(arg, True)
            return node
        type_name = node.typeName
        if type_name is None:  # pragma: no cover - the parser gives every cast its type
            return node
        internal = internal_type_name(type_name)
        scalar = not type_name.arrayBounds
        if isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String) and arg.val.sval is not None:
            word = arg.val.sval.lower()
            if internal == "bool" and word in ("t", "true", "f", "false"):
                return ast.A_Const(isnull=False, val=ast.Boolean(boolval=word.startswith("t")))
            if internal in _NUMERIC and scalar:
                number = _number(arg.val.sval)
                if number is not None:
                    return number
            return arg
        if isinstance(arg, ast.A_Const) and internal in _NUMERIC and scalar:
            return arg
        if isinstance(arg, ast.ColumnRef) and internal in ("text", "varchar") and scalar:
            return arg
        if isinstance(arg, ast.A_ArrayExpr) and not scalar:
            arg.elements = _strip(arg.elements, False)
            return arg
        node.arg = _strip(arg, False)
        return node
    if isinstance(node, ast.A_Expr) and node.kind in _ARRAY_OPS:
        node = _any_to_in(node)
    if (
        isinstance(node, ast.A_Expr)
        and node.kind == enums.A_Expr_Kind.AEXPR_OP
        and node.name
        and getattr(node.name[-1], "sval", None) not in _COMPARISONS
    ):
        # An arithmetic operand's literal type picks the operator: CURRENT_DATE + '1 year'
        # is ambiguous (date + integer, date + interval...) without ::interval.
        for side in ("lexpr", "rexpr"):
            operand = getattr(node, side)
            keep = isinstance(operand, ast.TypeCast) and isinstance(operand.arg, ast.A_Const)
            setattr(node, side, operand if keep else _strip(operand, False))
        return node
    if isinstance(node, ast.ResTarget) and node.val is not None and node.name == _output_name(node.val):
        node.name = None  # the AS the server spells out for a name it would pick anyway
    if (
        isinstance(node, ast.FuncCall)
        and node.funcname
        and len(node.funcname) == 2
        and getattr(node.funcname[0], "sval", None) == "pg_catalog"
    ):
        node.funcname = (node.funcname[1],)
    for attr in node:
        value = getattr(node, attr)
        if isinstance(value, ast.Node | tuple | list):
            setattr(node, attr, _strip(value, False))
    return node


def _any_to_in(node: ast.A_Expr) -> ast.A_Expr:
    """``x = ANY (ARRAY[a, b])`` back to ``x IN (a, b)`` (and ``<> ALL`` to ``NOT IN``), the
    form parse analysis turned into the array comparison (``transformAExprIn``)."""
    op = [getattr(n, "sval", None) for n in node.name or ()]
    wanted = "=" if node.kind == enums.A_Expr_Kind.AEXPR_OP_ANY else "<>"
    rexpr = node.rexpr
    if isinstance(rexpr, ast.TypeCast) and isinstance(rexpr.arg, ast.A_ArrayExpr):
        rexpr = rexpr.arg
    if op != [wanted] or not isinstance(rexpr, ast.A_ArrayExpr) or not rexpr.elements:
        return node
    return ast.A_Expr(kind=enums.A_Expr_Kind.AEXPR_IN, name=(ast.String(sval=wanted),),
                      lexpr=node.lexpr, rexpr=tuple(rexpr.elements))


def _output_name(node: Any) -> str | None:
    """The column name PostgreSQL gives an unaliased function call or column reference."""
    if isinstance(node, ast.FuncCall) and node.funcname:
        return getattr(node.funcname[-1], "sval", None)
    if isinstance(node, ast.ColumnRef) and node.fields:
        return getattr(node.fields[-1], "sval", None)
    return None


class _Stream(RawStream):
    """pglast's printer, but casts written ``x::type`` as people (and the server) write them,
    not ``CAST(x AS type)``. Only this module's output uses it: canonical forms elsewhere stay
    pglast's own."""

    def print_node(self, node: Any, is_name: bool = False, is_symbol: bool = False) -> None:
        if isinstance(node, ast.TypeCast) and node.typeName is not None and not node.typeName.pct_type:
            arg = node.arg
            simple = isinstance(arg, ast.ColumnRef | ast.FuncCall | ast.ParamRef) or (
                isinstance(arg, ast.A_Const) and (arg.isnull or isinstance(arg.val, ast.String | ast.Boolean)))
            if not simple:
                self.write("(")
            self.print_node(arg)
            if not simple:
                self.write(")")
            self.write("::")
            super().print_node(node.typeName)
            return
        super().print_node(node, is_name, is_symbol)


def _parse_expression(text: str) -> Any | None:
    try:
        stmts = pglast.parse_sql(f"SELECT {text}")
    except pglast.parser.ParseError:
        return None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
        return None
    targets = stmts[0].stmt.targetList or ()
    return targets[0].val if len(targets) == 1 else None


def table_columns(table: Any) -> tuple[tuple[str, str | None], ...]:
    """A table's column kinds (``normalize.typed.column_kinds``), as ``short_expression``'s
    ``columns``."""
    from pgspec.normalize.typed import column_kinds

    return tuple(sorted(column_kinds(table.columns).items()))


def _same_on_table(a: str, b: str, columns: tuple[tuple[str, str | None], ...]) -> bool:
    """Equal once the table's column types settle the casts on its columns: ``(email)::text``
    is the relabel the server adds on a varchar column, the meaning on an enum or a char(n)
    (no function is assumed to be pg_catalog's, so none of their casts is dropped)."""
    from pgspec.normalize.typed import TEXT_FUNCTIONS, typed_equivalent

    kinds, mine = dict(columns), frozenset(TEXT_FUNCTIONS)
    return typed_equivalent(a, b, kinds, kinds, a_functions=mine, b_functions=mine)


@lru_cache(maxsize=16384)
def short_expression(text: str, columns: tuple[tuple[str, str | None], ...] = ()) -> str:
    """The shortest of (casts stripped, parentheses only) that is ``equivalent`` to ``text``;
    with the ``columns`` of its table (``table_columns``), also the casts those types show
    the server added."""
    try:
        goal = canonical_expression(text)
    except PgspecError:
        return text
    candidates = []
    for strip in (True, False):
        node = _parse_expression(text)
        if node is None:
            return text
        try:
            candidates.append(_Stream()(_strip(node, False) if strip else node))
        except Exception:
            continue
    for candidate in candidates:
        try:
            if len(candidate) <= len(text) and (canonical_expression(candidate) == goal or (
                    columns and _same_on_table(candidate, text, columns))):
                return candidate
        except PgspecError:
            continue
    return text


@lru_cache(maxsize=16384)
def short_default(text: str) -> str:
    """A column's, domain's or argument's default: ``NULL::uuid`` is ``NULL`` (a default is
    coerced to the target's type, so a NULL of any type is that type's NULL); the rest as
    ``short_expression``."""
    node = _parse_expression(text)
    if isinstance(node, ast.TypeCast) and _is_null(node.arg):
        return "NULL"
    return short_expression(text)


def is_bare_scalar(text: str) -> bool:
    """Whether a SQL value reads back from YAML as the same text when written unquoted:
    ``true``, ``false``, and decimal numbers without leading zeros (YAML 1.1 reads ``010`` as
    octal and ``1_000`` as a thousand)."""
    if text in ("true", "false"):
        return True
    return bool(re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?", text))


# --------------------------------------------------------------------------- index keys, arguments


def index_key_text(key: IndexKey, schema: str) -> str | None:
    """An index key as the SQL element people write (``lower(email)``, ``created_at DESC``),
    or None when no text parses back to exactly this key (the mapping form is used then)."""
    del schema  # an element's names are written as the key holds them, whatever the schema
    return _index_key_text(key)


@lru_cache(maxsize=16384)
def _index_key_text(key: IndexKey) -> str | None:
    """``index_key_text``, once per distinct key (an IndexKey is immutable; keys such as
    ``tenant_id`` or ``created_at DESC`` recur across thousands of tables)."""
    if key.column is not None:
        parts = [quote(key.column)]
    elif key.expression is not None:
        expression = short_expression(key.expression)
        node = _parse_expression(expression)
        parts = [expression if isinstance(node, ast.FuncCall) else f"({expression})"]
    else:
        return None
    if key.collation:
        parts.append(f"COLLATE {key.collation}")
    if key.opclass:
        parts.append(key.opclass)
    if key.order == "desc":
        parts.append("DESC")
    if key.nulls:
        parts.append(f"NULLS {key.nulls.upper()}")
    text = " ".join(parts)
    try:
        parsed = parse_index_element(text)
    except PgspecError:
        return None
    if parsed.model_copy(update={"expression": key.expression}) != key:
        return None
    if parsed.expression != key.expression and key.expression is not None:
        if parsed.expression is None:
            return None
        try:
            if canonical_expression(parsed.expression) != canonical_expression(key.expression):
                return None
        except PgspecError:
            return None
    return text


def argument_text(arg: Argument, schema: str) -> str | None:
    """``"p_days integer DEFAULT 90"`` for an argument, when it parses back to the same one."""
    from pgspec.spec.names import parse_argument

    parts = []
    if arg.mode != "in":
        parts.append(arg.mode.upper())
    if arg.name:
        parts.append(quote(arg.name))
    parts.append(short_type(arg.type, schema))
    if arg.default is not None:
        parts.append(f"DEFAULT {short_default(arg.default)}")
    text = " ".join(parts)
    try:
        parsed = parse_argument(text, schema)
    except PgspecError:
        return None
    if parsed.model_copy(update={"default": arg.default}) != arg:
        return None
    if arg.default is not None:
        try:
            if parsed.default is None or canonical_expression(parsed.default) != canonical_expression(arg.default):
                return None
        except PgspecError:
            return None
    return text


def reference_name(schema: str, name: str, file_schema: str) -> str:
    """A relation or function name as SQL, unqualified in its own schema's file."""
    return quote(name) if schema == file_schema else qualified(schema, name)
