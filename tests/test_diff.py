"""The differ on catalogs built in Python: what counts as a difference, and what never does."""

from __future__ import annotations

import random
from typing import Any

import pytest

from pgspec import normalize
from pgspec.catalog import (
    KINDS,
    Argument,
    Attribute,
    Catalog,
    Column,
    CompositeType,
    Constraint,
    Domain,
    Enum,
    Extension,
    Function,
    Index,
    IndexKey,
    MaterializedView,
    Policy,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
)
from pgspec.diff import comparator, diff

_ATTR = {
    Schema: "schemas", Extension: "extensions", Enum: "enums", Domain: "domains",
    CompositeType: "composite_types", Sequence: "sequences", Table: "tables",
    Constraint: "constraints", Index: "indexes", View: "views",
    MaterializedView: "materialized_views", Function: "functions", Trigger: "triggers",
    Policy: "policies",
}

needs_normalize = pytest.mark.skipif(
    not hasattr(normalize, "equivalent"), reason="pgspec.normalize.equivalent has not landed yet"
)


def catalog(*objects: Any, externals: set[str] = frozenset(), **extra: Any) -> Catalog:
    """A Catalog holding ``objects``, each filed under its kind by its key."""
    kinds: dict[str, dict[str, Any]] = {}
    for obj in objects:
        kinds.setdefault(_ATTR[type(obj)], {})[obj.key] = obj
    return Catalog(**kinds, externals=frozenset(externals), **extra)


def sample(schema: str = "public", n: int = 1) -> list[Any]:
    """One object of every kind (``n`` tables with their children), the way a source builds them."""
    objects: list[Any] = [
        Schema(name="app", comment="application"),
        Extension(name="citext", schema="public"),
        Enum(schema=schema, name="status", values=["active", "archived"]),
        Domain(schema=schema, name="email", type="public.citext", checks={"email_check": "VALUE ~ '@'"}),
        CompositeType(schema=schema, name="totals",
                      attributes=[Attribute(name="users", type="integer"), Attribute(name="n", type="bigint")]),
        Sequence(schema=schema, name="invoice_seq", start=1000),
        View(schema=schema, name="active_accounts", query="SELECT id FROM public.accounts_0",
             options={"security_invoker": "true"}, columns=["id"]),
        MaterializedView(schema=schema, name="usage", query="SELECT 1 AS one", columns=["one"]),
        Function(schema=schema, name="touch", returns="trigger", body="BEGIN RETURN NEW; END",
                 config={"search_path": "public"}),
        Function(schema=schema, name="add", arguments=[Argument(name="a", type="integer"),
                 Argument(name="b", type="integer", default="1")], returns="integer",
                 language="sql", body="SELECT a + b", volatility="immutable"),
        Function(schema=schema, name="refresh", kind_of_object="procedure", body="BEGIN END"),
    ]
    for i in range(n):
        table = f"accounts_{i}"
        objects += [
            Table(schema=schema, name=table, rls_enabled=True, comment=f"table {i}", columns=[
                Column(name="id", type="uuid", not_null=True, default="gen_random_uuid()"),
                Column(name="email", type="public.email"),
                Column(name="status", type="public.status", not_null=True, default="'active'::public.status"),
                Column(name="n", type="bigint", identity="always"),
            ]),
            Constraint(schema=schema, table=table, name=f"{table}_pkey", kind="primary_key", columns=["id"]),
            Constraint(schema=schema, table=table, name=f"{table}_n_check", kind="check", expression="n > 0"),
            Index(schema=schema, table=table, name=f"{table}_email_idx",
                  keys=[IndexKey(column="email"), IndexKey(expression="lower(email)", order="desc")],
                  where="status = 'active'::public.status"),
            Trigger(schema=schema, table=table, name=f"{table}_touch", timing="before",
                    events=["insert", "update"], function=f"{schema}.touch"),
            Policy(schema=schema, table=table, name="own rows", command="select", roles=["authenticated"],
                   using="id = current_setting('app.id')::uuid"),
        ]
    return objects


