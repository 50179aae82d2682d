"""pgspec keeps a PostgreSQL schema honest: a YAML spec, rendered to DDL and diffed against
live databases, backups and SQL scripts.

The public API is the names in ``__all__``. The readers and the renderer are imported on first
use (PEP 562 ``__getattr__``), so ``import pgspec`` and the command line start fast and do not
load psycopg unless a database is actually read.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from pgspec.errors import DumpError, PgspecError, SourceError, SpecError, SqlError, UnsupportedError

if TYPE_CHECKING:
    from pgspec.catalog import Catalog, Difference
    from pgspec.diff import diff
    from pgspec.render import render, render_split
    from pgspec.sources.live import introspect
    from pgspec.sources.spec import load_spec
    from pgspec.sources.sql import read_dump, read_sql

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY = {
    "Catalog": "pgspec.catalog",
    "Difference": "pgspec.catalog",
    "diff": "pgspec.diff",
    "render": "pgspec.render",
    "render_split": "pgspec.render",
    "introspect": "pgspec.sources.live",
    "load_spec": "pgspec.sources.spec",
    "read_dump": "pgspec.sources.sql",
    "read_sql": "pgspec.sources.sql",
}

__all__ = [
    "Catalog",
    "Difference",
    "DumpError",
    "PgspecError",
    "SourceError",
    "SpecError",
    "SqlError",
    "UnsupportedError",
    "diff",
    "introspect",
    "load_spec",
    "read_dump",
    "read_sql",
    "render",
    "render_split",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pgspec' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
