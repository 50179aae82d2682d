"""What replaying a script has built so far, and the name resolution every statement needs.

The replayer applies statements in order, as a server would, to a mutable set of objects; the
Catalog (immutable) is made once at the end. Names resolve through the script's
``search_path`` the way the server resolves them: an unqualified name is created in the first
schema of the path and looked up schema by schema.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from pglast import ast
from pglast.stream import RawStream

from pgspec.catalog import KINDS, Catalog, Schema, Table, Warning
from pgspec.errors import SqlError
from pgspec.normalize.types import BUILTIN_TYPES, format_type_name
from pgspec.quoting import qualified

#: Printed text by parse tree: the same defaults, checks and policy expressions recur across
#: thousands of tables of a dump, and printing a tree costs ten times its ``repr``.
_DEPARSED: dict[tuple[type, str], str] = {}
_DEPARSED_LIMIT = 50_000


def deparse(node: Any, *, remember: bool = True) -> str:
    """SQL text of a parse-tree fragment (pglast's deparser, never string surgery).

    Remembered by the tree's ``repr``, which shows every attribute except ``location`` (a
    position in the statement, which printing never reads) and the ``ancestors`` the printer
    fills in from the node it is given; CREATE TABLESPACE keeps a path in ``location`` and is
    printed every time. ``remember=False`` prints without the lookup, for trees that name
    their own relation and so never recur (a view's query).
    """
    if not remember or not isinstance(node, ast.Node) or isinstance(node, ast.CreateTableSpaceStmt):
        return RawStream()(node)
    key = (type(node), repr(node))
    text = _DEPARSED.get(key)
    if text is None:
        text = RawStream()(node)
        if len(_DEPARSED) >= _DEPARSED_LIMIT:
            _DEPARSED.clear()
        _DEPARSED[key] = text
    return text


def names_of(nodes: Iterable[Any] | None) -> list[str]:
    """String values of a name list (``(String, String)`` -> ``["schema", "name"]``)."""
    return [n.sval for n in nodes or () if isinstance(n, ast.String)]


def any_name(nodes: Iterable[Any] | None) -> str | None:
    """A collation/opclass name: bare when unqualified or in pg_catalog, else qualified."""
    parts = names_of(nodes)
    if not parts:
        return None
    if len(parts) > 1 and parts[0] == "pg_catalog":
        parts = parts[1:]
    return parts[0] if len(parts) == 1 else qualified(*parts)


class State:
    """Objects built so far (one dict per kind, keyed like the Catalog) and the session state."""

    def __init__(self, file: str, keep: Callable[[str], bool]) -> None:
        self.file = file
        self.keep = keep
        self.objects: dict[str, dict[str, Any]] = {plural: {} for plural in KINDS.values()}
        self.search_path: list[str] = ["public"]
        #: ``SET SESSION AUTHORIZATION`` and ``SET ROLE`` in effect; None is the role that runs
        #: the script, which a script reader cannot know (``current_role``).
        self.session_user: str | None = None
        self.role: str | None = None
        #: Settings a ``SET LOCAL`` changed, with the values COMMIT goes back to.
        self.local_settings: dict[str, Any] = {}
        self.warnings: list[Warning] = []
        self.location: str | None = None
        #: Every schema created, kept or not (name resolution needs them all).
        self.known_schemas: set[str] = {"public"}
        #: ``schema.name`` of every type and relation, kept or not, for type resolution.
        self.known_types: set[str] = set()
        #: Primary key columns of every table, kept or not, for ``REFERENCES t`` without columns.
        self.primary_keys: dict[str, list[str]] = {}
        #: ``schema.name`` -> [function keys] of every function, for trigger resolution.
        self.function_names: dict[str, list[str]] = {}
        #: ``schema.name`` of every aggregate, kept or not, for resolving unqualified names.
        self.aggregate_names: set[str] = set()
        #: ``schema.name`` of every collation the script created (``replay.collations``).
        self.known_collations: set[str] = set()
        #: Reading a pg_dump/pg_dumpall file: its CREATE MATERIALIZED VIEW always says WITH NO
        #: DATA and only a REFRESH (data section) tells that a view is populated.
        self.dump = False
        #: What table inheritance needs that the Catalog does not hold (which columns and NOT
        #: NULLs a child declared itself): ``replay.tables.Inheritance``, made when a table
        #: first gets a parent; None means no table has one, so ALTER TABLE recurses nowhere.
        self.inheritance: Any = None
        #: Open transaction: snapshots by savepoint name, BEGIN's under None (``Replayer``).
        self.transaction: list[tuple[str | None, dict[str, Any]]] = []
        # A fresh database has ``public``; pg_dump leaves it out. initdb's comment on it is the
        # server's, not the user's, and no reader reports it.
        if keep("public"):
            self.objects["schemas"]["public"] = Schema(name="public")

    # ------------------------------------------------------------------ objects

    def kind(self, plural: str) -> dict[str, Any]:
        return self.objects[plural]

    def put(self, plural: str, obj: Any) -> None:
        """Store ``obj`` if its schema is in scope (objects outside it cost no memory)."""
        schema = getattr(obj, "schema_name", None)
        if schema is not None and not self.keep(schema):
            return
        self.objects[plural][obj.key] = obj

    def update(self, plural: str, key: str, **changes: Any) -> Any:
        obj = self.objects[plural].get(key)
        if obj is None:
            return None
        new = obj.model_copy(update=changes)
        self.objects[plural][key] = new
        return new

    def table(self, key: str) -> Table | None:
        return self.objects["tables"].get(key)

    def warn(self, object_type: str, name: str, message: str = "not modelled by pgspec") -> None:
        self.warnings.append(
            Warning(object_type=object_type, name=name, message=message, location=self.location)
        )

    def error(self, message: str) -> SqlError:
        line = int(self.location.rsplit(":", 1)[1]) if self.location else None
        return SqlError(message, file=self.file, line=line)

    # ------------------------------------------------------------------ transactions

    #: Attributes that describe the reading, not the database: a ROLLBACK leaves them be.
    _SESSION = frozenset({"file", "keep", "location", "dump", "transaction"})

    def snapshot(self) -> dict[str, Any]:
        """Everything a ROLLBACK undoes (BEGIN or SAVEPOINT takes it). Stored objects are
        immutable, so their dictionaries are copied shallowly; the bookkeeping (names, path,
        privileges, inheritance) is small and copied whole."""
        saved: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if name in self._SESSION:
                continue
            if name == "objects":
                saved[name] = {plural: dict(objs) for plural, objs in value.items()}
            elif name == "warnings":
                saved[name] = list(value)
            else:
                saved[name] = copy.deepcopy(value)
        return saved

    def restore(self, saved: dict[str, Any]) -> None:
        """Back to a snapshot (ROLLBACK, ROLLBACK TO SAVEPOINT): the server keeps nothing a
        rolled-back transaction did, SET search_path included."""
        for name, value in saved.items():
            self.__dict__[name] = value
        for name in list(self.__dict__):
            if name not in saved and name not in self._SESSION:
                del self.__dict__[name]  # made inside the transaction (privileges' state)

    def end_local_settings(self) -> None:
        """COMMIT (or PREPARE TRANSACTION): what ``SET LOCAL`` changed goes back."""
        for attribute, value in self.local_settings.items():
            setattr(self, attribute, value)
        self.local_settings = {}

    @property
    def current_role(self) -> str | None:
        """The role statements run as now (what ``current_user`` is): None while it is the
        unknown role running the script."""
        return self.role if self.role is not None else self.session_user

    # ------------------------------------------------------------------ names

    def path(self) -> list[str]:
        return [s for s in self.search_path if s not in ("$user", "pg_catalog", "pg_temp")]

    def lookup_path(self) -> list[str]:
        """The schemas a bare collation or operator class name is looked up in, in order
        (namespace.c): pg_catalog first unless the path places it, no ``pg_temp`` (never
        searched for them) nor ``$user`` (the role is unknown offline)."""
        schemas = [s for s in self.search_path if s not in ("$user", "pg_temp")]
        return schemas if "pg_catalog" in schemas else ["pg_catalog", *schemas]

    def creation_schema(self) -> str:
        """Where an unqualified CREATE puts its object: the first schema of the path that exists.

        (PostgreSQL: the first existing schema of search_path; "$user" only when it exists.)
        """
        for schema in self.path():
            if schema in self.known_schemas:
                return schema
        raise self.error("no schema has been selected to create in (search_path is empty)")

    def lookup(self, name: str, exists: Callable[[str], bool]) -> str:
        """Schema of an unqualified existing object: the first schema of the path holding it."""
        for schema in self.path():
            if exists(qualified(schema, name)):
                return schema
        try:
            return self.creation_schema()
        except SqlError:
            # No schema on the path (pg_dump's search_path = ''): an unqualified name can only
            # be pg_catalog's, which PostgreSQL always searches (suppress_redundant_updates_trigger).
            return "pg_catalog"

    def relation_key(self, rv: ast.RangeVar, *, create: bool = False) -> tuple[str, str]:
        """``(schema, name)`` of a relation named in a statement."""
        if rv.schemaname:
            return rv.schemaname, rv.relname
        if create:
            return self.creation_schema(), rv.relname
        known = self.objects

        def exists(key: str) -> bool:
            return (
                key in known["tables"]
                or key in known["views"]
                or key in known["materialized_views"]
                or key in known["sequences"]
                or key in self.known_types
            )

        return self.lookup(rv.relname, exists), rv.relname

    def object_key(self, parts: list[str], exists: Callable[[str], bool]) -> tuple[str, str]:
        """``(schema, name)`` from a possibly qualified name list."""
        if len(parts) >= 2:
            return parts[-2], parts[-1]
        return self.lookup(parts[0], exists), parts[0]

    def type_text(self, node: ast.TypeName) -> str:
        """Canonical type of a parsed type name, resolving unqualified user types by path."""
        names = names_of(node.names)
        schema = "public"
        if len(names) == 1 and names[0] not in BUILTIN_TYPES:
            schema = self.lookup(names[0], self.known_types.__contains__)
        try:
            return format_type_name(node, schema)
        except SqlError as exc:
            raise self.error(exc.problem.message) from None

    # ------------------------------------------------------------------ result

    def catalog(self, source: str) -> Catalog:
        return Catalog(
            **{plural: dict(sorted(objs.items())) for plural, objs in self.objects.items()},
            warnings=list(self.warnings),
            source=source,
        )
