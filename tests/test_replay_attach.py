"""Partitions' indexes and constraints replayed as the server keeps them.

A partitioned table's primary keys, unique and exclusion constraints, indexes and foreign keys
reach its partitions; the server takes over a partition's matching object on ATTACH PARTITION
(and when the parent's is created after the partitions), makes one where none matches, and
either way the object belongs to the parent's: every reader lists the parent's only. DETACH
PARTITION makes them the table's own again. Each script is applied to PostgreSQL 18 and 15 and
replayed offline: ``pgspec diff`` must find nothing both ways, and a real change on the server
must be reported.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.diff import diff
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_sql
from tests.fix_db import run_sql
from tests.pgserver import Server
from tests.script_checks import catalog_differences

CORPUS = Path("/work/shared/corpus/pgschema/create_table/issue_495_partition_constraint_convergence")


#: Scripts whose replay must equal what the server built from them, on 18 and 15.
CASES: dict[str, str] = {
    # pgschema's case: standalone partitions with their own unique constraints, attached.
    "attach_matching_constraint": """
        CREATE TABLE p (band_id integer NOT NULL, geom_id integer NOT NULL,
                        CONSTRAINT p_band_id_geom_id_key UNIQUE (band_id, geom_id))
            PARTITION BY LIST (band_id);
        CREATE TABLE p_12 (band_id integer NOT NULL, geom_id integer NOT NULL,
                           CONSTRAINT p_12_band_id_geom_id_key UNIQUE (band_id, geom_id));
        ALTER TABLE p ATTACH PARTITION p_12 FOR VALUES IN (12);
    """,
    # What matches and what does not: a plain unique index never stands in for a constraint;
    # a name the copy would take is numbered; another opclass family, a predicate, another
    # method or collation do not match; the sort order is not compared; a constraint's index
    # may serve a plain parent index and the constraint stays the partition's.
    "attach_what_matches": """
        CREATE TABLE p (a int NOT NULL, b int NOT NULL, c text,
                        CONSTRAINT p_a_b_key UNIQUE (a, b)) PARTITION BY LIST (a);
        CREATE INDEX p_c_idx ON p (c);
        CREATE UNIQUE INDEX p_c_a ON p (c, a);
        CREATE TABLE p1 (a int NOT NULL, b int NOT NULL, c text, CONSTRAINT p1_k UNIQUE (a, b),
                         UNIQUE (c, a));
        CREATE INDEX p1_c ON p1 (c);
        CREATE UNIQUE INDEX p1_c_plain ON p1 (c, a);
        ALTER TABLE p ATTACH PARTITION p1 FOR VALUES IN (1);
        CREATE TABLE p2 (a int NOT NULL, b int NOT NULL, c text);
        CREATE UNIQUE INDEX p2_ab ON p2 (a, b);
        CREATE UNIQUE INDEX p2_c_plain ON p2 (c, a);
        ALTER TABLE p ATTACH PARTITION p2 FOR VALUES IN (2);
        CREATE TABLE p3 (a int NOT NULL, b int NOT NULL, c text);
        CREATE INDEX p3_a_b_key ON p3 (b);
        ALTER TABLE p ATTACH PARTITION p3 FOR VALUES IN (3);
        CREATE TABLE p5 (a int NOT NULL, b int NOT NULL, c text);
        CREATE INDEX p5_c ON p5 (c text_pattern_ops);
        CREATE INDEX p5_c2 ON p5 (c DESC);
        CREATE INDEX p5_c3 ON p5 (c) WHERE c <> '';
        CREATE INDEX p5_c4 ON p5 USING hash (c);
        CREATE INDEX p5_c5 ON p5 (c COLLATE "C");
        ALTER TABLE p ATTACH PARTITION p5 FOR VALUES IN (5);
    """,
    # Foreign keys: taken over when columns, referenced table and columns, actions agree.
    "attach_foreign_keys": """
        CREATE TABLE r (id int PRIMARY KEY, x int UNIQUE);
        CREATE TABLE p (a int NOT NULL, b int NOT NULL,
                        FOREIGN KEY (b) REFERENCES r ON DELETE CASCADE) PARTITION BY LIST (a);
        CREATE TABLE p1 (a int NOT NULL, b int NOT NULL,
                         CONSTRAINT p1_fk FOREIGN KEY (b) REFERENCES r ON DELETE CASCADE);
        ALTER TABLE p ATTACH PARTITION p1 FOR VALUES IN (1);
        CREATE TABLE p2 (a int NOT NULL, b int NOT NULL,
                         CONSTRAINT p2_fk FOREIGN KEY (b) REFERENCES r);
        ALTER TABLE p ATTACH PARTITION p2 FOR VALUES IN (2);
        CREATE TABLE p3 (a int NOT NULL, b int NOT NULL,
                         CONSTRAINT p_b_fkey FOREIGN KEY (b) REFERENCES r);
        ALTER TABLE p ATTACH PARTITION p3 FOR VALUES IN (3);
        CREATE TABLE p5 (a int NOT NULL, b int NOT NULL,
                         CONSTRAINT p5_fk FOREIGN KEY (b) REFERENCES r (x) ON DELETE CASCADE);
        ALTER TABLE p ATTACH PARTITION p5 FOR VALUES IN (5);
    """,
    # A partition's own constraints come after its copies of the parent's, and are numbered
    # past their names; its own foreign key is not taken over.
    "partition_of_own_constraints": """
        CREATE TABLE r (id int PRIMARY KEY);
        CREATE TABLE p (a int NOT NULL, b int NOT NULL, c text, UNIQUE (a, b),
                        FOREIGN KEY (b) REFERENCES r ON DELETE CASCADE) PARTITION BY LIST (a);
        CREATE TABLE p6 PARTITION OF p (UNIQUE (a, b), CONSTRAINT own_fk FOREIGN KEY (b)
            REFERENCES r ON DELETE CASCADE) FOR VALUES IN (6);
        CREATE TABLE p7 PARTITION OF p (c UNIQUE) FOR VALUES IN (7);
    """,
    # The parent's index and constraints made after the partitions exist: the kinds of
    # constraint need not agree here (a partition's primary key serves a parent's unique).
    "parent_objects_after_partitions": """
        CREATE TABLE r (id int PRIMARY KEY);
        CREATE TABLE p (a int NOT NULL, b int NOT NULL, c text) PARTITION BY LIST (a);
        CREATE TABLE p1 PARTITION OF p (CONSTRAINT p1_k UNIQUE (a, b),
            CONSTRAINT p1_fk FOREIGN KEY (b) REFERENCES r ON DELETE CASCADE) FOR VALUES IN (1);
        CREATE INDEX p1_c ON p1 (c);
        CREATE TABLE p2 (a int NOT NULL, b int NOT NULL, c text, PRIMARY KEY (a, b));
        ALTER TABLE p ATTACH PARTITION p2 FOR VALUES IN (2);
        CREATE TABLE p3 PARTITION OF p FOR VALUES IN (3);
        CREATE UNIQUE INDEX p3_ab ON p3 (a, b);
        ALTER TABLE p ADD CONSTRAINT p_a_b_key UNIQUE (a, b);
        ALTER TABLE p ADD FOREIGN KEY (b) REFERENCES r ON DELETE CASCADE;
        CREATE INDEX ON p (c);
    """,
    # Two levels: a partitioned partition without a match gets a copy, whose own partitions
    # are searched in turn; ON ONLY and ALTER INDEX ... ATTACH PARTITION as pg_dump writes.
    "two_levels": """
        CREATE TABLE g (a int NOT NULL, b int NOT NULL, UNIQUE (a, b)) PARTITION BY LIST (a);
        CREATE TABLE m (a int NOT NULL, b int NOT NULL) PARTITION BY LIST (b);
        CREATE TABLE l1 (a int NOT NULL, b int NOT NULL, CONSTRAINT l1_own UNIQUE (a, b));
        ALTER TABLE m ATTACH PARTITION l1 FOR VALUES IN (1);
        CREATE TABLE l2 PARTITION OF m FOR VALUES IN (2);
        ALTER TABLE g ATTACH PARTITION m FOR VALUES IN (1);
        CREATE TABLE d (a int, b int) PARTITION BY LIST (a);
        CREATE TABLE d1 (a int, b int);
        ALTER TABLE ONLY d ATTACH PARTITION d1 FOR VALUES IN (1);
        CREATE INDEX d_b ON ONLY d (b);
        CREATE INDEX d1_b ON d1 (b);
        ALTER INDEX d_b ATTACH PARTITION d1_b;
    """,
    # DETACH: the copies and what was taken over become the table's own, CHECKs too; a table
    # renamed while attached keeps them.
    "detach": """
        CREATE TABLE r (id int PRIMARY KEY);
        CREATE TABLE p (a int NOT NULL, b int NOT NULL, c text, UNIQUE (a, b), CHECK (b > 0),
                        FOREIGN KEY (b) REFERENCES r) PARTITION BY LIST (a);
        CREATE INDEX p_c ON p (c);
        CREATE TABLE p1 (a int NOT NULL, b int NOT NULL, c text, CONSTRAINT p1_k UNIQUE (a, b),
                         CONSTRAINT p_b_check CHECK (b > 0));
        ALTER TABLE p ATTACH PARTITION p1 FOR VALUES IN (1);
        CREATE TABLE p2 PARTITION OF p FOR VALUES IN (2);
        ALTER TABLE p2 RENAME TO p2_renamed;
        ALTER TABLE p DETACH PARTITION p1;
        ALTER TABLE p DETACH PARTITION p2_renamed;
        CREATE TABLE p3 PARTITION OF p FOR VALUES IN (3);
        ALTER TABLE p DROP CONSTRAINT p_a_b_key;
        ALTER TABLE p RENAME COLUMN c TO d;
        ALTER TABLE p DETACH PARTITION p3;
    """,
    # Plain inheritance: NO INHERIT makes the inherited CHECKs the child's own.
    "no_inherit_checks": """
        CREATE TABLE parent (a int CHECK (a > 0), b int);
        CREATE TABLE kid () INHERITS (parent);
        CREATE TABLE kid2 (a int CONSTRAINT parent_a_check CHECK (a > 0), b int);
        ALTER TABLE kid2 INHERIT parent;
        ALTER TABLE kid NO INHERIT parent;
        ALTER TABLE kid2 NO INHERIT parent;
    """,
}


def _build(any_pg: Server, make_db: Callable[..., str], tmp_path: Path, name: str,
           text: str) -> tuple[Path, str]:
    script = tmp_path / f"{name}.sql"
    script.write_text(text)
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    return script, dsn


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_equals_the_server(name: str, any_pg: Server, make_db: Callable[..., str],
                                  tmp_path: Path) -> None:
    script, dsn = _build(any_pg, make_db, tmp_path, name, CASES[name])
    offline, live = read_sql([script]), introspect(dsn)
    assert catalog_differences(offline, live) == []
    assert catalog_differences(live, offline) == []


def test_corpus_case(any_pg: Server, make_db: Callable[..., str]) -> None:
    """The conformance corpus's own script, as the bench replays it."""
    script = CORPUS / "old.sql"
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, script)
    assert catalog_differences(read_sql([script]), introspect(dsn)) == []


