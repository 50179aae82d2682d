"""CREATE TABLE and ALTER TABLE replayed the way the server applies them.

Columns follow the server's expansions: a serial column is an integer column with a
``nextval`` default and a sequence it owns; an identity column is NOT NULL and its sequence is
not a Sequence of the catalog; inherited columns (INHERITS, PARTITION OF) come first, with their
type, NOT NULL and default.

ALTER TABLE runs its subcommands pass by pass as the server does (``_prep_pass``: drops first,
then ALTER TYPE, ADD COLUMN, ADD CONSTRAINT examined, NOT NULLs, primary keys, unique and
exclusion constraints, CHECKs and foreign keys with SET DEFAULT and ADD IDENTITY, the rest), so
a name one subcommand frees or takes is free or taken for the others as on the server.

ALTER TABLE recurses to inheritance children and partitions as the server does (ATSimpleRecursion
and friends in tablecmds.c) unless ``ONLY`` is written: ADD/DROP COLUMN, SET/DROP DEFAULT,
SET/DROP NOT NULL, TYPE, SET/DROP EXPRESSION, and the NOT NULL a primary key implies. Inherited
constraints are not copied: every reader keeps a constraint on the table that declares it only.
What decides a recursion but is not in the Catalog (whether a child declared a column itself,
pg_attribute.attislocal) is kept in ``Inheritance`` while replaying. A partition's indexes and
constraints that belong to its parent's are ``replay.partitions``' business; DETACH PARTITION and
NO INHERIT make the CHECKs a table had from that parent its own (``_localize_checks``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pglast import ast, enums

from pgspec import naming
from pgspec.catalog import Column, Sequence, Table
from pgspec.normalize.types import SERIAL_TYPES
from pgspec.quoting import qualified
from pgspec.sources.replay import collations, like, partitions
from pgspec.sources.replay.constraints import (
    CT,
    RelationNames,
    add_constraint,
    fold_redundant_indexes,
    note_identity,
    note_not_null,
    unlisted,
)
from pgspec.sources.replay.resolve import expression_text
from pgspec.sources.replay.state import State, deparse, names_of

AT = enums.AlterTableType


@dataclass
class Inheritance:
    """Per-column facts of tables with parents that the Catalog does not model.

    ``local_columns``: ``(table key, column)`` a child declared itself (pg_attribute.attislocal):
    a parent's DROP COLUMN leaves such a column in the child. ``local_not_null``: NOT NULLs a
    child stated itself, which PostgreSQL 18 keeps when a parent drops its NOT NULL (earlier
    versions drop them). A table without parents has only local columns and is not listed.
    """

    local_columns: set[tuple[str, str]] = field(default_factory=set)
    local_not_null: set[tuple[str, str]] = field(default_factory=set)
    #: NOT NULL ... NO INHERIT (PostgreSQL 18; pg_dump writes it for ONLY ... SET NOT NULL):
    #: a child created later does not take it.
    no_inherit_not_null: set[tuple[str, str]] = field(default_factory=set)
    #: Indexes and constraints of partitions that belong to their parent's, by
    #: ``(plural, key)``: out of the Catalog until DETACH (``replay.partitions``).
    clones: partitions.Clones = field(default_factory=lambda: partitions.Clones())


def rename_inherited(state: State, old_key: str, new_key: str,
                     column: str | None = None, new_column: str | None = None) -> None:
    """Carry the inheritance bookkeeping through ALTER TABLE ... RENAME (for the renames
    replayer): a table renamed (``column`` None), or one column of it renamed. The names of
    identity sequences and named NOT NULLs (``constraints.Unlisted``) move along."""
    found = unlisted(state, False)
    if found is not None:
        found.renamed(state, old_key, new_key, column, new_column)
    if state.inheritance is None:
        return
    if column is None:
        partitions.renamed_table(state, old_key, new_key)
    elif new_column is not None:
        partitions.renamed_column(state, new_key, column, new_column)
    for facts in (state.inheritance.local_columns, state.inheritance.local_not_null,
                  state.inheritance.no_inherit_not_null):
        for table, col in [f for f in facts if f[0] == old_key and column in (None, f[1])]:
            facts.discard((table, col))
            facts.add((new_key, new_column if column is not None and new_column else col))


def inheritance(state: State) -> Inheritance:
    """The inheritance facts, made when first needed."""
    if state.inheritance is None:
        state.inheritance = Inheritance()
    return state.inheritance


_inheritance = inheritance


def _parents(table: Table) -> list[str]:
    return ([table.partition_of] if table.partition_of else []) + table.inherits


def children(state: State, key: str) -> list[Table]:
    """Direct inheritance children and partitions of a table, in key order."""
    if state.inheritance is None:
        return []
    return [t for t in state.objects["tables"].values()
            if t.partition_of == key or key in t.inherits]


def inheritors(state: State, key: str, column: str) -> list[Table]:
    """Every table below ``key`` that has ``column``, each once (a child of two children of
    one parent is reached twice), as ATSimpleRecursion visits find_all_inheritors."""
    found: dict[str, Table] = {}
    todo = [key]
    while todo:
        for child in children(state, todo.pop()):
            if child.key not in found and child.column(column) is not None:
                found[child.key] = child
                todo.append(child.key)
    return list(found.values())


def _is_local(state: State, table: Table, column: str) -> bool:
    if not _parents(table):
        return True
    return state.inheritance is not None and (table.key, column) in state.inheritance.local_columns


def _inherit_count(state: State, table: Table, column: str) -> int:
    """How many parents give ``table`` its ``column`` (pg_attribute.attinhcount)."""
    count = 0
    for parent_key in _parents(table):
        parent = state.table(parent_key)
        if parent is not None and parent.column(column) is not None:
            count += 1
    return count


def _mark_local(state: State, table: Table, columns: Any = None) -> None:
    """Record columns a table with parents declared itself (all of them when ``columns`` is
    None: a table attached as a partition or added as a child keeps its own columns)."""
    names = [c.name for c in table.columns] if columns is None else columns
    _inheritance(state).local_columns.update((table.key, name) for name in names)


def nextval_default(schema: str, sequence: str) -> str:
    """``nextval('schema.seq'::regclass)``, as the server prints a serial column's default."""
    literal = ast.A_Const(val=ast.String(sval=qualified(schema, sequence)))
    cast = ast.TypeCast(arg=literal, typeName=ast.TypeName(names=(ast.String(sval="regclass"),)))
    call = ast.FuncCall(funcname=(ast.String(sval="nextval"),), args=(cast,))
    return deparse(call)


