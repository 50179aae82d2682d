"""The spec's privileges: settings, default privileges, compact and per-object grants, owners.

A spec states privileges the way a team thinks of them: "every table of the schema to
authenticated, except these", then per object where one differs. This module turns that into
the same effective sets the readers produce (``pgspec.privileges``): each object starts with
what PostgreSQL gives it at creation (the built-in default and the spec's own default
privileges for its owner and schema), the file-level grants replace the entry of each role they
name, and the object's own ``grants:`` replace those. A role given ``none`` (or ``[]``) has
nothing. A spec with no privileges section anywhere says nothing about privileges, and its
grants are not compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from pgspec.catalog import DefaultPrivilege, Grant, PrivilegeSettings
from pgspec.errors import Problem
from pgspec.privileges import (
    DEFAULT_PRIVILEGES,
    PRIVILEGES,
    Acl,
    builtin_default,
    creation_acl,
    default_index,
    default_records,
    grant_records,
    ignored_roles,
)
from pgspec.quoting import qualified
from pgspec.spec import models as m
from pgspec.spec.positions import Pos

__all__ = ["build_privileges"]

#: File-level ``grants:`` keys and the object kinds each covers (``functions`` takes aggregates,
#: as ``GRANT ... ON ALL FUNCTIONS IN SCHEMA`` does).
_CLASSES = {
    "tables": ("table", "view", "materialized_view"),
    "sequences": ("sequence",),
    "functions": ("function", "procedure", "aggregate"),
    "types": ("type",),
}


@dataclass
class _Settings:
    preset: str | None = None
    ignore: set[str] = field(default_factory=set)
    roles: set[str] | None = None
    owner: str | None = None
    owner_at: str | None = None


@dataclass
class _Object:
    """One spec object that can hold grants, with where its privileges were written."""

    on: str
    schema: str
    key: str
    name: str
    location: str | None
    owner: str | None
    grants: Any
    pos: Pos
    columns: list[tuple[str, Any, Pos]] = field(default_factory=list)


class _Build:
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.settings = _Settings()
        self.managed = False

    def problem(self, pos: Pos, message: str) -> None:
        self.problems.append(pos.problem(message))

    # ------------------------------------------------------------------ privilege values

    def privileges(self, on: str, value: Any, pos: Pos, role: str) -> tuple[frozenset[str], frozenset[str]] | None:
        """(privileges, grantable) of one role's value, checked against the object kind."""
        grant_option = False
        if isinstance(value, m.GrantDetailIn):
            grant_option = value.grant_option
            value = value.privileges
        names = [value] if isinstance(value, str) else list(value)
        if "none" in names and len(names) > 1:
            self.problem(pos, f"role {role!r}: 'none' cannot be combined with other privileges")
            return None
        allowed = PRIVILEGES[on]
        found: set[str] = set()
        for name in names:
            if name == "none":
                continue
            if name == "all":
                found.update(allowed)
            elif name not in allowed:
                article = "an" if on[0] in "aeiou" else "a"
                self.problem(pos, f"role {role!r}: {name!r} is not a privilege of {article} {on.replace('_', ' ')} "
                                  f"(expected {', '.join(('all', *allowed))})")
                return None
            else:
                found.add(name)
        privs = frozenset(found)
        return privs, privs if grant_option else frozenset()

    def role_ok(self, role: str, pos: Pos) -> bool:
        known = self.settings.roles
        if known is None or role == "public" or role in known or role in self.settings.ignore:
            return True
        self.problem(pos, f"unknown role {role!r}: privileges.roles lists {', '.join(sorted(known))}")
        return False

    def overlay(self, acl: Acl, on: str, grants: dict[str, Any], pos: Pos, skip: AbstractSet[str] = frozenset()) -> None:
        """Each role named replaces that role's entry of ``acl``."""
        for role, value in grants.items():
            if role in skip:
                continue
            here = pos.child(role)
            if not self.role_ok(role, here):
                continue
            parsed = self.privileges(on, value, here, role)
            if parsed is None:
                continue
            if parsed[0]:
                acl[role] = parsed
            else:
                acl.pop(role, None)

    # ------------------------------------------------------------------ settings

    def settings_of(self, spec: m.FileIn, root: Pos) -> None:
        section = spec.privileges
        if section is None:
            return
        self.managed = True
        pos = root.child("privileges")
        s = self.settings
        if section.preset is not None:
            if s.preset is not None and s.preset != section.preset:
                self.problem(pos.child("preset"), f"privileges preset {section.preset!r} conflicts with {s.preset!r}")
            s.preset = section.preset
        s.ignore.update(section.ignore_roles)
        if section.roles is not None:
            s.roles = (s.roles or set()) | set(section.roles)
        if section.owner is not None:
            if s.owner is not None and s.owner != section.owner:
                self.problem(pos.child("owner"),
                             f"privileges owner {section.owner!r} conflicts with {s.owner!r} (at {s.owner_at})")
            s.owner = section.owner
            s.owner_at = pos.child("owner").location


