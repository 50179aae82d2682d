"""Functions and procedures replayed (CREATE [OR REPLACE] FUNCTION/PROCEDURE, ALTER FUNCTION).

SET clauses are stored the way the server keeps them in ``proconfig``
(``flatten_set_variable_args`` in PostgreSQL's guc_funcs.c): list values joined by ", ", and for
list-valued settings that quote their elements (``search_path``) each element as an
identifier, so ``SET search_path TO 'public', 'pg_temp'`` is ``public, pg_temp`` and
``SET search_path = ''`` is ``""``.
"""

from __future__ import annotations

from typing import Any

from pglast import ast, enums

from pgspec.catalog import Argument, Function
from pgspec.quoting import qualified, quote
from pgspec.sources.replay.resolve import expression_text
from pgspec.sources.replay.state import State, deparse, names_of

#: Settings flagged GUC_LIST_QUOTE in the server: their elements are quoted as identifiers.
_LIST_QUOTE = {
    "search_path", "temp_tablespaces", "session_preload_libraries",
    "shared_preload_libraries", "local_preload_libraries",
}

_MODES = {
    "i": "in",
    "d": "in",
    "o": "out",
    "b": "inout",
    "v": "variadic",
    "t": "table",
}


def setting_value(stmt: ast.VariableSetStmt) -> str | None:
    """A SET clause's value as proconfig stores it; None for RESET / FROM CURRENT."""
    if stmt.kind != enums.VariableSetKind.VAR_SET_VALUE:
        return None
    parts: list[str] = []
    for arg in stmt.args or ():
        value = arg.val if isinstance(arg, ast.A_Const) else arg
        if isinstance(value, ast.String):
            text = value.sval
            parts.append(quote(text) if stmt.name in _LIST_QUOTE else text)
        elif isinstance(value, ast.Integer):
            parts.append(str(value.ival))
        elif isinstance(value, ast.Float):
            parts.append(str(value.fval))
        elif isinstance(value, ast.Boolean):
            parts.append("true" if value.boolval else "false")
        else:
            parts.append(deparse(arg))
    return ", ".join(parts)


def _signature_types(state: State, params: Any) -> list[str]:
    return [
        state.type_text(p.argType)
        for p in params or ()
        if _MODES.get(str(p.mode), "in") in ("in", "inout", "variadic")
    ]


def function_key(state: State, obj: ast.ObjectWithArgs, *, procedure: bool = False) -> str | None:
    """The catalog key of a function named with its argument types (COMMENT, DROP, ALTER)."""
    parts = names_of(obj.objname)
    schema, name = _function_schema(state, parts)
    if obj.args_unspecified:
        matches = state.function_names.get(qualified(schema, name), [])
        return matches[0] if len(matches) == 1 else None
    if obj.objfuncargs:
        types = _signature_types(state, obj.objfuncargs)
    else:
        types = [state.type_text(t) for t in obj.objargs or ()]
    return f"{qualified(schema, name)}({', '.join(types)})"


def _function_schema(state: State, parts: list[str]) -> tuple[str, str]:
    return state.object_key(parts, state.function_names.__contains__)


def _apply_options(fields: dict[str, Any], options: Any, state: State) -> None:
    config = dict(fields.get("config", {}))
    for opt in options or ():
        name, arg = opt.defname, opt.arg
        if name == "as":
            items = [a.sval for a in arg] if isinstance(arg, tuple | list) else [arg.sval]
            fields["body"] = items[-1] if len(items) > 1 else items[0]
        elif name == "language":
            fields["language"] = arg.sval
        elif name == "volatility":
            fields["volatility"] = arg.sval
        elif name == "strict":
            fields["strict"] = bool(arg.boolval)
        elif name == "security":
            fields["security_definer"] = bool(arg.boolval)
        elif name == "leakproof":
            fields["leakproof"] = bool(arg.boolval)
        elif name == "parallel":
            fields["parallel"] = arg.sval
        elif name == "set":
            if arg.kind == enums.VariableSetKind.VAR_RESET_ALL:
                config = {}
            elif arg.kind == enums.VariableSetKind.VAR_RESET:
                config.pop(arg.name, None)
            else:
                value = setting_value(arg)
                if value is not None:
                    config[arg.name] = value
        elif name == "window":
            state.warn("window function", fields.get("name", "?"))
    fields["config"] = dict(sorted(config.items()))


