"""GRANT, REVOKE, ALTER DEFAULT PRIVILEGES (and optionally OWNER TO) for a catalog's privileges.

The statements go at the end of the last init script, after every object exists. What an object
holds right after its CREATE depends on the database it is created in: PostgreSQL's built-in
default is certain, but default privileges the platform set beforehand (Supabase grants ALL on
new tables to anon, authenticated and service_role) may or may not be in force. So for a role
the spec's default privileges name, the statements are absolute (``REVOKE ALL`` then the
``GRANT`` wanted, or ``GRANT ALL``), which gives the same result whichever defaults were in
force; for other roles only the change from the built-in default is written (``REVOKE ALL ...
FROM PUBLIC`` on a function PUBLIC must not execute). Objects that end up with the same
statement share it (``GRANT ALL ON TABLE a, b TO anon, authenticated``), so a schema of thirty
tables needs a handful of lines. The default privileges come last: they are for what later
migrations create.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pgspec.catalog import Aggregate, Catalog, Domain
from pgspec.privileges import DEFAULT_TARGET, PRIVILEGES, Acl, acl_grant, creation_acl, default_index
from pgspec.quoting import qualified, quote

__all__ = ["privileges_sql"]

#: Statement phases: revokes before grants, column grants after table-level revokes (which
#: revoke column privileges too), owners last.
_REVOKE, _GRANT, _GRANT_OPTION, _COLUMN = range(4)
_KEYWORDS = {
    "table": "TABLE", "view": "TABLE", "materialized_view": "TABLE", "sequence": "SEQUENCE",
    "function": "FUNCTION", "procedure": "PROCEDURE", "schema": "SCHEMA", "type": "TYPE",
    "domain": "DOMAIN",
    # PostgreSQL has no GRANT ON AGGREGATE: an aggregate is granted as the function it is.
    "aggregate": "FUNCTION",
}
_KEYWORD_ORDER = ["SCHEMA", "TYPE", "DOMAIN", "SEQUENCE", "TABLE", "FUNCTION", "PROCEDURE"]
_OWNER_KEYWORDS = {
    "schemas": "SCHEMA", "collations": "COLLATION", "enums": "TYPE", "domains": "DOMAIN", "composite_types": "TYPE",
    "sequences": "SEQUENCE", "tables": "TABLE", "views": "VIEW", "materialized_views": "MATERIALIZED VIEW",
}


def _role(name: str) -> str:
    return "PUBLIC" if name == "public" else quote(name)


def _privilege_list(on: str, privileges: frozenset[str]) -> str:
    if privileges == frozenset(PRIVILEGES[on]):
        return "ALL"
    return ", ".join(p.upper() for p in PRIVILEGES[on] if p in privileges)


def _objects(catalog: Catalog) -> list[tuple[str, str, str, Any]]:
    """(on, keyword, key, object) of everything that can hold grants, externals left out."""
    found: list[tuple[str, str, str, Any]] = []
    stores = (("schema", catalog.schemas), ("type", catalog.enums), ("type", catalog.domains),
              ("type", catalog.composite_types), ("sequence", catalog.sequences), ("table", catalog.tables),
              ("view", catalog.views), ("materialized_view", catalog.materialized_views))
    for on, store in stores:
        for key, obj in store.items():
            keyword = "DOMAIN" if isinstance(obj, Domain) else _KEYWORDS[on]
            found.append((on, keyword, key, obj))
    for key, func in catalog.functions.items():
        on = "procedure" if func.kind_of_object == "procedure" else "function"
        found.append((on, _KEYWORDS[on], key, func))
    for key, agg in catalog.aggregates.items():
        # Its key lists every argument type, direct ones first: the signature GRANT ON
        # FUNCTION takes for an ordered-set aggregate too (as pg_dump writes it).
        found.append(("aggregate", _KEYWORDS["aggregate"], key, agg))
    return [item for item in found if item[2] not in catalog.externals]


def privileges_sql(catalog: Catalog, *, owners: bool = False) -> list[str]:
    """The statements that give the catalog's objects their grants, then its default
    privileges (and with ``owners`` its owners); nothing when it states no privileges."""
    if catalog.privileges is None:
        return []
    index = default_index(catalog.default_privileges.values())
    wanted: dict[tuple[str, str], Acl] = defaultdict(dict)
    for grant in catalog.grants.values():
        acl_grant(wanted[(grant.on, grant.object)], grant.grantee, grant.privileges)
        if grant.grantable:
            acl_grant(wanted[(grant.on, grant.object)], grant.grantee, grant.grantable, grant_option=True)
    # (phase, keyword, verb, object) -> grantees; the verb says GRANT x / REVOKE ALL.
    ops: dict[tuple[int, str, str, str], set[str]] = defaultdict(set)
    for on, keyword, key, obj in _objects(catalog):
        schema = obj.name if on == "schema" else obj.schema_name
        owner = catalog.owners.get(key)
        start = creation_acl(on, schema, owner, index)
        target = DEFAULT_TARGET[on]
        uncertain = {g for (role, sch, tgt), acl in index.items() if role == owner and tgt == target
                     and (sch is None or sch == schema) for g in acl}
        want = wanted.get((on, key), {})
        for grantee in sorted(set(want) | set(start) | uncertain):
            if grantee == owner:
                continue
            privs, grantable = want.get(grantee, (frozenset(), frozenset()))
            if grantee not in uncertain and (privs, grantable) == start.get(grantee, (frozenset(), frozenset())):
                continue
            full = privs == frozenset(PRIVILEGES[on]) and not grantable
            had = start.get(grantee, (frozenset(), frozenset()))[0]
            if not full and (had or grantee in uncertain):
                ops[(_REVOKE, keyword, "REVOKE ALL", key)].add(grantee)
            plain = privs - grantable
            if plain:
                ops[(_GRANT, keyword, f"GRANT {_privilege_list(on, plain)}", key)].add(grantee)
            if grantable:
                ops[(_GRANT_OPTION, keyword, f"GRANT {_privilege_list(on, grantable)}", key)].add(grantee)
    for (on, key), acl in wanted.items():
        if on != "column":
            continue
        table, _, column = key.rpartition(".")
        if table in catalog.externals:
            continue
        for grantee, (privs, grantable) in acl.items():
            for subset, phase in ((privs - grantable, _COLUMN), (grantable, _GRANT_OPTION)):
                if subset:
                    names = ", ".join(p.upper() for p in PRIVILEGES["column"] if p in subset)
                    # Keys quote parts as SQL does, so the column part is SQL already.
                    ops[(phase, "TABLE", f"GRANT {names} ({column})", table)].add(grantee)
    lines = _grouped(ops)
    lines.extend(_default_privileges(catalog))
    if owners:
        lines.extend(_owners(catalog))
    return lines


def _grouped(ops: dict[tuple[int, str, str, str], set[str]]) -> list[str]:
    """One statement per (phase, keyword, verb, grantees), naming every object it applies to."""
    groups: dict[tuple[int, str, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (phase, keyword, verb, key), grantees in ops.items():
        groups[(phase, keyword, verb, tuple(sorted(grantees)))].append(key)
    lines: list[str] = []
    order = sorted(groups, key=lambda g: (g[0], _KEYWORD_ORDER.index(g[1]), g[2].startswith("GRANT ALL") is False,
                                          g[2], g[3]))
    for phase, keyword, verb, roles_listed in order:
        objects = sorted(groups[(phase, keyword, verb, roles_listed)])
        to = "FROM" if verb.startswith("REVOKE") else "TO"
        roles = ", ".join(_role(g) for g in roles_listed)
        tail = " WITH GRANT OPTION" if phase == _GRANT_OPTION else ""
        if len(objects) == 1:
            lines.append(f"{verb} ON {keyword} {objects[0]} {to} {roles}{tail};")
        else:
            listed = ",\n".join(f"    {o}" for o in objects)
            lines.append(f"{verb} ON {keyword}\n{listed}\n    {to} {roles}{tail};")
    return lines


def _default_privileges(catalog: Catalog) -> list[str]:
    """ALTER DEFAULT PRIVILEGES, one statement per entry and privilege set."""
    groups: dict[tuple[str, str, str, str, bool], list[str]] = defaultdict(list)
    for rec in catalog.default_privileges.values():
        role = f" FOR ROLE {quote(rec.role)}" if rec.role is not None else ""
        schema = f" IN SCHEMA {quote(rec.schema_name)}" if rec.schema_name is not None else ""
        on = {"tables": "table", "sequences": "sequence", "functions": "function", "types": "type",
              "schemas": "schema"}[rec.on]
        if not rec.privileges:
            verb = "REVOKE " + _privilege_list(on, frozenset(PRIVILEGES[on]))
            groups[(role + schema, rec.on, verb, "FROM", False)].append(rec.grantee)
            continue
        plain = frozenset(rec.privileges) - frozenset(rec.grantable)
        if plain:
            groups[(role + schema, rec.on, "GRANT " + _privilege_list(on, plain), "TO", False)].append(rec.grantee)
        if rec.grantable:
            groups[(role + schema, rec.on, "GRANT " + _privilege_list(on, frozenset(rec.grantable)), "TO",
                    True)].append(rec.grantee)
    lines = []
    for (prefix, target, verb, to, option) in sorted(groups):
        roles = ", ".join(_role(g) for g in sorted(groups[(prefix, target, verb, to, option)]))
        tail = " WITH GRANT OPTION" if option else ""
        lines.append(f"ALTER DEFAULT PRIVILEGES{prefix} {verb} ON {target.upper()} {to} {roles}{tail};")
    return lines


def _owners(catalog: Catalog) -> list[str]:
    lines = []
    for attr, keyword in _OWNER_KEYWORDS.items():
        for key in sorted(getattr(catalog, attr)):
            if key in catalog.owners and key not in catalog.externals:
                lines.append(f"ALTER {keyword} {key} OWNER TO {quote(catalog.owners[key])};")
    for key, func in sorted(catalog.functions.items()):
        if key in catalog.owners and key not in catalog.externals:
            keyword = "PROCEDURE" if func.kind_of_object == "procedure" else "FUNCTION"
            lines.append(f"ALTER {keyword} {key} OWNER TO {quote(catalog.owners[key])};")
    for key, agg in sorted(catalog.aggregates.items()):
        if key in catalog.owners and key not in catalog.externals:
            lines.append(f"ALTER AGGREGATE {aggregate_signature(agg)} OWNER TO {quote(catalog.owners[key])};")
    return lines


def aggregate_signature(agg: Aggregate) -> str:
    """How ALTER AGGREGATE names an aggregate: its key, except that one without arguments is
    ``name(*)`` (the grammar takes no empty list there, while GRANT ON FUNCTION takes ``()``)."""
    return agg.key if agg.arguments else f"{qualified(agg.schema_name, agg.name)}(*)"
