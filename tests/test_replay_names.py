"""Objects nobody named get, in the offline replay, the names the server gives them.

A script compared with the database it built must not report a false missing/unexpected pair
because the replay named an unnamed index or constraint otherwise than the server did (or, worse,
named two objects alike, the second hiding the first). Each case is applied to a real server
(PostgreSQL 18 and 15) and replayed: the names of the relations and constraints the server made
must be those of the replay, and ``pgspec diff`` must be empty both ways. What the server does
(``ChooseIndexName`` / ``ChooseRelationName`` in indexcmds.c, ``ChooseConstraintName`` in
pg_constraint.c, ``FigureIndexColname`` in parse_target.c):

1. a name already taken is numbered (``src_a_idx1``): an index's past any relation of the schema,
   a primary key's, unique's or exclusion's past any relation or constraint of the schema, a
   CHECK's or foreign key's past any constraint of the schema (a domain's too);
2. the column names inside one index name are made distinct (``src_a_a1_idx``);
3. an expression key is named as an unaliased SELECT would name it (``code::varchar`` is
   ``code``, ``int4range(a, b)`` is ``int4range``), or ``expr``;
4. INCLUDE columns are part of the name (``src_r_a_excl``), except a primary key's;
5. names are fitted into 63 bytes, the longer part trimmed first, never inside a multibyte
   character, numbered variants fitted afresh.

Within one CREATE TABLE the server makes CHECKs first, then the primary key, the other unique and
exclusion constraints, foreign keys last, and each name is numbered past those made before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pgspec import naming
from pgspec.quoting import qualified
from pgspec.sources.sql import read_sql
from tests.fix_db import Run
from tests.pgserver import Server
from tests.script_checks import (
    assert_drift_reported,
    built_from_script,
    diff_report,
    report_lines,
)

LONG_TABLE = "t" * 45 + "é" * 5  # 55 bytes
LONG_COLUMN = "c" * 30 + "ü" * 10  # 50 bytes
FULL_COLUMN = "d" * 61 + "é"  # 63 bytes: the most a name holds
WIDE_TABLE = "é" * 31 + "x"  # 63 bytes, a multibyte character at every other clipping point

CASES: dict[str, str] = {
    # 1. Numbered past every relation of the schema: indexes, tables, sequences, views, the
    # index of a constraint; an index's name ignores constraints, a unique's does not.
    "numbered": """
        CREATE TABLE src (a int, b int, c int);
        CREATE INDEX ON src (a);
        CREATE UNIQUE INDEX ON src (a);
        CREATE INDEX ON src (a) WHERE a > 0;
        CREATE TABLE src_b_idx (z int);
        CREATE INDEX ON src (b);
        CREATE SEQUENCE src_c_idx;
        CREATE VIEW src_c_idx1 AS SELECT 1 AS one;
        CREATE INDEX ON src (c);
        ALTER TABLE src ADD UNIQUE (c);
        CREATE INDEX src_c_key1 ON src_b_idx (z);
        ALTER TABLE src ADD UNIQUE (c);
        CREATE TABLE y (a int, CONSTRAINT y_a_idx CHECK (a > 0));
        CREATE INDEX ON y (a);
        CREATE TABLE z (a int, CONSTRAINT z_a_key CHECK (a > 0));
        ALTER TABLE z ADD UNIQUE (a);
        CREATE TABLE v_pkey (x int);
        CREATE TABLE v (id int PRIMARY KEY);
        CREATE TYPE w_pkey AS (x int);
        CREATE TABLE w (id int PRIMARY KEY);
        CREATE TABLE m (a int);
        CREATE MATERIALIZED VIEW m_a_idx AS SELECT 1 AS one;
        CREATE INDEX ON m (a);
        -- a name freed by DROP or RENAME is free again
        CREATE TABLE f (a int);
        CREATE INDEX ON f (a);
        DROP INDEX f_a_idx;
        CREATE INDEX ON f (a);
        ALTER INDEX f_a_idx RENAME TO f_first;
        CREATE INDEX ON f (a);
        -- another schema's names do not count
        CREATE SCHEMA o;
        CREATE TABLE o.src (a int);
        CREATE INDEX ON o.src (a);
        CREATE TABLE o.f_a_idx1 (x int);
    """,
    # 1. A CHECK's and a foreign key's name is numbered past any constraint of the schema,
    # a domain's included, never past a relation; within CREATE TABLE, CHECKs come first and
    # foreign keys last, wherever they are written.
    "constraints_schema_wide": """
        CREATE TABLE r (id int PRIMARY KEY);
        CREATE TABLE w (a_b int CHECK (a_b > 0));
        CREATE TABLE w_a (b int CHECK (b > 0), CHECK (b < 100), CHECK (b <> 7));
        CREATE DOMAIN x_a AS int CHECK (VALUE > 0);
        CREATE TABLE x (a int CHECK (a > 0));
        CREATE INDEX q_a_check ON w (a_b);
        CREATE TABLE q (a int CHECK (a > 0));
        CREATE TABLE t (a int UNIQUE, CONSTRAINT t_a_key CHECK (a > 0));
        CREATE TABLE u (a int REFERENCES r, CONSTRAINT u_a_fkey UNIQUE (a));
        CREATE TABLE pk (a int PRIMARY KEY, CONSTRAINT pk_pkey CHECK (a > 0));
        CREATE TABLE k (a int, b int, UNIQUE (a), UNIQUE (a) DEFERRABLE, UNIQUE (a, b),
                        UNIQUE (a) INCLUDE (b), FOREIGN KEY (a) REFERENCES r,
                        FOREIGN KEY (a) REFERENCES r);
        CREATE TABLE s (id int, CONSTRAINT k_a_fkey2 CHECK (id > 0));
        ALTER TABLE k ADD FOREIGN KEY (a) REFERENCES r;
    """,
    # 1. Names free again, or taken, as the script drops, renames, moves and rolls back.
    "freed_names": """
        CREATE TABLE t (a int CHECK (a > 0));
        ALTER TABLE t DROP CONSTRAINT t_a_check;
        ALTER TABLE t ADD CHECK (a > 1);
        BEGIN;
        ALTER TABLE t ADD CHECK (a > 2);
        CREATE INDEX ON t (a);
        ROLLBACK;
        ALTER TABLE t ADD CHECK (a > 3);
        ALTER TABLE t RENAME TO u;
        CREATE TABLE t (a int CHECK (a > 0));
        ALTER TABLE u RENAME CONSTRAINT t_a_check TO u_first;
        ALTER TABLE t ADD CHECK (a > 5);
        CREATE TABLE k (id int PRIMARY KEY);
        ALTER TABLE k DROP CONSTRAINT k_pkey;
        ALTER TABLE k ADD PRIMARY KEY (id);
        BEGIN;
        CREATE INDEX ON t (a);
        COMMIT;
        CREATE INDEX ON t (a);
        CREATE SCHEMA o;
        ALTER TABLE u SET SCHEMA o;
        ALTER TABLE t ADD CHECK (a > 6);
        ALTER TABLE t ADD CHECK (a > 7);
        DROP TABLE k;
        CREATE TABLE k_pkey (x int PRIMARY KEY);
    """,
    # 1. The indexes a partition has for its parent's are relations too, unlisted.
    "partitions": """
        CREATE TABLE p (a int, b int, PRIMARY KEY (a, b)) PARTITION BY RANGE (a);
        CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (10);
        CREATE INDEX ON p (a);
        CREATE INDEX ON p1 (a);
        CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (10) TO (20);
        CREATE INDEX ON p2 (a);
        ALTER TABLE p2 ADD UNIQUE (a, b);
        CREATE TABLE p1_pkey1 (x int);
        CREATE TABLE p3 (a int NOT NULL, b int NOT NULL);
        CREATE INDEX ON p3 (a, a);
        ALTER TABLE p ATTACH PARTITION p3 FOR VALUES FROM (20) TO (30);
        CREATE INDEX ON p3 (a);
    """,
    # 2. Column names made distinct inside one index name.
    "distinct_columns": """
        CREATE TABLE src (a int, x text, y text);
        CREATE INDEX ON src (a, a);
        CREATE INDEX ON src (lower(x), lower(y));
        CREATE INDEX ON src (a, (a + 1), (a + 2));
        CREATE INDEX ON src ((a + 1), (a - 1), (a * 2));
        CREATE INDEX ON src (a) INCLUDE (x);
        CREATE INDEX ON src (x) INCLUDE (a);
        CREATE INDEX ON src (upper(x)) INCLUDE (y);
    """,
    # 3. Expression keys named by FigureIndexColname.
    "expression_names": """
        CREATE EXTENSION IF NOT EXISTS btree_gist;
        CREATE TABLE src (a int, b int, code text, x text);
        CREATE INDEX ON src ((code::varchar));
        CREATE INDEX ON src ((x::varchar(3)));
        CREATE INDEX ON src ((a::text::int));
        CREATE INDEX ON src ((1::int));
        CREATE INDEX ON src ((x COLLATE "C"));
        CREATE INDEX ON src ((CASE WHEN a > 0 THEN 1 END));
        CREATE INDEX ON src ((CASE WHEN a > 0 THEN 1 ELSE b END));
        CREATE INDEX ON src ((coalesce(a, b)));
        CREATE INDEX ON src ((nullif(a, b)));
        CREATE INDEX ON src ((greatest(a, b)), (least(a, b)));
        CREATE INDEX ON src (((a)));
        CREATE INDEX ON src ((a + b));
        CREATE INDEX ON src (pg_catalog.int4range(a, b));
        CREATE TABLE ex (a int, b int, c int,
                         EXCLUDE USING gist (int4range(a, b) WITH &&, c WITH =));
        ALTER TABLE ex ADD EXCLUDE USING gist ((a + b) WITH =);
        ALTER TABLE ex ADD EXCLUDE USING gist ((c::bigint) WITH =);
    """,
    # 4. INCLUDE columns name the index (not a primary key's).
    "include_columns": """
        CREATE EXTENSION IF NOT EXISTS btree_gist;
        CREATE TABLE src (r int4range, a int, b int, c int,
                          EXCLUDE USING gist (r WITH &&) INCLUDE (a),
                          UNIQUE (a) INCLUDE (b, c),
                          PRIMARY KEY (c) INCLUDE (a));
        CREATE TABLE b (lo int, hi int, code text, UNIQUE (lo, hi) INCLUDE (code));
        ALTER TABLE b ADD UNIQUE (lo, hi, code);
        ALTER TABLE b ADD EXCLUDE USING gist (lo WITH =) INCLUDE (lo);
        CREATE UNIQUE INDEX ON b (lo) INCLUDE (hi);
    """,
    # 5. Fitted into 63 bytes, multibyte-safe, the numbered variants too.
    "long_names": f"""
        CREATE EXTENSION IF NOT EXISTS btree_gist;
        CREATE TABLE "{LONG_TABLE}" (
            "{LONG_COLUMN}" int UNIQUE CHECK ("{LONG_COLUMN}" > 0),
            "{FULL_COLUMN}" int CHECK ("{FULL_COLUMN}" > 0) CHECK ("{FULL_COLUMN}" < 9),
            id int PRIMARY KEY,
            UNIQUE ("{LONG_COLUMN}") DEFERRABLE,
            EXCLUDE USING gist ("{LONG_COLUMN}" WITH =),
            EXCLUDE USING gist ("{LONG_COLUMN}" WITH =) INCLUDE (id),
            FOREIGN KEY ("{FULL_COLUMN}") REFERENCES "{LONG_TABLE}" (id),
            FOREIGN KEY ("{FULL_COLUMN}") REFERENCES "{LONG_TABLE}" (id));
        CREATE INDEX ON "{LONG_TABLE}" ("{LONG_COLUMN}");
        CREATE INDEX ON "{LONG_TABLE}" ("{LONG_COLUMN}");
        CREATE INDEX ON "{LONG_TABLE}" ("{FULL_COLUMN}", "{FULL_COLUMN}", "{FULL_COLUMN}");
        CREATE INDEX ON "{LONG_TABLE}" (abs("{FULL_COLUMN}"), abs(id), abs(id));
        CREATE TABLE "{WIDE_TABLE}" (a int PRIMARY KEY, b int UNIQUE, CHECK (b > a));
        CREATE INDEX ON "{WIDE_TABLE}" (b);
        CREATE INDEX ON "{WIDE_TABLE}" (b);
        CREATE INDEX ON "{WIDE_TABLE}" (b, a);
        CREATE TABLE "{WIDE_TABLE[:-1]}" (a int PRIMARY KEY);
    """,
}


def _server_names(dsn: str) -> tuple[set[str], set[str]]:
    """The server's index names and (non NOT NULL) constraint names, schema-qualified as
    pgspec keys them (``public.src_a_idx``; ``public.t.t_a_key``); not a partition's that
    belong to its parent's, which no reader lists."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        indexes = {f"{s}.{n}" for s, n in conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE c.relkind IN ('i', 'I') AND n.nspname IN"
            " ('public', 'o') AND NOT c.relispartition AND NOT EXISTS (SELECT FROM pg_constraint k"
            " WHERE k.conindid = c.oid AND k.contype IN ('p', 'u', 'x'))")}
        constraints = {f"{s}.{t}.{n}" for s, t, n in conn.execute(
            "SELECT n.nspname, c.relname, k.conname FROM pg_constraint k"
            " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE k.contype <> 'n' AND k.conparentid = 0 AND n.nspname IN ('public', 'o')")}
    return indexes, constraints


