"""Aggregates replayed (CREATE [OR REPLACE] AGGREGATE, both the modern and the old
``(BASETYPE = ...)`` form), and the key of an aggregate a COMMENT, DROP or ALTER names.

What the server stores is what is built: the argument list as the grammar leaves it (for
``VARIADIC "any" ORDER BY VARIADIC "any"`` one argument, which is how PostgreSQL records it),
support functions bare when they are pg_catalog's and ``schema.name`` otherwise, and
FINALFUNC_MODIFY resolved the way DefineAggregate resolves it (READ_ONLY for a normal
aggregate, READ_WRITE for ordered-set and hypothetical ones).
"""

from __future__ import annotations

from typing import Any

from pglast import ast

from pgspec.catalog import Aggregate, Argument
from pgspec.quoting import qualified, quote
from pgspec.sources.replay.state import State, names_of

__all__ = ["aggregate_key", "create_aggregate", "rename_aggregate"]

#: Option names of CREATE AGGREGATE that name a support function, and the model field.
_FUNCTIONS = {
    "sfunc": "sfunc", "sfunc1": "sfunc", "finalfunc": "finalfunc", "finalfunc1": "finalfunc",
    "combinefunc": "combinefunc", "serialfunc": "serialfunc", "deserialfunc": "deserialfunc",
    "msfunc": "msfunc", "minvfunc": "minvfunc", "mfinalfunc": "mfinalfunc",
}
_TYPES = {"stype": "stype", "stype1": "stype", "mstype": "mstype"}
_TEXTS = {"initcond": "initcond", "initcond1": "initcond", "minitcond": "minitcond"}
_FLAGS = {"finalfunc_extra": "finalfunc_extra", "mfinalfunc_extra": "mfinalfunc_extra"}
_MODIFY = {"finalfunc_modify": "finalfunc_modify", "mfinalfunc_modify": "mfinalfunc_modify"}
_SPACES = {"sspace": "sspace", "msspace": "msspace"}


def _names(arg: Any) -> list[str]:
    """A name an option gives (a TypeName for ``SFUNC = f``, a name list for SORTOP)."""
    if isinstance(arg, ast.TypeName):
        return names_of(arg.names)
    if isinstance(arg, tuple | list):
        return names_of(arg)
    if isinstance(arg, ast.String):
        return [arg.sval]
    return []


def _word(arg: Any) -> str:
    parts = _names(arg)
    return parts[-1].lower() if parts else ""


def _text(arg: Any) -> str:
    """An INITCOND value as the server stores it (text): a string, or a number written bare."""
    if isinstance(arg, ast.String):
        return arg.sval
    if isinstance(arg, ast.Integer):
        return str(arg.ival)
    if isinstance(arg, ast.Float):
        return str(arg.fval)
    if isinstance(arg, ast.A_Const):
        return _text(arg.val)
    return _word(arg)


def _flag(arg: Any) -> bool:
    if arg is None:
        return True
    if isinstance(arg, ast.Boolean):
        return bool(arg.boolval)
    if isinstance(arg, ast.Integer):
        return arg.ival != 0
    return _word(arg) in ("true", "on", "yes", "1")


def function_ref(state: State, parts: list[str]) -> str:
    """A support function as every source names it. Unqualified, it is the first schema of the
    path that has a function of that name, else pg_catalog's (searched first in any case, so a
    built-in is written bare)."""
    if len(parts) >= 2:
        schema, name = parts[-2], parts[-1]
    else:
        name = parts[0]
        schema = next((s for s in state.path() if qualified(s, name) in state.function_names),
                      "pg_catalog")
    return qualified(name) if schema == "pg_catalog" else qualified(schema, name)


def operator_ref(parts: list[str]) -> str:
    """A sort operator: bare for pg_catalog's, ``schema.op`` otherwise."""
    if len(parts) >= 2 and parts[-2] != "pg_catalog":
        return f"{quote(parts[-2])}.{parts[-1]}"
    return parts[-1]