def _atomic_body(stmts: Any) -> str:
    """A ``BEGIN ATOMIC`` body, each statement deparsed, as pg_get_function_sqlbody lays it out."""
    inner: list[Any] = []
    for item in stmts or ():
        if isinstance(item, tuple | list):
            inner.extend(x for x in item if x is not None)
        elif item is not None:
            inner.append(item)
    lines = "".join(f" {_statement(s)};\n" for s in inner)
    return f"BEGIN ATOMIC\n{lines}END"


def _statement(node: Any) -> str:
    """One statement of a SQL-standard body; pglast prints no bare ReturnStmt, so RETURN is
    written here (``RETURN expr`` is the whole of a body, or a statement of BEGIN ATOMIC)."""
    if isinstance(node, ast.ReturnStmt):
        return f"RETURN {deparse(node.returnval)}"
    return deparse(node)


def create_function(state: State, stmt: ast.CreateFunctionStmt) -> None:
    parts = names_of(stmt.funcname)
    if len(parts) >= 2:
        schema, name = parts[-2], parts[-1]
    else:
        schema, name = state.creation_schema(), parts[0]
    arguments: list[Argument] = []
    for param in stmt.parameters or ():
        mode = _MODES.get(str(param.mode), "in")
        arguments.append(
            Argument(
                name=param.name or None,
                type=state.type_text(param.argType),
                mode=mode,
                default=(expression_text(state, param.defexpr)
                         if param.defexpr is not None else None),
            )
        )
    fields: dict[str, Any] = {
        "schema": schema,
        "name": name,
        "kind_of_object": "procedure" if stmt.is_procedure else "function",
        "arguments": arguments,
        "language": "sql",
    }
    if not stmt.is_procedure:
        if stmt.returnType is not None:
            returns = state.type_text(stmt.returnType)
            if returns.startswith("SETOF "):
                returns = returns[len("SETOF "):]
                fields["returns_set"] = True
            fields["returns"] = returns
        else:
            outs = [a for a in arguments if a.mode in ("out", "inout", "table")]
            fields["returns"] = outs[0].type if len(outs) == 1 else "record"
    _apply_options(fields, stmt.options, state)
    if isinstance(stmt.sql_body, ast.ReturnStmt):
        fields["body"] = _statement(stmt.sql_body)
    elif stmt.sql_body is not None:
        fields["body"] = _atomic_body(stmt.sql_body)
    function = Function(**fields)
    state.put("functions", function)
    group = state.function_names.setdefault(qualified(schema, name), [])
    if function.key not in group:
        group.append(function.key)


def alter_function(state: State, stmt: ast.AlterFunctionStmt) -> None:
    key = function_key(state, stmt.func)
    function = state.objects["functions"].get(key) if key else None
    if function is None:
        return
    fields = function.model_dump(by_alias=True)
    _apply_options(fields, stmt.actions, state)
    state.objects["functions"][key] = Function(**fields)


def drop_function(state: State, obj: ast.ObjectWithArgs, missing_ok: bool) -> None:
    key = function_key(state, obj)
    if key is None or key not in state.objects["functions"]:
        if key is not None and any(key in g for g in state.function_names.values()):
            return  # outside the selected schemas
        if not missing_ok:
            raise state.error(f"function {deparse(obj)!r} does not exist")
        return
    del state.objects["functions"][key]
    for group in state.function_names.values():
        if key in group:
            group.remove(key)
