"""The SQL text of each catalog object: one function per statement shape, no ordering.

Identifiers go through ``pgspec.quoting`` (pglast's quoter), literals through
``psycopg.sql.Literal``; SQL fragments from the catalog are checked by the parser
(``pgspec.deps``) to be exactly one expression, query or clause before they are pasted in, so a
fragment cannot end a statement and start another. Layout follows pg_dump where it reads well
(one column per line, four-space indents), because that is what people already know.
"""

from __future__ import annotations

from collections.abc import Iterable

import pglast
from pglast import ast
from psycopg import sql

from pgspec.catalog import (
    Aggregate,
    Argument,
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
    Policy,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
)
from pgspec.deps import (
    constraint_is_deferrable,
    constraint_refs,
    expression_refs,
    expression_shape,
    name_parts,
    query_refs,
    standard_body_refs,
    type_refs,
)
from pgspec.errors import SqlError
from pgspec.quoting import qualified, quote

INDENT = "    "

#: GUCs whose value is a list of identifiers (``GUC_LIST_QUOTE`` in PostgreSQL's guc_tables.c):
#: ``SET search_path = a, b`` stores ``a, b``; a quoted literal would store one element.
LIST_GUCS = frozenset({
    "local_preload_libraries", "search_path", "session_preload_libraries",
    "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories",
})

_EVENT_ORDER = ("insert", "update", "delete", "truncate")


# --------------------------------------------------------------------------- small parts


def literal(text: str) -> str:
    """A SQL string literal, quoted by psycopg (``E'...'`` where backslashes need it)."""
    return sql.Literal(text).as_string(None).strip()


def ref(text: str) -> str:
    """A catalog reference written in key form (``auth.users``), re-quoted part by part."""
    return qualified(*name_parts(text))


def _end_safe(text: str) -> str:
    """``text`` stripped, with a newline after a trailing ``--`` comment so that what follows
    it (``)``, ``NOT NULL``, ``;``) is not swallowed by the comment."""
    text = text.strip()
    tokens = pglast.parser.scan(text)
    if tokens and tokens[-1].name == "SQL_COMMENT":
        text += "\n"
    return text


def expr(text: str) -> str:
    """A scalar expression, checked to be exactly one."""
    expression_refs(text)
    return _end_safe(text)


#: Top nodes an expression may have and still be written bare after DEFAULT, which takes the
#: grammar's restricted ``b_expr``: constants, column references, plain function calls, casts of
#: those (``::`` binds tightest, so the text is ``<primary>::type``), ARRAY[...], CASE, and SQL
#: value functions (CURRENT_TIMESTAMP). Anything else (``a IS NULL``, ``x AND y``, COLLATE,
#: ``AT TIME ZONE``, which the parser turns into a call) is written in parentheses, which the
#: server drops again when it stores the default.
_BARE_DEFAULTS = frozenset({"A_Const", "ColumnRef", "TypeCast", "A_ArrayExpr", "CaseExpr",
                            "SQLValueFunction", "FuncCall"})


def default_expr(text: str) -> str:
    """An expression for ``DEFAULT``: bare where the grammar allows it, else parenthesised."""
    shape = expression_shape(text)
    body = _end_safe(text)
    bare = shape.node in _BARE_DEFAULTS and shape.funcformat in (None, "COERCE_EXPLICIT_CALL")
    return body if bare else f"({body})"


def type_sql(text: str) -> str:
    """A type name, checked to be exactly one."""
    type_refs(text)
    return text.strip()


def query_sql(text: str) -> str:
    """A view query without its trailing semicolon, checked to be exactly one SELECT."""
    query_refs(text)
    statements = pglast.split(text)
    return _end_safe(statements[0])


def columns_sql(names: Iterable[str]) -> str:
    return ", ".join(quote(n) for n in names)


