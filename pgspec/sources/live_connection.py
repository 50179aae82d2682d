"""Connecting to a live database and sending the catalog queries, without the catalog model.

Everything here is what a read needs before any object is built: the read-only transaction
(``readonly_transaction``), DSNs described without their password, connection failures in
words a user acts on, and ``CatalogRead``, which sends the catalog queries of one read back to
back from a thread while its caller builds objects from the answers (``live._Reader``).

It imports psycopg and the query texts only, not pydantic or the model, so a command can start
reading its databases (``start_reads``) while the rest of pgspec is still being imported: the
server then works during those tenths of a second instead of after them.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import queue
import threading
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row, namedtuple_row, tuple_row

from pgspec.errors import SourceError, UnsupportedError
from pgspec.sources import live_queries as q
from pgspec.sources.dsn import is_dsn  # noqa: F401  (re-exported for the CLI's early reads)

#: How long one catalog query, and one wait for a lock, may take before the read gives up.
STATEMENT_TIMEOUT = "30s"
LOCK_TIMEOUT = "5s"

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


def _connect(dsn: str, connect_timeout: int | None) -> psycopg.Connection[DictRow]:
    """An autocommit connection, or a SourceError that says why not (without the password)."""
    params = _conninfo(dsn)
    connect_timeout = _connect_timeout(params, connect_timeout)
    try:
        return psycopg.connect(
            dsn,
            connect_timeout=connect_timeout,
            autocommit=True,
            row_factory=dict_row,
            fallback_application_name="pgspec",
        )
    except psycopg.Error as exc:
        raise SourceError(
            f"cannot connect to {describe_dsn(dsn)}: "
            f"{_connect_reason(exc, params, connect_timeout)}"
        ) from None


@contextlib.contextmanager
def readonly_transaction(
    dsn: str,
    connect_timeout: int | None = None,
    *,
    connection: psycopg.Connection[DictRow] | None = None,
) -> Iterator[psycopg.Connection[DictRow]]:
    """A connection inside one read-only REPEATABLE READ transaction, rolled back at the end
    (``connection``: one ``_connect`` already opened for this DSN, closed at the end too).

    REPEATABLE READ gives every catalog query the same snapshot, so a migration running
    meanwhile cannot make the read inconsistent; READ ONLY makes the server refuse any write.
    The SET LOCALs end with the transaction, leaving a pooled session as it was.
    """
    where = describe_dsn(dsn)
    conn = connection if connection is not None else _connect(dsn, connect_timeout)
    try:
        check_server_version(conn.info.server_version, where)
        try:
            # One round trip for the whole set-up. The output settings are pg_dump's: the
            # server's deparsers print literals (timestamps, intervals) according to them, and
            # the same database must read the same whatever the role's defaults are. work_mem:
            # the catalog queries sort tens of thousands of deparsed rows, and the default 4 MB
            # sent the sort of 3,000 tables' columns to disk (8 MB, a fifth of that query).
            conn.execute(
                sql.SQL(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
                    " SET LOCAL statement_timeout = {};"
                    " SET LOCAL lock_timeout = {};"
                    " SET LOCAL search_path = '';"
                    " SET LOCAL TimeZone = 'UTC';"
                    " SET LOCAL DateStyle = 'ISO';"
                    " SET LOCAL IntervalStyle = 'postgres';"
                    " SET LOCAL extra_float_digits = 3;"
                    " SET LOCAL work_mem = '64MB'"
                ).format(sql.Literal(STATEMENT_TIMEOUT), sql.Literal(LOCK_TIMEOUT))
            )
        except psycopg.Error as exc:
            raise SourceError(f"cannot read {where}: {server_reason(exc)}") from None
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


def server_reason(exc: psycopg.Error) -> str:
    """A failed catalog query's reason: the server's primary message (it never holds the DSN)."""
    message = exc.diag.message_primary
    if not message:
        lines = str(exc).strip().splitlines()
        message = lines[0] if lines else type(exc).__name__
    return message.strip()


# --------------------------------------------------------------------------- one read

#: Reads tried before concurrent DDL is reported as an error.
READ_ATTEMPTS = 5


class SchemaChanged(psycopg.Error):
    """An object the snapshot shows was gone when the server deparsed it: concurrent DDL
    noticed by the reader rather than by the server."""


def concurrent_ddl(exc: psycopg.Error) -> bool:
    """Whether a catalog query failed because another session dropped an object meanwhile.

    The queries read the catalogs through the transaction's snapshot, but the server's
    deparsers (pg_get_viewdef opens the view; the others use the system caches) see the latest
    committed state: an object dropped after the snapshot was taken fails with an internal
    error (SQLSTATE XX000). Nothing is wrong with the database, so the read is tried afresh.
    """
    if isinstance(exc, SchemaChanged):
        return True
    message = exc.diag.message_primary or ""
    return exc.diag.sqlstate == "XX000" and message.startswith(
        ("could not open relation with OID", "cache lookup failed for")
    )


#: Queries whose rows come as plain tuples: tens of thousands of rows, unpacked by position
#: (a dict per row costs a tenth of a second and several times the memory at 3,000 tables).
_TUPLE_ROWS = frozenset({"columns"})

#: A row of the other catalog queries: a named tuple whose fields are the query's column
#: names (``row.schema``). psycopg makes one class per result shape; a row costs little more
#: than a plain tuple, where a dict per row made fetching the constraints, indexes and
#: relations of 3,000 tables take twice as long (22 -> 11 ms for the constraints alone).
CatalogRow = Any


class CatalogRead:
    """One read of a database's catalog, under way: the read-only transaction, the selected
    schemas (SCHEMAS, sent first, decides the list every other query takes) and a thread that
    sends the other queries back to back.

    ``read[name]`` waits for that query's rows. Building the objects of 3,000 tables takes
    about a third of a second of Python; done while the server works on the next queries
    instead of after the last one, it costs no wall time. The thread only sends and fetches,
    so the queries run as close together as one after the other would (the server's deparsers
    see the latest committed catalog, not the snapshot: a longer read would widen the window
    for concurrent DDL). A failed query ends the thread and is raised by the ``read[...]``
    that waits for it. ``close()`` ends the read and the transaction.
    """

    def __init__(
        self, dsn: str, schemas: Collection[str] | None, connect_timeout: int | None = None
    ) -> None:
        self.count = 0
        opened = _connecting.pop(dsn, None) if connect_timeout is None else None
        # A connection ``start_connecting`` opened, or the error opening it raised.
        connection = opened.result() if opened is not None else None
        self._stack = contextlib.ExitStack()
        self.conn = self._stack.enter_context(
            readonly_transaction(dsn, connect_timeout, connection=connection))
        self._results: queue.SimpleQueue[tuple[str, list[Any] | None, BaseException | None]]
        self._results = queue.SimpleQueue()
        self._arrived: dict[str, list[Any]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self.queries = q.queries(self.conn.info.server_version)
            selected = sorted(set(schemas)) if schemas is not None else []
            self.schema_rows: list[CatalogRow] = self.fetch(
                q.SCHEMAS, {"all": schemas is None, "schemas": selected})
            self._params = {"schemas": [row.name for row in self.schema_rows]}
            self._thread = threading.Thread(target=self._send, name="pgspec-catalog-read",
                                            daemon=True)
            self._thread.start()
        except BaseException:
            self._stack.close()
            raise

    def fetch(
        self, query: sql.SQL | sql.Composed, params: dict[str, Any], tuples: bool = False
    ) -> list[Any]:
        """All rows of one query: named tuples (``CatalogRow``), or plain tuples where
        ``tuples`` (a large result read by position). Only the thread sends while it runs; the
        caller may send after ``finish()``."""
        self.count += 1
        factory = tuple_row if tuples else namedtuple_row
        return self.conn.cursor(row_factory=factory).execute(query, params).fetchall()

    def _send(self) -> None:
        try:
            for name, query in self.queries.items():
                if self._stop.is_set():
                    return
                tuples = name in _TUPLE_ROWS
                self._results.put((name, self.fetch(query, self._params, tuples), None))
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

    def finish(self) -> None:
        """Wait for the thread (stopping it before its next query): the connection is the
        caller's again."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        self.finish()
        self._stack.close()


