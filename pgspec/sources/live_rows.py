"""Catalog rows into model objects, where the row alone says everything.

``live._Reader`` builds the objects whose rows need what other queries read (a constraint's
column numbers resolved through COLUMNS, an index's keys through the default operator
classes). Everything here needs only its own row, plus the server's code letters spelled out
(``pg_constraint.contype``, ``pg_trigger.tgtype`` bits, ``pg_proc.provolatile``, ...): kept
apart so the reader reads as the order in which one query's answers feed another's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any, Literal

from pgspec.catalog import (
    Aggregate,
    Argument,
    Column,
    ConstraintKind,
    FinalModify,
    FkAction,
    Policy,
    Sequence,
)
from pgspec.errors import SqlError
from pgspec.normalize import canonical_type
from pgspec.quoting import qualified, quote
from pgspec.sources.live_connection import CatalogRow

CONSTRAINT_KINDS: dict[str, ConstraintKind] = {
    "p": "primary_key", "u": "unique", "f": "foreign_key", "c": "check", "x": "exclude"}
FK_ACTIONS: dict[str, FkAction] = {
    "a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
FK_MATCH: dict[str, Literal["simple", "full", "partial"]] = {
    "s": "simple", "f": "full", "p": "partial"}
ARG_MODES: dict[str, Literal["in", "out", "inout", "variadic", "table"]] = {
    "i": "in", "o": "out", "b": "inout", "v": "variadic", "t": "table"}
VOLATILITY: dict[str, Literal["volatile", "stable", "immutable"]] = {
    "v": "volatile", "s": "stable", "i": "immutable"}
PARALLEL: dict[str, Literal["unsafe", "restricted", "safe"]] = {
    "u": "unsafe", "r": "restricted", "s": "safe"}
POLICY_COMMANDS: dict[str, Literal["all", "select", "insert", "update", "delete"]] = {
    "*": "all", "r": "select", "a": "insert", "w": "update", "d": "delete"}
TG_ENABLED: dict[str, Literal["origin", "always", "replica", "disabled"]] = {
    "O": "origin", "D": "disabled", "R": "replica", "A": "always"}
IDENTITIES: dict[str, Literal["always", "by default"]] = {"a": "always", "d": "by default"}
# pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h, TRIGGER_TYPE_*).
TG_ROW, TG_BEFORE, TG_INSTEAD = 1, 2, 64
TG_EVENTS = {4: "insert", 8: "delete", 16: "update", 32: "truncate"}
# What CREATE SEQUENCE picks without MINVALUE/MAXVALUE, per type (ascending; a descending
# sequence gets the type's minimum and -1).
_SEQ_LIMITS: dict[str, tuple[int | None, int | None]] = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1),
               "bigint": (-(2**63), 2**63 - 1)}
_BOOL_WORDS = {"true": "true", "on": "true", "yes": "true", "1": "true",
               "false": "false", "off": "false", "no": "false", "0": "false"}


@functools.lru_cache(maxsize=65536)
def column_from(
    name: str, type_text: str, not_null: bool, default: str | None, generated: str | None,
    identity: str | None, collation_schema: str | None, collation_name: str | None,
    comment: str | None,
) -> Column:
    """The Column of one COLUMNS row. Columns are immutable and schemas repeat them (``id``,
    ``tenant_id``, ``created_at`` on every table): each distinct column is built and validated
    once and shared, by both databases of a comparison too, which also lets the differ find
    them equal by identity.
    """
    return Column(
        name=name,
        type=model_type(type_text),
        not_null=not_null,
        default=None if generated else default,
        generated=default if generated else None,
        identity=IDENTITIES.get(identity or ""),
        collation=collation_ref(collation_schema, collation_name),
        comment=comment,
    )


def keyed(objects: Iterator[Any] | Any) -> dict[str, Any]:
    return {obj.key: obj for obj in objects}


def decoded_json(value: Any) -> Any:
    """JSON columns arrive decoded by psycopg; text (a custom loader) is decoded here."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def model_type(text: str) -> str:
    """A ``format_type`` spelling in the canonical form every source uses."""
    try:
        return canonical_type(text)
    except SqlError:
        return text


def collation_ref(schema: str | None, name: str | None) -> str | None:
    """A collation as the shared index-element conversion names one: bare when it lives in
    pg_catalog (always on the search path), schema-qualified otherwise."""
    if name is None:
        return None
    return name if schema in (None, "pg_catalog") else qualified(schema, name)


