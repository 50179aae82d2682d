"""Functions and procedures: arguments, the return type and the body, as the server records them.

What the server derives, the builder derives too: a function's return type from its OUT
arguments when none is given (one OUT argument: its type; several: record; none: void), and
``RETURNS TABLE`` as TABLE-mode arguments returning SETOF record (SETOF its type for a single
column). The body is checked against its language (SQL parsed, PL/pgSQL compiled by pglast).
Arguments are shared with aggregates (build_aggregates).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from pgspec.catalog import Argument, Function
from pgspec.errors import PgspecError
from pgspec.spec import models as m
from pgspec.spec import names, sqlcheck
from pgspec.spec.build_state import BuildState
from pgspec.spec.positions import Pos

#: The catalog kind a routine entry builds (``functions:`` or ``procedures:``).
RoutineKind = Literal["function", "procedure"]

def build_argument(b: BuildState, value: Any, schema: str, apos: Pos) -> Argument | None:
    """One routine or aggregate argument, written as SQL text (``"p_days integer DEFAULT
    90"``) or as a mapping; None when it is wrong (the problem is recorded at ``apos``)."""
    if isinstance(value, str):
        try:
            arg = names.parse_argument(value, schema)
        except PgspecError as exc:
            b.problem(apos, exc.problem.message)
            return None
        key = names.user_type_key(arg.type)
        if key:
            b.used_types.append((key, apos))
        return arg
    atype = b.type_of(value.type, schema, apos.child("type"))
    if atype is None:
        return None
    return Argument(name=value.name, type=atype, mode=value.mode, default=value.default)


def build_routine(b: BuildState, kind: RoutineKind, schema: str, name: str, spec: Any, pos: Pos) -> None:
    arguments: list[Argument] = []
    ok = True
    for i, value in enumerate(spec.arguments):
        apos = pos.at("arguments", i)
        arg = build_argument(b, value, schema, apos)
        if arg is None:
            ok = False
            continue
        if not isinstance(value, str) and value.default is not None and not b.sql_ok(
            partial(sqlcheck.check_expression, value.default, "default"), apos.child("default")
        ):
            ok = False
        arguments.append(arg)
    returns: str | None = None
    returns_set = False
    if kind == "function":
        rpos = pos.child("returns")
        outs = [a for a in arguments if a.mode in ("out", "inout")]
        if isinstance(spec.returns, m.ReturnsTableIn):
            if outs:
                b.problem(rpos, "a function returning a table cannot also have OUT arguments")
                ok = False
            for cname, ctext in spec.returns.table.items():
                ctype = b.type_of(ctext, schema, rpos.at("table", cname))
                if ctype is None:
                    ok = False
                    continue
                arguments.append(Argument(name=cname, type=ctype, mode="table"))
            # TableFuncTypeName: one column returns SETOF its type, more return SETOF record.
            columns = [a for a in arguments if a.mode == "table"]
            returns = columns[0].type if len(columns) == 1 else "record"
            returns_set = True
        elif spec.returns is not None:
            rtype = b.type_of(spec.returns, schema, rpos)
            if rtype is None:
                ok = False
            elif rtype.startswith("SETOF "):
                returns, returns_set = rtype.removeprefix("SETOF "), True
            else:
                returns = rtype
        elif len(outs) == 1:
            returns = outs[0].type
        elif outs:
            returns = "record"
        else:
            returns = "void"
    body = spec.body.strip()
    if ok:
        b.sql_ok(
            lambda: sqlcheck.check_body(
                body, spec.language, name=name, arguments=arguments, returns=returns, returns_set=returns_set
            ),
            pos.child("body"),
        )
    if not ok:
        return
    config = {k: ", ".join(v) if isinstance(v, list) else v for k, v in spec.set.items()}
    fields: dict[str, Any] = {}
    if kind == "function":
        fields = dict(
            volatility=spec.volatility, strict=spec.strict, leakproof=spec.leakproof, parallel=spec.parallel
        )
    obj = Function(
        schema=schema,
        name=name,
        kind_of_object=kind,
        arguments=arguments,
        returns=returns,
        returns_set=returns_set,
        language=spec.language,
        body=body,
        security_definer=spec.security_definer,
        config=config,
        comment=spec.comment,
        location=pos.location,
        **fields,
    )
    b.add(kind, obj, pos)

