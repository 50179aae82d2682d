"""View queries compare with the casts the server adds from their columns' types.

A view over varchar, char(n), enum and numeric columns is stored after parse analysis chose
every operator and common type: ``first_name || ' '`` comes back ``((first_name)::text || '
'::text)``, ``COALESCE(email, '')`` as ``COALESCE(email, ''::character varying)``,
``COALESCE(bio, email)`` as ``COALESCE(bio, (email)::text)``, ``price * qty`` as ``(price *
(qty)::numeric)``. Each shape below is written as people write it, applied to a real server
(PostgreSQL 18, and 15 where installed), and must compare equal to the server's text both as
a script replayed offline and as a spec, both ways, the columns' types read from each side's
own catalog through the view's FROM clause and its aliases. Each shape has a real change (a
cast that changes the meaning or a column's type, another operator or constant) that must
still be reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pgspec.catalog import Catalog
from pgspec.diff import diff
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from pgspec.sources.sql import read_sql
from tests.fix_db import _servers
from tests.pgserver import Server, dbname_of

TABLES_SQL = """
CREATE TYPE st AS ENUM ('a', 'b');
CREATE TABLE e (id integer PRIMARY KEY, name varchar(100), first_name varchar(50),
    last_name varchar(50), email varchar(100), bio text, code char(3),
    status varchar(20) NOT NULL, s st, qty integer, price numeric(12,2),
    ratio double precision, small smallint, tags varchar(10)[]);
CREATE TABLE d (id integer PRIMARY KEY, name varchar(100), label text);
"""

TABLES_YAML = """
schema: public
enums:
  st: [a, b]
tables:
  e:
    columns:
      id: {type: integer, primary_key: true}
      name: varchar(100)
      first_name: varchar(50)
      last_name: varchar(50)
      email: varchar(100)
      bio: text
      code: char(3)
      status: {type: varchar(20), not_null: true}
      s: st
      qty: integer
      price: numeric(12,2)
      ratio: double precision
      small: smallint
      tags: varchar(10)[]
  d:
    columns:
      id: {type: integer, primary_key: true}
      name: varchar(100)
      label: text
