"""Who ran a script: the role its ALTER DEFAULT PRIVILEGES without FOR ROLE belongs to.

``ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO app`` (no FOR ROLE) sets
the default privileges of the role running it, and ``GRANT ... TO CURRENT_USER`` grants to that
role. A script reader cannot know it, so a replayed script states ``DefaultPrivilege(role=None)``
(keyed ``current_user:...``) and the grantee ``current_user`` (``RUNNER``: PostgreSQL reserves
the name, so no real role is called that). The database the script built states the real role,
and comparing the two would report a false "missing" and a false "unexpected" for every such
statement.

The other side of the comparison knows who ran it in most real cases:

1. the objects the script created are owned, there, by the role that created them: when they
   all have one owner, that role ran the script (objects the script gave away with OWNER TO, or
   made under SET ROLE, state their own owner and are not evidence; nor is ``public``, which
   initdb made);
2. a spec names the role that creates its objects (``privileges.owner``);
3. a live database records the role pgspec connected as, the usual runner of its migrations.

When none of these settles it (no owners, several, a dump read with ``--no-owner``), the unknown
role stays ``current_user`` and each difference it takes part in carries a hint naming what pgspec
could not tell; a real difference is never hidden by a guess. When it is settled, the
differences of the resolved records carry a hint saying which role was taken and why, so a
report naming ``postgres`` for a script that never wrote it explains itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pgspec.catalog import Catalog, DefaultPrivilege, Difference, Grant
from pgspec.quoting import quote

__all__ = ["RUNNER", "Resolution", "attach_hints", "infer_runner", "resolve_runners", "states_runner"]

#: The unknown role running a script, as a grantee (``GRANT ... TO CURRENT_USER``) and as the key
#: of a default privilege without FOR ROLE prints it.
RUNNER = "current_user"

#: Catalog stores whose objects a script creates, and so owns as the role running it.
_CREATED = ("schemas", "collations", "enums", "domains", "composite_types", "sequences", "tables",
            "views", "materialized_views", "functions", "aggregates")


@dataclass
class Resolution:
    """Both sides with the unknown runner settled where it can be, and the hints that explain
    it, by (object_type, difference name)."""

    expected: Catalog
    actual: Catalog
    hints: dict[tuple[str, str], str] = field(default_factory=dict)


def states_runner(catalog: Catalog) -> bool:
    """Whether a catalog states something of the unknown role running it (a script's default
    privileges without FOR ROLE, or a grant to CURRENT_USER)."""
    return any(rec.role is None for rec in catalog.default_privileges.values()) or any(
        g.grantee == RUNNER for g in catalog.grants.values())


def _created(script: Catalog) -> Iterator[str]:
    """Keys of the objects the script created as the role running it."""
    for store in _CREATED:
        for key in getattr(script, store):
            if key == "public" and store == "schemas":
                continue  # initdb's, whoever ran the script
            if key not in script.owners:
                yield key


def infer_runner(script: Catalog, other: Catalog) -> tuple[str | None, str]:
    """The role that ran ``script`` as ``other`` tells it, and how it tells it; (None, why not)
    when it cannot tell."""
    found: dict[str, str] = {}
    for key in _created(script):
        owner = other.owners.get(key)
        if owner is not None:
            found.setdefault(owner, key)
    where = other.source or "the other side"
    if len(found) == 1:
        role, key = next(iter(found.items()))
        return role, f"the owner of {key} and the other objects it creates in {where}"
    if found:
        roles = ", ".join(repr(r) for r in sorted(found))
        return None, f"the objects it creates have several owners in {where} ({roles})"
    settings = other.privileges
    if settings is not None and settings.owner:
        return settings.owner, f"the role {where} names as its objects' owner (privileges.owner)"
    if settings is not None and settings.connected_role:
        return settings.connected_role, f"the role pgspec connected to {where} as"
    return None, f"no object it creates has an owner in {where}, which names no role"


def _merged_in(found: dict[str, Any], records: Iterable[Any], attribute: str, role: str) -> set[str]:
    """Each record with ``attribute`` set to ``role`` added to ``found`` (by its new key), merged
    with an entry ``found`` already holds under that key: the server keeps one entry per role,
    so a script's FOR ROLE r and its unknown runner that turns out to be r are the same one.
    Returns the keys that came from the unknown runner."""
    resolved: set[str] = set()
    for rec in records:
        new = rec.model_copy(update={attribute: role})
        known = found.get(new.key)
        if known is not None:
            new = known.model_copy(update={
                "privileges": sorted(set(known.privileges) | set(new.privileges)),
                "grantable": sorted(set(known.grantable) | set(new.grantable)),
            })
        found[new.key] = new
        resolved.add(new.key)
    return resolved


def _resolved_defaults(catalog: Catalog, role: str) -> tuple[dict[str, DefaultPrivilege], set[str]]:
    """The default privileges with the unknown role replaced by ``role``, and the keys that
    came from the unknown role."""
    found: dict[str, Any] = {k: r for k, r in catalog.default_privileges.items() if r.role is not None}
    unknown = [r for r in catalog.default_privileges.values() if r.role is None]
    resolved = _merged_in(found, unknown, "role", role)
    return dict(sorted(found.items())), resolved


def _resolved_grants(catalog: Catalog, role: str) -> tuple[dict[str, Grant], set[str]]:
    """The grants with the grantee CURRENT_USER replaced by ``role``, and the keys that came
    from it."""
    found: dict[str, Any] = {k: g for k, g in catalog.grants.items() if g.grantee != RUNNER}
    unknown = [g for g in catalog.grants.values() if g.grantee == RUNNER]
    resolved = _merged_in(found, unknown, "grantee", role)
    return dict(sorted(found.items())), resolved


def _resolve(script: Catalog, other: Catalog, hints: dict[tuple[str, str], str]) -> Catalog:
    """``script`` with its unknown runner settled by ``other``; the hints explain either way."""
    role, why = infer_runner(script, other)
    where = script.source or "the script"
    if role is None:
        hint = (f"pgspec could not tell which role ran {where} ({why}): its default privileges "
                "without FOR ROLE (and grants to CURRENT_USER) are compared as current_user; "
                "name the role (FOR ROLE, TO) to compare them exactly")
        for key, rec in script.default_privileges.items():
            if rec.role is None:
                hints[("default_privilege", key)] = hint
                # The entries of the other side this one may be (same schema, target, grantee).
                for other_key, other_rec in other.default_privileges.items():
                    if (other_rec.schema_name, other_rec.on, other_rec.grantee) == (
                            rec.schema_name, rec.on, rec.grantee) and other_rec.role is not None:
                        hints.setdefault(("default_privilege", other_key), hint)
        for key, grant in script.grants.items():
            if grant.grantee == RUNNER:
                hints[("grant", key)] = hint
        return script
    hint = (f"{where} gives no FOR ROLE (or grants to CURRENT_USER): taken as role {quote(role)}, "
            f"{why}")
    defaults, resolved_defaults = _resolved_defaults(script, role)
    grants, resolved_grants = _resolved_grants(script, role)
    hints.update({("default_privilege", k): hint for k in resolved_defaults})
    hints.update({("grant", k): hint for k in resolved_grants})
    return script.model_copy(update={"default_privileges": defaults, "grants": grants})


def resolve_runners(expected: Catalog, actual: Catalog) -> Resolution:
    """Settle the unknown runner of the side that has one by what the other side states.

    When both sides have one (two scripts, a script and a spec that names no owner), both mean
    the same role running them, and they are compared as they are.
    """
    found = Resolution(expected, actual)
    unknown_expected, unknown_actual = states_runner(expected), states_runner(actual)
    if unknown_expected and not unknown_actual:
        found.expected = _resolve(expected, actual, found.hints)
    elif unknown_actual and not unknown_expected:
        found.actual = _resolve(actual, expected, found.hints)
    return found


def attach_hints(differences: Iterator[Difference], hints: dict[tuple[str, str], str]) -> Iterator[Difference]:
    """The differences, each with the hint its record has (a difference's own hint is kept)."""
    for difference in differences:
        hint = hints.get((difference.object_type, difference.name))
        if hint is not None and difference.hint is None:
            difference = difference.model_copy(update={"hint": hint})
        yield difference
