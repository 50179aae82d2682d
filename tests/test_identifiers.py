"""Names that need quoting survive every path: spec, render, live read, dump, inspect, diff.

Schemas, tables, columns, constraints, indexes, views, functions, triggers, policies, enums
and enum values are named with mixed case, spaces, reserved words, embedded double quotes,
unicode and 63-byte names (the longest PostgreSQL keeps). The spec is written as YAML, loaded,
rendered, applied to a real server, read back live, dumped with pg_dump and read offline,
inspected back to YAML: every comparison must be empty. Names written to inject SQL render as
quoted identifiers and do nothing else: the ``victims`` table is still there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from pgspec.catalog import Catalog
from pgspec.diff import diff
from pgspec.quoting import qualified, quote
from pgspec.render import render
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from pgspec.sources.sql import read_dump
from tests.fix_db import ROOT, run_sql
from tests.pgserver import Server

SCHEMA = 'My "Odd" Schema'
TABLE = "Order Items"
PARENT = "select"
LONG_TABLE = "t" * 63
LONG_UNICODE = "é" * 31 + "x"  # 63 bytes of UTF-8
INJECT_TABLE = 'x"; DROP TABLE victims; --'
INJECT_COLUMN = "a'); DROP TABLE victims; --"
ENUM = 'Mood"Type'
ENUM_VALUES = ["Happy Face", "select", "ünïcode ✓", 'say "hi"', "it's"]
QUOTED = 'my "quoted" col'
COLUMNS = {"ID": "bigint", "select": "text", QUOTED: "integer", "ñandú": "text",
           LONG_UNICODE: "integer", "Mood": None}
FUNCTION = 'Do Thing"s'
TRIGGER_FUNCTION = "Trig Fn"


def _q(*parts: str) -> str:
    return qualified(*parts)


def _spec() -> dict[str, Any]:
    """The spec as data (dumped to YAML by PyYAML, which quotes what YAML needs)."""
    columns: dict[str, Any] = {}
    for name, type_ in COLUMNS.items():
        columns[name] = {"type": type_ or _q(SCHEMA, ENUM)}
    columns["ID"]["not_null"] = True
    columns["select"]["default"] = "'it''s \"quoted\"'"
    columns[QUOTED]["check"] = f"{quote(QUOTED)} > 0"
    columns["Mood"]["default"] = f"'Happy Face'::{_q(SCHEMA, ENUM)}"
    columns["parent id"] = {"type": "bigint"}
    return {
        "schema": SCHEMA,
        "schemas": {SCHEMA: {"comment": "odd names"}},
        "enums": {ENUM: ENUM_VALUES},
        "tables": {
            PARENT: {
                "columns": {"Key": {"type": "bigint", "primary_key": True}},
            },
            TABLE: {
                "comment": "table with odd names",
                "columns": columns,
                "primary_key": {"name": 'PK "Order" Items', "columns": ["ID"]},
                "unique": {"Unique ñandú": [LONG_UNICODE, "ñandú"]},
                "checks": {'check "select"': f"length({quote('select')}) < 100"},
                "foreign_keys": {
                    "FK → parent": {"columns": ["parent id"],
                                    "references": f"{_q(SCHEMA, PARENT)}({quote('Key')})",
                                    "on_delete": "cascade"},
                },
                "indexes": {
                    "Idx Select": {"columns": [f"{quote('select')} DESC", f"lower({quote('ñandú')})"],
                                   "where": f"{quote('ID')} > 0"},
                },
                "rls": True,
                "policies": {
                    'Users see "their" rows': {
                        "command": "select",
                        "using": f"{quote('select')} = current_user",
                    },
                },
                "triggers": {
                    'Trigger "One"': {"timing": "before", "events": ["insert", "update"],
                                      "update_of": ["select"], "function": _q(SCHEMA, TRIGGER_FUNCTION)},
                },
            },
            LONG_TABLE: {
                "columns": {"id": {"type": "integer", "primary_key": True},
                            LONG_UNICODE: {"type": "text", "unique": True}},
            },
            INJECT_TABLE: {
                "columns": {INJECT_COLUMN: {"type": "text", "default": "'x''); DROP TABLE victims; --'"}},
                "checks": {'c"; DROP TABLE victims; --': f"{quote(INJECT_COLUMN)} <> ''"},
            },
        },
        "views": {
            'View Of "Orders"': {
                "query": (f"SELECT {quote('ID')}, {quote('select')} AS {quote('Select Me')} "
                          f"FROM {_q(SCHEMA, TABLE)}"),
            },
        },
        "functions": {
            FUNCTION: {
                "arguments": [{"name": "Arg One", "type": "integer"}],
                "returns": "integer",
                "language": "sql",
                "body": f"SELECT {quote('Arg One')} + 1",
            },
            TRIGGER_FUNCTION: {"returns": "trigger", "body": "BEGIN RETURN NEW; END"},
        },
    }


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("identifiers") / "schema"
    path.mkdir()
    (path / "odd.yaml").write_text(yaml.safe_dump(_spec(), allow_unicode=True, sort_keys=False),
                                   encoding="utf-8")
    return path


def _differences(expected: Catalog, actual: Catalog) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(expected, actual, schemas=[SCHEMA])]


@pytest.fixture(scope="module")
def applied(pg: Server, spec_dir: Path) -> tuple[str, Catalog]:
    dsn = pg.create_database()
    run_sql(dsn, "CREATE TABLE public.victims (id int); INSERT INTO public.victims VALUES (1);")
    spec = load_spec(spec_dir)
    run_sql(dsn, render(spec))
    return dsn, spec


def test_the_spec_names_every_kind_oddly(applied: tuple[str, Catalog]) -> None:
    _, spec = applied
    keys = {kind: list(spec.objects(kind)) for kind in ("table", "constraint", "index", "view",
                                                         "function", "trigger", "policy", "enum")}
    assert all(any('"' in key for key in found) for found in keys.values()), keys
    assert spec.enums[_q(SCHEMA, ENUM)].values == ENUM_VALUES


def test_injection_did_nothing(applied: tuple[str, Catalog]) -> None:
    dsn, _ = applied
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM public.victims").fetchone() == (1,)
        names = {row[0] for row in conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE nspname = %s AND relkind = 'r'", [SCHEMA])}
    assert INJECT_TABLE in names and TABLE in names and LONG_TABLE in names


def test_rendered_ddl_quotes_the_injection(applied: tuple[str, Catalog]) -> None:
    _, spec = applied
    ddl = render(spec)
    assert quote(INJECT_TABLE) == '"x""; DROP TABLE victims; --"'
    assert quote(INJECT_TABLE) in ddl


def test_live_read_equals_the_spec(applied: tuple[str, Catalog]) -> None:
    dsn, spec = applied
    live = introspect(dsn, schemas=[SCHEMA])
    assert _differences(spec, live) == []
    assert live.tables[_q(SCHEMA, TABLE)].column(LONG_UNICODE) is not None


def test_cli_verify_and_diff_are_clean(applied: tuple[str, Catalog], spec_dir: Path) -> None:
    dsn, _ = applied
    for argv in (["verify", "--spec", str(spec_dir), "--dsn", dsn], ["diff", str(spec_dir), dsn],
                 ["diff", dsn, dsn, "--schema", SCHEMA]):
        done = subprocess.run([sys.executable, "-m", "pgspec", *argv], capture_output=True, text=True,
                              cwd=ROOT, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_pg_dump_read_offline_equals_live(pg: Server, applied: tuple[str, Catalog], tmp_path: Path) -> None:
    dsn, spec = applied
    out = tmp_path / "odd.sql"
    subprocess.run([pg.tool("pg_dump"), "-f", str(out), "-d", dsn], check=True, capture_output=True)
    offline = read_dump(out, schemas=[SCHEMA])
    assert _differences(introspect(dsn, schemas=[SCHEMA]), offline) == []
    assert _differences(spec, offline) == []


def test_inspect_writes_a_spec_that_reads_back_the_same(applied: tuple[str, Catalog], tmp_path: Path) -> None:
    dsn, _ = applied
    out = tmp_path / "inspected"
    done = subprocess.run([sys.executable, "-m", "pgspec", "inspect", dsn, "--schema", SCHEMA, "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert _differences(introspect(dsn, schemas=[SCHEMA]), load_spec(out)) == []
