"""Partition keys and bounds in a canonical, comparable form.

``Table.partition_by`` (``RANGE (created_at)``) and ``Table.partition_bound`` (``FOR VALUES
FROM ('2026-01-01') TO ('2027-01-01')``) are stored as each source spells them: the live reader
gets ``pg_get_partkeydef`` and ``pg_get_expr(relpartbound)``, a dump holds the server's text, a
script or a spec holds what a person wrote. The server does not store the text: it stores the
key's columns, collations and operator classes, and each bound value as a constant of the key
column's type, which its output function prints back. So both sides are parsed with pglast
(wrapped in a ``CREATE TABLE``) and compared as structures:

* a key: its strategy and, per element, the column or the canonical expression, with the
  collation and operator class left out where they are the defaults ``pg_get_partkeydef`` leaves
  out (``ruleutils.c``: the column's own collation, the type's default operator class);
* a bound: ``DEFAULT``, hash modulus and remainder, a list's set of values (the server drops
  duplicates and the order carries no meaning), a range's lower and upper values; each value
  typed by the parent's key column and printed as PostgreSQL's output function prints it
  under TimeZone UTC and DateStyle ISO, the settings of pgspec's reads
  (``sources/live_connection.py``).

Time zones, honestly: a timestamptz literal without a zone (``'2026-01-01'``) means midnight in
the TimeZone of the session that ran the statement. pgspec assumes UTC (Supabase's default),
and ``pgspec render`` does not pin ``TimeZone`` at the top of its output, so a rendered script
applied from a session in another zone creates bounds shifted by that zone's offset, which
pgspec then reports as real differences (they are). A literal with a zone (``+02``, ``Z``)
is converted exactly.

Whatever is not certain is not made equal: a value of a type not listed here, a literal form
not parsed here (``'today'``, ``'Jan 1 2026'``, a named zone), a key expression's values, an
operator class of a type not listed: such values compare as pglast's deparsed SQL text, so
two spellings of one value may be reported as a difference, never two values as one.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import pglast
from pglast import ast

from pgspec.catalog import Column, Table
from pgspec.errors import SqlError
from pgspec.normalize.expressions import (
    _FALSE_WORDS,
    _TRUE_WORDS,
    _deparse,
    _parse,
    _strip_schema,
    canonical_expression,
)
from pgspec.normalize.types import cast_statements, internal_type_name

__all__ = [
    "BoundValue",
    "KeyElement",
    "PartitionKey",
    "canonical_partition_bound",
    "canonical_partition_key",
    "canonical_value",
    "key_types",
    "partition_bound_equivalent",
    "partition_key_equivalent",
]

# --------------------------------------------------------------------------- the key


@dataclass(frozen=True)
class KeyElement:
    """One element of a partition key: a column or a canonical expression."""

    column: str | None
    expression: str | None
    collation: tuple[str, ...] | None
    opclass: tuple[str, ...] | None


@dataclass(frozen=True)
class PartitionKey:
    strategy: str  # "range", "list" or "hash"
    elements: tuple[KeyElement, ...]


_STRATEGIES = {"r": "range", "l": "list", "h": "hash"}

#: Default operator classes (btree for RANGE and LIST keys, hash for HASH keys) of the types
#: whose bounds are canonicalised, by internal type name. Both access methods name them alike.
#: ``pg_get_partkeydef`` omits an operator class when it is the type's default
#: (``GetDefaultOpClass``); varchar has none of its own and uses text's (``varchar_ops`` is a
#: non-default alias). tests/test_partition_compare.py checks each against a server.
DEFAULT_OPCLASSES: dict[str, str] = {
    "int2": "int2_ops",
    "int4": "int4_ops",
    "int8": "int8_ops",
    "numeric": "numeric_ops",
    "text": "text_ops",
    "varchar": "text_ops",
    "date": "date_ops",
    "timestamp": "timestamp_ops",
    "timestamptz": "timestamptz_ops",
    "bool": "bool_ops",
    "uuid": "uuid_ops",
}


def _strip(text: str) -> str:
    """The text without trailing semicolons and whitespace (a spec may end a value with one)."""
    body = text.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    return body


@lru_cache(maxsize=4096)
def _parsed_key(text: str) -> ast.PartitionSpec:
    body = _strip(text)
    stmts = _parse(f"CREATE TABLE x (a int) PARTITION BY {body}", "partition key", text)
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(stmt, ast.CreateStmt) or stmt.partspec is None or stmt.options or stmt.tablespacename:
        raise SqlError(f"invalid partition key {text!r}")
    return stmt.partspec


@dataclass(frozen=True)
class _Type:
    """A key column's type as far as bound values need it: internal name and modifiers."""

    name: str | None
    typmods: tuple[int, ...] = ()


