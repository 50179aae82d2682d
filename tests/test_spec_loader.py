"""A spec, written as a user would, loads into exactly the Catalog objects it describes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pgspec.catalog import Argument, Attribute, Catalog, IndexKey
from pgspec.errors import SpecError
from pgspec.sources.elements import parse_index_element
from pgspec.sources.spec import load_spec
from tests.fix_db import Run, run_sql

ROOT = Path(__file__).resolve().parent.parent


def load(tmp_path: Path, text: str, name: str = "spec.yaml") -> Catalog:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_spec(path)


def test_file_level_sections(tmp_path: Path) -> None:
    c = load(
        tmp_path,
        """
        schema: app
        schemas:
          app: {comment: "application tables"}
        extensions:
          pgcrypto: {schema: extensions}
          uuid-ossp: {}
        external:
          schemas: [auth]
          tables: [auth.users]
          functions: ["auth.uid()", "auth.has_role(text, int)"]
          types: [extensions.citext]
        enums:
          project_type: [data_vault, dimensional, no]
          member_role: {values: [owner, admin], comment: "roles"}
        domains:
          email_address:
            type: extensions.citext
            not_null: true
            default: "''"
            checks: {email_address_check: "VALUE ~* '^[^@]+@[^@]+$'"}
          positive: {type: int, check: "VALUE > 0"}
        composite_types:
          usage_totals:
            attributes: {users: integer, label: {type: text, collation: C}}
        sequences:
          invoice_number_seq: {type: bigint, start: 1000, cache: 1}
        """,
    )
    assert c.source == str(tmp_path / "spec.yaml")
    assert c.schemas["app"].comment == "application tables"
    assert c.extensions["pgcrypto"].schema_name == "extensions"
    assert c.extensions['"uuid-ossp"'].schema_name is None
    assert c.externals == {"auth", "auth.users", "auth.uid()", "auth.has_role(text, integer)", "extensions.citext"}
    assert c.enums["app.project_type"].values == ["data_vault", "dimensional", "no"]
    assert c.enums["app.member_role"].comment == "roles"
    assert c.enums["app.member_role"].location == f"{tmp_path / 'spec.yaml'}:15"
    email = c.domains["app.email_address"]
    assert (email.type, email.not_null, email.default) == ("extensions.citext", True, "''")
    assert email.checks == {"email_address_check": "VALUE ~* '^[^@]+@[^@]+$'"}
    assert c.domains["app.positive"].checks == {"positive_check": "VALUE > 0"}
    assert c.composite_types["app.usage_totals"].attributes == [
        Attribute(name="users", type="integer"),
        Attribute(name="label", type="text", collation="C"),
    ]
    seq = c.sequences["app.invoice_number_seq"]
    assert (seq.type, seq.start, seq.increment, seq.owned_by) == ("bigint", 1000, 1, None)


TABLES = """
tables:
  users:
    columns:
      id: {type: uuid, primary_key: true}
  accounts:
    comment: Multi-tenant root organisation
    columns:
      id: {type: uuid, primary_key: true, default: gen_random_uuid()}
      slug: {type: varchar(63), not_null: true, unique: true}
      name: text
      owner_id:
        type: uuid
        references: users(id)
      tier: {type: text, not_null: true, default: "'free'", check: "tier IN ('free', 'pro')"}
      max_users: {type: integer, default: 0}
      price: {type: "numeric(10,2)", default: 0.10}
      active: {type: boolean, default: false}
      seq_no: {type: bigint, identity: always}
      search: {type: tsvector, generated: "to_tsvector('simple', name)"}
      code: {type: text, collation: C, comment: "the code"}
      n: serial
      "Big": {type: bigserial}
    unique:
      accounts_owner_slug_key: [owner_id, slug]
      accounts_name_key: {columns: [name], nulls_not_distinct: true, include: [tier]}
    checks:
      accounts_limits_check: "max_users >= 0"
    foreign_keys:
      accounts_owner_fk2:
        columns: [owner_id]
        references: {table: users}
        on_delete: SET NULL
        deferrable: true
    exclude:
      no_overlap: "EXCLUDE USING gist (code WITH =)"
    indexes:
      idx_accounts_owner: {columns: [owner_id]}
      idx_accounts_name_lower:
        columns: ["lower(name)", "slug DESC NULLS LAST", {column: code, opclass: text_pattern_ops},
                  {column: tier, order: desc, nulls: first}]
        unique: true
        where: "code IS NULL"
        include: [max_users]
    rls: {enabled: true, forced: true}
    policies:
      "Members can view their account":
        command: select
        roles: [authenticated, anon]
        using: "id IN (SELECT 1)"
      everyone: {using: "true", with_check: "true", permissive: false}
    triggers:
      accounts_touch:
        timing: before
        events: [update, insert]
        update_of: [name]
        when: "OLD.* IS DISTINCT FROM NEW.*"
        function: touch
        arguments: [a, 1]
    unlogged: false
