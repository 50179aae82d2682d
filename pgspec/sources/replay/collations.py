"""Collations replayed (CREATE, ALTER ... RENAME/SET SCHEMA, DROP), and collation names
resolved as the server resolves them.

CREATE COLLATION is stored as the server stores it (``catalog.Collation``): ``locale`` set
alone for a libc collation whose LC_COLLATE and LC_CTYPE agree, a builtin locale in its
canonical spelling, ``FROM`` copying the collation it names. A column, domain, composite type
attribute, index key or partition key names a collation, and the Catalog holds that name as
the live reader prints it: bare for a collation of pg_catalog (always on the path), schema-qualified
otherwise (``public.numeric``). A script says ``COLLATE numeric``; the server looks the name
up along the search_path in effect (``CollationGetCollid``), pg_catalog first unless the path
places it elsewhere, and the replay does the same with what it knows:

* pg_catalog's collations that every server has: ``default``, ``C``, ``POSIX``,
  ``ucs_basic``, and ``unicode`` (16+), ``pg_c_utf8`` (17+), ``pg_unicode_fast`` (18+);
* the collations the script created (CREATE COLLATION, ``State.known_collations``), in the
  schema each was created in.

initdb also imports the machine's locales into pg_catalog (``en_US``, ``en_US.utf8``,
``de-x-icu``, ...), which differ from machine to machine. A name the script did not create is
taken as pg_catalog's: the script would fail on a server that has no such collation. A name the
script did create that could also be such an import (it looks like a locale name), or a
built-in of a newer release, is taken as the script's, with a warning saying the server may
find pg_catalog's first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pglast import ast

from pgspec.catalog import Collation
from pgspec.quoting import qualified
from pgspec.sources.replay.state import State, names_of

#: pg_catalog's collations by the first major release that has them on every machine.
BUILTIN: dict[str, int] = {
    "default": 0, "C": 0, "POSIX": 0, "ucs_basic": 0,
    "unicode": 16, "pg_c_utf8": 17, "pg_unicode_fast": 18,
}

#: Names initdb may import from the machine's locales (``pg_import_system_collations``):
#: libc's ``ll_CC[.codeset][@modifier]`` and ``C.codeset``, ICU's ``...-x-icu``.
_LOCALE = re.compile(r"(?:[a-z]{2,3}_[A-Z]{2}|C)(?:[.@].*)?|.*-x-icu")


def created(state: State, schema: str, name: str) -> None:
    """CREATE COLLATION: the name now resolves to this schema's along the path."""
    state.known_collations.add(qualified(schema, name))


def _schema_of(state: State, name: str) -> str | None:
    """The schema an unqualified collation name resolves to: None for pg_catalog."""
    order = state.lookup_path()
    for schema in order:
        if schema == "pg_catalog":
            if BUILTIN.get(name) == 0:
                return None
            continue
        if qualified(schema, name) in state.known_collations:
            if order.index("pg_catalog") < order.index(schema) and (
                    name in BUILTIN or _LOCALE.fullmatch(name)):
                state.warn("collation", qualified(schema, name),
                           f"COLLATE {name!r}: the server finds pg_catalog's collation of that "
                           "name first where it has one (a newer release's, or a locale it "
                           "imported); pgspec takes the script's")
            return schema
    return None


def resolve(state: State, nodes: Iterable[Any] | None) -> str | None:
    """A collation name list as the Catalog holds it: bare for pg_catalog's, qualified for
    any other schema's, an unqualified name looked up as the server looks it up."""
    parts = names_of(nodes)
    if not parts:
        return None
    if len(parts) > 1:
        return parts[-1] if parts[-2] == "pg_catalog" else qualified(*parts[-2:])
    schema = _schema_of(state, parts[0])
    return parts[0] if schema is None else qualified(schema, parts[0])


def _qualified_names(state: State, nodes: Any) -> Any:
    """A collation's name list with the schema it resolves to written in (pg_catalog's left
    bare, as ruleutils prints them)."""
    parts = names_of(nodes)
    if len(parts) != 1:
        return nodes
    schema = _schema_of(state, parts[0])
    if schema is None:
        return nodes
    return (ast.String(sval=schema), ast.String(sval=parts[0]))


