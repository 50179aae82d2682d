"""Catalog -> the YAML data of a spec, in the shapes people write by hand.

Every object becomes the shortest spec entry that the loader builds back into the same
object: a column with only a type is ``name: type``; a single-column primary key, unique
constraint, foreign key or CHECK named the way PostgreSQL names it sits on its column; a serial
column is ``serial`` again; defaults and expressions lose the casts the server added
(``shorten``). What the spec format cannot say (inheritance, disabled triggers...) is returned
as notes, never dropped silently.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from psycopg import sql

from pgspec import naming
from pgspec.catalog import (
    Aggregate,
    Catalog,
    Column,
    Constraint,
    Function,
    Index,
    IndexKey,
    Policy,
    Sequence,
    Table,
    Trigger,
)
from pgspec.errors import PgspecError
from pgspec.inspect.grants import Privileges
from pgspec.inspect.shorten import (
    argument_text,
    index_key_text,
    is_bare_scalar,
    reference_name,
    short_default,
    short_expression,
    short_type,
)
from pgspec.inspect.yamlout import Bare, Flow, FlowList
from pgspec.quoting import qualified, quote
from pgspec.spec import names

#: Above this many tables a schema's tables are written in groups, one file per group.
GROUP_SIZE = 40

#: The file holding extensions, external objects and traits (sorted first).
SHARED_FILE = "00_shared.yaml"


@lru_cache(maxsize=16384)
def _qualified_name(text: str, schema: str) -> tuple[str, str]:
    """``names.parse_qualified_name``, once per text: a schema's tables name the same
    functions and referenced tables over and over."""
    return names.parse_qualified_name(text, schema)


@lru_cache(maxsize=16384)
def _check_columns(text: str) -> tuple[str, ...] | None:
    """The distinct columns a CHECK expression references in order, None when it does not
    parse; once per text (``char_length(name) > 0`` recurs across tables)."""
    from pgspec.spec.sqlcheck import expression_columns

    try:
        return tuple(dict.fromkeys(expression_columns(text)))
    except PgspecError:
        return None


@dataclass
class SpecFile:
    """One file being written: its schema and its top-level sections, in spec order."""

    name: str
    schema: str
    data: dict[str, Any] = field(default_factory=dict)

    def section(self, key: str) -> dict[str, Any]:
        return self.data.setdefault(key, {})


@dataclass
class Written:
    """The spec as data: files by name, where each table's entry is, and what was lost."""

    files: dict[str, SpecFile]
    #: table key -> (file name, table name): where its entry lives (traits edit it in place).
    tables: dict[str, tuple[str, str]]
    notes: list[str]


def _sql_value(text: str) -> Any:
    """A SQL value for YAML: ``0`` / ``true`` unquoted when they read back as the same text."""
    if text in ("TRUE", "FALSE"):
        text = text.lower()
    return Bare(text) if is_bare_scalar(text) else text


def _block(text: str) -> str:
    """Query and body text trimmed so it reads as a ``|`` block (the loader strips it too)."""
    return text.strip() + "\n" if "\n" in text.strip() else text.strip()


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "_"