def partition_key_text(spec: ast.PartitionSpec) -> str:
    """``RANGE (created_at)``, spelled as pg_get_partkeydef prints it."""
    strategy = {"r": "RANGE", "l": "LIST", "h": "HASH"}.get(str(spec.strategy), "")
    if not strategy:
        strategy = str(spec.strategy.name).rsplit("_", 1)[-1].upper()
    parts: list[str] = []
    for elem in spec.partParams or ():
        if elem.name:
            text = qualified(elem.name)
        elif isinstance(elem.expr, ast.FuncCall):
            text = deparse(elem.expr)
        else:
            text = f"({deparse(elem.expr)})"
        if elem.collation:
            text += f" COLLATE {_quoted_name(elem.collation)}"
        if elem.opclass:
            text += f" {_quoted_name(elem.opclass)}"
        parts.append(text)
    return f"{strategy} ({', '.join(parts)})"


def _quoted_name(nodes: Any) -> str:
    """A collation or operator class name as SQL, quoted where it needs to be (``"C"``), and
    without ``pg_catalog.``, as pg_get_partkeydef prints it: a bare ``C`` would read back as
    the collation ``c``."""
    parts = names_of(nodes)
    if len(parts) > 1 and parts[0] == "pg_catalog":
        parts = parts[1:]
    return qualified(*parts)


def partition_bound_text(bound: ast.PartitionBoundSpec) -> str:
    """The bound clause as pg_get_expr(relpartbound) prints it."""
    if bound.is_default:
        return "DEFAULT"
    if str(bound.strategy) == "h":
        return f"FOR VALUES WITH (modulus {bound.modulus}, remainder {bound.remainder})"
    return deparse(bound)


def _column(state: State, schema: str, table: str, node: ast.ColumnDef,
            constraints: list[tuple[ast.Constraint, str]]) -> Column:
    """One column, collecting its constraint clauses for after the table exists."""
    names = names_of(node.typeName.names) if node.typeName else []
    fields: dict[str, Any] = {"name": node.colname}
    serial = SERIAL_TYPES.get(names[0]) if len(names) == 1 and not node.typeName.arrayBounds else None
    if serial:
        fields["type"] = serial
        fields["not_null"] = True
        # Chosen as the statement is transformed (ChooseRelationName), past the schema's
        # relations.
        seq = naming.sequence_name(table, node.colname, RelationNames(state, schema))
        fields["default"] = nextval_default(schema, seq)
        state.put(
            "sequences",
            Sequence(schema=schema, name=seq, type=serial,
                     owned_by=qualified(schema, table, node.colname)),
        )
    elif node.typeName is not None:
        fields["type"] = state.type_text(node.typeName)
    if node.collClause is not None:
        fields["collation"] = collations.resolve(state, node.collClause.collname)
    if node.is_not_null:
        fields["not_null"] = True
    if node.raw_default is not None:
        fields["default"] = expression_text(state, node.raw_default)
    for con in node.constraints or ():
        if con.contype == CT.CONSTR_NOTNULL:
            fields["not_null"] = True
            if con.conname:
                note_not_null(state, schema, table, node.colname, con.conname)
        elif con.contype == CT.CONSTR_DEFAULT:
            fields["default"] = expression_text(state, con.raw_expr)
        elif con.contype == CT.CONSTR_IDENTITY:
            fields["identity"] = "always" if con.generated_when == "a" else "by default"
            fields["not_null"] = True
            # Its sequence, not listed, is named now, as a serial column's is.
            note_identity(state, schema, table, node.colname, con.options)
        elif con.contype == CT.CONSTR_GENERATED:
            fields["generated"] = expression_text(state, con.raw_expr)
        elif con.contype == CT.CONSTR_PRIMARY:
            fields["not_null"] = True
            constraints.append((con, node.colname))
        elif con.contype in _ATTRIBUTES:
            # ``UNIQUE DEFERRABLE`` on a column: the grammar gives the attribute as a clause of
            # its own, which applies to the constraint before it (transformConstraintAttrs).
            if constraints:
                _ATTRIBUTES[con.contype](constraints[-1][0])
        elif con.contype != CT.CONSTR_NULL:
            constraints.append((con, node.colname))
    return Column(**fields)