def comment(kind: str, target: str, text: str | None) -> list[str]:
    """``COMMENT ON kind target IS '...'``, or nothing when there is no comment."""
    if text is None:
        return []
    return [f"COMMENT ON {kind} {target} IS {literal(text)};"]


# --------------------------------------------------------------------------- schemas and types


def schema_sql(name: str, schema: Schema | None) -> list[str]:
    """CREATE SCHEMA, except for public, which every database has (only its comment)."""
    create = [] if name == "public" else [f"CREATE SCHEMA IF NOT EXISTS {quote(name)};"]
    return [*create, *comment("SCHEMA", quote(name), schema.comment if schema else None)]


def extension_sql(ext: Extension) -> list[str]:
    text = f"CREATE EXTENSION IF NOT EXISTS {quote(ext.name)}"
    if ext.schema_name:
        text += f" WITH SCHEMA {quote(ext.schema_name)}"
    if ext.version:
        text += f" VERSION {literal(ext.version)}"
    return [text + ";", *comment("EXTENSION", quote(ext.name), ext.comment)]


def collation_ref(text: str) -> str:
    """A collation a column, attribute, domain or index key names, as the Catalog holds it:
    ``schema.name`` (a key, quoted where SQL needs it) for a schema's own, the bare name for
    one of pg_catalog's, which may hold dots and dashes (``de_DE.utf8``, ``de-x-icu``)."""
    try:
        parts = name_parts(text)
    except SqlError:
        return quote(text)
    if len(parts) == 2 and qualified(*parts) == text:
        return qualified(*parts)
    return quote(text)


def collation_sql(coll: Collation) -> list[str]:
    """CREATE COLLATION with its provider always stated (as pg_dump writes it), the locale
    or the two libc categories, and what differs from the defaults."""
    options = [f"provider = {coll.provider}"]
    if coll.locale is not None:
        options.append(f"locale = {literal(coll.locale)}")
    else:
        options.append(f"lc_collate = {literal(coll.lc_collate or '')}")
        options.append(f"lc_ctype = {literal(coll.lc_ctype or '')}")
    if not coll.deterministic:
        options.append("deterministic = false")
    if coll.rules is not None:
        options.append(f"rules = {literal(coll.rules)}")
    return [f"CREATE COLLATION {coll.key} ({', '.join(options)});",
            *comment("COLLATION", coll.key, coll.comment)]


def enum_sql(enum: Enum) -> list[str]:
    values = ",\n".join(INDENT + literal(v) for v in enum.values)
    body = f" (\n{values}\n)" if enum.values else " ()"
    return [f"CREATE TYPE {enum.key} AS ENUM{body};", *comment("TYPE", enum.key, enum.comment)]


def domain_check_clause(name: str, expression: str) -> str:
    return f"CONSTRAINT {quote(name)} CHECK ({expr(expression)})"


def domain_sql(domain: Domain, inline_default: bool, inline_checks: list[str]) -> list[str]:
    lines = [f"CREATE DOMAIN {domain.key} AS {type_sql(domain.type)}"]
    if domain.collation:
        lines.append(f"COLLATE {collation_ref(domain.collation)}")
    if domain.default is not None and inline_default:
        lines.append(f"DEFAULT {default_expr(domain.default)}")
    if domain.not_null:
        lines.append("NOT NULL")
    lines.extend(domain_check_clause(n, domain.checks[n]) for n in inline_checks)
    return [f"\n{INDENT}".join(lines) + ";", *comment("DOMAIN", domain.key, domain.comment)]


def domain_default_sql(domain: Domain) -> list[str]:
    return [f"ALTER DOMAIN {domain.key} SET DEFAULT {default_expr(domain.default or '')};"]


def domain_check_sql(domain: Domain, name: str) -> list[str]:
    return [f"ALTER DOMAIN {domain.key} ADD {domain_check_clause(name, domain.checks[name])};"]


