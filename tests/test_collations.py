"""Collations (CREATE COLLATION) as pgspec sees them from every source.

One schema with libc collations (one locale, two different categories, FROM an existing one,
renamed, moved, dropped, commented, used by columns, a domain, a composite type and an index),
plus ICU ones where the server has ICU (Debian's PostgreSQL 15; the embedded 18 has none) and
builtin ones where it has the builtin provider (17+), is read live, from its pg_dump, from the
script itself, and as the spec ``inspect`` writes; every reading must be the same, and the
spec rendered into a fresh database must give that database again. Then each attribute is
changed on a real server and must be reported as exactly that attribute.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pgspec.catalog import Catalog, Collation
from pgspec.diff import diff
from pgspec.errors import SpecError, SqlError
from pgspec.inspect import inspect_catalog, write_spec
from pgspec.render import render
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from pgspec.sources.sql import read_dump, read_sql
from tests.fix_db import run_sql
from tests.pgserver import Server

SCHEMAS = ["public", "app"]

LIBC = """\
CREATE SCHEMA app;
CREATE COLLATION c_plain (locale = 'C');
CREATE COLLATION c_split (lc_collate = 'C', lc_ctype = 'POSIX');
CREATE COLLATION c_same (LC_COLLATE = 'POSIX', LC_CTYPE = 'POSIX');
CREATE COLLATION "Copied" FROM "C";
CREATE COLLATION copy_of_mine FROM c_split;
CREATE COLLATION IF NOT EXISTS c_plain (locale = 'POSIX');
CREATE COLLATION app.moved (provider = libc, locale = 'POSIX');
CREATE COLLATION old_name (locale = 'C');
ALTER COLLATION old_name RENAME TO new_name;
CREATE COLLATION doomed (locale = 'C');
DROP COLLATION doomed;
CREATE COLLATION goes_to_app (locale = 'C');
CREATE TABLE t (a text COLLATE c_plain, b text COLLATE goes_to_app, c varchar(10) COLLATE "Copied",
                d text COLLATE new_name);