"""

#: View name -> (query, a real change of it). Names are unique across shapes; a view may use
#: an earlier one (``over_view``).
SHAPES: dict[str, tuple[str, str]] = {
    # pgschema/create_view/add_view
    "text_search": (
        "SELECT id, COALESCE(first_name || ' ' || last_name, 'Anonymous') AS display_name, "
        "COALESCE(email, '') AS email, COALESCE(bio, 'none') AS description, "
        "to_tsvector('english', COALESCE(first_name, '') || ' ' || COALESCE(last_name, '') "
        "|| ' ' || COALESCE(bio, '')) AS search_vector FROM e WHERE status = 'active'",
        "SELECT id, COALESCE(first_name || ' ' || last_name, 'Anonymous') AS display_name, "
        "COALESCE(email, '') AS email, COALESCE(bio, 'none') AS description, "
        "to_tsvector('simple', COALESCE(first_name, '') || ' ' || COALESCE(last_name, '') "
        "|| ' ' || COALESCE(bio, '')) AS search_vector FROM e WHERE status = 'active'"),
    # A relabel that sets the view column's type (text instead of varchar) is the meaning.
    "coalesce_output_type": (
        "SELECT id, COALESCE(email, '') AS email FROM e",
        "SELECT id, COALESCE(email::text, '') AS email FROM e"),
    "coalesce_relabel_inside": (
        "SELECT id, COALESCE(email, '') || '>' AS email FROM e",
        "SELECT id, COALESCE(email, '') || '<' AS email FROM e"),
    # The first argument that is not a literal decides the common type among strings.
    "coalesce_common_type": (
        "SELECT x.id, COALESCE(x.name, d.label) AS n1, COALESCE(d.label, x.name) AS n2 "
        "FROM e x JOIN d ON d.id = x.id",
        "SELECT x.id, COALESCE(x.name, d.name) AS n1, COALESCE(d.label, x.name) AS n2 "
        "FROM e x JOIN d ON d.id = x.id"),
    "coalesce_char": (
        "SELECT id, COALESCE(code, '') AS c1, COALESCE(code, bio) AS c2, "
        "COALESCE(bio, code) AS c3 FROM e",
        "SELECT id, COALESCE(code, '') AS c1, COALESCE(code::text, bio) AS c2, "
        "COALESCE(bio, code) AS c3 FROM e"),
    "greatest_strings": (
        "SELECT x.id, GREATEST(x.name, d.label) AS g FROM e x JOIN d USING (id)",
        "SELECT x.id, LEAST(x.name, d.label) AS g FROM e x JOIN d USING (id)"),
    # The ELSE result comes first to select_common_type: this CASE is varchar.
    "case_strings": (
        "SELECT id, CASE WHEN qty > 0 THEN bio ELSE email END AS c, "
        "CASE WHEN qty > 1 THEN name ELSE 'none' END AS c2 FROM e",
        "SELECT id, CASE WHEN qty > 0 THEN bio ELSE email::text END AS c, "
        "CASE WHEN qty > 1 THEN name ELSE 'none' END AS c2 FROM e"),
    "nullif_varchar": (
        "SELECT id, NULLIF(email, '') AS ne, NULLIF(email, '')::text AS ne2 FROM e",
        "SELECT id, NULLIF(email, 'x') AS ne, NULLIF(email, '')::text AS ne2 FROM e"),
    "char_operators": (
        "SELECT id, upper(code) AS u, code || 'x' AS cx, name || code AS nc, "
        "code = name AS eq, code = bio AS eq2 FROM e",
        "SELECT id, upper(code) AS u, code || 'x' AS cx, name || code AS nc, "
        "code::text = name AS eq, code = bio AS eq2 FROM e"),
    "numeric_promotions": (
        "SELECT id, price * qty AS total, COALESCE(qty, 0) + price AS t2, ratio * small AS r, "
        "NULLIF(qty, 0) * price AS n, (qty + 1) * price AS q1 FROM e",
        "SELECT id, price * qty AS total, COALESCE(qty, 0) + price AS t2, ratio * small AS r, "
        "NULLIF(qty, 0) * price AS n, (qty - 1) * price AS q1 FROM e"),
    "aliases_and_join": (
        "SELECT x.id, x.first_name || '/' || d.label AS fl, d.name || x.code AS dc "
        "FROM e AS x LEFT JOIN d ON d.name = x.name WHERE x.email LIKE '%@x'",
        "SELECT x.id, x.first_name || '/' || d.label AS fl, d.name || x.code AS dc "
        "FROM e AS x LEFT JOIN d ON d.name = x.email WHERE x.email LIKE '%@x'"),
    # Columns typed through another view: text_search's display_name is varchar, email too.
    "over_view": (
        "SELECT v.id, v.display_name || '!' AS dn, v.email || 'x' AS em "
        "FROM text_search v WHERE v.email <> ''",
        "SELECT v.id, v.display_name || '?' AS dn, v.email || 'x' AS em "
        "FROM text_search v WHERE v.email <> ''"),
    "array_any": (
        "SELECT id FROM e WHERE email = ANY (tags)",
        "SELECT id FROM e WHERE email = ALL (tags)"),
    # Casts that change the meaning stay: enum order vs text order, a column's type.
    "enum_cast_kept": (
        "SELECT id FROM e WHERE s::text < 'b'",
        "SELECT id FROM e WHERE s < 'b'"),
    "output_relabel_kept": (
        "SELECT id, name::text AS name_text FROM e WHERE name::text <> ''",
        "SELECT id, name AS name_text FROM e WHERE name::text <> ''"),
}


def _script(views: dict[str, str]) -> str:
    return TABLES_SQL + "".join(f"CREATE VIEW {n} AS {q};\n" for n, q in views.items())


def _spec(views: dict[str, str]) -> str:
    return TABLES_YAML + yaml.safe_dump({"views": {n: {"query": q} for n, q in views.items()}},
                                        sort_keys=False, width=1000)


def _written() -> dict[str, str]:
    return {n: q for n, (q, _) in SHAPES.items()}


@pytest.fixture(scope="module", params=_servers())
def live(request: pytest.FixtureRequest) -> Iterator[Catalog]:
    """Every shape applied to one database of the server, read once."""
    server: Server = request.getfixturevalue("pg" if request.param == "main" else "pg15")
    dsn = server.create_database()
    try:
        server.execute(dsn, _script(_written()))
        yield introspect(dsn, schemas=["public"])
    finally:
        server.drop_database(dbname_of(dsn))


def _sources(tmp_path: Path, views: dict[str, str]) -> tuple[Catalog, Catalog]:
    script = tmp_path / "views.sql"
    script.write_text(_script(views))
    spec = tmp_path / "schema.yaml"
    spec.write_text(_spec(views))
    return read_sql([script]), load_spec(str(spec))


def _about(expected: Catalog, actual: Catalog, name: str) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(expected, actual, schemas=["public"]) if d.name == f"public.{name}"]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, Catalog]:
    return _sources(tmp_path_factory.mktemp("typed"), _written())


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_view_compares_equal_to_the_server(name: str, live: Catalog,
                                           sources: tuple[Catalog, Catalog]) -> None:
    for source in sources:
        assert _about(live, source, name) == []
        assert _about(source, live, name) == []


def test_nothing_else_differs(live: Catalog, sources: tuple[Catalog, Catalog]) -> None:
    for source in sources:
        assert diff(live, source, schemas=["public"]) == []
        assert diff(source, live, schemas=["public"]) == []


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_real_change_is_reported(name: str, live: Catalog, tmp_path: Path) -> None:
    views = _written()
    views[name] = SHAPES[name][1]
    for source in _sources(tmp_path, views):
        for expected, actual in ((source, live), (live, source)):
            found = [(d.object_type, d.name, d.attribute)
                     for d in diff(expected, actual, schemas=["public"])]
            assert ("view", f"public.{name}", "query") in found


def test_function_signature_casts_stay_unsettled(tmp_path: Path, any_pg: Server) -> None:
    """A cast that depends on a function's result type (``abs(qty) * price`` stores
    ``(abs(qty))::numeric * price``) is not known offline: the view is reported, with the
    hint that ``--dev-db`` settles it, never assumed equal."""
    from pgspec.devdb import annotate

    views = {"fn_cast": "SELECT id, abs(qty) * price AS a FROM e"}
    script = tmp_path / "f.sql"
    script.write_text(_script(views))
    dsn = any_pg.create_database()
    try:
        any_pg.execute(dsn, _script(views))
        found = annotate(diff(introspect(dsn, schemas=["public"]), read_sql([script]),
                              schemas=["public"]), dev_db=False)
    finally:
        any_pg.drop_database(dbname_of(dsn))
    assert [(d.name, d.attribute) for d in found] == [("public.fn_cast", "query")]
    assert found[0].hint and "--dev-db" in found[0].hint
