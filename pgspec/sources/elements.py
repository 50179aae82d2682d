"""Index elements (``lower(email)``, ``created_at DESC``, ``name text_pattern_ops``) as IndexKeys.

Every source meets index elements: the spec writes them as SQL text, dumps and scripts carry
them inside ``CREATE INDEX``, the server prints them with ``pg_get_indexdef``. They all go
through pglast's parse tree and this one conversion, so ``(a DESC NULLS FIRST)`` and
``(a DESC)`` become the same IndexKey whichever source wrote them.
"""

from __future__ import annotations

from typing import Literal

import pglast
from pglast import ast, enums
from pglast.stream import RawStream

from pgspec.catalog import IndexKey
from pgspec.errors import SqlError, UnsupportedError
from pgspec.quoting import qualified


def _any_name(names: tuple[ast.String, ...] | None) -> str | None:
    """An opclass or collation name: bare, or qualified when a schema other than pg_catalog
    is written (pg_catalog is always on the search path, so naming it changes nothing)."""
    if not names:
        return None
    parts = [n.sval or "" for n in names]
    if len(parts) > 1 and parts[0] == "pg_catalog":
        parts = parts[1:]
    if len(parts) == 1:
        return parts[0]
    return qualified(*parts)


def index_key_from_node(elem: ast.IndexElem, default_schema: str = "public") -> IndexKey:
    """The IndexKey of one parsed index element.

    ``default_schema`` is accepted so every reader calls this the same way; opclasses and
    collations resolve through the search path, not the table's schema, so an unqualified
    one stays unqualified.
    """
    del default_schema  # see the docstring: names are kept as written
    if elem.opclassopts:
        raise UnsupportedError(
            f"operator class parameters are not supported: {RawStream()(elem)!r}"
        )
    column: str | None = elem.name
    expression: str | None = None
    collation = _any_name(elem.collation)
    expr = elem.expr
    # PostgreSQL treats "(col)" and "(col COLLATE x)" as the plain column (ComputeIndexAttrs in
    # src/backend/commands/indexcmds.c: "User wrote (column) ... treat it like simple attribute").
    # The COLLATE of "(col COLLATE x)" is the element's collation (CollateExpr stripped there).
    if (
        isinstance(expr, ast.CollateClause)
        and isinstance(expr.arg, ast.ColumnRef)
        and collation is None
    ):
        collation = _any_name(expr.collname)
        expr = expr.arg
    if (
        isinstance(expr, ast.ColumnRef)
        and expr.fields is not None
        and len(expr.fields) == 1
        and isinstance(expr.fields[0], ast.String)
    ):
        column = expr.fields[0].sval
    elif expr is not None:
        expression = RawStream()(expr)
    if elem.ordering == enums.SortByDir.SORTBY_USING:
        raise SqlError(f"USING is not valid in an index element: {RawStream()(elem)!r}")
    order: Literal["asc", "desc"] = "desc" if elem.ordering == enums.SortByDir.SORTBY_DESC else "asc"
    nulls: Literal["first", "last"] | None = None
    if elem.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_FIRST:
        nulls = "first"
    elif elem.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_LAST:
        nulls = "last"
    # The default is NULLS LAST for ASC and NULLS FIRST for DESC: store only a departure.
    if nulls == ("first" if order == "desc" else "last"):
        nulls = None
    return IndexKey(
        column=column,
        expression=expression,
        order=order,
        nulls=nulls,
        opclass=_any_name(elem.opclass),
        collation=collation,
    )


def parse_index_element(text: str) -> IndexKey:
    """The IndexKey of one element written as in SQL, e.g. ``"created_at DESC NULLS LAST"``.

    The text is parsed as the only element of a synthetic ``CREATE INDEX`` so that the real
    grammar decides what is a column, an expression, an opclass or an ordering.
    """
    source = text.strip()
    if not source:
        raise SqlError("empty index element")
    try:
        stmts = pglast.parse_sql(f"CREATE INDEX x ON t ({source})")
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid index element {text!r}: {exc.args[0]}") from None
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if (not isinstance(stmt, ast.IndexStmt) or not stmt.indexParams
            or len(stmt.indexParams) != 1 or stmt.whereClause):
        raise SqlError(f"invalid index element {text!r}: write exactly one element")
    if stmt.indexIncludingParams or stmt.options or stmt.tableSpace:
        raise SqlError(f"invalid index element {text!r}: write exactly one element")
    return index_key_from_node(stmt.indexParams[0])
