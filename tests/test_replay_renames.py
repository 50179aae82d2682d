"""A script that renames a column or a table reads offline as the server shows it afterwards.

PostgreSQL stores CHECK expressions, index expressions, policies, generated columns, trigger
WHEN clauses and view queries as parse trees that point at columns by number and at tables by
oid, so a rename rewrites every one of them. Replaying a migration history offline must do the
same, or ``pgspec verify --sql migrations/*.sql`` reports differences the database does not have.
Each case applies one script to a real server and to the replayer and diffs the two.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.diff import diff
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_sql
from tests.pgserver import Server

FUNCTION = (
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RETURN NEW; END $$;\n"
)

CASES: dict[str, str] = {
    "check": """
        CREATE TABLE t (a int CHECK (a > 0), b int, CONSTRAINT a_below_b CHECK (t.a < b));
        ALTER TABLE t RENAME COLUMN a TO x;
    """,
    "index_expression_and_where": """
        CREATE TABLE t (id int, name text, active boolean);
        CREATE INDEX t_name ON t (lower(name), id) WHERE active AND name <> '';
        ALTER TABLE t RENAME name TO title;
        ALTER TABLE t RENAME COLUMN active TO enabled;
    """,
    "policy": """
        CREATE TABLE members (org_id int, user_name text);
        CREATE TABLE t (id int, owner text, org_id int);
        ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own ON t USING (owner = current_user) WITH CHECK (t.owner = current_user);
        CREATE POLICY org ON t FOR SELECT USING (org_id IN (
            SELECT m.org_id FROM members m WHERE m.user_name = t.owner AND user_name <> ''));
        ALTER TABLE t RENAME owner TO owned_by;
        ALTER TABLE members RENAME user_name TO member_name;
    """,
    "generated_column": """
        CREATE TABLE t (price int, qty int, total int GENERATED ALWAYS AS (price * qty) STORED);
        ALTER TABLE t RENAME COLUMN qty TO quantity;
    """,
    "trigger_when": FUNCTION + """
        CREATE TABLE t (id int, status text);
        CREATE TRIGGER t_status BEFORE UPDATE ON t FOR EACH ROW
            WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION touch();
        ALTER TABLE t RENAME status TO state;
    """,
    "view_keeps_its_column_names": """
        CREATE TABLE t (id int, name text, score int);
        CREATE VIEW v AS SELECT id, name, score + 1 AS next, upper(name) FROM t WHERE score > 0
            ORDER BY name;
        ALTER TABLE t RENAME COLUMN name TO title;
        ALTER TABLE t RENAME score TO points;
    """,
    "view_join_aliases": """
        CREATE TABLE a (id int, name text);
        CREATE TABLE b (id int, a_id int, label text);
        CREATE VIEW v AS SELECT a.id, x.label, a.name, b2.a_id
            FROM a JOIN b x ON x.a_id = a.id LEFT JOIN b b2 ON b2.a_id = a.id;
        ALTER TABLE b RENAME a_id TO parent_id;
        ALTER TABLE a RENAME name TO title;
    """,
    "view_subqueries": """
        CREATE TABLE t (id int, name text);
        CREATE VIEW v AS SELECT s.name, (SELECT count(*) FROM t t2 WHERE t2.name = s.name) AS n
            FROM (SELECT name FROM t) s WHERE EXISTS (SELECT 1 FROM t WHERE t.id = 1);
        ALTER TABLE t RENAME name TO title;
    """,
    "materialized_view": """
        CREATE TABLE t (id int, name text);
        CREATE MATERIALIZED VIEW mv AS SELECT id, name FROM t;
        ALTER TABLE t RENAME COLUMN name TO title;
    """,
    "table_rename": """
        CREATE TABLE members (org_id int, user_name text);
        CREATE TABLE t (id int CHECK (t.id > 0), owner text);
        CREATE VIEW v AS SELECT t.id, members.user_name FROM t, public.members
            WHERE members.org_id = t.id;
        ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        CREATE POLICY p ON t USING (EXISTS (
            SELECT 1 FROM members WHERE members.user_name = t.owner));
        ALTER TABLE members RENAME TO people;
        ALTER TABLE t RENAME TO things;
    """,
    "table_and_column_rename_in_schema": """
        CREATE SCHEMA app;
        SET search_path = app, public;
        CREATE TABLE items (id int, name text);
        CREATE VIEW item_names AS SELECT name FROM app.items;
        ALTER TABLE items RENAME TO products;
        ALTER TABLE app.products RENAME COLUMN name TO title;
        RESET search_path;
    """,
    "view_column_rename_and_its_dependents": """
        CREATE TABLE t (id int, name text);
        CREATE VIEW v AS SELECT id, name FROM t;
        CREATE VIEW w AS SELECT v.name, id FROM v WHERE name <> '';
        CREATE MATERIALIZED VIEW mv AS SELECT id, upper(name) FROM t;
        ALTER VIEW v RENAME COLUMN name TO label;
        ALTER MATERIALIZED VIEW mv RENAME COLUMN upper TO shout;
    """,
    "view_rename_and_with_queries": """
        CREATE TABLE t (id int, name text);
        CREATE VIEW v AS SELECT id, name FROM t;
        CREATE VIEW w AS WITH t AS (SELECT 1 AS name) SELECT v.name, t.name AS other
            FROM v, t, LATERAL (SELECT v.id + 1 AS next) n;
        ALTER VIEW v RENAME TO people;
        ALTER TABLE t RENAME TO things;
        ALTER TABLE things RENAME name TO title;
    """,
    "exclusion_and_partition_key": """
        CREATE TABLE booking (room int4range, during tstzrange,
            EXCLUDE USING gist (room WITH &&, during WITH &&) WHERE (room <> 'empty'));
        CREATE TABLE events (id int, created date) PARTITION BY RANGE (created);
        ALTER TABLE booking RENAME room TO rooms;
        ALTER TABLE events RENAME created TO created_on;
    """,
}


def _differences(offline, live) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(offline, live)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_renames_rewrite_dependents(
    case: str, any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    script = tmp_path / f"{case}.sql"
    script.write_text(CASES[case])
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    offline = read_sql([script])
    assert _differences(offline, introspect(dsn, schemas=sorted(offline.schema_names()))) == []
    assert offline.warnings == []


def test_view_column_keeps_its_name(tmp_path: Path) -> None:
    """The server prints ``t.title AS name``: the view's column is still called name."""
    script = tmp_path / "v.sql"
    script.write_text(CASES["view_keeps_its_column_names"])
    view = read_sql([script]).views["public.v"]
    assert "title AS name" in view.query
    assert "points + 1 AS next" in view.query
    assert view.columns == ["id", "name", "next", "upper"]


