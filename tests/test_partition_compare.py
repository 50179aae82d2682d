"""Partition keys and bounds compare by meaning, checked against what real servers print.

A script, a spec and a dump spell ``FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`` the way
their author did; the server prints ``'2026-01-01 00:00:00+00'`` for a timestamptz key. Every
mapping pgspec makes offline is checked here against a server's own output (pgspec's reads run
with TimeZone UTC and DateStyle ISO), and real drifts must still be reported.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pglast
import psycopg
import pytest
from pglast import ast

from pgspec.catalog import Column
from pgspec.diff import diff
from pgspec.normalize.partitions import (
    DEFAULT_OPCLASSES,
    BoundValue,
    canonical_partition_bound,
    partition_bound_equivalent,
    partition_key_equivalent,
)
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_dump, read_sql
from tests.fix_db import Run, run_sql
from tests.pgserver import Server


def apply_utc(dsn: str, script: str) -> None:
    """Apply a script the way Supabase's sessions run it: TimeZone UTC (pgspec's assumption)."""
    run_sql(dsn, "SET TimeZone = 'UTC';\n" + script)


# --------------------------------------------------------------------------- literal spellings

#: (key column type, a value as written in FOR VALUES IN (...)). Each is applied to a server and
#: the value pgspec computes offline must be exactly the literal the server prints.
SPELLINGS: list[tuple[str, str]] = [
    ("timestamptz", "'2026-01-01'"),
    ("timestamptz", "'2026-01-01 00:00'"),
    ("timestamptz", "'2026-01-01T10:00:00Z'"),
    ("timestamptz", "'2026-01-01 12:00:00+02'"),
    ("timestamptz", "'2026-01-01 05:30:00+05:30'"),
    ("timestamptz", "'2026-01-01 10:00:00 -0100'"),
    ("timestamptz", "'2026-01-01 10:00:00.5'"),
    ("timestamptz", "'2026-01-01 10:00:00.123456+00'"),
    ("timestamptz", "'2026-01-01 00:30:00+01'"),
    ("timestamptz", "timestamptz '2026-03-01'"),
    ("timestamptz", "'2026-04-01'::timestamp with time zone"),
    ("timestamptz", "'infinity'"),
    ("timestamptz", "'0999-12-31 23:00:00'"),
    ("timestamp(3) with time zone", "'2026-01-01 10:00:00.25'"),
    ("timestamp", "'2026-01-01'"),
    ("timestamp", "'2026-01-01T10:00'"),
    ("timestamp", "'2026-01-01 10:00:00+05'"),
    ("timestamp", "'2026-01-01 10:00:00.250'"),
    ("date", "'2026-01-01'"),
    ("date", "'2026-01-01 10:00:00'"),
    ("date", "date '2026-02-01'"),
    ("date", "'-infinity'"),
    ("integer", "1"),
    ("integer", "'1'"),
    ("integer", "' 7 '"),
    ("integer", "'+8'"),
    ("integer", "-5"),
    ("integer", "'-6'"),
    ("bigint", "3000000000"),
    ("bigint", "'-3000000001'"),
    ("smallint", "'12'"),
    ("numeric", "1.50"),
    ("numeric", "'1.50'"),
    ("numeric", "1e2"),
    ("numeric", "'1.5e1'"),
    ("numeric", "'1.50e1'"),
    ("numeric", "'15e-1'"),
    ("numeric", "'-0'"),
    ("numeric", "'.5'"),
    ("numeric", "'5.'"),
    ("numeric", "-2.25"),
    ("numeric(10,2)", "1.5"),
    ("numeric(10,2)", "'2'"),
    ("numeric(10,2)", "1.005"),
    ("numeric(10,2)", "-1.005"),
    ("text", "'a'"),
    ("text", "'A b'"),
    ("text", "'it''s'"),
    ("text", "E'tab\\there'"),
    ("text", "''"),
    ("text", "'2026-01-01'"),
    ("varchar(5)", "'abc'"),
    ("boolean", "true"),
    ("boolean", "'yes'"),
    ("boolean", "'f'"),
    ("boolean", "' on '"),
    ("boolean", "'TRUE'"),
    ("uuid", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"),
    ("uuid", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12}'"),
    ("uuid", "'a0eebc999c0b4ef8bb6d6bb9bd380a13'"),
    ("uuid", "'a0eebc99-9c0b4ef8-bb6d6bb9-bd380a14'"),
]

#: Spellings the server accepts that pgspec does not canonicalise: they must never be taken
#: as equal to the server's text (a reported difference is the safe side).
UNCERTAIN: list[tuple[str, str]] = [
    ("timestamptz", "'Jan 1 2026'"),
    ("timestamptz", "'2026-01-01 00:00:00 Europe/Paris'"),
    ("timestamptz", "'2026-01-01'::date"),
    ("date", "'January 2, 2026'"),
    ("integer", "'  0010'"),  # canonicalised: a control that the check below is not vacuous
]


def _server_literal(bound: str) -> str:
    """The one value of ``FOR VALUES IN (...)`` as the server printed it."""
    spec = pglast.parse_sql(f"CREATE TABLE x PARTITION OF y {bound}")[0].stmt.partbound
    (value,) = spec.listdatums
    assert isinstance(value, ast.A_Const), bound
    val = value.val
    if isinstance(val, ast.String):
        return val.sval
    if isinstance(val, ast.Boolean):
        return "true" if val.boolval else "false"
    if isinstance(val, ast.Integer):
        return str(val.ival)
    return val.fval


def _read_spellings(server: Server, dsn: str, cases: list[tuple[str, str]]) -> dict[int, str]:
    script = "".join(
        f"CREATE TABLE p{i} (k {type_}) PARTITION BY LIST (k);\n"
        f"CREATE TABLE c{i} PARTITION OF p{i} FOR VALUES IN ({value});\n"
        for i, (type_, value) in enumerate(cases)
    )
    apply_utc(dsn, script)
    catalog = introspect(dsn, schemas=["public"])
    return {i: catalog.tables[f"public.c{i}"].partition_bound for i in range(len(cases))}


def test_every_literal_spelling_canonicalises_to_what_the_server_prints(
    any_pg: Server, make_db: Callable[..., str]
) -> None:
    dsn = make_db(server=any_pg)
    live = _read_spellings(any_pg, dsn, SPELLINGS)
    catalog = introspect(dsn, schemas=["public"])
    wrong = []
    for i, (_, value) in enumerate(SPELLINGS):
        column_type = catalog.tables[f"public.p{i}"].column("k").type
        offline = canonical_partition_bound(f"FOR VALUES IN ({value})", [column_type])
        printed = _server_literal(live[i])
        (found,) = offline[1]
        if found.kind != "value" or found.text != printed:
            wrong.append((column_type, value, found, printed))
        # And the server's own text reads back as the same value.
        if canonical_partition_bound(live[i], [column_type]) != offline:
            wrong.append((column_type, value, "server text", live[i]))
    assert wrong == []


def test_spellings_not_understood_are_never_taken_as_equal(
    any_pg: Server, make_db: Callable[..., str]
) -> None:
    dsn = make_db(server=any_pg)
    live = _read_spellings(any_pg, dsn, UNCERTAIN)
    catalog = introspect(dsn, schemas=["public"])
    equal = []
    for i, (_, value) in enumerate(UNCERTAIN):
        types = [catalog.tables[f"public.p{i}"].column("k").type]
        if partition_bound_equivalent(f"FOR VALUES IN ({value})", live[i], types, types):
            equal.append(value)
    assert equal == ["'  0010'"]


def test_default_operator_classes_are_the_servers(pg: Server, db: str) -> None:
    """pg_get_partkeydef leaves a type's default operator class out; the table pgspec uses
    to drop one written explicitly must hold the server's defaults, for btree and hash."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT am.amname, t.typname, c.opcname FROM pg_opclass c"
            " JOIN pg_am am ON am.oid = c.opcmethod JOIN pg_type t ON t.typname = ANY(%s)"
            " WHERE c.opcdefault AND am.amname IN ('btree', 'hash')"
            "   AND (c.opcintype = t.oid OR (t.typname = 'varchar' AND c.opcintype = 'text'::regtype))",
            [list(DEFAULT_OPCLASSES)],
        ).fetchall()
    found = {(am, typ): opc for am, typ, opc in rows}
    for typ, opc in DEFAULT_OPCLASSES.items():
        assert found[("btree", typ)] == opc
        assert found[("hash", typ)] == opc


