"""A catalogue of bad inputs, each run through the real command line as a user would run it.

Whatever is wrong (a spec, a dump, a script, a server, a directory), pgspec must answer with
exit code 2 and exactly ONE line on stderr that names where the problem is (``file:line``, the
file, or the host), never a traceback, and must leave no output behind half-written: stdout
stays empty and an output directory holds what it held before.

Every case runs ``python -m pgspec ...`` in a subprocess. The cases are prepared once and run
in parallel (a thread pool over subprocesses), then each is asserted as its own test.
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgspec.errors import UnsupportedError
from pgspec.sources.live import check_server_version
from tests.fix_db import ROOT
from tests.pgserver import Server
from tests.private_server import AuthServer, auth_server

#: A distinctive password: no error line may ever show it.
SECRET = "S3cr3t-Hunter2-xyzzy"

OK_SPEC = "tables:\n  accounts:\n    columns:\n      id: {type: bigint, primary_key: true}\n"

#: The team's committed Supabase-style pg_dumpall backup (databases postgres, analytics_scratch).
CLUSTER_BACKUP = ROOT / "fixtures" / "db_cluster-20-10-2025@13-48-23.backup"


@dataclass
class Case:
    """One bad input: the command, what its error line must name, and how long it may take."""

    argv: list[str]
    where: str
    env: dict[str, str] = field(default_factory=dict)
    seconds: float = 20.0
    #: An output directory whose contents must be exactly as before the command ran.
    outdir: Path | None = None
    #: Timed cases run alone, before the others, so a busy machine does not blur the timing.
    alone: bool = False


@dataclass
class Result:
    case: Case
    code: int
    stdout: str
    stderr: str
    elapsed: float
    before: dict[str, bytes] | None


@dataclass
class Ctx:
    """What the case builders need: a scratch directory, a valid spec and the servers."""

    base: Path
    ok_spec: Path
    pg: Server
    auth: AuthServer
    db: str
    silent_port: int
    closed_port: int

    def dir(self, name: str) -> Path:
        path = self.base / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def file(self, name: str, content: str | bytes, filename: str = "spec.yaml") -> Path:
        path = self.dir(name) / filename
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path


Builder = Callable[[Ctx], Case]
BUILDERS: dict[str, Builder] = {}


def case(name: str) -> Callable[[Builder], Builder]:
    def register(func: Builder) -> Builder:
        assert name not in BUILDERS, name
        BUILDERS[name] = func
        return func

    return register


def spec_case(name: str, text: str | bytes, line: int | None, command: str = "render") -> None:
    """A spec file that must be refused at ``line`` (None: the file, no line)."""

    def build(ctx: Ctx) -> Case:
        path = ctx.file(name, text)
        where = f"{path}:{line}:" if line else f"{path}:"
        if command == "render":
            return Case(["render", "--spec", str(path)], where)
        if command == "verify":
            return Case(["verify", "--spec", str(path), "--dsn", ctx.db], where)
        return Case(["diff", str(path), str(ctx.ok_spec)], where)

    case(name)(build)


# --------------------------------------------------------------------------- the spec

spec_case("yaml-syntax", "tables: {t: \n", 2)
spec_case("yaml-unclosed-quote", 'tables:\n  t:\n    comment: "never closed\n', 4, "verify")
spec_case("yaml-bad-indentation", "tables:\n  t:\n    columns:\n      a: int\n     b: int\n", 5)
spec_case("tab-indentation", "tables:\n\tt: {}\n", 2)
spec_case("duplicate-key", "tables:\n  t:\n    columns:\n      a: int\n      a: text\n", 5, "diff")
spec_case("duplicate-top-level-key", "tables: {}\nenums: {}\ntables: {}\n", 3)
spec_case("unknown-top-level-key", "tabels:\n  t: {}\n", 1, "verify")
spec_case("unknown-column-key", "tables:\n  t:\n    columns:\n      a: {type: int, not_nul: true}\n", 4)
spec_case("wrong-type-bool", "tables:\n  t:\n    columns:\n      a: {type: int, not_null: maybe}\n", 4)
spec_case("wrong-type-columns-list", "tables:\n  t:\n    columns: [a, b]\n", 3, "diff")
spec_case("wrong-type-enum-values", "enums:\n  status: {values: 3}\n", 2)
spec_case("unknown-column-type", "tables:\n  t:\n    columns:\n      a: varchr(10)\n", 4, "verify")
spec_case("fk-to-nothing",
          "tables:\n  t:\n    columns:\n      a: {type: uuid, references: nowhere(id)}\n", 4)
spec_case("trigger-to-nothing",
          "tables:\n  t:\n    columns:\n      a: int\n    triggers:\n"
          "      g: {timing: before, events: [insert], function: nothing_here}\n", 6)
spec_case("trigger-on-nothing",
          "functions:\n  f: {returns: trigger, body: 'BEGIN RETURN NEW; END'}\n"
          "triggers:\n  g: {table: nowhere, timing: before, events: [insert], function: f}\n", 4)
spec_case("table-and-view-one-name",
          'tables:\n  t: {columns: {a: int}}\nviews:\n  t: {query: "SELECT 1"}\n', 4)
spec_case("two-indexes-one-name",
          "tables:\n  t:\n    columns:\n      a: int\n    indexes:\n      i: {columns: [a]}\n"
          "  u:\n    columns:\n      b: int\n    indexes:\n      i: {columns: [b]}\n", 11)
spec_case("default-invalid-sql",
          "tables:\n  t:\n    columns:\n      a: {type: int, default: '1 +'}\n", 4, "verify")
spec_case("check-invalid-sql", "tables:\n  t:\n    columns:\n      a: int\n    checks:\n      c: 'a >'\n", 6)
spec_case("view-invalid-sql", 'views:\n  v: {query: "SELECT FROM WHERE"}\n', 2)
spec_case("plpgsql-body-invalid",
          "functions:\n  f:\n    returns: void\n    body: 'BEGIN x := ; END'\n", 4, "diff")
spec_case("sql-body-invalid",
          "functions:\n  f:\n    returns: int\n    language: sql\n    body: 'SELEC 1'\n", 5)
spec_case("policy-invalid-sql",
          "tables:\n  t:\n    columns:\n      a: int\n    policies:\n      p: {using: 'a = = 1'}\n", 6)
spec_case("invalid-utf8", b"enums:\n  e: [a]\n  f: ['\xff\xfe']\n", 3)
spec_case("binary-file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", 1)
spec_case("not-a-mapping", "- a\n- b\n", 1)
spec_case("python-tag", 'tables: !!python/object/apply:os.system ["echo owned"]\n', 1)
spec_case("nested-too-deeply", "tables:\n  t:\n    columns:\n      a: " + "[" * 5000 + "]" * 5000 + "\n", 4)
spec_case("empty-file", "", None, "verify")


@case("same-table-two-files")
def _(ctx: Ctx) -> Case:
    ctx.file("two-files", "tables:\n  t: {columns: {a: int}}\n", "a.yaml")
    second = ctx.file("two-files", "# b\n\ntables:\n  t: {columns: {a: int}}\n", "b.yaml")
    return Case(["render", "--spec", str(second.parent)], f"{second}:4:")


@case("empty-spec-directory")
def _(ctx: Ctx) -> Case:
    empty = ctx.dir("empty-dir/schema")
    return Case(["verify", "--spec", str(empty), "--dsn", ctx.db], str(empty))


@case("spec-not-found")
def _(ctx: Ctx) -> Case:
    missing = ctx.base / "no-such-spec"
    return Case(["render", "--spec", str(missing)], str(missing))


# --------------------------------------------------------------------------- dumps and scripts


def backup_case(name: str, content: str | bytes, line: int | None, filename: str = "db.backup",
                **extra: str) -> None:
    def build(ctx: Ctx) -> Case:
        path = ctx.file(name, content, filename)
        where = f"{path}:{line}:" if line else f"{path}:"
        argv = ["verify", "--spec", str(ctx.ok_spec), "--backup", str(path)]
        for key, value in extra.items():
            argv += [f"--{key}", value]
        return Case(argv, where)

    case(name)(build)


DUMP_HEAD = "--\n-- PostgreSQL database dump\n--\n\n"
backup_case("empty-backup", "", None)
backup_case("binary-backup", b"-- PostgreSQL database dump\n\x00\x01\x02\xff garbage", 2)
backup_case("truncated-gzip", gzip.compress((DUMP_HEAD + "CREATE TABLE public.t (x int);\n" * 4000)
                                            .encode())[:-64], None, "db.backup.gz")
backup_case("invalid-utf8-backup", DUMP_HEAD.encode() + b"CREATE TABLE t (x text DEFAULT '\xe9');\n", 5)
backup_case("statement-syntax", DUMP_HEAD + "CREATE TABLE a (x int);\n\nCREATE TABLE b (\n  x int,\n"
            "  y nonsense nonsense\n);\n", 7)
backup_case("backup-default-invalid-sql", DUMP_HEAD + "CREATE TABLE a (\n  x int DEFAULT 1 +\n);\n", 5,
            "default.backup")
backup_case("backup-view-invalid-sql", DUMP_HEAD + "CREATE VIEW v AS SELECT FROM WHERE;\n", 5, "view.backup")
backup_case("function-invalid-sql", DUMP_HEAD + "CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
            "BEGIN ATOMIC SELEC 1; END;\n", 5, "function.backup")
backup_case("unterminated-copy", DUMP_HEAD + "CREATE TABLE a (x int);\nCOPY a (x) FROM stdin;\n1\n2\n", 6)


@case("dumpall-without-the-database")
def _(ctx: Ctx) -> Case:
    return Case(["verify", "--spec", str(ctx.ok_spec), "--backup", str(CLUSTER_BACKUP),
                 "--database", "no_such_db"], f"{CLUSTER_BACKUP}:")


@case("custom-format-without-pg_restore")
def _(ctx: Ctx) -> Case:
    path = ctx.dir("custom") / "db.dump"
    subprocess.run([ctx.pg.tool("pg_dump"), "-Fc", "-f", str(path), "-d", ctx.db], check=True,
                   capture_output=True)
    nowhere = ctx.dir("custom/empty-bin")
    return Case(["diff", str(path), str(ctx.ok_spec)], f"{path}:", env={"PATH": str(nowhere)})


@case("fifty-megabyte-line")
def _(ctx: Ctx) -> Case:
    path = ctx.dir("huge") / "huge.sql"
    with path.open("w") as out:
        out.write("CREATE TABLE a (x int);\n")
        out.write("CREATE TABLE b (x text DEFAULT '" + "x" * (50 << 20) + "' nonsense nonsense);\n")
    return Case(["verify", "--spec", str(ctx.ok_spec), "--sql", str(path)], f"{path}:2:", seconds=30)


@case("sql-script-syntax")
def _(ctx: Ctx) -> Case:
    first = ctx.file("scripts", "CREATE TABLE a (x int);\n", "01.sql")
    second = ctx.file("scripts", "-- two\nALTER TABLE a ADD COLUMN y int;\nCREATE TABLE b (x int,);\n",
                      "02.sql")
    return Case(["verify", "--spec", str(ctx.ok_spec), "--sql", str(first), str(second)],
                f"{second}:3:")


@case("backup-not-found")
def _(ctx: Ctx) -> Case:
    missing = ctx.base / "db_cluster-missing.backup"
    return Case(["verify", "--spec", str(ctx.ok_spec), "--backup", str(missing)], str(missing))


# --------------------------------------------------------------------------- servers


def _host(ctx: Ctx, port: int) -> str:
    return f"127.0.0.1:{port}"


@case("unreachable-refused")
def _(ctx: Ctx) -> Case:
    dsn = f"postgresql://app:{SECRET}@127.0.0.1:{ctx.closed_port}/app"
    return Case(["verify", "--spec", str(ctx.ok_spec), "--dsn", dsn], _host(ctx, ctx.closed_port),
                seconds=5)


@case("unreachable-silent-host")
def _(ctx: Ctx) -> Case:
    """A host that accepts TCP and never answers: fails within the DSN's connect timeout."""
    dsn = f"postgresql://app:{SECRET}@127.0.0.1:{ctx.silent_port}/app?connect_timeout=2"
    return Case(["verify", "--spec", str(ctx.ok_spec), "--dsn", dsn], _host(ctx, ctx.silent_port),
                seconds=2 + 1.5, alone=True)


