"""Names in stored SQL resolved once, when the statement runs, as the server resolves them.

The server stores defaults, CHECKs, index expressions, policies and view queries as parse trees
that point at functions, types and relations by oid: ``now_utc()`` written under
``SET search_path TO app, public`` is ``app.now_utc()`` for good, whatever the path later is,
and ``nextval('seq')`` keeps following the sequence through a rename or ``SET SCHEMA``. The
replay stores SQL text, so it writes the schema the path chose into the text when the
statement runs (``qualify``), and rewrites the text when a referenced object moves
(``move_references``).

Convention (every reader and the differ share it): a bare name in stored SQL means public's
(or pg_catalog's, for built-ins), so only names the path resolves to another schema are
qualified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pglast
from pglast import ast
from pglast.stream import RawStream

from pgspec.normalize.scope import Relations, Resolver, Scope
from pgspec.normalize.trees import nodes
from pgspec.normalize.types import BUILTIN_TYPES
from pgspec.quoting import qualified
from pgspec.sources.replay.state import State, deparse, names_of

__all__ = ["Moved", "expression_text", "move_references", "qualify", "references_to",
           "stored_fragments"]

#: Functions whose first argument, a string literal, the server turns into a regclass (the
#: parser coerces the unknown literal to the parameter's type, regclass, at creation).
_REGCLASS_FUNCTIONS = frozenset({"nextval", "currval", "setval"})


@lru_cache(maxsize=4096)
def regclass_parts(text: str) -> tuple[str, ...] | None:
    """The name a regclass literal spells (``'app.seq'`` -> ``("app", "seq")``), parsed by the
    real grammar (identifier rules: ``'Seq'`` is ``seq``); None when it is no plain name."""
    try:
        stmts = pglast.parse_sql(f"SELECT * FROM {text}")
    except pglast.parser.ParseError:
        return None
    select = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(select, ast.SelectStmt) or len(select.fromClause or ()) != 1:
        return None
    rel = select.fromClause[0]
    if not isinstance(rel, ast.RangeVar) or rel.alias is not None or rel.catalogname:
        return None
    return (rel.schemaname, rel.relname) if rel.schemaname else (rel.relname,)


def _regclass_literals(node: ast.Node) -> Iterator[ast.String]:
    """String constants the server reads as relation names: ``'x'::regclass`` and the first
    argument of nextval/currval/setval. The latter is given its ``::regclass`` (in place), as
    the server prints it, so that a literal pgspec rewrites reads as the name it is."""
    if isinstance(node, ast.TypeCast) and names_of(node.typeName.names)[-1:] == ["regclass"]:
        arg = node.arg
    elif isinstance(node, ast.FuncCall) and node.args and (
        names_of(node.funcname)[-1] in _REGCLASS_FUNCTIONS
    ):
        arg = node.args[0]
        if isinstance(arg, ast.TypeCast):
            return  # the cast is a node of its own, met by the walk
        if isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String):
            regclass = ast.TypeName(names=(ast.String(sval="regclass"),), typemod=-1)
            node.args = (ast.TypeCast(arg=arg, typeName=regclass), *node.args[1:])
    else:
        return
    if isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String):
        yield arg.val


# --------------------------------------------------------------------------- at creation


def _relation_exists(state: State, key: str) -> bool:
    known = state.objects
    return (key in known["tables"] or key in known["views"]
            or key in known["materialized_views"] or key in known["sequences"]
            or key in state.known_types)


class _PathQualifier(Resolver):
    """Names the schema of each bare relation, user function, user type and regclass literal
    the search_path resolves outside public (WITH query names are not relations: the walk
    tells them apart)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.path = state.path()
        super().__init__(Relations(key=self._key, columns=lambda _: None,
                                   user_function=lambda _: True))

    def _find(self, name: str, exists: Callable[[str], bool]) -> str | None:
        for schema in self.path:
            if exists(qualified(schema, name)):
                return schema
        return None

    def _key(self, node: ast.RangeVar) -> str | None:
        if node.schemaname:
            return qualified(node.schemaname, node.relname)
        schema = self._find(node.relname, lambda k: _relation_exists(self.state, k))
        if schema is None:
            return None
        if schema != "public":
            node.schemaname = schema
        return qualified(schema, node.relname)

    def _literals(self, node: ast.Node) -> None:
        for literal in _regclass_literals(node):
            parts = regclass_parts(literal.sval)
            if parts is None or len(parts) != 1:
                continue
            schema = self._find(parts[0], lambda k: _relation_exists(self.state, k))
            if schema is not None and schema != "public":
                literal.sval = qualified(schema, parts[0])

    def visit_FuncCall(self, node: ast.FuncCall, scope: Scope) -> None:
        parts = names_of(node.funcname)
        if len(parts) == 1:
            schema = self._find(parts[0], lambda k: k in self.state.function_names
                                or k in self.state.aggregate_names)
            if schema is not None and schema != "public":
                node.funcname = (ast.String(sval=schema), *node.funcname)
        self._literals(node)
        self.children(node, scope)

    def visit_TypeCast(self, node: ast.TypeCast, scope: Scope) -> None:
        self.visit_TypeName(node.typeName, scope)
        self._literals(node)
        self.children(node, scope)

    def visit_TypeName(self, node: ast.TypeName, scope: Scope) -> None:
        parts = names_of(node.names)
        if len(parts) == 1 and parts[0] not in BUILTIN_TYPES:
            schema = self._find(parts[0], self.state.known_types.__contains__)
            if schema is not None and schema != "public":
                node.names = (ast.String(sval=schema), *node.names)


