"""Table constraints (primary key, unique, foreign key, check, exclude) from parse trees.

Unnamed constraints get the server's names (``pgspec.naming``), numbered past the names the
schema already holds as the server numbers them: a CHECK or foreign key past any constraint of
the schema (``ChooseConstraintName``), a primary key, unique or exclusion constraint past any
relation or constraint of the schema (``ChooseRelationName``, since its index takes the name
too); ``SchemaConstraints`` and ``RelationNames`` answer ``name in ...`` for them. NOT NULL
constraints are not Constraints but the column's ``not_null`` (catalog.py), and a primary key
makes its columns NOT NULL, as the server does.

Two kinds of object the Catalog does not list still hold names the server numbers past, and
``Unlisted`` remembers them: the sequence behind an identity column (a relation, which no
reader lists as a Sequence), and a NOT NULL constraint the script named (PostgreSQL 18 keeps
the name in pg_constraint: ``x int CONSTRAINT t_x_key NOT NULL UNIQUE`` makes ``t_x_key1``
there; earlier versions drop the name, and the replay follows 18 and says so where it matters).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from pglast import ast, enums

from pgspec import naming
from pgspec.catalog import Constraint, Index
from pgspec.errors import SqlError
from pgspec.normalize.expressions import figure_index_colname
from pgspec.normalize.opclasses import builtin, name_parts
from pgspec.quoting import qualified
from pgspec.sources.replay.opclasses import script_opclasses
from pgspec.sources.replay.resolve import expression_text, qualify
from pgspec.sources.replay.state import State, deparse, names_of

_ACTIONS = {
    "a": "no action",
    "r": "restrict",
    "c": "cascade",
    "n": "set null",
    "d": "set default",
}
_MATCH = {"s": "simple", "f": "full", "p": "partial"}

CT = enums.ConstrType


def referenced_columns(node: Any) -> list[str]:
    """Column names an expression refers to, in order of appearance (for CHECK names)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, ast.ColumnRef):
            fields = value.fields or ()
            if fields and isinstance(fields[-1], ast.String):
                found.append(fields[-1].sval)
            return
        if isinstance(value, ast.Node):
            for attr in value:
                walk(getattr(value, attr))
        elif isinstance(value, tuple | list):
            for item in value:
                walk(item)

    walk(node)
    return found


def set_not_null(state: State, table_key: str, columns: list[str]) -> None:
    table = state.table(table_key)
    if table is None:
        return
    cols = [c.model_copy(update={"not_null": True}) if c.name in columns else c
            for c in table.columns]
    state.update("tables", table_key, columns=cols)


