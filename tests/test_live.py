"""The live reader against real servers: every kind read exactly, a fixed number of queries,
read-only sessions, and connection errors that name the target but never the password."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgspec.catalog import (
    Argument,
    Attribute,
    Catalog,
    Column,
    CompositeType,
    Constraint,
    Domain,
    Enum,
    Function,
    Index,
    IndexKey,
    Policy,
    Sequence,
    Table,
    Trigger,
)
from pgspec.errors import SourceError
from pgspec.sources.live import describe_dsn, introspect, last_query_count, readonly_transaction
from pgspec.sources.live_queries import KIND_QUERIES
from tests.fix_db import run_sql
from tests.pgserver import Server

#: Every kind the reader models and the attributes it reads, with mixed-case and spaced names,
#: plus one object of each kind pgspec does not model (they must come back as warnings) and an
#: extension whose objects must not appear at all.
SCHEMA = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgspec_reader') THEN
    CREATE ROLE pgspec_reader;
  END IF;
END $$;
CREATE EXTENSION citext;
CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'application';
CREATE SCHEMA "Mixed Schema";

CREATE TYPE app.status AS ENUM ('new', 'active', 'Done Now');
COMMENT ON TYPE app.status IS 'lifecycle';
CREATE DOMAIN app.email AS text COLLATE "C" NOT NULL DEFAULT 'x@y'
  CONSTRAINT email_at CHECK (VALUE LIKE '%@%');
CREATE DOMAIN app.posint AS integer CHECK (VALUE > 0);
CREATE TYPE app.pair AS (left_val integer, "Right Val" text COLLATE "C");
COMMENT ON TYPE app.pair IS 'a pair';
CREATE SEQUENCE app.counter AS integer START 100 INCREMENT 5 MAXVALUE 1000 CACHE 3 CYCLE;
CREATE SEQUENCE app.down INCREMENT -1;
COMMENT ON SEQUENCE app.down IS 'counts down';

CREATE TABLE app."Accounts" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "Display Name" text COLLATE "C" NOT NULL,
  email app.email,
  status app.status NOT NULL DEFAULT 'new',
  score numeric(10,2) DEFAULT 0 CHECK (score >= 0),
  slug varchar(63) UNIQUE,
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple', "Display Name")) STORED,
  serial_no serial,
  tags text[],
  nick public.citext,
  parent_id bigint REFERENCES app."Accounts" (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT accounts_slug_email_key UNIQUE NULLS NOT DISTINCT (slug, email) INCLUDE (status)
);
COMMENT ON TABLE app."Accounts" IS 'tenants';
COMMENT ON COLUMN app."Accounts"."Display Name" IS 'shown';
COMMENT ON CONSTRAINT "Accounts_score_check" ON app."Accounts" IS 'never negative';
ALTER TABLE app."Accounts" ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE UNLOGGED TABLE app.scratch (k integer);
CREATE TABLE app.events (id bigint, at date NOT NULL, account_id bigint,
  PRIMARY KEY (id, at),
  FOREIGN KEY (account_id) REFERENCES app."Accounts" (id)) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_account ON app.events (account_id);
CREATE TABLE app.base (a integer CONSTRAINT base_a_check CHECK (a > 0) NO INHERIT, b integer CHECK (b < 10));
CREATE TABLE app.child (c integer) INHERITS (app.base);
CREATE TABLE app.orders (
  id integer PRIMARY KEY,
  account_id bigint,
  CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES app."Accounts" (id)
    MATCH FULL ON UPDATE CASCADE ON DELETE RESTRICT
);
CREATE TABLE app.bookings (room integer, during tsrange,
  CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&) WHERE (room > 0));
CREATE TABLE "Mixed Schema"."My Table" ("Col One" integer DEFAULT 1, "select" text);

CREATE INDEX accounts_lower_name ON app."Accounts"
  (lower("Display Name") DESC NULLS LAST, slug text_pattern_ops, status DESC) INCLUDE (score) WHERE score > 0;
CREATE INDEX "Tags GIN" ON app."Accounts" USING gin (tags);
COMMENT ON INDEX app."Tags GIN" IS 'tag search';
CREATE UNIQUE INDEX orders_account_nnd ON app.orders (account_id) NULLS NOT DISTINCT;
CREATE INDEX my_col ON "Mixed Schema"."My Table" ("Col One" NULLS FIRST, "select" COLLATE "POSIX");

CREATE VIEW app.active_accounts WITH (security_invoker = on) AS
  SELECT id, "Display Name" FROM app."Accounts" WHERE status = 'active';
COMMENT ON VIEW app.active_accounts IS 'active only';
CREATE VIEW app.checked WITH (security_barrier = false) AS
  SELECT k FROM app.scratch WHERE k > 0 WITH CASCADED CHECK OPTION;
CREATE MATERIALIZED VIEW app.totals AS
  SELECT status, count(*) AS n FROM app."Accounts" GROUP BY status WITH NO DATA;
CREATE UNIQUE INDEX totals_status ON app.totals (status);

CREATE FUNCTION app.add(a integer, b integer DEFAULT 1) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE AS 'SELECT a + b';
COMMENT ON FUNCTION app.add(integer, integer) IS 'adds';
CREATE FUNCTION app.sq(x integer) RETURNS integer LANGUAGE sql RETURN x * x;
CREATE FUNCTION app.by_status(s app.status) RETURNS TABLE (id bigint, name text)
  LANGUAGE sql STABLE AS $$ SELECT id, "Display Name" FROM app."Accounts" WHERE status = s $$;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = app, public AS $$BEGIN RETURN NEW; END$$;
CREATE FUNCTION app.vsum(VARIADIC nums integer[]) RETURNS SETOF integer
  LANGUAGE sql AS 'SELECT unnest(nums)';
CREATE PROCEDURE app.reset(IN n integer, INOUT m integer) LANGUAGE plpgsql AS $$BEGIN m := n; END$$;
COMMENT ON PROCEDURE app.reset(integer, integer) IS 'resets';

CREATE TRIGGER "Touch It" BEFORE INSERT OR UPDATE OF "Display Name", slug ON app."Accounts"
  FOR EACH ROW WHEN (NEW.slug IS NOT NULL) EXECUTE FUNCTION app.touch('a', 'b c');
COMMENT ON TRIGGER "Touch It" ON app."Accounts" IS 'keeps it fresh';
CREATE TRIGGER audit AFTER DELETE ON app."Accounts" REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION app.touch();
ALTER TABLE app."Accounts" DISABLE TRIGGER audit;
CREATE CONSTRAINT TRIGGER ct AFTER INSERT ON app.orders DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER ev AFTER INSERT ON app.events FOR EACH ROW EXECUTE FUNCTION app.touch();
ALTER TABLE app.events ENABLE ALWAYS TRIGGER ev;
CREATE TRIGGER trunc BEFORE TRUNCATE ON app.scratch EXECUTE FUNCTION app.touch();

CREATE POLICY "Owners see theirs" ON app."Accounts" AS RESTRICTIVE FOR SELECT
  TO pgspec_reader, pg_monitor USING (id > 0);
COMMENT ON POLICY "Owners see theirs" ON app."Accounts" IS 'rls';
CREATE POLICY ins ON app."Accounts" FOR INSERT WITH CHECK (score >= 0);
CREATE POLICY upd ON app."Accounts" FOR UPDATE TO pgspec_reader USING (true) WITH CHECK (slug IS NOT NULL);

CREATE AGGREGATE app.mysum(integer) (sfunc = int4pl, stype = integer);
CREATE FUNCTION app.rn() RETURNS bigint LANGUAGE internal WINDOW AS 'window_row_number';
CREATE OPERATOR app.=== (leftarg = integer, rightarg = integer, function = int4eq);
CREATE CAST (app.pair AS text) WITH INOUT;
CREATE COLLATION app.mycoll FROM "C";
CREATE TEXT SEARCH CONFIGURATION app.cfg (COPY = simple);
CREATE TEXT SEARCH DICTIONARY app.dict (TEMPLATE = simple);
CREATE TYPE app.float_range AS RANGE (subtype = float8);
CREATE RULE keep AS ON INSERT TO app.scratch DO ALSO NOTIFY scratch;
CREATE STATISTICS app.st ON id, score FROM app."Accounts";
CREATE FOREIGN DATA WRAPPER dummy_fdw;
CREATE SERVER dummy_server FOREIGN DATA WRAPPER dummy_fdw;
CREATE FOREIGN TABLE app.remote (a integer) SERVER dummy_server;
CREATE PUBLICATION pub FOR TABLE app.orders;
CREATE FUNCTION app.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
CREATE EVENT TRIGGER on_ddl ON ddl_command_end EXECUTE FUNCTION app.on_ddl();
"""


