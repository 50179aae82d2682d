"""Comparing view queries with their column references resolved.

PostgreSQL stores a view as a parse tree whose columns are (range table entry, attribute
number) pairs, and ``pg_get_viewdef`` prints every column of a query over more than one FROM
item with its item's name: ``SELECT a.id, name FROM a JOIN b ...`` comes back as
``SELECT a.id, b.name FROM (public.a JOIN public.b ...)``. Which item a bare ``name`` belongs
to depends on the columns of ``a`` and ``b``, which the text does not say and the context-free
canonical form (``normalize.expressions``) cannot know. Here each side's query is resolved with
the column lists of its own catalog (tables, views, materialized views): every bare column is
qualified with its FROM item, as the server's parse analysis did, then canonicalised as usual.

The same catalog tells what else the server settled when it stored the view and prints
back: the columns ``*`` and ``t.*`` stood for, which side's column a ``JOIN ... USING`` (or
``NATURAL``) column is, a join alias's column list, the ``_1`` names it gives a relation an
enclosing level already names, and the casts parse analysis adds to an integer operand of a
numeric or float operator. Each is rebuilt only from what the catalog states (column names,
canonical types); anything else raises ``_Uncertain`` and the query is compared as written.

Only queries whose texts differ and whose context-free forms differ get here, so a clean
``verify`` parses nothing. A column that cannot be attributed with certainty (a relation or a
function whose columns are unknown, a name two items have) leaves that side's query as written:
a real difference is never hidden by a guess.
"""

from __future__ import annotations

from typing import Any

import pglast
from pglast import ast, enums

from pgspec.catalog import Catalog
from pgspec.normalize.compare import equivalent
from pgspec.normalize.expressions import _deparse, _rewrite, query_tree
from pgspec.normalize.scope import Item, Relations, Resolver, Scope, output_names, strings
from pgspec.normalize.trees import nodes
from pgspec.normalize.typed import (
    TEXT_FUNCTIONS,
    cast_type,
    string_kind,
    string_operand_casts,
    unchanged_by_cast,
)
from pgspec.quoting import qualified

__all__ = ["catalog_relations", "queries_equivalent", "resolved_query_tree"]


class _Uncertain(Exception):
    """A bare column whose FROM item cannot be told for certain."""


#: Canonical names of the integer types, and of the types they are implicitly promoted to
#: when the other operand of an arithmetic or comparison operator has that type.
_INTEGERS = frozenset({"smallint", "integer", "bigint"})
_PROMOTED = {"numeric": "numeric", "double precision": "float8"}
#: Operators PostgreSQL defines for numeric x numeric and float8 x float8 but never for an
#: integer with either: ``price * qty`` resolves to numeric * numeric after the implicit cast
#: ``(qty)::numeric`` (``func_select_candidate``: the candidate with an exact match and the
#: preferred type wins), and the server prints that cast.
_PROMOTING_OPERATORS = frozenset({"+", "-", "*", "/", "%", "=", "<>", "<", ">", "<=", ">="})


def _base_type(name: str | None) -> str | None:
    """``numeric(12,2)`` -> ``numeric``; array and other types -> None."""
    if name is None or name.endswith("]"):
        return None
    return name.split("(", 1)[0]