def add_constraint(
    state: State, schema: str, table: str, node: ast.Constraint, column: str | None = None
) -> None:
    """Apply one constraint clause (column-level when ``column`` is given) to a table."""
    key = qualified(schema, table)
    kind = node.contype
    if kind == CT.CONSTR_NOTNULL:
        # PostgreSQL 18 names NOT NULL constraints (``CONSTRAINT x NOT NULL col``); pgspec keeps
        # them as the column attribute only.
        cols = [column] if column else names_of(node.keys)
        set_not_null(state, key, cols)
        if node.conname and cols:  # ``CONSTRAINT n NOT NULL col``: one column
            note_not_null(state, schema, table, cols[0], node.conname)
        return
    if kind in (CT.CONSTR_NULL, CT.CONSTR_DEFAULT, CT.CONSTR_IDENTITY, CT.CONSTR_GENERATED):
        return
    if kind in (CT.CONSTR_ATTR_DEFERRABLE, CT.CONSTR_ATTR_NOT_DEFERRABLE,
                CT.CONSTR_ATTR_DEFERRED, CT.CONSTR_ATTR_IMMEDIATE,
                CT.CONSTR_ATTR_ENFORCED, CT.CONSTR_ATTR_NOT_ENFORCED):
        return
    if node.indexname and kind in (CT.CONSTR_PRIMARY, CT.CONSTR_UNIQUE):
        adopt_index(state, schema, table, node)
    columns = [column] if column else names_of(node.keys)
    fields: dict[str, Any] = {
        "deferrable": bool(node.deferrable),
        "initially_deferred": bool(node.initdeferred),
    }
    if kind == CT.CONSTR_PRIMARY:
        ctype = "primary_key"
        name = node.conname or _generated(
            state, schema, table, True, lambda taken: naming.primary_key_name(table, taken))
        fields["include"] = names_of(node.including)
        # Only USING INDEX can give one (PostgreSQL 15 and 16 accept a NULLS NOT DISTINCT
        # index there; 17 and later refuse it).
        fields["nulls_not_distinct"] = bool(node.nulls_not_distinct)
        set_not_null(state, key, columns)
        state.primary_keys[key] = columns
    elif kind == CT.CONSTR_UNIQUE:
        ctype = "unique"
        fields["include"] = names_of(node.including)
        # The server names the index after its INCLUDE columns too (ChooseIndexColumnNames).
        name = node.conname or _generated(state, schema, table, True, lambda taken: (
            naming.unique_name(table, columns + fields["include"], taken)))
        fields["nulls_not_distinct"] = bool(node.nulls_not_distinct)
    elif kind == CT.CONSTR_CHECK:
        ctype = "check"
        expr = node.raw_expr
        if node.conname:
            name = node.conname
        else:
            table_obj = state.table(key)
            table_cols = {c.name for c in table_obj.columns} if table_obj else set()
            refs = [c for c in referenced_columns(expr) if c in table_cols or c == column]
            name = _generated(state, schema, table, False,
                              lambda taken: naming.check_name(table, refs, taken))
        fields["expression"] = expression_text(state, expr)
        fields["no_inherit"] = bool(node.is_no_inherit)
        columns = []
    elif kind == CT.CONSTR_FOREIGN:
        ctype = "foreign_key"
        columns = [column] if column else names_of(node.fk_attrs)
        name = node.conname or _generated(
            state, schema, table, False, lambda taken: naming.foreign_key_name(table, columns, taken))
        ref_schema, ref_table = state.relation_key(node.pktable)
        ref_key = qualified(ref_schema, ref_table)
        ref_cols = names_of(node.pk_attrs) or list(state.primary_keys.get(ref_key, []))
        fields.update(
            references=ref_key,
            references_columns=ref_cols,
            on_delete=_ACTIONS.get(node.fk_del_action, "no action"),
            on_update=_ACTIONS.get(node.fk_upd_action, "no action"),
            match=_MATCH.get(node.fk_matchtype, "simple"),
        )
    elif kind == CT.CONSTR_EXCLUSION:
        ctype = "exclude"
        elems = [pair[0] for pair in node.exclusions or () if isinstance(pair[0], ast.IndexElem)]
        fields["include"] = names_of(node.including)
        elem_names = [*(key_name(e) for e in elems), *fields["include"]]
        name = node.conname or _generated(
            state, schema, table, True, lambda taken: naming.exclusion_name(table, elem_names, taken))
        fields["definition"] = deparse(qualify(state, _without_name(node)))
        columns = [e.name for e in elems if e.name]
    else:
        state.warn("constraint", qualified(schema, table, node.conname or "?"),
                   f"constraint kind {kind.name} is not modelled by pgspec")
        return
    state.put(
        "constraints",
        Constraint(schema=schema, table=table, name=name, kind=ctype, columns=columns, **fields),
    )


