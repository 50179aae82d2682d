"""pgspec inspect: any source back to a hand-style YAML spec that round-trips exactly.

The invariants (DESIGN.md): a spec produced by ``pgspec inspect`` compares equal to its source,
and rendering it into a fresh database gives a database ``pgspec diff`` finds equal to the
original. Traits are used only where expanding them reproduces the table exactly.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pgspec.cli import main
from pgspec.diff import diff
from pgspec.errors import SourceError
from pgspec.inspect import inspect_catalog, inspect_source, write_spec
from pgspec.inspect.shorten import is_bare_scalar, short_expression, short_type
from pgspec.normalize import canonical_expression
from pgspec.render import SPLIT_FILES, render
from pgspec.sources import open_comparison
from pgspec.sources.spec import load_spec
from tests.fix_db import ROOT, run_sql

MIGRATIONS = [ROOT / "supabase" / "migrations" / name for name in SPLIT_FILES]
BACKUPS = sorted(glob.glob(str(ROOT / "fixtures" / "*.backup")))


def _seed(make_db: Callable[..., str]) -> str:
    """The team's database: the Supabase stand-in plus the three init scripts."""
    dsn = make_db(stub=True)
    for path in MIGRATIONS:
        run_sql(dsn, path.read_text())
    return dsn


def _differences(expected: str, actual: str) -> list:
    found = open_comparison(expected, actual)
    return diff(found.expected, found.actual, schemas=found.schemas)


# --------------------------------------------------------------------------- the seed database