def _deferred(con: ast.Constraint) -> None:
    con.initdeferred = True
    con.deferrable = True  # INITIALLY DEFERRED alone implies DEFERRABLE


#: Column-level constraint attributes and how each changes the constraint before it.
_ATTRIBUTES: dict[Any, Callable[[ast.Constraint], None]] = {
    CT.CONSTR_ATTR_DEFERRABLE: lambda c: setattr(c, "deferrable", True),
    CT.CONSTR_ATTR_NOT_DEFERRABLE: lambda c: setattr(c, "deferrable", False),
    CT.CONSTR_ATTR_DEFERRED: _deferred,
    CT.CONSTR_ATTR_IMMEDIATE: lambda c: setattr(c, "initdeferred", False),
}


def _inherited(state: State, parent: Table, partition: bool) -> list[Column]:
    """Columns a child takes from its parent: type, NOT NULL, default, generation, collation.

    Comments are not inherited; identity is, for partitions only (PostgreSQL 17+ keeps it on
    partitions too, but an older server does not, so pgspec leaves it to the parent). A NOT
    NULL the parent marked NO INHERIT stays with the parent.
    """
    kept = state.inheritance.no_inherit_not_null if state.inheritance is not None else set()
    return [c.model_copy(update={"comment": None, "identity": None,
                                 "not_null": c.not_null and (parent.key, c.name) not in kept})
            for c in parent.columns]


def _no_inherit_not_null(node: Any) -> list[str]:
    """Columns a clause makes NOT NULL NO INHERIT: a column definition's own constraint, or a
    table constraint ``NOT NULL col NO INHERIT`` (PostgreSQL 18)."""
    if isinstance(node, ast.ColumnDef):
        return [node.colname] if any(
            c.contype == CT.CONSTR_NOTNULL and c.is_no_inherit for c in node.constraints or ()
        ) else []
    if isinstance(node, ast.Constraint) and node.contype == CT.CONSTR_NOTNULL and node.is_no_inherit:
        return names_of(node.keys)
    return []


def create_table(state: State, stmt: ast.CreateStmt) -> None:
    rel = stmt.relation
    if rel.relpersistence == "t":
        return  # temporary tables do not outlive the session that made them
    schema, name = state.relation_key(rel, create=True)
    key = qualified(schema, name)
    state.known_types.add(key)
    if stmt.if_not_exists and (key in state.objects["tables"]):
        return
    found = unlisted(state, False)
    if found is not None:
        found.forget(key)  # a table of this name dropped before: its names went with it
    if stmt.ofTypename is not None:
        state.warn("table", key, "typed tables (CREATE TABLE OF) are not modelled by pgspec")
    if stmt.partspec is not None:
        collations.qualify_partition_key(state, stmt.partspec)
    columns: list[Column] = []
    parents: list[str] = []
    partition = stmt.partbound is not None
    for parent_rv in stmt.inhRelations or ():
        p_schema, p_name = state.relation_key(parent_rv)
        parent_key = qualified(p_schema, p_name)
        parents.append(parent_key)
        parent = state.table(parent_key)
        if parent is None:
            continue
        for col in _inherited(state, parent, partition):
            existing = next((c for c in columns if c.name == col.name), None)
            if existing is None:
                columns.append(col)
            else:
                # A column several parents have (MergeAttributes): NOT NULL if any parent's
                # is, and the default of the parent that has one (two different ones are an
                # error unless the child states its own).
                columns = [c.model_copy(update={
                    "not_null": c.not_null or col.not_null,
                    "default": c.default if c.default is not None else col.default,
                }) if c.name == col.name else c for c in columns]
    local_names: list[str] = []
    local_not_null: list[str] = []
    pending: list[tuple[ast.Constraint, str | None]] = []
    likes: list[like.LikeCopy] = []
    for elt in stmt.tableElts or ():
        if isinstance(elt, ast.ColumnDef):
            local: list[tuple[ast.Constraint, str]] = []
            if elt.typeName is None:
                # PARTITION OF ... (col WITH OPTIONS ...): options on an inherited column.
                col = _merge_options(state, next((c for c in columns if c.name == elt.colname),
                                                 None), elt, local)
                columns = [col if c.name == elt.colname else c for c in columns]
            else:
                col = _column(state, schema, name, elt, local)
                columns = _add_local(state, columns, local_names, col)
            if elt.is_not_null or any(con.contype in (CT.CONSTR_NOTNULL, CT.CONSTR_PRIMARY)
                                      for con in elt.constraints or ()):
                local_not_null.append(elt.colname)
            pending.extend(local)
        elif isinstance(elt, ast.Constraint):
            pending.append((elt, None))
        elif isinstance(elt, ast.TableLikeClause):
            copied, later = like.copy_columns(state, schema, name, elt)
            for col in copied:
                columns = _add_local(state, columns, local_names, col)
                if col.not_null:
                    local_not_null.append(col.name)
            if later is not None:
                likes.append(later)
    table = Table(
        schema=schema,
        name=name,
        columns=columns,
        unlogged=rel.relpersistence == "u",
        partition_by=partition_key_text(stmt.partspec) if stmt.partspec else None,
        partition_of=parents[0] if partition and parents else None,
        partition_bound=partition_bound_text(stmt.partbound) if partition else None,
        inherits=[] if partition else parents,
    )
    state.put("tables", table)
    no_inherit = [name for elt in stmt.tableElts or () for name in _no_inherit_not_null(elt)]
    if no_inherit:
        _inheritance(state).no_inherit_not_null.update((key, n) for n in no_inherit)
    if parents:
        _mark_local(state, table, local_names)
        _inheritance(state).local_not_null.update((key, n) for n in local_not_null)
    kept = fold_redundant_indexes(pending)
    if partition and parents:
        partitions.new_partition(state, parents[0], key, kept)
    for con, column in kept:
        add_constraint(state, schema, name, con, column)
    # LIKE's CHECKs and indexes come after the table's own (expandTableLikeClause).
    for later in likes:
        like.expand(state, schema, name, later)