def _generated(state: State, schema: str, table: str, relations: bool,
               choose: Callable[[Container[str]], str]) -> str:
    """The name ``choose`` picks for a constraint of ``schema.table`` past the names taken: any
    relation or constraint of the schema when ``relations`` (a primary key, unique or exclusion
    constraint, whose index shares the name), else any constraint of the schema.

    A NOT NULL constraint the script named counts as PostgreSQL 18 counts it; where that changes
    the name (earlier versions do not keep the name of a NOT NULL), a warning says so."""
    taken: Container[str] = (RelationNames(state, schema, True) if relations
                             else SchemaConstraints(state, schema))
    name = choose(taken)
    found = unlisted(state, False)
    if found is not None and found.not_null:
        other = choose(RelationNames(state, schema, True, not_null=False) if relations
                       else SchemaConstraints(state, schema, not_null=False))
        if other != name:
            state.warn("constraint", qualified(schema, table, name),
                       f"a NOT NULL constraint named {other!r} holds the name: PostgreSQL 18 "
                       f"names this constraint {name!r} (as pgspec does), earlier versions "
                       f"{other!r}")
    return name


def adopt_index(state: State, schema: str, table: str, node: ast.Constraint) -> None:
    """``ADD PRIMARY KEY / UNIQUE USING INDEX idx``: the index becomes the constraint's.

    As the server does (``transformIndexConstraint``, ``ATExecAddIndexConstraint``): the index
    is looked up in the table's schema; its key columns become the constraint's, its INCLUDE
    columns and NULLS NOT DISTINCT too; the constraint takes the index's name unless it has
    its own, and the index is renamed to it. pgspec, like the live reader, lists an index that
    backs a constraint as the constraint only, so the index leaves the catalog. The clause is
    completed in place (``keys``, ``including``, ``conname``) so that the caller goes on as for
    ``PRIMARY KEY (cols)``, NOT NULL on the columns included.

    The server refuses an index that would not be the one ``ADD PRIMARY KEY (cols)`` builds,
    and so does the replay, with the same reasons: not unique, on expressions, partial, not a
    btree, or a key with another sort order, collation or opclass than the column's default
    (an opclass is known to be another when it is a built-in or script-made one that is not
    DEFAULT; an explicit default opclass of another type is not checked).
    """
    if not state.keep(schema):
        node.conname = node.conname or node.indexname
        return  # neither the table nor its indexes are kept: nothing to check against
    name = node.indexname
    index: Index | None = state.objects["indexes"].get(qualified(schema, name))
    if index is None:
        owned = any(c.schema_name == schema and c.name == name
                    and c.kind in ("primary_key", "unique", "exclude")
                    for c in state.objects["constraints"].values())
        if owned:
            raise state.error(f"index {name!r} is already associated with a constraint")
        raise state.error(f"index {name!r} does not exist")
    if index.table != table:
        raise state.error(f"index {name!r} does not belong to table {qualified(schema, table)!r}")
    unusable = "cannot back a primary key or unique constraint"
    if not index.unique:
        raise state.error(f"index {name!r} is not a unique index: it {unusable}")
    if any(k.expression is not None for k in index.keys):
        raise state.error(f"index {name!r} contains expressions: it {unusable}")
    if index.where is not None:
        raise state.error(f"index {name!r} is a partial index: it {unusable}")
    if index.method != "btree":
        raise state.error(f"index {name!r} is not a btree: it {unusable}")
    table_obj = state.table(qualified(schema, table))
    for number, key in enumerate(index.keys, start=1):
        column = table_obj.column(key.column or "") if table_obj is not None else None
        collation = column.collation if column is not None else None
        if (key.order != "asc" or key.nulls is not None
                or (key.collation is not None and key.collation != (collation or "default"))
                or _other_opclass(state, key.opclass)):
            raise state.error(f"index {name!r} column number {number} does not have default "
                              f"sorting behavior: it {unusable}")
    if table_obj is not None and table_obj.partition_by is not None:
        raise state.error("ALTER TABLE / ADD CONSTRAINT USING INDEX is not supported on "
                          f"partitioned tables: {qualified(schema, table)!r}")
    if node.contype == CT.CONSTR_PRIMARY and any(
        c.kind == "primary_key" and c.schema_name == schema and c.table == table
        for c in state.objects["constraints"].values()
    ):
        raise state.error(f"multiple primary keys for table {qualified(schema, table)!r} "
                          "are not allowed")
    node.keys = tuple(ast.String(sval=k.column) for k in index.keys if k.column is not None)
    node.including = tuple(ast.String(sval=c) for c in index.include)
    node.nulls_not_distinct = index.nulls_not_distinct
    node.conname = node.conname or name
    del state.objects["indexes"][index.key]