@pytest.fixture(scope="module")
def _rich_catalogs() -> dict[str, Catalog]:
    """SCHEMA is read once per server for the module: the Catalog is a plain value, and the
    tests below only look at it."""
    return {}


@pytest.fixture
def read_rich(any_pg: Server, _rich_catalogs: dict[str, Catalog],
              make_db: Callable[..., str]) -> Catalog:
    if any_pg.dsn not in _rich_catalogs:
        dsn = make_db(server=any_pg)
        run_sql(dsn, SCHEMA)
        _rich_catalogs[any_pg.dsn] = introspect(dsn)
    return _rich_catalogs[any_pg.dsn]


def _keys(catalog: Catalog, attr: str) -> set[str]:
    return set(getattr(catalog, attr))


def test_reads_every_kind_by_its_key(read_rich: Catalog) -> None:
    c = read_rich
    assert _keys(c, "schemas") == {"app", '"Mixed Schema"', "public"}
    # initdb's comment on public is left out, as pg_dump leaves it out.
    assert (c.schemas["app"].comment, c.schemas["public"].comment) == ("application", None)
    assert _keys(c, "extensions") == {"citext"}
    assert c.extensions["citext"].schema_name == "public"
    assert _keys(c, "enums") == {"app.status"}
    assert _keys(c, "domains") == {"app.email", "app.posint"}
    assert _keys(c, "composite_types") == {"app.pair"}
    # The identity column's sequence is the column's, not an object of its own.
    assert _keys(c, "sequences") == {'app."Accounts_serial_no_seq"', "app.counter", "app.down"}
    assert _keys(c, "tables") == {
        'app."Accounts"', "app.scratch", "app.events", "app.events_2024", "app.base",
        "app.child", "app.orders", "app.bookings", '"Mixed Schema"."My Table"',
    }
    # No NOT NULL constraints (PostgreSQL 18 keeps them as rows), none cloned onto the
    # partition, none inherited by app.child, none of the domains'.
    assert _keys(c, "constraints") == {
        'app."Accounts"."Accounts_pkey"', 'app."Accounts"."Accounts_slug_key"',
        'app."Accounts"."Accounts_score_check"', 'app."Accounts"."Accounts_parent_id_fkey"',
        'app."Accounts".accounts_slug_email_key', "app.base.base_a_check",
        "app.base.base_b_check", "app.events.events_pkey", "app.events.events_account_id_fkey",
        "app.orders.orders_pkey", "app.orders.orders_account_fk", "app.bookings.no_overlap",
    }
    # Indexes behind keys and exclusion constraints, and the partition's copy, are not listed.
    assert _keys(c, "indexes") == {
        "app.accounts_lower_name", 'app."Tags GIN"', "app.orders_account_nnd",
        '"Mixed Schema".my_col', "app.events_account", "app.totals_status",
    }
    assert _keys(c, "views") == {"app.active_accounts", "app.checked"}
    assert _keys(c, "materialized_views") == {"app.totals"}
    assert _keys(c, "functions") == {
        "app.add(integer, integer)", "app.sq(integer)", "app.by_status(app.status)",
        "app.touch()", "app.vsum(integer[])", "app.reset(integer, integer)", "app.on_ddl()",
    }
    # The trigger cloned onto the partition belongs to the parent's.
    assert _keys(c, "triggers") == {
        'app."Accounts"."Touch It"', 'app."Accounts".audit', "app.orders.ct", "app.events.ev",
        "app.scratch.trunc",
    }
    assert _keys(c, "policies") == {
        'app."Accounts"."Owners see theirs"', 'app."Accounts".ins', 'app."Accounts".upd',
    }


