"""The YAML inspect writes is the same bytes whichever emitter writes it.

``pgspec.inspect.yamlout.dump`` lets libyaml emit a document when every scalar in it is one
libyaml writes as PyYAML does, and PyYAML otherwise; one-line layouts are measured once per
distinct shape. These tests hold both short cuts to the plain PyYAML result, on generated
documents of the shapes inspect writes (flow and block mappings and lists, SQL-ish text,
multi-line bodies, unquoted numbers) and on text libyaml writes differently.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgspec.inspect import yamlout
from pgspec.inspect.yamlout import Bare, Flow, FlowList


def _pyyaml(data: dict[str, Any]) -> str:
    """The document as PyYAML alone writes it (what ``dump`` wrote before the short cuts):
    PyYAML's emitter for the document and for every one-line measurement, nothing remembered."""
    saved_emitter, saved_fits = yamlout._C_EMITTER, dict(yamlout._FITS)
    yamlout._C_EMITTER = None
    yamlout._FITS.clear()
    try:
        return yaml.dump(data, Dumper=yamlout._Dumper, sort_keys=False, allow_unicode=True,
                         width=10**6, indent=2)
    finally:
        yamlout._C_EMITTER = saved_emitter
        yamlout._FITS.clear()
        yamlout._FITS.update(saved_fits)


_ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40)
_TRICKY = st.text(st.sampled_from(list(" \n\t'\"\\:#-?{}[],&*!|>%@`a0.")), max_size=20)
_SQL = st.sampled_from([
    "now()", "'{}'::jsonb", "gen_random_uuid()", "'it''s'", "a\n  b", " x\ny", "x \ny", "\nx",
    "body\n", "true", "null", "~", "-", "1e3", "yes", "- a", "a: b", "#c", "x #y", "",
    "café", "'naïve'::text", "\U0001f600", "tab\there", "\ufeffbom", "line\u2028sep",
])
_TEXT = st.one_of(_ASCII, _TRICKY, _SQL, st.text(st.characters(codec="utf-8"), max_size=8))
_SCALAR = st.one_of(
    _TEXT, st.booleans(), st.integers(), st.none(),
    st.sampled_from([Bare("0"), Bare("0.10"), Bare("true"), Bare("-1")]),
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(FlowList),
        st.dictionaries(_TEXT, inner, max_size=3),
        st.dictionaries(_TEXT, inner, max_size=3).map(Flow),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck),
          database=None)
@given(st.dictionaries(_TEXT, _VALUE, min_size=1, max_size=4))
def test_dump_is_pyyamls_bytes(data: dict[str, Any]) -> None:
    expected = _pyyaml(data)
    assert yamlout.dump(data) == expected
    assert yamlout.dump(data) == expected  # a second time, with every layout remembered


def test_libyaml_is_there() -> None:
    """The short cut is taken where PyYAML has libyaml (the tests above compare something)."""
    assert yamlout._C_EMITTER is not None


def test_a_big_ascii_document_goes_through_libyaml_unchanged() -> None:
    """The layout of a table-heavy file (what the benchmark writes) is PyYAML's, byte for byte."""
    tables = {
        f"account_{i:05}": {
            "columns": {
                "id": Flow(type="uuid", primary_key=True, default="gen_random_uuid()"),
                "quantity": Flow(type="integer", not_null=True, default=Bare("0")),
                "status": Flow(type="record_status", default="'draft'"),
                "tags": "text[]",
            },
            "indexes": [Flow(columns=FlowList(["tenant_id", "created_at DESC"]))],
            "check": "char_length(name) > 0",
            "body": "BEGIN\n  RETURN NEW;\nEND",
        }
        for i in range(50)
    }
    data = {"schema": "public", "tables": tables}
    representer = yamlout._Dumper(None, default_flow_style=False, sort_keys=False)
    representer.represent_data(data)
    assert representer.same_in_c
    assert yamlout.dump(data, header="h") == "# h\n" + _pyyaml(data)


def test_text_libyaml_writes_differently_is_left_to_pyyaml() -> None:
    for value in ("\U0001f600'", "", "keep\n\n", "tab\t", "\u2028"):
        assert not yamlout._same_in_c(value)
        data = {"a": {value: Flow(x=value)}, value: [value]}
        assert yamlout.dump(data) == _pyyaml(data)


def test_one_line_layout_is_measured_per_shape_and_type() -> None:
    """Values equal in Python but written differently do not share a measurement."""
    short = Flow(a=True, b=1)
    assert yamlout.dump({"x": short}) == "x: {a: true, b: 1}\n"
    assert yamlout.dump({"x": Flow(a=1, b=True)}) == "x: {a: 1, b: true}\n"
    assert yamlout.dump({"x": Flow(d="0")}) == "x: {d: '0'}\n"
    assert yamlout.dump({"x": Flow(d=Bare("0"))}) == "x: {d: 0}\n"
    long = Flow(a="x" * 120)
    assert yamlout.dump({"x": long}) == f"x:\n  a: {'x' * 120}\n"
    assert yamlout.dump({"x": Flow(a="l1\nl2")}) == "x:\n  a: |-\n    l1\n    l2\n"


def test_quoted_literal_outside_ascii_does_not_crash() -> None:
    """A SQL literal with a quote and a non-ASCII letter used to fail inside PyYAML's analyser
    (it read ``allow_unicode`` from an emitter that had none)."""
    text = yamlout.dump({"default": "'café'::text"})
    assert yaml.safe_load(text) == {"default": "'café'::text"}
    assert text == _pyyaml({"default": "'café'::text"})
