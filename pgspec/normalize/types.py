"""Type names in one canonical spelling: the one PostgreSQL's ``format_type`` prints.

People write ``int``, ``varchar(255)``, ``timestamptz``, ``bool``; the server stores
``integer``, ``character varying(255)``, ``timestamp with time zone``, ``boolean``. A function's
identity includes its argument types, so every source canonicalises types as it builds objects.

The text is parsed by pglast (as the type of a cast), never taken apart with regular
expressions. User-defined types are schema-qualified (``public.project_type``), as
``format_type`` prints them under an empty ``search_path``, which is how pgspec reads a server.
"""

from __future__ import annotations

from functools import lru_cache

import pglast
from pglast import ast

from pgspec.errors import SqlError
from pgspec.quoting import qualified

#: Internal names whose ``format_type`` spelling differs, and how typmods are printed for them.
_SQL_NAMES: dict[str, str] = {
    "bool": "boolean",
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "varchar": "character varying",
    "bpchar": "character",
    "varbit": "bit varying",
    "char": '"char"',
    "any": '"any"',
}

#: Spellings the grammar does not turn into pg_catalog names on its own.
_ALIASES: dict[str, str] = {
    "serial": "int4",
    "serial4": "int4",
    "bigserial": "int8",
    "serial8": "int8",
    "smallserial": "int2",
    "serial2": "int2",
    "timestamptz": "timestamptz",
    "timetz": "timetz",
    "decimal": "numeric",
    "int": "int4",
    "integer": "int4",
    "smallint": "int2",
    "bigint": "int8",
    "boolean": "bool",
    "real": "float4",
    "float": "float8",
}

#: Spellings PostgreSQL expands into an integer column, a sequence and a default
#: (transformColumnDefinition in src/backend/parser/parse_utilcmd.c), and the type they become.
SERIAL_TYPES: dict[str, str] = {
    "smallserial": "smallint",
    "serial2": "smallint",
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
}

#: Types that live in pg_catalog and are printed without a schema.
BUILTIN_TYPES = frozenset(
    """aclitem anyarray anycompatible anycompatiblearray anycompatiblemultirange
    anycompatiblenonarray anycompatiblerange anyelement anyenum anymultirange anynonarray anyrange
    bit box bytea cid cidr circle cstring date datemultirange daterange event_trigger fdw_handler
    gtsvector index_am_handler inet int2vector int4multirange int4range int8multirange int8range
    internal interval json jsonb jsonpath language_handler line lseg macaddr macaddr8 money name
    numeric nummultirange numrange oid oidvector path point polygon record refcursor regclass
    regcollation regconfig regdictionary regnamespace regoper regoperator regproc regprocedure
    regrole regtype table_am_handler text tid trigger tsm_handler tsmultirange tsquery tsrange
    tstzmultirange tstzrange tsvector txid_snapshot unknown uuid void xid xid8 xml
    bool int2 int4 int8 float4 float8 varchar bpchar varbit char any time timestamp timestamptz
    timetz""".split()
)

#: Internal names of the time types, whose typmod goes before "with(out) time zone".
_TIME_TYPES = {
    "time": "time without time zone",
    "timetz": "time with time zone",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
}


def internal_type_name(node: ast.TypeName) -> str | None:
    """The pg_catalog internal name of a built-in type however it is written (``int`` ->
    ``int4``, ``pg_catalog.text`` -> ``text``); None for any other type."""
    names = [getattr(n, "sval", None) for n in node.names or ()]
    if not names or None in names:
        return None
    if len(names) == 2 and names[0] == "pg_catalog":
        return names[1]
    if len(names) == 1:
        internal = _ALIASES.get(names[0], names[0])
        return internal if internal in BUILTIN_TYPES else None
    return None


def _typmods(node: ast.TypeName) -> list[str]:
    mods: list[str] = []
    for mod in node.typmods or ():
        if isinstance(mod, ast.A_Const) and mod.val is not None:
            mods.append(str(getattr(mod.val, "ival", None) or getattr(mod.val, "sval", "")))
        elif isinstance(mod, ast.ColumnRef):
            mods.append(".".join(getattr(f, "sval", "*") for f in mod.fields))
        else:
            raise SqlError(f"unsupported type modifier in {pglast.stream.RawStream()(node)!r}")
    return mods


