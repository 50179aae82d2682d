"""The acceptance test of the spine: spec -> render -> apply -> verify, then one drift at a time.

A spec using every object kind and attribute the catalog models is rendered and applied to a
database; ``pgspec verify`` must find nothing. Then each drift, applied to a fresh copy of that
database, must be reported as exactly that object and attribute, and nothing else: no missed
drift, no false difference. It runs on every available server (PostgreSQL 18 and 15).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pgspec.cli import main
from tests.pgserver import Server, dbname_of

TYPES = """\
schemas:
  app: {comment: application settings}

extensions:
  citext: {schema: public}
  hstore: {schema: public}

enums:
  status: [active, archived]
  member_role: {values: [owner, admin, member], comment: roles inside an account}

domains:
  email_address:
    type: public.citext
    checks: {email_address_check: "VALUE ~ '^[^@]+@[^@]+$'"}
    comment: an e-mail address
  positive_int:
    type: integer
    not_null: true
    default: 1
    checks: {positive_int_check: "VALUE > 0"}
  code_text: {type: text, collation: C}

composite_types:
  usage_totals:
    attributes: {users: integer, projects: bigint}
    comment: totals per account

sequences:
  invoice_number_seq:
    type: bigint
    start: 1000
    increment: 1
    min_value: 1000
    max_value: 99999999
    cache: 1
    cycle: false
    comment: invoice numbers
"""

TABLES = """\
tables:
  accounts:
    comment: tenant root
    columns:
      id: {type: uuid, primary_key: true, default: gen_random_uuid()}
      slug: {type: varchar(63), not_null: true, unique: true}
      name: {type: text, not_null: true, comment: display name}
      email: {type: email_address}
      status: {type: status, not_null: true, default: "'active'"}
      tier: {type: text, not_null: true, default: "'free'",
             check: "tier IN ('free', 'pro', 'enterprise')"}
      seq_no: {type: bigint, identity: always}
      search: {type: tsvector, generated: "to_tsvector('simple', name)"}
      code: {type: text, collation: C}
      settings: {type: hstore}
      max_users: {type: integer, not_null: true, default: 10}
      created_at: {type: timestamptz, not_null: true, default: now()}
      deleted_at: timestamptz
    unique:
      accounts_name_code_key: {columns: [name, code], nulls_not_distinct: true}
    checks:
      accounts_limits_check: "max_users >= 0"
    rls: {enabled: true, forced: true}
    policies:
      members_view:
        command: select
        roles: [pgspec_app_user]
        using: "id IN (SELECT account_id FROM members WHERE user_id = current_setting('app.user_id')::uuid)"
        comment: members see their accounts
      accounts_insert:
        command: insert
        permissive: false
        roles: [pgspec_app_admin, pgspec_app_user]
        with_check: "status = 'active'"
      accounts_update:
        command: update
        using: "true"
        with_check: "max_users >= 0"
    triggers:
      accounts_touch:
        timing: before
        events: [update]
        update_of: [name, slug]
        level: row
        when: "OLD.name IS DISTINCT FROM NEW.name"
        function: touch_updated
        comment: keeps names tidy
      accounts_audit:
        timing: after
        events: [insert, delete]
        level: statement
        function: audit_statement
        arguments: [accounts]
    indexes:
      idx_accounts_name_lower:
        columns: ["lower(name)", "created_at DESC NULLS LAST", {column: slug, opclass: text_pattern_ops}]
        where: "deleted_at IS NULL"
        include: [tier]
        comment: case-insensitive lookup
      idx_accounts_status: {columns: [status, created_at]}
      idx_accounts_code_unique: {columns: [code], unique: true, nulls_not_distinct: true}
      idx_accounts_settings: {columns: [settings], method: gin}
      idx_accounts_name_c: {columns: [{column: name, collation: C, order: desc, nulls: last}]}

  members:
    columns:
      account_id: {type: uuid, not_null: true}
      user_id: {type: uuid, not_null: true}
      role: {type: member_role, not_null: true, default: "'member'"}
      quota: {type: positive_int}
    primary_key: {name: members_pkey, columns: [account_id, user_id]}
    foreign_keys:
      members_account_id_fkey:
        columns: [account_id]
        references: accounts(id)
        on_delete: cascade
        on_update: no action
        match: simple
        deferrable: true
        initially_deferred: true

  invoices:
    columns:
      id: {type: bigint, primary_key: true, default: "nextval('invoice_number_seq')"}
      account_id: {type: uuid, not_null: true}
      amount: {type: "numeric(12,2)", not_null: true, default: 0}
      issued: {type: date, not_null: true, default: CURRENT_DATE}
    unique:
      invoices_account_id_issued_key: {columns: [account_id, issued], include: [amount]}
    foreign_keys:
      invoices_account_id_fkey:
        columns: [account_id]
        references: {table: accounts, columns: [id]}
        on_delete: restrict
        on_update: cascade
        match: full

  bookings:
    columns:
      id: {type: bigint, identity: by default, primary_key: true}
      room: {type: text, not_null: true}
      during: {type: tstzrange, not_null: true}
    exclude:
      bookings_no_overlap: "EXCLUDE USING gist (during WITH &&)"

  events:
    unlogged: false
    partition_by: "RANGE (created_at)"
    columns:
      id: {type: bigint, not_null: true}
      created_at: {type: timestamptz, not_null: true}
      payload: jsonb

  cache_entries:
    unlogged: true
    columns:
      key: {type: text, primary_key: true}
      value: jsonb