@case("unreachable-silent-host-pgconnect-timeout")
def _(ctx: Ctx) -> Case:
    dsn = f"host=127.0.0.1 port={ctx.silent_port} user=app dbname=app"
    return Case(["diff", dsn, str(ctx.ok_spec)], _host(ctx, ctx.silent_port),
                env={"PGCONNECT_TIMEOUT": "2", "PGPASSWORD": SECRET}, seconds=2 + 1.5, alone=True)


@case("unknown-host")
def _(ctx: Ctx) -> Case:
    dsn = f"postgresql://app:{SECRET}@no-such-host.invalid:5432/app?connect_timeout=3"
    return Case(["verify", "--spec", str(ctx.ok_spec), "--dsn", dsn], "no-such-host.invalid:5432",
                seconds=3 + 1.5, alone=True)


@case("wrong-password")
def _(ctx: Ctx) -> Case:
    dsn = ctx.auth.tcp_dsn("postgres", "pgspec_badinput", "not-the-password")
    return Case(["verify", "--spec", str(ctx.ok_spec), "--dsn", dsn], _host(ctx, ctx.auth.port))


@case("no-password-given")
def _(ctx: Ctx) -> Case:
    dsn = ctx.auth.tcp_dsn("postgres", "pgspec_badinput")
    return Case(["verify", "--spec", str(ctx.ok_spec), "--dsn", dsn], _host(ctx, ctx.auth.port),
                env={"PGPASSFILE": str(ctx.base / "no-pgpass")})


