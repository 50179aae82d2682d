"""Hypothesis strategies: random but valid pgspec specs, and single mutations of a database.

A generated spec is plain data (``yaml.safe_dump`` writes it), so a failing example prints as
the YAML a person can paste into a file. Names come from one pool per spec, drawn unique, so
tables, views, indexes and constraints never collide in PostgreSQL's relation namespace; about
half of them need quoting (capitals, spaces, quotes, unicode, reserved words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from pgspec.quoting import qualified, quote

#: Words that are reserved or otherwise need quoting, mixed into the name pool.
ODD_NAMES = ["select", "Order", "user", "group", "My Table", 'say "hi"', "ñandú", "a-b", "1st",
             "from", "éé" * 20]

_plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda s: not s.startswith("_"))
_odd = st.one_of(
    st.sampled_from(ODD_NAMES),
    st.text(alphabet='abcXYZ é"_ ', min_size=1, max_size=10).filter(lambda s: s.strip() == s and s.strip()),
)
NAME = st.one_of(_plain, _odd).filter(lambda s: len(s.encode()) <= 63 and not s.startswith("pg_"))


def _string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class ColumnType:
    """A column type and how to write a default of it and a CHECK on it."""

    name: str
    defaults: st.SearchStrategy[str]
    numeric: bool = False
    textual: bool = False


_ints = st.integers(-1000, 1000).map(str)
TYPES = [
    ColumnType("integer", _ints, numeric=True),
    ColumnType("bigint", _ints, numeric=True),
    ColumnType("smallint", st.integers(-100, 100).map(str), numeric=True),
    ColumnType("numeric(10,2)", st.decimals(-999, 999, places=2, allow_nan=False).map(str), numeric=True),
    ColumnType("double precision", st.sampled_from(["1.5", "0", "-2.25"]), numeric=True),
    ColumnType("text", st.text(alphabet="ab 'é", max_size=6).map(_string_literal), textual=True),
    ColumnType("character varying(20)", st.text(alphabet="xyz'", max_size=5).map(_string_literal),
               textual=True),
    ColumnType("boolean", st.sampled_from(["true", "false"])),
    ColumnType("date", st.sampled_from(["'2020-01-02'", "CURRENT_DATE"])),
    ColumnType("timestamp with time zone", st.sampled_from(["now()", "'2021-03-04 05:06:07+00'"])),
    ColumnType("uuid", st.just("gen_random_uuid()")),
    ColumnType("jsonb", st.sampled_from(["'{}'::jsonb", "'[1, 2]'::jsonb"])),
    ColumnType("bytea", st.just("'\\x00'::bytea")),
    ColumnType("interval", st.sampled_from(["'1 day'::interval", "'02:00:00'::interval"])),
    ColumnType("text[]", st.sampled_from(["'{}'::text[]", "ARRAY['a'::text]"])),
    ColumnType("time without time zone", st.just("'12:00:00'::time")),
]


@dataclass
class Generated:
    """A spec as data, plus what mutations need to know about it."""

    spec: dict[str, Any]
    schema: str
    #: table name -> {column name: ColumnType name}
    tables: dict[str, dict[str, str]]
    indexes: list[str]
    views: list[str]


@st.composite
def specs(draw: st.DrawFn) -> Generated:
    """One random spec: 1-3 tables of 1-6 columns, defaults, keys, checks, indexes, a view."""
    pool = iter(draw(st.lists(NAME, min_size=30, max_size=30, unique=True)))
    schema = draw(st.sampled_from(["public", "App Schema"]))
    tables: dict[str, Any] = {}
    shape: dict[str, dict[str, str]] = {}
    index_names: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        table = next(pool)
        column_names = draw(st.lists(NAME, min_size=1, max_size=6, unique=True))
        columns: dict[str, Any] = {}
        types: dict[str, ColumnType] = {}
        for column in column_names:
            ctype = draw(st.sampled_from(TYPES))
            types[column] = ctype
            spec: dict[str, Any] = {"type": ctype.name}
            if draw(st.booleans()):
                spec["not_null"] = True
            if draw(st.booleans()):
                spec["default"] = draw(ctype.defaults)
            columns[column] = spec
        body: dict[str, Any] = {"columns": columns}
        first, first_type = column_names[0], types[column_names[0]]
        if first_type.name in ("integer", "bigint", "uuid", "text") and draw(st.booleans()):
            body["primary_key"] = {"name": next(pool), "columns": [first]}
        numeric = [c for c in column_names if types[c].numeric]
        textual = [c for c in column_names if types[c].textual]
        checks: dict[str, str] = {}
        if numeric and draw(st.booleans()):
            column = draw(st.sampled_from(numeric))
            checks[next(pool)] = f"{quote(column)} > {draw(st.integers(-50, 50))}"
        if textual and draw(st.booleans()):
            column = draw(st.sampled_from(textual))
            checks[next(pool)] = f"length({quote(column)}) <= {draw(st.integers(1, 99))}"
        if checks:
            body["checks"] = checks
        plain = [c for c in column_names if types[c].name not in ("jsonb", "text[]", "interval")]
        if plain and draw(st.booleans()):
            body["unique"] = {next(pool): draw(st.lists(st.sampled_from(plain), min_size=1,
                                                        max_size=2, unique=True))}
        indexes: dict[str, Any] = {}
        for _ in range(draw(st.integers(0, 2)) if plain else 0):
            keys = draw(st.lists(st.sampled_from(plain), min_size=1, max_size=2, unique=True))
            elements = [f"{quote(k)} DESC" if draw(st.booleans()) else quote(k) for k in keys]
            index: dict[str, Any] = {"columns": elements}
            if draw(st.booleans()):
                index["where"] = f"{quote(keys[0])} IS NOT NULL"
            name = next(pool)
            indexes[name] = index
            index_names.append(name)
        if indexes:
            body["indexes"] = indexes
        tables[table] = body
        shape[table] = {c: types[c].name for c in column_names}
    views: dict[str, Any] = {}
    if draw(st.booleans()):
        table = draw(st.sampled_from(sorted(shape)))
        chosen = draw(st.lists(st.sampled_from(sorted(shape[table])), min_size=1, max_size=3, unique=True))
        views[next(pool)] = {"query": f"SELECT {', '.join(quote(c) for c in chosen)} "
                                      f"FROM {qualified(schema, table)}"}
    spec: dict[str, Any] = {"schema": schema, "tables": tables}
    if views:
        spec["views"] = views
    return Generated(spec, schema, shape, index_names, list(views))


@dataclass(frozen=True)
class Mutation:
    """One change to the database, as SQL, and the object a report must then name."""

    sql: str
    object_name: str

    def __str__(self) -> str:
        return self.sql


@st.composite
def mutations(draw: st.DrawFn, generated: Generated) -> Mutation:
    """One DDL statement that changes something the spec describes."""
    schema = generated.schema
    table = draw(st.sampled_from(sorted(generated.tables)))
    columns = generated.tables[table]
    column = draw(st.sampled_from(sorted(columns)))
    rel = qualified(schema, table)
    fresh = draw(NAME.filter(lambda n: n not in columns))
    choices = [
        Mutation(f"ALTER TABLE {rel} ADD COLUMN {quote(fresh)} integer", qualified(schema, table, fresh)),
        Mutation(f"COMMENT ON TABLE {rel} IS 'changed'", rel),
        Mutation(f"ALTER TABLE {rel} ENABLE ROW LEVEL SECURITY", rel),
        Mutation(f"CREATE INDEX ON {rel} ({quote(column)})" if columns[column] not in ("jsonb", "text[]")
                 else f"CREATE INDEX ON {rel} USING gin ({quote(column)})", rel),
        Mutation(f"ALTER TABLE {rel} RENAME COLUMN {quote(column)} TO {quote(fresh)}",
                 qualified(schema, table, column)),
        Mutation(f"CREATE TABLE {qualified(schema, fresh + '_new')} (id int)",
                 qualified(schema, fresh + "_new")),
    ]
    ctype = next(t for t in TYPES if t.name == columns[column])
    # Values no generated default takes: spec defaults stay within -1000..1000 and their own
    # small alphabets.
    if ctype.numeric or ctype.textual:
        value = "4242" if ctype.numeric else "'mutated!'"
        choices.append(Mutation(f"ALTER TABLE {rel} ALTER COLUMN {quote(column)} SET DEFAULT {value}",
                                qualified(schema, table, column)))
    declared = generated.spec["tables"][table]
    in_key = column in (declared.get("primary_key") or {}).get("columns", [])
    if not in_key:
        toggle = "DROP" if declared["columns"][column].get("not_null") else "SET"
        choices.append(Mutation(f"ALTER TABLE {rel} ALTER COLUMN {quote(column)} {toggle} NOT NULL",
                                qualified(schema, table, column)))
    if len(columns) > 1:
        choices.append(Mutation(f"ALTER TABLE {rel} DROP COLUMN {quote(column)} CASCADE",
                                qualified(schema, table, column)))
    if generated.indexes:
        index = draw(st.sampled_from(generated.indexes))
        choices.append(Mutation(f"DROP INDEX {qualified(schema, index)}", qualified(schema, index)))
    if generated.views:
        view = generated.views[0]
        choices.append(Mutation(f"DROP VIEW {qualified(schema, view)}", qualified(schema, view)))
    return draw(st.sampled_from(choices))