"""

ROUTINES = """\
functions:
  touch_updated:
    returns: trigger
    language: plpgsql
    comment: tidies names before an update
    body: |
      BEGIN
        NEW.name := trim(NEW.name);
        RETURN NEW;
      END
  audit_statement:
    returns: trigger
    security_definer: true
    set: {search_path: public}
    body: |
      BEGIN
        RETURN NULL;
      END
  add_numbers:
    arguments: ["a integer", {name: b, type: integer, default: "1"}]
    returns: integer
    language: sql
    volatility: immutable
    strict: true
    parallel: safe
    body: SELECT a + b
  is_positive:
    arguments: [{name: n, type: integer}]
    returns: boolean
    language: sql
    volatility: immutable
    leakproof: true
    body: SELECT n > 0
  accounts_with_status:
    arguments: [{name: p_status, type: status}]
    returns: SETOF accounts
    language: sql
    volatility: stable
    body: SELECT * FROM public.accounts WHERE status = p_status
  account_members:
    arguments: [{name: p_account, type: uuid}]
    returns: {table: {member_id: uuid, member_role: text}}
    volatility: stable
    parallel: restricted
    body: |
      BEGIN
        RETURN QUERY SELECT m.user_id, m.role::text FROM public.members m WHERE m.account_id = p_account;
      END
  sum_all:
    arguments: [{name: nums, type: "integer[]", mode: variadic}]
    returns: bigint
    language: sql
    volatility: immutable
    body: SELECT sum(x) FROM unnest(nums) AS x
  split_name:
    arguments:
      - {name: full_name, type: text}
      - {name: first_name, type: text, mode: out}
      - {name: last_name, type: text, mode: out}
    returns: record
    language: sql
    volatility: immutable
    body: SELECT split_part(full_name, ' ', 1), split_part(full_name, ' ', 2)

procedures:
  archive_account:
    arguments: [{name: p_id, type: uuid}]
    comment: archives one account
    body: |
      BEGIN
        UPDATE public.accounts SET status = 'archived' WHERE id = p_id;
      END
"""

VIEWS = """\
views:
  active_accounts:
    query: SELECT id, name, status FROM accounts WHERE deleted_at IS NULL
    options: {security_invoker: true, security_barrier: true}
    comment: accounts in use
  account_names:
    query: SELECT id, name FROM accounts WHERE status = 'active'
    options: {check_option: local}

materialized_views:
  account_usage:
    query: SELECT account_id, count(*) AS members FROM members GROUP BY account_id
    with_data: true
    comment: members per account

indexes:
  idx_account_usage: {table: account_usage, columns: [account_id], unique: true}
"""

APP = """\
schema: app
enums:
  log_level: [debug, info, warn]
tables:
  settings:
    comment: one row of settings
    columns:
      id: {type: integer, primary_key: true, default: 1, check: "id = 1"}
      level: {type: log_level, not_null: true, default: "'info'"}
