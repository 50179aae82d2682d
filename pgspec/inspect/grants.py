"""Privileges written back as a spec states them: settings, default privileges, and per object
only what differs from what the object gets when it is created.

The spec loader starts every object from its creation ACL (PostgreSQL's built-in default plus
the spec's default privileges for its owner and schema, ``pgspec.privileges.creation_acl``) and
lets an object's ``grants:`` replace the entry of each role it names. So the writer computes
the same creation ACL and names exactly the roles whose effective privileges differ from it
(``none`` for a role that lost everything): a database that follows its default privileges
gets a spec with no per-object grants at all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from pgspec.catalog import Catalog
from pgspec.inspect.yamlout import Flow, FlowList
from pgspec.privileges import Acl, creation_acl, default_index, expand

#: Default-privilege targets in the order a spec lists them.
_TARGETS = ("tables", "sequences", "functions", "types", "schemas")

#: File-level grant classes and the object kinds each covers (as the spec loader applies them).
CLASSES = {
    "tables": ("table", "view", "materialized_view"),
    "sequences": ("sequence",),
    "functions": ("function", "procedure", "aggregate"),
    "types": ("type",),
}
_CLASS_OF = {on: cls for cls, kinds in CLASSES.items() for on in kinds}

_NOTHING: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())


class Privileges:
    """What one catalog says about privileges, ready to be attached to spec entries."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.managed = catalog.privileges is not None
        self.notes: list[str] = []
        owners = [o for k, o in catalog.owners.items() if k != "public"]
        self.owner = Counter(owners).most_common(1)[0][0] if owners else None
        self.index = default_index(catalog.default_privileges.values())
        #: Keys whose grants go on their own entry: overloads of one name with different grants
        #: (``only:`` lists names) -> the roles every class entry of theirs names.
        self.per_object: dict[str, set[str]] = {}
        self.acls: dict[tuple[str, str], Acl] = defaultdict(dict)
        for grant in catalog.grants.values():
            self.acls[(grant.on, grant.object)][grant.grantee] = (frozenset(grant.privileges),
                                                                   frozenset(grant.grantable))

    # ---------------------------------------------------------------- file level

    def settings(self) -> dict[str, Any] | None:
        """The ``privileges:`` section (owner, ignored roles), or None when the source says
        nothing about privileges."""
        if not self.managed:
            return None
        settings = self.catalog.privileges
        entry: dict[str, Any] = {}
        if self.owner:
            entry["owner"] = self.owner
        if settings is not None and settings.ignore_roles:
            entry["ignore_roles"] = FlowList(settings.ignore_roles)
        return Flow(entry)

    def default_privileges(self) -> list[dict[str, Any]]:
        """``default_privileges:`` entries, one per (creating role, schema or global)."""
        groups: dict[tuple[str | None, str | None], dict[str, dict[str, Any]]] = defaultdict(dict)
        for rec in sorted(self.catalog.default_privileges.values(), key=lambda r: r.key):
            grants = groups[(rec.role, rec.schema_name)].setdefault(rec.on, {})
            grants[rec.grantee] = self._value(rec.on, rec.privileges, rec.grantable, f"default privilege {rec.key}")
        out = []
        for (role, schema), targets in sorted(groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
            entry: dict[str, Any] = {}
            if role is not None:
                entry["role"] = role
            if schema is None:
                entry["global"] = True
            else:
                entry["schema"] = schema
            for target in _TARGETS:
                if target in targets:
                    entry[target] = Flow(targets[target])
            out.append(entry)
        return out

    # ---------------------------------------------------------------- per object

    def extras(self, on: str, key: str, schema: str | None) -> dict[str, Any]:
        """``owner:`` and ``grants:`` for one object's entry (empty when it follows defaults)."""
        if not self.managed:
            return {}
        out: dict[str, Any] = {}
        owner = self.catalog.owners.get(key)
        if owner is not None and owner != self.owner and key != "public":
            out["owner"] = owner
        if on in _CLASS_OF and key not in self.per_object:
            return out  # the file's class grants (``class_grants``) say it
        if key in self.per_object:
            created = creation_acl(on, schema, owner or self.owner, self.index)
            actual = self.acls.get((on, key), {})
            roles = sorted((set(created) | set(actual) | self.per_object[key]) - {owner or self.owner})
            grants = {r: self._value(on, sorted(actual[r][0]), sorted(actual[r][1]), f"{on} {key}")
                      if r in actual else "none" for r in roles}
            if grants:
                out["grants"] = Flow(grants)
            return out
        grants = self.differing(on, key, schema, owner if owner is not None else self.owner)
        if grants:
            out["grants"] = Flow(grants)
        return out

    def class_grants(self, schema: str, members: list[tuple[str, str, str]]) -> dict[str, Any]:
        """The file's ``grants:`` for the objects of one schema, as the team writes them: per
        class, one entry with what most objects have, then ``only:`` entries for the rest.

        ``members`` are (kind, key, name) of every object of the schema that can hold grants.
        Roles whose privileges match what creation gives on every object are not named.
        """
        if not self.managed:
            return {}
        out: dict[str, Any] = {}
        for cls, kinds in CLASSES.items():
            group = sorted((m for m in members if m[0] in kinds), key=lambda m: m[2])
            if group:
                entries = self._class_entries(schema, group)
                if entries:
                    out[cls] = entries
        return out

    def _class_entries(self, schema: str, group: list[tuple[str, str, str]]) -> list[Any]:
        created: dict[str, Acl] = {}
        actual: dict[str, Acl] = {}
        owners: dict[str, str | None] = {}
        seen: dict[str, tuple[str, Acl]] = {}
        alone: list[str] = []
        for on, key, name in group:
            acl = self.acls.get((on, key), {})
            if name in seen and seen[name][1] != acl:
                alone += [key, seen[name][0]]
            seen.setdefault(name, (key, acl))
        single = [m for m in group if m[1] not in alone]
        for on, key, name in single:
            owner = self.catalog.owners.get(key, self.owner)
            owners[name] = owner
            created[name] = creation_acl(on, schema, owner, self.index)
            actual[name] = self.acls.get((on, key), {})
        group = single
        roles = sorted({r for acl in (*created.values(), *actual.values()) for r in acl})
        first: dict[str, Any] = {}
        exceptions: dict[tuple[str, ...], dict[str, Any]] = {}
        kind = group[0][0]
        for role in roles:
            names = [n for _, _, n in group if owners[n] != role]
            per = {n: actual[n].get(role, _NOTHING) for n in names}
            if all(per[n] == created[n].get(role, _NOTHING) for n in names):
                continue
            common = Counter(per.values()).most_common(1)[0][0]
            # The first entry is needed only where creation does not already give the common value.
            if any(per[n] == common and created[n].get(role, _NOTHING) != common for n in names):
                first[role] = self._value(kind, sorted(common[0]), sorted(common[1]), f"{role} on {schema}")
                baseline = {n: common for n in names}
            else:
                baseline = {n: created[n].get(role, _NOTHING) for n in names}
            by_value: dict[tuple[frozenset[str], frozenset[str]], list[str]] = defaultdict(list)
            for n in names:
                if per[n] != baseline[n]:
                    by_value[per[n]].append(n)
            for value, listed in by_value.items():
                exceptions.setdefault(tuple(listed), {})[role] = self._value(
                    kind, sorted(value[0]), sorted(value[1]), f"{role} on {', '.join(listed)}")
        for key in alone:
            self.per_object[key] = set(first)
        entries: list[Any] = []
        if first:
            entries.append(Flow(first))
        for only, roles_values in sorted(exceptions.items()):
            entries.append(Flow({**roles_values, "only": FlowList(only)}))
        return entries

    def differing(self, on: str, key: str, schema: str | None, owner: str | None) -> dict[str, Any]:
        """Roles whose privileges on ``key`` differ from what creation gives them."""
        created = creation_acl(on, schema, owner, self.index)
        actual = self.acls.get((on, key), {})
        out: dict[str, Any] = {}
        for role in sorted(set(created) | set(actual)):
            if role == owner:
                continue
            want = actual.get(role, (frozenset(), frozenset()))
            if created.get(role, (frozenset(), frozenset())) == want:
                continue
            out[role] = self._value(on, sorted(want[0]), sorted(want[1]), f"{on} {key}") if want[0] else "none"
        return out

    def column_grants(self, table_key: str, column_key: str) -> dict[str, Any]:
        """A column's grants (columns get none on creation: every one is written)."""
        if not self.managed:
            return {}
        return {role: self._value("column", sorted(p), sorted(g), f"column {column_key}")
                for role, (p, g) in sorted(self.acls.get(("column", column_key), {}).items())}

    def follows_defaults(self, on: str, key: str, schema: str) -> bool:
        """Whether an object without an entry of its own (a serial's sequence, a trait's view)
        may be left implicit: its owner is the spec's (its grants come from the class grants,
        which name implied objects too)."""
        if not self.managed:
            return True
        owner = self.catalog.owners.get(key)
        return owner is None or owner == self.owner

    def _value(self, on: str, privileges: list[str], grantable: list[str], what: str) -> Any:
        names: Any = FlowList(privileges)
        kind = {"tables": "table", "sequences": "sequence", "functions": "function", "types": "type",
                "schemas": "schema"}.get(on, on)
        if privileges and set(privileges) == set(expand(kind, ["all"])):
            names = "all"
        if not privileges:
            return "none"
        if grantable:
            if set(grantable) != set(privileges):
                self.notes.append(f"{what}: only some privileges are grantable ({', '.join(grantable)}); "
                                  "the spec format says it for all of them")
            return Flow(privileges=names, grant_option=True)
        return names