class _Qualifier(Resolver):
    """Qualifies every bare column reference with the name of the FROM item it belongs to,
    and spells the query as ruleutils prints it where that follows from the catalog: FROM
    items (see ``from_item``), ``*`` expanded, USING columns as the join stores them, names
    an enclosing level uses renamed (``projects_1``), and integer operands of a numeric or
    float operator cast as parse analysis casts them."""

    merge_using = True

    def __init__(self, relations: Relations, outputs: frozenset[int] = frozenset()) -> None:
        super().__init__(relations)
        #: Query levels (``id`` of their Scope) whose FROM items a reference has named.
        self._named: set[int] = set()
        #: Column references, casts and text results (by ``id``) whose canonical type is known.
        self._types: dict[int, str] = {}
        #: Output expressions (``id`` of a target's value): a cast there types the column.
        self._outputs = outputs
        #: Casts (by ``id``) the server does not store or that cannot change the meaning,
        #: replaced by their operand once the walk is done (``without_casts``).
        self.dropped: set[int] = set()

    def _note(self, item: Item | None, scope: Scope) -> None:
        for level in scope.chain():
            if any(i is item for i in level.items):
                self._named.add(id(level))
                return

    def visit_ColumnRef(self, node: ast.ColumnRef, scope: Scope) -> None:
        fields = node.fields
        if len(fields) == 1 and isinstance(fields[0], ast.String):
            name = fields[0].sval
            item, certain = self.bare(name, scope)
            if not certain:
                raise _Uncertain(name)
            if item is None:
                item = self._whole_row(name, scope)
                if item is None:
                    return
                assert item.columns is not None
                name = next(iter(item.columns))
                node.fields = (ast.String(sval=item.out or ""), ast.String(sval=name))
            elif item.merged is not None:
                node.fields = tuple(ast.String(sval=n) for n in item.merged[name])
                if len(node.fields) > 1:
                    self.visit_ColumnRef(node, scope)  # the joined side's item names it
                    return
            elif item.refname is None:
                raise _Uncertain(name)
            else:
                node.fields = (ast.String(sval=item.out), fields[0])
            if item.types is not None and name in item.types:
                self._types[id(node)] = item.types[name]
        else:
            names = strings(fields)
            star = isinstance(fields[-1], ast.A_Star)
            qualifiers = names if star else names[:-1]
            item = self.qualified_item(qualifiers[-2:], scope) if qualifiers else None
            if item is not None and item.printed is not None:
                node.fields = (ast.String(sval=item.printed), fields[-1])
            if item is not None and not star and item.types is not None:
                found = item.types.get(names[-1])
                if found is not None:
                    self._types[id(node)] = found
        self._note(item, scope)

    def _whole_row(self, name: str, scope: Scope) -> Item | None:
        """A name no FROM item has as a column may name a FROM item (a whole-row reference,
        ``transformColumnRef``); for a function of one scalar column that is the column,
        printed ``item.value``. None for anything else (left as written)."""
        for level in scope.chain():
            for item in level.items:
                if item.refname == name:
                    return item if item.scalar and item.columns else None
        return None

    def from_item(self, node: Any, scope: Scope) -> list[Item]:
        """The server prints a relation's column aliases for every column (``q(i, j, note)``
        for ``a AS q(i, j)``), a function's alias and columns always (``unnest(b.tags)
        t(t)``), LATERAL before a function whose arguments name a FROM item beside it
        (``transformRangeFunction``), and the names it gave items an enclosing level uses
        (``projects projects_1``): each side is spelled so, where its columns are known."""
        if not isinstance(node, ast.RangeFunction):
            items = super().from_item(node, scope)
            alias = getattr(node, "alias", None)
            if (isinstance(node, ast.RangeVar) and alias is not None and alias.colnames
                    and items[0].columns is not None):
                alias.colnames = tuple(ast.String(sval=n) for n in items[0].columns)
            if (isinstance(node, ast.JoinExpr) and alias is not None
                    and items[0].columns is not None):
                # ``j(id, org_id, ..., org_id_1, ...)``: the server names every column.
                alias.colnames = tuple(ast.String(sval=n) for n in items[0].columns)
            printed = items[0].printed if items else None
            if printed is not None and isinstance(
                node, ast.RangeVar | ast.RangeSubselect | ast.JoinExpr
            ):
                if alias is None:
                    node.alias = ast.Alias(aliasname=printed)
                else:
                    alias.aliasname = printed
            return items
        named, self._named = self._named, set()
        items = super().from_item(node, scope)
        if id(scope) in self._named:
            node.lateral = True
        self._named |= named
        item = items[0]
        if item.columns is not None and item.out is not None and not node.coldeflist:
            node.alias = ast.Alias(aliasname=item.out,
                                   colnames=tuple(ast.String(sval=n) for n in item.columns))
        return items

    def from_done(self, node: ast.SelectStmt, scope: Scope) -> None:
        """``*`` and ``t.*`` in the target list are the columns they stand for: the server
        expands them when the view is created (``ExpandColumnRefStar``), in FROM order, a
        USING join's merged columns first."""
        targets = node.targetList or ()
        if not any(isinstance(t, ast.ResTarget) and isinstance(t.val, ast.ColumnRef)
                   and isinstance(t.val.fields[-1], ast.A_Star) for t in targets):
            return
        expanded: list[Any] = []
        for target in targets:
            ref = target.val if isinstance(target, ast.ResTarget) else None
            if not isinstance(ref, ast.ColumnRef) or not isinstance(ref.fields[-1], ast.A_Star):
                expanded.append(target)
                continue
            qualifiers = strings(ref.fields)
            if qualifiers:
                item = self.qualified_item(qualifiers[-2:], scope)
                if item is None or item.columns is None or item.refname is None:
                    raise _Uncertain("*")
                columns = [(item.refname, n) for n in item.columns]
            else:
                columns = []
                for item in scope.items:
                    if item.columns is None:
                        raise _Uncertain("*")
                    for name in item.columns:
                        if name in item.hidden:
                            continue
                        if item.merged is not None:
                            columns.append(item.merged[name])
                        elif item.refname is None:
                            raise _Uncertain("*")
                        else:
                            columns.append((item.refname, name))
            expanded.extend(
                ast.ResTarget(val=ast.ColumnRef(fields=tuple(ast.String(sval=p) for p in parts)))
                for parts in columns
            )
        node.targetList = tuple(expanded)

    def targets_done(self, targets: list[ast.ResTarget], figured: list[str | None]) -> None:
        """An output column keeps the name it was given as written, which the server prints
        as an alias where its printed expression would figure another (``item.value AS
        item``)."""
        from pgspec.normalize.expressions import _figure_colname

        for target, name in zip(targets, figured, strict=True):
            if name is not None and _figure_colname(target.val)[0] != name:
                target.name = name

    def visit_TypeCast(self, node: ast.TypeCast, scope: Scope) -> None:
        """A cast to a column's own type is one the server does not store; a varchar column
        relabelled to text is the one it adds itself (``typed.unchanged_by_cast``), dropped
        except where it types an output column. Any other cast stays (``status::text`` on an
        enum, ``code::text`` on a char(n): another meaning)."""
        self.children(node, scope)
        target = cast_type(node.typeName)
        if target is None:
            return
        self._types[id(node)] = target
        operand = self._types.get(id(node.arg))
        if operand is None or isinstance(node.arg, ast.A_Const):
            return
        reason = unchanged_by_cast(target, operand)
        if reason == "same" or (reason == "relabel" and id(node) not in self._outputs):
            self.dropped.add(id(node))
            if target != "text":
                self._types[id(node)] = operand

    def visit_FuncCall(self, node: ast.FuncCall, scope: Scope) -> None:
        """``upper(code)`` on a char(n) column: the function takes text only, and function
        resolution casts the argument (``typed.TEXT_FUNCTIONS``)."""
        self.children(node, scope)
        parts = strings(node.funcname)
        name = parts[-1] if len(parts) == 1 or parts[:1] == ["pg_catalog"] else None
        if (name not in TEXT_FUNCTIONS or (len(parts) == 1 and self.relations.user_function(parts))
                or node.agg_star or node.func_variadic or not node.args):
            return
        node.args = tuple(
            _cast(arg, "text") if string_kind(self._types.get(id(arg))) == "bpchar"
            and not isinstance(arg, ast.A_Const) else arg for arg in node.args)
        if TEXT_FUNCTIONS[name]:  # type: ignore[index]
            self._types[id(node)] = "text"

    def _string_casts(self, node: ast.A_Expr) -> None:
        """The casts parse analysis adds to char(n) operands (``typed.string_operand_casts``)."""
        op = strings(node.name)
        if len(op) != 1:
            return
        types = [self._string_type(node.lexpr), self._string_type(node.rexpr)]
        left, right = string_operand_casts(op[0], *types)
        if left is not None:
            node.lexpr = _cast(node.lexpr, left)
            types[0] = left
        if right is not None:
            node.rexpr = _cast(node.rexpr, right)
            types[1] = right
        if op[0] == "||" and any(string_kind(t) for t in types):
            self._types[id(node)] = "text"

    def _string_type(self, node: Any) -> str | None:
        if isinstance(node, ast.A_Const) and (node.isnull or isinstance(node.val, ast.String)):
            return "unknown"
        return self._types.get(id(node))

    def visit_A_Expr(self, node: ast.A_Expr, scope: Scope) -> None:
        """An integer column beside a numeric or double precision one (or a numeric
        constant), or a numeric column beside a double precision one, under an operator
        those types share is cast as parse analysis casts it; nothing else is (an explicit
        cast is the user's and stays). A char(n) operand is cast as ``_string_casts`` says."""
        self.children(node, scope)
        if node.kind in (enums.A_Expr_Kind.AEXPR_OP, enums.A_Expr_Kind.AEXPR_DISTINCT,
                         enums.A_Expr_Kind.AEXPR_NOT_DISTINCT):
            self._string_casts(node)
        if node.kind != enums.A_Expr_Kind.AEXPR_OP or strings(node.name) not in (
            [op] for op in _PROMOTING_OPERATORS
        ):
            return
        kinds = [self._operand_type(node.lexpr), self._operand_type(node.rexpr)]
        for i, side in enumerate((node.lexpr, node.rexpr)):
            kind, other = kinds[i], kinds[1 - i]
            if not isinstance(side, ast.ColumnRef) or other not in _PROMOTED:
                continue
            if kind in _INTEGERS or (kind == "numeric" and other == "double precision"):
                cast = ast.TypeCast(arg=side, typeName=ast.TypeName(
                    names=(ast.String(sval="pg_catalog"), ast.String(sval=_PROMOTED[other])),
                    typemod=-1))
                if i == 0:
                    node.lexpr = cast
                else:
                    node.rexpr = cast

    def _operand_type(self, node: Any) -> str | None:
        if isinstance(node, ast.ColumnRef):
            return _base_type(self._types.get(id(node)))
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Float):
            text = node.val.fval
            if "." in text or "e" in text.lower():
                return "numeric"  # 1.5 is numeric; 10000000000 is bigint
        return None

    def output_reference(self, expr: ast.ColumnRef, target: ast.ResTarget) -> None:
        # ORDER BY an output column is that target entry: the server prints its expression.
        if isinstance(target.val, ast.ColumnRef):
            expr.fields = tuple(target.val.fields)


