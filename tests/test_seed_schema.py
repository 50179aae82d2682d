"""The seed's testing checklist, automated against a real server.

The team's summary of their production database ("Testing the New Scripts") asks for five
checks: creation, functions, constraints, row-level security and performance, plus its three
monitoring queries. Each test gets a fresh copy (``CREATE DATABASE ... TEMPLATE``) of one
module-wide template holding the Supabase stand-in and the rendered spec, so tests are
independent and the spec is applied once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from pgspec.render import render
from pgspec.sources.spec import load_spec
from tests.pgserver import Server, dbname_of

ROOT = Path(__file__).resolve().parent.parent
STUB = ROOT / "fixtures" / "supabase_stub.sql"

TABLES = {
    "accounts", "users", "account_users", "projects", "workspaces", "workspace_users",
    "project_users", "connections", "datasets", "columns", "lineage", "diagrams",
    "diagram_datasets", "workspace_datasets", "subscription_plans", "subscriptions", "payments",
    "usage_events", "invitations", "api_tokens", "audit_logs", "configurations", "environments",
    "macros", "templates", "template_fragments", "connection_metadata_cache",
    "source_control_commits",
}
SOFT_DELETABLE = {
    "accounts", "users", "projects", "workspaces", "connections", "datasets", "columns",
    "configurations", "environments", "invitations", "macros", "templates",
}
RLS_TABLES = {
    "account_users", "users", "invitations", "api_tokens", "connections",
    "connection_metadata_cache", "diagrams", "diagram_datasets",
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def seed_template(pg: Server) -> Iterator[str]:
    """A template database: the stand-in, then the spec as `pgspec render` prints it."""
    name = f"seed_tpl_{uuid.uuid4().hex[:10]}"
    dsn = pg.create_database(name=name)
    try:
        pg.execute(dsn, STUB.read_text())
        pg.execute(dsn, render(load_spec(str(ROOT / "schema"))))
        yield name
    finally:
        pg.drop_database(name)


@pytest.fixture
def conn(pg: Server, seed_template: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection (autocommit, superuser) to a fresh copy of the seeded template."""
    dsn = pg.create_database(template=seed_template)
    try:
        with psycopg.connect(dsn, autocommit=True) as connection:
            yield connection
    finally:
        pg.drop_database(dbname_of(dsn))


def one(conn: psycopg.Connection[Any], query: str, params: Any = None) -> Any:
    """The single value a query returns."""
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def new_user(conn: psycopg.Connection[Any], email: str, full_name: str = "Ada") -> uuid.UUID:
    """Sign a user up the way Supabase does: a row in auth.users (handle_new_user does the rest)."""
    uid = uuid.uuid4()
    conn.execute(
        "INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES (%s, %s, %s)",
        (uid, email, json.dumps({"full_name": full_name})),
    )
    return uid


def new_account(conn: psycopg.Connection[Any], owner: uuid.UUID, slug: str, **limits: int) -> uuid.UUID:
    """An account with its owner as active member; ``limits`` override max_* columns."""
    account = one(conn, "INSERT INTO accounts (name, slug, owner_id) VALUES (%s, %s, %s) RETURNING id",
                  (slug.title(), slug, owner))
    for column, value in limits.items():
        conn.execute(psycopg.sql.SQL("UPDATE accounts SET {} = %s WHERE id = %s").format(
            psycopg.sql.Identifier(column)), (value, account))
    conn.execute("INSERT INTO account_users (account_id, user_id, role) VALUES (%s, %s, 'owner')",
                 (account, owner))
    return account


def new_project(conn: psycopg.Connection[Any], account: uuid.UUID, owner: uuid.UUID, name: str = "dwh") -> uuid.UUID:
    return one(conn, "INSERT INTO projects (account_id, name, owner_id) VALUES (%s, %s, %s) RETURNING id",
               (account, name, owner))


def new_workspace(conn: psycopg.Connection[Any], account: uuid.UUID, project: uuid.UUID,
                  owner: uuid.UUID, name: str = "main") -> uuid.UUID:
    return one(conn, "INSERT INTO workspaces (account_id, project_id, name, owner_id) VALUES (%s, %s, %s, %s) "
               "RETURNING id", (account, project, name, owner))


def new_connection(conn: psycopg.Connection[Any], account: uuid.UUID, name: str = "warehouse",
                   database: str = "analytics") -> uuid.UUID:
    return one(conn, "INSERT INTO connections (account_id, name, connection_type, database_name, password_encrypted) "
               "VALUES (%s, %s, 'snowflake', %s, 'enc:xyz') RETURNING id", (account, name, database))


def new_dataset(conn: psycopg.Connection[Any], account: uuid.UUID, name: str, *, connection: uuid.UUID | None = None,
                project: uuid.UUID | None = None, schema: str = "raw") -> uuid.UUID:
    return one(conn, "INSERT INTO datasets (account_id, connection_id, project_id, schema_name, name) "
               "VALUES (%s, %s, %s, %s, %s) RETURNING id", (account, connection, project, schema, name))


