"""A script's ALTER DEFAULT PRIVILEGES without FOR ROLE, compared with the database it built.

The statement belongs to the role running the script, which a script read offline cannot know;
the database states the real role. pgspec settles it from the other side (the owner of the
objects the script created, a spec's owner, the role it connected as) so a script verifies
clean against the database it built, says in a hint which role it took, keeps
``current_user`` with a hint when it cannot tell, and still reports every real difference. SET
ROLE in a script, GRANT ... TO CURRENT_USER and a spec's ``privileges.owner`` ride along. Every
database here is built by the script itself on PostgreSQL 18 and 15.
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgspec.catalog import Difference
from pgspec.diff import diff
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from pgspec.sources.sql import read_dump, read_sql
from tests.fix_db import Run
from tests.pgserver import Server


@pytest.fixture
def roles(any_pg: Server) -> dict[str, str]:
    """Unique role names (roles are cluster-wide and tests run side by side), created."""
    suffix = uuid.uuid4().hex[:8]
    names = {r: f"dpr_{r}_{suffix}" for r in ("reader", "writer", "alice", "bob")}
    with psycopg.connect(any_pg.dsn, autocommit=True) as conn:
        for name in names.values():
            with contextlib.suppress(psycopg.errors.DuplicateObject):
                conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(name)))
    return names


def _build(dsn: str, script: str, *, as_role: str | None = None) -> None:
    """Apply a script in one session, as psql would; ``as_role`` runs it as that role (the
    script itself does not say so, as when a migration tool connects as it)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if as_role is not None:
            dbname = conn.info.dbname
            conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(dbname), sql.Identifier(as_role)))
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(as_role)))
        conn.execute(script)  # type: ignore[call-overload]