def test_unmodelled_kinds_are_warnings_and_extension_objects_vanish(read_rich: Catalog) -> None:
    found = sorted((w.object_type, w.name) for w in read_rich.warnings)
    assert found == [
        ("cast", "(app.pair AS text)"),
        ("event trigger", "on_ddl on ddl_command_end"),
        ("foreign server", "dummy_server"),
        ("foreign table", "app.remote"),
        ("operator", "app.===(integer, integer)"),
        ("publication", "pub"),
        ("range type", "app.float_range"),
        ("rule", "app.scratch.keep"),
        ("statistics", "app.st"),
        ("text search configuration", "app.cfg"),
        ("text search dictionary", "app.dict"),
        ("window function", "app.rn()"),
    ]
    # Aggregates and collations are modelled, not warned about.
    assert _keys(read_rich, "aggregates") == {"app.mysum(integer)"}
    assert _keys(read_rich, "collations") == {"app.mycoll"}
    # citext brings a type, dozens of functions, operators, casts: none of them shows up, and
    # neither do the range type's constructor functions and multirange casts.
    everything = [key for attr in ("functions", "domains", "composite_types") for key in
                  getattr(read_rich, attr)]
    assert not [key for key in everything if "citext" in key or "float" in key]


def test_types_and_sequences(read_rich: Catalog) -> None:
    c = read_rich
    assert c.enums["app.status"] == Enum(
        schema="app", name="status", values=["new", "active", "Done Now"], comment="lifecycle"
    )
    assert c.domains["app.email"] == Domain(
        schema="app", name="email", type="text", not_null=True, default="'x@y'::text",
        collation="C", checks={"email_at": "(VALUE ~~ '%@%'::text)"},
    )
    assert c.domains["app.posint"] == Domain(
        schema="app", name="posint", type="integer", checks={"posint_check": "(VALUE > 0)"}
    )
    assert c.composite_types["app.pair"] == CompositeType(
        schema="app", name="pair", comment="a pair",
        attributes=[Attribute(name="left_val", type="integer"),
                    Attribute(name="Right Val", type="text", collation="C")],
    )
    assert c.sequences["app.counter"] == Sequence(
        schema="app", name="counter", type="integer", start=100, increment=5, max_value=1000,
        cache=3, cycle=True,
    )
    # A descending sequence's default bounds (the type's minimum and -1) are not stated.
    assert c.sequences["app.down"] == Sequence(
        schema="app", name="down", type="bigint", start=-1, increment=-1, comment="counts down"
    )
    assert c.sequences['app."Accounts_serial_no_seq"'] == Sequence(
        schema="app", name="Accounts_serial_no_seq", type="integer",
        owned_by='app."Accounts".serial_no',
    )


