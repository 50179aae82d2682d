"""Indexes and constraints a partitioned table shares with its partitions, as the server keeps them.

A partitioned table's primary keys, unique and exclusion constraints, indexes and foreign keys
reach every partition. The server gives each partition an object of its own that belongs to the
parent's: an index attached to the parent's index (``pg_inherits``, ``relispartition``), a
constraint with ``conparentid`` set. Every reader, the live one included, lists the parent's
object only; so does the replay. Where the partition already has a matching object the server
takes it over instead of making a new one, and the partition's own object disappears from
view just the same:

* ATTACH PARTITION (``AttachPartitionEnsureIndexes``, ``CloneFkReferencing`` in tablecmds.c):
  for each index of the parent, the first index of the partition (in creation order) that
  ``CompareIndexInfo`` calls equal: unique or not, method, key columns and expressions,
  opclasses (their families), collations, INCLUDE columns, predicate, NULLS NOT DISTINCT,
  exclusion operators. Not the sort order, nor deferrability (both verified on PostgreSQL 15
  and 18). A parent's constraint wants a partition's constraint, and PostgreSQL 18 one of the
  same kind (15 attaches a primary key to a parent's unique constraint; the replay follows 18
  and says so). A plain index of the partition never serves a parent's constraint; a
  constraint's index may serve a parent's plain index, and then the constraint stays the
  partition's own. A foreign key is taken over when it names the same columns, referenced
  table and columns, actions, MATCH and deferrability (``tryAttachPartitionForeignKey``).
* CREATE INDEX and ALTER TABLE ... ADD CONSTRAINT on a partitioned table that has partitions
  (``DefineIndex`` and ``addFkRecurseReferencing`` recursing): the same search in each
  partition, except that the kinds of constraint need not agree (verified on 15 and 18).
* CREATE TABLE ... PARTITION OF: the partition gets its copies first, so nothing of its own is
  taken over, and its own unnamed constraints are numbered past its copies' names
  (``UNIQUE (a, b)`` of a partition ``p1`` of a table with the same one is ``p1_a_b_key1``).

Where nothing matches, the server makes the partition's object, named as an unnamed index or
constraint of the partition would be (a foreign key keeps the parent's name when the partition
has no constraint of that name). The replay keeps these, and the objects it took over, out of
the Catalog in ``Inheritance.clones``: a partitioned partition hands them on to its own
partitions, and DETACH PARTITION gives them back to the table as its own, as the server does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast

from pgspec import naming
from pgspec.catalog import Constraint, Index, IndexKey, Table
from pgspec.normalize.expressions import figure_index_colname
from pgspec.normalize.opclasses import name_parts
from pgspec.quoting import qualified
from pgspec.sources.replay import collations, indexes
from pgspec.sources.replay.state import State

#: Constraints backed by an index of the same name.
_INDEXED = ("primary_key", "unique", "exclude")
#: What a partition takes from its parent: constraints of these kinds, and every index.
_SHARED = (*_INDEXED, "foreign_key")


@dataclass(frozen=True)
class Clone:
    """A partition's index or constraint that belongs to its parent's, out of the Catalog
    while the partition is attached. ``parent`` names the parent's object as
    ``(plural, schema, table, name)``, which table renames keep current."""

    plural: str
    obj: Any
    parent: tuple[str, str, str, str]

    @property
    def table(self) -> tuple[str, str]:
        return self.obj.schema_name, self.obj.table

    @property
    def relation(self) -> str | None:
        """``schema.name`` of the index it is or has (pg_class), None for a foreign key."""
        if self.plural == "indexes" or self.obj.kind in _INDEXED:
            return qualified(self.obj.schema_name, self.obj.name)
        return None


@dataclass
class Clones:
    """Every Clone by ``(plural, key)``, with what lookups need kept in step: the clones of
    each table (``(schema, table)``) in creation order, and the relation names they hold."""

    by_key: dict[tuple[str, str], Clone] = field(default_factory=dict)
    by_table: dict[tuple[str, str], dict[tuple[str, str], None]] = field(default_factory=dict)
    relations: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, clone: Clone) -> None:
        ckey = (clone.plural, clone.obj.key)
        self.by_key[ckey] = clone
        self.by_table.setdefault(clone.table, {})[ckey] = None
        if clone.relation is not None:
            self.relations[clone.relation] = ckey

    def remove(self, ckey: tuple[str, str]) -> Clone | None:
        clone = self.by_key.pop(ckey, None)
        if clone is not None:
            self.by_table.get(clone.table, {}).pop(ckey, None)
            if clone.relation is not None and self.relations.get(clone.relation) == ckey:
                del self.relations[clone.relation]
        return clone

    def of_table(self, table: tuple[str, str]) -> list[Clone]:
        return [self.by_key[k] for k in self.by_table.get(table, ())]


def _ref(plural: str, obj: Any) -> tuple[str, str, str, str]:
    return (plural, obj.schema_name, obj.table, obj.name)


def _ref_key(ref: tuple[str, str, str, str]) -> tuple[str, str]:
    plural, schema, table, name = ref
    return plural, qualified(schema, table, name) if plural == "constraints" else qualified(schema, name)


# --------------------------------------------------------------------------- bookkeeping


def _clones(state: State) -> Clones:
    """``Inheritance.clones``, made with the inheritance facts."""
    from pgspec.sources.replay.tables import inheritance

    return inheritance(state).clones


_NONE = Clones()


def _all_clones(state: State) -> Clones:
    return state.inheritance.clones if state.inheritance is not None else _NONE


def _partitions(state: State, table: Table) -> list[Table]:
    if not table.partition_by:
        return []
    return [t for t in state.objects["tables"].values() if t.partition_of == table.key]


def _lookup(state: State, ref: tuple[str, str, str, str]) -> Any:
    """The object a reference names, in the Catalog or kept out of it; None if dropped."""
    plural, key = _ref_key(ref)
    found = state.objects[plural].get(key)
    if found is None:
        clone = _all_clones(state).by_key.get((plural, key))
        found = clone.obj if clone is not None else None
    return found


def hidden_relation(state: State, schema: str, name: str) -> bool:
    """Whether ``schema.name`` is a relation the replay keeps out of the Catalog: the index of
    a partition that belongs to its parent's (a primary key's, unique's or exclusion's index
    has the constraint's name). A name the server chooses for an index must not repeat it
    (``ChooseRelationName`` sees every pg_class row)."""
    clones = _all_clones(state)
    ckey = clones.relations.get(qualified(schema, name))
    if ckey is None:
        return False
    clone = clones.by_key[ckey]
    return qualified(*clone.table) in state.objects["tables"]


@dataclass(frozen=True)
class HiddenNames:
    """The relation names of a schema kept out of the Catalog, as ``name in ...`` asks of
    them (``hidden_relation``, one lookup each)."""

    state: State
    schema: str

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and hidden_relation(self.state, self.schema, name)


def hidden_names(state: State, schema: str) -> HiddenNames:
    """``name in hidden_names(state, schema)``: whether an index name of ``schema`` is taken
    by a partition's index that the Catalog does not list."""
    return HiddenNames(state, schema)


