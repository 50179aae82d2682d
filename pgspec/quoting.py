"""Identifier quoting and qualified names, delegated to pglast's quoter.

pgspec never hand-quotes: ``pglast.stream.maybe_double_quote_name`` quotes exactly when
PostgreSQL needs it (capitals, spaces, keywords, embedded quotes), which also makes qualified
names usable as unambiguous catalog keys.
"""

from __future__ import annotations

from functools import lru_cache

from pglast.stream import maybe_double_quote_name


@lru_cache(maxsize=65536)
def quote(name: str) -> str:
    """``name`` as it must be written in SQL: bare when possible, double-quoted otherwise.

    Cached: every catalog key is built from these, hundreds of thousands of times on a large
    schema, and the same few thousand names recur (the quoter's keyword lookup is not free).
    """
    return maybe_double_quote_name(name)


def qualified(*parts: str) -> str:
    """``schema.table.column`` with each part quoted only where SQL needs it (through the
    cached ``quote``: the ``key`` of every catalog object is one, asked for again by each
    lookup of the differ; the joined keys are not cached, they would cost memory per object)."""
    return ".".join(map(quote, parts))
