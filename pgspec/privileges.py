"""Privileges as effective sets: one vocabulary for every source, and their comparison.

Grants are the half of security RLS does not cover: whether ``anon`` reaches a table at all.
Diff tools that compare ACL text report hundreds of false differences (a grant restating a
default, grants in another order, one grantor instead of another). pgspec compares what a role
can actually do instead:

* Every source produces *effective* sets (``catalog.Grant``): an ACL the server stores as NULL
  means PostgreSQL's default (``acldefault``: EXECUTE to PUBLIC on functions, procedures and
  aggregates, USAGE to PUBLIC on types, nothing on relations, sequences and schemas), and an
  object made while default privileges were in force has them; a privilege given by two grantors counts
  once. The owner's own privileges are implicit (the owner can always grant them back) and are
  never listed, on either side.
* Default privileges (``pg_default_acl``) are their own records, one per grantee.
* Roles a spec does not manage (Supabase's platform roles: the ``supabase`` preset) are left out
  of both sides before comparing. MAINTAIN (PostgreSQL 17+) is compared only when both sides can
  have it, so ``ALL`` on PostgreSQL 15 equals ``ALL`` written in a spec.

The readers (live, replay, spec) build their ACLs with the helpers here, so the rules are
written once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from pgspec.catalog import Catalog, DefaultPrivilege, Difference, Grant
from pgspec.script_runner import attach_hints, resolve_runners

__all__ = [
    "DEFAULT_TARGET",
    "PRIVILEGES",
    "SUPABASE_IGNORED_ROLES",
    "Acl",
    "builtin_default",
    "compare_privileges",
    "creation_acl",
    "default_index",
    "default_records",
    "grant_records",
]

_RELATION = ("select", "insert", "update", "delete", "truncate", "references", "trigger", "maintain")

#: Privileges each kind of object can have, in PostgreSQL's order (``ALL`` means all of them).
PRIVILEGES: dict[str, tuple[str, ...]] = {
    "table": _RELATION,
    "view": _RELATION,
    "materialized_view": _RELATION,
    "sequence": ("usage", "select", "update"),
    "column": ("select", "insert", "update", "references"),
    "function": ("execute",),
    "procedure": ("execute",),
    "aggregate": ("execute",),
    "schema": ("usage", "create"),
    "type": ("usage",),
}

#: Which default privileges (ALTER DEFAULT PRIVILEGES ... ON <target>) apply to an object.
DEFAULT_TARGET: dict[str, str] = {
    "table": "tables",
    "view": "tables",
    "materialized_view": "tables",
    "sequence": "sequences",
    "function": "functions",
    "procedure": "functions",
    # PostgreSQL's AggregateCreate makes the aggregate through ProcedureCreate, which takes the
    # default privileges ON FUNCTIONS (checked on 15 and 18).
    "aggregate": "functions",
    "type": "types",
    "schema": "schemas",
}

#: Privileges of each default-privilege target.
DEFAULT_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "tables": _RELATION,
    "sequences": PRIVILEGES["sequence"],
    "functions": ("execute",),
    "types": ("usage",),
    "schemas": ("usage", "create"),
}

#: Roles of the Supabase platform, not of a project's migrations (the ``supabase`` preset).
#: ``postgres`` owns what migrations create, so its privileges there are the owner's anyway.
SUPABASE_IGNORED_ROLES: tuple[str, ...] = (
    "authenticator",
    "dashboard_user",
    "pgbouncer",
    "pgsodium_keyholder",
    "pgsodium_keyiduser",
    "pgsodium_keymaker",
    "postgres",
    "supabase_admin",
    "supabase_auth_admin",
    "supabase_etl_admin",
    "supabase_functions_admin",
    "supabase_read_only_user",
    "supabase_realtime_admin",
    "supabase_replication_admin",
    "supabase_storage_admin",
)

PRESETS: dict[str, tuple[str, ...]] = {"supabase": SUPABASE_IGNORED_ROLES, "none": ()}

#: grantee -> (privileges, those held WITH GRANT OPTION). ``public`` is PUBLIC.
Acl = dict[str, tuple[frozenset[str], frozenset[str]]]

#: Stands for an object's owner in an ACL built before the owner is known (a script's CREATE).
OWNER = "\x00owner"


# --------------------------------------------------------------------------- building ACLs


def builtin_default(on: str) -> Acl:
    """PostgreSQL's ``acldefault`` without the owner's entry: what PUBLIC gets by default."""
    if on in ("function", "procedure", "aggregate"):
        return {"public": (frozenset({"execute"}), frozenset())}
    if on == "type":
        return {"public": (frozenset({"usage"}), frozenset())}
    return {}


def acl_grant(acl: Acl, grantee: str, privileges: Iterable[str], grant_option: bool = False) -> None:
    """Add privileges (GRANT); with ``grant_option`` they are also grantable."""
    privs, grantable = acl.get(grantee, (frozenset(), frozenset()))
    new = frozenset(privileges)
    acl[grantee] = (privs | new, grantable | new if grant_option else grantable)


def acl_revoke(acl: Acl, grantee: str, privileges: Iterable[str], grant_option_only: bool = False) -> None:
    """Take privileges away (REVOKE), or only the right to grant them (REVOKE GRANT OPTION FOR)."""
    if grantee not in acl:
        return
    privs, grantable = acl[grantee]
    gone = frozenset(privileges)
    grantable = grantable - gone
    if not grant_option_only:
        privs = privs - gone
    if privs:
        acl[grantee] = (privs, grantable & privs)
    else:
        del acl[grantee]


def copy_acl(acl: Mapping[str, tuple[frozenset[str], frozenset[str]]]) -> Acl:
    return dict(acl)


def default_index(records: Iterable[DefaultPrivilege]) -> dict[tuple[str | None, str | None, str], Acl]:
    """Default-privilege records grouped as ACLs by (creating role, schema or None, target)."""
    index: dict[tuple[str | None, str | None, str], Acl] = {}
    for rec in records:
        acl = index.setdefault((rec.role, rec.schema_name, rec.on), {})
        if rec.privileges:
            acl_grant(acl, rec.grantee, rec.privileges)
            if rec.grantable:
                acl_grant(acl, rec.grantee, rec.grantable, grant_option=True)
    return index


def creation_acl(
    on: str,
    schema: str | None,
    owner: str | None,
    defaults: Mapping[tuple[str | None, str | None, str], Acl],
) -> Acl:
    """The ACL an object gets when ``owner`` creates it in ``schema`` (PostgreSQL's
    get_user_default_acl): the role's global default privileges replace the built-in default,
    and the schema's are added to them. Column grants have no defaults."""
    if on == "column":
        return {}
    if on == "schema" and schema == "public":
        # initdb makes it, with USAGE for PUBLIC (PostgreSQL 15+); pg_dump writes no GRANT for that.
        return {"public": (frozenset({"usage"}), frozenset())}
    target = DEFAULT_TARGET[on]
    glob = defaults.get((owner, None, target))
    if glob is not None:
        # Its records list PUBLIC exactly when it keeps PUBLIC's default (default_records).
        acl = copy_acl(glob)
    else:
        acl = builtin_default(on)
    if on != "schema":
        for grantee, (privs, grantable) in defaults.get((owner, schema, target), {}).items():
            acl_grant(acl, grantee, privs)
            if grantable:
                acl_grant(acl, grantee, grantable, grant_option=True)
    return acl


