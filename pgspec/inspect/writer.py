"""Catalog -> the YAML data of a spec, in the shapes people write by hand.

Every object becomes the shortest spec entry that the loader builds back into the same
object: a column with only a type is ``name: type``; a single-column primary key, unique
constraint, foreign key or CHECK named the way PostgreSQL names it sits on its column; a serial
column is ``serial`` again; defaults and expressions lose the casts the server added
(``shorten``). What the spec format cannot say (inheritance, disabled triggers...) is returned
as notes, never dropped silently.

This module lays out the files (one per schema, a schema's tables in groups past GROUP_SIZE),
walks the catalog kind by kind in the order the entries are written, and writes the file-level
parts itself (schemas, the shared file's extensions, externals and privileges); each family of
objects has a module of its own, all recording into one WriteState (write_state):

* write_collations: collations
* write_types: enums, domains, composite types, sequences (and which are ``serial``)
* write_tables: tables, their columns and constraints
* write_table_children: indexes, triggers, policies, on a table or at the top level
* write_views: views, materialized views
* write_routines: functions, procedures; write_aggregates: aggregates
"""

from __future__ import annotations

import re
from typing import Any

from pgspec.catalog import Catalog
from pgspec.errors import PgspecError
from pgspec.inspect.write_aggregates import write_aggregates
from pgspec.inspect.write_collations import write_collation
from pgspec.inspect.write_routines import write_routines
from pgspec.inspect.write_state import SpecFile, WriteState, Written, qualified_name, sorted_objects
from pgspec.inspect.write_table_children import write_orphans
from pgspec.inspect.write_tables import write_table
from pgspec.inspect.write_types import find_serials, write_composite, write_domain, write_enum, write_sequence
from pgspec.inspect.write_views import write_matview, write_view
from pgspec.inspect.yamlout import Flow, FlowList
from pgspec.quoting import qualified

__all__ = ["GROUP_SIZE", "SHARED_FILE", "SpecFile", "Writer", "Written"]

#: Above this many tables a schema's tables are written in groups, one file per group.
GROUP_SIZE = 40

#: The file holding extensions, external objects and traits (sorted first).
SHARED_FILE = "00_shared.yaml"

#: Catalog attribute and grant target of every kind that file-level grants of a class cover
#: (functions, procedures and aggregates are added by kind of object).
_GRANT_CLASSES = (
    ("tables", "table"), ("views", "view"), ("materialized_views", "materialized_view"),
    ("sequences", "sequence"), ("enums", "type"), ("domains", "type"), ("composite_types", "type"),
)

_SECTION_ORDER = (
    "schema", "schemas", "extensions", "external", "privileges", "default_privileges", "grants", "traits", "collations", "enums", "domains", "composite_types",
    "sequences", "tables", "views", "materialized_views", "indexes", "triggers", "policies",
    "functions", "procedures", "aggregates",
)


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "_"