def test_tables_and_columns(read_rich: Catalog) -> None:
    c = read_rich
    assert c.tables['app."Accounts"'] == Table(
        schema="app", name="Accounts", comment="tenants", rls_enabled=True, rls_forced=True,
        columns=[
            Column(name="id", type="bigint", not_null=True, identity="always"),
            Column(name="Display Name", type="text", not_null=True, collation="C",
                   comment="shown"),
            # The domain's own collation is the column's default: not repeated on the column.
            Column(name="email", type="app.email"),
            Column(name="status", type="app.status", not_null=True, default="'new'::app.status"),
            Column(name="score", type="numeric(10,2)", default="0"),
            Column(name="slug", type="character varying(63)"),
            Column(name="search", type="tsvector",
                   generated="to_tsvector('simple'::regconfig, \"Display Name\")"),
            Column(name="serial_no", type="integer", not_null=True,
                   default="nextval('app.\"Accounts_serial_no_seq\"'::regclass)"),
            Column(name="tags", type="text[]"),
            Column(name="nick", type="public.citext"),
            Column(name="parent_id", type="bigint"),
        ],
    )
    assert c.tables["app.scratch"].unlogged
    assert c.tables["app.events"].partition_by == "RANGE (at)"
    part = c.tables["app.events_2024"]
    assert (part.partition_of, part.partition_bound, part.inherits) == (
        "app.events", "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')", [])
    assert c.tables["app.child"].inherits == ["app.base"]
    assert [col.name for col in c.tables["app.child"].columns] == ["a", "b", "c"]
    assert c.tables['"Mixed Schema"."My Table"'].columns == [
        Column(name="Col One", type="integer", default="1"), Column(name="select", type="text")
    ]


