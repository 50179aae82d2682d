"""The canonical schema model every source produces and every consumer reads.

A ``Catalog`` is what pgspec knows about a database, whatever it was read from (a YAML spec, a
live server, a dump, SQL scripts). Nothing downstream knows the origin: the differ, the renderer
and the spec writer all take Catalogs.

Conventions every source follows (the differ and renderer rely on them):

* Objects live in flat dictionaries, one per kind, keyed by a stable identity string
  (``key`` on each object): ``schema.name`` for relations and types, ``schema.table.name`` for
  constraints, triggers and policies, ``schema.name(argtypes)`` for functions, ``schema.name``
  for indexes. Key parts are quoted like SQL identifiers when they need it, so a name with a dot
  or a capital cannot collide with another.
* Names are stored as PostgreSQL stores them (case preserved, unquoted).
* Types are stored in canonical form (``normalize.canonical_type``: ``format_type`` spelling,
  user types schema-qualified). Identity depends on it (a function's key holds its argument
  types), so sources canonicalise types when they build objects.
* SQL fragments (defaults, CHECK/WHERE/USING expressions, view queries, function bodies) are
  stored as the source gave them. Fields holding one are marked ``Sql("...")``; the differ
  compares them through ``normalize`` (cheap equality first, canonical form only when the raw
  texts differ), so text the server deparsed on both sides is never parsed at all.
* Lists whose order has no meaning (trigger events, policy roles) are stored sorted.
* ``location`` ("file:line") is where a spec declared the object; it is never compared.
"""


from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pgspec.quoting import qualified, quote


@dataclass(frozen=True)
class Sql:
    """Marks a model field that holds a SQL fragment, and which grammar it belongs to.

    kinds: ``expression`` (a scalar expression), ``query`` (a SELECT), ``body`` (a function
    body; compared with the function's language), ``definition`` (a whole constraint clause).
    """

    kind: Literal["expression", "query", "body", "definition"]


Expression = Annotated[str, Sql("expression")]
Query = Annotated[str, Sql("query")]
Body = Annotated[str, Sql("body")]
Definition = Annotated[str, Sql("definition")]

#: Fields that identify an object or say where it was declared; never compared as attributes.
IDENTITY_FIELDS = frozenset({"schema_name", "name", "table", "location", "kind_of_object"})


class CatalogObject(BaseModel):
    """Base of every object: immutable, no unknown fields, and a place it was declared."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    location: str | None = None
    comment: str | None = None

    @property
    def key(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


class SchemaObject(CatalogObject):
    """An object that lives directly in a schema (a type, a relation, a sequence)."""

    schema_name: str = Field(alias="schema")
    name: str

    @property
    def key(self) -> str:
        return qualified(self.schema_name, self.name)


class TableChild(CatalogObject):
    """An object that belongs to one table (constraint, trigger, policy): keyed under it."""

    schema_name: str = Field(alias="schema")
    table: str
    name: str

    @property
    def table_key(self) -> str:
        return qualified(self.schema_name, self.table)

    @property
    def key(self) -> str:
        return qualified(self.schema_name, self.table, self.name)


# --------------------------------------------------------------------------- schemas, types


class Schema(CatalogObject):
    name: str

    @property
    def key(self) -> str:
        return qualified(self.name)


class Extension(CatalogObject):
    name: str
    schema_name: str | None = Field(default=None, alias="schema")
    #: Compared only when both sides state one: a spec usually does not pin versions.
    version: str | None = None
    #: False where the source cannot know the comment: a script's CREATE EXTENSION takes it
    #: from the extension's control file, which only a server reads, and a spec that states
    #: none leaves it open. Comments are compared only where both sides know theirs.
    comment_known: bool = True

    @property
    def key(self) -> str:
        return qualified(self.name)


class Collation(SchemaObject):
    """A collation a schema defines (CREATE COLLATION), in the form the server stores it.

    ``locale`` is the locale of an ICU or builtin collation, and of a libc one whose
    LC_COLLATE and LC_CTYPE are the same; a libc collation whose two differ has ``lc_collate``
    and ``lc_ctype`` instead (and no ``locale``), so ``locale = 'C'`` and ``lc_collate = 'C',
    lc_ctype = 'C'`` are one collation, as on the server. ``rules`` are ICU tailoring rules
    (PostgreSQL 16+). The collation's version (``collversion``) is not modelled: it is the
    library's, recorded when the collation was made, and differs between machines. Neither is
    the encoding (a libc collation's is the database's; ``FROM`` copies one that pg_dump does
    not write).
    """

    provider: Literal["libc", "icu", "builtin"] = "libc"
    locale: str | None = None
    lc_collate: str | None = None
    lc_ctype: str | None = None
    deterministic: bool = True
    rules: str | None = None


class Enum(SchemaObject):
    values: list[str]


class Domain(SchemaObject):
    type: str
    not_null: bool = False
    default: Expression | None = None
    collation: str | None = None
    #: CHECK constraints by name.
    checks: dict[str, Expression] = {}


class Attribute(BaseModel):
    """One attribute of a composite type."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    type: str
    collation: str | None = None


