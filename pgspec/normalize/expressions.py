"""Canonical text for SQL expressions, queries, constraint clauses and statements.

The server does not store what a person wrote: it stores a parse tree and prints it back with
its own deparser (``pg_get_expr``, ``pg_get_viewdef``, ``pg_get_constraintdef``), under pgspec's
empty ``search_path``. That print adds parentheses, casts on literals, schema qualifiers and
table qualifiers, expands ``IN`` lists and ``BETWEEN``, and spells ``LIKE`` as ``~~``. To compare
a hand-written fragment with the server's, both are parsed by pglast (the real PostgreSQL
grammar), the tree is rewritten so every spelling of one meaning becomes one tree, and that tree
is deparsed by pglast's ``RawStream``. No regular expression ever touches the SQL.

The rewrites mirror what PostgreSQL's parse analysis does (``transformAExprIn``,
``transformAExprBetween``, ``FigureColname``), so each comment names the server behaviour it
undoes. Rewrites that could hide a real change are avoided: ``now()`` and ``CURRENT_TIMESTAMP``
stay different, constants keep their text, ``AND``/``OR`` and operators are never reordered.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pglast
from pglast import ast, enums
from pglast.stream import RawStream

from pgspec.errors import SqlError
from pgspec.normalize.types import internal_type_name

#: Schemas whose qualifier carries no information: the server prints ``public.`` under an empty
#: search_path where people write bare names, and people write ``pg_catalog.`` where the server
#: prints bare names.
_IMPLICIT_SCHEMAS = frozenset({"public", "pg_catalog"})
#: Built-in functions whose first parameter is a regclass (a sequence), often written as a
#: bare string literal.
_REGCLASS_FUNCTIONS = frozenset({"nextval", "currval", "setval"})

#: Internal names of the numeric types, whose constants the server casts (``(0)::numeric``).
_NUMERIC_TYPES = frozenset({"int2", "int4", "int8", "numeric", "float4", "float8"})

#: Types the server casts a varchar column to before comparing it (``(col)::text``): varchar has
#: no operators of its own, so parse analysis coerces it to text implicitly.
_TEXT_TYPES = frozenset({"text", "varchar"})

_TRUE_WORDS = frozenset({"t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"f", "fa", "fal", "fals", "false", "n", "no", "off", "of", "0"})

#: Old and new rows of a trigger's WHEN: qualifiers that must never be dropped.
_ROW_QUALIFIERS = frozenset({"old", "new"})

_INT32 = range(-(2**31), 2**31)

#: Rewritten trees kept per kind (``expression_tree``): enough for a large schema's fragments of
#: one kind on both sides; a tree is a few kilobytes where its text is a few dozen bytes.
TREES = 8192


# --------------------------------------------------------------------------- parsing


def _parse(sql: str, what: str, text: str) -> tuple[ast.RawStmt, ...]:
    """pglast's parse, with its errors turned into pgspec's (users never see pglast's)."""
    try:
        return pglast.parse_sql(sql)
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid {what} {text!r}: {exc.args[0]}") from None


def _deparse(node: ast.Node, what: str, text: str) -> str:
    try:
        return RawStream()(node)
    except Exception as exc:  # pglast raises several kinds for trees it cannot print
        raise SqlError(f"cannot normalise {what} {text!r}: {exc}") from None


# --------------------------------------------------------------------------- helpers


def _string_const(node: Any) -> str | None:
    """The value of a string literal node, else None."""
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return node.val.sval
    return None


def _is_number_const(node: Any) -> bool:
    return isinstance(node, ast.A_Const) and isinstance(node.val, (ast.Integer, ast.Float))


def _number_const(text: str) -> ast.A_Const | None:
    """The numeric literal ``text`` spells (``'-1'::integer`` is ``-1``), else None."""
    value = text.strip()
    try:
        number = int(value)
    except ValueError:
        try:
            float(value)
        except ValueError:
            return None
        if not any(c.isdigit() for c in value):  # 'NaN', 'Infinity' are not literals
            return None
        return ast.A_Const(isnull=False, val=ast.Float(fval=value))
    if number in _INT32:
        return ast.A_Const(isnull=False, val=ast.Integer(ival=number))
    return ast.A_Const(isnull=False, val=ast.Float(fval=str(number)))


def _negate(node: ast.A_Const) -> ast.A_Const:
    if isinstance(node.val, ast.Integer):
        return ast.A_Const(isnull=False, val=ast.Integer(ival=-node.val.ival))
    text = node.val.fval
    text = text[1:] if text.startswith("-") else "-" + text
    return ast.A_Const(isnull=False, val=ast.Float(fval=text))


def _names(nodes: Any) -> list[str] | None:
    """The strings of a name list (``('pg_catalog', 'int4')``), None if it holds anything else."""
    if not nodes:
        return None
    out = []
    for n in nodes:
        if not isinstance(n, ast.String):
            return None
        out.append(n.sval)
    return out


def _strip_schema(nodes: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """Drop an implicit schema from a qualified name list (functions, operators, collations)."""
    if (
        nodes
        and len(nodes) == 2
        and isinstance(nodes[0], ast.String)
        and nodes[0].sval in _IMPLICIT_SCHEMAS
    ):
        return (nodes[1],)
    return nodes


def _contains(node: Any, kind: type) -> bool:
    """Whether ``node`` holds a node of ``kind`` anywhere below it."""
    if isinstance(node, kind):
        return True
    if isinstance(node, tuple | list):
        return any(_contains(n, kind) for n in node)
    if isinstance(node, ast.Node):
        return any(_contains(getattr(node, attr), kind) for attr in node)
    return False


_SQL_VALUE_NAMES: dict[int, str] = {
    enums.SQLValueFunctionOp.SVFOP_CURRENT_DATE: "current_date",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_TIME: "current_time",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_TIME_N: "current_time",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP: "current_timestamp",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP_N: "current_timestamp",
    enums.SQLValueFunctionOp.SVFOP_LOCALTIME: "localtime",
    enums.SQLValueFunctionOp.SVFOP_LOCALTIME_N: "localtime",
    enums.SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP: "localtimestamp",
    enums.SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP_N: "localtimestamp",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_ROLE: "current_role",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_USER: "current_user",
    enums.SQLValueFunctionOp.SVFOP_USER: "user",
    enums.SQLValueFunctionOp.SVFOP_SESSION_USER: "session_user",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_CATALOG: "current_catalog",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_SCHEMA: "current_schema",
}


def _figure_colname(node: Any) -> tuple[str, int]:
    """The output column name PostgreSQL gives an unaliased expression, and its strength.

    Mirrors ``FigureColnameInternal`` (parse_target.c): the server prints ``count(*) AS count``
    and ``t.id`` with an alias whenever it cannot omit it, so an alias equal to this name says
    nothing and is dropped.
    """
    if isinstance(node, ast.ColumnRef):
        last = node.fields[-1]
        if isinstance(last, ast.String):
            return last.sval, 2
    elif isinstance(node, ast.A_Indirection):
        for item in reversed(node.indirection):
            if isinstance(item, ast.String):
                return item.sval, 2
        return _figure_colname(node.arg)
    elif isinstance(node, ast.FuncCall):
        return node.funcname[-1].sval, 2
    elif isinstance(node, ast.A_Expr):
        if node.kind == enums.A_Expr_Kind.AEXPR_NULLIF:
            return "nullif", 2
    elif isinstance(node, ast.TypeCast):
        name, strength = _figure_colname(node.arg)
        if strength <= 1:
            return node.typeName.names[-1].sval, 1
        return name, strength
    elif isinstance(node, ast.CollateClause):
        return _figure_colname(node.arg)
    elif isinstance(node, ast.SubLink):
        if node.subLinkType == enums.SubLinkType.EXISTS_SUBLINK:
            return "exists", 2
        if node.subLinkType == enums.SubLinkType.ARRAY_SUBLINK:
            return "array", 2
        if node.subLinkType == enums.SubLinkType.EXPR_SUBLINK:
            select = node.subselect
            while isinstance(select, ast.SelectStmt) and select.larg is not None:
                select = select.larg
            if isinstance(select, ast.SelectStmt) and select.targetList:
                target = select.targetList[0]
                return (target.name or _figure_colname(target.val)[0]), 2
    elif isinstance(node, ast.CaseExpr):
        name, strength = _figure_colname(node.defresult)
        if strength <= 1:
            return "case", 1
        return name, strength
    elif isinstance(node, ast.A_ArrayExpr):
        return "array", 2
    elif isinstance(node, ast.RowExpr):
        return "row", 2
    elif isinstance(node, ast.CoalesceExpr):
        return "coalesce", 2
    elif isinstance(node, ast.MinMaxExpr):
        return ("greatest" if node.op == enums.MinMaxOp.IS_GREATEST else "least"), 2
    elif isinstance(node, ast.SQLValueFunction):
        return _SQL_VALUE_NAMES.get(node.op, "?column?"), 2
    elif isinstance(node, ast.GroupingFunc):
        return "grouping", 2
    return "?column?", 0


def figure_index_colname(node: Any) -> str | None:
    """The name PostgreSQL gives an index's expression column (``FigureIndexColname``, the
    output name an unaliased SELECT would give it: ``lower`` for ``lower(x)``, ``code`` for
    ``code::varchar``); None where it has none (``a + b``), which the server calls ``expr``."""
    name, strength = _figure_colname(node)
    return name if strength > 0 else None


def _from_name(item: Any) -> str | None:
    """The name a FROM item's columns are qualified with, or None if it has several."""
    if isinstance(item, ast.RangeVar):
        return item.alias.aliasname if item.alias else item.relname
    if isinstance(item, ast.RangeSubselect | ast.RangeFunction | ast.RangeTableFunc):
        if item.alias:
            return item.alias.aliasname
        if isinstance(item, ast.RangeFunction) and len(item.functions) == 1:
            call = item.functions[0][0]
            if isinstance(call, ast.FuncCall):
                return call.funcname[-1].sval
    return None


# --------------------------------------------------------------------------- the rewrite


@dataclass(frozen=True)
class _Scope:
    """A SELECT (or UPDATE/DELETE) level: the one relation its bare columns belong to.

    ``single`` is the name columns may be qualified with when exactly one relation is in FROM
    (the server qualifies them, people do not). Qualifiers naming an outer level stay: inside a
    policy's subquery ``t.org_id`` and ``org_id`` are different columns.
    """

    single: str | None


#: ``None`` scope: a bare expression (default, CHECK, policy, index WHERE). Its columns all
#: belong to the one table, so a qualifier says nothing, except OLD/NEW in a trigger's WHEN.
Scope = _Scope | None


class _Canon:
    """One rewrite pass over a pglast tree, in place (trees are parsed fresh for each call)."""

    def visit(self, node: Any, scope: Scope) -> Any:
        if isinstance(node, tuple | list):
            return tuple(self.visit(n, scope) for n in node)
        if not isinstance(node, ast.Node):
            return node
        handler: Callable[[Any, Scope], Any] | None = getattr(
            self, "visit_" + type(node).__name__, None
        )
        if handler is not None:
            return handler(node, scope)
        self.children(node, scope)
        return node

    def children(self, node: ast.Node, scope: Scope, skip: tuple[str, ...] = ()) -> None:
        for attr in node:
            if attr in skip:
                continue
            value = getattr(node, attr)
            if isinstance(value, ast.Node | tuple | list):
                setattr(node, attr, self.visit(value, scope))

    # -- statements and scopes

    def visit_SelectStmt(self, node: ast.SelectStmt, scope: Scope) -> ast.Node:
        if node.op != enums.SetOperation.SETOP_NONE:
            # Only the first branch names the columns; the server prints those names as
            # aliases on the later branches too (``UNION ALL SELECT 1 AS id``).
            _drop_aliases(node.rarg)
            self.children(node, scope)
            return node
        from_items = node.fromClause or ()
        inner = _Scope(_from_name(from_items[0]) if len(from_items) == 1 else None)
        targets = node.targetList or ()
        self._resolve_positions(node, targets)
        new_targets = []
        for target in targets:
            if isinstance(target, ast.ResTarget):
                # The alias must be judged on what was written: the name PostgreSQL figures
                # comes from the expression before any of the rewrites below.
                if target.name is not None and target.name == _figure_colname(target.val)[0]:
                    target.name = None
                target.val = self.visit(target.val, inner)
                new_targets.append(target)
            else:
                new_targets.append(self.visit(target, inner))
        if targets:
            node.targetList = tuple(new_targets)
        self.children(node, inner, skip=("targetList",))
        return node

    def _resolve_positions(self, node: ast.SelectStmt, targets: tuple[Any, ...]) -> None:
        """``ORDER BY 1`` / ``GROUP BY 1`` / ``ORDER BY alias``: the server prints the expression."""
        def target_for(item: Any) -> Any:
            if isinstance(item, ast.A_Const) and isinstance(item.val, ast.Integer):
                pos = item.val.ival
                if 1 <= pos <= len(targets) and isinstance(targets[pos - 1], ast.ResTarget):
                    return copy.deepcopy(targets[pos - 1].val)
            return None

        if node.sortClause:
            aliases = {
                t.name: t.val for t in targets if isinstance(t, ast.ResTarget) and t.name
            }
            for sort in node.sortClause:
                found = target_for(sort.node)
                if found is None and isinstance(sort.node, ast.ColumnRef):
                    names = _names(sort.node.fields)
                    if names and len(names) == 1 and names[0] in aliases:
                        found = copy.deepcopy(aliases[names[0]])
                if found is not None:
                    sort.node = found
        if node.groupClause:
            node.groupClause = tuple(
                target_for(item) or item for item in node.groupClause
            )

    def visit_UpdateStmt(self, node: ast.UpdateStmt, scope: Scope) -> ast.Node:
        return self._dml(node, node.fromClause)

    def visit_DeleteStmt(self, node: ast.DeleteStmt, scope: Scope) -> ast.Node:
        return self._dml(node, node.usingClause)

    def _dml(self, node: Any, extra: Any) -> ast.Node:
        inner = _Scope(None if extra else _from_name(node.relation))
        self.children(node, inner)
        return node

    # -- names

    def visit_ColumnRef(self, node: ast.ColumnRef, scope: Scope) -> ast.Node:
        fields = tuple(node.fields)
        three = len(fields) == 3 and isinstance(fields[0], ast.String)
        if three and fields[0].sval in _IMPLICIT_SCHEMAS:  # public.accounts.id
            fields = fields[1:]
        if len(fields) == 2 and isinstance(fields[0], ast.String):
            qualifier = fields[0].sval
            if scope is None:
                if qualifier not in _ROW_QUALIFIERS:
                    fields = fields[1:]
            elif scope.single is not None and qualifier == scope.single:
                fields = fields[1:]
        node.fields = fields
        return node

    def visit_RangeVar(self, node: ast.RangeVar, scope: Scope) -> ast.Node:
        if node.schemaname in _IMPLICIT_SCHEMAS:
            node.schemaname = None
        self.children(node, scope)
        return node

    def visit_FuncCall(self, node: ast.FuncCall, scope: Scope) -> ast.Node:
        self.children(node, scope)
        node.funcname = _strip_schema(node.funcname)
        # EXTRACT(... FROM ...), SUBSTRING(... FROM ...): one function, two spellings.
        node.funcformat = enums.CoercionForm.COERCE_EXPLICIT_CALL
        first = node.args[0] if node.args else None
        if (
            len(node.funcname or ()) == 1
            and node.funcname[0].sval in _REGCLASS_FUNCTIONS
            and isinstance(first, ast.A_Const)
            and isinstance(first.val, ast.String)
        ):
            # nextval('public.seq'): the parser coerces the literal to the regclass parameter
            # at creation, so the server prints it 'public.seq'::regclass (which the TypeCast
            # visit canonicalises): the bare literal names the same sequence the same way.
            first.val = ast.String(sval=_canonical_regname(first.val.sval))
        return node

    def visit_CollateClause(self, node: ast.CollateClause, scope: Scope) -> ast.Node:
        self.children(node, scope)
        node.collname = _strip_schema(node.collname)
        return node

    def visit_TypeName(self, node: ast.TypeName, scope: Scope) -> ast.Node:
        self.children(node, scope)
        internal = internal_type_name(node)
        if internal is not None:
            # int / integer / int4 / pg_catalog.int4 are one type; pglast prints the SQL name.
            node.names = (ast.String(sval="pg_catalog"), ast.String(sval=internal))
        else:
            node.names = _strip_schema(node.names)
        if node.arrayBounds:
            # int[3] and int[] are the same type; only the number of dimensions is printed.
            node.arrayBounds = tuple(ast.Integer(ival=-1) for _ in node.arrayBounds)
        return node

    # -- casts and constants

    def visit_TypeCast(self, node: ast.TypeCast, scope: Scope) -> ast.Node:
        self.children(node, scope)
        arg, type_name = node.arg, node.typeName
        internal = internal_type_name(type_name)
        text = _string_const(arg)
        if text is not None:
            if internal == "bool":
                word = text.strip().lower()
                if word in _TRUE_WORDS or word in _FALSE_WORDS:
                    return ast.A_Const(isnull=False, val=ast.Boolean(boolval=word in _TRUE_WORDS))
            if internal in _NUMERIC_TYPES and not type_name.arrayBounds:
                number = _number_const(text)
                if number is not None:
                    return number
            if internal in ("regclass", "regproc", "regprocedure", "regtype"):
                return ast.A_Const(isnull=False, val=ast.String(sval=_canonical_regname(text)))
            # 'active'::text, '{}'::jsonb, '90 days'::interval, 'github'::public.provider:
            # the server types every literal; people leave it to the context.
            return arg
        scalar = not type_name.arrayBounds
        if isinstance(arg, ast.A_Const) and arg.isnull:
            return arg  # NULL::text
        if _is_number_const(arg) and internal in _NUMERIC_TYPES and scalar:
            return arg  # (0)::numeric
        if (
            isinstance(arg, ast.A_ArrayExpr)
            and not scalar
            and all(isinstance(e, ast.A_Const) for e in arg.elements or ())
        ):
            return arg  # (ARRAY['a'::character varying])::text[]
        return node

    def visit_A_Const(self, node: ast.A_Const, scope: Scope) -> ast.Node:
        text = _string_const(node)
        if text is not None:
            moment = _canonical_timestamp(text)
            if moment is not None:
                node.val = ast.String(sval=moment)
        return node

    # -- operators

    def visit_A_Expr(self, node: ast.A_Expr, scope: Scope) -> ast.Node:
        self.children(node, scope)
        kind = node.kind
        node.name = _strip_schema(node.name)
        op = node.name[-1].sval if node.name and isinstance(node.name[-1], ast.String) else None
        if kind in (
            enums.A_Expr_Kind.AEXPR_LIKE,
            enums.A_Expr_Kind.AEXPR_ILIKE,
            enums.A_Expr_Kind.AEXPR_SIMILAR,
        ):
            # The parser already names the operator (~~, !~~*, ~); the server prints that.
            node.kind = enums.A_Expr_Kind.AEXPR_OP
            return node
        if kind == enums.A_Expr_Kind.AEXPR_OP:
            if op == "-" and node.lexpr is None and _is_number_const(node.rexpr):
                return _negate(node.rexpr)  # (- 1)
            if op == "+" and node.lexpr is None and _is_number_const(node.rexpr):
                return node.rexpr
            return node
        if kind == enums.A_Expr_Kind.AEXPR_IN and op in ("=", "<>"):
            return _expand_in(node, op)
        if kind in (enums.A_Expr_Kind.AEXPR_BETWEEN, enums.A_Expr_Kind.AEXPR_NOT_BETWEEN):
            return _expand_between(node)
        if kind in (enums.A_Expr_Kind.AEXPR_DISTINCT, enums.A_Expr_Kind.AEXPR_NOT_DISTINCT):
            return _distinct(node)
        return node

    def visit_BoolExpr(self, node: ast.BoolExpr, scope: Scope) -> ast.Node:
        self.children(node, scope)
        if node.boolop in (enums.BoolExprType.AND_EXPR, enums.BoolExprType.OR_EXPR):
            # a AND (b AND c) is printed as written; the meaning is one flat list.
            flat: list[Any] = []
            for arg in node.args:
                if isinstance(arg, ast.BoolExpr) and arg.boolop == node.boolop:
                    flat.extend(arg.args)
                else:
                    flat.append(arg)
            node.args = tuple(flat)
        return node

    def visit_CaseExpr(self, node: ast.CaseExpr, scope: Scope) -> ast.Node:
        self.children(node, scope)
        # transformCaseExpr gives a CASE without ELSE an ``ELSE NULL`` of the result type,
        # which ruleutils prints (``ELSE NULL::integer``): the same CASE.
        default = node.defresult
        if isinstance(default, ast.TypeCast):
            default = default.arg
        if _is_null(default):
            node.defresult = None
        return node

    def visit_SubLink(self, node: ast.SubLink, scope: Scope) -> ast.Node:
        self.children(node, scope)
        node.operName = _strip_schema(node.operName)
        if node.subLinkType == enums.SubLinkType.ANY_SUBLINK and _names(node.operName) == ["="]:
            node.operName = None  # x = ANY (SELECT ...) is printed as x IN (SELECT ...)
        return node

    def visit_SortBy(self, node: ast.SortBy, scope: Scope) -> ast.Node:
        self.children(node, scope)
        node.useOp = _strip_schema(node.useOp)
        if node.sortby_dir == enums.SortByDir.SORTBY_ASC:
            node.sortby_dir = enums.SortByDir.SORTBY_DEFAULT
        descending = node.sortby_dir == enums.SortByDir.SORTBY_DESC
        default_nulls = (
            enums.SortByNulls.SORTBY_NULLS_FIRST if descending
            else enums.SortByNulls.SORTBY_NULLS_LAST
        )
        if node.sortby_nulls == default_nulls:
            node.sortby_nulls = enums.SortByNulls.SORTBY_NULLS_DEFAULT
        return node


def _drop_aliases(node: Any) -> None:
    """Remove the column aliases of every branch of a set operation."""
    if not isinstance(node, ast.SelectStmt):
        return
    if node.op != enums.SetOperation.SETOP_NONE:
        _drop_aliases(node.larg)
        _drop_aliases(node.rarg)
        return
    for target in node.targetList or ():
        if isinstance(target, ast.ResTarget):
            target.name = None


def _op(name: str, left: Any, right: Any) -> ast.A_Expr:
    return ast.A_Expr(
        kind=enums.A_Expr_Kind.AEXPR_OP, name=(ast.String(sval=name),), lexpr=left, rexpr=right
    )


def _bool(op: int, args: list[Any]) -> Any:
    return args[0] if len(args) == 1 else ast.BoolExpr(boolop=op, args=tuple(args))


def _expand_in(node: ast.A_Expr, op: str) -> Any:
    """``x IN (a, b)`` as parse analysis stores it (``transformAExprIn``).

    Constants (anything without a column) become one ``x = ANY (ARRAY[...])`` when there are
    two or more of them; the rest are compared one by one and joined with OR (AND for NOT IN).
    """
    items = list(node.rexpr)
    nonvars = [i for i in items if not _contains(i, ast.ColumnRef)]
    parts: list[Any] = []
    if len(nonvars) > 1:
        kind = enums.A_Expr_Kind.AEXPR_OP_ANY if op == "=" else enums.A_Expr_Kind.AEXPR_OP_ALL
        array = ast.A_ArrayExpr(elements=tuple(nonvars))
        parts.append(
            ast.A_Expr(kind=kind, name=(ast.String(sval=op),), lexpr=node.lexpr, rexpr=array)
        )
        items = [i for i in items if _contains(i, ast.ColumnRef)]
    for item in items:
        parts.append(_op(op, copy.deepcopy(node.lexpr), item))
    joiner = enums.BoolExprType.OR_EXPR if op == "=" else enums.BoolExprType.AND_EXPR
    return _bool(joiner, parts)


def _is_null(node: Any) -> bool:
    return isinstance(node, ast.A_Const) and bool(node.isnull)


def _distinct(node: ast.A_Expr) -> Any:
    """``IS [NOT] DISTINCT FROM`` as parse analysis stores it (``transformAExprDistinct``): a
    NULL literal on either side makes it ``IS [NOT] NULL`` of the other side, and ``a IS NOT
    DISTINCT FROM b`` is ``NOT (a IS DISTINCT FROM b)``."""
    negated = node.kind == enums.A_Expr_Kind.AEXPR_NOT_DISTINCT
    for this, other in ((node.rexpr, node.lexpr), (node.lexpr, node.rexpr)):
        if _is_null(this):
            test = enums.NullTestType.IS_NULL if negated else enums.NullTestType.IS_NOT_NULL
            return ast.NullTest(arg=other, nulltesttype=test, argisrow=False)
    if not negated:
        return node
    node.kind = enums.A_Expr_Kind.AEXPR_DISTINCT
    return ast.BoolExpr(boolop=enums.BoolExprType.NOT_EXPR, args=(node,))


def _expand_between(node: ast.A_Expr) -> Any:
    """``a BETWEEN x AND y`` is stored as ``a >= x AND a <= y`` (``transformAExprBetween``)."""
    low, high = node.rexpr
    if node.kind == enums.A_Expr_Kind.AEXPR_BETWEEN:
        return _bool(
            enums.BoolExprType.AND_EXPR,
            [_op(">=", node.lexpr, low), _op("<=", copy.deepcopy(node.lexpr), high)],
        )
    return _bool(
        enums.BoolExprType.OR_EXPR,
        [_op("<", node.lexpr, low), _op(">", copy.deepcopy(node.lexpr), high)],
    )


@lru_cache(maxsize=65536)
def _canonical_timestamp(text: str) -> str | None:
    """One spelling for a literal that is an ISO date or timestamp, else None.

    The server stores ``'2024-01-01'`` on a timestamptz as a point in time and prints it back as
    ``'2024-01-01 00:00:00+00'`` in the reading session's time zone. Both spellings become the
    UTC timestamp without zone. This assumes the fragment was created, and is read, in UTC
    (Supabase's setting); a literal with an explicit offset is converted, so it stays distinct.
    """
    value = text.strip()
    if len(value) < 10 or value[4] != "-" or value[7] != "-" or not value[:4].isdigit():
        return None
    candidate = value
    if len(candidate) > 3 and candidate[-3] in "+-" and candidate[-2:].isdigit():
        candidate += ":00"  # PostgreSQL prints '+00'; Python wants '+00:00'
    try:
        moment = datetime.datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


@lru_cache(maxsize=65536)
def _canonical_regname(text: str) -> str:
    """``'public.accounts_id_seq'`` inside a regclass literal, written as people write it.

    regclass input follows identifier rules (unquoted names fold to lower case) and its output
    qualifies names outside the search_path, so ``'public.Seq'`` and ``'seq'`` are one relation.
    """
    try:
        stmts = pglast.parse_sql(f"SELECT * FROM {text}")
    except pglast.parser.ParseError:
        return text
    select = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(select, ast.SelectStmt) or not select.fromClause:
        return text
    rel = select.fromClause[0]
    if not isinstance(rel, ast.RangeVar) or len(select.fromClause) != 1 or rel.alias:
        return text
    from pgspec.quoting import qualified

    if rel.schemaname and rel.schemaname not in _IMPLICIT_SCHEMAS:
        return qualified(rel.schemaname, rel.relname)
    return qualified(rel.relname)


def _rewrite(node: Any, scope: Scope) -> Any:
    return _Canon().visit(node, scope)


# --------------------------------------------------------------------------- public API


@lru_cache(maxsize=16384)
def canonical_expression(text: str) -> str:
    """The canonical text of a scalar expression (default, CHECK, WHERE, USING, WHEN, ...).

    >>> canonical_expression("status IN ('a', 'b')") == canonical_expression(
    ...     "((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))")
    True
    """
    return _deparse(expression_tree(text), "expression", text)


@lru_cache(maxsize=TREES)
def expression_tree(text: str) -> ast.Node:
    """The rewritten parse tree ``canonical_expression`` prints; errors are its errors.

    Equal trees print equal text (the printer reads nothing else; ``Node.__eq__`` ignores only
    source positions), so two fragments whose trees are equal are equivalent without printing
    either: printing was two thirds of the cost. Treat the tree as read-only.
    """
    source = text.strip()
    if not source:
        raise SqlError("empty expression")
    stmts = _parse(f"SELECT {source}", "expression", text)
    select = stmts[0].stmt if len(stmts) == 1 else None
    if (
        not isinstance(select, ast.SelectStmt)
        or select.op != enums.SetOperation.SETOP_NONE
        or not select.targetList
        or len(select.targetList) != 1
        or select.targetList[0].name is not None
        or any(
            getattr(select, attr)
            for attr in (
                "fromClause", "whereClause", "groupClause", "havingClause", "sortClause",
                "windowClause", "distinctClause", "intoClause", "limitCount", "limitOffset",
                "lockingClause", "withClause", "valuesLists",
            )
        )
    ):
        raise SqlError(f"invalid expression {text!r}: not a single scalar expression")
    return _rewrite(select.targetList[0].val, None)


@lru_cache(maxsize=65536)
def canonical_query(text: str) -> str:
    """The canonical text of a view's SELECT (a trailing ``;`` is allowed)."""
    return _deparse(query_tree(text), "query", text)


@lru_cache(maxsize=TREES)
def query_tree(text: str) -> ast.Node:
    """The rewritten parse tree ``canonical_query`` prints (see ``expression_tree``)."""
    if not text.strip():
        raise SqlError("empty query")
    stmts = _parse(text, "query", text)
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
        raise SqlError(f"invalid query {text!r}: expected one SELECT statement")
    return _rewrite(stmts[0].stmt, None)


@lru_cache(maxsize=65536)
def canonical_definition(text: str) -> str:
    """The canonical text of a whole constraint clause (``CHECK (...)``, ``EXCLUDE USING ...``).

    The constraint's own name is not part of the clause (``pg_get_constraintdef`` omits it).
    """
    if not text.strip():
        raise SqlError("empty constraint definition")
    stmts = _parse(f"ALTER TABLE x ADD {text}", "constraint definition", text)
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if (
        not isinstance(stmt, ast.AlterTableStmt)
        or len(stmt.cmds) != 1
        or not isinstance(stmt.cmds[0].def_, ast.Constraint)
    ):
        raise SqlError(f"invalid constraint definition {text!r}")
    constraint: ast.Constraint = stmt.cmds[0].def_
    constraint.conname = None
    if constraint.contype == enums.ConstrType.CONSTR_EXCLUSION:
        constraint.access_method = constraint.access_method or "btree"
        constraint.exclusions = tuple(
            (elem, _strip_schema(tuple(op))) for elem, op in constraint.exclusions
        )
    node = _rewrite(constraint, None)
    return _deparse(node, "constraint definition", text)


@lru_cache(maxsize=65536)
def canonical_statements(text: str) -> str:
    """Canonical text of a list of SQL statements (a ``LANGUAGE sql`` body), one per line."""
    stmts = _parse(text, "sql", text)
    return canonical_statement_nodes(tuple(s.stmt for s in stmts), text)


def canonical_statement_nodes(nodes: tuple[ast.Node, ...], text: str) -> str:
    """Canonical text of already-parsed statements (shared with BEGIN ATOMIC bodies)."""
    out = []
    for node in nodes:
        out.append(_deparse(_rewrite(node, None), "sql", text) + ";")
    return "\n".join(out)
