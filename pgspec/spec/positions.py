"""Where things are in a spec: a cursor over the positioned YAML data, and pydantic errors mapped
back to the line of the key that caused them."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pgspec.errors import Problem
from pgspec.spec.models import SHAPE_TAGS


class Pos:
    """A place in the spec: the data found there and its line, and for data a trait brought,
    ``origin``: the table's ``traits:`` entry (file, line) that objects made there report.

    Lines of trait-brought data are lines of the trait's definition, so ``file`` switches to
    the trait's file when a cursor enters it; mistakes in a trait are shown where it is written.

    A value (never changed once made), written as a slotted class rather than a frozen
    dataclass: a large spec makes hundreds of thousands of positions, and a frozen dataclass's
    ``__init__`` (``object.__setattr__`` per field) cost four times as much per position.
    """

    __slots__ = ("file", "line", "node", "origin")

    def __init__(self, file: str, node: Any, line: int, origin: tuple[str, int] | None = None) -> None:
        self.file = file
        self.node = node
        self.line = line
        self.origin = origin

    def __repr__(self) -> str:
        return f"Pos(file={self.file!r}, node={self.node!r}, line={self.line!r}, origin={self.origin!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Pos:
            return NotImplemented
        return (self.file, self.node, self.line, self.origin) == (
            other.file, other.node, other.line, other.origin
        )

    def __hash__(self) -> int:
        return hash((self.file, self.node, self.line, self.origin))

    def child(self, key: Any) -> Pos:
        """The position of ``key`` below this one (this position again when it is absent)."""
        node = self.node
        if isinstance(node, dict):
            if key in node:
                # YamlMap has ``lines`` (and a class-level ``sources``); a plain dict has neither.
                lines = getattr(node, "lines", None)
                line = lines.get(key, self.line) if lines is not None else self.line
                sources = getattr(node, "sources", None)
                brought = sources.get(key) if sources else None
                if brought is not None:
                    return Pos(brought[0], node[key], line, brought[1])
                return Pos(self.file, node[key], line, self.origin)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            lines = getattr(node, "lines", None) or ()
            line = lines[key] if key < len(lines) else self.line
            return Pos(self.file, node[key], line, self.origin)
        return Pos(self.file, None, self.line, self.origin)

    def at(self, *keys: Any) -> Pos:
        pos = self
        for key in keys:
            pos = pos.child(key)
        return pos

    @property
    def location(self) -> str:
        """Where an object declared here is: its traits entry if a trait made it."""
        if self.origin is not None:
            return f"{self.origin[0]}:{self.origin[1]}"
        return f"{self.file}:{self.line}"

    def object_problem(self, message: str) -> Problem:
        """A problem with the object as a whole (reported where the object is declared)."""
        if self.origin is not None:
            return Problem(message, *self.origin)
        return Problem(message, self.file, self.line)

    def problem(self, message: str) -> Problem:
        return Problem(message, self.file, self.line)


def _describe(error: ErrorDetails, key: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        if isinstance(key, str) and error.get("input") is None and ")" in key and "(" not in key:
            # ``{type: numeric(10,2)}``: YAML ends a flow-mapping value at the comma.
            return (
                f"unknown key {key!r}: a comma inside {{...}} ends the value; "
                f"quote it, e.g. type: \"numeric(10,2)\""
            )
        return f"unknown key {key!r}"
    if kind == "missing":
        return f"missing required key {key!r}"
    message = error["msg"]
    message = message[0].lower() + message[1:]
    shown = error.get("input")
    label = key if isinstance(key, str) and " item " in key else repr(key)
    if isinstance(shown, dict | list):
        return f"{label}: {message}"
    return f"{label}: {message}, got {shown!r}"


def problems_from_validation(exc: ValidationError, root: Pos) -> list[Problem]:
    """Each pydantic error as a Problem at the line of the deepest key its location reaches."""
    found: list[Problem] = []
    for error in exc.errors():
        pos = root
        key: Any = None
        for part in error["loc"]:
            if part in SHAPE_TAGS:
                continue
            node = pos.node
            # A list item is named after its list: "'events' item 2".
            name = f"{key!r} item {part + 1}" if isinstance(part, int) and isinstance(node, list) else part
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            ):
                pos = pos.child(part)
                key = name
            else:
                key = name
                break
        if key is None:
            key = "(file)"
        found.append(Problem(_describe(error, key), pos.file, pos.line))
    return found
