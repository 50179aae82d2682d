"""Indexes, triggers and policies: the objects that hang off a table.

Each can be written inside its table or at the top of a file with ``table:``; both ways arrive
here with the table already resolved. They are kept apart from tables because they are checked
against the table only once every file is read (the table, or a trigger's function, may be
declared in another file), while a table's own constraints are checked as it is built.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

from pgspec.catalog import Index, IndexKey, Policy, Trigger
from pgspec.errors import PgspecError
from pgspec.quoting import qualified
from pgspec.sources.elements import parse_index_element
from pgspec.spec import models as m
from pgspec.spec import names, sqlcheck
from pgspec.spec.build_state import BuildState
from pgspec.spec.positions import Pos

#: ``parse_index_element`` remembered by text: an IndexKey is immutable, and index keys repeat
#: (``account_id``, ``created_at DESC``) across tables.
_index_element = lru_cache(maxsize=4096)(parse_index_element)


def build_index(
    b: BuildState, tschema: str, table: str, name: str, spec: m.IndexIn, pos: Pos, file_schema: str
) -> None:
    keys: list[IndexKey] = []
    for i, elem in enumerate(spec.columns):
        epos = pos.at("columns", i)
        try:
            keys.append(_index_key(elem))
        except PgspecError as exc:
            b.problem(epos, exc.problem.message)
    if spec.where is not None:
        b.sql_ok(partial(sqlcheck.check_expression, spec.where, "where"), pos, "where")
    if len(keys) != len(spec.columns):
        return
    b.claim(b.relations, tschema, name, "index", pos, "relation")
    obj = Index(
        schema=tschema,
        name=name,
        table=table,
        unique=spec.unique,
        method=spec.method,
        keys=keys,
        include=spec.include,
        where=spec.where,
        nulls_not_distinct=spec.nulls_not_distinct,
        comment=spec.comment,
        location=pos.location,
    )
    if b.add("index", obj, pos):
        cols = [k.column for k in keys if k.column] + list(spec.include)
        b.later.append(lambda: _check_target(b, tschema, table, pos, f"index {name!r}", cols, relations=True))
        bare = _bare_opclasses(spec.method, keys)
        if bare:
            b.later.append(lambda: _opclass_schemas(b, obj.key, bare))


def _bare_opclasses(method: str, keys: list[IndexKey]) -> list[str]:
    """Operator classes written without a schema that are not pg_catalog's: an extension's
    (``gin_trgm_ops``), which the server finds along the search_path when the DDL runs."""
    from pgspec.normalize.opclasses import builtin, name_parts

    return [k.opclass for k in keys
            if k.opclass and len(name_parts(k.opclass)) == 1 and builtin(method, k.opclass) is None]


def _opclass_schemas(b: BuildState, key: str, bare: list[str]) -> None:
    """Record where a bare opclass may live, once every file is read: the schemas the spec
    installs extensions in, ``public`` (where CREATE EXTENSION puts one by default) and the
    index's own schema. The differ takes a database's ``extensions.gin_trgm_ops`` for the spec's
    ``gin_trgm_ops`` only in one of those (``normalize.opclasses.settle``)."""
    index = b.objects["indexes"].get(key)
    if index is None:
        return
    schemas = {"public", index.schema_name}
    schemas.update(e.schema_name for e in b.objects["extensions"].values() if e.schema_name)
    found = dict.fromkeys(bare, sorted(schemas))
    b.objects["indexes"][key] = index.model_copy(update={"opclass_schemas": found})


def _index_key(elem: Any) -> IndexKey:
    if isinstance(elem, str):
        return _index_element(elem)
    if (elem.column is None) == (elem.expression is None):
        from pgspec.errors import SpecError

        raise SpecError("an index key has exactly one of 'column' or 'expression'")
    if elem.expression is not None:
        sqlcheck.check_expression(elem.expression)
    nulls = elem.nulls
    if nulls == ("first" if elem.order == "desc" else "last"):
        nulls = None
    return IndexKey(
        column=elem.column,
        expression=elem.expression,
        order=elem.order,
        nulls=nulls,
        opclass=elem.opclass,
        collation=elem.collation,
    )


def _check_target(
    b: BuildState, schema: str, table: str, pos: Pos, what: str, columns: list[str], *, relations: bool = False
) -> None:
    """The table an index, trigger or policy is on exists, and has the columns it names."""
    key = qualified(schema, table)
    found = b.objects["tables"].get(key)
    if found is not None:
        missing = [c for c in columns if found.column(c) is None]
        if missing:
            hint = ""
            if any(c.name.lower() == missing[0] for c in found.columns):
                hint = " (index elements are SQL: double-quote a mixed-case name)"
            b.problem(
                pos, f"{what} names column {missing[0]!r}, which table {key!r} does not have{hint}", at_object=True
            )
        return
    others = [b.objects["materialized_views"].get(key), b.objects["views"].get(key)]
    if (relations and any(others)) or key in b.externals:
        return
    if not relations and b.objects["views"].get(key) is not None:
        return
    b.problem(pos, f"{what} is on unknown table {key!r}", at_object=True)


def build_trigger(
    b: BuildState, tschema: str, table: str, name: str, spec: m.TriggerIn, pos: Pos, file_schema: str
) -> None:
    try:
        fschema, fname, fargs = names.parse_function_name(spec.function, file_schema)
    except PgspecError as exc:
        b.problem(pos.child("function"), exc.problem.message)
        return
    if fargs:
        b.problem(pos.child("function"), f"a trigger function takes no declared arguments, got {spec.function!r}")
        return
    if spec.when is not None:
        b.sql_ok(partial(sqlcheck.check_expression, spec.when, "when"), pos, "when")
    if spec.update_of and "update" not in spec.events:
        b.problem(pos.child("update_of"), "update_of needs 'update' among the events")
    obj = Trigger(
        schema=tschema,
        table=table,
        name=name,
        timing=spec.timing,
        events=sorted(set(spec.events)),
        update_columns=spec.update_of,
        level=spec.level,
        when=spec.when,
        function=qualified(fschema, fname),
        arguments=spec.arguments,
        old_table=spec.old_table,
        new_table=spec.new_table,
        enabled=spec.enabled,
        constraint=spec.constraint,
        deferrable=spec.deferrable,
        initially_deferred=spec.initially_deferred,
        comment=spec.comment,
        location=pos.location,
    )
    if b.add("trigger", obj, pos):
        b.later.append(lambda: _check_target(b, tschema, table, pos, f"trigger {name!r}", spec.update_of))
        b.later.append(lambda: _check_trigger_function(b, fschema, fname, pos.child("function"), name))


def _check_trigger_function(b: BuildState, schema: str, name: str, pos: Pos, trigger: str) -> None:
    candidates = [
        f for f in b.objects["functions"].values() if f.schema_name == schema and f.name == name
    ]
    prefix = qualified(schema, name) + "("
    if not candidates:
        if not any(k.startswith(prefix) for k in b.externals):
            b.problem(pos, f"unknown trigger function {qualified(schema, name)!r}")
        return
    if not any(f.returns == "trigger" and not f.identity_arguments for f in candidates):
        b.problem(pos, f"trigger function {qualified(schema, name)!r} does not return trigger")


def build_policy(
    b: BuildState, tschema: str, table: str, name: str, spec: m.PolicyIn, pos: Pos, file_schema: str
) -> None:
    for field in ("using", "with_check"):
        text = getattr(spec, field)
        if text is not None:
            b.sql_ok(partial(sqlcheck.check_expression, text, field), pos, field)
    obj = Policy(
        schema=tschema,
        table=table,
        name=name,
        command=spec.command,
        permissive=spec.permissive,
        roles=sorted(set(spec.roles)) if spec.roles else ["public"],
        using=spec.using,
        with_check=spec.with_check,
        comment=spec.comment,
        location=pos.location,
    )
    if b.add("policy", obj, pos):
        b.later.append(lambda: _check_target(b, tschema, table, pos, f"policy {name!r}", []))


#: The builder of each table child, by spec section: a table's own sections and a file's
#: top-level ones are walked with the same table.
CHILD_BUILDERS = (
    ("indexes", build_index),
    ("triggers", build_trigger),
    ("policies", build_policy),
)