def _overloads(pos: Pos, value: Any) -> list[tuple[Pos, Any]]:
    """A routine or aggregate entry's overloads with where each is: a list's items, or the one."""
    if isinstance(value, list):
        return [(pos.child(i), item) for i, item in enumerate(value)]
    return [(pos, value)]


def _objects(spec: m.FileIn, root: Pos, functions: dict[str, Any], aggregates: dict[str, Any]) -> Iterator[_Object]:
    """Every object of one file that may hold grants or an owner."""
    schema = spec.schema_name
    section = spec.schemas
    items = {n: None for n in section} if isinstance(section, list) else section
    for i, (name, value) in enumerate(items.items()):
        pos = root.at("schemas", i if isinstance(section, list) else name)
        owner, grants = (value.owner, value.grants) if value is not None else (None, None)
        yield _Object("schema", name, qualified(name), name, pos.location, owner, grants, pos)
    for attr, on in (("enums", "type"), ("domains", "type"), ("composite_types", "type"),
                     ("sequences", "sequence"), ("views", "view"), ("materialized_views", "materialized_view")):
        for name, value in getattr(spec, attr).items():
            pos = root.at(attr, name)
            owner = getattr(value, "owner", None)
            grants = getattr(value, "grants", None)
            yield _Object(on, schema, qualified(schema, name), name, pos.location, owner, grants, pos)
    for name, table in spec.tables.items():
        pos = root.at("tables", name)
        obj = _Object("table", schema, qualified(schema, name), name, pos.location, table.owner, table.grants, pos)
        for col, value in table.columns.items():
            if isinstance(value, m.ColumnIn) and value.grants:
                obj.columns.append((col, value.grants, pos.at("columns", col, "grants")))
        yield obj
    for kind, section in (("function", spec.functions), ("procedure", spec.procedures)):
        for name, value in section.items():
            for here, routine in _overloads(root.at(f"{kind}s", name), value):
                func = functions.get(here.location)
                if func is None:
                    continue
                yield _Object(kind, schema, func.key, name, func.location, routine.owner, routine.grants, here)
    for name, value in spec.aggregates.items():
        for here, entry in _overloads(root.at("aggregates", name), value):
            agg = aggregates.get(here.location)
            if agg is not None:
                yield _Object("aggregate", schema, agg.key, name, agg.location, entry.owner, entry.grants, here)


def _default_entries(spec: m.FileIn, root: Pos) -> Iterator[tuple[m.DefaultPrivilegesIn, Pos]]:
    section = spec.default_privileges
    if section is None:
        return
    if isinstance(section, list):
        for i, entry in enumerate(section):
            yield entry, root.at("default_privileges", i)
    else:
        yield section, root.child("default_privileges")