def _add_local(state: State, columns: list[Column], local_names: list[str], col: Column
               ) -> list[Column]:
    """A column the table declares (or copies with LIKE): merged into an inherited one of
    that name (NOT NULL if either is, its own default first), else added at the end; two
    local columns of one name are the server's error."""
    if col.name in local_names:
        raise state.error(f"column {col.name!r} specified more than once")
    local_names.append(col.name)
    existing = next((c for c in columns if c.name == col.name), None)
    if existing is None:
        return [*columns, col]
    col = col.model_copy(update={
        "not_null": col.not_null or existing.not_null,
        "default": col.default if col.default is not None else existing.default,
    })
    return [col if c.name == col.name else c for c in columns]


def _merge_options(state: State, col: Column | None, elt: ast.ColumnDef,
                   local: list[tuple[ast.Constraint, str]]) -> Column:
    if col is None:
        raise state.error(f"column {elt.colname!r} is not inherited from the parent")
    update: dict[str, Any] = {}
    for con in elt.constraints or ():
        if con.contype == CT.CONSTR_NOTNULL:
            update["not_null"] = True
        elif con.contype == CT.CONSTR_DEFAULT:
            update["default"] = expression_text(state, con.raw_expr)
        elif con.contype != CT.CONSTR_NULL:
            local.append((con, elt.colname))
    return col.model_copy(update=update)


def _set_column(state: State, key: str, column: str, **changes: Any) -> None:
    table = state.table(key)
    if table is None:
        return
    cols = [c.model_copy(update=changes) if c.name == column else c for c in table.columns]
    state.update("tables", key, columns=cols)


def drop_column(state: State, schema: str, name: str, column: str, cascade: bool) -> None:
    """DROP COLUMN, with what the server drops along: constraints and indexes on it, and
    with CASCADE what else depends on it (``replay.cascade``)."""
    from pgspec.sources.replay.cascade import drop_column_dependents  # it drops columns too

    drop_column_dependents(state, schema, name, column, cascade)
    key = qualified(schema, name)
    found = unlisted(state, False)
    if found is not None:
        found.forget(key, column)
    table = state.table(key)
    if table is not None:
        state.update("tables", key, columns=[c for c in table.columns if c.name != column])
    for ckey, con in list(state.objects["constraints"].items()):
        if con.table_key == key and (column in con.columns or column in con.include):
            del state.objects["constraints"][ckey]
    for ikey, idx in list(state.objects["indexes"].items()):
        if idx.table_key == key and (
            any(k.column == column for k in idx.keys) or column in idx.include
        ):
            del state.objects["indexes"][ikey]
    for skey, seq in list(state.objects["sequences"].items()):
        if seq.owned_by == qualified(schema, name, column):
            del state.objects["sequences"][skey]


def _set_columns(state: State, table: Table, column: str, recurse: bool, **changes: Any) -> None:
    """Change a column of a table and, unless ONLY, of every table inheriting it."""
    _set_column(state, table.key, column, **changes)
    if recurse:
        for child in inheritors(state, table.key, column):
            _set_column(state, child.key, column, **changes)


