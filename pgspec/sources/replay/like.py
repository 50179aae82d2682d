"""CREATE TABLE ... (LIKE source INCLUDING ...) replayed the way the server expands it.

PostgreSQL handles a ``TableLikeClause`` in two steps (parse_utilcmd.c,
``transformTableLikeClause`` and ``expandTableLikeClause``), and the replay does the same:

* While the column list is built, the source's columns are copied in place, among the other
  elements: name, type, collation and NOT NULL always; the default with INCLUDING DEFAULTS
  (as it is: a serial column's ``nextval`` keeps naming the source's sequence), the generation
  expression with INCLUDING GENERATED, identity with INCLUDING IDENTITY, the comment with
  INCLUDING COMMENTS. ``copy_columns`` does this.
* Once the table exists with its own constraints and indexes, ``expand`` adds the rest:
  INCLUDING CONSTRAINTS copies every CHECK of the source, inherited ones too, under the same
  name (a name the new table already has is an error, as on the server); INCLUDING INDEXES
  copies the indexes, primary key, unique and exclusion constraints under names the server
  chooses afresh (``ChooseIndexName``: ``t_pkey``, ``t_col_key``, ``t_col_excl``,
  ``t_col_idx``, numbered past any relation of the schema with that name, by the rule every
  unnamed index of the replay follows: ``naming.choose_index_name`` with
  ``constraints.RelationNames``); INCLUDING COMMENTS
  brings the comments of the copied CHECKs and indexes along (never those of a primary key,
  unique or exclusion constraint: the server copies its index's comment, not the
  constraint's).

INCLUDING IDENTITY gives the copy a sequence of its own, named as a serial column's
(``constraints.note_identity``). Foreign keys are never copied. STORAGE and COMPRESSION change nothing pgspec models; statistics
objects are not modelled, so INCLUDING STATISTICS is reported when the script made any. A
source the script did not create (or one outside the schemas read), or a view, whose column
types only a server knows, is reported, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pglast
from pglast import ast, enums

from pgspec import naming
from pgspec.catalog import Column, Constraint, Index, Table
from pgspec.normalize.expressions import figure_index_colname
from pgspec.quoting import qualified
from pgspec.sources.replay.constraints import RelationNames, key_name, note_identity
from pgspec.sources.replay.state import State

LIKE = enums.TableLikeOption


@dataclass(frozen=True)
class LikeCopy:
    """What one LIKE clause copies once the table exists (``expand``)."""

    #: ``schema.name`` of the source, and the source itself; None for a composite type,
    #: which has no constraints, indexes or comments to copy.
    source_key: str
    source: Table | None
    options: int

    def including(self, option: LIKE) -> bool:
        return bool(self.options & option)


def copy_columns(state: State, schema: str, name: str, clause: ast.TableLikeClause
                 ) -> tuple[list[Column], LikeCopy | None]:
    """The columns a LIKE clause puts where it stands in ``schema.name``, and what it copies
    once the table exists. ``([], None)`` when the source's columns cannot be known offline:
    a warning says so."""
    src_schema, src_name = state.relation_key(clause.relation)
    source_key = qualified(src_schema, src_name)
    options = int(clause.options or 0)
    table = state.table(source_key)
    if table is not None:
        copy = LikeCopy(source_key, table, options)
        columns = [_copied_column(c, copy) for c in table.columns]
        for col in columns:
            if col.identity is not None:
                # A sequence of its own, named now as a serial column's (generateSerialExtraStmts).
                note_identity(state, schema, name, col.name)
        return columns, copy
    composite = state.objects["composite_types"].get(source_key)
    if composite is not None:
        # A composite type has only names, types and collations (inapplicable options are
        # ignored, as the server ignores them).
        return [Column(name=a.name, type=a.type, collation=a.collation)
                for a in composite.attributes], LikeCopy(source_key, None, options)
    if not state.keep(schema):
        return [], None
    if source_key in state.objects["views"] or source_key in state.objects["materialized_views"]:
        why = "is a view, whose column types only a server knows"
    elif not state.keep(src_schema):
        why = "is outside the schemas read"
    else:
        why = "was not created by the script"
    state.warn("table", qualified(schema, name),
               f"LIKE {source_key}: the source {why}; its columns are not copied")
    return [], None


def _copied_column(col: Column, copy: LikeCopy) -> Column:
    """One column as LIKE copies it: NOT NULL and collation always, the rest by option."""
    return Column(
        name=col.name,
        type=col.type,
        not_null=col.not_null,
        collation=col.collation,
        # A generated column's expression is not a default (pg_attrdef holds both; the server
        # copies it only with INCLUDING GENERATED).
        default=col.default if copy.including(LIKE.CREATE_TABLE_LIKE_DEFAULTS)
        and col.generated is None else None,
        generated=col.generated if copy.including(LIKE.CREATE_TABLE_LIKE_GENERATED) else None,
        identity=col.identity if copy.including(LIKE.CREATE_TABLE_LIKE_IDENTITY) else None,
        comment=col.comment if copy.including(LIKE.CREATE_TABLE_LIKE_COMMENTS) else None,
    )


def expand(state: State, schema: str, name: str, copy: LikeCopy) -> None:
    """What a LIKE clause adds after the table is created with its own constraints and
    indexes (the server runs ``expandTableLikeClause`` then, in the order of the clauses)."""
    source = copy.source
    if source is None:
        return
    if copy.including(LIKE.CREATE_TABLE_LIKE_CONSTRAINTS):
        for check in _checks(state, source):
            _copy_check(state, schema, name, check, copy)
    if copy.including(LIKE.CREATE_TABLE_LIKE_INDEXES):
        for con in _index_constraints(state, source):
            _copy_index_constraint(state, schema, name, con, RelationNames(state, schema, True))
        for index in _indexes(state, source):
            _copy_index(state, schema, name, index, copy, RelationNames(state, schema))
    if copy.including(LIKE.CREATE_TABLE_LIKE_STATISTICS) and any(
        w.object_type == "statistics" for w in state.warnings
    ):
        state.warn("table", qualified(schema, name),
                   f"LIKE {copy.source_key} INCLUDING STATISTICS: statistics objects are not "
                   "modelled by pgspec, so those the source has are not copied")


# --------------------------------------------------------------------------- CHECK


def _ancestors(state: State, table: Table, partitions_only: bool = False) -> list[Table]:
    """Parents, grandparents... of a table, nearest first, each once."""
    found: dict[str, Table] = {}
    todo = [table]
    while todo:
        current = todo.pop(0)
        parents = [current.partition_of] if current.partition_of else []
        if not partitions_only:
            parents += current.inherits
        for key in parents:
            parent = state.table(key)
            if parent is not None and parent.key not in found and parent.key != table.key:
                found[parent.key] = parent
                todo.append(parent)
    return list(found.values())


def _checks(state: State, source: Table) -> list[Constraint]:
    """Every CHECK the source has on the server: its own and those it inherits (the replay
    keeps an inherited CHECK with the parent only; a NO INHERIT one stays there)."""
    constraints = state.objects["constraints"].values()
    found: dict[str, Constraint] = {}
    for con in constraints:
        if con.table_key == source.key and con.kind == "check":
            found.setdefault(con.name, con)
    for parent in _ancestors(state, source):
        for con in constraints:
            if con.table_key == parent.key and con.kind == "check" and not con.no_inherit:
                found.setdefault(con.name, con)
    return list(found.values())


def _copy_check(state: State, schema: str, name: str, check: Constraint, copy: LikeCopy) -> None:
    """A CHECK keeps its name on the copy (expandTableLikeClause passes ``ccname`` along)."""
    key = qualified(schema, name, check.name)
    if key in state.objects["constraints"]:
        raise state.error(f"constraint {check.name!r} for relation {qualified(schema, name)} "
                          "already exists (copied by LIKE INCLUDING CONSTRAINTS)")
    comment = check.comment if copy.including(LIKE.CREATE_TABLE_LIKE_COMMENTS) else None
    state.put("constraints", check.model_copy(update={
        "schema_name": schema, "table": name, "comment": comment, "location": None}))


# --------------------------------------------------------------------------- indexes


def _index_constraints(state: State, source: Table) -> list[Constraint]:
    """The source's primary key, unique and exclusion constraints, in creation order; a
    partition's parents' come first (the server cloned them onto it when it was made)."""
    tables = [t.key for t in reversed(_ancestors(state, source, partitions_only=True))]
    return [c for key in [*tables, source.key]
            for c in state.objects["constraints"].values()
            if c.table_key == key and c.kind in ("primary_key", "unique", "exclude")]


def _indexes(state: State, source: Table) -> list[Index]:
    """The source's indexes in creation order, a partition's parents' first."""
    tables = [t.key for t in reversed(_ancestors(state, source, partitions_only=True))]
    return [i for key in [*tables, source.key]
            for i in state.objects["indexes"].values() if i.table_key == key]