def pick(objects: list[Any], cls: type) -> Any:
    return next(o for o in objects if type(o) is cls)


def shapes(differences: list) -> list[tuple]:
    return [(d.object_type, d.name, d.change, d.attribute) for d in differences]


# --------------------------------------------------------------------------- basics


def test_identical_catalogs_have_no_differences() -> None:
    objects = sample()
    assert diff(catalog(*objects), catalog(*objects)) == []


def test_a_large_catalog_equals_itself() -> None:
    big = catalog(*sample(n=400))
    assert len(big.tables) == 400
    assert diff(big, big) == []
    # An equal copy built separately (not the same objects) is just as equal.
    assert diff(big, catalog(*sample(n=400))) == []


def test_every_kind_has_a_comparator_and_duplicates_are_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        comparator("table")(lambda *a: [])
    with pytest.raises(ValueError, match="unknown object kind"):
        comparator("cluster")


_CHANGES: dict[type, tuple[str, Any]] = {
    Schema: ("comment", "other"),
    Extension: ("version", "1.6"),
    Enum: ("values", ["active", "archived", "deleted"]),
    Domain: ("not_null", True),
    CompositeType: ("attributes", [Attribute(name="users", type="bigint"), Attribute(name="n", type="bigint")]),
    Sequence: ("increment", 5),
    Table: ("unlogged", True),
    Constraint: ("columns", ["email"]),
    Index: ("unique", True),
    View: ("options", {}),
    MaterializedView: ("with_data", False),
    Function: ("volatility", "stable"),
    Trigger: ("events", ["update"]),
    Policy: ("roles", ["anon", "authenticated"]),
}
_TYPES = {cls: kind for kind, attr in KINDS.items() for cls, a in _ATTR.items() if a == attr}


@pytest.mark.parametrize("cls", list(_CHANGES), ids=[c.__name__ for c in _CHANGES])
def test_every_kind_missing_unexpected_changed(cls: type) -> None:
    objects = sample()
    obj = pick(objects, cls)
    others = [o for o in objects if o is not obj]
    kind = _TYPES[cls]
    assert shapes(diff(catalog(*objects), catalog(*others))) == [(kind, obj.key, "missing", None)]
    found = diff(catalog(*others), catalog(*objects), schemas=["public", "app"])
    assert shapes(found) == [(kind, obj.key, "unexpected", None)]

    attribute, value = _CHANGES[cls]
    if cls is Extension:  # a version is compared only when both sides state one
        obj = obj.model_copy(update={"version": "1.5"})
    changed = obj.model_copy(update={attribute: value})
    found = diff(catalog(*others, obj), catalog(*others, changed))
    assert shapes(found) == [(kind, obj.key, "changed", attribute)]
    assert found[0].actual == (value if cls is not CompositeType else [a.model_dump(exclude_defaults=True)
                                                                       for a in value])


def test_procedures_are_named_as_procedures() -> None:
    objects = sample()
    proc = next(o for o in objects if isinstance(o, Function) and o.kind_of_object == "procedure")
    found = diff(catalog(*objects), catalog(*[o for o in objects if o is not proc]))
    assert shapes(found) == [("procedure", "public.refresh()", "missing", None)]
    as_function = proc.model_copy(update={"kind_of_object": "function", "returns": "void"})
    found = diff(catalog(proc), catalog(as_function))
    assert shapes(found) == [("procedure", "public.refresh()", "changed", "kind"),
                             ("procedure", "public.refresh()", "changed", "returns")]


