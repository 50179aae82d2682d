"""The conformance runner (bench/conformance.py) on a few cases of each corpus.

The whole corpora take minutes; these cases cover each check (drift found, no false drift,
a dump read offline equals the database, inspect -> render round trip, each side's own SQL
replayed offline equals the database it built) on constraints, enums, RLS, triggers,
partitions, disabled triggers, a view of ``*``, LIKE, a partition attaching its own unique key
and default privileges made under SET ROLE, and must all pass.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.pgserver import Server

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/shared/corpus")
CASES = [
    "migra/constraints",
    "migra/dependencies2",
    "migra/enumdefaults",
    "migra/rls",
    "migra/triggers",
    "pgschema/create_policy/alter_policy_using",
    "pgschema/create_table/add_table_partitioned",
    "pgschema/create_trigger/disable_trigger",
    "pgschema/comment/noop_column_comments",
    "pgschema/create_table/add_table_like",
    "pgschema/create_table/issue_495_partition_constraint_convergence",
    "pgschema/default_privilege/drop_privilege",
]

pytestmark = pytest.mark.skipif(not (CORPUS / "migra").is_dir(), reason="the shared corpora are not here")


@pytest.fixture(scope="module")
def conformance():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import conformance as module
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return module


def test_subset_passes_every_check(conformance, pg: Server, tmp_path: Path,  # type: ignore[no-untyped-def]
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.json"
    args = [str(CORPUS / "migra"), str(CORPUS / "pgschema"), "--dsn", pg.dsn, "--pg-dump", pg.tool("pg_dump"),
            "--json", str(out), *(x for name in CASES for x in ("--case", name))]
    code = conformance.main(args)
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    rows = {c["case"]: c for c in data["cases"]}
    assert sorted(rows) == sorted(CASES)
    for name, row in rows.items():
        assert (row["drift"], row["sources"], row["roundtrip"], row["scripts"]) == ("pass",) * 4, (name, row["reasons"])
    assert code == 0
    # One printed row per case, then the totals.
    assert all(name in printed for name in CASES)
    assert data["totals"]["drift"]["pass"] == len(CASES)
    assert f"roundtrip  pass {len(CASES)}" in printed
    assert f"scripts    pass {len(CASES)}" in printed


def test_no_drift_case_and_drift_case_are_told_apart(conformance) -> None:  # type: ignore[no-untyped-def]
    cases = {c.name: c for c in conformance.discover([CORPUS / "migra", CORPUS / "pgschema"])}
    assert cases["pgschema/comment/noop_column_comments"].expects_drift is False
    assert cases["migra/constraints"].expects_drift is True
    assert len([c for c in cases.values() if not c.expects_drift]) >= 6
    assert len(cases) == 26 + 199
