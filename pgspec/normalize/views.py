"""Comparing view queries with their column references resolved.

PostgreSQL stores a view as a parse tree whose columns are (range table entry, attribute
number) pairs, and ``pg_get_viewdef`` prints every column of a query over more than one FROM
item with its item's name: ``SELECT a.id, name FROM a JOIN b ...`` comes back as
``SELECT a.id, b.name FROM (public.a JOIN public.b ...)``. Which item a bare ``name`` belongs
to depends on the columns of ``a`` and ``b``, which the text does not say and the context-free
canonical form (``normalize.expressions``) cannot know. Here each side's query is resolved with
the column lists of its own catalog (tables, views, materialized views): every bare column is
qualified with its FROM item, as the server's parse analysis did, then canonicalised as usual.

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
from pgspec.quoting import qualified

__all__ = ["catalog_relations", "queries_equivalent", "resolved_query_tree"]


class _Uncertain(Exception):
    """A bare column whose FROM item cannot be told for certain."""


class _Qualifier(Resolver):
    """Qualifies every bare column reference with the name of the FROM item it belongs to,
    and spells FROM items as ruleutils prints them (see ``from_item``)."""

    def __init__(self, relations: Relations) -> None:
        super().__init__(relations)
        #: Query levels (``id`` of their Scope) whose FROM items a reference has named.
        self._named: set[int] = set()

    def _note(self, item: Item | None, scope: Scope) -> None:
        for level in scope.chain():
            if any(i is item for i in level.items):
                self._named.add(id(level))
                return

    def visit_ColumnRef(self, node: ast.ColumnRef, scope: Scope) -> None:
        fields = node.fields
        if len(fields) == 1 and isinstance(fields[0], ast.String):
            item, certain = self.bare(fields[0].sval, scope)
            if not certain or (item is not None and item.refname is None):
                raise _Uncertain(fields[0].sval)
            if item is not None:
                node.fields = (ast.String(sval=item.refname), fields[0])
        else:
            names = strings(fields)
            qualifiers = names if isinstance(fields[-1], ast.A_Star) else names[:-1]
            item = self.qualified_item(qualifiers[-2:], scope) if qualifiers else None
        self._note(item, scope)

    def from_item(self, node: Any, scope: Scope) -> list[Item]:
        """The server prints a relation's column aliases for every column (``q(i, j, note)``
        for ``a AS q(i, j)``), a function's alias and columns always (``unnest(b.tags)
        t(t)``), and LATERAL before a function whose arguments name a FROM item beside it
        (``transformRangeFunction``): each side is spelled so, where its columns are known."""
        if not isinstance(node, ast.RangeFunction):
            items = super().from_item(node, scope)
            alias = getattr(node, "alias", None)
            if (isinstance(node, ast.RangeVar) and alias is not None and alias.colnames
                    and items[0].columns is not None):
                alias.colnames = tuple(ast.String(sval=n) for n in items[0].columns)
            return items
        named, self._named = self._named, set()
        items = super().from_item(node, scope)
        if id(scope) in self._named:
            node.lateral = True
        self._named |= named
        item = items[0]
        if item.columns is not None and item.refname is not None and not node.coldeflist:
            node.alias = ast.Alias(aliasname=item.refname,
                                   colnames=tuple(ast.String(sval=n) for n in item.columns))
        return items

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
    try:
        _Qualifier(relations).visit(stmt, Scope([], None))
    except _Uncertain:
        return plain
    return _rewrite(stmt, None)


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

    relations = Relations(key=key, columns=columns, user_function=user_function)
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