def test_primary_key_for_a_parents_unique_is_a_version_difference(
        any_pg: Server, make_db: Callable[..., str], tmp_path: Path) -> None:
    """ATTACH: PostgreSQL 15 attaches a partition's primary key to the parent's unique
    constraint on the same columns, 18 does not; the replay follows 18 and says so."""
    script, dsn = _build(any_pg, make_db, tmp_path, "pk", """
        CREATE TABLE p (a int NOT NULL, b int NOT NULL, UNIQUE (a, b)) PARTITION BY LIST (a);
        CREATE TABLE p4 (a int NOT NULL, b int NOT NULL, PRIMARY KEY (a, b));
        ALTER TABLE p ATTACH PARTITION p4 FOR VALUES IN (4);
    """)
    offline, live = read_sql([script]), introspect(dsn)
    assert any("PostgreSQL 15 attaches it" in w.message for w in offline.warnings)
    found = [(d.object_type, d.name, d.change) for d in diff(offline, live)]
    if any_pg.version >= 180000:
        assert found == []
    else:
        assert found == [("constraint", "public.p4.p4_pkey", "missing")]


def test_changes_on_the_server_are_reported(any_pg: Server, make_db: Callable[..., str],
                                            tmp_path: Path) -> None:
    """What the replay keeps out stays out only while it belongs to the parent: a partition's
    own index that matched nothing, dropped, is missing; a partition detached on the server
    shows its revived constraints and index; a parent's constraint dropped is missing."""
    script, dsn = _build(any_pg, make_db, tmp_path, "changes", CASES["attach_what_matches"])
    run_sql(dsn, "DROP INDEX p5_c3; ALTER TABLE p DETACH PARTITION p1;"
                 "ALTER TABLE p DROP CONSTRAINT p_a_b_key")
    found = {(d.object_type, d.name, d.change) for d in diff(read_sql([script]), introspect(dsn))}
    assert ("index", "public.p5_c3", "missing") in found
    assert ("constraint", "public.p1.p1_k", "unexpected") in found
    assert ("index", "public.p1_c", "unexpected") in found
    assert ("table", "public.p1", "changed") in found
    assert ("constraint", "public.p.p_a_b_key", "missing") in found


def test_partition_copies_are_not_listed(tmp_path: Path) -> None:
    """Offline alone: the partitions' objects that belong to the parent's are not in the
    Catalog, their own unmatched ones are."""
    script = tmp_path / "s.sql"
    script.write_text(CASES["attach_what_matches"])
    catalog = read_sql([script])
    assert sorted(k for k in catalog.constraints) == [
        "public.p.p_a_b_key", "public.p1.p1_c_a_key"]
    assert sorted(catalog.indexes) == [
        "public.p1_c_plain", "public.p2_ab", "public.p3_a_b_key", "public.p5_c", "public.p5_c3",
        "public.p5_c4", "public.p5_c5", "public.p_c_a", "public.p_c_idx"]