def test_extension_version_and_schema_only_when_both_state_one() -> None:
    pinned = Extension(name="citext", schema="extensions", version="1.6")
    loose = Extension(name="citext")
    assert diff(catalog(loose), catalog(pinned)) == []
    assert diff(catalog(pinned), catalog(loose)) == []
    moved = Extension(name="citext", schema="public", version="1.5")
    assert shapes(diff(catalog(pinned), catalog(moved))) == [
        ("extension", "citext", "changed", "schema"), ("extension", "citext", "changed", "version")]


def test_a_comment_is_an_attribute_of_its_object() -> None:
    view = pick(sample(), View).model_copy(update={"comment": "accounts in use"})
    found = diff(catalog(view), catalog(view.model_copy(update={"comment": None})))
    assert shapes(found) == [("view", "public.active_accounts", "changed", "comment")]
    assert (found[0].expected, found[0].actual) == ("accounts in use", None)


def test_view_columns_are_informative() -> None:
    view = pick(sample(), View)
    assert diff(catalog(view), catalog(view.model_copy(update={"columns": ["x", "y"]}))) == []


def test_index_moved_to_another_table_is_a_change() -> None:
    index = pick(sample(), Index)
    found = diff(catalog(index), catalog(index.model_copy(update={"table": "other"})))
    assert shapes(found) == [("index", index.key, "changed", "table")]


# --------------------------------------------------------------------------- tables


def _table(*columns: Column, **extra: Any) -> Table:
    return Table(schema="public", name="accounts", columns=list(columns), **extra)


def test_columns_are_objects_and_their_order_is_not_a_difference() -> None:
    a = Column(name="a", type="integer")
    b = Column(name="b", type="text", location="schema/x.yaml:7")
    assert diff(catalog(_table(a, b)), catalog(_table(b, a))) == []

    found = diff(catalog(_table(a, b, location="schema/x.yaml:3")), catalog(_table(a)))
    assert shapes(found) == [("column", "public.accounts.b", "missing", None)]
    assert found[0].location == "schema/x.yaml:7"

    # A live column has no location: point at the spec's table, where it would be declared.
    live_b = b.model_copy(update={"location": None})
    found = diff(catalog(_table(a, location="schema/x.yaml:3")), catalog(_table(a, live_b)))
    assert shapes(found) == [("column", "public.accounts.b", "unexpected", None)]
    assert found[0].location == "schema/x.yaml:3"


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("type", "bigint"), ("not_null", True), ("default", "0"), ("identity", "by default"),
     ("generated", "a * 2"), ("collation", '"C"'), ("comment", "a number")],
)
def test_column_attributes(attribute: str, value: Any) -> None:
    col = Column(name="a", type="integer")
    found = diff(catalog(_table(col)), catalog(_table(col.model_copy(update={attribute: value}))))
    assert shapes(found) == [("column", "public.accounts.a", "changed", attribute)]
    assert (found[0].expected, found[0].actual) == (getattr(col, attribute), value)


def test_quoted_names_in_column_keys() -> None:
    table = Table(schema="public", name="Accounts", columns=[Column(name="Email", type="text")])
    found = diff(catalog(table), catalog(table.model_copy(update={"columns": []})))
    assert shapes(found) == [("column", 'public."Accounts"."Email"', "missing", None)]


def test_rls_is_an_object_of_its_own() -> None:
    table = _table(Column(name="a", type="integer"), rls_enabled=True, rls_forced=True)
    found = diff(catalog(table), catalog(table.model_copy(update={"rls_enabled": False, "rls_forced": False})))
    assert shapes(found) == [("rls", "public.accounts", "changed", "enabled"),
                             ("rls", "public.accounts", "changed", "forced")]
    assert (found[0].expected, found[0].actual) == (True, False)