def test_constraints(read_rich: Catalog) -> None:
    c = read_rich.constraints
    assert c['app."Accounts"."Accounts_pkey"'] == Constraint(
        schema="app", table="Accounts", name="Accounts_pkey", kind="primary_key", columns=["id"]
    )
    assert c['app."Accounts"."Accounts_score_check"'] == Constraint(
        schema="app", table="Accounts", name="Accounts_score_check", kind="check",
        expression="(score >= (0)::numeric)", comment="never negative",
    )
    assert c['app."Accounts"."Accounts_parent_id_fkey"'] == Constraint(
        schema="app", table="Accounts", name="Accounts_parent_id_fkey", kind="foreign_key",
        columns=["parent_id"], references='app."Accounts"', references_columns=["id"],
        on_delete="set null", deferrable=True, initially_deferred=True,
    )
    assert c['app."Accounts".accounts_slug_email_key'] == Constraint(
        schema="app", table="Accounts", name="accounts_slug_email_key", kind="unique",
        columns=["slug", "email"], include=["status"], nulls_not_distinct=True,
    )
    assert c["app.orders.orders_account_fk"] == Constraint(
        schema="app", table="orders", name="orders_account_fk", kind="foreign_key",
        columns=["account_id"], references='app."Accounts"', references_columns=["id"],
        on_delete="restrict", on_update="cascade", match="full",
    )
    assert c["app.base.base_a_check"].no_inherit
    assert not c["app.base.base_b_check"].no_inherit
    assert c["app.events.events_pkey"].columns == ["id", "at"]
    assert c["app.bookings.no_overlap"] == Constraint(
        schema="app", table="bookings", name="no_overlap", kind="exclude", columns=["during"],
        definition="EXCLUDE USING gist (during WITH &&) WHERE ((room > 0))",
    )


def test_indexes(read_rich: Catalog) -> None:
    i = read_rich.indexes
    assert i["app.accounts_lower_name"] == Index(
        schema="app", name="accounts_lower_name", table="Accounts",
        keys=[IndexKey(expression='lower("Display Name")', order="desc", nulls="last"),
              IndexKey(column="slug", opclass="text_pattern_ops"),
              IndexKey(column="status", order="desc")],
        include=["score"], where="(score > (0)::numeric)",
    )
    assert i['app."Tags GIN"'] == Index(
        schema="app", name="Tags GIN", table="Accounts", method="gin",
        keys=[IndexKey(column="tags")], comment="tag search",
    )
    assert i["app.orders_account_nnd"] == Index(
        schema="app", name="orders_account_nnd", table="orders", unique=True,
        nulls_not_distinct=True, keys=[IndexKey(column="account_id")],
    )
    assert i['"Mixed Schema".my_col'].keys == [
        IndexKey(column="Col One", nulls="first"), IndexKey(column="select", collation="POSIX")
    ]
    assert i["app.totals_status"].table == "totals" and i["app.totals_status"].unique


