"""The names PostgreSQL gives objects nobody named.

A spec that writes ``unique: true`` on a column, and a script with an unnamed ``CHECK``, both
create constraints the server names itself. To compare them with what the server stores, every
source names them the way the server does (``makeObjectName`` and ``ChooseRelationName`` in
PostgreSQL's ``src/backend/commands/indexcmds.c``, ``ChooseConstraintName`` in
``src/backend/catalog/pg_constraint.c``): parts are shortened, the longer first, so the result
fits in NAMEDATALEN - 1 = 63 bytes, never splitting a multibyte character; a name already taken
is numbered (``t_a_idx``, ``t_a_idx1``, ...).

What counts as taken is the caller's to say (``taken``, anything ``name in taken`` can ask),
and differs by kind, as on the server:

* an index (``CREATE INDEX`` without a name) and a serial column's sequence must not repeat a
  relation of the schema: table, view, sequence, composite type or index, the indexes of
  primary keys, unique and exclusion constraints included;
* a primary key, unique or exclusion constraint (its index and itself share the name) must
  not repeat a relation of the schema nor a constraint of the schema;
* a CHECK or a foreign key must not repeat a constraint of the schema (any table's, a
  domain's).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence

NAMEDATALEN = 64


def _clip(name: str, nbytes: int) -> str:
    """The longest prefix of ``name`` that fits in ``nbytes`` bytes of UTF-8."""
    encoded = name.encode()
    if len(encoded) <= nbytes:
        return name
    return encoded[:nbytes].decode(errors="ignore")


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """PostgreSQL's ``makeObjectName``: ``name1_name2_label`` fitted into 63 bytes."""
    overhead = 0
    name1_len = len(name1.encode())
    name2_len = 0
    if name2:
        name2_len = len(name2.encode())
        overhead += 1
    if label:
        overhead += len(label.encode()) + 1
    available = NAMEDATALEN - 1 - overhead
    while name1_len + name2_len > available:
        if name1_len > name2_len:
            name1_len -= 1
        else:
            name2_len -= 1
    result = _clip(name1, name1_len)
    if name2:
        result += "_" + _clip(name2, name2_len)
    if label:
        result += "_" + label
    return result


def column_names_addition(columns: Sequence[str]) -> str:
    """Column names joined by ``_``, as PostgreSQL builds the middle of a default name.

    The server stops adding names once the text is already too long to matter
    (``ChooseIndexNameAddition`` / ``ChooseForeignKeyConstraintNameAddition``).
    """
    text = ""
    for column in columns:
        if text:
            text += "_"
        text += column
        if len(text.encode()) >= NAMEDATALEN:
            break
    return text


def index_column_names(names: Iterable[str]) -> list[str]:
    """PostgreSQL's ``ChooseIndexColumnNames``: the names of an index's columns (keys, then
    INCLUDE columns) made distinct, a name seen before getting ``1``, ``2``, ... after it,
    clipped so the result fits in 63 bytes: ``(a, a)`` makes ``a, a1`` (``t_a_a1_idx``),
    ``(lower(x), lower(y))`` makes ``lower, lower1``."""
    result: list[str] = []
    for original in names:
        name, attempt = original, 0
        while name in result:
            attempt += 1
            suffix = str(attempt)
            name = _clip(original, NAMEDATALEN - 1 - len(suffix)) + suffix
        result.append(name)
    return result


def choose_relation_name(
    name1: str, name2: str | None, label: str, taken: Container[str] = ()
) -> str:
    """``name1_name2_label``, or else the same with ``label1``, ``label2``, ... (each fitted
    into 63 bytes afresh), the first not ``taken``: PostgreSQL's ``ChooseRelationName`` and
    ``ChooseConstraintName`` differ only in what they count as taken (the module's docstring):
    ``CHECK (x > 0) CHECK (x < 10)`` on a table ``t`` makes ``t_x_check`` and ``t_x_check1``;
    two unnamed indexes on ``t (a)`` make ``t_a_idx`` and ``t_a_idx1``."""
    name = make_object_name(name1, name2, label)
    attempt = 0
    while name in taken:
        attempt += 1
        name = make_object_name(name1, name2, f"{label}{attempt}")
    return name


#: ``ChooseConstraintName`` numbers names as ``ChooseRelationName`` does.
choose_constraint_name = choose_relation_name


def choose_index_name(
    table: str, columns: Iterable[str], label: str, taken: Container[str] = ()
) -> str:
    """PostgreSQL's ``ChooseIndexName`` for an index of ``table`` whose columns (keys, then
    INCLUDE columns, each named as ``FigureIndexColname`` names it) are ``columns``.

    ``label`` says what the index is: ``pkey`` (named after the table alone), ``excl``,
    ``key`` (a unique constraint) or ``idx`` (a plain index, unique or not).
    """
    if label == "pkey":
        return choose_relation_name(table, None, label, taken)
    addition = column_names_addition(index_column_names(columns))
    return choose_relation_name(table, addition, label, taken)


def primary_key_name(table: str, taken: Container[str] = ()) -> str:
    return choose_index_name(table, (), "pkey", taken)


def unique_name(table: str, columns: Sequence[str], taken: Container[str] = ()) -> str:
    """A unique constraint, named after its key and INCLUDE columns."""
    return choose_index_name(table, columns, "key", taken)


def foreign_key_name(table: str, columns: Sequence[str], taken: Container[str] = ()) -> str:
    return choose_constraint_name(table, column_names_addition(columns), "fkey", taken)


def check_name(table: str, columns: Sequence[str], taken: Container[str] = ()) -> str:
    """A CHECK is named after its column only when it references exactly one column."""
    distinct = list(dict.fromkeys(columns))
    return choose_constraint_name(table, distinct[0] if len(distinct) == 1 else None, "check",
                                  taken)


def exclusion_name(table: str, columns: Sequence[str], taken: Container[str] = ()) -> str:
    """An exclusion constraint, named after its key and INCLUDE columns."""
    return choose_index_name(table, columns, "excl", taken)


def index_name(table: str, columns: Sequence[str], taken: Container[str] = ()) -> str:
    """An unnamed CREATE INDEX: ``table_col_idx``, after its key and INCLUDE columns; an
    expression key is named as ``FigureIndexColname`` names it (``lower``), or ``expr``."""
    return choose_index_name(table, columns, "idx", taken)


def sequence_name(table: str, column: str, taken: Container[str] = ()) -> str:
    """The sequence behind a serial or identity column (``ChooseRelationName``, chosen while
    the CREATE TABLE is transformed, before the table exists)."""
    return choose_relation_name(table, column, "seq", taken)