def qualify_index(state: State, stmt: ast.IndexStmt) -> None:
    """Write each key's COLLATE of a CREATE INDEX as resolved, in place, so the index replay
    compares it with the column's collation as the server does and keeps it as the live
    reader prints it."""
    for elem in stmt.indexParams or ():
        if elem.collation:
            elem.collation = _qualified_names(state, elem.collation)
        if isinstance(elem.expr, ast.CollateClause) and elem.expr.collname:
            elem.expr.collname = _qualified_names(state, elem.expr.collname)


def qualify_partition_key(state: State, spec: ast.PartitionSpec) -> None:
    """The same for a PARTITION BY key's COLLATE (pg_get_partkeydef prints it qualified)."""
    for elem in spec.partParams or ():
        if elem.collation:
            elem.collation = _qualified_names(state, elem.collation)


# --------------------------------------------------------------------------- the objects

#: The builtin provider's locales (PostgreSQL 17+) by what CREATE COLLATION accepts
#: (``builtin_validate_locale``: exact spellings, C.UTF8 stored as C.UTF-8).
_BUILTIN_LOCALES = {"C": "C", "C.UTF-8": "C.UTF-8", "C.UTF8": "C.UTF-8",
                    "PG_UNICODE_FAST": "PG_UNICODE_FAST"}

#: pg_catalog's collations FROM may copy, as every server of a release has them. ucs_basic
#: is libc's C up to 16 and builtin C from 17 (the newer form is taken, with a warning).
_CATALOG_COLLATIONS: dict[str, dict[str, Any]] = {
    "C": {"locale": "C"},
    "POSIX": {"locale": "POSIX"},
    "ucs_basic": {"provider": "builtin", "locale": "C"},
    "unicode": {"provider": "icu", "locale": "und"},
    "pg_c_utf8": {"provider": "builtin", "locale": "C.UTF-8"},
    "pg_unicode_fast": {"provider": "builtin", "locale": "PG_UNICODE_FAST"},
}

_OPTIONS = frozenset({"from", "locale", "lc_collate", "lc_ctype", "provider", "deterministic",
                      "rules", "version"})


def _text(state: State, elem: ast.DefElem) -> str:
    """An option's value as the server's defGetString reads it (an unquoted word is the
    lower-cased identifier, a qualified one joined by dots)."""
    arg = elem.arg
    if isinstance(arg, ast.String):
        return arg.sval
    if isinstance(arg, ast.TypeName):
        return ".".join(names_of(arg.names))
    if isinstance(arg, ast.Integer):
        return str(arg.ival)
    if isinstance(arg, ast.Float):
        return arg.fval
    if isinstance(arg, ast.Boolean):
        return "true" if arg.boolval else "false"
    raise state.error(f"collation option {elem.defname!r} requires a value")


def _boolean(state: State, elem: ast.DefElem) -> bool:
    """defGetBoolean: no value is true; true/false/on/off in any case, or 1/0."""
    if elem.arg is None:
        return True
    text = _text(state, elem).lower()
    if text in ("true", "on", "1"):
        return True
    if text in ("false", "off", "0"):
        return False
    raise state.error(f"{elem.defname} requires a Boolean value, not {text!r}")


def _source(state: State, nodes: Any) -> dict[str, Any] | None:
    """What ``FROM name`` copies: a collation the script made, or one every server has in
    pg_catalog; None (with a warning) for any other, such as a locale initdb imported."""
    ref = resolve(state, nodes)
    if ref is None:
        return None
    found = state.objects["collations"].get(ref)
    if found is not None:
        return found.model_dump(include={"provider", "locale", "lc_collate", "lc_ctype",
                                         "deterministic", "rules"})
    if ref in _CATALOG_COLLATIONS:
        if ref == "ucs_basic":
            state.warn("collation", ref, "ucs_basic is libc's C up to PostgreSQL 16 and the "
                       "builtin provider's C from 17: pgspec copies the latter")
        return dict(_CATALOG_COLLATIONS[ref])
    state.warn("collation", ref, "CREATE COLLATION ... FROM a collation the script did not "
               "create (one the server imported from the machine's locales?): its "
               "settings are unknown to pgspec, the new collation is not replayed")
    return None