def _other_opclass(state: State, opclass: str | None) -> bool:
    """Whether a key's opclass is certainly not the default for its column: a built-in one
    that is no type's default (``text_pattern_ops``), or one the script created without
    DEFAULT."""
    if opclass is None:
        return False
    parts = name_parts(opclass) if "." in opclass or '"' in opclass else (opclass,)
    if len(parts) == 1:
        # Bare: a built-in one (the replay qualifies every other it can place), or one it
        # could not place, of which nothing is known.
        return builtin("btree", parts[0]) is False
    return len(parts) == 2 and script_opclasses(state).get(("btree", *parts)) is False


def key_name(elem: ast.IndexElem) -> str:
    """The name of an index column before names are made distinct (``ChooseIndexColumnNames``),
    for CREATE INDEX's keys and INCLUDE columns as for an exclusion constraint's elements: the
    column's, else the expression's as ``FigureIndexColname`` figures it (``lower(x)`` is
    ``lower``, ``code::varchar`` is ``code``, ``int4range(a, b)`` is ``int4range``), else
    ``expr``."""
    if elem.indexcolname:
        return elem.indexcolname
    if elem.name:
        return elem.name
    return figure_index_colname(elem.expr) or "expr"


# --------------------------------------------------------------------------- names taken

#: The kinds whose objects are relations (pg_class): what an index's name must not repeat.
RELATION_KINDS = ("tables", "views", "materialized_views", "sequences", "indexes",
                  "composite_types")
#: Constraints that have an index of the same name (a relation of their schema).
INDEX_CONSTRAINTS = frozenset({"primary_key", "unique", "exclude"})


class _NameIndex:
    """The keys of a replay's constraints by ``(schema, name)``, kept up to date cheaply.

    Asking "is any constraint of the schema named so?" for every generated name would scan
    every constraint each time: minutes for a script of thousands of tables. The index is
    brought up to date before each question from the dictionary itself (statements add,
    replace and remove constraints in many modules): a dictionary keeps insertion order, so
    the keys after the last one seen are the new ones; a key's name never changes (a
    constraint is keyed by its schema, table and name, and a rename re-keys it). It starts
    afresh when the dictionary is another (a ROLLBACK restores a copy) or its last entry seen
    was removed or replaced. A key found is checked against the dictionary, so removals
    need no bookkeeping.
    """

    def __init__(self) -> None:
        self.source: dict[str, Constraint] | None = None
        self.last: tuple[str, Constraint] | None = None
        self.keys: dict[tuple[str, str], set[str]] = {}

    def named(self, constraints: dict[str, Constraint], schema: str, name: str
              ) -> list[Constraint]:
        self._sync(constraints)
        found = []
        for key in self.keys.get((schema, name), ()):
            con = constraints.get(key)
            if con is not None and con.name == name and con.schema_name == schema:
                found.append(con)
        return found

    def _sync(self, constraints: dict[str, Constraint]) -> None:
        last = self.last
        if constraints is not self.source or (
                last is not None and constraints.get(last[0]) is not last[1]):
            self.source, self.keys = constraints, {}
            new = list(constraints.items())
        else:
            new = []
            for key in reversed(constraints):
                if last is not None and key == last[0]:
                    break
                new.append((key, constraints[key]))
        for key, con in new:
            self.keys.setdefault((con.schema_name, con.name), set()).add(key)
        self.last = next(reversed(constraints.items()), None)


