"""Views and materialized views replayed (CREATE [OR REPLACE] VIEW, CREATE MATERIALIZED VIEW,
REFRESH MATERIALIZED VIEW, ALTER VIEW ... SET/RESET options)."""

from __future__ import annotations

from typing import Any

from pglast import ast, enums

from pgspec.catalog import MaterializedView, View
from pgspec.normalize.scope import output_names
from pgspec.quoting import qualified
from pgspec.sources.replay.resolve import qualify
from pgspec.sources.replay.stars import expand_stars
from pgspec.sources.replay.state import State, deparse, names_of

_TRUE = {"true", "on", "yes", "1", "t", "y"}
_FALSE = {"false", "off", "no", "0", "f", "n"}
_BOOLEAN_OPTIONS = {"security_invoker", "security_barrier"}


def _option_value(name: str, arg: Any) -> str:
    """A reloption value as pgspec stores it: booleans as "true"/"false", the rest as text."""
    if arg is None:
        value = "true"
    elif isinstance(arg, ast.Boolean):
        value = "true" if arg.boolval else "false"
    elif isinstance(arg, ast.Integer):
        value = str(arg.ival)
    elif isinstance(arg, ast.String):
        value = arg.sval
    elif isinstance(arg, ast.TypeName):
        value = names_of(arg.names)[-1]
    else:
        value = deparse(arg)
    if name in _BOOLEAN_OPTIONS:
        lowered = value.lower()
        if lowered in _TRUE:
            return "true"
        if lowered in _FALSE:
            return "false"
    return value.lower() if name == "check_option" else value


def _options(elems: Any) -> dict[str, str]:
    return {e.defname: _option_value(e.defname, e.arg) for e in elems or ()}


def _output_names(query: Any, aliases: list[str]) -> list[str]:
    """Output column names as the server gives them: the view's column aliases over the
    first ones, the rest as the query names them (a set operation's first branch,
    ``FigureColname`` for an unaliased expression). Empty when the query leaves any unknown
    (a ``*`` the replay could not expand). Informative only, and what a view built on this
    one reads its columns from."""
    names = output_names(query)
    if names is None:
        return list(aliases)
    return [*aliases, *names[len(aliases):]]


def _query_text(state: State, query: Any, aliases: list[str]) -> str:
    """A view's query as stored: relations it names unqualified are resolved through the
    search_path in force now, as CREATE VIEW resolves them once and for all (the server
    stores oids, and prints ``app.c`` for ``c`` read under ``search_path = app, public``),
    and each ``*`` is the columns it stands for now (``stars``: a later ADD COLUMN does not
    reach the view), and the view's column aliases are the names of its output columns.

    A name resolved to ``public`` stays bare (every reader and the differ take a bare name as
    public's), and so does one found on no schema of the path (a system catalog, or a
    relation pgspec does not know): it is left as the script wrote it.
    """
    return deparse(_named_columns(expand_stars(state, qualify(state, query)), aliases),
                   remember=False)


def _named_columns(query: Any, aliases: list[str]) -> Any:
    """``query`` (changed in place) with the view's column aliases written on its output
    columns, as the server stores them: ``CREATE VIEW v (x, y) AS SELECT id, name, note ...``
    renames the query's target entries and ``pg_get_viewdef`` prints ``id AS x, name AS y,
    note`` (on the first branch of a set operation). A ``*`` left as written keeps them
    apart: which column each alias names is not known then."""
    if not aliases:
        return query
    first = query
    while isinstance(first, ast.SelectStmt) and first.op != enums.SetOperation.SETOP_NONE:
        first = first.larg
    targets = getattr(first, "targetList", None) or ()
    if any(isinstance(t.val, ast.ColumnRef) and isinstance(t.val.fields[-1], ast.A_Star)
           for t in targets if isinstance(t, ast.ResTarget)):
        return query
    for target, alias in zip(targets, aliases, strict=False):
        target.name = alias
    return query


def create_view(state: State, stmt: ast.ViewStmt) -> None:
    if stmt.view.relpersistence == "t":
        return
    schema, name = state.relation_key(stmt.view, create=True)
    key = qualified(schema, name)
    state.known_types.add(key)
    options = _options(stmt.options)
    check = stmt.withCheckOption
    if check == enums.ViewCheckOption.LOCAL_CHECK_OPTION:
        options["check_option"] = "local"
    elif check == enums.ViewCheckOption.CASCADED_CHECK_OPTION:
        options["check_option"] = "cascaded"
    aliases = names_of(stmt.aliases)
    query = _query_text(state, stmt.query, aliases)  # expands ``*``: the names below follow
    state.put(
        "views",
        View(
            schema=schema,
            name=name,
            query=query,
            options=dict(sorted(options.items())),
            columns=_output_names(stmt.query, aliases),
        ),
    )


def create_matview(state: State, stmt: ast.CreateTableAsStmt) -> None:
    into = stmt.into
    schema, name = state.relation_key(into.rel, create=True)
    key = qualified(schema, name)
    state.known_types.add(key)
    if stmt.if_not_exists and key in state.objects["materialized_views"]:
        return
    aliases = names_of(into.colNames)
    query = _query_text(state, stmt.query, aliases)  # expands ``*``: the names below follow
    state.put(
        "materialized_views",
        MaterializedView(
            schema=schema,
            name=name,
            query=query,
            with_data=(None if state.dump else False) if into.skipData else True,
            columns=_output_names(stmt.query, aliases),
        ),
    )


def refresh_matview(state: State, stmt: ast.RefreshMatViewStmt) -> None:
    schema, name = state.relation_key(stmt.relation)
    state.update("materialized_views", qualified(schema, name), with_data=not stmt.skipData)


def alter_view(state: State, stmt: ast.AlterTableStmt, schema: str, name: str) -> None:
    key = qualified(schema, name)
    view = state.objects["views"].get(key)
    if view is None:
        return
    AT = enums.AlterTableType
    options = dict(view.options)
    for cmd in stmt.cmds or ():
        if cmd.subtype == AT.AT_SetRelOptions:
            options.update(_options(cmd.def_))
        elif cmd.subtype == AT.AT_ResetRelOptions:
            for elem in cmd.def_ or ():
                options.pop(elem.defname, None)
        elif cmd.subtype == AT.AT_ColumnDefault:
            continue
    state.update("views", key, options=dict(sorted(options.items())))
