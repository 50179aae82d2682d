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
``NATURAL``) column is, a join alias's column list, and the ``_1`` names it gives a relation
an enclosing level already names. Each is rebuilt only from what the catalog states (column
names, canonical types); anything else raises ``_Uncertain`` and the query is compared as
written.

Once every column reference is resolved, its type is known where its FROM item's is (a
table's columns, a view's output columns where its own query states them), and the query is
typed as a table's expressions are (``typed.type_query``, the rules of ``normalize.typed``):
the casts parse analysis adds are added (``(qty)::numeric * price``, ``COALESCE(v, (t)::
character varying)``, ``(code)::text`` under a text operator on a char(n)), the ones it adds
that cannot change the meaning are dropped on both sides (a varchar relabelled to text
inside an expression; never at an output column, whose type it sets), and every cast that
may change the meaning stays (``status::text`` on an enum). Casts that depend on a
function's signature (its argument coerced to a parameter type) are not known offline and
stay as written: ``--dev-db`` settles them.

Only queries whose texts differ and whose context-free forms differ get here, so a clean
``verify`` parses nothing. A column that cannot be attributed with certainty (a relation or a
function whose columns are unknown, a name two items have) leaves that side's query as written:
a real difference is never hidden by a guess.
"""

from __future__ import annotations

from typing import Any

import pglast
from pglast import ast

from pgspec.catalog import Catalog
from pgspec.normalize.compare import equivalent
from pgspec.normalize.expressions import _deparse, _rewrite, query_tree
from pgspec.normalize.scope import Item, Relations, Resolver, Scope, output_names, strings
from pgspec.normalize.trees import nodes
from pgspec.quoting import qualified

__all__ = ["catalog_relations", "queries_equivalent", "query_output_types", "resolved_query_tree"]


class _Uncertain(Exception):
    """A bare column whose FROM item cannot be told for certain."""


class _Qualifier(Resolver):
    """Qualifies every bare column reference with the name of the FROM item it belongs to,
    and spells the query as ruleutils prints it where that follows from the catalog: FROM
    items (see ``from_item``), ``*`` expanded, USING columns as the join stores them, and
    names an enclosing level uses renamed (``projects_1``). It records the type of each
    column it resolves, for the typing pass that follows (``resolved_query_tree``)."""

    merge_using = True

    def __init__(self, relations: Relations) -> None:
        super().__init__(relations)
        #: Query levels (``id`` of their Scope) whose FROM items a reference has named.
        self._named: set[int] = set()
        #: Column references (by ``id``) whose canonical type is known: ``typed.type_query``
        #: adds and drops the casts parse analysis adds from them once the walk is done.
        self.types: dict[int, str] = {}

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
                self.types[id(node)] = item.types[name]
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
                    self.types[id(node)] = found
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
            columns = self.star_columns(ref, scope)
            if columns is None:
                raise _Uncertain("*")
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

    def output_reference(self, expr: ast.ColumnRef, target: ast.ResTarget) -> None:
        # ORDER BY an output column is that target entry: the server prints its expression.
        if isinstance(target.val, ast.ColumnRef):
            expr.fields = tuple(target.val.fields)


class _UserFunctions:
    """The bare function names a catalog's own functions may take (``typed.TEXT_FUNCTIONS``
    casts are not assumed for them), asked of its Relations."""

    def __init__(self, relations: Relations) -> None:
        self.relations = relations

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.relations.user_function([name])


def _resolved(text: str, relations: Relations) -> tuple[Any, list[str | None] | None] | None:
    """A view query parsed, its columns qualified and its operands typed (the casts parse
    analysis adds, added; the ones it stores for nothing, dropped), with its output column
    types; None when a column cannot be attributed for certain."""
    stmt = pglast.parse_sql(text)[0].stmt
    qualifier = _Qualifier(relations)
    try:
        qualifier.visit(stmt, Scope([], None))
    except _Uncertain:
        return None
    # Imported here: only a query whose text differs is typed (a clean diff never is).
    from pgspec.normalize.typed import type_query

    types = type_query(stmt, qualifier.types, _outputs(stmt), _UserFunctions(relations))
    return stmt, types


def _outputs(stmt: Any) -> frozenset[int]:
    """The nodes (by ``id``) whose type is an output column's: each target's value, and
    what a COALESCE, GREATEST/LEAST or CASE there takes its type from. A relabel cast
    among them (``COALESCE((email)::text, '')``) changes a column of the view from varchar
    to text: it is the meaning there, not the server's own cast. Every SELECT level counts
    (a subquery's columns type the level above)."""
    found: set[int] = set()

    def add(node: Any) -> None:
        found.add(id(node))
        if isinstance(node, ast.CoalesceExpr | ast.MinMaxExpr):
            for arg in node.args or ():
                add(arg)
        elif isinstance(node, ast.CaseExpr):
            for when in node.args or ():
                add(when.result)
            if node.defresult is not None:
                add(node.defresult)

    for node in nodes(stmt):
        if isinstance(node, ast.ResTarget) and node.val is not None:
            add(node.val)
    return frozenset(found)


def resolved_query_tree(text: str, relations: Relations) -> ast.Node:
    """The canonical tree of a view query with its bare columns qualified and its operands
    typed (``query_tree``'s tree when any column cannot be attributed for certain). Raises
    ``SqlError`` as ``query_tree`` does."""
    plain = query_tree(text)  # validates the text, and is the answer when resolution fails
    found = _resolved(text, relations)
    if found is None:
        return plain
    return _rewrite(found[0], None)


def query_output_types(text: str, relations: Relations) -> list[str | None] | None:
    """The canonical types of a view query's output columns, where its columns' types and
    the operators over them state them (None for each other; None for all when the query
    does not parse or a column cannot be attributed)."""
    try:
        found = _resolved(text, relations)
    except pglast.parser.ParseError:
        return None
    return None if found is None else found[1]


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
    ``columns``, else the output names of their query) and materialized views, and their
    types (a table's columns; a view's where its own query states them).

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

    types_cache: dict[str, dict[str, str] | None] = {}

    def types(rel: str) -> dict[str, str] | None:
        table = catalog.tables.get(rel)
        if table is not None:
            return {c.name: c.type for c in table.columns}
        if rel not in types_cache:
            types_cache[rel] = None  # a view reading itself (never stored) finds nothing
            types_cache[rel] = _view_types(catalog, rel, relations)
        return types_cache[rel]

    relations = Relations(key=key, columns=columns, user_function=user_function, types=types)
    if len(_BY_CATALOG) >= 8:
        _BY_CATALOG.clear()
    _BY_CATALOG[id(catalog)] = (catalog, relations)
    return relations


def _view_types(catalog: Catalog, key: str, relations: Relations) -> dict[str, str] | None:
    """A view's (or materialized view's) output column types, where its own query states
    them: its columns resolved and typed against the same catalog (a view over a view
    reads the inner one's the same way)."""
    view: Any = catalog.views.get(key) or catalog.materialized_views.get(key)
    names = _columns(catalog, key)
    if view is None or names is None:
        return None
    found = query_output_types(view.query, relations)
    if found is None or len(found) != len(names):
        return None
    return {n: t for n, t in zip(names, found, strict=True) if t is not None}


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
