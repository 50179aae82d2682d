"""Privileges the way Supabase users need them: grants, default privileges and owners.

A spec states who may touch what in its compact form; pgspec renders it, the rendered scripts
build a database on top of the Supabase stand-in (whose default privileges grant ALL on new
tables to anon, authenticated and service_role), and the database then verifies clean. Each
drift (a revoked grant, an extra grant, a column privilege, a changed default privilege, a
changed owner) is reported as exactly that, and a table created later under Supabase's default
privileges is not a difference when the spec says the same thing. Dumps read offline give the
same privileges as the database read live, on PostgreSQL 18 and 15.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pgspec.diff import diff
from pgspec.errors import SpecError
from pgspec.render import render
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from pgspec.sources.sql import read_dump, read_sql
from tests.fix_db import run_sql
from tests.pgserver import Server

SPEC = """\
privileges:
  preset: supabase
  roles: [anon, authenticated, service_role, reporting]
  owner: postgres

schemas:
  public:
    grants: {public: [usage], anon: [usage], authenticated: [usage], service_role: [usage]}

# Supabase's own default privileges, stated so new objects are expected to have them.
default_privileges:
  tables: {anon: all, authenticated: all, service_role: all}
  sequences: {anon: all, authenticated: all, service_role: all}
  functions: {anon: [execute], authenticated: [execute], service_role: [execute]}

# Every table to authenticated and service_role, never to anon, except the public catalogue.
grants:
  tables:
    anon: none
    authenticated: [select, insert, update, delete]
    service_role: all
    except: [plans]
  functions:
    anon: none
    except: [plan_price]

tables:
  accounts:
    rls: true
    columns:
      id: {type: uuid, primary_key: true}
      name: text
      api_key: {type: text, grants: {reporting: [select]}}
  plans:
    columns:
      id: {type: serial, primary_key: true}
      price: numeric
  audit_logs:
    columns:
      id: bigint
    grants: {authenticated: [select], reporting: {privileges: [select], grant_option: true}}

functions:
  validate_token:
    arguments: [{name: token, type: text}]
    returns: boolean
    security_definer: true
    set: {search_path: public}
    body: "BEGIN RETURN token IS NOT NULL; END"
    grants: {public: none, authenticated: none, service_role: [execute]}
  plan_price:
    arguments: [{name: plan, type: integer}]
    returns: numeric
    language: sql
    body: SELECT price FROM public.plans WHERE id = plan
"""


def spec_dir(tmp_path: Path, text: str = SPEC) -> Path:
    (tmp_path / "spec.yaml").write_text(text)
    return tmp_path


def applied(server: Server, make_db: Callable[..., str], tmp_path: Path) -> tuple[str, object]:
    """A database from the stand-in and the rendered spec, and the spec's catalog."""
    dsn = make_db(stub=True, server=server)
    run_sql(dsn, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reporting') "
                 "THEN CREATE ROLE reporting; END IF; END $$;")
    spec = load_spec(spec_dir(tmp_path))
    run_sql(dsn, render(spec))
    return dsn, spec


def shapes(found: list) -> list[tuple]:
    return [(d.object_type, d.name, d.change, d.attribute) for d in found]


# --------------------------------------------------------------------------- the spec