# --------------------------------------------------------------------------- reads started early

#: Reads ``start_reads`` began, by (DSN, schemas), until ``introspect`` adopts them.
_started: dict[tuple[str, tuple[str, ...] | None], Future[CatalogRead]] = {}


def _scope(schemas: Collection[str] | None) -> tuple[str, ...] | None:
    return tuple(sorted(set(schemas))) if schemas is not None else None


def start_reads(dsns: Iterable[str], schemas: Collection[str] | None = None) -> None:
    """Begin reading these databases now, each connecting in a thread of its own, so their
    servers work while the caller imports the rest of pgspec; ``adopt`` hands a read to the
    ``introspect`` of the same DSN and schemas. Errors (a wrong password, say) wait there
    too, to be raised where they would have been. ``discard_reads`` closes what nobody took.
    """
    wanted = [dsn for dsn in dict.fromkeys(dsns) if (dsn, _scope(schemas)) not in _started]
    if not wanted:
        return
    pool = ThreadPoolExecutor(max_workers=len(wanted), thread_name_prefix="pgspec-connect")
    for dsn in wanted:
        _started[(dsn, _scope(schemas))] = pool.submit(CatalogRead, dsn, schemas)
    pool.shutdown(wait=False)  # the threads end with their reads' start; nothing else is queued


