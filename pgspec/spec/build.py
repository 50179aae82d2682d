"""Validated spec models -> Catalog objects, with PostgreSQL's implicit behaviour made explicit.

What the server would do on its own, the builder does here so a spec compares equal to the
database it describes: unnamed constraints get the server's names, serial columns become an
integer column, a sequence and a ``nextval`` default, primary key columns become NOT NULL.
Problems are collected, never raised one at a time; checks that need the whole spec (does the
referenced table exist in another file?) are queued and run by validate.py at the end.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pgspec import naming
from pgspec.catalog import (
    Aggregate,
    Argument,
    Column,
    Constraint,
    Extension,
    Function,
    Index,
    IndexKey,
    Policy,
    Schema,
    Sequence,
    Table,
    Trigger,
)
from pgspec.errors import PgspecError
from pgspec.normalize.types import canonical_type
from pgspec.quoting import qualified, quote
from pgspec.sources.elements import parse_index_element
from pgspec.spec import models as m
from pgspec.spec import names, sqlcheck
from pgspec.spec.build_state import BuildState, long_form
from pgspec.spec.build_types import build_composite, build_domain, build_enum, build_sequence
from pgspec.spec.build_views import build_matview, build_view
from pgspec.spec.positions import Pos

#: ``parse_index_element`` remembered by text: an IndexKey is immutable, and index keys repeat
#: (``account_id``, ``created_at DESC``) across tables.
_index_element = lru_cache(maxsize=4096)(parse_index_element)


class Builder(BuildState):
    """Builds every file of a spec into one BuildState: ``build_file`` once per file, then
    validate.run_checks for what needs them all."""

    # ---------------------------------------------------------------- one file

    def build_file(self, spec: m.FileIn, root: Pos) -> None:
        schema = spec.schema_name
        self._schemas(spec, root)
        self._extensions(spec, root)
        self._externals(spec, root, schema)
        for name, value in spec.enums.items():
            build_enum(self, schema, name, value, root.at("enums", name))
        for name, value in spec.domains.items():
            build_domain(self, schema, name, value, root.at("domains", name))
        for name, value in spec.composite_types.items():
            build_composite(self, schema, name, value, root.at("composite_types", name))
        for name, value in spec.sequences.items():
            build_sequence(self, schema, name, value, root.at("sequences", name))
        for name, value in spec.tables.items():
            self._table(schema, name, value, root.at("tables", name))
        for name, value in spec.views.items():
            build_view(self, schema, name, value, root.at("views", name))
        for name, value in spec.materialized_views.items():
            build_matview(self, schema, name, value, root.at("materialized_views", name))
        for section, builder in (
            ("indexes", self._index),
            ("triggers", self._trigger),
            ("policies", self._policy),
        ):
            for name, value in getattr(spec, section).items():
                pos = root.at(section, name)
                if value.table is None:
                    self.problem(pos, f"missing required key 'table' in {section[:-1] if section != 'policies' else 'policy'} {name!r}")
                    continue
                try:
                    tschema, tname = names.parse_qualified_name(value.table, schema)
                except PgspecError as exc:
                    self.problem(pos.child("table"), exc.problem.message)
                    continue
                builder(tschema, tname, name, value, pos, schema)
        for kind, section in (("function", spec.functions), ("procedure", spec.procedures)):
            for name, value in section.items():
                pos = root.at(f"{kind}s", name)
                if isinstance(value, list):
                    for i, overload in enumerate(value):
                        self._routine(kind, schema, name, overload, pos.child(i))
                else:
                    self._routine(kind, schema, name, value, pos)
        for name, value in spec.aggregates.items():
            pos = root.at("aggregates", name)
            for i, overload in enumerate(value) if isinstance(value, list) else [(None, value)]:
                self._aggregate(schema, name, overload, pos if i is None else pos.child(i))

    def _schemas(self, spec: m.FileIn, root: Pos) -> None:
        section = spec.schemas
        items = {n: None for n in section} if isinstance(section, list) else section
        for i, (name, value) in enumerate(items.items()):
            pos = root.at("schemas", i if isinstance(section, list) else name)
            comment = value.comment if value else None
            self.add("schema", Schema(name=name, comment=comment, location=pos.location), pos)

    def _extensions(self, spec: m.FileIn, root: Pos) -> None:
        section = spec.extensions
        items = {n: None for n in section} if isinstance(section, list) else section
        for i, (name, value) in enumerate(items.items()):
            pos = root.at("extensions", i if isinstance(section, list) else name)
            value = value or long_form(m.ExtensionIn)
            obj = Extension(
                name=name,
                schema=value.schema_name,
                version=value.version,
                comment=value.comment,
                location=pos.location,
            )
            self.add("extension", obj, pos)

    def _externals(self, spec: m.FileIn, root: Pos, schema: str) -> None:
        ext = spec.external
        for name in ext.schemas:
            self.externals.add(qualified(name))
        for i, text in enumerate(ext.tables):
            pos = root.at("external", "tables", i)
            try:
                self.externals.add(qualified(*names.parse_qualified_name(text, schema)))
            except PgspecError as exc:
                self.problem(pos, exc.problem.message)
        for i, text in enumerate(ext.functions):
            pos = root.at("external", "functions", i)
            try:
                fschema, fname, types = names.parse_function_name(text, schema)
            except PgspecError as exc:
                self.problem(pos, exc.problem.message)
                continue
            if types is None:
                self.problem(pos, f"external function {text!r} needs its argument types, e.g. {text + '()'!r}")
                continue
            self.externals.add(names.function_key(fschema, fname, types))
        for i, text in enumerate(ext.types):
            pos = root.at("external", "types", i)
            try:
                canonical = canonical_type(text, schema)
            except PgspecError as exc:
                self.problem(pos, exc.problem.message)
                continue
            self.externals.add(names.user_type_key(canonical) or canonical)

    def _relation_name(self, text: str | None, schema: str, pos: Pos) -> str | None:
        """A parent table written as SQL (``events`` or ``app.events``) as its catalog key."""
        if text is None:
            return None
        try:
            return qualified(*names.parse_qualified_name(text, schema))
        except PgspecError as exc:
            self.problem(pos, exc.problem.message)
            return None

    # ---------------------------------------------------------------- tables

    def _table(self, schema: str, name: str, spec: m.TableIn, pos: Pos) -> None:
        self.claim(self.relations, schema, name, "table", pos, "relation")
        self.claim(self.type_names, schema, name, "table", pos, "type")
        constraints: list[tuple[Constraint, Pos]] = []
        columns: list[Column] = []
        pk_columns: list[str] = []
        pk_pos: Pos | None = None
        for cname, value in spec.columns.items():
            cpos = pos.at("columns", cname)
            col = value if isinstance(value, m.ColumnIn) else long_form(m.ColumnIn, type=value)
            built = self._column(schema, name, cname, col, cpos, isinstance(value, m.ColumnIn), constraints)
            if built is None:
                continue
            columns.append(built)
            if col.primary_key:
                if pk_pos is not None:
                    self.problem(cpos.child("primary_key"), f"table {name!r} has more than one primary_key column; use primary_key: [a, b]")
                    continue
                pk_columns.append(cname)
                pk_pos = cpos.child("primary_key")
        have = {c.name for c in columns} | {c for c in spec.columns}

        def known(cols: list[str], where: Pos, what: str) -> bool:
            missing = [c for c in cols if c not in have]
            if missing:
                self.problem(where, f"{what} names column {missing[0]!r}, which table {name!r} does not have")
            return not missing

        pk = spec.primary_key
        if pk is not None:
            ppos = pos.child("primary_key")
            if pk_pos is not None:
                self.problem(ppos, f"table {name!r} declares its primary key twice (also at line {pk_pos.line})")
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
            if self.sql_ok(lambda e=kin.expression: sqlcheck.check_expression(e, "check"), kpos):
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
                ref = self.reference(target.table, schema, tpos)
                ref_columns = target.columns
            else:
                ref = self.reference(target, schema, tpos)
                ref_columns = ref.columns if ref else None
            if ref is None:
                continue
            constraints.append(
                (
                    Constraint(
                        schema=schema,
                        table=name,
                        name=fname,
                        kind="foreign_key",
                        columns=fk.columns,
                        references=qualified(ref.schema, ref.table),
                        references_columns=list(ref_columns or []),
                        on_delete=fk.on_delete,
                        on_update=fk.on_update,
                        match=fk.match,
                        deferrable=fk.deferrable,
                        initially_deferred=fk.initially_deferred,
                        comment=fk.comment,
                        location=fpos.location,
                    ),
                    tpos,
                )
            )
        for xname, value in spec.exclude.items():
            xpos = pos.at("exclude", xname)
            xin = value if isinstance(value, m.ExcludeIn) else long_form(m.ExcludeIn, definition=value)
            if self.sql_ok(lambda d=xin.definition: sqlcheck.check_definition(d), xpos):
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
            self.sql_ok(lambda: sqlcheck.check_partition_by(spec.partition_by), pos.child("partition_by"))
        rls = spec.rls if isinstance(spec.rls, m.RlsIn) else long_form(m.RlsIn, enabled=spec.rls)
        table = Table(
            schema=schema,
            name=name,
            columns=columns,
            rls_enabled=rls.enabled,
            rls_forced=rls.forced,
            unlogged=spec.unlogged,
            partition_by=spec.partition_by,
            partition_of=self._relation_name(spec.partition_of, schema, pos.child("partition_of")),
            partition_bound=spec.partition_bound,
            inherits=[n for i, p in enumerate(spec.inherits)
                      if (n := self._relation_name(p, schema, pos.at("inherits", i))) is not None],
            comment=spec.comment,
            location=pos.location,
        )
        if (spec.partition_of is None) != (spec.partition_bound is None):
            self.problem(pos, f"table {name!r} needs both partition_of and partition_bound")
        if not self.add("table", table, pos):
            return
        for con, cpos in constraints:
            self._add_constraint(con, cpos)
        for section, builder in (
            ("indexes", self._index),
            ("triggers", self._trigger),
            ("policies", self._policy),
        ):
            for oname, value in getattr(spec, section).items():
                opos = pos.at(section, oname)
                if value.table is not None:
                    self.problem(opos.child("table"), f"'table' is implied inside table {name!r}; remove it")
                    continue
                builder(schema, name, oname, value, opos, schema)

    def _add_constraint(self, con: Constraint, pos: Pos) -> None:
        if con.kind in ("primary_key", "unique"):
            # Their indexes carry the constraint's name, in the relation namespace.
            self.claim(self.relations, con.schema_name, con.name, "index", pos, "relation")
        if self.add("constraint", con, pos) and con.kind == "foreign_key":
            self.later.append(lambda: self._finish_foreign_key(con.key, pos))

    def _finish_foreign_key(self, key: str, pos: Pos) -> None:
        """Resolve a foreign key's target once every file is read (it may live in another)."""
        con: Constraint = self.objects["constraints"][key]
        target = self.objects["tables"].get(con.references)
        if target is None:
            if con.references not in self.externals:
                self.problem(pos, f"foreign key {con.name!r} references unknown table {con.references!r}")
            elif not con.references_columns:
                self.problem(pos, f"foreign key {con.name!r} must name the columns of external table {con.references!r}")
            return
        ref_columns = con.references_columns
        if not ref_columns:
            pk = [
                c
                for c in self.objects["constraints"].values()
                if c.kind == "primary_key" and c.table_key == target.key
            ]
            if not pk:
                self.problem(pos, f"foreign key {con.name!r}: table {target.key!r} has no primary key; name the columns")
                return
            ref_columns = pk[0].columns
            self.objects["constraints"][key] = con.model_copy(update={"references_columns": ref_columns})
        missing = [c for c in ref_columns if target.column(c) is None]
        if missing:
            self.problem(pos, f"foreign key {con.name!r} references column {missing[0]!r}, which table {target.key!r} does not have")
        elif len(ref_columns) != len(con.columns):
            self.problem(pos, f"foreign key {con.name!r} has {len(con.columns)} columns but references {len(ref_columns)}")

    def _column(
        self,
        schema: str,
        table: str,
        name: str,
        spec: m.ColumnIn,
        pos: Pos,
        is_mapping: bool,
        constraints: list[tuple[Constraint, Pos]],
    ) -> Column | None:
        tpos = pos.child("type") if is_mapping else pos
        default = spec.default
        not_null = spec.not_null
        serial = names.serial_base(spec.type)
        if serial is not None:
            ctype: str | None = serial
            if default is not None or spec.identity or spec.generated:
                self.problem(pos, f"serial column {name!r} cannot have a default, identity or generated expression")
                return None
            # What PostgreSQL does for serial (transformColumnDefinition): NOT NULL, a sequence of
            # the same integer type owned by the column, and nextval of it as the default.
            seq = naming.sequence_name(table, name)
            from psycopg import sql  # only here: a spec read offline need not load psycopg

            literal = sql.Literal(qualified(schema, seq)).as_string(None)
            default = f"nextval({literal}::regclass)"
            not_null = True
            self.claim(self.relations, schema, seq, "sequence", pos, "relation")
            self.add(
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
            ctype = self.type_of(spec.type, schema, tpos)
        if default is not None and serial is None:
            self.sql_ok(lambda: sqlcheck.check_expression(default, "default"), pos.child("default"))
        if spec.generated is not None:
            self.sql_ok(lambda: sqlcheck.check_expression(spec.generated, "generated"), pos.child("generated"))
        if spec.identity and (default is not None or spec.generated):
            self.problem(pos, f"identity column {name!r} cannot also have a default or generated expression")
        if spec.generated and default is not None:
            self.problem(pos, f"generated column {name!r} cannot also have a default")
        if spec.identity:
            not_null = True  # PostgreSQL makes identity columns NOT NULL
        if spec.check is not None:
            kpos = pos.child("check")
            try:
                referenced = sqlcheck.expression_columns(spec.check)
            except PgspecError as exc:
                self.problem(kpos, exc.problem.message)
            else:
                cname = self._free_name(naming.check_name(table, referenced), table, schema, constraints)
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
                ref = self.reference(ref_in.table, schema, rpos.child("table"))
                options = ref_in
                ref_columns = ref_in.columns
            else:
                ref = self.reference(ref_in, schema, rpos)
                options = long_form(m.ReferenceIn, table="-")
                ref_columns = ref.columns if ref else None
            if ref is not None:
                constraints.append(
                    (
                        Constraint(
                            schema=schema,
                            table=table,
                            name=options.name or naming.foreign_key_name(table, [name]),
                            kind="foreign_key",
                            columns=[name],
                            references=qualified(ref.schema, ref.table),
                            references_columns=list(ref_columns or []),
                            on_delete=options.on_delete,
                            on_update=options.on_update,
                            match=options.match,
                            deferrable=options.deferrable,
                            initially_deferred=options.initially_deferred,
                            comment=options.comment,
                            location=rpos.location,
                        ),
                        rpos,
                    )
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

    def _free_name(self, name: str, table: str, schema: str, constraints: list[tuple[Constraint, Pos]]) -> str:
        """PostgreSQL appends 1, 2, ... to a generated name already taken on the table."""
        taken = {c.name for c, _ in constraints}
        if name not in taken:
            return name
        base = name.removesuffix("_check")
        n = 1
        while f"{base}_check{n}" in taken:
            n += 1
        return f"{base}_check{n}"

    # ---------------------------------------------------------------- table children

    def _index(self, tschema: str, table: str, name: str, spec: m.IndexIn, pos: Pos, file_schema: str) -> None:
        keys: list[IndexKey] = []
        for i, elem in enumerate(spec.columns):
            epos = pos.at("columns", i)
            try:
                keys.append(self._index_key(elem))
            except PgspecError as exc:
                self.problem(epos, exc.problem.message)
        if spec.where is not None:
            self.sql_ok(lambda: sqlcheck.check_expression(spec.where, "where"), pos.child("where"))
        if len(keys) != len(spec.columns):
            return
        self.claim(self.relations, tschema, name, "index", pos, "relation")
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
        if self.add("index", obj, pos):
            cols = [k.column for k in keys if k.column] + list(spec.include)
            self.later.append(lambda: self._check_target(tschema, table, pos, f"index {name!r}", cols, relations=True))

    def _index_key(self, elem: Any) -> IndexKey:
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
        self, schema: str, table: str, pos: Pos, what: str, columns: list[str], *, relations: bool = False
    ) -> None:
        """The table an index, trigger or policy is on exists, and has the columns it names."""
        key = qualified(schema, table)
        found = self.objects["tables"].get(key)
        if found is not None:
            missing = [c for c in columns if found.column(c) is None]
            if missing:
                hint = ""
                if any(c.name.lower() == missing[0] for c in found.columns):
                    hint = " (index elements are SQL: double-quote a mixed-case name)"
                self.problem(
                    pos, f"{what} names column {missing[0]!r}, which table {key!r} does not have{hint}", at_object=True
                )
            return
        others = [self.objects["materialized_views"].get(key), self.objects["views"].get(key)]
        if (relations and any(others)) or key in self.externals:
            return
        if not relations and self.objects["views"].get(key) is not None:
            return
        self.problem(pos, f"{what} is on unknown table {key!r}", at_object=True)

    def _trigger(self, tschema: str, table: str, name: str, spec: m.TriggerIn, pos: Pos, file_schema: str) -> None:
        try:
            fschema, fname, fargs = names.parse_function_name(spec.function, file_schema)
        except PgspecError as exc:
            self.problem(pos.child("function"), exc.problem.message)
            return
        if fargs:
            self.problem(pos.child("function"), f"a trigger function takes no declared arguments, got {spec.function!r}")
            return
        if spec.when is not None:
            self.sql_ok(lambda: sqlcheck.check_expression(spec.when, "when"), pos.child("when"))
        if spec.update_of and "update" not in spec.events:
            self.problem(pos.child("update_of"), "update_of needs 'update' among the events")
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
        if self.add("trigger", obj, pos):
            self.later.append(lambda: self._check_target(tschema, table, pos, f"trigger {name!r}", spec.update_of))
            self.later.append(lambda: self._check_trigger_function(fschema, fname, pos.child("function"), name))

    def _check_trigger_function(self, schema: str, name: str, pos: Pos, trigger: str) -> None:
        candidates = [
            f for f in self.objects["functions"].values() if f.schema_name == schema and f.name == name
        ]
        prefix = qualified(schema, name) + "("
        if not candidates:
            if not any(k.startswith(prefix) for k in self.externals):
                self.problem(pos, f"unknown trigger function {qualified(schema, name)!r}")
            return
        if not any(f.returns == "trigger" and not f.identity_arguments for f in candidates):
            self.problem(pos, f"trigger function {qualified(schema, name)!r} does not return trigger")

    def _policy(self, tschema: str, table: str, name: str, spec: m.PolicyIn, pos: Pos, file_schema: str) -> None:
        for field in ("using", "with_check"):
            text = getattr(spec, field)
            if text is not None:
                self.sql_ok(lambda t=text, f=field: sqlcheck.check_expression(t, f), pos.child(field))
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
        if self.add("policy", obj, pos):
            self.later.append(lambda: self._check_target(tschema, table, pos, f"policy {name!r}", []))

    # ---------------------------------------------------------------- routines

    def _argument(self, value: Any, schema: str, apos: Pos) -> Argument | None:
        """One routine or aggregate argument, written as SQL text (``"p_days integer DEFAULT
        90"``) or as a mapping; None when it is wrong (the problem is recorded at ``apos``)."""
        if isinstance(value, str):
            try:
                arg = names.parse_argument(value, schema)
            except PgspecError as exc:
                self.problem(apos, exc.problem.message)
                return None
            key = names.user_type_key(arg.type)
            if key:
                self.used_types.append((key, apos))
            return arg
        atype = self.type_of(value.type, schema, apos.child("type"))
        if atype is None:
            return None
        return Argument(name=value.name, type=atype, mode=value.mode, default=value.default)

    def _routine(self, kind: str, schema: str, name: str, spec: Any, pos: Pos) -> None:
        arguments: list[Argument] = []
        ok = True
        for i, value in enumerate(spec.arguments):
            apos = pos.at("arguments", i)
            arg = self._argument(value, schema, apos)
            if arg is None:
                ok = False
                continue
            if not isinstance(value, str) and value.default is not None and not self.sql_ok(
                lambda d=value.default: sqlcheck.check_expression(d, "default"), apos.child("default")
            ):
                ok = False
            arguments.append(arg)
        returns: str | None = None
        returns_set = False
        if kind == "function":
            rpos = pos.child("returns")
            outs = [a for a in arguments if a.mode in ("out", "inout")]
            if isinstance(spec.returns, m.ReturnsTableIn):
                if outs:
                    self.problem(rpos, "a function returning a table cannot also have OUT arguments")
                    ok = False
                for cname, ctext in spec.returns.table.items():
                    ctype = self.type_of(ctext, schema, rpos.at("table", cname))
                    if ctype is None:
                        ok = False
                        continue
                    arguments.append(Argument(name=cname, type=ctype, mode="table"))
                returns, returns_set = "record", True
            elif spec.returns is not None:
                rtype = self.type_of(spec.returns, schema, rpos)
                if rtype is None:
                    ok = False
                elif rtype.startswith("SETOF "):
                    returns, returns_set = rtype.removeprefix("SETOF "), True
                else:
                    returns = rtype
            elif len(outs) == 1:
                returns = outs[0].type
            elif outs:
                returns = "record"
            else:
                returns = "void"
        body = spec.body.strip()
        if ok:
            self.sql_ok(
                lambda: sqlcheck.check_body(
                    body, spec.language, name=name, arguments=arguments, returns=returns, returns_set=returns_set
                ),
                pos.child("body"),
            )
        if not ok:
            return
        config = {k: ", ".join(v) if isinstance(v, list) else v for k, v in spec.set.items()}
        fields: dict[str, Any] = {}
        if kind == "function":
            fields = dict(
                volatility=spec.volatility, strict=spec.strict, leakproof=spec.leakproof, parallel=spec.parallel
            )
        obj = Function(
            schema=schema,
            name=name,
            kind_of_object=kind,
            arguments=arguments,
            returns=returns,
            returns_set=returns_set,
            language=spec.language,
            body=body,
            security_definer=spec.security_definer,
            config=config,
            comment=spec.comment,
            location=pos.location,
            **fields,
        )
        self.add(kind, obj, pos)

    # ---------------------------------------------------------------- aggregates

    def _aggregate_arguments(self, values: list[Any], schema: str, pos: Pos) -> list[Argument] | None:
        arguments: list[Argument] = []
        for i, value in enumerate(values):
            apos = pos.at(i)
            arg = self._argument(value, schema, apos)
            if arg is None:
                return None
            if arg.mode not in ("in", "variadic") or arg.default is not None:
                self.problem(apos, "an aggregate argument is an (optionally VARIADIC) type with no default")
                return None
            arguments.append(arg)
        return arguments

    def _aggregate(self, schema: str, name: str, spec: m.AggregateIn, pos: Pos) -> None:
        arguments = self._aggregate_arguments(spec.arguments, schema, pos.child("arguments"))
        ordered: list[Argument] | None = []
        if spec.order_by is not None:
            ordered = self._aggregate_arguments(spec.order_by, schema, pos.child("order_by"))
        if arguments is None or ordered is None:
            return
        kind = "normal"
        direct = 0
        if spec.order_by is not None:
            kind = "hypothetical" if spec.hypothetical else "ordered_set"
            direct = len(arguments)
            if arguments and arguments[-1].mode == "variadic":
                # The server keeps one VARIADIC argument for "VARIADIC x ORDER BY VARIADIC x".
                if len(ordered) != 1 or ordered[0].mode != "variadic" or ordered[0].type != arguments[-1].type:
                    self.problem(pos.child("order_by"), "with a VARIADIC direct argument, order_by must be one VARIADIC argument of the same type")
                    return
                ordered = []
            elif not ordered:
                self.problem(pos.child("order_by"), "order_by needs at least one argument")
                return
        elif spec.hypothetical:
            self.problem(pos.child("hypothetical"), "a hypothetical aggregate needs order_by")
            return
        refs: dict[str, tuple[str | None, str]] = {}
        for field in ("sfunc", "finalfunc", "combinefunc", "serialfunc", "deserialfunc", "msfunc",
                      "minvfunc", "mfinalfunc"):
            text = getattr(spec, field)
            if text is None:
                continue
            try:
                fschema, fname, fargs = names.parse_function_name(text, "")
            except PgspecError as exc:
                self.problem(pos.child(field), exc.problem.message)
                return
            if fargs is not None:
                self.problem(pos.child(field), f"{field} is a function name without arguments, got {text!r}")
                return
            refs[field] = (fschema or None, fname)
        stype = self.type_of(spec.stype, schema, pos.child("stype"))
        mstype = self.type_of(spec.mstype, schema, pos.child("mstype")) if spec.mstype is not None else None
        if stype is None or (spec.mstype is not None and mstype is None):
            return
        default_modify = "read_only" if kind == "normal" else "read_write"
        sortop = None
        if spec.sortop is not None:
            sortop = self._sortop(spec.sortop, pos.child("sortop"))
            if sortop is None:
                return
        obj = Aggregate(
            schema=schema,
            name=name,
            arguments=arguments + ordered,
            kind=kind,
            direct_arguments=direct,
            sfunc=qualified(refs["sfunc"][1]),
            stype=stype,
            sspace=spec.sspace,
            finalfunc_extra=spec.finalfunc_extra,
            finalfunc_modify=spec.finalfunc_modify or default_modify,
            initcond=spec.initcond,
            mstype=mstype,
            msspace=spec.msspace,
            mfinalfunc_extra=spec.mfinalfunc_extra,
            mfinalfunc_modify=spec.mfinalfunc_modify or default_modify,
            minitcond=spec.minitcond,
            sortop=sortop,
            parallel=spec.parallel,
            comment=spec.comment,
            location=pos.location,
        )
        if self.add("aggregate", obj, pos):
            self.later.append(lambda: self._resolve_aggregate(obj.key, schema, refs, pos))

    def _sortop(self, text: str, pos: Pos) -> str | None:
        """``>`` or ``schema.op`` (or ``OPERATOR(schema.op)``) as the catalog spells a sort
        operator: bare for pg_catalog's."""
        import pglast

        source = text.strip()
        if "." in source and not source.upper().startswith("OPERATOR"):
            source = f"OPERATOR({source})"
        try:
            stmts = pglast.parse_sql(f"CREATE AGGREGATE a(int) (SFUNC = f, STYPE = int, SORTOP = {source})")
            (option,) = [o for o in stmts[0].stmt.definition if o.defname == "sortop"]
            parts = [n.sval for n in option.arg]
            if len(stmts) != 1 or not 1 <= len(parts) <= 2:
                raise ValueError
        except (pglast.parser.ParseError, AttributeError, TypeError, ValueError):
            self.problem(pos, f"invalid sort operator {text!r}")
            return None
        if len(parts) == 2 and parts[0] != "pg_catalog":
            return f"{quote(parts[0])}.{parts[1]}"
        return parts[-1]

    def _resolve_aggregate(self, key: str, schema: str, refs: dict[str, tuple[str | None, str]], pos: Pos) -> None:
        """Support functions once every file is read: an unqualified name is the file schema's
        function of that name when the spec (or its externals) has one, else a built-in."""
        resolved: dict[str, str] = {}
        for field, (fschema, fname) in refs.items():
            target = fschema
            if target is None:
                key_prefix = qualified(schema, fname)
                mine = any(f.schema_name == schema and f.name == fname for f in self.objects["functions"].values())
                target = schema if mine or any(k.startswith(key_prefix + "(") for k in self.externals) else "pg_catalog"
            elif target != "pg_catalog":
                prefix = qualified(target, fname) + "("
                if not any(f.schema_name == target and f.name == fname for f in self.objects["functions"].values()) and not any(
                        k.startswith(prefix) for k in self.externals):
                    self.problem(pos.child(field), f"unknown function {qualified(target, fname)!r} (declare it, or list it under external: functions)")
            resolved[field] = qualified(fname) if target == "pg_catalog" else qualified(target, fname)
        agg = self.objects["aggregates"][key]
        self.objects["aggregates"][key] = agg.model_copy(update=resolved)
