"""Replaying GRANT, REVOKE, ALTER DEFAULT PRIVILEGES and OWNER TO, as the server applies them.

An object's ACL starts as the server makes it at creation (``pgspec.privileges.creation_acl``:
the built-in default plus the default privileges in force for the creating role), and each
GRANT or REVOKE changes it. A script's CREATE runs as the role in force (``SET ROLE``, ``SET
SESSION AUTHORIZATION``), which owns what it creates and whose default privileges it gets; by
default that is the unknown role running the script (``None``), to which ``ALTER DEFAULT
PRIVILEGES`` without ``FOR ROLE`` applies, and ``CURRENT_USER`` as a grantee is the grantee
``current_user`` (``script_runner.RUNNER``): the comparison settles who that was from the other
side. pg_dump writes its default privileges after every object, so they never reach the objects
of a dump, exactly as on restore.

The grantor (``GRANTED BY``, ``SET SESSION AUTHORIZATION``) does not change what a role can do,
so it is read and dropped; role memberships (``GRANT role TO role``, with PostgreSQL 16's
``INHERIT``/``SET``/``ADMIN`` options) belong to the cluster and are not modelled.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from pglast import ast, enums

from pgspec.catalog import DefaultPrivilege, Grant, PrivilegeSettings
from pgspec.privileges import (
    DEFAULT_PRIVILEGES,
    DEFAULT_TARGET,
    PRIVILEGES,
    Acl,
    acl_grant,
    acl_revoke,
    builtin_default,
    creation_acl,
    default_records,
    grant_records,
)
from pgspec.quoting import qualified
from pgspec.script_runner import RUNNER
from pgspec.sources.replay import collations
from pgspec.sources.replay.aggregates import aggregate_key
from pgspec.sources.replay.routines import function_key
from pgspec.sources.replay.state import State, names_of

__all__ = ["PrivilegeState", "apply", "carry", "carry_column", "catalog_parts", "claims", "forget",
           "forget_object"]

OT = enums.ObjectType

#: Object stores of the replay state and the grant target of their objects.
_STORES = (
    ("schemas", "schema"),
    ("tables", "table"),
    ("views", "view"),
    ("materialized_views", "materialized_view"),
    ("sequences", "sequence"),
    ("enums", "type"),
    ("domains", "type"),
    ("composite_types", "type"),
    ("functions", "function"),
    ("aggregates", "aggregate"),
)
_STORE_NAMES = frozenset(plural for plural, _ in _STORES)
#: The stores in creation order within one statement (a table before its serial's sequence).
_PLURALS = tuple(dict.fromkeys(plural for plural, _ in _STORES))
#: Stores of objects that have an owner but no ACL (a collation): owners only.
_OWNED_ONLY = ("collations",)
_TARGET_OF_OBJTYPE = {
    OT.OBJECT_TABLE: "tables",
    OT.OBJECT_SEQUENCE: "sequences",
    OT.OBJECT_FUNCTION: "functions",
    OT.OBJECT_PROCEDURE: "functions",
    OT.OBJECT_ROUTINE: "functions",
    OT.OBJECT_TYPE: "types",
    OT.OBJECT_DOMAIN: "types",
    OT.OBJECT_SCHEMA: "schemas",
}
_ON_OF_TARGET = {"tables": "table", "sequences": "sequence", "functions": "function",
                 "types": "type", "schemas": "schema"}


class PrivilegeState:
    """ACLs changed so far, owners, default privileges in force, and whether any statement
    about privileges was seen (a script without any says nothing about them)."""

    def __init__(self) -> None:
        #: (on, key) -> ACL, for objects whose ACL is no longer "as created".
        self.acls: dict[tuple[str, str], Acl] = {}
        #: key -> owner role (OWNER TO).
        self.owners: dict[str, str] = {}
        #: key -> the role that created it, where the script named one (SET ROLE, SET SESSION
        #: AUTHORIZATION); objects the unknown running role created are not listed.
        self.creators: dict[str, str] = {}
        #: How many objects each store held when creations were last noted (``note_creations``).
        self.sizes: dict[str, int] = {}
        #: (role or None, schema or None, target) -> ACL of that default-privilege entry.
        self.defaults: dict[tuple[str | None, str | None, str], Acl] = {}
        self.seen = False


def _privileges(state: State) -> PrivilegeState:
    found = state.__dict__.get("privileges")
    if found is None:
        found = PrivilegeState()
        state.__dict__["privileges"] = found
    return found


def claims(text: str) -> bool:
    """Whether a statement the replayer skips as unparsed is one this module replays, or one
    it needs replayed: ``SET ROLE`` and ``SET SESSION AUTHORIZATION`` (and their RESETs) decide
    who owns what the script creates next and whose default privileges it sets."""
    words = text[:200].split(None, 3)
    if not words:
        return False
    first = words[0].upper()
    if first in ("GRANT", "REVOKE"):
        return True
    if first in ("SET", "RESET") and len(words) > 1:
        rest = [w.upper() for w in words[1:]]
        if rest[0] in ("SESSION", "LOCAL") and len(rest) > 1:
            rest = rest[1:]
        return rest[0] in ("ROLE", "AUTHORIZATION") or rest[0].startswith("ROLE")
    if first == "ALTER" and len(words) > 1:
        if words[1].upper() == "DEFAULT":
            return True
        return " OWNER TO " in text.upper()
    return False


# --------------------------------------------------------------------------- objects


def _on_of(state: State, plural: str, obj: Any) -> str:
    if plural == "functions":
        return "procedure" if obj.kind_of_object == "procedure" else "function"
    return dict(_STORES)[plural]


def _schema_of(obj: Any) -> str:
    return getattr(obj, "schema_name", None) or obj.name


def _find(state: State, key: str, plurals: tuple[str, ...]) -> tuple[str, Any] | None:
    for plural in plurals:
        obj = state.objects[plural].get(key)
        if obj is not None:
            return plural, obj
    return None


def _relation(state: State, rv: ast.RangeVar) -> tuple[str, str, str]:
    """(on, schema, key) of a relation a GRANT ON TABLE names (views and sequences too)."""
    schema, name = state.relation_key(rv)
    key = qualified(schema, name)
    found = _find(state, key, ("tables", "views", "materialized_views", "sequences"))
    on = _on_of(state, found[0], found[1]) if found else "table"
    return on, schema, key


def forget(state: State, on: str, key: str) -> None:
    """An object is created anew (after a DROP): the ACL and owner its dropped namesake had
    are gone, and it gets the ACL of its own creation."""
    priv = state.__dict__.get("privileges")
    if priv is not None:
        priv.acls.pop((on, key), None)
        priv.owners.pop(key, None)
        priv.creators.pop(key, None)


def forget_object(state: State, plural: str, obj: Any) -> None:
    """An object dropped (``DROP``, or with its schema): the server forgets its ACL, its owner
    and its columns' ACLs with it, so an object created later under the same name starts
    with the privileges of its own creation."""
    if plural in _OWNED_ONLY:
        forget(state, plural, obj.key)
        return
    if plural not in _STORE_NAMES:
        return
    forget(state, _on_of(state, plural, obj), obj.key)
    priv = state.__dict__.get("privileges")
    if priv is not None and plural in ("tables", "views", "materialized_views"):
        for kind, col_key in list(priv.acls):
            if kind == "column" and col_key.rpartition(".")[0] == obj.key:
                del priv.acls[(kind, col_key)]


def carry(state: State, plural: str, obj: Any, old_key: str) -> None:
    """A renamed object (``obj``, under its new key) keeps the ACL, the owner and the column
    ACLs it had under ``old_key``: a rename changes a name, not an object."""
    priv = state.__dict__.get("privileges")
    if priv is None or old_key == obj.key or plural not in (*_STORE_NAMES, *_OWNED_ONLY):
        return
    on = _on_of(state, plural, obj) if plural in _STORE_NAMES else plural
    if (on, old_key) in priv.acls:
        priv.acls[(on, obj.key)] = priv.acls.pop((on, old_key))
    if old_key in priv.owners:
        priv.owners[obj.key] = priv.owners.pop(old_key)
    if old_key in priv.creators:
        priv.creators[obj.key] = priv.creators.pop(old_key)
    for kind, col_key in list(priv.acls):
        if kind == "column" and col_key.rpartition(".")[0] == old_key:
            column = col_key[len(old_key) + 1:]
            priv.acls[(kind, f"{obj.key}.{column}")] = priv.acls.pop((kind, col_key))


def carry_column(state: State, table_key: str, old: str, new: str) -> None:
    """A renamed column keeps its own grants."""
    priv = state.__dict__.get("privileges")
    old_key = f"{table_key}.{qualified(old)}"
    if priv is not None and ("column", old_key) in priv.acls:
        priv.acls[("column", f"{table_key}.{qualified(new)}")] = priv.acls.pop(("column", old_key))


def _aggregate_named(state: State, obj: ast.ObjectWithArgs) -> tuple[str, str] | None:
    """(schema, key) when a routine name (``GRANT ... ON FUNCTION``, ``ALTER FUNCTION``)
    denotes an aggregate: PostgreSQL looks aggregates up through the same pg_proc names, so
    ``ON FUNCTION agg(int)`` and ``ON ALL FUNCTIONS IN SCHEMA`` reach them (checked on 15 and 18)."""
    parts = names_of(obj.objname)
    schema, name = state.object_key(
        parts, lambda k: k in state.aggregate_names or k in state.function_names)
    if qualified(schema, name) not in state.aggregate_names:
        return None
    aggregates = state.objects["aggregates"]
    if obj.args_unspecified:
        # ``ON FUNCTION agg`` without arguments: the one routine of that name.
        if qualified(schema, name) in state.function_names:
            return None
        matches = [k for k, a in aggregates.items() if a.schema_name == schema and a.name == name]
        return (schema, matches[0]) if len(matches) == 1 else None
    key = aggregate_key(state, obj)
    if key in aggregates or qualified(schema, name) not in state.function_names:
        return schema, key
    return None


def _current(state: State, on: str, schema: str, key: str) -> Acl:
    """The ACL of an object, made as its creation made it when nothing changed it yet."""
    priv = _privileges(state)
    slot = (on, key)
    if slot not in priv.acls:
        priv.acls[slot] = creation_acl(on, schema, priv.creators.get(key), priv.defaults)
    return priv.acls[slot]


def _owner(priv: PrivilegeState, key: str) -> str | None:
    """The role owning an object: OWNER TO's, else its creator's; None is the running role."""
    return priv.owners.get(key) or priv.creators.get(key)


def note_creations(state: State) -> None:
    """Remember which role created the objects the statements since the last call made: the
    role in force (SET ROLE, SET SESSION AUTHORIZATION) owns them and its default privileges
    gave them their ACL. Called before every statement, so a SET ROLE is seen after the
    objects made before it, and at the end. Stores keep insertion order: the new objects are
    the last ones (a rename re-inserts its object but adds none). A serial's sequence belongs
    to its table's owner, whoever adds the column."""
    priv = _privileges(state)
    role = state.current_role
    for plural in (*_PLURALS, *_OWNED_ONLY):
        store = state.objects[plural]
        size = len(store)
        last = priv.sizes.get(plural, 0)
        priv.sizes[plural] = size
        if size <= last or (role is None and plural != "sequences"):
            continue
        for key in islice(reversed(store), size - last):
            creator = role
            owned_by = getattr(store[key], "owned_by", None) if plural == "sequences" else None
            if owned_by is not None:
                creator = _owner(priv, owned_by.rpartition(".")[0])
            if creator is not None and key not in priv.owners:
                priv.creators.setdefault(key, creator)


