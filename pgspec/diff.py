"""Catalog x Catalog -> the list of ways they differ, in one deterministic order.

One comparator per object kind, registered with ``@comparator``; a kind of ``catalog.KINDS``
without one is an error when this module is imported, so no kind is ever skipped silently.
The driver does what is common to every kind (scope, externals, missing = expected - actual,
unexpected = actual - expected); a comparator only says how two objects with the same key
differ, attribute by attribute.

Attributes are compared generically from the pydantic model fields. A field holding SQL text
(marked ``Sql(kind)`` in catalog.py, also inside lists, dicts and nested models) goes through
``normalize.equivalent``, and only when the raw texts differ: text the server deparsed on both
sides is never parsed. Everything else compares by equality.
"""

from __future__ import annotations

import operator
import types
import typing
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from pgspec.catalog import (
    IDENTITY_FIELDS,
    KINDS,
    Catalog,
    Column,
    Difference,
    Extension,
    Function,
    MaterializedView,
    Sql,
    Table,
    View,
)
from pgspec.quoting import qualified

__all__ = ["comparator", "diff", "schema_names"]

# --------------------------------------------------------------------------- the registry

#: ``(scope, key, expected object, actual object)`` → the differences of one shared key.
Comparator = Callable[["Scope", str, Any, Any], Iterable[Difference]]

_COMPARATORS: dict[str, Comparator] = {}


def comparator(kind: str) -> Callable[[Comparator], Comparator]:
    """Register the comparator of one object kind; a second one for the same kind is a bug."""
    if kind not in KINDS:
        raise ValueError(f"unknown object kind {kind!r}")

    def register(func: Comparator) -> Comparator:
        if kind in _COMPARATORS:
            raise ValueError(f"a comparator for {kind!r} is already registered")
        _COMPARATORS[kind] = func
        return func

    return register


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    """Which objects of each side take part, and which may be reported as unexpected.

    ``schemas`` given: exactly those schemas, on both sides. Not given: every object the
    expected side declares takes part (a trigger it puts on ``auth.users`` included), and an
    object of the actual side takes part when it lives in a schema the expected side manages
    (its schemas minus external ones) or when the expected side has the same key, so objects
    outside the managed schemas are reported when missing or changed, never as unexpected.
    """

    schemas: frozenset[str] | None
    managed: frozenset[str]
    exclude: tuple[str, ...]
    externals: frozenset[str]
    #: Keys of the schemas each side puts objects in: such a schema exists on that side,
    #: declared or not, so it is never reported missing or unexpected against it.
    expected_schema_names: frozenset[str]
    actual_schema_names: frozenset[str]
    #: The two catalogs: a view's bare columns resolve against its own side's relations, and
    #: a partition's bound is typed by its own side's parent's key columns.
    expected_catalog: Catalog | None = dataclass_field(default=None, compare=False, repr=False)
    actual_catalog: Catalog | None = dataclass_field(default=None, compare=False, repr=False)

    def excluded(self, *names: str | None) -> bool:
        """True when any of the names (an object key, its table's key) matches a pattern."""
        for name in names:
            if name is None:
                continue
            bare = name.split("(", 1)[0]
            for pattern in self.exclude:
                if fnmatchcase(name, pattern) or fnmatchcase(bare, pattern):
                    return True
        return False

    def in_schemas(self, schema: str | None) -> bool:
        return self.schemas is None or schema is None or schema in self.schemas

    def managed_schema(self, schema: str | None) -> bool:
        return schema is None or schema in self.managed


def _table_key_of(obj: Any) -> str | None:
    return getattr(obj, "table_key", None)


def _external_schemas(catalog: Catalog, candidates: Iterable[str]) -> set[str]:
    """Schemas a catalog declares external (their key, e.g. ``auth``, is in ``externals``)."""
    return {name for name in candidates if qualified(name) in catalog.externals}


