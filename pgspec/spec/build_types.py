"""Enums, domains, composite types and sequences: the objects other objects are typed by.

They share little with tables beyond the namespaces they claim: each is one catalog object, made
from one spec entry, with the server's defaults spelled out (a sequence's start, a domain's
generated check name). A sequence's ``owned_by`` column is checked once every file is read.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pgspec import naming
from pgspec.catalog import Attribute, CompositeType, Domain, Enum, Sequence
from pgspec.errors import PgspecError
from pgspec.quoting import qualified
from pgspec.spec import models as m
from pgspec.spec import names, sqlcheck
from pgspec.spec.build_state import BuildState, long_form
from pgspec.spec.positions import Pos


def build_enum(b: BuildState, schema: str, name: str, value: Any, pos: Pos) -> None:
    spec = value if isinstance(value, m.EnumIn) else long_form(m.EnumIn, values=value)
    if len(set(spec.values)) != len(spec.values):
        b.problem(pos, f"enum {name!r} lists a value twice")
    b.claim(b.type_names, schema, name, "enum", pos, "type")
    obj = Enum(schema=schema, name=name, values=spec.values, comment=spec.comment, location=pos.location)
    b.add("enum", obj, pos)


def build_domain(b: BuildState, schema: str, name: str, spec: m.DomainIn, pos: Pos) -> None:
    b.claim(b.type_names, schema, name, "domain", pos, "type")
    base = b.type_of(spec.type, schema, pos.child("type"))
    checks = dict(spec.checks)
    if spec.check is not None:
        checks.setdefault(naming.check_name(name, []), spec.check)
    for cname, expr in checks.items():
        cpos = pos.at("checks", cname) if cname in spec.checks else pos.child("check")
        b.sql_ok(partial(sqlcheck.check_expression, expr, "check"), cpos)
    if spec.default is not None:
        b.sql_ok(partial(sqlcheck.check_expression, spec.default, "default"), pos.child("default"))
    if base is None:
        return
    obj = Domain(
        schema=schema,
        name=name,
        type=base,
        not_null=spec.not_null,
        default=spec.default,
        collation=spec.collation,
        checks=checks,
        comment=spec.comment,
        location=pos.location,
    )
    b.add("domain", obj, pos)


def build_composite(b: BuildState, schema: str, name: str, spec: m.CompositeIn, pos: Pos) -> None:
    b.claim(b.type_names, schema, name, "composite type", pos, "type")
    b.claim(b.relations, schema, name, "composite type", pos, "relation")
    attributes = []
    for aname, value in spec.attributes.items():
        attr = value if isinstance(value, m.AttributeIn) else long_form(m.AttributeIn, type=value)
        apos = pos.at("attributes", aname)
        atype = b.type_of(attr.type, schema, apos.child("type") if isinstance(value, m.AttributeIn) else apos)
        if atype is not None:
            attributes.append(Attribute(name=aname, type=atype, collation=attr.collation))
    obj = CompositeType(
        schema=schema, name=name, attributes=attributes, comment=spec.comment, location=pos.location
    )
    b.add("composite type", obj, pos)


def build_sequence(b: BuildState, schema: str, name: str, spec: m.SequenceIn, pos: Pos) -> None:
    b.claim(b.relations, schema, name, "sequence", pos, "relation")
    stype = b.type_of(spec.type, schema, pos.child("type"))
    if stype is None:
        return
    if stype not in ("smallint", "integer", "bigint"):
        b.problem(pos.child("type"), f"sequence type must be smallint, integer or bigint, got {spec.type!r}")
        return
    if spec.increment == 0:
        b.problem(pos.child("increment"), "sequence increment must not be zero")
    owned_by = None
    if spec.owned_by is not None:
        opos = pos.child("owned_by")
        try:
            parts = names.parse_column_path(spec.owned_by)
        except PgspecError as exc:
            b.problem(opos, exc.problem.message)
            parts = []
        if len(parts) == 2:
            parts = [schema, *parts]
        if len(parts) == 3:
            owned_by = qualified(*parts)
            b.later.append(partial(_check_column_exists, b, parts, opos, "owned_by"))
        elif parts:
            b.problem(opos, f"owned_by must be table.column, got {spec.owned_by!r}")
    # PostgreSQL's defaults: an ascending sequence starts at its minimum (1), a descending
    # one at its maximum (-1 unless given).
    if spec.start is not None:
        start = spec.start
    elif spec.increment > 0:
        start = spec.min_value if spec.min_value is not None else 1
    else:
        start = spec.max_value if spec.max_value is not None else -1
    obj = Sequence(
        schema=schema,
        name=name,
        type=stype,
        start=start,
        increment=spec.increment,
        min_value=spec.min_value,
        max_value=spec.max_value,
        cache=spec.cache,
        cycle=spec.cycle,
        owned_by=owned_by,
        comment=spec.comment,
        location=pos.location,
    )
    b.add("sequence", obj, pos)


def _check_column_exists(b: BuildState, parts: list[str], pos: Pos, what: str) -> None:
    table = b.objects["tables"].get(qualified(*parts[:2]))
    if table is None:
        b.problem(pos, f"{what}: unknown table {qualified(*parts[:2])!r}")
    elif table.column(parts[2]) is None:
        b.problem(pos, f"{what}: table {table.key!r} has no column {parts[2]!r}")