def _targets(state: State, stmt: ast.GrantStmt) -> list[tuple[str, str, str]]:
    """(on, schema, key) of every object a GRANT/REVOKE names."""
    objtype = stmt.objtype
    found: list[tuple[str, str, str]] = []
    if stmt.targtype == enums.GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
        schemas = {n.sval for n in stmt.objects or () if isinstance(n, ast.String)}
        if objtype == OT.OBJECT_TABLE:
            plurals: tuple[str, ...] = ("tables", "views", "materialized_views")
        elif objtype == OT.OBJECT_SEQUENCE:
            plurals = ("sequences",)
        elif objtype == OT.OBJECT_PROCEDURE:
            plurals = ("functions",)
        else:
            # ALL FUNCTIONS and ALL ROUTINES take aggregates too (PostgreSQL's
            # objectsInSchemaToOids leaves out only procedures for FUNCTIONS).
            plurals = ("functions", "aggregates")
        for plural in plurals:
            for key, obj in state.objects[plural].items():
                if obj.schema_name not in schemas:
                    continue
                on = _on_of(state, plural, obj)
                if objtype == OT.OBJECT_FUNCTION and on == "procedure":
                    continue
                if objtype == OT.OBJECT_PROCEDURE and on == "function":
                    continue
                found.append((on, obj.schema_name, key))
        return found
    for item in stmt.objects or ():
        if objtype in (OT.OBJECT_TABLE, OT.OBJECT_SEQUENCE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW):
            on, schema, key = _relation(state, item)
            if objtype == OT.OBJECT_SEQUENCE:
                on = "sequence"
            found.append((on, schema, key))
        elif objtype in (OT.OBJECT_FUNCTION, OT.OBJECT_ROUTINE) and (
                aggregate := _aggregate_named(state, item)) is not None:
            found.append(("aggregate", *aggregate))
        elif objtype in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE):
            key = function_key(state, item)
            if key is None:
                continue
            obj = state.objects["functions"].get(key)
            on = "procedure" if (obj is not None and obj.kind_of_object == "procedure") or (
                obj is None and objtype == OT.OBJECT_PROCEDURE) else "function"
            schema = obj.schema_name if obj is not None else state.object_key(
                names_of(item.objname), state.function_names.__contains__)[0]
            found.append((on, schema, key))
        elif objtype == OT.OBJECT_SCHEMA:
            found.append(("schema", item.sval, qualified(item.sval)))
        elif objtype in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
            parts = names_of(item.names) if isinstance(item, ast.TypeName) else names_of(item)
            schema, name = state.object_key(parts, state.known_types.__contains__)
            found.append(("type", schema, qualified(schema, name)))
        # Databases, languages, large objects, tablespaces, foreign servers: not modelled.
    return found


