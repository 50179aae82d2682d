"""Read spec files into plain Python data that remembers the line of every key and item.

Every error pgspec reports about a spec names ``file:line``, so the loader keeps positions:
mappings become ``YamlMap`` (a dict with ``lines[key]``), sequences ``YamlList`` (a list with
``lines[i]``), and numbers keep the text they were written as, so ``default: 0.10`` stays
``0.10`` in SQL. Scalars follow YAML 1.2's core schema for booleans (``true``/``false`` only):
under YAML 1.1 an enum value ``no`` or ``off`` would silently become a boolean. Dates stay
strings for the same reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pgspec.errors import SpecError


class YamlMap(dict):
    """A mapping that knows the line (1-based) of each of its keys and of itself."""

    lines: dict[Any, int]
    line: int
    #: Keys a trait merged in: key -> (trait's file, (this file, line of the ``traits:`` entry)).
    sources: dict[Any, tuple[str, tuple[str, int]]] | None = None


class YamlList(list):
    """A sequence that knows the line (1-based) of each item and of itself."""

    lines: list[int]
    line: int


class YamlInt(int):
    """An integer that remembers how it was written (for SQL fragments)."""

    text: str


class YamlFloat(float):
    """A float that remembers how it was written: ``0.10`` is not ``0.1`` to a DEFAULT."""

    text: str


def _yaml12_resolvers() -> dict[str | None, list[tuple[str, Any]]]:
    """SafeLoader's implicit resolvers without YAML 1.1 booleans and timestamps."""
    import re  # resolvers are regular expressions over YAML scalars, not over SQL

    resolvers: dict[str | None, list[tuple[str, Any]]] = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [
            (tag, rx)
            for tag, rx in entries
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
        ]
        if kept:
            resolvers[first] = kept
    boolean = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
    for first in "tTfF":
        resolvers.setdefault(first, []).insert(0, ("tag:yaml.org,2002:bool", boolean))
    return resolvers


if TYPE_CHECKING:
    # What the mixin below is mixed into, for the type checker; at run time it adds no base,
    # so each loader's method order stays its own.
    _Constructor = yaml.constructor.SafeConstructor
else:
    _Constructor = object


class _Positions(_Constructor):
    """What a loader needs to record positions and refuse duplicate keys (mixed into a
    SafeLoader, and into the libyaml-fed loader below)."""

    yaml_implicit_resolvers = _yaml12_resolvers()

    file_name: str = "<spec>"

    def construct_yaml_map(self, node: yaml.MappingNode) -> Any:
        data = YamlMap()
        data.lines = {}
        data.line = node.start_mark.line + 1
        yield data
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                hash(key)
            except TypeError:
                raise SpecError(
                    "a mapping key must be a plain value", file=self.file_name, line=line
                ) from None
            if key in data.lines:
                raise SpecError(
                    f"duplicate key {key!r} (first at line {data.lines[key]})",
                    file=self.file_name,
                    line=line,
                )
            data[key] = self.construct_object(value_node, deep=True)
            data.lines[key] = line

    def construct_yaml_seq(self, node: yaml.SequenceNode) -> Any:
        data = YamlList()
        data.lines = [item.start_mark.line + 1 for item in node.value]
        data.line = node.start_mark.line + 1
        yield data
        data.extend(self.construct_object(item, deep=True) for item in node.value)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        value = YamlInt(super().construct_yaml_int(node))
        value.text = node.value
        return value

    def construct_yaml_float(self, node: yaml.ScalarNode) -> Any:
        value = YamlFloat(super().construct_yaml_float(node))
        value.text = node.value
        return value


class _LineLoader(_Positions, yaml.SafeLoader):
    """A SafeLoader that records positions and refuses duplicate keys."""


try:
    # types-PyYAML leaves out yaml.cyaml's CParser, which the module imports from yaml._yaml.
    from yaml.cyaml import CParser as _CParser  # type: ignore[attr-defined]

    _LIBYAML = True
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _LIBYAML = False