def resolved_query_tree(text: str, relations: Relations) -> ast.Node:
    """The canonical tree of a view query with its bare columns qualified (``query_tree``'s
    tree when any column cannot be attributed for certain). Raises ``SqlError`` as
    ``query_tree`` does."""
    plain = query_tree(text)  # validates the text, and is the answer when resolution fails
    stmt = pglast.parse_sql(text)[0].stmt
    outputs = frozenset(id(n.val) for n in nodes(stmt) if isinstance(n, ast.ResTarget))
    qualifier = _Qualifier(relations, outputs)
    try:
        qualifier.visit(stmt, Scope([], None))
    except _Uncertain:
        return plain
    return _rewrite(_without_casts(stmt, qualifier.dropped), None)


def _cast(node: Any, kind: str) -> ast.TypeCast:
    return ast.TypeCast(arg=node, typeName=ast.TypeName(
        names=(ast.String(sval="pg_catalog"), ast.String(sval=kind)), typemod=-1))


def _without_casts(node: Any, dropped: set[int]) -> Any:
    """``node`` with each cast in ``dropped`` replaced by its operand."""
    if isinstance(node, tuple | list):
        return tuple(_without_casts(n, dropped) for n in node)
    if not isinstance(node, ast.Node):
        return node
    while isinstance(node, ast.TypeCast) and id(node) in dropped:
        node = node.arg
    if dropped:
        for attr in node:
            value = getattr(node, attr)
            if isinstance(value, ast.Node | tuple | list):
                setattr(node, attr, _without_casts(value, dropped))
    return node