def _role_of(state: State, spec: ast.RoleSpec) -> str | None:
    """The role a RoleSpec names: CURRENT_USER/CURRENT_ROLE is the role in force and
    SESSION_USER the session's, None while that is the unknown role running the script."""
    kind = spec.roletype
    if kind == enums.RoleSpecType.ROLESPEC_PUBLIC:
        return "public"
    if kind == enums.RoleSpecType.ROLESPEC_SESSION_USER:
        return state.session_user
    if kind in (enums.RoleSpecType.ROLESPEC_CURRENT_USER, enums.RoleSpecType.ROLESPEC_CURRENT_ROLE):
        return state.current_role
    return spec.rolename


def _grantees(state: State, stmt: Any) -> list[str]:
    """Grantee names; the unknown running role is ``RUNNER`` (``current_user``, a name
    PostgreSQL reserves), which the comparison settles (``pgspec.script_runner``)."""
    names = []
    for spec in stmt.grantees or ():
        role = _role_of(state, spec)
        names.append(role if role is not None else RUNNER)
    return names


def _privilege_names(on: str, privs: Any) -> tuple[set[str], dict[str, set[str]]]:
    """Object-level privileges and column privileges (column -> privileges) of a statement."""
    whole: set[str] = set()
    columns: dict[str, set[str]] = {}
    if not privs:
        return set(PRIVILEGES[on]), columns
    for priv in privs:
        names = set(PRIVILEGES["column"]) if priv.priv_name is None else {priv.priv_name.lower()}
        if priv.cols:
            for col in priv.cols:
                columns.setdefault(col.sval, set()).update(names)
        else:
            whole.update(PRIVILEGES[on] if priv.priv_name is None else names)
    return whole, columns