functions:
  touch: {returns: trigger, body: "BEGIN RETURN NEW; END"}
"""


@pytest.fixture
def tables(tmp_path: Path) -> Catalog:
    return load(tmp_path, TABLES)


def test_columns(tables: Catalog, tmp_path: Path) -> None:
    t = tables.tables["public.accounts"]
    assert t.comment == "Multi-tenant root organisation"
    assert (t.rls_enabled, t.rls_forced, t.unlogged) == (True, True, False)
    cols = {c.name: c for c in t.columns}
    assert list(cols) == [
        "id", "slug", "name", "owner_id", "tier", "max_users", "price", "active", "seq_no", "search",
        "code", "n", "Big",
    ]
    assert (cols["id"].type, cols["id"].not_null, cols["id"].default) == ("uuid", True, "gen_random_uuid()")
    assert cols["slug"].type == "character varying(63)"
    assert cols["name"].type == "text" and not cols["name"].not_null
    assert cols["max_users"].default == "0"
    assert cols["price"].default == "0.10"
    assert cols["active"].default == "false"
    assert (cols["seq_no"].identity, cols["seq_no"].not_null) == ("always", True)
    assert cols["search"].generated == "to_tsvector('simple', name)"
    assert (cols["code"].collation, cols["code"].comment) == ("C", "the code")
    assert cols["slug"].location == f"{tmp_path / 'spec.yaml'}:10"


def test_serial_expansion(tables: Catalog) -> None:
    cols = {c.name: c for c in tables.tables["public.accounts"].columns}
    assert (cols["n"].type, cols["n"].not_null) == ("integer", True)
    assert cols["n"].default == "nextval('public.accounts_n_seq'::regclass)"
    assert cols["Big"].type == "bigint"
    assert cols["Big"].default == """nextval('public."accounts_Big_seq"'::regclass)"""
    seq = tables.sequences["public.accounts_n_seq"]
    assert (seq.type, seq.owned_by) == ("integer", "public.accounts.n")
    assert tables.sequences['public."accounts_Big_seq"'].owned_by == 'public.accounts."Big"'


def test_constraints_and_default_names(tables: Catalog) -> None:
    k = tables.constraints
    assert k["public.accounts.accounts_pkey"].columns == ["id"]
    assert k["public.users.users_pkey"].kind == "primary_key"
    assert k["public.accounts.accounts_slug_key"].columns == ["slug"]
    assert k["public.accounts.accounts_tier_check"].expression == "tier IN ('free', 'pro')"
    fk = k["public.accounts.accounts_owner_id_fkey"]
    assert (fk.kind, fk.columns, fk.references, fk.references_columns) == (
        "foreign_key", ["owner_id"], "public.users", ["id"],
    )
    fk2 = k["public.accounts.accounts_owner_fk2"]
    assert (fk2.references_columns, fk2.on_delete, fk2.deferrable) == (["id"], "set null", True)
    uq = k["public.accounts.accounts_name_key"]
    assert (uq.nulls_not_distinct, uq.include) == (True, ["tier"])
    assert k["public.accounts.accounts_owner_slug_key"].columns == ["owner_id", "slug"]
    assert k["public.accounts.accounts_limits_check"].expression == "max_users >= 0"
    assert k["public.accounts.no_overlap"].definition == "EXCLUDE USING gist (code WITH =)"


def test_indexes(tables: Catalog) -> None:
    ix = tables.indexes["public.idx_accounts_name_lower"]
    assert ix.table == "accounts" and ix.unique and ix.where == "code IS NULL" and ix.include == ["max_users"]
    assert ix.keys == [
        IndexKey(expression="lower(name)"),
        IndexKey(column="slug", order="desc", nulls="last"),
        IndexKey(column="code", opclass="text_pattern_ops"),
        IndexKey(column="tier", order="desc"),
    ]
    assert tables.indexes["public.idx_accounts_owner"].keys == [IndexKey(column="owner_id")]


def test_policies_and_triggers(tables: Catalog) -> None:
    p = tables.policies['public.accounts."Members can view their account"']
    assert (p.command, p.roles, p.using, p.permissive) == ("select", ["anon", "authenticated"], "id IN (SELECT 1)", True)
    e = tables.policies["public.accounts.everyone"]
    assert (e.command, e.roles, e.permissive, e.with_check) == ("all", ["public"], False, "true")
    t = tables.triggers["public.accounts.accounts_touch"]
    assert (t.timing, t.events, t.update_columns, t.level) == ("before", ["insert", "update"], ["name"], "row")
    assert (t.function, t.arguments, t.when) == ("public.touch", ["a", "1"], "OLD.* IS DISTINCT FROM NEW.*")


def test_views_and_top_level_children(tmp_path: Path) -> None:
    c = load(
        tmp_path,
        """
        external: {tables: [auth.users]}
        tables:
          accounts: {columns: {id: int, deleted_at: timestamptz}}
        views:
          accounts_summary:
            query: |
              SELECT id FROM accounts WHERE deleted_at IS NULL
            options: {security_invoker: true, security_barrier: false, check_option: LOCAL}
            comment: summary
        materialized_views:
          account_usage_daily: {query: "SELECT id AS account_id FROM accounts", with_data: false}
        indexes:
          idx_account_usage_daily: {table: account_usage_daily, columns: [account_id], unique: true}
        triggers:
          on_auth_user_created: {table: auth.users, timing: after, events: [insert],
                                 function: public.handle_new_user}
        policies:
          own: {table: auth.users, using: "true"}
        functions:
          handle_new_user: {returns: trigger, security_definer: true, set: {search_path: ""},
                            body: "BEGIN RETURN NEW; END"}
        """,
    )
    v = c.views["public.accounts_summary"]
    assert v.query == "SELECT id FROM accounts WHERE deleted_at IS NULL"
    assert v.options == {"security_invoker": "true", "security_barrier": "false", "check_option": "local"}
    assert v.comment == "summary"
    assert c.materialized_views["public.account_usage_daily"].with_data is False
    assert c.indexes["public.idx_account_usage_daily"].table == "account_usage_daily"
    t = c.triggers["auth.users.on_auth_user_created"]
    assert (t.schema_name, t.table, t.function) == ("auth", "users", "public.handle_new_user")
    assert c.policies["auth.users.own"].using == "true"
    f = c.functions["public.handle_new_user()"]
    assert (f.security_definer, f.config) == (True, {"search_path": ""})


def test_functions(tmp_path: Path) -> None:
    c = load(
        tmp_path,
        """
        functions:
          soft_delete:
            arguments:
              - {name: p_table_name, type: text}
              - {name: p_record_id, type: uuid}
              - {name: p_deleted_by, type: uuid, default: "NULL"}
            returns: boolean
            volatility: stable
            parallel: safe
            strict: true
            comment: deletes softly
            body: |
              BEGIN
                RETURN p_record_id IS NOT NULL;
              END
          purge:
            - {arguments: ["p_days integer DEFAULT 90"], returns: integer, language: sql, body: "SELECT p_days"}
            - {arguments: ["p_from date", "OUT n bigint"], language: sql, body: "SELECT 1::bigint"}
          tokens:
            returns: {table: {token_id: uuid, n: int}}
            body: "BEGIN RETURN QUERY SELECT NULL::uuid, n; END"
          all_ids: {returns: "SETOF int", language: sql, body: "SELECT 1"}
        procedures:
          refresh_all: {arguments: [], body: "BEGIN NULL; END"}
        """,
    )
    f = c.functions["public.soft_delete(text, uuid, uuid)"]
    assert f.arguments[2] == Argument(name="p_deleted_by", type="uuid", default="NULL")
    assert (f.returns, f.volatility, f.parallel, f.strict, f.language) == ("boolean", "stable", "safe", True, "plpgsql")
    assert f.body == "BEGIN\n  RETURN p_record_id IS NOT NULL;\nEND"
    assert f.comment == "deletes softly"
    p1 = c.functions["public.purge(integer)"]
    assert p1.arguments == [Argument(name="p_days", type="integer", default="90")]
    p2 = c.functions["public.purge(date)"]
    assert p2.arguments[1] == Argument(name="n", type="bigint", mode="out")
    assert p2.returns == "bigint"
    t = c.functions["public.tokens()"]
    assert (t.returns, t.returns_set) == ("record", True)
    assert t.arguments == [Argument(name="token_id", type="uuid", mode="table"), Argument(name="n", type="integer", mode="table")]
    s = c.functions["public.all_ids()"]
    assert (s.returns, s.returns_set) == ("integer", True)
    r = c.functions["public.refresh_all()"]
    assert (r.kind_of_object, r.returns) == ("procedure", None)


def test_directory_merges_files_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.yaml").write_text("tables:\n  b: {columns: {a_id: {type: int, references: a(id)}}}\n")
    (tmp_path / "sub" / "a.yml").write_text("tables:\n  a: {columns: {id: {type: int, primary_key: true}}}\n")
    (tmp_path / "notes.txt").write_text("not a spec")
    c = load_spec(tmp_path)
    assert list(c.tables) == ["public.b", "public.a"]
    assert c.constraints["public.b.b_a_id_fkey"].references == "public.a"
    assert c.tables["public.a"].location == f"{tmp_path / 'sub' / 'a.yml'}:2"


def test_relative_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "x.yaml").write_text("enums:\n  e: [a]\n")
    monkeypatch.chdir(tmp_path)
    assert load_spec("schema").enums["public.e"].location == "schema/x.yaml:2"
    assert load_spec(tmp_path / "schema").enums["public.e"].location == "schema/x.yaml:2"


def test_parse_index_element() -> None:
    assert parse_index_element("created_at DESC NULLS FIRST") == IndexKey(column="created_at", order="desc")
    assert parse_index_element("a NULLS FIRST") == IndexKey(column="a", nulls="first")
    assert parse_index_element("name pg_catalog.text_pattern_ops") == IndexKey(column="name", opclass="text_pattern_ops")
    assert parse_index_element("(a COLLATE \"C\")") == IndexKey(column="a", collation="C")
    assert parse_index_element("(a + b)") == IndexKey(expression="a + b")


def test_team_spec_loads() -> None:
    schema = ROOT / "schema"
    if not schema.is_dir() or not any(schema.rglob("*.y*ml")):
        pytest.skip("schema/ is not written yet")
    catalog = load_spec(schema)
    assert catalog.tables


def test_extension_types_are_known(tmp_path: Path) -> None:
    c = load(
        tmp_path,
        """
        extensions:
          citext: {schema: public}
          hstore: {}
          vector: {schema: extensions}
          postgis_raster: {schema: gis}
        tables:
          t:
            columns:
              email: citext
              settings: hstore
              embedding: extensions.vector(3)
              tile: gis.raster
        """,
    )
    assert [c.type for c in c.tables["public.t"].columns] == [
        "public.citext", "public.hstore", "extensions.vector(3)", "gis.raster",
    ]


def test_a_plpgsql_function_with_a_variadic_argument_loads(tmp_path: Path) -> None:
    """libpg_query's PL/pgSQL compiler cannot look array types up and refuses a VARIADIC
    parameter of a valid function; the body check must not turn that into a spec error (a
    spec inspect wrote from a real database failed to load on it)."""
    c = load(
        tmp_path,
        """
        functions:
          total:
            arguments: ["p_label text", "VARIADIC p_rest integer[] DEFAULT '{}'"]
            returns: integer
            body: |
              BEGIN
                RETURN coalesce(array_length(p_rest, 1), 0);
              END
        """,
    )
    f = c.functions["public.total(text, integer[])"]
    assert f.arguments[1].mode == "variadic"
    with pytest.raises(SpecError, match="invalid plpgsql body"):
        load(tmp_path, """
        functions:
          total:
            arguments: ["VARIADIC p_rest integer[]"]
            returns: integer
            body: "BEGIN RETURN ; END IF; END"
        """)


def test_returns_table_of_one_column_is_setof_its_type(tmp_path: Path, db: str, run: Run) -> None:
    """TableFuncTypeName: RETURNS TABLE(r uses) returns SETOF uses, not SETOF record (a spec
    written by inspect from such a function was a false difference against its database)."""
    text = """
        tables:
          uses: {columns: {n: int}}
        functions:
          uses_rows:
            returns: {table: {r: uses}}
            body: "BEGIN RETURN; END"
          counts:
            returns: {table: {n: int}}
            language: sql
            body: "SELECT 1"
          pairs:
            returns: {table: {n: int, m: int}}
            language: sql
            body: "SELECT 1, 2"
        """
    c = load(tmp_path, text)
    assert (c.functions["public.uses_rows()"].returns, c.functions["public.uses_rows()"].returns_set) == ("public.uses", True)
    assert c.functions["public.counts()"].returns == "integer"
    assert c.functions["public.pairs()"].returns == "record"
    run_sql(db, "CREATE TABLE uses (n int);"
                "CREATE FUNCTION uses_rows() RETURNS TABLE(r uses) LANGUAGE plpgsql AS $$BEGIN RETURN; END$$;"
                "CREATE FUNCTION counts() RETURNS TABLE(n int) LANGUAGE sql AS $$SELECT 1$$;"
                "CREATE FUNCTION pairs() RETURNS TABLE(n int, m int) LANGUAGE sql AS $$SELECT 1, 2$$;")
    code, out, _ = run("diff", tmp_path / "spec.yaml", db)
    assert code == 0, out