def test_bare_column_of_a_join_resolves_through_the_from_list(tmp_path: Path) -> None:
    """Only the FROM item that has the column is renamed; the other table's like-named
    column, and an alias that reuses the old name, are left alone."""
    script = tmp_path / "v.sql"
    script.write_text(
        "CREATE TABLE a (id int, name text);\n"
        "CREATE TABLE b (a_id int, label text, name_b text);\n"
        "CREATE VIEW v AS SELECT name, label, b.name_b AS a_name FROM a JOIN b ON a_id = id\n"
        "    ORDER BY name;\n"
        "CREATE VIEW w AS SELECT label AS name FROM b ORDER BY name;\n"
        "ALTER TABLE a RENAME name TO title;\n"
        "ALTER TABLE b RENAME a_id TO parent_id;\n"
    )
    catalog = read_sql([script])
    assert catalog.warnings == []
    assert catalog.views["public.v"].query == (
        "SELECT title AS name, label, b.name_b AS a_name FROM a INNER JOIN b ON parent_id = id"
        " ORDER BY title"
    )
    assert catalog.views["public.w"].query == "SELECT label AS name FROM b ORDER BY name"


def test_functions_in_from_have_known_columns(tmp_path: Path) -> None:
    """Built-in set-returning functions and VALUES beside the table hold known columns, so a
    bare reference still resolves to the table (the server then qualifies every column in
    such a view, which only a scratch server compares exactly, so the text is checked)."""
    script = tmp_path / "v.sql"
    script.write_text(
        "CREATE TABLE t (id int, name text, tags text[], doc jsonb);\n"
        "CREATE VIEW v AS SELECT name, tag, value, n, g FROM t, unnest(tags) AS tag,\n"
        "    jsonb_array_elements(doc) WITH ORDINALITY AS e(value, n), generate_series(1, 2) g,\n"
        "    (VALUES (1)) AS x(y);\n"
        "ALTER TABLE t RENAME name TO title;\n"
        "ALTER TABLE t RENAME COLUMN tags TO labels;\n"
    )
    catalog = read_sql([script])
    assert catalog.warnings == []
    assert catalog.views["public.v"].query.startswith(
        "SELECT title AS name, tag, value, n, g FROM t, unnest(labels) AS tag,")


