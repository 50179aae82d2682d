"""Validated spec models -> Catalog objects, with PostgreSQL's implicit behaviour made explicit.

What the server would do on its own, the builder does here so a spec compares equal to the
database it describes: unnamed constraints get the server's names, serial columns become an
integer column, a sequence and a ``nextval`` default, primary key columns become NOT NULL.
Problems are collected, never raised one at a time; checks that need the whole spec (does the
referenced table exist in another file?) are queued and run by validate.py at the end.

This module walks one file, section by section, in the order its problems are reported, and
builds the file-level objects (schemas, extensions, externals) itself; each family of objects
has a module of its own, all recording into one BuildState (build_state):

* build_collations: collations (and the collation names other objects use)
* build_types: enums, domains, composite types, sequences
* build_tables: tables and their constraints; build_columns: one column and its shorthands
* build_table_children: indexes, triggers, policies
* build_views: views, materialized views
* build_routines: functions, procedures; build_aggregates: aggregates
"""

from __future__ import annotations

from typing import Any

from pgspec.catalog import Extension, Schema
from pgspec.errors import PgspecError
from pgspec.normalize.types import canonical_type
from pgspec.quoting import qualified
from pgspec.spec import models as m
from pgspec.spec import names
from pgspec.spec.build_aggregates import build_aggregate
from pgspec.spec.build_collations import build_collation, resolve_collation_names
from pgspec.spec.build_routines import RoutineKind, build_routine
from pgspec.spec.build_state import BuildState, long_form
from pgspec.spec.build_table_children import CHILD_BUILDERS
from pgspec.spec.build_tables import build_table
from pgspec.spec.build_types import build_composite, build_domain, build_enum, build_sequence
from pgspec.spec.build_views import build_matview, build_view
from pgspec.spec.positions import Pos


class Builder(BuildState):
    """Builds every file of a spec into one BuildState: ``build_file`` once per file, then
    validate.run_checks for what needs them all."""

    def build_file(self, spec: m.FileIn, root: Pos) -> None:
        schema = spec.schema_name
        self._schemas(spec, root)
        self._extensions(spec, root)
        self._externals(spec, root, schema)
        for name, value in spec.collations.items():
            build_collation(self, schema, name, value, root.at("collations", name))
        if spec.collations:
            # Once every file is built: a column may name a collation another file declares.
            self.later.append(lambda: resolve_collation_names(self))
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
        routines: tuple[tuple[RoutineKind, dict[str, Any]], ...] = (
            ("function", spec.functions), ("procedure", spec.procedures))
        for kind, entries in routines:
            for name, value in entries.items():
                pos = root.at(f"{kind}s", name)
                if isinstance(value, list):
                    for i, overload in enumerate(value):
                        build_routine(self, kind, schema, name, overload, pos.child(i))
                else:
                    build_routine(self, kind, schema, name, value, pos)
        for name, value in spec.aggregates.items():
            pos = root.at("aggregates", name)
            if isinstance(value, list):
                for i, overload in enumerate(value):
                    build_aggregate(self, schema, name, overload, pos.child(i))
            else:
                build_aggregate(self, schema, name, value, pos)

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
                comment_known=value.comment is not None,
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
