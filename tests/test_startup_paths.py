"""The short cuts that keep ``pgspec verify`` quick must give the answers of the long way round.

Each fast path of issue 8 (start-up) is checked against what it replaced: the rewritten-tree
comparison against comparing printed canonical text, the direct walk naming CHECK columns
against pglast's ``Visitor``, and the lazy imports against a fresh interpreter's module list
(a spec-only command must not load psycopg; a clean verify must not load the scratch-server
module).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pglast import ast, visitors

from pgspec.normalize import canonical_expression, canonical_query, equivalent
from pgspec.normalize.expressions import expression_tree, query_tree
from pgspec.spec.names import serial_base, user_type_parts
from pgspec.spec.sqlcheck import expression_columns, parse_expression

ROOT = Path(__file__).resolve().parent.parent

#: Hand-written fragments beside the server's printing of the same meaning, and near misses.
EXPRESSIONS = [
    "status IN ('a', 'b')",
    "(status = ANY (ARRAY['a'::text, 'b'::text]))",  # a text column (a varchar's needs its type)
    "status IN ('a', 'c')",
    "price >= 0 AND price < 1000",
    "((price >= (0)::numeric) AND (price < (1000)::numeric))",
    "price > 0 AND price < 1000",
    "port BETWEEN 1 AND 65535",
    "((port >= 1) AND (port <= 65535))",
    "auth.uid() = user_id",
    "(auth.uid() = user_id)",
    "user_id = auth.uid()",
    "now()",
    "CURRENT_TIMESTAMP",
    "gen_random_uuid()",
    "public.gen_random_uuid()",
    "name ~~ 'a%'",
    "name LIKE 'a%'",
    "(a).b + 1",
    "coalesce(x, 0) > 0",
    "COALESCE(x, 0) > 0",
    "'{}'::jsonb",
    "'{}'::json",
]

QUERIES = [
    "SELECT id, name FROM public.accounts WHERE deleted_at IS NULL",
    "SELECT accounts.id, accounts.name FROM accounts WHERE (accounts.deleted_at IS NULL);",
    "SELECT id FROM public.accounts WHERE deleted_at IS NULL",
    "SELECT a.id, count(*) AS n FROM accounts a JOIN projects p ON p.account_id = a.id GROUP BY a.id",
    "SELECT a.id, count(*) AS n FROM accounts a LEFT JOIN projects p ON p.account_id = a.id GROUP BY a.id",
]


@pytest.mark.parametrize(
    ("kind", "texts", "tree", "text"),
    [("expression", EXPRESSIONS, expression_tree, canonical_expression),
     ("query", QUERIES, query_tree, canonical_query)],
)
def test_equal_trees_mean_equal_text(kind: str, texts: list[str], tree: Any, text: Any) -> None:
    """Tree equality is only a short cut: it never says "same" where the printed forms differ,
    and ``equivalent`` answers exactly as comparing the printed forms does."""
    for a, b in itertools.product(texts, repeat=2):
        if tree(a) == tree(b):
            assert text(a) == text(b), (a, b)
        assert equivalent(kind, a, b) == (text(a) == text(b)), (a, b)


def test_the_tree_short_cut_is_taken_for_the_servers_spelling() -> None:
    assert expression_tree("status IN ('a', 'b')") == expression_tree(EXPRESSIONS[1])
    assert expression_tree("port BETWEEN 1 AND 65535") == expression_tree("((port >= 1) AND (port <= 65535))")
    assert expression_tree("status IN ('a', 'b')") != expression_tree("status IN ('a', 'c')")


class _ColumnNames(visitors.Visitor):
    """What expression_columns used to be: pglast's breadth-first Visitor."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def visit_ColumnRef(self, ancestors: Any, node: ast.ColumnRef) -> None:
        if isinstance(node.fields[-1], ast.String):
            self.names.append(node.fields[-1].sval)


@pytest.mark.parametrize("text", [
    *EXPRESSIONS,
    "a > b AND (c < d OR e IN (SELECT f FROM g WHERE h = i))",
    "CASE WHEN a THEN b ELSE c END = d",
    "x = ANY (ARRAY[y, z]) AND ROW(p, q) = ROW(r, s)",
    "f(a ORDER BY b) FILTER (WHERE c) OVER (PARTITION BY d ORDER BY e) > 0",
    "t.* IS NOT NULL AND lower(name) ~ '^[a-z]' AND length(name) < 10",
])
def test_check_columns_in_the_visitors_order(text: str) -> None:
    visitor = _ColumnNames()
    visitor(parse_expression(text))
    assert expression_columns(text) == visitor.names


def test_remembered_type_answers() -> None:
    assert serial_base("serial") == "integer"
    assert serial_base("BIGSERIAL") == "bigint"
    assert serial_base('"serial"') == "integer"
    assert serial_base("serial[]") is None
    assert serial_base("public.serial") is None
    assert serial_base("not a type (") is None
    assert user_type_parts("public.project_type[]") == ("public", "project_type")
    assert user_type_parts("integer") is None


def _modules_after(*argv: str) -> set[str]:
    """The modules a fresh interpreter holds after running one pgspec command."""
    code = ("import sys\nfrom pgspec.cli import main\ncode = main(sys.argv[1:])\n"
            "print(' '.join(sorted(sys.modules)))\nraise SystemExit(code)")
    proc = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.splitlines()[-1].split())


def test_a_spec_only_command_does_not_load_psycopg() -> None:
    modules = _modules_after("diff", "schema/", "schema/")
    assert "pgspec.spec.models" in modules
    assert "psycopg" not in modules
    assert "pgspec.devdb" not in modules


def test_a_clean_comparison_loads_only_what_it_uses() -> None:
    """No differences: no value is printed (difflib, html), no body differs (normalize.bodies),
    and the seed's SQL bodies parse as statements (the standard-body reader, pgspec.deps)."""
    modules = _modules_after("diff", "schema/", "schema/")
    assert "pgspec.normalize" in modules and "pgspec.report" in modules
    assert not {"pgspec.deps", "pgspec.normalize.bodies", "difflib", "html", "pgspec.files"} & modules


def test_the_input_models_build_their_validators_on_first_use() -> None:
    """Importing the spec models builds no validator; validating a file builds FileIn's (once,
    for the whole tree), and the builder's shorthand expansions build none of their own."""
    code = (
        "import sys\nimport pgspec.spec.models as m\n"
        "before = [n for n in dir(m) if n.endswith('In') and getattr(getattr(m, n), '__pydantic_complete__', False)]\n"
        "from pgspec.sources.spec import load_spec\nload_spec('schema/')\n"
        "after = [n for n in dir(m) if n.endswith('In') and getattr(getattr(m, n), '__pydantic_complete__', False)]\n"
        "print(' '.join(before)); print(' '.join(after))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    before, after = proc.stdout.splitlines()
    # Two models have instances as field defaults (``ViewIn.options``, ``FileIn.external``).
    assert set(before.split()) <= {"ViewOptionsIn", "ExternalIn"}
    assert "FileIn" in after.split()
    assert "ColumnIn" not in after.split()


def test_version_loads_no_model() -> None:
    code = "import sys\nfrom pgspec.cli import main\nmain(['--version'])\nprint(' '.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    modules = set(proc.stdout.split())
    assert not {"pydantic", "psycopg", "pglast", "pgspec.catalog"} & modules
