"""Domain CHECKs compare by meaning, typed by the domain's base type; unnamed CHECKs get the server's names.

``VALUE`` in a domain CHECK is a value of the base type, and the server prints the casts parse
analysis adds to it: over a varchar, ``VALUE ~ '^[a-z]+$'`` is stored as
``((VALUE)::text ~ '^[a-z]+$'::text)``, the same relabel a varchar column gets. Written without
the cast in a script or spec, it must compare equal; a cast that changes the meaning (a char(n)
cast to text strips its blanks) must not be taken for the server's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fix_db import Run
from tests.pgserver import Server

DOMAINS = """
CREATE DOMAIN email AS varchar(255) CHECK (VALUE ~ '^[^@]+@[^@]+$');
CREATE DOMAIN slug AS character varying CHECK (char_length(VALUE) BETWEEN 1 AND 63)
    CHECK (VALUE = lower(VALUE));
CREATE DOMAIN currency AS char(3) CHECK (VALUE = upper(VALUE));
CREATE DOMAIN short_code AS char(3) CHECK (VALUE::text <> '');
CREATE DOMAIN label AS text CHECK (VALUE <> '');
CREATE DOMAIN percent AS numeric(5,2) CHECK (VALUE BETWEEN 0 AND 100);
"""


def _diff(run: Run, script: Path, dsn: str) -> tuple[int, list[tuple[str, str | None]]]:
    code, out, err = run("diff", script, dsn, "--schema", "public", "--format", "json")
    assert code in (0, 1), err
    return code, [(d["name"], d["attribute"]) for d in json.loads(out)["differences"]]


@pytest.fixture
def domains(any_pg: Server, make_db: Callable[..., str], tmp_path: Path) -> tuple[str, Path]:
    """A database the DOMAINS script built, on each server, and the script's path."""
    dsn = make_db(server=any_pg)
    any_pg.execute(dsn, DOMAINS)
    script = tmp_path / "domains.sql"
    script.write_text(DOMAINS)
    return dsn, script


def test_domain_checks_compare_equal_to_the_server(domains: tuple[str, Path], run: Run) -> None:
    dsn, script = domains
    assert _diff(run, script, dsn) == (0, [])


def test_a_changed_domain_check_is_reported(domains: tuple[str, Path], run: Run) -> None:
    dsn, script = domains
    script.write_text(DOMAINS.replace("BETWEEN 1 AND 63", "BETWEEN 1 AND 64"))
    assert _diff(run, script, dsn) == (1, [("public.slug", "checks")])


def test_a_meaningful_cast_in_a_domain_check_is_reported(
    domains: tuple[str, Path], run: Run
) -> None:
    """``VALUE::text <> ''`` on a char(3) compares the blank-stripped text; ``VALUE <> ''`` is
    bpchar's comparison: another constraint, which must not be hidden."""
    dsn, script = domains
    script.write_text(DOMAINS.replace("VALUE::text <> ''", "VALUE <> ''"))
    assert _diff(run, script, dsn) == (1, [("public.short_code", "checks")])

UNNAMED = """
CREATE TABLE t (x int CHECK (x > 0) CHECK (x < 10), y int, CHECK (y > 0), CHECK (y < 5));
ALTER TABLE t ADD CHECK (x <> 5);
CREATE DOMAIN d AS int CHECK (VALUE > 0) CHECK (VALUE < 100);
ALTER DOMAIN d ADD CHECK (VALUE <> 50);
"""


def test_unnamed_checks_are_named_as_the_server_names_them(
    any_pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    """ChooseConstraintName: the second unnamed CHECK on ``t.x`` is ``t_x_check1``, the third
    ``t_x_check2`` (a later ALTER TABLE too), and a domain's likewise. The replay named them all
    ``t_x_check``, each replacing the one before: three constraints reported, one hidden."""
    dsn = make_db(server=any_pg)
    any_pg.execute(dsn, UNNAMED)
    script = tmp_path / "unnamed.sql"
    script.write_text(UNNAMED)
    assert _diff(run, script, dsn) == (0, [])
    script.write_text(UNNAMED.replace("CHECK (x < 10)", "CHECK (x < 11)"))
    assert _diff(run, script, dsn) == (1, [("public.t.t_x_check1", "expression")])
