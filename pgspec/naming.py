"""The names PostgreSQL gives objects nobody named.

A spec that writes ``unique: true`` on a column, and a script with an unnamed ``CHECK``, both
create constraints the server names itself. To compare them with what the server stores, every
source names them the way the server does (``ChooseConstraintName`` / ``makeObjectName`` in
PostgreSQL's ``src/backend/commands/indexcmds.c``): parts are shortened, the longer first, so the
result fits in NAMEDATALEN - 1 = 63 bytes, never splitting a multibyte character.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

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


def primary_key_name(table: str) -> str:
    return make_object_name(table, None, "pkey")


def unique_name(table: str, columns: Sequence[str]) -> str:
    return make_object_name(table, column_names_addition(columns), "key")


def choose_constraint_name(
    name1: str, name2: str | None, label: str, taken: Container[str] = ()
) -> str:
    """PostgreSQL's ``ChooseConstraintName``: ``name1_name2_label``, or else the same with
    ``label1``, ``label2``, ... (each fitted into 63 bytes afresh), the first not ``taken``:
    ``CHECK (x > 0) CHECK (x < 10)`` on a table ``t`` makes ``t_x_check`` and ``t_x_check1``.
    The server asks its whole schema; callers pass the names of the same table or domain,
    which the generated names (prefixed with its name) nearly always collide with alone."""
    name = make_object_name(name1, name2, label)
    attempt = 0
    while name in taken:
        attempt += 1
        name = make_object_name(name1, name2, f"{label}{attempt}")
    return name


def foreign_key_name(table: str, columns: Sequence[str], taken: Container[str] = ()) -> str:
    return choose_constraint_name(table, column_names_addition(columns), "fkey", taken)


def check_name(table: str, columns: Sequence[str], taken: Container[str] = ()) -> str:
    """A CHECK is named after its column only when it references exactly one column."""
    distinct = list(dict.fromkeys(columns))
    return choose_constraint_name(table, distinct[0] if len(distinct) == 1 else None, "check",
                                  taken)


def exclusion_name(table: str, columns: Sequence[str]) -> str:
    return make_object_name(table, column_names_addition(columns), "excl")


def index_name(table: str, columns: Sequence[str]) -> str:
    """An unnamed CREATE INDEX: ``table_col_idx``; an expression key counts as ``expr``."""
    return make_object_name(table, column_names_addition(columns), "idx")


def sequence_name(table: str, column: str) -> str:
    """The sequence behind a serial or identity column."""
    return make_object_name(table, column, "seq")