class _Taken:
    """Names an index of ``schema`` must not take, as ``name in ...`` asks of them: every
    relation of the schema, those kept out of the Catalog included, and the indexes of
    primary keys, unique and exclusion constraints (with ``constraints``, every constraint
    name of the schema: ``ConstraintNameExists``)."""

    def __init__(self, state: State, schema: str, constraints: bool) -> None:
        self.state, self.schema, self.constraints = state, schema, constraints
        self.made: set[str] = set()

    def __contains__(self, name: object) -> bool:
        from pgspec.sources.replay.constraints import RELATION_KINDS, constraint_named

        if not isinstance(name, str):
            return False
        key = qualified(self.schema, name)
        objects = self.state.objects
        return (name in self.made
                or any(key in objects[plural] for plural in RELATION_KINDS)
                or hidden_relation(self.state, self.schema, name)
                or constraint_named(self.state, self.schema, name,
                                    None if self.constraints else _INDEXED))


class _Statement:
    """What one statement's matching needs: the visible constraints and indexes of the tables
    it touches, gathered in one pass over the replay's objects (a script creating thousands
    of partitions must not scan everything once per partition and per object), and what it
    took over already."""

    def __init__(self, state: State, tables: list[Table]) -> None:
        self.state = state
        self.constraints: dict[tuple[str, str], list[Constraint]] = {}
        self.indexes: dict[tuple[str, str], list[Index]] = {}
        self.used: set[tuple[str, str]] = set()
        self._gather([(t.schema_name, t.name) for t in tables])

    def _gather(self, tables: list[tuple[str, str]]) -> None:
        wanted = set(tables) - set(self.constraints)
        if not wanted:
            return
        for table in wanted:
            self.constraints[table], self.indexes[table] = [], []
        for con in self.state.objects["constraints"].values():
            at = (con.schema_name, con.table)
            if at in wanted:
                self.constraints[at].append(con)
        for idx in self.state.objects["indexes"].values():
            at = (idx.schema_name, idx.table)
            if at in wanted:
                self.indexes[at].append(idx)

    def shared(self, table: Table) -> list[tuple[str, Any]]:
        """A table's objects its partitions take, its own then those it holds as a
        partition, in creation order within each kind."""
        at = (table.schema_name, table.name)
        self._gather([at])
        found: list[tuple[str, Any]] = [("constraints", c) for c in self.constraints[at]
                                        if c.kind in _SHARED]
        found += [("indexes", i) for i in self.indexes[at]]
        found += [(c.plural, c.obj) for c in _all_clones(self.state).of_table(at)
                  if c.plural == "indexes" or c.obj.kind in _SHARED]
        return found

    def candidates(self, table: Table) -> tuple[list[Constraint], list[Index]]:
        """A partition's own constraints and indexes that nothing has taken over yet."""
        at = (table.schema_name, table.name)
        self._gather([at])
        return ([c for c in self.constraints[at] if ("constraints", c.key) not in self.used],
                [i for i in self.indexes[at] if ("indexes", i.key) not in self.used])