"""

SPEC_FILES = {
    "types.yaml": TYPES,
    "tables.yaml": TABLES,
    "routines.yaml": ROUTINES,
    "views.yaml": VIEWS,
    "app.yaml": APP,
}

#: Roles the policies name; roles are per cluster, so they are created once per server.
ROLES = """\
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgspec_app_user') THEN
    CREATE ROLE pgspec_app_user NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgspec_app_admin') THEN
    CREATE ROLE pgspec_app_admin NOLOGIN;
  END IF;
END $$;
"""


@pytest.fixture(scope="session")
def spec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("drift") / "schema"
    directory.mkdir()
    for name, text in SPEC_FILES.items():
        (directory / name).write_text(text)
    return directory


_templates: dict[str, str] = {}


def _template(server: Server, spec: Path) -> str:
    """A database built from the rendered spec, once per server, cloned by every test."""
    if server.dsn not in _templates:
        from pgspec.render import render
        from pgspec.sources.spec import load_spec

        ddl = spec.parent / "rendered.sql"
        ddl.write_text(render(load_spec(str(spec))))
        name = "pgspec_drift_template"
        server.drop_database(name)
        dsn = server.create_database(name=name)
        server.execute(dsn, ROLES)
        server.psql_file(dsn, ddl)
        _templates[server.dsn] = name
    return _templates[server.dsn]


@pytest.fixture
def fresh(any_pg: Server, spec_dir: Path) -> Iterator[Callable[[], str]]:
    """``fresh()`` -> the DSN of a new copy of the applied spec on the server under test."""
    made: list[str] = []

    def make() -> str:
        dsn = any_pg.create_database(template=_template(any_pg, spec_dir))
        made.append(dsn)
        return dsn

    yield make
    for dsn in made:
        any_pg.drop_database(dbname_of(dsn))


def verify(spec: Path, dsn: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["verify", "--spec", str(spec), "--dsn", dsn, "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, json.loads(out)


def found(report: dict) -> list[tuple[str, str, str, str | None]]:
    return [(d["object_type"], d["name"], d["change"], d["attribute"]) for d in report["differences"]]


def test_applied_spec_verifies_clean(spec_dir: Path, fresh: Callable[[], str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, report = verify(spec_dir, fresh(), capsys)
    assert found(report) == []
    assert (code, report["status"]) == (0, "match")


@dataclass(frozen=True)
class Drift:
    id: str
    sql: str
    expect: list[tuple[str, str, str, str | None]]
    #: Oldest server version (``server_version_num``) that can make this change.
    min_version: int = 0


def changed(object_type: str, name: str, attribute: str) -> tuple[str, str, str, str]:
    return (object_type, name, "changed", attribute)


DRIFTS = [
    Drift("column-default", "ALTER TABLE accounts ALTER COLUMN tier SET DEFAULT 'pro'",
          [changed("column", "public.accounts.tier", "default")]),
    Drift("column-type", "ALTER TABLE invoices ALTER COLUMN amount TYPE numeric(14,2)",
          [changed("column", "public.invoices.amount", "type")]),
    Drift("column-not-null", "ALTER TABLE accounts ALTER COLUMN deleted_at SET NOT NULL",
          [changed("column", "public.accounts.deleted_at", "not_null")]),
    Drift("column-collation", 'ALTER TABLE accounts ALTER COLUMN code TYPE text COLLATE "POSIX"',
          [changed("column", "public.accounts.code", "collation")]),
    Drift("column-identity", "ALTER TABLE accounts ALTER COLUMN seq_no SET GENERATED BY DEFAULT",
          [changed("column", "public.accounts.seq_no", "identity")]),
    Drift("column-generated", "ALTER TABLE accounts ALTER COLUMN search SET EXPRESSION AS "
          "(to_tsvector('english', name))",
          [changed("column", "public.accounts.search", "generated")], min_version=170000),
    Drift("column-comment", "COMMENT ON COLUMN accounts.name IS 'the name'",
          [changed("column", "public.accounts.name", "comment")]),
    Drift("column-added", "ALTER TABLE accounts ADD COLUMN extra text",
          [("column", "public.accounts.extra", "unexpected", None)]),
    Drift("column-dropped", "ALTER TABLE members DROP COLUMN quota",
          [("column", "public.members.quota", "missing", None)]),
    Drift("check-expression", "ALTER TABLE accounts DROP CONSTRAINT accounts_limits_check, "
          "ADD CONSTRAINT accounts_limits_check CHECK (max_users > 0)",
          [changed("constraint", "public.accounts.accounts_limits_check", "expression")]),
    Drift("fk-on-delete", "ALTER TABLE members DROP CONSTRAINT members_account_id_fkey, "
          "ADD CONSTRAINT members_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id) "
          "ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED",
          [changed("constraint", "public.members.members_account_id_fkey", "on_delete")]),
    Drift("fk-initially-immediate",
          "ALTER TABLE members ALTER CONSTRAINT members_account_id_fkey DEFERRABLE INITIALLY IMMEDIATE",
          [changed("constraint", "public.members.members_account_id_fkey", "initially_deferred")]),
    Drift("unique-constraint-dropped", "ALTER TABLE accounts DROP CONSTRAINT accounts_slug_key",
          [("constraint", "public.accounts.accounts_slug_key", "missing", None)]),
    Drift("constraint-renamed",
          "ALTER TABLE accounts RENAME CONSTRAINT accounts_limits_check TO accounts_max_users_check",
          [("constraint", "public.accounts.accounts_limits_check", "missing", None),
           ("constraint", "public.accounts.accounts_max_users_check", "unexpected", None)]),
    Drift("index-predicate", "DROP INDEX idx_accounts_name_lower; CREATE INDEX idx_accounts_name_lower ON "
          "accounts (lower(name), created_at DESC NULLS LAST, slug text_pattern_ops) INCLUDE (tier) "
          "WHERE deleted_at IS NOT NULL; COMMENT ON INDEX idx_accounts_name_lower IS 'case-insensitive lookup'",
          [changed("index", "public.idx_accounts_name_lower", "where")]),
    Drift("index-column-order", "DROP INDEX idx_accounts_status; "
          "CREATE INDEX idx_accounts_status ON accounts (created_at, status)",
          [changed("index", "public.idx_accounts_status", "keys")]),
    Drift("index-unique-to-plain", "DROP INDEX idx_account_usage; "
          "CREATE INDEX idx_account_usage ON account_usage (account_id)",
          [changed("index", "public.idx_account_usage", "unique")]),
    Drift("index-dropped", "DROP INDEX idx_accounts_settings",
          [("index", "public.idx_accounts_settings", "missing", None)]),
    Drift("index-added", "CREATE INDEX idx_extra ON members (role)",
          [("index", "public.idx_extra", "unexpected", None)]),
    Drift("view-body", "CREATE OR REPLACE VIEW account_names WITH (check_option = local) AS "
          "SELECT id, name FROM accounts WHERE status = 'archived'",
          [changed("view", "public.account_names", "query")]),
    Drift("view-option", "ALTER VIEW active_accounts RESET (security_barrier)",
          [changed("view", "public.active_accounts", "options")]),
    Drift("materialized-view-no-data", "REFRESH MATERIALIZED VIEW account_usage WITH NO DATA",
          [changed("materialized_view", "public.account_usage", "with_data")]),
    Drift("enum-value-added", "ALTER TYPE status ADD VALUE 'deleted'",
          [changed("enum", "public.status", "values")]),
    Drift("domain-check-added", "ALTER DOMAIN positive_int ADD CONSTRAINT positive_int_max CHECK (VALUE < 1000)",
          [changed("domain", "public.positive_int", "checks")]),
    Drift("domain-default", "ALTER DOMAIN positive_int SET DEFAULT 2",
          [changed("domain", "public.positive_int", "default")]),
    Drift("composite-attribute-added", "ALTER TYPE usage_totals ADD ATTRIBUTE extra integer",
          [changed("composite_type", "public.usage_totals", "attributes")]),
    Drift("sequence-increment", "ALTER SEQUENCE invoice_number_seq INCREMENT BY 5",
          [changed("sequence", "public.invoice_number_seq", "increment")]),
    Drift("function-body", "CREATE OR REPLACE FUNCTION touch_updated() RETURNS trigger LANGUAGE plpgsql "
          "AS $$ BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$",
          [changed("function", "public.touch_updated()", "body")]),
    Drift("function-volatility", "ALTER FUNCTION add_numbers(integer, integer) STABLE",
          [changed("function", "public.add_numbers(integer, integer)", "volatility")]),
    Drift("function-strict", "ALTER FUNCTION add_numbers(integer, integer) CALLED ON NULL INPUT",
          [changed("function", "public.add_numbers(integer, integer)", "strict")]),
    Drift("function-parallel", "ALTER FUNCTION add_numbers(integer, integer) PARALLEL UNSAFE",
          [changed("function", "public.add_numbers(integer, integer)", "parallel")]),
    Drift("function-leakproof", "ALTER FUNCTION is_positive(integer) NOT LEAKPROOF",
          [changed("function", "public.is_positive(integer)", "leakproof")]),
    Drift("function-security-definer", "ALTER FUNCTION audit_statement() SECURITY INVOKER",
          [changed("function", "public.audit_statement()", "security_definer")]),
    Drift("function-search-path", "ALTER FUNCTION audit_statement() SET search_path = pg_catalog",
          [changed("function", "public.audit_statement()", "config")]),
    Drift("function-added", "CREATE FUNCTION public.extra() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
          [("function", "public.extra()", "unexpected", None)]),
    Drift("procedure-body", "CREATE OR REPLACE PROCEDURE archive_account(p_id uuid) LANGUAGE plpgsql AS $$ "
          "BEGIN DELETE FROM public.accounts WHERE id = p_id; END $$",
          [changed("procedure", "public.archive_account(uuid)", "body")]),
    Drift("trigger-events", "CREATE OR REPLACE TRIGGER accounts_audit AFTER INSERT ON accounts "
          "FOR EACH STATEMENT EXECUTE FUNCTION audit_statement('accounts')",
          [changed("trigger", "public.accounts.accounts_audit", "events")]),
    Drift("trigger-when", "CREATE OR REPLACE TRIGGER accounts_touch BEFORE UPDATE OF name, slug ON accounts "
          "FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug) EXECUTE FUNCTION touch_updated()",
          [changed("trigger", "public.accounts.accounts_touch", "when")]),
    Drift("trigger-dropped", "DROP TRIGGER accounts_audit ON accounts",
          [("trigger", "public.accounts.accounts_audit", "missing", None)]),
    Drift("rls-disabled", "ALTER TABLE accounts DISABLE ROW LEVEL SECURITY",
          [changed("rls", "public.accounts", "enabled")]),
    Drift("rls-not-forced", "ALTER TABLE accounts NO FORCE ROW LEVEL SECURITY",
          [changed("rls", "public.accounts", "forced")]),
    Drift("policy-using", "ALTER POLICY accounts_update ON accounts USING (false)",
          [changed("policy", "public.accounts.accounts_update", "using")]),
    Drift("policy-roles", "ALTER POLICY members_view ON accounts TO pgspec_app_admin",
          [changed("policy", "public.accounts.members_view", "roles")]),
    Drift("policy-command", "DROP POLICY accounts_update ON accounts; CREATE POLICY accounts_update ON accounts "
          "FOR ALL USING (true) WITH CHECK (max_users >= 0)",
          [changed("policy", "public.accounts.accounts_update", "command")]),
    Drift("policy-dropped", "DROP POLICY accounts_insert ON accounts",
          [("policy", "public.accounts.accounts_insert", "missing", None)]),
    Drift("table-comment", "COMMENT ON TABLE accounts IS 'changed'",
          [changed("table", "public.accounts", "comment")]),
    Drift("schema-comment", "COMMENT ON SCHEMA app IS 'changed'",
          [changed("schema", "app", "comment")]),
    Drift("table-dropped", "DROP TABLE app.settings",
          [("table", "app.settings", "missing", None)]),
    Drift("table-added", "CREATE TABLE app.extra (id integer)",
          [("table", "app.extra", "unexpected", None)]),
    Drift("table-logged", "ALTER TABLE cache_entries SET LOGGED",
          [changed("table", "public.cache_entries", "unlogged")]),
]


@pytest.mark.parametrize("drift", DRIFTS, ids=[d.id for d in DRIFTS])
def test_single_drift_is_reported_exactly(drift: Drift, any_pg: Server, spec_dir: Path,
                                          fresh: Callable[[], str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    if any_pg.version < drift.min_version:
        pytest.skip(f"PostgreSQL {any_pg.version // 10000} cannot make this change "
                    f"(needs {drift.min_version // 10000})")
    dsn = fresh()
    any_pg.execute(dsn, drift.sql)
    code, report = verify(spec_dir, dsn, capsys)
    assert found(report) == drift.expect
    assert (code, report["status"]) == (1, "drift")
