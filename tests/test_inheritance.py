"""Table inheritance and partitions: replayed and rendered the way PostgreSQL behaves.

ALTER TABLE on a parent reaches every INHERITS child and partition (recursively) unless ONLY is
written; a child's own default or NOT NULL on an inherited column survives a render. Each case
runs the script on a real server and asks pgspec, as a user would, whether the script and the
database agree.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.catalog import Catalog
from pgspec.errors import SqlError
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_sql
from tests.fix_db import Run, run_sql
from tests.pgserver import Server

#: Scripts whose replay must equal what the server built, on every server version.
REPLAY_CASES: dict[str, str] = {
    # A parent's SET DEFAULT overwrites a child's own default (ATSimpleRecursion); a column
    # the child declared itself (attislocal) outlives the parent's DROP COLUMN, and so the
    # grandchild keeps it too; TYPE reaches every inheritor, keeping a child's own default.
    "single_parent": """
        CREATE TABLE parent (id int, x int DEFAULT 1, d int, t text DEFAULT 'p');
        CREATE TABLE child (y text DEFAULT 'a', d int, t text DEFAULT 'c') INHERITS (parent);
        ALTER TABLE child ALTER COLUMN x SET DEFAULT 2;
        CREATE TABLE gc () INHERITS (child);
        ALTER TABLE parent ALTER COLUMN x SET DEFAULT 5;
        ALTER TABLE parent ALTER COLUMN id SET NOT NULL;
        ALTER TABLE parent ADD COLUMN z int DEFAULT 7;
        ALTER TABLE parent DROP COLUMN d;
        ALTER TABLE parent ALTER COLUMN z TYPE bigint;
        ALTER TABLE parent ALTER COLUMN t TYPE varchar(10);
        ALTER TABLE parent ALTER COLUMN id DROP NOT NULL;
        ALTER TABLE parent ALTER COLUMN t DROP DEFAULT;
    """,
    # ONLY: the children keep their defaults and NOT NULL, and a column dropped from the parent
    # alone stays in the child as its own, then leaves the grandchild with the child's DROP.
    "only": """
        CREATE TABLE parent (id int, x int DEFAULT 1, n int);
        CREATE TABLE child (y text) INHERITS (parent);
        CREATE TABLE gc () INHERITS (child);
        ALTER TABLE ONLY parent ALTER COLUMN x SET DEFAULT 9;
        ALTER TABLE ONLY parent ALTER COLUMN n SET NOT NULL;
        ALTER TABLE ONLY parent ALTER COLUMN x DROP DEFAULT;
        ALTER TABLE ONLY parent DROP COLUMN id;
        ALTER TABLE parent DROP COLUMN x;
        ALTER TABLE child DROP COLUMN id;
    """,
    # Two parents: the default comes from the parent that has one; a column both give stays
    # until both drop it.
    "multiple_parents": """
        CREATE TABLE p1 (id int, x int, n int);
        CREATE TABLE p2 (x int DEFAULT 3, q int);
        CREATE TABLE multi (own text) INHERITS (p1, p2);
        CREATE TABLE below () INHERITS (multi);
        ALTER TABLE p1 DROP COLUMN x;
        ALTER TABLE p1 ALTER COLUMN n SET DEFAULT 4;
        ALTER TABLE p2 ALTER COLUMN x SET NOT NULL;
        ALTER TABLE p2 DROP COLUMN x;
        ALTER TABLE p2 ADD COLUMN id int DEFAULT 8;
        ALTER TABLE p2 DROP COLUMN id;
    """,
    # A diamond: the grandchild has x from both children, so it loses x with the second.
    "diamond": """
        CREATE TABLE top (id int, x int DEFAULT 1);
        CREATE TABLE left_side () INHERITS (top);
        CREATE TABLE right_side () INHERITS (top);
        CREATE TABLE bottom () INHERITS (left_side, right_side);
        ALTER TABLE top ALTER COLUMN x SET DEFAULT 2;
        ALTER TABLE top ADD COLUMN y int NOT NULL DEFAULT 0;
        ALTER TABLE top DROP COLUMN x;
    """,
    # ADD COLUMN merges into a child's column of that name (keeping its default); a primary
    # key's NOT NULL reaches the children; CHECKs stay with the table that declares them (the
    # child's own merged copy survives the parent's DROP CONSTRAINT); DROP EXPRESSION recurses
    # (PostgreSQL 15 refuses it where a child has children of its own).
    "columns_and_keys": """
        CREATE TABLE parent (id int, x text DEFAULT 'a');
        CREATE TABLE child (w int, d int DEFAULT 4, CONSTRAINT ck CHECK (id > 0)) INHERITS (parent);
        CREATE TABLE gc () INHERITS (child);
        ALTER TABLE parent ADD COLUMN d int;
        ALTER TABLE parent ADD PRIMARY KEY (id);
        ALTER TABLE parent ADD COLUMN k int UNIQUE NOT NULL;
        ALTER TABLE parent ADD CONSTRAINT ck CHECK (id > 0);
        ALTER TABLE parent ADD CONSTRAINT ck2 CHECK (id < 100);
        ALTER TABLE parent DROP CONSTRAINT ck;
        CREATE TABLE gen (id int, g int GENERATED ALWAYS AS (id * 2) STORED);
        CREATE TABLE gen_child () INHERITS (gen);
        ALTER TABLE gen ALTER COLUMN g DROP EXPRESSION;
        ALTER TABLE parent ADD CONSTRAINT u UNIQUE (x);
    """,
    # INHERIT / NO INHERIT: an adopted child's columns are its own (they outlive the parent's
    # DROP COLUMN); after NO INHERIT nothing reaches it.
    "inherit_no_inherit": """
        CREATE TABLE q (a int, b int);
        CREATE TABLE r (a int, b int DEFAULT 3, c text);
        CREATE TABLE r_child () INHERITS (r);
        ALTER TABLE r INHERIT q;
        ALTER TABLE q DROP COLUMN b;
        ALTER TABLE q ADD COLUMN c text DEFAULT 'q';
        ALTER TABLE q ADD COLUMN d text DEFAULT 'd';
        ALTER TABLE q ALTER COLUMN a SET DEFAULT 1;
        ALTER TABLE r NO INHERIT q;
        ALTER TABLE q DROP COLUMN d;
        ALTER TABLE q ALTER COLUMN a SET DEFAULT 2;
    """,
    # Partitions and sub-partitions: the hand-found script (without its RENAME), a partition's
    # own default created WITH OPTIONS and overwritten by the parent's, ONLY on the parent, an
    # attached table (its columns become inherited: DROP COLUMN takes them) and a detached one.
    "partitions": """
        CREATE TABLE events (id bigint NOT NULL, at timestamptz NOT NULL, kind text)
            PARTITION BY RANGE (at);
        CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        ALTER TABLE events ADD COLUMN payload jsonb DEFAULT '{}';
        ALTER TABLE events ALTER COLUMN kind SET DEFAULT 'x';
        ALTER TABLE events ALTER COLUMN kind SET NOT NULL;
        ALTER TABLE events ADD CONSTRAINT kind_check CHECK (kind <> '');
        ALTER TABLE events DROP COLUMN payload;
        ALTER TABLE events ADD COLUMN p2 int;
        ALTER TABLE events ALTER COLUMN p2 TYPE bigint;
        CREATE TABLE p (a int, b int DEFAULT 1) PARTITION BY LIST (a);
        CREATE TABLE p1 PARTITION OF p (b DEFAULT 2) FOR VALUES IN (1) PARTITION BY LIST (b);
        CREATE TABLE p1a PARTITION OF p1 FOR VALUES IN (1);
        CREATE TABLE p2 (a int, b int DEFAULT 5, c int);
        ALTER TABLE p2 DROP COLUMN c;
        ALTER TABLE p ATTACH PARTITION p2 FOR VALUES IN (2);
        CREATE TABLE p3 (a int, b int);
        ALTER TABLE p ATTACH PARTITION p3 FOR VALUES IN (3);
        ALTER TABLE p ADD COLUMN c int DEFAULT 0;
        ALTER TABLE p ALTER COLUMN c SET NOT NULL;
        ALTER TABLE ONLY p ALTER COLUMN c SET DEFAULT 8;
        ALTER TABLE p ALTER COLUMN c TYPE bigint;
        ALTER TABLE p DETACH PARTITION p3;
        ALTER TABLE p ADD COLUMN e int;
        ALTER TABLE p DROP COLUMN e;
        ALTER TABLE p ALTER COLUMN c DROP NOT NULL;
    """,
    # RENAME COLUMN reaches every table below (renameatt), with what refers to the column.
    "renamed_columns": """
        CREATE TABLE p (id int, k text, v int CHECK (v > 0));
        CREATE TABLE c1 (extra int) INHERITS (p);
        CREATE TABLE c2 () INHERITS (c1);
        CREATE INDEX c1_k ON c1 (lower(k));
        CREATE VIEW c2_ks AS SELECT k FROM c2;
        ALTER TABLE p RENAME COLUMN k TO kind;
        CREATE TABLE e (id bigint NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);
        CREATE TABLE e_2026 PARTITION OF e FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        CREATE INDEX e_kind ON e (kind);
        ALTER TABLE e RENAME COLUMN kind TO event_kind;
        ALTER TABLE e ADD COLUMN p2 int;
        -- A renamed child keeps what it declared itself: the parent's DROP COLUMN leaves it.
        CREATE TABLE q (id int, x int);
        CREATE TABLE qc (x int) INHERITS (q);
        ALTER TABLE qc RENAME TO qc2;
        ALTER TABLE q DROP COLUMN x;
    """,
}


@pytest.mark.parametrize("case", sorted(REPLAY_CASES))
def test_replayed_script_equals_the_server(
    case: str, any_pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    script = tmp_path / f"{case}.sql"
    script.write_text(REPLAY_CASES[case])
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    code, out, _ = run("diff", script, dsn)
    assert (code, "no differences" in out) == (0, True), out
    assert read_sql([script]).warnings == []
    # pg_dump writes the result with ONLY, local columns and ATTACH: replayed, it is the
    # database restored from it, and the original one (but pg_dump before 18 cannot say that
    # ONLY ... SET NOT NULL left the children nullable: restored, they are NOT NULL).
    dump = tmp_path / f"{case}.dump.sql"
    subprocess.run([any_pg.tool("pg_dump"), "-s", "-f", str(dump), "-d", dsn], check=True)
    restored = make_db(server=any_pg)
    any_pg.psql_file(restored, dump)
    code, out, _ = run("diff", dump, restored)
    assert (code, "no differences" in out) == (0, True), out
    if case != "only" or any_pg.version >= 180000:
        code, out, _ = run("diff", dump, dsn)
        assert (code, "no differences" in out) == (0, True), out


def replay(tmp_path: Path, text: str) -> Catalog:
    path = tmp_path / "script.sql"
    path.write_text(text)
    return read_sql([path])


def test_replay_recursion_in_the_catalog(tmp_path: Path) -> None:
    """What a user sees in the replayed catalog itself (no server needed)."""
    catalog = replay(tmp_path, REPLAY_CASES["single_parent"])
    child, gc = catalog.tables["public.child"], catalog.tables["public.gc"]
    assert [c.name for c in child.columns] == ["id", "x", "d", "t", "y", "z"]
    assert child.column("x").default == gc.column("x").default == "5"
    assert child.column("t").type == "character varying(10)"
    assert child.column("t").default is None  # the parent's DROP DEFAULT reached it
    only = replay(tmp_path, REPLAY_CASES["only"])
    assert [c.name for c in only.tables["public.child"].columns] == ["n", "y"]
    assert [c.name for c in only.tables["public.gc"].columns] == ["n", "y"]


@pytest.mark.parametrize(("script", "message"), [
    ("CREATE TABLE a (x int); CREATE TABLE b () INHERITS (a);\n"
     "ALTER TABLE ONLY a ADD COLUMN y int;", "column must be added to child tables too"),
    ("CREATE TABLE a (x int); CREATE TABLE b () INHERITS (a);\n"
     "ALTER TABLE ONLY a ALTER COLUMN x TYPE bigint;", "must be changed in child tables too"),
    ("CREATE TABLE a (x int) PARTITION BY LIST (x);\n"
     "CREATE TABLE a1 PARTITION OF a FOR VALUES IN (1);\n"
     "ALTER TABLE a ADD COLUMN y int; ALTER TABLE ONLY a DROP COLUMN y;",
     "cannot drop column from only the partitioned table"),
    ("CREATE TABLE a (x int); CREATE TABLE b () INHERITS (a);\n"
     "ALTER TABLE ONLY a RENAME COLUMN x TO y;", "must be renamed in child tables too"),
])
def test_what_the_server_refuses_is_an_error(
    script: str, message: str, pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.sql"
    path.write_text(script)
    dsn = make_db()
    with pytest.raises(Exception, match=message):
        run_sql(dsn, script)
    with pytest.raises(SqlError, match=message) as caught:
        read_sql([path])
    assert caught.value.line == script.count("\n") + 1


@pytest.mark.parametrize(("script", "name"), [
    # A NOT NULL the child declared itself: PostgreSQL 18 keeps it, 15-17 drop it.
    ("CREATE TABLE a (n int); CREATE TABLE b (n int NOT NULL) INHERITS (a);\n"
     "ALTER TABLE a ALTER COLUMN n SET NOT NULL;\nALTER TABLE a ALTER COLUMN n DROP NOT NULL;\n",
     "public.b.n"),
    # ADD COLUMN ... NOT NULL merged into a child's nullable column: 18 makes it NOT NULL.
    ("CREATE TABLE a (n int); CREATE TABLE b (w int) INHERITS (a);\n"
     "ALTER TABLE a ADD COLUMN w int NOT NULL DEFAULT 1;\n", "public.b.w"),
])
def test_version_dependent_recursion_is_a_warning(
    script: str, name: str, any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    """Where servers differ, pgspec replays 15-17's behaviour and says so; on those versions
    the replay is exact."""
    path = tmp_path / "s.sql"
    path.write_text(script)
    offline = read_sql([path])
    assert [w.name for w in offline.warnings] == [name]
    assert "PostgreSQL 18" in offline.warnings[0].message
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, path)
    table, column = name.rsplit(".", 1)
    live = introspect(dsn).tables[table].column(column)
    expected = offline.tables[table].column(column)
    if any_pg.version < 180000:
        assert live == expected
    else:
        assert live.not_null and not expected.not_null


# --------------------------------------------------------------------------- render

#: Databases whose children override inherited defaults and NOT NULL; inspect -> render ->
#: apply -> verify must come back clean.
RENDER_CASES: dict[str, str] = {
    "single_parent": """
        CREATE TABLE parent (id int, x int DEFAULT 1, n int, keep int DEFAULT 3);
        CREATE TABLE child (y text DEFAULT 'a') INHERITS (parent);
        ALTER TABLE child ALTER COLUMN x SET DEFAULT 2;
        ALTER TABLE child ALTER COLUMN n SET NOT NULL;
        ALTER TABLE child ALTER COLUMN keep DROP DEFAULT;
    """,
    # The grandchild has no overrides of its own: it inherits the child's values.
    "grandchild": """
        CREATE TABLE parent (id int, x int DEFAULT 1, n int);
        CREATE TABLE child () INHERITS (parent);
        ALTER TABLE ONLY child ALTER COLUMN x SET DEFAULT 2;
        ALTER TABLE ONLY child ALTER COLUMN n SET NOT NULL;
        CREATE TABLE gc () INHERITS (child);
        CREATE TABLE gc2 () INHERITS (child);
        ALTER TABLE gc2 ALTER COLUMN x SET DEFAULT 1;
    """,
    # Several parents: the inherited default is the one parent that has one; differing
    # defaults make the child state its own (listed in CREATE TABLE).
    "multiple_parents": """
        CREATE TABLE p1 (id int, x int, c int DEFAULT 1);
        CREATE TABLE p2 (x int DEFAULT 3, n int, c int DEFAULT 2);
        CREATE TABLE m1 (c int DEFAULT 1) INHERITS (p1, p2);
        CREATE TABLE m2 (c int DEFAULT 5) INHERITS (p1, p2);
        ALTER TABLE m2 ALTER COLUMN x SET DEFAULT 4;
        ALTER TABLE m2 ALTER COLUMN n SET NOT NULL;
    """,
    # A parent's default calling a function is set after the function, and reaches the
    # children then: their own defaults, or their lack of one, are set after it.
    "deferred_parent_default": """
        CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 42';
        CREATE TABLE parent (id int, x int DEFAULT f(), y int DEFAULT 1, z int DEFAULT f());
        CREATE TABLE child () INHERITS (parent);
        ALTER TABLE ONLY child ALTER COLUMN x SET DEFAULT 2;
        ALTER TABLE ONLY child ALTER COLUMN y SET DEFAULT f();
        CREATE TABLE gc () INHERITS (child);
        ALTER TABLE ONLY gc ALTER COLUMN y SET DEFAULT 3;
        CREATE TABLE c2 () INHERITS (parent);
        ALTER TABLE ONLY c2 ALTER COLUMN z DROP DEFAULT;
        CREATE TABLE p (a int, b int DEFAULT f()) PARTITION BY LIST (a);
        CREATE TABLE p1 PARTITION OF p (b DEFAULT 2) FOR VALUES IN (1);
        CREATE TABLE p2 PARTITION OF p FOR VALUES IN (2);
        ALTER TABLE ONLY p2 ALTER COLUMN b DROP DEFAULT;
    """,
    "partition": """
        CREATE TABLE p (a int, b int DEFAULT 1, n int) PARTITION BY LIST (a);
        CREATE TABLE p1 PARTITION OF p (b DEFAULT 2, n NOT NULL) FOR VALUES IN (1)
            PARTITION BY LIST (b);
        CREATE TABLE p1a PARTITION OF p1 FOR VALUES IN (1);
        CREATE TABLE p1b PARTITION OF p1 (b DEFAULT 7) FOR VALUES IN (2);
    """,
}


@pytest.mark.parametrize("case", sorted(RENDER_CASES))
def test_render_keeps_inherited_column_overrides(
    case: str, any_pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    source, target = make_db(server=any_pg), make_db(server=any_pg)
    run_sql(source, RENDER_CASES[case])
    spec = tmp_path / "spec"
    code, _, err = run("inspect", source, "-o", spec)
    assert code == 0, err
    code, ddl, err = run("render", "--spec", spec)
    assert code == 0, err
    script = tmp_path / "render.sql"
    script.write_text(ddl)
    any_pg.psql_file(target, script)
    code, out, _ = run("verify", "--spec", spec, "--dsn", target)
    assert code == 0, out + "\n----\n" + ddl
    # The rendered DDL, replayed offline, is the spec too.
    code, out, _ = run("diff", spec, script)
    assert code == 0, out


def test_render_sets_an_inherits_childs_own_values_as_pg_dump_does(
    pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    source = make_db()
    run_sql(source, RENDER_CASES["single_parent"])
    run("inspect", source, "-o", tmp_path / "spec")
    _, ddl, _ = run("render", "--spec", tmp_path / "spec")
    table = ddl[ddl.index("CREATE TABLE public.child"):]
    assert table.startswith(
        "CREATE TABLE public.child (\n    y text DEFAULT 'a'\n)\nINHERITS (public.parent);\n"
        "ALTER TABLE ONLY public.child ALTER COLUMN x SET DEFAULT 2;\n"
        "ALTER TABLE ONLY public.child ALTER COLUMN n SET NOT NULL;\n"
        "ALTER TABLE ONLY public.child ALTER COLUMN keep DROP DEFAULT;\n"
    )


def test_team_render_is_unchanged(run: Run) -> None:
    """The team's schema has no inheritance: its committed init scripts stay byte for byte."""
    from tests.fix_db import ROOT

    code, out, err = run("render", "--check", "--spec", ROOT / "schema", "--split",
                         ROOT / "supabase" / "migrations")
    assert code == 0, out + err