@case("missing-database")
def _(ctx: Ctx) -> Case:
    dsn = ctx.auth.tcp_dsn("no_such_database", "pgspec_badinput", SECRET)
    return Case(["diff", dsn, str(ctx.ok_spec)], _host(ctx, ctx.auth.port))


@case("missing-role")
def _(ctx: Ctx) -> Case:
    dsn = ctx.auth.tcp_dsn("postgres", "no_such_role", SECRET)
    return Case(["verify", "--spec", str(ctx.ok_spec), "--dsn", dsn], _host(ctx, ctx.auth.port))


@case("role-may-not-connect")
def _(ctx: Ctx) -> Case:
    dsn = ctx.auth.tcp_dsn("pgspec_noconnect", "pgspec_badinput", SECRET)
    return Case(["verify", "--spec", str(ctx.ok_spec), "--dsn", dsn], _host(ctx, ctx.auth.port))


# --------------------------------------------------------------------------- output directories


@case("split-into-a-file")
def _(ctx: Ctx) -> Case:
    blocker = ctx.file("split-file", "not a directory", "out")
    return Case(["render", "--spec", str(ctx.ok_spec), "--split", str(blocker / "scripts")],
                str(blocker / "scripts"), outdir=blocker.parent)


@case("split-into-unwritable-directory")
def _(ctx: Ctx) -> Case:
    # Root ignores file modes, so "cannot be written" is a directory of a read-only
    # filesystem: sysfs refuses to create entries even for root.
    target = "/sys/kernel/pgspec-out"
    return Case(["render", "--spec", str(ctx.ok_spec), "--split", target], target)


