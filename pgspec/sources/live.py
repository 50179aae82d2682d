"""Read a live PostgreSQL database into a Catalog, without ever writing to it.

Production databases are read the way DESIGN.md says: one ``REPEATABLE READ READ ONLY``
transaction (every query sees the same snapshot, and the server refuses any write), bounded by
``statement_timeout`` and ``lock_timeout`` so a busy server cannot hang a CI job, and an empty
``search_path`` so the server's deparsers schema-qualify every user name the same way each time.
The queries themselves live in ``live_queries``: one per object kind, so the number of round
trips does not grow with the schema. Connecting, the transaction and sending the queries are
``live_connection``'s (which a command may start before this module is even imported); this
module turns the rows into the model, and psycopg rows never leave the two.

Nothing is skipped silently: object kinds (and attributes) pgspec does not model become
``catalog.Warning`` entries. A password never appears in anything this module says.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import threading
from collections.abc import Collection, Iterable, Iterator
from typing import Any, Literal

import pglast
import psycopg
from pglast import ast
from pglast.stream import RawStream

from pgspec.catalog import (
    Aggregate,
    Argument,
    Attribute,
    Catalog,
    Column,
    CompositeType,
    Constraint,
    Domain,
    Enum,
    Extension,
    Function,
    Index,
    IndexKey,
    MaterializedView,
    Policy,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
    Warning,
)
from pgspec.errors import SourceError, SqlError
from pgspec.normalize import canonical_type
from pgspec.quoting import qualified, quote
from pgspec.sources import live_queries as q
from pgspec.sources.elements import index_key_from_node, parse_index_element
from pgspec.sources.live_connection import (  # noqa: F401  (LOCK_TIMEOUT and __all__ re-exported)
    LOCK_TIMEOUT,
    READ_ATTEMPTS,
    CatalogRead,
    CatalogRow,
    SchemaChanged,
    adopt,
    check_server_version,
    concurrent_ddl,
    describe_dsn,
    readonly_transaction,
    server_reason,
)
from pgspec.sources.live_privileges import privilege_parts

__all__ = ["check_server_version", "describe_dsn", "introspect", "last_query_count", "readonly_transaction"]

_last_query_count = 0


def last_query_count() -> int:
    """Catalog queries the last ``introspect`` sent (benchmarks check it stays constant)."""
    return _last_query_count


# --------------------------------------------------------------------------- reading


def introspect(
    dsn: str, *, schemas: Collection[str] | None = None, connect_timeout: int | None = None
) -> Catalog:
    """Every object in the selected schemas of a live database, as a Catalog.

    ``schemas=None`` reads every schema except the system ones (pg_catalog, information_schema,
    pg_toast*, pg_temp*). Objects that belong to extensions are left out: the extension is the
    object. Raises SourceError when the server cannot be reached or read, UnsupportedError for
    servers older than PostgreSQL 14.
    """
    if isinstance(schemas, str):  # one name, not its letters
        schemas = [schemas]
    where = describe_dsn(dsn)
    with _collector_paused():
        return _introspect(dsn, schemas, connect_timeout, where)


def _introspect(
    dsn: str, schemas: Collection[str] | None, connect_timeout: int | None, where: str
) -> Catalog:
    global _last_query_count
    for attempt in range(1, READ_ATTEMPTS + 1):
        read = adopt(dsn, schemas) if attempt == 1 and connect_timeout is None else None
        try:
            if read is None:
                read = CatalogRead(dsn, schemas, connect_timeout)
            return _Reader(read).read(where)
        except psycopg.Error as exc:
            if not concurrent_ddl(exc):
                raise SourceError(f"cannot read {where}: {server_reason(exc)}") from None
            if attempt == READ_ATTEMPTS:
                raise SourceError(
                    f"cannot read {where}: the schema changed during each of {READ_ATTEMPTS} "
                    f"reads (concurrent DDL): {server_reason(exc)}"
                ) from None
        finally:
            if read is not None:
                read.close()
                _last_query_count = read.count
    raise AssertionError("unreachable")  # pragma: no cover


_paused_reads = 0
_paused_lock = threading.Lock()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while reads run (two at once in a diff): a read
    allocates hundreds of thousands of rows and models, none of them in cycles, and the
    collector's passes over everything still alive were 6 % of ``diff A B`` at 10,000 tables
    (measured 5.0 s -> 4.6 s). Turned back on, if it was on, when the last read ends, after
    ``gc.freeze()``: everything the reads allocated is still in the youngest generation, and the
    first allocation after ``gc.enable()`` would start a pass over all of it (55 ms of a 1.4 s
    ``diff`` at 3,000 tables). Frozen objects are still freed when no longer referenced; only
    reference cycles among them would wait for ``gc.unfreeze()``, and the reads make none."""
    global _paused_reads, _was_enabled
    with _paused_lock:
        if _paused_reads == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused_reads += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused_reads -= 1
            if _paused_reads == 0 and _was_enabled:
                gc.freeze()
                gc.enable()