class Writer:
    """Builds the files of one catalog (one instance per ``write`` call)."""

    def __init__(self, catalog: Catalog, *, group_size: int = GROUP_SIZE) -> None:
        self.catalog = catalog
        self.group_size = group_size
        self.notes: list[str] = []
        self.files: dict[str, SpecFile] = {}
        self.tables: dict[str, tuple[str, str]] = {}
        self.external_tables: set[str] = set()
        self.external_types: set[str] = set()
        self.external_functions: set[str] = set()
        #: schema -> file for its non-table objects; table key -> file.
        self.schema_file: dict[str, SpecFile] = {}
        self.table_file: dict[str, SpecFile] = {}
        self.serial_sequences: set[str] = set()
        self.priv = Privileges(catalog)
        self.by_table: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        for kind in ("constraint", "index", "trigger", "policy"):
            for obj in catalog.objects(kind).values():
                self.by_table[obj.table_key][kind].append(obj)

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
        self._find_serials()
        # The file-level grants first: working them out decides which objects (overloads of one
        # name whose grants differ) state their grants on their own entry, written below.
        self.class_grants = {schema: self.priv.class_grants(schema, self._grant_members(schema))
                             for schema in self.schema_file}
        for schema in self.catalog.schemas.values():
            spec = self.schema_file[schema.name]
            value = ({"comment": schema.comment} if schema.comment else {}) | self.priv.extras(
                "schema", qualified(schema.name), schema.name)
            spec.section("schemas")[schema.name] = Flow(value) if value else None
        for enum in _sorted(self.catalog.enums):
            extras = self.priv.extras("type", enum.key, enum.schema_name)
            entry: Any = FlowList(enum.values)
            if enum.comment or extras:
                entry = {"values": FlowList(enum.values)} | ({"comment": enum.comment} if enum.comment else {}) | extras
            self.schema_file[enum.schema_name].section("enums")[enum.name] = entry
        for domain in _sorted(self.catalog.domains):
            self.schema_file[domain.schema_name].section("domains")[domain.name] = self._domain(domain)
        for comp in _sorted(self.catalog.composite_types):
            attrs: dict[str, Any] = {}
            for attr in comp.attributes:
                atype = self._type(attr.type, comp.schema_name)
                attrs[attr.name] = Flow(type=atype, collation=attr.collation) if attr.collation else atype
            entry = {"attributes": Flow(attrs)}
            if comp.comment:
                entry["comment"] = comp.comment
            entry.update(self.priv.extras("type", comp.key, comp.schema_name))
            self.schema_file[comp.schema_name].section("composite_types")[comp.name] = entry
        for seq in _sorted(self.catalog.sequences):
            if seq.key not in self.serial_sequences:
                self.schema_file[seq.schema_name].section("sequences")[seq.name] = self._sequence(seq)
        for table in _sorted(self.catalog.tables):
            spec = self.table_file[table.key]
            spec.section("tables")[table.name] = self._table(table, spec.schema)
            self.tables[table.key] = (spec.name, table.name)
        for view in _sorted(self.catalog.views):
            entry = {"query": _block(view.query)}
            options: dict[str, Any] = {}
            for key, value in sorted(view.options.items()):
                options[key] = value == "true" if key in ("security_invoker", "security_barrier") else value
            if options:
                entry["options"] = Flow(options)
            if view.comment:
                entry["comment"] = view.comment
            entry.update(self.priv.extras("view", view.key, view.schema_name))
            self.schema_file[view.schema_name].section("views")[view.name] = entry
        for mview in _sorted(self.catalog.materialized_views):
            entry = {"query": _block(mview.query)}
            if mview.with_data is False:
                entry["with_data"] = False
            if mview.comment:
                entry["comment"] = mview.comment
            entry.update(self.priv.extras("materialized_view", mview.key, mview.schema_name))
            self.schema_file[mview.schema_name].section("materialized_views")[mview.name] = entry
        self._routines()
        self._aggregates()
        self._orphans()
        self._shared()
        for spec in self.files.values():
            _order_sections(spec)
        return Written(self.files, self.tables, [*self.notes, *self.priv.notes])

    def _shared(self) -> None:
        data: dict[str, Any] = {}
        extensions: dict[str, Any] = {}
        for ext in _sorted(self.catalog.extensions):
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
            grants = self.class_grants.get(schema)
            if grants is None:
                grants = self.priv.class_grants(schema, self._grant_members(schema))
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

    # ---------------------------------------------------------------- types

    def _grant_members(self, schema: str) -> list[tuple[str, str, str]]:
        """(kind, key, name) of every object of a schema that holds grants of a class."""
        c = self.catalog
        found: list[tuple[str, str, str]] = []
        for attr, on in (("tables", "table"), ("views", "view"), ("materialized_views", "materialized_view"),
                         ("sequences", "sequence"), ("enums", "type"), ("domains", "type"),
                         ("composite_types", "type")):
            found += [(on, o.key, o.name) for o in getattr(c, attr).values() if o.schema_name == schema]
        found += [(f.kind_of_object, f.key, f.name) for f in c.functions.values() if f.schema_name == schema]
        found += [("aggregate", a.key, a.name) for a in c.aggregates.values() if a.schema_name == schema]
        return found

    def _type(self, canonical: str, schema: str) -> str:
        key = None
        try:
            key = names.user_type_key(canonical)
        except Exception:  # pragma: no cover - canonical types always parse
            key = None
        if key is not None and not any(
            key in self.catalog.objects(kind)
            for kind in ("enum", "domain", "composite_type", "table", "view", "materialized_view")
        ):
            self.external_types.add(key)
        return short_type(canonical, schema)

    def _domain(self, domain: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": self._type(domain.type, domain.schema_name)}
        if domain.not_null:
            entry["not_null"] = True
        if domain.default is not None:
            entry["default"] = _sql_value(short_default(domain.default))
        if domain.collation:
            entry["collation"] = domain.collation
        checks = {name: short_expression(text) for name, text in domain.checks.items()}
        if list(checks) == [naming.check_name(domain.name, [])]:
            entry["check"] = next(iter(checks.values()))
        elif checks:
            entry["checks"] = checks
        if domain.comment:
            entry["comment"] = domain.comment
        entry.update(self.priv.extras("type", domain.key, domain.schema_name))
        return Flow(entry) if len(entry) <= 2 and "checks" not in entry else entry

    def _sequence(self, seq: Sequence) -> Any:
        entry: dict[str, Any] = {}
        if seq.type != "bigint":
            entry["type"] = short_type(seq.type, seq.schema_name)
        if seq.increment > 0:
            default_start = seq.min_value if seq.min_value is not None else 1
        else:
            default_start = seq.max_value if seq.max_value is not None else -1
        if seq.start != default_start:
            entry["start"] = seq.start
        if seq.increment != 1:
            entry["increment"] = seq.increment
        if seq.min_value is not None:
            entry["min_value"] = seq.min_value
        if seq.max_value is not None:
            entry["max_value"] = seq.max_value
        if seq.cache != 1:
            entry["cache"] = seq.cache
        if seq.cycle:
            entry["cycle"] = True
        if seq.owned_by:
            entry["owned_by"] = self._owned_by(seq)
        if seq.comment:
            entry["comment"] = seq.comment
        entry.update(self.priv.extras("sequence", seq.key, seq.schema_name))
        return Flow(entry)

    def _owned_by(self, seq: Sequence) -> str:
        parts = names.parse_column_path(seq.owned_by or "")
        if len(parts) == 3 and parts[0] == seq.schema_name:
            parts = parts[1:]
        return ".".join(quote(p) for p in parts)

    def _find_serials(self) -> None:
        """Sequences a ``serial`` column makes on its own: written as the column's type."""
        for seq in self.catalog.sequences.values():
            if not seq.owned_by or seq.comment is not None:
                continue
            parts = names.parse_column_path(seq.owned_by)
            if len(parts) != 3 or parts[0] != seq.schema_name:
                continue
            table = self.catalog.tables.get(qualified(parts[0], parts[1]))
            col = table.column(parts[2]) if table else None
            if col is None or not self._is_serial(seq, table, col):  # type: ignore[arg-type]
                continue
            if not self.priv.follows_defaults("sequence", seq.key, seq.schema_name):
                continue  # its grants or owner need an entry of its own
            self.serial_sequences.add(seq.key)

    def _is_serial(self, seq: Sequence, table: Table, col: Column) -> bool:
        if seq.name != naming.sequence_name(table.name, col.name) or seq.type != col.type:
            return False
        if col.type not in ("smallint", "integer", "bigint") or not col.not_null or col.identity:
            return False
        defaults = Sequence(schema=seq.schema_name, name=seq.name, type=seq.type)
        options = ("start", "increment", "min_value", "max_value", "cache", "cycle", "comment")
        if any(getattr(seq, o) != getattr(defaults, o) for o in options):
            return False
        literal = sql.Literal(qualified(seq.schema_name, seq.name)).as_string(None)
        return col.default == f"nextval({literal}::regclass)"

    # ---------------------------------------------------------------- tables

    def _table(self, table: Table, schema: str) -> dict[str, Any]:
        children = self.by_table.get(table.key, {})
        constraints: list[Constraint] = sorted(children.get("constraint", []), key=lambda c: c.name)
        entry: dict[str, Any] = {}
        if table.comment:
            entry["comment"] = table.comment
        columns: dict[str, Any] = {}
        inline: dict[str, dict[str, Any]] = {c.name: {} for c in table.columns}
        rest: list[Constraint] = []
        pk_columns: set[str] = set()
        for con in constraints:
            if con.kind == "primary_key":
                pk_columns = set(con.columns)
            if not self._inline_constraint(table, con, inline, schema):
                rest.append(con)
        for col in table.columns:
            grants = self.priv.column_grants(table.key, qualified(table.schema_name, table.name, col.name))
            if grants:
                inline[col.name]["grants"] = Flow(grants)
            columns[col.name] = self._column(table, col, inline[col.name], pk_columns, schema)
        entry["columns"] = columns
        for con in rest:
            self._constraint(table, con, entry, schema)
        indexes = {}
        for index in sorted(children.get("index", []), key=lambda i: i.name):
            indexes[index.name] = self._index(index, schema, with_table=False)
        if indexes:
            entry["indexes"] = indexes
        if table.rls_enabled or table.rls_forced:
            entry["rls"] = True if not table.rls_forced else Flow(enabled=table.rls_enabled, forced=True)
        policies = {p.name: self._policy(p, with_table=False) for p in sorted(children.get("policy", []), key=lambda p: p.name)}
        if policies:
            entry["policies"] = policies
        triggers = {}
        for trig in sorted(children.get("trigger", []), key=lambda t: t.name):
            triggers[trig.name] = self._trigger(trig, schema, with_table=False)
        if triggers:
            entry["triggers"] = triggers
        if table.unlogged:
            entry["unlogged"] = True
        if table.partition_by:
            entry["partition_by"] = table.partition_by
        if table.partition_of:
            entry["partition_of"] = self._relation(table.partition_of, schema)
            entry["partition_bound"] = table.partition_bound
        if table.inherits:
            entry["inherits"] = FlowList(self._relation(p, schema) for p in table.inherits)
        entry.update(self.priv.extras("table", table.key, table.schema_name))
        return entry

    def _relation(self, key: str, schema: str) -> str:
        rschema, rname = _qualified_name(key, schema)
        return reference_name(rschema, rname, schema)

    def _inline_constraint(self, table: Table, con: Constraint, inline: dict[str, dict[str, Any]], schema: str) -> bool:
        """Put a single-column constraint named as PostgreSQL names it on its column."""
        plain = not (con.deferrable or con.initially_deferred or con.comment or con.include
                     or con.nulls_not_distinct or con.no_inherit)
        if not plain:
            return False
        if con.kind == "primary_key" and len(con.columns) == 1 and con.name == naming.primary_key_name(table.name):
            inline[con.columns[0]]["primary_key"] = True
            return True
        if con.kind == "unique" and len(con.columns) == 1 and con.name == naming.unique_name(table.name, con.columns):
            inline[con.columns[0]]["unique"] = True
            return True
        if con.kind == "foreign_key" and len(con.columns) == 1 and con.name == naming.foreign_key_name(table.name, con.columns):
            inline[con.columns[0]]["references"] = self._reference(con, schema, mapping=True)
            return True
        if con.kind == "check" and con.expression is not None:
            text = short_expression(con.expression)
            found = _check_columns(text)
            if found is None:
                return False
            cols = list(found)
            if len(cols) == 1 and cols[0] in inline and con.name == naming.check_name(table.name, cols):
                if "check" in inline[cols[0]]:
                    return False
                inline[cols[0]]["check"] = text
                return True
        return False

    def _reference(self, con: Constraint, schema: str, *, mapping: bool) -> Any:
        ref_schema, ref_table = _qualified_name(con.references or "", schema)
        if qualified(ref_schema, ref_table) not in self.catalog.tables:
            self.external_tables.add(qualified(ref_schema, ref_table))
        target = reference_name(ref_schema, ref_table, schema)
        options: dict[str, Any] = {}
        for key, default in (("on_delete", "no action"), ("on_update", "no action"), ("match", "simple")):
            if getattr(con, key) != default:
                options[key] = getattr(con, key)
        for key in ("deferrable", "initially_deferred"):
            if getattr(con, key):
                options[key] = True
        if not options:
            return f"{target}({', '.join(quote(c) for c in con.references_columns)})"
        if mapping:
            return Flow(table=target, columns=FlowList(con.references_columns), **options)
        return Flow(table=target, columns=FlowList(con.references_columns))

    def _column(self, table: Table, col: Column, inline: dict[str, Any], pk: set[str], schema: str) -> Any:
        entry: dict[str, Any] = {}
        seq_key = None
        if col.default is not None and col.type in ("smallint", "integer", "bigint"):
            seq_key = qualified(table.schema_name, naming.sequence_name(table.name, col.name))
        if seq_key in self.serial_sequences:
            entry["type"] = {"smallint": "smallserial", "integer": "serial", "bigint": "bigserial"}[col.type]
        else:
            entry["type"] = self._type(col.type, schema)
            implied = col.name in pk or col.identity is not None
            if col.not_null and not implied:
                entry["not_null"] = True
            if col.default is not None:
                entry["default"] = _sql_value(short_default(col.default))
        entry.update(inline)
        if col.identity:
            entry["identity"] = col.identity
        if col.generated is not None:
            entry["generated"] = short_expression(col.generated)
        if col.collation:
            entry["collation"] = col.collation
        if col.comment:
            entry["comment"] = col.comment
        if list(entry) == ["type"]:
            return entry["type"]
        return Flow({k: entry[k] for k in _COLUMN_KEYS if k in entry})

    def _constraint(self, table: Table, con: Constraint, entry: dict[str, Any], schema: str) -> None:
        extras: dict[str, Any] = {}
        for key in ("deferrable", "initially_deferred"):
            if getattr(con, key):
                extras[key] = True
        if con.comment:
            extras["comment"] = con.comment
        if con.kind == "primary_key":
            if con.name == naming.primary_key_name(table.name) and not extras and not con.include:
                entry["primary_key"] = FlowList(con.columns)
            else:
                value: dict[str, Any] = {"columns": FlowList(con.columns)}
                if con.name != naming.primary_key_name(table.name):
                    value = {"name": con.name, **value}
                if con.include:
                    value["include"] = FlowList(con.include)
                entry["primary_key"] = Flow({**value, **extras})
        elif con.kind == "unique":
            if not extras and not con.include and not con.nulls_not_distinct:
                entry.setdefault("unique", {})[con.name] = FlowList(con.columns)
            else:
                value = {"columns": FlowList(con.columns)}
                if con.nulls_not_distinct:
                    value["nulls_not_distinct"] = True
                if con.include:
                    value["include"] = FlowList(con.include)
                entry.setdefault("unique", {})[con.name] = Flow({**value, **extras})
        elif con.kind == "check":
            text = short_expression(con.expression or "")
            if con.no_inherit or con.comment:
                value = {"expression": text}
                if con.no_inherit:
                    value["no_inherit"] = True
                if con.comment:
                    value["comment"] = con.comment
                entry.setdefault("checks", {})[con.name] = Flow(value)
            else:
                entry.setdefault("checks", {})[con.name] = text
        elif con.kind == "foreign_key":
            ref = self._reference(con, schema, mapping=False)
            value = {"columns": FlowList(con.columns), "references": ref}
            for key, default in (("on_delete", "no action"), ("on_update", "no action"), ("match", "simple")):
                if getattr(con, key) != default:
                    value[key] = getattr(con, key)
            entry.setdefault("foreign_keys", {})[con.name] = Flow({**value, **extras})
        elif con.kind == "exclude":
            text = con.definition or ""
            if extras:
                entry.setdefault("exclude", {})[con.name] = Flow({"definition": text, **extras})
            else:
                entry.setdefault("exclude", {})[con.name] = text

    def _index(self, index: Index, schema: str, *, with_table: bool) -> Any:
        entry: dict[str, Any] = {}
        if with_table:
            entry["table"] = quote(index.table)
        entry["columns"] = FlowList(self._index_key(k, schema) for k in index.keys)
        if index.unique:
            entry["unique"] = True
        if index.method != "btree":
            entry["method"] = index.method
        if index.where is not None:
            entry["where"] = short_expression(index.where)
        if index.include:
            entry["include"] = FlowList(index.include)
        if index.nulls_not_distinct:
            entry["nulls_not_distinct"] = True
        if index.comment:
            entry["comment"] = index.comment
        return Flow(entry)

    def _index_key(self, key: IndexKey, schema: str) -> Any:
        text = index_key_text(key, schema)
        if text is not None:
            return text
        value: dict[str, Any] = {}
        if key.column is not None:
            value["column"] = key.column
        else:
            value["expression"] = key.expression
        if key.order != "asc":
            value["order"] = key.order
        if key.nulls:
            value["nulls"] = key.nulls
        if key.opclass:
            value["opclass"] = key.opclass
        if key.collation:
            value["collation"] = key.collation
        return Flow(value)

    def _policy(self, policy: Policy, *, with_table: bool) -> Any:
        entry: dict[str, Any] = {}
        if with_table:
            entry["table"] = qualified(policy.schema_name, policy.table)
        if policy.command != "all":
            entry["command"] = policy.command
        if not policy.permissive:
            entry["permissive"] = False
        if policy.roles != ["public"]:
            entry["roles"] = FlowList(policy.roles)
        if policy.using is not None:
            entry["using"] = short_expression(policy.using)
        if policy.with_check is not None:
            entry["with_check"] = short_expression(policy.with_check)
        if policy.comment:
            entry["comment"] = policy.comment
        return Flow(entry)

    def _trigger(self, trig: Trigger, schema: str, *, with_table: bool) -> Any:
        entry: dict[str, Any] = {}
        if with_table:
            entry["table"] = qualified(trig.schema_name, trig.table)
        entry["timing"] = trig.timing
        entry["events"] = FlowList(trig.events)
        if trig.update_columns:
            entry["update_of"] = FlowList(trig.update_columns)
        if trig.level != "row":
            entry["level"] = trig.level
        if trig.when is not None:
            entry["when"] = short_expression(trig.when)
        fschema, fname = _qualified_name(trig.function, schema)
        entry["function"] = reference_name(fschema, fname, schema)
        if not any(f.schema_name == fschema and f.name == fname for f in self.catalog.functions.values()):
            self.external_functions.add(f"{qualified(fschema, fname)}()")
        if trig.arguments:
            entry["arguments"] = FlowList(trig.arguments)
        if trig.old_table:
            entry["old_table"] = trig.old_table
        if trig.new_table:
            entry["new_table"] = trig.new_table
        if trig.enabled != "origin":
            entry["enabled"] = trig.enabled
        for key in ("constraint", "deferrable", "initially_deferred"):
            if getattr(trig, key):
                entry[key] = True
        if trig.comment:
            entry["comment"] = trig.comment
        return Flow(entry)

    # ---------------------------------------------------------------- objects on tables the spec lacks

    def _orphans(self) -> None:
        """Indexes on materialized views, and triggers or policies on tables the catalog does
        not hold (``auth.users``): top-level sections with a ``table:`` key."""
        for index in _sorted(self.catalog.indexes):
            if index.table_key in self.catalog.tables:
                continue
            spec = self.schema_file[index.schema_name]
            if index.table_key not in self.catalog.materialized_views:
                self.external_tables.add(index.table_key)
            spec.section("indexes")[index.name] = self._index(index, spec.schema, with_table=True)
        for trig in _sorted(self.catalog.triggers):
            if trig.table_key not in self.catalog.tables:
                spec = self.schema_file[trig.schema_name]
                if trig.table_key not in self.catalog.views:
                    self.external_tables.add(trig.table_key)
                spec.section("triggers")[trig.name] = self._trigger(trig, spec.schema, with_table=True)
        for policy in _sorted(self.catalog.policies):
            if policy.table_key not in self.catalog.tables:
                self.external_tables.add(policy.table_key)
                spec = self.schema_file[policy.schema_name]
                spec.section("policies")[policy.name] = self._policy(policy, with_table=True)
        for con in _sorted(self.catalog.constraints):
            if con.table_key not in self.catalog.tables:
                self.notes.append(f"constraint {con.key} is on {con.table_key}, which is not in the source: left out")

    # ---------------------------------------------------------------- routines

    def _routines(self) -> None:
        groups: dict[tuple[str, str, str], list[Function]] = defaultdict(list)
        for func in _sorted(self.catalog.functions):
            groups[(func.schema_name, func.kind_of_object, func.name)].append(func)
        for (schema, kind, name), funcs in groups.items():
            entries = [self._routine(f) for f in funcs]
            section = "functions" if kind == "function" else "procedures"
            self.schema_file[schema].section(section)[name] = entries[0] if len(entries) == 1 else entries

    def _routine(self, func: Function) -> dict[str, Any]:
        schema = func.schema_name
        entry: dict[str, Any] = {}
        table_columns = [a for a in func.arguments if a.mode == "table"]
        args = []
        for arg in func.arguments:
            if arg.mode == "table":
                continue
            self._type(arg.type, schema)
            text = argument_text(arg, schema)
            if text is not None:
                args.append(text)
                continue
            value: dict[str, Any] = {}
            if arg.name:
                value["name"] = arg.name
            value["type"] = short_type(arg.type, schema)
            if arg.mode != "in":
                value["mode"] = arg.mode
            if arg.default is not None:
                value["default"] = arg.default
            args.append(Flow(value))
        if args:
            entry["arguments"] = FlowList(args)
        if func.kind_of_object == "function":
            outs = [a for a in func.arguments if a.mode in ("out", "inout")]
            if table_columns:
                entry["returns"] = {"table": Flow({a.name or "": self._type(a.type, schema) for a in table_columns})}
            else:
                rtype = self._type(func.returns or "void", schema)
                inferred = "void" if not outs else (outs[0].type if len(outs) == 1 else "record")
                if func.returns_set:
                    entry["returns"] = f"SETOF {rtype}"
                elif func.returns != inferred:
                    entry["returns"] = rtype
        if func.language != "plpgsql":
            entry["language"] = func.language
        if func.kind_of_object == "function":
            if func.volatility != "volatile":
                entry["volatility"] = func.volatility
            if func.strict:
                entry["strict"] = True
            if func.leakproof:
                entry["leakproof"] = True
            if func.parallel != "unsafe":
                entry["parallel"] = func.parallel
        if func.security_definer:
            entry["security_definer"] = True
        if func.config:
            entry["set"] = Flow(dict(sorted(func.config.items())))
        if func.comment:
            entry["comment"] = func.comment
        entry.update(self.priv.extras(func.kind_of_object, func.key, func.schema_name))
        entry["body"] = _block(func.body)
        return entry


    # ---------------------------------------------------------------- aggregates

    def _aggregates(self) -> None:
        groups: dict[tuple[str, str], list[Aggregate]] = defaultdict(list)
        for agg in _sorted(self.catalog.aggregates):
            groups[(agg.schema_name, agg.name)].append(agg)
        for (schema, name), aggs in groups.items():
            entries = [self._aggregate(a) for a in aggs]
            self.schema_file[schema].section("aggregates")[name] = entries[0] if len(entries) == 1 else entries

    def _aggregate_arguments(self, arguments: list[Any], schema: str) -> FlowList:
        out: list[Any] = []
        for arg in arguments:
            self._type(arg.type, schema)
            text = argument_text(arg, schema)
            if text is None:
                value: dict[str, Any] = {"name": arg.name} if arg.name else {}
                value["type"] = short_type(arg.type, schema)
                if arg.mode != "in":
                    value["mode"] = arg.mode
                out.append(Flow(value))
            else:
                out.append(text)
        return FlowList(out)

    def _support(self, agg: Aggregate, which: str) -> str:
        """A support function as the loader resolves it back: bare in the aggregate's schema
        (or for a built-in, unless the schema has a function of that name), else qualified; one
        the catalog lacks becomes an external function with the types the server calls it with."""
        from pgspec.deps import name_parts

        parts = name_parts(getattr(agg, which))
        schema = agg.schema_name
        if len(parts) == 1:
            clash = any(f.schema_name == schema and f.name == parts[0] for f in self.catalog.functions.values())
            return qualified("pg_catalog", parts[0]) if clash else quote(parts[0])
        fschema, fname = parts[-2], parts[-1]
        if not any(f.schema_name == fschema and f.name == fname for f in self.catalog.functions.values()):
            args = [a.type for a in agg.arguments]
            types = {
                "sfunc": [agg.stype, *args], "finalfunc": [agg.stype, *(args if agg.finalfunc_extra else [])],
                "combinefunc": [agg.stype, agg.stype], "serialfunc": ["internal"],
                "deserialfunc": ["bytea", "internal"], "msfunc": [agg.mstype or "", *args],
                "minvfunc": [agg.mstype or "", *args],
                "mfinalfunc": [agg.mstype or "", *(args if agg.mfinalfunc_extra else [])],
            }[which]
            self.external_functions.add(f"{qualified(fschema, fname)}({', '.join(types)})")
        return reference_name(fschema, fname, schema)

    def _aggregate(self, agg: Aggregate) -> dict[str, Any]:
        schema = agg.schema_name
        entry: dict[str, Any] = {}
        args = list(agg.arguments)
        if agg.kind == "normal":
            if args:
                entry["arguments"] = self._aggregate_arguments(args, schema)
        else:
            direct, ordered = args[: agg.direct_arguments], args[agg.direct_arguments:]
            if not ordered and direct and direct[-1].mode == "variadic":
                ordered = [direct[-1]]
            if direct:
                entry["arguments"] = self._aggregate_arguments(direct, schema)
            entry["order_by"] = self._aggregate_arguments(ordered, schema)
            if agg.kind == "hypothetical":
                entry["hypothetical"] = True
        default_modify = "read_only" if agg.kind == "normal" else "read_write"
        entry["sfunc"] = self._support(agg, "sfunc")
        entry["stype"] = self._type(agg.stype, schema)
        if agg.sspace:
            entry["sspace"] = agg.sspace
        for name in ("finalfunc", "combinefunc", "serialfunc", "deserialfunc"):
            if getattr(agg, name) is not None:
                entry[name] = self._support(agg, name)
        if agg.finalfunc_extra:
            entry["finalfunc_extra"] = True
        if agg.finalfunc_modify != default_modify:
            entry["finalfunc_modify"] = agg.finalfunc_modify
        if agg.initcond is not None:
            entry["initcond"] = agg.initcond
        for name in ("msfunc", "minvfunc"):
            if getattr(agg, name) is not None:
                entry[name] = self._support(agg, name)
        if agg.mstype is not None:
            entry["mstype"] = self._type(agg.mstype, schema)
        if agg.msspace:
            entry["msspace"] = agg.msspace
        if agg.mfinalfunc is not None:
            entry["mfinalfunc"] = self._support(agg, "mfinalfunc")
        if agg.mfinalfunc_extra:
            entry["mfinalfunc_extra"] = True
        if agg.mfinalfunc_modify != default_modify:
            entry["mfinalfunc_modify"] = agg.mfinalfunc_modify
        if agg.minitcond is not None:
            entry["minitcond"] = agg.minitcond
        if agg.sortop is not None:
            entry["sortop"] = agg.sortop
        if agg.parallel != "unsafe":
            entry["parallel"] = agg.parallel
        if agg.comment:
            entry["comment"] = agg.comment
        entry.update(self.priv.extras("aggregate", agg.key, schema))
        return entry


_COLUMN_KEYS = ("type", "primary_key", "not_null", "unique", "references", "default", "check",
                "identity", "generated", "collation", "comment", "grants")


def _sorted(objects: dict[str, Any]) -> list[Any]:
    return [objects[k] for k in sorted(objects)]


def _schema_of(key: str) -> str | None:
    try:
        return _qualified_name(key.split("(", 1)[0], "public")[0]
    except PgspecError:
        return None


_SECTION_ORDER = (
    "schema", "schemas", "extensions", "external", "privileges", "default_privileges", "grants", "traits", "enums", "domains", "composite_types",
    "sequences", "tables", "views", "materialized_views", "indexes", "triggers", "policies",
    "functions", "procedures", "aggregates",
)


def _order_sections(spec: SpecFile) -> None:
    schemas = spec.data.get("schemas")
    if schemas and all(v is None for v in schemas.values()):
        spec.data["schemas"] = FlowList(schemas)
    spec.data = {k: spec.data[k] for k in _SECTION_ORDER if k in spec.data and spec.data[k] != {}} | {
        k: v for k, v in spec.data.items() if k not in _SECTION_ORDER
    }