@case("split-over-a-directory")
def _(ctx: Ctx) -> Case:
    """The second script's name is taken by a directory: nothing may be replaced."""
    out = ctx.dir("split-dir/out")
    (out / "00_init_complete_schema.sql").write_text("-- the old script\n")
    (out / "00_init_functions.sql").mkdir()
    return Case(["render", "--spec", str(ctx.ok_spec), "--split", str(out)],
                str(out / "00_init_functions.sql"), outdir=out)


def _has_inspect() -> bool:
    from pgspec.cli import build_parser

    actions = [a for a in build_parser()._subparsers._actions if a.choices]  # type: ignore[union-attr]
    return any("inspect" in a.choices for a in actions)  # type: ignore[operator]


if _has_inspect():

    @case("inspect-into-a-file")
    def _(ctx: Ctx) -> Case:
        blocker = ctx.file("inspect-file", "not a directory", "out")
        return Case(["inspect", str(ctx.ok_spec), "-o", str(blocker / "spec")],
                    str(blocker / "spec"), outdir=blocker.parent)

    @case("inspect-into-unwritable-directory")
    def _(ctx: Ctx) -> Case:
        target = "/sys/kernel/pgspec-spec"
        return Case(["inspect", str(ctx.ok_spec), "-o", target], target)


# --------------------------------------------------------------------------- running them


