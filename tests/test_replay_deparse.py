"""The dump reader remembers printed parse trees by their ``repr``: equal trees written at
different places share the text, trees that differ anywhere do not."""

from __future__ import annotations

import pglast
from pglast.stream import RawStream

from pgspec.sources.replay.state import deparse


def _default(sql: str) -> object:
    stmt = pglast.parse_sql(sql)[0].stmt
    return stmt.tableElts[-1].constraints[0].raw_expr


def test_same_tree_at_another_place_prints_the_same() -> None:
    first = _default("CREATE TABLE a (x int DEFAULT (1 + 2))")
    second = _default("CREATE TABLE bbbbbbbbbb (y int, x int DEFAULT (1 + 2))")
    assert first.location != second.location
    assert deparse(first) == deparse(second) == RawStream()(second)


def test_trees_that_differ_print_their_own_text() -> None:
    texts = [
        "'a'::text", "'a'::varchar", "'b'::text", "1", "1.0", "'1'", "true", "NULL", "now()",
        "public.now()", "-1", "1 - 2", "2 - 1", "ARRAY[1, 2]", "'{}'::jsonb", "x'1f'",
    ]
    for text in texts:
        node = _default(f"CREATE TABLE t (c text DEFAULT {text})")
        assert deparse(node) == RawStream()(node), text
    printed = {deparse(_default(f"CREATE TABLE t (c text DEFAULT {t})")) for t in texts}
    assert len(printed) == len(texts)


def test_tablespace_location_is_not_mistaken_for_a_position() -> None:
    """CREATE TABLESPACE keeps its directory in ``location``, which ``repr`` leaves out."""
    one = pglast.parse_sql("CREATE TABLESPACE t LOCATION '/a'")[0].stmt
    two = pglast.parse_sql("CREATE TABLESPACE t LOCATION '/b'")[0].stmt
    assert deparse(one) != deparse(two)
    assert "/b" in deparse(two)