def composite_sql(comp: CompositeType) -> list[str]:
    attrs = []
    for attr in comp.attributes:
        text = f"{INDENT}{quote(attr.name)} {type_sql(attr.type)}"
        if attr.collation:
            text += f" COLLATE {collation_ref(attr.collation)}"
        attrs.append(text)
    body = "(\n" + ",\n".join(attrs) + "\n)" if attrs else "()"
    return [f"CREATE TYPE {comp.key} AS {body};", *comment("TYPE", comp.key, comp.comment)]


def sequence_options(seq: Sequence, sep: str, *, identity: bool = False) -> str:
    """The option list shared by CREATE SEQUENCE and an identity column's sequence (whose type
    is the column's: the server refuses an AS there)."""
    options = [] if identity else [f"AS {type_sql(seq.type)}"]
    options += [
        f"START WITH {seq.start}",
        f"INCREMENT BY {seq.increment}",
        "NO MINVALUE" if seq.min_value is None else f"MINVALUE {seq.min_value}",
        "NO MAXVALUE" if seq.max_value is None else f"MAXVALUE {seq.max_value}",
        f"CACHE {seq.cache}",
    ]
    if seq.cycle:
        options.append("CYCLE")
    return sep.join(options)


def sequence_sql(seq: Sequence) -> list[str]:
    options = sequence_options(seq, f"\n{INDENT}")
    return [f"CREATE SEQUENCE {seq.key}\n{INDENT}{options};", *comment("SEQUENCE", seq.key, seq.comment)]


def sequence_owned_sql(seq: Sequence) -> list[str]:
    return [f"ALTER SEQUENCE {seq.key} OWNED BY {ref(seq.owned_by or '')};"]


# --------------------------------------------------------------------------- tables


def column_sql(col: Column, *, with_default: bool = True, identity_seq: Sequence | None = None) -> str:
    parts = [quote(col.name), type_sql(col.type)]
    if col.collation:
        parts.append(f"COLLATE {collation_ref(col.collation)}")
    if col.identity:
        text = f"GENERATED {col.identity.upper()} AS IDENTITY"
        if identity_seq is not None:
            text += f" (SEQUENCE NAME {identity_seq.key} {sequence_options(identity_seq, ' ', identity=True)})"
        parts.append(text)
    if col.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({expr(col.generated)}) STORED")
    if col.default is not None and with_default:
        parts.append(f"DEFAULT {default_expr(col.default)}")
    if col.not_null:
        parts.append("NOT NULL")
    return " ".join(parts)


def column_comments(table: Table, columns: Iterable[Column]) -> list[str]:
    out: list[str] = []
    for col in columns:
        out += comment("COLUMN", f"{table.key}.{quote(col.name)}", col.comment)
    return out


def _fk_action(action: str) -> str:
    return action.upper()


def constraint_clause(con: Constraint) -> str:
    """``CONSTRAINT name ...`` as it appears in CREATE TABLE and ALTER TABLE ... ADD."""
    head = f"CONSTRAINT {quote(con.name)} "
    include = f" INCLUDE ({columns_sql(con.include)})" if con.include else ""
    deferrable = con.deferrable
    if con.kind == "primary_key":
        body = f"PRIMARY KEY ({columns_sql(con.columns)}){include}"
    elif con.kind == "unique":
        nnd = " NULLS NOT DISTINCT" if con.nulls_not_distinct else ""
        body = f"UNIQUE{nnd} ({columns_sql(con.columns)}){include}"
    elif con.kind == "check":
        if con.expression is None:
            raise SqlError(f"check constraint {con.key!r} has no expression")
        body = f"CHECK ({expr(con.expression)})"
        if con.no_inherit:
            body += " NO INHERIT"
    elif con.kind == "exclude":
        if con.definition is None:
            raise SqlError(f"exclusion constraint {con.key!r} has no definition")
        constraint_refs(con.definition)
        body = _end_safe(con.definition)
        if constraint_is_deferrable(con.definition):
            deferrable = False  # the clause already says so
    else:
        if con.references is None:
            raise SqlError(f"foreign key {con.key!r} references no table")
        body = f"FOREIGN KEY ({columns_sql(con.columns)}) REFERENCES {ref(con.references)}"
        if con.references_columns:
            body += f" ({columns_sql(con.references_columns)})"
        if con.match != "simple":
            body += f" MATCH {con.match.upper()}"
        if con.on_update != "no action":
            body += f" ON UPDATE {_fk_action(con.on_update)}"
        if con.on_delete != "no action":
            body += f" ON DELETE {_fk_action(con.on_delete)}"
    if deferrable:
        body += " DEFERRABLE"
        if con.initially_deferred:
            body += " INITIALLY DEFERRED"
    return head + body


