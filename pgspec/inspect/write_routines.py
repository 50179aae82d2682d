"""Functions and procedures as spec entries: overloads of one name become a list under it.

A routine's entry says only what differs from the spec's defaults (plpgsql, volatile, parallel
unsafe, ``returns`` inferred from OUT arguments); arguments are ``name type`` text where the
loader reads that back. Types a signature uses that the catalog lacks become external types.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pgspec.catalog import Function
from pgspec.inspect.shorten import argument_text, short_type
from pgspec.inspect.write_state import WriteState, block, sorted_objects
from pgspec.inspect.yamlout import Flow, FlowList


def write_routines(w: WriteState) -> None:
    """Every function and procedure, grouped by schema, kind and name."""
    groups: dict[tuple[str, str, str], list[Function]] = defaultdict(list)
    for func in sorted_objects(w.catalog.functions):
        groups[(func.schema_name, func.kind_of_object, func.name)].append(func)
    for (schema, kind, name), funcs in groups.items():
        entries = [_routine(w, f) for f in funcs]
        section = "functions" if kind == "function" else "procedures"
        w.schema_file[schema].section(section)[name] = entries[0] if len(entries) == 1 else entries


def _routine(w: WriteState, func: Function) -> dict[str, Any]:
    schema = func.schema_name
    entry: dict[str, Any] = {}
    table_columns = [a for a in func.arguments if a.mode == "table"]
    args: list[str | Flow] = []
    for arg in func.arguments:
        if arg.mode == "table":
            continue
        w.type_of(arg.type, schema)
        text = argument_text(arg, schema)
        if text is not None:
            args.append(text)
            continue
        value: dict[str, Any] = {}
        if arg.name:
            value["name"] = arg.name
        value["type"] = short_type(arg.type, schema)
        if arg.mode != "in":
            value["mode"] = arg.mode
        if arg.default is not None:
            value["default"] = arg.default
        args.append(Flow(value))
    if args:
        entry["arguments"] = FlowList(args)
    if func.kind_of_object == "function":
        outs = [a for a in func.arguments if a.mode in ("out", "inout")]
        if table_columns:
            entry["returns"] = {"table": Flow({a.name or "": w.type_of(a.type, schema) for a in table_columns})}
        else:
            rtype = w.type_of(func.returns or "void", schema)
            inferred = "void" if not outs else (outs[0].type if len(outs) == 1 else "record")
            if func.returns_set:
                entry["returns"] = f"SETOF {rtype}"
            elif func.returns != inferred:
                entry["returns"] = rtype
    if func.language != "plpgsql":
        entry["language"] = func.language
    if func.kind_of_object == "function":
        if func.volatility != "volatile":
            entry["volatility"] = func.volatility
        if func.strict:
            entry["strict"] = True
        if func.leakproof:
            entry["leakproof"] = True
        if func.parallel != "unsafe":
            entry["parallel"] = func.parallel
    if func.security_definer:
        entry["security_definer"] = True
    if func.config:
        entry["set"] = Flow(dict(sorted(func.config.items())))
    if func.comment:
        entry["comment"] = func.comment
    entry.update(w.priv.extras(func.kind_of_object, func.key, func.schema_name))
    entry["body"] = block(func.body)
    return entry