def grant_records(on: str, schema: str, key: str, acl: Mapping[str, Any], owner: str | None) -> list[Grant]:
    """One Grant per grantee of an effective ACL, the owner's own entry left out."""
    found = []
    for grantee, (privs, grantable) in sorted(acl.items()):
        if grantee in (OWNER, owner) or not privs:
            continue
        found.append(Grant(on=on, schema=schema, object=key, grantee=grantee,
                           privileges=sorted(privs), grantable=sorted(grantable & privs)))
    return found


def default_records(role: str | None, schema: str | None, target: str, acl: Mapping[str, Any]) -> list[DefaultPrivilege]:
    """The records of one default-privilege entry (its stored ACL), the creating role's own
    entry left out. A global entry for functions or types without PUBLIC is a ``public`` record
    with no privileges: it takes PUBLIC's built-in default away."""
    found = []
    for grantee, (privs, grantable) in sorted(acl.items()):
        if grantee in (OWNER, role) or not privs:
            continue
        found.append(DefaultPrivilege(role=role, schema=schema, on=target, grantee=grantee,
                                      privileges=sorted(privs), grantable=sorted(grantable & privs)))
    if schema is None and target in ("functions", "types") and not acl.get("public", (frozenset(),))[0]:
        found.append(DefaultPrivilege(role=role, schema=None, on=target, grantee="public", privileges=[]))
    return found


