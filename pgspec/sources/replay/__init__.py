"""Replaying DDL statements into a Catalog, in order, the way a server would apply them.

``Replayer.statement(text, line)`` takes one statement as the splitter found it. It first
classifies it from its leading words, so the bulk of a dump (SET lines, ownership, grants,
data) costs no parse; only the DDL that matters goes through ``pglast.parse_sql``. Each
statement kind has a handler in a module of this package (tables, constraints, indexes,
views, routines, triggers_policies, types, misc).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import pglast
from pglast import ast, enums

from pgspec.catalog import Catalog
from pgspec.errors import PgspecError, SqlError
from pgspec.quoting import qualified
from pgspec.sources.replay import (
    misc,
    moves,
    opclasses,
    partitions,
    privileges,
    routines,
    tables,
    triggers_policies,
    types,
    views,
)
from pgspec.sources.replay.state import State, names_of

__all__ = ["Replayer", "parse_search_path"]


def parse_search_path(value: str) -> list[str]:
    """Schemas of a search_path value (``'"$user", public'``), parsed by the real grammar."""
    if not value.strip():
        return []
    try:
        stmt = pglast.parse_sql(f"SET search_path TO {value}")[0].stmt
    except pglast.parser.ParseError:
        # set_config() takes the value as one string of identifiers, quoted where needed.
        return [part.strip().strip('"') for part in value.split(",") if part.strip()]
    result: list[str] = []
    for arg in stmt.args or ():
        val = arg.val if isinstance(arg, ast.A_Const) else arg
        if isinstance(val, ast.String):
            result.append(val.sval)
        elif isinstance(arg, ast.ColumnRef):
            result.extend(names_of(arg.fields))
    return result


#: Leading words of statements that change nothing pgspec models: never parsed.
_SKIP_FIRST = frozenset(
    """GRANT REVOKE COPY INSERT UPDATE DELETE MERGE ANALYZE VACUUM CHECKPOINT LOCK NOTIFY LISTEN
    UNLISTEN CLUSTER REINDEX PREPARE EXECUTE DEALLOCATE FETCH MOVE CLOSE DECLARE EXPLAIN
    CALL TRUNCATE LOAD SHOW VALUES TABLE WITH""".split()
)
#: Second words after CREATE/ALTER/DROP/COMMENT ON that concern the cluster, not the schema.
_CLUSTER_OBJECTS = frozenset({"ROLE", "USER", "GROUP", "DATABASE", "TABLESPACE"})

#: Statement types that are DDL of kinds pgspec does not model: (object type, name getter).
_UNMODELLED: dict[type, str] = {
    ast.CreateEventTrigStmt: "event trigger",
    ast.CreatePublicationStmt: "publication",
    ast.CreateCastStmt: "cast",
    ast.RuleStmt: "rule",
    ast.CreateForeignTableStmt: "foreign table",
    ast.CreateStatsStmt: "statistics",
    ast.CreateConversionStmt: "conversion",
    ast.CreateOpClassStmt: "operator class",
    ast.CreateOpFamilyStmt: "operator family",
    ast.CreateForeignServerStmt: "foreign server",
    ast.CreateFdwStmt: "foreign data wrapper",
    ast.CreateSubscriptionStmt: "subscription",
    ast.CreateTransformStmt: "transform",
    ast.CreateAmStmt: "access method",
    ast.CreatePLangStmt: "language",
    ast.DoStmt: "do block",
}

#: Parsed statements pgspec deliberately ignores: data, transactions, session state and the
#: cluster's objects (roles, databases, tablespaces). Most never reach the parser (their first
#: word is in ``_SKIP_FIRST``); these are the ones that can, say inside CREATE SCHEMA or after
#: a leading comment. Any other statement without a handler is reported, never dropped.
_IGNORED: frozenset[type] = frozenset({
    ast.VariableShowStmt, ast.ConstraintsSetStmt,
    ast.CheckPointStmt, ast.ExplainStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt,
    ast.MergeStmt, ast.CopyStmt, ast.TruncateStmt, ast.LockStmt, ast.NotifyStmt,
    ast.ListenStmt, ast.UnlistenStmt, ast.VacuumStmt, ast.ClusterStmt, ast.ReindexStmt,
    ast.LoadStmt, ast.CallStmt, ast.PrepareStmt, ast.ExecuteStmt, ast.DeallocateStmt,
    ast.DeclareCursorStmt, ast.FetchStmt, ast.ClosePortalStmt, ast.SecLabelStmt,
    ast.CreateRoleStmt, ast.AlterRoleStmt, ast.AlterRoleSetStmt, ast.DropRoleStmt,
    ast.CreatedbStmt, ast.AlterDatabaseStmt, ast.AlterDatabaseSetStmt, ast.DropdbStmt,
    ast.CreateTableSpaceStmt, ast.DropTableSpaceStmt, ast.AlterTableSpaceOptionsStmt,
    ast.AlterSystemStmt,
    # ALTER COLLATION ... REFRESH VERSION: a collation's version is the library's, not modelled.
    ast.AlterCollationStmt,
})

#: Unmodelled kinds that live outside schemas (their warning names them unqualified).
_GLOBAL_KINDS = frozenset({
    "event trigger", "publication", "cast", "foreign server", "foreign data wrapper",
    "subscription", "transform", "access method", "language",
})


def _classify(text: str) -> bool:
    """True when the statement may change the catalog and must be parsed."""
    head = text[:200]
    words = head.split(None, 3)
    if not words:
        return False
    first = words[0].upper()
    if first in _SKIP_FIRST:
        return False
    if first in ("SET", "RESET"):
        return "search_path" in head.lower() or (first == "RESET" and words[1:2] == ["ALL"])
    if first == "DISCARD":  # DISCARD ALL resets the session: search_path and role too
        return len(words) > 1 and words[1].upper() == "ALL"
    if first == "SELECT":
        lowered = text.lower()
        return "set_config" in lowered and "search_path" in lowered
    second = words[1].upper() if len(words) > 1 else ""
    if first in ("CREATE", "ALTER", "DROP") and second in _CLUSTER_OBJECTS:
        return False
    if first == "ALTER":
        if second == "DEFAULT":  # ALTER DEFAULT PRIVILEGES
            return False
        upper = text.upper()
        if " OWNER TO " in upper and "RENAME" not in upper and upper.count(" TO ") == 1:
            return False
    return first != "SECURITY"  # SECURITY LABEL


def _unmodelled_name(stmt: Any) -> tuple[str | None, str]:
    for attr in ("trigname", "pubname", "rulename", "servername", "fdwname", "subname",
                 "amname", "plname", "defnames", "conversion_name", "opclassname",
                 "opfamilyname"):
        value = getattr(stmt, attr, None)
        if isinstance(value, str):
            return None, value
        if isinstance(value, tuple):
            parts = names_of(value)
            if parts:
                return (parts[-2] if len(parts) > 1 else None), parts[-1]
    if isinstance(stmt, ast.CreateForeignTableStmt):
        rel = stmt.base.relation
        return rel.schemaname, rel.relname
    if isinstance(stmt, ast.CreateCastStmt):
        return None, f"{stmt.sourcetype.names[-1].sval} AS {stmt.targettype.names[-1].sval}"
    if isinstance(stmt, ast.CreateStatsStmt):
        parts = names_of(stmt.defnames)
        return (parts[-2] if len(parts) > 1 else None), (parts[-1] if parts else "?")
    return None, "?"


class Replayer:
    """Applies statements to a ``State`` and makes the Catalog at the end."""

    def __init__(
        self,
        file: str,
        *,
        schemas: Collection[str] | None = None,
        exclude: Collection[str] = (),
        error: type[PgspecError] = SqlError,
    ) -> None:
        wanted = set(schemas) if schemas is not None else None
        excluded = set(exclude)

        def keep(schema: str) -> bool:
            if wanted is not None:
                return schema in wanted
            return schema not in excluded and not schema.startswith("pg_") and (
                schema != "information_schema")

        self.file = file
        self.error = error
        self.state = State(file, keep)
        self.handlers: dict[type, Callable[[Any], None]] = self._handlers()
        #: The statement being applied (its first words name an unknown one in a warning).
        self.current = ""

    def _handlers(self) -> dict[type, Callable[[Any], None]]:
        s = self.state
        return {
            ast.CreateSchemaStmt: lambda n: misc.create_schema(s, n, self.apply),
            ast.CreateExtensionStmt: lambda n: misc.create_extension(s, n),
            ast.CreateOpClassStmt: lambda n: opclasses.create_opclass(s, n),
            ast.CreateEnumStmt: lambda n: types.create_enum(s, n),
            ast.AlterEnumStmt: lambda n: types.alter_enum(s, n),
            ast.CompositeTypeStmt: lambda n: types.create_composite(s, n),
            ast.CreateDomainStmt: lambda n: types.create_domain(s, n),
            ast.AlterDomainStmt: lambda n: types.alter_domain(s, n),
            ast.CreateRangeStmt: lambda n: types.create_range(s, n),
            ast.CreateSeqStmt: lambda n: types.create_sequence(s, n),
            ast.AlterSeqStmt: lambda n: types.alter_sequence(s, n),
            ast.CreateStmt: lambda n: tables.create_table(s, n),
            ast.AlterTableStmt: lambda n: tables.alter_table(s, n),
            ast.IndexStmt: lambda n: partitions.create_index(s, n),
            ast.ViewStmt: lambda n: views.create_view(s, n),
            ast.CreateTableAsStmt: self._create_table_as,
            ast.RefreshMatViewStmt: lambda n: views.refresh_matview(s, n),
            ast.CreateFunctionStmt: lambda n: routines.create_function(s, n),
            ast.AlterFunctionStmt: lambda n: routines.alter_function(s, n),
            ast.CreateTrigStmt: lambda n: triggers_policies.create_trigger(s, n),
            ast.CreatePolicyStmt: lambda n: triggers_policies.create_policy(s, n),
            ast.AlterPolicyStmt: lambda n: triggers_policies.alter_policy(s, n),
            ast.CommentStmt: lambda n: misc.comment(s, n),
            ast.DropStmt: lambda n: misc.drop(s, n),
            ast.RenameStmt: lambda n: misc.rename(s, n),
            ast.VariableSetStmt: lambda n: misc.variable_set(s, n),
            ast.DiscardStmt: lambda n: misc.discard(s, n),
            ast.SelectStmt: lambda n: misc.select(s, n),
            ast.DefineStmt: lambda n: misc.define(s, n),
            ast.AlterObjectSchemaStmt: lambda n: moves.set_schema(s, n),
            ast.TransactionStmt: self._transaction,
        }

    def _transaction(self, node: ast.TransactionStmt) -> None:
        """BEGIN / SAVEPOINT take a snapshot, ROLLBACK [TO SAVEPOINT] goes back to it, as a
        migration that tries something and rolls it back leaves nothing on the server."""
        kind, TK = node.kind, enums.TransactionStmtKind
        state, open_ = self.state, self.state.transaction
        if kind in (TK.TRANS_STMT_BEGIN, TK.TRANS_STMT_START):
            if not open_:  # a nested BEGIN is only a warning on the server
                open_.append((None, state.snapshot()))
        elif kind == TK.TRANS_STMT_COMMIT or kind == TK.TRANS_STMT_PREPARE:
            open_.clear()
            state.end_local_settings()
            if node.chain:
                open_.append((None, state.snapshot()))
        elif kind == TK.TRANS_STMT_ROLLBACK:
            if open_:
                state.restore(open_[0][1])
            state.transaction = [(None, state.snapshot())] if node.chain else []
        elif kind == TK.TRANS_STMT_SAVEPOINT and open_:
            open_.append((node.savepoint_name, state.snapshot()))
        elif kind in (TK.TRANS_STMT_RELEASE, TK.TRANS_STMT_ROLLBACK_TO):
            names = [name for name, _ in open_]
            if node.savepoint_name not in names:
                return  # the server refuses it; nothing changes
            at = len(names) - 1 - names[::-1].index(node.savepoint_name)
            if kind == TK.TRANS_STMT_RELEASE:
                del open_[at:]
            else:
                # ROLLBACK TO keeps the savepoint itself, ready to be rolled back to again.
                state.restore(open_[at][1])
                state.transaction = [*open_[:at], (node.savepoint_name, state.snapshot())]

    def _create_table_as(self, node: ast.CreateTableAsStmt) -> None:
        if node.objtype == enums.ObjectType.OBJECT_MATVIEW:
            views.create_matview(self.state, node)
        else:
            schema, name = self.state.relation_key(node.into.rel, create=True)
            misc.unmodelled(self.state, "table", f"{name} (CREATE TABLE AS)", schema)

    def statement(self, text: str, line: int) -> None:
        """Apply one statement (text without its semicolon) that starts at ``line``."""
        if not _classify(text) and not privileges.claims(text):
            return
        self.state.location = f"{self.file}:{line}"
        self.current = text
        try:
            parsed = pglast.parse_sql(text)
        except pglast.parser.ParseError as exc:
            raise self.error(
                f"cannot parse statement: {exc.args[0]}", file=self.file, line=line
            ) from None
        for raw in parsed:
            try:
                self.apply(raw.stmt)
            except PgspecError as exc:
                if isinstance(exc, self.error) and exc.line is not None:
                    raise
                raise self.error(
                    exc.problem.message, file=self.file, line=exc.line or line
                ) from None

    def apply(self, node: Any) -> None:
        if privileges.apply(self.state, node):
            return
        handler = self.handlers.get(type(node))
        if handler is not None:
            handler(node)
            return
        kind = _UNMODELLED.get(type(node))
        if kind is not None:
            schema, name = _unmodelled_name(node)
            if isinstance(node, ast.RuleStmt):
                rule_schema, table = self.state.relation_key(node.relation)
                if self.state.keep(rule_schema):
                    self.state.warn(kind, qualified(rule_schema, table, node.rulename))
                return
            if kind == "do block":
                self.state.warn(kind, "DO", "DO blocks are not executed by pgspec")
                return
            if schema is None and kind not in _GLOBAL_KINDS:
                schema = self.state.creation_schema()
            misc.unmodelled(self.state, kind, name, schema)
            return
        if type(node) not in _IGNORED:
            self.state.warn(
                "statement", " ".join(self.current.split()[:3]), "statement not replayed by pgspec"
            )

    def catalog(self, source: str) -> Catalog:
        catalog = self.state.catalog(source)
        extra = privileges.catalog_parts(self.state)
        return catalog.model_copy(update=extra) if extra else catalog