def _script(tmp_path: Path, text: str, name: str = "migration.sql") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _connected(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT current_user").fetchone()
    assert row is not None
    return str(row[0])


def _both_ways(dsn: str, script: str, schemas: list[str]) -> tuple[list[Difference], list[Difference]]:
    live, replayed = introspect(dsn, schemas=schemas), read_sql(script, schemas=schemas)
    return diff(live, replayed, schemas=schemas), diff(replayed, live, schemas=schemas)


def test_a_script_without_for_role_equals_the_database_it_built(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path
) -> None:
    """pgschema's default_privilege cases: defaults set by the running role, tables created
    after them with the grants the server gives, and grants revoked from one of them."""
    text = f"""
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {roles['reader']};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO {roles['writer']}
    WITH GRANT OPTION;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {roles['reader']};
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON TYPES TO {roles['reader']};
CREATE TABLE secrets (id serial PRIMARY KEY, data text);
REVOKE SELECT ON secrets FROM {roles['reader']};
CREATE TABLE readonly_data (id int PRIMARY KEY);
REVOKE INSERT, UPDATE ON readonly_data FROM {roles['writer']};
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TYPE mood AS ENUM ('ok');
"""
    dsn = make_db(server=any_pg)
    _build(dsn, text)
    script = _script(tmp_path, text)
    assert _both_ways(dsn, script, ["public"]) == ([], [])

    # The script's own catalog: the tables got the default privileges at creation.
    replayed = read_sql(script, schemas=["public"])
    reader, writer = roles["reader"], roles["writer"]
    assert f"table:public.secrets:{reader}" not in replayed.grants
    assert replayed.grants[f"table:public.readonly_data:{reader}"].privileges == ["select"]
    assert replayed.grants[f"table:public.readonly_data:{writer}"].privileges == ["select"]
    assert replayed.grants[f"table:public.secrets:{writer}"].grantable == ["insert", "select", "update"]
    assert replayed.grants[f"sequence:public.secrets_id_seq:{reader}"].privileges == ["usage"]
    assert "function:public.f():public" not in replayed.grants
    assert replayed.grants[f"type:public.mood:{reader}"].privileges == ["usage"]
    # The database names the role that ran the script; the script cannot.
    runner = _connected(dsn)
    live = introspect(dsn, schemas=["public"])
    assert f"{runner}:public:tables:{reader}" in live.default_privileges
    assert f"current_user:public:tables:{reader}" in replayed.default_privileges
    assert live.privileges is not None and live.privileges.connected_role == runner


def test_only_default_privileges_fall_back_to_the_connected_role(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path
) -> None:
    """A script that creates nothing but default privileges: no owner tells who ran it, the
    role pgspec connected as does (pgschema add_function_privilege)."""
    text = f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO {roles['reader']};\n"
    dsn = make_db(server=any_pg)
    _build(dsn, text)
    assert _both_ways(dsn, _script(tmp_path, text), ["public"]) == ([], [])


def test_the_owner_of_the_created_objects_wins_over_the_connected_role(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path
) -> None:
    """A migration tool connected as alice ran the script; pgspec reads as the superuser. The
    objects the script created are alice's, so its defaults are alice's."""
    alice, reader = roles["alice"], roles["reader"]
    text = f"""
CREATE SCHEMA app;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {reader};
CREATE TABLE app.orders (id int);
"""
    dsn = make_db(server=any_pg)
    _build(dsn, text, as_role=alice)
    live = introspect(dsn, schemas=["app"])
    assert f"{alice}:app:tables:{reader}" in live.default_privileges
    assert live.privileges is not None and live.privileges.connected_role != alice
    assert _both_ways(dsn, _script(tmp_path, text), ["app"]) == ([], [])


def test_a_real_difference_is_reported_under_the_role_taken_with_a_hint(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path
) -> None:
    """Resolving the role hides nothing: a default privilege the database lost is reported,
    named with the role the script ran as, and the hint says why that role."""
    reader, writer = roles["reader"], roles["writer"]
    text = f"""
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {reader};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {writer};
CREATE TABLE t (id int);
"""
    dsn = make_db(server=any_pg)
    _build(dsn, text)
    _build(dsn, f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM {reader};"
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT INSERT ON TABLES TO {writer};")
    runner = _connected(dsn)
    found = diff(read_sql(_script(tmp_path, text), schemas=["public"]), introspect(dsn, schemas=["public"]),
                 schemas=["public"])
    assert [(d.name, d.change, d.attribute, d.expected, d.actual) for d in found] == [
        (f"{runner}:public:tables:{reader}", "missing", None, ["select"], None),
        (f"{runner}:public:tables:{writer}", "changed", "privileges", ["select"], ["insert", "select"]),
    ]
    for difference in found:
        assert difference.hint is not None
        assert f"taken as role {runner}" in difference.hint
        assert "owner of public.t" in difference.hint


def test_when_no_side_tells_the_role_it_stays_current_user_with_a_hint(tmp_path: Path) -> None:
    """Against a dump read with --no-owner (no owners, no connection), the running role cannot
    be told: the records are compared as they are, and each difference says why."""
    ours = _script(tmp_path, "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reader;\n"
                             "CREATE TABLE t (id int);\n")
    dump = _script(tmp_path, "ALTER DEFAULT PRIVILEGES FOR ROLE deployer IN SCHEMA public "
                             "GRANT SELECT ON TABLES TO reader;\nCREATE TABLE t (id int);\n", "dump.sql")
    found = [d for d in diff(read_sql(dump), read_sql(ours)) if d.object_type == "default_privilege"]
    assert {(d.name, d.change) for d in found} == {
        ("deployer:public:tables:reader", "missing"),
        ("current_user:public:tables:reader", "unexpected"),
    }
    for difference in found:
        assert difference.hint is not None
        assert "could not tell which role ran" in difference.hint
        assert "migration.sql" in difference.hint


def test_objects_with_several_owners_leave_the_role_open(tmp_path: Path) -> None:
    """The created objects belong to two roles on the other side: either may have run it."""
    ours = _script(tmp_path, "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reader;\n"
                             "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n")
    theirs = _script(tmp_path, "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n"
                               "ALTER TABLE a OWNER TO alice;\nALTER TABLE b OWNER TO bob;\n"
                               "ALTER DEFAULT PRIVILEGES FOR ROLE alice IN SCHEMA public "
                               "GRANT SELECT ON TABLES TO reader;\n", "theirs.sql")
    found = diff(read_sql(theirs), read_sql(ours))
    names = {(d.name, d.change) for d in found if d.object_type == "default_privilege"}
    assert names == {("alice:public:tables:reader", "missing"), ("current_user:public:tables:reader", "unexpected")}
    hints = {d.hint for d in found if d.object_type == "default_privilege"}
    assert len(hints) == 1 and "several owners" in next(iter(hints)) and "'alice', 'bob'" in next(iter(hints))


def test_the_text_report_shows_the_hint(tmp_path: Path, run: Run) -> None:
    """``pgspec diff`` prints the hint under a missing or unexpected default privilege."""
    ours = _script(tmp_path, "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reader;\n")
    dump = _script(tmp_path, "ALTER DEFAULT PRIVILEGES FOR ROLE deployer IN SCHEMA public "
                             "GRANT SELECT ON TABLES TO reader;\n", "dump.sql")
    code, out, _ = run("diff", dump, ours)
    assert code == 1
    assert "default privilege current_user:public:tables:reader: unexpected\n  hint: pgspec could not tell" in out
    assert "default privilege deployer:public:tables:reader: missing\n  hint: pgspec could not tell" in out


def test_two_scripts_share_their_unknown_runner(tmp_path: Path) -> None:
    """Both sides without FOR ROLE mean the same running role: equal, no guess needed."""
    text = "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reader;\nCREATE TABLE t (id int);\n"
    assert diff(read_sql(_script(tmp_path, text)), read_sql(_script(tmp_path, text, "other.sql"))) == []


def test_set_role_in_a_script_creates_and_sets_defaults_as_that_role(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path
) -> None:
    """SET ROLE: what follows is that role's (its defaults, its objects with its defaults'
    grants); RESET ROLE goes back to the running role, whose tables do not get them."""
    alice, reader, writer = roles["alice"], roles["reader"], roles["writer"]
    text = f"""
CREATE SCHEMA app;
GRANT USAGE, CREATE ON SCHEMA app TO {alice};
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT INSERT ON TABLES TO {writer};
SET ROLE {alice};
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {reader};
CREATE TABLE app.mine (id serial);
GRANT UPDATE ON app.mine TO CURRENT_USER;
RESET ROLE;
CREATE TABLE app.theirs (id int);
ALTER TABLE app.mine ADD COLUMN n serial;
"""
    dsn = make_db(server=any_pg)
    _build(dsn, text)
    script = _script(tmp_path, text)
    replayed = read_sql(script, schemas=["app"])
    assert replayed.owners == {"app.mine": alice, "app.mine_id_seq": alice, "app.mine_n_seq": alice}
    assert replayed.grants[f"table:app.mine:{reader}"].privileges == ["select"]
    assert f"table:app.mine:{writer}" not in replayed.grants
    assert replayed.grants[f"table:app.theirs:{writer}"].privileges == ["insert"]
    assert f"table:app.theirs:{reader}" not in replayed.grants
    assert f"{alice}:app:tables:{reader}" in replayed.default_privileges
    assert _both_ways(dsn, script, ["app"]) == ([], [])


def test_grants_to_current_user_are_the_running_role(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path
) -> None:
    """GRANT ... TO CURRENT_USER on an object the running role owns is its own entry (never
    listed); on one it gave away, a grant to the running role, which the database names."""
    alice = roles["alice"]
    text = f"""
CREATE TABLE kept (id int);
GRANT SELECT ON kept TO CURRENT_USER;
CREATE TABLE given (id int);
ALTER TABLE given OWNER TO {alice};
GRANT SELECT, INSERT ON given TO CURRENT_USER;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO CURRENT_USER;
"""
    dsn = make_db(server=any_pg)
    _build(dsn, text)
    script = _script(tmp_path, text)
    replayed = read_sql(script, schemas=["public"])
    # PostgreSQL reserves the name, so no real role is called current_user (quoted in keys).
    assert 'table:public.kept:"current_user"' not in replayed.grants
    assert replayed.grants['table:public.given:"current_user"'].privileges == ["insert", "select"]
    assert not replayed.default_privileges
    runner = _connected(dsn)
    assert introspect(dsn, schemas=["public"]).grants[f"table:public.given:{runner}"].privileges == [
        "insert", "select"]
    assert _both_ways(dsn, script, ["public"]) == ([], [])


def test_owner_to_current_user_gives_the_object_back_to_the_running_role(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path
) -> None:
    alice, reader = roles["alice"], roles["reader"]
    text = f"""
CREATE TABLE t (id int);
ALTER TABLE t OWNER TO {alice};
GRANT SELECT ON t TO {reader};
ALTER TABLE t OWNER TO CURRENT_USER;
"""
    dsn = make_db(server=any_pg)
    _build(dsn, text)
    script = _script(tmp_path, text)
    assert read_sql(script, schemas=["public"]).owners == {}
    assert _both_ways(dsn, script, ["public"]) == ([], [])


SPEC = """\
privileges:
  roles: [{reader}]
  {owner_line}
default_privileges:
  tables: {{{reader}: [select]}}
tables:
  t:
    columns:
      id: int
"""


@pytest.mark.parametrize("owned", [True, False], ids=["spec-owner", "no-owner"])
def test_a_spec_compares_with_the_script_and_the_database(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path, owned: bool
) -> None:
    """A spec naming its owner states the role itself; one that does not has its unknown role
    settled like a script's. Either way it equals the script and the database it built."""
    reader = roles["reader"]
    text = f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {reader};\nCREATE TABLE t (id int);\n"
    dsn = make_db(server=any_pg)
    _build(dsn, text)
    runner = _connected(dsn)
    spec_dir = tmp_path / "schema"
    spec_dir.mkdir()
    owner_line = f"owner: {runner}" if owned else ""
    (spec_dir / "public.yaml").write_text(SPEC.format(reader=reader, owner_line=owner_line))
    spec = load_spec(spec_dir)
    expected_role = runner if owned else None
    assert {r.role for r in spec.default_privileges.values()} == {expected_role}
    live = introspect(dsn, schemas=["public"])
    script = read_sql(_script(tmp_path, text), schemas=["public"])
    assert diff(spec, live, schemas=["public"]) == []
    assert diff(live, spec, schemas=["public"]) == []
    assert diff(spec, script, schemas=["public"]) == []
    assert diff(script, spec, schemas=["public"]) == []


def test_a_dump_made_with_set_session_authorization_reads_as_live(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path
) -> None:
    """``pg_dump --use-set-session-authorization`` creates each object as its owner instead of
    ALTER ... OWNER TO: the owners, and what their default privileges gave, come from that."""
    alice, reader = roles["alice"], roles["reader"]
    dsn = make_db(server=any_pg)
    _build(dsn, f"""
CREATE SCHEMA app;
GRANT USAGE, CREATE ON SCHEMA app TO {alice};
SET ROLE {alice};
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {reader};
CREATE TABLE app.mine (id serial);
CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
RESET ROLE;
CREATE TABLE app.theirs (id int);
""")
    out = tmp_path / "dump.sql"
    subprocess.run([any_pg.tool("pg_dump"), "--schema-only", "--use-set-session-authorization",
                    "-f", str(out), "-d", dsn], check=True, capture_output=True)
    assert "SET SESSION AUTHORIZATION" in out.read_text()
    live, offline = introspect(dsn, schemas=["app"]), read_dump(out, schemas=["app"])
    assert offline.owners == live.owners
    assert offline.owners["app.mine"] == alice
    assert diff(live, offline) == [] and diff(offline, live) == []


def test_a_serial_sequence_follows_its_table_to_a_new_owner(
    any_pg: Server, make_db: Callable[..., str], roles: dict[str, str], tmp_path: Path
) -> None:
    """ALTER TABLE ... OWNER TO takes the serial's sequence along: the sequence is no evidence
    that the new owner ran the script (the only object left would have said alice)."""
    alice, reader = roles["alice"], roles["reader"]
    text = f"""
CREATE TABLE t (id serial);
ALTER TABLE t OWNER TO {alice};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {reader};
"""
    dsn = make_db(server=any_pg)
    _build(dsn, text)
    script = _script(tmp_path, text)
    assert read_sql(script, schemas=["public"]).owners == {"public.t": alice, "public.t_id_seq": alice}
    assert _both_ways(dsn, script, ["public"]) == ([], [])