_FastLineLoader: Any = None
if _LIBYAML:

    class _FastLineLoader(  # type: ignore[no-redef]
        _Positions, yaml.composer.Composer, _CParser, yaml.constructor.SafeConstructor,
        yaml.resolver.Resolver,
    ):
        """``_LineLoader`` fed by libyaml's scanner and parser (C: a large spec reads several
        times faster) but composed by PyYAML's Python composer: libyaml's own composer recurses
        in C and crashes the process on deeply nested input, where Python's raises
        RecursionError. Any problem is reported by reading again with ``_LineLoader``, so
        messages and lines are exactly the pure loader's."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            yaml.composer.Composer.__init__(self)


for _loader in (_LineLoader, _FastLineLoader):
    if _loader is not None:
        # The loader's own attributes, which are _Positions' methods (first in its order).
        _loader.add_constructor("tag:yaml.org,2002:map", _loader.construct_yaml_map)
        _loader.add_constructor("tag:yaml.org,2002:seq", _loader.construct_yaml_seq)
        _loader.add_constructor("tag:yaml.org,2002:int", _loader.construct_yaml_int)
        _loader.add_constructor("tag:yaml.org,2002:float", _loader.construct_yaml_float)


class _NotPlain(Exception):
    """The document uses something only the loaders handle (an anchor, an alias, an explicit
    tag, a merge key, a duplicate key, a complex key, deep nesting, several documents)."""


_STR, _NULL, _BOOL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool"
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
#: Nesting the plain reader follows (specs nest a few levels); deeper goes to the loaders.
_PLAIN_DEPTH = 64

_PlainReader: Any = None
if _LIBYAML:

    class _PlainReader(_CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):  # type: ignore[no-redef]
        """libyaml's events turned straight into positioned data, without PyYAML's node graph.

        A spec is a plain document (mappings, sequences and scalars, no anchors or tags): for
        one, composing nodes and then constructing data from them was most of reading it. The
        scalars are resolved and constructed by the same resolver and constructor the loaders
        use; anything else raises ``_NotPlain`` and the document is read by ``_FastLineLoader``.
        """

        yaml_implicit_resolvers = _Positions.yaml_implicit_resolvers

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            #: Plain scalars already resolved to a string, None or a boolean: a spec repeats
            #: its keys and types (``type``, ``not_null``, ``text``) thousands of times.
            self._plain: dict[str, Any] = {}

        def document(self) -> Any:
            events = yaml.events
            self.get_event()  # StreamStartEvent
            if not isinstance(self.get_event(), events.DocumentStartEvent):
                raise _NotPlain
            data = self._value(self.get_event(), 0)
            if not isinstance(self.get_event(), events.DocumentEndEvent) or not isinstance(
                self.get_event(), events.StreamEndEvent
            ):
                raise _NotPlain
            return data

        def _value(self, event: Any, depth: int) -> Any:
            # The hot loop of reading a large spec (half a million events): names are bound
            # locally and scalars, most keys and values, are read inline.
            if event.anchor is not None or event.tag not in (None, "!"):
                raise _NotPlain
            kind = type(event)
            if kind is _Scalar:
                return self._scalar(event)
            if depth >= _PLAIN_DEPTH:
                raise _NotPlain
            # libyaml's events always carry their marks (the stubs type them optional).
            get_event: Callable[[], Any] = self.get_event
            value_of, scalar = self._value, self._scalar
            if kind is _MapStart:
                data = YamlMap()
                lines: dict[Any, int] = {}
                data.lines = lines
                data.line = event.start_mark.line + 1
                while True:
                    key_event = get_event()
                    key_line = key_event.start_mark.line + 1
                    if type(key_event) is not _Scalar:
                        if type(key_event) is _MapEnd:
                            return data
                        raise _NotPlain
                    if key_event.anchor is not None or key_event.tag not in (None, "!"):
                        raise _NotPlain
                    key = scalar(key_event)
                    if key in lines:
                        raise _NotPlain
                    item = get_event()
                    if (
                        type(item) is _Scalar
                        and item.anchor is None
                        and item.tag is None
                    ):
                        data[key] = scalar(item)
                    else:
                        data[key] = value_of(item, depth + 1)
                    lines[key] = key_line
            if kind is _SeqStart:
                items = YamlList()
                item_lines: list[int] = []
                items.lines = item_lines
                items.line = event.start_mark.line + 1
                while True:
                    item = get_event()
                    if type(item) is _SeqEnd:
                        return items
                    item_lines.append(item.start_mark.line + 1)
                    items.append(value_of(item, depth + 1))
            raise _NotPlain

        def _scalar(self, event: Any) -> Any:
            value = event.value
            if not event.implicit[0]:
                # Quoted (or ``!``-tagged): never resolved, always a string (``Resolver.resolve``
                # without path resolvers).
                return value
            known = self._plain.get(value, _UNSEEN)
            if known is not _UNSEEN:
                return known
            tag = self.resolve(yaml.ScalarNode, value, event.implicit)
            if tag == _STR:
                self._plain[value] = value
                return value
            if tag == _NULL:
                self._plain[value] = None
                return None
            if tag == _BOOL:
                result = self._plain[value] = self.bool_values[value.lower()]
                return result
            # Numbers are made afresh each time: each remembers its own text.
            if tag == _INT:
                number = YamlInt(self.construct_yaml_int(yaml.ScalarNode(tag, value)))
                number.text = value
                return number
            if tag == _FLOAT:
                real = YamlFloat(self.construct_yaml_float(yaml.ScalarNode(tag, value)))
                real.text = value
                return real
            raise _NotPlain  # a merge key, ``=``, or a tag the loaders decide about

    _Scalar, _MapStart, _MapEnd = yaml.events.ScalarEvent, yaml.events.MappingStartEvent, yaml.events.MappingEndEvent
    _SeqStart, _SeqEnd = yaml.events.SequenceStartEvent, yaml.events.SequenceEndEvent
    #: Marks a plain scalar not resolved yet (its value may be None).
    _UNSEEN = object()


@dataclass(frozen=True)
class SpecFile:
    """One spec file: the name errors use for it, and its top-level mapping."""

    name: str
    data: YamlMap


def display_name(path: Path) -> str:
    """The file name errors show: relative to the working directory when it is below it."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def parse_yaml(text: str, name: str) -> Any:
    """YAML text to positioned data; every YAML problem becomes a SpecError at its line."""
    if _PlainReader is not None:
        plain = _PlainReader(text)
        try:
            return plain.document()
        except (_NotPlain, yaml.YAMLError):
            pass  # read below, by the loaders (which also report any problem)
        finally:
            plain.dispose()
    if _FastLineLoader is not None:
        fast = _FastLineLoader(text)
        fast.file_name = name
        try:
            return fast.get_single_data()
        except (yaml.YAMLError, RecursionError):
            pass  # read again below, for the pure loader's message and line
        finally:
            fast.dispose()
    loader = _LineLoader(text)
    loader.file_name = name
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if mark is not None:
            lines = text.splitlines()
            current = lines[mark.line] if mark.line < len(lines) else ""
            indent = current[: len(current) - len(current.lstrip(" \t"))]
            if "\t" in indent:
                raise SpecError(
                    "tab character in indentation (indent YAML with spaces)", file=name, line=line
                ) from None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"invalid YAML: {problem}", file=name, line=line) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=name) from None
    except RecursionError:
        # PyYAML composes and constructs nested collections recursively; thousands of ``[``
        # would otherwise end pgspec with a traceback instead of naming the file.
        # The reader's position is where composing stopped (the end, when constructing did).
        line = min(loader.get_mark().line + 1, max(len(text.splitlines()), 1))
        raise SpecError("invalid YAML: collections nested too deeply", file=name,
                        line=line) from None
    finally:
        loader.dispose()


