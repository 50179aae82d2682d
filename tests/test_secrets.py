"""A password never leaves pgspec: not in a report of any format, an error, a traceback or a log.

A role with a distinctive password reads a database on a private server that checks passwords
(scram-sha-256 over TCP). The password reaches pgspec every way libpq accepts one: in a URI, in
a ``key=value`` DSN, in ``PGPASSWORD``, in a ``.pgpass`` file (``PGPASSFILE``) and through a
``--targets`` file's ``$VAR``. Every command and output format is run as a subprocess, and so
are the connection errors (wrong password, unreachable host, missing database), with and
without ``--traceback``; the string must appear in none of stdout, stderr or written files.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgspec.render import render
from pgspec.report import FORMATS
from pgspec.sources.spec import load_spec
from tests.fix_db import ROOT
from tests.private_server import AuthServer, auth_server

SECRET = "S3cr3t-Hunter2-xyzzy"
#: What is searched for: a fragment of both the right and the wrong password below.
NEEDLE = "Hunter2"
WRONG = SECRET + "-WRONG"
ROLE = "pgspec_secret"

SPEC = """\
tables:
  accounts:
    columns:
      id: {type: bigint, primary_key: true}
      tier: {type: text, not_null: true, default: "'free'"}
"""

#: Drift so every report has differences to print (and labels to name the sources with).
DRIFT = """
ALTER TABLE public.accounts ALTER COLUMN tier SET DEFAULT 'pro';
CREATE TABLE public.extra (id int);
"""


@dataclass
class Run:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    outdir: Path | None = None
    #: Exit codes that are right for this run (1 = drift found, 2 = a connection error).
    codes: tuple[int, ...] = (1,)


@dataclass
class Done:
    run: Run
    code: int
    stdout: str
    stderr: str
    written: str


@dataclass(frozen=True)
class Setup:
    auth: AuthServer
    dbname: str
    spec: Path
    base: Path
    closed_port: int

    def dsn(self, way: str, password: str = SECRET, dbname: str | None = None,
            port: int | None = None) -> tuple[str, dict[str, str]]:
        """A DSN and environment giving ``password`` the way named."""
        port = port or self.auth.port
        dbname = dbname or self.dbname
        if way == "uri":
            return f"postgresql://{ROLE}:{password}@127.0.0.1:{port}/{dbname}", {}
        if way == "keyvalue":
            return (f"host=127.0.0.1 port={port} user={ROLE} password={password} dbname={dbname}",
                    {})
        plain = f"postgresql://{ROLE}@127.0.0.1:{port}/{dbname}"
        if way == "pgpassword":
            return plain, {"PGPASSWORD": password}
        if way == "pgpassfile":
            path = self.base / f"pgpass-{uuid.uuid4().hex[:8]}"
            path.write_text(f"127.0.0.1:{port}:{dbname}:{ROLE}:{password}\n")
            path.chmod(0o600)
            return plain, {"PGPASSFILE": str(path)}
        raise AssertionError(way)


WAYS = ("uri", "keyvalue", "pgpassword", "pgpassfile")


def _has_command(name: str) -> bool:
    from pgspec.cli import build_parser

    actions = [a for a in build_parser()._subparsers._actions if a.choices]  # type: ignore[union-attr]
    return any(name in a.choices for a in actions)  # type: ignore[operator]


def _runs(s: Setup) -> dict[str, Run]:
    """Every format with a URI (the way a password most often travels); every way with the
    text and JSON reports, inspect and the three connection errors."""
    runs: dict[str, Run] = {}
    spec = str(s.spec)
    uri, _ = s.dsn("uri")
    for fmt in FORMATS:
        runs[f"verify-uri-{fmt}"] = Run(["verify", "--spec", spec, "--dsn", uri, "--format", fmt])
        runs[f"diff-db-first-uri-{fmt}"] = Run(["diff", uri, spec, "--format", fmt])
        runs[f"diff-db-second-uri-{fmt}"] = Run(["diff", spec, uri, "--format", fmt])
    for way in WAYS:
        dsn, env = s.dsn(way)
        for fmt in ("text", "json"):
            runs[f"verify-{way}-{fmt}"] = Run(["verify", "--spec", spec, "--dsn", dsn, "--format", fmt], env)
        if _has_command("inspect"):
            out = s.base / f"inspected-{way}"
            runs[f"inspect-to-directory-{way}"] = Run(["inspect", dsn, "-o", str(out)], env, out, (0,))
        errors = {
            "wrong-password": s.dsn(way, password=WRONG),
            "unreachable": s.dsn(way, port=s.closed_port),
            "missing-database": s.dsn(way, dbname="no_such_db"),
        }
        for error, (bad, bad_env) in errors.items():
            formats = FORMATS if way == "uri" else ("text",)
            for fmt in formats:
                runs[f"error-{error}-{way}-{fmt}"] = Run(
                    ["verify", "--spec", spec, "--dsn", bad, "--format", fmt], bad_env, codes=(2,))
            if way == "uri":
                runs[f"error-{error}-{way}-traceback"] = Run(
                    ["diff", bad, spec, "--traceback"], bad_env, codes=(2,))
    if _has_command("inspect"):
        runs["inspect-uri-stdout"] = Run(["inspect", uri], codes=(0,))
    # Several targets at once, one unreachable, the password coming from $VAR.
    targets = s.base / "targets.txt"
    good = f"postgresql://{ROLE}:$PGSPEC_SECRET@127.0.0.1:{s.auth.port}/{s.dbname}"
    down = f"postgresql://{ROLE}:$PGSPEC_SECRET@127.0.0.1:{s.closed_port}/{s.dbname}"
    targets.write_text(f"# targets\nprod {good}\nstaging {down}\n")
    down_uri, _ = s.dsn("uri", port=s.closed_port)
    for fmt in FORMATS:
        runs[f"targets-file-{fmt}"] = Run(["verify", "--spec", spec, "--targets", str(targets),
                                           "--format", fmt], {"PGSPEC_SECRET": SECRET}, codes=(1, 2))
        runs[f"repeated-dsn-{fmt}"] = Run(["verify", "--spec", spec, "--dsn", uri, "--dsn", down_uri,
                                           "--format", fmt], codes=(1, 2))
    return runs


def _execute(run: Run) -> Done:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSFILE"] = os.devnull  # no .pgpass of the machine answers for us
    env.update(run.env)
    done = subprocess.run([sys.executable, "-m", "pgspec", *run.argv], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=False, timeout=120)
    written = ""
    if run.outdir is not None and run.outdir.exists():
        written = "".join(p.read_text() for p in sorted(run.outdir.rglob("*")) if p.is_file())
    return Done(run, done.returncode, done.stdout, done.stderr, written)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    auth = auth_server()
    base = tmp_path_factory.mktemp("secrets")
    spec = base / "schema"
    spec.mkdir()
    (spec / "accounts.yaml").write_text(SPEC)
    dbname = f"sec_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(auth.superuser_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(SECRET)))
    with psycopg.connect(auth.server.dsn_for(dbname), autocommit=True) as conn:
        conn.execute(render(load_spec(spec)))
        conn.execute(DRIFT)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    try:
        yield Setup(auth, dbname, spec, base, closed_port)
    finally:
        with psycopg.connect(auth.superuser_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))


@pytest.fixture(scope="module")
def results(setup: Setup) -> dict[str, Done]:
    runs = _runs(setup)
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(runs, pool.map(_execute, runs.values()), strict=True))


def test_every_way_and_format_is_covered(results: dict[str, Done]) -> None:
    assert {"text", "json"} <= set(FORMATS)
    for way in WAYS:
        assert f"verify-{way}-json" in results
        for error in ("wrong-password", "unreachable", "missing-database"):
            assert f"error-{error}-{way}-text" in results
    for fmt in FORMATS:
        assert f"verify-uri-{fmt}" in results and f"error-wrong-password-uri-{fmt}" in results


def test_no_output_shows_the_password(results: dict[str, Done]) -> None:
    problems = []
    for name, done in results.items():
        if done.code not in done.run.codes:
            problems.append(f"{name}: exit {done.code} (expected {done.run.codes}): {done.stderr[-500:]}")
        for where, text in (("stdout", done.stdout), ("stderr", done.stderr), ("files", done.written)):
            if NEEDLE in text:
                problems.append(f"{name}: the password is in {where}: {text[:300]!r}")
        one_line = "Traceback" not in done.stderr and done.stderr.count("\n") == 1
        if done.run.codes == (2,) and "--traceback" not in done.run.argv and not one_line:
            problems.append(f"{name}: not one line: {done.stderr!r}")
    assert not problems, "\n".join(problems)


def test_reports_name_the_database_without_the_password(results: dict[str, Done], setup: Setup) -> None:
    """The reports do name the source (so the check above is not vacuous)."""
    shown = f"postgresql://{ROLE}@127.0.0.1:{setup.auth.port}/{setup.dbname}"
    for fmt in FORMATS:
        done = results[f"diff-db-first-uri-{fmt}"]
        assert done.code == 1
        if fmt != "github":  # annotations name files and lines, not sources
            assert shown in done.stdout, (fmt, done.stdout[:500])
    for error in ("wrong-password", "missing-database"):
        assert f"127.0.0.1:{setup.auth.port}" in results[f"error-{error}-keyvalue-text"].stderr


def test_the_server_log_never_saw_the_password(results: dict[str, Done], setup: Setup) -> None:
    assert results
    for entry in setup.auth.log_entries():
        assert NEEDLE not in str(entry), entry