def _arguments(state: State, stmt: ast.DefineStmt) -> tuple[list[Argument], int]:
    """The argument list and the number of direct arguments (-1: not an ordered-set one)."""
    if stmt.oldstyle:
        for opt in stmt.definition or ():
            if opt.defname == "basetype":
                text = state.type_text(opt.arg)
                return ([] if text == '"any"' else [Argument(type=text)]), -1
        return [], -1
    params, direct = stmt.args if stmt.args else (None, ast.Integer(ival=-1))
    arguments = [
        Argument(name=p.name or None, type=state.type_text(p.argType),
                 mode="variadic" if str(p.mode) == "v" else "in")
        for p in params or ()
    ]
    return arguments, direct.ival if isinstance(direct, ast.Integer) else -1


def create_aggregate(state: State, stmt: ast.DefineStmt) -> None:
    parts = names_of(stmt.defnames)
    schema = parts[-2] if len(parts) > 1 else state.creation_schema()
    name = parts[-1]
    arguments, direct = _arguments(state, stmt)
    fields: dict[str, Any] = {"schema": schema, "name": name, "arguments": arguments}
    if direct >= 0:
        fields["kind"] = "ordered_set"
        fields["direct_arguments"] = direct
    for opt in stmt.definition or ():
        option, arg = opt.defname.lower(), opt.arg
        if option in _FUNCTIONS:
            fields[_FUNCTIONS[option]] = function_ref(state, _names(arg))
        elif option in _TYPES:
            fields[_TYPES[option]] = state.type_text(arg)
        elif option in _TEXTS:
            fields[_TEXTS[option]] = _text(arg)
        elif option in _FLAGS:
            fields[_FLAGS[option]] = _flag(arg)
        elif option in _MODIFY:
            fields[_MODIFY[option]] = _word(arg)
        elif option in _SPACES:
            fields[_SPACES[option]] = int(_text(arg))
        elif option == "sortop":
            fields["sortop"] = operator_ref(_names(arg))
        elif option == "parallel":
            fields["parallel"] = _word(arg)
        elif option == "hypothetical" and _flag(arg):
            fields["kind"] = "hypothetical"
    default_modify = "read_only" if fields.get("kind", "normal") == "normal" else "read_write"
    fields.setdefault("finalfunc_modify", default_modify)
    fields.setdefault("mfinalfunc_modify", default_modify)
    if "sfunc" not in fields or "stype" not in fields:
        raise state.error(f"aggregate {qualified(schema, name)!r} needs SFUNC and STYPE")
    aggregate = Aggregate(**fields)
    if aggregate.key not in state.objects["aggregates"]:
        # A new aggregate (perhaps after DROP, the only way to change its state type) has the
        # ACL and owner of its own creation, not those of the one dropped. Imported here: the
        # privileges replayer imports this module for aggregate_key.
        from pgspec.sources.replay.privileges import forget

        forget(state, "aggregate", aggregate.key)
    state.aggregate_names.add(qualified(schema, name))
    state.put("aggregates", aggregate)


def aggregate_key(state: State, obj: ast.ObjectWithArgs) -> str:
    """The catalog key of an aggregate named with its argument types (``name(*)`` has none)."""
    parts = names_of(obj.objname)
    schema, name = state.object_key(parts, state.aggregate_names.__contains__)
    types = [state.type_text(t) for t in obj.objargs or ()]
    return f"{qualified(schema, name)}({', '.join(types)})"


def rename_aggregate(state: State, stmt: ast.RenameStmt) -> None:
    key = aggregate_key(state, stmt.object)
    found = state.objects["aggregates"].pop(key, None)
    if found is None:
        return
    moved = found.model_copy(update={"name": stmt.newname})
    state.objects["aggregates"][moved.key] = moved
    state.aggregate_names.add(qualified(moved.schema_name, moved.name))