def test_views(read_rich: Catalog) -> None:
    view = read_rich.views["app.active_accounts"]
    assert view.options == {"security_invoker": "true"}
    assert view.columns == ["id", "Display Name"]
    assert view.comment == "active only"
    # The server's deparse, schema-qualified under the empty search_path.
    assert 'FROM app."Accounts"' in view.query and "'active'::app.status" in view.query
    checked = read_rich.views["app.checked"]
    assert checked.options == {"security_barrier": "false", "check_option": "cascaded"}
    totals = read_rich.materialized_views["app.totals"]
    assert (totals.with_data, totals.columns) == (False, ["status", "n"])


def test_functions(read_rich: Catalog) -> None:
    f = read_rich.functions
    assert f["app.add(integer, integer)"] == Function(
        schema="app", name="add", language="sql", body="SELECT a + b", comment="adds",
        arguments=[Argument(name="a", type="integer"),
                   Argument(name="b", type="integer", default="1")],
        returns="integer", volatility="immutable", strict=True, leakproof=True, parallel="safe",
    )
    assert f["app.sq(integer)"].body == "RETURN (x * x)"
    assert f["app.by_status(app.status)"] == Function(
        schema="app", name="by_status", language="sql", volatility="stable",
        body=' SELECT id, "Display Name" FROM app."Accounts" WHERE status = s ',
        arguments=[Argument(name="s", type="app.status"),
                   Argument(name="id", type="bigint", mode="table"),
                   Argument(name="name", type="text", mode="table")],
        returns="record", returns_set=True,
    )
    assert f["app.touch()"] == Function(
        schema="app", name="touch", returns="trigger", body="BEGIN RETURN NEW; END",
        security_definer=True, config={"search_path": "app, public"},
    )
    assert f["app.vsum(integer[])"].arguments == [
        Argument(name="nums", type="integer[]", mode="variadic")
    ]
    assert f["app.vsum(integer[])"].returns_set
    assert f["app.reset(integer, integer)"] == Function(
        schema="app", name="reset", kind_of_object="procedure", returns=None,
        body="BEGIN m := n; END", comment="resets",
        arguments=[Argument(name="n", type="integer"),
                   Argument(name="m", type="integer", mode="inout")],
    )


def test_triggers_and_policies(read_rich: Catalog) -> None:
    t = read_rich.triggers
    assert t['app."Accounts"."Touch It"'] == Trigger(
        schema="app", table="Accounts", name="Touch It", timing="before",
        events=["insert", "update"], update_columns=["Display Name", "slug"],
        when="new.slug IS NOT NULL", function="app.touch", arguments=["a", "b c"],
        comment="keeps it fresh",
    )
    assert t['app."Accounts".audit'] == Trigger(
        schema="app", table="Accounts", name="audit", timing="after", events=["delete"],
        level="statement", function="app.touch", old_table="gone", enabled="disabled",
    )
    assert t["app.orders.ct"] == Trigger(
        schema="app", table="orders", name="ct", timing="after", events=["insert"],
        function="app.touch", constraint=True, deferrable=True, initially_deferred=True,
    )
    assert t["app.events.ev"].enabled == "always"
    assert (t["app.scratch.trunc"].events, t["app.scratch.trunc"].level) == (
        ["truncate"], "statement")
    p = read_rich.policies
    assert p['app."Accounts"."Owners see theirs"'] == Policy(
        schema="app", table="Accounts", name="Owners see theirs", command="select",
        permissive=False, roles=["pg_monitor", "pgspec_reader"], using="(id > 0)", comment="rls",
    )
    assert p['app."Accounts".ins'] == Policy(
        schema="app", table="Accounts", name="ins", command="insert",
        with_check="(score >= (0)::numeric)",
    )
    assert p['app."Accounts".upd'] == Policy(
        schema="app", table="Accounts", name="upd", command="update", roles=["pgspec_reader"],
        using="true", with_check="(slug IS NOT NULL)",
    )