@lru_cache(maxsize=4096)
def _column_type(type_text: str) -> _Type:
    """A catalog column type (``format_type`` spelling) as internal name and typmods; a type
    pgspec does not canonicalise values of (arrays, user types) has no name."""
    try:
        stmts = cast_statements(type_text)
    except pglast.parser.ParseError:
        return _Type(None)
    select = stmts[0].stmt if len(stmts) == 1 else None
    target = select.targetList[0].val if isinstance(select, ast.SelectStmt) and select.targetList else None
    if not isinstance(target, ast.TypeCast) or target.typeName.arrayBounds:
        return _Type(None)
    internal = internal_type_name(target.typeName)
    mods: list[int] = []
    for mod in target.typeName.typmods or ():
        if not (isinstance(mod, ast.A_Const) and isinstance(mod.val, ast.Integer)):
            return _Type(None)
        mods.append(mod.val.ival)
    return _Type(internal, tuple(mods))


def _collation_is(names: tuple[str, ...], column: Column) -> bool:
    """Whether a key's COLLATE names the column's own collation (then the server omits it).

    Catalog columns hold ``None`` for the type's default collation, a bare name for one in
    pg_catalog and a qualified name otherwise (``sources/live.py`` ``_collation``)."""
    from pgspec.quoting import qualified

    if column.collation is None:
        return names == ("default",)
    return (len(names) == 1 and names[0] == column.collation) or qualified(*names) == column.collation


def _names(nodes: Any) -> tuple[str, ...] | None:
    if not nodes:
        return None
    stripped = _strip_schema(tuple(nodes))
    return tuple(n.sval for n in stripped or ())


@lru_cache(maxsize=4096)
def _key(text: str, columns: tuple[Column, ...] | None) -> PartitionKey:
    spec = _parsed_key(text)
    strategy = _STRATEGIES.get(str(spec.strategy))
    if strategy is None:
        strategy = str(getattr(spec.strategy, "name", spec.strategy)).rsplit("_", 1)[-1].lower()
    by_name = {c.name: c for c in columns or ()}
    elements = []
    for elem in spec.partParams or ():
        collation = _names(elem.collation)
        opclass = _names(elem.opclass)
        if elem.name is not None:
            column = by_name.get(elem.name)
            if column is not None:
                if collation is not None and _collation_is(collation, column):
                    collation = None
                internal = _column_type(column.type).name
                if opclass is not None and internal is not None and opclass == (DEFAULT_OPCLASSES.get(internal),):
                    opclass = None
            elif collation == ("default",):
                collation = None
            elements.append(KeyElement(elem.name, None, collation, opclass))
        else:
            # An expression's collation and default opclass follow from its type, which is
            # not known offline: they stay as written (a difference, never a false equality).
            # Its casts are judged with the table's column types where they are known
            # (``(s)::text`` is the server's own on a varchar column, the meaning on a char(n)).
            written = _deparse(elem.expr, "partition key", text)
            if columns is not None:
                from pgspec.normalize.typed import column_kinds, typed_canonical

                expression = typed_canonical(written, column_kinds(columns))
            else:
                expression = canonical_expression(written)
            elements.append(KeyElement(None, expression, collation, opclass))
    return PartitionKey(strategy, tuple(elements))


