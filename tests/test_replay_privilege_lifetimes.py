"""Grants and owners offline live as long as their object, and follow it when it is renamed.

A script that revokes on ``f(int)`` or grants on table ``t`` and then drops and creates them
again leaves the new objects with the privileges of their own creation: the server forgets
the old ACL with the old object. A renamed table, view, sequence, function or type keeps its
ACL and owner under its new name. The replayed script must say what the database says, so each
case is applied to a real server and read both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.diff import diff
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_sql
from tests.fix_db import run_sql
from tests.pgserver import Server

ROLES = """\
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'life_reader') THEN CREATE ROLE life_reader; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'life_owner') THEN CREATE ROLE life_owner; END IF;
END $$;
"""

CASES = {
    "table dropped and created again": """
        CREATE TABLE t (id int);
        GRANT SELECT ON t TO life_reader;
        GRANT UPDATE (id) ON t TO life_reader;
        ALTER TABLE t OWNER TO life_owner;
        DROP TABLE t;
        CREATE TABLE t (id int);
    """,
    "function dropped and created again": """
        CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
        REVOKE ALL ON FUNCTION f(int) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION f(int) TO life_reader;
        DROP FUNCTION f(int);
        CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT $1 + 1';
    """,
    "view, sequence and type dropped and created again": """
        CREATE VIEW v AS SELECT 1 AS one;
        GRANT SELECT ON v TO life_reader;
        CREATE SEQUENCE s;
        GRANT USAGE ON SEQUENCE s TO life_reader;
        CREATE TYPE mood AS ENUM ('ok');
        REVOKE USAGE ON TYPE mood FROM PUBLIC;
        DROP VIEW v; DROP SEQUENCE s; DROP TYPE mood;
        CREATE VIEW v AS SELECT 2 AS two;
        CREATE SEQUENCE s;
        CREATE TYPE mood AS ENUM ('fine');
    """,
    "schema dropped with its objects": """
        CREATE SCHEMA app;
        CREATE TABLE app.t (id int);
        GRANT SELECT ON app.t TO life_reader;
        GRANT USAGE ON SCHEMA app TO life_reader;
        DROP SCHEMA app CASCADE;
        CREATE SCHEMA app;
        CREATE TABLE app.t (id int);
    """,
    "renamed objects keep their grants and owners": """
        CREATE TABLE t (id int);
        GRANT SELECT ON t TO life_reader;
        GRANT UPDATE (id) ON t TO life_reader;
        ALTER TABLE t OWNER TO life_owner;
        ALTER TABLE t RENAME TO t2;
        ALTER TABLE t2 RENAME COLUMN id TO ident;
        CREATE VIEW v AS SELECT 1 AS one;
        GRANT SELECT ON v TO life_reader;
        ALTER VIEW v RENAME TO v2;
        CREATE SEQUENCE s;
        GRANT USAGE ON SEQUENCE s TO life_reader;
        ALTER SEQUENCE s RENAME TO s2;
        CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
        REVOKE ALL ON FUNCTION f(int) FROM PUBLIC;
        ALTER FUNCTION f(int) OWNER TO life_owner;
        ALTER FUNCTION f(int) RENAME TO g;
        CREATE TYPE mood AS ENUM ('ok');
        REVOKE USAGE ON TYPE mood FROM PUBLIC;
        ALTER TYPE mood RENAME TO feeling;
    """,
}


@pytest.mark.parametrize("case", list(CASES))
def test_offline_privileges_follow_the_objects_lifetime(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path, case: str,
) -> None:
    script = tmp_path / "script.sql"
    script.write_text(CASES[case], encoding="utf-8")
    dsn = make_db(server=any_pg)
    run_sql(dsn, ROLES)
    any_pg.psql_file(dsn, script)
    schemas = ["public", "app"]
    live = introspect(dsn, schemas=schemas)
    offline = read_sql([script], schemas=schemas)
    assert offline.grants == live.grants
    # The public schema belongs to pg_database_owner, which no script says.
    owned = {k: v for k, v in live.owners.items() if v != "postgres" and k != "public"}
    assert {k: v for k, v in offline.owners.items() if v != "postgres"} == owned
    # A script runs as a role it does not name: default privileges are compared elsewhere.
    found = [(d.object_type, d.name, d.change, d.attribute) for d in diff(offline, live)
             if d.object_type != "default_privilege"]
    assert found == []
