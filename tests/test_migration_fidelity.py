"""A migration history replayed offline ends with exactly the schema the server ends with.

Teams consolidate dozens of migration files into init scripts and must show both give the
production schema. Each case here is a small history of one idiom; it runs in a real database
(PostgreSQL 18 and 15) and ``pgspec diff <script> <dsn>`` must report no difference, and no
warning unless the replay cannot know the answer offline (then the warning is asserted).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fix_db import Run, run_sql
from tests.pgserver import Server
from tests.script_checks import apply_script, diff_report, report_lines

TOUCH = (
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RETURN NEW; END $$;\n"
)

CASES: dict[str, str] = {
    "search_path_set": """
        CREATE SCHEMA app;
        SET search_path TO app, public;
        CREATE TYPE status AS ENUM ('new', 'done');
        CREATE FUNCTION now_utc() RETURNS timestamptz LANGUAGE sql AS $$ SELECT now() $$;
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE FUNCTION norm(x text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(x) $$;
        CREATE SEQUENCE ticket_no;
        CREATE TABLE items (
            id int PRIMARY KEY DEFAULT nextval('ticket_no'),
            state status NOT NULL DEFAULT 'new',
            states status[],
            at timestamptz DEFAULT now_utc(),
            name text CHECK (norm(name) <> ''),
            CHECK (state <> 'done'::status OR at IS NOT NULL));
        CREATE INDEX items_name ON items (norm(name), state) WHERE norm(name) <> 'x';
        CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE FUNCTION label(s status) RETURNS text LANGUAGE sql AS $$ SELECT s::text $$;
        CREATE VIEW open_items AS SELECT id, label(state) FROM items WHERE state = 'new';
        RESET search_path;
        CREATE TABLE public_items (id int, s app.status DEFAULT 'new');
    """,
    "search_path_set_config": """
        CREATE SCHEMA app;
        SELECT pg_catalog.set_config('search_path', 'app', false);
        CREATE TYPE kind AS ENUM ('a', 'b');
        CREATE DOMAIN positive AS int CHECK (VALUE > 0);
        CREATE FUNCTION pick() RETURNS kind LANGUAGE sql AS $$ SELECT 'a'::kind $$;
        CREATE TABLE things (k kind DEFAULT pick(), n positive);
        SELECT pg_catalog.set_config('search_path', 'public', false);
        CREATE TABLE other (k app.kind);
    """,
    "sequence_rename": """
        CREATE TABLE t (id serial PRIMARY KEY, n int);
        ALTER SEQUENCE t_id_seq RENAME TO t_id_seq2;
        CREATE SEQUENCE counter;
        CREATE TABLE u (n bigint DEFAULT nextval('counter'));
        ALTER SEQUENCE counter RENAME TO counter2;
    """,
    "serial_table_rename": """
        CREATE TABLE t (id serial PRIMARY KEY, n int);
        ALTER TABLE t RENAME TO t2;
        ALTER TABLE t2 RENAME COLUMN id TO ident;
    """,
    "sequence_set_schema": """
        CREATE SCHEMA other;
        CREATE SEQUENCE counter;
        CREATE TABLE u (n bigint DEFAULT nextval('counter'::regclass));
        ALTER SEQUENCE counter SET SCHEMA other;
    """,
    "add_drop_column_cascade": """
        CREATE TABLE parent (id int PRIMARY KEY, code text UNIQUE);
        CREATE TABLE t (a int, b int, c int, code text REFERENCES parent (code));
        CREATE VIEW v AS SELECT a, b FROM t;
        CREATE VIEW vv AS SELECT a FROM v;
        CREATE VIEW keep AS SELECT a, c FROM t;
        CREATE INDEX t_b ON t (b);
        CREATE INDEX t_expr ON t ((a + b));
        CREATE INDEX t_partial ON t (a) WHERE b > 0;
        ALTER TABLE t ADD CONSTRAINT b_positive CHECK (b > 0);
        ALTER TABLE t ADD CONSTRAINT a_below_b CHECK (a < b);
        ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        CREATE POLICY p ON t USING (b > 0);
        CREATE POLICY q ON t USING (a > 0);
        ALTER TABLE t ADD COLUMN d int DEFAULT 1 NOT NULL;
        ALTER TABLE t DROP COLUMN b CASCADE;
        ALTER TABLE parent DROP COLUMN code CASCADE;
    """,
    "drop_column_generated_and_trigger": TOUCH + """
        CREATE TABLE t (a int, b int, total int GENERATED ALWAYS AS (a * 2) STORED, n int);
        CREATE TRIGGER t_b BEFORE UPDATE OF b ON t FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE TRIGGER t_when BEFORE UPDATE ON t FOR EACH ROW WHEN (OLD.n <> NEW.n)
            EXECUTE FUNCTION touch();
        CREATE INDEX t_total ON t (total);
        ALTER TABLE t DROP COLUMN b CASCADE;
        ALTER TABLE t DROP COLUMN n CASCADE;
        ALTER TABLE t DROP COLUMN a CASCADE;
    """,
    "alter_column_type_using": """
        CREATE TYPE mood AS ENUM ('ok', 'sad');
        CREATE TABLE t (id int DEFAULT 0, s text, n varchar(10) DEFAULT 'x',
            CHECK (id >= 0));
        CREATE INDEX t_id ON t (id);
        ALTER TABLE t ALTER COLUMN id TYPE bigint;
        ALTER TABLE t ALTER COLUMN s TYPE mood USING s::mood;
        ALTER TABLE t ALTER COLUMN n TYPE text;
        ALTER TABLE t ALTER COLUMN s SET DEFAULT 'ok';
    """,
    "defaults_and_not_null": """
        CREATE TABLE t (a int, b text DEFAULT 'x' NOT NULL, c timestamptz);
        ALTER TABLE t ALTER COLUMN a SET DEFAULT 42;
        ALTER TABLE t ALTER COLUMN a SET NOT NULL;
        ALTER TABLE t ALTER COLUMN b DROP DEFAULT;
        ALTER TABLE t ALTER COLUMN b DROP NOT NULL;
        ALTER TABLE t ALTER c SET DEFAULT now(), ALTER c SET NOT NULL;
    """,
    "renames": """
        CREATE TABLE a (id int PRIMARY KEY, name text);
        CREATE TABLE b (id int, a_id int CONSTRAINT b_a_fk REFERENCES a, n int,
            CONSTRAINT n_positive CHECK (n > 0), CONSTRAINT b_uq UNIQUE (n));
        CREATE INDEX b_a_id ON b (a_id);
        ALTER TABLE b RENAME CONSTRAINT n_positive TO n_above_zero;
        ALTER TABLE b RENAME CONSTRAINT b_uq TO b_n_unique;
        ALTER INDEX b_a_id RENAME TO b_by_a;
        ALTER INDEX a_pkey RENAME TO a_primary;
        ALTER TABLE a RENAME TO accounts;
        ALTER TABLE b RENAME COLUMN a_id TO account_id;
        ALTER TABLE IF EXISTS missing RENAME TO still_missing;
    """,
    "table_set_schema": """
        CREATE SCHEMA archive;
        CREATE TABLE t (id serial PRIMARY KEY, n int CHECK (n > 0));
        CREATE INDEX t_n ON t (n);
        CREATE TABLE ref (t_id int REFERENCES t);
        CREATE VIEW v AS SELECT id, n FROM t;
        ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        CREATE POLICY p ON t USING (n > 0);
        ALTER TABLE t SET SCHEMA archive;
    """,
    "type_set_schema": """
        CREATE SCHEMA lib;
        CREATE TYPE mood AS ENUM ('ok', 'sad');
        CREATE TABLE t (m mood DEFAULT 'ok', ms mood[]);
        ALTER TYPE mood SET SCHEMA lib;
    """,
    "function_set_schema": TOUCH + """
        CREATE SCHEMA lib;
        CREATE FUNCTION one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
        CREATE TABLE t (n int DEFAULT one());
        CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER FUNCTION one() SET SCHEMA lib;
        ALTER FUNCTION touch() SET SCHEMA lib;
    """,
    "enum_add_and_rename_value": """
        CREATE TYPE mood AS ENUM ('ok', 'sad');
        ALTER TYPE mood ADD VALUE 'happy' BEFORE 'ok';
        ALTER TYPE mood ADD VALUE 'meh' AFTER 'ok';
        ALTER TYPE mood ADD VALUE IF NOT EXISTS 'sad';
        ALTER TYPE mood ADD VALUE 'angry';
        ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';
    """,
    "create_or_replace": """
        CREATE TABLE t (id int, name text);
        CREATE VIEW v AS SELECT id FROM t;
        CREATE OR REPLACE VIEW v AS SELECT id, name FROM t WHERE id > 0;
        CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS $$ SELECT x $$;
        CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql STABLE AS $$ SELECT x + 1 $$;
        CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;
        CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 2; END $$;
    """,
    "drop_if_exists_missing": """
        CREATE TABLE t (id int);
        DROP TABLE IF EXISTS nothing;
        DROP VIEW IF EXISTS nothing_v;
        DROP FUNCTION IF EXISTS nothing_f(int);
        DROP TYPE IF EXISTS nothing_t;
        DROP INDEX IF EXISTS nothing_i;
        DROP SEQUENCE IF EXISTS nothing_s;
        DROP TRIGGER IF EXISTS nothing_tr ON t;
        DROP POLICY IF EXISTS nothing_p ON t;
        ALTER TABLE t DROP COLUMN IF EXISTS nothing_c;
        ALTER TABLE t DROP CONSTRAINT IF EXISTS nothing_k;
        DROP SCHEMA IF EXISTS nothing_schema CASCADE;
    """,
    "drop_table_cascade": """
        CREATE TABLE a (id int PRIMARY KEY);
        CREATE TABLE b (id int, a_id int REFERENCES a);
        CREATE TABLE c (id int, a_id int, FOREIGN KEY (a_id) REFERENCES a (id));
        CREATE VIEW va AS SELECT id FROM a;
        CREATE VIEW vb AS SELECT b.id FROM b JOIN va ON va.id = b.a_id;
        CREATE VIEW vc AS SELECT id FROM c;
        DROP TABLE a CASCADE;
    """,
    "drop_function_cascade": TOUCH + """
        CREATE TABLE t (id int);
        CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE FUNCTION one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
        CREATE TABLE u (n int DEFAULT one(), m int DEFAULT 2);
        DROP FUNCTION touch() CASCADE;
        DROP FUNCTION one() CASCADE;
    """,
    "policies": """
        CREATE TABLE t (id int, owner text);
        ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own ON t USING (owner = current_user);
        ALTER POLICY own ON t USING (owner = session_user) WITH CHECK (owner IS NOT NULL);
        ALTER POLICY own ON t TO postgres;
        ALTER POLICY own ON t RENAME TO mine;
        DROP POLICY IF EXISTS mine ON t;
        CREATE POLICY mine ON t FOR SELECT USING (true);
        DROP POLICY IF EXISTS never ON t;
        ALTER TABLE t FORCE ROW LEVEL SECURITY;
        CREATE TABLE u (id int);
        ALTER TABLE u ENABLE ROW LEVEL SECURITY;
        ALTER TABLE u FORCE ROW LEVEL SECURITY;
        ALTER TABLE u DISABLE ROW LEVEL SECURITY;
        ALTER TABLE u NO FORCE ROW LEVEL SECURITY;
    """,
    "comments": """
        CREATE TABLE t (id int);
        CREATE VIEW v AS SELECT id FROM t;
        CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
        COMMENT ON TABLE t IS 'a table';
        COMMENT ON COLUMN t.id IS 'an id';
        COMMENT ON VIEW v IS 'a view';
        COMMENT ON FUNCTION f() IS 'a function';
        COMMENT ON TABLE t IS NULL;
        COMMENT ON COLUMN t.id IS NULL;
        COMMENT ON VIEW v IS '';
        COMMENT ON FUNCTION f() IS 'changed';
    """,
    "identity_columns": """
        CREATE TABLE t (id int NOT NULL, n bigint NOT NULL, m int GENERATED ALWAYS AS IDENTITY);
        ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;
        ALTER TABLE t ALTER COLUMN n ADD GENERATED BY DEFAULT AS IDENTITY (START WITH 10);
        ALTER TABLE t ALTER COLUMN id SET GENERATED BY DEFAULT;
        ALTER TABLE t ALTER COLUMN m DROP IDENTITY;
        ALTER TABLE t ADD COLUMN k int GENERATED BY DEFAULT AS IDENTITY;
    """,
    "create_index_if_not_exists_twice": """
        CREATE TABLE t (id int, n int);
        CREATE INDEX IF NOT EXISTS t_n ON t (n);
        CREATE INDEX IF NOT EXISTS t_n ON t (id);
        CREATE UNIQUE INDEX IF NOT EXISTS t_id ON t (id);
        CREATE UNIQUE INDEX IF NOT EXISTS t_id ON t (id);
        CREATE TABLE IF NOT EXISTS t (other int);
    """,
    "type_and_function_renames": TOUCH + """
        CREATE TYPE mood AS ENUM ('ok', 'sad');
        CREATE DOMAIN score AS int CHECK (VALUE >= 0);
        CREATE TYPE pair AS (a mood, b score);
        CREATE TABLE t (m mood DEFAULT 'ok', s score, p pair, ms mood[]);
        CREATE FUNCTION happy(m mood) RETURNS boolean LANGUAGE sql AS $$ SELECT m = 'ok' $$;
        CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER TYPE mood RENAME TO feeling;
        ALTER DOMAIN score RENAME TO points;
        ALTER FUNCTION touch() RENAME TO stamp;
        ALTER FUNCTION happy(feeling) RENAME TO glad;
    """,
    "view_moves_and_drops": """
        CREATE SCHEMA reporting;
        CREATE TABLE t (id int, n int);
        CREATE VIEW base AS SELECT id, n FROM t;
        CREATE VIEW top AS SELECT id FROM base WHERE n > 1;
        CREATE VIEW other AS SELECT * FROM t;
        ALTER VIEW base RENAME TO base_v;
        ALTER VIEW top SET SCHEMA reporting;
        CREATE MATERIALIZED VIEW counts AS SELECT count(*) AS n FROM base_v;
        CREATE INDEX counts_n ON counts (n);
        DROP VIEW base_v CASCADE;
        ALTER TABLE t DROP COLUMN n CASCADE;
    """,
    "drop_sequence_and_policy_cascade": """
        CREATE SEQUENCE s;
        CREATE TABLE c (n bigint DEFAULT nextval('s'), m int DEFAULT 1);
        DROP SEQUENCE s CASCADE;
        CREATE TABLE a (id int PRIMARY KEY);
        CREATE TABLE b (id int);
        ALTER TABLE b ENABLE ROW LEVEL SECURITY;
        CREATE POLICY pb ON b USING (id IN (SELECT id FROM a));
        CREATE POLICY keep ON b USING (id > 0);
        DROP TABLE a CASCADE;
    """,
    "search_path_policies_and_views": """
        CREATE SCHEMA app;
        SET search_path = app, public;
        CREATE TABLE members (org int, who text);
        CREATE TABLE docs (id serial PRIMARY KEY, org int);
        ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
        CREATE POLICY by_org ON docs USING (org IN (SELECT m.org FROM members m
            WHERE m.who = current_user));
        CREATE VIEW doc_ids AS SELECT id FROM docs;
        SET search_path = public;
        CREATE TABLE members (org int, who text);
        ALTER TABLE app.members RENAME COLUMN who TO member;
        ALTER SEQUENCE app.docs_id_seq RENAME TO docs_seq;
    """,
    "drop_parents_and_types": """
        CREATE TABLE p (id int) PARTITION BY RANGE (id);
        CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
        CREATE TABLE parent (id int);
        CREATE TABLE child (n int) INHERITS (parent);
        CREATE TABLE other (id int);
        DROP TABLE p;
        DROP TABLE parent CASCADE;
        CREATE TYPE mood AS ENUM ('ok');
        CREATE DOMAIN mood_d AS mood;
        CREATE TABLE t (id int, m mood, ms mood[], d mood_d);
        CREATE FUNCTION f(m mood) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
        CREATE FUNCTION g() RETURNS mood LANGUAGE sql AS $$ SELECT 'ok'::mood $$;
        DROP TYPE mood CASCADE;
    """,
    "drop_schema_cascade": """
        CREATE SCHEMA lib;
        CREATE TYPE lib.mood AS ENUM ('ok');
        CREATE FUNCTION lib.one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
        CREATE TABLE lib.t (id int PRIMARY KEY);
        CREATE TABLE u (m lib.mood, n int DEFAULT lib.one(), t_id int REFERENCES lib.t, k int);
        CREATE VIEW v AS SELECT id FROM lib.t;
        CREATE VIEW w AS SELECT k FROM u;
        DROP SCHEMA lib CASCADE;
    """,
    "transaction_wrappers": """
        BEGIN;
        CREATE TABLE t (id int);
        COMMIT;
        BEGIN;
        ALTER TABLE t ADD COLUMN n int;
        SAVEPOINT s;
        CREATE INDEX t_n ON t (n);
        RELEASE SAVEPOINT s;
        END;
        START TRANSACTION;
        CREATE TABLE rolled_back (id int);
        ALTER TABLE t DROP COLUMN n;
        SET search_path TO nowhere;
        ROLLBACK;
        BEGIN;
        CREATE TABLE kept (id int);
        SAVEPOINT a;
        DROP TABLE kept;
        ROLLBACK TO SAVEPOINT a;
        ALTER TABLE kept ADD COLUMN n int;
        SAVEPOINT b;
        ALTER TABLE kept ADD COLUMN m int;
        ROLLBACK TO b;
        COMMIT;
        CREATE TABLE after_commit (id int);
    """,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_history_replays_to_the_servers_schema(
    case: str, any_pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    script = tmp_path / f"{case}.sql"
    script.write_text(CASES[case])
    dsn = make_db(server=any_pg)
    apply_script(any_pg, dsn, script)
    code, report = diff_report(run, script, dsn)
    lines = report_lines(report)
    assert not lines, "\n".join(lines)
    assert report["warnings"] == []
    assert code == 0


#: A change made on the server after the history, and what the diff must report for it:
#: the replay's fixes must not hide real drift.
DRIFTS: dict[str, tuple[str, set[tuple[str, str, str]]]] = {
    "search_path_set": (
        "CREATE FUNCTION public.now_utc() RETURNS timestamptz LANGUAGE sql AS $$ SELECT now() $$;"
        "ALTER TABLE app.items ALTER COLUMN at SET DEFAULT public.now_utc();",
        {("function", "public.now_utc()", "unexpected"),
         ("column", "app.items.at", "changed")},
    ),
    "sequence_rename": (
        "ALTER SEQUENCE t_id_seq2 RENAME TO t_id_seq3;",
        {("sequence", "public.t_id_seq2", "missing"), ("sequence", "public.t_id_seq3", "unexpected"),
         ("column", "public.t.id", "changed")},
    ),
    "table_set_schema": (
        "ALTER TABLE archive.t SET SCHEMA public;",
        {("table", "archive.t", "missing"), ("table", "public.t", "unexpected"),
         ("sequence", "archive.t_id_seq", "missing"), ("sequence", "public.t_id_seq", "unexpected"),
         ("constraint", "public.ref.ref_t_id_fkey", "changed"), ("view", "public.v", "changed")},
    ),
    "add_drop_column_cascade": (
        "CREATE VIEW v AS SELECT a FROM t;",
        {("view", "public.v", "unexpected")},
    ),
    "enum_add_and_rename_value": (
        "ALTER TYPE mood ADD VALUE 'calm';",
        {("enum", "public.mood", "changed")},
    ),
    "transaction_wrappers": (
        "CREATE TABLE rolled_back (id int);",
        {("table", "public.rolled_back", "unexpected")},
    ),
}


@pytest.mark.parametrize("case", sorted(DRIFTS))
def test_a_later_change_is_still_found(
    case: str, pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    script = tmp_path / f"{case}.sql"
    script.write_text(CASES[case])
    dsn = make_db()
    apply_script(pg, dsn, script)
    drift, expected = DRIFTS[case]
    run_sql(dsn, drift)
    code, report = diff_report(run, script, dsn)
    found = {(d["object_type"], d["name"], d["change"]) for d in report["differences"]}
    assert found == expected, "\n".join(report_lines(report))
    assert code == 1


def _warnings(report: dict) -> list[str]:
    return [f"{w['object_type']} {w['name']}: {w['message']}" for w in report["warnings"]]


def _history(server: Server, make_db: Callable[..., str], tmp_path: Path, text: str
             ) -> tuple[Path, str]:
    script = tmp_path / "history.sql"
    script.write_text(text)
    dsn = make_db(server=server)
    apply_script(server, dsn, script)
    return script, dsn


def test_do_block_is_reported_not_guessed(
    pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    """The replay cannot run PL/pgSQL: what a DO block made is missing from the replay, and
    the report says why rather than pretending the histories agree."""
    script, dsn = _history(pg, make_db, tmp_path, """
        CREATE TABLE t (id int);
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'audit') THEN
                EXECUTE 'CREATE TABLE audit (id int)';
            END IF;
        END $$;
    """)
    code, report = diff_report(run, script, dsn)
    assert report_lines(report) == ["table public.audit unexpected None: None != None"]
    assert _warnings(report) == ["do block DO: DO blocks are not executed by pgspec"]
    assert report["warnings"][0]["location"].endswith(":3")
    assert code == 1


def test_drop_of_an_overloaded_function_keeps_calls_it_cannot_place(
    any_pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    """``f(1)`` calls f(int), not the f(text) dropped, but telling overloads apart needs the
    argument types the server infers; the replay keeps the default and says it could not
    tell (here the server kept it too: no difference)."""
    script, dsn = _history(any_pg, make_db, tmp_path, """
        CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS $$ SELECT x $$;
        CREATE FUNCTION f(x text) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
        CREATE TABLE t (n int DEFAULT f(1));
        DROP FUNCTION f(text) CASCADE;
    """)
    code, report = diff_report(run, script, dsn)
    assert report_lines(report) == []
    assert _warnings(report) == [
        "column public.t.n: its default may call function public.f, which was dropped: "
        "pgspec cannot tell which overload it calls and keeps it"]
    assert code == 0


def test_drop_column_cascade_reports_a_view_it_cannot_place(
    pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    """A bare column beside a relation pgspec does not know (a system catalog here) may be
    either's: the server dropped the view, the replay keeps it and says it could not tell."""
    script, dsn = _history(pg, make_db, tmp_path, """
        CREATE TABLE t (id int, n int);
        CREATE VIEW v AS SELECT relname, n FROM t, pg_class;
        ALTER TABLE t DROP COLUMN n CASCADE;
    """)
    code, report = diff_report(run, script, dsn)
    assert report_lines(report) == ["view public.v missing None: None != None"]
    assert _warnings(report) == [
        "view public.v: may depend on column public.t.n, which was dropped: pgspec cannot "
        "tell and keeps it"]
    assert code == 1


def test_set_schema_into_the_schemas_read_from_outside_is_reported(
    pg: Server, make_db: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    """With --schema app the replay keeps nothing of public, so a table moved from there
    cannot be built: reported, not silently absent."""
    script, dsn = _history(pg, make_db, tmp_path, """
        CREATE SCHEMA app;
        CREATE TABLE t (id int);
        ALTER TABLE t SET SCHEMA app;
    """)
    code, out, err = run("diff", script, dsn, "--format", "json", "--schema", "app")
    assert code == 1, err
    report = json.loads(out)
    assert report_lines(report) == ["table app.t unexpected None: None != None"]
    assert _warnings(report) == [
        "object public.t: moved into schema 'app' from outside the schemas read, or never "
        "created: not replayed"]
