"""Read a live PostgreSQL database into a Catalog, without ever writing to it.

Production databases are read the way DESIGN.md says: one ``REPEATABLE READ READ ONLY``
transaction (every query sees the same snapshot, and the server refuses any write), bounded by
``statement_timeout`` and ``lock_timeout`` so a busy server cannot hang a CI job, and an empty
``search_path`` so the server's deparsers schema-qualify every user name the same way each time.
The queries themselves live in ``live_queries``: one per object kind, so the number of round
trips does not grow with the schema. psycopg rows never leave this module.

Nothing is skipped silently: object kinds (and attributes) pgspec does not model become
``catalog.Warning`` entries. A password never appears in anything this module says.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import json
import os
import queue
import threading
from collections.abc import Collection, Iterable, Iterator
from typing import Any

import pglast
import psycopg
from pglast import ast
from pglast.stream import RawStream
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row, tuple_row

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
from pgspec.errors import SourceError, SqlError, UnsupportedError
from pgspec.normalize import canonical_type
from pgspec.quoting import qualified, quote
from pgspec.sources import live_queries as q
from pgspec.sources.elements import index_key_from_node, parse_index_element
from pgspec.sources.live_privileges import privilege_parts

__all__ = ["check_server_version", "describe_dsn", "introspect", "last_query_count", "readonly_transaction"]

#: How long one catalog query, and one wait for a lock, may take before the read gives up.
STATEMENT_TIMEOUT = "30s"
LOCK_TIMEOUT = "5s"

_last_query_count = 0


def last_query_count() -> int:
    """Catalog queries the last ``introspect`` sent (benchmarks check it stays constant)."""
    return _last_query_count


# --------------------------------------------------------------------------- connecting


def _conninfo(dsn: str) -> dict[str, Any]:
    """The DSN's parameters; a malformed one is reported without echoing it (it may hold a
    password, and libpq's own message quotes the offending fragment)."""
    try:
        return conninfo_to_dict(dsn)
    except psycopg.Error:
        raise SourceError(
            "invalid connection string: expected a postgresql:// URI or libpq key=value pairs"
        ) from None


def describe_dsn(dsn: str) -> str:
    """``postgresql://user@host:port/dbname``, filled with libpq's defaults, never a password.

    Reports and error messages name a live source this way, so a DSN with an embedded password
    can be passed on a command line without the password ending up in CI logs.
    """
    params = _conninfo(dsn)
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    user = params.get("user") or os.environ.get("PGUSER") or getpass.getuser()
    dbname = params.get("dbname") or os.environ.get("PGDATABASE") or user
    return f"postgresql://{user}@{host}:{port}/{dbname}"


def _connect_reason(exc: psycopg.Error, params: dict[str, Any], timeout: int) -> str:
    """Why a connection failed, in words a user acts on, never quoting the password.

    libpq reports connection failures as text without an SQLSTATE, so its wording is read here;
    anything unrecognised falls back to libpq's own last line with the password scrubbed.
    """
    text = str(exc)
    lower = text.lower()
    # The server's own refusal ("FATAL:  role "x" does not exist"), when it got that far.
    fatal = lower.split("fatal:", 1)[1].strip() if "fatal:" in lower else ""
    if "timeout expired" in lower or "timed out" in lower:
        # libpq, and psycopg after it, wait at least 2 seconds whatever smaller value is asked.
        return f"timed out after {max(timeout, 2)}s"
    if "password authentication failed" in lower or "authentication failed" in lower:
        return "authentication failed"
    if "password" in lower and ("no password supplied" in lower or "requires a password" in lower):
        return "authentication failed: the server requires a password"
    if fatal.startswith('role "') and "does not exist" in fatal:
        return f"authentication failed: role {params.get('user', '')!r} does not exist"
    if fatal.startswith('database "') and "does not exist" in fatal:
        return f"database {params.get('dbname', '')!r} does not exist"
    if "no pg_hba.conf entry" in lower:
        return "permission denied: no pg_hba.conf entry for this host, user and database"
    if "permission denied" in lower or "connect privilege" in lower:
        return "permission denied"
    if "connection refused" in lower:
        return "unreachable: connection refused"
    if "translate host name" in lower or "resolve host" in lower or "name or service" in lower:
        return "unreachable: unknown host"
    if "no such file or directory" in lower:
        return "unreachable: no server socket there"
    if "network is unreachable" in lower or "no route to host" in lower:
        return "unreachable: no route to host"
    last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")
    last = last.rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()
    password = params.get("password")
    if password:
        last = last.replace(str(password), "***")
    return f"connection failed: {last}" if last else "connection failed"


