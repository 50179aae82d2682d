"""Operator classes a script names, resolved along its search_path as the server does.

The server looks a bare opclass up per access method along the search_path, pg_catalog first
unless the path lists it elsewhere (``OpclassnameGetOpcid``), and stores the oid it found:
the live reader, with an empty path, prints every opclass outside pg_catalog qualified. The
replay asks, schema by schema, what the script tells of each: pg_catalog holds the built-in
opclasses (``normalize.opclasses.BUILTIN``); a schema holds the opclasses the script created
there (CREATE OPERATOR CLASS) and may hold those of the extensions the script created there;
a schema the script did not create (``public``, or one that existed before it) may hold
anything; a schema the script created with neither holds none. A name found for certain, or
in the one schema that may hold it, is stored as the server prints it (bare for pg_catalog's,
else qualified); otherwise it stays bare and the index records the schemas it may be in
(``Index.opclass_schemas``), which the differ accepts and nothing else.
"""

from __future__ import annotations

from pglast import ast

from pgspec.normalize.opclasses import builtin
from pgspec.quoting import qualified
from pgspec.sources.replay.state import State, names_of

__all__ = ["create_opclass", "resolve", "script_opclasses"]


def script_opclasses(state: State) -> dict[tuple[str, str, str], bool]:
    """``(method, schema, name)`` -> whether it is DEFAULT for its type, for every opclass the
    script created so far. Kept on the State (so a ROLLBACK takes it back, like the rest)."""
    found = state.__dict__.get("opclasses")
    if found is None:
        found = state.__dict__["opclasses"] = {}
    return found


def create_opclass(state: State, stmt: ast.CreateOpClassStmt) -> None:
    """CREATE OPERATOR CLASS: not modelled (a warning, as the live reader gives one), but
    remembered, since an index may name it bare."""
    parts = names_of(stmt.opclassname)
    schema = parts[-2] if len(parts) > 1 else state.creation_schema()
    script_opclasses(state)[(stmt.amname, schema, parts[-1])] = bool(stmt.isDefault)
    if state.keep(schema):
        state.warn("operator class", qualified(schema, parts[-1]))


def _may_hold(state: State, schema: str) -> bool:
    """Whether a schema may hold an opclass the script did not create there."""
    if any(ext.schema_name == schema for ext in state.objects["extensions"].values()):
        return True
    if schema == "pg_catalog":
        return False  # the built-in list is the whole of it
    return schema == "public" or schema not in state.known_schemas


def resolve(state: State, method: str, name: str) -> tuple[str, list[str] | None]:
    """A bare opclass of ``method`` as the server would print it, and None; or, where the
    script cannot tell, the bare name and the schemas it may be in. A bare name is stored
    unquoted, as ``elements.index_key_from_node`` stores one."""
    mine = script_opclasses(state)
    possible: list[str] = []
    for schema in state.lookup_path():
        certain = (builtin(method, name) is not None if schema == "pg_catalog"
                   else (method, schema, name) in mine)
        if certain or _may_hold(state, schema):
            possible.append(schema)
        if certain:
            break  # the server stops at the first schema holding it
    if len(possible) == 1:
        schema = possible[0]
        return (name if schema == "pg_catalog" else qualified(schema, name)), None
    return name, possible or [s for s in state.lookup_path() if s != "pg_catalog"]
