"""pgspec never writes to the database it reads, proven on a real server.

The target is a database pgspec's role may only CONNECT to (plus the catalog access PostgreSQL
grants PUBLIC by default), where ``default_transaction_read_only`` is on. Around every command
(verify, diff in both directions, inspect) the test records the target's state: the rows an
event trigger logs for any DDL (``ddl_command_start`` and ``sql_drop``), the row count of every
table, every sequence's position and a fingerprint of the catalogs, and asserts nothing changed.
The server logs every statement pgspec's role sends (``ALTER ROLE ... SET log_statement =
'all'`` on a private server with a JSON log); each one must parse, with pglast, as a SELECT, a
SET/SHOW or transaction control, and nothing else.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pglast
import psycopg
import pytest
from pglast import ast
from psycopg import sql

from pgspec.render import render
from pgspec.sources.spec import load_spec
from tests.fix_db import ROOT
from tests.private_server import AuthServer, auth_server

PASSWORD = "Read-Only-Role-pw-41"
ROLE = "pgspec_readonly"

SPEC = """\
schemas:
  app: {comment: application schema}
enums:
  status: [active, archived]
sequences:
  invoice_no: {start: 1000}
tables:
  accounts:
    comment: tenant root
    columns:
      id: {type: bigint, identity: always, primary_key: true}
      name: {type: text, not_null: true, check: "length(name) > 0"}
      state: {type: status, not_null: true, default: "'active'"}
      updated_at: {type: timestamptz, not_null: true, default: now()}
    indexes:
      accounts_name_idx: {columns: ["lower(name)"], where: "state = 'active'"}
    rls: true
    policies:
      own_rows: {command: select, using: "name = current_user"}
    triggers:
      accounts_touch: {timing: before, events: [update], function: touch}
  members:
    columns:
      account_id: {type: bigint, not_null: true, references: accounts(id)}
      email: {type: text, not_null: true}
    primary_key: [account_id, email]
views:
  active_accounts: {query: "SELECT id, name FROM accounts WHERE state = 'active'"}
materialized_views:
  account_counts: {query: "SELECT state, count(*) AS n FROM accounts GROUP BY state"}
functions:
  touch:
    returns: trigger
    body: "BEGIN NEW.updated_at := now(); RETURN NEW; END"
  next_invoice:
    returns: bigint
    language: sql
    body: "SELECT nextval('public.invoice_no')"
"""

APP = """\
schema: app
tables:
  settings:
    columns:
      key: {type: text, primary_key: true}
      value: jsonb
"""

#: DDL logging in the target: any DDL pgspec's session attempted would leave a row here.
AUDIT = """
CREATE SCHEMA audit;
CREATE TABLE audit.ddl_log (at timestamptz DEFAULT clock_timestamp(), event text, tag text,
                            who text DEFAULT session_user);
CREATE FUNCTION audit.log_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN INSERT INTO audit.ddl_log (event, tag) VALUES (TG_EVENT, TG_TAG); END $$;
CREATE EVENT TRIGGER log_ddl_start ON ddl_command_start EXECUTE FUNCTION audit.log_ddl();
CREATE EVENT TRIGGER log_ddl_drop ON sql_drop EXECUTE FUNCTION audit.log_ddl();
"""

DATA = """
INSERT INTO public.accounts (name) VALUES ('acme'), ('globex');
INSERT INTO public.members VALUES (1, 'a@acme.test'), (2, 'b@globex.test');
INSERT INTO app.settings VALUES ('theme', '"dark"');
SELECT setval('public.invoice_no', 1234);
REFRESH MATERIALIZED VIEW public.account_counts;
"""


@dataclass(frozen=True)
class Target:
    auth: AuthServer
    dbname: str
    spec: Path

    @property
    def admin(self) -> str:
        return self.auth.server.dsn_for(self.dbname)

    @property
    def reader(self) -> str:
        return self.auth.tcp_dsn(self.dbname, ROLE, PASSWORD)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    auth = auth_server()
    spec = tmp_path_factory.mktemp("readonly") / "schema"
    spec.mkdir()
    (spec / "public.yaml").write_text(SPEC)
    (spec / "app.yaml").write_text(APP)
    dbname = f"ro_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(auth.superuser_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(PASSWORD)))
    result = Target(auth, dbname, spec)
    db = sql.Identifier(dbname)
    with psycopg.connect(result.admin, autocommit=True) as conn:
        conn.execute(render(load_spec(spec)))
        conn.execute(DATA)
        conn.execute(AUDIT)
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, sql.Identifier(ROLE)))
        conn.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(db))
        conn.execute(sql.SQL("ALTER ROLE {} SET log_statement = 'all'").format(sql.Identifier(ROLE)))
    try:
        yield result
    finally:
        with psycopg.connect(auth.superuser_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(db))


def _state(target: Target) -> dict[str, object]:
    """Everything a write could change: DDL log, row counts, sequences, catalog fingerprint."""
    with psycopg.connect(target.admin, autocommit=True) as conn:
        state: dict[str, object] = {
            "ddl": conn.execute("SELECT event, tag, who FROM audit.ddl_log ORDER BY at").fetchall(),
        }
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1, 2").fetchall()
        for schema, name in tables:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))
            state[f"rows {schema}.{name}"] = conn.execute(query).fetchone()[0]
        for schema, name in conn.execute(
                "SELECT schemaname, sequencename FROM pg_sequences ORDER BY 1, 2").fetchall():
            query = sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(schema, name))
            state[f"sequence {schema}.{name}"] = conn.execute(query).fetchone()
        state["catalog"] = conn.execute(
            """SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
                 SELECT format('%s %s %s %s %s', c.oid, c.relname, c.relkind, c.relnatts,
                               c.relacl) AS x FROM pg_class c
                 UNION ALL SELECT format('%s %s %s', p.oid, p.proname, md5(p.prosrc)) FROM pg_proc p
                 UNION ALL SELECT format('%s %s %s', a.attrelid, a.attname, a.atttypid)
                           FROM pg_attribute a WHERE a.attnum > 0
                 UNION ALL SELECT format('%s %s', oid, rolname) FROM pg_roles
                 UNION ALL SELECT format('%s %s', setdatabase, setconfig) FROM pg_db_role_setting
               ) s""").fetchone()[0]
    return state


def _statements_logged(target: Target) -> list[str]:
    """Statements pgspec's role sent to the target, once the log has caught up."""
    marker = f"pgspec-readonly-marker-{uuid.uuid4().hex}"
    with psycopg.connect(target.admin, autocommit=True) as conn:
        conn.execute("SET log_statement = 'all'")
        conn.execute(sql.SQL("SELECT {}").format(sql.Literal(marker)))
    deadline = time.monotonic() + 10
    while True:
        entries = list(target.auth.log_entries())
        if any(marker in (e.get("message") or "") for e in entries):
            break
        assert time.monotonic() < deadline, "the server log never showed the marker"
        time.sleep(0.1)
    found = []
    for entry in entries:
        if entry.get("user") != ROLE or entry.get("dbname") != target.dbname:
            continue
        message = entry.get("message") or ""
        # Simple protocol: "statement: ..."; extended: "execute <unnamed>: ...".
        for prefix in ("statement: ", "execute "):
            if message.startswith(prefix):
                text = message[len(prefix):]
                if prefix == "execute ":
                    text = text.split(": ", 1)[1]
                found.append(text)
    return found


