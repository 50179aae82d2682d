"""One table column, with what PostgreSQL does for it on its own made explicit.

A column's spec says more than the column: ``serial`` means an integer column, an owned
sequence and a ``nextval`` default; ``primary_key``, ``unique``, ``check`` and ``references``
on a column are constraints with the names the server would generate. This module turns one
column entry into the Column and hands those constraints back to the table (build_tables), which
owns them; it is apart from tables because the column shorthand has rules of its own.
"""

from __future__ import annotations

from functools import partial

from pgspec import naming
from pgspec.catalog import Column, Constraint, Sequence
from pgspec.errors import PgspecError
from pgspec.quoting import qualified
from pgspec.spec import models as m
from pgspec.spec import names, sqlcheck
from pgspec.spec.build_state import BuildState, long_form
from pgspec.spec.positions import Pos


def build_column(
    b: BuildState,
    schema: str,
    table: str,
    name: str,
    spec: m.ColumnIn,
    pos: Pos,
    is_mapping: bool,
    constraints: list[tuple[Constraint, Pos]],
) -> Column | None:
    """The column (None when it is wrong); its constraints are appended to ``constraints``."""
    type_keys = ("type",) if is_mapping else ()
    default = spec.default
    not_null = spec.not_null
    serial = names.serial_base(spec.type)
    if serial is not None:
        ctype: str | None = serial
        if default is not None or spec.identity or spec.generated:
            b.problem(pos, f"serial column {name!r} cannot have a default, identity or generated expression")
            return None
        # What PostgreSQL does for serial (transformColumnDefinition): NOT NULL, a sequence of
        # the same integer type owned by the column, and nextval of it as the default.
        seq = naming.sequence_name(table, name)
        from psycopg import sql  # only here: a spec read offline need not load psycopg

        literal = sql.Literal(qualified(schema, seq)).as_string(None)
        default = f"nextval({literal}::regclass)"
        not_null = True
        b.claim(b.relations, schema, seq, "sequence", pos, "relation")
        b.add(
            "sequence",
            Sequence(
                schema=schema,
                name=seq,
                type=serial,
                owned_by=qualified(schema, table, name),
                location=pos.location,
            ),
            pos,
        )
    else:
        ctype = b.type_of(spec.type, schema, pos, *type_keys)
    if default is not None and serial is None:
        b.sql_ok(lambda: sqlcheck.check_expression(default, "default"), pos, "default")
    if spec.generated is not None:
        b.sql_ok(partial(sqlcheck.check_expression, spec.generated, "generated"), pos, "generated")
    if spec.identity and (default is not None or spec.generated):
        b.problem(pos, f"identity column {name!r} cannot also have a default or generated expression")
    if spec.generated and default is not None:
        b.problem(pos, f"generated column {name!r} cannot also have a default")
    if spec.identity:
        not_null = True  # PostgreSQL makes identity columns NOT NULL
    if spec.check is not None:
        kpos = pos.child("check")
        try:
            referenced = sqlcheck.expression_columns(spec.check)
        except PgspecError as exc:
            b.problem(kpos, exc.problem.message)
        else:
            cname = naming.check_name(table, referenced, {c.name for c, _ in constraints})
            constraints.append(
                (
                    Constraint(
                        schema=schema, table=table, name=cname, kind="check",
                        expression=spec.check, location=kpos.location,
                    ),
                    kpos,
                )
            )
    if spec.unique:
        upos = pos.child("unique")
        constraints.append(
            (
                Constraint(
                    schema=schema, table=table, name=naming.unique_name(table, [name]), kind="unique",
                    columns=[name], location=upos.location,
                ),
                upos,
            )
        )
    if spec.references is not None:
        rpos = pos.child("references")
        ref_in = spec.references
        if isinstance(ref_in, m.ReferenceIn):
            ref = b.reference(ref_in.table, schema, rpos.child("table"))
            options = ref_in
            ref_columns = ref_in.columns
        else:
            ref = b.reference(ref_in, schema, rpos)
            options = long_form(m.ReferenceIn, table="-")
            ref_columns = ref.columns if ref else None
        if ref is not None:
            fk_name = options.name or naming.foreign_key_name(table, [name])
            constraints.append(
                (foreign_key(schema, table, fk_name, [name], ref, ref_columns, options, rpos), rpos)
            )
    if ctype is None:
        return None
    return Column(
        name=name,
        type=ctype,
        not_null=not_null,
        default=default,
        identity=spec.identity,
        generated=spec.generated,
        collation=spec.collation,
        comment=spec.comment,
        location=pos.location,
    )


def foreign_key(
    schema: str, table: str, name: str, columns: list[str], ref: names.Reference,
    ref_columns: list[str] | None, options: m.ReferenceIn | m.ForeignKeyIn, pos: Pos,
) -> Constraint:
    """A foreign key as either spelling declares it: a column's ``references`` or a table's
    ``foreign_keys`` entry, which share their actions, match and deferrability options."""
    return Constraint(
        schema=schema,
        table=table,
        name=name,
        kind="foreign_key",
        columns=columns,
        references=qualified(ref.schema, ref.table),
        references_columns=list(ref_columns or []),
        on_delete=options.on_delete,
        on_update=options.on_update,
        match=options.match,
        deferrable=options.deferrable,
        initially_deferred=options.initially_deferred,
        comment=options.comment,
        location=pos.location,
    )
