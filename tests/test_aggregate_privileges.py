"""Owners and grants of aggregates, as pgspec sees them from every source.

PostgreSQL grants an aggregate's EXECUTE with ``GRANT ... ON FUNCTION agg(int)`` (or ON ALL
FUNCTIONS IN SCHEMA, or through default privileges ON FUNCTIONS), and changes its owner with
``ALTER AGGREGATE`` (or ALTER FUNCTION / ROUTINE). pgspec reports them as grants on the
aggregate (``aggregate:public.cat(text):reader``) and as the aggregate's owner. A script that
does all of this is read live, offline, and from its pg_dump: all three agree. A spec stating
them renders, applies and verifies clean, and each drift is reported naming the aggregate.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.catalog import Catalog
from pgspec.diff import diff
from pgspec.errors import SpecError
from pgspec.render import render
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from pgspec.sources.sql import read_dump, read_sql
from tests.fix_db import Run, run_sql
from tests.pgserver import Server

SCHEMAS = ["public", "app"]

#: Roles are cluster-wide: made only where missing, so tests can share a server.
ROLES = """\
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'agg_owner') THEN CREATE ROLE agg_owner; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'agg_reader') THEN CREATE ROLE agg_reader; END IF;
END $$;
"""

SCRIPT = """\
CREATE SCHEMA app;
CREATE FUNCTION public._cat(text, text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT $1 || ',' || $2 $$;
CREATE FUNCTION app.helper() RETURNS int LANGUAGE sql AS 'SELECT 1';
-- EXECUTE revoked from PUBLIC and given to one role, through ON FUNCTION.
CREATE AGGREGATE public.cat(text) (SFUNC = public._cat, STYPE = text);
REVOKE EXECUTE ON FUNCTION public.cat(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.cat(text) TO agg_reader;
-- Left at the default (NULL proacl): EXECUTE to PUBLIC.
CREATE AGGREGATE public.untouched(int4) (SFUNC = int4pl, STYPE = int4);
-- An owner changed three ways; ON FUNCTION without arguments names the one aggregate.
CREATE AGGREGATE app.cnt(*) (SFUNC = int8inc, STYPE = int8, INITCOND = 0);
ALTER AGGREGATE app.cnt(*) OWNER TO agg_owner;
SET search_path = app, public;
CREATE AGGREGATE pct(float8 ORDER BY float8) (SFUNC = ordered_set_transition, STYPE = internal,
    FINALFUNC = percentile_disc_final, FINALFUNC_EXTRA);
ALTER FUNCTION pct(float8, float8) OWNER TO agg_owner;
CREATE AGGREGATE rnk(VARIADIC "any" ORDER BY VARIADIC "any") (
    SFUNC = ordered_set_transition_multi, STYPE = internal, FINALFUNC = rank_final,
    FINALFUNC_EXTRA, HYPOTHETICAL);
ALTER ROUTINE rnk("any") OWNER TO agg_owner;
GRANT EXECUTE ON FUNCTION rnk TO agg_reader WITH GRANT OPTION;
RESET search_path;
-- ON ALL FUNCTIONS IN SCHEMA reaches aggregates (PostgreSQL leaves out only procedures).
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app TO agg_reader;
-- Default privileges ON FUNCTIONS apply to aggregates created later.
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO agg_owner;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
CREATE AGGREGATE app.later(int4) (SFUNC = int4pl, STYPE = int4);
-- Dropped and made again: the new one has the ACL of its own creation, not the old REVOKE.
CREATE AGGREGATE public.redo(int4) (SFUNC = int4pl, STYPE = int4);
ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
REVOKE ALL ON FUNCTION public.redo(int4) FROM PUBLIC;
DROP AGGREGATE public.redo(int4);
CREATE AGGREGATE public.redo(int4) (SFUNC = int4pl, STYPE = int4);
"""

#: The effective grants the script leaves on its aggregates (the owner's own never listed).
AGGREGATE_GRANTS = {
    "aggregate:app.cnt():agg_reader": ["execute"],
    "aggregate:app.cnt():public": ["execute"],
    "aggregate:app.later(integer):agg_owner": ["execute"],
    "aggregate:app.pct(double precision, double precision):agg_reader": ["execute"],
    "aggregate:app.pct(double precision, double precision):public": ["execute"],
    'aggregate:app.rnk("any"):agg_reader': ["execute"],
    'aggregate:app.rnk("any"):public': ["execute"],
    "aggregate:public.cat(text):agg_reader": ["execute"],
    "aggregate:public.redo(integer):public": ["execute"],
    "aggregate:public.untouched(integer):public": ["execute"],
}
AGGREGATE_OWNERS = {
    "app.cnt()": "agg_owner",
    "app.later(integer)": "postgres",
    "app.pct(double precision, double precision)": "agg_owner",
    'app.rnk("any")': "agg_owner",
    "public.cat(text)": "postgres",
    "public.redo(integer)": "postgres",
    "public.untouched(integer)": "postgres",
}


def _aggregate_grants(catalog: Catalog) -> dict[str, list[str]]:
    return {k: g.privileges for k, g in catalog.grants.items() if g.on == "aggregate"}


def _aggregate_owners(catalog: Catalog) -> dict[str, str]:
    return {k: v for k, v in catalog.owners.items() if k in catalog.aggregates}


def _shapes(catalog_a: Catalog, catalog_b: Catalog) -> list[tuple[str, str, str, str | None]]:
    return [(d.object_type, d.name, d.change, d.attribute) for d in diff(catalog_a, catalog_b)]


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "aggregates.sql"
    path.write_text(SCRIPT)
    return path


def test_live_reader_reports_owners_and_grants_of_aggregates(any_pg: Server, make_db: Callable[..., str]) -> None:
    dsn = make_db(server=any_pg)
    run_sql(dsn, ROLES)
    run_sql(dsn, SCRIPT)
    live = introspect(dsn, schemas=SCHEMAS)
    assert _aggregate_grants(live) == AGGREGATE_GRANTS
    assert _aggregate_owners(live) == AGGREGATE_OWNERS
    assert live.grants['aggregate:app.rnk("any"):agg_reader'].grantable == ["execute"]
    # Granted ON FUNCTION, reported as what it is on.
    assert "function:public.cat(text):agg_reader" not in live.grants


def test_script_and_dump_read_offline_equal_the_database(
    any_pg: Server, make_db: Callable[..., str], script: Path, tmp_path: Path,
) -> None:
    dsn = make_db(server=any_pg)
    run_sql(dsn, ROLES)
    any_pg.psql_file(dsn, script)
    live = introspect(dsn, schemas=SCHEMAS)
    offline = read_sql([script], schemas=SCHEMAS)
    assert _aggregate_grants(offline) == AGGREGATE_GRANTS
    assert offline.grants == live.grants
    assert _aggregate_owners(offline) == {k: v for k, v in AGGREGATE_OWNERS.items() if v != "postgres"}
    # A script runs as a role it does not name: its default privileges are "current_user"'s,
    # the server's are postgres's. Everything else is the same.
    assert [d for d in _shapes(offline, live) if d[0] != "default_privilege"] == []
    out = tmp_path / "dump.sql"
    subprocess.run([any_pg.tool("pg_dump"), "-f", str(out), "-d", dsn], check=True, capture_output=True)
    text = out.read_text()
    assert "ALTER AGGREGATE app.cnt(*) OWNER TO agg_owner;" in text
    assert "GRANT ALL ON FUNCTION public.cat(text) TO agg_reader;" in text
    dumped = read_dump(out, schemas=SCHEMAS)
    assert dumped.grants == live.grants
    assert dumped.owners == {k: v for k, v in live.owners.items() if k != "public"}
    assert _shapes(dumped, live) == [] and _shapes(live, dumped) == []


def test_a_default_acl_equals_an_explicit_one_saying_the_same(
    any_pg: Server, make_db: Callable[..., str],
) -> None:
    """NULL proacl (EXECUTE to PUBLIC) against an ACL written out by GRANT/REVOKE pairs."""
    create = "CREATE AGGREGATE public.s(int4) (SFUNC = int4pl, STYPE = int4);"
    plain, explicit = make_db(server=any_pg), make_db(server=any_pg)
    run_sql(plain, create)
    run_sql(explicit, create + "REVOKE ALL ON FUNCTION public.s(int4) FROM PUBLIC;"
                               "GRANT EXECUTE ON FUNCTION public.s(int4) TO PUBLIC;")
    with_acl = introspect(explicit)
    assert with_acl.grants["aggregate:public.s(integer):public"].privileges == ["execute"]
    assert diff(introspect(plain), with_acl) == []


SPEC = """\
schema: public
privileges:
  owner: postgres
  roles: [agg_owner, agg_reader]
default_privileges:
  functions: {agg_reader: [execute]}
grants:
  functions:
    public: none
    except: [open_cat]
functions:
  _cat:
    arguments: [text, text]
    returns: text
    language: sql
    volatility: immutable
    body: SELECT $1 || ',' || $2
aggregates:
  cat:
    arguments: [text]
    sfunc: _cat
    stype: text
    grants: {agg_reader: none, agg_owner: [execute]}
  open_cat:
    - arguments: [text]
      sfunc: _cat
      stype: text
    - arguments: [integer]
      sfunc: int4pl
      stype: integer
  cnt:
    sfunc: int8inc
    stype: bigint
    initcond: 0
    owner: agg_owner
    grants: {agg_reader: {privileges: [execute], grant_option: true}}
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "public.yaml").write_text(SPEC)
    return folder


def _applied(make_db: Callable[..., str], spec: Catalog, server: Server | None = None) -> str:
    dsn = make_db(server=server) if server is not None else make_db()
    run_sql(dsn, ROLES)
    run_sql(dsn, render(spec, owners=True))
    return dsn


def test_spec_states_grants_and_owners_of_aggregates(spec_dir: Path) -> None:
    spec = load_spec(spec_dir)
    assert _aggregate_grants(spec) == {
        "aggregate:public.cat(text):agg_owner": ["execute"],
        # The file's grants on functions cover aggregates; except: names one.
        "aggregate:public.cnt():agg_reader": ["execute"],
        "aggregate:public.open_cat(integer):agg_reader": ["execute"],
        "aggregate:public.open_cat(integer):public": ["execute"],
        "aggregate:public.open_cat(text):agg_reader": ["execute"],
        "aggregate:public.open_cat(text):public": ["execute"],
    }
    assert spec.grants["aggregate:public.cnt():agg_reader"].grantable == ["execute"]
    assert _aggregate_owners(spec) == {"public.cat(text)": "postgres", "public.cnt()": "agg_owner",
                                       "public.open_cat(integer)": "postgres",
                                       "public.open_cat(text)": "postgres"}


def test_rendered_spec_applies_and_verifies_clean(
    any_pg: Server, spec_dir: Path, make_db: Callable[..., str], run: Run, tmp_path: Path,
) -> None:
    spec = load_spec(spec_dir)
    ddl = render(spec, owners=True)
    # PostgreSQL has no GRANT ON AGGREGATE; a zero-argument aggregate is cnt() there, cnt(*) in
    # ALTER AGGREGATE.
    assert "GRANT ALL ON FUNCTION public.cat(text) TO agg_owner;" in ddl
    assert "ALTER AGGREGATE public.cnt(*) OWNER TO agg_owner;" in ddl
    assert ddl.index("CREATE AGGREGATE public.cat(text)") < ddl.index("ON FUNCTION public.cat(text)")
    dsn = _applied(make_db, spec, any_pg)
    code, out, err = run("verify", "--spec", spec_dir, "--dsn", dsn)
    assert code == 0, out + err
    # The rendered script read offline says the same.
    path = tmp_path / "rendered.sql"
    path.write_text(ddl)
    assert _shapes(spec, read_sql([path])) == []


#: (statement run against the applied spec, the differences reported).
DRIFTS = {
    "grant added": ("GRANT EXECUTE ON FUNCTION public.cat(text) TO agg_reader",
                    [("grant", "aggregate:public.cat(text):agg_reader", "unexpected", None)]),
    "grant revoked": ("REVOKE EXECUTE ON FUNCTION public.cat(text) FROM agg_owner",
                      [("grant", "aggregate:public.cat(text):agg_owner", "missing", None)]),
    "public regains execute": ("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO PUBLIC",
                               [("grant", "aggregate:public.cat(text):public", "unexpected", None),
                                ("grant", "aggregate:public.cnt():public", "unexpected", None),
                                ("grant", "function:public._cat(text, text):public", "unexpected", None)]),
    "grant option taken": ("REVOKE GRANT OPTION FOR EXECUTE ON FUNCTION public.cnt() FROM agg_reader",
                           [("grant", "aggregate:public.cnt():agg_reader", "changed", "grantable")]),
    # The new owner's EXECUTE is now the owner's own: only the owner is reported.
    "owner changed": ("ALTER AGGREGATE public.cat(text) OWNER TO agg_owner",
                      [("aggregate", "public.cat(text)", "changed", "owner")]),
}


@pytest.mark.parametrize("drift", list(DRIFTS))
def test_each_drift_is_reported_naming_the_aggregate(
    drift: str, spec_dir: Path, make_db: Callable[..., str], run: Run,
) -> None:
    spec = load_spec(spec_dir)
    dsn = _applied(make_db, spec)
    statement, expected = DRIFTS[drift]
    run_sql(dsn, statement)
    assert _shapes(spec, introspect(dsn)) == expected
    code, out, _ = run("verify", "--spec", spec_dir, "--dsn", dsn)
    assert code == 1
    assert expected[0][1] in out


def test_diff_of_two_databases_names_the_aggregate(
    spec_dir: Path, make_db: Callable[..., str], run: Run,
) -> None:
    spec = load_spec(spec_dir)
    first, second = _applied(make_db, spec), _applied(make_db, spec)
    run_sql(second, "REVOKE EXECUTE ON FUNCTION public.open_cat(integer) FROM PUBLIC;"
                    "ALTER AGGREGATE public.cnt(*) OWNER TO postgres")
    code, out, err = run("diff", first, second, "--format", "json")
    assert code == 1, err
    assert '"name": "aggregate:public.open_cat(integer):public"' in out
    assert '"object_type": "aggregate"' in out and '"name": "public.cnt()"' in out


def test_inspect_writes_them_back(
    spec_dir: Path, make_db: Callable[..., str], run: Run, tmp_path: Path,
) -> None:
    spec = load_spec(spec_dir)
    dsn = _applied(make_db, spec)
    # Overloads of one name with different grants go on their own entries.
    run_sql(dsn, "REVOKE EXECUTE ON FUNCTION public.open_cat(text) FROM agg_reader")
    live = introspect(dsn)
    code, _, err = run("inspect", dsn, "-o", tmp_path / "inspected")
    assert code == 0, err
    written = load_spec(tmp_path / "inspected")
    assert _aggregate_grants(written) == _aggregate_grants(live)
    assert _shapes(live, written) == []
    assert _shapes(written, live) == []
    # Read offline from a script, inspected, and loaded again: the same.
    script = tmp_path / "script.sql"
    script.write_text(ROLES + SCRIPT)
    offline = read_sql([script], schemas=SCHEMAS)
    code, _, err = run("inspect", script, "-o", tmp_path / "from_script", "--schema", "public", "--schema", "app")
    assert code == 0, err
    again = load_spec(tmp_path / "from_script")
    # (The script names no role for its default privileges; the spec gives them its owner.)
    assert [d for d in _shapes(offline, again) if d[0] != "default_privilege"] == []
    assert [d for d in _shapes(again, offline) if d[0] != "default_privilege"] == []
    assert again.grants["aggregate:public.cat(text):agg_reader"].privileges == ["execute"]
    assert "aggregate:public.cat(text):public" not in again.grants


@pytest.mark.parametrize(("entry", "message", "line"), [
    ("  a: {arguments: [int], sfunc: int4pl, stype: int, grants: {public: [select]}}\n",
     "'select' is not a privilege of an aggregate (expected all, execute)", 3),
    ("  a: {arguments: [int], sfunc: int4pl, stype: int, grants: {nobody: [execute]}}\n",
     "unknown role 'nobody'", 3),
    ("  a:\n    arguments: [int]\n    sfunc: int4pl\n    stype: int\n    owner: [x]\n",
     "owner", 7),
])
def test_spec_mistakes_are_reported_at_their_line(entry: str, message: str, line: int, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("privileges: {roles: [agg_reader]}\naggregates:\n" + entry)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    text = str(caught.value)
    assert message in text
    assert f"{path}:{line}" in text
