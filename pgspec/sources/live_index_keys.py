"""Index keys from ``pg_index`` as every source spells them.

The server stores an index key as a column number or an expression, with its ordering in
``pg_index.indoption`` bits; ``pg_get_indexdef`` prints the same key as SQL. Both become the
``IndexKey`` the spec and the SQL readers make from ``CREATE INDEX`` text (through
``sources.elements``), so a key reads the same whichever source it came from.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import pglast

from pgspec.catalog import IndexKey
from pgspec.errors import SqlError
from pgspec.sources.elements import parse_index_element

#: DEFAULT_COLLATION_OID (src/include/catalog/pg_collation.dat): the database's default.
DEFAULT_COLLATION = 100

#: pg_index.indoption bits (src/include/catalog/pg_index.h).
_INDOPTION_DESC, _INDOPTION_NULLS_FIRST = 1, 2


def ordering(option: int) -> tuple[Literal["asc", "desc"], Literal["first", "last"] | None]:
    """An index key's order and nulls from its pg_index.indoption bits, as
    ``index_key_from_node`` makes them from what the server prints (``DESC``, ``NULLS FIRST``
    on ASC, ``NULLS LAST`` on DESC): nulls kept only where they depart from the order's
    default."""
    nulls_first = bool(option & _INDOPTION_NULLS_FIRST)
    if option & _INDOPTION_DESC:
        return "desc", None if nulls_first else "last"
    return "asc", "first" if nulls_first else None


@functools.lru_cache(maxsize=4096)
def plain_key(column: str, option: int) -> IndexKey:
    """The IndexKey of a plain column key with its ordering bits. Immutable, so shared."""
    order, nulls = ordering(option)
    return IndexKey(column=column, order=order, nulls=nulls)


@functools.lru_cache(maxsize=4096)
def expression_key(text: str, option: int) -> IndexKey:
    """The IndexKey of an expression key as ``pg_get_indexdef(index, n)`` prints it, with its
    ordering bits: parsed as an index element by the conversion every source shares, so the
    expression reads exactly as through the whole CREATE INDEX. Schemas repeat the same
    expressions (``lower(email)``) across tables, so each distinct text is parsed once."""
    order, nulls = ordering(option)
    key = parse_index_element(text)
    return IndexKey(column=key.column, expression=key.expression, order=order, nulls=nulls)


def parse_server_statement(text: str, node_type: type[Any]) -> Any:
    """The single statement a server deparser printed, parsed by pglast."""
    try:
        stmts = pglast.parse_sql(text)
    except pglast.parser.ParseError as exc:
        raise SqlError(f"cannot parse the server's definition {text!r}: {exc.args[0]}") from None
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(stmt, node_type):
        raise SqlError(f"unexpected server definition {text!r}")
    return stmt
