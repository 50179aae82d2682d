"""What the reports say: the JSON contract scripts depend on, and text a person reads."""

from __future__ import annotations

import json

from pgspec.catalog import Difference, Warning
from pgspec.report import FORMATS, render_report

DIFFS = [
    Difference(object_type="table", name="public.audit_log", change="missing",
               location="schema/audit.yaml:3"),
    Difference(object_type="column", name="public.accounts.email", change="changed", attribute="default",
               expected="'a'::text", actual="'b'::text", location="schema/tenancy.yaml:42"),
    Difference(object_type="column", name="public.accounts.email", change="changed", attribute="not_null",
               expected=True, actual=False, location="schema/tenancy.yaml:42"),
    Difference(object_type="index", name="public.tmp_idx", change="unexpected"),
]
WARNING = Warning(object_type="event_trigger", name="ddl_watch", message="event triggers are not modelled")


def report(fmt: str, diffs: list[Difference] = DIFFS, **extra: object) -> str:
    return render_report(diffs, fmt=fmt, expected_label="schema/", actual_label="postgresql://app@db/app",
                         warnings=[WARNING, WARNING], **extra)


def test_formats_offered() -> None:
    assert set(FORMATS) == {"json", "text", "github", "markdown"}


def test_json_shape_is_the_contract() -> None:
    data = json.loads(report("json"))
    assert list(data) == ["status", "expected", "actual", "summary", "differences", "warnings"]
    assert data["status"] == "drift"
    assert (data["expected"], data["actual"]) == ("schema/", "postgresql://app@db/app")
    assert data["summary"] == {"missing": 1, "unexpected": 1, "changed": 2}
    assert data["differences"][1] == {
        "object_type": "column", "name": "public.accounts.email", "change": "changed",
        "attribute": "default", "expected": "'a'::text", "actual": "'b'::text",
        "location": "schema/tenancy.yaml:42",
    }
    assert data["differences"][0]["attribute"] is None
    # The same warning from both sides is shown once, never dropped.
    assert data["warnings"] == [{"object_type": "event_trigger", "name": "ddl_watch",
                                 "message": "event triggers are not modelled", "location": None}]


def test_json_match() -> None:
    data = json.loads(render_report([], fmt="json", expected_label="a", actual_label="b", warnings=[]))
    assert data == {"status": "match", "expected": "a", "actual": "b",
                    "summary": {"missing": 0, "unexpected": 0, "changed": 0},
                    "differences": [], "warnings": []}


def test_text_groups_by_object_with_minus_and_plus_lines() -> None:
    text = report("text", color=False)
    assert "\033[" not in text
    lines = text.splitlines()
    assert lines[0] == "--- expected: schema/"
    assert lines[1] == "+++ actual:   postgresql://app@db/app"
    assert "table public.audit_log: missing  (schema/audit.yaml:3)" in lines
    assert "index public.tmp_idx: unexpected" in lines
    at = lines.index("column public.accounts.email: changed  (schema/tenancy.yaml:42)")
    assert lines[at + 1:at + 7] == ["  default:", "    - 'a'::text", "    + 'b'::text",
                                    "  not_null:", "    - true", "    + false"]
    assert "warning: event_trigger ddl_watch: event triggers are not modelled" in lines
    assert lines.count("warning: event_trigger ddl_watch: event triggers are not modelled") == 1
    assert lines[-1] == "4 differences: 1 missing, 1 unexpected, 2 changed"


def test_text_summary_lines() -> None:
    assert report("text", [], color=False).splitlines()[-1] == "no differences"
    assert report("text", DIFFS[:1], color=False).splitlines()[-1] == "1 difference: 1 missing"


def test_text_multiline_values_as_a_line_diff() -> None:
    body = Difference(object_type="function", name="public.f()", change="changed", attribute="body",
                      expected="BEGIN\n  RETURN 1;\nEND", actual="BEGIN\n  RETURN 2;\nEND")
    lines = report("text", [body], color=False).splitlines()
    assert "    -   RETURN 1;" in lines
    assert "    +   RETURN 2;" in lines
    assert "      BEGIN" in lines


def test_colour_only_when_asked_or_on_a_terminal() -> None:
    assert "\033[31m" in report("text", color=True)
    # Under pytest stdout is captured, not a terminal: no colour by default.
    assert "\033[" not in report("text")