def _add_to_children(state: State, key: str, col: Column) -> None:
    """ADD COLUMN reaching the children: a child with a column of that name merges it (keeping
    its own default and, before PostgreSQL 18, its own nullability), the others get the
    parent's column, and their children in turn."""
    inherited = col.model_copy(update={"comment": None, "identity": None})
    for child in children(state, key):
        existing = child.column(col.name)
        if existing is None:
            state.update("tables", child.key, columns=[*child.columns, inherited])
            _add_to_children(state, child.key, inherited)
            continue
        if existing.type != col.type:
            raise state.error(f"child table {child.key} has different type for column "
                              f"{col.name!r}: {existing.type!r}, not {col.type!r}")
        if col.not_null and not existing.not_null:
            state.warn("column", qualified(child.schema_name, child.name, col.name),
                       "ADD COLUMN ... NOT NULL merged into the child's nullable column: "
                       "PostgreSQL 18 makes it NOT NULL, earlier versions (and pgspec) do not")


def _drop_inherited_column(state: State, table: Table, column: str, recurse: bool,
                           cascade: bool = False) -> None:
    """DROP COLUMN as ATExecDropColumn does it: a child loses the column when it has it only
    from this parent and did not declare it itself; otherwise the child keeps it, as its own
    when ONLY was written."""
    below = [c for c in children(state, table.key) if c.column(column) is not None]
    if not recurse and below and table.partition_by:
        raise state.error("cannot drop column from only the partitioned table when partitions "
                          f"exist (ALTER TABLE ONLY {table.key} DROP COLUMN {column!r})")
    drop: list[Table] = []
    for child in below:
        if recurse and not _is_local(state, child, column) and _inherit_count(state, child, column) == 1:
            drop.append(child)
        elif not recurse:
            _mark_local(state, child, [column])
    drop_column(state, table.schema_name, table.name, column, cascade)
    for child in drop:
        current = state.table(child.key)
        if current is not None and current.column(column) is not None:
            _drop_inherited_column(state, current, column, True, cascade)


def _drop_not_null(state: State, table: Table, column: str, recurse: bool) -> None:
    """DROP NOT NULL, recursing. A child's own NOT NULL is where versions differ: PostgreSQL 18
    keeps it (a local not-null constraint), earlier versions clear it; pgspec does the latter
    and says so."""
    _set_column(state, table.key, column, not_null=False)
    found = unlisted(state, False)
    if found is not None:
        found.not_null.get(table.key, {}).pop(column, None)  # a later SET NOT NULL is unnamed
    if state.inheritance is not None:
        state.inheritance.local_not_null.discard((table.key, column))
    if not recurse:
        return
    for child in inheritors(state, table.key, column):
        col = child.column(column)
        if col is not None and col.not_null and state.inheritance is not None and (
            (child.key, column) in state.inheritance.local_not_null
        ):
            state.warn("column", qualified(child.schema_name, child.name, column),
                       "the parent's DROP NOT NULL reaches a NOT NULL the child declared itself: "
                       "PostgreSQL 18 keeps it, earlier versions (and pgspec) drop it")
        _set_column(state, child.key, column, not_null=False)


def _named_not_null(state: State, key: str, name: str) -> str | None:
    """The column of table ``key`` whose NOT NULL the script named ``name``, if any."""
    found = unlisted(state, False)
    table = state.table(key)
    if found is None or table is None:
        return None
    for column, held in found.not_null.get(key, {}).items():
        col = table.column(column)
        if held == name and col is not None and col.not_null:
            return column
    return None


def _merge_attached_checks(state: State, parent_key: str, child_key: str) -> None:
    constraints = state.objects["constraints"]
    inherited = {c.name for c in constraints.values()
                 if c.table_key == parent_key and c.kind == "check" and not c.no_inherit}
    for ckey, con in list(constraints.items()):
        if con.table_key == child_key and con.kind == "check" and con.name in inherited:
            del constraints[ckey]


def _own_constraints(state: State, key: str) -> set[str]:
    return {ckey for ckey, con in state.objects["constraints"].items() if con.table_key == key}


def _inherited_checks(state: State, key: str, seen: set[str] | None = None) -> list[Any]:
    """The CHECKs a table hands to its children: its own (not NO INHERIT) and those it
    inherits itself, which the Catalog keeps with the table that declares them."""
    seen = set() if seen is None else seen
    if key in seen:
        return []
    seen.add(key)
    found = [c for c in state.objects["constraints"].values()
             if c.table_key == key and c.kind == "check" and not c.no_inherit]
    table = state.table(key)
    for parent in _parents(table) if table is not None else ():
        found += _inherited_checks(state, parent, seen)
    return found


def _localize_checks(state: State, parent_key: str, child: Table) -> None:
    """DETACH PARTITION / NO INHERIT: the CHECKs the child had from that parent become its
    own (RemoveInheritance sets conislocal when coninhcount reaches zero), unless another
    parent still gives them."""
    still = {c.name for p in _parents(child) for c in _inherited_checks(state, p)}
    for check in _inherited_checks(state, parent_key):
        ckey = qualified(child.schema_name, child.name, check.name)
        if check.name in still or ckey in state.objects["constraints"]:
            continue
        state.put("constraints", check.model_copy(update={
            "schema_name": child.schema_name, "table": child.name, "comment": None,
            "location": None}))


def _orphan_columns(state: State, table: Table | None) -> None:
    """After NO INHERIT / DETACH: a column no remaining parent gives becomes the table's own
    (RemoveInheritance sets attislocal when attinhcount reaches zero)."""
    if table is None or state.inheritance is None:
        return
    orphans = [c.name for c in table.columns if _inherit_count(state, table, c.name) == 0]
    if _parents(table):
        _mark_local(state, table, orphans)