def canonical_partition_key(text: str, columns: Sequence[Column] | None = None) -> PartitionKey:
    """The meaning of a ``partition_by`` clause; ``columns`` are the partitioned table's own
    (they say which COLLATE and operator classes are the defaults the server leaves out).

    >>> canonical_partition_key("range (created_at)") == canonical_partition_key("RANGE (created_at)")
    True
    """
    return _key(text, tuple(columns) if columns is not None else None)


def partition_key_equivalent(
    a: str | None, b: str | None,
    a_columns: Sequence[Column] | None = None, b_columns: Sequence[Column] | None = None,
) -> bool:
    """Whether two ``partition_by`` clauses mean the same; text that does not parse equals
    only itself."""
    if a == b:
        return True
    if a is None or b is None:
        return False
    try:
        return canonical_partition_key(a, a_columns) == canonical_partition_key(b, b_columns)
    except SqlError:
        return False


# --------------------------------------------------------------------------- bound values


@dataclass(frozen=True)
class BoundValue:
    """One value of a bound: ``kind`` "value" (``text`` as the type's output function prints
    it), "null", "minvalue", "maxvalue", or "sql" (not canonicalised: pglast's deparsed text)."""

    kind: str
    text: str = ""
    type: str | None = None


_INT_RANGES = {"int2": 2**15, "int4": 2**31, "int8": 2**63}

#: An ISO 8601 date or timestamp literal as PostgreSQL reads it (``2026-01-01``,
#: ``2026-01-01 10:00``, ``2026-01-01T10:00:00.5Z``, ``2026-01-01 10:00:00+05:30``). This
#: reads the value of a string literal pglast has already parsed, not SQL. Anything else
#: (``Jan 1 2026``, a named zone, ``today``) is not canonicalised.
_MOMENT = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[ T](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?"
    r" ?(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?"
)


def _moment(value: str) -> tuple[datetime.datetime, datetime.timedelta | None] | None:
    """A literal's date and time, and its zone offset when it states one."""
    match = _MOMENT.fullmatch(value.strip())
    if match is None:
        return None
    try:
        day = datetime.date.fromisoformat(match["date"])
        moment = datetime.datetime(
            day.year, day.month, day.day, int(match["h"] or 0), int(match["m"] or 0),
            int(match["s"] or 0), int((match["f"] or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    zone = match["zone"]
    if zone is None:
        return moment, None
    if zone == "Z":
        return moment, datetime.timedelta(0)
    if match["h"] is None:
        return None  # a zone after a bare date: not a form people write; not canonicalised
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return moment, sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))


def _print_timestamp(moment: datetime.datetime) -> str:
    """timestamp_out under DateStyle ISO: seconds always, fractional digits without trailing
    zeros. Years before 1000 are padded to four digits, as ``strftime`` may not do."""
    text = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text


def _time_value(internal: str, value: str, typmods: tuple[int, ...]) -> str | None:
    word = value.strip().lower()
    if word in ("infinity", "-infinity"):
        return word
    found = _moment(value)
    if found is None:
        return None
    moment, offset = found
    if typmods and moment.microsecond and len(f"{moment.microsecond:06d}".rstrip("0")) > typmods[0]:
        return None  # the server rounds to the typmod's precision; not done here
    if internal == "date":
        # date_in reads a time part and ignores it (and a zone with it).
        if moment.year < 1:
            return None
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if internal == "timestamp":
        # timestamp without time zone ignores a zone written in its input (timestamp_in).
        return _print_timestamp(moment)
    # timestamptz: no zone = the session's TimeZone, assumed UTC (module docstring).
    if offset is not None:
        try:
            moment = moment - offset
        except OverflowError:
            return None
    return _print_timestamp(moment) + "+00"


def _integer_value(internal: str, text: str) -> str | None:
    value = text.strip()
    digits = value[1:] if value[:1] in "+-" else value
    # int4in also reads 0x.., 1_000 (PostgreSQL 16+); only plain decimals are canonicalised.
    if not digits or not all("0" <= c <= "9" for c in digits):
        return None
    number = int(value)
    bound = _INT_RANGES[internal]
    if not -bound <= number < bound:
        return None
    return str(number)


def _numeric_value(text: str, typmods: tuple[int, ...]) -> str | None:
    value = text.strip()
    # numeric_in also reads NaN, Infinity and (PostgreSQL 16+) underscores: not canonicalised.
    if not value or not all(c in "0123456789+-.eE" for c in value):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if len(typmods) >= 1:
        precision, scale = typmods[0], (typmods[1] if len(typmods) > 1 else 0)
        if scale < 0 or scale > precision:
            return None
        # apply_typmod rounds half away from zero to the scale, then checks the precision.
        number = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
        if number.adjusted() >= precision - scale:
            return None
    printed = format(number, "f")
    if number == 0 and printed.startswith("-"):
        printed = printed[1:]  # numeric has no negative zero
    return printed


def _uuid_value(text: str) -> str | None:
    value = text
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1]
    hexdigits = value.replace("-", "")
    if len(hexdigits) != 32 or not all(c in "0123456789abcdefABCDEF" for c in hexdigits):
        return None
    if value.startswith("-") or value.endswith("-") or "--" in value:
        return None
    return str(uuid.UUID(hex=hexdigits))