_was_enabled = True


class _Reader:
    """One introspection: the read under way (its connection and query results), the warnings
    gathered on the way and what one kind's rows tell another's."""

    def __init__(self, source: CatalogRead) -> None:
        self.source = source
        self.encoding = source.conn.info.encoding
        self.warnings: list[Warning] = []
        #: The Columns COLUMNS read, by relation oid and attribute number, in attnum order.
        self.columns: dict[int, dict[int, Column]] = {}
        #: (relation oid, attnum) of PostgreSQL 18's virtual generated columns.
        self.virtual: set[tuple[int, int]] = set()
        #: Each column's (type oid, collation oid), as COLUMNS is keyed, for index keys.
        self.column_types: dict[int, dict[int, tuple[int, int]]] = {}
        #: Default operator class oid -> the type it is the default for.
        self.default_opclasses: dict[int, int] = {}
        #: Indexes whose keys need their CREATE INDEX: (catalog key, INDEXES row).
        self.pending_indexes: list[tuple[str, CatalogRow]] = []

    def warn(self, object_type: str, name: str, message: str) -> None:
        self.warnings.append(Warning(object_type=object_type, name=name, message=message))

    def read(self, where: str) -> Catalog:
        parts = self.build()
        self.source.finish()
        self.complete_indexes(parts["indexes"])
        return Catalog(**parts, warnings=self.warnings, source=where)

    def build(self) -> dict[str, Any]:
        """The Catalog's parts from the query results, each kind built once its rows have
        arrived. Tables and the kinds that name columns wait for COLUMNS; the order below is
        also the order of the warnings."""
        schema_rows, rows = self.source.schema_rows, self.source
        parts: dict[str, Any] = {
            "schemas": _keyed(Schema(name=r.name, comment=_schema_comment(r)) for r in schema_rows),
            "extensions": _keyed(
                Extension(name=r.name, schema=r.schema, version=r.version,
                          comment=r.comment)
                for r in rows["extensions"]
            ),
            "enums": _keyed(
                Enum(schema=r.schema, name=r.name, values=r.labels, comment=r.comment)
                for r in rows["enums"]
            ),
            "domains": _keyed(self.domain(r) for r in rows["domains"]),
            "sequences": _keyed(_sequence(r) for r in rows["sequences"]),
        }
        self.read_columns(rows["columns"])
        parts |= {
            "constraints": _keyed(self.constraint(r) for r in rows["constraints"]),
            "indexes": self.indexes(rows["default_opclasses"], rows["indexes"]),
            "functions": _keyed(self.function(r) for r in rows["functions"]),
            "aggregates": _keyed(_aggregate(r) for r in rows["aggregates"]),
            "triggers": _keyed(self.trigger(r) for r in rows["triggers"]),
            "policies": _keyed(_policy(r) for r in rows["policies"]),
        }
        relations: dict[str, dict[str, Any]] = {
            "tables": {}, "views": {}, "materialized_views": {}, "composite_types": {},
        }
        for row in rows["relations"]:
            kind, obj = self.relation(row)
            relations[kind][obj.key] = obj
        parts.update(relations)
        for row in rows["unmodelled"]:
            self.unmodelled(row)
        parts.update(privilege_parts(parts, rows["acls"], rows["default_acls"],
                                     self.source.conn.info.server_version))
        return parts

    # ----------------------------------------------------------------------- types

    def domain(self, row: CatalogRow) -> Domain:
        name = qualified(row.schema, row.name)
        checks: dict[str, str] = {}
        for check in _json(row.checks):
            checks[check["name"]] = check["expression"]
            if not check["validated"]:
                self.warn("domain", name, f"check {check['name']!r} is NOT VALID, which pgspec "
                          "does not model: compared as if validated")
        return Domain(
            schema=row.schema,
            name=row.name,
            type=_type(row.type),
            not_null=row.not_null,
            default=row.default,
            collation=_collation(row.collation_schema, row.collation_name),
            checks=checks,
            comment=row.comment,
        )

    # ----------------------------------------------------------------------- relations

    def relation(self, row: CatalogRow) -> tuple[str, Any]:
        schema, name, relkind = row.schema, row.name, row.relkind
        key = qualified(schema, name)
        if relkind == "c":
            attributes = [
                Attribute(name=c["name"], type=_type(c["type"]),
                          collation=_collation(*c["collation"]) if c["collation"] else None)
                for c in _json(row.attributes) or ()
            ]
            return "composite_types", CompositeType(
                schema=schema, name=name, attributes=attributes, comment=row.comment
            )
        names = list(row.view_columns or ())
        # pg_get_viewdef starts with a space (" SELECT ..."); trimmed as the spec loader trims
        # a query, the text pgspec inspect wrote compares equal to the server's without either
        # being parsed (3,000 views: 0.6 s of the self-check of inspect, and of each verify of
        # an inspected spec).
        query = row.query.strip() if row.query is not None else None
        if relkind == "v":
            return "views", View(
                schema=schema, name=name, query=query,
                options=_view_options(row.reloptions), columns=names, comment=row.comment,
            )
        if row.reloptions:
            self.warn("table" if relkind in ("r", "p") else "materialized_view", key,
                      f"storage parameters {', '.join(row.reloptions)} are not modelled by "
                      "pgspec: not compared")
        if relkind == "m":
            return "materialized_views", MaterializedView(
                schema=schema, name=name, query=query, with_data=row.relispopulated,
                columns=names, comment=row.comment,
            )
        parents = [qualified(*p) for p in _json(row.parents) or ()]
        partition_of = parents[0] if row.relispartition and parents else None
        return "tables", Table(
            schema=schema,
            name=name,
            columns=self.table_columns(key, row.oid),
            rls_enabled=row.relrowsecurity,
            rls_forced=row.relforcerowsecurity,
            unlogged=row.relpersistence == "u",
            partition_by=row.partition_by,
            partition_of=partition_of,
            partition_bound=row.partition_bound,
            inherits=[] if row.relispartition else parents,
            comment=row.comment,
        )

    def read_columns(self, rows: list[tuple[Any, ...]]) -> None:
        """Every table's Columns from the COLUMNS rows (plain tuples: tens of thousands of
        them, read once here and dropped)."""
        columns, types = self.columns, self.column_types
        for (relation, attnum, name, type_text, not_null, default, generated, identity,
             collation_schema, collation_name, comment, type_oid, collation_oid) in rows:
            columns.setdefault(relation, {})[attnum] = _column(
                name, type_text, not_null, default, generated, identity, collation_schema,
                collation_name, comment)
            types.setdefault(relation, {})[attnum] = (type_oid, collation_oid)
            if generated == "v":
                self.virtual.add((relation, attnum))

    def table_columns(self, table_key: str, relation: int) -> list[Column]:
        by_number = self.columns.get(relation, {})
        for attnum, column in by_number.items():
            if (relation, attnum) in self.virtual:
                # PostgreSQL 18's virtual generated columns: the model knows only STORED ones.
                self.warn("column", f"{table_key}.{quote(column.name)}",
                          "a VIRTUAL generated column is not modelled by pgspec: compared as STORED")
        return list(by_number.values())

    def names(self, relation: int, attnums: Iterable[int]) -> list[str]:
        """Column names of a relation COLUMNS read, for attribute numbers in their order."""
        by_number = self.columns.get(relation)
        if by_number is None:
            raise SqlError(f"no columns were read for the relation with oid {relation}")
        return [by_number[n].name for n in attnums]

    # ----------------------------------------------------------------------- constraints

    def constraint(self, row: CatalogRow) -> Constraint:
        kind = _CONSTRAINT_KINDS[row.contype]
        for flag, wording in (
            (not row.validated, "is NOT VALID"),
            (not row.enforced, "is NOT ENFORCED"),
            (row.period, "uses WITHOUT OVERLAPS / PERIOD"),
            (row.delete_set_columns, "sets only some columns on delete"),
        ):
            if flag:
                self.warn("constraint", qualified(row.schema, row.table, row.name),
                          f"the constraint {wording}, which pgspec does not model: compared "
                          "without it")
        foreign = kind == "foreign_key"
        return Constraint(
            schema=row.schema,
            table=row.table,
            name=row.name,
            kind=kind,
            # A CHECK's columns are whatever its expression mentions: not an attribute of its own.
            columns=[] if kind == "check" else self.names(row.relation, row.attnums or ()),
            expression=row.expression,
            references=qualified(row.ref_schema, row.ref_table) if foreign else None,
            references_columns=self.referenced(row) if foreign else [],
            on_delete=_FK_ACTIONS[row.confdeltype] if foreign else "no action",
            on_update=_FK_ACTIONS[row.confupdtype] if foreign else "no action",
            match=_FK_MATCH[row.confmatchtype] if foreign else "simple",
            deferrable=row.condeferrable,
            initially_deferred=row.condeferred,
            nulls_not_distinct=row.nulls_not_distinct,
            include=self.names(row.relation, (row.index_attnums or ())[row.index_key_count:]),
            # The server sets connoinherit on keys of plain tables too; only a CHECK's means
            # what NO INHERIT says.
            no_inherit=row.no_inherit if kind == "check" else False,
            definition=row.definition,
            comment=row.comment,
        )

    def referenced(self, row: CatalogRow) -> list[str]:
        """A foreign key's referenced columns: named by the server when COLUMNS did not read
        the referenced table (another schema), else through COLUMNS."""
        if row.ref_columns is not None:
            return list(row.ref_columns)
        return self.names(row.ref_relation, row.ref_attnums)

    # ----------------------------------------------------------------------- indexes

    def indexes(
        self, opclass_rows: list[CatalogRow], rows: list[CatalogRow]
    ) -> dict[str, Index | None]:
        """Indexes by key, in the order read; None where the keys wait for the CREATE INDEX
        (``complete_indexes`` fills those in)."""
        self.default_opclasses = {r.oid: r.opcintype for r in opclass_rows}
        found: dict[str, Index | None] = {}
        for row in rows:
            key = qualified(row.schema, row.name)
            if not row.valid:
                self.warn("index", key, "the index is INVALID (a failed CREATE INDEX CONCURRENTLY?)")
            if row.reloptions:
                self.warn("index", key, f"storage parameters {', '.join(row.reloptions)} are "
                          "not modelled by pgspec: not compared")
            keys = self.plain_keys(row)
            if keys is None:
                self.pending_indexes.append((key, row))
                found[key] = None
            else:
                found[key] = self.index(row, keys)
        return found

    def plain_keys(self, row: CatalogRow) -> list[IndexKey] | None:
        """The keys of an index whose every key is plain, as the parse of its CREATE INDEX
        would give them; None when one may not be (see live_queries.INDEXES).

        ruleutils (get_opclass_name, pg_get_indexdef_worker) prints a key's opclass unless it
        is the default one for the key's type, and its collation unless it is the collation
        of the key's expression. A column's is known (COLUMNS); an expression's is the
        default (oid 100) when it says no COLLATE and every column of the table has the
        default collation or none, since then nothing it is built from carries another one.
        Anything else (an opclass default only for a binary-compatible type, say) goes to
        the exact path: the test only ever sends a key there, never away from it.
        """
        if row.opclass_options:
            return None
        relation = row.relation
        types = self.column_types.get(relation, {})
        expressions, key_types = row.expressions, row.key_types
        keys = []
        for k in range(row.key_count):
            attnum, option = row.attnums[k], row.options[k]
            collation, opclass_type = row.collations[k], self.default_opclasses.get(row.opclasses[k])
            if attnum != 0:
                column_type = types.get(attnum)
                if (column_type is None or opclass_type != column_type[0]
                        or collation not in (0, column_type[1])):
                    return None
                keys.append(_plain_key(self.columns[relation][attnum].name, option))
                continue
            text = expressions[k]
            if opclass_type is None or opclass_type != key_types[k]:
                return None
            if collation != 0 and not (
                collation == _DEFAULT_COLLATION and "COLLATE" not in text
                and all(c in (0, _DEFAULT_COLLATION) for _, c in types.values())
            ):
                return None
            keys.append(_expression_key(text, option))
        return keys

    def complete_indexes(self, indexes: dict[str, Index | None]) -> None:
        """Read the CREATE INDEX of the indexes ``plain_keys`` could not decide, in one query
        sent after the others (usually none is), and parse their keys from it."""
        if not self.pending_indexes:
            return
        oids = [row.oid for _, row in self.pending_indexes]
        definitions = {r.oid: r.definition
                       for r in self.source.fetch(q.INDEX_DEFINITIONS, {"oids": oids})}
        for key, row in self.pending_indexes:
            definition = definitions.get(row.oid)
            if definition is None:
                # Dropped since the snapshot: the deparser sees the latest catalog.
                raise SchemaChanged(f"index {key} was dropped during the read")
            stmt = _parse_one(definition, ast.IndexStmt)
            keys = []
            for elem in stmt.indexParams:
                if elem.opclassopts:
                    self.warn("index", key, f"operator class parameters in {RawStream()(elem)!r} "
                              "are not modelled by pgspec: not compared")
                    elem.opclassopts = None
                keys.append(index_key_from_node(elem, row.schema))
            indexes[key] = self.index(row, keys)
        self.pending_indexes = []

    def index(self, row: CatalogRow, keys: list[IndexKey]) -> Index:
        return Index(
            schema=row.schema,
            name=row.name,
            table=row.table,
            unique=row.unique,
            method=row.method,
            keys=keys,
            include=self.names(row.relation, row.attnums[row.key_count:]),
            where=row.where,
            nulls_not_distinct=row.nulls_not_distinct,
            comment=row.comment,
        )

    # ----------------------------------------------------------------------- routines

    def function(self, row: CatalogRow) -> Function:
        types = [_type(t) for t in row.arg_types]
        modes = row.arg_modes or ["i"] * len(types)
        names = row.arg_names or []
        arguments = []
        for i, arg_type in enumerate(types):
            mode = _ARG_MODES[modes[i]]
            arguments.append(
                Argument(
                    name=(names[i] or None) if i < len(names) else None,
                    type=arg_type,
                    mode=mode,
                    default=row.arg_defaults[i] if mode in ("in", "inout", "variadic") else None,
                )
            )
        procedure = row.prokind == "p"
        config = dict(item.partition("=")[::2] for item in row.proconfig or ())
        return Function(
            schema=row.schema,
            name=row.name,
            kind_of_object="procedure" if procedure else "function",
            arguments=arguments,
            returns=None if procedure else _type(row.returns),
            returns_set=row.returns_set,
            language=row.language,
            body=row.body or "",
            volatility=_VOLATILITY[row.provolatile],
            strict=row.proisstrict,
            security_definer=row.prosecdef,
            leakproof=row.proleakproof,
            parallel=_PARALLEL[row.proparallel],
            config=config,
            comment=row.comment,
        )

    def trigger(self, row: CatalogRow) -> Trigger:
        tgtype = row.tgtype
        if tgtype & _TG_INSTEAD:
            timing = "instead of"
        elif tgtype & _TG_BEFORE:
            timing = "before"
        else:
            timing = "after"
        events = sorted(name for bit, name in _TG_EVENTS.items() if tgtype & bit)
        when = None
        if row.definition is not None:
            stmt = _parse_one(row.definition, ast.CreateTrigStmt)
            when = RawStream()(stmt.whenClause) if stmt.whenClause is not None else None
        raw = bytes(row.args or b"")
        arguments = [a.decode(self.encoding) for a in raw.split(b"\0")[: row.nargs]]
        return Trigger(
            schema=row.schema,
            table=row.table,
            name=row.name,
            timing=timing,
            events=events,
            update_columns=(list(row.update_columns) if row.update_columns is not None
                            else self.names(row.relation, row.update_attnums or ())),
            level="row" if tgtype & _TG_ROW else "statement",
            when=when,
            function=qualified(row.function_schema, row.function_name),
            arguments=arguments,
            old_table=row.old_table,
            new_table=row.new_table,
            enabled=_TG_ENABLED[row.enabled],
            constraint=row.is_constraint,
            deferrable=row.deferrable,
            initially_deferred=row.initially_deferred,
            comment=row.comment,
        )

    # ----------------------------------------------------------------------- the rest

    def unmodelled(self, row: CatalogRow) -> None:
        kind, schema, name, detail = row.object_type, row.schema, row.name, row.detail
        if kind == "rule":
            label = qualified(schema, detail, name)
        elif kind == "window function":
            label = f"{qualified(schema, name)}({detail})"
        elif kind == "operator":
            label = f"{quote(schema)}.{name}({detail})"
        elif kind == "cast":
            label = f"({name})"
        elif schema is not None:
            label = qualified(schema, name)
        else:
            label = quote(name)
        if kind in ("operator class", "operator family"):
            label += f" using {detail}"
        elif kind == "event trigger":
            label += f" on {detail}"
        self.warn(kind, label, f"{kind} is not modelled by pgspec: not compared")