def _expression_name(text: str) -> str:
    """The name the server gives an index expression stored as text (``FigureIndexColname``),
    ``expr`` where it has none."""
    try:
        stmt = pglast.parse_sql(f"SELECT {text}")[0].stmt
    except pglast.parser.ParseError:
        return "expr"
    return figure_index_colname(stmt.targetList[0].val) or "expr"


def _exclusion_names(con: Constraint) -> list[str]:
    """Column names of an exclusion constraint's index, from its stored clause, named as for
    an unnamed exclusion constraint (``constraints.key_name``)."""
    if not con.definition:
        return list(con.columns)
    try:
        stmt = pglast.parse_sql(f"ALTER TABLE t ADD {con.definition}")[0].stmt
    except pglast.parser.ParseError:
        return list(con.columns)
    clause = stmt.cmds[0].def_
    return [key_name(pair[0]) for pair in clause.exclusions or ()
            if isinstance(pair[0], ast.IndexElem)]


def _copy_index_constraint(state: State, schema: str, name: str, con: Constraint,
                           taken: RelationNames) -> None:
    table_key = qualified(schema, name)
    if con.kind == "primary_key":
        if any(c.table_key == table_key and c.kind == "primary_key"
               for c in state.objects["constraints"].values()):
            raise state.error(f"multiple primary keys for table {table_key} are not allowed "
                              "(one is copied by LIKE INCLUDING INDEXES)")
        new_name = naming.choose_index_name(name, [], "pkey", taken)
        state.primary_keys[table_key] = list(con.columns)
    elif con.kind == "unique":
        new_name = naming.choose_index_name(name, [*con.columns, *con.include], "key", taken)
    else:
        new_name = naming.choose_index_name(name, [*_exclusion_names(con), *con.include], "excl",
                                             taken)
    # The constraint's own comment stays behind: the server copies the comment of the index.
    state.put("constraints", con.model_copy(update={
        "schema_name": schema, "table": name, "name": new_name, "comment": None,
        "location": None}))


def _copy_index(state: State, schema: str, name: str, index: Index, copy: LikeCopy,
                taken: RelationNames) -> None:
    keys = [k.column if k.column is not None else _expression_name(k.expression or "")
            for k in index.keys]
    new_name = naming.choose_index_name(name, [*keys, *index.include], "idx", taken)
    comment = index.comment if copy.including(LIKE.CREATE_TABLE_LIKE_COMMENTS) else None
    state.put("indexes", index.model_copy(update={
        "schema_name": schema, "table": name, "name": new_name, "comment": comment,
        "location": None}))