def _fields(state: State, options: dict[str, ast.DefElem]) -> dict[str, Any]:
    """The Collation's fields from CREATE COLLATION's options, checked as DefineCollation
    checks them."""
    provider = _text(state, options["provider"]).lower() if "provider" in options else "libc"
    if provider not in ("libc", "icu", "builtin"):
        raise state.error(f"unrecognized collation provider: {provider!r}")
    locale = _text(state, options["locale"]) if "locale" in options else None
    lc_collate = _text(state, options["lc_collate"]) if "lc_collate" in options else None
    lc_ctype = _text(state, options["lc_ctype"]) if "lc_ctype" in options else None
    if locale is not None and (lc_collate is not None or lc_ctype is not None):
        raise state.error("locale cannot be specified together with lc_collate or lc_ctype")
    fields: dict[str, Any] = {"provider": provider}
    if provider == "libc":
        lc_collate = locale if locale is not None else lc_collate
        lc_ctype = locale if locale is not None else lc_ctype
        for name, value in (("lc_collate", lc_collate), ("lc_ctype", lc_ctype)):
            if value is None:
                raise state.error(f'parameter "{name}" must be specified')
        if lc_collate == lc_ctype:
            fields["locale"] = lc_collate
        else:
            fields["lc_collate"], fields["lc_ctype"] = lc_collate, lc_ctype
    else:
        if locale is None:
            raise state.error('parameter "locale" must be specified')
        if provider == "builtin":
            if locale not in _BUILTIN_LOCALES:
                raise state.error(f"invalid locale name {locale!r} for builtin provider")
            locale = _BUILTIN_LOCALES[locale]
        fields["locale"] = locale
    if "deterministic" in options:
        fields["deterministic"] = _boolean(state, options["deterministic"])
        if not fields["deterministic"] and provider != "icu":
            raise state.error("nondeterministic collations not supported with this provider")
    if "rules" in options:
        if provider != "icu":
            raise state.error("ICU rules cannot be specified unless locale provider is ICU")
        fields["rules"] = _text(state, options["rules"])
    return fields


def create(state: State, stmt: ast.DefineStmt) -> None:
    """CREATE COLLATION [IF NOT EXISTS] name (options) | FROM existing. ``version`` is
    accepted and not kept (the Catalog does not model it)."""
    parts = names_of(stmt.defnames)
    schema = parts[-2] if len(parts) > 1 else state.creation_schema()
    name = parts[-1]
    key = qualified(schema, name)
    if key in state.known_collations:
        if stmt.if_not_exists:
            return
        raise state.error(f"collation {key} already exists")
    options: dict[str, ast.DefElem] = {}
    for elem in stmt.definition or ():
        defname = elem.defname.lower()
        if defname not in _OPTIONS:
            raise state.error(f"collation attribute {elem.defname!r} not recognized")
        if defname in options:
            raise state.error(f"conflicting or redundant options: {elem.defname!r}")
        options[defname] = elem
    if "from" in options:
        if len(options) > 1:
            raise state.error("conflicting or redundant options: FROM with other options")
        fields = _source(state, options["from"].arg)
    else:
        fields = _fields(state, options)
    created(state, schema, name)
    if fields is not None:
        state.put("collations", Collation(schema=schema, name=name, **fields))


def key_of(state: State, nodes: Any) -> str | None:
    """The key of the collation a statement names (ALTER, DROP, COMMENT ON COLLATION)."""
    return resolve(state, nodes)


