"""The command line as users and CI scripts see it: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fix_db import ROOT, Run, run_sql
from tests.pgserver import dbname_of

SPEC = """\
tables:
  accounts:
    comment: tenant root
    columns:
      id: {type: uuid, primary_key: true, default: gen_random_uuid()}
      name: {type: text, not_null: true}
      tier: {type: text, not_null: true, default: "'free'"}
enums:
  status: [active, archived]
"""

REFUSED = "postgresql://nobody:s3cret@127.0.0.1:1/x"



@pytest.fixture
def spec(tmp_path: Path) -> Path:
    directory = tmp_path / "schema"
    directory.mkdir()
    (directory / "accounts.yaml").write_text(SPEC)
    return directory


@pytest.fixture
def applied(spec: Path, db: str, run: Run) -> str:
    """A database built from the spec's rendered DDL."""
    code, ddl, err = run("render", "--spec", spec)
    assert code == 0, err
    run_sql(db, ddl)
    return db


def one_line_error(err: str) -> str:
    assert err.startswith("pgspec: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# --------------------------------------------------------------------------- basics


def test_version(run: Run) -> None:
    code, out, _ = run("--version")
    assert (code, out) == (0, "pgspec 0.1.0\n")


def test_python_dash_m_works() -> None:
    done = subprocess.run([sys.executable, "-m", "pgspec", "--version"], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert (done.returncode, done.stdout) == (0, "pgspec 0.1.0\n")


def test_usage_errors_exit_2(run: Run) -> None:
    code, _, err = run("verify", "--dsn", REFUSED, "--backup", "x.sql")
    assert code == 2 and "not allowed with" in err
    code, _, err = run("verify", "--format", "yaml", "--dsn", REFUSED)
    assert code == 2 and "invalid choice" in err
    assert run("plan", "schema/", "schema/")[0] == 2  # no stubs of commands that do not exist yet


def test_formats_listed_are_the_implemented_ones() -> None:
    from pgspec import cli, report

    assert set(cli.FORMATS) == set(report.FORMATS)


def test_presets_listed_are_the_implemented_ones_and_start_up_stays_light() -> None:
    """The parser lists the presets literally so ``--version`` does not build the pydantic models."""
    from pgspec import cli, privileges

    assert set(cli.PRESET_NAMES) == set(privileges.PRESETS)
    probe = "import sys, pgspec.cli as c; c.build_parser(); print('pgspec.catalog' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


# --------------------------------------------------------------------------- errors


def test_missing_spec_is_one_line_and_exit_2(run: Run, tmp_path: Path) -> None:
    code, out, err = run("verify", "--spec", tmp_path / "nowhere", "--dsn", REFUSED)
    assert (code, out) == (2, "")
    assert "nowhere" in one_line_error(err)
    code, _, err = run("render", "--spec", tmp_path / "nowhere")
    assert code == 2
    assert "nowhere" in one_line_error(err)


def test_missing_source_path_is_named(run: Run, spec: Path, tmp_path: Path) -> None:
    code, _, err = run("diff", spec, tmp_path / "backup.sql")
    assert code == 2
    assert "backup.sql" in one_line_error(err)


def test_unreachable_server_is_one_line_without_password(run: Run, spec: Path) -> None:
    code, out, err = run("verify", "--spec", spec, "--dsn", REFUSED)
    assert (code, out) == (2, "")
    one_line_error(err)
    assert "s3cret" not in err


def test_traceback_on_request(run: Run, tmp_path: Path) -> None:
    code, _, err = run("render", "--traceback", "--spec", tmp_path / "nowhere")
    assert code == 2
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith("pgspec: ")


# --------------------------------------------------------------------------- render


def test_render_prints_ddl(run: Run, spec: Path) -> None:
    code, out, _ = run("render", "--spec", spec)
    assert code == 0
    assert "CREATE TABLE" in out and "accounts" in out


def test_render_split_writes_three_files(run: Run, spec: Path, tmp_path: Path) -> None:
    from pgspec.render import SPLIT_FILES, render_split
    from pgspec.sources.spec import load_spec

    out_dir = tmp_path / "out" / "migrations"
    code, out, err = run("render", "--spec", spec, "--split", out_dir)
    assert (code, out, err) == (0, "", "")
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(SPLIT_FILES)
    expected = render_split(load_spec(str(spec)))
    for name in SPLIT_FILES:
        assert (out_dir / name).read_text() == expected[name]
    # Again over existing files: replaced, and no temporary file left behind.
    assert run("render", "--spec", spec, "--split", out_dir)[0] == 0
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(SPLIT_FILES)


def test_render_split_into_an_unwritable_place(run: Run, spec: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, out, err = run("render", "--spec", spec, "--split", blocker / "out")
    assert (code, out) == (2, "")
    assert "a-file" in one_line_error(err)
    assert blocker.read_text() == "not a directory"


# --------------------------------------------------------------------------- verify and diff


def test_verify_match(run: Run, spec: Path, applied: str) -> None:
    code, out, err = run("verify", "--spec", spec, "--dsn", applied)
    assert code == 0, out + err
    assert out.splitlines()[-1] == "no differences"

    code, out, _ = run("verify", "--spec", spec, "--dsn", applied, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "match" and data["differences"] == []
    assert data["expected"] == str(spec)
    assert dbname_of(applied) in data["actual"]


def test_verify_drift_json(run: Run, spec: Path, applied: str) -> None:
    run_sql(applied, "ALTER TABLE accounts ADD COLUMN extra integer; ALTER TABLE accounts ALTER tier SET DEFAULT 'pro'")
    code, out, _ = run("verify", "--spec", spec, "--dsn", applied, "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data["status"] == "drift"
    assert data["summary"] == {"missing": 0, "unexpected": 1, "changed": 1}
    assert [(d["object_type"], d["name"], d["change"], d["attribute"]) for d in data["differences"]] == [
        ("column", "public.accounts.extra", "unexpected", None),
        ("column", "public.accounts.tier", "changed", "default"),
    ]
    assert data["differences"][1]["location"].startswith(str(spec / "accounts.yaml") + ":")

    code, out, _ = run("verify", "--spec", spec, "--dsn", applied)
    assert code == 1
    assert out.splitlines()[-1] == "2 differences: 1 unexpected, 1 changed"

    code, out, _ = run("verify", "--spec", spec, "--dsn", applied, "--exclude", "public.accounts.extra",
                       "--format", "json")
    assert [d["name"] for d in json.loads(out)["differences"]] == ["public.accounts.tier"]


def test_unmanaged_schemas_are_not_unexpected(run: Run, spec: Path, applied: str) -> None:
    run_sql(applied, "CREATE SCHEMA scratch; CREATE TABLE scratch.t (id int)")
    assert run("verify", "--spec", spec, "--dsn", applied)[0] == 0
    code, out, _ = run("verify", "--spec", spec, "--dsn", applied, "--schema", "public",
                       "--schema", "scratch", "--format", "json")
    assert code == 1
    assert [(d["name"], d["change"]) for d in json.loads(out)["differences"]] == [
        ("scratch", "unexpected"), ("scratch.t", "unexpected")]


def test_diff_two_databases(run: Run, applied: str, make_db: Callable[..., str]) -> None:
    other = make_db()
    run_sql(other, "CREATE TABLE lonely (id int)")
    code, out, _ = run("diff", applied, other, "--format", "json")
    data = json.loads(out)
    assert code == 1
    changes = {(d["object_type"], d["name"], d["change"]) for d in data["differences"]}
    assert ("table", "public.accounts", "missing") in changes
    assert ("table", "public.lonely", "unexpected") in changes
    assert run("diff", applied, applied)[0] == 0


def test_diff_spec_against_itself_and_against_sql(run: Run, spec: Path, tmp_path: Path) -> None:
    assert run("diff", spec, spec)[0] == 0
    assert run("diff", spec / "accounts.yaml", spec)[0] == 0
    code, ddl, _ = run("render", "--spec", spec)
    script = tmp_path / "init.sql"
    script.write_text(ddl)
    code, out, err = run("diff", spec, script)
    assert code == 0, out + err
    code, out, err = run("verify", "--spec", spec, "--sql", script)
    assert code == 0, out + err


# --------------------------------------------------------------------------- source dispatch


def test_sources_are_told_apart(tmp_path: Path, spec: Path) -> None:
    from pgspec.errors import SourceError
    from pgspec.sources import is_dsn, source_kind

    assert is_dsn("postgresql://u@h/db") and is_dsn("postgres://h/db") and is_dsn("host=h dbname=db")
    assert not is_dsn("schema/")
    assert source_kind("postgresql://u@h/db") == "dsn"
    assert source_kind(str(spec)) == "spec"
    assert source_kind(str(spec / "accounts.yaml")) == "spec"
    backup = tmp_path / "db_cluster-01-01-2026@00-00-00.backup"
    backup.write_text("-- dump\n")
    assert source_kind(str(backup)) == "dump"
    with pytest.raises(SourceError, match=r"no such file or directory: '.*missing\.sql'"):
        source_kind(str(tmp_path / "missing.sql"))


def test_schema_scope_of_a_spec() -> None:
    from pgspec.catalog import Catalog, Extension, Table, Trigger
    from pgspec.sources import default_schemas, managed_schemas, reader_schemas

    spec = Catalog(
        tables={"public.t": Table(schema="public", name="t")},
        extensions={"pgcrypto": Extension(name="pgcrypto", schema="extensions")},
        triggers={"auth.users.on_new": Trigger(schema="auth", table="users", name="on_new", timing="after",
                                               events=["insert"], function="public.f")},
        externals=frozenset({"auth", "auth.users"}),
    )
    assert managed_schemas(spec) == {"public"}
    assert reader_schemas(spec) == {"public", "auth", "extensions"}
    assert default_schemas(spec) == {"public"}  # auth is Supabase's own


def test_unmodelled_objects_are_warned_about_never_hidden(run: Run, spec: Path, applied: str) -> None:
    run_sql(applied, "CREATE OPERATOR public.=== (leftarg = integer, rightarg = integer, function = int4eq)")
    code, out, _ = run("verify", "--spec", spec, "--dsn", applied, "--format", "json")
    data = json.loads(out)
    assert (code, data["differences"]) == (0, [])
    assert [(w["object_type"], w["name"]) for w in data["warnings"]] == [("operator", "public.===(integer, integer)")]
    code, out, _ = run("verify", "--spec", spec, "--dsn", applied)
    assert code == 0
    assert any(line.startswith("warning: operator public.===(integer, integer)") for line in out.splitlines())


def test_ignored_roles_leave_their_grants_out(run: Run, applied: str, make_db: Callable[..., str],
                                             tmp_path: Path) -> None:
    """--ignore-role ROLE (repeatable) and --privileges-preset supabase reach the differ: a grant
    to such a role is no difference, while without the option it is one."""
    run_sql(applied, "DO $$ BEGIN "
                     "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reporting') THEN CREATE ROLE reporting; END IF;"
                     "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_admin') "
                     "THEN CREATE ROLE supabase_admin; END IF; END $$;")
    other = make_db()
    run_sql(other, run("render", "--spec", tmp_path / "schema")[1])
    run_sql(other, "GRANT SELECT ON accounts TO reporting")

    def grants(*options: str) -> tuple[int, list[str]]:
        code, out, err = run("diff", applied, other, "--format", "json", *options)
        assert code in (0, 1), err
        return code, [(d["object_type"], d["name"], d["change"]) for d in json.loads(out)["differences"]]

    code, found = grants()
    assert code == 1 and [d[0] for d in found] == ["grant"] and "reporting" in found[0][1]
    assert grants("--ignore-role", "reporting") == (0, [])
    assert grants("--ignore-role", "nobody", "--ignore-role", "reporting") == (0, [])
    run_sql(other, "GRANT UPDATE ON accounts TO supabase_admin")
    assert len(grants("--ignore-role", "reporting")[1]) == 1
    assert grants("--ignore-role", "reporting", "--privileges-preset", "supabase") == (0, [])
    # verify: a spec that states its privileges (an empty grants section: nothing granted).
    stated = tmp_path / "stated"
    stated.mkdir()
    (stated / "accounts.yaml").write_text(SPEC + "\nschemas:\n  public: {grants: {}}\n")
    code, out, err = run("verify", "--spec", stated, "--dsn", other, "--format", "json")
    assert code == 1, err
    assert {d["object_type"] for d in json.loads(out)["differences"]} == {"grant"}
    assert run("verify", "--spec", stated, "--dsn", other, "--ignore-role", "reporting",
               "--privileges-preset", "supabase")[0] == 0
    assert run("verify", "--spec", stated, "--dsn", other, "--ignore-role", "reporting")[0] == 1
