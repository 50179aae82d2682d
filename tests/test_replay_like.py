"""CREATE TABLE ... (LIKE source INCLUDING ...) replayed offline ends where the server ends.

Each case is run on a real server (PostgreSQL 18 and 15); ``pgspec diff <script> <dsn>`` must
then report nothing: copied columns in place with their NOT NULL and collation, defaults,
generation and identity by option, CHECKs under their own names, indexes and index
constraints under the names the server chooses (``users_created_at_idx``, ``b_lo_hi_code_key``,
numbered past a name taken), comments by option, never a foreign key. What the replay cannot
know (a source it did not see) is a warning, and a real difference is still found.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.errors import SqlError
from pgspec.sources.sql import read_sql
from tests.fix_db import Run
from tests.pgserver import Server
from tests.script_checks import apply_script, built_from_script, diff_report, report_found, report_lines

CORPUS = Path("/work/shared/corpus/pgschema/create_table")

CASES: dict[str, str] = {
    # pgschema's add_table_like: a template with a CHECK, an index and comments.
    "template_timestamps": """
        CREATE TABLE public._template_timestamps (
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            deleted_at timestamptz,
            CHECK (created_at <= updated_at));
        CREATE INDEX idx_template_created_at ON public._template_timestamps (created_at);
        COMMENT ON TABLE public._template_timestamps IS 'Template for timestamp fields';
        COMMENT ON COLUMN public._template_timestamps.created_at IS 'Record creation time';
        CREATE TABLE public.products (id serial PRIMARY KEY,
            LIKE public._template_timestamps INCLUDING DEFAULTS);
        CREATE TABLE public.users (id serial PRIMARY KEY,
            LIKE public._template_timestamps INCLUDING ALL);
    """,
    # Every option alone and together, on a source with each kind of column and index.
    "every_option": """
        CREATE TABLE src (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            s serial,
            code text COLLATE "C" NOT NULL UNIQUE,
            lo int CHECK (lo > 0),
            hi int,
            g int GENERATED ALWAYS AS (lo * 2) STORED,
            r int4range,
            CONSTRAINT lohi CHECK (lo < hi) NO INHERIT,
            EXCLUDE USING gist (r WITH &&),
            UNIQUE (lo, hi) INCLUDE (code),
            FOREIGN KEY (hi) REFERENCES src (id));
        CREATE INDEX ON src (lower(code));
        CREATE INDEX ON src (hi DESC NULLS LAST) WHERE hi > 0;
        CREATE UNIQUE INDEX src_u ON src (lo);
        CREATE INDEX s_sum ON src ((lo + hi));
        CREATE INDEX s_cast ON src ((code::varchar));
        CREATE INDEX s_coalesce ON src (coalesce(lo, 0), (CASE WHEN lo > 0 THEN 1 ELSE 0 END));
        CREATE INDEX zz ON src USING hash (code);
        CREATE INDEX yy ON src (code text_pattern_ops);
        COMMENT ON INDEX src_u IS 'unique lo';
        COMMENT ON CONSTRAINT lohi ON src IS 'ordered';
        COMMENT ON CONSTRAINT src_pkey ON src IS 'the key';
        COMMENT ON COLUMN src.code IS 'the code';
        COMMENT ON TABLE src IS 'never copied';
        CREATE TABLE a (x int, LIKE src, y int CHECK (y > 0));
        CREATE TABLE b (LIKE src INCLUDING ALL);
        CREATE TABLE c (LIKE src INCLUDING ALL EXCLUDING INDEXES EXCLUDING COMMENTS);
        CREATE TABLE d (LIKE src INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
        CREATE TABLE e (LIKE src INCLUDING GENERATED INCLUDING IDENTITY INCLUDING COMMENTS);
        CREATE TABLE f (LIKE src INCLUDING INDEXES INCLUDING COMMENTS INCLUDING STORAGE
                        INCLUDING COMPRESSION INCLUDING STATISTICS);
    """,
    # Names the server picks: its own constraints first, copies numbered past any relation
    # (or, for a constraint's index, any constraint) of the schema holding the name.
    "chosen_names": """
        CREATE TABLE p (a int CHECK (a > 0), b int, CONSTRAINT ni CHECK (b > 0) NO INHERIT);
        CREATE TABLE src (c text, code text UNIQUE, CHECK (c <> '')) INHERITS (p);
        CREATE INDEX s1 ON src (lower(c), lower(c || 'x'));
        CREATE INDEX s2 ON src (a, a);
        CREATE INDEX s3 ON src (a);
        CREATE UNIQUE INDEX s4 ON src (a);
        CREATE TABLE t_lower_lower1_idx (z int);
        CREATE TABLE other (v int, CONSTRAINT t_code_key1 CHECK (v > 0));
        CREATE TABLE t (id int PRIMARY KEY, code2 text UNIQUE, LIKE src INCLUDING ALL,
                        UNIQUE (code));
    """,
    # A composite type, a parent whose column merges with a copied one, another schema.
    "composite_inherits_schemas": """
        CREATE SCHEMA app;
        CREATE TYPE app.pair AS (x int, y text COLLATE "C");
        CREATE TABLE app.src (a int NOT NULL DEFAULT 1, b text);
        CREATE TABLE p (a int DEFAULT 5, c int);
        SET search_path TO app, public;
        CREATE TABLE public.t (LIKE src INCLUDING DEFAULTS, LIKE pair INCLUDING ALL) INHERITS (p);
        CREATE TABLE public.u (LIKE src) INHERITS (p);
        RESET search_path;
        CREATE TABLE public.v (LIKE app.src INCLUDING ALL, w int);
    """,
    # Index constraints keep their options; INCLUDE columns name the copies too.
    "index_constraint_options": """
        CREATE TABLE src (
            a int UNIQUE NULLS NOT DISTINCT,
            b int,
            r int4range,
            CONSTRAINT b_later UNIQUE (b) DEFERRABLE INITIALLY DEFERRED,
            CONSTRAINT no_overlap EXCLUDE USING gist (r WITH &&) INCLUDE (a) WHERE (a > 0));
        CREATE UNIQUE INDEX src_ab ON src (a, b) NULLS NOT DISTINCT;
        CREATE TABLE t (LIKE src INCLUDING INDEXES);
    """,
    # A partitioned source, and a partition as source: it has its parent's key and indexes.
    "partitions": """
        CREATE TABLE src (a int PRIMARY KEY, b text, CHECK (a > 0)) PARTITION BY RANGE (a);
        CREATE INDEX ON src (b);
        CREATE TABLE src_1 PARTITION OF src FOR VALUES FROM (1) TO (100);
        CREATE TABLE t (LIKE src INCLUDING ALL);
        CREATE TABLE u (LIKE src_1 INCLUDING ALL);
        CREATE TABLE w (LIKE src INCLUDING CONSTRAINTS) PARTITION BY RANGE (a);
        CREATE TABLE w_1 PARTITION OF w FOR VALUES FROM (1) TO (2);
    """,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_like_replays_to_the_servers_schema(
    case: str, any_pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    script, dsn = built_from_script(any_pg, make_db, tmp_path, CASES[case], case)
    code, report = diff_report(run, script, dsn, "--schema", "public", "--schema", "app")
    assert not report_lines(report), "\n".join(report_lines(report))
    assert report["warnings"] == []
    assert code == 0


@pytest.mark.parametrize("case", ["add_table_like", "add_table_like_forward_ref"])
def test_pgschema_corpus_cases(
    case: str, any_pg: Server, make_db: Callable[..., str], run: Run
) -> None:
    script = CORPUS / case / "new.sql"
    if not script.exists():
        pytest.skip(f"the shared corpus is not here: {script}")
    dsn = make_db(server=any_pg)
    apply_script(any_pg, dsn, script)
    code, report = diff_report(run, script, dsn)
    assert not report_lines(report), "\n".join(report_lines(report))
    assert code == 0


def test_the_copies_have_the_servers_names(tmp_path: Path) -> None:
    """Spelled out for the reader (the cases above compare them with a server): a CHECK keeps
    its name, an index is named after the new table, a foreign key stays behind."""
    script = tmp_path / "names.sql"
    script.write_text(CASES["template_timestamps"] + CASES["every_option"])
    catalog = read_sql(script)
    assert "public.users._template_timestamps_check" in catalog.constraints
    assert "public.users_created_at_idx" in catalog.indexes
    assert catalog.indexes["public.b_lo_idx"].comment == "unique lo"
    assert {c.name for c in catalog.constraints.values() if c.table == "b"} == {
        "b_pkey", "b_code_key", "b_lo_hi_code_key", "b_r_excl", "lohi", "src_lo_check"}
    assert catalog.constraints["public.b.lohi"].comment == "ordered"
    assert catalog.constraints["public.b.b_pkey"].comment is None
    columns = [c.name for c in catalog.tables["public.a"].columns]
    assert columns == ["x", "id", "s", "code", "lo", "hi", "g", "r", "y"]
    # A serial column's default still names the source's sequence; no sequence is made.
    assert catalog.tables["public.d"].column("s").default == (
        "nextval(CAST('public.src_s_seq' AS regclass))")
    assert sorted(s.name for s in catalog.sequences.values()) == [
        "products_id_seq", "src_s_seq", "users_id_seq"]
    assert catalog.tables["public.d"].column("id").identity is None
    assert catalog.tables["public.e"].column("id").identity == "always"
    assert catalog.tables["public.d"].column("g").generated is None
    assert sorted(i for i in catalog.indexes if i.startswith("public.b_")) == [
        "public.b_coalesce_case_idx", "public.b_code_idx", "public.b_code_idx1",
        "public.b_code_idx2", "public.b_expr_idx", "public.b_hi_idx", "public.b_lo_idx",
        "public.b_lower_idx"]


#: A script differing from the one that built the database only in its LIKE options, and
#: what the diff must find.
DRIFTS: dict[str, tuple[str, str, set[tuple[str, str, str]]]] = {
    "defaults": (
        "CREATE TABLE src (a int DEFAULT 1, b int);\n"
        "CREATE TABLE t (LIKE src INCLUDING DEFAULTS);",
        "CREATE TABLE src (a int DEFAULT 1, b int);\n"
        "CREATE TABLE t (LIKE src);",
        {("column", "public.t.a", "changed")},
    ),
    "indexes": (
        "CREATE TABLE src (a int PRIMARY KEY, b int);\nCREATE INDEX ON src (b);\n"
        "CREATE TABLE t (LIKE src INCLUDING INDEXES);",
        "CREATE TABLE src (a int PRIMARY KEY, b int);\nCREATE INDEX ON src (b);\n"
        "CREATE TABLE t (LIKE src);",
        {("constraint", "public.t.t_pkey", "unexpected"), ("index", "public.t_b_idx", "unexpected")},
    ),
    "constraints": (
        "CREATE TABLE src (a int CHECK (a > 0));\n"
        "CREATE TABLE t (LIKE src);",
        "CREATE TABLE src (a int CHECK (a > 0));\n"
        "CREATE TABLE t (LIKE src INCLUDING CONSTRAINTS);",
        {("constraint", "public.t.src_a_check", "missing")},
    ),
}


@pytest.mark.parametrize("case", sorted(DRIFTS))
def test_a_different_like_is_found(
    case: str, pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    built, other, expected = DRIFTS[case]
    _, dsn = built_from_script(pg, make_db, tmp_path, built, "built")
    script = tmp_path / "other.sql"
    script.write_text(other)
    code, report = diff_report(run, script, dsn)
    assert report_found(report) == expected, "\n".join(report_lines(report))
    assert code == 1


def test_a_source_outside_the_schemas_read_is_a_warning(
    pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    """The replay does not guess the columns of a table it did not keep: it says so, and the
    columns the server copied are reported missing from the script's side."""
    script, dsn = built_from_script(pg, make_db, tmp_path, """
        CREATE SCHEMA other;
        CREATE TABLE other.src (a int, b text);
        CREATE TABLE public.t (id int, LIKE other.src);
    """)
    code, report = diff_report(run, script, dsn, "--schema", "public")
    warnings = [(w["name"], w["message"]) for w in report["warnings"]]
    assert warnings == [("public.t", "LIKE other.src: the source is outside the schemas read; "
                                     "its columns are not copied")]
    assert code == 1


def test_a_view_or_unknown_source_is_a_warning(tmp_path: Path) -> None:
    script = tmp_path / "views.sql"
    script.write_text("""
        CREATE TABLE src (a int);
        CREATE VIEW v AS SELECT a FROM src;
        CREATE TABLE t (LIKE v);
        CREATE TABLE u (LIKE elsewhere);
    """)
    catalog = read_sql(script)
    assert [(w.name, w.message) for w in catalog.warnings] == [
        ("public.t", "LIKE public.v: the source is a view, whose column types only a server "
                     "knows; its columns are not copied"),
        ("public.u", "LIKE public.elsewhere: the source was not created by the script; its "
                     "columns are not copied"),
    ]


@pytest.mark.parametrize("text, message", [
    ("CREATE TABLE src (a int); CREATE TABLE t (a int, LIKE src);",
     "column 'a' specified more than once"),
    ("CREATE TABLE src (a int); CREATE TABLE t (LIKE src, LIKE src);",
     "column 'a' specified more than once"),
    ("CREATE TABLE src (a int PRIMARY KEY); "
     "CREATE TABLE t (b int PRIMARY KEY, LIKE src INCLUDING INDEXES);",
     "multiple primary keys for table public.t are not allowed"),
    ("CREATE SCHEMA o; CREATE TABLE o.src (b int, CONSTRAINT t_b_check CHECK (b > 0)); "
     "CREATE TABLE t (LIKE o.src INCLUDING CONSTRAINTS, CHECK (b > 0));",
     "constraint 't_b_check' for relation public.t already exists"),
])
def test_what_the_server_refuses_is_an_error(
    text: str, message: str, pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    script = tmp_path / "refused.sql"
    script.write_text(text)
    with pytest.raises(subprocess.CalledProcessError):
        pg.psql_file(make_db(), script)
    with pytest.raises(SqlError, match=message):
        read_sql(script)


def test_including_statistics_is_reported_where_the_script_made_statistics(
    pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    """Statistics objects are not modelled: the server copies them, and the replay says it
    cannot (the live side reports each one as a kind pgspec does not model)."""
    script, dsn = built_from_script(pg, make_db, tmp_path, """
        CREATE TABLE src (a int, b int);
        CREATE STATISTICS src_ab ON a, b FROM src;
        CREATE TABLE t (LIKE src INCLUDING ALL);
        CREATE TABLE u (LIKE src INCLUDING ALL EXCLUDING STATISTICS);
    """)
    code, report = diff_report(run, script, dsn)
    assert not report_lines(report), "\n".join(report_lines(report))
    assert [(w["object_type"], w["name"]) for w in report["warnings"]
            if w["object_type"] == "table"] == [("table", "public.t")]
    assert code == 0