def schema_comment(row: CatalogRow) -> str | None:
    """initdb's comment on ``public`` is the server's, not the user's: pg_dump leaves it out,
    and so does this reader, so a database and its dump read the same."""
    if row.name == "public" and row.comment == "standard public schema":
        return None
    return row.comment


def view_options(reloptions: list[str] | None) -> dict[str, str]:
    """reloptions keep what was written (``security_barrier=on``); booleans become "true" /
    "false" as the model states them."""
    options: dict[str, str] = {}
    for item in reloptions or ():
        name, _, value = item.partition("=")
        if name in ("security_barrier", "security_invoker"):
            value = _BOOL_WORDS.get(value.lower(), value)
        options[name] = value
    return options


def sequence_from(row: CatalogRow) -> Sequence:
    seq_type = model_type(row.type)
    low, high = _SEQ_LIMITS.get(seq_type, (None, None))
    default_min: int | None
    default_max: int | None
    if row.increment < 0:
        default_min, default_max = low, -1
    else:
        default_min, default_max = 1, high
    owner = decoded_json(row.owned_by)
    return Sequence(
        schema=row.schema,
        name=row.name,
        type=seq_type,
        start=row.start,
        increment=row.increment,
        min_value=None if row.min_value == default_min else row.min_value,
        max_value=None if row.max_value == default_max else row.max_value,
        cache=row.cache,
        cycle=row.cycle,
        owned_by=qualified(*owner) if owner else None,
        comment=row.comment,
    )


_AGG_KINDS: dict[str, Literal["normal", "ordered_set", "hypothetical"]] = {
    "n": "normal", "o": "ordered_set", "h": "hypothetical"}
_AGG_MODIFY: dict[str, FinalModify] = {"r": "read_only", "s": "shareable", "w": "read_write"}


def proc_ref(pair: list[str] | None) -> str | None:
    """A support function or operator as every source names it: bare in pg_catalog (always on
    the search path), ``schema.name`` elsewhere."""
    if not pair:
        return None
    schema, name = pair
    return qualified(name) if schema == "pg_catalog" else qualified(schema, name)


def aggregate_from(row: CatalogRow) -> Aggregate:
    modes = row.arg_modes or []
    names = row.arg_names or []
    arguments = [
        Argument(name=(names[i] or None) if i < len(names) else None, type=model_type(t),
                 mode="variadic" if i < len(modes) and modes[i] == "v" else "in")
        for i, t in enumerate(row.arg_types)
    ]
    sortop = row.sortop
    return Aggregate(
        schema=row.schema,
        name=row.name,
        arguments=arguments,
        kind=_AGG_KINDS[row.aggkind],
        direct_arguments=row.direct_arguments,
        sfunc=proc_ref(row.aggtransfn) or "",
        stype=model_type(row.stype),
        sspace=row.sspace,
        finalfunc=proc_ref(row.aggfinalfn),
        finalfunc_extra=row.finalfunc_extra,
        finalfunc_modify=_AGG_MODIFY[row.finalfunc_modify],
        combinefunc=proc_ref(row.aggcombinefn),
        serialfunc=proc_ref(row.aggserialfn),
        deserialfunc=proc_ref(row.aggdeserialfn),
        initcond=row.initcond,
        msfunc=proc_ref(row.aggmtransfn),
        minvfunc=proc_ref(row.aggminvtransfn),
        mstype=model_type(row.mstype) if row.mstype else None,
        msspace=row.msspace,
        mfinalfunc=proc_ref(row.aggmfinalfn),
        mfinalfunc_extra=row.mfinalfunc_extra,
        mfinalfunc_modify=_AGG_MODIFY[row.mfinalfunc_modify],
        minitcond=row.minitcond,
        sortop=(sortop[1] if sortop[0] == "pg_catalog" else f"{quote(sortop[0])}.{sortop[1]}") if sortop else None,
        parallel=PARALLEL[row.proparallel],
        comment=row.comment,
    )


def policy_from(row: CatalogRow) -> Policy:
    return Policy(
        schema=row.schema,
        table=row.table,
        name=row.name,
        command=POLICY_COMMANDS[row.command],
        permissive=row.permissive,
        roles=sorted(row.roles),
        using=row.using,
        with_check=row.with_check,
        comment=row.comment,
    )