def _unquoted(key: str) -> str:
    """pgspec's key with the quotes a long or multibyte name needs taken off, to compare with
    names read from the catalogs (no name in these cases holds a dot or a quote)."""
    return key.replace('"', "")


@pytest.mark.parametrize("case", sorted(CASES))
def test_unnamed_objects_get_the_servers_names(
    case: str, any_pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    script, dsn = built_from_script(any_pg, make_db, tmp_path, CASES[case], case)
    catalog = read_sql(script)
    indexes, constraints = _server_names(dsn)
    assert {_unquoted(k) for k in catalog.indexes} == indexes
    assert {_unquoted(k) for k in catalog.constraints} == constraints
    for expected, actual in ((script, dsn), (dsn, script)):
        code, report = diff_report(run, expected, actual, "--schema", "public", "--schema", "o")
        assert not report_lines(report), "\n".join(report_lines(report))
        assert code == 0


def test_the_names_spelled_out(tmp_path: Path) -> None:
    """For the reader (the cases above compare them with a server): what each rule makes."""
    script = tmp_path / "names.sql"
    script.write_text(CASES["numbered"] + CASES["expression_names"].replace("src", "e")
                      + CASES["include_columns"].replace("src", "i"))
    catalog = read_sql(script)
    indexes = {k for k in catalog.indexes if k.startswith(("public.src_", "public.e_"))}
    assert indexes == {
        "public.src_a_idx", "public.src_a_idx1", "public.src_a_idx2", "public.src_b_idx1",
        "public.src_c_idx2", "public.src_c_key1",
        "public.e_code_idx", "public.e_x_idx", "public.e_a_idx", "public.e_int4_idx",
        "public.e_x_idx1", "public.e_case_idx", "public.e_b_idx", "public.e_coalesce_idx",
        "public.e_nullif_idx", "public.e_greatest_least_idx", "public.e_a_idx1",
        "public.e_expr_idx", "public.e_int4range_idx"}
    names = {c.name for c in catalog.constraints.values()}
    assert {"src_c_key", "src_c_key2", "z_a_key1", "v_pkey1", "w_pkey1", "ex_int4range_c_excl",
            "ex_expr_excl", "ex_c_excl", "i_r_a_excl", "i_a_b_c_key", "i_pkey", "b_lo_hi_code_key",
            "b_lo_hi_code_key1", "b_lo_lo1_excl"} <= names
    assert "public.b_lo_hi_idx" in catalog.indexes


_SECOND = naming.index_name(LONG_TABLE, [LONG_COLUMN], {naming.index_name(LONG_TABLE, [LONG_COLUMN])})

#: Built by the script, then changed on the server: the change the diff must report, by name.
DRIFTS: dict[str, tuple[str, str, set[tuple[str, str, str]]]] = {
    "numbered": (
        "numbered", "ALTER INDEX src_a_idx1 RENAME TO src_unique_a",
        {("index", "public.src_a_idx1", "missing"), ("index", "public.src_unique_a", "unexpected")},
    ),
    "numbered_dropped": (
        "numbered", "DROP INDEX src_a_idx2",
        {("index", "public.src_a_idx2", "missing")},
    ),
    "constraints_schema_wide": (
        "constraints_schema_wide", "ALTER TABLE x RENAME CONSTRAINT x_a_check1 TO x_a_positive",
        {("constraint", "public.x.x_a_check1", "missing"),
         ("constraint", "public.x.x_a_positive", "unexpected")},
    ),
    "distinct_columns": (
        "distinct_columns", "ALTER INDEX src_lower_lower1_idx RENAME TO src_lower_lower_idx",
        {("index", "public.src_lower_lower1_idx", "missing"),
         ("index", "public.src_lower_lower_idx", "unexpected")},
    ),
    "expression_names": (
        "expression_names", "ALTER TABLE ex DROP CONSTRAINT ex_int4range_c_excl",
        {("constraint", "public.ex.ex_int4range_c_excl", "missing")},
    ),
    "include_columns": (
        "include_columns", "ALTER TABLE src RENAME CONSTRAINT src_r_a_excl TO src_r_excl",
        {("constraint", "public.src.src_r_a_excl", "missing"),
         ("constraint", "public.src.src_r_excl", "unexpected")},
    ),
    "long_names": (
        "long_names", f'ALTER INDEX "{_SECOND}" RENAME TO short_one',
        {("index", qualified("public", _SECOND), "missing"),
         ("index", "public.short_one", "unexpected")},
    ),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_a_real_change_is_still_reported(
    drift: str, pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    case, change, expected = DRIFTS[drift]
    assert_drift_reported(pg, make_db, run, tmp_path, CASES[case], case, change, expected)


def test_long_names_are_fitted_as_the_server_fits_them() -> None:
    """The arithmetic on its own (the ``long_names`` case checks it against servers)."""
    assert naming.index_column_names([FULL_COLUMN, FULL_COLUMN, FULL_COLUMN]) == [
        FULL_COLUMN, "d" * 61 + "1", "d" * 61 + "2"]
    assert naming.index_column_names(["a", "a", "a1"]) == ["a", "a1", "a11"]
    # 58 bytes are left for the table's name: 29 two-byte characters; never half of one.
    first = naming.index_name(WIDE_TABLE, ["b"])
    assert first == "é" * 28 + "_b_idx"
    assert naming.index_name(WIDE_TABLE, ["b"], {first}) == "é" * 28 + "_b_idx1"
    pkey = naming.primary_key_name(WIDE_TABLE)
    assert pkey == naming.primary_key_name(WIDE_TABLE[:-1]) == "é" * 29 + "_pkey"
    assert naming.primary_key_name(WIDE_TABLE[:-1], {pkey}) == "é" * 28 + "_pkey1"


def test_serial_sequences_are_numbered(
    pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    script, dsn = built_from_script(pg, make_db, tmp_path,
                         "CREATE TABLE s (id_x serial); CREATE TABLE s_id (x serial);", "serial")
    assert sorted(s.name for s in read_sql(script).sequences.values()) == [
        "s_id_x_seq", "s_id_x_seq1"]
    code, report = diff_report(run, script, dsn)
    assert not report_lines(report), "\n".join(report_lines(report))
    assert code == 0
