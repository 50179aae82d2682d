"""A table and its own constraints: primary key, unique, checks, foreign keys, exclusions.

The table is built with what the server does implicitly made explicit: unnamed constraints get
the server's names and primary key columns become NOT NULL. Columns come from build_columns (which
may add constraints of their own); indexes, triggers and policies written inside the table go to
build_table_children. A foreign key's target may be in another file, so it is resolved (and its
columns completed from the target's primary key) once every file is read.
"""

from __future__ import annotations

from functools import partial

from pgspec import naming
from pgspec.catalog import Column, Constraint, Table
from pgspec.errors import PgspecError
from pgspec.quoting import qualified
from pgspec.spec import models as m
from pgspec.spec import names, sqlcheck
from pgspec.spec.build_columns import build_column, foreign_key
from pgspec.spec.build_state import BuildState, long_form
from pgspec.spec.build_table_children import CHILD_BUILDERS
from pgspec.spec.positions import Pos


def build_table(b: BuildState, schema: str, name: str, spec: m.TableIn, pos: Pos) -> None:
    b.claim(b.relations, schema, name, "table", pos, "relation")
    b.claim(b.type_names, schema, name, "table", pos, "type")
    constraints: list[tuple[Constraint, Pos]] = []
    columns: list[Column] = []
    pk_columns: list[str] = []
    pk_pos: Pos | None = None
    columns_pos = pos.child("columns")
    for cname, value in spec.columns.items():
        cpos = columns_pos.child(cname)
        col = value if isinstance(value, m.ColumnIn) else long_form(m.ColumnIn, type=value)
        built = build_column(b, schema, name, cname, col, cpos, isinstance(value, m.ColumnIn), constraints)
        if built is None:
            continue
        columns.append(built)
        if col.primary_key:
            if pk_pos is not None:
                b.problem(cpos.child("primary_key"), f"table {name!r} has more than one primary_key column; use primary_key: [a, b]")
                continue
            pk_columns.append(cname)
            pk_pos = cpos.child("primary_key")
    have = {c.name for c in columns} | {c for c in spec.columns}

    def known(cols: list[str], where: Pos, what: str) -> bool:
        missing = [c for c in cols if c not in have]
        if missing:
            b.problem(where, f"{what} names column {missing[0]!r}, which table {name!r} does not have")
        return not missing

    pk = spec.primary_key
    if pk is not None:
        ppos = pos.child("primary_key")
        if pk_pos is not None:
            b.problem(ppos, f"table {name!r} declares its primary key twice (also at line {pk_pos.line})")
        else:
            pkin = pk if isinstance(pk, m.PrimaryKeyIn) else long_form(m.PrimaryKeyIn, columns=pk)
            if known(pkin.columns, ppos, "primary_key") and known(pkin.include, ppos, "primary_key include"):
                constraints.append(
                    (
                        Constraint(
                            schema=schema,
                            table=name,
                            name=pkin.name or naming.primary_key_name(name),
                            kind="primary_key",
                            columns=pkin.columns,
                            include=pkin.include,
                            deferrable=pkin.deferrable,
                            initially_deferred=pkin.initially_deferred,
                            comment=pkin.comment,
                            location=ppos.location,
                        ),
                        ppos,
                    )
                )
                pk_columns = list(pkin.columns)
    elif pk_columns and pk_pos is not None:
        constraints.insert(
            0,
            (
                Constraint(
                    schema=schema,
                    table=name,
                    name=naming.primary_key_name(name),
                    kind="primary_key",
                    columns=pk_columns,
                    location=pk_pos.location,
                ),
                pk_pos,
            ),
        )
    # PostgreSQL makes every primary key column NOT NULL.
    columns = [c.model_copy(update={"not_null": True}) if c.name in pk_columns else c for c in columns]

    for uname, value in spec.unique.items():
        upos = pos.at("unique", uname)
        uin = value if isinstance(value, m.UniqueIn) else long_form(m.UniqueIn, columns=value)
        if known(uin.columns, upos, "unique") and known(uin.include, upos, "unique include"):
            constraints.append(
                (
                    Constraint(
                        schema=schema,
                        table=name,
                        name=uname,
                        kind="unique",
                        columns=uin.columns,
                        include=uin.include,
                        nulls_not_distinct=uin.nulls_not_distinct,
                        deferrable=uin.deferrable,
                        initially_deferred=uin.initially_deferred,
                        comment=uin.comment,
                        location=upos.location,
                    ),
                    upos,
                )
            )
    for kname, value in spec.checks.items():
        kpos = pos.at("checks", kname)
        kin = value if isinstance(value, m.CheckIn) else long_form(m.CheckIn, expression=value)
        if b.sql_ok(partial(sqlcheck.check_expression, kin.expression, "check"), kpos):
            constraints.append(
                (
                    Constraint(
                        schema=schema,
                        table=name,
                        name=kname,
                        kind="check",
                        expression=kin.expression,
                        no_inherit=kin.no_inherit,
                        comment=kin.comment,
                        location=kpos.location,
                    ),
                    kpos,
                )
            )
    for fname, fk in spec.foreign_keys.items():
        fpos = pos.at("foreign_keys", fname)
        if not known(fk.columns, fpos.child("columns"), "foreign key"):
            continue
        target = fk.references
        tpos = fpos.child("references")
        if isinstance(target, m.TargetIn):
            ref = b.reference(target.table, schema, tpos)
            ref_columns = target.columns
        else:
            ref = b.reference(target, schema, tpos)
            ref_columns = ref.columns if ref else None
        if ref is None:
            continue
        constraints.append(
            (foreign_key(schema, name, fname, fk.columns, ref, ref_columns, fk, fpos), tpos)
        )
    for xname, value in spec.exclude.items():
        xpos = pos.at("exclude", xname)
        xin = value if isinstance(value, m.ExcludeIn) else long_form(m.ExcludeIn, definition=value)
        if b.sql_ok(partial(sqlcheck.check_definition, xin.definition), xpos):
            constraints.append(
                (
                    Constraint(
                        schema=schema,
                        table=name,
                        name=xname,
                        kind="exclude",
                        definition=xin.definition,
                        deferrable=xin.deferrable,
                        initially_deferred=xin.initially_deferred,
                        comment=xin.comment,
                        location=xpos.location,
                    ),
                    xpos,
                )
            )
    if spec.partition_by is not None:
        b.sql_ok(partial(sqlcheck.check_partition_by, spec.partition_by), pos.child("partition_by"))
    rls = spec.rls if isinstance(spec.rls, m.RlsIn) else long_form(m.RlsIn, enabled=spec.rls)
    table = Table(
        schema=schema,
        name=name,
        columns=columns,
        rls_enabled=rls.enabled,
        rls_forced=rls.forced,
        unlogged=spec.unlogged,
        partition_by=spec.partition_by,
        partition_of=_relation_name(b, spec.partition_of, schema, pos.child("partition_of")),
        partition_bound=spec.partition_bound,
        inherits=[n for i, p in enumerate(spec.inherits)
                  if (n := _relation_name(b, p, schema, pos.at("inherits", i))) is not None],
        comment=spec.comment,
        location=pos.location,
    )
    if (spec.partition_of is None) != (spec.partition_bound is None):
        b.problem(pos, f"table {name!r} needs both partition_of and partition_bound")
    if not b.add("table", table, pos):
        return
    for con, cpos in constraints:
        _add_constraint(b, con, cpos)
    for section, builder in CHILD_BUILDERS:
        for oname, value in getattr(spec, section).items():
            opos = pos.at(section, oname)
            if value.table is not None:
                b.problem(opos.child("table"), f"'table' is implied inside table {name!r}; remove it")
                continue
            builder(b, schema, name, oname, value, opos, schema)


