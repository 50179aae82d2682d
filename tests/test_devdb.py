"""--dev-db: where offline normalisation cannot be exact, a scratch server settles it.

A hand-written view ``abs(id) * 1.5`` and a policy whose subquery says the same compare as
different offline (the server stored ``((abs(id))::numeric * 1.5)``, the cast an integer
function result beside a numeric needs, which pgspec cannot know without the function's
signature; the
subquery's bare ``id``, ``docs.id``, is resolved with the catalog) and equal once the spec went through a scratch database; the
report says so when --dev-db was not used. The scratch database never outlives the command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pgspec.cli import main
from pgspec.devdb import SCRATCH_PREFIX
from tests.fix_db import STUB, run_sql
from tests.pgserver import Server

SPEC = """\
tables:
  docs:
    columns:
      id: {type: integer, primary_key: true}
      title: text
    rls: true
    policies:
      members_read:
        command: select
        using: "EXISTS (SELECT 1 FROM members WHERE doc_id = id AND member = current_user AND abs(id) * 1.5 > 0)"
  members:
    columns:
      doc_id: {type: integer, not_null: true}
      member: {type: name, not_null: true}
views:
  all_docs:
    query: SELECT id, title, abs(id) * 1.5 AS score FROM docs
"""

DDL = """
CREATE TABLE docs (id integer PRIMARY KEY, title text);
CREATE TABLE members (doc_id integer NOT NULL, member name NOT NULL);
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY members_read ON docs FOR SELECT
    USING (EXISTS (SELECT 1 FROM members WHERE doc_id = id AND member = current_user
                   AND abs(id) * 1.5 > 0));
CREATE VIEW all_docs AS SELECT id, title, abs(id) * 1.5 AS score FROM docs;
"""


@pytest.fixture
def spec_and_db(tmp_path: Path, db: str) -> tuple[str, str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    run_sql(db, DDL)
    return str(spec), db


def _scratch_databases(server: Server) -> list[str]:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                            [SCRATCH_PREFIX + "%"]).fetchall()
    return [r[0] for r in rows]


def test_offline_the_cast_view_and_the_policy_differ_and_the_report_says_why(
    spec_and_db: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    spec, db = spec_and_db
    assert main(["verify", "--spec", spec, "--dsn", db]) == 1
    text = capsys.readouterr().out
    assert "view public.all_docs: changed" in text and "policy public.docs.members_read: changed" in text
    assert text.count("hint: ") == 2 and "--dev-db" in text

    assert main(["verify", "--spec", spec, "--dsn", db, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    hints = {d["name"]: d.get("hint") for d in report["differences"]}
    assert set(hints) == {"public.all_docs", "public.docs.members_read"}
    assert all(h and "--dev-db" in h for h in hints.values())
    # The contract's keys are all still there.
    assert {"object_type", "name", "change", "attribute", "expected", "actual", "location"} <= set(
        report["differences"][0])


def test_through_a_given_server_they_compare_equal(
    spec_and_db: tuple[str, str], pg: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, db = spec_and_db
    assert main(["verify", "--spec", spec, "--dsn", db, "--dev-db", pg.dsn]) == 0
    assert "no differences" in capsys.readouterr().out
    assert main(["diff", spec, db, "--dev-db", pg.dsn]) == 0
    assert _scratch_databases(pg) == []  # created uniquely, dropped afterwards


def test_a_real_drift_is_still_found_and_located_in_the_spec(
    spec_and_db: tuple[str, str], pg: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, db = spec_and_db
    run_sql(db, "ALTER TABLE docs ADD COLUMN body text")
    assert main(["verify", "--spec", spec, "--dsn", db, "--dev-db", pg.dsn, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(d["name"], d["change"]) for d in report["differences"]] == [("public.docs.body", "unexpected")]
    assert report["differences"][0]["location"].endswith("spec.yaml:2")  # the table's line, as without --dev-db
    assert "hint" not in report["differences"][0]


def test_embedded_dev_db_and_setup_file(tmp_path: Path, make_db: Callable[..., str]) -> None:
    """A spec relying on auth.uid() and the authenticated role needs --dev-db-setup."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("""\
external: {schemas: [auth], functions: ["auth.uid()"]}
tables:
  notes:
    columns: {id: {type: uuid, primary_key: true}, owner: uuid}
    rls: true
    policies:
      own: {roles: [authenticated], using: "owner = auth.uid()"}
views:
  my_notes: {query: "SELECT id, (length(owner::text) + 1) * 1.5 AS score FROM notes WHERE owner = auth.uid()"}
""")
    db = make_db(stub=True)
    run_sql(db, """
        CREATE TABLE notes (id uuid PRIMARY KEY, owner uuid);
        ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own ON notes TO authenticated USING (owner = auth.uid());
        CREATE VIEW my_notes AS
            SELECT id, (length(owner::text) + 1) * 1.5 AS score FROM notes WHERE owner = auth.uid();
    """)
    assert main(["verify", "--spec", str(spec), "--dsn", db]) == 1
    assert main(["verify", "--spec", str(spec), "--dsn", db, "--dev-db", "embedded",
                 "--dev-db-setup", str(STUB)]) == 0


def test_missing_setup_is_one_clear_line_and_the_scratch_database_is_dropped(
    tmp_path: Path, pg: Server, stub_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("""\
external: {schemas: [auth], tables: [auth.users]}
tables:
  profiles:
    columns: {id: {type: uuid, primary_key: true, references: "auth.users(id)"}}
""")
    assert main(["verify", "--spec", str(spec), "--dsn", stub_db, "--dev-db", pg.dsn]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dev-db-setup" in err and "auth" in err
    assert _scratch_databases(pg) == []


def test_inspect_through_the_dev_db_writes_the_servers_forms(
    spec_and_db: tuple[str, str], pg: Server, tmp_path: Path
) -> None:
    spec, db = spec_and_db
    out = tmp_path / "inspected"
    assert main(["inspect", spec, "--dev-db", pg.dsn, "-o", str(out)]) == 0
    text = (out / "public.yaml").read_text()
    view = text.split("all_docs:")[1]
    assert "::numeric" in view  # the server's form, with the cast it added
    assert main(["diff", str(out), db]) == 0


def test_docker_without_an_engine_fails_in_one_line(spec_and_db: tuple[str, str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    spec, db = spec_and_db
    code = main(["verify", "--spec", spec, "--dsn", db, "--dev-db", "docker:postgres:17"])
    err = capsys.readouterr().err
    if code == 2 and "Docker engine" not in err:
        pytest.fail(f"unexpected error: {err}")
    if code != 2:
        pytest.skip("a Docker engine answers here: the container path ran")
    assert err.count("\n") == 1 and "docker:postgres:17" in err


def test_a_bad_dev_db_dsn_is_refused_without_echoing_it(spec_and_db: tuple[str, str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    spec, db = spec_and_db
    assert main(["verify", "--spec", spec, "--dsn", db, "--dev-db",
                 "postgresql://u:s3cret@127.0.0.1:1/x?connect_timeout=2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "s3cret" not in err and "--dev-db" in err
