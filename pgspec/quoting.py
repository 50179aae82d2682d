"""Identifier quoting and qualified names, delegated to pglast's quoter.

pgspec never hand-quotes: ``pglast.stream.maybe_double_quote_name`` quotes exactly when
PostgreSQL needs it (capitals, spaces, keywords, embedded quotes), which also makes qualified
names usable as unambiguous catalog keys.
"""

from __future__ import annotations

from pglast.stream import maybe_double_quote_name


def quote(name: str) -> str:
    """``name`` as it must be written in SQL: bare when possible, double-quoted otherwise."""
    return maybe_double_quote_name(name)


def qualified(*parts: str) -> str:
    """``schema.table.column`` with each part quoted only where SQL needs it."""
    return ".".join(maybe_double_quote_name(p) for p in parts)