def test_a_missing_table_is_one_difference_not_one_per_column_or_child() -> None:
    objects = sample()
    table = pick(objects, Table)
    children = [o for o in objects if getattr(o, "table_key", None) == table.key]
    assert {type(o) for o in children} == {Constraint, Index, Trigger, Policy}
    rest = [o for o in objects if o is not table and o not in children]
    assert shapes(diff(catalog(*objects), catalog(*rest))) == [("table", table.key, "missing", None)]
    assert shapes(diff(catalog(*rest), catalog(*objects))) == [("table", table.key, "unexpected", None)]
    # A child missing from a table that is there is still reported.
    assert shapes(diff(catalog(*objects), catalog(*rest, table))) == [
        (_TYPES[type(o)], o.key, "missing", None) for o in sorted(
            children, key=lambda o: (list(KINDS).index(_TYPES[type(o)]), o.key))]


@needs_normalize
def test_sql_fragments_compare_in_canonical_form() -> None:
    written = _table(Column(name="status", type="text", default="'active'"))
    stored = _table(Column(name="status", type="text", default="'active'::text"))
    assert diff(catalog(written), catalog(stored)) == []
    other = _table(Column(name="status", type="text", default="'archived'::text"))
    assert shapes(diff(catalog(written), catalog(other))) == [
        ("column", "public.accounts.status", "changed", "default")]


@needs_normalize
def test_nested_sql_fragments_go_through_normalize() -> None:
    domain = Domain(schema="public", name="pos", type="integer", checks={"pos_check": "VALUE > 0"})
    stored = domain.model_copy(update={"checks": {"pos_check": "(VALUE > 0)"}})
    assert diff(catalog(domain), catalog(stored)) == []
    index = Index(schema="public", table="t", name="i", keys=[IndexKey(expression="lower(a)")])
    stored_index = index.model_copy(update={"keys": [IndexKey(expression="lower((a))")]})
    assert diff(catalog(index), catalog(stored_index)) == []
    broken = domain.model_copy(update={"checks": {"pos_check": "VALUE >= 0"}})
    assert shapes(diff(catalog(domain), catalog(broken))) == [("domain", "public.pos", "changed", "checks")]


# --------------------------------------------------------------------------- scope


def test_schemas_limit_both_sides() -> None:
    here = Enum(schema="public", name="e", values=["a"])
    there = Enum(schema="app", name="e", values=["a"])
    assert diff(catalog(here), catalog(there), schemas=["public"]) == [
        *diff(catalog(here), catalog(), schemas=["public"])]
    assert shapes(diff(catalog(here), catalog(there), schemas=["public"])) == [
        ("enum", "public.e", "missing", None)]
    assert diff(catalog(here), catalog(there), schemas=["other"]) == []


def test_unmanaged_schemas_are_reported_only_when_missing_or_changed() -> None:
    spec = catalog(Enum(schema="public", name="e", values=["a"]),
                   Enum(schema="audit", name="level", values=["low"]))
    live = catalog(Enum(schema="public", name="e", values=["a"]),
                   Enum(schema="audit", name="level", values=["low", "high"]),
                   Enum(schema="storage", name="bucket_kind", values=["x"]))
    # storage holds nothing of the spec's: its objects are not ours to call unexpected.
    assert shapes(diff(spec, live)) == [("enum", "audit.level", "changed", "values")]


def test_schemas_used_by_the_other_side_are_not_unexpected() -> None:
    spec = catalog(Enum(schema="public", name="e", values=["a"]))
    live = catalog(Schema(name="public"), Schema(name="stray"), Enum(schema="public", name="e", values=["a"]))
    assert shapes(diff(spec, live, schemas=["public", "stray"])) == [("schema", "stray", "unexpected", None)]


def _auth_objects() -> tuple[list[Any], list[Any]]:
    trigger = Trigger(schema="auth", table="users", name="on_user_created", timing="after",
                      events=["insert"], function="public.handle_new_user")
    spec = [Function(schema="public", name="handle_new_user", returns="trigger", body="BEGIN RETURN NEW; END"),
            trigger]
    live = [*spec,
            Table(schema="auth", name="users", columns=[Column(name="id", type="uuid")]),
            Function(schema="auth", name="uid", returns="uuid", language="sql", body="SELECT NULL::uuid"),
            Trigger(schema="auth", table="users", name="supabase_internal", timing="before",
                    events=["update"], function="auth.touch"),
            Index(schema="auth", table="users", name="users_email_idx", keys=[IndexKey(column="email")])]
    return spec, live