_TRIGGER_STATES = {
    AT.AT_EnableTrig: "origin",
    AT.AT_EnableAlwaysTrig: "always",
    AT.AT_EnableReplicaTrig: "replica",
    AT.AT_DisableTrig: "disabled",
    AT.AT_EnableTrigAll: "origin",
    AT.AT_DisableTrigAll: "disabled",
    AT.AT_EnableTrigUser: "origin",
    AT.AT_DisableTrigUser: "disabled",
}

#: Subcommands that change nothing pgspec models (storage, statistics, ownership, options...).
_IGNORED = {
    AT.AT_ChangeOwner, AT.AT_ReplicaIdentity, AT.AT_SetStatistics, AT.AT_SetOptions,
    AT.AT_ResetOptions, AT.AT_SetStorage, AT.AT_SetCompression, AT.AT_ClusterOn,
    AT.AT_DropCluster, AT.AT_SetTableSpace, AT.AT_SetAccessMethod, AT.AT_ValidateConstraint,
    AT.AT_GenericOptions, AT.AT_AlterColumnGenericOptions,
    AT.AT_DetachPartitionFinalize, AT.AT_SetRelOptions, AT.AT_ResetRelOptions,
}


def alter_table(state: State, stmt: ast.AlterTableStmt) -> None:
    from pgspec.sources.replay import indexes, views

    objtype = stmt.objtype
    if objtype == enums.ObjectType.OBJECT_INDEX:
        indexes.alter_index(state, stmt)
        return
    schema, name = state.relation_key(stmt.relation)
    key = qualified(schema, name)
    if objtype in (enums.ObjectType.OBJECT_VIEW, enums.ObjectType.OBJECT_MATVIEW) or (
        key in state.objects["views"] or key in state.objects["materialized_views"]
    ):
        views.alter_view(state, stmt, schema, name)
        return
    if key not in state.objects["tables"]:
        # A sequence, a view altered with ALTER TABLE (pg_dump 15 does so for OWNER TO), a
        # foreign table, or an object outside the selected schemas: nothing pgspec keeps. A
        # table nobody created is reported: a server would have refused the statement.
        if (
            state.keep(schema)
            and objtype == enums.ObjectType.OBJECT_TABLE
            and key not in state.known_types
            and key not in state.objects["sequences"]
        ):
            state.warn("table", key, "ALTER TABLE on a table no statement created: not replayed")
        return
    recurse = stmt.relation.inh  # False when ONLY was written
    passes: list[list[Callable[[], None]]] = [[] for _ in range(_NUM_PASSES)]

    def defer(when: int, step: Callable[[], None]) -> None:
        passes[when].append(step)

    for cmd in stmt.cmds or ():
        when = _prep_pass(cmd)
        if when == _ADD_CONSTR:
            # Examined now, made in the pass of its kind (ATParseTransformCmd), after what
            # ADD COLUMN's own constraints already queued there.
            defer(when, partial(defer, _constraint_pass(cmd.def_),
                                partial(_alter_cmd, state, schema, name, key, cmd, recurse)))
        else:
            defer(when, partial(_alter_cmd, state, schema, name, key, cmd, recurse, defer))
    for steps in passes:
        for step in steps:  # a step queues more only in later passes
            step()


#: ALTER TABLE's passes (tablecmds.c, ``AlterTablePass``; the two that re-add what ALTER
#: COLUMN TYPE rebuilt left out): subcommands run pass by pass, in the order written within
#: a pass, so what they name is numbered in that order (verified on PostgreSQL 15 and 18).
(_DROP, _ALTER_TYPE, _ADD_COL, _SET_EXPRESSION, _ADD_CONSTR, _COL_ATTRS, _ADD_INDEXCONSTR,
 _ADD_INDEX, _ADD_OTHERCONSTR, _MISC) = range(10)
_NUM_PASSES = _MISC + 1

_PREP_PASSES: dict[Any, int] = {
    AT.AT_DropColumn: _DROP, AT.AT_DropConstraint: _DROP, AT.AT_DropNotNull: _DROP,
    AT.AT_DropIdentity: _DROP, AT.AT_DropExpression: _DROP,
    AT.AT_AlterColumnType: _ALTER_TYPE,
    AT.AT_AddColumn: _ADD_COL,
    AT.AT_SetExpression: _SET_EXPRESSION,
    AT.AT_AddConstraint: _ADD_CONSTR,
    AT.AT_SetNotNull: _COL_ATTRS,
    AT.AT_CookedColumnDefault: _ADD_OTHERCONSTR, AT.AT_AddIdentity: _ADD_OTHERCONSTR,
}