def qualify(state: State, node: Any) -> Any:
    """``node`` (changed in place) with what the current search_path resolves outside public
    written out. A path of public alone, or pg_dump's empty one, leaves every name as it is."""
    if node is not None and any(schema != "public" for schema in state.path()):
        _PathQualifier(state).visit(node, Scope([], None))
    return node


def expression_text(state: State, node: Any) -> str:
    """An expression to store: qualified for the current path, then printed."""
    return deparse(qualify(state, node))


# --------------------------------------------------------------------------- later moves


@dataclass(frozen=True)
class Moved:
    """An object renamed or moved to another schema: ``kind`` is ``relation`` (regclass
    literals follow it), ``function`` (calls follow it) or ``type`` (casts follow it)."""

    kind: str
    schema: str
    name: str
    new_schema: str
    new_name: str


def _same(parts: list[str] | tuple[str, ...], schema: str, name: str) -> bool:
    """Whether a stored name is ``schema.name`` (a bare one is public's, by convention)."""
    if len(parts) == 1:
        return schema == "public" and parts[0] == name
    return tuple(parts[-2:]) == (schema, name)


def _new_names(moved: Moved) -> tuple[ast.String, ...]:
    """The stored name of a moved object: bare in public, qualified elsewhere."""
    if moved.new_schema == "public":
        return (ast.String(sval=moved.new_name),)
    return (ast.String(sval=moved.new_schema), ast.String(sval=moved.new_name))


def _move_in_tree(tree: Any, moved: Moved) -> bool:
    """Rewrite the references to ``moved`` in a parsed fragment; True when one changed."""
    changed = False
    for node in nodes(tree):
        if moved.kind == "relation":
            for literal in _regclass_literals(node):
                parts = regclass_parts(literal.sval)
                if parts is not None and _same(parts, moved.schema, moved.name):
                    literal.sval = qualified(moved.new_schema, moved.new_name)
                    changed = True
        elif moved.kind == "function" and isinstance(node, ast.FuncCall) and _same(
            names_of(node.funcname), moved.schema, moved.name
        ):
            node.funcname = _new_names(moved)
            changed = True
        elif moved.kind == "type" and isinstance(node, ast.TypeName) and _same(
            names_of(node.names), moved.schema, moved.name
        ):
            node.names = _new_names(moved)
            changed = True
    return changed


