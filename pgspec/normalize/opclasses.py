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

__all__ = ["BUILTIN", "builtin", "name_parts", "settle"]

#: Every operator class in pg_catalog, by access method, with whether it is the default one
#: for its input type (``opcdefault``). A fact read from a real server:
#: ``SELECT am.amname, opc.opcname, opc.opcdefault FROM pg_opclass opc JOIN pg_am am ON
#: am.oid = opc.opcmethod WHERE opc.opcnamespace = 'pg_catalog'::regnamespace``; the same
#: 177 rows on PostgreSQL 15 and 18.
BUILTIN: dict[str, dict[str, bool]] = {
    "brin": {
        "bit_minmax_ops": True, "box_inclusion_ops": True, "bpchar_bloom_ops": False,
        "bpchar_minmax_ops": True, "bytea_bloom_ops": False, "bytea_minmax_ops": True,
        "char_bloom_ops": False, "char_minmax_ops": True, "date_bloom_ops": False,
        "date_minmax_multi_ops": False, "date_minmax_ops": True, "float4_bloom_ops": False,
        "float4_minmax_multi_ops": False, "float4_minmax_ops": True, "float8_bloom_ops": False,
        "float8_minmax_multi_ops": False, "float8_minmax_ops": True, "inet_bloom_ops": False,
        "inet_inclusion_ops": True, "inet_minmax_multi_ops": False, "inet_minmax_ops": False,
        "int2_bloom_ops": False, "int2_minmax_multi_ops": False, "int2_minmax_ops": True,
        "int4_bloom_ops": False, "int4_minmax_multi_ops": False, "int4_minmax_ops": True,
        "int8_bloom_ops": False, "int8_minmax_multi_ops": False, "int8_minmax_ops": True,
        "interval_bloom_ops": False, "interval_minmax_multi_ops": False, "interval_minmax_ops":
        True, "macaddr8_bloom_ops": False, "macaddr8_minmax_multi_ops": False,
        "macaddr8_minmax_ops": True, "macaddr_bloom_ops": False, "macaddr_minmax_multi_ops":
        False, "macaddr_minmax_ops": True, "name_bloom_ops": False, "name_minmax_ops": True,
        "numeric_bloom_ops": False, "numeric_minmax_multi_ops": False, "numeric_minmax_ops": True,
        "oid_bloom_ops": False, "oid_minmax_multi_ops": False, "oid_minmax_ops": True,
        "pg_lsn_bloom_ops": False, "pg_lsn_minmax_multi_ops": False, "pg_lsn_minmax_ops": True,
        "range_inclusion_ops": True, "text_bloom_ops": False, "text_minmax_ops": True,
        "tid_bloom_ops": False, "tid_minmax_multi_ops": False, "tid_minmax_ops": True,
        "time_bloom_ops": False, "time_minmax_multi_ops": False, "time_minmax_ops": True,
        "timestamp_bloom_ops": False, "timestamp_minmax_multi_ops": False, "timestamp_minmax_ops":
        True, "timestamptz_bloom_ops": False, "timestamptz_minmax_multi_ops": False,
        "timestamptz_minmax_ops": True, "timetz_bloom_ops": False, "timetz_minmax_multi_ops":
        False, "timetz_minmax_ops": True, "uuid_bloom_ops": False, "uuid_minmax_multi_ops": False,
        "uuid_minmax_ops": True, "varbit_minmax_ops": True
    },
    "btree": {
        "array_ops": True, "bit_ops": True, "bool_ops": True, "bpchar_ops": True,
        "bpchar_pattern_ops": False, "bytea_ops": True, "char_ops": True, "cidr_ops": False,
        "date_ops": True, "enum_ops": True, "float4_ops": True, "float8_ops": True, "inet_ops":
        True, "int2_ops": True, "int4_ops": True, "int8_ops": True, "interval_ops": True,
        "jsonb_ops": True, "macaddr8_ops": True, "macaddr_ops": True, "money_ops": True,
        "multirange_ops": True, "name_ops": True, "numeric_ops": True, "oid_ops": True,
        "oidvector_ops": True, "pg_lsn_ops": True, "range_ops": True, "record_image_ops": False,
        "record_ops": True, "text_ops": True, "text_pattern_ops": False, "tid_ops": True,
        "time_ops": True, "timestamp_ops": True, "timestamptz_ops": True, "timetz_ops": True,
        "tsquery_ops": True, "tsvector_ops": True, "uuid_ops": True, "varbit_ops": True,
        "varchar_ops": False, "varchar_pattern_ops": False, "xid8_ops": True
    },
    "gin": {
        "array_ops": True, "jsonb_ops": True, "jsonb_path_ops": False, "tsvector_ops": True
    },
    "gist": {
        "box_ops": True, "circle_ops": True, "inet_ops": False, "multirange_ops": True,
        "point_ops": True, "poly_ops": True, "range_ops": True, "tsquery_ops": True,
        "tsvector_ops": True
    },
    "hash": {
        "aclitem_ops": True, "array_ops": True, "bool_ops": True, "bpchar_ops": True,
        "bpchar_pattern_ops": False, "bytea_ops": True, "char_ops": True, "cid_ops": True,
        "cidr_ops": False, "date_ops": True, "enum_ops": True, "float4_ops": True, "float8_ops":
        True, "inet_ops": True, "int2_ops": True, "int4_ops": True, "int8_ops": True,
        "interval_ops": True, "jsonb_ops": True, "macaddr8_ops": True, "macaddr_ops": True,
        "multirange_ops": True, "name_ops": True, "numeric_ops": True, "oid_ops": True,
        "oidvector_ops": True, "pg_lsn_ops": True, "range_ops": True, "record_ops": True,
        "text_ops": True, "text_pattern_ops": False, "tid_ops": True, "time_ops": True,
        "timestamp_ops": True, "timestamptz_ops": True, "timetz_ops": True, "uuid_ops": True,
        "varchar_ops": False, "varchar_pattern_ops": False, "xid8_ops": True, "xid_ops": True
    },
    "spgist": {
        "box_ops": True, "inet_ops": True, "kd_point_ops": False, "poly_ops": True,
        "quad_point_ops": True, "range_ops": True, "text_ops": True
    },
}


def builtin(method: str, name: str) -> bool | None:
    """Whether ``name`` is a pg_catalog opclass of ``method``: None when it is not one, else
    whether it is the default for its input type."""
    return BUILTIN.get(method, {}).get(name)


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
