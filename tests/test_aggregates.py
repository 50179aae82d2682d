"""Aggregates (CREATE AGGREGATE) as pgspec sees them from every source.

One schema with every shape of aggregate PostgreSQL takes (plain, ``(*)``, old BASETYPE style,
moving-aggregate options, a sort operator, ordered-set and hypothetical, named and VARIADIC
arguments, a view calling one) is read live, from its pg_dump, from the script itself, and as
the spec ``inspect`` writes; every reading must be the same. Then each attribute is changed on
a real server and must be reported as exactly that attribute.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.catalog import Catalog
from pgspec.diff import diff
from pgspec.errors import SpecError
from pgspec.render import render
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from pgspec.sources.sql import read_dump, read_sql
from tests.fix_db import Run, run_sql
from tests.pgserver import Server

SCHEMAS = ["public", "app"]

SCRIPT = """\
CREATE SCHEMA app;
CREATE FUNCTION public._group_concat(text, text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN $2 IS NULL THEN $1 WHEN $1 IS NULL THEN $2 ELSE $1 || ',' || $2 END $$;
CREATE AGGREGATE public.group_concat(text) (SFUNC = public._group_concat, STYPE = text);
COMMENT ON AGGREGATE public.group_concat(text) IS 'Concatenates text values with commas';
CREATE FUNCTION app.num_add(numeric, numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT $1 + $2 $$;
CREATE FUNCTION app.num_sub(numeric, numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT $1 - $2 $$;
CREATE FUNCTION app.num_fin(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT $1 * 2 $$;
SET search_path = app, public;
CREATE AGGREGATE my_sum(numeric) (SFUNC = num_add, STYPE = numeric, COMBINEFUNC = num_add,
    INITCOND = '0', MSFUNC = num_add, MINVFUNC = num_sub, MSTYPE = numeric, MINITCOND = '0',
    FINALFUNC = num_fin, MFINALFUNC = num_fin, PARALLEL = SAFE);
CREATE AGGREGATE my_max(int4) (SFUNC = int4larger, STYPE = int4, SORTOP = >);
CREATE AGGREGATE cnt(*) (SFUNC = int8inc, STYPE = int8, INITCOND = 0);
CREATE AGGREGATE oldstyle (BASETYPE = int4, SFUNC = int4pl, STYPE = int4, INITCOND = '0');
CREATE AGGREGATE pct(float8 ORDER BY float8) (SFUNC = ordered_set_transition, STYPE = internal,
    FINALFUNC = percentile_disc_final, FINALFUNC_EXTRA);
CREATE AGGREGATE rnk(VARIADIC "any" ORDER BY VARIADIC "any") (
    SFUNC = ordered_set_transition_multi, STYPE = internal, FINALFUNC = rank_final,
    FINALFUNC_EXTRA, HYPOTHETICAL);
CREATE AGGREGATE named(val text) (SFUNC = _group_concat, STYPE = text, INITCOND = '');
CREATE AGGREGATE doomed(text) (SFUNC = _group_concat, STYPE = text);
CREATE AGGREGATE renamed_later(text) (SFUNC = _group_concat, STYPE = text);
ALTER AGGREGATE renamed_later(text) RENAME TO renamed;
DROP AGGREGATE doomed(text);
COMMENT ON AGGREGATE pct(float8 ORDER BY float8) IS 'a percentile';
RESET search_path;
CREATE VIEW app.v AS SELECT public.group_concat(x) AS g FROM (VALUES ('a'), ('b')) t(x);
"""


def _differences(expected: Catalog, actual: Catalog) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(expected, actual)]


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "aggregates.sql"
    path.write_text(SCRIPT)
    return path


def test_live_reader_models_every_aggregate(any_pg: Server, make_db: Callable[..., str]) -> None:
    dsn = make_db(server=any_pg)
    run_sql(dsn, SCRIPT)
    live = introspect(dsn, schemas=SCHEMAS)
    assert not [w for w in live.warnings if w.object_type == "aggregate"]
    assert sorted(live.aggregates) == [
        "app.cnt()", "app.my_max(integer)", "app.my_sum(numeric)", "app.named(text)",
        "app.oldstyle(integer)", "app.pct(double precision, double precision)", 'app.renamed(text)',
        'app.rnk("any")', "public.group_concat(text)",
    ]
    concat = live.aggregates["public.group_concat(text)"]
    assert (concat.sfunc, concat.stype, concat.initcond, concat.comment) == (
        "public._group_concat", "text", None, "Concatenates text values with commas")
    total = live.aggregates["app.my_sum(numeric)"]
    assert (total.combinefunc, total.msfunc, total.minvfunc, total.mstype, total.minitcond,
            total.finalfunc, total.parallel) == (
        "app.num_add", "app.num_add", "app.num_sub", "numeric", "0", "app.num_fin", "safe")
    assert live.aggregates["app.my_max(integer)"].sortop == ">"
    assert live.aggregates["app.my_max(integer)"].sfunc == "int4larger"
    assert live.aggregates["app.named(text)"].initcond == ""
    assert live.aggregates["app.named(text)"].arguments[0].name == "val"
    pct = live.aggregates["app.pct(double precision, double precision)"]
    assert (pct.kind, pct.direct_arguments, pct.finalfunc_extra, pct.finalfunc_modify) == (
        "ordered_set", 1, True, "read_write")
    assert live.aggregates['app.rnk("any")'].kind == "hypothetical"


def test_script_and_dump_read_offline_equal_the_database(
    any_pg: Server, make_db: Callable[..., str], script: Path, tmp_path: Path,
) -> None:
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    live = introspect(dsn, schemas=SCHEMAS)
    offline = read_sql([script], schemas=SCHEMAS)
    assert _differences(offline, live) == []
    assert not offline.warnings
    out = tmp_path / "dump.sql"
    subprocess.run([any_pg.tool("pg_dump"), "-f", str(out), "-d", dsn], check=True, capture_output=True)
    dumped = read_dump(out, schemas=SCHEMAS)
    assert _differences(dumped, live) == []
    assert len(dumped.aggregates) == 9


def test_rendered_catalog_applies_and_reads_back_the_same(
    pg: Server, make_db: Callable[..., str], script: Path,
) -> None:
    """Aggregates come after their support functions; the view calling one after it."""
    catalog = read_sql([script], schemas=SCHEMAS)
    ddl = render(catalog)
    assert ddl.index("CREATE FUNCTION public._group_concat") < ddl.index("CREATE AGGREGATE public.group_concat")
    assert ddl.index("CREATE AGGREGATE public.group_concat") < ddl.index("CREATE VIEW app.v")
    assert "app.rnk(VARIADIC \"any\" ORDER BY VARIADIC \"any\")" in ddl
    dsn = make_db()
    run_sql(dsn, ddl)
    assert _differences(catalog, introspect(dsn, schemas=SCHEMAS)) == []


SPEC = """\
schema: public
functions:
  _group_concat:
    arguments: [text, text]
    returns: text
    language: sql
    volatility: immutable
    body: SELECT $1 || ',' || $2
  num_add:
    arguments: [numeric, numeric]
    returns: numeric
    language: sql
    volatility: immutable
    parallel: safe
    body: SELECT $1 + $2
aggregates:
  group_concat:
    arguments: [text]
    sfunc: _group_concat
    stype: text
    comment: Concatenates text values with commas
  my_sum:
    - arguments: [numeric]
      sfunc: num_add
      stype: numeric
      combinefunc: num_add
      initcond: 0
      parallel: safe
    - arguments: [integer]
      sfunc: int4pl
      stype: integer
      sortop: ">"
  median:
    arguments: [double precision]
    order_by: [anyelement]
    sfunc: ordered_set_transition
    stype: internal
    finalfunc: percentile_disc_final
    finalfunc_extra: true
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "public.yaml").write_text(SPEC)
    return folder


def test_spec_renders_applies_and_verifies_clean(spec_dir: Path, db: str, run: Run, tmp_path: Path) -> None:
    spec = load_spec(spec_dir)
    agg = spec.aggregates["public.my_sum(numeric)"]
    assert (agg.sfunc, agg.combinefunc, agg.initcond) == ("public.num_add", "public.num_add", "0")
    assert spec.aggregates["public.my_sum(integer)"].sfunc == "int4pl"
    median = spec.aggregates["public.median(double precision, anyelement)"]
    assert (median.kind, median.direct_arguments, median.finalfunc_modify) == ("ordered_set", 1, "read_write")
    code, ddl, err = run("render", "--spec", spec_dir)
    assert code == 0, err
    assert "COMMENT ON AGGREGATE public.group_concat(text) IS" in ddl
    run_sql(db, ddl)
    code, out, err = run("verify", "--spec", spec_dir, "--dsn", db)
    assert code == 0, out + err
    # inspect writes it back as a spec that reads the same
    code, out, err = run("inspect", db, "-o", tmp_path / "inspected")
    assert code == 0, err
    assert _differences(spec, load_spec(tmp_path / "inspected")) == []


#: (statement run against the applied spec, object, attributes reported: the first one is the
#: drift's point, the others change with it).
DRIFTS = [
    ("DROP AGGREGATE public.group_concat(text); CREATE FUNCTION public._other(text, text) RETURNS text"
     " LANGUAGE sql AS 'SELECT $1'; CREATE AGGREGATE public.group_concat(text) (SFUNC = public._other,"
     " STYPE = text); COMMENT ON AGGREGATE public.group_concat(text) IS 'Concatenates text values with commas'",
     "public.group_concat(text)", "sfunc"),
    ("COMMENT ON AGGREGATE public.group_concat(text) IS 'changed'", "public.group_concat(text)", "comment"),
    ("CREATE OR REPLACE AGGREGATE public.my_sum(numeric) (SFUNC = public.num_add, STYPE = numeric,"
     " COMBINEFUNC = public.num_add, INITCOND = '1', PARALLEL = SAFE)", "public.my_sum(numeric)", "initcond"),
    ("CREATE OR REPLACE AGGREGATE public.my_sum(numeric) (SFUNC = public.num_add, STYPE = numeric,"
     " INITCOND = '0', PARALLEL = SAFE)", "public.my_sum(numeric)", "combinefunc"),
    ("CREATE OR REPLACE AGGREGATE public.my_sum(numeric) (SFUNC = public.num_add, STYPE = numeric,"
     " COMBINEFUNC = public.num_add, INITCOND = '0')", "public.my_sum(numeric)", "parallel"),
    ("CREATE OR REPLACE AGGREGATE public.my_sum(numeric) (SFUNC = public.num_add, STYPE = numeric,"
     " COMBINEFUNC = public.num_add, INITCOND = '0', PARALLEL = SAFE, FINALFUNC = abs)",
     "public.my_sum(numeric)", "finalfunc"),
    ("CREATE OR REPLACE AGGREGATE public.my_sum(integer) (SFUNC = int4pl, STYPE = integer)",
     "public.my_sum(integer)", "sortop"),
    ("CREATE OR REPLACE AGGREGATE public.my_sum(integer) (SFUNC = int4pl, STYPE = integer, SORTOP = >,"
     " MSFUNC = int4pl, MINVFUNC = int4mi, MSTYPE = integer)", "public.my_sum(integer)",
     "msfunc minvfunc mstype"),
    ("DROP AGGREGATE public.my_sum(integer); CREATE AGGREGATE public.my_sum(integer) (SFUNC = int8inc_any,"
     " STYPE = bigint, INITCOND = '0', SORTOP = >)", "public.my_sum(integer)", "stype sfunc initcond"),
]


@pytest.mark.parametrize(("statement", "name", "attributes"), DRIFTS, ids=[d[2].split()[0] for d in DRIFTS])
def test_each_changed_attribute_is_reported(
    statement: str, name: str, attributes: str, spec_dir: Path, db: str,
) -> None:
    spec = load_spec(spec_dir)
    run_sql(db, render(spec))
    run_sql(db, statement)
    found = [(d.object_type, d.name, d.change, d.attribute) for d in diff(spec, introspect(db))
             if d.name != "public._other(text, text)"]  # the new support function of one drift
    assert found == [("aggregate", name, "changed", a) for a in sorted(attributes.split())]


def test_added_dropped_and_retyped_aggregates(spec_dir: Path, db: str, run: Run) -> None:
    spec = load_spec(spec_dir)
    run_sql(db, render(spec))
    run_sql(db, "DROP AGGREGATE public.group_concat(text);"
                " CREATE AGGREGATE public.extra(text) (SFUNC = public._group_concat, STYPE = text);"
                " DROP AGGREGATE public.median(float8 ORDER BY anyelement);"
                " CREATE AGGREGATE public.median(float8 ORDER BY numeric) (SFUNC = ordered_set_transition,"
                " STYPE = internal, FINALFUNC = percentile_disc_final, FINALFUNC_EXTRA)")
    found = sorted((d.name, d.change) for d in diff(spec, introspect(db)))
    assert found == [
        ("public.extra(text)", "unexpected"),
        ("public.group_concat(text)", "missing"),
        ("public.median(double precision, anyelement)", "missing"),
        ("public.median(double precision, numeric)", "unexpected"),
    ]
    code, out, _ = run("verify", "--spec", spec_dir, "--dsn", db)
    assert code == 1
    assert "aggregate public.group_concat(text)" in out


@pytest.mark.parametrize(("entry", "message"), [
    ("{arguments: [text], sfunc: 'f(text)', stype: text}", "sfunc is a function name without arguments"),
    ("{arguments: [text], sfunc: other.f, stype: text}", "unknown function 'other.f'"),
    ("{arguments: [VARIADIC \"any\"], order_by: [text], sfunc: f, stype: internal}",
     "order_by must be one VARIADIC argument"),
    ("{arguments: [text], hypothetical: true, sfunc: f, stype: text}", "needs order_by"),
    ("{arguments: [text], sfunc: f, stype: text, sortop: '> ; drop'}", "invalid sort operator"),
    ("{arguments: [text], stype: text}", "sfunc"),
])
def test_spec_mistakes_are_reported_at_their_line(entry: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"schema: public\naggregates:\n  agg: {entry}\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    text = str(caught.value)
    assert message in text
    assert f"{path}:3" in text