def _expression(text: str) -> tuple[Any, Callable[[], str]]:
    target = pglast.parse_sql(f"SELECT {text}")[0].stmt.targetList[0]
    return target, lambda: RawStream()(target.val)


def _query(text: str) -> tuple[Any, Callable[[], str]]:
    stmt = pglast.parse_sql(text)[0].stmt
    return stmt, lambda: RawStream()(stmt)


def _rewritten(text: str | None, parse: Callable[[str], tuple[Any, Callable[[], str]]],
               moved: Moved) -> str | None:
    if text is None or moved.name not in text:
        return text
    try:
        tree, printer = parse(text)
    except pglast.parser.ParseError:
        return text
    return printer() if _move_in_tree(tree, moved) else text


def stored_fragments(state: State) -> Iterator[tuple[str, str, str, Any]]:
    """``(plural, key, field, text)`` of every stored scalar expression (not view queries):
    what can name a function, a type or a sequence."""
    objects = state.objects
    for key, table in objects["tables"].items():
        for col in table.columns:
            for field in ("default", "generated"):
                text = getattr(col, field)
                if text is not None:
                    yield "tables", key, f"{col.name}.{field}", text
    for key, con in objects["constraints"].items():
        if con.expression is not None:
            yield "constraints", key, "expression", con.expression
    for key, idx in objects["indexes"].items():
        for position, index_key in enumerate(idx.keys):
            if index_key.expression is not None:
                yield "indexes", key, f"keys.{position}", index_key.expression
        if idx.where is not None:
            yield "indexes", key, "where", idx.where
    for key, pol in objects["policies"].items():
        for field in ("using", "with_check"):
            if getattr(pol, field) is not None:
                yield "policies", key, field, getattr(pol, field)
    for key, trig in objects["triggers"].items():
        if trig.when is not None:
            yield "triggers", key, "when", trig.when
    for key, dom in objects["domains"].items():
        if dom.default is not None:
            yield "domains", key, "default", dom.default


def _store(state: State, plural: str, key: str, field: str, text: str | None) -> None:
    obj = state.objects[plural][key]
    if plural == "tables":
        column, attr = field.split(".")
        columns = [c.model_copy(update={attr: text}) if c.name == column else c
                   for c in obj.columns]
        state.objects[plural][key] = obj.model_copy(update={"columns": columns})
    elif plural == "indexes" and field.startswith("keys."):
        position = int(field.split(".")[1])
        keys = list(obj.keys)
        keys[position] = keys[position].model_copy(update={"expression": text})
        state.objects[plural][key] = obj.model_copy(update={"keys": keys})
    else:
        state.objects[plural][key] = obj.model_copy(update={field: text})


def references_to(state: State, target: Moved) -> list[tuple[str, str, str]]:
    """``(plural, key, field)`` of the stored SQL that names ``target`` (its ``new_*`` names
    are not read): what a DROP of it reaches."""
    found: list[tuple[str, str, str]] = []
    fragments = [(p, k, f, t, _expression) for p, k, f, t in stored_fragments(state)]
    fragments += [(p, k, "query", v.query, _query)
                  for p in ("views", "materialized_views") for k, v in state.objects[p].items()]
    for plural, key, field, text, parse in fragments:
        if target.name not in text:
            continue
        try:
            tree, _ = parse(text)
        except pglast.parser.ParseError:
            continue
        if _move_in_tree(tree, target):  # a throwaway tree: the rewrite only detects
            found.append((plural, key, field))
    return found


def move_references(state: State, moved: Moved) -> None:
    """Every stored expression and view query that names ``moved`` follows it, as the
    server's oid references do."""
    for plural, key, field, text in list(stored_fragments(state)):
        new = _rewritten(text, _expression, moved)
        if new != text:
            _store(state, plural, key, field, new)
    for plural in ("views", "materialized_views"):
        for key, view in list(state.objects[plural].items()):
            new = _rewritten(view.query, _query, moved)
            if new != view.query:
                state.objects[plural][key] = view.model_copy(update={"query": new})