CREATE INDEX t_a ON t (a COLLATE c_split);
CREATE DOMAIN code AS text COLLATE c_split;
CREATE TYPE pair AS (x text COLLATE copy_of_mine, y text);
ALTER COLLATION goes_to_app SET SCHEMA app;
ALTER COLLATION new_name RENAME TO newer_name;
COMMENT ON COLLATION c_plain IS 'byte order';
COMMENT ON COLLATION app.moved IS 'dropped comment';
COMMENT ON COLLATION app.moved IS NULL;
"""

ICU = """\
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION "numeric" (provider = icu, locale = 'en-u-kn-true');
CREATE COLLATION ci_copy FROM ci;
CREATE TABLE u (email text COLLATE ci, code text COLLATE "numeric");
COMMENT ON COLLATION ci IS 'case insensitive';
"""

BUILTIN = """\
CREATE COLLATION fast (provider = builtin, locale = 'C.UTF8');
CREATE COLLATION app.bytes (provider = builtin, locale = 'C');
CREATE COLLATION utf8_copy FROM pg_c_utf8;
CREATE TABLE b (x text COLLATE fast);
"""


def _has_icu(dsn: str) -> bool:
    """Whether this server was built with ICU (the embedded PostgreSQL 18 was not)."""
    with psycopg.connect(dsn) as conn:
        try:
            conn.execute("CREATE COLLATION pgspec_icu_probe (provider = icu, locale = 'und')")
        except psycopg.errors.FeatureNotSupported:
            return False
        finally:
            conn.rollback()
    return True


def _script(server: Server, dsn: str) -> str:
    parts = [LIBC]
    if _has_icu(dsn):
        parts.append(ICU)
    else:
        print(f"ICU collations left out: {server.label} has no ICU")
    if server.version >= 170000:
        parts.append(BUILTIN)
    else:
        print(f"builtin collations left out: {server.label} is older than PostgreSQL 17")
    return "".join(parts)


def _differences(expected: Catalog, actual: Catalog) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(expected, actual)]


def _both_ways(a: Catalog, b: Catalog) -> list[str]:
    return _differences(a, b) + _differences(b, a)


def test_every_source_reads_the_same_collations(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path,
) -> None:
    dsn = make_db(server=any_pg)
    text = _script(any_pg, dsn)
    script = tmp_path / "collations.sql"
    script.write_text(text)
    any_pg.psql_file(dsn, script)
    live = introspect(dsn, schemas=SCHEMAS)
    assert not [w for w in live.warnings if w.object_type == "collation"]
    assert live.collations["public.c_plain"] == Collation(
        schema="public", name="c_plain", locale="C", comment="byte order")
    assert live.collations["public.c_split"] == Collation(
        schema="public", name="c_split", lc_collate="C", lc_ctype="POSIX")
    assert live.collations["public.c_same"].locale == "POSIX"
    assert live.collations['public."Copied"'].locale == "C"
    assert live.collations["public.copy_of_mine"].lc_ctype == "POSIX"
    assert live.collations["app.moved"].comment is None
    assert "public.doomed" not in live.collations and "public.old_name" not in live.collations
    table = live.tables["public.t"]
    assert [c.collation for c in table.columns] == [
        "public.c_plain", "app.goes_to_app", 'public."Copied"', "public.newer_name"]
    assert live.owners["public.c_plain"]
    if "ci" in text:
        ci = live.collations["public.ci"]
        assert (ci.provider, ci.locale, ci.deterministic, ci.comment) == (
            "icu", "und-u-ks-level2", False, "case insensitive")
        assert live.collations["public.ci_copy"].deterministic is False
    if "fast" in text:
        assert live.collations["public.fast"] == Collation(
            schema="public", name="fast", provider="builtin", locale="C.UTF-8")
        assert live.collations["public.utf8_copy"].locale == "C.UTF-8"

    # The script replayed offline.
    replayed = read_sql([script], schemas=SCHEMAS)
    assert _both_ways(replayed, live) == []
    assert not [w for w in replayed.warnings if w.object_type == "collation"]

    # Its pg_dump read offline, owners included.
    out = tmp_path / "dump.sql"
    subprocess.run([any_pg.tool("pg_dump"), "-s", "-f", str(out), "-d", dsn], check=True,
                   capture_output=True)
    dumped = read_dump(out, schemas=SCHEMAS)
    assert _both_ways(dumped, live) == []
    assert {k: dumped.owners.get(k) for k in dumped.collations} == {
        k: live.owners[k] for k in live.collations}

    # The spec inspect writes, and that spec rendered into a fresh database.
    written = inspect_catalog(live)
    write_spec(written, tmp_path / "spec")
    spec = load_spec(tmp_path / "spec")
    assert _both_ways(spec, live) == []
    fresh = make_db(server=any_pg)
    run_sql(fresh, render(spec))
    assert _both_ways(introspect(fresh, schemas=SCHEMAS), live) == []


def test_inspect_writes_collations_as_a_person_would(tmp_path: Path) -> None:
    script = tmp_path / "s.sql"
    script.write_text(LIBC + "CREATE COLLATION nd (provider = icu, locale = 'und-u-ks-level2',"
                      " deterministic = false);\n")
    written = inspect_catalog(read_sql([script], schemas=SCHEMAS))
    text = written.files["public.yaml"]
    assert "collations:\n" in text
    assert "  c_plain: {locale: C, comment: byte order}\n" in text
    assert "  c_split: {lc_collate: C, lc_ctype: POSIX}\n" in text
    assert "  nd: {provider: icu, locale: und-u-ks-level2, deterministic: false}\n" in text
    assert text.index("collations:") < text.index("tables:")


#: (statement run against the database the script built, attributes reported).
DRIFTS = [
    ("COMMENT ON COLLATION c_plain IS 'changed'", "public.c_plain", "comment"),
    ("DROP COLLATION c_same; CREATE COLLATION c_same (locale = 'C')", "public.c_same", "locale"),
    ("DROP COLLATION c_same; CREATE COLLATION c_same (lc_collate = 'POSIX', lc_ctype = 'C')",
     "public.c_same", "lc_collate lc_ctype locale"),
    ("CREATE ROLE pgspec_coll_owner; ALTER COLLATION c_same OWNER TO pgspec_coll_owner",
     "public.c_same", "owner"),
]


@pytest.mark.parametrize(("statement", "name", "attributes"), DRIFTS,
                         ids=["comment", "locale", "split", "owner"])
def test_each_changed_attribute_is_reported(
    statement: str, name: str, attributes: str, any_pg: Server, make_db: Callable[..., str],
    tmp_path: Path,
) -> None:
    script = tmp_path / "s.sql"
    script.write_text(LIBC + "ALTER COLLATION c_same OWNER TO CURRENT_USER;\n")
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    before = introspect(dsn, schemas=SCHEMAS)
    try:
        run_sql(dsn, statement)
        found = [(d.object_type, d.name, d.change, d.attribute)
                 for d in diff(before, introspect(dsn, schemas=SCHEMAS))]
    finally:
        run_sql(dsn, "DROP COLLATION IF EXISTS c_same; DROP ROLE IF EXISTS pgspec_coll_owner")
    assert found == [("collation", name, "changed", a) for a in attributes.split()]


def test_icu_determinism_and_locale_are_reported(any_pg: Server, make_db: Callable[..., str]) -> None:
    dsn = make_db(server=any_pg)
    if not _has_icu(dsn):
        pytest.skip(f"{any_pg.label} has no ICU")
    run_sql(dsn, ICU)
    before = introspect(dsn)
    run_sql(dsn, "DROP TABLE u; DROP COLLATION ci_copy; DROP COLLATION ci;"
                 " CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2');"
                 " COMMENT ON COLLATION ci IS 'case insensitive';"
                 " DROP COLLATION \"numeric\"; CREATE COLLATION \"numeric\" (provider = icu, locale = 'de-u-kn-true')")
    found = {(d.name, d.change, d.attribute, d.hint is not None)
             for d in diff(before, introspect(dsn))}
    assert ("public.ci", "changed", "deterministic", False) in found
    assert ("public.numeric", "changed", "locale", True) in found
    assert ("public.ci_copy", "missing", None, False) in found


def test_added_and_dropped_collations(any_pg: Server, make_db: Callable[..., str], tmp_path: Path) -> None:
    script = tmp_path / "s.sql"
    script.write_text(LIBC)
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    run_sql(dsn, "DROP COLLATION copy_of_mine CASCADE; CREATE COLLATION app.extra (locale = 'C')")
    found = [(d.object_type, d.name, d.change) for d in diff(read_sql([script], schemas=SCHEMAS),
                                                             introspect(dsn, schemas=SCHEMAS))
             if d.object_type == "collation"]
    assert found == [("collation", "app.extra", "unexpected"),
                     ("collation", "public.copy_of_mine", "missing")]


SPEC = """\
schema: public
collations:
  mine: {locale: C}
  split: {lc_collate: POSIX, lc_ctype: C, comment: two categories}
  same: {lc_collate: C, lc_ctype: C}
  C: {locale: POSIX}
