"""Operator class names: which are built in, and when a bare one names a qualified one.

The live reader runs with an empty ``search_path``, so ``pg_get_indexdef`` qualifies every
opclass outside pg_catalog (``public.halfvec_cosine_ops``, ``extensions.gin_trgm_ops``). A
script names them bare and the server finds them along its search_path, pg_catalog first
unless the path lists it elsewhere (``namespace.c``, ``OpclassnameGetOpcid``, searched per
access method). The replay resolves a bare name the same way where the script tells
(``BUILTIN``, the script's own CREATE OPERATOR CLASS, the schemas it created extensions in:
``pgspec.sources.replay.opclasses``); where it cannot tell, it keeps the name bare and records
on the index the schemas the name may live in (``Index.opclass_schemas``). ``settle`` lets the
differ match such a bare name with the qualified one of the same name in one of those
schemas, and with nothing else: another name, or the name in a schema off the path, is still
a difference.
"""

from __future__ import annotations

from functools import lru_cache

import pglast
from pglast import ast

from pgspec.catalog import Index, IndexKey

__all__ = ["BUILTIN", "builtin", "default_opclass", "name_parts", "settle"]

#: Every operator class in pg_catalog, by access method, with the input type it is the default
#: for (``opcdefault``; the type's internal name, polymorphic ones included) or None. A fact
#: read from a real server: ``SELECT am.amname, opc.opcname, CASE WHEN opc.opcdefault THEN
#: t.typname END FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod JOIN pg_type t
#: ON t.oid = opc.opcintype WHERE opc.opcnamespace = 'pg_catalog'::regnamespace``; the same
#: 177 rows on PostgreSQL 15 and 18 (tests/test_replay_opclass.py asks each server).
BUILTIN: dict[str, dict[str, str | None]] = {
    "brin": {
        "bit_minmax_ops": "bit", "box_inclusion_ops": "box", "bpchar_bloom_ops": None,
        "bpchar_minmax_ops": "bpchar", "bytea_bloom_ops": None, "bytea_minmax_ops": "bytea",
        "char_bloom_ops": None, "char_minmax_ops": "char", "date_bloom_ops": None,
        "date_minmax_multi_ops": None, "date_minmax_ops": "date", "float4_bloom_ops": None,
        "float4_minmax_multi_ops": None, "float4_minmax_ops": "float4", "float8_bloom_ops":
        None, "float8_minmax_multi_ops": None, "float8_minmax_ops": "float8", "inet_bloom_ops":
        None, "inet_inclusion_ops": "inet", "inet_minmax_multi_ops": None, "inet_minmax_ops":
        None, "int2_bloom_ops": None, "int2_minmax_multi_ops": None, "int2_minmax_ops": "int2",
        "int4_bloom_ops": None, "int4_minmax_multi_ops": None, "int4_minmax_ops": "int4",
        "int8_bloom_ops": None, "int8_minmax_multi_ops": None, "int8_minmax_ops": "int8",
        "interval_bloom_ops": None, "interval_minmax_multi_ops": None, "interval_minmax_ops":
        "interval", "macaddr8_bloom_ops": None, "macaddr8_minmax_multi_ops": None,
        "macaddr8_minmax_ops": "macaddr8", "macaddr_bloom_ops": None,
        "macaddr_minmax_multi_ops": None, "macaddr_minmax_ops": "macaddr", "name_bloom_ops":
        None, "name_minmax_ops": "name", "numeric_bloom_ops": None, "numeric_minmax_multi_ops":
        None, "numeric_minmax_ops": "numeric", "oid_bloom_ops": None, "oid_minmax_multi_ops":
        None, "oid_minmax_ops": "oid", "pg_lsn_bloom_ops": None, "pg_lsn_minmax_multi_ops":
        None, "pg_lsn_minmax_ops": "pg_lsn", "range_inclusion_ops": "anyrange",
        "text_bloom_ops": None, "text_minmax_ops": "text", "tid_bloom_ops": None,
        "tid_minmax_multi_ops": None, "tid_minmax_ops": "tid", "time_bloom_ops": None,
        "time_minmax_multi_ops": None, "time_minmax_ops": "time", "timestamp_bloom_ops": None,
        "timestamp_minmax_multi_ops": None, "timestamp_minmax_ops": "timestamp",
        "timestamptz_bloom_ops": None, "timestamptz_minmax_multi_ops": None,
        "timestamptz_minmax_ops": "timestamptz", "timetz_bloom_ops": None,
        "timetz_minmax_multi_ops": None, "timetz_minmax_ops": "timetz", "uuid_bloom_ops": None,
        "uuid_minmax_multi_ops": None, "uuid_minmax_ops": "uuid", "varbit_minmax_ops": "varbit",
    },
    "btree": {
        "array_ops": "anyarray", "bit_ops": "bit", "bool_ops": "bool", "bpchar_ops": "bpchar",
        "bpchar_pattern_ops": None, "bytea_ops": "bytea", "char_ops": "char", "cidr_ops": None,
        "date_ops": "date", "enum_ops": "anyenum", "float4_ops": "float4", "float8_ops":
        "float8", "inet_ops": "inet", "int2_ops": "int2", "int4_ops": "int4", "int8_ops":
        "int8", "interval_ops": "interval", "jsonb_ops": "jsonb", "macaddr8_ops": "macaddr8",
        "macaddr_ops": "macaddr", "money_ops": "money", "multirange_ops": "anymultirange",
        "name_ops": "name", "numeric_ops": "numeric", "oid_ops": "oid", "oidvector_ops":
        "oidvector", "pg_lsn_ops": "pg_lsn", "range_ops": "anyrange", "record_image_ops": None,
        "record_ops": "record", "text_ops": "text", "text_pattern_ops": None, "tid_ops": "tid",
        "time_ops": "time", "timestamp_ops": "timestamp", "timestamptz_ops": "timestamptz",
        "timetz_ops": "timetz", "tsquery_ops": "tsquery", "tsvector_ops": "tsvector",
        "uuid_ops": "uuid", "varbit_ops": "varbit", "varchar_ops": None, "varchar_pattern_ops":
        None, "xid8_ops": "xid8",
    },
    "gin": {
        "array_ops": "anyarray", "jsonb_ops": "jsonb", "jsonb_path_ops": None, "tsvector_ops":
        "tsvector",
    },
    "gist": {
        "box_ops": "box", "circle_ops": "circle", "inet_ops": None, "multirange_ops":
        "anymultirange", "point_ops": "point", "poly_ops": "polygon", "range_ops": "anyrange",
        "tsquery_ops": "tsquery", "tsvector_ops": "tsvector",
    },
    "hash": {
        "aclitem_ops": "aclitem", "array_ops": "anyarray", "bool_ops": "bool", "bpchar_ops":
        "bpchar", "bpchar_pattern_ops": None, "bytea_ops": "bytea", "char_ops": "char",
        "cid_ops": "cid", "cidr_ops": None, "date_ops": "date", "enum_ops": "anyenum",
        "float4_ops": "float4", "float8_ops": "float8", "inet_ops": "inet", "int2_ops": "int2",
        "int4_ops": "int4", "int8_ops": "int8", "interval_ops": "interval", "jsonb_ops":
        "jsonb", "macaddr8_ops": "macaddr8", "macaddr_ops": "macaddr", "multirange_ops":
        "anymultirange", "name_ops": "name", "numeric_ops": "numeric", "oid_ops": "oid",
        "oidvector_ops": "oidvector", "pg_lsn_ops": "pg_lsn", "range_ops": "anyrange",
        "record_ops": "record", "text_ops": "text", "text_pattern_ops": None, "tid_ops": "tid",
        "time_ops": "time", "timestamp_ops": "timestamp", "timestamptz_ops": "timestamptz",
        "timetz_ops": "timetz", "uuid_ops": "uuid", "varchar_ops": None, "varchar_pattern_ops":
        None, "xid8_ops": "xid8", "xid_ops": "xid",
    },
    "spgist": {
        "box_ops": "box", "inet_ops": "inet", "kd_point_ops": None, "poly_ops": "polygon",
        "quad_point_ops": "point", "range_ops": "anyrange", "text_ops": "text",
    },
}


