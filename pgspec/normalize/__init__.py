"""The one place where SQL text becomes a canonical, comparable form (built on pglast)."""

from pgspec.normalize.types import canonical_type

__all__ = ["canonical_type"]
