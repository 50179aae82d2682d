"""Unqualified collation names resolved as the server resolves them.

pgspec does not model collations as objects, but a column, domain, composite type attribute,
index key or partition key names one, and the Catalog holds that name as the live reader
prints it: bare for a collation of pg_catalog (always on the path), schema-qualified
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


def _order(state: State) -> list[str]:
    """The schemas a collation is looked up in: the search_path, pg_catalog first unless it
    is written into the path (then where it is written)."""
    path = [s for s in state.search_path if s not in ("$user", "pg_temp")]
    return path if "pg_catalog" in path else ["pg_catalog", *path]


def _schema_of(state: State, name: str) -> str | None:
    """The schema an unqualified collation name resolves to: None for pg_catalog."""
    order = _order(state)
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