#: Seconds to wait for a connection when neither the caller, the DSN nor PGCONNECT_TIMEOUT says.
DEFAULT_CONNECT_TIMEOUT = 10


def _connect_timeout(params: dict[str, Any], requested: int | None) -> int:
    """The caller's timeout, else the DSN's ``connect_timeout``, else ``PGCONNECT_TIMEOUT``,
    else the default: a user who writes ``?connect_timeout=3`` must not wait 10 seconds."""
    if requested is not None:
        return requested
    for value in (params.get("connect_timeout"), os.environ.get("PGCONNECT_TIMEOUT")):
        if value is not None and str(value).strip().lstrip("-").isdigit():
            return int(value)
    return DEFAULT_CONNECT_TIMEOUT


@contextlib.contextmanager
def readonly_transaction(
    dsn: str, connect_timeout: int | None = None
) -> Iterator[psycopg.Connection[DictRow]]:
    """A connection inside one read-only REPEATABLE READ transaction, rolled back at the end.

    REPEATABLE READ gives every catalog query the same snapshot, so a migration running
    meanwhile cannot make the read inconsistent; READ ONLY makes the server refuse any write.
    The SET LOCALs end with the transaction, leaving a pooled session as it was.
    """
    params = _conninfo(dsn)
    where = describe_dsn(dsn)
    connect_timeout = _connect_timeout(params, connect_timeout)
    try:
        conn = psycopg.connect(
            dsn,
            connect_timeout=connect_timeout,
            autocommit=True,
            row_factory=dict_row,
            fallback_application_name="pgspec",
        )
    except psycopg.Error as exc:
        raise SourceError(
            f"cannot connect to {where}: {_connect_reason(exc, params, connect_timeout)}"
        ) from None
    try:
        check_server_version(conn.info.server_version, where)
        try:
            # One round trip for the whole set-up. The output settings are pg_dump's: the
            # server's deparsers print literals (timestamps, intervals) according to them, and
            # the same database must read the same whatever the role's defaults are.
            conn.execute(
                sql.SQL(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
                    " SET LOCAL statement_timeout = {};"
                    " SET LOCAL lock_timeout = {};"
                    " SET LOCAL search_path = '';"
                    " SET LOCAL TimeZone = 'UTC';"
                    " SET LOCAL DateStyle = 'ISO';"
                    " SET LOCAL IntervalStyle = 'postgres';"
                    " SET LOCAL extra_float_digits = 3"
                ).format(sql.Literal(STATEMENT_TIMEOUT), sql.Literal(LOCK_TIMEOUT))
            )
        except psycopg.Error as exc:
            raise SourceError(f"cannot read {where}: {_server_reason(exc)}") from None
        yield conn
    finally:
        with contextlib.suppress(psycopg.Error):
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        conn.close()


def check_server_version(version: int, where: str) -> None:
    """Refuse servers older than the queries support (``server_version`` as libpq gives it,
    e.g. 130012), naming the server, before any catalog query could fail obscurely."""
    if version < q.MIN_SERVER_VERSION:
        raise UnsupportedError(
            f"{where} runs postgresql {version // 10000}; pgspec reads 14 and later"
        )


def _server_reason(exc: psycopg.Error) -> str:
    """A failed catalog query's reason: the server's primary message (it never holds the DSN)."""
    message = exc.diag.message_primary
    if not message:
        lines = str(exc).strip().splitlines()
        message = lines[0] if lines else type(exc).__name__
    return message.strip()


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
    global _last_query_count
    if isinstance(schemas, str):  # one name, not its letters
        schemas = [schemas]
    where = describe_dsn(dsn)
    for attempt in range(1, READ_ATTEMPTS + 1):
        with readonly_transaction(dsn, connect_timeout) as conn:
            reader = _Reader(conn)
            try:
                return reader.read(schemas, where)
            except psycopg.Error as exc:
                if not _concurrent_ddl(exc):
                    raise SourceError(f"cannot read {where}: {_server_reason(exc)}") from None
                if attempt == READ_ATTEMPTS:
                    raise SourceError(
                        f"cannot read {where}: the schema changed during each of {READ_ATTEMPTS} "
                        f"reads (concurrent DDL): {_server_reason(exc)}"
                    ) from None
            finally:
                _last_query_count = reader.count
    raise AssertionError("unreachable")  # pragma: no cover


