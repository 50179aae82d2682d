"""Collations: a spec entry checked as CREATE COLLATION checks its options, stored as the server
stores it, and the collation names other objects use resolved to the spec's own.

A libc collation whose ``lc_collate`` and ``lc_ctype`` agree is its one ``locale`` (the server
keeps both categories; every source folds them the same way); a builtin locale is spelled as
the server stores it (``C.UTF8`` is ``C.UTF-8``). A column, domain, composite attribute or index
key that names a collation without a schema means pg_catalog's when it is one every server has
(``C``, ``POSIX``, ...: the server looks in pg_catalog first), else the spec's collation of that
name in the object's own schema, else in ``public``, else pg_catalog's (a locale the server
imported, such as ``de_DE.utf8``).
"""

from __future__ import annotations

from typing import Any

from pgspec.catalog import Collation
from pgspec.quoting import qualified
from pgspec.spec import models as m
from pgspec.spec.build_state import BuildState
from pgspec.spec.positions import Pos

__all__ = ["BUILTIN_LOCALES", "build_collation", "resolve_collation_names"]

#: The builtin provider's locales (PostgreSQL 17+) as CREATE COLLATION accepts them (exact
#: spellings) and stores them.
BUILTIN_LOCALES = {"C": "C", "C.UTF-8": "C.UTF-8", "C.UTF8": "C.UTF-8",
                   "PG_UNICODE_FAST": "PG_UNICODE_FAST"}

#: pg_catalog's collations every server of some release has: a bare name among them is
#: pg_catalog's, whatever the spec declares (the server searches pg_catalog first).
_CATALOG_NAMES = frozenset({"default", "C", "POSIX", "ucs_basic", "unicode", "pg_c_utf8",
                            "pg_unicode_fast"})


def _fields(b: BuildState, spec: m.CollationIn, pos: Pos) -> dict[str, Any] | None:
    """The Collation's fields, or None after recording what CREATE COLLATION would refuse."""
    provider = spec.provider
    fields: dict[str, Any] = {"provider": provider, "deterministic": spec.deterministic,
                              "rules": spec.rules}
    split = spec.lc_collate is not None or spec.lc_ctype is not None
    if spec.locale is not None and split:
        b.problem(pos, "a collation takes 'locale' or 'lc_collate' and 'lc_ctype', not both")
        return None
    if provider == "libc":
        if spec.locale is None and (spec.lc_collate is None or spec.lc_ctype is None):
            b.problem(pos, "a libc collation needs 'locale' (or both 'lc_collate' and 'lc_ctype')")
            return None
        if spec.locale is not None or spec.lc_collate == spec.lc_ctype:
            fields["locale"] = spec.locale if spec.locale is not None else spec.lc_collate
        else:
            fields["lc_collate"], fields["lc_ctype"] = spec.lc_collate, spec.lc_ctype
    else:
        if spec.locale is None or split:
            b.problem(pos, f"a {provider} collation needs 'locale' (and no 'lc_collate' or "
                           "'lc_ctype')")
            return None
        locale = spec.locale
        if provider == "builtin":
            if locale not in BUILTIN_LOCALES:
                b.problem(pos.child("locale"), f"invalid locale {locale!r} for the builtin "
                          f"provider (one of {', '.join(sorted(set(BUILTIN_LOCALES.values())))})")
                return None
            locale = BUILTIN_LOCALES[locale]
        fields["locale"] = locale
    if not spec.deterministic and provider != "icu":
        b.problem(pos.child("deterministic"), "only an icu collation can be nondeterministic")
        return None
    if spec.rules is not None and provider != "icu":
        b.problem(pos.child("rules"), "only an icu collation takes 'rules'")
        return None
    return fields


def build_collation(b: BuildState, schema: str, name: str, spec: m.CollationIn, pos: Pos) -> None:
    fields = _fields(b, spec, pos)
    if fields is None:
        return
    b.add("collation", Collation(schema=schema, name=name, comment=spec.comment,
                                 location=pos.location, **fields), pos)


def _resolved(declared: dict[str, Any], name: str | None, home: str) -> str | None:
    """A collation name as the Catalog holds it (see the module docstring)."""
    if name is None or name in _CATALOG_NAMES or name in declared:
        return name
    for schema in (home, "public"):
        key = qualified(schema, name)
        if key in declared:
            return key
    return name


def resolve_collation_names(b: BuildState) -> None:
    """Bare collation names of columns, domains, composite attributes and index keys that mean
    a collation the spec declares, written as its key (run once every file is built)."""
    declared = b.objects["collations"]
    if not declared:
        return
    objects = b.objects

    def fix(items: list[Any], home: str) -> list[Any]:
        return [item.model_copy(update={"collation": _resolved(declared, item.collation, home)})
                if _resolved(declared, item.collation, home) != item.collation else item
                for item in items]

    for key, table in objects["tables"].items():
        columns = fix(table.columns, table.schema_name)
        if columns != table.columns:
            objects["tables"][key] = table.model_copy(update={"columns": columns})
    for key, dom in objects["domains"].items():
        found = _resolved(declared, dom.collation, dom.schema_name)
        if found != dom.collation:
            objects["domains"][key] = dom.model_copy(update={"collation": found})
    for key, comp in objects["composite_types"].items():
        attributes = fix(comp.attributes, comp.schema_name)
        if attributes != comp.attributes:
            objects["composite_types"][key] = comp.model_copy(update={"attributes": attributes})
    for key, index in objects["indexes"].items():
        keys = fix(index.keys, index.schema_name)
        if keys != index.keys:
            objects["indexes"][key] = index.model_copy(update={"keys": keys})
