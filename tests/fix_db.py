"""pytest plugin: real PostgreSQL servers and a fresh database per test.

Fixtures:

* ``pg`` (session): the main server (see ``tests/pgserver.py`` for where it comes from).
* ``pg15`` (session): Debian's PostgreSQL 15 when installed; tests that use it are skipped
  with the reason where the machine has no such binaries.
* ``any_pg``: parametrised over every available server, for suites that must hold on both
  major versions.
* ``db`` / ``make_db``: a fresh database (optionally from a template), dropped afterwards.
* ``stub_template``: name of a template database with the Supabase stand-in applied
  (``fixtures/supabase_stub.sql``), so a test gets auth.users, auth.uid() and the roles cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.pgserver import Server, binaries_server, dbname_of, debian_bindirs, default_server

ROOT = Path(__file__).resolve().parent.parent
STUB = ROOT / "fixtures" / "supabase_stub.sql"


@pytest.fixture(scope="session")
def pg() -> Iterator[Server]:
    server = default_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg15() -> Iterator[Server]:
    bindir = debian_bindirs().get(15)
    if not bindir:
        pytest.skip("PostgreSQL 15 binaries are not installed (Debian package postgresql-15)")
    server = binaries_server(bindir, "pg15")
    try:
        yield server
    finally:
        server.stop()


def _servers() -> list[str]:
    names = ["main"]
    if 15 in debian_bindirs():
        names.append("pg15")
    return names


@pytest.fixture(params=_servers())
def any_pg(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue("pg" if request.param == "main" else "pg15")


_templates: dict[tuple[str, str], str] = {}


def _stub_template(server: Server) -> str:
    key = (server.dsn, "stub")
    if key not in _templates:
        name = "pgspec_stub_template"
        server.drop_database(name)
        dsn = server.create_database(name=name)
        server.execute(dsn, STUB.read_text())
        _templates[key] = name
    return _templates[key]


@pytest.fixture
def make_db(pg: Server) -> Iterator[Callable[..., str]]:
    """Factory: ``make_db(stub=True)`` returns the DSN of a new database on the main server."""
    created: list[tuple[Server, str]] = []

    def make(stub: bool = False, server: Server | None = None) -> str:
        target = server or pg
        template = _stub_template(target) if stub else None
        dsn = target.create_database(template=template)
        created.append((target, dbname_of(dsn)))
        return dsn

    yield make
    for server, name in created:
        server.drop_database(name)


@pytest.fixture
def db(make_db: Callable[..., str]) -> str:
    """A fresh, empty database on the main server."""
    return make_db()


@pytest.fixture
def stub_db(make_db: Callable[..., str]) -> str:
    """A fresh database with the Supabase stand-in (roles, auth schema, auth.uid())."""
    return make_db(stub=True)


#: ``run(*argv)`` -> (exit code, stdout, stderr) of one in-process ``pgspec`` command.
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the real command line in-process, as a user would type it, and capture its output."""
    from pgspec.cli import main

    def invoke(*argv: str | Path) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def run_sql(dsn: str, script: str) -> None:
    """Apply a script in autocommit (tests use it to create schemas and drifts)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(script)
