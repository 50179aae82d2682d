"""YAML text the way people write specs: block mappings, short objects on one line, SQL
bodies and queries as ``|`` block strings.

PyYAML decides quoting itself (a value that would read back as a number, a boolean or a
flow indicator is quoted), so whatever is written loads back to the same strings; this
module only chooses layout. Nothing is ever emitted as a YAML alias.
"""

from __future__ import annotations

from typing import Any

import yaml

#: libyaml's emitter (with the same resolver), for documents it writes as PyYAML does.
_C_EMITTER: type | None = getattr(yaml, "CSafeDumper", None)  # None: PyYAML without libyaml

#: One-line ``{type: uuid, not_null: true}`` mappings are used up to this many characters.
FLOW_WIDTH = 100


class Flow(dict[str, Any]):
    """A mapping written on one line (``{type: uuid, primary_key: true}``) if it fits."""


class FlowList(list[Any]):
    """A list written on one line (``[free, pro]``)."""


class Bare(str):
    """A scalar SQL value written unquoted because YAML reads it back as the same text
    (``0``, ``0.10``, ``true``): the spec loader keeps a number's text as written."""


class _Tracking(yaml.SafeDumper):
    """A dumper that never writes aliases and notes whether libyaml may emit what it built."""

    #: Whether every scalar represented so far is one libyaml writes as PyYAML does.
    same_in_c = True

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_scalar(self, tag: str, value: str, style: str | None = None) -> yaml.ScalarNode:
        if self.same_in_c and not _same_in_c(value):
            self.same_in_c = False
        return super().represent_scalar(tag, value, style)


class _Dumper(_Tracking):
    """Writes spec files: block mappings, ``Flow`` values on one line when they fit."""


def _emit(node: yaml.Node, same_in_c: bool, **options: Any) -> str:
    """The text of a represented document: libyaml's emitter when it writes the same bytes
    as PyYAML's (``_same_in_c`` held for every scalar), three times faster; PyYAML's otherwise."""
    emitter = _C_EMITTER if same_in_c and _C_EMITTER is not None else _Dumper
    return yaml.serialize(node, Dumper=emitter, allow_unicode=True, width=10**6, **options)


def _same_in_c(value: str) -> bool:
    """Whether libyaml's emitter writes this scalar byte for byte as PyYAML's does.

    They differ on text outside printable ASCII (libyaml escapes characters above U+FFFF and
    treats tabs and line separators its own way), on empty keys (``? ''``) and on a block
    ending in a line break (libyaml adds a ``...`` document end), so such text is written by
    PyYAML (tests/test_inspect_yaml.py compares the two on generated documents).
    """
    if not value or not value.isascii() or value[-1] == "\n":
        return False
    return value.isprintable() or value.replace("\n", "").isprintable()


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value.strip("\n"):
        # A literal block keeps every character; PyYAML falls back to a quoted scalar by itself
        # when the text cannot be a block (trailing spaces on a line, control characters).
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if "'" in value and '"' not in value and "\\" not in value and value.isprintable() and not _plain_ok(value):
        # SQL string literals read better in double quotes than with doubled single quotes.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _plain_ok(value: str) -> bool:
    """Whether PyYAML may write ``value`` unquoted in both block and flow context."""
    analysis = yaml.emitter.Emitter.analyze_scalar(_ANALYZER, value)
    return bool(analysis.allow_flow_plain and analysis.allow_block_plain)


_ANALYZER = yaml.emitter.Emitter.__new__(yaml.emitter.Emitter)
# ``analyze_scalar`` reads this for text outside ASCII; files are written with allow_unicode.
_ANALYZER.allow_unicode = True


def _bare(dumper: yaml.SafeDumper, value: Bare) -> yaml.Node:
    if value in ("true", "false"):
        tag = "tag:yaml.org,2002:bool"
    elif "." in value:
        tag = "tag:yaml.org,2002:float"
    else:
        tag = "tag:yaml.org,2002:int"
    return dumper.represent_scalar(tag, str(value), style=None)


def _block_map(dumper: yaml.SafeDumper, value: dict[Any, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=False)


def _block_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=False)


def _fits(value: Any) -> bool:
    """Whether a value reads well on one line: short, and no multi-line text inside."""
    # types-PyYAML types a dumper's stream as required; a dumper that only represents (as
    # here: the node is emitted by _emit) never touches it, and PyYAML accepts None.
    measurer = _FlowDumper(None, default_flow_style=True, sort_keys=False)  # type: ignore[arg-type]
    node = measurer.represent_data(_plain(value))
    text = _emit(node, measurer.same_in_c).strip()
    return len(text) <= FLOW_WIDTH and "\n" not in text


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and "\n" in value:
        raise _Multiline
    return value


class _Multiline(Exception):
    pass


def _shape(value: Any) -> Any:
    """A hashable stand-in for ``value`` that two values share only when they are written
    the same: the same keys in the same order and scalars of the same type and text (``True``
    and ``1``, ``"0"`` and ``Bare("0")`` differ)."""
    if isinstance(value, dict):
        return (dict, *((type(k), k, _shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return (list, *(_shape(v) for v in value))
    return (type(value), value)


#: ``_fits`` by ``_shape``: a table's one-line column mappings repeat across thousands of tables
#: (``{type: uuid, not_null: true}``), and measuring one means emitting it as YAML.
_FITS: dict[Any, bool] = {}
_FITS_LIMIT = 100_000


def _fits_safe(value: Any) -> bool:
    key = _shape(value)
    found = _FITS.get(key)
    if found is not None:
        return found
    try:
        found = _fits(value)
    except _Multiline:
        found = False
    if len(_FITS) >= _FITS_LIMIT:
        _FITS.clear()
    _FITS[key] = found
    return found


def _flow_map_safe(dumper: yaml.SafeDumper, value: Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=_fits_safe(value))


def _flow_list_safe(dumper: yaml.SafeDumper, value: FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=_fits_safe(value))


class _FlowDumper(_Tracking):
    """Measures one-line width: every collection in flow style."""


for _dumper in (_Dumper, _FlowDumper):
    _dumper.add_representer(str, _str)
    _dumper.add_representer(Bare, _bare)
_Dumper.add_representer(str, _str)
_Dumper.add_representer(Flow, _flow_map_safe)
_Dumper.add_representer(FlowList, _flow_list_safe)
_Dumper.add_representer(dict, _block_map)
_Dumper.add_representer(list, _block_list)


def dump(data: dict[str, Any], header: str | None = None) -> str:
    """One spec file's text; ``header`` becomes leading ``#`` comment lines.

    The layout is PyYAML's (the representers above decide every style); the document is then
    emitted by libyaml when that gives the same bytes (``_same_in_c``), three times faster on
    a big schema, and by PyYAML otherwise.
    """
    representer = _Dumper(None, default_flow_style=False, sort_keys=False)  # type: ignore[arg-type]  # stub: see _fits
    node = representer.represent_data(data)
    text = _emit(node, representer.same_in_c, indent=2)
    if header:
        text = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + text
    return text
