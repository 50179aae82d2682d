"""Enums, domains, composite types and sequences as spec entries: the objects others are typed by.

Each is one catalog object written as one entry of its schema's file, with what the server
would do on its own left out (a sequence's default start, a domain check named the way
PostgreSQL names it). Sequences also decide something for tables: one that a ``serial`` column
made on its own gets no entry, and the column is written as ``serial`` again (``find_serials``
runs before any table is written).
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from pgspec import naming
from pgspec.catalog import Column, CompositeType, Domain, Enum, Sequence, Table
from pgspec.inspect.shorten import short_default, short_expression, short_type
from pgspec.inspect.write_state import WriteState, sql_value
from pgspec.inspect.yamlout import Flow, FlowList
from pgspec.quoting import qualified, quote
from pgspec.spec import names


def write_enum(w: WriteState, enum: Enum) -> None:
    """A bare list of values unless the enum has a comment or grants of its own."""
    extras = w.priv.extras("type", enum.key, enum.schema_name)
    entry: Any = FlowList(enum.values)
    if enum.comment or extras:
        entry = {"values": FlowList(enum.values)} | ({"comment": enum.comment} if enum.comment else {}) | extras
    w.schema_file[enum.schema_name].section("enums")[enum.name] = entry


def write_domain(w: WriteState, domain: Domain) -> None:
    w.schema_file[domain.schema_name].section("domains")[domain.name] = _domain(w, domain)


def _domain(w: WriteState, domain: Domain) -> Any:
    entry: dict[str, Any] = {"type": w.type_of(domain.type, domain.schema_name)}
    if domain.not_null:
        entry["not_null"] = True
    if domain.default is not None:
        entry["default"] = sql_value(short_default(domain.default))
    if domain.collation:
        entry["collation"] = domain.collation
    checks = {name: short_expression(text) for name, text in domain.checks.items()}
    if list(checks) == [naming.check_name(domain.name, [])]:
        entry["check"] = next(iter(checks.values()))
    elif checks:
        entry["checks"] = checks
    if domain.comment:
        entry["comment"] = domain.comment
    entry.update(w.priv.extras("type", domain.key, domain.schema_name))
    return Flow(entry) if len(entry) <= 2 and "checks" not in entry else entry


def write_composite(w: WriteState, comp: CompositeType) -> None:
    attrs: dict[str, Any] = {}
    for attr in comp.attributes:
        atype = w.type_of(attr.type, comp.schema_name)
        attrs[attr.name] = Flow(type=atype, collation=attr.collation) if attr.collation else atype
    entry: dict[str, Any] = {"attributes": Flow(attrs)}
    if comp.comment:
        entry["comment"] = comp.comment
    entry.update(w.priv.extras("type", comp.key, comp.schema_name))
    w.schema_file[comp.schema_name].section("composite_types")[comp.name] = entry


def write_sequence(w: WriteState, seq: Sequence) -> None:
    """An entry for a sequence, unless a ``serial`` column stands for it."""
    if seq.key not in w.serial_sequences:
        w.schema_file[seq.schema_name].section("sequences")[seq.name] = _sequence(w, seq)


def _sequence(w: WriteState, seq: Sequence) -> Flow:
    entry: dict[str, Any] = {}
    if seq.type != "bigint":
        entry["type"] = short_type(seq.type, seq.schema_name)
    if seq.increment > 0:
        default_start = seq.min_value if seq.min_value is not None else 1
    else:
        default_start = seq.max_value if seq.max_value is not None else -1
    if seq.start != default_start:
        entry["start"] = seq.start
    if seq.increment != 1:
        entry["increment"] = seq.increment
    if seq.min_value is not None:
        entry["min_value"] = seq.min_value
    if seq.max_value is not None:
        entry["max_value"] = seq.max_value
    if seq.cache != 1:
        entry["cache"] = seq.cache
    if seq.cycle:
        entry["cycle"] = True
    if seq.owned_by:
        entry["owned_by"] = _owned_by(seq)
    if seq.comment:
        entry["comment"] = seq.comment
    entry.update(w.priv.extras("sequence", seq.key, seq.schema_name))
    return Flow(entry)


def _owned_by(seq: Sequence) -> str:
    parts = names.parse_column_path(seq.owned_by or "")
    if len(parts) == 3 and parts[0] == seq.schema_name:
        parts = parts[1:]
    return ".".join(quote(p) for p in parts)


def find_serials(w: WriteState) -> None:
    """Sequences a ``serial`` column makes on its own: written as the column's type."""
    for seq in w.catalog.sequences.values():
        if not seq.owned_by or seq.comment is not None:
            continue
        parts = names.parse_column_path(seq.owned_by)
        if len(parts) != 3 or parts[0] != seq.schema_name:
            continue
        table = w.catalog.tables.get(qualified(parts[0], parts[1]))
        col = table.column(parts[2]) if table is not None else None
        if table is None or col is None or not _is_serial(seq, table, col):
            continue
        if not w.priv.follows_defaults("sequence", seq.key, seq.schema_name):
            continue  # its grants or owner need an entry of its own
        w.serial_sequences.add(seq.key)


def _is_serial(seq: Sequence, table: Table, col: Column) -> bool:
    """Whether ``serial`` on this column would make exactly this sequence and default."""
    if seq.name != naming.sequence_name(table.name, col.name) or seq.type != col.type:
        return False
    if col.type not in ("smallint", "integer", "bigint") or not col.not_null or col.identity:
        return False
    defaults = Sequence(schema=seq.schema_name, name=seq.name, type=seq.type)
    options = ("start", "increment", "min_value", "max_value", "cache", "cycle", "comment")
    if any(getattr(seq, o) != getattr(defaults, o) for o in options):
        return False
    literal = sql.Literal(qualified(seq.schema_name, seq.name)).as_string(None)
    return col.default == f"nextval({literal}::regclass)"