def _pgspec(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run([sys.executable, "-m", "pgspec", *argv], capture_output=True, text=True,
                          cwd=ROOT, env={**clean, **(env or {})}, check=False, timeout=120)


READ_ONLY_STATEMENTS = (ast.SelectStmt, ast.VariableSetStmt, ast.VariableShowStmt)


def _assert_read_only(statements: list[str]) -> None:
    assert statements, "the log shows no statement from pgspec's role"
    selects = 0
    for text in statements:
        for raw in pglast.parse_sql(text):
            stmt = raw.stmt
            if isinstance(stmt, ast.TransactionStmt):
                kind = stmt.kind.name
                assert kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_ROLLBACK",
                                "TRANS_STMT_COMMIT"), text
                continue
            assert isinstance(stmt, READ_ONLY_STATEMENTS), f"not a read: {text[:300]!r}"
            if isinstance(stmt, ast.SelectStmt):
                assert stmt.intoClause is None and not stmt.lockingClause, text[:300]
                selects += 1
    assert selects > 0


def test_the_role_really_may_not_write(target: Target) -> None:
    """The premise: pgspec's role cannot read the tables, let alone write, and the database
    starts every transaction read-only."""
    with psycopg.connect(target.reader, autocommit=True) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM public.accounts")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TEMP TABLE x (a int)")


COMMANDS = {
    "verify": lambda t, tmp: ["verify", "--spec", str(t.spec), "--dsn", t.reader],
    "verify-json": lambda t, tmp: ["verify", "--spec", str(t.spec), "--dsn", t.reader, "--format", "json"],
    "diff-spec-first": lambda t, tmp: ["diff", str(t.spec), t.reader],
    "diff-database-first": lambda t, tmp: ["diff", t.reader, str(t.spec)],
    "diff-database-twice": lambda t, tmp: ["diff", t.reader, t.reader],
    "inspect": lambda t, tmp: ["inspect", t.reader],
    "inspect-to-directory": lambda t, tmp: ["inspect", t.reader, "-o", str(tmp / "inspected")],
}

#: Exit codes each command must give: the spec matches the database; the database read first
#: also holds the audit schema the spec does not declare.
EXPECTED_CODES = {"verify": 0, "verify-json": 0, "diff-spec-first": 0, "diff-database-first": 1,
                  "diff-database-twice": 0, "inspect": 0, "inspect-to-directory": 0}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_changes_nothing_and_only_reads(target: Target, tmp_path: Path, command: str) -> None:
    before = _state(target)
    already = len(_statements_logged(target))
    done = _pgspec(*COMMANDS[command](target, tmp_path))
    assert done.returncode == EXPECTED_CODES[command], done.stderr + done.stdout[-2000:]
    assert "Traceback" not in done.stderr
    assert _state(target) == before
    sent = _statements_logged(target)[already:]
    _assert_read_only(sent)


def test_a_write_would_have_been_seen(target: Target) -> None:
    """The detectors work: DDL and a row written by a privileged session show in the state."""
    before = _state(target)
    with psycopg.connect(target.admin, autocommit=True) as conn:
        conn.execute("BEGIN READ WRITE")
        conn.execute("CREATE TABLE public.scratch (a int)")
        conn.execute("DROP TABLE public.scratch")
        conn.execute("COMMIT")
    after = _state(target)
    assert after["ddl"] != before["ddl"]
    assert [row[1] for row in after["ddl"][len(before["ddl"]):]] == ["CREATE TABLE", "DROP TABLE",
                                                                      "DROP TABLE"]
    with psycopg.connect(target.admin, autocommit=True) as conn:
        conn.execute("BEGIN READ WRITE")
        conn.execute("INSERT INTO app.settings VALUES ('lang', '\"en\"')")
        conn.execute("SELECT nextval('public.invoice_no')")
        conn.execute("ROLLBACK")
    assert _state(target)["sequence public.invoice_no"] != before["sequence public.invoice_no"]
