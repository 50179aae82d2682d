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
from dataclasses import dataclass
from typing import Any

import pglast
from pglast import ast, enums
from pglast.stream import RawStream

# The server's FigureColname, which the normaliser already mirrors: one copy of that rule.
from pgspec.normalize.expressions import _figure_colname
from pgspec.normalize.scope import Item, Relations, Resolver, Scope, output_names, strings
from pgspec.normalize.trees import nodes
from pgspec.quoting import qualified
from pgspec.sources.replay.state import State

__all__ = ["rename_column", "rename_relation"]


@dataclass(frozen=True)
class _Rename:
    """Relation ``schema.relation`` renamed to ``new_relation`` (and moved to ``new_schema``
    when given), or its ``column`` renamed."""

    schema: str
    relation: str
    new_relation: str | None = None
    column: str | None = None
    new_column: str | None = None
    new_schema: str | None = None

    @property
    def key(self) -> str:
        return qualified(self.schema, self.relation)

    @property
    def name(self) -> str:
        """The name being replaced, for messages and the cheap text test."""
        return self.column if self.column is not None else self.relation


class _Unsafe(Exception):
    """A reference that may or may not be the renamed column: the fragment stays as written."""


def _relations(state: State) -> Relations:
    """What the resolver knows, from the objects replayed so far."""

    def columns(key: str) -> list[str] | None:
        objects = state.objects
        table = objects["tables"].get(key)
        if table is not None:
            return [c.name for c in table.columns]
        for plural in ("views", "materialized_views"):
            view = objects[plural].get(key)
            if view is not None:
                return list(view.columns) or None
        return None

    def key(node: ast.RangeVar) -> str:
        # Stored SQL names public's relations bare and qualifies the others (replay.resolve),
        # whatever the search_path is now.
        return qualified(node.schemaname or "public", node.relname)

    def user_function(parts: list[str]) -> bool:
        return len(parts) == 1 and any(
            qualified(schema, parts[0]) in state.function_names for schema in state.path()
        )

    return Relations(key=key, columns=columns, user_function=user_function)


class _Rewriter(Resolver):
    """One rename applied to one parsed fragment, in place; ``changed`` tells if it did."""

    def __init__(self, state: State, rename: _Rename) -> None:
        super().__init__(_relations(state))
        self.state = state
        self.rename = rename
        self.changed = False
        #: ColumnRefs this pass renamed (ORDER BY an output name follows its target).
        self.renamed: set[int] = set()

    # ------------------------------------------------------------------ the walk's hooks

    def relation(self, node: ast.RangeVar, key: str | None) -> None:
        r = self.rename
        if key == r.key and r.new_relation is not None:
            node.relname = r.new_relation
            if r.new_schema is not None and r.new_schema != r.schema:
                # Bare means public's (the convention of stored SQL): qualify elsewhere.
                node.schemaname = None if r.new_schema == "public" else r.new_schema
            self.changed = True

    def join(self, node: ast.JoinExpr, items: list[Item]) -> None:
        r = self.rename
        joined_by_name = node.isNatural or r.column in strings(node.usingClause)
        if r.column is not None and joined_by_name and any(i.key == r.key for i in items):
            # The server keeps the join working with column aliases it invents.
            raise _Unsafe(f"a join USING or NATURAL on {r.column!r}")

    def output_reference(self, expr: ast.ColumnRef, target: ast.ResTarget) -> None:
        if id(target.val) in self.renamed:
            expr.fields = target.val.fields
            self.changed = True

    def targets_done(self, targets: list[ast.ResTarget], figured: list[str | None]) -> None:
        # PostgreSQL named the output column when the query was created; it keeps the name
        # (ruleutils prints "t.new AS old"), so the printed query must say it.
        for target, name in zip(targets, figured, strict=True):
            if name is not None and _figure_colname(target.val)[0] != name:
                target.name = name

    # ------------------------------------------------------------------ references

    def _bare(self, name: str, scope: Scope) -> Item | None:
        """The item an unqualified column belongs to; raises _Unsafe when it cannot tell and
        the renamed relation is in sight."""
        item, certain = self.bare(name, scope)
        if not certain and any(i.key == self.rename.key for lvl in scope.chain()
                               for i in lvl.items):
            raise _Unsafe(f"{name!r} may belong to another FROM item")
        return item

    def visit_ColumnRef(self, node: ast.ColumnRef, scope: Scope) -> None:
        r = self.rename
        parts = [f.sval if isinstance(f, ast.String) else None for f in node.fields]
        star = parts[-1] is None
        names = [p for p in parts if p is not None]
        if r.column is not None and not star and names and names[-1] == r.column:
            item = (self._bare(names[0], scope) if len(names) == 1
                    else self.qualified_item(names[-3:-1], scope))
            if item is not None and item.key == r.key and (
                item.columns is None or item.columns.get(r.column) == r.column
            ):
                node.fields = (*node.fields[:-1], ast.String(sval=r.new_column))
                self.renamed.add(id(node))
                self.changed = True
        qualifiers = names if star else names[:-1]
        if r.new_relation is not None and qualifiers and qualifiers[-1] == r.relation:
            item = self.qualified_item(qualifiers[-2:], scope)
            if item is not None and item.key == r.key and item.bare:
                at = len(qualifiers) - 1
                fields = list(node.fields)
                fields[at] = ast.String(sval=r.new_relation)
                if at >= 1 and r.new_schema is not None:
                    fields[at - 1] = ast.String(sval=r.new_schema)
                node.fields = tuple(fields)
                self.changed = True

    def visit_IndexElem(self, node: ast.IndexElem, scope: Scope) -> None:
        """An exclusion constraint's or partition key's plain column."""
        r = self.rename
        if r.column is not None and node.name == r.column:
            item = self._bare(node.name, scope)
            if item is not None and item.key == r.key:
                node.name = r.new_column
                self.changed = True
        self.children(node, scope)

    visit_PartitionElem = visit_IndexElem


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