def _string_value(internal: str, text: str, typmods: tuple[int, ...]) -> str | None:
    if internal in ("int2", "int4", "int8"):
        return _integer_value(internal, text)
    if internal == "numeric":
        return _numeric_value(text, typmods)
    if internal in ("date", "timestamp", "timestamptz"):
        return _time_value(internal, text, typmods)
    if internal == "text":
        return text
    if internal == "varchar":
        # varchar(n) truncates trailing spaces beyond n and rejects anything else longer.
        return text if not typmods or len(text) <= typmods[0] else None
    if internal == "bool":
        word = text.strip().lower()
        if word in _TRUE_WORDS:
            return "true"
        if word in _FALSE_WORDS:
            return "false"
        return None
    if internal == "uuid":
        return _uuid_value(text)
    return None


def canonical_value(type_text: str | None, node: ast.Node) -> BoundValue:
    """One bound value (a pglast node) as the key column's type prints it, when certain."""
    if isinstance(node, ast.ColumnRef) and len(node.fields) == 1 and isinstance(node.fields[0], ast.String):
        # transformPartitionRangeBounds reads a bare MINVALUE / MAXVALUE column reference.
        word = node.fields[0].sval
        if word in ("minvalue", "maxvalue"):
            return BoundValue(word)
    if isinstance(node, ast.A_Const) and node.isnull:
        return BoundValue("null")
    kind = _column_type(type_text) if type_text is not None else _Type(None)
    internal = kind.name
    found: str | None = None
    if internal is not None:
        found = _const_value(internal, kind.typmods, node)
    if found is not None:
        return BoundValue("value", found, internal)
    return BoundValue("sql", _deparse(node, "partition bound value", type_text or ""))


def _const_value(internal: str, typmods: tuple[int, ...], node: ast.Node) -> str | None:
    if isinstance(node, ast.TypeCast):
        # '2026-01-01'::timestamptz, timestamptz '2026-01-01': a cast to the key's own type
        # (no modifiers) is what the bare literal means too. A cast to another type converts
        # through it (date -> timestamptz at the session's zone): not canonicalised.
        cast = node.typeName
        if cast.arrayBounds or cast.typmods or internal_type_name(cast) != internal:
            return None
        node = node.arg
        if not (isinstance(node, ast.A_Const) and isinstance(node.val, ast.String)):
            return None
    if not isinstance(node, ast.A_Const) or node.val is None:
        return None
    val = node.val
    if isinstance(val, ast.String):
        return _string_value(internal, val.sval, typmods)
    if isinstance(val, ast.Boolean):
        return ("true" if val.boolval else "false") if internal == "bool" else None
    if isinstance(val, ast.Integer):
        number = str(val.ival)
    elif isinstance(val, ast.Float):
        number = val.fval
    else:
        return None
    # A number on an integer or numeric key is coerced to it (assignment cast); on any other
    # key type the server converts it in ways not modelled here.
    if internal in _INT_RANGES:
        return _integer_value(internal, number)
    if internal == "numeric":
        return _numeric_value(number, typmods)
    return None