def constraint_comment(con: Constraint) -> list[str]:
    return comment("CONSTRAINT", f"{quote(con.name)} ON {con.table_key}", con.comment)


def table_sql(
    table: Table,
    columns: list[Column],
    constraints: list[Constraint],
    *,
    deferred_defaults: set[str],
    identity_seqs: dict[str, Sequence],
    comment_columns: list[Column],
    overrides: Iterable[tuple[Column, Column, bool]] = (),
) -> list[str]:
    """CREATE TABLE with the columns and constraints that belong in it at this point.

    ``overrides`` are a partition's or INHERITS child's columns whose default or NOT NULL are
    not the inherited ones (with the inherited column, and whether the default is written here
    or set later). A partition states them in its column list (``WITH OPTIONS``); INHERITS has
    no such clause, so, as pg_dump does, ``ALTER TABLE ONLY`` sets them right after (ONLY: a
    grandchild created later copies them from this table, and none exists yet).
    """
    elements = [
        column_sql(c, with_default=c.name not in deferred_defaults, identity_seq=identity_seqs.get(c.name))
        for c in columns
    ]
    after: list[str] = []
    if not table.partition_of:
        after = _inherit_overrides_sql(table, overrides)
        overrides = ()
    for col, parent_col, inline_default in overrides:
        options = []
        if inline_default and col.default is not None:
            options.append(f"DEFAULT {default_expr(col.default)}")
        elif col.default is None and parent_col.default is not None and inline_default:
            after.append(f"ALTER TABLE {table.key} ALTER COLUMN {quote(col.name)} DROP DEFAULT;")
        if col.not_null and not parent_col.not_null:
            options.append("NOT NULL")
        if options:
            elements.append(f"{quote(col.name)} WITH OPTIONS {' '.join(options)}")
    elements += [constraint_clause(c) for c in constraints]
    unlogged = "UNLOGGED " if table.unlogged else ""
    head = f"CREATE {unlogged}TABLE {table.key}"
    if table.partition_of:
        head += f" PARTITION OF {ref(table.partition_of)}"
    body = "(\n" + ",\n".join(INDENT + e for e in elements) + "\n)" if elements else "()"
    if table.partition_of:
        text = head + (f" {body}" if elements else "") + f"\n{INDENT}{partition_bound_sql(table)}"
    else:
        text = f"{head} {body}"
        if table.inherits:
            text += f"\nINHERITS ({', '.join(ref(p) for p in table.inherits)})"
    if table.partition_by:
        text += f"\nPARTITION BY {partition_by_sql(table.partition_by)}"
    out = [text + ";", *after, *comment("TABLE", table.key, table.comment)]
    out += column_comments(table, comment_columns)
    for con in constraints:
        out += constraint_comment(con)
    return out


def _inherit_overrides_sql(table: Table, overrides: Iterable[tuple[Column, Column, bool]]) -> list[str]:
    """``ALTER TABLE ONLY child ALTER COLUMN ...`` for an INHERITS child's own defaults and
    NOT NULLs (a default set later is its own statement)."""
    out: list[str] = []
    for col, parent_col, inline_default in overrides:
        head = f"ALTER TABLE ONLY {table.key} ALTER COLUMN {quote(col.name)}"
        if col.default is not None and inline_default:
            out.append(f"{head} SET DEFAULT {default_expr(col.default)};")
        elif col.default is None and parent_col.default is not None and inline_default:
            out.append(f"{head} DROP DEFAULT;")
        if col.not_null and not parent_col.not_null:
            out.append(f"{head} SET NOT NULL;")
    return out