def _snapshot(directory: Path | None) -> dict[str, bytes] | None:
    if directory is None:
        return None
    return {str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(directory.rglob("*"))}


def _run(case: Case) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(case.env)
    before = _snapshot(case.outdir)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pgspec", *case.argv], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=case.seconds + 60, check=False)
    return Result(case, done.returncode, done.stdout, done.stderr, time.monotonic() - started,
                  before)


def _prepare_servers(pg: Server, auth: AuthServer) -> str:
    """A role with a password on the password-checking server, a database it may not connect
    to, and a database of the main server (for a custom-format dump)."""
    with psycopg.connect(auth.superuser_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'pgspec_badinput'").fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE pgspec_badinput LOGIN PASSWORD {}").format(
                sql.Literal(SECRET)))
        conn.execute("DROP DATABASE IF EXISTS pgspec_noconnect")
        conn.execute("CREATE DATABASE pgspec_noconnect")
        conn.execute("REVOKE CONNECT ON DATABASE pgspec_noconnect FROM PUBLIC")
    return pg.create_database()


@pytest.fixture(scope="module")
def results(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Result]]:
    auth = auth_server()
    db = _prepare_servers(pg, auth)
    base = tmp_path_factory.mktemp("bad-inputs")
    ok_spec = base / "ok" / "schema"
    ok_spec.mkdir(parents=True)
    (ok_spec / "accounts.yaml").write_text(OK_SPEC)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    try:
        ctx = Ctx(base, ok_spec, pg, auth, db, silent.getsockname()[1], closed_port)
        cases = {name: build(ctx) for name, build in BUILDERS.items()}
        done = {name: _run(c) for name, c in cases.items() if c.alone}
        rest = {name: c for name, c in cases.items() if not c.alone}
        with ThreadPoolExecutor(max_workers=8) as pool:
            done.update(zip(rest, pool.map(_run, rest.values()), strict=True))
        yield done
    finally:
        silent.close()
        pg.drop_database(psycopg.conninfo.conninfo_to_dict(db)["dbname"])


def test_the_catalogue_has_at_least_40_cases() -> None:
    assert len(BUILDERS) >= 40, len(BUILDERS)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_bad_input(results: dict[str, Result], name: str) -> None:
    result = results[name]
    shown = f"exit {result.code}, stderr {result.stderr!r}"
    assert result.code == 2, shown
    assert "Traceback" not in result.stderr, shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), shown
    line = lines[0]
    assert line.startswith("pgspec: "), shown
    assert result.case.where in line, f"{result.case.where!r} not named: {shown}"
    assert SECRET not in line
    assert result.stdout == "", f"output written on error: {result.stdout[:200]!r}"
    assert result.elapsed < result.case.seconds, f"took {result.elapsed:.1f}s: {shown}"
    if result.case.outdir is not None:
        assert _snapshot(result.case.outdir) == result.before, "the output directory changed"


def test_a_malformed_dsn_is_one_line_without_echoing_it() -> None:
    """libpq quotes the offending fragment of a bad DSN; pgspec must not (it may hold a
    password), so this one line names no host: there is none to name."""
    done = subprocess.run([sys.executable, "-m", "pgspec", "diff", f"host=db password={SECRET} 'x",
                           str(ROOT / "schema")], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "invalid connection string" in done.stderr
    assert SECRET not in done.stderr and "Traceback" not in done.stderr


def test_servers_older_than_14_are_refused_by_the_version_gate() -> None:
    """No server older than 14 is available here, so the gate the live reader calls with the
    connection's ``server_version`` is called directly with 13's numbers."""
    where = make_conninfo(host="db.example.com")
    check_server_version(140000, where)
    check_server_version(180001, where)
    for version in (130000, 130012, 90624):
        with pytest.raises(UnsupportedError) as caught:
            check_server_version(version, "postgresql://app@db.example.com:5432/app")
        message = str(caught.value)
        assert "db.example.com:5432" in message and "14" in message and "\n" not in message