def format_type_name(node: ast.TypeName, default_schema: str = "public") -> str:
    """The ``format_type`` spelling of a parsed type name (used by every SQL reader)."""
    names = [n.sval for n in node.names]
    if node.pct_type:
        raise SqlError(f"%TYPE references are not supported: {'.'.join(names)!r}")
    if len(names) == 2 and names[0] == "pg_catalog":
        names = [names[1]]
    internal = _ALIASES.get(names[0], names[0]) if len(names) == 1 else None
    mods = _typmods(node)
    if names == ["interval"] and node.typmods:
        # INTERVAL field restrictions (``interval day to second``) are printed by the server
        # from a bitmask; pgspec keeps the plain type, as it does not model them.
        text = "interval"
    elif internal in _TIME_TYPES:
        base = _TIME_TYPES[internal]
        if mods:
            word, _, zone = base.partition(" ")
            text = f"{word}({','.join(mods)}) {zone}"
        else:
            text = base
    elif internal is not None and internal in BUILTIN_TYPES:
        text = _SQL_NAMES.get(internal, internal)
        if mods:
            text += f"({','.join(mods)})"
    else:
        parts = names if len(names) > 1 else [default_schema, names[0]]
        text = qualified(*parts)
        if mods:
            text += f"({','.join(mods)})"
    if node.arrayBounds:
        text += "[]"
    if node.setof:
        text = f"SETOF {text}"
    return text


@lru_cache(maxsize=4096)
def cast_statements(source: str) -> tuple[ast.RawStmt, ...]:
    """``SELECT NULL::source`` as pglast parses it (its ParseError raised as is), remembered:
    a spec's every column asks three questions of its type (canonical spelling, serial, user
    type) and columns share a few types. The trees are shared: read them, never change them."""
    return pglast.parse_sql(f"SELECT NULL::{source}")


@lru_cache(maxsize=65536)
def canonical_type(text: str, default_schema: str = "public") -> str:
    """``format_type`` spelling of a type written any way PostgreSQL accepts.

    >>> canonical_type("varchar(255)")
    'character varying(255)'
    >>> canonical_type("timestamptz")
    'timestamp with time zone'
    >>> canonical_type("project_type")
    'public.project_type'
    """
    source = text.strip()
    if not source:
        raise SqlError("empty type name")
    try:
        stmt = cast_statements(source)
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid type {text!r}: {exc.args[0]}") from None
    if len(stmt) != 1:
        raise SqlError(f"invalid type {text!r}")
    target = _only_target(stmt[0].stmt)
    if not isinstance(target, ast.TypeCast):
        raise SqlError(f"invalid type {text!r}")
    return format_type_name(target.typeName, default_schema)


#: Clauses of ``SELECT NULL::<type>`` that text after the type can add (``int ORDER BY 1``,
#: ``int FOR UPDATE``, ``int INTO x``): with any of them the text is no type name.
_EXTRA_CLAUSES = (
    "fromClause", "whereClause", "groupClause", "havingClause", "sortClause", "limitCount",
    "limitOffset", "windowClause", "distinctClause", "withClause", "lockingClause",
    "valuesLists", "intoClause",
)


def _only_target(stmt: ast.Node) -> ast.Node | None:
    """The one value of ``SELECT value`` and nothing else, else None (the rule of
    ``spec.sqlcheck.only_target``, kept here so types need nothing above ``normalize``)."""
    if (
        not isinstance(stmt, ast.SelectStmt)
        or not stmt.targetList
        or len(stmt.targetList) != 1
        or stmt.targetList[0].name
        or stmt.op != pglast.enums.SetOperation.SETOP_NONE
        or any(getattr(stmt, attr) for attr in _EXTRA_CLAUSES)
    ):
        return None
    return stmt.targetList[0].val
