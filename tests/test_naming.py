"""Default names match what the server really chooses, including the 63-byte fitting."""

from __future__ import annotations

import psycopg

from pgspec import naming


def test_default_names_match_the_server(db: str) -> None:
    long_table = "t" * 40 + "_é" * 8
    long_col = "c" * 50
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE "{long_table}" (id int PRIMARY KEY, "{long_col}" int UNIQUE, other int,'
            f' CHECK ("{long_col}" > 0), CHECK ("{long_col}" > other))'
        )
        conn.execute(f'ALTER TABLE "{long_table}" ADD UNIQUE ("{long_col}", id)')
        conn.execute(
            f'ALTER TABLE "{long_table}" ADD FOREIGN KEY (other, id) REFERENCES "{long_table}" ("{long_col}", id)'
        )
        conn.execute(f'CREATE INDEX ON "{long_table}" (other, id)')
        conn.execute("CREATE TABLE s (id serial, x int GENERATED ALWAYS AS IDENTITY)")
        names = {r[0] for r in conn.execute("SELECT conname FROM pg_constraint WHERE contype <> 'n'")}
        rels = {r[0] for r in conn.execute("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace")}
    assert naming.primary_key_name(long_table) in names
    assert naming.unique_name(long_table, [long_col]) in names
    assert naming.unique_name(long_table, [long_col, "id"]) in names
    assert naming.check_name(long_table, [long_col]) in names
    assert naming.check_name(long_table, [long_col, "other"]) in names
    assert naming.foreign_key_name(long_table, ["other", "id"]) in names
    assert naming.index_name(long_table, ["other", "id"]) in rels
    assert naming.sequence_name("s", "id") in rels
    assert naming.sequence_name("s", "x") in rels
