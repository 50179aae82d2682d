"""Which FROM item a column reference belongs to, decided as PostgreSQL's parse analysis does.

Two jobs need it. Replaying ``ALTER TABLE ... RENAME`` (``sources.replay.renames``) renames a
bare column only when it provably is the renamed table's; comparing a view's query with the
server's (``normalize.views``) qualifies every bare column with its FROM item, because the
server stores attribute numbers and prints ``b.name`` where a person wrote ``name``. Both walk
the query the same way, level by level (``transformFromClauseItem``, ``colNameToVar``): FROM
items with their aliases and column aliases, joins, LATERAL, WITH queries, subqueries, VALUES,
set-returning functions, and ORDER BY / DISTINCT ON names that are output columns
(``findTargetlistEntrySQL92``). This module is that walk; what a job does with a resolved
reference lives in a subclass's hooks.

What the walk knows about the database comes from a ``Relations`` (the replay state or a
Catalog). A FROM item whose columns it does not know makes every bare name at its level
uncertain: ``bare`` says so rather than guess, and the caller leaves the SQL as written.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, enums

# The server's FigureColname, which the normaliser already mirrors: one copy of that rule.
from pgspec.normalize.expressions import _figure_colname
from pgspec.quoting import qualified

__all__ = ["FROM_CLAUSES", "Item", "Relations", "Resolver", "Scope", "output_names", "strings"]


@dataclass(frozen=True)
class Relations:
    """What the walk needs to know about the database the query lives in.

    ``key`` names the relation a FROM ``RangeVar`` refers to (None when it cannot tell);
    ``columns`` gives a relation's column names (None when unknown); ``user_function`` says
    whether a function name (its name list as written) may be a user's function, whose
    columns would need its return type resolved.
    """

    key: Callable[[ast.RangeVar], str | None]
    columns: Callable[[str], list[str] | None]
    user_function: Callable[[list[str]], bool]
    #: A relation's column types (canonical, as ``Column.type``) by name; None when unknown.
    types: Callable[[str], dict[str, str] | None] = lambda _: None


@dataclass
class Item:
    """One FROM item as a column reference sees it.

    ``refname`` is what qualifies its columns (alias or relation name; None when a join alias
    hides it). ``columns`` maps each visible column name to the relation's own column name
    (they differ under ``t AS x(a, b)``); None when pgspec does not know them. ``bare`` says
    the item is the relation under its own name, which ``t.col`` and ``s.t.col`` then use.
    """

    refname: str | None
    key: str | None
    columns: dict[str, str] | None
    bare: bool = False
    #: Visible column name -> canonical type, where pgspec knows it.
    types: dict[str, str] | None = None
    #: The name ruleutils prints for it when ``refname`` is taken by an enclosing level
    #: (``projects_1``); None when it prints ``refname``.
    printed: str | None = None
    #: Columns a ``JOIN ... USING`` merged away: a bare name no longer reaches them here.
    hidden: frozenset[str] = frozenset()
    #: For the merged columns of a USING join (this item stands for them): how the server
    #: prints each, as name parts (``("users", "org_id")``, or ``("org_id",)`` for a FULL
    #: join's COALESCE).
    merged: dict[str, tuple[str, ...]] | None = None
    #: A set-returning function of one scalar column: its name alone is that column.
    scalar: bool = False

    @property
    def out(self) -> str | None:
        """The name the server prints for the item."""
        return self.printed or self.refname


@dataclass
class Scope:
    """One query level: its FROM items, the WITH queries it sees, and the level around it."""

    items: list[Item]
    parent: Scope | None
    ctes: dict[str, list[str] | None] = field(default_factory=dict)
    #: Names ruleutils prints for this level's FROM items, and the ones it changed
    #: (``set_rtable_names``: a name an enclosing level uses gets ``_1``, ``_2`` ...).
    names: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)
    #: Names of every enclosing level, including levels whose columns this one cannot see
    #: (a subquery in FROM): the server still keeps its names apart from theirs.
    above: frozenset[str] = frozenset()

    def naming(self) -> frozenset[str]:
        """The names a query nested in this level must keep clear of."""
        return self.above | self.names

    def chain(self) -> list[Scope]:
        out: list[Scope] = []
        scope: Scope | None = self
        while scope is not None:
            out.append(scope)
            scope = scope.parent
        return out

    def cte(self, name: str) -> tuple[bool, list[str] | None]:
        for scope in self.chain():
            if name in scope.ctes:
                return True, scope.ctes[name]
        return False, None


#: Clauses of a SELECT the walk handles itself rather than as plain children.
FROM_CLAUSES = ("withClause", "fromClause", "sortClause", "distinctClause", "larg", "rarg")


def names_map(names: list[str] | None, aliases: list[str]) -> dict[str, str] | None:
    """Visible column names of ``rel AS x(aliases)``: the first columns take the aliases."""
    if names is None:
        return None
    visible = [*aliases[:len(names)], *names[len(aliases):]]  # in column order
    return dict(zip(visible, names, strict=True))


def strings(nodes: Any) -> list[str]:
    return [n.sval for n in nodes or () if isinstance(n, ast.String)]


def output_names(query: Any) -> list[str] | None:
    """Column names a subquery or WITH query gives (its first branch's), None when unknown."""
    while isinstance(query, ast.SelectStmt) and query.op != enums.SetOperation.SETOP_NONE:
        query = query.larg
    if isinstance(query, ast.SelectStmt) and query.valuesLists:
        return [f"column{i}" for i in range(1, len(query.valuesLists[0]) + 1)]
    if not isinstance(query, ast.SelectStmt) or not query.targetList:
        return None
    names = []
    for target in query.targetList:
        if isinstance(target.val, ast.ColumnRef) and any(
            isinstance(f, ast.A_Star) for f in target.val.fields
        ):
            return None
        names.append(target.name or _figure_colname(target.val)[0])
    return names


#: Set-returning functions of pg_catalog whose FROM columns are their OUT parameters.
_FUNCTION_COLUMNS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("jsonb_array_elements", "jsonb_array_elements_text", "json_array_elements",
                     "json_array_elements_text"), ("value",)),
    **dict.fromkeys(("jsonb_each", "jsonb_each_text", "json_each", "json_each_text"),
                    ("key", "value")),
}
#: Set-returning functions of pg_catalog with one scalar column (named after the alias, else
#: the function), the usual companions of a table in a view's FROM list.
_SCALAR_FUNCTIONS = frozenset({
    "generate_series", "generate_subscripts", "regexp_split_to_table", "string_to_table",
    "regexp_matches", "unnest",
})