def adopt(dsn: str, schemas: Collection[str] | None) -> CatalogRead | None:
    """The read ``start_reads`` began for this DSN and these schemas, if any (raising what
    starting it raised)."""
    future = _started.pop((dsn, _scope(schemas)), None)
    return future.result() if future is not None else None


#: Connections ``start_connecting`` is opening, by DSN, until a CatalogRead takes one.
_connecting: dict[str, Future[psycopg.Connection[DictRow]]] = {}


def start_connecting(dsn: str) -> None:
    """Connect for a read whose schemas are not known yet (``verify --dsn``: the spec decides
    them), in a daemon thread, while the caller loads the spec: the server starts its backend
    and checks the password meanwhile (8 ms of the team's 0.4 s verify). The next CatalogRead
    of this DSN takes the connection and begins its transaction then (a transaction left idle
    while a large spec loads could meet ``idle_in_transaction_session_timeout``), or raises
    what connecting raised, where that error would have been raised anyway. A daemon thread,
    not a pool: a spec error must not wait for an unreachable server's connect timeout,
    neither to be printed (``discard_reads`` does not wait) nor at exit."""
    if dsn in _connecting:
        return
    opened: Future[psycopg.Connection[DictRow]] = Future()

    def connect() -> None:
        if not opened.set_running_or_notify_cancel():
            return
        try:
            conn = _connect(dsn, None)
        except BaseException as exc:  # kept for the CatalogRead that takes it
            opened.set_exception(exc)
            return
        opened.set_result(conn)

    _connecting[dsn] = opened
    threading.Thread(target=connect, name="pgspec-connect", daemon=True).start()


def _close_opened(opened: Future[psycopg.Connection[DictRow]]) -> None:
    if not opened.cancelled() and opened.exception() is None:
        with contextlib.suppress(Exception):
            opened.result().close()


def discard_reads() -> None:
    """Close the reads nobody adopted (a command that failed before reading), and the
    connections ``start_connecting`` opened for nobody, once they are open (without waiting)."""
    while _connecting:
        _, opened = _connecting.popitem()
        opened.add_done_callback(_close_opened)
    while _started:
        _, future = _started.popitem()
        with contextlib.suppress(Exception):  # its error was never going to be shown
            future.result().close()