# --------------------------------------------------------------------------- whole workflows

#: Partitioning as people write it: lower case, spaces, explicit defaults, every kind.
SCRIPT = """
CREATE TABLE events (id bigint, created_at timestamptz NOT NULL, kind text, day date,
                     code varchar(10), n integer, amount numeric(10,2), flag boolean, u uuid)
  PARTITION BY range ( created_at );
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE events_2027h1 PARTITION OF events
  FOR VALUES FROM ('2027-01-01T00:00:00Z') TO ('2027-07-01 02:00:00+02');
CREATE TABLE events_old PARTITION OF events FOR VALUES FROM (minvalue) TO ('2026-01-01');
CREATE TABLE events_future PARTITION OF events FOR VALUES FROM ('2028-01-01') TO (MAXVALUE);
CREATE TABLE events_default PARTITION OF events default;

CREATE TABLE by_kind (kind text, v varchar(10)) PARTITION BY list (kind);
CREATE TABLE by_kind_ab PARTITION OF by_kind FOR VALUES IN ('b','a','a');
CREATE TABLE by_kind_null PARTITION OF by_kind FOR VALUES IN (NULL);

CREATE TABLE by_code (code varchar(10) COLLATE "C") PARTITION BY LIST (code text_ops);
CREATE TABLE by_code_x PARTITION OF by_code FOR VALUES IN ('x');

CREATE TABLE hashed (id integer, name text) PARTITION BY hash (id int4_ops);
CREATE TABLE hashed_0 PARTITION OF hashed FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE hashed_1 PARTITION OF hashed FOR VALUES WITH (modulus 4,remainder 1);

CREATE TABLE multi (a integer, b date, c numeric(10,2)) PARTITION BY RANGE (a, b, c);
CREATE TABLE multi_1 PARTITION OF multi
  FOR VALUES FROM (MINVALUE, MINVALUE, MINVALUE) TO ('10', '2026-01-01', 1.5);
CREATE TABLE multi_2 PARTITION OF multi
  FOR VALUES FROM (10, '2026-01-01 00:00', '1.50') TO (20, MAXVALUE, MAXVALUE);

CREATE TABLE by_expr (name text, at timestamptz) PARTITION BY LIST (lower(name));
CREATE TABLE by_expr_a PARTITION OF by_expr FOR VALUES IN ('a');
CREATE TABLE by_day (at timestamptz) PARTITION BY RANGE (((at AT TIME ZONE 'UTC')::date));
CREATE TABLE by_day_2026 PARTITION OF by_day FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE by_len (s varchar(20)) PARTITION BY RANGE (length(s), (s || 'x'));
CREATE TABLE by_expr2 (a integer) PARTITION BY RANGE ((a + 1));
CREATE TABLE by_expr2_1 PARTITION OF by_expr2 FOR VALUES FROM (0) TO (100);

CREATE TABLE flags (f boolean, u uuid) PARTITION BY LIST (f);
CREATE TABLE flags_on PARTITION OF flags FOR VALUES IN ('yes');

CREATE TABLE ids (u uuid) PARTITION BY LIST (u);
CREATE TABLE ids_1 PARTITION OF ids FOR VALUES IN ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11');

-- Sub-partitions: a range partition itself partitioned by list, then by hash.
CREATE TABLE metrics (at timestamp, region text, id bigint) PARTITION BY RANGE (at);
CREATE TABLE metrics_2026 PARTITION OF metrics
  FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') PARTITION BY LIST (region);
CREATE TABLE metrics_2026_eu PARTITION OF metrics_2026 FOR VALUES IN ('eu') PARTITION BY HASH (id);
CREATE TABLE metrics_2026_eu_0 PARTITION OF metrics_2026_eu FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE metrics_2026_eu_1 PARTITION OF metrics_2026_eu FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE metrics_2026_other PARTITION OF metrics_2026 DEFAULT;
"""