# --------------------------------------------------------------------------- matching


def _index_shape(obj: Any) -> tuple[Any, ...] | None:
    """What ``CompareIndexInfo`` compares of an index (a constraint's index for a primary key
    or unique constraint): not the sort order. None for an exclusion constraint, whose index
    only another exclusion constraint matches."""
    if isinstance(obj, Index):
        keys = tuple((k.column, k.expression, k.opclass, k.collation) for k in obj.keys)
        return (obj.unique, obj.method, keys, tuple(obj.include), obj.where,
                obj.nulls_not_distinct)
    if obj.kind in ("primary_key", "unique"):
        keys = tuple((c, None, None, None) for c in obj.columns)
        return (True, "btree", keys, tuple(obj.include), None, obj.nulls_not_distinct)
    return None


def _fk_shape(con: Constraint) -> tuple[Any, ...]:
    return (tuple(con.columns), con.references, tuple(con.references_columns), con.on_delete,
            con.on_update, con.match, con.deferrable, con.initially_deferred)


def _label(kind: str) -> str:
    return kind.replace("_", " ")


def _match(run: _Statement, plural: str, parent_obj: Any, child: Table, attach: bool
           ) -> tuple[str, Any] | None:
    """The partition's object the server takes over for ``parent_obj``, or None.

    ``("constraints", con)`` for a parent's plain index means the constraint's index was
    taken: the constraint stays the partition's own.
    """
    cons, idxs = run.candidates(child)
    if plural == "constraints" and parent_obj.kind == "foreign_key":
        fk = _fk_shape(parent_obj)
        return next((("constraints", c) for c in cons
                     if c.kind == "foreign_key" and _fk_shape(c) == fk), None)
    if plural == "constraints" and parent_obj.kind == "exclude":
        return next((("constraints", c) for c in cons if c.kind == "exclude"
                     and c.definition == parent_obj.definition
                     and c.include == parent_obj.include), None)
    shape = _index_shape(parent_obj)
    if plural == "constraints":
        same = [c for c in cons if c.kind in ("primary_key", "unique") and _index_shape(c) == shape]
        for con in same:
            if not attach or con.kind == parent_obj.kind:
                return "constraints", con
        if same:
            run.state.warn("constraint", same[0].key,
                           f"ATTACH PARTITION: the partition's {_label(same[0].kind)} matches "
                           f"the parent's {_label(parent_obj.kind)} {parent_obj.name!r}: "
                           "PostgreSQL 15 attaches it to the parent's, 18 (and pgspec) keeps "
                           "it and gives the partition a copy of the parent's")
        return None
    by_constraint = next((c for c in cons if c.kind in ("primary_key", "unique")
                          and _index_shape(c) == shape), None)
    by_index = next((i for i in idxs if _index_shape(i) == shape), None)
    if by_constraint is not None and by_index is not None:
        run.state.warn("index", by_index.key,
                       f"this index and constraint {by_constraint.name!r} both match the "
                       f"parent's index {parent_obj.name!r}: the server attaches the one "
                       "created first, pgspec the constraint's")
    if by_constraint is not None:
        return "constraints", by_constraint
    if by_index is not None:
        return "indexes", by_index
    return None


# --------------------------------------------------------------------------- copies


def _key_name(key: IndexKey) -> str:
    """The name the server gives an index column (FigureIndexColname): the column's, else
    the expression's as an unaliased SELECT would name it, else ``expr``."""
    if key.column:
        return key.column
    try:
        node: Any = pglast.parse_sql(f"SELECT {key.expression}")[0].stmt.targetList[0].val
    except pglast.parser.ParseError:
        return "expr"
    return figure_index_colname(node) or "expr"