def partition_bound_sql(table: Table) -> str:
    """``FOR VALUES ...`` or ``DEFAULT``, accepting the bound with or without ``FOR VALUES``."""
    bound = _end_safe(table.partition_bound or "")
    for text in (bound, f"FOR VALUES {bound}"):
        try:
            stmts = pglast.parse_sql(f"CREATE TABLE x PARTITION OF y {text}")
        except pglast.parser.ParseError:
            continue
        if len(stmts) == 1:
            return text
    raise SqlError(f"invalid partition bound {table.partition_bound!r} of table {table.key!r}")


def partition_by_sql(text: str) -> str:
    body = _end_safe(text)
    try:
        stmts = pglast.parse_sql(f"CREATE TABLE x (a int) PARTITION BY {body}")
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid partition key {text!r}: {exc.args[0]}") from None
    if len(stmts) != 1:
        raise SqlError(f"invalid partition key {text!r}")
    return body


def add_columns_sql(table: Table, columns: list[Column], identity_seqs: dict[str, Sequence]) -> list[str]:
    """Columns added after functions exist (a generated column calling one, and those after it,
    so that column order is kept)."""
    adds = [f"{INDENT}ADD COLUMN {column_sql(c, identity_seq=identity_seqs.get(c.name))}" for c in columns]
    return [f"ALTER TABLE {table.key}\n" + ",\n".join(adds) + ";", *column_comments(table, columns)]


def set_default_sql(table_key: str, col: Column) -> list[str]:
    """A default set once what it calls exists; ``None`` is a child's lack of the default its
    parent has, dropped after the parent's (which reaches the child) is set."""
    if col.default is None:
        return [f"ALTER TABLE {table_key} ALTER COLUMN {quote(col.name)} DROP DEFAULT;"]
    return [f"ALTER TABLE {table_key} ALTER COLUMN {quote(col.name)} SET DEFAULT {default_expr(col.default)};"]


def add_constraint_sql(con: Constraint) -> list[str]:
    return [f"ALTER TABLE {con.table_key}\n{INDENT}ADD {constraint_clause(con)};", *constraint_comment(con)]


def rls_sql(table_key: str, enabled: bool, forced: bool) -> list[str]:
    out = []
    if enabled:
        out.append(f"ALTER TABLE {table_key} ENABLE ROW LEVEL SECURITY;")
    if forced:
        out.append(f"ALTER TABLE {table_key} FORCE ROW LEVEL SECURITY;")
    return out


# --------------------------------------------------------------------------- indexes, views


def index_key_sql(key: IndexKey) -> str:
    if key.column is not None:
        text = quote(key.column)
    elif key.expression is not None:
        text = f"({expr(key.expression)})"
    else:
        raise SqlError("index key has neither a column nor an expression")
    if key.collation:
        text += f" COLLATE {collation_ref(key.collation)}"
    if key.opclass:
        text += f" {ref(key.opclass)}"
    if key.order == "desc":
        text += " DESC"
    if key.nulls:
        text += f" NULLS {key.nulls.upper()}"
    return text


def index_sql(index: Index) -> list[str]:
    unique = "UNIQUE " if index.unique else ""
    text = (
        f"CREATE {unique}INDEX {quote(index.name)} ON {index.table_key} USING {quote(index.method)} "
        f"({', '.join(index_key_sql(k) for k in index.keys)})"
    )
    if index.include:
        text += f" INCLUDE ({columns_sql(index.include)})"
    if index.nulls_not_distinct:
        text += " NULLS NOT DISTINCT"
    if index.where is not None:
        text += f" WHERE ({expr(index.where)})"
    return [text + ";", *comment("INDEX", index.key, index.comment)]


