"""The test servers themselves: each one answers, and databases are independent."""

from __future__ import annotations

import psycopg


def test_fresh_databases_are_independent(make_db) -> None:
    first, second = make_db(), make_db()
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE only_here (id int)")
    with psycopg.connect(second, autocommit=True) as conn:
        found = conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'only_here'").fetchone()
    assert found == (0,)


def test_every_server_answers(any_pg) -> None:
    assert any_pg.version >= 150000
