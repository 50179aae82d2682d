"""The live reader's fast paths give exactly what the general path gives.

Plain index keys are read from pg_index, and plain expression keys one by one with
``pg_get_indexdef(index, n)``, instead of parsing the whole CREATE INDEX (issue 8: parsing
every index definition was a quarter of ``diff A B`` on 3,000 tables). The second table has
only default collations, so its expression keys take the fast path unless they name a
COLLATE or an opclass; the first has a "C" column, so its expression keys never do. Every index
here is also read the slow way, by parsing the server's CREATE INDEX through the shared
conversion, and both must agree key for key.
"""

from __future__ import annotations

import pglast
import psycopg
from pglast import ast

from pgspec.sources.elements import index_key_from_node
from pgspec.sources.live import introspect

SCHEMA = """
CREATE SCHEMA s;
CREATE TABLE s.t (a int, b text, c varchar(20), d text COLLATE "C", e int[], f jsonb,
                  "Odd Col" int, g numeric);
CREATE INDEX i_plain ON s.t (a, b);
CREATE INDEX i_desc ON s.t (a DESC, b ASC);
CREATE INDEX i_desc_nulls_last ON s.t (a DESC NULLS LAST);
CREATE INDEX i_desc_nulls_first ON s.t (a DESC NULLS FIRST);
CREATE INDEX i_asc_nulls_first ON s.t (a NULLS FIRST, b NULLS LAST);
CREATE INDEX i_varchar ON s.t (c);
CREATE INDEX i_collated_col ON s.t (d);
CREATE INDEX i_collate ON s.t (b COLLATE "C");
CREATE INDEX i_collate_same ON s.t (d COLLATE "C");
CREATE INDEX i_opclass ON s.t (b text_pattern_ops);
CREATE INDEX i_default_opclass ON s.t (b text_ops);
CREATE INDEX i_gin ON s.t USING gin (e);
CREATE INDEX i_gin_jsonb ON s.t USING gin (f jsonb_path_ops);
CREATE INDEX i_hash ON s.t USING hash (b);
CREATE INDEX i_brin ON s.t USING brin (g);
CREATE INDEX i_odd ON s.t ("Odd Col" DESC);
CREATE INDEX i_expr ON s.t (lower(b) DESC, a);
CREATE INDEX i_include ON s.t (a) INCLUDE (b, "Odd Col");
CREATE UNIQUE INDEX i_partial ON s.t (a, g) WHERE a > 0;
CREATE TABLE s.u (a int, b text, c varchar(20), j jsonb, k int);
CREATE INDEX u_lower ON s.u (lower(b));
CREATE INDEX u_sum_desc ON s.u ((a + k) DESC NULLS LAST, lower(b) NULLS FIRST);
CREATE INDEX u_mixed ON s.u (a, (j ->> 'kind'), b DESC);
CREATE INDEX u_expr_collate ON s.u (lower(b) COLLATE "C");
CREATE INDEX u_expr_inner_collate ON s.u (lower(b COLLATE "C"));
CREATE INDEX u_expr_collate_default ON s.u ((b || 'x') COLLATE "default");
CREATE INDEX u_expr_opclass ON s.u (lower(b) text_pattern_ops);
CREATE INDEX u_inner_c_outer_default ON s.u (lower(b COLLATE "C") COLLATE "default");
CREATE INDEX u_expr_default_opclass ON s.u (lower(b) text_ops);
CREATE INDEX u_varchar_expr ON s.u ((c || ''));
CREATE INDEX u_cast_varchar ON s.u ((b::varchar));
CREATE INDEX u_gin_expr ON s.u USING gin ((j -> 'tags'));
CREATE INDEX u_partial_expr ON s.u ((j ->> 'kind')) INCLUDE (k) WHERE j ? 'kind';
CREATE INDEX t_expr_collated_table ON s.t (lower(b));
CREATE INDEX t_expr_on_collated ON s.t (upper(d));
"""


def _parsed_keys(dsn: str) -> dict[str, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i JOIN pg_class c"
            " ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 's'"
        ).fetchall()
    found = {}
    for name, definition in rows:
        stmt = pglast.parse_sql(definition)[0].stmt
        assert isinstance(stmt, ast.IndexStmt)
        keys = tuple(index_key_from_node(e) for e in stmt.indexParams)
        include = tuple(e.name for e in stmt.indexIncludingParams or ())
        found[name] = (keys, include)
    return found


def test_index_keys_read_without_parsing_equal_the_parsed_ones(any_pg, make_db) -> None:
    dsn = make_db(server=any_pg)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
    catalog = introspect(dsn, schemas=["s"])
    expected = _parsed_keys(dsn)
    got = {i.name: (tuple(i.keys), tuple(i.include)) for i in catalog.indexes.values()}
    assert got == expected
    assert len(got) == SCHEMA.count("INDEX")


def test_an_extensions_views_and_functions_stay_out(any_pg, make_db) -> None:
    """Extension members are found through pg_depend's index on the referenced extension, not
    a scan of all of pg_depend: pg_buffercache's view and functions must still vanish, and
    the user's own view over a table of the same schema must not."""
    dsn = make_db(server=any_pg)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA s; CREATE EXTENSION pg_buffercache SCHEMA s;"
                      " CREATE TABLE s.t (a int); CREATE VIEW s.v AS SELECT a FROM s.t;"
                      " CREATE INDEX t_a ON s.t (a); CREATE POLICY p ON s.t USING (a > 0);")
        members = conn.execute(
            "SELECT count(*) FROM pg_depend WHERE deptype = 'e' AND refobjid ="
            " (SELECT oid FROM pg_extension WHERE extname = 'pg_buffercache')").fetchone()
    assert members is not None and members[0] >= 2  # a view and a function at least
    catalog = introspect(dsn, schemas=["s"])
    assert set(catalog.tables) == {"s.t"}
    assert set(catalog.views) == {"s.v"}
    assert set(catalog.indexes) == {"s.t_a"}
    assert set(catalog.policies) == {"s.t.p"}
    assert not catalog.functions
    assert set(catalog.extensions) == {"pg_buffercache"}
    assert not [w for w in catalog.warnings if "buffercache" in f"{w.name} {w.message}"]


def test_an_inspected_views_text_is_the_servers_text(any_pg, make_db, tmp_path) -> None:
    """The live reader trims pg_get_viewdef's leading space as the spec loader trims a query,
    so a spec ``pgspec inspect`` wrote holds the very text the server prints: verifying it
    compares the two as strings, no parse. A whitespace-only difference stays no difference."""
    from pgspec.inspect import inspect_source, write_spec
    from pgspec.sources.spec import load_spec

    dsn = make_db(server=any_pg)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA s; CREATE TABLE s.t (a int, b text);"
                     " CREATE VIEW s.v AS SELECT a, upper(b) AS b FROM s.t WHERE a > 0;"
                     " CREATE MATERIALIZED VIEW s.m AS SELECT a FROM s.t WITH NO DATA;")
        raw = conn.execute("SELECT pg_get_viewdef('s.v'::regclass)").fetchone()
    assert raw is not None and raw[0] != raw[0].strip()  # what the server prints is untrimmed
    live = introspect(dsn, schemas=["s"])
    assert live.views["s.v"].query == raw[0].strip()
    write_spec(inspect_source(dsn, schemas=["s"]), tmp_path / "spec")
    spec = load_spec(tmp_path / "spec")
    assert spec.views["s.v"].query == live.views["s.v"].query
    assert spec.materialized_views["s.m"].query == live.materialized_views["s.m"].query