def test_compact_form_expands_to_effective_sets(tmp_path: Path) -> None:
    spec = load_spec(spec_dir(tmp_path))
    grants = {k: g.privileges for k, g in spec.grants.items()}
    every = ["delete", "insert", "maintain", "references", "select", "trigger", "truncate", "update"]
    assert grants["table:public.accounts:authenticated"] == ["delete", "insert", "select", "update"]
    assert grants["table:public.accounts:service_role"] == every
    assert "table:public.accounts:anon" not in grants
    # The exception keeps Supabase's default privileges; the override replaces one role.
    assert grants["table:public.plans:anon"] == every
    assert grants["table:public.audit_logs:authenticated"] == ["select"]
    assert spec.grants["table:public.audit_logs:reporting"].grantable == ["select"]
    assert grants["column:public.accounts.api_key:reporting"] == ["select"]
    # PUBLIC's built-in EXECUTE stays unless a function takes it away.
    assert grants["function:public.plan_price(integer):public"] == ["execute"]
    assert "function:public.validate_token(text):public" not in grants
    assert "function:public.validate_token(text):anon" not in grants
    assert grants["function:public.validate_token(text):service_role"] == ["execute"]
    assert spec.owners["public.accounts"] == "postgres"
    assert "public" not in spec.owners  # initdb's schema, not the spec's
    assert spec.privileges is not None and "supabase_admin" in spec.privileges.ignore_roles


def test_a_spec_without_privileges_states_none(tmp_path: Path) -> None:
    spec = load_spec(spec_dir(tmp_path, "tables:\n  t:\n    columns: {a: int}\n"))
    assert spec.privileges is None and spec.grants == {} and spec.owners == {}


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("tables:\n  t:\n    columns: {a: int}\n    grants: {anon: [selec]}\n", 4, "'selec'"),
    ("tables:\n  t:\n    columns: {a: int}\n    grants:\n      anon: [execute]\n", 5,
     "'execute' is not a privilege of a table"),
    ("privileges: {roles: [anon]}\ntables:\n  t:\n    columns: {a: int}\n    grants:\n      anno: [select]\n",
     6, "unknown role 'anno'"),
    ("grants:\n  tables:\n    anon: all\n    except: [missing]\ntables:\n  t: {columns: {a: int}}\n", 4,
     "'except' names 'missing'"),
    ("privileges: {presett: supabase}\n", 1, "unknown key 'presett'"),
    ("default_privileges:\n  schemas: {anon: [usage]}\n", 2, "only globally"),
    ("functions:\n  f:\n    body: SELECT 1\n    language: sql\n    returns: int\n"
     "    grants: {anon: [none, execute]}\n", 6, "'none' cannot be combined"),
])
def test_mistakes_name_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(spec_dir(tmp_path, text))
    problems = [p for p in info.value.problems if fragment in p.message]
    assert problems, info.value.problems
    assert (problems[0].file.endswith("spec.yaml"), problems[0].line) == (True, line)


# --------------------------------------------------------------------------- against servers


def test_rendered_spec_verifies_clean(any_pg: Server, make_db: Callable[..., str], tmp_path: Path) -> None:
    dsn, spec = applied(any_pg, make_db, tmp_path)
    live = introspect(dsn, schemas=["public"])
    assert diff(spec, live, schemas=["public"]) == []
    # The rendered script read offline states the same privileges.
    script = tmp_path / "all.sql"
    script.write_text(render(spec))
    assert diff(spec, read_sql([str(script)], schemas=["public"]), schemas=["public"]) == []


_DRIFTS = {
    "revoked grant": ("REVOKE INSERT ON public.accounts FROM authenticated",
                      [("grant", "table:public.accounts:authenticated", "changed", "privileges")]),
    "all revoked": ("REVOKE ALL ON public.accounts FROM service_role",
                    [("grant", "table:public.accounts:service_role", "missing", None)]),
    "extra grant": ("GRANT SELECT ON public.accounts TO anon",
                    [("grant", "table:public.accounts:anon", "unexpected", None)]),
    "column privilege": ("GRANT UPDATE (name) ON public.accounts TO reporting",
                         [("grant", "column:public.accounts.name:reporting", "unexpected", None)]),
    "execute to anon": ("GRANT EXECUTE ON FUNCTION public.validate_token(text) TO anon",
                        [("grant", "function:public.validate_token(text):anon", "unexpected", None)]),
    "grant option": ("REVOKE GRANT OPTION FOR SELECT ON public.audit_logs FROM reporting",
                     [("grant", "table:public.audit_logs:reporting", "changed", "grantable")]),
    "default privilege": ("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM anon",
                          [("default_privilege", "postgres:public:tables:anon", "missing", None)]),
    "changed owner": ("ALTER TABLE public.audit_logs OWNER TO reporting",
                      [("table", "public.audit_logs", "changed", "owner")]),
    "ignored role": ("GRANT ALL ON public.accounts TO supabase_admin", []),
}


