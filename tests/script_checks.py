"""Helpers for tests that build a database from a script and compare the script with it.

A replay test applies a script on a real server as psql would, then runs ``pgspec diff``
between the script (replayed offline) and the database, and reads the JSON report. The
migration-fidelity, LIKE and naming tests all do this; the steps live here once.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pgspec.catalog import Catalog
from pgspec.diff import diff
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_sql
from tests.fix_db import Run
from tests.pgserver import Server


def apply_script(server: Server, dsn: str, script: Path) -> None:
    """The script applied as psql applies it, its error shown when the server refuses it."""
    try:
        server.psql_file(dsn, script)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"the server refused the script: {exc.stderr}")


def built_from_script(server: Server, make_db: Callable[..., str], tmp_path: Path, text: str,
                      name: str = "history") -> tuple[Path, str]:
    """``text`` written to ``<name>.sql`` and applied to a fresh database: (script, dsn)."""
    script = tmp_path / f"{name}.sql"
    script.write_text(text)
    dsn = make_db(server=server)
    apply_script(server, dsn, script)
    return script, dsn


def diff_report(run: Run, expected: Path | str, actual: Path | str, *options: str) -> tuple[int, dict]:
    """``pgspec diff EXPECTED ACTUAL --format json``: its exit code (0 or 1) and report."""
    code, out, err = run("diff", expected, actual, "--format", "json", *options)
    assert code in (0, 1), err
    return code, json.loads(out)


def report_lines(report: dict) -> list[str]:
    """A JSON report's differences, one readable line each (for assertion messages)."""
    return [f"{d['object_type']} {d['name']} {d['change']} {d['attribute']}: "
            f"{d['expected']!r} != {d['actual']!r}" for d in report["differences"]]


def report_found(report: dict) -> set[tuple[str, str, str]]:
    """A JSON report's differences as (object_type, name, change)."""
    return {(d["object_type"], d["name"], d["change"]) for d in report["differences"]}


def catalog_differences(expected: Catalog, actual: Catalog) -> list[str]:
    """``diff(expected, actual)``, one readable line per difference (empty when equal)."""
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(expected, actual)]


def replayed_and_live(server: Server, make_db: Callable[..., str], tmp_path: Path, text: str,
                      name: str, schemas: list[str]) -> tuple[Catalog, Catalog]:
    """The script ``text`` replayed offline, and the database it builds read live."""
    script, dsn = built_from_script(server, make_db, tmp_path, text, name)
    return read_sql([script]), introspect(dsn, schemas=schemas)


def assert_drift_reported(server: Server, make_db: Callable[..., str], run: Run, tmp_path: Path,
                          text: str, name: str, change: str, expected: set[tuple[str, str, str]],
                          *options: str) -> None:
    """A database built from ``text``, then changed on the server by ``change``: comparing the
    script with it reports exactly ``expected`` ((object_type, name, change) each), exit 1."""
    script, dsn = built_from_script(server, make_db, tmp_path, text, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(change)  # type: ignore[call-overload]
    code, report = diff_report(run, script, dsn, *options)
    assert report_found(report) == expected, "\n".join(report_lines(report))
    assert code == 1