# --------------------------------------------------------------------------- row helpers

_CONSTRAINT_KINDS = {"p": "primary_key", "u": "unique", "f": "foreign_key", "c": "check",
                     "x": "exclude"}
_FK_ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null",
               "d": "set default"}
_FK_MATCH = {"s": "simple", "f": "full", "p": "partial"}
_ARG_MODES = {"i": "in", "o": "out", "b": "inout", "v": "variadic", "t": "table"}
_VOLATILITY = {"v": "volatile", "s": "stable", "i": "immutable"}
_PARALLEL = {"u": "unsafe", "r": "restricted", "s": "safe"}
_POLICY_COMMANDS = {"*": "all", "r": "select", "a": "insert", "w": "update", "d": "delete"}
_TG_ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}
# pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h, TRIGGER_TYPE_*).
_TG_ROW, _TG_BEFORE, _TG_INSTEAD = 1, 2, 64
_TG_EVENTS = {4: "insert", 8: "delete", 16: "update", 32: "truncate"}
# What CREATE SEQUENCE picks without MINVALUE/MAXVALUE, per type (ascending; a descending
# sequence gets the type's minimum and -1).
_SEQ_LIMITS = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1),
               "bigint": (-(2**63), 2**63 - 1)}
_BOOL_WORDS = {"true": "true", "on": "true", "yes": "true", "1": "true",
               "false": "false", "off": "false", "no": "false", "0": "false"}


