"""A view's query compares equal to the server's whenever it means the same.

The server stores a view as a parse tree and prints every column of a query over several FROM
items with its item's name (``b.name`` where the script said ``name``), and every relation
under the schema the search_path resolved it to when the view was created (``app.c``). pgspec
resolves each side's bare columns against its own catalog and replays CREATE VIEW under the
script's search_path, so a script, a spec and the database agree; and a real change (a column
taken from the other table, another join condition) is still reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.cli import main
from pgspec.diff import diff
from pgspec.normalize.expressions import query_tree
from pgspec.normalize.views import catalog_relations, resolved_query_tree
from pgspec.render import render
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from pgspec.sources.sql import read_sql
from tests.pgserver import Server

TABLES = """
    CREATE TABLE a (id int PRIMARY KEY, bid int, note text, qty int);
    CREATE TABLE b (id int PRIMARY KEY, name text, tags text[]);
"""

#: Scripts applied to a server and replayed offline: the two must compare equal.
CASES: dict[str, str] = {
    "join": """
        CREATE VIEW ab AS SELECT a.id, name, note FROM a JOIN b ON a.bid = b.id
            WHERE note IS NOT NULL;
    """,
    "aliases_and_order_by_output_name": """
        CREATE VIEW al AS SELECT x.id, name FROM a AS x LEFT JOIN b y ON x.bid = y.id
            ORDER BY name;
        CREATE VIEW ca AS SELECT q.i, name FROM a AS q(i, j) JOIN b ON b.id = q.j;
    """,
    "self_join": """
        CREATE VIEW sj AS SELECT p.id, c.note AS child_note FROM a p JOIN a c ON c.bid = p.id
            WHERE p.qty > c.qty;
    """,
    "subqueries": """
        CREATE VIEW sq AS SELECT note, (SELECT name FROM b WHERE b.id = bid) AS bname FROM a;
        CREATE VIEW ex AS SELECT id, note FROM a
            WHERE EXISTS (SELECT 1 FROM b WHERE b.id = bid AND name <> '');
        CREATE VIEW fs AS SELECT x.k, name FROM (SELECT bid AS k FROM a) x JOIN b ON b.id = x.k;
    """,
    "cte": """
        CREATE VIEW ct AS WITH w AS (SELECT id AS wid, name FROM b)
            SELECT wid, note, name FROM w JOIN a ON a.id = wid;
    """,
    "lateral_and_functions": """
        CREATE VIEW lt AS SELECT id, t FROM b, LATERAL unnest(tags) AS t;
        CREATE VIEW ls AS SELECT note, x FROM a, LATERAL (SELECT a.id + qty AS x) s;
        CREATE VIEW fu AS SELECT id, unnest FROM b, unnest(tags);
        CREATE VIEW je AS SELECT id, e.key FROM b, jsonb_each('{}'::jsonb) e;
        CREATE VIEW wo AS SELECT id, o FROM b, unnest(tags) WITH ORDINALITY u(x, o);
    """,
    "values_group_by_union": """
        CREATE VIEW vl AS SELECT v.n, name FROM (VALUES (1), (2)) v(n) JOIN b ON b.id = v.n;
        CREATE VIEW gb AS SELECT name, count(*) AS n FROM a JOIN b ON a.bid = b.id GROUP BY name;
        CREATE VIEW un AS SELECT id, note FROM a UNION ALL SELECT id, name FROM b;
    """,
    "views_on_views": """
        CREATE VIEW ab AS SELECT a.id, name, note FROM a JOIN b ON a.bid = b.id;
        CREATE VIEW vv AS SELECT ab.id, name, qty FROM ab JOIN a ON a.id = ab.id;
        CREATE MATERIALIZED VIEW mv AS SELECT vv.id, tags FROM vv JOIN b ON b.id = vv.id;
    """,
    "search_path": """
        CREATE SCHEMA app;
        SET search_path = app, public;
        CREATE TABLE app.c (id int, v text);
        CREATE TABLE app.a (id int, w text);
        CREATE VIEW app.cv AS SELECT id, v FROM c;
        CREATE VIEW app.cj AS SELECT c.id, w, v, name FROM c JOIN a ON a.id = c.id
            JOIN b ON b.id = c.id;
        CREATE VIEW app.pv AS SELECT id, name FROM public.b;
        CREATE VIEW app.wv AS WITH c AS (SELECT 1 AS z) SELECT z FROM c;
        CREATE VIEW app.sys AS SELECT relname FROM pg_class;
        SET search_path = public;
        CREATE VIEW pa AS SELECT id, note FROM a;
    """,
}


def _differences(expected, actual) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(expected, actual)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_and_server_agree(
    case: str, any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    script = tmp_path / f"{case}.sql"
    script.write_text(TABLES + CASES[case])
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    offline = read_sql([script])
    live = introspect(dsn, schemas=sorted(offline.schema_names()))
    assert _differences(offline, live) == []
    assert _differences(live, offline) == []


def test_diff_command_reports_no_difference(
    pg: Server, make_db: Callable[..., str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reproduction: a join view and a view read under ``search_path = app, public``."""
    script = tmp_path / "s.sql"
    script.write_text(TABLES + CASES["join"] + """
        CREATE SCHEMA app;
        SET search_path = app, public;
        CREATE TABLE app.c (id int, v text);
        CREATE VIEW app.cv AS SELECT id, v FROM c;
    """)
    dsn = make_db()
    pg.psql_file(dsn, script)
    code = main(["diff", str(script), dsn, "--schema", "public", "--schema", "app"])
    out = capsys.readouterr().out
    assert (code, out.strip().splitlines()[-1]) == (0, "no differences")