def expand(on: str, names: Iterable[str]) -> frozenset[str]:
    """Privilege names with ``all`` expanded for the kind of object (``all`` on a relation
    includes MAINTAIN; it is dropped from comparisons with servers that lack it)."""
    found: set[str] = set()
    for name in names:
        if name in ("all", "all privileges"):
            found.update(PRIVILEGES[on])
        else:
            found.add(name)
    return frozenset(found)


def ignored_roles(preset: str | None, extra: Iterable[str]) -> list[str]:
    """A preset's roles plus the configured ones, sorted."""
    roles = set(PRESETS.get(preset or "none", ()))
    roles.update(extra)
    return sorted(roles)


# --------------------------------------------------------------------------- comparing


def _exists(catalog: Catalog, grant: Grant) -> bool:
    """Whether the object a grant is on is in the catalog (grants of an object only one side
    has are that object's difference, reported once by its own kind)."""
    on, key = grant.on, grant.object
    if on == "column":
        table_key, _, _ = key.rpartition(".")
        # Keys quote parts that need it, so the last dot separates the column.
        for candidates in (catalog.tables, catalog.views, catalog.materialized_views):
            rel = candidates.get(table_key)
            if rel is not None:
                return rel is not None and _has_column(rel, key)
        return False
    if on in ("function", "procedure"):
        return key in catalog.functions
    if on == "aggregate":
        return key in catalog.aggregates
    if on == "type":
        return key in catalog.enums or key in catalog.domains or key in catalog.composite_types
    stores: dict[str, Mapping[str, Any]] = {
        "table": catalog.tables, "view": catalog.views,
        "materialized_view": catalog.materialized_views, "sequence": catalog.sequences,
        "schema": catalog.schemas,
    }
    return key in stores[on]


def _has_column(rel: Any, key: str) -> bool:
    from pgspec.quoting import qualified

    columns = getattr(rel, "columns", [])
    names = [c.name for c in columns] if columns and not isinstance(columns[0], str) else list(columns)
    return any(qualified(rel.schema_name, rel.name, n) == key for n in names)


def _kind_of(catalog: Catalog, key: str) -> str | None:
    """The object_type of an owned object, for reporting its owner."""
    for kind, store in (("schema", catalog.schemas), ("collation", catalog.collations),
                        ("table", catalog.tables), ("view", catalog.views),
                        ("materialized_view", catalog.materialized_views), ("sequence", catalog.sequences),
                        ("enum", catalog.enums), ("domain", catalog.domains),
                        ("composite_type", catalog.composite_types)):
        if key in store:
            return kind
    func = catalog.functions.get(key)
    if func is not None:
        return "procedure" if func.kind_of_object == "procedure" else "function"
    if key in catalog.aggregates:
        return "aggregate"
    return None


def compare_owners(scope: Any, expected: Catalog, actual: Catalog) -> Iterator[Difference]:
    """An owner is compared where both sides state one and both have the object (a spec
    states owners only when it cares)."""
    for key in sorted(expected.owners.keys() & actual.owners.keys()):
        want, got = expected.owners[key], actual.owners[key]
        if want == got or key in scope.externals or scope.excluded(key):
            continue
        kind = _kind_of(expected, key)
        if kind is None or _kind_of(actual, key) is None:
            continue
        obj = expected.objects(kind if kind != "procedure" else "function")[key]
        schema = obj.name if kind == "schema" else obj.schema_name
        if not scope.in_schemas(schema):
            continue
        yield Difference(object_type=kind, name=key, change="changed", attribute="owner",
                         expected=want, actual=got, location=obj.location)


def _column_table(key: str) -> str:
    return key.rpartition(".")[0]


