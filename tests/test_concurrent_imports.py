"""Commands that read two sources side by side must not race on importing their readers.

``diff script.sql DSN`` reads the script in the main thread while a worker thread reads the
database; ``verify`` with several targets checks them in a pool. Each thread imports its
reader on first use, and two threads importing one package at once can be handed it
half-initialised: psycopg's ``conninfo`` and its ``__init__`` import each other, and
``diff script.sql DSN`` failed with an ImportError traceback (exit 1, as if it had found drift)
in most runs. Only a fresh process imports anything, so these tests run the command line as
separate processes, several times each, and require every run to be clean.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fix_db import run_sql

SCRIPT = """
CREATE TABLE parent (id int PRIMARY KEY, x int DEFAULT 1);
CREATE TABLE child (y text DEFAULT 'a') INHERITS (parent);
CREATE VIEW parent_ids AS SELECT id FROM parent;
"""

SPEC = """
tables:
  parent:
    columns:
      id: {type: integer, primary_key: true}
      x: {type: integer, default: 1}
views:
  parent_ids: {query: "SELECT id FROM parent"}
"""

#: Fresh processes per command: the race showed in five runs of six before the fix.
RUNS = 4


def _pgspec(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pgspec", *map(str, argv)], capture_output=True,
                          text=True, timeout=120, check=False)


def _clean(done: subprocess.CompletedProcess[str], expected_exit: int) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == expected_exit, (done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("order", ["script-first", "dsn-first"])
def test_diff_of_a_script_and_a_database_never_races(db: str, tmp_path: Path, order: str) -> None:
    run_sql(db, SCRIPT)
    script = tmp_path / "schema.sql"
    script.write_text(SCRIPT, encoding="utf-8")
    sides = (script, db) if order == "script-first" else (db, script)
    for _ in range(RUNS):
        done = _pgspec("diff", *sides)
        _clean(done, 0)
        assert "no differences" in done.stdout


def test_verify_against_a_database_and_its_dump_never_races(pg, db: str, tmp_path: Path) -> None:
    """Several targets are checked in a thread pool: a live one and a dump at once."""
    run_sql(db, "CREATE TABLE parent (id int PRIMARY KEY, x int DEFAULT 1);"
                " CREATE VIEW parent_ids AS SELECT id FROM parent;")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    dump = tmp_path / "backup.sql"
    subprocess.run([pg.tool("pg_dump"), "--schema-only", "-f", str(dump), db], check=True,
                   capture_output=True)
    targets = tmp_path / "targets.txt"
    targets.write_text(f"live  {db}\nbackup  {dump}\n", encoding="utf-8")
    for _ in range(RUNS):
        done = _pgspec("verify", "--spec", spec, "--targets", targets)
        _clean(done, 0)
        assert done.stdout.count("match") >= 2, done.stdout
