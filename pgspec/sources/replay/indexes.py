"""CREATE INDEX and ALTER INDEX replayed.

Index keys go through ``pgspec.sources.elements.index_key_from_node``, the conversion every
source shares. An index attached to a partitioned parent's index (``ALTER INDEX ... ATTACH
PARTITION``, how pg_dump restores partition indexes) belongs to the parent: the server marks
it ``relispartition`` and pgspec, like the live reader, does not list it, nor the constraint
it backs.

An index nobody named gets the server's name (``ChooseIndexName``): the table, its columns
(keys then INCLUDE columns, an expression named by ``FigureIndexColname``, repeats made
distinct) and ``idx``, numbered past any relation of the schema (``src_a_idx``,
``src_a_idx1``).
"""

from __future__ import annotations

from functools import lru_cache

import pglast
from pglast import ast, enums

from pgspec import naming
from pgspec.catalog import Index, IndexKey
from pgspec.normalize.opclasses import default_opclass
from pgspec.normalize.types import internal_type_name
from pgspec.quoting import qualified
from pgspec.sources.elements import index_key_from_node
from pgspec.sources.replay import opclasses
from pgspec.sources.replay.constraints import RelationNames, key_name
from pgspec.sources.replay.resolve import expression_text, qualify
from pgspec.sources.replay.state import State, names_of


def create_index(state: State, stmt: ast.IndexStmt) -> None:
    schema, table = state.relation_key(stmt.relation)
    elems = list(stmt.indexParams or ())
    name = stmt.idxname or naming.index_name(
        table, [key_name(e) for e in [*elems, *(stmt.indexIncludingParams or ())]],
        RelationNames(state, schema))
    key = qualified(schema, name)
    if key in state.objects["indexes"] and stmt.if_not_exists:
        return
    for elem in elems:
        qualify(state, elem.expr)
    try:
        keys = [index_key_from_node(e, schema) for e in elems]
    except Exception as exc:  # SqlError / UnsupportedError from the shared conversion
        raise state.error(str(exc)) from None
    method = stmt.accessMethod or "btree"
    keys, opclass_schemas = settle_keys(state, qualified(schema, table), method, elems, keys)
    state.put(
        "indexes",
        Index(
            schema=schema,
            name=name,
            table=table,
            unique=bool(stmt.unique),
            method=method,
            keys=keys,
            include=[e.name for e in stmt.indexIncludingParams or () if e.name],
            where=expression_text(state, stmt.whereClause) if stmt.whereClause is not None
            else None,
            nulls_not_distinct=bool(stmt.nulls_not_distinct),
            opclass_schemas=opclass_schemas,
        ),
    )


def alter_index(state: State, stmt: ast.AlterTableStmt) -> None:
    """ALTER INDEX: only ATTACH PARTITION changes what pgspec sees (the child is the parent's)."""
    schema, _ = state.relation_key(stmt.relation)
    for cmd in stmt.cmds or ():
        if cmd.subtype != enums.AlterTableType.AT_AttachPartition:
            continue
        child = cmd.def_.name
        c_schema = child.schemaname or schema
        ckey = qualified(c_schema, child.relname)
        index = state.objects["indexes"].pop(ckey, None)
        # A partition's primary key / unique index is attached the same way; its constraint
        # becomes a clone of the parent's (conparentid), which pgspec does not list either.
        for con_key, con in list(state.objects["constraints"].items()):
            if con.schema_name == c_schema and con.name == child.relname and (
                index is None or con.table == index.table
            ) and con.kind in ("primary_key", "unique", "exclude"):
                del state.objects["constraints"][con_key]


def settle_keys(
    state: State, table_key: str, method: str, elems: list[ast.IndexElem], keys: list[IndexKey]
) -> tuple[list[IndexKey], dict[str, list[str]]]:
    """The keys as the server prints them, and the schemas each opclass left bare may be in.

    A bare opclass is named as the server finds it where the script tells which schema holds
    it (``replay.opclasses``). On a column key, an opclass that is the built-in default for the
    column's type and a collation that is the column's own are left out, as ruleutils leaves
    them out of ``pg_get_indexdef`` (``get_opclass_name``; a collation is printed only where
    it differs from the column's), so ``(b text_ops COLLATE "default")`` is ``(b)``.
    """
    unresolved: dict[str, list[str]] = {}
    table = state.table(table_key)
    out = []
    for elem, key in zip(elems, keys, strict=True):
        changes: dict[str, str | None] = {}
        if key.opclass is not None and len(names_of(elem.opclass)) == 1:
            name, schemas = opclasses.resolve(state, method, key.opclass)
            if schemas is not None:
                unresolved[name] = schemas
            changes["opclass"] = name
        column = table.column(key.column) if table is not None and key.column else None
        if column is not None:
            opclass = changes.get("opclass", key.opclass)
            internal = _internal_type(column.type)
            if opclass is not None and internal is not None and (
                    opclass == default_opclass(method, internal)):
                changes["opclass"] = None
            if key.collation is not None and key.collation == (column.collation or "default"):
                changes["collation"] = None
        out.append(key.model_copy(update=changes) if changes else key)
    return out, unresolved


@lru_cache(maxsize=1024)
def _internal_type(type_text: str) -> str | None:
    """The internal name of a column's canonical type when it is a built-in scalar
    (``character varying(10)`` -> ``varchar``); None for arrays and any other type."""
    try:
        target = pglast.parse_sql(f"SELECT NULL::{type_text}")[0].stmt.targetList[0].val
    except pglast.parser.ParseError:
        return None
    if not isinstance(target, ast.TypeCast) or target.typeName.arrayBounds:
        return None
    return internal_type_name(target.typeName)
