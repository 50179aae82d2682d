"""``SET LOCAL`` lasts until the transaction ends, in the replay as on the server, and
``RESET ALL`` / ``DISCARD ALL`` reset what they reset.

Migration tools wrap each file in a transaction, and some scripts switch role or schema with
``SET LOCAL`` inside it. Taken as session-wide, everything after the COMMIT would be created in
the wrong schema, owned by the wrong role, or its default privileges credited to it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import psycopg

from tests.fix_db import Run
from tests.pgserver import Server
from tests.script_checks import built_from_script, diff_report, report_lines

SCRIPT = """
CREATE SCHEMA app;
BEGIN;
SET LOCAL search_path = app;
CREATE TABLE inside (a int);
SET LOCAL ROLE set_local_owner;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO set_local_reader;
COMMIT;
CREATE TABLE outside (a int);
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT INSERT ON TABLES TO set_local_reader;
BEGIN;
SET search_path = app;
SET LOCAL search_path = public;
CREATE TABLE local_public (a int);
COMMIT;
CREATE TABLE after_plain_set (a int);
RESET search_path;
SET LOCAL search_path = app;
CREATE TABLE no_transaction (a int);
SET search_path = app;
RESET ALL;
CREATE TABLE after_reset_all (a int);
SET search_path = app;
SET ROLE set_local_owner;
DISCARD ALL;
CREATE TABLE after_discard (a int);
"""


def _roles(server: Server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        for role in ("set_local_owner", "set_local_reader"):
            with contextlib.suppress(psycopg.errors.DuplicateObject):
                conn.execute(f"CREATE ROLE {role}")  # type: ignore[call-overload]


def test_set_local_ends_with_the_transaction(any_pg: Server, make_db: Callable[..., str],
                                             run: Run, tmp_path: Path) -> None:
    _roles(any_pg)
    script, dsn = built_from_script(any_pg, make_db, tmp_path, SCRIPT, "set_local")
    for expected, actual in ((script, dsn), (dsn, script)):
        code, report = diff_report(run, expected, actual, "--schema", "public", "--schema", "app")
        assert code == 0, "\n".join(report_lines(report))
    with psycopg.connect(dsn) as conn:
        placed = dict(conn.execute(
            "SELECT relname, relnamespace::regnamespace::text FROM pg_class "
            "WHERE relname IN ('inside', 'outside', 'local_public', 'after_plain_set', 'no_transaction', "
            "'after_reset_all', 'after_discard')"
        ).fetchall())
    # What the server did, which the replay must match (the diff above checks it does).
    assert placed == {"inside": "app", "outside": "public", "local_public": "public",
                      "after_plain_set": "app", "no_transaction": "public",
                      "after_reset_all": "public", "after_discard": "public"}