#: One index per replay (a State is never copied, only its dictionaries are).
_NAME_INDEXES: weakref.WeakKeyDictionary[State, _NameIndex] = weakref.WeakKeyDictionary()


def constraint_named(state: State, schema: str, name: str, kinds: Container[str] | None = None,
                     not_null: bool = True) -> bool:
    """Whether a constraint of ``schema`` (any table's, or a domain's CHECK) is named ``name``,
    of one of ``kinds`` when given (a domain's CHECK is of kind ``check``); with ``kinds``
    None and ``not_null``, a NOT NULL constraint the script named counts too (``Unlisted``)."""
    index = _NAME_INDEXES.get(state)
    if index is None:
        index = _NAME_INDEXES[state] = _NameIndex()
    if any(kinds is None or con.kind in kinds
           for con in index.named(state.objects["constraints"], schema, name)):
        return True
    if kinds is not None and "check" not in kinds:
        return False
    if any(name in domain.checks for domain in state.objects["domains"].values()
           if domain.schema_name == schema):
        return True
    found = state.__dict__.get(_UNLISTED)
    return (kinds is None and not_null and found is not None
            and found.holds(state, found.not_null, schema, name, "not_null"))


@dataclass(frozen=True)
class SchemaConstraints:
    """The constraint names of a schema, as ``name in ...`` asks of them: what a CHECK's or a
    foreign key's generated name must not repeat (``ChooseConstraintName`` asks pg_constraint
    for the schema, every table's and domain's constraints, and on PostgreSQL 18 the NOT NULL
    constraints the script named; ``not_null=False`` leaves those out, as earlier versions
    do)."""

    state: State
    schema: str
    not_null: bool = True

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and constraint_named(self.state, self.schema, name,
                                                          not_null=self.not_null)


@dataclass(frozen=True)
class RelationNames:
    """The relation names of a schema, as ``name in ...`` asks of them: what a generated index
    or sequence name must not repeat (``ChooseRelationName``): a table, view, materialized
    view, sequence, composite type or index, the indexes of primary keys, unique and
    exclusion constraints included, those of partitions that belong to their parent's
    (``partitions.hidden_relation``) and the sequences of identity columns (``Unlisted``).
    With ``constraints``, for the index of a primary key, unique or exclusion constraint,
    every constraint name of the schema too (``ConstraintNameExists``), NOT NULL constraints
    the script named included unless ``not_null`` is False (``SchemaConstraints``)."""

    state: State
    schema: str
    constraints: bool = False
    not_null: bool = True

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = qualified(self.schema, name)
        objects = self.state.objects
        if any(key in objects[plural] for plural in RELATION_KINDS):
            return True
        if constraint_named(self.state, self.schema, name,
                            None if self.constraints else INDEX_CONSTRAINTS, self.not_null):
            return True
        found = self.state.__dict__.get(_UNLISTED)
        if found is not None and found.holds(self.state, found.identity, self.schema, name,
                                             "identity"):
            return True
        if self.state.inheritance is None:
            return False
        # The indexes partitions have for their parent's, which the Catalog does not list.
        from pgspec.sources.replay.partitions import hidden_relation

        return hidden_relation(self.state, self.schema, name)


# --------------------------------------------------------------------------- names unlisted

_UNLISTED = "unlisted_names"