def _index_name(table: str, columns: list[str], label: str, taken: _Taken) -> str:
    """``ChooseIndexName``: ``label`` is ``pkey`` (after the table alone), ``key``, ``excl``
    or ``idx``, numbered past ``taken``."""
    name = naming.choose_index_name(table, columns, label, taken)
    taken.made.add(name)
    return name


def _copy(run: _Statement, plural: str, parent_obj: Any, child: Table) -> Any:
    """The partition's object the server makes for ``parent_obj`` when it has none to take."""
    schema = child.schema_name
    update: dict[str, Any] = {"schema_name": schema, "table": child.name, "comment": None,
                              "location": None}
    if plural == "indexes":
        columns = [_key_name(k) for k in parent_obj.keys] + parent_obj.include
        update["name"] = _index_name(child.name, columns, "idx", _Taken(run.state, schema, False))
    elif parent_obj.kind == "foreign_key":
        # CloneFkReferencing keeps the parent's name unless the partition has a constraint of
        # that name; PostgreSQL 18 then numbers it (``name_1``), 15 names it as an unnamed
        # foreign key of the partition.
        at = (schema, child.name)
        run.candidates(child)
        own = {c.name for c in run.constraints[at]}
        own.update(c.obj.name for c in _all_clones(run.state).of_table(at)
                   if c.plural == "constraints")
        update["name"] = naming.choose_constraint_name(parent_obj.name, None, "", own)
    else:
        label = {"primary_key": "pkey", "unique": "key", "exclude": "excl"}[parent_obj.kind]
        update["name"] = _index_name(child.name, [*parent_obj.columns, *parent_obj.include],
                                     label, _Taken(run.state, schema, True))
    return parent_obj.model_copy(update=update)


# --------------------------------------------------------------------------- the operations


def _reach(run: _Statement, plural: str, parent_obj: Any, child: Table, attach: bool) -> None:
    """One parent object reaching one partition: taken over or copied; a copy in a
    partitioned partition reaches its partitions in turn (DefineIndex recursing)."""
    state = run.state
    found = _match(run, plural, parent_obj, child, attach)
    if found is not None:
        found_plural, obj = found
        run.used.add((found_plural, obj.key))
        if found_plural == plural:
            state.objects[plural].pop(obj.key, None)
            _clones(state).add(Clone(plural, obj, _ref(plural, parent_obj)))
        return
    copy = _copy(run, plural, parent_obj, child)
    _clones(state).add(Clone(plural, copy, _ref(plural, parent_obj)))
    for grandchild in _partitions(state, child):
        _reach(run, plural, copy, grandchild, False)


def attach(state: State, parent_key: str, child_key: str) -> None:
    """ALTER TABLE parent ATTACH PARTITION child: the parent's indexes, index constraints and
    foreign keys reach the new partition."""
    parent, child = state.table(parent_key), state.table(child_key)
    if parent is None or child is None:
        return
    run = _Statement(state, [parent, child])
    shared = run.shared(parent)
    # Indexes first, then foreign keys: AttachPartitionEnsureIndexes runs before
    # CloneForeignKeyConstraints.
    for plural, obj in shared:
        if plural == "indexes" or obj.kind in _INDEXED:
            _reach(run, plural, obj, child, True)
    for plural, obj in shared:
        if plural == "constraints" and obj.kind == "foreign_key":
            _reach(run, plural, obj, child, True)


def created(state: State, plural: str, key: str) -> None:
    """A new index or constraint of a partitioned table (CREATE INDEX, ADD CONSTRAINT, without
    ONLY) reaching the partitions the table has."""
    obj = state.objects[plural].get(key)
    if obj is None or (plural == "constraints" and obj.kind not in _SHARED):
        return
    table = state.table(obj.table_key)
    partitions = _partitions(state, table) if table is not None else []
    if partitions:
        run = _Statement(state, partitions)
        for child in partitions:
            _reach(run, plural, obj, child, False)


