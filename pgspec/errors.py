"""The one exception family pgspec raises for anything a user can fix.

The CLI turns every ``PgspecError`` into one line on stderr and exit code 2, so the message is
written for a person: short, lowercase, with the offending value shown with ``!r``. Where the
problem has a place (a spec file and line, a dump file and line, a host), it lives in attributes
as well as in the text, so tools can use it without parsing the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where it is."""

    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}: {self.message}"
        if self.file:
            return f"{self.file}: {self.message}"
        return self.message


class PgspecError(Exception):
    """Root of every error pgspec reports to a user (exit code 2)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.problem = Problem(message, file, line)
        self.problems: list[Problem] = [self.problem]
        super().__init__(str(self.problem))

    @property
    def file(self) -> str | None:
        return self.problem.file

    @property
    def line(self) -> int | None:
        return self.problem.line

    @classmethod
    def from_problems(cls, problems: Iterable[Problem], *, cap: int = 20) -> PgspecError:
        """One error carrying every problem found, so a user fixes them all in one pass.

        The first problem is the headline (the CLI prints one line); the rest follow in
        ``problems`` and in the text after it, capped so a broken file does not flood a terminal.
        """
        found = list(problems)
        if not found:
            raise ValueError("from_problems needs at least one problem")
        first = found[0]
        err = cls(first.message, file=first.file, line=first.line)
        err.problems = found
        if len(found) > 1:
            shown = "; ".join(str(p) for p in found[1:cap])
            more = f" (+{len(found) - cap} more)" if len(found) > cap else ""
            err.args = (f"{first} (and {len(found) - 1} more: {shown}{more})",)
        return err


class SpecError(PgspecError):
    """The YAML spec is malformed, refers to something that does not exist, or breaks a rule."""


class SqlError(PgspecError):
    """A SQL fragment or script could not be parsed."""


class DumpError(PgspecError):
    """A backup or dump file cannot be read (truncated, binary, wrong format, missing database)."""


class SourceError(PgspecError):
    """A source cannot be reached or read: an unreachable server, a wrong password, a bad path."""


class UnsupportedError(PgspecError):
    """The input uses something pgspec deliberately does not handle (e.g. a server too old)."""