def queries_equivalent(a: str, b: str, a_relations: Relations, b_relations: Relations) -> bool:
    """Whether two view queries mean the same, each read against its own catalog's relations.

    Equal texts are never parsed; the context-free comparison (``equivalent``) is tried next,
    and only then are columns resolved.
    """
    if a == b or equivalent("query", a, b):
        return True
    tree_a = resolved_query_tree(a, a_relations)
    tree_b = resolved_query_tree(b, b_relations)
    if tree_a == tree_b:
        return True
    return _deparse(tree_a, "query", a) == _deparse(tree_b, "query", b)


#: Relations per catalog, made on first use by a diff (the catalog is kept so its id stays
#: its own while the entry lives).
_BY_CATALOG: dict[int, tuple[Catalog, Relations]] = {}


def catalog_relations(catalog: Catalog) -> Relations:
    """What resolution knows from a Catalog: relation columns from its tables, views (their
    ``columns``, else the output names of their query) and materialized views.

    A relation named without a schema is ``public``'s: specs are rendered and applied under
    the default search_path, the live reader reads under an empty one (every name qualified),
    and the replay qualifies names it resolved to another schema.
    """
    found = _BY_CATALOG.get(id(catalog))
    if found is not None and found[0] is catalog:
        return found[1]
    columns_cache: dict[str, list[str] | None] = {}
    function_names: set[str] = set()

    def key(node: ast.RangeVar) -> str:
        return qualified(node.schemaname or "public", node.relname)

    def columns(rel: str) -> list[str] | None:
        if rel not in columns_cache:
            columns_cache[rel] = _columns(catalog, rel)
        return columns_cache[rel]

    def user_function(parts: list[str]) -> bool:
        if not function_names:
            function_names.update(qualified(f.schema_name, f.name)
                                  for f in catalog.functions.values())
            function_names.add("")  # computed, even when the catalog has no functions
        return len(parts) == 1 and qualified("public", parts[0]) in function_names

    def types(rel: str) -> dict[str, str] | None:
        table = catalog.tables.get(rel)
        return None if table is None else {c.name: c.type for c in table.columns}

    relations = Relations(key=key, columns=columns, user_function=user_function, types=types)
    if len(_BY_CATALOG) >= 8:
        _BY_CATALOG.clear()
    _BY_CATALOG[id(catalog)] = (catalog, relations)
    return relations


def _columns(catalog: Catalog, key: str) -> list[str] | None:
    table = catalog.tables.get(key)
    if table is not None:
        return [c.name for c in table.columns]
    view: Any = catalog.views.get(key) or catalog.materialized_views.get(key)
    if view is None:
        return None
    if view.columns:
        return list(view.columns)
    try:
        return output_names(pglast.parse_sql(view.query)[0].stmt)
    except pglast.parser.ParseError:
        return None