def _option_value(value: str) -> str:
    return value if value.lower() in ("true", "false", "on", "off") else literal(value)


def view_sql(view: View) -> list[str]:
    options = {k: v for k, v in view.options.items() if k != "check_option"}
    head = f"CREATE VIEW {view.key}"
    if options:
        head += " WITH (" + ", ".join(f"{quote(k)} = {_option_value(options[k])}" for k in sorted(options)) + ")"
    text = f"{head} AS\n{query_sql(view.query)}"
    check = view.options.get("check_option")
    if check:
        if check.lower() not in ("local", "cascaded"):
            raise SqlError(f"invalid check_option {check!r} of view {view.key!r}")
        text += f"\n{INDENT}WITH {check.upper()} CHECK OPTION"
    return [text + ";", *comment("VIEW", view.key, view.comment)]


def materialized_view_sql(view: MaterializedView) -> list[str]:
    data = "WITH NO DATA" if view.with_data is False else "WITH DATA"  # None: unknown
    return [
        f"CREATE MATERIALIZED VIEW {view.key} AS\n{query_sql(view.query)}\n{INDENT}{data};",
        *comment("MATERIALIZED VIEW", view.key, view.comment),
    ]


# --------------------------------------------------------------------------- routines


def _argument_sql(arg: Argument) -> str:
    parts = [] if arg.mode in ("in", "table") else [arg.mode.upper()]
    if arg.name:
        parts.append(quote(arg.name))
    parts.append(type_sql(arg.type))
    if arg.default is not None:
        parts.append(f"DEFAULT {expr(arg.default)}")
    return " ".join(parts)


def signature(func: Function) -> str:
    """``schema.name(argtypes)`` as COMMENT ON FUNCTION and ALTER FUNCTION take it."""
    return f"{qualified(func.schema_name, func.name)}({', '.join(func.identity_arguments)})"


def _dollar_quote(body: str) -> str:
    """The body in a dollar quote whose tag does not occur in it (as pg_dump chooses one)."""
    tag = "function"
    n = 0
    while f"${tag}$" in body:
        n += 1
        tag = f"function{n}"
    return f"${tag}${body}${tag}$"


def config_sql(name: str, value: str) -> str:
    """``SET name = value`` such that the server stores ``value`` in proconfig unchanged.

    List settings (search_path) are stored as the server quotes each element as an identifier,
    so they are written back as identifiers; the empty list is stored as ``""`` and written
    ``TO ''``. Other settings are a single string, written as a literal.
    """
    if name.lower() not in LIST_GUCS:
        return f"SET {quote(name)} TO {literal(value)}"
    if value.strip() in ("", '""', "''"):
        return f"SET {quote(name)} TO ''"
    try:
        stmts = pglast.parse_sql(f"SET x = {value}")
        stmt = stmts[0].stmt if len(stmts) == 1 else None
        args = stmt.args if isinstance(stmt, ast.VariableSetStmt) else None
        elements = [a.val.sval for a in args or ()]
    except (pglast.parser.ParseError, AttributeError):
        elements = []
    if not elements:
        raise SqlError(f"invalid value {value!r} for setting {name!r}")
    return f"SET {quote(name)} = {', '.join(quote(e) for e in elements)}"


