"""Aggregates as spec entries: arguments, support functions and the state they keep.

Apart from routines because an aggregate is mostly references to other functions: each support
function is written as the loader resolves it back (bare in the aggregate's schema or for a
built-in, qualified otherwise), and one the catalog lacks becomes an external function with the
argument types the server calls it with, so the written spec loads on its own.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pgspec.catalog import Aggregate, Argument
from pgspec.inspect.shorten import argument_text, reference_name, short_type
from pgspec.inspect.write_state import WriteState, sorted_objects
from pgspec.inspect.yamlout import Flow, FlowList
from pgspec.quoting import qualified, quote


def write_aggregates(w: WriteState) -> None:
    """Every aggregate, overloads of one name listed under it."""
    groups: dict[tuple[str, str], list[Aggregate]] = defaultdict(list)
    for agg in sorted_objects(w.catalog.aggregates):
        groups[(agg.schema_name, agg.name)].append(agg)
    for (schema, name), aggs in groups.items():
        entries = [_aggregate(w, a) for a in aggs]
        w.schema_file[schema].section("aggregates")[name] = entries[0] if len(entries) == 1 else entries


def _arguments(w: WriteState, arguments: list[Argument], schema: str) -> FlowList:
    out: list[str | Flow] = []
    for arg in arguments:
        w.type_of(arg.type, schema)
        text = argument_text(arg, schema)
        if text is None:
            value: dict[str, Any] = {"name": arg.name} if arg.name else {}
            value["type"] = short_type(arg.type, schema)
            if arg.mode != "in":
                value["mode"] = arg.mode
            out.append(Flow(value))
        else:
            out.append(text)
    return FlowList(out)


def _support_types(agg: Aggregate, which: str) -> list[str]:
    """The argument types PostgreSQL calls the support function ``which`` with."""
    args = [a.type for a in agg.arguments]
    return {
        "sfunc": [agg.stype, *args], "finalfunc": [agg.stype, *(args if agg.finalfunc_extra else [])],
        "combinefunc": [agg.stype, agg.stype], "serialfunc": ["internal"],
        "deserialfunc": ["bytea", "internal"], "msfunc": [agg.mstype or "", *args],
        "minvfunc": [agg.mstype or "", *args],
        "mfinalfunc": [agg.mstype or "", *(args if agg.mfinalfunc_extra else [])],
    }[which]


def _support(w: WriteState, agg: Aggregate, which: str) -> str:
    """A support function as the loader resolves it back: bare in the aggregate's schema
    (or for a built-in, unless the schema has a function of that name), else qualified; one
    the catalog lacks becomes an external function with the types the server calls it with."""
    from pgspec.deps import name_parts

    parts = name_parts(getattr(agg, which))
    schema = agg.schema_name
    if len(parts) == 1:
        return qualified("pg_catalog", parts[0]) if w.has_function(schema, parts[0]) else quote(parts[0])
    fschema, fname = parts[-2], parts[-1]
    if not w.has_function(fschema, fname):
        types = _support_types(agg, which)
        w.external_functions.add(f"{qualified(fschema, fname)}({', '.join(types)})")
    return reference_name(fschema, fname, schema)


def _aggregate(w: WriteState, agg: Aggregate) -> dict[str, Any]:
    schema = agg.schema_name
    entry: dict[str, Any] = {}
    args = list(agg.arguments)
    if agg.kind == "normal":
        if args:
            entry["arguments"] = _arguments(w, args, schema)
    else:
        direct, ordered = args[: agg.direct_arguments], args[agg.direct_arguments:]
        if not ordered and direct and direct[-1].mode == "variadic":
            ordered = [direct[-1]]
        if direct:
            entry["arguments"] = _arguments(w, direct, schema)
        entry["order_by"] = _arguments(w, ordered, schema)
        if agg.kind == "hypothetical":
            entry["hypothetical"] = True
    default_modify = "read_only" if agg.kind == "normal" else "read_write"
    entry["sfunc"] = _support(w, agg, "sfunc")
    entry["stype"] = w.type_of(agg.stype, schema)
    if agg.sspace:
        entry["sspace"] = agg.sspace
    for name in ("finalfunc", "combinefunc", "serialfunc", "deserialfunc"):
        if getattr(agg, name) is not None:
            entry[name] = _support(w, agg, name)
    if agg.finalfunc_extra:
        entry["finalfunc_extra"] = True
    if agg.finalfunc_modify != default_modify:
        entry["finalfunc_modify"] = agg.finalfunc_modify
    if agg.initcond is not None:
        entry["initcond"] = agg.initcond
    for name in ("msfunc", "minvfunc"):
        if getattr(agg, name) is not None:
            entry[name] = _support(w, agg, name)
    if agg.mstype is not None:
        entry["mstype"] = w.type_of(agg.mstype, schema)
    if agg.msspace:
        entry["msspace"] = agg.msspace
    if agg.mfinalfunc is not None:
        entry["mfinalfunc"] = _support(w, agg, "mfinalfunc")
    if agg.mfinalfunc_extra:
        entry["mfinalfunc_extra"] = True
    if agg.mfinalfunc_modify != default_modify:
        entry["mfinalfunc_modify"] = agg.mfinalfunc_modify
    if agg.minitcond is not None:
        entry["minitcond"] = agg.minitcond
    if agg.sortop is not None:
        entry["sortop"] = agg.sortop
    if agg.parallel != "unsafe":
        entry["parallel"] = agg.parallel
    if agg.comment:
        entry["comment"] = agg.comment
    entry.update(w.priv.extras("aggregate", agg.key, schema))
    return entry