def new_column(conn: psycopg.Connection[Any], dataset: uuid.UUID, name: str, position: int) -> uuid.UUID:
    return one(conn, "INSERT INTO columns (dataset_id, name, data_type, ordinal_position) VALUES (%s, %s, 'text', %s) "
               "RETURNING id", (dataset, name, position))


def new_token(conn: psycopg.Connection[Any], account: uuid.UUID, user: uuid.UUID, *,
              expires: str | None = None) -> tuple[uuid.UUID, str]:
    """A token as the backend issues one: generated, stored hashed; returns (id, plaintext)."""
    token = one(conn, "SELECT generate_api_token()")
    token_id = one(
        conn,
        "INSERT INTO api_tokens (account_id, user_id, name, token_hash, token_prefix, scopes, expires_at) "
        "VALUES (%s, %s, 'ci', hash_api_token(%s), left(%s, 12), '[\"datasets:read\"]', "
        "now() + %s::interval) RETURNING id",
        (account, user, token, token, expires),
    )
    return token_id, token


def counters(conn: psycopg.Connection[Any], account: uuid.UUID) -> tuple[int, int, int]:
    row = conn.execute("SELECT current_user_count, current_project_count, current_dataset_count "
                       "FROM accounts WHERE id = %s", (account,)).fetchone()
    assert row is not None
    return row


@contextmanager
def as_user(conn: psycopg.Connection[Any], user: uuid.UUID, email: str = "") -> Iterator[None]:
    """Run as Supabase runs an API request: role authenticated, the JWT's claims in settings.

    Both spellings are set (request.jwt.claim.sub for older PostgREST, request.jwt.claims for
    newer), inside a transaction that is rolled back afterwards.
    """
    claims = json.dumps({"sub": str(user), "email": email, "role": "authenticated"})
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL role authenticated")
        conn.execute("SELECT set_config('request.jwt.claim.sub', %s, true), "
                     "set_config('request.jwt.claims', %s, true)", (str(user), claims))
        yield


@pytest.fixture
def tenant(conn: psycopg.Connection[Any]) -> dict[str, uuid.UUID]:
    """One tenant with a project, a workspace, a connection, two datasets with columns."""
    owner = new_user(conn, "owner@acme.test")
    account = new_account(conn, owner, "acme")
    project = new_project(conn, account, owner)
    workspace = new_workspace(conn, account, project, owner)
    connection = new_connection(conn, account)
    orders = new_dataset(conn, account, "orders", connection=connection, project=project)
    customers = new_dataset(conn, account, "customers", connection=connection, project=project)
    for i, name in enumerate(["id", "customer_id", "total"], start=1):
        new_column(conn, orders, name, i)
    new_column(conn, customers, "id", 1)
    return {"owner": owner, "account": account, "project": project, "workspace": workspace,
            "connection": connection, "orders": orders, "customers": customers}


# --------------------------------------------------------------------------- (1) creation


def test_all_tables_views_and_enums_exist(conn: psycopg.Connection[Any]) -> None:
    tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == TABLES
    views = {r[0] for r in conn.execute("SELECT viewname FROM pg_views WHERE schemaname = 'public'")}
    assert views == {f"{t}_active" for t in SOFT_DELETABLE}
    enums = dict(conn.execute(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
        "JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'public' GROUP BY t.typname").fetchall())
    assert enums["source_control_provider"] == ["github", "gitlab", "bitbucket", "azure"]
    assert enums["source_control_connection_status"] == ["not_connected", "connected", "error", "pending"]
    assert enums["project_type"] == ["data_vault", "dimensional", "standard"]
    # enum types are singular (the seed's naming convention)
    assert set(enums) == {
        "source_control_provider", "source_control_connection_status", "project_type", "subscription_tier",
        "member_role", "sync_status", "visibility", "connection_type", "dataset_type", "subscription_status",
        "payment_status", "invitation_status"}


def test_every_table_carries_the_conventions(conn: psycopg.Connection[Any]) -> None:
    columns: dict[str, set[str]] = {}
    for table, column in conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                                      "WHERE table_schema = 'public' AND table_name = ANY(%s)", (list(TABLES),)):
        columns.setdefault(table, set()).add(column)
    for table in TABLES:
        assert {"created_at", "updated_at", "created_by", "updated_by"} <= columns[table], table
        assert ({"deleted_at", "deleted_by"} <= columns[table]) == (table in SOFT_DELETABLE), table
    triggers = {r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = 'update_updated_at_column'")}
    assert triggers == TABLES
    # The active views list their columns and keep RLS (security_invoker).
    for view, options in conn.execute("SELECT relname, reloptions FROM pg_class WHERE relkind = 'v' "
                                      "AND relnamespace = 'public'::regnamespace"):
        assert options == ["security_invoker=true"], view


def test_rls_is_on_exactly_the_sensitive_tables(conn: psycopg.Connection[Any]) -> None:
    enabled = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                          "AND rowsecurity")}
    assert enabled == RLS_TABLES
    policies = {(r[0], r[1]) for r in conn.execute("SELECT tablename, policyname FROM pg_policies")}
    assert ("account_users", "Users can view account members") in policies
    assert ("connections", "connections_isolation_policy") in policies
    assert {t for t, _ in policies} == RLS_TABLES