def _prep_pass(cmd: ast.AlterTableCmd) -> int:
    """The pass ``ATPrepCmd`` puts a subcommand in: drops first (a name they free is free
    for what the statement adds), then ALTER TYPE, ADD COLUMN (a serial or identity column's
    sequence is named then), ADD CONSTRAINT, ...; SET DEFAULT with the other constraints,
    DROP DEFAULT with the drops, everything else last."""
    if cmd.subtype == AT.AT_ColumnDefault:
        return _ADD_OTHERCONSTR if cmd.def_ is not None else _DROP
    return _PREP_PASSES.get(cmd.subtype, _MISC)


def _constraint_pass(con: Any) -> int:
    """The pass a constraint is made in, for ADD CONSTRAINT and a column's constraints in ADD
    COLUMN (``ATParseTransformCmd``): primary keys, unique and exclusion constraints before
    CHECKs and foreign keys, which are made together in the order written (``ALTER TABLE z
    ADD FOREIGN KEY (a) REFERENCES r, ADD CONSTRAINT z_a_fkey UNIQUE (a)`` makes the foreign
    key ``z_a_fkey1``); a NOT NULL with the column attributes."""
    kind = con.contype if isinstance(con, ast.Constraint) else None
    if kind in (CT.CONSTR_PRIMARY, CT.CONSTR_UNIQUE, CT.CONSTR_EXCLUSION):
        return _ADD_INDEXCONSTR
    if kind == CT.CONSTR_NOTNULL:
        return _COL_ATTRS
    return _ADD_OTHERCONSTR