def test_sql_standard_function_body_is_reported(tmp_path: Path) -> None:
    """The server rewrites a BEGIN ATOMIC body too; pgspec does not yet, and says so."""
    script = tmp_path / "f.sql"
    script.write_text(
        "CREATE TABLE t (id int, name text);\n"
        "CREATE FUNCTION names() RETURNS SETOF text LANGUAGE sql\n"
        "BEGIN ATOMIC SELECT name FROM t; END;\n"
        "CREATE FUNCTION ids() RETURNS SETOF int LANGUAGE sql BEGIN ATOMIC SELECT id FROM t; END;\n"
        "CREATE FUNCTION plain() RETURNS text LANGUAGE sql AS 'SELECT name FROM t';\n"
        "ALTER TABLE t RENAME name TO title;\n"
    )
    catalog = read_sql([script])
    assert [(w.object_type, w.name) for w in catalog.warnings] == [
        ("function", "public.names()")
    ]


def test_join_using_the_renamed_column_is_reported(tmp_path: Path) -> None:
    """The server keeps ``JOIN ... USING (id)`` valid by inventing column aliases; pgspec
    does not imitate that, and says so instead of reporting a made-up query."""
    script = tmp_path / "v.sql"
    script.write_text(
        "CREATE TABLE a (id int, name text);\n"
        "CREATE TABLE b (id int, x int);\n"
        "CREATE VIEW u AS SELECT id, name FROM a JOIN b USING (id);\n"
        "CREATE VIEW other AS SELECT x FROM b;\n"
        "ALTER TABLE a RENAME id TO aid;\n"
    )
    catalog = read_sql([script])
    assert [(w.object_type, w.name) for w in catalog.warnings] == [("view", "public.u")]
    assert "join USING or NATURAL on 'id'" in catalog.warnings[0].message
    assert catalog.views["public.u"].query == "SELECT id, name FROM a INNER JOIN b USING (id)"


def test_unresolvable_view_reference_is_reported(tmp_path: Path) -> None:
    """A bare column that a FROM item of unknown columns might hold cannot be rewritten
    safely: the view is left as written and a warning says so, instead of a silent guess."""
    script = tmp_path / "v.sql"
    script.write_text(
        "CREATE TABLE t (id int, name text);\n"
        "CREATE TABLE t2 (code int, label text);\n"
        "CREATE FUNCTION f() RETURNS SETOF t2 LANGUAGE sql AS 'SELECT * FROM t2'; "
        "CREATE VIEW w AS SELECT * FROM f();\n"
        "CREATE VIEW v AS SELECT name FROM t, w;\n"
        "CREATE VIEW unrelated AS SELECT label FROM t, w;\n"
        "ALTER TABLE t RENAME name TO title;\n"
    )
    catalog = read_sql([script])
    assert [(w.object_type, w.name, w.location) for w in catalog.warnings] == [
        ("view", "public.v", f"{script}:6")
    ]
    assert "title" not in catalog.views["public.v"].query