def test_externals_are_never_reported_but_what_the_spec_attaches_to_them_is() -> None:
    spec_objects, live_objects = _auth_objects()
    externals = {"auth", "auth.users", "auth.uid()"}
    spec = catalog(*spec_objects, externals=externals)
    for schemas in (None, ["public", "auth"]):
        assert diff(spec, catalog(*live_objects), schemas=schemas) == []

    trigger = pick(spec_objects, Trigger)
    changed = trigger.model_copy(update={"events": ["insert", "update"]})
    live = catalog(*[o for o in live_objects if o is not trigger], changed)
    assert shapes(diff(spec, live)) == [("trigger", "auth.users.on_user_created", "changed", "events")]
    live = catalog(*[o for o in live_objects if o is not trigger])
    assert shapes(diff(spec, live)) == [("trigger", "auth.users.on_user_created", "missing", None)]


def test_externals_of_either_side_are_never_reported() -> None:
    users = Table(schema="auth", name="users")
    assert diff(catalog(), catalog(users), schemas=["auth"]) != []
    assert diff(catalog(externals={"auth.users"}), catalog(users), schemas=["auth"]) == []
    assert diff(catalog(users), catalog(externals={"auth.users"}), schemas=["auth"]) == []


def test_exclude_patterns_drop_objects_their_children_and_columns() -> None:
    tmp = Table(schema="public", name="tmp_import", columns=[Column(name="a", type="integer")])
    index = Index(schema="public", table="tmp_import", name="idx_import", keys=[IndexKey(column="a")])
    keep = Table(schema="public", name="kept", columns=[Column(name="legacy_x", type="integer")])
    expected = catalog(keep.model_copy(update={"columns": []}), tmp)
    actual = catalog(tmp, index, keep)
    assert len(diff(expected, actual, schemas=["public"])) == 2
    # The index is named otherwise, but it is on an excluded table.
    assert diff(expected, actual, schemas=["public"], exclude=["public.tmp_*", "public.kept.legacy_*"]) == []
    func = Function(schema="public", name="tmp_fn", arguments=[Argument(type="integer")], returns="integer")
    assert diff(catalog(), catalog(func), schemas=["public"], exclude=["public.tmp_fn"]) == []


# --------------------------------------------------------------------------- order and locations


def test_order_is_by_kind_then_name_then_attribute_whatever_the_input_order() -> None:
    objects = sample(n=3)
    changed = [o.model_copy(update={"comment": "x"}) if hasattr(o, "comment") else o for o in objects]
    first = diff(catalog(*objects), catalog(*changed[1:]))
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(objects)
        shuffled = changed[1:]
        rng.shuffle(shuffled)
        assert diff(catalog(*objects), catalog(*shuffled)) == first
    kinds = list(KINDS)
    rank = [kinds.index({"column": "table", "rls": "table", "procedure": "function"}.get(d.object_type, d.object_type))
            for d in first]
    assert rank == sorted(rank)
    assert first[0].object_type == "schema"


def test_location_is_the_expected_objects_else_the_actual_ones() -> None:
    enum = Enum(schema="public", name="e", values=["a"])
    spec_side = enum.model_copy(update={"location": "schema/types.yaml:4"})
    live_side = enum.model_copy(update={"values": ["b"]})
    assert diff(catalog(spec_side), catalog(live_side))[0].location == "schema/types.yaml:4"
    assert diff(catalog(live_side), catalog(spec_side))[0].location == "schema/types.yaml:4"
    assert diff(catalog(spec_side), catalog(), schemas=["public"])[0].location == "schema/types.yaml:4"