#: Reads tried before concurrent DDL is reported as an error.
READ_ATTEMPTS = 5


class _SchemaChanged(psycopg.Error):
    """An object the snapshot shows was gone when the server deparsed it: concurrent DDL
    noticed by the reader rather than by the server."""


def _concurrent_ddl(exc: psycopg.Error) -> bool:
    """Whether a catalog query failed because another session dropped an object meanwhile.

    The queries read the catalogs through the transaction's snapshot, but the server's
    deparsers (pg_get_viewdef opens the view; the others use the system caches) see the latest
    committed state: an object dropped after the snapshot was taken fails with an internal
    error (SQLSTATE XX000). Nothing is wrong with the database, so the read is tried afresh.
    """
    if isinstance(exc, _SchemaChanged):
        return True
    message = exc.diag.message_primary or ""
    return exc.diag.sqlstate == "XX000" and message.startswith(
        ("could not open relation with OID", "cache lookup failed for")
    )


#: Queries whose rows come as plain tuples: tens of thousands of rows, unpacked by position
#: (a dict per row costs a tenth of a second and several times the memory at 3,000 tables).
_TUPLE_ROWS = frozenset({"columns"})


class _Arrivals:
    """The reader's query results as the server answers them: a thread sends the queries back
    to back while the caller builds the objects of those already answered.

    ``rows[name]`` waits for that query. Building the objects of 3,000 tables takes about a
    third of a second of Python; done while the server works on the next queries instead of
    after the last one, it costs no wall time. The thread only sends and fetches, so the
    queries run as close together as before (the server's deparsers see the latest committed
    catalog, not the snapshot: a longer read would widen the window for concurrent DDL). A
    failed query ends the thread and is raised by the ``rows[...]`` that waits for it.
    """

    def __init__(self, reader: _Reader, params: dict[str, Any]) -> None:
        self._reader = reader
        self._params = params
        self._results: queue.SimpleQueue[tuple[str, list[Any] | None, BaseException | None]]
        self._results = queue.SimpleQueue()
        self._arrived: dict[str, list[Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, name="pgspec-catalog-read", daemon=True)

    def __enter__(self) -> _Arrivals:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _send(self) -> None:
        try:
            for name, query in self._reader.queries.items():
                if self._stop.is_set():
                    return
                tuples = name in _TUPLE_ROWS
                self._results.put((name, self._reader.fetch(query, self._params, tuples), None))
        except BaseException as exc:  # handed to the waiting caller, who raises it
            self._results.put(("", None, exc))

    def __getitem__(self, name: str) -> list[Any]:
        """The rows of one query, waiting for them; each is taken once, so rows already
        built into objects do not stay in memory beside them."""
        while name not in self._arrived:
            arrived, rows, error = self._results.get()
            if error is not None:
                raise error
            assert rows is not None
            self._arrived[arrived] = rows
        return self._arrived.pop(name)


class _Reader:
    """One introspection: the connection, the queries composed for its server version, the
    warnings gathered on the way and the number of queries sent."""

    def __init__(self, conn: psycopg.Connection[DictRow]) -> None:
        self.conn = conn
        self.queries = q.queries(conn.info.server_version)
        self.encoding = conn.info.encoding
        self.warnings: list[Warning] = []
        self.count = 0
        #: The Columns COLUMNS read, by relation oid and attribute number, in attnum order.
        self.columns: dict[int, dict[int, Column]] = {}
        #: (relation oid, attnum) of PostgreSQL 18's virtual generated columns.
        self.virtual: set[tuple[int, int]] = set()
        #: Each column's (type oid, collation oid), as COLUMNS is keyed, for index keys.
        self.column_types: dict[int, dict[int, tuple[int, int]]] = {}
        #: Default operator class oid -> the type it is the default for.
        self.default_opclasses: dict[int, int] = {}
        #: Indexes whose keys need their CREATE INDEX: (catalog key, INDEXES row).
        self.pending_indexes: list[tuple[str, DictRow]] = []

    def fetch(
        self, query: sql.Composable, params: dict[str, Any], tuples: bool = False
    ) -> list[Any]:
        """All rows of one query: dicts, or plain tuples where ``tuples`` (a large result
        read by position)."""
        self.count += 1
        if tuples:
            return self.conn.cursor(row_factory=tuple_row).execute(query, params).fetchall()
        return self.conn.execute(query, params).fetchall()

    def warn(self, object_type: str, name: str, message: str) -> None:
        self.warnings.append(Warning(object_type=object_type, name=name, message=message))

    def read(self, schemas: Collection[str] | None, where: str) -> Catalog:
        selected = sorted(set(schemas)) if schemas is not None else []
        schema_rows = self.fetch(q.SCHEMAS, {"all": schemas is None, "schemas": selected})
        params = {"schemas": [row["name"] for row in schema_rows]}
        with _Arrivals(self, params) as rows:
            parts = self.build(schema_rows, rows)
        self.complete_indexes(parts["indexes"])
        return Catalog(**parts, warnings=self.warnings, source=where)

    def build(self, schema_rows: list[DictRow], rows: _Arrivals) -> dict[str, Any]:
        """The Catalog from the query results, each kind built once its rows have arrived.
        Tables and the kinds that name columns wait for COLUMNS; the order below is also the
        order of the warnings."""
        parts: dict[str, Any] = {
            "schemas": _keyed(Schema(name=r["name"], comment=_schema_comment(r)) for r in schema_rows),
            "extensions": _keyed(
                Extension(name=r["name"], schema=r["schema"], version=r["version"],
                          comment=r["comment"])
                for r in rows["extensions"]
            ),
            "enums": _keyed(
                Enum(schema=r["schema"], name=r["name"], values=r["labels"], comment=r["comment"])
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
                                     self.conn.info.server_version))
        return parts

    # ----------------------------------------------------------------------- types

    def domain(self, row: DictRow) -> Domain:
        name = qualified(row["schema"], row["name"])
        checks: dict[str, str] = {}
        for check in _json(row["checks"]):
            checks[check["name"]] = check["expression"]
            if not check["validated"]:
                self.warn("domain", name, f"check {check['name']!r} is NOT VALID, which pgspec "
                          "does not model: compared as if validated")
        return Domain(
            schema=row["schema"],
            name=row["name"],
            type=_type(row["type"]),
            not_null=row["not_null"],
            default=row["default"],
            collation=_collation(row["collation_schema"], row["collation_name"]),
            checks=checks,
            comment=row["comment"],
        )

    # ----------------------------------------------------------------------- relations

    def relation(self, row: DictRow) -> tuple[str, Any]:
        schema, name, relkind = row["schema"], row["name"], row["relkind"]
        key = qualified(schema, name)
        if relkind == "c":
            attributes = [
                Attribute(name=c["name"], type=_type(c["type"]),
                          collation=_collation(*c["collation"]) if c["collation"] else None)
                for c in _json(row["attributes"]) or ()
            ]
            return "composite_types", CompositeType(
                schema=schema, name=name, attributes=attributes, comment=row["comment"]
            )
        names = list(row["view_columns"] or ())
        if relkind == "v":
            return "views", View(
                schema=schema, name=name, query=row["query"],
                options=_view_options(row["reloptions"]), columns=names, comment=row["comment"],
            )
        if row["reloptions"]:
            self.warn("table" if relkind in ("r", "p") else "materialized_view", key,
                      f"storage parameters {', '.join(row['reloptions'])} are not modelled by "
                      "pgspec: not compared")
        if relkind == "m":
            return "materialized_views", MaterializedView(
                schema=schema, name=name, query=row["query"], with_data=row["relispopulated"],
                columns=names, comment=row["comment"],
            )
        parents = [qualified(*p) for p in _json(row["parents"]) or ()]
        partition_of = parents[0] if row["relispartition"] and parents else None
        return "tables", Table(
            schema=schema,
            name=name,
            columns=self.table_columns(key, row["oid"]),
            rls_enabled=row["relrowsecurity"],
            rls_forced=row["relforcerowsecurity"],
            unlogged=row["relpersistence"] == "u",
            partition_by=row["partition_by"],
            partition_of=partition_of,
            partition_bound=row["partition_bound"],
            inherits=[] if row["relispartition"] else parents,
            comment=row["comment"],
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

    def constraint(self, row: DictRow) -> Constraint:
        kind = _CONSTRAINT_KINDS[row["contype"]]
        key = qualified(row["schema"], row["table"], row["name"])
        for flag, wording in (
            (not row["validated"], "is NOT VALID"),
            (not row["enforced"], "is NOT ENFORCED"),
            (row["period"], "uses WITHOUT OVERLAPS / PERIOD"),
            (row["delete_set_columns"], "sets only some columns on delete"),
        ):
            if flag:
                self.warn("constraint", key, f"the constraint {wording}, which pgspec does not "
                          "model: compared without it")
        foreign = kind == "foreign_key"
        return Constraint(
            schema=row["schema"],
            table=row["table"],
            name=row["name"],
            kind=kind,
            # A CHECK's columns are whatever its expression mentions: not an attribute of its own.
            columns=[] if kind == "check" else self.names(row["relation"], row["attnums"] or ()),
            expression=row["expression"],
            references=qualified(row["ref_schema"], row["ref_table"]) if foreign else None,
            references_columns=self.referenced(row) if foreign else [],
            on_delete=_FK_ACTIONS[row["confdeltype"]] if foreign else "no action",
            on_update=_FK_ACTIONS[row["confupdtype"]] if foreign else "no action",
            match=_FK_MATCH[row["confmatchtype"]] if foreign else "simple",
            deferrable=row["condeferrable"],
            initially_deferred=row["condeferred"],
            nulls_not_distinct=row["nulls_not_distinct"],
            include=self.names(row["relation"], (row["index_attnums"] or ())[row["index_key_count"]:]),
            # The server sets connoinherit on keys of plain tables too; only a CHECK's means
            # what NO INHERIT says.
            no_inherit=row["no_inherit"] if kind == "check" else False,
            definition=row["definition"],
            comment=row["comment"],
        )

    def referenced(self, row: DictRow) -> list[str]:
        """A foreign key's referenced columns: named by the server when COLUMNS did not read
        the referenced table (another schema), else through COLUMNS."""
        if row["ref_columns"] is not None:
            return list(row["ref_columns"])
        return self.names(row["ref_relation"], row["ref_attnums"])

    # ----------------------------------------------------------------------- indexes

    def indexes(
        self, opclass_rows: list[DictRow], rows: list[DictRow]
    ) -> dict[str, Index | None]:
        """Indexes by key, in the order read; None where the keys wait for the CREATE INDEX
        (``complete_indexes`` fills those in)."""
        self.default_opclasses = {r["oid"]: r["opcintype"] for r in opclass_rows}
        found: dict[str, Index | None] = {}
        for row in rows:
            key = qualified(row["schema"], row["name"])
            if not row["valid"]:
                self.warn("index", key, "the index is INVALID (a failed CREATE INDEX CONCURRENTLY?)")
            if row["reloptions"]:
                self.warn("index", key, f"storage parameters {', '.join(row['reloptions'])} are "
                          "not modelled by pgspec: not compared")
            keys = self.plain_keys(row)
            if keys is None:
                self.pending_indexes.append((key, row))
                found[key] = None
            else:
                found[key] = self.index(row, keys)
        return found

    def plain_keys(self, row: DictRow) -> list[IndexKey] | None:
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
        if row["opclass_options"]:
            return None
        relation = row["relation"]
        types = self.column_types.get(relation, {})
        expressions, key_types = row["expressions"], row["key_types"]
        keys = []
        for k in range(row["key_count"]):
            attnum, option = row["attnums"][k], row["options"][k]
            collation, opclass_type = row["collations"][k], self.default_opclasses.get(row["opclasses"][k])
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
        oids = [row["oid"] for _, row in self.pending_indexes]
        definitions = {r["oid"]: r["definition"]
                       for r in self.fetch(q.INDEX_DEFINITIONS, {"oids": oids})}
        for key, row in self.pending_indexes:
            definition = definitions.get(row["oid"])
            if definition is None:
                # Dropped since the snapshot: the deparser sees the latest catalog.
                raise _SchemaChanged(f"index {key} was dropped during the read")
            stmt = _parse_one(definition, ast.IndexStmt)
            keys = []
            for elem in stmt.indexParams:
                if elem.opclassopts:
                    self.warn("index", key, f"operator class parameters in {RawStream()(elem)!r} "
                              "are not modelled by pgspec: not compared")
                    elem.opclassopts = None
                keys.append(index_key_from_node(elem, row["schema"]))
            indexes[key] = self.index(row, keys)
        self.pending_indexes = []

    def index(self, row: DictRow, keys: list[IndexKey]) -> Index:
        return Index(
            schema=row["schema"],
            name=row["name"],
            table=row["table"],
            unique=row["unique"],
            method=row["method"],
            keys=keys,
            include=self.names(row["relation"], row["attnums"][row["key_count"]:]),
            where=row["where"],
            nulls_not_distinct=row["nulls_not_distinct"],
            comment=row["comment"],
        )

    # ----------------------------------------------------------------------- routines

    def function(self, row: DictRow) -> Function:
        types = [_type(t) for t in row["arg_types"]]
        modes = row["arg_modes"] or ["i"] * len(types)
        names = row["arg_names"] or []
        arguments = []
        for i, arg_type in enumerate(types):
            mode = _ARG_MODES[modes[i]]
            arguments.append(
                Argument(
                    name=(names[i] or None) if i < len(names) else None,
                    type=arg_type,
                    mode=mode,
                    default=row["arg_defaults"][i] if mode in ("in", "inout", "variadic") else None,
                )
            )
        procedure = row["prokind"] == "p"
        config = dict(item.partition("=")[::2] for item in row["proconfig"] or ())
        return Function(
            schema=row["schema"],
            name=row["name"],
            kind_of_object="procedure" if procedure else "function",
            arguments=arguments,
            returns=None if procedure else _type(row["returns"]),
            returns_set=row["returns_set"],
            language=row["language"],
            body=row["body"] or "",
            volatility=_VOLATILITY[row["provolatile"]],
            strict=row["proisstrict"],
            security_definer=row["prosecdef"],
            leakproof=row["proleakproof"],
            parallel=_PARALLEL[row["proparallel"]],
            config=config,
            comment=row["comment"],
        )

    def trigger(self, row: DictRow) -> Trigger:
        tgtype = row["tgtype"]
        if tgtype & _TG_INSTEAD:
            timing = "instead of"
        elif tgtype & _TG_BEFORE:
            timing = "before"
        else:
            timing = "after"
        events = sorted(name for bit, name in _TG_EVENTS.items() if tgtype & bit)
        when = None
        if row["definition"] is not None:
            stmt = _parse_one(row["definition"], ast.CreateTrigStmt)
            when = RawStream()(stmt.whenClause) if stmt.whenClause is not None else None
        raw = bytes(row["args"] or b"")
        arguments = [a.decode(self.encoding) for a in raw.split(b"\0")[: row["nargs"]]]
        return Trigger(
            schema=row["schema"],
            table=row["table"],
            name=row["name"],
            timing=timing,
            events=events,
            update_columns=(list(row["update_columns"]) if row["update_columns"] is not None
                            else self.names(row["relation"], row["update_attnums"] or ())),
            level="row" if tgtype & _TG_ROW else "statement",
            when=when,
            function=qualified(row["function_schema"], row["function_name"]),
            arguments=arguments,
            old_table=row["old_table"],
            new_table=row["new_table"],
            enabled=_TG_ENABLED[row["enabled"]],
            constraint=row["is_constraint"],
            deferrable=row["deferrable"],
            initially_deferred=row["initially_deferred"],
            comment=row["comment"],
        )

    # ----------------------------------------------------------------------- the rest

    def unmodelled(self, row: DictRow) -> None:
        kind, schema, name, detail = row["object_type"], row["schema"], row["name"], row["detail"]
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
    expression = default
    return Column(
        name=name,
        type=_type(type_text),
        not_null=not_null,
        default=None if generated else expression,
        generated=expression if generated else None,
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


def _schema_comment(row: DictRow) -> str | None:
    """initdb's comment on ``public`` is the server's, not the user's: pg_dump leaves it out,
    and so does this reader, so a database and its dump read the same."""
    if row["name"] == "public" and row["comment"] == "standard public schema":
        return None
    return row["comment"]


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


def _sequence(row: DictRow) -> Sequence:
    seq_type = _type(row["type"])
    low, high = _SEQ_LIMITS.get(seq_type, (None, None))
    if row["increment"] < 0:
        default_min, default_max = low, -1
    else:
        default_min, default_max = 1, high
    owner = _json(row["owned_by"])
    return Sequence(
        schema=row["schema"],
        name=row["name"],
        type=seq_type,
        start=row["start"],
        increment=row["increment"],
        min_value=None if row["min_value"] == default_min else row["min_value"],
        max_value=None if row["max_value"] == default_max else row["max_value"],
        cache=row["cache"],
        cycle=row["cycle"],
        owned_by=qualified(*owner) if owner else None,
        comment=row["comment"],
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


def _aggregate(row: DictRow) -> Aggregate:
    modes = row["arg_modes"] or []
    names = row["arg_names"] or []
    arguments = [
        Argument(name=(names[i] or None) if i < len(names) else None, type=_type(t),
                 mode="variadic" if i < len(modes) and modes[i] == "v" else "in")
        for i, t in enumerate(row["arg_types"])
    ]
    sortop = row["sortop"]
    return Aggregate(
        schema=row["schema"],
        name=row["name"],
        arguments=arguments,
        kind=_AGG_KINDS[row["aggkind"]],
        direct_arguments=row["direct_arguments"],
        sfunc=_proc_ref(row["aggtransfn"]) or "",
        stype=_type(row["stype"]),
        sspace=row["sspace"],
        finalfunc=_proc_ref(row["aggfinalfn"]),
        finalfunc_extra=row["finalfunc_extra"],
        finalfunc_modify=_AGG_MODIFY[row["finalfunc_modify"]],
        combinefunc=_proc_ref(row["aggcombinefn"]),
        serialfunc=_proc_ref(row["aggserialfn"]),
        deserialfunc=_proc_ref(row["aggdeserialfn"]),
        initcond=row["initcond"],
        msfunc=_proc_ref(row["aggmtransfn"]),
        minvfunc=_proc_ref(row["aggminvtransfn"]),
        mstype=_type(row["mstype"]) if row["mstype"] else None,
        msspace=row["msspace"],
        mfinalfunc=_proc_ref(row["aggmfinalfn"]),
        mfinalfunc_extra=row["mfinalfunc_extra"],
        mfinalfunc_modify=_AGG_MODIFY[row["mfinalfunc_modify"]],
        minitcond=row["minitcond"],
        sortop=(sortop[1] if sortop[0] == "pg_catalog" else f"{quote(sortop[0])}.{sortop[1]}") if sortop else None,
        parallel=_PARALLEL[row["proparallel"]],
        comment=row["comment"],
    )


def _policy(row: DictRow) -> Policy:
    return Policy(
        schema=row["schema"],
        table=row["table"],
        name=row["name"],
        command=_POLICY_COMMANDS[row["command"]],
        permissive=row["permissive"],
        roles=sorted(row["roles"]),
        using=row["using"],
        with_check=row["with_check"],
        comment=row["comment"],
    )


#: DEFAULT_COLLATION_OID (src/include/catalog/pg_collation.dat): the database's default.
_DEFAULT_COLLATION = 100

#: pg_index.indoption bits (src/include/catalog/pg_index.h).
_INDOPTION_DESC, _INDOPTION_NULLS_FIRST = 1, 2


@functools.lru_cache(maxsize=4096)
def _plain_key(column: str, option: int) -> IndexKey:
    """The IndexKey of a plain column key with its ordering bits, as ``index_key_from_node``
    makes it from what the server prints (``DESC``, ``NULLS FIRST`` on ASC, ``NULLS LAST`` on
    DESC): nulls kept only where they depart from the order's default. Immutable, so shared."""
    desc = bool(option & _INDOPTION_DESC)
    nulls_first = bool(option & _INDOPTION_NULLS_FIRST)
    if desc:
        nulls = None if nulls_first else "last"
    else:
        nulls = "first" if nulls_first else None
    return IndexKey(column=column, order="desc" if desc else "asc", nulls=nulls)


@functools.lru_cache(maxsize=4096)
def _expression_key(text: str, option: int) -> IndexKey:
    """The IndexKey of an expression key as ``pg_get_indexdef(index, n)`` prints it, with its
    ordering bits: parsed as an index element by the conversion every source shares, so the
    expression reads exactly as through the whole CREATE INDEX. Schemas repeat the same
    expressions (``lower(email)``) across tables, so each distinct text is parsed once."""
    ordering = _plain_key("x", option)
    key = parse_index_element(text)
    return IndexKey(column=key.column, expression=key.expression, order=ordering.order,
                    nulls=ordering.nulls)


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