def _change(acl: Acl, stmt: Any, grantees: list[str], privileges: set[str]) -> None:
    for grantee in grantees:
        if stmt.is_grant:
            acl_grant(acl, grantee, privileges, grant_option=bool(stmt.grant_option))
        else:
            acl_revoke(acl, grantee, privileges, grant_option_only=bool(stmt.grant_option))


def grant(state: State, stmt: ast.GrantStmt) -> None:
    priv = _privileges(state)
    priv.seen = True
    grantees = _grantees(state, stmt)
    for on, schema, key in _targets(state, stmt):
        if not state.keep(schema):
            continue
        whole, columns = _privilege_names(on, stmt.privileges)
        if whole:
            _change(_current(state, on, schema, key), stmt, grantees, whole & set(PRIVILEGES[on]))
        for column, names in columns.items():
            col_key = f"{key}.{qualified(column)}"
            acl = priv.acls.setdefault(("column", col_key), {})
            _change(acl, stmt, grantees, names)
            if not stmt.is_grant and not acl:
                del priv.acls[("column", col_key)]
        if not stmt.is_grant and whole and on in ("table", "view", "materialized_view"):
            # Revoking a table privilege revokes it on every column too (PostgreSQL's
            # ExecGrant_Relation does the same for the column ACLs).
            for (kind, col_key), acl in list(priv.acls.items()):
                if kind == "column" and col_key.rpartition(".")[0] == key:
                    _change(acl, stmt, grantees, whole & set(PRIVILEGES["column"]))