domains:
  code: {type: text, collation: mine}
tables:
  t:
    columns:
      a: {type: text, collation: mine}
      b: {type: text, collation: C}
      c: {type: text, collation: public.split}
    indexes:
      t_b: {columns: [{column: b, collation: same}]}
"""


def test_spec_collations_render_apply_and_compare_clean(any_pg: Server, make_db: Callable[..., str],
                                                        tmp_path: Path) -> None:
    """Bare names mean the spec's collation of the object's schema, except pg_catalog's
    built-in names, which the server finds first (``C`` is pg_catalog's, not public.C)."""
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "public.yaml").write_text(SPEC)
    spec = load_spec(folder)
    assert spec.collations["public.same"] == Collation(
        schema="public", name="same", locale="C", location=spec.collations["public.same"].location)
    assert [c.collation for c in spec.tables["public.t"].columns] == [
        "public.mine", "C", "public.split"]
    assert spec.domains["public.code"].collation == "public.mine"
    assert spec.indexes["public.t_b"].keys[0].collation == "public.same"
    ddl = render(spec)
    assert ddl.index("CREATE COLLATION public.mine") < ddl.index("CREATE DOMAIN public.code")
    assert "CREATE COLLATION public.split (provider = libc, lc_collate = 'POSIX', lc_ctype = 'C');" in ddl
    assert "COMMENT ON COLLATION public.split IS 'two categories';" in ddl
    dsn = make_db(server=any_pg)
    run_sql(dsn, ddl)
    live = introspect(dsn)
    assert _both_ways(spec, live) == []
    assert [c.collation for c in live.tables["public.t"].columns] == [
        "public.mine", "C", "public.split"]


@pytest.mark.parametrize(("entry", "message"), [
    ("{provider: icu}", "needs 'locale'"),
    ("{locale: C, lc_ctype: C}", "not both"),
    ("{lc_collate: C}", "needs 'locale' (or both"),
    ("{locale: C, deterministic: false}", "only an icu collation can be nondeterministic"),
    ("{provider: builtin, locale: c.utf-8}", "invalid locale 'c.utf-8' for the builtin provider"),
    ("{locale: C, rules: '&a < b'}", "only an icu collation takes 'rules'"),
    ("{provider: glibc, locale: C}", "glibc"),
])
def test_spec_mistakes_are_reported_where_they_are(entry: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"collations:\n  bad: {entry}\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert message in str(caught.value)
    assert "s.yaml:2" in str(caught.value)


@pytest.mark.parametrize(("statement", "message"), [
    ("CREATE COLLATION x (locale = 'C', lc_collate = 'C')", "locale cannot be specified together"),
    ("CREATE COLLATION x (lc_collate = 'C')", 'parameter "lc_ctype" must be specified'),
    ("CREATE COLLATION x (provider = builtin, locale = 'c.utf-8')", "invalid locale name"),
    ("CREATE COLLATION x (locale = 'C', deterministic = false)", "nondeterministic collations"),
    ("CREATE COLLATION x (locale = 'C', colour = 'red')", "not recognized"),
    ("CREATE COLLATION x (locale = 'C'); CREATE COLLATION x (locale = 'C')", "already exists"),
])
def test_the_replay_refuses_what_the_server_refuses(statement: str, message: str, pg: Server,
                                                    make_db: Callable[..., str], tmp_path: Path) -> None:
    script = tmp_path / "s.sql"
    script.write_text(statement + ";\n")
    with pytest.raises(SqlError) as caught:
        read_sql([script])
    assert message in str(caught.value)
    with pytest.raises(psycopg.Error):
        run_sql(make_db(), statement)


def test_from_a_collation_pgspec_cannot_know_is_flagged(tmp_path: Path) -> None:
    script = tmp_path / "s.sql"
    script.write_text('CREATE COLLATION german FROM "de_DE.utf8";\n'
                      "CREATE COLLATION basic FROM ucs_basic;\n")
    catalog = read_sql([script])
    assert "public.german" not in catalog.collations
    assert catalog.collations["public.basic"].provider == "builtin"
    assert sorted(w.name for w in catalog.warnings if w.object_type == "collation") == [
        "de_DE.utf8", "ucs_basic"]