def _visible_types(visible: dict[str, str] | None,
                   types: dict[str, str] | None) -> dict[str, str] | None:
    """Types by visible name (``t AS x(a, b)`` renames the first columns)."""
    if visible is None or types is None:
        return None
    return {name: types[own] for name, own in visible.items() if own in types}


def _rtable_names(entries: Any) -> list[str]:
    """Names of a level's FROM items in the order parse analysis adds them to the range
    table (a join's sides, then the join), None-named items (an unaliased join) left out."""
    out: list[str] = []
    for node in entries or ():
        if isinstance(node, ast.RangeVar):
            out.append(node.alias.aliasname if node.alias else node.relname)
        elif isinstance(node, ast.RangeTableSample):
            out.extend(_rtable_names([node.relation]))
        elif isinstance(node, ast.JoinExpr):
            out.extend(_rtable_names([node.larg, node.rarg]))
            if node.alias is not None:
                out.append(node.alias.aliasname)
        elif isinstance(node, ast.RangeFunction):
            if node.alias is not None:
                out.append(node.alias.aliasname)
            elif len(node.functions) == 1 and isinstance(node.functions[0][0], ast.FuncCall):
                out.append(node.functions[0][0].funcname[-1].sval)
        elif getattr(node, "alias", None) is not None:
            out.append(node.alias.aliasname)
    return out


