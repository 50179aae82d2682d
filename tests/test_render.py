"""The renderer: a Catalog becomes DDL that builds exactly those objects on a real server.

Catalogs are built directly from the catalog.py models. Each test renders, applies the scripts with
psql (ON_ERROR_STOP, as users apply them) to a fresh database, and asks the server's catalogs what
it now holds.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgspec.catalog import (
    Argument,
    Attribute,
    Catalog,
    Column,
    CompositeType,
    Constraint,
    Domain,
    Enum,
    Extension,
    Function,
    Index,
    IndexKey,
    MaterializedView,
    Policy,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
)
from pgspec.errors import SqlError, UnsupportedError
from pgspec.render import SPLIT_FILES, render, render_split
from tests.fix_db import run_sql
from tests.pgserver import Server

#: What the Supabase platform provides before the init scripts run (external to the spec).
EXTERNAL_SETUP = """
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT NULL::uuid $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgspec_reader') THEN
    CREATE ROLE pgspec_reader NOLOGIN;
  END IF;
END $$;
"""


def by_key(*objects: Any) -> dict[str, Any]:
    return {o.key: o for o in objects}


def catalog_of(*objects: Any, externals: frozenset[str] = frozenset(), reverse: bool = False) -> Catalog:
    """A Catalog from loose objects, each filed under its kind (optionally in reverse order, to
    show insertion order does not matter)."""
    kinds: dict[type, str] = {
        Schema: "schemas", Extension: "extensions", Enum: "enums", Domain: "domains",
        CompositeType: "composite_types", Sequence: "sequences", Table: "tables",
        Constraint: "constraints", Index: "indexes", View: "views",
        MaterializedView: "materialized_views", Function: "functions", Trigger: "triggers",
        Policy: "policies",
    }
    fields: dict[str, dict[str, Any]] = {name: {} for name in kinds.values()}
    for obj in reversed(objects) if reverse else objects:
        fields[kinds[type(obj)]][obj.key] = obj
    return Catalog(**fields, externals=externals)


def pk(table: str, *columns: str, schema: str = "public", name: str | None = None) -> Constraint:
    return Constraint(schema=schema, table=table, name=name or f"{table}_pkey", kind="primary_key",
                      columns=list(columns))


def fn(name: str, body: str, returns: str | None = "text", **kw: Any) -> Function:
    return Function(schema=kw.pop("schema", "public"), name=name, returns=returns, body=body, **kw)


def write_files(tmp_path: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(path)
    return paths


def apply(server: Server, dsn: str, tmp_path: Path, catalog: Catalog, *, split: bool = False) -> dict[str, str]:
    """Render and apply with psql; on failure show psql's error and the DDL."""
    files = render_split(catalog) if split else {"all.sql": render(catalog)}
    out = tmp_path / ("split" if split else "single")
    out.mkdir(exist_ok=True)
    try:
        server.psql_file(dsn, *write_files(out, files))
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"psql failed: {exc.stderr}\n----\n" + "".join(files.values()))
    return files


