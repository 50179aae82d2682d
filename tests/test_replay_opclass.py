"""Bare operator classes in a script, resolved along its search_path as the server does.

The live reader (empty search_path) prints every opclass outside pg_catalog qualified; a
script names it bare. The replay resolves it where the script tells (pg_catalog's built-ins,
its own CREATE OPERATOR CLASS, the extensions it created); where it cannot tell it keeps the
name bare, and the differ accepts the same name in a schema of that path, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pgspec.diff import diff
from pgspec.normalize.opclasses import BUILTIN
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_sql
from tests.pgserver import Server
from tests.script_checks import catalog_differences


def _script(tmp_path: Path, text: str) -> Path:
    script = tmp_path / "script.sql"
    script.write_text(text)
    return script


def test_builtin_list_is_the_servers(any_pg: Server) -> None:
    """The stored list of pg_catalog's opclasses is a fact of the server, on 15 and 18 alike."""
    with psycopg.connect(any_pg.dsn) as conn:
        rows = conn.execute(
            "SELECT am.amname, opc.opcname, CASE WHEN opc.opcdefault THEN t.typname END "
            "FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod "
            "JOIN pg_type t ON t.oid = opc.opcintype "
            "WHERE opc.opcnamespace = 'pg_catalog'::regnamespace").fetchall()
    assert {(m, n, d) for m, names in BUILTIN.items() for n, d in names.items()} == set(rows)