def _unused_name(name: str, taken: Container[str]) -> str:
    """``name``, or ruleutils' ``name_1``, ``name_2`` ... when it is taken (the names it prints
    for FROM items and for a join alias's columns are made unique the same way)."""
    if name not in taken:
        return name
    i = 1
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"


def _name_level(entries: Any, level: Scope) -> None:
    """The names ruleutils prints for a level's FROM items (``set_rtable_names``): a name an
    enclosing level (or an earlier item) already uses becomes ``name_1``, ``name_2`` ..."""
    taken = set(level.above)
    for refname in _rtable_names(entries):
        printed = _unused_name(refname, taken)
        if printed != refname:
            level.renamed[refname] = printed
        taken.add(printed)
        level.names.add(printed)


class Resolver:
    """A walk over one parsed query (or fragment) that knows, at each node, the FROM items in
    sight. Subclasses add ``visit_<Node>`` methods and override the hooks (``relation``,
    ``join``, ``output_reference``, ``targets_done``); the walk itself changes nothing."""

    #: Whether ``JOIN ... USING`` / ``NATURAL JOIN`` merge their columns into one (a bare
    #: name then is the merged column, as ``transformFromClauseItem`` makes it); without it
    #: such a name stays uncertain (two items have it).
    merge_using = False

    def __init__(self, relations: Relations) -> None:
        self.relations = relations

    # ------------------------------------------------------------------ traversal

    def visit(self, node: Any, scope: Scope) -> None:
        if isinstance(node, tuple | list):
            for item in node:
                self.visit(item, scope)
            return
        if not isinstance(node, ast.Node):
            return
        handler: Callable[[Any, Scope], None] | None = getattr(
            self, "visit_" + type(node).__name__, None
        )
        if handler is not None:
            handler(node, scope)
        else:
            self.children(node, scope)

    def children(self, node: ast.Node, scope: Scope, skip: tuple[str, ...] = ()) -> None:
        for attr in node:
            if attr not in skip:
                value = getattr(node, attr)
                if isinstance(value, ast.Node | tuple | list):
                    self.visit(value, scope)

    # ------------------------------------------------------------------ hooks

    def relation(self, node: ast.RangeVar, key: str | None) -> None:
        """A relation (not a WITH query) named in a FROM list."""

    def join(self, node: ast.JoinExpr, items: list[Item]) -> None:
        """A join, after its condition was walked; ``items`` are both sides' FROM items."""

    def output_reference(self, expr: ast.ColumnRef, target: ast.ResTarget) -> None:
        """An ORDER BY / DISTINCT ON name that is the output column ``target``."""

    def targets_done(self, targets: list[ast.ResTarget], figured: list[str | None]) -> None:
        """A SELECT level walked; ``figured`` are its output names as written (None: aliased)."""

    def from_done(self, node: ast.SelectStmt, scope: Scope) -> None:
        """A SELECT level's FROM items are known; its target list is not walked yet."""

    # ------------------------------------------------------------------ queries

    def _with(self, clause: ast.WithClause | None, scope: Scope,
              owner: Scope) -> dict[str, list[str] | None]:
        """WITH queries, each seeing the ones before it (and itself when RECURSIVE); their
        names keep clear of the ``owner`` level's, whose FROM items they cannot see."""
        ctes: dict[str, list[str] | None] = {}
        if clause is None:
            return ctes
        for cte in clause.ctes or ():
            if clause.recursive:
                ctes[cte.ctename] = strings(cte.aliascolnames) or None
            self.visit(cte.ctequery, Scope([], scope, dict(ctes), above=owner.naming()))
            ctes[cte.ctename] = strings(cte.aliascolnames) or output_names(cte.ctequery)
        return ctes

    def visit_SelectStmt(self, node: ast.SelectStmt, scope: Scope) -> None:
        level = Scope([], scope, {}, above=scope.naming())
        if node.op == enums.SetOperation.SETOP_NONE:
            _name_level(node.fromClause, level)
        level.ctes = self._with(node.withClause, scope, level)
        if node.op != enums.SetOperation.SETOP_NONE:
            # ORDER BY of a UNION names its output columns, which keep their names.
            self.visit(node.larg, level)
            self.visit(node.rarg, level)
            return
        for item in node.fromClause or ():
            level.items.extend(self.from_item(item, level))
        self.from_done(node, level)
        targets = [t for t in node.targetList or () if isinstance(t, ast.ResTarget)]
        figured = [None if t.name else _figure_colname(t.val)[0] for t in targets]
        self.children(node, level, skip=FROM_CLAUSES)
        for clause in (node.sortClause, node.distinctClause):
            for entry in clause or ():
                self._order_entry(entry, targets, figured, level)
        self.targets_done(targets, figured)

    def _order_entry(self, entry: Any, targets: list[ast.ResTarget],
                     figured: list[str | None], scope: Scope) -> None:
        """ORDER BY / DISTINCT ON: a bare name matching an output column is that column
        (findTargetlistEntrySQL92), so it follows the target rather than the FROM list."""
        expr = entry.node if isinstance(entry, ast.SortBy) else entry
        if (
            isinstance(expr, ast.ColumnRef)
            and len(expr.fields) == 1
            and isinstance(expr.fields[0], ast.String)
        ):
            name = expr.fields[0].sval
            for target, figure in zip(targets, figured, strict=True):
                if (target.name or figure) == name:
                    self.output_reference(expr, target)
                    return
        self.visit(entry, scope)

    def from_item(self, node: Any, scope: Scope) -> list[Item]:
        """The items a FROM entry adds, after walking what it holds."""
        if isinstance(node, ast.RangeVar):
            alias = node.alias
            aliases = strings(alias.colnames) if alias else []
            refname = alias.aliasname if alias else node.relname
            printed = scope.renamed.get(refname)
            if not node.schemaname:
                is_cte, names = scope.cte(node.relname)
                if is_cte:
                    return [Item(refname, None, names_map(names, aliases), printed=printed)]
            key = self.relations.key(node)
            self.relation(node, key)
            columns = self.relations.columns(key) if key is not None else None
            visible = names_map(columns, aliases)
            types = self.relations.types(key) if key is not None and visible else None
            return [Item(refname, key, visible, bare=alias is None, printed=printed,
                         types=_visible_types(visible, types))]
        if isinstance(node, ast.RangeSubselect):
            # Only LATERAL subqueries see the FROM items beside them.
            outer = (scope if node.lateral
                     else Scope([], scope.parent, scope.ctes, above=scope.above,
                                names=scope.names))
            self.visit(node.subquery, outer)
            alias = node.alias
            names = output_names(node.subquery)
            refname = alias.aliasname if alias else None
            return [Item(refname, None,
                         names_map(names, strings(alias.colnames) if alias else []),
                         printed=scope.renamed.get(refname or ""))]
        if isinstance(node, ast.JoinExpr):
            left = self.from_item(node.larg, scope)
            right = self.from_item(node.rarg, scope)
            inner = left + right
            self.visit(node.quals, Scope(inner, scope.parent, scope.ctes, above=scope.above,
                                         names=scope.names))
            merged = self._merge(node, left, right) if self.merge_using else None
            if merged is not None:
                inner = [merged, *inner]
            self.join(node, inner)
            if node.alias is not None:
                joined = self._join_columns(inner, node.alias) if self.merge_using else None
                hidden = [Item(None, i.key, i.columns,
                               hidden=frozenset(i.columns or ()) if joined else frozenset())
                          for i in inner]
                name = node.alias.aliasname
                if joined is None:
                    return [Item(name, None, None), *hidden]
                columns, types = joined
                return [Item(name, None, columns, types=types,
                             printed=scope.renamed.get(name)), *hidden]
            return inner
        if isinstance(node, ast.RangeTableSample):
            items = self.from_item(node.relation, scope)
            self.children(node, scope, skip=("relation",))
            return items
        if isinstance(node, ast.RangeFunction):
            self.children(node, scope)
            alias = node.alias
            refname = alias.aliasname if alias else None
            if refname is None and len(node.functions) == 1:
                call = node.functions[0][0]
                if isinstance(call, ast.FuncCall):
                    refname = call.funcname[-1].sval
            printed = scope.renamed.get(refname or "")
            if node.coldeflist:
                return [Item(refname, None, names_map([c.colname for c in node.coldeflist], []),
                             printed=printed)]
            names = self._function_columns(node, refname)
            # jsonb_array_elements(x) AS item: ``item`` alone is its one (scalar) column.
            scalar = names is not None and len(names) == 1 and not node.ordinality
            if names is not None and node.ordinality:
                names.append("ordinality")
            return [Item(refname, None,
                         names_map(names, strings(alias.colnames) if alias else []),
                         printed=printed, scalar=scalar)]
        self.visit(node, scope)
        alias = getattr(node, "alias", None)
        return [Item(alias.aliasname if alias else None, None, None)]

    def _join_columns(self, inner: list[Item], alias: ast.Alias
                      ) -> tuple[dict[str, str], dict[str, str]] | None:
        """Columns of ``(a JOIN b ON ...) AS j``: every column of both sides, in order, a
        repeated name made unique as ruleutils prints it (``org_id_1``), then the alias's
        own column names over the first ones. None when unknown, or when a USING merge
        is inside (its names take part in the uniqueness rules: not rebuilt)."""
        names: list[str] = []
        types: dict[str, str] = {}
        for item in inner:
            if item.columns is None or item.merged is not None or item.hidden:
                return None
            for column in item.columns:
                unique = _unused_name(column, names)
                names.append(unique)
                if item.types is not None and column in item.types:
                    types[unique] = item.types[column]
        aliases = strings(alias.colnames)
        if len(aliases) > len(names):
            return None
        visible = names_map(names, aliases)
        assert visible is not None
        return visible, {v: types[n] for v, n in visible.items() if n in types}

    def _merge(self, node: ast.JoinExpr, left: list[Item], right: list[Item]) -> Item | None:
        """The item standing for a USING (or NATURAL) join's merged columns, hiding them in
        the two sides; None when any of it is uncertain (the join is then left as it is).

        ``buildMergedJoinVar``: when both columns have one type, an inner or left join's
        merged column is the left column itself, a right join's the right one, and a full
        join's a COALESCE that ruleutils prints as the bare name. Other types (a coercion)
        and unknown types are not guessed.
        """
        if not (node.usingClause or node.isNatural):
            return None  # ON or CROSS: nothing merged
        if getattr(node, "join_using_alias", None) is not None:
            return None
        sides = []
        for items in (left, right):
            visible: dict[str, Item] = {}
            for item in items:
                if item.columns is None:
                    return None
                for name in item.columns:
                    if name in item.hidden:
                        continue
                    if name in visible:
                        visible[name] = Item(None, None, None)  # two items: ambiguous
                    else:
                        visible[name] = item
            sides.append(visible)
        lefts, rights = sides
        if node.isNatural:
            names = [n for n in lefts if n in rights]
            if not names:
                return None
        else:
            names = strings(node.usingClause)
        JT = enums.JoinType
        prints: dict[str, tuple[str, ...]] = {}
        types: dict[str, str] = {}
        for name in names:
            sources = (lefts.get(name), rights.get(name))
            ends = []
            for item in sources:
                if item is None or item.columns is None or item.types is None:
                    return None
                if item.merged is not None:
                    ends.append(item.merged[name])
                elif item.refname is None:
                    return None
                else:
                    ends.append((item.refname, name))
            ltype = sources[0].types.get(name) if sources[0] and sources[0].types else None
            rtype = sources[1].types.get(name) if sources[1] and sources[1].types else None
            if ltype is None or ltype != rtype:
                return None
            types[name] = ltype
            if node.jointype in (JT.JOIN_INNER, JT.JOIN_LEFT):
                prints[name] = ends[0]
            elif node.jointype == JT.JOIN_RIGHT:
                prints[name] = ends[1]
            elif node.jointype == JT.JOIN_FULL:
                prints[name] = (name,)
            else:
                return None
        for name in names:
            for side in (lefts, rights):
                side[name].hidden = side[name].hidden | {name}
        if node.isNatural:
            # The server prints a NATURAL join as the USING list it stands for.
            node.isNatural = False
            node.usingClause = tuple(ast.String(sval=n) for n in names)
        return Item(None, None, {n: n for n in names}, types=types, merged=prints)

    def _function_columns(self, node: ast.RangeFunction, refname: str | None) -> list[str] | None:
        """Columns of a lone built-in set-returning function in FROM, None for any other
        (a user function's columns would need its return type resolved)."""
        if len(node.functions) != 1 or not isinstance(node.functions[0][0], ast.FuncCall):
            return None
        call = node.functions[0][0]
        parts = strings(call.funcname)
        name = parts[-1]
        if (len(parts) > 1 and parts[0] != "pg_catalog") or self.relations.user_function(parts):
            return None
        if name in _FUNCTION_COLUMNS:
            return list(_FUNCTION_COLUMNS[name])
        if name in _SCALAR_FUNCTIONS and not (name == "unnest" and len(call.args or ()) > 1):
            return [refname or name]
        return None

    # ------------------------------------------------------------------ references

    def qualified_item(self, parts: list[str], scope: Scope) -> Item | None:
        """The item ``q.col`` or ``s.t.col`` names, innermost level first."""
        for level in scope.chain():
            for item in level.items:
                if len(parts) == 1 and item.refname == parts[0]:
                    return item
                if len(parts) >= 2 and item.bare and item.key == qualified(parts[-2], parts[-1]):
                    return item
        return None

    def star_columns(self, ref: ast.ColumnRef, scope: Scope, *,
                     as_written: bool = False) -> list[tuple[str, ...]] | None:
        """The column references ``*`` or ``t.*`` stands for, as name parts, in the order the
        server expands them (``ExpandColumnRefStar``: FROM order, a USING join's merged columns
        first); None when a FROM item's columns are unknown. ``as_written`` keeps the schema of
        ``s.t.*`` over a relation that has no alias, as CREATE VIEW stores it."""
        qualifiers = strings(ref.fields)
        if qualifiers:
            item = self.qualified_item(qualifiers[-2:], scope)
            if item is None or item.columns is None or item.refname is None:
                return None
            prefix = tuple(qualifiers) if as_written and item.bare else (item.refname,)
            return [(*prefix, n) for n in item.columns]
        columns: list[tuple[str, ...]] = []
        for item in scope.items:
            if item.columns is None:
                return None
            for name in item.columns:
                if name in item.hidden:
                    continue
                if item.merged is not None:
                    columns.append(item.merged[name])
                elif item.refname is None:
                    return None  # an unnamed subquery's column cannot be named
                else:
                    columns.append((item.refname, name))
        return columns

    def bare(self, name: str, scope: Scope) -> tuple[Item | None, bool]:
        """The item an unqualified column belongs to, and whether that is certain.

        The innermost level with a FROM item that has the column, or may have it, decides
        (``colNameToVar``); a level with an item of unknown columns, or two items with it,
        makes the answer uncertain. No item anywhere: ``(None, True)`` (not a column of the
        FROM lists: an output name, a parameter, or an error the server would report).
        """
        for level in scope.chain():
            known = [i for i in level.items
                     if i.columns is not None and name in i.columns and name not in i.hidden]
            unknown = [i for i in level.items if i.columns is None]
            if len(known) == 1 and not unknown:
                return known[0], True
            if known or unknown:
                return None, False
        return None, True

    def visit_SubLink(self, node: ast.SubLink, scope: Scope) -> None:
        self.visit(node.testexpr, scope)
        self.visit(node.subselect, scope)