def _normalised_grants(
    catalog: Catalog, other: Catalog, ignored: set[str], drop_maintain: bool,
    owners: tuple[dict[str, str], dict[str, str]], scope: Any,
) -> dict[str, Grant]:
    found: dict[str, Grant] = {}
    for key, grant in catalog.grants.items():
        if grant.grantee in ignored:
            continue
        target = _column_table(grant.object) if grant.on == "column" else grant.object
        if grant.grantee in (owners[0].get(target), owners[1].get(target)):
            continue
        if target in scope.externals or scope.excluded(key, grant.object):
            continue
        if not scope.in_schemas(grant.schema_name):
            continue
        if not (_exists(catalog, grant) and _exists(other, grant)):
            continue
        privileges, grantable = grant.privileges, grant.grantable
        if drop_maintain:
            privileges = [p for p in privileges if p != "maintain"]
            grantable = [p for p in grantable if p != "maintain"]
        if not privileges:
            continue
        found[key] = grant.model_copy(update={"privileges": privileges, "grantable": grantable})
    return found


def _normalised_defaults(
    catalog: Catalog, ignored_grantees: set[str], ignored_creators: set[str], drop_maintain: bool, scope: Any,
) -> dict[str, DefaultPrivilege]:
    found: dict[str, DefaultPrivilege] = {}
    for key, rec in catalog.default_privileges.items():
        if rec.grantee in ignored_grantees or (rec.role is not None and rec.role in ignored_creators):
            continue
        if rec.schema_name is not None and not scope.in_schemas(rec.schema_name):
            continue
        privileges, grantable = rec.privileges, rec.grantable
        if drop_maintain:
            privileges = [p for p in privileges if p != "maintain"]
            grantable = [p for p in grantable if p != "maintain"]
            if not privileges and rec.privileges:
                continue
        found[key] = rec.model_copy(update={"privileges": privileges, "grantable": grantable})
    return found


def _compare(
    object_type: str, expected: dict[str, Any], actual: dict[str, Any]
) -> Iterator[Difference]:
    for key in sorted(expected.keys() - actual.keys()):
        obj = expected[key]
        yield Difference(object_type=object_type, name=key, change="missing",
                         expected=obj.privileges, location=obj.location)
    for key in sorted(actual.keys() - expected.keys()):
        obj = actual[key]
        yield Difference(object_type=object_type, name=key, change="unexpected",
                         actual=obj.privileges, location=obj.location)
    for key in sorted(expected.keys() & actual.keys()):
        e, a = expected[key], actual[key]
        where = e.location or a.location
        for attribute in ("privileges", "grantable"):
            if getattr(e, attribute) != getattr(a, attribute):
                yield Difference(object_type=object_type, name=key, change="changed", attribute=attribute,
                                 expected=getattr(e, attribute), actual=getattr(a, attribute), location=where)


def compare_privileges(
    scope: Any, expected: Catalog, actual: Catalog, *, ignore_roles: Collection[str] = ()
) -> list[Difference]:
    """Grant and default-privilege differences of two catalogs that both state privileges.

    ``scope`` is the differ's (schemas, exclusions, externals). Roles in ``ignore_roles`` or in
    either side's settings are left out as grantees; as creators of default privileges too,
    unless a side names them as its objects' owner (Supabase's ``postgres``). A script's
    default privileges without FOR ROLE are the running role's, which the other side settles
    (``pgspec.script_runner``).
    """
    found = list(compare_owners(scope, expected, actual))
    exp_settings, act_settings = expected.privileges, actual.privileges
    if exp_settings is None or act_settings is None:
        return found
    # A script's ALTER DEFAULT PRIVILEGES without FOR ROLE (and GRANT ... TO CURRENT_USER)
    # belongs to the role that ran it: settled by what the other side knows of it.
    resolution = resolve_runners(expected, actual)
    expected, actual = resolution.expected, resolution.actual
    ignored = set(ignore_roles) | set(exp_settings.ignore_roles) | set(act_settings.ignore_roles)
    creators = ignored - {s.owner for s in (exp_settings, act_settings) if s.owner}
    # MAINTAIN counts only where both sides know it: a PostgreSQL 15 server has no such
    # privilege, and a dump's ALL does not say which server made it.
    drop_maintain = not (exp_settings.maintain and act_settings.maintain)
    owners = (expected.owners, actual.owners)
    found.extend(attach_hints(_compare(
        "grant",
        _normalised_grants(expected, actual, ignored, drop_maintain, owners, scope),
        _normalised_grants(actual, expected, ignored, drop_maintain, owners, scope),
    ), resolution.hints))
    found.extend(attach_hints(_compare(
        "default_privilege",
        _normalised_defaults(expected, ignored, creators, drop_maintain, scope),
        _normalised_defaults(actual, ignored, creators, drop_maintain, scope),
    ), resolution.hints))
    return found
