"""ALTER TABLE ... ADD PRIMARY KEY / UNIQUE USING INDEX, replayed as the server applies it.

The index becomes the constraint's (renamed to the constraint's name), its columns the
constraint's, a primary key makes them NOT NULL, and the index is then listed as the
constraint only, by the live reader and the replay alike. What the server refuses, the replay
refuses with the script's file and line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pgspec.diff import diff
from pgspec.errors import SqlError
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_sql
from tests.fix_db import run_sql
from tests.pgserver import Server
from tests.script_checks import catalog_differences, replayed_and_live


def read_sql_text(tmp_path: Path, text: str):
    script = tmp_path / "script.sql"
    script.write_text(text)
    return read_sql([script])


#: Scripts whose replay must equal what the server built from them, on 15 and 18.
CASES: dict[str, str] = {
    # migra's constraints case: the index takes the constraint's own name, deferrable.
    "primary_key_deferrable": """
        CREATE TABLE c (cc int UNIQUE);
        CREATE UNIQUE INDEX c_pkey ON public.c USING btree (cc);
        ALTER TABLE public.c ADD CONSTRAINT c_pkey PRIMARY KEY USING INDEX c_pkey
            DEFERRABLE INITIALLY DEFERRED;
    """,
    # Renamed to the constraint's name; INCLUDE columns come along; a default opclass and the
    # column's own collation written out are still the default sorting behaviour.
    "unique_renamed_with_include": """
        CREATE TABLE t (a int, b text, c int);
        CREATE UNIQUE INDEX t_idx ON t (a, b COLLATE "default" text_ops) INCLUDE (c);
        ALTER TABLE t ADD CONSTRAINT t_a_b_key UNIQUE USING INDEX t_idx;
    """,
    # No CONSTRAINT name: the constraint is named after the index.
    "unnamed": """
        CREATE TABLE t (id bigint, code text COLLATE "C");
        CREATE UNIQUE INDEX t_pk_idx ON t (id);
        CREATE UNIQUE INDEX t_code_idx ON t (code COLLATE "C") NULLS NOT DISTINCT;
        ALTER TABLE t ADD PRIMARY KEY USING INDEX t_pk_idx;
        ALTER TABLE t ADD UNIQUE USING INDEX t_code_idx;
    """,
    # In another schema, found through the search_path; the table's schema holds the index.
    "search_path": """
        CREATE SCHEMA app;
        SET search_path = app, public;
        CREATE TABLE orders (id int, ref text);
        CREATE UNIQUE INDEX orders_id ON orders (id);
        ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX orders_id;
        CREATE TABLE lines (order_id int REFERENCES orders);
    """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_equals_the_server(name: str, any_pg: Server, make_db: Callable[..., str],
                                  tmp_path: Path) -> None:
    offline, live = replayed_and_live(any_pg, make_db, tmp_path, CASES[name], name, ["public", "app"])
    assert catalog_differences(offline, live) == []
    assert catalog_differences(live, offline) == []


def test_the_constraint_takes_the_index(tmp_path: Path) -> None:
    """What the replay makes of it, as the server has it: columns, NOT NULL, name, no index."""
    script = tmp_path / "s.sql"
    script.write_text(CASES["primary_key_deferrable"] + CASES["unique_renamed_with_include"]
                      .replace(" t ", " t2 ").replace("t_idx", "t2_idx").replace("t_a_b", "t2_a_b"))
    catalog = read_sql([script])
    assert read_sql_text(tmp_path, CASES["search_path"]).constraints[
        "app.lines.lines_order_id_fkey"].references_columns == ["id"]
    pkey = catalog.constraints["public.c.c_pkey"]
    assert (pkey.kind, pkey.columns, pkey.deferrable, pkey.initially_deferred) == (
        "primary_key", ["cc"], True, True)
    assert catalog.tables["public.c"].column("cc").not_null
    key = catalog.constraints["public.t2.t2_a_b_key"]
    assert (key.kind, key.columns, key.include) == ("unique", ["a", "b"], ["c"])
    assert not catalog.tables["public.t2"].column("a").not_null
    assert "public.c_pkey" not in catalog.indexes and "public.t2_idx" not in catalog.indexes


def test_real_changes_are_still_reported(pg: Server, make_db: Callable[..., str],
                                         tmp_path: Path) -> None:
    """The database differs from the script: a plain unique index where the script made it a
    primary key, and a unique constraint that is not deferrable."""
    script = tmp_path / "s.sql"
    script.write_text("""
        CREATE TABLE c (cc int);
        CREATE UNIQUE INDEX c_pkey ON c (cc);
        ALTER TABLE c ADD CONSTRAINT c_pkey PRIMARY KEY USING INDEX c_pkey;
        CREATE TABLE d (x int);
        CREATE UNIQUE INDEX d_x ON d (x);
        ALTER TABLE d ADD CONSTRAINT d_x_key UNIQUE USING INDEX d_x DEFERRABLE;
    """)
    dsn = make_db()
    run_sql(dsn, """
        CREATE TABLE c (cc int);
        CREATE UNIQUE INDEX c_pkey ON c (cc);
        CREATE TABLE d (x int);
        CREATE UNIQUE INDEX d_x ON d (x);
        ALTER TABLE d ADD CONSTRAINT d_x_key UNIQUE USING INDEX d_x;
    """)
    found = {(d.object_type, d.name, d.change, d.attribute)
             for d in diff(read_sql([script]), introspect(dsn))}
    assert found == {
        ("column", "public.c.cc", "changed", "not_null"),
        ("constraint", "public.c.c_pkey", "missing", None),
        ("index", "public.c_pkey", "unexpected", None),
        ("constraint", "public.d.d_x_key", "changed", "deferrable"),
    }


#: (script, what the server's error says, what pgspec's says): every refusal of
#: transformIndexConstraint / ATExecAddIndexConstraint the replay mirrors.
REFUSALS: dict[str, tuple[str, str, str]] = {
    "expression": ("CREATE UNIQUE INDEX i ON t (lower(b));",
                   'index "i" contains expressions', "index 'i' contains expressions"),
    "partial": ("CREATE UNIQUE INDEX i ON t (a) WHERE a > 0;",
                '"i" is a partial index', "index 'i' is a partial index"),
    "not_unique": ("CREATE INDEX i ON t (a);",
                   '"i" is not a unique index', "index 'i' is not a unique index"),
    "descending": ("CREATE UNIQUE INDEX i ON t (a DESC);",
                   "column number 1 does not have default sorting behavior",
                   "index 'i' column number 1 does not have default sorting behavior"),
    "nulls_first": ("CREATE UNIQUE INDEX i ON t (b, a NULLS FIRST);",
                    "column number 2 does not have default sorting behavior",
                    "index 'i' column number 2 does not have default sorting behavior"),
    "opclass": ("CREATE UNIQUE INDEX i ON t (b text_pattern_ops);",
                "column number 1 does not have default sorting behavior",
                "index 'i' column number 1 does not have default sorting behavior"),
    "collation": ('CREATE UNIQUE INDEX i ON t (b COLLATE "C");',
                  "column number 1 does not have default sorting behavior",
                  "index 'i' column number 1 does not have default sorting behavior"),
    "script_opclass": (
        "CREATE OPERATOR CLASS my_int4_ops FOR TYPE int4 USING btree AS OPERATOR 1 <, "
        "OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, "
        "FUNCTION 1 btint4cmp(int4, int4);\nCREATE UNIQUE INDEX i ON t (a my_int4_ops);",
        "column number 1 does not have default sorting behavior",
        "index 'i' column number 1 does not have default sorting behavior"),
    "missing": ("SELECT 1;", 'index "i" does not exist', "index 'i' does not exist"),
    "other_table": ("CREATE TABLE u (a int);\nCREATE UNIQUE INDEX i ON u (a);",
                    'index "i" does not belong to table "t"',
                    "index 'i' does not belong to table 'public.t'"),
    "owned": ("ALTER TABLE t ADD CONSTRAINT i UNIQUE (a);",
              'index "i" is already associated with a constraint',
              "index 'i' is already associated with a constraint"),
    "second_primary_key": ("ALTER TABLE t ADD PRIMARY KEY (b);\nCREATE UNIQUE INDEX i ON t (a);",
                           'multiple primary keys for table "t" are not allowed',
                           "multiple primary keys for table 'public.t' are not allowed"),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_what_the_server_refuses_the_replay_refuses(
    name: str, pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    setup, server_says, pgspec_says = REFUSALS[name]
    kind = "UNIQUE" if name == "owned" else "PRIMARY KEY"
    text = (f"CREATE TABLE t (a int, b text);\n{setup}\n"
            f"ALTER TABLE t ADD CONSTRAINT k {kind} USING INDEX i;\n")
    script = tmp_path / "s.sql"
    script.write_text(text)
    with psycopg.connect(make_db(), autocommit=True) as conn, pytest.raises(psycopg.Error) as server:
        conn.execute(text)
    assert server_says in str(server.value)
    with pytest.raises(SqlError) as offline:
        read_sql([script])
    line = text.count("\n")  # the ALTER TABLE is the last line
    assert str(offline.value).startswith(f"{script}:{line}: {pgspec_says}")


def test_partitioned_tables_and_create_table_are_refused(pg: Server, make_db: Callable[..., str],
                                                         tmp_path: Path) -> None:
    for text, server_says, pgspec_says in [
        ("CREATE TABLE p (a int) PARTITION BY RANGE (a);\nCREATE UNIQUE INDEX i ON p (a);\n"
         "ALTER TABLE p ADD CONSTRAINT k PRIMARY KEY USING INDEX i;\n",
         "is not supported on partitioned tables", "is not supported on partitioned tables"),
        ("CREATE TABLE t (a int);\nCREATE UNIQUE INDEX i ON t (a);\n"
         "CREATE TABLE u (a int, CONSTRAINT k UNIQUE USING INDEX i);\n",
         "cannot use an existing index in CREATE TABLE",
         "cannot use an existing index in CREATE TABLE: 'i'"),
    ]:
        script = tmp_path / "s.sql"
        script.write_text(text)
        with psycopg.connect(make_db(), autocommit=True) as conn, pytest.raises(
                psycopg.Error) as server:
            conn.execute(text)
        assert server_says in str(server.value)
        with pytest.raises(SqlError, match=pgspec_says) as offline:
            read_sql([script])
        assert offline.value.line == 3