def test_replay_stores_the_schema_the_path_resolved(tmp_path: Path) -> None:
    script = tmp_path / "p.sql"
    script.write_text(TABLES + CASES["search_path"])
    views = read_sql([script]).views
    assert "FROM app.c" in views["app.cv"].query
    assert "FROM app.c" in views["app.cj"].query and "JOIN app.a" in views["app.cj"].query
    assert "JOIN b " in views["app.cj"].query  # public's: a bare name means public's
    assert "FROM c" in views["app.wv"].query  # the WITH query, not app.c
    assert "FROM pg_class" in views["app.sys"].query  # on no schema of the path: as written
    assert views["public.pa"].query == "SELECT id, note FROM a"


SPEC = """
schema: public
tables:
  a:
    columns:
      id: {type: integer, primary_key: true}
      bid: integer
      note: text
      qty: integer
  b:
    columns:
      id: {type: integer, primary_key: true}
      name: text
      tags: text[]
views:
  ab:
    query: SELECT a.id, name, note FROM a JOIN b ON a.bid = b.id WHERE note IS NOT NULL
  sj:
    query: SELECT p.id, c.note AS child_note FROM a p JOIN a c ON c.bid = p.id
  sq:
    query: SELECT note, (SELECT name FROM b WHERE b.id = bid) AS bname FROM a
  ct:
    query: WITH w AS (SELECT id AS wid, name FROM b) SELECT wid, note, name FROM w JOIN a ON a.id = wid
  lt:
    query: SELECT id, t FROM b, LATERAL unnest(tags) AS t
  vv:
    query: SELECT ab.id, name, qty FROM ab JOIN a ON a.id = ab.id ORDER BY name
materialized_views:
  mv:
    query: SELECT vv.id, tags FROM vv JOIN b ON b.id = vv.id
"""


def _verify(spec: Path, dsn: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list]:
    code = main(["verify", "--spec", str(spec), "--dsn", dsn, "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, [(d["object_type"], d["name"], d["attribute"]) for d in
                  json.loads(out)["differences"]]


@pytest.fixture
def applied_spec(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> tuple[Path, str, Server]:
    spec = tmp_path / "schema.yaml"
    spec.write_text(SPEC)
    ddl = tmp_path / "rendered.sql"
    ddl.write_text(render(load_spec(str(spec))))
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, ddl)
    return spec, dsn, any_pg


def test_spec_views_verify_clean(
    applied_spec: tuple[Path, str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    spec, dsn, _ = applied_spec
    assert _verify(spec, dsn, capsys) == (0, [])


def test_spec_reports_real_view_changes(
    applied_spec: tuple[Path, str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    """The same bare names, resolved, are other columns: both are reported."""
    spec, dsn, server = applied_spec
    server.execute(dsn, """
        CREATE OR REPLACE VIEW ab AS SELECT a.id, b.name, a.note FROM a JOIN b ON a.id = b.id
            WHERE a.note IS NOT NULL;
        CREATE OR REPLACE VIEW sq AS SELECT note, (SELECT name FROM b WHERE b.id = a.id) AS bname
            FROM a;
    """)
    assert _verify(spec, dsn, capsys) == (1, [("view", "public.ab", "query"),
                                              ("view", "public.sq", "query")])


def test_column_from_the_other_table_is_reported(
    pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    """``note`` is a's in the script; the server's view takes b's ``note``."""
    tables = ("CREATE TABLE a (id int, bid int, note text);\n"
              "CREATE TABLE b (id int, name text, label text);\n")
    script = tmp_path / "s.sql"
    script.write_text(tables + "CREATE VIEW v AS SELECT a.id, name, note FROM a JOIN b "
                      "ON a.bid = b.id;\n")
    dsn = make_db()
    pg.execute(dsn, tables.replace("label text", "note text") +
               "CREATE VIEW v AS SELECT a.id, b.name, b.note FROM a JOIN b ON a.bid = b.id;")
    found = [(d.object_type, d.name, d.attribute)
             for d in diff(read_sql([script]), introspect(dsn, schemas=["public"]))]
    assert ("view", "public.v", "query") in found


def test_unattributable_column_is_left_as_written(tmp_path: Path) -> None:
    """A relation whose columns are unknown: no guess, the query stays as written."""
    script = tmp_path / "s.sql"
    script.write_text("CREATE TABLE a (id int, note text);\n")
    relations = catalog_relations(read_sql([script]))
    query = "SELECT a.id, note FROM a JOIN elsewhere e ON e.id = a.id"
    assert resolved_query_tree(query, relations) == query_tree(query)
    known = "SELECT a.id, note FROM a JOIN a AS x ON x.id = a.id"
    assert resolved_query_tree(known, relations) == query_tree(known)  # a's note or x's
    single = "SELECT id, note FROM a WHERE note <> ''"
    assert resolved_query_tree(single, relations) == query_tree(single)