@dataclass
class Unlisted:
    """Names held by objects the Catalog does not list, which the server numbers past.

    ``identity``: the sequence of each identity column (``ChooseRelationName`` names it as a
    serial column's; the live reader leaves it out, deptype 'i', and so does the Catalog).
    ``not_null``: each NOT NULL constraint the script named (PostgreSQL 18's pg_constraint
    holds it; a generated one, ``t_x_not_null``, can never repeat a CHECK's, key's or foreign
    key's generated name, whose labels differ, so only named ones matter).

    Both map a table's key to its columns' names, with ``by_name`` the other way. A name
    counts while its column still has the identity or the NOT NULL (``holds``), so what drops a
    column or a table, anywhere in the replay, needs no bookkeeping here; what would bring a
    column back with another name (DROP NOT NULL then SET NOT NULL, a table made again) calls
    ``forget``. Kept in the State's attributes, so a ROLLBACK restores it with the rest.
    """

    identity: dict[str, dict[str, str]] = field(default_factory=dict)
    not_null: dict[str, dict[str, str]] = field(default_factory=dict)
    by_name: dict[str, set[tuple[str, str]]] = field(default_factory=dict)

    def note(self, names: dict[str, dict[str, str]], table_key: str, column: str,
             name: str) -> None:
        names.setdefault(table_key, {})[column] = name
        self.by_name.setdefault(name, set()).add((table_key, column))

    def holds(self, state: State, names: dict[str, dict[str, str]], schema: str, name: str,
              attribute: str) -> bool:
        """Whether a column of ``schema`` still holds ``name`` in ``names``: it has the
        identity (``attribute`` "identity") or the NOT NULL ("not_null") that made it."""
        for table_key, column_name in self.by_name.get(name, ()):
            if names.get(table_key, {}).get(column_name) != name:
                continue
            table = state.objects["tables"].get(table_key)
            if table is None or table.schema_name != schema:
                continue
            column = table.column(column_name)
            if column is not None and getattr(column, attribute):
                return True
        return False

    def forget(self, table_key: str, column: str | None = None) -> None:
        for names in (self.identity, self.not_null):
            if column is None:
                names.pop(table_key, None)
            else:
                names.get(table_key, {}).pop(column, None)

    def renamed(self, state: State, old_key: str, new_key: str, column: str | None,
                new_column: str | None) -> None:
        """A table renamed or moved (``column`` None), or a column renamed: the names move
        with their owner (an identity sequence follows its table to another schema). An
        identity sequence renamed itself is found by its key and takes its new name."""
        moved = False
        for names in (self.identity, self.not_null):
            if column is None:
                columns = names.pop(old_key, None)
                for col, name in (columns or {}).items():
                    self.note(names, new_key, col, name)
                moved = moved or columns is not None
            elif new_column is not None and column in names.get(old_key, {}):
                self.note(names, new_key, new_column, names[old_key].pop(column))
        if moved or column is not None or any(
                old_key in state.objects[plural] for plural in RELATION_KINDS):
            return
        for table_key, columns in self.identity.items():
            table = state.objects["tables"].get(table_key)
            for col, name in list(columns.items()):
                if table is not None and qualified(table.schema_name, name) == old_key:
                    self.note(self.identity, table_key, col, _relation_name(new_key))


def _relation_name(key: str) -> str:
    """The bare name of a relation key (``public."My seq"`` -> ``My seq``), read by the
    grammar."""
    import pglast

    stmt = pglast.parse_sql(f"SELECT FROM {key}")[0].stmt
    return stmt.fromClause[0].relname


@overload
def unlisted(state: State) -> Unlisted: ...
@overload
def unlisted(state: State, create: Literal[False]) -> Unlisted | None: ...


def unlisted(state: State, create: bool = True) -> Unlisted | None:
    """The replay's ``Unlisted`` names, made when first needed; None when none were noted
    and ``create`` is False (a script without identity columns nor named NOT NULLs pays
    nothing)."""
    found: Unlisted | None = state.__dict__.get(_UNLISTED)
    if found is None and create:
        found = state.__dict__[_UNLISTED] = Unlisted()
    return found


def note_identity(state: State, schema: str, table: str, column: str,
                  options: Any = None) -> str:
    """The name of the sequence an identity column gets (its ``SEQUENCE NAME`` option, else
    ``ChooseRelationName``'s), remembered as taken."""
    name = None
    for option in options or ():
        if isinstance(option, ast.DefElem) and option.defname == "sequence_name":
            name = names_of(option.arg)[-1]
    if name is None:
        name = naming.sequence_name(table, column, RelationNames(state, schema))
    if state.keep(schema):
        found = unlisted(state)
        found.note(found.identity, qualified(schema, table), column, name)
    return name


