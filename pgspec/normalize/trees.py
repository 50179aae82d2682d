"""Walking pglast parse trees: the one generic traversal the modules that inspect SQL share.

pglast's nodes iterate over their attribute names; a tree is nodes, tuples of nodes and plain
values. Modules that only need to look at every node (which casts a query writes, which
function bodies name a table) take them from ``nodes`` rather than each writing the walk again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast

__all__ = ["nodes"]


def nodes(tree: Any) -> Iterator[ast.Node]:
    """Every node in ``tree`` (a node, or a tuple or list of them), parents before children."""
    if isinstance(tree, tuple | list):
        for item in tree:
            yield from nodes(item)
    elif isinstance(tree, ast.Node):
        yield tree
        for attr in tree:
            yield from nodes(getattr(tree, attr))
