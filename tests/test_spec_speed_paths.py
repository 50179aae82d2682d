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


LONG_FORMS = [
    ("PrimaryKeyIn", {"columns": ["id"]}),
    ("RlsIn", {"enabled": True}),
    ("ColumnIn", {"type": "uuid"}),
    ("ReferenceIn", {"table": "-"}),
    ("ExtensionIn", {}),
]


@pytest.mark.parametrize(("model", "values"), LONG_FORMS)
def test_long_form_copy_equals_model_construct(model: str, values: dict[str, object]) -> None:
    """``long_form`` copies a per-model defaults instance: the same model ``model_construct``
    gives, with the same fields set, and no state shared between two calls' given values."""
    from pgspec.spec import models as m
    from pgspec.spec.build_state import long_form

    cls = getattr(m, model)
    fast = long_form(cls, **values)
    assert fast == cls.model_construct(**values)
    assert fast.model_fields_set == set(values)
    assert long_form(cls) == cls.model_construct()


LAZY_POSITIONS = """\
schema: public
enums:
  mood: [happy]
tables:
  t:
    columns:
      a: {type: int, default: "1 +"}
      b:
        type: missing_type
      c: nope_type
      d: {type: int, generated: "(a"}
    indexes:
      t_a: {columns: [a], where: "a >"}
    policies:
      p: {command: select, using: "a ="}
    triggers:
      tr: {timing: before, events: [update], function: f, when: "new.a >"}
views:
  v: {query: "SELECT FROM FROM"}
"""


def test_positions_walked_only_on_a_problem_still_name_the_line(tmp_path: object) -> None:
    """sql_ok and type_of take the keys below the object and walk them only when they report:
    every problem still names the line of the key at fault."""
    from pathlib import Path

    from pgspec.errors import SpecError
    from pgspec.sources.spec import load_spec

    path = Path(str(tmp_path)) / "s.yaml"
    path.write_text(LAZY_POSITIONS)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    lines = {p.line for p in info.value.problems}
    # default (7), mapping type (9), shorthand type (10), generated (11), where (13),
    # using (15), when (17), query (19).
    assert {7, 9, 10, 11, 13, 15, 17, 19} <= lines, info.value.problems
