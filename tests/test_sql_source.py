"""Hand-written SQL scripts replayed offline build what a server builds from them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.diff import diff
from pgspec.errors import DumpError, SqlError
from pgspec.sources.dump import StatementReader, looks_like_dump, looks_like_sql
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_dump, read_sql
from tests.fix_db import ROOT
from tests.pgserver import Server

SCRIPT = ROOT / "fixtures" / "replay_script.sql"


def _differences(offline, live) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(offline, live)]


def test_script_replay_equals_server(any_pg: Server, make_db: Callable[..., str]) -> None:
    """ADD/DROP/RENAME, OR REPLACE, IF [NOT] EXISTS, search_path: applied in order as psql does."""
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, SCRIPT)
    offline = read_sql([SCRIPT])
    assert _differences(offline, introspect(dsn)) == []
    assert offline.tables["public.items"].column("title").type == "character varying(200)"
    assert "other.notes" in offline.tables
    assert offline.source == str(SCRIPT)
    assert looks_like_sql(SCRIPT) and not looks_like_dump(SCRIPT)


def test_scripts_apply_in_order(pg: Server, make_db: Callable[..., str], tmp_path: Path) -> None:
    first, second = tmp_path / "001_init.sql", tmp_path / "002_change.sql"
    first.write_text("CREATE TABLE accounts (id uuid PRIMARY KEY, name text);\n")
    second.write_text(
        "ALTER TABLE accounts ADD COLUMN slug text UNIQUE;\n"
        "CREATE FUNCTION add(a integer, b integer) RETURNS integer LANGUAGE sql IMMUTABLE\n"
        "BEGIN ATOMIC\n  SELECT a + b;\nEND;\n"
        "COMMENT ON FUNCTION add(integer, integer) IS 'adds';\n"
        "ALTER TABLE accounts DROP COLUMN name;\n"
    )
    dsn = make_db()
    pg.psql_file(dsn, first, second)
    offline = read_sql([first, second])
    assert _differences(offline, introspect(dsn)) == []
    assert offline.functions["public.add(integer, integer)"].comment == "adds"
    # The other order fails on a server; offline, the statements that could not apply are
    # reported rather than silently dropped.
    reversed_order = read_sql([second, first])
    assert [(w.object_type, w.name, w.location) for w in reversed_order.warnings] == [
        ("table", "public.accounts", f"{second}:1"),
        ("table", "public.accounts", f"{second}:7"),
    ]


def test_unmodelled_kinds_are_reported(tmp_path: Path) -> None:
    script = tmp_path / "extras.sql"
    script.write_text(
        "CREATE TABLE t (x int);\n"
        "CREATE AGGREGATE my_sum(int) (SFUNC = int4pl, STYPE = int);\n"
        "CREATE CAST (text AS t) WITH INOUT;\n"
        "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING;\n"
        "CREATE PUBLICATION pub FOR TABLE t;\n"
        "CREATE TYPE r AS RANGE (subtype = int4);\n"
        "CREATE STATISTICS s ON x, x FROM t;\n"
        "GRANT SELECT ON t TO PUBLIC;\n"
        "ALTER TABLE t OWNER TO postgres;\n"
        "DO $$ BEGIN PERFORM 1; END $$;\n"
    )
    catalog = read_sql([script])
    found = {(w.object_type, w.name, w.location) for w in catalog.warnings}
    assert found == {
        ("cast", "text AS t", f"{script}:3"),
        ("rule", "public.t.r", f"{script}:4"),
        ("publication", "pub", f"{script}:5"),
        ("range type", "public.r", f"{script}:6"),
        ("statistics", "public.s", f"{script}:7"),
        ("do block", "DO", f"{script}:10"),
    }
    assert all(w.message for w in catalog.warnings)
    assert list(catalog.aggregates) == ["public.my_sum(integer)"]  # modelled, not a warning


def test_statement_errors_carry_the_first_line(tmp_path: Path) -> None:
    script = tmp_path / "broken.sql"
    script.write_text("CREATE TABLE a (x int);\n-- note\nCREATE TABLE b (\n  x int,,\n);\n")
    with pytest.raises(SqlError) as err:
        read_sql([script])
    assert (err.value.file, err.value.line) == (str(script), 3)
    script.write_text("CREATE TABLE a (x int);\nSELECT 'never closed;\n")
    with pytest.raises(SqlError, match="unterminated") as err:
        read_sql([script])
    assert err.value.line == 2


def test_splitter_keeps_dollar_quotes_and_atomic_bodies_whole() -> None:
    reader = StatementReader("x.sql", SqlError)
    lines = [
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$",
        "BEGIN",
        "  RETURN 1; -- done;",
        "END",
        "$body$;",
        "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC",
        "  SELECT CASE WHEN true THEN 1 END;",
        "  SELECT 2;",
        "END; SELECT 'a;b';",
    ]
    found = []
    for number, line in enumerate(lines, 1):
        found.extend(reader.feed(line, number))
    found.extend(reader.finish())
    assert [line for _, line in found] == [1, 6, 9]
    assert found[1][0].endswith("SELECT 2;\nEND")
    assert found[2][0] == "SELECT 'a;b'"


def test_search_path_resolves_unqualified_names(tmp_path: Path) -> None:
    script = tmp_path / "path.sql"
    script.write_text(
        "CREATE SCHEMA app;\n"
        "SELECT pg_catalog.set_config('search_path', 'app', false);\n"
        "CREATE TYPE mood AS ENUM ('ok');\n"
        "CREATE TABLE t (m mood);\n"
        "SET search_path = public;\n"
        "CREATE TABLE u (m app.mood, n int);\n"
        "SET search_path = public, app;\n"
        "ALTER TABLE t ADD COLUMN extra mood;\n"
    )
    catalog = read_sql(script)
    assert catalog.tables["app.t"].column("m").type == "app.mood"
    assert catalog.tables["app.t"].column("extra").type == "app.mood"
    assert catalog.tables["public.u"].column("m").type == "app.mood"


#: Scripts psql stops on (ON_ERROR_STOP) and the line of the statement the server rejects.
#: pglast's scanner split drops such text (an open parenthesis swallows every ';' after it,
#: a statement without a keyword is not a statement to it); the reader must not.
BROKEN_SCRIPTS = {
    "open parenthesis": ("CREATE TABLE x (id int;\n", 1),
    "no table name": ("CREATE TABLE ok (id int);\nCREATE TABLE (;\n", 2),
    "no keyword": ("CREATE TABLE a (id int);\nfoo bar baz;\nCREATE TABLE b (id int);\n", 2),
    "unterminated at end": ("CREATE TABLE a (id int);\n\nCREATE TABLE b (id int\n", 3),
    "open parenthesis, later lines": (
        "CREATE TABLE a (id int;\nCREATE TABLE b (id int);\n-- end\n", 1),
    "garbage after a comment": ("-- header\n/* block */ nonsense;\n", 2),
    "bad statement unknown kind": ("ALTER TEXT SEARCH CONFIGURATION;\n", 1),
}


@pytest.mark.parametrize("name", list(BROKEN_SCRIPTS))
def test_unparseable_statements_stop_the_read(
    name: str, pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    text, line = BROKEN_SCRIPTS[name]
    script = tmp_path / "bad.sql"
    script.write_text(text)
    with pytest.raises(subprocess.CalledProcessError):
        pg.psql_file(make_db(), script)
    with pytest.raises(SqlError) as err:
        read_sql([script])
    assert (err.value.file, err.value.line) == (str(script), line)
    dump = tmp_path / "bad.dump.sql"
    dump.write_text("--\n-- PostgreSQL database dump\n--\n\n" + text)
    with pytest.raises(DumpError) as derr:
        read_dump(dump)
    assert derr.value.line == line + 4


def test_cli_fails_on_an_unparseable_script(tmp_path: Path) -> None:
    bad, other = tmp_path / "bad.sql", tmp_path / "bad2.sql"
    bad.write_text("CREATE TABLE x (id int;\n")
    other.write_text("CREATE TABLE (;\n")
    for argv in (["verify", "--spec", str(ROOT / "schema"), "--sql", str(bad)],
                 ["diff", str(other), str(bad)]):
        done = subprocess.run([sys.executable, "-m", "pgspec", *argv],
                              capture_output=True, text=True)
        assert done.returncode == 2, done.stdout
        assert done.stderr.count("\n") == 1
        assert f"{argv[-1] if argv[0] == 'verify' else other}:1: cannot parse" in done.stderr


def test_unknown_statements_are_reported_not_dropped(tmp_path: Path) -> None:
    script = tmp_path / "extras.sql"
    script.write_text(
        "CREATE TABLE t (x int);\n"
        "CREATE TEXT SEARCH CONFIGURATION my_cfg (COPY = pg_catalog.simple);\n"
        "ALTER TEXT SEARCH CONFIGURATION my_cfg DROP MAPPING FOR word;\n"
        "SET statement_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "BEGIN;\nCOMMIT;\n"
        "ALTER TABLE public.t OWNER TO postgres;\n"
    )
    catalog = read_sql([script])
    assert [(w.object_type, w.name, w.location) for w in catalog.warnings] == [
        ("text search configuration", "public.my_cfg", f"{script}:2"),
        ("statement", "ALTER TEXT SEARCH", f"{script}:3"),
    ]


#: Tables whose CREATE TABLE repeats an index constraint: the server keeps one (the primary
#: key first), which takes the dropped one's name when it had none; ALTER TABLE ADD keeps both.
REDUNDANT_KEYS = [
    "CREATE TABLE a (a uuid, CONSTRAINT b PRIMARY KEY (a), CONSTRAINT c UNIQUE (a));",
    "CREATE TABLE a2 (a uuid, CONSTRAINT c2 UNIQUE (a), CONSTRAINT b2 PRIMARY KEY (a));",
    "CREATE TABLE a3 (a uuid PRIMARY KEY, CONSTRAINT c3 UNIQUE (a));",
    "CREATE TABLE a4 (a int UNIQUE, CONSTRAINT c4 UNIQUE (a));",
    "CREATE TABLE a5 (a int, b int, PRIMARY KEY (a, b), UNIQUE (b, a));",
    "CREATE TABLE a6 (a int, UNIQUE (a), UNIQUE (a));",
    "CREATE TABLE a7 (a int, CONSTRAINT x7 UNIQUE (a), CONSTRAINT y7 UNIQUE (a));",
    "CREATE TABLE a8 (a int, PRIMARY KEY (a), UNIQUE (a) DEFERRABLE);",
    "CREATE TABLE a9 (a int, b int, PRIMARY KEY (a), UNIQUE (a) INCLUDE (b));",
    "CREATE TABLE a10 (a int, PRIMARY KEY (a), UNIQUE NULLS NOT DISTINCT (a));",
    "CREATE TABLE a11 (a int UNIQUE DEFERRABLE, CONSTRAINT c11 UNIQUE (a) DEFERRABLE);",
    "CREATE TABLE a12 (a int UNIQUE INITIALLY DEFERRED, CONSTRAINT c12 UNIQUE (a));",
    "CREATE TABLE a13 (a int PRIMARY KEY);\nALTER TABLE a13 ADD CONSTRAINT c13 UNIQUE (a);",
]


def test_create_table_drops_a_key_that_repeats_another(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    script = tmp_path / "keys.sql"
    script.write_text("\n".join(REDUNDANT_KEYS) + "\n")
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    offline = read_sql([script])
    assert _differences(offline, introspect(dsn)) == []
    assert [c for c in offline.constraints if c.startswith("public.a.")] == ["public.a.b"]
    assert offline.constraints["public.a3.c3"].kind == "primary_key"
    assert offline.constraints["public.a12.a12_a_key"].initially_deferred
    assert {"public.a13.a13_pkey", "public.a13.c13"} <= set(offline.constraints)