def note_not_null(state: State, schema: str, table: str, column: str, name: str) -> None:
    """A NOT NULL constraint the script named, whose name PostgreSQL 18 keeps."""
    if state.keep(schema):
        found = unlisted(state)
        found.note(found.not_null, qualified(schema, table), column, name)


def _index_signature(node: ast.Constraint, column: str | None) -> tuple[Any, ...]:
    """What PostgreSQL compares to call two index constraints of one CREATE TABLE the same
    (parse_utilcmd.c, transformIndexConstraints): columns in order, INCLUDE, NULLS NOT
    DISTINCT, deferrability; not the kind (PRIMARY KEY or UNIQUE) nor the name."""
    return (
        tuple([column] if column else names_of(node.keys)),
        tuple(names_of(node.including)),
        bool(node.nulls_not_distinct),
        bool(node.deferrable),
        bool(node.initdeferred),
    )


def fold_redundant_indexes(
    pending: list[tuple[ast.Constraint, str | None]],
) -> list[tuple[ast.Constraint, str | None]]:
    """The constraint clauses of a CREATE TABLE as the server keeps them, in the order it
    creates them.

    Inside CREATE TABLE (only there: ALTER TABLE ADD keeps both) PostgreSQL drops a PRIMARY KEY
    or UNIQUE that repeats an earlier one, the primary key counting as first wherever it is
    written; when the one kept has no name of its own it takes the dropped one's
    (``a uuid PRIMARY KEY, CONSTRAINT c UNIQUE (a)`` makes one primary key named ``c``).

    The order matters to the names the server chooses, each numbered past those made before
    it: CHECKs come with the table (DefineRelation), then the primary key's index, then the
    other unique and exclusion indexes as written (transformIndexConstraints), foreign keys
    last (transformFKConstraints). ``a int UNIQUE, CONSTRAINT t_a_key CHECK (a > 0)`` makes
    ``t_a_key1`` for the unique constraint, wherever the CHECK is written.
    """
    index_kinds = (CT.CONSTR_PRIMARY, CT.CONSTR_UNIQUE)
    for con, _ in pending:
        if con.contype in index_kinds and con.indexname:
            # transformIndexConstraint: USING INDEX belongs to ALTER TABLE only.
            raise SqlError(f"cannot use an existing index in CREATE TABLE: {con.indexname!r}")
    primary = [item for item in pending if item[0].contype == CT.CONSTR_PRIMARY]
    kept: list[tuple[ast.Constraint, str | None]] = primary[:1]
    dropped: set[int] = set()
    for item in pending:
        con, column = item
        if con.contype not in index_kinds or (primary and item is primary[0]):
            continue
        signature = _index_signature(con, column)
        prior = next((k for k in kept if _index_signature(*k) == signature), None)
        if prior is None:
            kept.append(item)
            continue
        if prior[0].conname is None and con.conname is not None:
            prior[0].conname = con.conname
        dropped.add(id(con))

    def phase(item: tuple[ast.Constraint, str | None]) -> int:
        kind = item[0].contype
        if kind == CT.CONSTR_FOREIGN:
            return 3
        if primary and item is primary[0]:
            return 1
        return 2 if kind in (*index_kinds, CT.CONSTR_EXCLUSION) else 0

    return sorted((item for item in pending if id(item[0]) not in dropped), key=phase)


def _without_name(node: ast.Constraint) -> ast.Constraint:
    """The constraint clause without ``CONSTRAINT name``, as pg_get_constraintdef prints it."""
    clone = ast.Constraint(node())
    clone.conname = None
    clone.location = None
    return clone
