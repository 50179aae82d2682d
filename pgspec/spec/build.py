"""Validated spec models -> Catalog objects, with PostgreSQL's implicit behaviour made explicit.

What the server would do on its own, the builder does here so a spec compares equal to the
database it describes: unnamed constraints get the server's names, serial columns become an
integer column, a sequence and a ``nextval`` default, primary key columns become NOT NULL.
Problems are collected, never raised one at a time; checks that need the whole spec (does the
referenced table exist in another file?) are queued and run by validate.py at the end.
"""

from __future__ import annotations

from typing import Any

from pgspec.catalog import (
    Aggregate,
    Argument,
    Extension,
    Function,
    Schema,
)
from pgspec.errors import PgspecError
from pgspec.normalize.types import canonical_type
from pgspec.quoting import qualified, quote
from pgspec.spec import models as m
from pgspec.spec import names, sqlcheck
from pgspec.spec.build_state import BuildState, long_form
from pgspec.spec.build_table_children import CHILD_BUILDERS
from pgspec.spec.build_tables import build_table
from pgspec.spec.build_types import build_composite, build_domain, build_enum, build_sequence
from pgspec.spec.build_views import build_matview, build_view
from pgspec.spec.positions import Pos


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
            build_table(self, schema, name, value, root.at("tables", name))
        for name, value in spec.views.items():
            build_view(self, schema, name, value, root.at("views", name))
        for name, value in spec.materialized_views.items():
            build_matview(self, schema, name, value, root.at("materialized_views", name))
        for section, builder in CHILD_BUILDERS:
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
                builder(self, tschema, tname, name, value, pos, schema)
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
