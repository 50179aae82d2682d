"""The spec's INPUT format as pydantic models: what a user may write, and nothing else.

These models mirror docs/spec-format.md key for key. ``extra="forbid"`` makes an unknown key
(a typo such as ``not_nul``) an error instead of a silently ignored setting. Values that may be
written in several shapes (a bare type or a column mapping, a list or a mapping) are unions
chosen by the shape of the YAML value, so an error speaks about the shape the user wrote rather
than every alternative. The builder (build.py) turns validated models into Catalog objects.
"""


from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag
from typing_extensions import TypeAliasType

from pgspec.spec.yaml_loader import YamlFloat, YamlInt

TAG_TEXT = "<text>"
TAG_MAPPING = "<mapping>"
TAG_LIST = "<list>"
#: Union tags pydantic puts in error locations; never keys of the user's YAML.
SHAPE_TAGS = frozenset({TAG_TEXT, TAG_MAPPING, TAG_LIST})


def _sql_text(value: Any) -> Any:
    """YAML numbers and booleans as the SQL text they stand for (``0``, ``0.10``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, YamlInt | YamlFloat):
        return value.text
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _lower(value: Any) -> Any:
    return " ".join(value.lower().split()) if isinstance(value, str) else value


#: A SQL fragment, or a scalar that stands for one; stored stripped, as written.
SqlText = TypeAliasType("SqlText", Annotated[str, BeforeValidator(_sql_text)])
#: A keyword written in any case (``SET NULL``, ``Before``).
Word = BeforeValidator(_lower)


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return TAG_MAPPING
    if isinstance(value, list):
        return TAG_LIST
    return TAG_TEXT


def by_shape(*, text: Any = None, mapping: Any = None, listing: Any = None) -> Any:
    """A union validated by the YAML value's shape: only the matching branch reports errors."""
    branches = []
    expected = []
    if text is not None:
        branches.append(Annotated[text, Tag(TAG_TEXT)])
        expected.append("a string")
    if mapping is not None:
        branches.append(Annotated[mapping, Tag(TAG_MAPPING)])
        expected.append("a mapping")
    if listing is not None:
        branches.append(Annotated[listing, Tag(TAG_LIST)])
        expected.append("a list")
    tags = {TAG_TEXT: text, TAG_MAPPING: mapping, TAG_LIST: listing}

    def pick(value: Any) -> str | None:
        tag = _shape(value)
        return tag if tags[tag] is not None else None

    message = "expected " + " or ".join(expected)
    union: Any = branches[0]
    for branch in branches[1:]:
        union = union | branch
    return Annotated[union, Discriminator(pick, custom_error_type="shape", custom_error_message=message)]


class In(BaseModel):
    """Base of input models: unknown keys are errors; ``schema`` is accepted as a key.

    ``defer_build``: a model's validator is built when it is first used, not when its class is
    defined. Validating ``FileIn`` then builds the whole tree in one pass, in which every model
    and every ``TypeAliasType`` below (types many fields share) is generated once and referred
    to, where building each class on its own generated each shared type again per field: a
    third of every command's start-up that reads a spec.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


# --------------------------------------------------------------------------- privileges

#: A privilege as a spec writes it (any case); ``all`` is every privilege of the object's kind,
#: ``none`` (alone) is no privilege at all.
PrivilegeIn = Annotated[
    Literal["all", "none", "select", "insert", "update", "delete", "truncate", "references",
            "trigger", "maintain", "usage", "create", "execute"],
    Word,
]


class GrantDetailIn(In):
    """The mapping form of one role's grant: privileges and WITH GRANT OPTION."""

    privileges: by_shape(text=PrivilegeIn, listing=list[PrivilegeIn])  # type: ignore[valid-type]
    grant_option: bool = False


#: One role's privileges: ``all``, ``[select, insert]`` or ``{privileges: [...], grant_option: true}``.
RoleGrantIn = by_shape(text=PrivilegeIn, listing=list[PrivilegeIn], mapping=GrantDetailIn)
#: Role name -> privileges (``public`` is PUBLIC), on one object.
GrantsIn = TypeAliasType("GrantsIn", dict[str, RoleGrantIn])  # type: ignore[valid-type]