class CompositeType(SchemaObject):
    attributes: list[Attribute]


class Sequence(SchemaObject):
    type: str = "bigint"
    start: int = 1
    increment: int = 1
    min_value: int | None = None
    max_value: int | None = None
    cache: int = 1
    cycle: bool = False
    #: ``schema.table.column`` that owns the sequence (serial columns, OWNED BY).
    owned_by: str | None = None


# --------------------------------------------------------------------------- tables


class Column(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: str
    not_null: bool = False
    default: Expression | None = None
    identity: Literal["always", "by default"] | None = None
    #: Expression of a GENERATED ALWAYS AS (...) STORED column.
    generated: Expression | None = None
    collation: str | None = None
    comment: str | None = None
    location: str | None = None


class Table(SchemaObject):
    columns: list[Column] = []
    rls_enabled: bool = False
    rls_forced: bool = False
    unlogged: bool = False
    #: ``RANGE (created_at)`` etc. for a partitioned table.
    partition_by: str | None = None
    #: ``schema.parent`` and the bound clause for a partition.
    partition_of: str | None = None
    partition_bound: str | None = None
    inherits: list[str] = []

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None


ConstraintKind = Literal["primary_key", "unique", "foreign_key", "check", "exclude"]
FkAction = Literal["no action", "restrict", "cascade", "set null", "set default"]


class Constraint(TableChild):
    kind: ConstraintKind
    columns: list[str] = []
    #: CHECK expression.
    expression: Expression | None = None
    #: Foreign keys: ``schema.table`` and its columns.
    references: str | None = None
    references_columns: list[str] = []
    on_delete: FkAction = "no action"
    on_update: FkAction = "no action"
    match: Literal["simple", "full", "partial"] = "simple"
    deferrable: bool = False
    initially_deferred: bool = False
    nulls_not_distinct: bool = False
    #: Columns of an INCLUDE clause (primary key / unique).
    include: list[str] = []
    no_inherit: bool = False
    #: EXCLUDE constraints: the whole clause as pg_get_constraintdef prints it.
    definition: Definition | None = None


class IndexKey(BaseModel):
    """One key of an index: a column or an expression, with its ordering and opclass.

    ``nulls`` is stored only where it differs from the default for the order (NULLS LAST for
    ASC, NULLS FIRST for DESC), so ``(a DESC NULLS FIRST)`` equals ``(a DESC)``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    column: str | None = None
    expression: Expression | None = None
    order: Literal["asc", "desc"] = "asc"
    nulls: Literal["first", "last"] | None = None
    opclass: str | None = None
    collation: str | None = None


class Index(CatalogObject):
    schema_name: str = Field(alias="schema")
    name: str
    #: The indexed relation's name, in the index's schema.
    table: str
    unique: bool = False
    method: str = "btree"
    keys: list[IndexKey]
    include: list[str] = []
    where: Expression | None = None
    nulls_not_distinct: bool = False
    #: A bare opclass of a key the source could not resolve (a script replayed offline) ->
    #: the schemas of the search_path it may live in. Not compared itself: the differ
    #: matches the bare name with the same name qualified by one of them
    #: (``normalize.opclasses.settle``).
    opclass_schemas: dict[str, list[str]] = {}

    @property
    def key(self) -> str:
        return qualified(self.schema_name, self.name)

    @property
    def table_key(self) -> str:
        return qualified(self.schema_name, self.table)


class View(SchemaObject):
    query: Query
    #: ``security_invoker``, ``security_barrier`` (values "true"/"false"), ``check_option``
    #: ("local"/"cascaded"). Options left unset are absent, not false.
    options: dict[str, str] = {}
    #: Output column names; informative (the query decides them), not compared on their own.
    columns: list[str] = []


class MaterializedView(SchemaObject):
    query: Query
    #: Whether the view is populated; None when the source cannot say (a pg_dump file always
    #: writes WITH NO DATA and only its data section refreshes): not compared then.
    with_data: bool | None = True
    columns: list[str] = []


# --------------------------------------------------------------------------- routines


class Argument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str | None = None
    type: str
    mode: Literal["in", "out", "inout", "variadic", "table"] = "in"
    default: Expression | None = None


class Function(CatalogObject):
    schema_name: str = Field(alias="schema")
    name: str
    kind_of_object: Literal["function", "procedure"] = "function"
    arguments: list[Argument] = []
    #: Return type (canonical); ``None`` for procedures. ``RETURNS TABLE (...)`` is
    #: ``returns="record"``, ``returns_set=True`` and arguments in mode ``table``.
    returns: str | None = None
    returns_set: bool = False
    language: str = "plpgsql"
    body: Body = ""
    volatility: Literal["volatile", "stable", "immutable"] = "volatile"
    strict: bool = False
    security_definer: bool = False
    leakproof: bool = False
    parallel: Literal["unsafe", "restricted", "safe"] = "unsafe"
    #: ``SET name = value`` clauses, e.g. ``{"search_path": "public"}`` (value as the server
    #: stores it in proconfig).
    config: dict[str, str] = {}

    @property
    def identity_arguments(self) -> list[str]:
        """Argument types that identify the function (IN, INOUT and VARIADIC ones)."""
        return [a.type for a in self.arguments if a.mode in ("in", "inout", "variadic")]

    @property
    def key(self) -> str:
        return f"{qualified(self.schema_name, self.name)}({', '.join(self.identity_arguments)})"


#: How an aggregate's final function treats the transition state (pg_aggregate.aggfinalmodify).
FinalModify = Literal["read_only", "shareable", "read_write"]


class Aggregate(CatalogObject):
    """A user aggregate (CREATE AGGREGATE): pg_proc.prokind 'a' with its pg_aggregate row.

    Keyed like a function (aggregates share pg_proc's namespace): ``schema.name(argtypes)``
    with every argument type, direct ones first for an ordered-set aggregate. References to
    support functions are ``schema.name`` (bare for pg_catalog's, which every search path
    holds); their argument types follow from the aggregate's, so the name identifies them.
    ``finalfunc_modify``/``mfinalfunc_modify`` are stored as the server resolves them
    (READ_ONLY for a normal aggregate, READ_WRITE for the others, unless stated).
    """

    schema_name: str = Field(alias="schema")
    name: str
    #: Every argument (modes ``in`` or ``variadic``); for ``ordered_set`` and ``hypothetical``
    #: the first ``direct_arguments`` are the direct ones, the rest come after ORDER BY.
    arguments: list[Argument] = []
    kind: Literal["normal", "ordered_set", "hypothetical"] = "normal"
    direct_arguments: int = 0
    sfunc: str
    stype: str
    sspace: int = 0
    finalfunc: str | None = None
    finalfunc_extra: bool = False
    finalfunc_modify: FinalModify = "read_only"
    combinefunc: str | None = None
    serialfunc: str | None = None
    deserialfunc: str | None = None
    #: Initial state as text; ``""`` (an empty string) differs from None (no INITCOND).
    initcond: str | None = None
    msfunc: str | None = None
    minvfunc: str | None = None
    mstype: str | None = None
    msspace: int = 0
    mfinalfunc: str | None = None
    mfinalfunc_extra: bool = False
    mfinalfunc_modify: FinalModify = "read_only"
    minitcond: str | None = None
    #: Sort operator (MIN/MAX-like aggregates): bare for pg_catalog's, else ``schema.op``.
    sortop: str | None = None
    parallel: Literal["unsafe", "restricted", "safe"] = "unsafe"

    @property
    def identity_arguments(self) -> list[str]:
        return [a.type for a in self.arguments]

    @property
    def key(self) -> str:
        return f"{qualified(self.schema_name, self.name)}({', '.join(self.identity_arguments)})"


class Trigger(TableChild):
    timing: Literal["before", "after", "instead of"]
    #: Sorted subset of insert, update, delete, truncate.
    events: list[str]
    #: ``UPDATE OF`` columns, in declaration order.
    update_columns: list[str] = []
    level: Literal["row", "statement"] = "row"
    when: Expression | None = None
    #: Qualified ``schema.name`` of the trigger function.
    function: str
    arguments: list[str] = []
    #: ``REFERENCING OLD TABLE AS x NEW TABLE AS y``.
    old_table: str | None = None
    new_table: str | None = None
    enabled: Literal["origin", "always", "replica", "disabled"] = "origin"
    constraint: bool = False
    deferrable: bool = False
    initially_deferred: bool = False


class Policy(TableChild):
    command: Literal["all", "select", "insert", "update", "delete"] = "all"
    permissive: bool = True
    #: Sorted role names; ``["public"]`` when the policy applies to every role.
    roles: list[str] = ["public"]
    using: Expression | None = None
    with_check: Expression | None = None


# --------------------------------------------------------------------------- privileges

#: What a grant is on. ``column`` grants are keyed ``schema.table.column``; functions,
#: procedures and aggregates by their key with argument types; schemas by their name. An
#: aggregate's grant is its own target (PostgreSQL grants it with ``GRANT ... ON FUNCTION``) so
#: a report names it as the aggregate it is.
GrantTarget = Literal[
    "table", "view", "materialized_view", "sequence", "column", "function", "procedure",
    "aggregate", "schema", "type",
]
#: What a default privilege applies to (ALTER DEFAULT PRIVILEGES ... ON TABLES etc.).
DefaultTarget = Literal["tables", "sequences", "functions", "types", "schemas"]


class Grant(CatalogObject):
    """The privileges one role holds on one object, as an effective set.

    Effective: whatever the source says is folded the same way (``pgspec.privileges``): an
    object whose ACL is the default has PostgreSQL's default grants (EXECUTE to PUBLIC on
    functions, USAGE to PUBLIC on types), the owner's own privileges are implicit and never
    listed, several grantors of one privilege count once. Privilege names are lower case and
    sorted; ``grantable`` is the subset held WITH GRANT OPTION.
    """

    on: GrantTarget
    schema_name: str = Field(alias="schema")
    #: Key of the object the grant is on (``public.accounts``, ``public.f(uuid)``, ``public``).
    object: str
    #: Role name; ``public`` for PUBLIC.
    grantee: str
    privileges: list[str]
    grantable: list[str] = []

    @property
    def key(self) -> str:
        return f"{self.on}:{self.object}:{quote(self.grantee)}"

    @property
    def table_key(self) -> str:
        """The object the grant belongs to (exclusion patterns match it)."""
        return self.object


class DefaultPrivilege(CatalogObject):
    """One grantee's part of ALTER DEFAULT PRIVILEGES: what ``role`` creates gets it.

    ``schema_name`` None is the global entry, which replaces PostgreSQL's built-in default; a
    global entry that takes PUBLIC's default EXECUTE (or USAGE) away is a ``public`` entry with
    no privileges. ``role`` None is the role running a script (unknown to a script reader).
    """

    role: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    on: DefaultTarget
    grantee: str
    privileges: list[str]
    grantable: list[str] = []

    @property
    def key(self) -> str:
        role = quote(self.role) if self.role is not None else "current_user"
        schema = quote(self.schema_name) if self.schema_name is not None else "*"
        return f"{role}:{schema}:{self.on}:{quote(self.grantee)}"


class PrivilegeSettings(BaseModel):
    """How a catalog states privileges. A Catalog without settings says nothing about them
    (a spec without privileges, a script without GRANT), and its grants are not compared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Roles whose grants are not compared (grantees, and creators of default privileges).
    ignore_roles: list[str] = []
    #: Whether the source knows the MAINTAIN privilege (PostgreSQL 17+); None = unknown.
    maintain: bool | None = None
    #: The role that owns the spec's objects and creates them (its default privileges count
    #: even when the role is ignored as a grantee, as Supabase's ``postgres`` is).
    owner: str | None = None
    #: The role a live source was read as (``current_user``): the usual runner of the scripts
    #: compared with it, which settles their default privileges without FOR ROLE when the
    #: owners of their objects do not (``pgspec.script_runner``). Never compared itself.
    connected_role: str | None = None


# --------------------------------------------------------------------------- the catalog


class Warning(BaseModel):
    """Something found in a source that pgspec does not model: reported, never ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    object_type: str
    name: str
    message: str
    location: str | None = None


#: The kinds a Catalog holds, in the order reports list them. The names are the JSON
#: ``object_type`` values (DESIGN.md) and the Catalog's attribute names are their plurals.
KINDS: dict[str, str] = {
    "schema": "schemas",
    "extension": "extensions",
    "collation": "collations",
    "enum": "enums",
    "domain": "domains",
    "composite_type": "composite_types",
    "sequence": "sequences",
    "table": "tables",
    "constraint": "constraints",
    "index": "indexes",
    "view": "views",
    "materialized_view": "materialized_views",
    "function": "functions",
    "aggregate": "aggregates",
    "trigger": "triggers",
    "policy": "policies",
}


class Catalog(BaseModel):
    """Everything pgspec knows about one database, keyed by identity within each kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schemas: dict[str, Schema] = {}
    extensions: dict[str, Extension] = {}
    collations: dict[str, Collation] = {}
    enums: dict[str, Enum] = {}
    domains: dict[str, Domain] = {}
    composite_types: dict[str, CompositeType] = {}
    sequences: dict[str, Sequence] = {}
    tables: dict[str, Table] = {}
    constraints: dict[str, Constraint] = {}
    indexes: dict[str, Index] = {}
    views: dict[str, View] = {}
    materialized_views: dict[str, MaterializedView] = {}
    functions: dict[str, Function] = {}
    aggregates: dict[str, Aggregate] = {}
    triggers: dict[str, Trigger] = {}
    policies: dict[str, Policy] = {}
    #: Effective privileges by ``Grant.key`` and default privileges by ``DefaultPrivilege.key``
    #: (compared by ``pgspec.privileges``, not through KINDS: they belong to other objects).
    grants: dict[str, Grant] = {}
    default_privileges: dict[str, DefaultPrivilege] = {}
    #: Owner role by object key (schemas, collations, types, sequences, relations, functions, aggregates). A spec
    #: states an owner only when it cares; owners are compared where both sides state one.
    owners: dict[str, str] = {}
    privileges: PrivilegeSettings | None = None
    #: Keys (any kind) of objects the spec uses but does not manage, e.g. ``auth.users``,
    #: ``auth.uid()``: never rendered, never reported.
    externals: frozenset[str] = frozenset()
    #: Object kinds found in the source that pgspec does not model.
    warnings: list[Warning] = []
    #: A short, password-free description of where this catalog came from.
    source: str = ""

    def objects(self, kind: str) -> dict[str, Any]:
        """The dictionary holding one kind, by its ``object_type`` name."""
        return getattr(self, KINDS[kind])

    def schema_names(self) -> set[str]:
        """Every schema any object of this catalog lives in."""
        found = set(self.schemas)
        for kind, attr in KINDS.items():
            if kind in ("schema", "extension"):
                continue
            for obj in getattr(self, attr).values():
                found.add(obj.schema_name)
        return found


class Difference(BaseModel):
    """One way two catalogs differ. ``missing`` = in expected, not in actual."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    object_type: str
    name: str
    change: Literal["missing", "unexpected", "changed"]
    attribute: str | None = None
    expected: Any = None
    actual: Any = None
    location: str | None = None
    #: Optional advice, e.g. that only a scratch server (``--dev-db``) can compare this exactly.
    hint: str | None = None
