"""``*`` in a view's query expanded when the view is created, as the server expands it.

``CREATE VIEW v AS SELECT * FROM t`` stores the columns ``t`` has at that moment
(``transformTargetList`` -> ``ExpandColumnRefStar``): the stored query names them one by one,
``pg_get_viewdef`` prints ``SELECT id, name FROM t``, and a later ``ALTER TABLE t ADD COLUMN``
does not reach the view. A replay that kept the ``*`` would give the view the columns the
relation has at the end of the script, and could not tell the view's own columns to a view
built on it. So the replay writes the columns out at CREATE time, from the columns it knows:

* ``*`` is every column of every FROM item, in FROM order, each qualified with its item's
  name (``a.id, a.x, b.y``); a ``JOIN ... USING`` (or NATURAL) join's merged columns come
  first and once, printed as the server prints them (``a.id`` for an inner or left join, the
  right side's for a right join, the bare name for a full join's COALESCE);
* ``t.*`` is the columns of the FROM item ``t`` (a relation, a subquery, a join alias);
* at every level of the query (subqueries, WITH queries, set operation branches).

Columns come from the replay's own tables, views (their output columns) and materialized
views. A star over anything it does not know (a relation outside the selection or never
created, a function's result, a USING join whose column types it cannot compare) is left as
written: a guess could hide a real difference.
"""

from __future__ import annotations

from typing import Any

from pglast import ast

from pgspec.normalize.scope import Item, Relations, Resolver, Scope
from pgspec.normalize.trees import nodes
from pgspec.quoting import qualified
from pgspec.sources.replay.state import State

__all__ = ["expand_stars", "has_star"]


def has_star(query: Any) -> bool:
    """Whether a query names ``*`` anywhere (most do not: they are not walked at all)."""
    return any(isinstance(n, ast.A_Star) for n in nodes(query))


def _relations(state: State) -> Relations:
    """Column names of the relations replayed so far, and the types of tables' columns (a
    USING join merges two columns only when their types say how the server prints it)."""
    objects = state.objects

    def key(node: ast.RangeVar) -> str:
        # Stored SQL names public's relations bare and the others qualified (replay.resolve
        # qualifies the names the search_path resolves elsewhere before this runs).
        return qualified(node.schemaname or "public", node.relname)

    def columns(rel: str) -> list[str] | None:
        table = objects["tables"].get(rel)
        if table is not None:
            return [c.name for c in table.columns]
        for plural in ("views", "materialized_views"):
            view = objects[plural].get(rel)
            if view is not None:
                return list(view.columns) or None
        return None

    #: View types made during this expansion (the replay changes nothing meanwhile).
    view_types: dict[str, dict[str, str] | None] = {}

    def types(rel: str) -> dict[str, str] | None:
        table = objects["tables"].get(rel)
        if table is not None:
            return {c.name: c.type for c in table.columns}
        for plural in ("views", "materialized_views"):
            view = objects[plural].get(rel)
            if view is not None:
                if rel not in view_types:
                    view_types[rel] = None  # guards against a cycle (never stored)
                    view_types[rel] = _view_types(view, relations)
                return view_types[rel]
        return None

    def user_function(parts: list[str]) -> bool:
        return len(parts) == 1 and any(
            qualified(schema, parts[0]) in state.function_names for schema in state.path()
        )

    relations = Relations(key=key, columns=columns, user_function=user_function, types=types)
    return relations


def _view_types(view: Any, relations: Relations) -> dict[str, str] | None:
    """A replayed view's output column types, where its query states them (its columns
    read from relations whose column types are known): normalize.views types a query as the
    comparison does, against what the replay holds now."""
    # Imported here: a replay whose views need no types never loads the typed comparison.
    from pgspec.normalize.views import query_output_types

    if not view.columns:
        return None
    found = query_output_types(view.query, relations)
    if found is None or len(found) != len(view.columns):
        return None
    return {name: kind for name, kind in zip(view.columns, found, strict=True)
            if kind is not None}


class _Uncertain(Exception):
    """A star whose columns cannot be told for certain: it stays as written."""


class _Expander(Resolver):
    """Writes out each ``*`` of a SELECT level once its FROM items are known."""

    merge_using = True

    def __init__(self, relations: Relations) -> None:
        super().__init__(relations)
        #: USING / NATURAL joins (by ``id``) whose merged columns could not be settled.
        self._unmerged: set[int] = set()

    def join(self, node: ast.JoinExpr, items: list[Item]) -> None:
        if (node.usingClause or node.isNatural) and not any(
                i.merged is not None for i in items):
            self._unmerged.add(id(node))

    def _joins_settled(self, entries: Any) -> bool:
        """Whether every USING / NATURAL join of a level's FROM list merged its columns."""
        for entry in entries or ():
            if isinstance(entry, ast.JoinExpr):
                if id(entry) in self._unmerged:
                    return False
                if not self._joins_settled([entry.larg, entry.rarg]):
                    return False
        return True

    def from_done(self, node: ast.SelectStmt, scope: Scope) -> None:
        targets = node.targetList or ()
        if not any(_is_star(t) for t in targets):
            return
        settled = self._joins_settled(node.fromClause)
        expanded: list[Any] = []
        for target in targets:
            if not _is_star(target):
                expanded.append(target)
                continue
            try:
                if not settled:
                    raise _Uncertain("*")
                columns = self._columns(target.val, scope)
            except _Uncertain:
                expanded.append(target)
                continue
            expanded.extend(
                ast.ResTarget(val=ast.ColumnRef(fields=tuple(ast.String(sval=p) for p in parts)))
                for parts in columns)
        if expanded:  # ``SELECT * FROM t`` over a table of no columns: left as written
            node.targetList = tuple(expanded)

    def _columns(self, ref: ast.ColumnRef, scope: Scope) -> list[tuple[str, ...]]:
        """The column references a star stands for, as name parts."""
        columns = self.star_columns(ref, scope, as_written=True)
        if columns is None:
            raise _Uncertain("*")
        return columns


def _is_star(target: Any) -> bool:
    return (isinstance(target, ast.ResTarget) and isinstance(target.val, ast.ColumnRef)
            and isinstance(target.val.fields[-1], ast.A_Star))


def expand_stars(state: State, query: Any) -> Any:
    """``query`` (changed in place) with every ``*`` whose columns the replay knows written
    out, as CREATE VIEW stores it. Call after ``resolve.qualify``: relations are looked up by
    the names stored SQL uses (bare for public's)."""
    if query is not None and has_star(query):
        _Expander(_relations(state)).visit(query, Scope([], None))
    return query
