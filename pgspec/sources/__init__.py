"""Command-line SOURCE arguments turned into Catalogs, and which schemas a comparison covers.

A SOURCE is a DSN, a spec (directory or YAML file) or a SQL/dump file; the reader modules are
imported only when a source of their kind is opened, so ``pgspec verify --spec … --backup …``
never loads psycopg and a spec-only command never loads the dump reader.

Schema scope (a refinement of DESIGN.md's "default: the spec's schemas, else public": nothing
may be silently skipped, so other schemas are not ignored wholesale):

* ``--schema`` given: exactly those schemas, on both sides.
* the expected side is a spec: the schemas it manages (its schemas minus external ones). The
  reader on the other side is asked for those plus the schemas of objects the spec attaches to
  external tables (``auth`` for a trigger on ``auth.users``) and those its extensions live in;
  objects outside the managed schemas are reported when missing or changed, never as
  unexpected (``diff.Scope``).
* otherwise (database against database, dump against database): every schema except the
  system's and Supabase's internal ones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pgspec.errors import SourceError
from pgspec.sources.dsn import is_dsn

if TYPE_CHECKING:  # the model (pydantic) is imported by the readers, not by the CLI's early reads
    from pgspec.catalog import Catalog

__all__ = [
    "SUPABASE_INTERNAL_SCHEMAS",
    "SYSTEM_SCHEMAS",
    "Comparison",
    "is_dsn",
    "is_system_schema",
    "label",
    "managed_schemas",
    "open_comparison",
    "open_source",
    "source_kind",
]

#: Schemas Supabase creates and manages itself: out of scope unless ``--schema`` names them.
SUPABASE_INTERNAL_SCHEMAS = frozenset(
    {
        "auth", "storage", "realtime", "extensions", "graphql", "graphql_public", "vault",
        "pgsodium", "pgsodium_masks", "supabase_functions", "supabase_migrations", "cron", "net",
        "pgbouncer", "_realtime", "_analytics",
    }
)

#: PostgreSQL's own schemas. Names starting ``pg_`` are reserved for the system as well
#: (CREATE SCHEMA refuses them), which covers ``pg_temp_N`` and ``pg_toast_temp_N``.
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})

SourceKind = Literal["dsn", "spec", "dump"]


def is_system_schema(name: str) -> bool:
    return name in SYSTEM_SCHEMAS or name.startswith("pg_")


def source_kind(arg: str) -> SourceKind:
    """Which reader a SOURCE needs; a path that does not exist is an error naming it."""
    if is_dsn(arg):
        return "dsn"
    path = Path(arg)
    if path.is_dir() or (path.suffix.lower() in (".yaml", ".yml") and path.is_file()):
        return "spec"
    if path.is_file():
        return "dump"
    if path.exists():
        raise SourceError(f"not a file or directory: {arg!r}")
    raise SourceError(f"no such file or directory: {arg!r}")


def label(arg: str) -> str:
    """How reports name a source: a path as given, a DSN without its password."""
    if is_dsn(arg):
        from pgspec.sources.live_connection import describe_dsn

        return describe_dsn(arg)
    return arg


def open_source(
    arg: str,
    *,
    schemas: Collection[str] | None = None,
    database: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Catalog:
    """The Catalog a SOURCE argument describes, read by the reader its kind needs.

    A file is a dump when its content says so (pg_dump's header, a custom-format archive):
    anything else is a SQL script, replayed by ``read_sql``, whose errors are ``SqlError`` and
    which keeps every schema the script creates (a dump leaves Supabase's internal ones out).
    ``progress(done, total)`` is told the bytes read of a dump (``pgspec.progress``).
    """
    kind = source_kind(arg)
    if kind == "dsn":
        from pgspec.sources.live import introspect

        return introspect(arg, schemas=sorted(schemas) if schemas is not None else None)
    if kind == "spec":
        from pgspec.sources.spec import load_spec

        return load_spec(arg)
    from pgspec.sources.dump import looks_like_dump

    if not looks_like_dump(arg):
        from pgspec.sources.sql import read_sql

        return read_sql(arg, schemas=schemas)
    from pgspec.sources.sql import read_dump

    if progress is None:
        return read_dump(arg, database=database, schemas=schemas)
    return read_dump(arg, database=database, schemas=schemas, progress=progress)


#: The modules each kind of SOURCE is read with, and what they import when used.
_READER_MODULES: dict[SourceKind, tuple[str, ...]] = {
    "dsn": ("psycopg", "pgspec.sources.live"),
    "spec": ("pgspec.sources.spec",),
    "dump": ("psycopg", "pgspec.sources.dump", "pgspec.sources.sql"),
}


def import_readers(*args: str) -> None:
    """Import, in the calling thread, every module the readers of these SOURCE arguments use,
    before threads read them side by side.

    Two threads importing one package at once can each hold a lock the other's import needs:
    Python breaks that deadlock by handing one of them the package half-initialised, and an
    import from it fails (psycopg's ``conninfo`` and its ``__init__`` import each other, so
    ``diff script.sql DSN`` failed most of the time with an ImportError). Imported here first,
    the threads find every module complete. A missing path is left for the reader to report.
    """
    import importlib

    for arg in args:
        try:
            kind = source_kind(arg)
        except SourceError:
            continue
        for module in _READER_MODULES[kind]:
            importlib.import_module(module)


def open_sql(paths: Sequence[str], *, schemas: Collection[str] | None = None) -> Catalog:
    """SQL scripts applied in order (``verify --sql a.sql b.sql``)."""
    for path in paths:
        source_kind(path)  # a missing file is named before any reading starts
    from pgspec.sources.sql import read_sql

    return read_sql(list(paths), schemas=schemas)


def managed_schemas(spec: Catalog) -> set[str]:
    """The schemas a spec manages: every schema it uses except those it declares external."""
    from pgspec.diff import schema_names
    from pgspec.quoting import qualified

    return {name for name in schema_names(spec) if qualified(name) not in spec.externals}


def _attached_schemas(spec: Catalog) -> set[str]:
    """Schemas of the objects a spec puts on tables it does not manage (auth.users)."""
    found: set[str] = set()
    for kind in ("constraint", "index", "trigger", "policy"):
        for obj in spec.objects(kind).values():
            if obj.table_key in spec.externals:
                found.add(obj.schema_name)
    return found


def reader_schemas(spec: Catalog) -> set[str]:
    """What the reader on the other side of a spec is asked for: its managed schemas, the
    schemas of what it attaches to external tables, and those its extensions are installed in
    (Supabase puts them in ``extensions``), so each declared object can be found."""
    installed = {ext.schema_name for ext in spec.extensions.values() if ext.schema_name}
    return managed_schemas(spec) | _attached_schemas(spec) | installed


def default_schemas(*catalogs: Catalog) -> set[str]:
    """Scope of a comparison without a spec: every non-system, non-Supabase schema."""
    from pgspec.diff import schema_names

    found: set[str] = set()
    for catalog in catalogs:
        found |= schema_names(catalog)
    return {s for s in found if not is_system_schema(s) and s not in SUPABASE_INTERNAL_SCHEMAS}


@dataclass(frozen=True)
class Comparison:
    """Two opened sources and the schema scope ``diff`` should use for them."""

    expected: Catalog
    actual: Catalog
    expected_label: str
    actual_label: str
    #: ``None``: the spec's managed-schema rule (see ``diff.Scope``).
    schemas: frozenset[str] | None

    @property
    def warnings(self) -> list:
        return [*self.expected.warnings, *self.actual.warnings]


def open_comparison(
    expected: str,
    actual: str | Sequence[str],
    *,
    schemas: Collection[str] | None = None,
    database: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Comparison:
    """Open both sides of a comparison with the scope rules of this module's docstring.

    ``actual`` is one SOURCE, or a list of SQL scripts (``verify --sql``); ``progress`` is
    given to the dump readers (``open_source``).
    """
    expected_kind = source_kind(expected)
    scripts = None if isinstance(actual, str) else list(actual)
    if scripts is None:
        source_kind(actual)  # type: ignore[arg-type]  # fail on a bad path before connecting
    chosen = frozenset(schemas) if schemas else None
    if scripts is None and expected_kind != "spec" and "dsn" in (expected_kind, source_kind(actual)):  # type: ignore[arg-type]
        # Neither side's scope depends on the other's: read them at once. A live read mostly
        # waits on its server (psycopg releases the GIL meanwhile), so two databases, or a
        # database and a dump, take little longer than the slower of the two.
        exp, act = _open_both(expected, actual, chosen, database, progress)  # type: ignore[arg-type]
        if chosen is None:
            chosen = frozenset(default_schemas(exp, act))
        return Comparison(exp, act, label(expected), label(actual), chosen)  # type: ignore[arg-type]
    exp = open_source(expected, schemas=chosen, database=database, progress=progress)
    if chosen is None and expected_kind == "spec":
        ask: Collection[str] | None = reader_schemas(exp)
    else:
        ask = chosen
    if scripts is not None:
        act = open_sql(scripts, schemas=ask)
        actual_label = " ".join(scripts)
    else:
        act = open_source(actual, schemas=ask, database=database, progress=progress)  # type: ignore[arg-type]
        actual_label = label(actual)  # type: ignore[arg-type]
    if chosen is None and expected_kind != "spec":
        chosen = frozenset(default_schemas(exp, act))
    return Comparison(exp, act, label(expected), actual_label, chosen)


def _open_both(
    expected: str,
    actual: str,
    schemas: Collection[str] | None,
    database: str | None,
    progress: Callable[[int, int | None], None] | None,
) -> tuple[Catalog, Catalog]:
    """Both sources read concurrently (the actual one in a worker thread); an error from
    either is raised as ``open_source`` raises it, the expected side's first."""
    from concurrent.futures import ThreadPoolExecutor

    import_readers(expected, actual)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pgspec-read") as pool:
        future = pool.submit(open_source, actual, schemas=schemas, database=database,
                             progress=progress)
        try:
            exp = open_source(expected, schemas=schemas, database=database, progress=progress)
        except BaseException:
            future.cancel()
            raise
        act = future.result()
    return exp, act