def test_every_foreign_key_has_an_index(conn: psycopg.Connection[Any]) -> None:
    """Deleting a parent scans the child by its key: a full (non-partial) index must lead with it."""
    missing = conn.execute("""
        SELECT c.conrelid::regclass::text, c.conname
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
           AND NOT EXISTS (
               SELECT 1 FROM pg_index i
                WHERE i.indrelid = c.conrelid AND i.indpred IS NULL
                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)
    """).fetchall()
    assert missing == []


def test_security_definer_functions_pin_search_path(conn: psycopg.Connection[Any]) -> None:
    unpinned = conn.execute(
        "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prosecdef "
        "AND NOT coalesce(proconfig::text[] && ARRAY['search_path=public'], false)").fetchall()
    assert unpinned == []
    definers = {r[0] for r in conn.execute("SELECT proname FROM pg_proc WHERE prosecdef "
                                           "AND pronamespace = 'public'::regnamespace")}
    assert {"user_account_ids", "handle_new_user", "validate_api_token"} <= definers


def test_handle_new_user_creates_the_profile(conn: psycopg.Connection[Any]) -> None:
    uid = new_user(conn, "grace@example.test", "Grace Hopper")
    row = conn.execute("SELECT email, full_name, is_email_verified FROM users WHERE id = %s", (uid,)).fetchone()
    assert row == ("grace@example.test", "Grace Hopper", False)


# --------------------------------------------------------------------------- (2) functions


def test_soft_delete_restore_and_permanent_delete(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    orders, owner = tenant["orders"], tenant["owner"]
    assert one(conn, "SELECT soft_delete('datasets', %s, %s)", (orders, owner)) is True
    assert one(conn, "SELECT soft_delete('datasets', %s, %s)", (orders, owner)) is False
    assert one(conn, "SELECT deleted_by FROM datasets WHERE id = %s", (orders,)) == owner
    assert one(conn, "SELECT count(*) FROM datasets_active WHERE id = %s", (orders,)) == 0
    assert one(conn, "SELECT restore_deleted('datasets', %s)", (orders,)) is True
    assert one(conn, "SELECT restore_deleted('datasets', %s)", (orders,)) is False
    assert one(conn, "SELECT count(*) FROM datasets_active WHERE id = %s", (orders,)) == 1
    # Only a soft-deleted row can be deleted for good.
    assert one(conn, "SELECT permanent_delete('datasets', %s)", (orders,)) is False
    one(conn, "SELECT soft_delete('datasets', %s)", (orders,))
    assert one(conn, "SELECT permanent_delete('datasets', %s)", (orders,)) is True
    assert one(conn, "SELECT count(*) FROM datasets WHERE id = %s", (orders,)) == 0
    assert one(conn, "SELECT count(*) FROM columns WHERE dataset_id = %s", (orders,)) == 0


@pytest.mark.parametrize("days, expected", [(30, 3), (60, 2), (90, 1)])
def test_cleanup_removes_exactly_the_rows_deleted_longer_ago(
    conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID], days: int, expected: int
) -> None:
    ages = {"d20": 20, "d45": 45, "d75": 75, "d100": 100}
    for name, age in ages.items():
        dataset = new_dataset(conn, tenant["account"], name)
        conn.execute("UPDATE datasets SET deleted_at = now() - make_interval(days => %s) WHERE id = %s",
                     (age, dataset))
    assert one(conn, "SELECT cleanup_soft_deleted_records('datasets', %s)", (days,)) == expected
    left = {r[0] for r in conn.execute("SELECT name FROM datasets WHERE deleted_at IS NOT NULL")}
    assert left == {name for name, age in ages.items() if age <= days}
    assert one(conn, "SELECT count(*) FROM datasets WHERE deleted_at IS NULL") == 2


def test_cleanup_of_every_table_and_bad_arguments(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    conn.execute("UPDATE columns SET deleted_at = now() - interval '100 days' WHERE dataset_id = %s",
                 (tenant["customers"],))
    conn.execute("UPDATE macros SET deleted_at = now() - interval '100 days'")
    assert one(conn, "SELECT cleanup_soft_deleted_records(NULL, 90)") == 1
    with pytest.raises(errors.InvalidParameterValue):
        conn.execute("SELECT cleanup_soft_deleted_records('datasets', -1)")
    with pytest.raises(errors.InvalidParameterValue):
        conn.execute("SELECT cleanup_soft_deleted_records('audit_logs', 30)")


def test_cascading_account_delete_reaches_every_child_and_restores(
    conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]
) -> None:
    account, owner = tenant["account"], tenant["owner"]
    conn.execute("INSERT INTO configurations (account_id, project_id, workspace_id, config_type, name) "
                 "VALUES (%s, %s, %s, 'general', 'defaults')", (account, tenant["project"], tenant["workspace"]))
    conn.execute("INSERT INTO environments (account_id, name) VALUES (%s, 'prod')", (account,))
    conn.execute("INSERT INTO invitations (account_id, email, token_hash) VALUES (%s, 'bob@acme.test', "
                 "hash_api_token('invite'))", (account,))
    conn.execute("INSERT INTO macros (account_id, name, content) VALUES (%s, 'hash_key', '{{ x }}')", (account,))
    conn.execute("INSERT INTO templates (account_id, name, template_type, content) VALUES (%s, 'hub', 'ddl', '')",
                 (account,))
    new_token(conn, account, owner)

    result = one(conn, "SELECT soft_delete_account(%s, %s)", (account, owner))
    assert result == {"accounts": 1, "columns": 4, "datasets": 2, "configurations": 1, "environments": 1,
                      "workspaces": 1, "projects": 1, "connections": 1, "invitations": 1, "macros": 1,
                      "templates": 1, "api_tokens_revoked": 1}
    for table in SOFT_DELETABLE - {"users"}:
        assert one(conn, f"SELECT count(*) FROM {table}_active") == 0, table
    assert counters(conn, account)[1:] == (0, 0)

    assert one(conn, "SELECT restore_deleted('accounts', %s)", (account,)) is True
    for table in SOFT_DELETABLE - {"users"}:
        assert one(conn, f"SELECT count(*) FROM {table} WHERE deleted_at IS NOT NULL") == 0, table
    assert counters(conn, account)[1:] == (1, 2)
    # Revoked tokens stay revoked: a restore must not revive credentials.
    assert one(conn, "SELECT bool_or(is_active) FROM api_tokens") is False


