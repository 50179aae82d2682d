"""``*`` in a view is the columns it stood for when the view was created.

The server expands ``SELECT * FROM t`` at CREATE VIEW time and stores the columns one by one
(``pg_get_viewdef`` prints ``SELECT id, name FROM t``); a later ``ALTER TABLE t ADD COLUMN``
does not reach the view. A script replayed offline (``read_sql``) must end with the same view:
each shape below is applied to a real server (PostgreSQL 18, and 15 where installed) and
replayed offline, and the two must compare equal both ways. A star whose columns the replay
cannot know (a function's result) stays as written and is reported, never guessed; and a view
whose star stands for other columns than the server's is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pgspec.catalog import Catalog
from pgspec.devdb import annotate
from pgspec.diff import diff
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_sql
from tests.fix_db import _servers
from tests.pgserver import Server, dbname_of

TABLES = """
CREATE SCHEMA x;
CREATE TABLE a (id integer PRIMARY KEY, name text, email varchar(100));
CREATE TABLE b (id integer PRIMARY KEY, plan text);
CREATE TABLE c (id bigint PRIMARY KEY, note text);
CREATE TABLE p (pid integer, label text);
CREATE TABLE x.t_data (id uuid, name text);
CREATE FUNCTION f() RETURNS TABLE (k integer, l text) LANGUAGE sql AS $$ SELECT 1, 'x' $$;
"""

#: View name -> its definition (after TABLES, in this order; ALTERs come after every view).
SHAPES: dict[str, str] = {
    "s_table": "CREATE VIEW s_table AS SELECT * FROM a",
    "s_qualified": "CREATE VIEW s_qualified AS SELECT t.* FROM a t",
    "s_schema": "CREATE VIEW s_schema AS SELECT public.a.* FROM public.a",
    "s_and_more": "CREATE VIEW s_and_more AS SELECT *, 1 AS one FROM a WHERE id > 0",
    "s_column_aliases": "CREATE VIEW s_column_aliases AS SELECT q.* FROM a AS q(i, n)",
    "s_view_aliases": "CREATE VIEW s_view_aliases (x, y) AS SELECT * FROM a",
    # migra/dependencies2: a view over a view over a table, each with *.
    "s_data": "CREATE VIEW x.data AS SELECT * FROM x.t_data",
    "s_over_view": "CREATE VIEW x.q AS SELECT * FROM x.data",
    "s_join": "CREATE VIEW s_join AS SELECT * FROM a JOIN p ON p.pid = a.id AND p.label = a.name",
    "s_using": "CREATE VIEW s_using AS SELECT * FROM a JOIN b USING (id)",
    "s_left_using": "CREATE VIEW s_left_using AS SELECT * FROM a LEFT JOIN b USING (id)",
    "s_right_using": "CREATE VIEW s_right_using AS SELECT * FROM a RIGHT JOIN b USING (id)",
    "s_full_using": "CREATE VIEW s_full_using AS SELECT * FROM a FULL JOIN b USING (id)",
    "s_natural": "CREATE VIEW s_natural AS SELECT * FROM b NATURAL JOIN b AS b2",
    "s_side_of_using": "CREATE VIEW s_side_of_using AS SELECT b.*, a.name FROM a JOIN b USING (id)",
    "s_using_over_view": "CREATE VIEW s_using_over_view AS SELECT * FROM s_table JOIN b USING (id)",
    "s_subquery": "CREATE VIEW s_subquery AS SELECT * FROM (SELECT * FROM b WHERE plan <> '') s",
    "s_cte": "CREATE VIEW s_cte AS WITH w AS (SELECT * FROM b) SELECT * FROM w",
    "s_exists": "CREATE VIEW s_exists AS SELECT id FROM a "
                "WHERE EXISTS (SELECT * FROM b WHERE b.id = a.id)",
    "s_union": "CREATE VIEW s_union AS SELECT * FROM b UNION ALL SELECT * FROM b",
    "s_lateral": "CREATE VIEW s_lateral AS SELECT * FROM a, LATERAL (SELECT b.plan FROM b "
                 "WHERE b.id = a.id) s",
    "s_series": "CREATE VIEW s_series AS SELECT * FROM generate_series(1, 3) g",
    "s_matview": "CREATE MATERIALIZED VIEW s_matview AS SELECT * FROM a",
    "s_replaced": "CREATE VIEW s_replaced AS SELECT * FROM b",
}

#: After every view: what no longer reaches a view created with ``*``, or follows it by name.
AFTER = """
ALTER TABLE a ADD COLUMN late integer;
ALTER TABLE b ADD COLUMN seats integer;
ALTER TABLE x.t_data ADD COLUMN extra text;
ALTER TABLE a RENAME COLUMN name TO full_name;
CREATE OR REPLACE VIEW s_replaced AS SELECT * FROM b;
"""


def _script() -> str:
    return TABLES + "".join(f"{ddl};\n" for ddl in SHAPES.values()) + AFTER


def _relation(name: str) -> str:
    return {"s_data": "x.data", "s_over_view": "x.q"}.get(name, f"public.{name}")


_SIDES: dict[str, tuple[Catalog, Catalog]] = {}


@pytest.fixture(scope="module", params=_servers())
def sides(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Catalog, Catalog]]:
    """Every shape applied to one database of the server, read live, and the same script
    replayed offline: one database per server for the whole matrix."""
    server: Server = request.getfixturevalue("pg" if request.param == "main" else "pg15")
    script = tmp_path_factory.mktemp("stars") / "views.sql"
    script.write_text(_script())
    dsn = server.create_database()
    try:
        server.psql_file(dsn, script)
        yield introspect(dsn, schemas=["public", "x"]), read_sql([script])
    finally:
        server.drop_database(dbname_of(dsn))


def _about(expected: Catalog, actual: Catalog, relation: str) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(expected, actual, schemas=["public", "x"]) if d.name == relation]


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_star_view_replays_as_the_server_stored_it(name: str,
                                                   sides: tuple[Catalog, Catalog]) -> None:
    live, offline = sides
    relation = _relation(name)
    assert _about(live, offline, relation) == []
    assert _about(offline, live, relation) == []


def test_nothing_else_differs(sides: tuple[Catalog, Catalog]) -> None:
    live, offline = sides
    assert [d for d in diff(live, offline, schemas=["public", "x"])] == []


def test_the_replay_writes_the_columns_of_the_time(sides: tuple[Catalog, Catalog]) -> None:
    """The stored text names the columns, and the view knows its own for the next view."""
    _, offline = sides
    view = offline.views["public.s_table"]
    assert "*" not in view.query and "late" not in view.query
    assert view.columns == ["id", "name", "email"]  # renamed later: the view keeps its name
    assert offline.views["x.q"].columns == ["id", "name"]
    assert offline.views["public.s_replaced"].columns == ["id", "plan", "seats"]
    assert offline.views["public.s_view_aliases"].columns == ["x", "y", "email"]


def test_a_star_over_what_the_replay_cannot_know_stays_and_is_reported(
    any_pg: Server, tmp_path: Path
) -> None:
    """A function's result columns need its return type: the ``*`` is left as written, and
    the comparison reports the view (with the --dev-db hint), never a guessed equality."""
    script = tmp_path / "f.sql"
    script.write_text(TABLES + "CREATE VIEW s_fn AS SELECT * FROM f();\n"
                      "CREATE VIEW s_unknown AS SELECT * FROM a JOIN c USING (id);\n")
    offline = read_sql([script])
    assert offline.views["public.s_fn"].query == "SELECT * FROM f()"
    # integer beside bigint: the merged column is a coercion the replay does not model.
    assert offline.views["public.s_unknown"].query.startswith("SELECT * FROM")
    dsn = any_pg.create_database()
    try:
        any_pg.psql_file(dsn, script)
        live = introspect(dsn, schemas=["public", "x"])
    finally:
        any_pg.drop_database(dbname_of(dsn))
    found = {d.name: d for d in annotate(diff(live, offline, schemas=["public", "x"]),
                                         dev_db=False)}
    assert set(found) == {"public.s_fn", "public.s_unknown"}
    assert all(d.attribute == "query" and d.hint and "--dev-db" in d.hint
               for d in found.values())


#: A script's view and the database's differ in what their ``*`` stands for: reported.
CHANGES: dict[str, tuple[str, str]] = {
    # The database's view was created after the column was added; the script's before.
    "created_before_add_column": (
        "CREATE VIEW v AS SELECT * FROM a; ALTER TABLE a ADD COLUMN late integer;",
        "ALTER TABLE a ADD COLUMN late integer; CREATE VIEW v AS SELECT * FROM a;"),
    "replaced_after_add_column": (
        "CREATE VIEW v AS SELECT * FROM b; ALTER TABLE b ADD COLUMN seats integer;",
        "CREATE VIEW v AS SELECT * FROM b; ALTER TABLE b ADD COLUMN seats integer;"
        "CREATE OR REPLACE VIEW v AS SELECT * FROM b;"),
    "other_side_of_join": (
        "CREATE VIEW v AS SELECT a.* FROM a JOIN b ON b.id = a.id;",
        "CREATE VIEW v AS SELECT b.* FROM a JOIN b ON b.id = a.id;"),
    "left_instead_of_right": (
        "CREATE VIEW v AS SELECT * FROM a LEFT JOIN b USING (id);",
        "CREATE VIEW v AS SELECT * FROM a RIGHT JOIN b USING (id);"),
    "using_instead_of_on": (
        "CREATE VIEW v AS SELECT * FROM a JOIN b USING (id);",
        "CREATE VIEW v AS SELECT a.id, a.name, a.email, b.plan FROM a JOIN b ON b.id = a.id;"),
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_star_that_stands_for_other_columns_is_reported(
    name: str, any_pg: Server, tmp_path: Path
) -> None:
    written, applied = CHANGES[name]
    script = tmp_path / "v.sql"
    script.write_text(TABLES + written)
    offline = read_sql([script])
    dsn = any_pg.create_database()
    try:
        any_pg.execute(dsn, TABLES + applied)
        live = introspect(dsn, schemas=["public", "x"])
    finally:
        any_pg.drop_database(dbname_of(dsn))
    for expected, actual in ((live, offline), (offline, live)):
        found = [(d.object_type, d.name, d.attribute)
                 for d in diff(expected, actual, schemas=["public", "x"])]
        assert ("view", "public.v", "query") in found