#: name -> (script, the opclass the replay stores for public.t_i's first key, and whether it
#: stays bare and unresolved).
CASES: dict[str, tuple[str, str | None, bool]] = {
    # The extension is in the one schema of the path: that is where the opclass is.
    "extension_in_public": ("""
        CREATE EXTENSION pg_trgm;
        CREATE TABLE t (b text);
        CREATE INDEX t_i ON t USING gin (b gin_trgm_ops);
        CREATE INDEX t_j ON t USING gist (b gist_trgm_ops);
    """, "public.gin_trgm_ops", False),
    # Supabase's layout: public may hold one as well as extensions, so the name stays bare and
    # the differ accepts it in either.
    "extension_schema_on_the_path": ("""
        CREATE SCHEMA extensions;
        CREATE EXTENSION pg_trgm SCHEMA extensions;
        SET search_path = public, extensions;
        CREATE TABLE t (b text);
        CREATE INDEX t_i ON t USING gin (b gin_trgm_ops);
    """, "gin_trgm_ops", True),
    # The script's own opclass, in a schema first on the path; built-ins stay bare wherever
    # the path puts pg_catalog.
    "script_opclass": ("""
        CREATE SCHEMA app;
        SET search_path = app, public;
        CREATE OPERATOR CLASS my_int4_ops FOR TYPE int4 USING btree AS OPERATOR 1 <,
            OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
            FUNCTION 1 btint4cmp(int4, int4);
        CREATE TABLE public.t (a int, b text);
        CREATE INDEX t_i ON public.t (a my_int4_ops, b text_pattern_ops);
        SET search_path = app, pg_catalog, public;
        CREATE INDEX t_j ON public.t (b varchar_pattern_ops, a);
    """, "app.my_int4_ops", False),
    # A default opclass or the column's own collation written out is what the server leaves
    # out of its definition (varchar takes text's opclasses); any other one it prints.
    "defaults_written_out": ("""
        CREATE TABLE t (b text, v varchar(10), a int, c text COLLATE "C", j jsonb);
        CREATE INDEX t_i ON t (b COLLATE "default" text_ops, a int4_ops, c COLLATE "C");
        CREATE INDEX t_h ON t USING hash (v text_ops);
        CREATE INDEX t_s ON t USING spgist (v text_ops);
        CREATE INDEX t_b ON t USING brin (v text_minmax_ops, a int4_minmax_ops);
        CREATE INDEX t_g ON t USING gin (j jsonb_ops);
        CREATE INDEX t_p ON t USING gin (j jsonb_path_ops);
        CREATE INDEX t_c ON t (c COLLATE "default", v varchar_ops, a int4_ops DESC);
    """, None, False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_equals_the_server(name: str, any_pg: Server, make_db: Callable[..., str],
                                  tmp_path: Path) -> None:
    text, stored, unresolved = CASES[name]
    script = _script(tmp_path, text)
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    offline, live = read_sql([script]), introspect(dsn)
    assert catalog_differences(offline, live) == []
    assert catalog_differences(live, offline) == []
    index = offline.indexes["public.t_i"]
    assert index.keys[0].opclass == stored
    assert bool(index.opclass_schemas) == unresolved
    if name == "script_opclass":
        assert index.keys[1].opclass == "text_pattern_ops"
        assert [w.name for w in offline.warnings] == ["app.my_int4_ops"]
    if name == "defaults_written_out":
        assert [(k.opclass, k.collation) for k in offline.indexes["public.t_c"].keys] == [
            (None, "default"), ("varchar_ops", None), (None, None)]


def test_pgvector_index(pg: Server, make_db: Callable[..., str], tmp_path: Path) -> None:
    """pgschema's issue 295: an hnsw index on a halfvec column, the extension in public."""
    dsn = make_db()
    with psycopg.connect(dsn) as conn:
        if not conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone():
            pytest.skip("the server has no pgvector")
    script = _script(tmp_path, """
        CREATE EXTENSION IF NOT EXISTS vector;
        CREATE TABLE public.activity (id bigserial PRIMARY KEY, embedding halfvec(384));
        CREATE INDEX activity_embedding_idx ON activity USING hnsw (embedding halfvec_cosine_ops);
    """)
    pg.psql_file(dsn, script)
    offline = read_sql([script])
    assert catalog_differences(offline, introspect(dsn)) == []
    assert offline.indexes["public.activity_embedding_idx"].keys[0].opclass == (
        "public.halfvec_cosine_ops")


def test_real_changes_are_still_reported(pg: Server, make_db: Callable[..., str],
                                         tmp_path: Path) -> None:
    """A bare name left unresolved equals its name in a schema of the path, and nothing
    else: the same name in a schema off the path, or another opclass, is a difference."""
    script = _script(tmp_path, """
        CREATE SCHEMA extensions;
        CREATE SCHEMA other;
        CREATE EXTENSION pg_trgm SCHEMA extensions;
        CREATE EXTENSION btree_gist SCHEMA extensions;
        SET search_path = public, extensions;
        CREATE TABLE t (b text, c text);
        CREATE INDEX t_i ON t USING gin (b gin_trgm_ops);
        CREATE INDEX t_j ON t USING gist (c gist_trgm_ops);
    """)
    offline = read_sql([script])
    assert offline.indexes["public.t_i"].opclass_schemas == {"gin_trgm_ops": ["public", "extensions"]}
    dsn = make_db()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("""
            CREATE SCHEMA extensions;
            CREATE SCHEMA other;
            CREATE EXTENSION pg_trgm SCHEMA other;
            CREATE EXTENSION btree_gist SCHEMA extensions;
            CREATE TABLE t (b text, c text);
            CREATE INDEX t_i ON t USING gin (b other.gin_trgm_ops);
            CREATE INDEX t_j ON t USING gist (c extensions.gist_text_ops);
        """)
    found = {(d.object_type, d.name, d.attribute, str(d.actual))
             for d in diff(offline, introspect(dsn, schemas=["public"]))
             if d.object_type == "index"}
    assert found == {
        ("index", "public.t_i", "keys", "[{'column': 'b', 'opclass': 'other.gin_trgm_ops'}]"),
        # btree_gist's gist_text_ops is text's default gist opclass: printed as no opclass.
        ("index", "public.t_j", "keys", "[{'column': 'c'}]"),
    }


def test_a_rolled_back_opclass_is_forgotten(tmp_path: Path) -> None:
    """ROLLBACK takes the script's opclass back: a later bare name of it is not placed."""
    offline = read_sql([_script(tmp_path, """
        CREATE SCHEMA app;
        SET search_path = app, public;
        BEGIN;
        CREATE OPERATOR CLASS my_ops FOR TYPE int4 USING btree AS OPERATOR 1 <,
            OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
            FUNCTION 1 btint4cmp(int4, int4);
        ROLLBACK;
        SET search_path = app, public;
        CREATE TABLE public.t (a int);
        CREATE INDEX t_i ON public.t (a my_ops);
    """)])
    # app was created by the script and holds nothing else, so only public may hold it.
    assert offline.indexes["public.t_i"].keys[0].opclass == "public.my_ops"