def read_file(path: Path, name: str) -> SpecFile:
    """One spec file, decoded strictly as UTF-8 and required to be a non-empty mapping."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            f"not valid UTF-8 (byte {raw[exc.start]:#04x})", file=name, line=line
        ) from None
    data = parse_yaml(text, name)
    if data is None:
        raise SpecError("empty spec file", file=name)
    if not isinstance(data, YamlMap):
        raise SpecError(
            f"a spec file must be a mapping of sections, not {type(data).__name__}",
            file=name,
            line=getattr(data, "line", 1),
        )
    return SpecFile(name, data)


def spec_paths(path: Path) -> list[Path]:
    """The files of a spec: the file itself, or every .yaml/.yml below a directory, sorted."""
    if path.is_file():
        return [path]
    if path.is_dir():
        found = [
            p
            for p in path.rglob("*")
            if p.suffix in (".yaml", ".yml") and p.is_file()
        ]
        return sorted(found, key=lambda p: p.relative_to(path).parts)
    raise SpecError("no such spec file or directory", file=str(path))


def read_spec_files(path: str | os.PathLike[str]) -> list[SpecFile]:
    """Every file of a spec, parsed; an empty directory is an error, not an empty schema."""
    root = Path(path)
    paths = spec_paths(root)
    if not paths:
        raise SpecError("no .yaml or .yml files in the spec directory", file=display_name(root))
    return [read_file(p, display_name(p)) for p in paths]
