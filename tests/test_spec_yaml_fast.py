"""The libyaml-fed spec loader reads exactly what the pure-Python one reads (issue 8: YAML
parsing was most of ``verify`` on a 3,000-table spec), lines, number texts and YAML 1.2
booleans included; deep nesting still ends in a SpecError, never a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgspec.errors import SpecError
from pgspec.spec import yaml_loader
from pgspec.spec.yaml_loader import parse_yaml

ROOT = Path(__file__).resolve().parent.parent

TRICKY = """
tables:
  public.t:   # a comment
    columns:
      a: {type: numeric, default: 0.10}
      b: {type: text, default: 'no'}
      c: [yes, no, on, off, true, 2024-01-01, ~, 0x1F, 1e3, .inf]
    merged: &base {x: 1, y: [1, 2]}
    other:
      <<: *base
      z: |
        multi
        line
    quoted: "a\\tb"
"""


def _deep(value: Any) -> Any:
    if isinstance(value, dict):
        return (type(value).__name__, value.line, dict(value.lines),
                {k: _deep(v) for k, v in value.items()})
    if isinstance(value, list):
        return (type(value).__name__, value.line, list(value.lines), [_deep(v) for v in value])
    return (type(value).__name__, value, getattr(value, "text", None))


def _pure(text: str) -> Any:
    loader = yaml_loader._LineLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


@pytest.mark.skipif(yaml_loader._FastLineLoader is None, reason="PyYAML without libyaml")
def test_fast_and_pure_loaders_agree() -> None:
    texts = [TRICKY] + [p.read_text() for p in sorted((ROOT / "schema").rglob("*.yaml"))]
    for text in texts:
        fast = yaml_loader._FastLineLoader(text)
        try:
            got = fast.get_single_data()
        finally:
            fast.dispose()
        assert _deep(got) == _deep(_pure(text))


@pytest.mark.parametrize("text", ["a: " + "[" * 5000, "a: " + "[" * 200_000, "a: [1, 2\nb: {"])
def test_bad_or_deep_yaml_is_a_spec_error(text: str) -> None:
    with pytest.raises(SpecError):
        parse_yaml(text, "deep.yaml")


def test_duplicate_key_names_both_lines() -> None:
    with pytest.raises(SpecError, match=r"duplicate key 'a' \(first at line 1\)"):
        parse_yaml("a: 1\nb: 2\na: 3\n", "dup.yaml")


@pytest.mark.skipif(yaml_loader._PlainReader is None, reason="PyYAML without libyaml")
def test_plain_documents_skip_the_node_graph_and_read_the_same() -> None:
    """The seed's files are plain documents, read straight from libyaml's events, with the
    loaders' data, lines and number texts; a document with an anchor, a merge key or a
    duplicate key is not plain and goes to the loaders (which report its problems)."""
    for path in sorted((ROOT / "schema").rglob("*.yaml")):
        text = path.read_text()
        reader = yaml_loader._PlainReader(text)
        try:
            got = reader.document()
        finally:
            reader.dispose()
        assert _deep(got) == _deep(_pure(text))
    for text in (TRICKY, "a: &x 1\nb: *x\n", "a: 1\na: 2\n", "a: !!str 5\n", "? [a]\n: 1\n"):
        reader = yaml_loader._PlainReader(text)
        try:
            with pytest.raises(yaml_loader._NotPlain):
                reader.document()
        finally:
            reader.dispose()
    assert _deep(parse_yaml(TRICKY, "t.yaml")) == _deep(_pure(TRICKY))
