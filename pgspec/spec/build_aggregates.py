"""Aggregates: arguments, ordered-set forms, support functions and the sort operator.

Apart from routines because an aggregate is mostly references: to its state and support
functions (resolved once every file is read, since an unqualified name may be the spec's own
function or a built-in), and to a sort operator, spelled as the catalog spells it.
"""

from __future__ import annotations

from typing import Any, Literal

from pgspec.catalog import Aggregate, Argument
from pgspec.errors import PgspecError
from pgspec.quoting import qualified, quote
from pgspec.spec import models as m
from pgspec.spec import names
from pgspec.spec.build_routines import build_argument
from pgspec.spec.build_state import BuildState
from pgspec.spec.positions import Pos


def _aggregate_arguments(b: BuildState, values: list[Any], schema: str, pos: Pos) -> list[Argument] | None:
    arguments: list[Argument] = []
    for i, value in enumerate(values):
        apos = pos.at(i)
        arg = build_argument(b, value, schema, apos)
        if arg is None:
            return None
        if arg.mode not in ("in", "variadic") or arg.default is not None:
            b.problem(apos, "an aggregate argument is an (optionally VARIADIC) type with no default")
            return None
        arguments.append(arg)
    return arguments


def build_aggregate(b: BuildState, schema: str, name: str, spec: m.AggregateIn, pos: Pos) -> None:
    arguments = _aggregate_arguments(b, spec.arguments, schema, pos.child("arguments"))
    ordered: list[Argument] | None = []
    if spec.order_by is not None:
        ordered = _aggregate_arguments(b, spec.order_by, schema, pos.child("order_by"))
    if arguments is None or ordered is None:
        return
    kind: Literal["normal", "ordered_set", "hypothetical"] = "normal"
    direct = 0
    if spec.order_by is not None:
        kind = "hypothetical" if spec.hypothetical else "ordered_set"
        direct = len(arguments)
        if arguments and arguments[-1].mode == "variadic":
            # The server keeps one VARIADIC argument for "VARIADIC x ORDER BY VARIADIC x".
            if len(ordered) != 1 or ordered[0].mode != "variadic" or ordered[0].type != arguments[-1].type:
                b.problem(pos.child("order_by"), "with a VARIADIC direct argument, order_by must be one VARIADIC argument of the same type")
                return
            ordered = []
        elif not ordered:
            b.problem(pos.child("order_by"), "order_by needs at least one argument")
            return
    elif spec.hypothetical:
        b.problem(pos.child("hypothetical"), "a hypothetical aggregate needs order_by")
        return
    refs: dict[str, tuple[str | None, str]] = {}
    for field in ("sfunc", "finalfunc", "combinefunc", "serialfunc", "deserialfunc", "msfunc",
                  "minvfunc", "mfinalfunc"):
        text = getattr(spec, field)
        if text is None:
            continue
        try:
            fschema, fname, fargs = names.parse_function_name(text, "")
        except PgspecError as exc:
            b.problem(pos.child(field), exc.problem.message)
            return
        if fargs is not None:
            b.problem(pos.child(field), f"{field} is a function name without arguments, got {text!r}")
            return
        refs[field] = (fschema or None, fname)
    stype = b.type_of(spec.stype, schema, pos.child("stype"))
    mstype = b.type_of(spec.mstype, schema, pos.child("mstype")) if spec.mstype is not None else None
    if stype is None or (spec.mstype is not None and mstype is None):
        return
    default_modify: Literal["read_only", "read_write"] = "read_only" if kind == "normal" else "read_write"
    sortop = None
    if spec.sortop is not None:
        sortop = _sortop(b, spec.sortop, pos.child("sortop"))
        if sortop is None:
            return
    obj = Aggregate(
        schema=schema,
        name=name,
        arguments=arguments + ordered,
        kind=kind,
        direct_arguments=direct,
        sfunc=qualified(refs["sfunc"][1]),
        stype=stype,
        sspace=spec.sspace,
        finalfunc_extra=spec.finalfunc_extra,
        finalfunc_modify=spec.finalfunc_modify or default_modify,
        initcond=spec.initcond,
        mstype=mstype,
        msspace=spec.msspace,
        mfinalfunc_extra=spec.mfinalfunc_extra,
        mfinalfunc_modify=spec.mfinalfunc_modify or default_modify,
        minitcond=spec.minitcond,
        sortop=sortop,
        parallel=spec.parallel,
        comment=spec.comment,
        location=pos.location,
    )
    if b.add("aggregate", obj, pos):
        b.later.append(lambda: _resolve_aggregate(b, obj.key, schema, refs, pos))


def _sortop(b: BuildState, text: str, pos: Pos) -> str | None:
    """``>`` or ``schema.op`` (or ``OPERATOR(schema.op)``) as the catalog spells a sort
    operator: bare for pg_catalog's."""
    import pglast
    from pglast import ast

    source = text.strip()
    if "." in source and not source.upper().startswith("OPERATOR"):
        source = f"OPERATOR({source})"
    try:
        stmts = pglast.parse_sql(f"CREATE AGGREGATE a(int) (SFUNC = f, STYPE = int, SORTOP = {source})")
        stmt = stmts[0].stmt if len(stmts) == 1 else None
        if not isinstance(stmt, ast.DefineStmt):
            raise ValueError
        (option,) = [o for o in stmt.definition or () if o.defname == "sortop"]
        parts = [n.sval for n in option.arg]
        if not 1 <= len(parts) <= 2:
            raise ValueError
    except (pglast.parser.ParseError, AttributeError, TypeError, ValueError):
        b.problem(pos, f"invalid sort operator {text!r}")
        return None
    if len(parts) == 2 and parts[0] != "pg_catalog":
        return f"{quote(parts[0])}.{parts[1]}"
    return parts[-1]


def _resolve_aggregate(b: BuildState, key: str, schema: str, refs: dict[str, tuple[str | None, str]], pos: Pos) -> None:
    """Support functions once every file is read: an unqualified name is the file schema's
    function of that name when the spec (or its externals) has one, else a built-in."""
    resolved: dict[str, str] = {}
    for field, (fschema, fname) in refs.items():
        target = fschema
        if target is None:
            key_prefix = qualified(schema, fname)
            mine = any(f.schema_name == schema and f.name == fname for f in b.objects["functions"].values())
            target = schema if mine or any(k.startswith(key_prefix + "(") for k in b.externals) else "pg_catalog"
        elif target != "pg_catalog":
            prefix = qualified(target, fname) + "("
            if not any(f.schema_name == target and f.name == fname for f in b.objects["functions"].values()) and not any(
                    k.startswith(prefix) for k in b.externals):
                b.problem(pos.child(field), f"unknown function {qualified(target, fname)!r} (declare it, or list it under external: functions)")
        resolved[field] = qualified(fname) if target == "pg_catalog" else qualified(target, fname)
    agg = b.objects["aggregates"][key]
    b.objects["aggregates"][key] = agg.model_copy(update=resolved)

