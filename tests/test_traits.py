"""Traits: a convention written once, stamped onto each table that opts in."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgspec.catalog import Catalog, IndexKey
from pgspec.errors import SpecError
from pgspec.sources.spec import load_spec

CONVENTIONS = """\
traits:
  audit:
    columns:
      created_at: {type: timestamptz, not_null: true, default: now()}
      updated_at: {type: timestamptz, not_null: true, default: now()}
      created_by: uuid
    triggers:
      "update_{table}_updated_at": {timing: before, events: [update], function: public.update_updated_at_column}
  soft_delete:
    parameters: {active_index: [id], unique_active: false}
    columns:
      deleted_at: timestamptz
    views:
      "{table}_active":
        query: "SELECT {columns} FROM {schema}.{table} WHERE deleted_at IS NULL"
    indexes:
      "idx_{table}_active": {columns: ["{active_index}", created_at], where: "deleted_at IS NULL",
                             unique: "{unique_active}"}
functions:
  update_updated_at_column:
    returns: trigger
    body: "BEGIN NEW.updated_at := now(); RETURN NEW; END"
"""

TABLES = """\
schema: app
tables:
  accounts:
    traits: [audit, soft_delete]
    columns:
      id: {type: uuid, primary_key: true}
      "Display Name": text
  members:
    traits:
      - audit
      - soft_delete: {active_index: [account_id, '"Nick"'], unique_active: true}
    columns:
      id: uuid
      account_id: uuid
      Nick: text
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    (tmp_path / "conventions.yaml").write_text(CONVENTIONS)
    (tmp_path / "tables.yaml").write_text(TABLES)
    return load_spec(tmp_path)


def test_columns_are_appended_in_trait_order(catalog: Catalog) -> None:
    names = [c.name for c in catalog.tables["app.accounts"].columns]
    assert names == ["id", "Display Name", "created_at", "updated_at", "created_by", "deleted_at"]
    created = catalog.tables["app.accounts"].column("created_at")
    assert created is not None
    assert (created.type, created.not_null, created.default) == ("timestamp with time zone", True, "now()")


def test_view_gets_the_full_quoted_column_list(catalog: Catalog) -> None:
    view = catalog.views["app.accounts_active"]
    assert view.query == (
        'SELECT id, "Display Name", created_at, updated_at, created_by, deleted_at '
        "FROM app.accounts WHERE deleted_at IS NULL"
    )
    members = catalog.views["app.members_active"]
    assert members.query.startswith('SELECT id, account_id, "Nick", created_at,')


def test_index_takes_parameters_and_overrides(catalog: Catalog) -> None:
    default = catalog.indexes["app.idx_accounts_active"]
    assert default.keys == [IndexKey(column="id"), IndexKey(column="created_at")]
    assert (default.unique, default.where, default.table) == (False, "deleted_at IS NULL", "accounts")
    override = catalog.indexes["app.idx_members_active"]
    assert override.keys == [IndexKey(column="account_id"), IndexKey(column="Nick"), IndexKey(column="created_at")]
    assert override.unique is True


def test_trait_objects_live_in_the_tables_schema_and_are_located_at_the_traits_entry(
    catalog: Catalog, tmp_path: Path
) -> None:
    trigger = catalog.triggers["app.accounts.update_accounts_updated_at"]
    assert trigger.function == "public.update_updated_at_column"
    assert trigger.location == f"{tmp_path / 'tables.yaml'}:4"
    assert catalog.tables["app.accounts"].column("deleted_at").location == f"{tmp_path / 'tables.yaml'}:4"
    assert catalog.views["app.members_active"].location == f"{tmp_path / 'tables.yaml'}:11"


def test_trait_mistake_is_reported_in_the_trait_definition(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("traits:\n  t:\n    columns:\n      x: {type: int, nul: true}\n")
    (tmp_path / "b.yaml").write_text("tables:\n  one: {traits: [t]}\n  two: {traits: [t]}\n")
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert str(info.value) == f"{tmp_path / 'a.yaml'}:4: unknown key 'nul'"


def test_trait_object_clashing_with_table_object(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "traits:\n  t:\n    indexes:\n      \"idx_{table}\": {columns: [a]}\n"
        "tables:\n  x:\n    traits: [t]\n    columns: {a: int}\n    indexes:\n      idx_x: {columns: [a]}\n"
    )
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 's.yaml'}:7: trait 't' brings index 'idx_x'")


def test_braces_that_are_not_placeholders_stay(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "traits:\n  j:\n    columns:\n      data: {type: jsonb, default: \"'{}'::jsonb\"}\n"
        "      tags: {type: \"text[]\", default: \"'{a,b}'\"}\n"
        "tables:\n  x: {traits: [j]}\n"
    )
    table = load_spec(tmp_path).tables["public.x"]
    assert [(c.name, c.default) for c in table.columns] == [("data", "'{}'::jsonb"), ("tags", "'{a,b}'")]