def build_privileges(validated: list[tuple[m.FileIn, Pos]], objects: dict[str, dict[str, Any]],
                     problems: list[Problem]) -> dict[str, Any]:
    """Catalog fields (``owners``, ``grants``, ``default_privileges``, ``privileges``) a spec
    states, or nothing when it says nothing about privileges. Problems are appended."""
    build = _Build(problems)
    for spec, root in validated:
        build.settings_of(spec, root)
    settings = build.settings
    settings.ignore = set(ignored_roles(settings.preset, settings.ignore))
    by_location = {f.location: f for f in objects.get("functions", {}).values()}
    aggregates_by_location = {a.location: a for a in objects.get("aggregates", {}).values()}

    # Default privileges first: they decide what every object starts with.
    defaults: dict[str, DefaultPrivilege] = {}
    for spec, root in validated:
        for entry, pos in _default_entries(spec, root):
            build.managed = True
            role = entry.role if entry.role is not None else settings.owner
            schema = None if entry.global_ else (entry.schema_name or spec.schema_name)
            if entry.global_ and entry.schema_name is not None:
                build.problem(pos.child("global"), "a global default privilege takes no 'schema'")
                continue
            for target in DEFAULT_PRIVILEGES:
                target_grants = getattr(entry, target)
                if target_grants is None:
                    continue
                here = pos.child(target)
                if target == "schemas" and schema is not None:
                    build.problem(here, "default privileges on schemas exist only globally (global: true)")
                    continue
                on = {"tables": "table", "sequences": "sequence", "functions": "function",
                      "types": "type", "schemas": "schema"}[target]
                acl: Acl = builtin_default(on) if schema is None else {}
                build.overlay(acl, on, target_grants, here)
                for rec in default_records(role, schema, target, acl):
                    rec = rec.model_copy(update={"location": here.child(rec.grantee).location})
                    if rec.key in defaults:
                        build.problem(here, f"default privilege {rec.key!r} is declared twice "
                                            f"(first at {defaults[rec.key].location})")
                        continue
                    defaults[rec.key] = rec
    index = default_index(defaults.values())

    # File-level grants, per (schema, class): every object of that kind in the schema, entries
    # applied in order.
    classes: dict[tuple[str, str], list[tuple[m.ClassGrantsIn, Pos]]] = {}
    for spec, root in validated:
        if spec.grants is None:
            continue
        build.managed = True
        for cls in _CLASSES:
            value = getattr(spec.grants, cls)
            if value is None:
                continue
            pos = root.at("grants", cls)
            slot = (spec.schema_name, cls)
            if slot in classes:
                build.problem(pos, f"grants on {cls} of schema {spec.schema_name!r} are declared twice "
                                   f"(first at {classes[slot][0][1].location})")
                continue
            entries = value if isinstance(value, list) else [value]
            classes[slot] = [(entry, pos.child(i) if isinstance(value, list) else pos)
                             for i, entry in enumerate(entries)]

    all_objects = [obj for spec, root in validated
                   for obj in _objects(spec, root, by_location, aggregates_by_location)]
    # Objects the spec implies (a serial column's sequence, a trait's view) get the grants
    # of their kind and schema too, as the server gives them the default privileges.
    seen = {obj.key for obj in all_objects}
    for attr, on in (("sequences", "sequence"), ("tables", "table"), ("views", "view"),
                     ("materialized_views", "materialized_view"), ("enums", "type"), ("domains", "type"),
                     ("composite_types", "type"), ("functions", "function")):
        for key, found in objects.get(attr, {}).items():
            if key in seen:
                continue
            if attr == "functions" and found.kind_of_object == "procedure":
                on = "procedure"
            pos = Pos(found.location or "", None, 0)
            all_objects.append(_Object(on, found.schema_name, key, found.name, found.location, None, None, pos))
    # Collations have an owner and no ACL: owners only.
    collation_owners = {qualified(spec.schema_name, name): entry.owner
                        for spec, _ in validated for name, entry in spec.collations.items()}
    if any(owner is not None for owner in collation_owners.values()):
        build.managed = True
    if any(obj.grants is not None or obj.owner is not None or obj.columns for obj in all_objects):
        build.managed = True
    if not build.managed:
        return {}

    # ``except:`` must name objects of that kind in that schema.
    names_by_class: dict[tuple[str, str], set[str]] = {}
    for obj in all_objects:
        for cls, kinds in _CLASSES.items():
            if obj.on in kinds:
                names_by_class.setdefault((obj.schema, cls), set()).add(obj.name)
    for (schema, cls), entries in classes.items():
        for value, pos in entries:
            for key, listed in (("except", value.except_), ("only", value.only or [])):
                for i, name in enumerate(listed):
                    if name not in names_by_class.get((schema, cls), set()):
                        build.problem(pos.at(key, i), f"{key!r} names {name!r}, which is not one of the "
                                                      f"{cls} of schema {schema!r} in the spec")

    owners: dict[str, str] = {}
    grants: dict[str, Grant] = {}
    for obj in all_objects:
        owner = obj.owner
        if owner is None and settings.owner is not None and obj.key != "public":
            owner = settings.owner  # the public schema is initdb's, not the spec's
        if owner is not None:
            owners[obj.key] = owner
        acl = creation_acl(obj.on, obj.schema, owner, index)
        for cls, kinds in _CLASSES.items():
            if obj.on not in kinds:
                continue
            for value, pos in classes.get((obj.schema, cls), []):
                if obj.name in value.except_ or (value.only is not None and obj.name not in value.only):
                    continue
                build.overlay(acl, obj.on, dict(value.__pydantic_extra__ or {}), pos)
        if obj.grants:
            build.overlay(acl, obj.on, obj.grants, obj.pos.child("grants"))
        for record in grant_records(obj.on, obj.schema, obj.key, acl, owner):
            grants[record.key] = record.model_copy(update={"location": obj.location})
        for col, col_grants, pos in obj.columns:
            col_acl: Acl = {}
            build.overlay(col_acl, "column", col_grants, pos)
            col_key = qualified(obj.schema, obj.name, col)
            for record in grant_records("column", obj.schema, col_key, col_acl, owner):
                grants[record.key] = record.model_copy(update={"location": pos.location})
    for key, owner in collation_owners.items():
        owner = owner if owner is not None else settings.owner
        if owner is not None and key in objects.get("collations", {}):
            owners[key] = owner
    return {
        "owners": dict(sorted(owners.items())),
        "grants": dict(sorted(grants.items())),
        "default_privileges": dict(sorted(defaults.items())),
        "privileges": PrivilegeSettings(ignore_roles=sorted(settings.ignore), owner=settings.owner, maintain=True),
    }
