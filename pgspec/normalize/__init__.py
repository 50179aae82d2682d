"""The one place where SQL text becomes a canonical, comparable form (built on pglast).

``canonical_body`` (function bodies) is imported on first use (PEP 562 ``__getattr__``): a
comparison parses a body only when the two sides' texts differ, which a clean ``verify`` never
meets, and every command that reads a spec imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pgspec.normalize.compare import canonical, check_syntax, equivalent
from pgspec.normalize.expressions import (
    canonical_definition,
    canonical_expression,
    canonical_query,
)
from pgspec.normalize.types import canonical_type

if TYPE_CHECKING:
    from pgspec.normalize.bodies import canonical_body

__all__ = [
    "canonical",
    "canonical_body",
    "canonical_definition",
    "canonical_expression",
    "canonical_query",
    "canonical_type",
    "check_syntax",
    "equivalent",
]


def __getattr__(name: str) -> Any:
    if name == "canonical_body":
        from pgspec.normalize.bodies import canonical_body

        return canonical_body
    raise AttributeError(f"module 'pgspec.normalize' has no attribute {name!r}")