class ClassGrantsIn(In):
    """Grants for every object of one kind in the file's schema, ``except`` those listed, or
    ``only`` those listed."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True, defer_build=True)
    __pydantic_extra__: dict[str, RoleGrantIn] = Field(init=False)  # type: ignore[valid-type]
    except_: list[str] = Field(default=[], alias="except")
    only: list[str] | None = None


#: One mapping, or a list applied in order (a later entry overrides an earlier one).
_ClassGrants = TypeAliasType("_ClassGrants", by_shape(mapping=ClassGrantsIn, listing=list[ClassGrantsIn]))


class FileGrantsIn(In):
    """File-level grants: ``tables`` covers tables, views and materialized views (as
    PostgreSQL's ON ALL TABLES does); ``functions`` covers procedures too."""

    tables: _ClassGrants | None = None  # type: ignore[valid-type]
    sequences: _ClassGrants | None = None  # type: ignore[valid-type]
    functions: _ClassGrants | None = None  # type: ignore[valid-type]
    types: _ClassGrants | None = None  # type: ignore[valid-type]


class DefaultPrivilegesIn(In):
    """ALTER DEFAULT PRIVILEGES [FOR ROLE role] [IN SCHEMA schema], per object kind."""

    role: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    #: True: the entry for every schema (no IN SCHEMA), which replaces the built-in default.
    global_: bool = Field(default=False, alias="global")
    tables: GrantsIn | None = None
    sequences: GrantsIn | None = None
    functions: GrantsIn | None = None
    types: GrantsIn | None = None
    schemas: GrantsIn | None = None


class PrivilegesIn(In):
    """How the spec manages privileges (any one file; settings of several files merge)."""

    preset: Annotated[Literal["supabase", "none"], Word] | None = None
    ignore_roles: list[str] = []
    #: The roles grants may name (besides ``public``): a role outside it is a typo.
    roles: list[str] | None = None
    #: Owner of every object the spec creates unless it says otherwise (owners are then compared).
    owner: str | None = None


FkActionIn = TypeAliasType(
    "FkActionIn", Annotated[Literal["no action", "restrict", "cascade", "set null", "set default"], Word]
)
MatchIn = TypeAliasType("MatchIn", Annotated[Literal["simple", "full", "partial"], Word])


class SchemaIn(In):
    comment: str | None = None
    grants: GrantsIn | None = None
    owner: str | None = None


class ExtensionIn(In):
    schema_name: str | None = Field(default=None, alias="schema")
    version: SqlText | None = None
    comment: str | None = None


class ExternalIn(In):
    schemas: list[str] = []
    tables: list[str] = []
    functions: list[str] = []
    types: list[str] = []


class CollationIn(In):
    """CREATE COLLATION: the ``locale`` of any provider, or a libc collation's ``lc_collate``
    and ``lc_ctype`` when they differ; ``deterministic: false`` (ICU only) for one that
    compares by meaning (case-insensitive, accent-insensitive); ICU tailoring ``rules``
    (PostgreSQL 16+)."""

    provider: Annotated[Literal["libc", "icu", "builtin"], Word] = "libc"
    locale: SqlText | None = None
    lc_collate: SqlText | None = None
    lc_ctype: SqlText | None = None
    deterministic: bool = True
    rules: str | None = None
    comment: str | None = None
    owner: str | None = None


class EnumIn(In):
    values: list[str]
    comment: str | None = None
    grants: GrantsIn | None = None
    owner: str | None = None


class DomainIn(In):
    type: str
    not_null: bool = False
    default: SqlText | None = None
    collation: str | None = None
    checks: dict[str, SqlText] = {}
    #: One unnamed CHECK, named ``<domain>_check`` as PostgreSQL names it.
    check: SqlText | None = None
    comment: str | None = None
    grants: GrantsIn | None = None
    owner: str | None = None


class AttributeIn(In):
    type: str
    collation: str | None = None


class CompositeIn(In):
    attributes: dict[str, by_shape(text=str, mapping=AttributeIn)]  # type: ignore[valid-type]
    comment: str | None = None
    grants: GrantsIn | None = None
    owner: str | None = None


class SequenceIn(In):
    type: str = "bigint"
    start: int | None = None
    increment: int = 1
    min_value: int | None = None
    max_value: int | None = None
    cache: int = 1
    cycle: bool = False
    owned_by: str | None = None
    comment: str | None = None
    grants: GrantsIn | None = None
    owner: str | None = None


class ReferenceIn(In):
    """The mapping form of a column's ``references:``."""

    table: str
    columns: list[str] | None = None
    on_delete: FkActionIn = "no action"
    on_update: FkActionIn = "no action"
    match: MatchIn = "simple"
    deferrable: bool = False
    initially_deferred: bool = False
    name: str | None = None
    comment: str | None = None


class ColumnIn(In):
    type: str
    not_null: bool = False
    primary_key: bool = False
    unique: bool = False
    references: by_shape(text=str, mapping=ReferenceIn) | None = None  # type: ignore[valid-type]
    default: SqlText | None = None
    check: SqlText | None = None
    identity: Annotated[Literal["always", "by default"], Word] | None = None
    generated: SqlText | None = None
    collation: str | None = None
    comment: str | None = None
    grants: GrantsIn | None = None


class PrimaryKeyIn(In):
    name: str | None = None
    columns: list[str]
    include: list[str] = []
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None


class UniqueIn(In):
    columns: list[str]
    nulls_not_distinct: bool = False
    include: list[str] = []
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None


class CheckIn(In):
    expression: SqlText
    no_inherit: bool = False
    comment: str | None = None


class TargetIn(In):
    table: str
    columns: list[str] | None = None


class ForeignKeyIn(In):
    columns: list[str]
    references: by_shape(text=str, mapping=TargetIn)  # type: ignore[valid-type]
    on_delete: FkActionIn = "no action"
    on_update: FkActionIn = "no action"
    match: MatchIn = "simple"
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None


class ExcludeIn(In):
    definition: SqlText
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None


class IndexKeyIn(In):
    column: str | None = None
    expression: SqlText | None = None
    order: Annotated[Literal["asc", "desc"], Word] = "asc"
    nulls: Annotated[Literal["first", "last"], Word] | None = None
    opclass: str | None = None
    collation: str | None = None


class IndexIn(In):
    table: str | None = None
    columns: Annotated[list[by_shape(text=SqlText, mapping=IndexKeyIn)], Field(min_length=1)]  # type: ignore[valid-type]
    unique: bool = False
    method: Annotated[str, Word] = "btree"
    where: SqlText | None = None
    include: list[str] = []
    nulls_not_distinct: bool = False
    comment: str | None = None


class RlsIn(In):
    enabled: bool = True
    forced: bool = False


class PolicyIn(In):
    table: str | None = None
    command: Annotated[Literal["all", "select", "insert", "update", "delete"], Word] = "all"
    permissive: bool = True
    roles: list[str] | None = None
    using: SqlText | None = None
    with_check: SqlText | None = None
    comment: str | None = None


class TriggerIn(In):
    table: str | None = None
    timing: Annotated[Literal["before", "after", "instead of"], Word]
    events: Annotated[
        list[Annotated[Literal["insert", "update", "delete", "truncate"], Word]], Field(min_length=1)
    ]
    update_of: list[str] = []
    level: Annotated[Literal["row", "statement"], Word] = "row"
    when: SqlText | None = None
    function: str
    arguments: list[SqlText] = []
    old_table: str | None = None
    new_table: str | None = None
    comment: str | None = None
    enabled: Annotated[Literal["origin", "always", "replica", "disabled"], Word] = "origin"
    #: CONSTRAINT TRIGGER, optionally deferrable.
    constraint: bool = False
    deferrable: bool = False
    initially_deferred: bool = False


class TableIn(In):
    comment: str | None = None
    traits: list[by_shape(text=str, mapping=dict[str, dict[str, Any] | None])] = []  # type: ignore[valid-type]
    columns: dict[str, by_shape(text=str, mapping=ColumnIn)] = {}  # type: ignore[valid-type]
    primary_key: by_shape(listing=list[str], mapping=PrimaryKeyIn) | None = None  # type: ignore[valid-type]
    unique: dict[str, by_shape(listing=list[str], mapping=UniqueIn)] = {}  # type: ignore[valid-type]
    checks: dict[str, by_shape(text=SqlText, mapping=CheckIn)] = {}  # type: ignore[valid-type]
    foreign_keys: dict[str, ForeignKeyIn] = {}
    exclude: dict[str, by_shape(text=SqlText, mapping=ExcludeIn)] = {}  # type: ignore[valid-type]
    indexes: dict[str, IndexIn] = {}
    rls: by_shape(text=bool, mapping=RlsIn) = False  # type: ignore[valid-type]
    policies: dict[str, PolicyIn] = {}
    triggers: dict[str, TriggerIn] = {}
    unlogged: bool = False
    partition_by: SqlText | None = None
    grants: GrantsIn | None = None
    owner: str | None = None
    #: ``parent`` (SQL name) and its bound clause (``FOR VALUES ...`` or ``DEFAULT``).
    partition_of: str | None = None
    partition_bound: SqlText | None = None
    #: Parent tables of a traditional inheritance child (SQL names).
    inherits: list[str] = []


class ViewOptionsIn(In):
    security_invoker: bool | None = None
    security_barrier: bool | None = None
    check_option: Annotated[Literal["local", "cascaded"], Word] | None = None


class ViewIn(In):
    query: SqlText
    options: ViewOptionsIn = ViewOptionsIn()
    columns: list[str] = []
    comment: str | None = None
    grants: GrantsIn | None = None
    owner: str | None = None


class MaterializedViewIn(In):
    query: SqlText
    with_data: bool = True
    columns: list[str] = []
    comment: str | None = None
    grants: GrantsIn | None = None
    owner: str | None = None


class ArgumentIn(In):
    name: str | None = None
    type: str
    mode: Annotated[Literal["in", "out", "inout", "variadic"], Word] = "in"
    default: SqlText | None = None


class ReturnsTableIn(In):
    table: dict[str, str]


_Arguments = TypeAliasType("_Arguments", list[by_shape(text=str, mapping=ArgumentIn)])  # type: ignore[valid-type]
_SetValue = TypeAliasType("_SetValue", by_shape(text=SqlText, listing=list[SqlText]))


class FunctionIn(In):
    arguments: _Arguments = []  # type: ignore[valid-type]
    returns: by_shape(text=str, mapping=ReturnsTableIn) | None = None  # type: ignore[valid-type]
    language: Annotated[str, Word] = "plpgsql"
    volatility: Annotated[Literal["volatile", "stable", "immutable"], Word] = "volatile"
    strict: bool = False
    security_definer: bool = False
    leakproof: bool = False
    parallel: Annotated[Literal["unsafe", "restricted", "safe"], Word] = "unsafe"
    set: dict[str, _SetValue] = {}  # type: ignore[valid-type]
    comment: str | None = None
    body: str
    grants: GrantsIn | None = None
    owner: str | None = None


class ProcedureIn(In):
    arguments: _Arguments = []  # type: ignore[valid-type]
    language: Annotated[str, Word] = "plpgsql"
    security_definer: bool = False
    set: dict[str, _SetValue] = {}  # type: ignore[valid-type]
    comment: str | None = None
    body: str
    grants: GrantsIn | None = None
    owner: str | None = None


#: An aggregate's initial state: text kept exactly (``""`` and ``" "`` are states), a YAML number
#: or boolean as the text it stands for.
_StateText = Annotated[str, BeforeValidator(lambda v: v if isinstance(v, str) else _sql_text(v))]
_FinalModifyIn = Annotated[Literal["read_only", "shareable", "read_write"], Word]


class AggregateIn(In):
    """CREATE AGGREGATE: ``arguments`` (none: ``(*)``), and for an ordered-set aggregate the
    aggregated arguments under ``order_by`` (``arguments`` are then the direct ones)."""

    arguments: _Arguments = []  # type: ignore[valid-type]
    order_by: _Arguments | None = None  # type: ignore[valid-type]
    hypothetical: bool = False
    sfunc: str
    stype: str
    sspace: int = 0
    finalfunc: str | None = None
    finalfunc_extra: bool = False
    finalfunc_modify: _FinalModifyIn | None = None
    combinefunc: str | None = None
    serialfunc: str | None = None
    deserialfunc: str | None = None
    initcond: _StateText | None = None
    msfunc: str | None = None
    minvfunc: str | None = None
    mstype: str | None = None
    msspace: int = 0
    mfinalfunc: str | None = None
    mfinalfunc_extra: bool = False
    mfinalfunc_modify: _FinalModifyIn | None = None
    minitcond: _StateText | None = None
    sortop: str | None = None
    parallel: Annotated[Literal["unsafe", "restricted", "safe"], Word] = "unsafe"
    comment: str | None = None
    #: EXECUTE on the aggregate, as on a function (PostgreSQL grants it ON FUNCTION).
    grants: GrantsIn | None = None
    owner: str | None = None


class TraitIn(In):
    """A trait's sections are templates: validated after expansion, on the table that uses them."""

    parameters: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    unique: dict[str, Any] = {}
    foreign_keys: dict[str, Any] = {}
    exclude: dict[str, Any] = {}
    indexes: dict[str, Any] = {}
    policies: dict[str, Any] = {}
    triggers: dict[str, Any] = {}
    views: dict[str, Any] = {}
    materialized_views: dict[str, Any] = {}
    comment: str | None = None


#: Trait sections merged into the table that uses the trait (the rest become schema objects).
TRAIT_TABLE_SECTIONS = ("checks", "unique", "foreign_keys", "exclude", "indexes", "policies", "triggers")
TRAIT_SCHEMA_SECTIONS = ("views", "materialized_views")


class FileIn(In):
    schema_name: str = Field(default="public", alias="schema")
    schemas: by_shape(mapping=dict[str, SchemaIn | None], listing=list[str]) = {}  # type: ignore[valid-type]
    extensions: by_shape(mapping=dict[str, ExtensionIn | None], listing=list[str]) = {}  # type: ignore[valid-type]
    external: ExternalIn = ExternalIn()
    collations: dict[str, CollationIn] = {}
    enums: dict[str, by_shape(listing=list[str], mapping=EnumIn)] = {}  # type: ignore[valid-type]
    domains: dict[str, DomainIn] = {}
    composite_types: dict[str, CompositeIn] = {}
    sequences: dict[str, SequenceIn] = {}
    tables: dict[str, TableIn] = {}
    views: dict[str, ViewIn] = {}
    materialized_views: dict[str, MaterializedViewIn] = {}
    indexes: dict[str, IndexIn] = {}
    triggers: dict[str, TriggerIn] = {}
    policies: dict[str, PolicyIn] = {}
    functions: dict[str, by_shape(mapping=FunctionIn, listing=list[FunctionIn])] = {}  # type: ignore[valid-type]
    procedures: dict[str, by_shape(mapping=ProcedureIn, listing=list[ProcedureIn])] = {}  # type: ignore[valid-type]
    aggregates: dict[str, by_shape(mapping=AggregateIn, listing=list[AggregateIn])] = {}  # type: ignore[valid-type]
    traits: dict[str, TraitIn] = {}
    privileges: PrivilegesIn | None = None
    grants: FileGrantsIn | None = None
    default_privileges: by_shape(mapping=DefaultPrivilegesIn, listing=list[DefaultPrivilegesIn]) | None = None  # type: ignore[valid-type]