def test_seed_database_round_trips_and_reads_like_schema(make_db: Callable[..., str], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    original = _seed(make_db)
    out = tmp_path / "spec"
    assert main(["inspect", original, "-o", str(out)]) == 0
    assert capsys.readouterr().err == ""  # no notes: everything was written, the self-check passed
    files = sorted(p.name for p in out.iterdir())
    assert files == ["00_shared.yaml", "public.yaml"]

    # load_spec(inspect(X)) diffs empty against X
    assert main(["diff", str(out), original]) == 0

    # Close to schema/: the team's traits come back, with their parameters.
    public = yaml.safe_load((out / "public.yaml").read_text())
    shared = yaml.safe_load((out / "00_shared.yaml").read_text())
    accounts = public["tables"]["accounts"]
    assert accounts["traits"] == ["audit", {"soft_delete": {"active_index": ["name"]}}]
    assert "created_at" not in accounts["columns"] and "deleted_at" not in accounts["columns"]
    assert "accounts_active" not in public.get("views", {})
    assert set(shared["traits"]) == {"audit", "soft_delete"}
    assert shared["external"]["tables"] == ["auth.users"]
    # Shortest faithful forms, as schema/tenancy.yaml writes them.
    assert accounts["columns"]["account_type"]["check"] == "account_type IN ('individual', 'organization')"
    assert accounts["columns"]["is_active"]["default"] is True
    assert accounts["columns"]["name"] == {"type": "varchar(255)", "not_null": True}
    assert accounts["columns"]["id"] == {"type": "uuid", "primary_key": True, "default": "gen_random_uuid()"}
    assert accounts["columns"]["owner_id"]["references"] == {"table": "users", "columns": ["id"],
                                                             "on_delete": "set null"}
    text = (out / "public.yaml").read_text()
    assert "body: |\n" in text  # bodies as block strings

    # Round trip: render into a fresh database, then pgspec diff ORIGINAL FRESH exits 0.
    fresh = make_db(stub=True)
    run_sql(fresh, render(load_spec(out)))
    assert main(["diff", original, fresh]) == 0


def test_stdout_without_o_is_the_same_spec(make_db: Callable[..., str], capsys: pytest.CaptureFixture[str]) -> None:
    dsn = make_db()
    run_sql(dsn, "CREATE SCHEMA app; CREATE TABLE app.t (id integer PRIMARY KEY);"
                 "CREATE TABLE public.u (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY)")
    assert main(["inspect", dsn]) == 0
    out = capsys.readouterr().out
    documents = out.split("---\n")
    assert [d.splitlines()[0] for d in documents] == ["# file: 00_shared.yaml", "# file: app.yaml",
                                                      "# file: public.yaml"]
    assert yaml.safe_load(documents[0])["privileges"] == {"owner": "postgres"}
    assert yaml.safe_load(documents[1])["tables"] == {"t": {"columns": {"id": {"type": "integer", "primary_key": True}}}}
    assert yaml.safe_load(documents[2])["tables"]["u"]["columns"]["id"] == {
        "type": "bigint", "primary_key": True, "identity": "always"}


def test_unwritable_directory_is_one_line_and_exit_2(db: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["inspect", db, "-o", str(blocker / "spec")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the spec to" in err


def test_failed_write_leaves_no_temporary_files(db: str, tmp_path: Path) -> None:
    run_sql(db, "CREATE TABLE t (id integer)")
    result = inspect_source(db)
    (tmp_path / "public.yaml").mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(Exception, match="cannot write the spec"):
        write_spec(result, tmp_path)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- shapes people write


def test_serials_inline_keys_and_short_defaults(make_db: Callable[..., str], tmp_path: Path) -> None:
    dsn = make_db()
    run_sql(dsn, """
        CREATE TYPE mood AS ENUM ('ok', 'no');
        CREATE TABLE parent (id serial PRIMARY KEY, code varchar(10) UNIQUE);
        CREATE TABLE child (
            id bigserial PRIMARY KEY,
            parent_id integer NOT NULL REFERENCES parent(id),
            status varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'gone')),
            price numeric(10,2) DEFAULT 0.50,
            doc jsonb DEFAULT '{}'::jsonb,
            feeling mood DEFAULT 'no',
            at timestamptz DEFAULT now(),
            "Mixed" text
        );
        CREATE INDEX child_lower ON child (lower(status) DESC);
        COMMENT ON COLUMN child.status IS 'lifecycle';
    """)
    result = inspect_source(dsn)
    assert result.notes == []
    data = yaml.safe_load(result.files["public.yaml"])
    child = data["tables"]["child"]["columns"]
    assert data["tables"]["parent"]["columns"] == {
        "id": {"type": "serial", "primary_key": True}, "code": {"type": "varchar(10)", "unique": True}}
    assert "sequences" not in data  # serial sequences come back from the serial type
    assert child["id"] == {"type": "bigserial", "primary_key": True}
    assert child["parent_id"] == {"type": "integer", "not_null": True, "references": "parent(id)"}
    assert child["status"] == {"type": "varchar(20)", "not_null": True, "default": "'active'",
                               "check": "status IN ('active', 'gone')", "comment": "lifecycle"}
    assert child["price"] == {"type": "numeric(10, 2)", "default": 0.5}
    assert "default: 0.50" in result.files["public.yaml"]  # the number's text is kept
    assert child["doc"] == {"type": "jsonb", "default": "'{}'"}
    assert child["feeling"] == {"type": "mood", "default": "'no'"}
    assert child["at"] == {"type": "timestamptz", "default": "now()"}
    assert child["Mixed"] == "text"
    assert data["tables"]["child"]["indexes"]["child_lower"] == {"columns": ["lower(status::text) DESC"]}
    write_spec(result, tmp_path)
    assert _differences(str(tmp_path), dsn) == []


def test_trait_only_where_expansion_is_exact(make_db: Callable[..., str], tmp_path: Path) -> None:
    """Two tables with the audit columns: one exactly as the trait brings them, one whose
    created_at default differs. Only the first says ``traits: [audit]``."""
    dsn = make_db()
    audit = """created_at timestamptz NOT NULL DEFAULT {default},
               updated_at timestamptz NOT NULL DEFAULT now(),
               created_by uuid, updated_by uuid"""
    run_sql(dsn, f"""
        CREATE FUNCTION update_updated_at_column() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
        CREATE TABLE exact (id integer PRIMARY KEY, {audit.format(default='now()')});
        CREATE TABLE drifted (id integer PRIMARY KEY, {audit.format(default='clock_timestamp()')});
        COMMENT ON COLUMN exact.created_by IS
            'users.id of who created the row (not a foreign key: the trail outlives the user)';
        COMMENT ON COLUMN exact.updated_by IS 'users.id of who last changed the row';
        COMMENT ON COLUMN drifted.created_by IS
            'users.id of who created the row (not a foreign key: the trail outlives the user)';
        COMMENT ON COLUMN drifted.updated_by IS 'users.id of who last changed the row';
        CREATE TRIGGER update_exact_updated_at BEFORE UPDATE ON exact
            FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
        CREATE TRIGGER update_drifted_updated_at BEFORE UPDATE ON drifted
            FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
    """)
    result = inspect_source(dsn)
    assert result.notes == []
    tables = yaml.safe_load(result.files["public.yaml"])["tables"]
    assert tables["exact"]["traits"] == ["audit"]
    assert list(tables["exact"]["columns"]) == ["id"]
    assert "traits" not in tables["drifted"]
    assert tables["drifted"]["columns"]["created_at"]["default"] == "clock_timestamp()"
    assert "update_drifted_updated_at" in tables["drifted"]["triggers"]
    write_spec(result, tmp_path)
    assert _differences(str(tmp_path), dsn) == []


def test_no_traits_when_asked(make_db: Callable[..., str]) -> None:
    original = _seed(make_db)
    from pgspec.sources.live import introspect

    result = inspect_catalog(introspect(original, schemas=["public"]), traits={})
    assert result.notes == []
    assert "traits:" not in "".join(result.files.values())
    assert "grants:" in result.files["public.yaml"]  # the team's per-schema grants with 'only'



def test_big_schemas_are_written_in_table_groups(make_db: Callable[..., str], tmp_path: Path) -> None:
    dsn = make_db()
    run_sql(dsn, "".join(f"CREATE TABLE t{i:02d} (id integer PRIMARY KEY);" for i in range(5)))
    from pgspec.sources.live import introspect

    result = inspect_catalog(introspect(dsn, schemas=["public"]), group_size=2)
    assert sorted(result.files) == ["00_shared.yaml", "public.tables_01.yaml", "public.tables_02.yaml",
                                    "public.tables_03.yaml", "public.yaml"]
    write_spec(result, tmp_path)
    assert _differences(str(tmp_path), dsn) == []


@pytest.mark.skipif(not BACKUPS, reason="no fixture backup (fixtures/*.backup) yet")
@pytest.mark.parametrize("backup", BACKUPS, ids=lambda p: Path(p).name)
def test_fixture_backup_round_trips(backup: str, make_db: Callable[..., str], tmp_path: Path) -> None:
    assert main(["inspect", backup, "-o", str(tmp_path)]) == 0
    assert main(["diff", backup, str(tmp_path)]) == 0
    fresh = make_db(stub=True)
    run_sql(fresh, render(load_spec(tmp_path)))
    assert main(["diff", backup, fresh]) == 0


# --------------------------------------------------------------------------- shortening, unit by unit


@pytest.mark.parametrize(
    ("server", "short"),
    [
        ("'active'::character varying", "'active'"),
        ("((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))",
         "status IN ('a', 'b')"),
        ("(x <> ALL (ARRAY[1, 2]))", "x NOT IN (1, 2)"),
        ("(account_id IN ( SELECT public.user_account_ids() AS user_account_ids))",
         "account_id IN (SELECT public.user_account_ids())"),
        ("date_trunc('month'::text, now())", "date_trunc('month', now())"),
        ("(price > (0)::numeric)", "price > 0"),
        ("'-1'::integer", "-1"),
        ("pg_catalog.lower((email)::text)", "lower(email)"),
        # kept: the cast is the meaning (or the SQL would not parse-analyse without it)
        ("('now'::text)::timestamp with time zone", "('now'::text)::timestamp with time zone"),
        ("ARRAY[]::text[]", "ARRAY[]::text[]"),
        ("NULL::integer", "NULL::integer"),
    ],
)
def test_short_expression_is_equivalent(server: str, short: str) -> None:
    # ``(status)::text`` is dropped only on a varchar column (on an enum or a char(n) the
    # cast is the meaning): those cases are shortened with their table's column types.
    columns = _VARCHAR_COLUMNS if "(email)::text" in server or "(status)::text" in server else ()
    assert short_expression(server, columns) == short
    if columns:
        from pgspec.normalize.typed import typed_equivalent

        assert typed_equivalent(short, server, dict(columns), dict(columns))
        assert short_expression(server) != short  # without the types, the cast stays
    else:
        assert canonical_expression(short) == canonical_expression(server)


_VARCHAR_COLUMNS = (("email", "character varying(255)"), ("status", "character varying(20)"))


@pytest.mark.parametrize(
    ("canonical", "short"),
    [
        ("timestamp with time zone", "timestamptz"),
        ("timestamp(3) with time zone", "timestamptz(3)"),
        ("character varying(255)", "varchar(255)"),
        ("public.project_type[]", "project_type[]"),
        ("app.thing", "app.thing"),
        ("SETOF public.accounts", "SETOF accounts"),
        ("double precision", "double precision"),
        ('"char"', '"char"'),
    ],
)
def test_short_type_reads_back_the_same(canonical: str, short: str) -> None:
    assert short_type(canonical, "public") == short


def test_bare_scalars_only_where_yaml_keeps_the_text() -> None:
    assert [is_bare_scalar(x) for x in ("0", "0.50", "-3", "true")] == [True] * 4
    assert [is_bare_scalar(x) for x in ("010", "1_000", "1e5", "'x'", "TRUE")] == [False] * 5


def test_privileges_come_back_as_the_team_writes_them(make_db: Callable[..., str], tmp_path: Path) -> None:
    """Default privileges, per-schema class grants with ``only``, a column grant, a function
    PUBLIC may not execute: written compactly, and a fresh database rendered from them has the
    same effective privileges."""
    roles = "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_reader') " \
            "THEN CREATE ROLE app_reader; END IF; END $$;"
    dsn = make_db()
    run_sql(dsn, roles + """
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO app_reader;
        CREATE TABLE a (id integer PRIMARY KEY, secret text);
        CREATE TABLE b (id integer PRIMARY KEY);
        CREATE TABLE c (id integer PRIMARY KEY);
        REVOKE SELECT ON c FROM app_reader;
        GRANT UPDATE (secret) ON a TO app_reader;
        CREATE FUNCTION f() RETURNS integer LANGUAGE sql AS 'SELECT 1';
        REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC;
    """)
    result = inspect_source(dsn)
    assert result.notes == []
    shared = yaml.safe_load(result.files["00_shared.yaml"])
    public = yaml.safe_load(result.files["public.yaml"])
    assert shared["default_privileges"] == [{"role": "postgres", "schema": "public", "tables": {"app_reader": ["select"]}}]
    assert public["grants"]["tables"] == [{"app_reader": "none", "only": ["c"]}]
    assert public["grants"]["functions"] == [{"public": "none"}]
    assert public["tables"]["a"]["columns"]["secret"] == {"type": "text", "grants": {"app_reader": ["update"]}}
    write_spec(result, tmp_path)
    assert _differences(str(tmp_path), dsn) == []
    fresh = make_db()
    run_sql(fresh, roles + render(load_spec(tmp_path)))
    assert main(["diff", dsn, fresh]) == 0


def test_write_spec_is_all_or_nothing_with_normal_modes(db: str, tmp_path: Path) -> None:
    """A later target that is a directory leaves the earlier files untouched, no temporary
    files behind; a good write gives files 0666 minus the umask, as any editor would."""
    run_sql(db, "CREATE SCHEMA app; CREATE TABLE app.t (id integer); CREATE TABLE u (id integer)")
    result = inspect_source(db, schemas=["app", "public"])
    names = sorted(result.files)
    assert len(names) >= 2
    for name in names[:-1]:
        (tmp_path / name).write_text("old\n")
    (tmp_path / names[-1]).mkdir()
    with pytest.raises(SourceError, match=f"cannot write the spec to .*{names[-1]}.*directory"):
        write_spec(result, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert all((tmp_path / name).read_text() == "old\n" for name in names[:-1])
    umask = os.umask(0o022)
    try:
        out = tmp_path / "out"
        write_spec(result, out)
    finally:
        os.umask(umask)
    assert {oct((out / name).stat().st_mode & 0o777) for name in names} == {"0o644"}
    assert load_spec(out) is not None
