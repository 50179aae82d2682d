"""Unqualified COLLATE names replayed as the server resolves them.

The live reader runs with an empty search_path and prints every collation outside pg_catalog
qualified (``public.mine``); a script writes ``COLLATE mine``. The replay looks the name up as
the server does: pg_catalog first (unless the path places it elsewhere), then the collations
the script created, schema by schema along the search_path in effect. Columns, ALTER COLUMN
TYPE, domains, composite type attributes, index keys and partition keys. Each script is
applied to PostgreSQL 18 and 15 (libc collations: the embedded 18 has no ICU) and replayed:
``pgspec diff`` must find nothing both ways, and a real change must be reported.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pgspec.diff import diff
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_sql
from tests.fix_db import run_sql
from tests.pgserver import Server
from tests.script_checks import catalog_differences, replayed_and_live

MIGRA = Path("/work/shared/corpus/migra/collations")


CASES: dict[str, str] = {
    # Built-in names stay bare, pg_catalog-qualified ones too; the script's own are its
    # schema's; "default" is no collation of the column's own.
    "columns_domains_types": """
        CREATE COLLATION mine (locale = 'C');
        CREATE COLLATION "Mixed" FROM "POSIX";
        CREATE COLLATION posix FROM "POSIX";
        CREATE TABLE t (a text COLLATE mine, b text COLLATE "C", c text COLLATE "POSIX",
                        d text COLLATE pg_catalog."C", e text COLLATE public.mine,
                        f text COLLATE "Mixed", g text COLLATE posix, h text COLLATE ucs_basic,
                        i text);
        ALTER TABLE t ALTER COLUMN i TYPE text COLLATE mine;
        ALTER TABLE t ADD COLUMN j varchar(10) COLLATE mine;
        CREATE DOMAIN code AS text COLLATE mine;
        CREATE TYPE pair AS (x text COLLATE mine, y text COLLATE "C");
    """,
    # Index keys: the column's own collation is left out as pg_get_indexdef leaves it out;
    # another is kept, qualified; partition keys likewise.
    "index_and_partition_keys": """
        CREATE COLLATION mine (locale = 'C');
        CREATE TABLE t (a text COLLATE mine, b text);
        CREATE INDEX t_a ON t (a COLLATE mine);
        CREATE INDEX t_b ON t (b COLLATE mine);
        CREATE INDEX t_b_lower ON t ((lower(b)) COLLATE mine);
        CREATE TABLE p (k text, v int) PARTITION BY RANGE (k COLLATE mine);
    """,
    # The search_path in effect: the first schema holding the name; pg_catalog where the path
    # places it.
    "search_path": """
        CREATE SCHEMA app;
        CREATE COLLATION public.mine (locale = 'C');
        CREATE COLLATION app.mine (locale = 'POSIX');
        SET search_path = app, public;
        CREATE TABLE app.t (a text COLLATE mine);
        SET search_path = public, app;
        CREATE TABLE public.t (a text COLLATE mine);
        SET search_path = public, pg_catalog;
        CREATE COLLATION "POSIX" (locale = 'C');
        CREATE TABLE public.u (a text COLLATE "POSIX", b text COLLATE "C");
    """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_equals_the_server(name: str, any_pg: Server, make_db: Callable[..., str],
                                  tmp_path: Path) -> None:
    offline, live = replayed_and_live(any_pg, make_db, tmp_path, CASES[name], name, ["public", "app"])
    assert catalog_differences(offline, live) == []
    assert catalog_differences(live, offline) == []


def test_collations_as_the_catalog_holds_them(tmp_path: Path) -> None:
    script = tmp_path / "s.sql"
    script.write_text(CASES["columns_domains_types"])
    catalog = read_sql([script])
    table = catalog.tables["public.t"]
    assert {c.name: c.collation for c in table.columns} == {
        "a": "public.mine", "b": "C", "c": "POSIX", "d": "C", "e": "public.mine",
        "f": 'public."Mixed"', "g": "public.posix", "h": "ucs_basic", "i": "public.mine",
        "j": "public.mine"}
    assert catalog.domains["public.code"].collation == "public.mine"
    assert [a.collation for a in catalog.composite_types["public.pair"].attributes] == [
        "public.mine", "C"]
    script.write_text(CASES["search_path"])
    catalog = read_sql([script], schemas=["public", "app"])
    assert catalog.tables["app.t"].columns[0].collation == "app.mine"
    assert catalog.tables["public.t"].columns[0].collation == "public.mine"
    assert [c.collation for c in catalog.tables["public.u"].columns] == ['public."POSIX"', "C"]


def test_script_collation_named_like_a_locale_is_flagged(tmp_path: Path) -> None:
    """A name the server may have imported from the machine's locales: pgspec cannot know
    whether pg_catalog has it, takes the script's, and says so."""
    script = tmp_path / "s.sql"
    script.write_text('CREATE COLLATION "en_US" (locale = \'C\');\n'
                      'CREATE TABLE t (a text COLLATE "en_US", b text COLLATE "de_DE.utf8");\n')
    catalog = read_sql([script])
    assert [c.collation for c in catalog.tables["public.t"].columns] == [
        'public."en_US"', "de_DE.utf8"]
    assert any(w.name == 'public."en_US"' and "pg_catalog" in w.message
               for w in catalog.warnings)


def test_a_real_change_is_reported(any_pg: Server, make_db: Callable[..., str],
                                   tmp_path: Path) -> None:
    script = tmp_path / "s.sql"
    script.write_text(CASES["columns_domains_types"])
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    run_sql(dsn, 'ALTER TABLE t ALTER COLUMN a TYPE text COLLATE "C"; '
                 "ALTER TABLE t ALTER COLUMN b TYPE text COLLATE mine")
    found = {(d.name, d.attribute, d.expected, d.actual)
             for d in diff(read_sql([script]), introspect(dsn))}
    assert ("public.t.a", "collation", "public.mine", "C") in found
    assert ("public.t.b", "collation", "C", "public.mine") in found


def test_migra_icu_case(pg15: Server, make_db: Callable[..., str]) -> None:
    """migra's collations case (an ICU collation) on PostgreSQL 15, which has ICU."""
    for side in ("a.sql", "b.sql"):
        dsn = make_db(server=pg15)
        try:
            pg15.psql_file(dsn, MIGRA / side)
        except Exception:  # pragma: no cover - a server built without ICU
            with psycopg.connect(dsn) as conn:
                conn.execute("SELECT 1")
            pytest.skip("this PostgreSQL 15 has no ICU")
        assert catalog_differences(read_sql([MIGRA / side]), introspect(dsn)) == []