def test_cascading_project_and_dataset_deletes(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    account, owner = tenant["account"], tenant["owner"]
    diagram = one(conn, "INSERT INTO diagrams (account_id, workspace_id, name) VALUES (%s, %s, 'raw') RETURNING id",
                  (account, tenant["workspace"]))
    one(conn, "SELECT add_dataset_to_diagram(%s, %s, '{\"x\": 10, \"y\": 20}', %s)", (diagram, tenant["orders"], owner))
    assert one(conn, "SELECT soft_delete_dataset(%s, %s)", (tenant["orders"], owner)) == {
        "datasets": 1, "columns": 3, "diagram_datasets": 1, "workspace_datasets": 0}
    assert one(conn, "SELECT soft_delete_project(%s, %s)", (tenant["project"], owner)) == {
        "projects": 1, "columns": 1, "datasets": 1, "configurations": 0, "environments": 0, "macros": 0,
        "workspaces": 1}
    assert one(conn, "SELECT count(*) FROM datasets_active") == 0
    assert counters(conn, account) == (1, 0, 0)
    with pytest.raises(errors.NoDataFound):
        conn.execute("SELECT soft_delete_project(%s)", (uuid.uuid4(),))


def test_usage_counters_follow_rows(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    account = tenant["account"]
    assert counters(conn, account) == (1, 1, 2)
    member = new_user(conn, "member@acme.test")
    conn.execute("INSERT INTO account_users (account_id, user_id) VALUES (%s, %s)", (account, member))
    extra = new_dataset(conn, account, "extra")
    assert counters(conn, account) == (2, 1, 3)
    one(conn, "SELECT soft_delete('datasets', %s)", (extra,))
    one(conn, "SELECT soft_delete('users', %s)", (member,))
    assert counters(conn, account) == (1, 1, 2)
    one(conn, "SELECT restore_deleted('users', %s)", (member,))
    conn.execute("UPDATE account_users SET is_active = false WHERE user_id = %s", (member,))
    conn.execute("DELETE FROM datasets WHERE id = %s", (tenant["customers"],))
    assert counters(conn, account) == (1, 1, 1)


def test_limits_reject_rows_beyond_them(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    conn.execute("UPDATE accounts SET max_datasets = 2, max_monthly_ai_requests = 3 WHERE id = %s",
                 (tenant["account"],))
    with pytest.raises(errors.CheckViolation, match="dataset limit"):
        new_dataset(conn, tenant["account"], "one_too_many")
    assert one(conn, "SELECT increment_usage_counter(%s, 'ai_requests', 2)", (tenant["account"],)) is True
    assert one(conn, "SELECT increment_usage_counter(%s, 'ai_requests', 2)", (tenant["account"],)) is False
    assert one(conn, "SELECT decrement_usage_counter(%s, 'ai_requests', 5)", (tenant["account"],)) is True
    assert one(conn, "SELECT current_monthly_ai_requests FROM accounts WHERE id = %s", (tenant["account"],)) == 0
    with pytest.raises(errors.InvalidParameterValue):
        conn.execute("SELECT increment_usage_counter(%s, 'gpus', 1)", (tenant["account"],))


def test_sync_repairs_skewed_counters(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    account = tenant["account"]
    one(conn, "SELECT increment_usage_counter(%s, 'ai_requests', 7)", (account,))
    conn.execute("UPDATE accounts SET current_dataset_count = 42, current_user_count = 0, "
                 "current_monthly_ai_requests = 99 WHERE id = %s", (account,))
    usage = conn.execute("SELECT * FROM calculate_account_usage(%s)", (account,)).fetchone()
    assert usage == (1, 1, 2, 7, 0)
    assert one(conn, "SELECT sync_usage_counters(%s)", (account,)) is True
    assert counters(conn, account) == (1, 1, 2)
    assert one(conn, "SELECT current_monthly_ai_requests FROM accounts WHERE id = %s", (account,)) == 7
    assert one(conn, "SELECT sync_usage_counters(%s)", (uuid.uuid4(),)) is False


def test_validate_api_token(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    account, owner = tenant["account"], tenant["owner"]
    token_id, token = new_token(conn, account, owner, expires="30 days")
    assert token.startswith("pat_") and len(token) == 68
    assert one(conn, "SELECT hash_api_token(%s)", (token,)) == hashlib.sha256(token.encode()).hexdigest()

    row = conn.execute("SELECT * FROM validate_api_token(%s, '203.0.113.7', 'ci-bot/1.0')", (token,)).fetchone()
    assert row == (token_id, account, owner, ["datasets:read"], True, None)
    used = conn.execute("SELECT last_used_at IS NOT NULL, host(last_used_ip), last_used_user_agent, usage_count "
                        "FROM api_tokens WHERE id = %s", (token_id,)).fetchone()
    assert used == (True, "203.0.113.7", "ci-bot/1.0", 1)

    def verdict(presented: str) -> tuple[bool, str]:
        found = conn.execute("SELECT is_valid, error FROM validate_api_token(%s)", (presented,)).fetchone()
        assert found is not None
        return found

    assert verdict("pat_" + "0" * 64) == (False, "invalid_token")
    assert verdict("") == (False, "invalid_token")
    _, expired = new_token(conn, account, owner, expires="-1 minute")
    assert verdict(expired) == (False, "token_expired")
    conn.execute("UPDATE api_tokens SET is_active = false, revoked_at = now() WHERE id = %s", (token_id,))
    assert verdict(token) == (False, "token_revoked")
    assert one(conn, "SELECT usage_count FROM api_tokens WHERE id = %s", (token_id,)) == 1


def test_dataset_fqn_and_owner_triggers(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    assert one(conn, "SELECT fqn FROM datasets WHERE id = %s", (tenant["orders"],)) == "analytics.raw.orders"
    assert one(conn, "SELECT get_dataset_fqn(NULL, 'raw', 'x')") == "raw.x"
    conn.execute("UPDATE connections SET database_name = 'prod' WHERE id = %s", (tenant["connection"],))
    conn.execute("UPDATE datasets SET schema_name = 'staging' WHERE id = %s", (tenant["customers"],))
    fqns = {r[0] for r in conn.execute("SELECT fqn FROM datasets")}
    assert fqns == {"prod.raw.orders", "prod.staging.customers"}
    # The creator (from the JWT) becomes the owner.
    conn.execute("SELECT set_config('request.jwt.claim.sub', %s, false)", (str(tenant["owner"]),))
    made = new_dataset(conn, tenant["account"], "made_by_me")
    assert conn.execute("SELECT owner_id, created_by FROM datasets WHERE id = %s", (made,)).fetchone() == (
        tenant["owner"], tenant["owner"])


def test_owners_become_members(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    owner = tenant["owner"]
    assert one(conn, "SELECT role FROM project_users WHERE project_id = %s AND user_id = %s",
               (tenant["project"], owner)) == "owner"
    assert one(conn, "SELECT role FROM workspace_users WHERE workspace_id = %s AND user_id = %s",
               (tenant["workspace"], owner)) == "owner"
    successor = new_user(conn, "next@acme.test")
    conn.execute("UPDATE projects SET owner_id = %s WHERE id = %s", (successor, tenant["project"]))
    roles = dict(conn.execute("SELECT user_id, role::text FROM project_users WHERE project_id = %s",
                              (tenant["project"],)).fetchall())
    assert roles == {owner: "admin", successor: "owner"}


def test_diagram_functions(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    account, owner = tenant["account"], tenant["owner"]
    diagram = one(conn, "INSERT INTO diagrams (account_id, workspace_id, name) VALUES (%s, %s, 'model') RETURNING id",
                  (account, tenant["workspace"]))
    placed = one(conn, "SELECT add_dataset_to_diagram(%s, %s, '{\"x\": 1, \"y\": 2}', %s)",
                 (diagram, tenant["orders"], owner))
    moved = one(conn, "SELECT add_dataset_to_diagram(%s, %s, '{\"x\": 5, \"y\": 6}', %s)",
                (diagram, tenant["orders"], owner))
    assert moved == placed
    assert one(conn, "SELECT location FROM diagram_datasets WHERE id = %s", (placed,)) == {"x": 5, "y": 6}
    assert one(conn, "SELECT version FROM diagrams WHERE id = %s", (diagram,)) == 3

    other_owner = new_user(conn, "eve@globex.test")
    other = new_account(conn, other_owner, "globex")
    foreign = new_dataset(conn, other, "secrets")
    with pytest.raises(errors.InvalidParameterValue):
        conn.execute("SELECT add_dataset_to_diagram(%s, %s)", (diagram, foreign))
    with pytest.raises(errors.NoDataFound):
        conn.execute("SELECT add_dataset_to_diagram(%s, %s)", (uuid.uuid4(), tenant["orders"]))

    assert one(conn, "SELECT remove_dataset_from_diagram(%s, %s)", (diagram, tenant["orders"])) is True
    assert one(conn, "SELECT remove_dataset_from_diagram(%s, %s)", (diagram, tenant["orders"])) is False


def test_five_failed_logins_lock_for_thirty_minutes(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    owner = tenant["owner"]
    locked = [one(conn, "SELECT record_failed_login('Owner@Acme.test', '198.51.100.1')") for _ in range(5)]
    assert locked == [False, False, False, False, True]
    attempts, lock = conn.execute("SELECT failed_login_attempts, locked_until - now() FROM users WHERE id = %s",
                                  (owner,)).fetchone() or (None, None)
    assert attempts == 5
    assert timedelta(minutes=29) < lock <= timedelta(minutes=30)
    assert one(conn, "SELECT is_user_locked(%s)", (owner,)) is True
    assert one(conn, "SELECT record_successful_login(%s)", (owner,)) is False
    assert one(conn, "SELECT count(*) FROM audit_logs WHERE user_id = %s AND action = 'user_locked'", (owner,)) == 1
    # The lock expires; a success then resets the count.
    conn.execute("UPDATE users SET locked_until = now() - interval '1 second' WHERE id = %s", (owner,))
    assert one(conn, "SELECT record_successful_login(%s, '198.51.100.1')", (owner,)) is True
    assert conn.execute("SELECT failed_login_attempts, locked_until FROM users WHERE id = %s", (owner,)
                        ).fetchone() == (0, None)
    assert one(conn, "SELECT record_failed_login('nobody@acme.test')") is False
    with as_user(conn, owner), pytest.raises(errors.InsufficientPrivilege):
        conn.execute("SELECT record_failed_login('owner@acme.test')")


def test_locked_user_tokens_are_refused(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    _, token = new_token(conn, tenant["account"], tenant["owner"])
    conn.execute("UPDATE users SET locked_until = now() + interval '30 minutes' WHERE id = %s", (tenant["owner"],))
    assert conn.execute("SELECT is_valid, error FROM validate_api_token(%s)", (token,)).fetchone() == (
        False, "user_inactive")


@pytest.mark.parametrize("table", ["users; DROP TABLE accounts", "audit_logs", "Users", "", None])
def test_soft_delete_refuses_tables_outside_the_allow_list(
    conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID], table: str | None
) -> None:
    for function in ("soft_delete", "restore_deleted", "permanent_delete"):
        with pytest.raises(errors.InvalidParameterValue, match="does not support soft delete"):
            conn.execute(f"SELECT {function}(%s, %s)", (table, tenant["owner"]))
    assert one(conn, "SELECT to_regclass('public.accounts') IS NOT NULL") is True
    assert one(conn, "SELECT count(*) FROM accounts") == 1


# --------------------------------------------------------------------------- (3) constraints


@pytest.mark.parametrize("statement, error", [
    ("INSERT INTO datasets (account_id, name) VALUES (gen_random_uuid(), 'orphan')", errors.ForeignKeyViolation),
    ("INSERT INTO accounts (name, slug) VALUES ('Again', 'acme')", errors.UniqueViolation),
    ("INSERT INTO accounts (name, slug) VALUES ('Bad', 'Not A Slug')", errors.CheckViolation),
    ("UPDATE users SET email = 'OWNER@acme.test' WHERE email <> 'owner@acme.test'", None),
    ("INSERT INTO connections (account_id, name, connection_type, port) "
     "SELECT id, 'x', 'postgres', 70000 FROM accounts", errors.CheckViolation),
    ("INSERT INTO connections (account_id, name, connection_type) "
     "SELECT id, 'x', 'excel' FROM accounts", errors.InvalidTextRepresentation),
    ("INSERT INTO connections (account_id, name, connection_type) "
     "SELECT id, 'warehouse', 'postgres' FROM accounts", errors.UniqueViolation),
    ("UPDATE workspaces SET source_control_commit_sha = 'not-a-sha'", errors.CheckViolation),
    ("UPDATE projects SET source_control_connection_status = 'connected'", errors.CheckViolation),
    ("INSERT INTO invitations (account_id, email, role, token_hash) "
     "SELECT id, 'x@y.test', 'owner', 'h' FROM accounts", errors.CheckViolation),
    ("INSERT INTO api_tokens (account_id, user_id, name, token_hash, token_prefix) "
     "SELECT id, owner_id, 't', 'plaintext', 'p' FROM accounts", errors.CheckViolation),
    ("INSERT INTO account_users (account_id, user_id) SELECT id, owner_id FROM accounts", errors.UniqueViolation),
    ("INSERT INTO payments (account_id, amount_cents, refunded_amount_cents) "
     "SELECT id, 100, 200 FROM accounts", errors.CheckViolation),
    ("INSERT INTO lineage (account_id, source_dataset_id, target_dataset_id) "
     "SELECT account_id, id, id FROM datasets LIMIT 1", errors.CheckViolation),
    ("INSERT INTO columns (dataset_id, name, data_type, ordinal_position) "
     "SELECT dataset_id, name, 'int', 9 FROM columns LIMIT 1", errors.UniqueViolation),
])
def test_constraints_reject_bad_rows(
    conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID], statement: str, error: type[Exception] | None
) -> None:
    if error is None:  # a statement that must succeed, for contrast
        conn.execute(statement)
        return
    with pytest.raises(error):
        conn.execute(statement)


def test_unique_emails_ignore_case_and_soft_deleted_slugs_are_free(
    conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]
) -> None:
    with pytest.raises(errors.UniqueViolation):
        new_user(conn, "OWNER@ACME.TEST")
    one(conn, "SELECT soft_delete_account(%s)", (tenant["account"],))
    assert new_account(conn, tenant["owner"], "acme")


# --------------------------------------------------------------------------- (4) row-level security


@pytest.fixture
def two_tenants(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> dict[str, Any]:
    """Acme (the tenant fixture, plus a member) and Globex, each with tokens, diagrams, cache."""
    member = new_user(conn, "member@acme.test")
    conn.execute("INSERT INTO account_users (account_id, user_id) VALUES (%s, %s)", (tenant["account"], member))
    eve = new_user(conn, "eve@globex.test")
    globex = new_account(conn, eve, "globex")
    globex_project = new_project(conn, globex, eve)
    globex_ws = new_workspace(conn, globex, globex_project, eve)
    globex_conn = new_connection(conn, globex, "lake")
    globex_ds = new_dataset(conn, globex, "salaries", connection=globex_conn)
    for account, owner, ws, ds, cx in ((tenant["account"], tenant["owner"], tenant["workspace"], tenant["orders"],
                                         tenant["connection"]), (globex, eve, globex_ws, globex_ds, globex_conn)):
        new_token(conn, account, owner)
        diagram = one(conn, "INSERT INTO diagrams (account_id, workspace_id, name, owner_id) VALUES (%s, %s, 'd', %s) "
                      "RETURNING id", (account, ws, owner))
        one(conn, "SELECT add_dataset_to_diagram(%s, %s)", (diagram, ds))
        conn.execute("INSERT INTO connection_metadata_cache (connection_id, metadata_type, metadata) "
                     "VALUES (%s, 'schemas', '[]')", (cx,))
        conn.execute("INSERT INTO invitations (account_id, email, token_hash) VALUES (%s, %s, hash_api_token(%s))",
                     (account, f"new@{account}.test", str(account)))
    return {**tenant, "member": member, "eve": eve, "globex": globex, "globex_connection": globex_conn}


def test_rls_isolates_tenants(conn: psycopg.Connection[Any], two_tenants: dict[str, Any]) -> None:
    acme, owner = two_tenants["account"], two_tenants["owner"]
    with as_user(conn, owner, "owner@acme.test"):
        for table in ("connections", "api_tokens", "diagrams", "invitations", "account_users"):
            accounts = {r[0] for r in conn.execute(f"SELECT DISTINCT account_id FROM {table}")}
            assert accounts == {acme}, table
        assert one(conn, "SELECT count(*) FROM account_users") == 2
        emails = {r[0] for r in conn.execute("SELECT email FROM users")}
        assert emails == {"owner@acme.test", "member@acme.test"}
        assert one(conn, "SELECT count(*) FROM diagram_datasets") == 1
        assert {r[0] for r in conn.execute("SELECT connection_id FROM connection_metadata_cache")} == {
            two_tenants["connection"]}
        # The active views keep the table's policies.
        assert one(conn, "SELECT count(*) FROM connections_active") == 1
        assert one(conn, "SELECT count(*) FROM users_active") == 2


def test_rls_blocks_writes_into_another_tenant(conn: psycopg.Connection[Any], two_tenants: dict[str, Any]) -> None:
    owner, globex = two_tenants["owner"], two_tenants["globex"]
    with as_user(conn, owner), pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        conn.execute("INSERT INTO connections (account_id, name, connection_type) VALUES (%s, 'x', 'postgres')",
                     (globex,))
    with as_user(conn, owner), pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        conn.execute("INSERT INTO account_users (account_id, user_id) VALUES (%s, %s)", (globex, owner))
    with as_user(conn, owner):
        conn.execute("UPDATE connections SET name = 'hijacked' WHERE account_id = %s", (globex,))
        conn.execute("DELETE FROM api_tokens WHERE account_id = %s", (globex,))
    assert one(conn, "SELECT name FROM connections WHERE account_id = %s", (globex,)) == "lake"
    assert one(conn, "SELECT count(*) FROM api_tokens WHERE account_id = %s", (globex,)) == 1
    # Inside its own tenant the user writes normally.
    with as_user(conn, owner):
        conn.execute("INSERT INTO connections (account_id, name, connection_type) VALUES (%s, 'new', 'postgres')",
                     (two_tenants["account"],))


def test_rls_roles_and_visibility(conn: psycopg.Connection[Any], two_tenants: dict[str, Any]) -> None:
    member, acme = two_tenants["member"], two_tenants["account"]
    # A plain member sees the account's tokens only if they are theirs, and cannot add members.
    with as_user(conn, member):
        assert one(conn, "SELECT count(*) FROM api_tokens") == 0
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO account_users (account_id, user_id) VALUES (%s, gen_random_uuid())", (acme,))
    conn.execute("UPDATE diagrams SET visibility = 'private' WHERE account_id = %s", (acme,))
    conn.execute("UPDATE diagrams SET visibility = 'public' WHERE account_id = %s", (two_tenants["globex"],))
    with as_user(conn, member):
        assert {r[0] for r in conn.execute("SELECT account_id FROM diagrams")} == {two_tenants["globex"]}
    # A deactivated member loses access at once.
    conn.execute("UPDATE account_users SET is_active = false WHERE user_id = %s", (member,))
    with as_user(conn, member):
        assert one(conn, "SELECT count(*) FROM connections") == 0
        assert one(conn, "SELECT count(*) FROM account_users") == 0


# --------------------------------------------------------------------------- (5) performance


def plan(conn: psycopg.Connection[Any], query: str, params: Any = None) -> str:
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL enable_seqscan = off")
        return "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, params))


def test_common_queries_use_the_intended_indexes(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    account, owner = tenant["account"], tenant["owner"]
    conn.execute("UPDATE accounts SET max_datasets = 100000 WHERE id = %s", (account,))
    conn.execute("INSERT INTO datasets (account_id, name, deleted_at) "
                 "SELECT %s, 't' || i, CASE WHEN i %% 10 <> 0 THEN now() END FROM generate_series(1, 2000) i",
                 (account,))
    conn.execute("INSERT INTO usage_events (account_id, event_type, created_at) "
                 "SELECT %s, 'ai_request', now() - make_interval(mins => i) FROM generate_series(1, 2000) i",
                 (account,))
    for _ in range(20):
        new_token(conn, account, owner, expires="10 days")
    conn.execute("ANALYZE")

    assert "idx_datasets_active" in plan(conn, "SELECT id, name FROM datasets WHERE account_id = %s "
                                               "AND deleted_at IS NULL", (account,))
    assert "idx_datasets_active" in plan(conn, "SELECT id, name FROM datasets_active WHERE account_id = %s",
                                         (account,))
    assert "idx_usage_events_account_created" in plan(
        conn, "SELECT * FROM usage_events WHERE account_id = %s ORDER BY created_at DESC LIMIT 50", (account,))
    assert "idx_api_tokens_expires" in plan(
        conn, "SELECT id FROM api_tokens WHERE expires_at < now() + interval '7 days' AND is_active = true")
    assert "idx_datasets_search" in plan(
        conn, "SELECT id FROM datasets WHERE to_tsvector('english'::regconfig, coalesce(name, ''::varchar)::text "
              "|| ' '::text || coalesce(business_name, ''::varchar)::text || ' '::text "
              "|| coalesce(description, ''::text)) @@ plainto_tsquery('english', 'orders')")


# --------------------------------------------------------------------------- monitoring queries

SOFT_DELETE_STATISTICS = """
SELECT
    table_name,
    COUNT(*) FILTER (WHERE deleted_at IS NULL) as active_count,
    COUNT(*) FILTER (WHERE deleted_at IS NOT NULL) as deleted_count,
    ROUND(COUNT(*) FILTER (WHERE deleted_at IS NOT NULL)::numeric /
          NULLIF(COUNT(*), 0) * 100, 2) as deleted_percentage
FROM (
    SELECT 'accounts' as table_name, deleted_at FROM accounts
    UNION ALL
    SELECT 'datasets', deleted_at FROM datasets
    UNION ALL
    SELECT 'projects', deleted_at FROM projects
) stats
GROUP BY table_name
ORDER BY deleted_percentage DESC
"""

ACCOUNT_USAGE_SUMMARY = """
SELECT
    a.name,
    a.subscription_tier,
    a.current_user_count || '/' || a.max_users as users,
    a.current_project_count || '/' || a.max_projects as projects,
    a.current_dataset_count || '/' || a.max_datasets as datasets,
    a.current_monthly_ai_requests || '/' || a.max_monthly_ai_requests as ai_requests
FROM accounts a
WHERE a.deleted_at IS NULL
ORDER BY a.name
"""

INACTIVE_API_TOKENS = """
SELECT
    t.name,
    u.email,
    t.last_used_at,
    DATE_PART('day', NOW() - t.last_used_at) as days_inactive
FROM api_tokens t
JOIN users u ON u.id = t.user_id
WHERE t.is_active = true
  AND t.last_used_at < NOW() - INTERVAL '90 days'
ORDER BY t.last_used_at
"""


def test_monitoring_queries_run(conn: psycopg.Connection[Any], tenant: dict[str, uuid.UUID]) -> None:
    one(conn, "SELECT soft_delete('datasets', %s)", (tenant["orders"],))
    stats = conn.execute(SOFT_DELETE_STATISTICS).fetchall()
    assert [(r[0], r[1], r[2]) for r in stats] == [("datasets", 1, 1), ("accounts", 1, 0), ("projects", 1, 0)]
    assert conn.execute(ACCOUNT_USAGE_SUMMARY).fetchall() == [("Acme", "free", "1/3", "1/3", "1/100", "0/100")]
    token_id, _ = new_token(conn, tenant["account"], tenant["owner"])
    conn.execute("UPDATE api_tokens SET last_used_at = now() - interval '120 days' WHERE id = %s", (token_id,))
    rows = conn.execute(INACTIVE_API_TOKENS).fetchall()
    assert [(r[0], r[1], r[3]) for r in rows] == [("ci", "owner@acme.test", 120)]
