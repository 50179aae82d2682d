"""The one place where SQL text becomes a canonical, comparable form (built on pglast)."""

from pgspec.normalize.bodies import canonical_body
from pgspec.normalize.compare import canonical, check_syntax, equivalent
from pgspec.normalize.expressions import (
    canonical_definition,
    canonical_expression,
    canonical_query,
)
from pgspec.normalize.types import canonical_type

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