def test_script_against_the_database_it_built(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path, run: Run
) -> None:
    dsn = make_db(server=any_pg)
    script = tmp_path / "partitions.sql"
    script.write_text(SCRIPT)
    apply_utc(dsn, SCRIPT)
    code, out, _ = run("diff", script, dsn)
    assert (code, out.strip().splitlines()[-1]) == (0, "no differences"), out
    # The other way round too: the server's text is the expected side.
    code, out, _ = run("diff", dsn, script)
    assert code == 0, out


def test_the_reported_false_difference_is_gone(db: str, tmp_path: Path, run: Run) -> None:
    """The case found by hand: a yearly partition by date on a timestamptz key."""
    sql = ("CREATE TABLE events (created_at timestamptz) PARTITION BY RANGE (created_at);\n"
           "CREATE TABLE events_2026 PARTITION OF events"
           " FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n")
    script = tmp_path / "script.sql"
    script.write_text(sql)
    apply_utc(db, sql)
    assert introspect(db).tables["public.events_2026"].partition_bound == (
        "FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')")
    code, out, _ = run("diff", script, db)
    assert code == 0 and "no differences" in out


def test_a_script_key_with_a_collation(db: str, tmp_path: Path, run: Run) -> None:
    sql = 'CREATE TABLE t (k text) PARTITION BY LIST (k COLLATE "C");\n'
    script = tmp_path / "script.sql"
    script.write_text(sql)
    apply_utc(db, sql)
    code, out, _ = run("diff", script, db)
    assert code == 0, out