def _materialise(state: State, target: str) -> None:
    """Give every existing object the ACL its creation gave it, before default privileges
    change: they apply only to objects created afterwards."""
    priv = _privileges(state)
    for plural, _ in _STORES:
        for key, obj in state.objects[plural].items():
            real_on = _on_of(state, plural, obj)
            if DEFAULT_TARGET[real_on] != target:
                continue
            if (real_on, key) not in priv.acls:
                priv.acls[(real_on, key)] = creation_acl(real_on, _schema_of(obj), priv.creators.get(key),
                                                         priv.defaults)


def alter_default_privileges(state: State, stmt: ast.AlterDefaultPrivilegesStmt) -> None:
    priv = _privileges(state)
    priv.seen = True
    # Without FOR ROLE: the role in force (None, the unknown running role, by default).
    roles: list[str | None] = [state.current_role]
    schemas: list[str | None] = [None]
    for option in stmt.options or ():
        if option.defname == "roles":
            roles = [_role_of(state, r) for r in option.arg]
        elif option.defname == "schemas":
            schemas = [s.sval for s in option.arg]
    action = stmt.action
    target = _TARGET_OF_OBJTYPE.get(action.objtype)
    if target is None:
        return  # large objects
    _materialise(state, target)
    names = set(DEFAULT_PRIVILEGES[target]) if not action.privileges else {
        p.priv_name.lower() for p in action.privileges if p.priv_name}
    grantees = _grantees(state, action)
    on = _ON_OF_TARGET[target]
    for role in roles:
        for schema in schemas:
            slot = (role, schema, target)
            if slot not in priv.defaults:
                priv.defaults[slot] = builtin_default(on) if schema is None else {}
            acl = priv.defaults[slot]
            _change(acl, action, grantees, names)
            # The server keeps no entry that says nothing beyond the built-in default.
            if (schema is None and acl == builtin_default(on)) or (schema is not None and not acl):
                del priv.defaults[slot]


def _owner_key(state: State, objtype: Any, obj: Any) -> str | None:
    if objtype == OT.OBJECT_SCHEMA:
        return qualified(obj.sval)
    if objtype == OT.OBJECT_AGGREGATE:
        return aggregate_key(state, obj)
    if objtype == OT.OBJECT_COLLATION:
        return collations.key_of(state, obj)
    if objtype in (OT.OBJECT_FUNCTION, OT.OBJECT_ROUTINE) and (
            aggregate := _aggregate_named(state, obj)) is not None:
        return aggregate[1]
    if objtype in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE):
        return function_key(state, obj)
    if objtype in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
        parts = names_of(obj.names) if isinstance(obj, ast.TypeName) else names_of(obj)
        schema, name = state.object_key(parts, state.known_types.__contains__)
        return qualified(schema, name)
    return None


def _new_owner(state: State, key: str, spec: ast.RoleSpec) -> None:
    """OWNER TO: the new owner takes the old one's place in the object's ACL, as the server's
    aclnewowner does (so an old owner's own entry does not turn into a grant). OWNER TO
    CURRENT_USER while that is the unknown running role gives the object back to it."""
    priv = _privileges(state)
    new = _role_of(state, spec)
    old = _owner(priv, key)
    found = _find(state, key, _PLURALS)
    if found is not None and old != new:
        plural, obj = found
        slots = [(_on_of(state, plural, obj), key)]
        if plural in ("tables", "views", "materialized_views"):
            slots.extend(("column", f"{key}.{qualified(c if isinstance(c, str) else c.name)}")
                         for c in obj.columns)
        for slot in slots:
            acl = priv.acls.get(slot)
            entry = acl.pop(old if old is not None else RUNNER, None) if acl is not None else None
            if acl is not None and entry is not None:
                acl_grant(acl, new if new is not None else RUNNER, entry[0])
                acl_grant(acl, new if new is not None else RUNNER, entry[1], grant_option=True)
    if new is None:
        priv.owners.pop(key, None)
        priv.creators.pop(key, None)
    else:
        priv.owners[key] = new