def new_partition(state: State, parent_key: str, child_key: str,
                  pending: list[tuple[ast.Constraint, str | None]]) -> None:
    """CREATE TABLE ... PARTITION OF: the partition's copies of its parent's objects, made
    before its own constraints (which therefore never stand in for them); its own unnamed
    primary key and unique constraints are named past the copies' names, as on the server."""
    from pgspec.sources.replay.constraints import CT

    parent, child = state.table(parent_key), state.table(child_key)
    if parent is None or child is None:
        return
    run = _Statement(state, [parent, child])
    shared = run.shared(parent)
    if not shared:
        return
    for plural, obj in shared:
        copy = _copy(run, plural, obj, child)
        _clones(state).add(Clone(plural, copy, _ref(plural, obj)))
    taken = _Taken(state, child.schema_name, True)
    for con, column in pending:
        if con.conname or con.contype not in (CT.CONSTR_PRIMARY, CT.CONSTR_UNIQUE):
            continue
        columns = [column] if column else [n.sval for n in con.keys or ()]
        if con.contype == CT.CONSTR_UNIQUE:
            columns += [n.sval for n in con.including or ()]
        label = "pkey" if con.contype == CT.CONSTR_PRIMARY else "key"
        con.conname = _index_name(child.name, columns, label, taken)


def detach(state: State, parent_key: str, child_key: str) -> None:
    """DETACH PARTITION: what the partition held for its parent becomes its own again (the
    server clears conparentid and detaches the indexes; foreign keys stay, now local)."""
    clones = _all_clones(state)
    child = state.table(child_key)
    if child is None:
        return
    for clone in clones.of_table((child.schema_name, child.name)):
        parent_obj = _lookup(state, clone.parent)
        if parent_obj is None or parent_obj.table_key != parent_key:
            continue
        clones.remove((clone.plural, clone.obj.key))
        state.objects[clone.plural][clone.obj.key] = clone.obj


def dropped(state: State, plural: str, key: str) -> None:
    """The parent's object dropped (ALTER TABLE ... DROP CONSTRAINT): what partitions held
    for it goes along, theirs by origin or not."""
    clones = _all_clones(state)
    if not clones.by_key:
        return
    todo = [(plural, key)]
    while todo:
        gone = todo.pop()
        for ckey, clone in list(clones.by_key.items()):
            if _ref_key(clone.parent) == gone:
                clones.remove(ckey)
                todo.append(ckey)


def renamed_table(state: State, old_key: str, new_key: str) -> None:
    """A table renamed or moved: what its partitions hold for it, and what it holds for its
    parent, follow (the kept objects' own names stay, as on the server)."""
    clones = _all_clones(state)
    if not clones.by_key:
        return
    parts = name_parts(new_key)
    if len(parts) != 2:
        return
    schema, name = parts
    for ckey, clone in list(clones.by_key.items()):
        plural, p_schema, p_table, p_name = clone.parent
        parent = clone.parent
        if qualified(p_schema, p_table) == old_key:
            parent = (plural, schema, name, p_name)
        obj = clone.obj
        if obj.table_key == old_key:
            obj = obj.model_copy(update={"schema_name": schema, "table": name})
        if parent != clone.parent or obj is not clone.obj:
            clones.remove(ckey)
            clones.add(Clone(clone.plural, obj, parent))


def renamed_column(state: State, table_key: str, old: str, new: str) -> None:
    """A column renamed: the kept objects of its table name it anew, and so do foreign keys
    kept for partitions that reference it."""
    clones = _all_clones(state)

    def swap(names: list[str]) -> list[str]:
        return [new if n == old else n for n in names]

    for ckey, clone in list(clones.by_key.items()):
        obj, update = clone.obj, dict[str, Any]()
        if obj.table_key == table_key:
            update["include"] = swap(obj.include)
            if isinstance(obj, Index):
                update["keys"] = [k.model_copy(update={"column": new}) if k.column == old else k
                                  for k in obj.keys]
            else:
                update["columns"] = swap(obj.columns)
        if isinstance(obj, Constraint) and obj.references == table_key:
            update["references_columns"] = swap(obj.references_columns)
        if update:
            clones.remove(ckey)
            clones.add(Clone(clone.plural, obj.model_copy(update=update), clone.parent))


def create_index(state: State, stmt: ast.IndexStmt) -> None:
    """CREATE INDEX (``replay.indexes``), its COLLATE names resolved (``replay.collations``),
    reaching the partitions of a partitioned table unless ON ONLY was written (the server
    then makes an invalid index on the parent alone, to which pg_dump attaches the
    partitions' with ALTER INDEX ... ATTACH PARTITION)."""
    collations.qualify_index(state, stmt)
    table = None
    if stmt.relation.inh and state.inheritance is not None:
        table = state.table(qualified(*state.relation_key(stmt.relation)))
    if table is None or not _partitions(state, table):
        indexes.create_index(state, stmt)
        return
    before = set(state.objects["indexes"])
    indexes.create_index(state, stmt)
    for key in set(state.objects["indexes"]) - before:
        created(state, "indexes", key)
