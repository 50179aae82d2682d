"""pgspec keeps a PostgreSQL schema honest: a YAML spec, rendered to DDL and diffed against
live databases, backups and SQL scripts."""

from pgspec.catalog import Catalog, Difference
from pgspec.errors import DumpError, PgspecError, SourceError, SpecError, SqlError, UnsupportedError

__all__ = [
    "Catalog",
    "Difference",
    "DumpError",
    "PgspecError",
    "SourceError",
    "SpecError",
    "SqlError",
    "UnsupportedError",
]
__version__ = "0.1.0"
