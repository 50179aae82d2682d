"""Comparing SQL fragments: the differ's one question, "do these two mean the same?".

Fragments read from a server are usually byte-identical on both sides, so raw equality is
checked first and nothing is parsed; otherwise both sides go through their canonical form
(cached by text), chosen by the fragment's kind (the ``Sql(kind)`` markers in ``catalog.py``).
Expressions and queries compare their rewritten parse trees first and print them only when the
trees differ (two different trees may still print alike).
"""

from __future__ import annotations

from collections.abc import Callable

from pgspec.errors import SqlError
from pgspec.normalize.expressions import (
    canonical_definition,
    canonical_expression,
    canonical_query,
    expression_tree,
    query_tree,
)

KINDS = ("expression", "query", "body", "definition")

_BY_KIND: dict[str, Callable[[str], str]] = {
    "expression": canonical_expression,
    "query": canonical_query,
    "definition": canonical_definition,
}

#: Kinds whose rewritten trees can be compared before any printing (``expression_tree``).
_TREES: dict[str, Callable[[str], object]] = {
    "expression": expression_tree,
    "query": query_tree,
}


def canonical(kind: str, text: str, *, language: str | None = None) -> str:
    """The canonical form of a fragment of ``kind``; bodies need their ``language``."""
    if kind == "body":
        from pgspec.normalize.bodies import canonical_body  # only bodies that differ get here

        return canonical_body(language or "plpgsql", text)
    try:
        func = _BY_KIND[kind]
    except KeyError:
        raise ValueError(f"unknown sql fragment kind {kind!r}") from None
    return func(text)


def equivalent(
    kind: str, a: str | None, b: str | None, *, language: str | None = None
) -> bool:
    """Whether two fragments of ``kind`` mean the same; ``None`` (absent) equals only ``None``.

    Raises ``SqlError`` if either side is not valid SQL of that kind.
    """
    if a == b:
        return True
    if a is None or b is None:
        return False
    tree = _TREES.get(kind)
    if tree is not None and tree(a) == tree(b):
        # Equal trees print equal text: the usual answer, without printing (the costly part).
        return True
    return canonical(kind, a, language=language) == canonical(kind, b, language=language)


def check_syntax(kind: str, text: str, *, language: str | None = None) -> None:
    """Raise ``SqlError`` with a clear message unless ``text`` is valid SQL of ``kind``.

    Expressions and queries are parsed, shape-checked and rewritten (every error their
    canonical form can raise about the SQL), not printed: printing proves nothing about the
    user's SQL, and a comparison prints only trees that differ (``equivalent``).
    """
    if not isinstance(text, str):
        raise SqlError(f"expected sql text for a {kind}, got {text!r}")
    tree = _TREES.get(kind)
    if tree is not None:
        tree(text)
        return
    canonical(kind, text, language=language)