def test_pg_dump_against_the_database(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path, run: Run
) -> None:
    dsn = make_db(server=any_pg)
    apply_utc(dsn, SCRIPT)
    dumped = tmp_path / "dump.sql"
    subprocess.run([any_pg.tool("pg_dump"), "--schema-only", "-f", str(dumped), "-d", dsn],
                   check=True, capture_output=True)
    offline = read_dump(dumped, schemas=["public"])
    assert diff(offline, introspect(dsn, schemas=["public"])) == []
    script = tmp_path / "partitions.sql"
    script.write_text(SCRIPT)
    assert diff(read_sql(script), offline) == []
    code, out, _ = run("diff", dumped, dsn)
    assert code == 0, out


SPEC = """
tables:
  events:
    columns: {id: bigint, created_at: {type: timestamptz, not_null: true}}
    partition_by: range(created_at)
  events_2026:
    columns: {id: bigint, created_at: {type: timestamptz, not_null: true}}
    partition_of: events
    partition_bound: FROM ('2026-01-01') TO ('2027-01-01')
  events_2027:
    columns: {id: bigint, created_at: {type: timestamptz, not_null: true}}
    partition_of: events
    partition_bound: "for values from ('2027-01-01T00:00:00Z') to ('2028-01-01 01:00+01')"
  events_rest:
    columns: {id: bigint, created_at: {type: timestamptz, not_null: true}}
    partition_of: events
    partition_bound: default
  tags:
    columns: {tag: text}
    partition_by: "LIST  (tag)"
  tags_ab:
    columns: {tag: text}
    partition_of: tags
    partition_bound: "IN ('b','a')"
  names:
    columns: {n: {type: varchar(20), collation: C}, m: text}
    partition_by: 'list (n collate "C" text_ops)'
  by_len:
    columns: {s: varchar(20)}
    partition_by: 'range (length(s), (s || ''x'') collate "C")'
  others:
    columns: {n: text}
    partition_by: 'LIST (n COLLATE "C")'
  shards:
    columns: {id: integer}
    partition_by: HASH (id)
  shards_0:
    columns: {id: integer}
    partition_of: shards
    partition_bound: "WITH (MODULUS 2, REMAINDER 0)"
  shards_1:
    columns: {id: integer}
    partition_of: shards
    partition_bound: "with (modulus 2, remainder 1)"
"""


def test_hand_written_spec_against_the_deployed_database(db: str, tmp_path: Path, run: Run) -> None:
    spec = tmp_path / "schema"
    spec.mkdir()
    (spec / "partitions.yaml").write_text(SPEC)
    code, rendered, err = run("render", "--spec", spec)
    assert code == 0, err
    apply_utc(db, rendered)
    code, out, _ = run("verify", "--spec", spec, "--dsn", db)
    assert code == 0, out
    code, out, _ = run("diff", spec, db)
    assert code == 0, out