def query(dsn: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def one(dsn: str, sql: str, *params: Any) -> Any:
    rows = query(dsn, sql, *params)
    assert len(rows) == 1, rows
    return rows[0][0] if len(rows[0]) == 1 else rows[0]


# --------------------------------------------------------------------------- the full catalog


def full_catalog(reverse: bool = False, server_copies: bool = True) -> Catalog:
    """Every object kind and attribute the catalog models, including the awkward placements.

    ``server_copies=False`` leaves out what the server makes by itself (see SERVER_COPIES)."""
    objects: list[Any] = [
        Schema(name="app", comment="application objects"),
        Schema(name="extensions"),
        Extension(name="btree_gist", schema="extensions", comment="gist for scalars"),
        Enum(schema="public", name="mood", values=["sad", "ok", "it's fine"], comment="how it feels"),
        Domain(schema="app", name="email", type="text", collation="C", not_null=True,
               default="'nobody@example.com'::text",
               checks={"email_has_at": "VALUE ~ '@'", "email_short": "length(VALUE) < 255"},
               comment="an address"),
        # A domain whose default and check call functions of the catalog: both move to file 3.
        Domain(schema="public", name="token_text", type="text", default="public.make_token()",
               checks={"token_text_check": "public.is_token(VALUE)"}),
        CompositeType(schema="public", name="totals", comment="usage", attributes=[
            Attribute(name="users", type="integer"),
            Attribute(name="label", type="text", collation="C"),
            Attribute(name="feeling", type="public.mood[]"),
        ]),
        Sequence(schema="public", name="invoice_seq", type="integer", start=1000, increment=5,
                 min_value=1000, max_value=999999, cache=10, cycle=True, comment="invoices"),
        Sequence(schema="public", name="accounts_serial_no_seq", type="integer",
                 owned_by="public.accounts.serial_no"),
        # The identity column's own sequence: rendered as the identity's options.
        Sequence(schema="public", name="accounts_seq_no_seq", start=7, increment=2,
                 owned_by="public.accounts.seq_no"),
        Table(schema="public", name="accounts", comment="tenants", rls_enabled=True, rls_forced=True,
              columns=[
                  Column(name="id", type="uuid", not_null=True, default="gen_random_uuid()"),
                  Column(name="seq_no", type="bigint", not_null=True, identity="always"),
                  Column(name="serial_no", type="integer", not_null=True,
                         default="nextval('public.accounts_serial_no_seq'::regclass)"),
                  Column(name="token", type="text", default="generate_api_token()",
                         comment="API token"),
                  Column(name="name", type="text", not_null=True, collation="C", comment="it's a name"),
                  Column(name="feeling", type="public.mood", default="'ok'::public.mood"),
                  Column(name="search", type="tsvector",
                         generated="to_tsvector('simple'::regconfig, name)"),
                  Column(name="owner_id", type="uuid"),
                  Column(name="email", type="app.email"),
                  Column(name="flag", type="boolean", default="1 IS NULL"),
              ]),
        pk("accounts", "id"),
        Constraint(schema="public", table="accounts", name="accounts_name_key", kind="unique",
                   columns=["name"], include=["feeling"], nulls_not_distinct=True, comment="one name"),
        Constraint(schema="public", table="accounts", name="accounts_name_check", kind="check",
                   expression="length(name) > 0", no_inherit=True),
        Constraint(schema="public", table="accounts", name="accounts_token_check", kind="check",
                   expression="public.is_token(token)"),
        Constraint(schema="public", table="accounts", name="accounts_owner_id_fkey",
                   kind="foreign_key", columns=["owner_id"], references="auth.users",
                   references_columns=["id"], on_delete="set null"),
        Table(schema="public", name="memberships", columns=[
            Column(name="account_id", type="uuid", not_null=True),
            Column(name="user_id", type="uuid", not_null=True),
            Column(name="role", type="text", default="'member'::text"),
            Column(name="invoice", type="integer", default="nextval('public.invoice_seq'::regclass)"),
        ]),
        pk("memberships", "account_id", "user_id"),
        Constraint(schema="public", table="memberships", name="memberships_account_fk",
                   kind="foreign_key", columns=["account_id"], references="public.accounts",
                   references_columns=["id"], on_delete="cascade", on_update="cascade",
                   match="full", deferrable=True, initially_deferred=True, comment="tenancy"),
        Table(schema="app", name="bookings", unlogged=True, columns=[
            Column(name="room", type="integer"),
            Column(name="during", type="tstzrange"),
        ]),
        Constraint(schema="app", table="bookings", name="bookings_no_overlap", kind="exclude",
                   definition="EXCLUDE USING gist (room WITH =, during WITH &&)"),
        Table(schema="public", name="events", partition_by="RANGE (created_at)", columns=[
            Column(name="id", type="bigint", not_null=True),
            Column(name="created_at", type="timestamp with time zone", not_null=True),
        ]),
        pk("events", "id", "created_at"),
        Table(schema="public", name="events_2024", partition_of="public.events",
              partition_bound="FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')",
              columns=[
                  Column(name="id", type="bigint", not_null=True),
                  Column(name="created_at", type="timestamp with time zone", not_null=True,
                         comment="when"),
              ]),
        # The partition's copy of the parent's key, as a live database lists it.
        pk("events_2024", "id", "created_at"),
        Table(schema="public", name="base", columns=[Column(name="id", type="integer"),
                                                      Column(name="note", type="text")]),
        Constraint(schema="public", table="base", name="base_id_check", kind="check", expression="id > 0"),
        Table(schema="public", name="child", inherits=["public.base"], columns=[
            Column(name="id", type="integer"), Column(name="note", type="text"),
            Column(name="extra", type="text")]),
        Constraint(schema="public", table="child", name="base_id_check", kind="check", expression="id > 0"),
        # A generated column calling a catalog function, with a column after it.
        Table(schema="public", name="docs", columns=[
            Column(name="id", type="integer", not_null=True),
            Column(name="body", type="text"),
            Column(name="slug", type="text", generated="public.slugify(body)"),
            Column(name="tail", type="text", default="'t'::text", comment="after the slug"),
        ]),
        pk("docs", "id"),
        Constraint(schema="public", table="docs", name="docs_slug_key", kind="unique", columns=["slug"]),
        Index(schema="public", name="idx_accounts_name", table="accounts", keys=[
            IndexKey(expression="lower(name)", order="desc", nulls="last"),
            IndexKey(column="name", opclass="text_pattern_ops", collation="POSIX"),
        ], include=["owner_id"], where="owner_id IS NOT NULL", comment="lookup"),
        Index(schema="public", name="idx_accounts_search", table="accounts", method="gin",
              keys=[IndexKey(column="search")]),
        Index(schema="public", name="idx_accounts_owner", table="accounts", unique=True,
              nulls_not_distinct=True, keys=[IndexKey(column="owner_id", nulls="first")]),
        Index(schema="public", name="idx_docs_slug", table="docs", keys=[IndexKey(expression="public.slugify(body)")]),
        Index(schema="public", name="events_created_idx", table="events", keys=[IndexKey(column="created_at")]),
        Index(schema="public", name="events_2024_created_at_idx", table="events_2024",
              keys=[IndexKey(column="created_at")]),
        Index(schema="public", name="m_counts_n", table="m_counts", unique=True, keys=[IndexKey(column="n")]),
        View(schema="public", name="v_accounts", query="SELECT id, name FROM public.accounts",
             options={"security_invoker": "true", "security_barrier": "true"}, comment="visible"),
        View(schema="public", name="v_named", query="SELECT id, name FROM public.v_accounts WHERE name <> ''",
             options={"check_option": "local"}),
        View(schema="public", name="a_tokens", query="SELECT t FROM public.z_tokens"),
        View(schema="public", name="z_tokens", query="SELECT public.make_token() AS t"),
        MaterializedView(schema="public", name="m_counts", with_data=False, comment="counts",
                         query="SELECT count(*) AS n FROM public.accounts"),
        fn("make_token", "SELECT md5(random()::text)", language="sql", comment="a token",
           config={"search_path": "public, pg_temp"}),
        fn("is_token", "SELECT length(t) = 32", returns="boolean", language="sql",
           volatility="immutable", strict=True, leakproof=True, parallel="safe",
           arguments=[Argument(name="t", type="text")]),
        fn("generate_api_token", "BEGIN RETURN public.make_token(); END", security_definer=True,
           volatility="volatile", config={"search_path": '""', "statement_timeout": "5s"}),
        fn("slugify", "SELECT lower(t)", language="sql", volatility="immutable",
           arguments=[Argument(name="t", type="text")]),
        fn("handle_new_user", "BEGIN RETURN NEW; END", returns="trigger", security_definer=True),
        fn("touch", "BEGIN RETURN NEW; END", returns="trigger"),
        fn("tokens", "SELECT public.make_token(), g FROM generate_series(1, p_count) g", returns="record",
           returns_set=True, language="sql", arguments=[
               Argument(name="p_count", type="integer", default="1"),
               Argument(name="token", type="text", mode="table"),
               Argument(name="n", type="integer", mode="table"),
           ]),
        fn("total", "SELECT sum(x)::integer FROM unnest(nums) x", returns="integer", language="sql",
           arguments=[Argument(name="nums", type="integer[]", mode="variadic")]),
        fn("swap", "SELECT b, a", returns="record", language="sql", arguments=[
            Argument(name="a", type="integer", mode="inout"), Argument(name="b", type="integer", mode="inout")]),
        fn("split_name", "SELECT split_part(n, ' ', 1), split_part(n, ' ', 2)", returns="record",
           language="sql", arguments=[
               Argument(name="n", type="text"), Argument(name="first", type="text", mode="out"),
               Argument(name="last", type="text", mode="out")]),
        fn("tagged", "SELECT '$function$'::text", language="sql", volatility="stable"),
        # SQL-standard bodies are parsed at creation: a_atomic must come after z_atomic.
        fn("a_atomic", "BEGIN ATOMIC\n  SELECT public.z_atomic(m.invoice) FROM public.memberships m;\nEND",
           returns="integer", language="sql"),
        fn("z_atomic", "BEGIN ATOMIC\n  SELECT x * 2;\nEND", returns="integer", language="sql", volatility="immutable",
           arguments=[Argument(name="x", type="integer")]),
        fn("sum_totals", "SELECT $1", returns="public.totals", language="sql",
           arguments=[Argument(type="public.totals")]),
        Function(schema="public", name="refresh_all", kind_of_object="procedure", returns=None,
                 body="BEGIN REFRESH MATERIALIZED VIEW public.m_counts; END", security_definer=True,
                 config={"work_mem": "64MB"}, comment="nightly",
                 arguments=[Argument(name="p_force", type="boolean", default="false")]),
        Trigger(schema="auth", table="users", name="on_auth_user_created", timing="after",
                events=["insert"], function="public.handle_new_user"),
        Trigger(schema="public", table="accounts", name="accounts_touch", timing="before",
                events=["update"], update_columns=["name", "feeling"],
                when="OLD.name IS DISTINCT FROM NEW.name", function="public.touch",
                arguments=["a", "it's"], enabled="replica", comment="touch it"),
        Trigger(schema="public", table="accounts", name="accounts_audit", timing="after",
                events=["insert"], level="statement", new_table="new_rows", function="public.touch",
                enabled="disabled"),
        Trigger(schema="public", table="accounts", name="accounts_ct", timing="after",
                events=["delete", "update"], function="public.touch", constraint=True,
                deferrable=True, initially_deferred=True, enabled="always"),
        Trigger(schema="public", table="v_accounts", name="v_accounts_insert", timing="instead of",
                events=["insert"], function="public.touch"),
        Trigger(schema="public", table="events", name="events_touch", timing="before",
                events=["update"], function="public.touch"),
        Trigger(schema="public", table="events_2024", name="events_touch", timing="before",
                events=["update"], function="public.touch"),
        Policy(schema="public", table="accounts", name="Members can view", command="select",
               roles=["pgspec_reader", "postgres"], using="owner_id = auth.uid()", comment="view"),
        Policy(schema="public", table="accounts", name="only owners", command="update", permissive=False,
               using="owner_id = auth.uid()",
               with_check="owner_id IN (SELECT m.user_id FROM public.memberships m)"),
    ]
    if not server_copies:
        objects = [o for o in objects if o.key not in set().union(*SERVER_COPIES.values())]
    return catalog_of(*objects, externals=frozenset({"auth", "auth.users", "auth.uid()"}), reverse=reverse)


def test_every_object_kind_builds_on_the_server(any_pg: Server, make_db: Callable[..., str], tmp_path: Path) -> None:
    dsn = make_db(server=any_pg)
    run_sql(dsn, EXTERNAL_SETUP)
    apply(any_pg, dsn, tmp_path, full_catalog())

    assert one(dsn, "SELECT enum_range(NULL::public.mood)::text[]") == ["sad", "ok", "it's fine"]
    assert one(dsn, "SELECT obj_description('public.mood'::regtype, 'pg_type')") == "how it feels"
    assert one(dsn, """SELECT typnotnull, typdefault, c.collname, format_type(typbasetype, NULL)
                       FROM pg_type t JOIN pg_collation c ON c.oid = t.typcollation
                       WHERE t.oid = 'app.email'::regtype""") == (
        True, "'nobody@example.com'::text", "C", "text")
    assert query(dsn, """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                         WHERE contypid = 'app.email'::regtype AND contype = 'c' ORDER BY conname""") == [
        ("email_has_at", "CHECK ((VALUE ~ '@'::text))"),
        ("email_short", "CHECK ((length(VALUE) < 255))")]
    assert one(dsn, "SELECT typdefault FROM pg_type WHERE oid = 'public.token_text'::regtype") == "make_token()"
    assert one(dsn, "SELECT conname FROM pg_constraint WHERE contypid = 'public.token_text'::regtype") == (
        "token_text_check")
    assert query(dsn, """SELECT attname, format_type(atttypid, atttypmod), collname FROM pg_attribute a
                         LEFT JOIN pg_collation c ON c.oid = a.attcollation AND a.attcollation <> 100
                         WHERE attrelid = 'public.totals'::regclass ORDER BY attnum""") == [
        ("users", "integer", None), ("label", "text", "C"), ("feeling", "mood[]", None)]

    assert one(dsn, """SELECT format_type(seqtypid, NULL), seqstart, seqincrement, seqmin, seqmax,
                              seqcache, seqcycle FROM pg_sequence
                       WHERE seqrelid = 'public.invoice_seq'::regclass""") == (
        "integer", 1000, 5, 1000, 999999, 10, True)
    assert one(dsn, "SELECT pg_get_serial_sequence('public.accounts', 'serial_no')") == (
        "public.accounts_serial_no_seq")
    assert one(dsn, "SELECT pg_get_serial_sequence('public.accounts', 'seq_no')") == "public.accounts_seq_no_seq"
    assert one(dsn, """SELECT seqstart, seqincrement FROM pg_sequence
                       WHERE seqrelid = 'public.accounts_seq_no_seq'::regclass""") == (7, 2)

    columns = query(dsn, """SELECT attname, format_type(atttypid, atttypmod), attnotnull,
                                   pg_get_expr(d.adbin, d.adrelid), attidentity, attgenerated
                            FROM pg_attribute a LEFT JOIN pg_attrdef d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
                            WHERE attrelid = 'public.accounts'::regclass AND attnum > 0 ORDER BY attnum""")
    assert columns == [
        ("id", "uuid", True, "gen_random_uuid()", "", ""),
        ("seq_no", "bigint", True, None, "a", ""),
        ("serial_no", "integer", True, "nextval('accounts_serial_no_seq'::regclass)", "", ""),
        ("token", "text", False, "generate_api_token()", "", ""),
        ("name", "text", True, None, "", ""),
        ("feeling", "mood", False, "'ok'::mood", "", ""),
        ("search", "tsvector", False, "to_tsvector('simple'::regconfig, name)", "", "s"),
        ("owner_id", "uuid", False, None, "", ""),
        ("email", "app.email", False, None, "", ""),
        ("flag", "boolean", False, "(1 IS NULL)", "", ""),
    ]
    assert one(dsn, "SELECT col_description('public.accounts'::regclass, 5)") == "it's a name"
    assert one(dsn, "SELECT obj_description('public.accounts'::regclass, 'pg_class')") == "tenants"
    assert one(dsn, "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'public.accounts'::regclass") == (
        True, True)
    assert one(dsn, "SELECT relpersistence FROM pg_class WHERE oid = 'app.bookings'::regclass") == "u"

    constraints = dict(query(dsn, """SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
                                     FROM pg_constraint WHERE contype NOT IN ('n', 't') AND conrelid <> 0
                                       AND connamespace::regnamespace::text IN ('public', 'app')"""))
    assert constraints == {
        "accounts.accounts_pkey": "PRIMARY KEY (id)",
        "accounts.accounts_name_key": "UNIQUE NULLS NOT DISTINCT (name) INCLUDE (feeling)",
        "accounts.accounts_name_check": "CHECK ((length(name) > 0)) NO INHERIT",
        "accounts.accounts_token_check": "CHECK (is_token(token))",
        "accounts.accounts_owner_id_fkey": "FOREIGN KEY (owner_id) REFERENCES auth.users(id) ON DELETE SET NULL",
        "memberships.memberships_pkey": "PRIMARY KEY (account_id, user_id)",
        "memberships.memberships_account_fk": "FOREIGN KEY (account_id) REFERENCES accounts(id) MATCH FULL "
                                             "ON UPDATE CASCADE ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED",
        "app.bookings.bookings_no_overlap": "EXCLUDE USING gist (room WITH =, during WITH &&)",
        "events.events_pkey": "PRIMARY KEY (id, created_at)",
        "events_2024.events_2024_pkey": "PRIMARY KEY (id, created_at)",
        "base.base_id_check": "CHECK ((id > 0))",
        "child.base_id_check": "CHECK ((id > 0))",
        "docs.docs_pkey": "PRIMARY KEY (id)",
        "docs.docs_slug_key": "UNIQUE (slug)",
    }
    assert one(dsn, "SELECT obj_description(oid, 'pg_constraint') FROM pg_constraint WHERE conname = 'memberships_account_fk'") == (
        "tenancy")
    assert one(dsn, """SELECT string_agg(attname || ':' || attgenerated::text, ',' ORDER BY attnum) FROM pg_attribute
                       WHERE attrelid = 'public.docs'::regclass AND attnum > 0""") == "id:,body:,slug:s,tail:"
    assert one(dsn, "SELECT col_description('public.docs'::regclass, 4)") == "after the slug"
    assert one(dsn, "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'public.events_2024'::regclass") == (
        "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')")
    assert one(dsn, "SELECT col_description('public.events_2024'::regclass, 2)") == "when"
    assert one(dsn, "SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = 'public.child'::regclass") == "base"
    assert query(dsn, """SELECT attname, attislocal FROM pg_attribute WHERE attrelid = 'public.child'::regclass
                         AND attnum > 0 ORDER BY attnum""") == [("id", False), ("note", False), ("extra", True)]

    indexes = dict(query(dsn, """SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
                                 JOIN pg_class c ON c.oid = indexrelid
                                 WHERE relnamespace = 'public'::regnamespace
                                   AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = indexrelid)"""))
    assert indexes == {
        "idx_accounts_name": 'CREATE INDEX idx_accounts_name ON public.accounts USING btree (lower(name) DESC NULLS LAST, '
                             'name COLLATE "POSIX" text_pattern_ops) INCLUDE (owner_id) WHERE (owner_id IS NOT NULL)',
        "idx_accounts_search": "CREATE INDEX idx_accounts_search ON public.accounts USING gin (search)",
        "idx_accounts_owner": "CREATE UNIQUE INDEX idx_accounts_owner ON public.accounts USING btree "
                              "(owner_id NULLS FIRST) NULLS NOT DISTINCT",
        "idx_docs_slug": "CREATE INDEX idx_docs_slug ON public.docs USING btree (slugify(body))",
        "events_created_idx": "CREATE INDEX events_created_idx ON ONLY public.events USING btree (created_at)",
        "events_2024_created_at_idx": "CREATE INDEX events_2024_created_at_idx ON public.events_2024 USING btree (created_at)",
        "m_counts_n": "CREATE UNIQUE INDEX m_counts_n ON public.m_counts USING btree (n)",
    }
    # The partition's index was attached to the parent's, not duplicated.
    assert one(dsn, "SELECT count(*) FROM pg_class WHERE starts_with(relname, 'events_2024') AND relkind = 'i'") == 2
    assert one(dsn, "SELECT obj_description('public.idx_accounts_name'::regclass, 'pg_class')") == "lookup"

    assert one(dsn, "SELECT reloptions FROM pg_class WHERE oid = 'public.v_accounts'::regclass") == [
        "security_barrier=true", "security_invoker=true"]
    assert one(dsn, "SELECT check_option FROM information_schema.views WHERE table_name = 'v_named'") == "LOCAL"
    assert one(dsn, """SELECT DISTINCT d.refobjid::regclass::text FROM pg_rewrite r JOIN pg_depend d ON d.objid = r.oid
                       WHERE r.ev_class = 'public.a_tokens'::regclass AND d.refobjid <> r.ev_class
                         AND d.refclassid = 'pg_class'::regclass""") == "z_tokens"
    assert one(dsn, "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'm_counts'") is False
    assert one(dsn, "SELECT obj_description('public.m_counts'::regclass, 'pg_class')") == "counts"

    functions = {row[0]: row[1:] for row in query(dsn, """
        SELECT p.oid::regprocedure::text, prokind, provolatile, proisstrict, prosecdef, proleakproof,
               proparallel, proconfig, pg_get_function_result(p.oid), prosrc
        FROM pg_proc p WHERE pronamespace = 'public'::regnamespace""")}
    assert functions["make_token()"] == ("f", "v", False, False, False, "u", ["search_path=public, pg_temp"],
                                         "text", "SELECT md5(random()::text)")
    assert functions["is_token(text)"][:7] == ("f", "i", True, False, True, "s", None)
    assert functions["generate_api_token()"][3] is True
    assert functions["generate_api_token()"][6] == ['search_path=""', "statement_timeout=5s"]
    assert functions["tokens(integer)"][7] == "TABLE(token text, n integer)"
    assert one(dsn, "SELECT pg_get_function_arguments('public.tokens'::regproc)") == "p_count integer DEFAULT 1"
    assert one(dsn, "SELECT pg_get_function_arguments('public.total'::regproc)") == "VARIADIC nums integer[]"
    assert one(dsn, "SELECT pg_get_function_arguments('public.swap'::regproc)") == "INOUT a integer, INOUT b integer"
    assert one(dsn, "SELECT pg_get_function_arguments('public.split_name'::regproc)") == (
        "n text, OUT first text, OUT last text")
    assert functions["tagged()"][-1] == "SELECT '$function$'::text"
    assert one(dsn, "SELECT public.z_atomic(21)") == 42
    assert one(dsn, "SELECT prosqlbody IS NOT NULL FROM pg_proc WHERE proname = 'a_atomic'") is True
    assert functions["sum_totals(totals)"][7] == "totals"
    assert functions["refresh_all(boolean)"][:5] == ("p", "v", False, True, False)
    assert functions["refresh_all(boolean)"][6] == ["work_mem=64MB"]
    assert one(dsn, "SELECT obj_description('public.refresh_all'::regproc, 'pg_proc')") == "nightly"

    triggers = dict(query(dsn, """SELECT tgname || '@' || tgrelid::regclass::text,
                                         pg_get_triggerdef(oid) || ' [' || tgenabled::text || ']'
                                  FROM pg_trigger WHERE NOT tgisinternal"""))
    assert triggers == {
        "on_auth_user_created@auth.users": "CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users "
                                           "FOR EACH ROW EXECUTE FUNCTION handle_new_user() [O]",
        "accounts_touch@accounts": "CREATE TRIGGER accounts_touch BEFORE UPDATE OF name, feeling ON "
                                   "public.accounts FOR EACH ROW WHEN ((old.name IS DISTINCT FROM new.name)) "
                                   "EXECUTE FUNCTION touch('a', 'it''s') [R]",
        "accounts_audit@accounts": "CREATE TRIGGER accounts_audit AFTER INSERT ON public.accounts REFERENCING "
                                   "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION touch() [D]",
        "accounts_ct@accounts": "CREATE CONSTRAINT TRIGGER accounts_ct AFTER DELETE OR UPDATE ON public.accounts "
                                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION touch() [A]",
        "v_accounts_insert@v_accounts": "CREATE TRIGGER v_accounts_insert INSTEAD OF INSERT ON public.v_accounts "
                                        "FOR EACH ROW EXECUTE FUNCTION touch() [O]",
        "events_touch@events": "CREATE TRIGGER events_touch BEFORE UPDATE ON public.events FOR EACH ROW "
                               "EXECUTE FUNCTION touch() [O]",
        "events_touch@events_2024": "CREATE TRIGGER events_touch BEFORE UPDATE ON public.events_2024 FOR EACH ROW "
                                    "EXECUTE FUNCTION touch() [O]",
    }
    assert one(dsn, "SELECT obj_description(oid, 'pg_trigger') FROM pg_trigger WHERE tgname = 'accounts_touch'") == "touch it"

    policies = query(dsn, """SELECT policyname, permissive, roles::text[], cmd, qual, with_check FROM pg_policies
                             ORDER BY policyname""")
    assert policies == [
        ("Members can view", "PERMISSIVE", ["pgspec_reader", "postgres"], "SELECT", "(owner_id = auth.uid())", None),
        ("only owners", "RESTRICTIVE", ["public"], "UPDATE", "(owner_id = auth.uid())",
         "(owner_id IN ( SELECT m.user_id\n   FROM memberships m))"),
    ]
    assert one(dsn, "SELECT obj_description(oid, 'pg_policy') FROM pg_policy WHERE polname = 'Members can view'") == "view"
    assert one(dsn, "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'btree_gist'") == "extensions"
    assert one(dsn, "SELECT obj_description('app'::regnamespace, 'pg_namespace')") == "application objects"


def test_output_is_deterministic() -> None:
    first = render(full_catalog())
    assert render(full_catalog()) == first
    assert render(full_catalog(reverse=True)) == first
    assert render_split(full_catalog(reverse=True)) == render_split(full_catalog())


def test_render_is_the_three_files_in_order() -> None:
    files = render_split(full_catalog())
    assert tuple(files) == SPLIT_FILES
    assert render(full_catalog()) == "".join(files.values())
    assert files[SPLIT_FILES[1]].count("SET check_function_bodies = false;") == 1


def _schema_dump(server: Server, dsn: str, *options: str) -> str:
    result = subprocess.run(
        [server.tool("pg_dump"), "--schema-only", "--restrict-key=pgspec", *options, "-d", dsn],
        check=True, capture_output=True, text=True,
    )
    return result.stdout


def test_split_files_build_what_the_single_file_builds(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    single, split = make_db(server=any_pg), make_db(server=any_pg)
    for dsn in (single, split):
        run_sql(dsn, EXTERNAL_SETUP)
    apply(any_pg, single, tmp_path, full_catalog())
    apply(any_pg, split, tmp_path, full_catalog(), split=True)
    assert _schema_dump(any_pg, split) == _schema_dump(any_pg, single)


def test_a_default_calling_a_catalog_function_moves_to_the_third_file(
    make_db: Callable[..., str], pg: Server, tmp_path: Path
) -> None:
    catalog = catalog_of(
        Table(schema="public", name="api_keys", columns=[
            Column(name="id", type="integer", not_null=True),
            Column(name="token", type="text", not_null=True, default="generate_api_token()"),
            Column(name="created_at", type="timestamp with time zone", default="now()"),
        ]),
        pk("api_keys", "id"),
        fn("generate_api_token", "SELECT md5(random()::text)", language="sql"),
    )
    schema, functions, rest = render_split(catalog).values()
    assert "DEFAULT now()" in schema
    assert "generate_api_token" not in schema
    assert "CREATE FUNCTION public.generate_api_token()" in functions
    assert "ALTER TABLE public.api_keys ALTER COLUMN token SET DEFAULT generate_api_token();" in rest
    dsn = make_db()
    apply(pg, dsn, tmp_path, catalog, split=True)
    token = one(dsn, "INSERT INTO api_keys (id) VALUES (1) RETURNING token")
    assert len(token) == 32


@pytest.mark.parametrize("names", [("a_view", "b_view", "c_view"), ("c_view", "b_view", "a_view")])
def test_views_come_after_the_views_they_read(
    names: tuple[str, str, str], make_db: Callable[..., str], pg: Server, tmp_path: Path
) -> None:
    base, middle, top = names
    catalog = catalog_of(
        Table(schema="public", name="items", columns=[Column(name="id", type="integer")]),
        View(schema="public", name=top, query=f"SELECT id FROM {middle} WHERE id > 1"),
        View(schema="public", name=middle, query=f"SELECT id FROM public.{base}"),
        View(schema="public", name=base, query="SELECT id FROM items"),
    )
    text = render(catalog)
    positions = [text.index(f"CREATE VIEW public.{n} ") for n in (base, middle, top)]
    assert positions == sorted(positions)
    dsn = make_db()
    apply(pg, dsn, tmp_path, catalog)
    assert one(dsn, "SELECT count(*) FROM pg_views WHERE schemaname = 'public'") == 3


def test_awkward_identifiers_are_quoted(make_db: Callable[..., str], pg: Server, tmp_path: Path) -> None:
    schema, table = "My Schema", 'Order "Items"'
    catalog = catalog_of(
        Schema(name=schema),
        Enum(schema=schema, name="Status", values=["New", "it's \\ done"]),
        Table(schema=schema, name=table, comment="quotes ' and \\ backslash", columns=[
            Column(name="select", type="integer", not_null=True),
            Column(name="With Space", type='"My Schema"."Status"', default="'New'::\"My Schema\".\"Status\""),
            Column(name='say "hi"', type="text", comment="x"),
        ], rls_enabled=True),
        Constraint(schema=schema, table=table, name="Order PK", kind="primary_key", columns=["select"]),
        Constraint(schema=schema, table=table, name='check "it"', kind="check", expression='"select" > 0'),
        Index(schema=schema, name="Index On Space", table=table, keys=[IndexKey(column="With Space")]),
        View(schema=schema, name="User", query='SELECT "select" FROM "My Schema"."Order ""Items"""'),
        Function(schema=schema, name="Touch It", returns="trigger", body="BEGIN RETURN NEW; END"),
        Trigger(schema=schema, table=table, name="when it's touched", timing="before", events=["update"],
                function='"My Schema"."Touch It"'),
        Policy(schema=schema, table=table, name='policy "p"', using="true"),
    )
    dsn = make_db()
    apply(pg, dsn, tmp_path, catalog)
    assert one(dsn, "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'",
               '"My Schema"') == table
    assert one(dsn, "SELECT enum_range(NULL::\"My Schema\".\"Status\")::text[]") == ["New", "it's \\ done"]
    assert query(dsn, "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
                 '"My Schema"."Order ""Items"""') == [("select",), ("With Space",), ('say "hi"',)]
    assert one(dsn, "SELECT obj_description(%s::regclass, 'pg_class')",
               '"My Schema"."Order ""Items"""') == "quotes ' and \\ backslash"
    names = {r[0] for r in query(dsn, "SELECT conname FROM pg_constraint WHERE connamespace = %s::regnamespace",
                                 '"My Schema"')}
    assert {"Order PK", 'check "it"'} <= names
    assert one(dsn, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal") == "when it's touched"
    assert one(dsn, "SELECT polname FROM pg_policy") == 'policy "p"'
    assert one(dsn, "SELECT proname FROM pg_proc WHERE pronamespace = %s::regnamespace", '"My Schema"') == "Touch It"


def test_a_name_crafted_as_injection_is_only_a_name(make_db: Callable[..., str], pg: Server, tmp_path: Path) -> None:
    evil = 'x"; DROP TABLE victims; --'
    dsn = make_db()
    run_sql(dsn, "CREATE TABLE victims (id int)")
    catalog = catalog_of(
        Table(schema="public", name=evil, comment="'); DROP TABLE victims; --", columns=[
            Column(name="a); DROP TABLE victims; --", type="integer"),
        ]),
        Index(schema="public", name=evil + "idx", table=evil, keys=[IndexKey(column="a); DROP TABLE victims; --")]),
    )
    text = render(catalog)
    assert 'CREATE TABLE public."x""; DROP TABLE victims; --" (' in text
    apply(pg, dsn, tmp_path, catalog)
    assert {r[0] for r in query(dsn, "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace")} == {
        "victims", evil, evil + "idx"}


@pytest.mark.parametrize("fragment", [
    "1); DROP TABLE victims; --",
    "1; DROP TABLE victims",
    "(SELECT 1) UNION (SELECT 2)",
    "1, 2",
])
def test_a_fragment_that_is_not_one_expression_is_refused(fragment: str) -> None:
    catalog = catalog_of(Table(schema="public", name="t", columns=[
        Column(name="a", type="integer", default=fragment)]))
    with pytest.raises(SqlError, match="invalid expression"):
        render(catalog)


def test_externals_are_never_rendered() -> None:
    catalog = catalog_of(
        Schema(name="auth"),
        Table(schema="auth", name="users", columns=[Column(name="id", type="uuid")]),
        fn("uid", "SELECT NULL::uuid", returns="uuid", schema="auth", language="sql"),
        Table(schema="public", name="profiles", columns=[Column(name="id", type="uuid")]),
        externals=frozenset({"auth", "auth.users", "auth.uid()"}),
    )
    text = render(catalog)
    assert "auth" not in text
    assert "CREATE TABLE public.profiles" in text
    assert "CREATE SCHEMA" not in text


def test_what_calls_a_catalog_function_is_placed_in_the_third_file() -> None:
    schema, functions, rest = render_split(full_catalog()).values()
    for moved in ("CREATE VIEW public.z_tokens AS", "CREATE VIEW public.a_tokens AS",
                  "ALTER DOMAIN public.token_text SET DEFAULT public.make_token();",
                  "ADD CONSTRAINT token_text_check CHECK (public.is_token(VALUE));",
                  "ADD COLUMN slug text GENERATED ALWAYS AS (public.slugify(body)) STORED",
                  "ADD CONSTRAINT accounts_token_check CHECK (public.is_token(token));"):
        assert moved in rest
        assert moved not in schema
    assert rest.index("CREATE VIEW public.z_tokens") < rest.index("CREATE VIEW public.a_tokens")
    # Views that call nothing of the catalog stay with the tables.
    assert "CREATE VIEW public.v_accounts" in schema
    assert "CREATE FUNCTION" not in schema + rest and "CREATE TABLE" not in functions + rest


def test_comments_settings_and_trailing_sql_comments(make_db: Callable[..., str], pg: Server, tmp_path: Path) -> None:
    catalog = catalog_of(
        Schema(name="public", comment="standard public schema, ours now"),
        Schema(name="My Schema"),
        Table(schema="public", name="t", columns=[
            Column(name="at", type="timestamp with time zone", default="now() -- when it happened"),
            Column(name="n", type="integer", not_null=True),
        ]),
        Constraint(schema="public", table="t", name="t_n_check", kind="check", expression="n > 0 -- positive"),
        View(schema="public", name="v", query="SELECT n FROM t -- all of them\n;"),
        fn("f", "SELECT 1", returns="integer", language="sql",
           config={"search_path": '"My Schema", public, "$user"'}),
    )
    text = render(catalog)
    assert "CREATE SCHEMA IF NOT EXISTS public" not in text
    dsn = make_db()
    apply(pg, dsn, tmp_path, catalog)
    assert one(dsn, "SELECT obj_description('public'::regnamespace, 'pg_namespace')") == "standard public schema, ours now"
    assert one(dsn, "SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'n'") is True
    assert one(dsn, "SELECT count(*) FROM pg_constraint WHERE conname = 't_n_check'") == 1
    assert one(dsn, "SELECT proconfig FROM pg_proc WHERE proname = 'f'") == [
        'search_path="My Schema", public, "$user"']


def test_a_statement_that_cannot_move_and_needs_a_later_file_is_refused() -> None:
    catalog = catalog_of(
        fn("make_token", "SELECT 'x'", language="sql"),
        View(schema="public", name="tokens", query="SELECT public.make_token() AS t"),
        # A composite type cannot wait for file 3, but its attribute needs the view's row type.
        CompositeType(schema="public", name="holder", attributes=[Attribute(name="t", type="public.tokens")]),
    )
    with pytest.raises(UnsupportedError, match=r"cannot order 'type:public\.holder'"):
        render(catalog)


#: Objects of full_catalog() the server makes by itself (an identity's sequence, a partition's
#: copy of its parent's key, index and trigger, a child's inherited CHECK): the renderer accepts
#: them, and the live reader, which reports what a user creates, leaves them out.
SERVER_COPIES = {
    "sequence": {"public.accounts_seq_no_seq"},
    "constraint": {"public.child.base_id_check", "public.events_2024.events_2024_pkey"},
    "index": {"public.events_2024_created_at_idx"},
    "trigger": {"public.events_2024.events_touch"},
}


def test_render_apply_read_back_is_the_same_catalog(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    from pgspec.diff import diff
    from pgspec.sources.live import introspect

    schemas = ["public", "app", "extensions"]
    catalog = full_catalog(server_copies=False)
    first, second = make_db(server=any_pg), make_db(server=any_pg)
    for dsn in (first, second):
        run_sql(dsn, EXTERNAL_SETUP)
    apply(any_pg, first, tmp_path, catalog, split=True)
    live = introspect(first, schemas=schemas)
    assert diff(catalog, live, schemas=schemas) == []
    # What the server holds, read back and rendered again, builds the same database (the live
    # reader's fragments are the server's deparsed, schema-qualified text).
    apply(any_pg, second, tmp_path, live.model_copy(update={"externals": catalog.externals}))
    dump = [*(f"--schema={s}" for s in schemas)]
    assert _schema_dump(any_pg, second, *dump) == _schema_dump(any_pg, first, *dump)


def test_a_return_body_is_written_bare_and_ordered(make_db: Callable[..., str], pg: Server, tmp_path: Path) -> None:
    catalog = catalog_of(
        fn("a_twice", "RETURN public.b_double(x) + 0", returns="integer", language="sql",
           arguments=[Argument(name="x", type="integer")]),
        fn("b_double", "RETURN x * 2", returns="integer", language="sql",
           arguments=[Argument(name="x", type="integer")]),
    )
    text = render(catalog)
    assert "    RETURN x * 2;" in text
    assert text.index("public.b_double(x integer)") < text.index("public.a_twice(x integer)")
    dsn = make_db()
    apply(pg, dsn, tmp_path, catalog)
    assert one(dsn, "SELECT public.a_twice(21)") == 42


def test_partition_keeps_its_own_defaults_and_not_null(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    """PARTITION OF copies the parent's defaults and NOT NULL; a partition's own ones (pgschema
    issue 499: ``priority DEFAULT 10, notes NOT NULL``), a dropped default and a default calling
    a function of the schema (set after the function exists) survive the round trip."""
    from pgspec.diff import diff
    from pgspec.sources.live import introspect

    source, target = make_db(server=any_pg), make_db(server=any_pg)
    # new.sql of the pgschema conformance case create_table/issue_499_partition_column_overrides
    new_sql = (
        "CREATE TABLE public.orders (id bigint NOT NULL, region text NOT NULL,\n"
        "    priority integer DEFAULT 0, notes text) PARTITION BY LIST (region);\n"
        "CREATE TABLE public.orders_eu PARTITION OF public.orders FOR VALUES IN ('eu');\n"
        "CREATE TABLE public.orders_us PARTITION OF public.orders (\n"
        "    priority DEFAULT 10, notes NOT NULL) FOR VALUES IN ('us');\n")
    run_sql(source, new_sql)
    run_sql(source, """
        CREATE TABLE public.orders_xx PARTITION OF public.orders FOR VALUES IN ('xx');
        ALTER TABLE public.orders_xx ALTER COLUMN priority DROP DEFAULT;
        CREATE FUNCTION public.rush() RETURNS integer LANGUAGE sql AS 'SELECT 99';
        CREATE TABLE public.orders_fast PARTITION OF public.orders (priority DEFAULT public.rush())
            FOR VALUES IN ('fast');
    """)
    live = introspect(source)
    assert live.tables["public.orders_us"].column("priority").default == "10"
    files = apply(any_pg, target, tmp_path, live, split=True)
    assert "notes WITH OPTIONS NOT NULL" in files["00_init_complete_schema.sql"]
    assert [str(d) for d in diff(live, introspect(target))] == []