def schema_names(catalog: Catalog) -> set[str]:
    """Every schema (its plain name) a catalog declares or puts an object in."""
    found = {schema.name for schema in catalog.schemas.values()}
    for kind in KINDS:
        if kind not in ("schema", "extension"):
            found.update(obj.schema_name for obj in catalog.objects(kind).values())
    return found


def _build_scope(
    expected: Catalog, actual: Catalog, schemas: Collection[str] | None, exclude: Sequence[str]
) -> Scope:
    expected_names = schema_names(expected)
    actual_names = schema_names(actual)
    externals = expected.externals | actual.externals
    managed = expected_names - _external_schemas(expected, expected_names | actual_names)
    return Scope(
        schemas=frozenset(schemas) if schemas is not None else None,
        managed=frozenset(managed),
        exclude=tuple(exclude),
        externals=frozenset(externals),
        expected_schema_names=frozenset(qualified(n) for n in expected_names),
        actual_schema_names=frozenset(qualified(n) for n in actual_names),
        expected_catalog=expected,
        actual_catalog=actual,
    )


# --------------------------------------------------------------------------- the driver


def diff(
    expected: Catalog,
    actual: Catalog,
    *,
    schemas: Collection[str] | None = None,
    exclude: Sequence[str] = (),
    ignore_roles: Collection[str] = (),
) -> list[Difference]:
    """Every way ``actual`` differs from ``expected``; ``missing`` = in expected only.

    ``schemas`` limits both sides to those schemas; ``exclude`` holds fnmatch patterns on
    qualified names (``public.tmp_*``). Keys either side declares external are never reported.
    Grants and default privileges are compared by ``pgspec.privileges`` when both sides state
    privileges; ``ignore_roles`` adds roles whose grants are left out (to the spec's own list).
    """
    from pgspec.privileges import compare_privileges

    scope = _build_scope(expected, actual, schemas, exclude)
    found: list[Difference] = []
    for kind in KINDS:
        found.extend(_compare_kind(scope, kind, expected.objects(kind), actual.objects(kind)))
    found.extend(compare_privileges(scope, expected, actual, ignore_roles=ignore_roles))
    if any(d.change == "changed" and d.attribute in _TYPED_ATTRIBUTES for d in found):
        # Expressions that may differ only by the casts the server adds to numeric operands,
        # compared again with their tables' column types (normalize.typed); a clean diff
        # never gets here.
        from pgspec.normalize.typed import unsettled

        found = unsettled(found, expected, actual)
    return sorted(_fold_children(found, expected, actual), key=_order)


#: Attributes ``normalize.typed.unsettled`` may settle (its ``CAST_ATTRIBUTES``).
_TYPED_ATTRIBUTES = frozenset({"expression", "generated", "where", "keys", "when", "using",
                               "with_check", "checks"})


_RELATIONS = ("table", "view", "materialized_view")
_CHILDREN = ("constraint", "index", "trigger", "policy")


def _fold_children(found: list[Difference], expected: Catalog, actual: Catalog) -> list[Difference]:
    """A missing table is one difference: its constraints, indexes, triggers and policies go
    with it (and likewise for an unexpected one), as its columns do."""
    gone = {(d.name, d.change) for d in found if d.object_type in _RELATIONS and d.change != "changed"}
    if not gone:
        return found
    kept = []
    for d in found:
        if d.object_type in _CHILDREN and d.change != "changed":
            side = expected if d.change == "missing" else actual
            child = side.objects(d.object_type).get(d.name)
            if child is not None and (child.table_key, d.change) in gone:
                continue
        kept.append(d)
    return kept


_KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}
#: Object types a comparator reports that are not kinds of their own, and the kind they sort with.
_SUBORDINATE = {"column": "table", "rls": "table", "procedure": "function"}


def _order(diff: Difference) -> tuple[int, str, str, str, str]:
    kind = _SUBORDINATE.get(diff.object_type, diff.object_type)
    return (_KIND_ORDER.get(kind, len(KINDS)), diff.name, diff.object_type, diff.attribute or "", diff.change)


def _object_type(kind: str, obj: Any) -> str:
    if kind == "function" and getattr(obj, "kind_of_object", "function") == "procedure":
        return "procedure"
    return kind