# --------------------------------------------------------------------------- real drifts


DRIFTS = [
    # (what the script says, what the server was given, attribute)
    ("CREATE TABLE t (at timestamptz) PARTITION BY RANGE (at);"
     "CREATE TABLE p PARTITION OF t FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
     "CREATE TABLE t (at timestamptz) PARTITION BY RANGE (at);"
     "CREATE TABLE p PARTITION OF t FOR VALUES FROM ('2026-01-02') TO ('2027-01-01');",
     "partition_bound"),
    ("CREATE TABLE t (at timestamptz) PARTITION BY RANGE (at);"
     "CREATE TABLE p PARTITION OF t FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
     "CREATE TABLE t (at timestamptz) PARTITION BY RANGE (at);"
     "CREATE TABLE p PARTITION OF t FOR VALUES FROM ('2026-01-01 00:00:00+01') TO ('2027-01-01');",
     "partition_bound"),
    ("CREATE TABLE t (at timestamp) PARTITION BY RANGE (at);"
     "CREATE TABLE p PARTITION OF t FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
     "CREATE TABLE t (at timestamp) PARTITION BY RANGE (at);"
     "CREATE TABLE p PARTITION OF t FOR VALUES FROM ('2026-01-01 00:00:00.000001') TO ('2027-01-01');",
     "partition_bound"),
    ("CREATE TABLE t (a int, b int) PARTITION BY RANGE (a);",
     "CREATE TABLE t (a int, b int) PARTITION BY RANGE (b);",
     "partition_by"),
    ("CREATE TABLE t (a int, b int) PARTITION BY RANGE (a);",
     "CREATE TABLE t (a int, b int) PARTITION BY LIST (a);",
     "partition_by"),
    ("CREATE TABLE t (a int, b int) PARTITION BY RANGE (a);",
     "CREATE TABLE t (a int, b int) PARTITION BY RANGE (a, b);",
     "partition_by"),
    ("CREATE TABLE t (k text) PARTITION BY LIST (k);",
     "CREATE TABLE t (k text) PARTITION BY LIST (k COLLATE \"C\");",
     "partition_by"),
    ("CREATE TABLE t (k text) PARTITION BY LIST (k);",
     "CREATE TABLE t (k text) PARTITION BY LIST (k text_pattern_ops);",
     "partition_by"),
    ("CREATE TABLE t (k text) PARTITION BY LIST (k); CREATE TABLE p PARTITION OF t FOR VALUES IN ('a', 'b');",
     "CREATE TABLE t (k text) PARTITION BY LIST (k); CREATE TABLE p PARTITION OF t FOR VALUES IN ('a', 'B');",
     "partition_bound"),
    ("CREATE TABLE t (k text) PARTITION BY LIST (k); CREATE TABLE p PARTITION OF t FOR VALUES IN ('a');",
     "CREATE TABLE t (k text) PARTITION BY LIST (k); CREATE TABLE p PARTITION OF t DEFAULT;",
     "partition_bound"),
    ("CREATE TABLE t (n numeric) PARTITION BY LIST (n); CREATE TABLE p PARTITION OF t FOR VALUES IN (1.5);",
     "CREATE TABLE t (n numeric) PARTITION BY LIST (n); CREATE TABLE p PARTITION OF t FOR VALUES IN (1.50);",
     "partition_bound"),
    ("CREATE TABLE t (id int) PARTITION BY HASH (id);"
     "CREATE TABLE p PARTITION OF t FOR VALUES WITH (MODULUS 4, REMAINDER 0);",
     "CREATE TABLE t (id int) PARTITION BY HASH (id);"
     "CREATE TABLE p PARTITION OF t FOR VALUES WITH (MODULUS 4, REMAINDER 1);",
     "partition_bound"),
    ("CREATE TABLE t (a int, d date) PARTITION BY RANGE (a, d);"
     "CREATE TABLE p PARTITION OF t FOR VALUES FROM (MINVALUE, MINVALUE) TO (10, MAXVALUE);",
     "CREATE TABLE t (a int, d date) PARTITION BY RANGE (a, d);"
     "CREATE TABLE p PARTITION OF t FOR VALUES FROM (MINVALUE, MINVALUE) TO (10, '2026-01-01');",
     "partition_bound"),
]