def _add_constraint(b: BuildState, con: Constraint, pos: Pos) -> None:
    if con.kind in ("primary_key", "unique"):
        # Their indexes carry the constraint's name, in the relation namespace.
        b.claim(b.relations, con.schema_name, con.name, "index", pos, "relation")
    if b.add("constraint", con, pos) and con.kind == "foreign_key":
        b.later.append(lambda: _finish_foreign_key(b, con.key, pos))


def _finish_foreign_key(b: BuildState, key: str, pos: Pos) -> None:
    """Resolve a foreign key's target once every file is read (it may live in another)."""
    con: Constraint = b.objects["constraints"][key]
    if con.references is None:  # pragma: no cover - the builder gives every foreign key its target
        return
    target = b.objects["tables"].get(con.references)
    if target is None:
        if con.references not in b.externals:
            b.problem(pos, f"foreign key {con.name!r} references unknown table {con.references!r}")
        elif not con.references_columns:
            b.problem(pos, f"foreign key {con.name!r} must name the columns of external table {con.references!r}")
        return
    ref_columns = con.references_columns
    if not ref_columns:
        pk = [
            c
            for c in b.objects["constraints"].values()
            if c.kind == "primary_key" and c.table_key == target.key
        ]
        if not pk:
            b.problem(pos, f"foreign key {con.name!r}: table {target.key!r} has no primary key; name the columns")
            return
        ref_columns = pk[0].columns
        b.objects["constraints"][key] = con.model_copy(update={"references_columns": ref_columns})
    missing = [c for c in ref_columns if target.column(c) is None]
    if missing:
        b.problem(pos, f"foreign key {con.name!r} references column {missing[0]!r}, which table {target.key!r} does not have")
    elif len(ref_columns) != len(con.columns):
        b.problem(pos, f"foreign key {con.name!r} has {len(con.columns)} columns but references {len(ref_columns)}")


def _relation_name(b: BuildState, text: str | None, schema: str, pos: Pos) -> str | None:
    """A parent table written as SQL (``events`` or ``app.events``) as its catalog key."""
    if text is None:
        return None
    try:
        return qualified(*names.parse_qualified_name(text, schema))
    except PgspecError as exc:
        b.problem(pos, exc.problem.message)
        return None