def _taking_part(
    scope: Scope, kind: str, objects: dict[str, Any], expected: dict[str, Any] | None
) -> dict[str, Any]:
    """The objects of one kind of one side that take part (``Scope``); ``expected`` is None
    for the expected side, else its objects of this kind. One loop with the scope's sets in
    locals: it runs for every object of both sides."""
    externals, schemas, exclude = scope.externals, scope.schemas, scope.exclude
    schema_attribute = "name" if kind == "schema" else "schema_name"
    kept: dict[str, Any] = {}
    for key, obj in objects.items():
        if key in externals:
            continue
        # Patterns are rare: no table key (a quoted join per object) is built without one.
        if exclude and scope.excluded(key, _table_key_of(obj)):
            continue
        schema = getattr(obj, schema_attribute, None)
        if schemas is not None:
            if schema is None or schema in schemas:
                kept[key] = obj
        elif expected is None or key in expected or scope.managed_schema(schema):
            kept[key] = obj
    return kept


def _compare_kind(
    scope: Scope, kind: str, expected: dict[str, Any], actual: dict[str, Any]
) -> Iterator[Difference]:
    exp = _taking_part(scope, kind, expected, None)
    act = _taking_part(scope, kind, actual, expected)

    for key in sorted(exp.keys() - act.keys()):
        obj = exp[key]
        # A schema the other side puts objects in exists there, declared or not.
        if kind == "schema" and key in scope.actual_schema_names:
            continue
        yield Difference(object_type=_object_type(kind, obj), name=key, change="missing",
                         location=obj.location)
    for key in sorted(act.keys() - exp.keys()):
        obj = act[key]
        if kind == "schema" and key in scope.expected_schema_names:
            continue
        # Objects on a table managed elsewhere (auth.users) are compared when declared, but
        # what else lives there is not ours to report.
        if _table_key_of(obj) in scope.externals:
            continue
        yield Difference(object_type=_object_type(kind, obj), name=key, change="unexpected",
                         location=obj.location)
    compare = _COMPARATORS[kind]
    for key in sorted(exp.keys() & act.keys()):
        yield from compare(scope, key, exp[key], act[key])


# --------------------------------------------------------------------------- attribute comparison


def _sql_kind(annotation: Any) -> str | None:
    """The ``Sql`` kind marked on a (possibly Optional) annotation, if any."""
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, Sql):
                return meta.kind
        return None
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _sql_kind(arg)
            if found:
                return found
    return None


def _unwrap(annotation: Any) -> Any:
    """The annotation without ``Annotated`` and ``| None`` wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _field_annotation(field: FieldInfo) -> Any:
    """A field's annotation with the ``Sql`` marker pydantic lifted into ``metadata`` put back."""
    for meta in field.metadata:
        if isinstance(meta, Sql):
            return typing.Annotated[field.annotation, meta]
    return field.annotation


def equal(annotation: Any, a: Any, b: Any, *, language: str | None = None) -> bool:
    """Whether two values of one annotated type are the same, SQL fragments in canonical form."""
    if a == b:
        return True
    if a is None or b is None:
        return False
    kind = _sql_kind(annotation)
    if kind is not None and isinstance(a, str) and isinstance(b, str):
        from pgspec.normalize import equivalent

        return equivalent(kind, a, b, language=language if kind == "body" else None)
    base = _unwrap(annotation)
    origin = typing.get_origin(base)
    if origin is list and isinstance(a, list) and isinstance(b, list):
        (item,) = typing.get_args(base) or (Any,)
        return len(a) == len(b) and all(equal(item, x, y, language=language) for x, y in zip(a, b, strict=True))
    if origin is dict and isinstance(a, dict) and isinstance(b, dict):
        value = typing.get_args(base)[1] if typing.get_args(base) else Any
        return a.keys() == b.keys() and all(equal(value, a[k], b[k], language=language) for k in a)
    if isinstance(a, BaseModel) and type(a) is type(b):
        return all(
            equal(_field_annotation(field), getattr(a, name), getattr(b, name), language=language)
            for name, field in type(a).model_fields.items()
            if name != "location"
        )
    return False