def _table_scope(state: State, key: str, name: str, refnames: tuple[str, ...] = ()) -> Scope:
    """A table's own expressions: every column is the table's, qualified or not (a trigger's
    WHEN names them through OLD and NEW instead)."""
    table = state.table(key)
    columns = {c.name: c.name for c in table.columns} if table is not None else None
    items = [Item(ref, key, columns) for ref in refnames] or [Item(name, key, columns, True)]
    return Scope(items, None)


class _Finder(_Rewriter):
    """Finds the references a rename would rewrite, in a throwaway tree; ``*`` counts too
    (the server expanded it into the columns when the view was made, so the view depends on
    each of them)."""

    def visit_ColumnRef(self, node: ast.ColumnRef, scope: Scope) -> None:
        super().visit_ColumnRef(node, scope)
        r = self.rename
        if r.column is None or self.changed or not isinstance(node.fields[-1], ast.A_Star):
            return
        qualifiers = strings(node.fields[:-1])
        if qualifiers:
            item = self.qualified_item(qualifiers[-2:], scope)
            self.changed = item is not None and item.key == r.key
        else:
            self.changed = any(i.key == r.key for i in scope.items)


#: What ``_apply`` found instead of rewriting: (object type, key) -> whether it is certain.
Found = dict[tuple[str, str], bool]


def _rewrite(state: State, rename: _Rename, text: str | None, parse: Callable[..., Any],
             scope: Scope, object_type: str, name: str, found: Found | None = None) -> str | None:
    """``text`` with the rename applied; unchanged (and a Warning) when it cannot be done.
    With ``found``, nothing is rewritten: the fragments that refer to the renamed object are
    recorded there instead."""
    if text is None:
        return text
    words = (rename.name,) if found is None else (rename.name, rename.relation)
    if not any(word in text for word in words) and all('"' not in word for word in words):
        return text
    try:
        tree, printer = parse(text)
    except pglast.parser.ParseError:
        return text
    rewriter = (_Rewriter if found is None else _Finder)(state, rename)
    try:
        rewriter.visit(tree, scope)
    except _Unsafe as exc:
        if found is not None:
            found[(object_type, name)] = False
            return text
        state.warn(object_type, name,
                   f"not rewritten for the rename of {rename.name!r}: {exc.args[0]}; "
                   "it is left as the script wrote it")
        return text
    if found is not None:
        if rewriter.changed:
            found[(object_type, name)] = True
        return text
    return printer() if rewriter.changed else text


def _store(state: State, plural: str, key: str, obj: Any, changes: dict[str, Any]) -> None:
    """Replace ``obj`` only when a field changed (most objects never mention the name)."""
    changes = {k: v for k, v in changes.items() if getattr(obj, k) != v}
    if changes:
        state.objects[plural][key] = obj.model_copy(update=changes)


def _apply(state: State, rename: _Rename, found: Found | None = None) -> None:
    """Every kind of stored SQL that can name the relation or its column, rewritten (or,
    with ``found``, only recorded there)."""
    objects = state.objects
    own = rename.key
    base = _table_scope(state, own, rename.relation)

    def fix(text: str | None, parse: Callable[..., Any], scope: Scope, kind: str,
            name: str) -> str | None:
        return _rewrite(state, rename, text, parse, scope, kind, name, found)

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
                   {"query": fix(view.query, _query, Scope([], None), kind, key)})
    if found is None:
        _warn_sql_bodies(state, rename)


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
        for node in nodes(tree):
            if isinstance(node, ast.RangeVar) and node.relname == rename.relation:
                relations = True
            elif isinstance(node, ast.ColumnRef | ast.ResTarget):
                names = (strings(node.fields) if isinstance(node, ast.ColumnRef)
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
    names = list(view.columns) or output_names(first) or []
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


def references(state: State, schema: str, relation: str, column: str | None = None) -> Found:
    """The stored SQL that names relation ``schema.relation`` (or its ``column``): constraints,
    indexes, generated columns, trigger WHENs, policies and views, as (object type, key),
    each with whether the reference is certain (False: a bare name pgspec cannot place)."""
    found: Found = {}
    sentinel = "\x00"  # a name no SQL holds: the rewriter's changes are never kept
    if column is None:
        _apply(state, _Rename(schema, relation, new_relation=sentinel), found)
    else:
        _apply(state, _Rename(schema, relation, column=column, new_column=sentinel), found)
    return found


def rename_relation(state: State, schema: str, old: str, new: str,
                    new_schema: str | None = None) -> None:
    """Rewrite what refers to relation ``schema.old`` by name, renamed to ``new`` and, when
    given, moved to ``new_schema`` (call before the rename)."""
    _apply(state, _Rename(schema, old, new_relation=new, new_schema=new_schema))