# --------------------------------------------------------------------------- bounds


@lru_cache(maxsize=4096)
def _parsed_bound(text: str) -> ast.PartitionBoundSpec:
    """``FOR VALUES ...`` or ``DEFAULT``, with or without ``FOR VALUES`` (as ``render`` reads
    a spec's bound: ``render/ddl.py`` ``partition_bound_sql``)."""
    body = _strip(text)
    for candidate in (body, f"FOR VALUES {body}"):
        try:
            stmts = pglast.parse_sql(f"CREATE TABLE x PARTITION OF y {candidate}")
        except pglast.parser.ParseError:
            continue
        stmt = stmts[0].stmt if len(stmts) == 1 else None
        if isinstance(stmt, ast.CreateStmt) and stmt.partbound is not None:
            return stmt.partbound
    raise SqlError(f"invalid partition bound {text!r}")


#: A canonical bound: ("default",), ("hash", modulus, remainder), ("list", values),
#: ("range", lower values, upper values).
Bound = tuple[Any, ...]


@lru_cache(maxsize=4096)
def _bound(text: str, types: tuple[str | None, ...] | None) -> Bound:
    spec = _parsed_bound(text)
    if spec.is_default:
        return ("default",)
    strategy = _STRATEGIES.get(str(spec.strategy), str(spec.strategy))
    if strategy == "hash":
        return ("hash", spec.modulus, spec.remainder)

    def type_of(position: int) -> str | None:
        return types[position] if types is not None and position < len(types) else None

    if strategy == "list":
        # A list key has one column; the server drops repeated values and keeps no order
        # that changes what the partition holds.
        return ("list", frozenset(canonical_value(type_of(0), v) for v in spec.listdatums or ()))
    lower = tuple(canonical_value(type_of(i), v) for i, v in enumerate(spec.lowerdatums or ()))
    upper = tuple(canonical_value(type_of(i), v) for i, v in enumerate(spec.upperdatums or ()))
    return ("range", lower, upper)


def canonical_partition_bound(text: str, types: Sequence[str | None] | None = None) -> Bound:
    """The meaning of a ``partition_bound`` clause; ``types`` are the key's column types
    (``key_types`` of the parent), None where an element's type is not known.

    >>> t = ["timestamp with time zone"]
    >>> canonical_partition_bound("FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')", t) == (
    ...     canonical_partition_bound("FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')", t))
    True
    """
    return _bound(text, tuple(types) if types is not None else None)


def partition_bound_equivalent(
    a: str | None, b: str | None,
    a_types: Sequence[str | None] | None = None, b_types: Sequence[str | None] | None = None,
) -> bool:
    """Whether two ``partition_bound`` clauses mean the same, each typed by its own parent's
    key; text that does not parse equals only itself."""
    if a == b:
        return True
    if a is None or b is None:
        return False
    try:
        return canonical_partition_bound(a, a_types) == canonical_partition_bound(b, b_types)
    except SqlError:
        return False


def key_types(table: Table, tables: Mapping[str, Table]) -> tuple[str | None, ...] | None:
    """The column types of the key a partition's bound is written for: its parent's
    (``partition_of``) key columns; None for a key expression, None for all if the parent or
    its key is not in ``tables``."""
    parent = tables.get(table.partition_of) if table.partition_of else None
    if parent is None or not parent.partition_by:
        return None
    try:
        spec = _parsed_key(parent.partition_by)
    except SqlError:
        return None
    found: list[str | None] = []
    for elem in spec.partParams or ():
        column = parent.column(elem.name) if elem.name is not None else None
        found.append(column.type if column is not None else None)
    return tuple(found)