def _plain(value: Any) -> Any:
    """A value as JSON-ready data for a report (nested models become dicts)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude={"location"}, exclude_defaults=True)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(value)
    return value


def _changed(
    object_type: str, name: str, attribute: str, expected: Any, actual: Any, location: str | None
) -> Difference:
    return Difference(object_type=object_type, name=name, change="changed", attribute=attribute,
                      expected=_plain(expected), actual=_plain(actual), location=location)


def compare_fields(
    object_type: str,
    name: str,
    expected: BaseModel,
    actual: BaseModel,
    *,
    skip: Collection[str] = (),
    location: str | None = None,
    language: str | None = None,
) -> Iterator[Difference]:
    """Every model field outside ``IDENTITY_FIELDS`` and ``skip``, compared as ``equal`` says."""
    if expected is actual or _same_values(expected, actual):
        return
    fields, values = _compared_fields(type(expected), frozenset(skip))
    # Fast path: identical values in every compared field (the common case by far: two reads
    # of the same schema) need no field-by-field ``equal``, which would say the same.
    if values is not None and type(actual) is type(expected) and values(expected) == values(actual):
        return
    where = location if location is not None else (expected.location or actual.location)  # type: ignore[attr-defined]
    for field_name, annotation in fields:
        a, b = getattr(expected, field_name), getattr(actual, field_name)
        if not equal(annotation, a, b, language=language):
            yield _changed(object_type, name, field_name, a, b, where)


def _same_values(expected: BaseModel, actual: BaseModel) -> bool:
    """Every field of the two models equal, identity fields included: then no compared field
    can differ. One comparison of the field dicts in C, the common case of two reads of one
    schema (a table's columns are shared objects there, so its list compares by identity)."""
    return type(expected) is type(actual) and expected.__dict__ == actual.__dict__


_FIELDS_CACHE: dict[tuple[type, frozenset[str]], tuple[list[tuple[str, Any]], Any]] = {}


def _compared_fields(
    model: type[BaseModel], skip: frozenset[str]
) -> tuple[list[tuple[str, Any]], Callable[[Any], Any] | None]:
    """The fields ``compare_fields`` compares for a model class (name and annotation) and one
    getter of all their values at once, worked out once per class and ``skip``."""
    found = _FIELDS_CACHE.get((model, skip))
    if found is None:
        fields = [(name, _field_annotation(field)) for name, field in model.model_fields.items()
                  if name not in IDENTITY_FIELDS and name not in skip]
        values = operator.attrgetter(*(name for name, _ in fields)) if fields else None
        found = _FIELDS_CACHE[(model, skip)] = (fields, values)
    return found


def _location(expected: Any, actual: Any) -> str | None:
    return getattr(expected, "location", None) or getattr(actual, "location", None)


# --------------------------------------------------------------------------- the comparators


def _generic(kind: str, *, skip: Collection[str] = ()) -> Comparator:
    def compare(scope: Scope, key: str, expected: Any, actual: Any) -> Iterable[Difference]:
        return compare_fields(kind, key, expected, actual, skip=skip)

    compare.__name__ = f"compare_{kind}"
    return compare


for _kind in ("schema", "enum", "domain", "composite_type", "sequence", "trigger", "policy",
              "aggregate"):
    comparator(_kind)(_generic(_kind))


#: Hint of a changed ICU locale: PostgreSQL 16+ stores ICU locales as BCP 47 language tags
#: (``en_US`` becomes ``en-US``), which only the server's ICU can work out.
_ICU_LOCALE_HINT = ("PostgreSQL 16+ stores an ICU locale as its language tag (en_US as en-US): "
                    "write the locale as the server stores it, or compare with --dev-db")


@comparator("collation")
def compare_collation(scope: Scope, key: str, expected: Any, actual: Any) -> Iterator[Difference]:
    """A collation's provider, locale(s), determinism, ICU rules and comment. Its version is
    not modelled (the library's, not the schema's), so a collation made on another machine
    compares equal; a changed ICU locale says that only the server spells it exactly."""
    for found in compare_fields("collation", key, expected, actual):
        if (found.attribute == "locale" and expected.provider == "icu"
                and actual.provider == "icu"):
            found = found.model_copy(update={"hint": _ICU_LOCALE_HINT})
        yield found


@comparator("constraint")
def compare_constraint(scope: Scope, key: str, expected: Any, actual: Any) -> Iterator[Difference]:
    """An EXCLUDE constraint is its clause (``definition``): the columns it names are part of
    that clause, so they are not compared a second time on their own."""
    skip = {"columns"} if expected.kind == "exclude" and actual.kind == "exclude" else set()
    return compare_fields("constraint", key, expected, actual, skip=skip)


@comparator("extension")
def compare_extension(scope: Scope, key: str, expected: Extension, actual: Extension) -> Iterator[Difference]:
    """A spec rarely pins an extension's version or schema: compared only when both state one.
    Its comment comes from the extension's control file unless COMMENT ON EXTENSION changed it,
    so it counts only when both sides know theirs (``Extension.comment_known``)."""
    where = _location(expected, actual)
    yield from compare_fields("extension", key, expected, actual, skip={"version", "comment", "comment_known"})
    if expected.comment_known and actual.comment_known and expected.comment != actual.comment:
        yield _changed("extension", key, "comment", expected.comment, actual.comment, where)
    for attribute, field in (("version", "version"), ("schema", "schema_name")):
        a, b = getattr(expected, field), getattr(actual, field)
        if a is not None and b is not None and a != b:
            yield _changed("extension", key, attribute, a, b, where)


#: Table fields compared by hand: columns as objects, RLS as an object, partitioning by meaning.
_TABLE_SKIP = frozenset({"columns", "rls_enabled", "rls_forced", "partition_by", "partition_bound"})


def _compare_partitioning(
    scope: Scope, key: str, expected: Table, actual: Table, where: str | None
) -> Iterator[Difference]:
    """``partition_by`` and ``partition_bound`` by meaning (``normalize.partitions``): each
    side's bound is typed by its own parent's key columns, so ``'2026-01-01'`` written in a
    script equals the server's ``'2026-01-01 00:00:00+00'`` on a timestamptz key. The
    reported values are the texts as each source gave them."""
    if expected.partition_by != actual.partition_by or expected.partition_bound != actual.partition_bound:
        from pgspec.normalize.partitions import (
            key_types,
            partition_bound_equivalent,
            partition_key_equivalent,
        )

        if not partition_key_equivalent(expected.partition_by, actual.partition_by,
                                        expected.columns, actual.columns):
            yield _changed("table", key, "partition_by", expected.partition_by,
                           actual.partition_by, where)
        if expected.partition_bound != actual.partition_bound and not partition_bound_equivalent(
            expected.partition_bound, actual.partition_bound,
            key_types(expected, _tables(scope.expected_catalog)),
            key_types(actual, _tables(scope.actual_catalog)),
        ):
            yield _changed("table", key, "partition_bound", expected.partition_bound,
                           actual.partition_bound, where)


def _tables(catalog: Catalog | None) -> Mapping[str, Table]:
    return catalog.tables if catalog is not None else {}


@comparator("table")
def compare_table(scope: Scope, key: str, expected: Table, actual: Table) -> Iterator[Difference]:
    """Table attributes, RLS as an object of its own, and columns as objects (order ignored)."""
    if _same_values(expected, actual):
        return
    where = _location(expected, actual)
    yield from compare_fields("table", key, expected, actual, skip=_TABLE_SKIP)
    yield from _compare_partitioning(scope, key, expected, actual, where)
    for attribute in ("enabled", "forced"):
        a, b = getattr(expected, f"rls_{attribute}"), getattr(actual, f"rls_{attribute}")
        if a != b:
            yield _changed("rls", key, attribute, a, b, where)

    exp_cols = {c.name: c for c in expected.columns}
    act_cols = {c.name: c for c in actual.columns}

    def column_key(col: str) -> str:
        return qualified(expected.schema_name, expected.name, col)

    def col_location(col: Column | None, table: Table) -> str | None:
        return (col.location if col is not None else None) or table.location

    for col in sorted(exp_cols.keys() - act_cols.keys()):
        if not scope.excluded(column_key(col)):
            yield Difference(object_type="column", name=column_key(col), change="missing",
                             location=col_location(exp_cols[col], expected))
    for col in sorted(act_cols.keys() - exp_cols.keys()):
        if not scope.excluded(column_key(col)):
            yield Difference(object_type="column", name=column_key(col), change="unexpected",
                             location=col_location(act_cols[col], actual) or where)
    for col in sorted(exp_cols.keys() & act_cols.keys()):
        e, a = exp_cols[col], act_cols[col]
        if e is a:  # one shared immutable column (the live reader shares equal ones)
            continue
        name = column_key(col)  # once per column: tens of thousands on a large schema
        if scope.exclude and scope.excluded(name):
            continue
        yield from compare_fields("column", name, e, a,
                                  location=e.location or a.location or where)


@comparator("index")
def compare_index(scope: Scope, key: str, expected: Any, actual: Any) -> Iterator[Difference]:
    """An index's table is not part of its key (indexes are named per schema): compare it.
    A bare opclass a script left unresolved matches its qualified name in a schema it may be
    in (``normalize.opclasses``)."""
    if expected.opclass_schemas or actual.opclass_schemas:
        from pgspec.normalize.opclasses import settle

        expected, actual = settle(expected, actual)
    yield from compare_fields("index", key, expected, actual, skip=("opclass_schemas",))
    if expected.table != actual.table:
        yield _changed("index", key, "table", expected.table, actual.table, _location(expected, actual))


def _compare_relation(kind: str) -> Comparator:
    def compare(scope: Scope, key: str, expected: View | MaterializedView, actual: Any) -> Iterator[Difference]:
        # The output column names follow from the query, which is compared; whether a
        # materialized view is populated only when both sides state it (None: unknown).
        unknown = {"with_data"} if None in (getattr(expected, "with_data", 0), getattr(actual, "with_data", 0)) else set()
        yield from compare_fields(kind, key, expected, actual, skip={"columns", "query", *unknown})
        if expected.query != actual.query and not _queries_equivalent(scope, expected.query, actual.query):
            yield _changed(kind, key, "query", expected.query, actual.query, _location(expected, actual))

    return compare


def _queries_equivalent(scope: Scope, expected: str, actual: str) -> bool:
    """Two view queries by meaning, each side's bare columns resolved against its own
    catalog (``normalize.views``); only texts that differ get here."""
    from pgspec.normalize import equivalent

    if equivalent("query", expected, actual):
        return True  # the usual answer: nothing more is parsed or imported
    if scope.expected_catalog is None or scope.actual_catalog is None:
        return False
    from pgspec.normalize.views import catalog_relations, queries_equivalent

    return queries_equivalent(expected, actual, catalog_relations(scope.expected_catalog),
                              catalog_relations(scope.actual_catalog))


comparator("view")(_compare_relation("view"))
comparator("materialized_view")(_compare_relation("materialized_view"))


@comparator("function")
def compare_function(scope: Scope, key: str, expected: Function, actual: Function) -> Iterator[Difference]:
    """Bodies compare in the function's language; a function turned procedure is a change."""
    object_type = _object_type("function", expected)
    where = _location(expected, actual)
    if expected.kind_of_object != actual.kind_of_object:
        yield _changed(object_type, key, "kind", expected.kind_of_object, actual.kind_of_object, where)
    yield from compare_fields(object_type, key, expected, actual, language=expected.language)


_unregistered = set(KINDS) - set(_COMPARATORS)
if _unregistered:  # pragma: no cover - a development error, caught by importing the module
    raise RuntimeError(f"object kinds without a comparator: {sorted(_unregistered)}")