def alter_owner(state: State, stmt: ast.AlterOwnerStmt) -> None:
    priv = _privileges(state)
    priv.seen = True
    key = _owner_key(state, stmt.objectType, stmt.object)
    if key is not None and stmt.newowner is not None:
        _new_owner(state, key, stmt.newowner)


def alter_table_owner(state: State, stmt: ast.AlterTableStmt) -> None:
    priv = _privileges(state)
    priv.seen = True
    schema, name = state.relation_key(stmt.relation)
    for cmd in stmt.cmds or ():
        if cmd.subtype == enums.AlterTableType.AT_ChangeOwner and cmd.newowner:
            _new_owner(state, qualified(schema, name), cmd.newowner)


def apply(state: State, node: Any) -> bool:
    """Replay one parsed statement if it is about privileges; False when it is not. Every
    statement passes here first, which notes who created what the ones before it made."""
    note_creations(state)
    if isinstance(node, ast.GrantStmt):
        grant(state, node)
    elif isinstance(node, ast.GrantRoleStmt):
        pass  # role membership: cluster-wide, not part of a schema
    elif isinstance(node, ast.AlterDefaultPrivilegesStmt):
        alter_default_privileges(state, node)
    elif isinstance(node, ast.AlterOwnerStmt):
        alter_owner(state, node)
    elif isinstance(node, ast.AlterTableStmt) and node.cmds and all(
            c.subtype == enums.AlterTableType.AT_ChangeOwner for c in node.cmds):
        alter_table_owner(state, node)
    else:
        return False
    return True


# --------------------------------------------------------------------------- the result


def catalog_parts(state: State) -> dict[str, Any]:
    """Owners, grants, default privileges and settings, for the
    Catalog; nothing when the script said nothing about privileges."""
    priv = state.__dict__.get("privileges")
    if priv is None or not priv.seen:
        return {}
    note_creations(state)
    grants: dict[str, Grant] = {}
    owners: dict[str, str | None] = {}
    for plural, _ in _STORES:
        for key, obj in state.objects[plural].items():
            on = _on_of(state, plural, obj)
            owner = _owner(priv, key)
            owned_by = getattr(obj, "owned_by", None) if plural == "sequences" else None
            if owned_by is not None:
                # A serial's (OWNED BY) sequence always has its table's owner: the server
                # refuses any other and ALTER TABLE ... OWNER TO takes the sequence along.
                owner = _owner(priv, owned_by.rpartition(".")[0])
            owners[key] = owner
            acl = priv.acls.get((on, key))
            if acl is None:
                acl = creation_acl(on, _schema_of(obj), priv.creators.get(key), priv.defaults)
            # The owner's own entry is never listed; None owner is the running role (RUNNER).
            for record in grant_records(on, _schema_of(obj), key, acl, owner or RUNNER):
                grants[record.key] = record
    for plural in _OWNED_ONLY:
        for key in state.objects[plural]:
            owners[key] = _owner(priv, key)
    for (kind, col_key), acl in priv.acls.items():
        if kind != "column":
            continue
        table_key = col_key.rpartition(".")[0]
        found = _find(state, table_key, ("tables", "views", "materialized_views"))
        if found is None:
            continue
        for record in grant_records("column", found[1].schema_name, col_key, acl,
                                    owners.get(table_key) or RUNNER):
            grants[record.key] = record
    defaults: dict[str, DefaultPrivilege] = {}
    for (role, schema, target), acl in priv.defaults.items():
        if schema is not None and not state.keep(schema):
            continue
        for rec in default_records(role, schema, target, acl):
            if role is None and rec.grantee == RUNNER:
                continue  # the running role's own entry (TO CURRENT_USER), as FOR ROLE's is
            defaults[rec.key] = rec
    return {
        "owners": {k: v for k, v in sorted(owners.items()) if v is not None},
        "grants": dict(sorted(grants.items())),
        "default_privileges": dict(sorted(defaults.items())),
        "privileges": PrivilegeSettings(),
    }
