"""Read a live PostgreSQL database into a Catalog, without ever writing to it.

Production databases are read the way DESIGN.md says: one ``REPEATABLE READ READ ONLY``
transaction (every query sees the same snapshot, and the server refuses any write), bounded by
``statement_timeout`` and ``lock_timeout`` so a busy server cannot hang a CI job, and an empty
``search_path`` so the server's deparsers schema-qualify every user name the same way each time.
The queries themselves live in ``live_queries``: one per object kind, so the number of round
trips does not grow with the schema. Connecting, the transaction and sending the queries are
``live_connection``'s (which a command may start before this module is even imported); this
module turns the rows into the model (with ``live_rows`` for the objects one row describes
whole and ``live_index_keys`` for index keys), and psycopg rows never leave these modules.

Nothing is skipped silently: object kinds (and attributes) pgspec does not model become
``catalog.Warning`` entries. A password never appears in anything this module says.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Collection, Iterable, Iterator
from typing import Any, Literal

import psycopg
from pglast import ast
from pglast.stream import RawStream

from pgspec.catalog import (
    Argument,
    Attribute,
    Catalog,
    Collation,
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
    Schema,
    Table,
    Trigger,
    View,
    Warning,
)
from pgspec.errors import SourceError, SqlError
from pgspec.quoting import qualified, quote
from pgspec.sources import live_queries as q
from pgspec.sources.elements import index_key_from_node
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
from pgspec.sources.live_index_keys import (
    DEFAULT_COLLATION,
    expression_key,
    parse_server_statement,
    plain_key,
)
from pgspec.sources.live_privileges import privilege_parts
from pgspec.sources.live_rows import (
    ARG_MODES,
    CONSTRAINT_KINDS,
    FK_ACTIONS,
    FK_MATCH,
    PARALLEL,
    TG_BEFORE,
    TG_ENABLED,
    TG_EVENTS,
    TG_INSTEAD,
    TG_ROW,
    VOLATILITY,
    aggregate_from,
    collation_ref,
    column_from,
    decoded_json,
    keyed,
    model_type,
    policy_from,
    schema_comment,
    sequence_from,
    view_options,
)

__all__ = ["check_server_version", "describe_dsn", "introspect", "last_query_count", "readonly_transaction"]

_last_query_count = 0


def last_query_count() -> int:
    """Catalog queries the last ``introspect`` sent (benchmarks check it stays constant)."""
    return _last_query_count


_COLLATION_PROVIDERS: dict[str, Literal["libc", "icu", "builtin"]] = {
    "c": "libc", "i": "icu", "b": "builtin"}


def collation_from(row: CatalogRow) -> Collation:
    """A COLLATIONS row: a libc collation whose LC_COLLATE and LC_CTYPE agree is its one
    ``locale``, as CREATE COLLATION (locale = ...) makes it."""
    lc_collate, lc_ctype, locale = row.lc_collate, row.lc_ctype, row.locale
    if row.provider == "c" and lc_collate == lc_ctype:
        locale, lc_collate, lc_ctype = lc_collate, None, None
    return Collation(
        schema=row.schema, name=row.name, provider=_COLLATION_PROVIDERS[row.provider],
        locale=locale, lc_collate=lc_collate, lc_ctype=lc_ctype,
        deterministic=row.deterministic, rules=row.rules, comment=row.comment,
    )


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
        collation_rows = rows["collations"]
        parts: dict[str, Any] = {
            "schemas": keyed(Schema(name=r.name, comment=schema_comment(r)) for r in schema_rows),
            "extensions": keyed(
                Extension(name=r.name, schema=r.schema, version=r.version,
                          comment=r.comment)
                for r in rows["extensions"]
            ),
            "collations": keyed(collation_from(r) for r in collation_rows),
            "enums": keyed(
                Enum(schema=r.schema, name=r.name, values=r.labels, comment=r.comment)
                for r in rows["enums"]
            ),
            "domains": keyed(self.domain(r) for r in rows["domains"]),
            "sequences": keyed(sequence_from(r) for r in rows["sequences"]),
        }
        self.read_columns(rows["columns"])
        parts |= {
            "constraints": keyed(self.constraint(r) for r in rows["constraints"]),
            "indexes": self.indexes(rows["default_opclasses"], rows["indexes"]),
            "functions": keyed(self.function(r) for r in rows["functions"]),
            "aggregates": keyed(aggregate_from(r) for r in rows["aggregates"]),
            "triggers": keyed(self.trigger(r) for r in rows["triggers"]),
            "policies": keyed(policy_from(r) for r in rows["policies"]),
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
        # A collation has an owner but no ACL: its owner comes with its own row.
        parts["owners"] = dict(sorted({
            **parts["owners"],
            **{qualified(r.schema, r.name): r.owner for r in collation_rows},
        }.items()))
        return parts

    # ----------------------------------------------------------------------- types

    def domain(self, row: CatalogRow) -> Domain:
        name = qualified(row.schema, row.name)
        checks: dict[str, str] = {}
        for check in decoded_json(row.checks):
            checks[check["name"]] = check["expression"]
            if not check["validated"]:
                self.warn("domain", name, f"check {check['name']!r} is NOT VALID, which pgspec "
                          "does not model: compared as if validated")
        return Domain(
            schema=row.schema,
            name=row.name,
            type=model_type(row.type),
            not_null=row.not_null,
            default=row.default,
            collation=collation_ref(row.collation_schema, row.collation_name),
            checks=checks,
            comment=row.comment,
        )

    # ----------------------------------------------------------------------- relations

    def relation(self, row: CatalogRow) -> tuple[str, Any]:
        schema, name, relkind = row.schema, row.name, row.relkind
        key = qualified(schema, name)
        if relkind == "c":
            attributes = [
                Attribute(name=c["name"], type=model_type(c["type"]),
                          collation=collation_ref(*c["collation"]) if c["collation"] else None)
                for c in decoded_json(row.attributes) or ()
            ]
            return "composite_types", CompositeType(
                schema=schema, name=name, attributes=attributes, comment=row.comment
            )
        names = list(row.view_columns or ())
        # pg_get_viewdef starts with a space (" SELECT ..."); trimmed as the spec loader trims
        # a query, the text pgspec inspect wrote compares equal to the server's without either
        # being parsed (3,000 views: 0.6 s of the self-check of inspect, and of each verify of
        # an inspected spec).
        query = ""
        if relkind in ("v", "m"):
            if row.query is None:  # pg_get_viewdef found no rule: not in any snapshot seen yet
                raise SchemaChanged(f"view {key} changed during the read")
            query = row.query.strip()
        if relkind == "v":
            return "views", View(
                schema=schema, name=name, query=query,
                options=view_options(row.reloptions), columns=names, comment=row.comment,
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
        parents = [qualified(*p) for p in decoded_json(row.parents) or ()]
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
            columns.setdefault(relation, {})[attnum] = column_from(
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
        kind = CONSTRAINT_KINDS[row.contype]
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
            # An exclusion constraint's key on an expression is attribute number 0 (its
            # definition holds the expression).
            columns=[] if kind == "check" else self.names(row.relation, (n for n in row.attnums or () if n)),
            expression=row.expression,
            references=qualified(row.ref_schema, row.ref_table) if foreign else None,
            references_columns=self.referenced(row) if foreign else [],
            on_delete=FK_ACTIONS[row.confdeltype] if foreign else "no action",
            on_update=FK_ACTIONS[row.confupdtype] if foreign else "no action",
            match=FK_MATCH[row.confmatchtype] if foreign else "simple",
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
                keys.append(plain_key(self.columns[relation][attnum].name, option))
                continue
            text = expressions[k]
            if opclass_type is None or opclass_type != key_types[k]:
                return None
            if collation != 0 and not (
                collation == DEFAULT_COLLATION and "COLLATE" not in text
                and all(c in (0, DEFAULT_COLLATION) for _, c in types.values())
            ):
                return None
            keys.append(expression_key(text, option))
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
            stmt = parse_server_statement(definition, ast.IndexStmt)
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
        types = [model_type(t) for t in row.arg_types]
        modes = row.arg_modes or ["i"] * len(types)
        names = row.arg_names or []
        arguments = []
        for i, arg_type in enumerate(types):
            mode = ARG_MODES[modes[i]]
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
            returns=None if procedure else model_type(row.returns),
            returns_set=row.returns_set,
            language=row.language,
            body=row.body or "",
            volatility=VOLATILITY[row.provolatile],
            strict=row.proisstrict,
            security_definer=row.prosecdef,
            leakproof=row.proleakproof,
            parallel=PARALLEL[row.proparallel],
            config=config,
            comment=row.comment,
        )

    def trigger(self, row: CatalogRow) -> Trigger:
        tgtype = row.tgtype
        timing: Literal["before", "after", "instead of"]
        if tgtype & TG_INSTEAD:
            timing = "instead of"
        elif tgtype & TG_BEFORE:
            timing = "before"
        else:
            timing = "after"
        events = sorted(name for bit, name in TG_EVENTS.items() if tgtype & bit)
        when = None
        if row.definition is not None:
            stmt = parse_server_statement(row.definition, ast.CreateTrigStmt)
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
            level="row" if tgtype & TG_ROW else "statement",
            when=when,
            function=qualified(row.function_schema, row.function_name),
            arguments=arguments,
            old_table=row.old_table,
            new_table=row.new_table,
            enabled=TG_ENABLED[row.enabled],
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