def builtin(method: str, name: str) -> bool | None:
    """Whether ``name`` is a pg_catalog opclass of ``method``: None when it is not one, else
    whether it is the default for its input type."""
    methods = BUILTIN.get(method, {})
    return None if name not in methods else methods[name] is not None


#: Types with no default opclass of their own that take another type's, binary-coercible to
#: it (``GetDefaultOpClass``): varchar uses text's for every method that has one.
_COERCED = {"varchar": "text"}


def default_opclass(method: str, internal_type: str) -> str | None:
    """The built-in opclass ``GetDefaultOpClass`` picks for a column of a built-in type (its
    internal name, ``int4``), which ruleutils leaves out of an index definition; None where
    that is not known from the exact type (arrays, enums, ranges and the like, which take a
    polymorphic one, are left as written)."""
    wanted = _COERCED.get(internal_type, internal_type)
    for name, for_type in BUILTIN.get(method, {}).items():
        if for_type == wanted:
            return name
    return None


@lru_cache(maxsize=1024)
def name_parts(text: str) -> tuple[str, ...]:
    """The parts of an opclass name as a catalog stores it (``public."My_ops"`` ->
    ``("public", "My_ops")``), read by the real grammar; ``()`` for text that is no name."""
    try:
        stmt = pglast.parse_sql(f"DROP OPERATOR CLASS {text} USING btree")[0].stmt
    except pglast.parser.ParseError:
        return ()
    if not isinstance(stmt, ast.DropStmt) or len(stmt.objects or ()) != 1:
        return ()
    # The access method comes first in the object's name list (``("btree", schema, name)``).
    return tuple(n.sval for n in stmt.objects[0][1:] if isinstance(n, ast.String))


def _same(bare: str | None, other: str | None, schemas: dict[str, list[str]]) -> bool:
    """Whether the bare opclass ``bare`` (stored unquoted) may be ``other``: ``other`` names
    it in one of the schemas recorded for it."""
    if bare is None or other is None or bare not in schemas:
        return False
    theirs = name_parts(other)
    return len(theirs) == 2 and theirs[1] == bare and theirs[0] in schemas[bare]


def settle(expected: Index, actual: Index) -> tuple[Index, Index]:
    """The two indexes with each bare opclass one side could not resolve replaced by the
    other side's qualified name, where that name is the bare one in a schema it may be in;
    everything else as it was (so a real difference is still one)."""
    if not expected.opclass_schemas and not actual.opclass_schemas:
        return expected, actual
    if len(expected.keys) != len(actual.keys):
        return expected, actual
    keys_e: list[IndexKey] = []
    keys_a: list[IndexKey] = []
    for x, y in zip(expected.keys, actual.keys, strict=True):
        if x.opclass != y.opclass:
            if _same(x.opclass, y.opclass, expected.opclass_schemas):
                x = x.model_copy(update={"opclass": y.opclass})
            elif _same(y.opclass, x.opclass, actual.opclass_schemas):
                y = y.model_copy(update={"opclass": x.opclass})
        keys_e.append(x)
        keys_a.append(y)
    return (expected.model_copy(update={"keys": keys_e}),
            actual.model_copy(update={"keys": keys_a}))
