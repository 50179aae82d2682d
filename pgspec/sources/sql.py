"""Backups, dumps and SQL scripts as sources: read offline, replayed into a Catalog.

``read_dump`` reads pg_dump / pg_dumpall output (plain, gzip or custom format; Supabase's
``db_cluster-*.backup``), picks one database's section and replays its DDL; ``read_sql``
replays hand-written scripts in the order given, as ``psql -f a.sql -f b.sql`` would apply
them to a fresh database. Both stream the file (``dump.py``) and parse only the DDL pgspec
models (``replay``), so a multi-gigabyte backup costs the memory of its schema.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from pgspec.catalog import Catalog
from pgspec.errors import DumpError, SqlError
from pgspec.sources import SUPABASE_INTERNAL_SCHEMAS
from pgspec.sources.dump import (
    Connect,
    Statement,
    is_cluster_dump,
    looks_like_dump,
    looks_like_sql,
    read_statements,
)
from pgspec.sources.replay import Replayer

__all__ = [
    "SUPABASE_INTERNAL_SCHEMAS",
    "is_cluster_dump",
    "looks_like_dump",
    "looks_like_sql",
    "read_dump",
    "read_sql",
]


#: The database a Supabase backup keeps the project in.
DEFAULT_DATABASE = "postgres"


def read_dump(
    path: str | Path,
    *,
    database: str | None = None,
    schemas: Collection[str] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Catalog:
    """The Catalog of one database of a pg_dump / pg_dumpall file, read without a server.

    ``database`` picks a section of a pg_dumpall file (default ``postgres``, as on Supabase);
    a single-database pg_dump file has one section whatever its name. ``schemas`` limits the
    catalog to those schemas; by default every schema except the system's and Supabase's
    internal ones. ``progress(done, total)`` is told the bytes read (``pgspec.progress``).
    """
    name = str(path)
    cluster = is_cluster_dump(path)
    wanted = database or (DEFAULT_DATABASE if cluster else None)
    replayer = Replayer(
        name, schemas=schemas, exclude=SUPABASE_INTERNAL_SCHEMAS, error=DumpError
    )
    replayer.state.dump = True
    seen: list[str] = []
    current: str | None = None
    found = not cluster
    for item in read_statements(path, error=DumpError, progress=progress):
        if isinstance(item, Connect):
            current = item.database
            if current not in seen:
                seen.append(current)
            if current == wanted:
                found = True
            continue
        if _selected(item, current, wanted, cluster):
            replayer.statement(item.text, item.line)
    if wanted is not None and seen and not found:
        raise DumpError(
            f"database {wanted!r} is not in this dump; it has: "
            + ", ".join(repr(d) for d in seen),
            file=name,
        )
    if cluster and not found:
        raise DumpError(
            f"database {wanted!r} is not in this dump; it has none (\\connect lines missing)",
            file=name,
        )
    return replayer.catalog(name)


def _selected(item: Statement, current: str | None, wanted: str | None, cluster: bool) -> bool:
    """Whether a statement belongs to the database being read.

    In a cluster dump, statements before the first ``\\connect`` are the cluster's globals
    (roles, tablespaces). In a pg_dump file, everything belongs to its one database, unless
    it was made with ``--create`` and names databases with ``\\connect``.
    """
    if current is None:
        return not cluster
    return wanted is None or current == wanted


def read_sql(
    paths: Sequence[str | Path] | str | Path,
    *,
    schemas: Collection[str] | None = None,
) -> Catalog:
    """The Catalog SQL scripts build when applied in order to a fresh database, read offline.

    ``\\connect`` and other psql meta-commands are skipped. ``schemas`` limits the catalog; by
    default every schema the scripts create is kept.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    if not paths:
        raise SqlError("no SQL files given")
    names = [str(p) for p in paths]
    replayer = Replayer(names[0], schemas=schemas, error=SqlError)
    for path in paths:
        replayer.file = str(path)
        replayer.state.file = str(path)
        replayer.state.dump = looks_like_dump(path)
        for item in read_statements(path, error=SqlError):
            if isinstance(item, Statement):
                replayer.statement(item.text, item.line)
    return replayer.catalog(", ".join(names))