def _follow(state: State, old: str, new: str | None) -> None:
    """Columns, domains, composite attributes and index keys that name collation ``old`` name
    ``new`` instead (the server refers to it by oid): a rename or a move."""
    objects = state.objects
    for key, table in list(objects["tables"].items()):
        columns = [c.model_copy(update={"collation": new}) if c.collation == old else c
                   for c in table.columns]
        if columns != table.columns:
            objects["tables"][key] = table.model_copy(update={"columns": columns})
    for key, dom in list(objects["domains"].items()):
        if dom.collation == old:
            objects["domains"][key] = dom.model_copy(update={"collation": new})
    for key, comp in list(objects["composite_types"].items()):
        attributes = [a.model_copy(update={"collation": new}) if a.collation == old else a
                      for a in comp.attributes]
        if attributes != comp.attributes:
            objects["composite_types"][key] = comp.model_copy(update={"attributes": attributes})
    for key, idx in list(objects["indexes"].items()):
        keys = [k.model_copy(update={"collation": new}) if k.collation == old else k
                for k in idx.keys]
        if keys != idx.keys:
            objects["indexes"][key] = idx.model_copy(update={"keys": keys})


def _move(state: State, old_key: str, schema: str, name: str) -> None:
    new_key = qualified(schema, name)
    if new_key in state.known_collations:
        raise state.error(f"collation {new_key} already exists")
    state.known_collations.discard(old_key)
    state.known_collations.add(new_key)
    obj = state.objects["collations"].pop(old_key, None)
    if obj is not None:
        moved = obj.model_copy(update={"schema_name": schema, "name": name})
        if state.keep(schema):
            state.objects["collations"][new_key] = moved
        from pgspec.sources.replay import privileges

        privileges.carry(state, "collations", moved, old_key)
    _follow(state, old_key, new_key)


def _known(state: State, nodes: Any) -> tuple[str, str, str] | None:
    """(key, schema, name) of a collation the script created, named in an ALTER."""
    key = key_of(state, nodes)
    if key is None or key not in state.known_collations:
        return None
    obj = state.objects["collations"].get(key)
    if obj is not None:
        return key, obj.schema_name, obj.name
    parts = names_of(nodes)
    schema = parts[-2] if len(parts) > 1 else key.rpartition(".")[0]
    return key, schema, parts[-1]


def rename(state: State, stmt: ast.RenameStmt) -> None:
    """ALTER COLLATION name RENAME TO new (in its schema)."""
    found = _known(state, stmt.object)
    if found is None:
        state.warn("collation", ".".join(names_of(stmt.object)),
                   "ALTER COLLATION ... RENAME of a collation the script did not create: "
                   "not replayed")
        return
    key, schema, _ = found
    _move(state, key, schema, stmt.newname)


def set_schema(state: State, stmt: ast.AlterObjectSchemaStmt) -> None:
    """ALTER COLLATION name SET SCHEMA new."""
    found = _known(state, stmt.object)
    if found is None:
        if not stmt.missing_ok:
            state.warn("collation", ".".join(names_of(stmt.object)),
                       "ALTER COLLATION ... SET SCHEMA of a collation the script did not "
                       "create: not replayed")
        return
    key, _, name = found
    _move(state, key, stmt.newschema, name)


def drop(state: State, nodes: Any) -> None:
    """DROP COLLATION: the collation and its name go; with CASCADE the server also drops
    what uses it (columns, domains, indexes), which pgspec does not follow (it warns)."""
    key = key_of(state, nodes)
    if key is None or key not in state.known_collations:
        return  # IF EXISTS, or one of pg_catalog's (which the server refuses to drop)
    state.known_collations.discard(key)
    obj = state.objects["collations"].pop(key, None)
    if obj is not None:
        from pgspec.sources.replay import privileges

        privileges.forget_object(state, "collations", obj)
    if _used(state, key):
        state.warn("collation", key, "DROP COLLATION of a collation still in use: what uses it "
                   "(dropped by CASCADE, else the server refuses) is kept by pgspec")


def _used(state: State, key: str) -> bool:
    objects = state.objects
    return (any(c.collation == key for t in objects["tables"].values() for c in t.columns)
            or any(d.collation == key for d in objects["domains"].values())
            or any(a.collation == key for t in objects["composite_types"].values()
                   for a in t.attributes)
            or any(k.collation == key for i in objects["indexes"].values() for k in i.keys))