def test_schema_selection(make_db: Callable[..., str]) -> None:
    dsn = make_db()
    run_sql(dsn, 'CREATE SCHEMA app; CREATE SCHEMA other; CREATE TABLE app.a (id int);'
                 'CREATE TABLE other.b (id int); CREATE TABLE public.c (id int);')
    only_app = introspect(dsn, schemas=["app"])
    assert set(only_app.schemas) == {"app"} and set(only_app.tables) == {"app.a"}
    everything = introspect(dsn)
    assert set(everything.schemas) == {"app", "other", "public"}
    assert set(everything.tables) == {"app.a", "other.b", "public.c"}
    assert introspect(dsn, schemas=["missing"]).tables == {}


_MANY_TABLES = """
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
DO $$ BEGIN
  FOR i IN 1..%d LOOP
    EXECUTE format('CREATE TABLE public.t%%s (id int PRIMARY KEY, v text CHECK (v <> %%L),
                    parent int REFERENCES public.t%%s (id))', i, '', i);
    EXECUTE format('CREATE INDEX t%%s_v ON public.t%%s (lower(v))', i, i);
    EXECUTE format('CREATE TRIGGER t%%s_touch BEFORE UPDATE ON public.t%%s FOR EACH ROW
                    WHEN (OLD.v IS DISTINCT FROM NEW.v) EXECUTE FUNCTION public.touch()', i, i);
    EXECUTE format('CREATE POLICY p ON public.t%%s USING (id > 0)', i);
  END LOOP;
END $$;
"""


def test_query_count_does_not_grow_with_the_schema(make_db: Callable[..., str]) -> None:
    counts = {}
    for size in (2, 200):
        dsn = make_db()
        run_sql(dsn, _MANY_TABLES % size)
        catalog = introspect(dsn)
        assert len(catalog.tables) == size and len(catalog.triggers) == size
        counts[size] = last_query_count()
    assert counts[2] == counts[200] == len(KIND_QUERIES) + 1


def test_the_session_is_a_read_only_snapshot(db: str) -> None:
    with readonly_transaction(db) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[name]
            for name in ("transaction_read_only", "transaction_isolation", "search_path",
                         "statement_timeout", "lock_timeout")
        }
        assert settings == {
            "transaction_read_only": "on", "transaction_isolation": "repeatable read",
            "search_path": '""', "statement_timeout": "30s", "lock_timeout": "5s",
        }
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE public.nope (id int)")
    # SET LOCAL ended with the transaction: nothing leaked into the database's settings.
    with psycopg.connect(db, autocommit=True) as conn:
        assert conn.execute("SHOW search_path").fetchone() == ('"$user", public',)
        assert conn.execute("SELECT to_regclass('public.nope')").fetchone() == (None,)


def test_pg18_attributes_the_model_lacks_are_warned(pg: Server, make_db: Callable[..., str]) -> None:
    dsn = make_db()
    run_sql(dsn, """
        CREATE TABLE public.w (a int, b int, t tsvector) WITH (fillfactor = 70);
        ALTER TABLE public.w ADD CONSTRAINT w_a_check CHECK (a > 0) NOT VALID;
        CREATE INDEX w_t ON public.w USING gist (t tsvector_ops (siglen = 100));
    """)
    if pg.version >= 180000:
        run_sql(dsn, "ALTER TABLE public.w ADD COLUMN v int GENERATED ALWAYS AS (a * 2) VIRTUAL;"
                     "ALTER TABLE public.w ADD CONSTRAINT w_b_check CHECK (b > 0) NOT ENFORCED;")
    catalog = introspect(dsn)
    found = {(w.object_type, w.name) for w in catalog.warnings}
    expected = {("table", "public.w"), ("constraint", "public.w.w_a_check"), ("index", "public.w_t")}
    if pg.version >= 180000:
        expected |= {("column", "public.w.v"), ("constraint", "public.w.w_b_check")}
        assert catalog.tables["public.w"].column("v").generated == "(a * 2)"
    assert found == expected
    # The opclass stays (the server names it because of its parameters); the parameters go.
    assert catalog.indexes["public.w_t"].keys == [IndexKey(column="t", opclass="tsvector_ops")]
    assert catalog.constraints["public.w.w_a_check"].expression == "(a > 0)"


# --------------------------------------------------------------------------- connecting

