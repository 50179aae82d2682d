"""What every part of the spec writer shares: the files being written and what they refer to.

Writing is split by object family (write_types, write_tables, write_table_children, ...), and
each family records into one WriteState: the file each schema's objects and each table go to,
the grants worked out by ``Privileges``, the constraints, indexes, triggers and policies of each
table, the sequences a ``serial`` column stands for, and the objects entries refer to that the
catalog lacks (written as ``external:`` so the spec still loads). Kept apart from the families so
that each can use it without importing the others, and so that "a type or function the catalog
lacks becomes an external one" is decided in one place.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pgspec.catalog import Catalog
from pgspec.inspect.grants import Privileges
from pgspec.inspect.shorten import is_bare_scalar, reference_name, short_type
from pgspec.inspect.yamlout import Bare
from pgspec.spec import names

#: Kinds whose objects a column, argument or attribute can be typed by (a table's row type too).
_TYPE_KINDS = ("enum", "domain", "composite_type", "table", "view", "materialized_view")


@lru_cache(maxsize=16384)
def qualified_name(text: str, schema: str) -> tuple[str, str]:
    """``names.parse_qualified_name``, once per text: a schema's tables name the same
    functions and referenced tables over and over."""
    return names.parse_qualified_name(text, schema)


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


def sql_value(text: str) -> Any:
    """A SQL value for YAML: ``0`` / ``true`` unquoted when they read back as the same text."""
    if text in ("TRUE", "FALSE"):
        text = text.lower()
    return Bare(text) if is_bare_scalar(text) else text


def block(text: str) -> str:
    """Query and body text trimmed so it reads as a ``|`` block (the loader strips it too)."""
    return text.strip() + "\n" if "\n" in text.strip() else text.strip()


def sorted_objects(objects: dict[str, Any]) -> list[Any]:
    """A catalog's objects of one kind in key order, the order the spec lists them in."""
    return [objects[k] for k in sorted(objects)]


class WriteState:
    """One catalog being written: where its objects go and what they refer to outside it."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.notes: list[str] = []
        self.files: dict[str, SpecFile] = {}
        self.tables: dict[str, tuple[str, str]] = {}
        #: Objects entries refer to that the catalog lacks: the shared file's ``external:``.
        self.external_tables: set[str] = set()
        self.external_types: set[str] = set()
        self.external_functions: set[str] = set()
        #: schema -> file for its non-table objects; table key -> file.
        self.schema_file: dict[str, SpecFile] = {}
        self.table_file: dict[str, SpecFile] = {}
        #: Sequences written as a column's ``serial`` type rather than an entry of their own.
        self.serial_sequences: set[str] = set()
        self.priv = Privileges(catalog)
        #: table key -> kind ("constraint", "index", "trigger", "policy") -> its objects.
        self.by_table: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        for kind in ("constraint", "index", "trigger", "policy"):
            for obj in catalog.objects(kind).values():
                self.by_table[obj.table_key][kind].append(obj)

    def type_of(self, canonical: str, schema: str) -> str:
        """A canonical type as written in ``schema``'s file; a user type the catalog lacks is
        recorded as an external type so the written spec still loads."""
        key = None
        try:
            key = names.user_type_key(canonical)
        except Exception:  # pragma: no cover - canonical types always parse
            key = None
        if key is not None and not any(key in self.catalog.objects(kind) for kind in _TYPE_KINDS):
            self.external_types.add(key)
        return short_type(canonical, schema)

    def relation(self, key: str, schema: str) -> str:
        """A relation's key as the loader resolves it back from ``schema``'s file."""
        rschema, rname = qualified_name(key, schema)
        return reference_name(rschema, rname, schema)

    def has_function(self, schema: str, name: str) -> bool:
        """Whether the catalog holds a function, procedure or overload of that name."""
        return any(f.schema_name == schema and f.name == name for f in self.catalog.functions.values())
