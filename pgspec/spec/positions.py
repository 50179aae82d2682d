"""Where things are in a spec: a cursor over the positioned YAML data, and pydantic errors mapped
back to the line of the key that caused them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pgspec.errors import Problem
from pgspec.spec.models import SHAPE_TAGS


@dataclass(frozen=True)
class Pos:
    """A place in one spec file: the data found there, its line, and its trait origin if any."""

    file: str
    node: Any
    line: int
    origin: int | None = None

    def child(self, key: Any) -> Pos:
        """The position of ``key`` below this one (this position again when it is absent)."""
        node = self.node
        if isinstance(node, dict) and key in node:
            value = node[key]
            line = getattr(node, "lines", {}).get(key, self.line)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            value = node[key]
            lines = getattr(node, "lines", [])
            line = lines[key] if key < len(lines) else self.line
        else:
            return Pos(self.file, None, self.line, self.origin)
        origin = getattr(value, "origin", None) or self.origin
        return Pos(self.file, value, line, origin)

    def at(self, *keys: Any) -> Pos:
        pos = self
        for key in keys:
            pos = pos.child(key)
        return pos

    @property
    def where(self) -> int:
        """The line an object declared here is reported at: its traits entry if a trait made it."""
        return self.origin or self.line

    @property
    def location(self) -> str:
        return f"{self.file}:{self.where}"

    def problem(self, message: str) -> Problem:
        return Problem(message, self.file, self.line)


def _describe(error: dict[str, Any], key: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {key!r}"
    if kind == "missing":
        return f"missing required key {key!r}"
    message = error["msg"]
    message = message[0].lower() + message[1:]
    shown = error.get("input")
    if isinstance(shown, dict | list):
        return f"{key!r}: {message}"
    return f"{key!r}: {message}, got {shown!r}"


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
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            ):
                pos = pos.child(part)
                key = part
            else:
                key = part
                break
        if key is None:
            key = "(file)"
        found.append(Problem(_describe(error, key), pos.file, pos.line))
    return found