def _alter_cmd(state: State, schema: str, name: str, key: str, cmd: ast.AlterTableCmd,
               recurse: bool = True,
               defer: Callable[[int, Callable[[], None]], None] | None = None) -> None:
    """One subcommand; ``defer`` queues what it makes in a later pass (ADD COLUMN's
    constraints)."""
    sub = cmd.subtype
    table = state.table(key)
    if table is None:
        return
    if sub in _IGNORED:
        if sub == AT.AT_SetRelOptions or sub == AT.AT_ResetRelOptions:
            return
        return
    if sub == AT.AT_AddColumn:
        col_def: ast.ColumnDef = cmd.def_
        if table.column(col_def.colname) is not None:
            if cmd.missing_ok:
                return
            raise state.error(f"column {col_def.colname!r} of {key} already exists")
        if not recurse and children(state, key):
            raise state.error("column must be added to child tables too (ALTER TABLE ONLY "
                              f"{key} ADD COLUMN {col_def.colname!r})")
        local: list[tuple[ast.Constraint, str]] = []
        col = _column(state, schema, name, col_def, local)
        state.update("tables", key, columns=[*table.columns, col])
        if _parents(table):
            _mark_local(state, table, [col.name])
        _add_to_children(state, key, col)
        for con, column in local:
            step = partial(add_constraint, state, schema, name, con, column)
            if defer is None:
                step()
            else:
                defer(_constraint_pass(con), step)
    elif sub == AT.AT_DropColumn:
        if table.column(cmd.name) is None:
            if cmd.missing_ok:
                return
            raise state.error(f"column {cmd.name!r} of {key} does not exist")
        _drop_inherited_column(state, table, cmd.name, recurse,
                               cmd.behavior == enums.DropBehavior.DROP_CASCADE)
    elif sub in (AT.AT_ColumnDefault, AT.AT_CookedColumnDefault):
        # Recursing overwrites a child's own default too (the server sets every inheritor's).
        _set_columns(state, table, cmd.name, recurse,
                     default=expression_text(state, cmd.def_) if cmd.def_ is not None else None)
    elif sub == AT.AT_SetNotNull:
        if _parents(table):
            _inheritance(state).local_not_null.add((key, cmd.name))
        _set_columns(state, table, cmd.name, recurse, not_null=True)
    elif sub == AT.AT_DropNotNull:
        _drop_not_null(state, table, cmd.name, recurse)
    elif sub == AT.AT_AlterColumnType:
        col_def = cmd.def_
        if not recurse and inheritors(state, key, cmd.name):
            raise state.error(f"type of inherited column {cmd.name!r} must be changed in child "
                              f"tables too (ALTER TABLE ONLY {key})")
        changes: dict[str, Any] = {"type": state.type_text(col_def.typeName)}
        changes["collation"] = (collations.resolve(state, col_def.collClause.collname)
                                if col_def.collClause else None)
        _set_columns(state, table, cmd.name, recurse, **changes)
    elif sub == AT.AT_AddIdentity:
        when = "always" if cmd.def_.generated_when == "a" else "by default"
        note_identity(state, schema, name, cmd.name, cmd.def_.options)
        _set_column(state, key, cmd.name, identity=when, not_null=True)
    elif sub == AT.AT_SetIdentity:
        # SET GENERATED ALWAYS / BY DEFAULT, among sequence options pgspec does not model.
        for option in cmd.def_ or ():
            if option.defname == "generated":
                _set_column(state, key, cmd.name,
                            identity="always" if option.arg.ival == ord("a") else "by default")
    elif sub == AT.AT_DropIdentity:
        _set_column(state, key, cmd.name, identity=None)
    elif sub == AT.AT_SetExpression:
        _set_columns(state, table, cmd.name, recurse, generated=expression_text(state, cmd.def_))
    elif sub == AT.AT_DropExpression:
        _set_columns(state, table, cmd.name, recurse, generated=None)
    elif sub == AT.AT_AddConstraint:
        con = cmd.def_
        before = _own_constraints(state, key) if recurse and children(state, key) else None
        add_constraint(state, schema, name, con)
        if before is not None and table.partition_by:
            # A primary key, unique, exclusion or foreign key reaches the partitions.
            for ckey in _own_constraints(state, key) - before:
                partitions.created(state, "constraints", ckey)
        if _no_inherit_not_null(con):
            _inheritance(state).no_inherit_not_null.update((key, n) for n in _no_inherit_not_null(con))
        # A primary key's NOT NULL reaches the children (a CHECK too, but constraints stay
        # with the table that declares them); PostgreSQL 18's ADD CONSTRAINT ... NOT NULL
        # recurses unless NO INHERIT.
        if recurse and isinstance(con, ast.Constraint) and (
            con.contype == CT.CONSTR_PRIMARY
            or (con.contype == CT.CONSTR_NOTNULL and not con.is_no_inherit)
        ):
            for column in names_of(con.keys):
                _set_columns(state, table, column, True, not_null=True)
    elif sub == AT.AT_DropConstraint:
        ckey = qualified(schema, name, cmd.name)
        if ckey in state.objects["constraints"]:
            con = state.objects["constraints"].pop(ckey)
            if con.kind == "primary_key":
                state.primary_keys.pop(key, None)
            partitions.dropped(state, "constraints", ckey)
        elif (column := _named_not_null(state, key, cmd.name)) is not None:
            # PostgreSQL 18: a NOT NULL constraint is dropped by its name.
            _drop_not_null(state, table, column, recurse)
        elif not cmd.missing_ok:
            raise state.error(f"constraint {cmd.name!r} of {key} does not exist")
    elif sub == AT.AT_EnableRowSecurity:
        state.update("tables", key, rls_enabled=True)
    elif sub == AT.AT_DisableRowSecurity:
        state.update("tables", key, rls_enabled=False)
    elif sub == AT.AT_ForceRowSecurity:
        state.update("tables", key, rls_forced=True)
    elif sub == AT.AT_NoForceRowSecurity:
        state.update("tables", key, rls_forced=False)
    elif sub in _TRIGGER_STATES:
        enabled = _TRIGGER_STATES[sub]
        for tkey, trig in list(state.objects["triggers"].items()):
            if trig.table_key != key:
                continue
            if cmd.name is None or trig.name == cmd.name:
                if cmd.name is None and trig.constraint and sub in (
                    AT.AT_EnableTrigUser, AT.AT_DisableTrigUser):
                    continue
                state.objects["triggers"][tkey] = trig.model_copy(update={"enabled": enabled})
    elif sub == AT.AT_AttachPartition:
        part = cmd.def_
        c_schema, c_name = state.relation_key(part.name)
        attached = state.update("tables", qualified(c_schema, c_name), partition_of=key,
                                partition_bound=partition_bound_text(part.bound), inherits=[])
        if attached is not None:
            # A partition has only its parent's columns and CHECKs: attaching makes them
            # inherited (MergeAttributesIntoExisting / MergeConstraintsIntoExisting clear
            # attislocal and conislocal), so DROP COLUMN takes them along and every reader
            # keeps the CHECK with the parent only (pg_dump creates a partition with its own
            # copy, then attaches it).
            _inheritance(state).local_columns.difference_update(
                (attached.key, c.name) for c in attached.columns)
            _merge_attached_checks(state, key, attached.key)
            partitions.attach(state, key, attached.key)
    elif sub == AT.AT_DetachPartition:
        part = cmd.def_
        c_schema, c_name = state.relation_key(part.name)
        detached = state.update("tables", qualified(c_schema, c_name), partition_of=None,
                                partition_bound=None)
        if detached is not None:
            _orphan_columns(state, detached)
            partitions.detach(state, key, detached.key)
            _localize_checks(state, key, detached)
    elif sub == AT.AT_SetLogged:
        state.update("tables", key, unlogged=False)
    elif sub == AT.AT_SetUnLogged:
        state.update("tables", key, unlogged=True)
    elif sub == AT.AT_AddInherit:
        p_schema, p_name = state.relation_key(cmd.def_)
        if not _parents(table):
            _mark_local(state, table)  # its columns were its own before it had a parent
        state.update("tables", key, inherits=[*table.inherits, qualified(p_schema, p_name)])
    elif sub == AT.AT_DropInherit:
        p_schema, p_name = state.relation_key(cmd.def_)
        parent = qualified(p_schema, p_name)
        changed = state.update("tables", key, inherits=[p for p in table.inherits if p != parent])
        _orphan_columns(state, changed)
        if changed is not None and parent in table.inherits:
            _localize_checks(state, parent, changed)
    elif sub in (AT.AT_EnableRule, AT.AT_EnableAlwaysRule, AT.AT_EnableReplicaRule,
                 AT.AT_DisableRule):
        return
    else:
        state.warn("table", key, f"ALTER TABLE {sub.name[3:]} is not replayed by pgspec")