class Writer(WriteState):
    """Builds the files of one catalog (one instance per ``write`` call)."""

    def __init__(self, catalog: Catalog, *, group_size: int = GROUP_SIZE) -> None:
        super().__init__(catalog)
        self.group_size = group_size
        #: schema -> its file-level ``grants:`` (worked out before any entry is written).
        self.class_grants: dict[str, dict[str, Any]] = {}

    # ---------------------------------------------------------------- layout

    def _new_file(self, stem: str, schema: str) -> SpecFile:
        name = f"{_file_stem(stem)}.yaml"
        n = 2
        while name in self.files or name == SHARED_FILE:
            name = f"{_file_stem(stem)}_{n}.yaml"
            n += 1
        spec = SpecFile(name, schema, {"schema": schema})
        self.files[name] = spec
        return spec

    def _layout(self) -> None:
        schemas = sorted(self.catalog.schema_names() - {""})
        for schema in schemas:
            self.schema_file[schema] = self._new_file(schema, schema)
            tables = sorted(
                (t for t in self.catalog.tables.values() if t.schema_name == schema),
                key=lambda t: t.name,
            )
            if len(tables) <= self.group_size:
                for table in tables:
                    self.table_file[table.key] = self.schema_file[schema]
                continue
            for start in range(0, len(tables), self.group_size):
                group = tables[start : start + self.group_size]
                spec = self._new_file(f"{schema}.tables_{start // self.group_size + 1:02d}", schema)
                for table in group:
                    self.table_file[table.key] = spec

    # ---------------------------------------------------------------- the whole catalog

    def write(self) -> Written:
        self._layout()
        find_serials(self)
        # The file-level grants first: working them out decides which objects (overloads of one
        # name whose grants differ) state their grants on their own entry, written below.
        self.class_grants = {schema: self.priv.class_grants(schema, self._grant_members(schema))
                             for schema in self.schema_file}
        catalog = self.catalog
        for schema in catalog.schemas.values():
            spec = self.schema_file[schema.name]
            value = ({"comment": schema.comment} if schema.comment else {}) | self.priv.extras(
                "schema", qualified(schema.name), schema.name)
            spec.section("schemas")[schema.name] = Flow(value) if value else None
        for coll in sorted_objects(catalog.collations):
            write_collation(self, coll)
        for enum in sorted_objects(catalog.enums):
            write_enum(self, enum)
        for domain in sorted_objects(catalog.domains):
            write_domain(self, domain)
        for comp in sorted_objects(catalog.composite_types):
            write_composite(self, comp)
        for seq in sorted_objects(catalog.sequences):
            write_sequence(self, seq)
        for table in sorted_objects(catalog.tables):
            write_table(self, table)
        for view in sorted_objects(catalog.views):
            write_view(self, view)
        for mview in sorted_objects(catalog.materialized_views):
            write_matview(self, mview)
        write_routines(self)
        write_aggregates(self)
        write_orphans(self)
        self._shared()
        for spec in self.files.values():
            _order_sections(spec)
        return Written(self.files, self.tables, [*self.notes, *self.priv.notes])

    def _shared(self) -> None:
        data: dict[str, Any] = {}
        extensions: dict[str, Any] = {}
        for ext in sorted_objects(self.catalog.extensions):
            entry: dict[str, Any] = {}
            if ext.schema_name:
                entry["schema"] = ext.schema_name
            if ext.version:
                # Pinned: the same extension at another version is another schema.
                entry["version"] = ext.version
            if ext.comment:
                entry["comment"] = ext.comment
            extensions[ext.name] = Flow(entry) if entry else None
        if extensions:
            data["extensions"] = extensions
        known_schemas = self.catalog.schema_names()
        external: dict[str, Any] = {}
        ext_schemas = set()
        for key in self.external_tables | self.external_types | self.external_functions:
            schema = _schema_of(key)
            if schema and schema not in known_schemas:
                ext_schemas.add(schema)
        if ext_schemas:
            external["schemas"] = FlowList(sorted(ext_schemas))
        if self.external_tables:
            external["tables"] = FlowList(sorted(self.external_tables))
        if self.external_functions:
            external["functions"] = FlowList(sorted(self.external_functions))
        if self.external_types:
            external["types"] = FlowList(sorted(self.external_types))
        if external:
            data["external"] = external
        for schema, spec in self.schema_file.items():
            grants = self.class_grants[schema]
            if grants:
                spec.data["grants"] = grants
        settings = self.priv.settings()
        if settings is not None:
            data["privileges"] = settings
            defaults = self.priv.default_privileges()
            if defaults:
                data["default_privileges"] = defaults
        if data:
            self.files[SHARED_FILE] = SpecFile(SHARED_FILE, "public", data)

    def _grant_members(self, schema: str) -> list[tuple[str, str, str]]:
        """(kind, key, name) of every object of a schema that holds grants of a class."""
        c = self.catalog
        found: list[tuple[str, str, str]] = []
        for attr, on in _GRANT_CLASSES:
            found += [(on, o.key, o.name) for o in getattr(c, attr).values() if o.schema_name == schema]
        found += [(f.kind_of_object, f.key, f.name) for f in c.functions.values() if f.schema_name == schema]
        found += [("aggregate", a.key, a.name) for a in c.aggregates.values() if a.schema_name == schema]
        return found


def _schema_of(key: str) -> str | None:
    try:
        return qualified_name(key.split("(", 1)[0], "public")[0]
    except PgspecError:
        return None


def _order_sections(spec: SpecFile) -> None:
    schemas = spec.data.get("schemas")
    if schemas and all(v is None for v in schemas.values()):
        spec.data["schemas"] = FlowList(schemas)
    spec.data = {k: spec.data[k] for k in _SECTION_ORDER if k in spec.data and spec.data[k] != {}} | {
        k: v for k, v in spec.data.items() if k not in _SECTION_ORDER
    }
