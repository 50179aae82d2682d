"""The spec loader's fast paths answer exactly what the full checks answer.

``names._plain_reference`` reads a foreign key target from libpg_query's JSON instead of
pglast's Python tree; it must either give ``_reference``'s answer or decline (None), so every
message stays the full check's. ``Pos`` is a slotted class standing in for a frozen dataclass.
"""

from __future__ import annotations

import pytest

from pgspec.errors import SqlError
from pgspec.spec import names
from pgspec.spec.positions import Pos
from pgspec.spec.yaml_loader import parse_yaml

REFERENCES = [
    "users", "users(id)", "auth.users(id)", '"Acc".x(a, b)', "x ( a , b )", "x(id) collate c",
    "x(a) on delete cascade", "x deferrable", "db.s.t(id)", "x match full", "x not null",
    "x(id), d int", "users(", "", "x(a) on update set null", "x(id) initially deferred",
    "x(id) not enforced", '"" (a)', "x(id) check (true)", "x(id); drop table y",
]


def _full(text: str, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(names, "_plain_reference", lambda text, schema: None)
        try:
            return names._reference.__wrapped__(text, "public")
        except SqlError as exc:
            return str(exc)


@pytest.mark.parametrize("text", REFERENCES)
def test_plain_reference_agrees_with_the_full_check(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = names._plain_reference(text, "public")
    full = _full(text, monkeypatch)
    if fast is None:
        assert isinstance(full, str)  # declined: the full check reports it
    else:
        assert fast == full


def test_plain_reference_answers_the_common_forms() -> None:
    assert names._plain_reference("users", "app") == ("app", "users", ())
    assert names._plain_reference('auth."Users"(id, "Org")', "app") == ("auth", "Users", ("id", "Org"))


def test_pos_walks_lines_and_values() -> None:
    data = parse_yaml("tables:\n  t:\n    columns:\n      id: uuid\n    tags: [a, b]\n", "f.yaml")
    root = Pos("f.yaml", data, 1)
    col = root.at("tables", "t", "columns", "id")
    assert (col.file, col.node, col.line, col.origin) == ("f.yaml", "uuid", 4, None)
    assert root.at("tables", "t", "tags", 1).line == 5
    missing = root.at("tables", "nope", "x")
    assert missing.node is None and missing.line == 1
    assert col == Pos("f.yaml", "uuid", 4) and col != Pos("f.yaml", "uuid", 5)
    assert "line=4" in repr(col)