def function_sql(func: Function) -> list[str]:
    is_proc = func.kind_of_object == "procedure"
    params = [a for a in func.arguments if a.mode != "table"]
    table_cols = [a for a in func.arguments if a.mode == "table"]
    head = f"CREATE {'PROCEDURE' if is_proc else 'FUNCTION'} {qualified(func.schema_name, func.name)}("
    head += ", ".join(_argument_sql(a) for a in params) + ")"
    if not is_proc:
        if table_cols:
            head += f" RETURNS TABLE({', '.join(_argument_sql(a) for a in table_cols)})"
        elif func.returns is not None:
            head += f" RETURNS {'SETOF ' if func.returns_set else ''}{type_sql(func.returns)}"
        elif not any(a.mode in ("out", "inout") for a in params):
            head += " RETURNS void"
    attrs = [f"LANGUAGE {quote(func.language)}"]
    if not is_proc:
        if func.volatility != "volatile":
            attrs.append(func.volatility.upper())
        if func.strict:
            attrs.append("STRICT")
    if func.security_definer:
        attrs.append("SECURITY DEFINER")
    if not is_proc:
        if func.leakproof:
            attrs.append("LEAKPROOF")
        if func.parallel != "unsafe":
            attrs.append(f"PARALLEL {func.parallel.upper()}")
    lines = [head, INDENT + " ".join(attrs)]
    lines += [INDENT + config_sql(k, func.config[k]) for k in sorted(func.config)]
    if func.language.lower() == "sql" and standard_body_refs(func.body) is not None:
        lines.append(f"{INDENT}{_end_safe(func.body)};")
    else:
        lines.append(f"{INDENT}AS {_dollar_quote(func.body)};")
    kind = "PROCEDURE" if is_proc else "FUNCTION"
    return ["\n".join(lines), *comment(kind, signature(func), func.comment)]


def aggregate_signature(agg: Aggregate) -> str:
    """``schema.name(args)`` as CREATE, COMMENT ON and DROP AGGREGATE take it: ``(*)`` without
    arguments, ``(direct ORDER BY ordered)`` for ordered-set and hypothetical aggregates (the
    server stores ``VARIADIC x ORDER BY VARIADIC x`` as the one direct argument, written back
    here the way it was declared)."""
    args = [_argument_sql(a) for a in agg.arguments]
    if agg.kind == "normal":
        inner = ", ".join(args) or "*"
    else:
        direct, ordered = args[: agg.direct_arguments], args[agg.direct_arguments:]
        if not ordered and agg.arguments and agg.arguments[-1].mode == "variadic":
            ordered = [direct[-1]]
        inner = f"{', '.join(direct)} ORDER BY {', '.join(ordered)}".strip()
    return f"{qualified(agg.schema_name, agg.name)}({inner})"


def aggregate_sql(agg: Aggregate) -> list[str]:
    """CREATE AGGREGATE with the options that differ from what the server assumes."""
    default_modify = "read_only" if agg.kind == "normal" else "read_write"
    options = [f"SFUNC = {ref(agg.sfunc)}", f"STYPE = {type_sql(agg.stype)}"]
    if agg.sspace:
        options.append(f"SSPACE = {int(agg.sspace)}")
    for name in ("finalfunc", "combinefunc", "serialfunc", "deserialfunc"):
        value = getattr(agg, name)
        if value is not None:
            options.append(f"{name.upper()} = {ref(value)}")
    if agg.finalfunc_extra:
        options.append("FINALFUNC_EXTRA")
    if agg.finalfunc_modify != default_modify:
        options.append(f"FINALFUNC_MODIFY = {agg.finalfunc_modify.upper()}")
    if agg.initcond is not None:
        options.append(f"INITCOND = {literal(agg.initcond)}")
    for name in ("msfunc", "minvfunc"):
        value = getattr(agg, name)
        if value is not None:
            options.append(f"{name.upper()} = {ref(value)}")
    if agg.mstype is not None:
        options.append(f"MSTYPE = {type_sql(agg.mstype)}")
    if agg.msspace:
        options.append(f"MSSPACE = {int(agg.msspace)}")
    if agg.mfinalfunc is not None:
        options.append(f"MFINALFUNC = {ref(agg.mfinalfunc)}")
    if agg.mfinalfunc_extra:
        options.append("MFINALFUNC_EXTRA")
    if agg.mfinalfunc_modify != default_modify:
        options.append(f"MFINALFUNC_MODIFY = {agg.mfinalfunc_modify.upper()}")
    if agg.minitcond is not None:
        options.append(f"MINITCOND = {literal(agg.minitcond)}")
    if agg.sortop is not None:
        schema, _, op = agg.sortop.rpartition(".")  # operator names hold no dot
        options.append(f"SORTOP = OPERATOR({ref(schema)}.{op})" if schema else f"SORTOP = {op}")
    if agg.parallel != "unsafe":
        options.append(f"PARALLEL = {agg.parallel.upper()}")
    if agg.kind == "hypothetical":
        options.append("HYPOTHETICAL")
    body = f",\n{INDENT}".join(options)
    return [f"CREATE AGGREGATE {aggregate_signature(agg)} (\n{INDENT}{body}\n);",
            *comment("AGGREGATE", aggregate_signature(agg), agg.comment)]