@functools.lru_cache(maxsize=65536)
def _column(
    name: str, type_text: str, not_null: bool, default: str | None, generated: str | None,
    identity: str | None, collation_schema: str | None, collation_name: str | None,
    comment: str | None,
) -> Column:
    """The Column of one COLUMNS row. Columns are immutable and schemas repeat them (``id``,
    ``tenant_id``, ``created_at`` on every table): each distinct column is built and validated
    once and shared, by both databases of a comparison too, which also lets the differ find
    them equal by identity.
    """
    return Column(
        name=name,
        type=_type(type_text),
        not_null=not_null,
        default=None if generated else default,
        generated=default if generated else None,
        identity={"a": "always", "d": "by default"}.get(identity or ""),
        collation=_collation(collation_schema, collation_name),
        comment=comment,
    )


def _keyed(objects: Iterator[Any] | Any) -> dict[str, Any]:
    return {obj.key: obj for obj in objects}


def _json(value: Any) -> Any:
    """JSON columns arrive decoded by psycopg; text (a custom loader) is decoded here."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _type(text: str) -> str:
    """A ``format_type`` spelling in the canonical form every source uses."""
    try:
        return canonical_type(text)
    except SqlError:
        return text


def _collation(schema: str | None, name: str | None) -> str | None:
    """A collation as the shared index-element conversion names one: bare when it lives in
    pg_catalog (always on the search path), schema-qualified otherwise."""
    if name is None:
        return None
    return name if schema in (None, "pg_catalog") else qualified(schema, name)


def _schema_comment(row: CatalogRow) -> str | None:
    """initdb's comment on ``public`` is the server's, not the user's: pg_dump leaves it out,
    and so does this reader, so a database and its dump read the same."""
    if row.name == "public" and row.comment == "standard public schema":
        return None
    return row.comment


def _view_options(reloptions: list[str] | None) -> dict[str, str]:
    """reloptions keep what was written (``security_barrier=on``); booleans become "true" /
    "false" as the model states them."""
    options: dict[str, str] = {}
    for item in reloptions or ():
        name, _, value = item.partition("=")
        if name in ("security_barrier", "security_invoker"):
            value = _BOOL_WORDS.get(value.lower(), value)
        options[name] = value
    return options


def _sequence(row: CatalogRow) -> Sequence:
    seq_type = _type(row.type)
    low, high = _SEQ_LIMITS.get(seq_type, (None, None))
    if row.increment < 0:
        default_min, default_max = low, -1
    else:
        default_min, default_max = 1, high
    owner = _json(row.owned_by)
    return Sequence(
        schema=row.schema,
        name=row.name,
        type=seq_type,
        start=row.start,
        increment=row.increment,
        min_value=None if row.min_value == default_min else row.min_value,
        max_value=None if row.max_value == default_max else row.max_value,
        cache=row.cache,
        cycle=row.cycle,
        owned_by=qualified(*owner) if owner else None,
        comment=row.comment,
    )


_AGG_KINDS = {"n": "normal", "o": "ordered_set", "h": "hypothetical"}
_AGG_MODIFY = {"r": "read_only", "s": "shareable", "w": "read_write"}


def _proc_ref(pair: list[str] | None) -> str | None:
    """A support function or operator as every source names it: bare in pg_catalog (always on
    the search path), ``schema.name`` elsewhere."""
    if not pair:
        return None
    schema, name = pair
    return qualified(name) if schema == "pg_catalog" else qualified(schema, name)


def _aggregate(row: CatalogRow) -> Aggregate:
    modes = row.arg_modes or []
    names = row.arg_names or []
    arguments = [
        Argument(name=(names[i] or None) if i < len(names) else None, type=_type(t),
                 mode="variadic" if i < len(modes) and modes[i] == "v" else "in")
        for i, t in enumerate(row.arg_types)
    ]
    sortop = row.sortop
    return Aggregate(
        schema=row.schema,
        name=row.name,
        arguments=arguments,
        kind=_AGG_KINDS[row.aggkind],
        direct_arguments=row.direct_arguments,
        sfunc=_proc_ref(row.aggtransfn) or "",
        stype=_type(row.stype),
        sspace=row.sspace,
        finalfunc=_proc_ref(row.aggfinalfn),
        finalfunc_extra=row.finalfunc_extra,
        finalfunc_modify=_AGG_MODIFY[row.finalfunc_modify],
        combinefunc=_proc_ref(row.aggcombinefn),
        serialfunc=_proc_ref(row.aggserialfn),
        deserialfunc=_proc_ref(row.aggdeserialfn),
        initcond=row.initcond,
        msfunc=_proc_ref(row.aggmtransfn),
        minvfunc=_proc_ref(row.aggminvtransfn),
        mstype=_type(row.mstype) if row.mstype else None,
        msspace=row.msspace,
        mfinalfunc=_proc_ref(row.aggmfinalfn),
        mfinalfunc_extra=row.mfinalfunc_extra,
        mfinalfunc_modify=_AGG_MODIFY[row.mfinalfunc_modify],
        minitcond=row.minitcond,
        sortop=(sortop[1] if sortop[0] == "pg_catalog" else f"{quote(sortop[0])}.{sortop[1]}") if sortop else None,
        parallel=_PARALLEL[row.proparallel],
        comment=row.comment,
    )


def _policy(row: CatalogRow) -> Policy:
    return Policy(
        schema=row.schema,
        table=row.table,
        name=row.name,
        command=_POLICY_COMMANDS[row.command],
        permissive=row.permissive,
        roles=sorted(row.roles),
        using=row.using,
        with_check=row.with_check,
        comment=row.comment,
    )


#: DEFAULT_COLLATION_OID (src/include/catalog/pg_collation.dat): the database's default.
_DEFAULT_COLLATION = 100

#: pg_index.indoption bits (src/include/catalog/pg_index.h).
_INDOPTION_DESC, _INDOPTION_NULLS_FIRST = 1, 2


def _ordering(option: int) -> tuple[Literal["asc", "desc"], Literal["first", "last"] | None]:
    """An index key's order and nulls from its pg_index.indoption bits, as
    ``index_key_from_node`` makes them from what the server prints (``DESC``, ``NULLS FIRST``
    on ASC, ``NULLS LAST`` on DESC): nulls kept only where they depart from the order's
    default."""
    nulls_first = bool(option & _INDOPTION_NULLS_FIRST)
    if option & _INDOPTION_DESC:
        return "desc", None if nulls_first else "last"
    return "asc", "first" if nulls_first else None


@functools.lru_cache(maxsize=4096)
def _plain_key(column: str, option: int) -> IndexKey:
    """The IndexKey of a plain column key with its ordering bits. Immutable, so shared."""
    order, nulls = _ordering(option)
    return IndexKey(column=column, order=order, nulls=nulls)


@functools.lru_cache(maxsize=4096)
def _expression_key(text: str, option: int) -> IndexKey:
    """The IndexKey of an expression key as ``pg_get_indexdef(index, n)`` prints it, with its
    ordering bits: parsed as an index element by the conversion every source shares, so the
    expression reads exactly as through the whole CREATE INDEX. Schemas repeat the same
    expressions (``lower(email)``) across tables, so each distinct text is parsed once."""
    order, nulls = _ordering(option)
    key = parse_index_element(text)
    return IndexKey(column=key.column, expression=key.expression, order=order, nulls=nulls)


def _parse_one(text: str, node_type: type[Any]) -> Any:
    """The single statement a server deparser printed, parsed by pglast."""
    try:
        stmts = pglast.parse_sql(text)
    except pglast.parser.ParseError as exc:
        raise SqlError(f"cannot parse the server's definition {text!r}: {exc.args[0]}") from None
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(stmt, node_type):
        raise SqlError(f"unexpected server definition {text!r}")
    return stmt