SECRET = "s3cr3t-Pa55word"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a firewall that drops)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_silent_host_times_out_within_the_connect_timeout(silent_port: int) -> None:
    dsn = f"postgresql://app:{SECRET}@127.0.0.1:{silent_port}/appdb"
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        introspect(dsn, connect_timeout=2)
    assert time.monotonic() - started < 3.5
    message = str(caught.value)
    assert message == (f"cannot connect to postgresql://app@127.0.0.1:{silent_port}/appdb: "
                       "timed out after 2s")


def test_a_refusing_host_is_unreachable(closed_port: int) -> None:
    with pytest.raises(SourceError) as caught:
        introspect(f"host=127.0.0.1 port={closed_port} user=app password={SECRET} dbname=appdb",
                   connect_timeout=2)
    assert str(caught.value) == (
        f"cannot connect to postgresql://app@127.0.0.1:{closed_port}/appdb: "
        "unreachable: connection refused")


def test_connection_errors_never_show_the_password(db: str) -> None:
    cases = {
        make_conninfo(db, dbname="no_such_db", password=SECRET): "database 'no_such_db' does not exist",
        make_conninfo(db, user="no_such_role", password=SECRET): "authentication failed",
        f"postgresql://app:{SECRET} x@localhost/db": "invalid connection string",
    }
    for dsn, reason in cases.items():
        with pytest.raises(SourceError) as caught:
            introspect(dsn, connect_timeout=3)
        message = str(caught.value)
        assert reason in message
        assert SECRET not in message and "\n" not in message
        assert SECRET not in repr(caught.value.args)


def test_a_role_with_a_password_reads_like_any_other(any_pg: Server,
                                                     make_db: Callable[..., str]) -> None:
    """A login role with a password: the DSN carries it, the catalog's source never does."""
    dsn = make_db(server=any_pg)
    run_sql(dsn, f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgspec_login') THEN
          CREATE ROLE pgspec_login LOGIN PASSWORD '{SECRET}';
        END IF; END $$;
        CREATE TABLE public.t (id int);""")
    as_login = make_conninfo(dsn, user="pgspec_login", password=SECRET)
    catalog = introspect(as_login)
    assert set(catalog.tables) == {"public.t"}
    assert SECRET not in catalog.source and catalog.source.startswith("postgresql://pgspec_login@")
    # Without CONNECT on the database, the role is refused: said plainly, password unsaid.
    run_sql(dsn, f"REVOKE CONNECT ON DATABASE {conninfo_to_dict(dsn)['dbname']} FROM PUBLIC")
    with pytest.raises(SourceError) as caught:
        introspect(as_login)
    assert str(caught.value).endswith(": permission denied")
    assert SECRET not in str(caught.value)


def test_describe_dsn_never_includes_the_password() -> None:
    assert describe_dsn(f"postgresql://me:{SECRET}@db.example.com:6543/app?sslmode=require") == (
        "postgresql://me@db.example.com:6543/app")
    assert describe_dsn(f"host=db port=5433 user=me password={SECRET} dbname=app") == (
        "postgresql://me@db:5433/app")
    described = describe_dsn("host=/tmp/sock user=me dbname=app")
    assert described == "postgresql://me@/tmp/sock:5432/app"
    assert conninfo_to_dict(f"password={SECRET}")  # the parser itself accepts it


def test_an_exclusion_constraint_on_an_expression_is_read(any_pg: Server, make_db: Callable[..., str]) -> None:
    """conkey holds 0 for an expression key: the reader once failed with KeyError: 0."""
    dsn = make_db(server=any_pg)
    run_sql(dsn, "CREATE EXTENSION btree_gist; CREATE TABLE booking (room int, starts int, ends int, "
                 "EXCLUDE USING gist (int4range(starts, ends) WITH &&, room WITH =))")
    constraint = introspect(dsn).constraints["public.booking.booking_int4range_room_excl"]
    assert constraint.kind == "exclude"
    assert constraint.columns == ["room"]
    assert "int4range(starts, ends) WITH &&" in str(constraint.definition)
