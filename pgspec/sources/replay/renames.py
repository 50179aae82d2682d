"""What a rename does to the SQL that refers to the renamed table or column.

PostgreSQL stores CHECK constraints, index expressions and predicates, policies, generated
columns, trigger WHEN clauses and view queries as parse trees whose columns are attribute
numbers and whose relations are oids. ``ALTER TABLE ... RENAME`` changes one catalog row and
every one of those definitions prints the new name from then on. The replayer stores them as
SQL text, so a rename must rewrite the text the same way, or a migration history read offline
shows differences the database does not have.

The rewrite works on pglast's parse tree (never on the text): each stored fragment is parsed,
the ``ColumnRef`` and ``RangeVar`` nodes that provably name the renamed object are changed, and
the tree is printed back by pglast's ``RawStream`` as the replayer printed it first. A column
reference is renamed only when it resolves, through the FROM lists of the query and its outer
queries as PostgreSQL's parse analysis would resolve it, to the renamed table's column. When a
reference might be it and might not (a FROM item whose columns pgspec does not know, a join
``USING`` the renamed column), the fragment is left as written and a Warning says so: a guess
could hide a real difference.

Output names do not follow a column rename: a view keeps its column names (they are its own
attributes), and the server then prints ``t.new AS old``. The rewrite adds that alias wherever
the name PostgreSQL figured for an output column would otherwise change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast, enums
from pglast.stream import RawStream

# The server's FigureColname, which the normaliser already mirrors: one copy of that rule.
from pgspec.normalize.expressions import _figure_colname
from pgspec.quoting import qualified
from pgspec.sources.replay.state import State

__all__ = ["rename_column", "rename_relation"]


@dataclass(frozen=True)
class _Rename:
    """Relation ``schema.relation`` renamed to ``new_relation``, or its ``column`` renamed."""

    schema: str
    relation: str
    new_relation: str | None = None
    column: str | None = None
    new_column: str | None = None

    @property
    def key(self) -> str:
        return qualified(self.schema, self.relation)

    @property
    def name(self) -> str:
        """The name being replaced, for messages and the cheap text test."""
        return self.column if self.column is not None else self.relation


@dataclass
class _Item:
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


@dataclass
class _Scope:
    """One query level: its FROM items, the WITH queries it sees, and the level around it."""

    items: list[_Item]
    parent: _Scope | None
    ctes: dict[str, list[str] | None] = field(default_factory=dict)

    def chain(self) -> list[_Scope]:
        out: list[_Scope] = []
        scope: _Scope | None = self
        while scope is not None:
            out.append(scope)
            scope = scope.parent
        return out

    def cte(self, name: str) -> tuple[bool, list[str] | None]:
        for scope in self.chain():
            if name in scope.ctes:
                return True, scope.ctes[name]
        return False, None


class _Unsafe(Exception):
    """A reference that may or may not be the renamed column: the fragment stays as written."""


def _names_map(names: list[str] | None, aliases: list[str]) -> dict[str, str] | None:
    """Visible column names of ``rel AS x(aliases)``: the first columns take the aliases."""
    if names is None:
        return None
    mapping = {name: name for name in names[len(aliases):]}
    for alias, name in zip(aliases, names, strict=False):
        mapping[alias] = name
    return mapping


def _strings(nodes: Any) -> list[str]:
    return [n.sval for n in nodes or () if isinstance(n, ast.String)]


def _output_names(query: Any) -> list[str] | None:
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


class _Rewriter:
    """One rename applied to one parsed fragment, in place; ``changed`` tells if it did."""

    def __init__(self, state: State, rename: _Rename) -> None:
        self.state = state
        self.rename = rename
        self.changed = False
        #: ColumnRefs this pass renamed (ORDER BY an output name follows its target).
        self.renamed: set[int] = set()

    # ------------------------------------------------------------------ traversal

    def visit(self, node: Any, scope: _Scope) -> None:
        if isinstance(node, tuple | list):
            for item in node:
                self.visit(item, scope)
            return
        if not isinstance(node, ast.Node):
            return
        handler: Callable[[Any, _Scope], None] | None = getattr(
            self, "visit_" + type(node).__name__, None
        )
        if handler is not None:
            handler(node, scope)
        else:
            self.children(node, scope)

    def children(self, node: ast.Node, scope: _Scope, skip: tuple[str, ...] = ()) -> None:
        for attr in node:
            if attr not in skip:
                value = getattr(node, attr)
                if isinstance(value, ast.Node | tuple | list):
                    self.visit(value, scope)

    # ------------------------------------------------------------------ queries

    def _with(self, clause: ast.WithClause | None, scope: _Scope) -> dict[str, list[str] | None]:
        """WITH queries, each seeing the ones before it (and itself when RECURSIVE)."""
        ctes: dict[str, list[str] | None] = {}
        if clause is None:
            return ctes
        for cte in clause.ctes or ():
            if clause.recursive:
                ctes[cte.ctename] = _strings(cte.aliascolnames) or None
            self.visit(cte.ctequery, _Scope([], scope, dict(ctes)))
            ctes[cte.ctename] = _strings(cte.aliascolnames) or _output_names(cte.ctequery)
        return ctes

    def visit_SelectStmt(self, node: ast.SelectStmt, scope: _Scope) -> None:
        ctes = self._with(node.withClause, scope)
        level = _Scope([], scope, ctes)
        if node.op != enums.SetOperation.SETOP_NONE:
            # ORDER BY of a UNION names its output columns, which keep their names.
            self.visit(node.larg, level)
            self.visit(node.rarg, level)
            return
        for item in node.fromClause or ():
            level.items.extend(self.from_item(item, level))
        targets = [t for t in node.targetList or () if isinstance(t, ast.ResTarget)]
        figured = [None if t.name else _figure_colname(t.val)[0] for t in targets]
        self.children(node, level, skip=("withClause", "fromClause", "sortClause",
                                         "distinctClause", "larg", "rarg"))
        for clause in (node.sortClause, node.distinctClause):
            for entry in clause or ():
                self._order_entry(entry, targets, figured, level)
        # PostgreSQL named the output column when the query was created; it keeps the name
        # (ruleutils prints "t.new AS old"), so the printed query must say it.
        for target, name in zip(targets, figured, strict=True):
            if name is not None and _figure_colname(target.val)[0] != name:
                target.name = name

    def _order_entry(self, entry: Any, targets: list[ast.ResTarget],
                     figured: list[str | None], scope: _Scope) -> None:
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
                    if id(target.val) in self.renamed:
                        expr.fields = target.val.fields
                        self.changed = True
                    return
        self.visit(entry, scope)

    def from_item(self, node: Any, scope: _Scope) -> list[_Item]:
        """The items a FROM entry adds, after rewriting what it holds."""
        r = self.rename
        if isinstance(node, ast.RangeVar):
            alias = node.alias
            aliases = _strings(alias.colnames) if alias else []
            refname = alias.aliasname if alias else node.relname
            if not node.schemaname:
                is_cte, names = scope.cte(node.relname)
                if is_cte:
                    return [_Item(refname, None, _names_map(names, aliases))]
            schema, name = self.state.relation_key(node)
            key = qualified(schema, name)
            if key == r.key and r.new_relation is not None:
                node.relname = r.new_relation
                self.changed = True
            return [_Item(refname, key, _names_map(self._columns(key), aliases),
                          bare=alias is None)]
        if isinstance(node, ast.RangeSubselect):
            # Only LATERAL subqueries see the FROM items beside them.
            outer = scope if node.lateral else _Scope([], scope.parent, scope.ctes)
            self.visit(node.subquery, outer)
            alias = node.alias
            names = _output_names(node.subquery)
            return [_Item(alias.aliasname if alias else None, None,
                          _names_map(names, _strings(alias.colnames) if alias else []))]
        if isinstance(node, ast.JoinExpr):
            left = self.from_item(node.larg, scope)
            right = self.from_item(node.rarg, scope)
            inner = left + right
            self.visit(node.quals, _Scope(inner, scope.parent, scope.ctes))
            joined_by_name = node.isNatural or r.column in _strings(node.usingClause)
            if r.column is not None and joined_by_name and any(i.key == r.key for i in inner):
                # The server keeps the join working with column aliases it invents.
                raise _Unsafe(f"a join USING or NATURAL on {r.column!r}")
            if node.alias is not None:
                hidden = [_Item(None, i.key, i.columns) for i in inner]
                return [_Item(node.alias.aliasname, None, None), *hidden]
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
            if node.coldeflist:
                return [_Item(refname, None, _names_map([c.colname for c in node.coldeflist],
                                                        []))]
            names = self._function_columns(node, refname)
            if names is not None and node.ordinality:
                names.append("ordinality")
            return [_Item(refname, None,
                          _names_map(names, _strings(alias.colnames) if alias else []))]
        self.visit(node, scope)
        alias = getattr(node, "alias", None)
        return [_Item(alias.aliasname if alias else None, None, None)]

    def _function_columns(self, node: ast.RangeFunction, refname: str | None) -> list[str] | None:
        """Columns of a lone built-in set-returning function in FROM, None for any other
        (a user function's columns would need its return type resolved)."""
        if len(node.functions) != 1 or not isinstance(node.functions[0][0], ast.FuncCall):
            return None
        call = node.functions[0][0]
        parts = _strings(call.funcname)
        name = parts[-1]
        if (len(parts) > 1 and parts[0] != "pg_catalog") or any(
            qualified(schema, name) in self.state.function_names for schema in self.state.path()
        ):
            return None
        if name in _FUNCTION_COLUMNS:
            return list(_FUNCTION_COLUMNS[name])
        if name in _SCALAR_FUNCTIONS and not (name == "unnest" and len(call.args or ()) > 1):
            return [refname or name]
        return None

    def _columns(self, key: str) -> list[str] | None:
        objects = self.state.objects
        table = objects["tables"].get(key)
        if table is not None:
            return [c.name for c in table.columns]
        for plural in ("views", "materialized_views"):
            view = objects[plural].get(key)
            if view is not None:
                return list(view.columns) or None
        return None

    # ------------------------------------------------------------------ references

    def _qualifier(self, parts: list[str], scope: _Scope) -> _Item | None:
        """The item ``q.col`` or ``s.t.col`` names, innermost level first."""
        for level in scope.chain():
            for item in level.items:
                if len(parts) == 1 and item.refname == parts[0]:
                    return item
                if len(parts) >= 2 and item.bare and item.key == qualified(parts[-2], parts[-1]):
                    return item
        return None

    def _bare(self, name: str, scope: _Scope) -> _Item | None:
        """The item an unqualified column belongs to; raises _Unsafe when it cannot tell."""
        chain = scope.chain()
        for level in chain:
            known = [i for i in level.items if i.columns is not None and name in i.columns]
            unknown = [i for i in level.items if i.columns is None]
            if len(known) == 1 and not unknown:
                return known[0]
            if known or unknown:
                if any(i.key == self.rename.key for lvl in chain for i in lvl.items):
                    raise _Unsafe(f"{name!r} may belong to another FROM item")
                return None
        return None

    def visit_ColumnRef(self, node: ast.ColumnRef, scope: _Scope) -> None:
        r = self.rename
        parts = [f.sval if isinstance(f, ast.String) else None for f in node.fields]
        star = parts[-1] is None
        names = [p for p in parts if p is not None]
        if r.column is not None and not star and names and names[-1] == r.column:
            item = (self._bare(names[0], scope) if len(names) == 1
                    else self._qualifier(names[-3:-1], scope))
            if item is not None and item.key == r.key and (
                item.columns is None or item.columns.get(r.column) == r.column
            ):
                node.fields = (*node.fields[:-1], ast.String(sval=r.new_column))
                self.renamed.add(id(node))
                self.changed = True
        qualifiers = names if star else names[:-1]
        if r.new_relation is not None and qualifiers and qualifiers[-1] == r.relation:
            item = self._qualifier(qualifiers[-2:], scope)
            if item is not None and item.key == r.key and item.bare:
                at = len(qualifiers) - 1
                fields = list(node.fields)
                fields[at] = ast.String(sval=r.new_relation)
                node.fields = tuple(fields)
                self.changed = True

    def visit_IndexElem(self, node: ast.IndexElem, scope: _Scope) -> None:
        """An exclusion constraint's or partition key's plain column."""
        r = self.rename
        if r.column is not None and node.name == r.column:
            item = self._bare(node.name, scope)
            if item is not None and item.key == r.key:
                node.name = r.new_column
                self.changed = True
        self.children(node, scope)

    visit_PartitionElem = visit_IndexElem

    def visit_SubLink(self, node: ast.SubLink, scope: _Scope) -> None:
        self.visit(node.testexpr, scope)
        self.visit(node.subselect, scope)


# --------------------------------------------------------------------------- fragments


def _expression(text: str) -> tuple[ast.Node, Callable[[], str]]:
    """A stored scalar expression as a tree, and how to print it back."""
    select = pglast.parse_sql(f"SELECT {text}")[0].stmt
    target = select.targetList[0]
    return target, lambda: RawStream()(target.val)


def _query(text: str) -> tuple[ast.Node, Callable[[], str]]:
    stmt = pglast.parse_sql(text)[0].stmt
    return stmt, lambda: RawStream()(stmt)


def _definition(text: str) -> tuple[ast.Node, Callable[[], str]]:
    """An exclusion constraint clause, as ``replay.constraints`` stored it."""
    stmt = pglast.parse_sql(f"ALTER TABLE x ADD {text}")[0].stmt
    constraint = stmt.cmds[0].def_
    return constraint, lambda: RawStream()(constraint)


def _partition_key(text: str) -> tuple[ast.Node, Callable[[], str]]:
    from pgspec.sources.replay.tables import partition_key_text

    spec = pglast.parse_sql(f"CREATE TABLE x () PARTITION BY {text}")[0].stmt.partspec
    return spec, lambda: partition_key_text(spec)


def _table_scope(state: State, key: str, name: str, refnames: tuple[str, ...] = ()) -> _Scope:
    """A table's own expressions: every column is the table's, qualified or not (a trigger's
    WHEN names them through OLD and NEW instead)."""
    table = state.table(key)
    columns = {c.name: c.name for c in table.columns} if table is not None else None
    items = [_Item(ref, key, columns) for ref in refnames] or [_Item(name, key, columns, True)]
    return _Scope(items, None)


def _rewrite(state: State, rename: _Rename, text: str | None, parse: Callable[..., Any],
             scope: _Scope, object_type: str, name: str) -> str | None:
    """``text`` with the rename applied; unchanged (and a Warning) when it cannot be done."""
    if text is None or ('"' not in rename.name and rename.name not in text):
        return text
    try:
        tree, printer = parse(text)
    except pglast.parser.ParseError:
        return text
    rewriter = _Rewriter(state, rename)
    try:
        rewriter.visit(tree, scope)
    except _Unsafe as exc:
        state.warn(object_type, name,
                   f"not rewritten for the rename of {rename.name!r}: {exc.args[0]}; "
                   "it is left as the script wrote it")
        return text
    return printer() if rewriter.changed else text


def _store(state: State, plural: str, key: str, obj: Any, changes: dict[str, Any]) -> None:
    """Replace ``obj`` only when a field changed (most objects never mention the name)."""
    changes = {k: v for k, v in changes.items() if getattr(obj, k) != v}
    if changes:
        state.objects[plural][key] = obj.model_copy(update=changes)


def _apply(state: State, rename: _Rename) -> None:
    """Every kind of stored SQL that can name the relation or its column, rewritten."""
    objects = state.objects
    own = rename.key
    base = _table_scope(state, own, rename.relation)

    def fix(text: str | None, parse: Callable[..., Any], scope: _Scope, kind: str,
            name: str) -> str | None:
        return _rewrite(state, rename, text, parse, scope, kind, name)

    # A table's own expressions can name only its columns (and itself, as a qualifier).
    for key, con in list(objects["constraints"].items()):
        if con.table_key == own and (con.expression or con.definition):
            _store(state, "constraints", key, con, {
                "expression": fix(con.expression, _expression, base, "constraint", key),
                "definition": fix(con.definition, _definition, base, "constraint", key)})
    for key, idx in list(objects["indexes"].items()):
        if idx.table_key == own:
            keys = [k.model_copy(update={"expression": fix(k.expression, _expression, base,
                                                            "index", key)})
                    if k.expression else k for k in idx.keys]
            _store(state, "indexes", key, idx, {
                "keys": keys, "where": fix(idx.where, _expression, base, "index", key)})
    table = objects["tables"].get(own)
    if table is not None:
        columns = [c.model_copy(update={"generated": fix(c.generated, _expression, base,
                                                         "column", f"{own}.{c.name}")})
                   if c.generated else c for c in table.columns]
        _store(state, "tables", own, table, {
            "columns": columns,
            "partition_by": fix(table.partition_by, _partition_key, base, "table", own)})
    if rename.column is not None:
        rows = _table_scope(state, own, rename.relation, ("old", "new"))
        for key, trig in list(objects["triggers"].items()):
            if trig.table_key == own and trig.when:
                _store(state, "triggers", key, trig,
                       {"when": fix(trig.when, _expression, rows, "trigger", key)})
    # Policies (through subqueries) and views can name any relation.
    for key, pol in list(objects["policies"].items()):
        scope = base if pol.table_key == own else _table_scope(state, pol.table_key, pol.table)
        _store(state, "policies", key, pol, {
            "using": fix(pol.using, _expression, scope, "policy", key),
            "with_check": fix(pol.with_check, _expression, scope, "policy", key)})
    for plural, kind in (("views", "view"), ("materialized_views", "materialized_view")):
        for key, view in list(objects[plural].items()):
            _store(state, plural, key, view,
                   {"query": fix(view.query, _query, _Scope([], None), kind, key)})
    _warn_sql_bodies(state, rename)


def _nodes(node: Any) -> Any:
    """Every parse-tree node under ``node``."""
    if isinstance(node, tuple | list):
        for item in node:
            yield from _nodes(item)
    elif isinstance(node, ast.Node):
        yield node
        for attr in node:
            yield from _nodes(getattr(node, attr))


def _warn_sql_bodies(state: State, rename: _Rename) -> None:
    """SQL-standard bodies (``BEGIN ATOMIC``, ``RETURN``) are parse trees on the server too,
    so the rename reaches them there; pgspec does not rewrite statements yet, and says so for
    each body that names the renamed relation (and column)."""
    for key, fn in state.objects["functions"].items():
        body = fn.body
        if fn.language != "sql" or not body.startswith(("BEGIN ATOMIC", "RETURN ")) or (
            '"' not in rename.name and rename.name not in body
        ):
            continue
        try:
            tree = pglast.parse_sql(f"CREATE FUNCTION f() RETURNS int LANGUAGE sql {body}")
        except pglast.parser.ParseError:
            continue
        relations = columns = False
        for node in _nodes(tree):
            if isinstance(node, ast.RangeVar) and node.relname == rename.relation:
                relations = True
            elif isinstance(node, ast.ColumnRef | ast.ResTarget):
                names = (_strings(node.fields) if isinstance(node, ast.ColumnRef)
                         else [node.name or ""])
                columns = columns or rename.column in names
        if relations and (rename.column is None or columns):
            state.warn("function", key, f"its SQL-standard body is not rewritten for the "
                       f"rename of {rename.name!r}; the server's now names the new one")


def _rename_view_column(state: State, plural: str, key: str, old: str, new: str) -> None:
    """``ALTER VIEW v RENAME COLUMN``: the view's output column takes the new name, which the
    server prints as an alias on the query's first branch (``t.old AS new``)."""
    view = state.objects[plural][key]
    kind = "view" if plural == "views" else "materialized_view"
    stmt = pglast.parse_sql(view.query)[0].stmt
    first = stmt
    while isinstance(first, ast.SelectStmt) and first.op != enums.SetOperation.SETOP_NONE:
        first = first.larg
    targets = list(first.targetList or ()) if isinstance(first, ast.SelectStmt) else []
    names = list(view.columns) or _output_names(first) or []
    if len(names) != len(targets) or old not in names:
        state.warn(kind, key, f"the rename of its column {old!r} is not replayed: pgspec "
                   "cannot tell which output column it is")
        return
    position = names.index(old)
    targets[position].name = new
    names[position] = new
    state.objects[plural][key] = view.model_copy(
        update={"query": RawStream()(stmt), "columns": names})


def rename_column(state: State, schema: str, table: str, old: str, new: str) -> None:
    """Rewrite what refers to column ``old`` of relation ``schema.table``, a table's or a
    view's (call before the table's own rename: resolution needs the table as it was)."""
    _apply(state, _Rename(schema, table, column=old, new_column=new))
    key = qualified(schema, table)
    for plural in ("views", "materialized_views"):
        if key in state.objects[plural]:
            _rename_view_column(state, plural, key, old, new)


def rename_relation(state: State, schema: str, old: str, new: str) -> None:
    """Rewrite what refers to relation ``schema.old`` by name (call before the rename)."""
    _apply(state, _Rename(schema, old, new_relation=new))
