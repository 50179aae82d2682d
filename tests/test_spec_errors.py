"""Every mistake a user can make in a spec is a SpecError naming the file and line to fix."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pgspec.errors import SpecError
from pgspec.sources.spec import load_spec
from tests.fix_db import run_sql

BASE = """\
external: {tables: [auth.users], functions: ["auth.uid()"]}
functions:
  touch: {returns: trigger, body: "BEGIN RETURN NEW; END"}
  plain: {returns: integer, language: sql, body: "SELECT 1"}
tables:
  users:
    columns:
      id: {type: uuid, primary_key: true}
"""

#: (case id, the YAML of spec.yaml (next to base.yaml holding BASE), the line of spec.yaml the
#: error must name, a fragment of the message)
CASES = [
    ("unknown-top-level-key", 'tabels: {}\n', 1, "unknown key 'tabels'"),
    ("unknown-column-key", 'tables:\n  t:\n    columns:\n      a: {type: int, not_nul: true}\n', 4, "unknown key 'not_nul'"),
    ("wrong-type-bool", 'tables:\n  t:\n    columns:\n      a: {type: int, not_null: maybe}\n', 4, "not_null"),
    ("column-shape", 'tables:\n  t:\n    columns:\n      a: [int]\n', 4, "expected a string or a mapping"),
    ("missing-column-type", 'tables:\n  t:\n    columns:\n      a: {not_null: true}\n', 4, "missing required key 'type'"),
    ("invalid-type", 'tables:\n  t:\n    columns:\n      a: {type: "int("}\n', 4, "invalid type"),
    ("type-with-order-by", 'tables:\n  t:\n    columns:\n      a: {type: "int ORDER BY 1"}\n', 4, "invalid type 'int ORDER BY 1'"),
    ("type-with-limit", 'tables:\n  t:\n    columns:\n      a: "int LIMIT 1"\n', 4, "invalid type 'int LIMIT 1'"),
    ("type-with-group-by", 'tables:\n  t:\n    columns:\n      a: "int GROUP BY 1"\n', 4, "invalid type 'int GROUP BY 1'"),
    ("type-with-for-update", 'tables:\n  t:\n    columns:\n      a: {type: "int FOR UPDATE"}\n', 4, "invalid type 'int FOR UPDATE'"),
    ("unknown-user-type", 'tables:\n  t:\n    columns:\n      a: varchr(10)\n', 4, "unknown type 'public.varchr'"),
    ("default-syntax", 'tables:\n  t:\n    columns:\n      a: {type: int, default: "1 +"}\n', 4, "default: invalid expression"),
    ("check-syntax", 'tables:\n  t:\n    columns:\n      a: int\n    checks:\n      c: "a >"\n', 6, "check: invalid expression"),
    ("check-injection", 'tables:\n  t:\n    columns:\n      a: int\n    checks:\n      c: "1) FROM x WHERE (1"\n', 6, "invalid expression"),
    ("fk-unknown-table", 'tables:\n  t:\n    columns:\n      a: {type: uuid, references: nope(id)}\n', 4, "unknown table 'public.nope'"),
    ("fk-unknown-column", 'tables:\n  t:\n    columns:\n      a: {type: uuid, references: users(nope)}\n', 4, "column 'nope'"),
    ("fk-own-column", 'tables:\n  t:\n    columns:\n      a: uuid\n    foreign_keys:\n      f: {columns: [b], references: users(id)}\n', 6, "column 'b'"),
    ("pk-unknown-column", 'tables:\n  t:\n    columns:\n      a: int\n    primary_key: [b]\n', 5, "column 'b'"),
    ("unique-unknown-column", 'tables:\n  t:\n    columns:\n      a: int\n    unique:\n      u: [a, b]\n', 6, "column 'b'"),
    ("index-unknown-column", 'tables:\n  t:\n    columns:\n      a: int\n    indexes:\n      i: {columns: [b]}\n', 6, "column 'b'"),
    ("index-element-syntax", 'tables:\n  t:\n    columns:\n      a: int\n    indexes:\n      i:\n        columns: ["a DESC DESC"]\n', 7, "invalid index element"),
    ("index-on-missing-table", 'indexes:\n  i: {table: nope, columns: [a]}\n', 2, "unknown table 'public.nope'"),
    ("policy-on-missing-table", 'policies:\n  p: {table: nope, using: "true"}\n', 2, "unknown table 'public.nope'"),
    ("trigger-on-missing-table", 'triggers:\n  g: {table: nope, timing: before, events: [insert], function: touch}\n', 2, "unknown table"),
    ("trigger-unknown-function", 'tables:\n  t:\n    columns:\n      a: int\n    triggers:\n      g: {timing: before, events: [insert], function: nope}\n', 6, "unknown trigger function 'public.nope'"),
    ("trigger-function-not-trigger", 'tables:\n  t:\n    columns:\n      a: int\n    triggers:\n      g: {timing: before, events: [insert], function: plain}\n', 6, "does not return trigger"),
    ("trigger-bad-event", 'tables:\n  t:\n    columns:\n      a: int\n    triggers:\n      g: {timing: before, events: [upsert], function: touch}\n', 6, "'events' item 1: input should be 'insert'"),
    ("duplicate-key", 'tables:\n  t:\n    columns:\n      a: int\n      a: text\n', 5, "duplicate key 'a'"),
    ("duplicate-index-name", 'tables:\n  t:\n    columns:\n      a: int\n    indexes:\n      i: {columns: [a]}\nindexes:\n  i: {table: t, columns: [a]}\n', 8, "index 'public.i' is declared twice"),
    ("duplicate-function", 'tables:\n  t: {columns: {a: int}}\nfunctions:\n  f: [{returns: int, language: sql, body: "SELECT 1"}, {returns: int, language: sql, body: "SELECT 2"}]\n', 4, "declared twice"),
    ("unknown-trait", 'tables:\n  t:\n    traits: [nope]\n    columns: {a: int}\n', 3, "unknown trait 'nope'"),
    ("trait-column-clash", 'traits:\n  audit: {columns: {a: int}}\ntables:\n  t:\n    traits: [audit]\n    columns:\n      a: int\n', 7, "also brought by trait 'audit'"),
    ("trait-unknown-parameter", 'traits:\n  s: {parameters: {x: 1}, columns: {b: int}}\ntables:\n  t:\n    traits: [{s: {y: 2}}]\n', 5, "no parameter 'y'"),
    ("plpgsql-body", 'functions:\n  f:\n    returns: void\n    body: "BEGIN x := 1; END"\n', 4, "invalid plpgsql body"),
    ("view-query", 'views:\n  v: {query: "SELECT FROM WHERE"}\n', 2, "invalid query"),
    ("argument-string", 'functions:\n  f: {arguments: ["a b c d"], returns: void, language: sql, body: "SELECT 1"}\n', 2, "invalid argument"),
    ("external-function-no-args", 'external: {functions: [auth.jwt]}\n', 1, "needs its argument types"),
    ("view-option", 'views:\n  v: {query: "SELECT 1", options: {check_option: sometimes}}\n', 2, "check_option"),
    ("two-primary-keys", 'tables:\n  t:\n    columns:\n      a: {type: int, primary_key: true}\n    primary_key: [a]\n', 5, "primary key twice"),
    ("serial-with-default", 'tables:\n  t:\n    columns:\n      a: {type: serial, default: 1}\n', 4, "serial column"),
    ("flow-comma", 'tables:\n  t:\n    columns:\n      a: {type: numeric(10,2)}\n', 4, "quote it"),
    ("relation-name-clash", 'tables:\n  t: {columns: {a: int}}\nviews:\n  t: {query: "SELECT 1"}\n', 4, "same name"),
    # Text that parses as SQL but is not one name: a TypeError from the loader, or (``serial, 1``)
    # taken for a serial column.
    ("type-union", 'tables:\n  t:\n    columns:\n      a: int UNION SELECT 1\n', 4, "invalid type"),
    ("serial-list", 'tables:\n  t:\n    columns:\n      a: "serial, 1"\n', 4, "invalid type"),
    ("owned-by-union", 'tables:\n  t: {columns: {a: int}}\nsequences:\n  s: {owned_by: t.a UNION SELECT 1}\n', 4, "invalid column"),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("extra", "line", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_names_file_and_line(tmp_path: Path, extra: str, line: int, fragment: str) -> None:
    (tmp_path / "base.yaml").write_text(BASE)
    path = write(tmp_path, extra)
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    err = info.value
    assert str(err).startswith(f"{path}:{line}:"), str(err)
    assert fragment in str(err)
    assert (err.file, err.line) == (str(path), line)


def test_not_one_name_is_a_user_error_on_a_real_server(tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """PostgreSQL rejects ``a int UNION SELECT 1`` as a column; ``pgspec verify`` must say
    so as the one-line error of a spec (exit 2), not stop on a TypeError."""
    from pgspec.cli import main

    with pytest.raises(psycopg.errors.SyntaxError):
        run_sql(db, "CREATE TABLE t (a int UNION SELECT 1)")
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "a.yaml").write_text("tables:\n  t:\n    columns:\n      a: int UNION SELECT 1\n")
    assert main(["verify", "--spec", str(spec), "--dsn", db]) == 2
    err = capsys.readouterr().err
    assert f"{spec / 'a.yaml'}:4:" in err and "invalid type" in err and "Traceback" not in err


def test_base_is_valid(tmp_path: Path) -> None:
    assert load_spec(write(tmp_path, BASE)).tables


def test_same_table_in_two_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("tables:\n  t: {columns: {a: int}}\n")
    (tmp_path / "b.yaml").write_text("# b\ntables:\n  t: {columns: {a: int}}\n")
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'b.yaml'}:3: table 'public.t' is declared twice")
    assert f"{tmp_path / 'a.yaml'}:2" in str(info.value)


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "tables:\n  t:\n    columns:\n      a: {type: int, bogus: 1}\n      b: {type: int, other: 2}\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert [(p.line, p.message) for p in info.value.problems] == [
        (4, "unknown key 'bogus'"),
        (5, "unknown key 'other'"),
    ]


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (b"tables:\n\tt: {}\n", 2, "tab character in indentation"),
        (b"tables: {t: \n", 2, "invalid YAML"),
        (b"enums:\n  e: [a]\n  f: ['\xff']\n", 3, "not valid UTF-8"),
        (b"- a\n- b\n", 1, "must be a mapping"),
    ],
    ids=["tab", "syntax", "utf8", "not-a-mapping"],
)
def test_file_level_errors(tmp_path: Path, content: bytes, line: int, fragment: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(content)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}:{line}:"), str(info.value)
    assert fragment in str(info.value)


def test_empty_file_and_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(SpecError, match=r"no \.yaml or \.yml files"):
        load_spec(tmp_path / "d")
    (tmp_path / "d" / "e.yaml").write_text("# nothing yet\n")
    with pytest.raises(SpecError, match="empty spec file"):
        load_spec(tmp_path / "d")
    with pytest.raises(SpecError, match="no such spec"):
        load_spec(tmp_path / "missing")