@pytest.mark.parametrize("drift", list(_DRIFTS))
def test_each_drift_is_reported_exactly(
    drift: str, any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    dsn, spec = applied(any_pg, make_db, tmp_path)
    statement, expected = _DRIFTS[drift]
    if drift == "ignored role":
        run_sql(dsn, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_admin') "
                     "THEN CREATE ROLE supabase_admin; END IF; END $$;")
    run_sql(dsn, statement)
    found = diff(spec, introspect(dsn, schemas=["public"]), schemas=["public"])
    assert shapes(found) == expected
    if drift == "changed owner":
        assert (found[0].expected, found[0].actual) == ("postgres", "reporting")
    if drift == "revoked grant":
        assert found[0].expected == ["delete", "insert", "select", "update"]
        assert found[0].actual == ["delete", "select", "update"]


def test_a_new_table_under_supabase_defaults_is_no_difference(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    """Created by hand after the defaults were set, with no GRANT at all: the spec's compact
    form plus its stated default privileges say exactly what the table got."""
    dsn = make_db(stub=True, server=any_pg)
    run_sql(dsn, "CREATE TABLE public.later (id int)")
    text = """\
privileges: {preset: supabase, owner: postgres}
default_privileges:
  tables: {anon: all, authenticated: all, service_role: all}
  sequences: {anon: all, authenticated: all, service_role: all}
  functions: {anon: [execute], authenticated: [execute], service_role: [execute]}
grants:
  tables: {anon: all, authenticated: all, service_role: all}
tables:
  later: {columns: {id: int}}
"""
    spec = load_spec(spec_dir(tmp_path, text))
    live = introspect(dsn, schemas=["public"])
    assert live.grants["table:public.later:anon"].privileges  # the default privileges applied
    assert diff(spec, live, schemas=["public"]) == []
    # Without the compact form, the default privileges alone say the same.
    plain = load_spec(spec_dir(tmp_path, text.replace(
        "grants:\n  tables: {anon: all, authenticated: all, service_role: all}\n", "")))
    assert diff(plain, live, schemas=["public"]) == []
    # A spec that does not grant anon anything sees the default grant as unexpected.
    strict_text = text.replace("  tables: {anon: all, authenticated: all, service_role: all}\n",
                               "  tables: {authenticated: all, service_role: all}\n")
    strict = load_spec(spec_dir(tmp_path, strict_text))
    assert sorted(shapes(diff(strict, live, schemas=["public"]))) == [
        ("default_privilege", "postgres:public:tables:anon", "unexpected", None),
        ("grant", "table:public.later:anon", "unexpected", None)]


def _dump(server: Server, dsn: str, out: Path) -> Path:
    subprocess.run([server.tool("pg_dump"), "-f", str(out), "-d", dsn], check=True, capture_output=True)
    return out


_ZOO = """
DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reporting') THEN CREATE ROLE reporting; END IF;
             IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bob') THEN CREATE ROLE bob; END IF; END $$;
GRANT reporting TO bob;
CREATE SCHEMA app;
CREATE TABLE public.t (id int PRIMARY KEY, secret text);
GRANT SELECT (secret), UPDATE (secret) ON public.t TO reporting;
REVOKE DELETE ON public.t FROM authenticated;
GRANT SELECT ON public.t TO bob WITH GRANT OPTION;
GRANT SELECT ON public.t TO reporting GRANTED BY CURRENT_USER;
CREATE FUNCTION public.f(x int) RETURNS int LANGUAGE sql AS 'SELECT 1';
REVOKE ALL ON FUNCTION public.f(int) FROM PUBLIC;
CREATE PROCEDURE public.p() LANGUAGE sql AS 'SELECT 1';
GRANT EXECUTE ON PROCEDURE public.p() TO bob;
CREATE TYPE public.e AS ENUM ('a');
REVOKE USAGE ON TYPE public.e FROM PUBLIC;
CREATE SEQUENCE public.s;
CREATE VIEW public.v AS SELECT 1 AS x;
ALTER VIEW public.v OWNER TO bob;
ALTER FUNCTION public.f(int) OWNER TO bob;
GRANT USAGE, CREATE ON SCHEMA app TO bob;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO bob;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE bob IN SCHEMA public GRANT USAGE ON SEQUENCES TO anon;
CREATE TABLE app.a (id int);
CREATE FUNCTION app.g() RETURNS int LANGUAGE sql AS 'SELECT 2';
"""


def test_a_dump_read_offline_equals_live(any_pg: Server, make_db: Callable[..., str], tmp_path: Path) -> None:
    dsn = make_db(stub=True, server=any_pg)
    run_sql(dsn, _ZOO)
    live = introspect(dsn, schemas=["public", "app"])
    offline = read_dump(_dump(any_pg, dsn, tmp_path / "dump.sql"), schemas=["public", "app"])
    def plain(grants: dict[str, Any]) -> dict[str, list[str]]:
        # A dump's ALL does not say whether the server had MAINTAIN (PostgreSQL 17+).
        return {k: [p for p in g.privileges if p != "maintain"] for k, g in grants.items()}

    assert plain(offline.grants) == plain(live.grants)
    assert plain(offline.default_privileges) == plain(live.default_privileges)
    assert offline.owners == {k: v for k, v in live.owners.items() if k != "public"}
    assert diff(live, offline) == [] and diff(offline, live) == []
    # What the zoo set is really there: PUBLIC lost EXECUTE on app.g (global default).
    assert "function:app.g():public" not in live.grants
    assert live.grants["column:public.t.secret:reporting"].privileges == ["select", "update"]
    assert live.owners["public.v"] == "bob"


def test_scripts_with_granted_by_and_role_options_replay(tmp_path: Path) -> None:
    """pg_dump's and pg_dumpall's forms: GRANTED BY on object grants and role memberships with
    PostgreSQL 16's options; the grantor changes nothing a role can do."""
    script = tmp_path / "s.sql"
    script.write_text("""
CREATE ROLE bob;
GRANT anon TO bob WITH INHERIT TRUE, SET FALSE GRANTED BY postgres;
GRANT authenticated TO bob WITH ADMIN OPTION GRANTED BY postgres;
CREATE TABLE public.t (id int);
ALTER TABLE public.t OWNER TO postgres;
GRANT SELECT ON TABLE public.t TO anon GRANTED BY postgres;
GRANT SELECT, INSERT ON TABLE public.t TO anon GRANTED BY bob;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO anon;
""")
    catalog = read_sql([str(script)], schemas=["public"])
    assert catalog.grants["table:public.t:anon"].privileges == ["insert", "select"]
    assert catalog.owners == {"public.t": "postgres"}


def test_grants_restating_defaults_are_no_difference(any_pg: Server, make_db: Callable[..., str]) -> None:
    """A NULL ACL and an explicit one equal to the default read the same, whatever the order
    and grantor of the statements that made them."""
    first = make_db(server=any_pg)
    second = make_db(server=any_pg)
    run_sql(first, "CREATE TABLE public.t (id int); CREATE FUNCTION public.f() RETURNS int "
                   "LANGUAGE sql AS 'SELECT 1'; CREATE ROLE pgspec_r1; CREATE ROLE pgspec_r2;"
            if not _role_exists(any_pg, "pgspec_r1") else
            "CREATE TABLE public.t (id int); CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1';")
    run_sql(first, "GRANT SELECT ON public.t TO pgspec_r1; GRANT INSERT ON public.t TO pgspec_r2")
    run_sql(second, "CREATE TABLE public.t (id int); CREATE FUNCTION public.f() RETURNS int "
                    "LANGUAGE sql AS 'SELECT 1';"
                    "GRANT INSERT ON public.t TO pgspec_r2; GRANT SELECT ON public.t TO pgspec_r1;"
                    "GRANT EXECUTE ON FUNCTION public.f() TO PUBLIC;"
                    "REVOKE ALL ON public.t FROM CURRENT_USER; GRANT ALL ON public.t TO CURRENT_USER")
    a, b = introspect(first, schemas=["public"]), introspect(second, schemas=["public"])
    assert diff(a, b) == []


def _role_exists(server: Server, name: str) -> bool:
    import psycopg

    with psycopg.connect(server.dsn, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None


# --------------------------------------------------------------------------- the team's spec

ROOT = Path(__file__).resolve().parent.parent


def test_team_spec_states_who_may_touch_what(any_pg: Server, make_db: Callable[..., str]) -> None:
    """Built from the stand-in (Supabase's default privileges) and the committed init scripts:
    the database verifies clean, and the grants mean what schema/privileges.yaml says."""
    import psycopg

    from pgspec.render import SPLIT_FILES

    dsn = make_db(stub=True, server=any_pg)
    scripts = [ROOT / "supabase" / "migrations" / name for name in SPLIT_FILES]
    any_pg.psql_file(dsn, *scripts)
    spec = load_spec(str(ROOT / "schema"))
    assert len(spec.grants) > 100 and spec.default_privileges
    live = introspect(dsn, schemas=["public"])
    assert diff(spec, live, schemas=["public"]) == []
    # The scripts read offline say the same.
    assert diff(spec, read_sql([str(p) for p in scripts], schemas=["public"]), schemas=["public"]) == []

    def can(role: str, check: str, target: str, privilege: str) -> bool:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(f"SELECT {check}(%s, %s, %s)", (role, target, privilege)).fetchone()
            assert row is not None
            return bool(row[0])

    table = "has_table_privilege"
    function = "has_function_privilege"
    assert can("authenticated", table, "public.connections", "SELECT")
    assert can("authenticated", table, "public.users_active", "SELECT")
    assert not can("authenticated", table, "public.accounts", "SELECT")  # no RLS there
    assert not can("anon", table, "public.users", "SELECT")
    assert can("service_role", table, "public.accounts", "DELETE")
    for name in ("public.soft_delete(text, uuid, uuid)", "public.cleanup_soft_deleted_records(text, integer)",
                 "public.permanent_delete(text, uuid)", "public.validate_api_token(text, inet, text)"):
        assert not can("anon", function, name, "EXECUTE"), name
        assert not can("authenticated", function, name, "EXECUTE"), name
        assert can("service_role", function, name, "EXECUTE"), name
    assert can("authenticated", function, "public.is_account_member(uuid)", "EXECUTE")
    assert not can("anon", function, "public.is_account_member(uuid)", "EXECUTE")


def test_team_spec_reports_a_grant_supabase_would_add(any_pg: Server, make_db: Callable[..., str]) -> None:
    """The classic drift: someone hands anon a SECURITY-sensitive function by hand."""
    from pgspec.render import SPLIT_FILES

    dsn = make_db(stub=True, server=any_pg)
    any_pg.psql_file(dsn, *(ROOT / "supabase" / "migrations" / name for name in SPLIT_FILES))
    run_sql(dsn, "GRANT EXECUTE ON FUNCTION public.soft_delete(text, uuid, uuid) TO anon")
    spec = load_spec(str(ROOT / "schema"))
    assert shapes(diff(spec, introspect(dsn, schemas=["public"]), schemas=["public"])) == [
        ("grant", "function:public.soft_delete(text, uuid, uuid):anon", "unexpected", None)]