def trigger_sql(trigger: Trigger) -> list[str]:
    events = []
    for event in _EVENT_ORDER:
        if event not in trigger.events:
            continue
        if event == "update" and trigger.update_columns:
            events.append(f"UPDATE OF {columns_sql(trigger.update_columns)}")
        else:
            events.append(event.upper())
    unknown = set(trigger.events) - set(_EVENT_ORDER)
    if unknown or not events:
        raise SqlError(f"invalid events {trigger.events!r} of trigger {trigger.key!r}")
    kind = "CONSTRAINT TRIGGER" if trigger.constraint else "TRIGGER"
    lines = [f"CREATE {kind} {quote(trigger.name)} {trigger.timing.upper()} {' OR '.join(events)}"
             f" ON {trigger.table_key}"]
    if trigger.constraint and trigger.deferrable:
        lines.append("DEFERRABLE INITIALLY DEFERRED" if trigger.initially_deferred else "DEFERRABLE")
    if trigger.old_table or trigger.new_table:
        ref_text = "REFERENCING"
        if trigger.old_table:
            ref_text += f" OLD TABLE AS {quote(trigger.old_table)}"
        if trigger.new_table:
            ref_text += f" NEW TABLE AS {quote(trigger.new_table)}"
        lines.append(ref_text)
    lines.append(f"FOR EACH {trigger.level.upper()}")
    if trigger.when is not None:
        lines.append(f"WHEN ({expr(trigger.when)})")
    args = ", ".join(literal(a) for a in trigger.arguments)
    lines.append(f"EXECUTE FUNCTION {ref(trigger.function)}({args})")
    out = [f"\n{INDENT}".join(lines) + ";"]
    switch = {"disabled": "DISABLE", "replica": "ENABLE REPLICA", "always": "ENABLE ALWAYS"}
    if trigger.enabled in switch:
        out.append(f"ALTER TABLE {trigger.table_key} {switch[trigger.enabled]} TRIGGER {quote(trigger.name)};")
    out += comment("TRIGGER", f"{quote(trigger.name)} ON {trigger.table_key}", trigger.comment)
    return out


def _role(name: str) -> str:
    # An unquoted ``public`` is the PUBLIC pseudo-role; quote() leaves it bare.
    return quote(name)


def policy_sql(policy: Policy) -> list[str]:
    lines = [f"CREATE POLICY {quote(policy.name)} ON {policy.table_key}"]
    if not policy.permissive:
        lines.append("AS RESTRICTIVE")
    if policy.command != "all":
        lines.append(f"FOR {policy.command.upper()}")
    if policy.roles and policy.roles != ["public"]:
        lines.append(f"TO {', '.join(_role(r) for r in policy.roles)}")
    if policy.using is not None:
        lines.append(f"USING ({expr(policy.using)})")
    if policy.with_check is not None:
        lines.append(f"WITH CHECK ({expr(policy.with_check)})")
    return [f"\n{INDENT}".join(lines) + ";",
            *comment("POLICY", f"{quote(policy.name)} ON {policy.table_key}", policy.comment)]