@pytest.mark.parametrize("script, applied, attribute", DRIFTS)
def test_real_drifts_are_reported(
    db: str, tmp_path: Path, run: Run, script: str, applied: str, attribute: str
) -> None:
    path = tmp_path / "script.sql"
    path.write_text(script)
    apply_utc(db, applied)
    found = [(d.name, d.attribute) for d in diff(read_sql(path), introspect(db))]
    assert (found[0][1], len(found)) == (attribute, 1), found
    code, out, _ = run("diff", path, db)
    assert code == 1 and attribute in out


def test_a_script_applied_in_another_time_zone_is_a_real_difference(db: str, tmp_path: Path) -> None:
    """pgspec assumes a zone-less timestamptz literal means UTC. Applied from a session in
    Paris, the server stores other instants, and pgspec says so rather than hiding it."""
    sql = ("CREATE TABLE t (at timestamptz) PARTITION BY RANGE (at);\n"
           "CREATE TABLE p PARTITION OF t FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n")
    path = tmp_path / "script.sql"
    path.write_text(sql)
    run_sql(db, "SET TimeZone = 'Europe/Paris';\n" + sql)
    live = introspect(db)
    assert live.tables["public.p"].partition_bound == (
        "FOR VALUES FROM ('2025-12-31 23:00:00+00') TO ('2026-12-31 23:00:00+00')")
    assert [(d.name, d.attribute) for d in diff(read_sql(path), live)] == [("public.p", "partition_bound")]


# --------------------------------------------------------------------------- offline units


def test_keys_compare_by_meaning_offline() -> None:
    assert partition_key_equivalent("range (created_at)", "RANGE (created_at)")
    assert partition_key_equivalent("RANGE(\"created_at\")", "RANGE (created_at)")
    assert partition_key_equivalent("list (lower(name))", "LIST (lower(name))")
    assert partition_key_equivalent("RANGE ((a+1))", "RANGE ((a + 1))")
    assert not partition_key_equivalent("RANGE (a)", "RANGE (b)")
    assert not partition_key_equivalent("RANGE (a)", "HASH (a)")
    assert not partition_key_equivalent("RANGE (lower(a))", "RANGE (upper(a))")
    # COLLATE and operator classes: the column's own collation and the type's default
    # operator class are what pg_get_partkeydef leaves out; any other is part of the key.
    code = [Column(name="code", type="character varying(10)", collation="C")]
    kind = [Column(name="kind", type="text")]
    assert partition_key_equivalent('LIST (code COLLATE "C" text_ops)', "LIST (code)", code, code)
    assert partition_key_equivalent('LIST (code COLLATE pg_catalog."C")', "LIST (code)", code, code)
    assert not partition_key_equivalent('LIST (code COLLATE "POSIX")', "LIST (code)", code, code)
    assert not partition_key_equivalent("LIST (code varchar_ops)", "LIST (code)", code, code)
    assert partition_key_equivalent('LIST (kind COLLATE "default")', "LIST (kind)", kind, kind)
    assert not partition_key_equivalent('LIST (kind COLLATE "C")', "LIST (kind)", kind, kind)
    assert partition_key_equivalent('LIST (kind COLLATE "C")', 'list (kind collate "C")', kind, kind)
    # Without the columns nothing is dropped: a difference, never a false equality.
    assert not partition_key_equivalent('LIST (code COLLATE "C")', "LIST (code)")
    # A key that does not parse equals only itself.
    assert not partition_key_equivalent("RANGE (", "RANGE (a)")


def test_values_of_unknown_types_compare_as_text() -> None:
    """No parent known (a partition of an external table): values are SQL text, so the
    server's spelling of another literal is a difference, the same spelling is not."""
    live = "FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')"
    assert not partition_bound_equivalent("FROM ('2026-01-01') TO ('2027-01-01')", live)
    assert partition_bound_equivalent("for values from ('2026-01-01 00:00:00+00') to ('2027-01-01 00:00:00+00')", live)
    assert canonical_partition_bound("IN ('a')")[1] == frozenset({BoundValue("sql", "'a'")})
