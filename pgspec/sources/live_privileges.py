"""The live reader's privileges: owners, effective grants and default privileges from the rows
of ``live_queries.ACLS`` and ``DEFAULT_ACLS`` (two queries for the whole database).

The server already answers in effective terms: ``aclexplode(COALESCE(acl, acldefault(...)))``
lists what each role holds, a NULL ACL included. This module turns the rows into the shared
vocabulary of ``pgspec.privileges`` and puts each owner on its object.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from pgspec.catalog import DefaultPrivilege, Grant, PrivilegeSettings
from pgspec.privileges import Acl, acl_grant, default_records, grant_records
from pgspec.quoting import qualified
from pgspec.sources.live_connection import CatalogRow
from pgspec.sources.live_rows import model_type

__all__ = ["privilege_parts"]

#: pg_default_acl.defaclobjtype -> default-privilege target ('L', large objects, is not modelled).
_DEFAULT_TARGETS = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}

#: Where each kind of owned object lives in the reader's parts.
_STORES = {
    "schema": ("schemas",),
    "table": ("tables",),
    "view": ("views",),
    "materialized_view": ("materialized_views",),
    "sequence": ("sequences",),
    "function": ("functions",),
    "procedure": ("functions",),
    "aggregate": ("aggregates",),
    "type": ("enums", "domains", "composite_types"),
}


@functools.lru_cache(maxsize=4096)
def _acl(text: str | None) -> Mapping[str, Any]:
    """An ACL from its JSON text (live_queries._acl), read-only: objects share a handful of
    ACLs, so each distinct one is decoded once and the result is shared."""
    acl: Acl = {}
    for grantee, privilege, grantable in json.loads(text) if text else ():
        acl_grant(acl, grantee if grantee is not None else "public", [privilege], grant_option=grantable)
    return MappingProxyType(acl)


def _key(row: CatalogRow) -> str:
    if row.on == "schema":
        return qualified(row.name)
    if row.on == "column":
        return qualified(row.schema, row.name, row.column)
    key = qualified(row.schema, row.name)
    if row.on in ("function", "procedure", "aggregate"):
        key += f"({', '.join(model_type(t) for t in row.args or ())})"
    return key


def privilege_parts(
    parts: dict[str, dict[str, Any]], acl_rows: Iterable[CatalogRow],
    default_rows: Iterable[CatalogRow], server_version: int,
) -> dict[str, Any]:
    """Catalog fields to add to the reader's parts: ``owners``, ``grants``, ``default_privileges`` and ``privileges`` (this source states them all).

    Grants are kept only for objects the reader found (objects of extensions are not). The
    settings record the role the reader is connected as (``connected_role``): it settles whose
    default privileges a script's ALTER DEFAULT PRIVILEGES without FOR ROLE made."""
    grants: dict[str, Grant] = {}
    owners: dict[str, str] = {}
    rows = sorted(acl_rows, key=lambda r: r.on == "column")  # owners first, then columns
    for row in rows:
        on, key = row.on, _key(row)
        if on == "column":
            table_key = qualified(row.schema, row.name)
            if not any(table_key in parts.get(s, {}) for s in ("tables", "views", "materialized_views")):
                continue
            owner = owners.get(table_key)
        else:
            found = next(((s, parts[s][key]) for s in _STORES[on] if key in parts.get(s, {})), None)
            if found is None:
                continue
            owner = row.owner
            owners[key] = owner
        for grant in grant_records(on, row.schema, key, _acl(row.acl), owner):
            grants[grant.key] = grant
    defaults: dict[str, DefaultPrivilege] = {}
    connected: str | None = None
    for row in default_rows:
        connected = row.connected
        # A database without default privileges still gives one row (all NULL but
        # ``connected``); large objects' entries ('L') are not modelled.
        target = _DEFAULT_TARGETS.get(row.objtype)
        if target is None:
            continue
        for rec in default_records(row.role, row.schema, target, _acl(row.acl)):
            defaults[rec.key] = rec
    return {
        "owners": dict(sorted(owners.items())),
        "grants": dict(sorted(grants.items())),
        "default_privileges": dict(sorted(defaults.items())),
        "privileges": PrivilegeSettings(maintain=server_version >= 170000, connected_role=connected),
    }
