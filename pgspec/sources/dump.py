"""Reading backups and SQL scripts as a stream of statements, without a server.

A Supabase backup is ``pg_dumpall`` output that can be gigabytes, nearly all of it ``COPY``
data. This module reads such a file once, in large chunks, and yields only the SQL statements
with the line they start on; the caller (``sql.py``) decides which ones to parse. Memory
follows the size of the schema, not of the file:

* gzip is recognised by its magic bytes, a custom-format archive (``PGDMP``) is streamed
  through ``pg_restore -f -`` when the tool is installed;
* ``COPY ... FROM stdin;`` data is skipped as bytes, by searching for the ``\\.`` line, never
  decoded or split into lines;
* psql meta-commands are handled or skipped: ``\\connect`` starts a database section of a
  ``pg_dumpall`` file, ``\\restrict`` / ``\\unrestrict`` (pg_dump 17.6+) and the rest are ignored;
* statement boundaries come from pglast's scanner (``pglast.split(..., with_parser=False)``),
  which knows dollar quotes, strings and comments. Text is accumulated until the scanner sees
  the statement end; a ``BEGIN ATOMIC`` function body, whose inner semicolons do not end the
  statement, is joined the way psql joins it (counting BEGIN/CASE against END tokens).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pglast
from pglast import parser
from psycopg.conninfo import conninfo_to_dict

from pgspec.errors import DumpError, PgspecError, SqlError

CHUNK = 1 << 20
#: A statement larger than this is not DDL anyone wrote; refuse it instead of exhausting memory.
MAX_STATEMENT = 256 << 20
GZIP_MAGIC = b"\x1f\x8b"
CUSTOM_MAGIC = b"PGDMP"
#: Header comments pg_dump and pg_dumpall write (``-- PostgreSQL database dump``).
DUMP_HEADERS = ("PostgreSQL database dump", "PostgreSQL database cluster dump")
CLUSTER_HEADER = "PostgreSQL database cluster dump"
#: The closing comments of the same: pg_dump (and pg_restore) and pg_dumpall write them last.
DUMP_FOOTER = "PostgreSQL database dump complete"
CLUSTER_FOOTER = "PostgreSQL database cluster dump complete"
_COPY_END = b"\n\\.\n"


@dataclass(frozen=True)
class Statement:
    """One complete SQL statement (without its final semicolon) and where it starts."""

    text: str
    line: int
    #: The database section it belongs to (``\\connect``), ``None`` before any.
    database: str | None


@dataclass(frozen=True)
class Connect:
    """A ``\\connect`` meta-command: the following statements belong to ``database``."""

    database: str
    line: int


# --------------------------------------------------------------------------- opening files


def _magic(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(8)


def _head_text(path: Path, size: int = 4096) -> str:
    """The first bytes of a file as text, decompressed when gzip; empty when unreadable."""
    try:
        if _magic(path).startswith(GZIP_MAGIC):
            with gzip.open(path, "rb") as fh:
                data = fh.read(size)
        else:
            with path.open("rb") as fh:
                data = fh.read(size)
    except (OSError, EOFError, zlib.error):
        return ""
    return data.decode("utf-8", errors="replace")


def looks_like_dump(path: str | Path) -> bool:
    """True for a pg_dump / pg_dumpall file (plain, gzip or custom format), by content.

    A plain dump starts with pg_dump's header comment (``-- PostgreSQL database dump`` or
    ``-- PostgreSQL database cluster dump``); a custom-format archive with ``PGDMP``.
    """
    file = Path(path)
    try:
        magic = _magic(file)
    except OSError:
        return False
    if magic.startswith(CUSTOM_MAGIC):
        return True
    head = _head_text(file)
    return any(f"-- {h}" in head for h in DUMP_HEADERS)


def is_cluster_dump(path: str | Path) -> bool:
    """True for ``pg_dumpall`` output, whose sections are databases chosen with ``\\connect``."""
    return f"-- {CLUSTER_HEADER}" in _head_text(Path(path))


def looks_like_sql(path: str | Path) -> bool:
    """True for a text file that is not a dump (a hand-written or generated SQL script)."""
    file = Path(path)
    try:
        magic = _magic(file)
    except OSError:
        return False
    if magic.startswith(CUSTOM_MAGIC) or looks_like_dump(file):
        return False
    head = _head_text(file)
    return "\x00" not in head and "\ufffd" not in head


class _Source:
    """The decompressed bytes of a file, whatever its format; closed by the reader."""

    def __init__(
        self, path: Path, error: type[PgspecError], progress: Callable[[int, int | None], None] | None = None
    ) -> None:
        self.path = path
        self.error = error
        self.proc: subprocess.Popen[bytes] | None = None
        #: ``progress(bytes of the file read, file size or None)`` after each chunk (progress.py).
        self.progress = progress
        self.raw: BinaryIO | None = None
        self.produced = 0
        self.size = path.stat().st_size if progress is not None else None
        magic = _magic(path)
        self.stream: BinaryIO
        if magic.startswith(GZIP_MAGIC):
            # The compressed file is opened here so its position can measure progress.
            self.raw = path.open("rb")
            self.stream = gzip.GzipFile(fileobj=self.raw, mode="rb")  # type: ignore[assignment]
        elif magic.startswith(CUSTOM_MAGIC):
            tool = shutil.which("pg_restore")
            if not tool:
                raise DumpError(
                    f"custom-format archive needs pg_restore, which is not on PATH; convert it "
                    f"with: pg_restore -f out.sql {str(path)!r}",
                    file=str(path),
                )
            self.proc = subprocess.Popen(
                [tool, "-f", "-", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            assert self.proc.stdout is not None
            self.stream = self.proc.stdout  # type: ignore[assignment]
        else:
            self.stream = path.open("rb")

    def read(self, size: int) -> bytes:
        try:
            data = self.stream.read(size)
            if self.progress is not None:
                self._report(len(data))
            return data
        except EOFError:
            raise self.error(
                "truncated gzip file (compressed stream ended early)", file=str(self.path)
            ) from None
        except (OSError, zlib.error) as exc:
            raise self.error(f"cannot read file: {exc}", file=str(self.path)) from None

    def _report(self, size: int) -> None:
        """Bytes of the file consumed so far: the compressed position for gzip, the output of
        pg_restore (total unknown) for a custom-format archive."""
        assert self.progress is not None
        self.produced += size
        if self.proc is not None:
            self.progress(self.produced, None)
            return
        done = (self.raw or self.stream).tell()
        self.progress(done, self.size)

    def close(self) -> None:
        self.stream.close()
        if self.raw is not None:
            self.raw.close()
        if self.proc is not None:
            stderr = self.proc.stderr.read() if self.proc.stderr else b""
            code = self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()
            if code != 0:
                message = stderr.decode(errors="replace").strip().splitlines()
                raise DumpError(
                    f"pg_restore failed: {message[0] if message else f'exit code {code}'}",
                    file=str(self.path),
                )


# --------------------------------------------------------------------------- bytes to lines


class _Lines:
    """Lines of a byte stream, read in big chunks, with a fast skip over COPY data."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        self.buf = bytearray()
        self.pos = 0
        self.eof = False
        #: Number of the line ``readline`` returns next (1-based).
        self.lineno = 1

    def _fill(self) -> bool:
        if self.eof:
            return False
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        data = self.source.read(CHUNK)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def readline(self) -> bytes | None:
        """The next line without its newline, or None at the end of the file."""
        start = self.pos
        search = start
        while True:
            end = self.buf.find(b"\n", search)
            if end >= 0:
                line = bytes(self.buf[self.pos : end])
                self.pos = end + 1
                self.lineno += 1
                return line
            if len(self.buf) - self.pos > MAX_STATEMENT:
                raise self.source.error(
                    f"line {self.lineno} is longer than {MAX_STATEMENT >> 20} MB",
                    file=str(self.source.path),
                    line=self.lineno,
                )
            search = len(self.buf) - self.pos
            if not self._fill():
                if self.pos >= len(self.buf):
                    return None
                line = bytes(self.buf[self.pos :])
                self.pos = len(self.buf)
                self.lineno += 1
                return line
            search += self.pos

    def skip_copy(self, start_line: int) -> None:
        """Skip COPY data up to and including its ``\\.`` line, without decoding it.

        In COPY's text format a backslash in a value is written ``\\\\``, so a line that is
        exactly ``\\.`` can only be the end marker.
        """
        while len(self.buf) - self.pos < 3 and self._fill():
            pass
        head = bytes(self.buf[self.pos : self.pos + 3])
        if head == b"\\.\n" or head == b"\\.":
            self.lineno += 1
            self.pos += len(head)
            return
        while True:
            end = self.buf.find(_COPY_END, self.pos)
            if end >= 0:
                self.lineno += self.buf.count(b"\n", self.pos, end + 1) + 1
                self.pos = end + len(_COPY_END)
                return
            keep = max(len(self.buf) - len(_COPY_END), self.pos)
            self.lineno += self.buf.count(b"\n", self.pos, keep)
            self.pos = keep
            if not self._fill():
                if self.buf[self.pos :].endswith(b"\n\\.") or self.buf[self.pos :] == b"\\.":
                    self.pos = len(self.buf)
                    self.lineno += 1
                    return
                raise self.source.error(
                    "COPY data is not terminated by a \\. line (is the file truncated?)",
                    file=str(self.source.path),
                    line=start_line,
                )


# --------------------------------------------------------------------------- statements


def _psql_arg(text: str) -> str:
    """One argument of a psql meta-command, unquoted (``"..."`` doubles quotes, ``'...'`` too)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        quote = text[0]
        return text[1:-1].replace(quote * 2, quote)
    return text


def connect_target(line: str) -> str | None:
    """The database a ``\\connect`` / ``\\c`` line switches to (pg_dumpall's two spellings).

    pg_dumpall writes ``\\connect name`` for simple names and
    ``\\connect -reuse-previous=on "dbname='we''ird'"`` otherwise (``appendPsqlMetaConnect``).
    """
    words = line.split(None, 1)
    if len(words) < 2:
        return None
    rest = words[1].strip()
    if rest.startswith("-reuse-previous"):
        parts = rest.split(None, 1)
        rest = parts[1].strip() if len(parts) > 1 else ""
    if not rest:
        return None
    arg = rest
    if arg[0] not in "\"'":
        arg = arg.split()[0]
    arg = _psql_arg(arg)
    if "=" in arg:
        try:
            dbname = conninfo_to_dict(arg).get("dbname")
            return str(dbname) if dbname is not None else None
        except Exception:
            return None
    return arg


def _begins_atomic_routine(text: str) -> bool:
    """Cheap test for ``CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC``."""
    head = text[:64].upper().split()
    if not head or head[0] != "CREATE":
        return False
    if head[1:3] == ["OR", "REPLACE"]:
        head = head[2:]
    return len(head) > 1 and head[1] in ("FUNCTION", "PROCEDURE") and "ATOMIC" in text.upper()


def _atomic_end(text: str) -> int | None:
    """Offset just after the ``;`` ending a routine with a ``BEGIN ATOMIC`` body, or None.

    psql's rule (psqlscan.l): inside CREATE FUNCTION/PROCEDURE, BEGIN and CASE open a block
    that END closes; a semicolon ends the statement only outside every block.
    """
    depth = 0
    for token in parser.scan(text):
        if token.name in ("BEGIN_P", "CASE"):
            depth += 1
        elif token.name == "END_P":
            depth = max(depth - 1, 0)
        elif token.name == "ASCII_59" and depth == 0:
            return token.end + 1
    return None


class StatementReader:
    """Complete statements of a SQL text stream, in order, with their first line.

    Feed lines with ``feed``; it returns the statements the line completed. The pending text
    is re-scanned only when a line ends with ``;`` (how pg_dump and people end statements), so
    a long function body is not scanned once per line.
    """

    def __init__(self, file: str, error: type[PgspecError]) -> None:
        self.file = file
        self.error = error
        self.parts: list[str] = []
        self.size = 0
        self.first_line = 0
        self.waiting_dollar = False

    @property
    def pending(self) -> bool:
        return bool(self.parts)

    def feed(self, line: str, lineno: int) -> list[tuple[str, int]]:
        if not self.parts:
            stripped = line.strip()
            if not stripped or stripped.startswith("--"):
                return []
            self.first_line = lineno
        self.parts.append(line)
        self.size += len(line) + 1
        if self.size > MAX_STATEMENT:
            raise self.error(
                f"statement is longer than {MAX_STATEMENT >> 20} MB (unterminated quote?)",
                file=self.file,
                line=self.first_line,
            )
        if not line.rstrip().endswith(";"):
            return []
        if self.waiting_dollar and "$" not in line:
            return []
        return self._split(final=False)

    def finish(self) -> list[tuple[str, int]]:
        """Statements left at the end of the input (a last statement may lack its ``;``)."""
        if not self.parts:
            return []
        return self._split(final=True)

    def _split(self, final: bool) -> list[tuple[str, int]]:
        text = "\n".join(self.parts)
        try:
            slices = pglast.split(text, with_parser=False, only_slices=True)
        except pglast.parser.ParseError as exc:
            if final:
                raise self.error(
                    f"cannot split statement: {exc.args[0]}", file=self.file, line=self.first_line
                ) from None
            self.waiting_dollar = "dollar" in str(exc.args[0])
            return []
        self.waiting_dollar = False
        found: list[tuple[str, int]] = []
        index = 0
        consumed = 0
        while index < len(slices):
            piece = slices[index]
            # The scanner's split leaves out what it cannot call a statement (no keyword
            # before the ';', as in ``foo bar;``); pass it on, so the parser rejects it.
            dropped = _dropped(text, consumed, piece.start)
            if dropped is not None:
                found.append((text[dropped : piece.start].strip().rstrip(";").strip(),
                              self._line(text, dropped)))
            body = text[piece.start : piece.stop]
            if _begins_atomic_routine(body):
                rest = text[piece.start :]
                end = _atomic_end(rest)
                if end is None:
                    if final:
                        found.append((rest.strip().rstrip(";"), self._line(text, piece.start)))
                        consumed = len(text)
                        break
                    return self._keep(text, found, piece.start)
                found.append((rest[: end - 1].strip(), self._line(text, piece.start)))
                consumed = piece.start + end
                while index < len(slices) and slices[index].start < consumed:
                    index += 1
                continue
            after = text[piece.stop :].lstrip()
            complete = after.startswith(";")
            if not complete and not final:
                return self._keep(text, found, piece.start)
            found.append((body, self._line(text, piece.start)))
            consumed = piece.stop
            index += 1
        # An open parenthesis makes the scanner swallow every ';' after it and drop the text
        # (``CREATE TABLE x (id int;``): psql keeps reading, and at the end of the file sends
        # it to the server, which rejects it. Keep it pending; at the end it is a statement.
        dropped = _dropped(text, consumed, len(text))
        if dropped is not None:
            if not final:
                return self._keep(text, found, dropped)
            found.append((text[dropped:].strip().rstrip(";").strip(), self._line(text, dropped)))
        self.parts = []
        self.size = 0
        return found

    def _keep(self, text: str, found: list[tuple[str, int]], start: int) -> list[tuple[str, int]]:
        """Keep the unfinished tail (from ``start``) for the next lines."""
        line = self._line(text, start)
        tail = text[start:]
        self.parts = [tail]
        self.size = len(tail)
        self.first_line = line
        return found

    def _line(self, text: str, offset: int) -> int:
        return self.first_line + text.count("\n", 0, offset)


class _Completeness:
    """Whether a pg_dump or pg_dumpall text reached its end.

    pg_dump opens its output with ``-- PostgreSQL database dump`` and closes it with
    ``-- PostgreSQL database dump complete`` (pg_restore writes the same pair); pg_dumpall
    wraps its databases' sections, each such a pair, in ``-- PostgreSQL database cluster dump``
    ... ``complete``. A file cut short between two statements is still valid SQL: without this
    check, the objects of its lost tail would be reported as missing from the database rather
    than the backup as broken. Only comment lines between statements count, so a function body
    quoting these words changes nothing; a file without the headers (a script) is not checked.
    """

    def __init__(self) -> None:
        #: The line of the header whose footer has not come yet, per kind.
        self.open_dump: int | None = None
        self.open_cluster: int | None = None

    def comment(self, text: str, lineno: int) -> None:
        body = text[2:].strip()
        if body == DUMP_HEADERS[0]:
            self.open_dump = lineno
        elif body == DUMP_FOOTER:
            self.open_dump = None
        elif body == CLUSTER_HEADER:
            self.open_cluster = lineno
        elif body == CLUSTER_FOOTER:
            self.open_cluster = None

    def missing_footer(self) -> str | None:
        """The closing line the text still owes, if it opened a dump and never closed it."""
        if self.open_dump is not None:
            return f"pg_dump's closing line '-- {DUMP_FOOTER}'"
        if self.open_cluster is not None:
            return f"pg_dumpall's closing line '-- {CLUSTER_FOOTER}'"
        return None


#: Tokens of the text between statements that are not a statement of their own.
_BETWEEN = frozenset({"SQL_COMMENT", "C_COMMENT", "ASCII_59"})


def _dropped(text: str, start: int, stop: int) -> int | None:
    """Offset of the first token between ``start`` and ``stop`` that is neither a comment nor
    ``;``, or None when the span holds only those (and white space)."""
    gap = text[start:stop]
    if not gap.strip():
        return None
    try:
        tokens = parser.scan(gap)
    except pglast.parser.ParseError:
        return start + len(gap) - len(gap.lstrip())  # an unterminated comment: not nothing
    for token in tokens:
        if token.name not in _BETWEEN:
            # Token offsets count bytes of UTF-8.
            return start + len(gap.encode("utf-8")[: token.start].decode("utf-8", "replace"))
    return None


def _decode(raw: bytes, file: str, line: int, error: type[PgspecError]) -> str:
    if b"\x00" in raw:
        raise error("binary file (NUL byte): not a SQL script or plain dump", file=file, line=line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(
            "binary file or not UTF-8: not a SQL script or plain dump", file=file, line=line
        ) from None


def _is_copy_from_stdin(text: str) -> bool:
    """``COPY ... FROM stdin`` (cheap: the caller only asks for statements starting with COPY)."""
    words = text.upper().split()
    return "STDIN" in words and "FROM" in words


def read_statements(
    path: str | Path,
    *,
    error: type[PgspecError] = DumpError,
    progress: Callable[[int, int | None], None] | None = None,
) -> Iterator[Statement | Connect]:
    """Statements and ``\\connect`` switches of a SQL/dump file, streamed.

    Raises ``error`` (DumpError for dumps, SqlError for scripts) for empty, binary, truncated
    or unsplittable input, naming the file and the line: a dump that ends before pg_dump's
    closing comment is truncated, even where it ends between two statements (``_Completeness``). ``progress(done, total)`` is called
    after each chunk read, with bytes of the file (``pgspec.progress`` draws it).
    """
    file = Path(path)
    name = str(path)
    try:
        source = _Source(file, error, progress)
    except FileNotFoundError:
        raise error("file not found", file=name) from None
    except IsADirectoryError:
        raise error("is a directory, not a file", file=name) from None
    lines = _Lines(source)
    reader = StatementReader(name, error)
    database: str | None = None
    saw_content = False
    sections = _Completeness()
    last_line = 0
    try:
        while True:
            lineno = lines.lineno
            raw = lines.readline()
            if raw is None:
                break
            last_line = lineno
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            text = _decode(raw, name, lineno, error)
            if text.strip():
                saw_content = True
            if not reader.pending and text.startswith("--"):
                sections.comment(text, lineno)
            if not reader.pending and text.startswith("\\"):
                command = text.split(None, 1)[0]
                if command in ("\\connect", "\\c"):
                    target = connect_target(text)
                    if target is not None:
                        database = target
                        yield Connect(target, lineno)
                continue
            for stmt_text, stmt_line in reader.feed(text, lineno):
                yield Statement(stmt_text, stmt_line, database)
                if stmt_text[:4].upper() == "COPY" and _is_copy_from_stdin(stmt_text):
                    lines.skip_copy(stmt_line)
        missing = sections.missing_footer()
        if missing is not None:
            if reader.pending:
                raise error(f"the dump is truncated: it ends inside this statement, before {missing}",
                            file=name, line=reader.first_line)
            raise error(f"the dump is truncated: it ends here, before {missing}",
                        file=name, line=last_line)
        for stmt_text, stmt_line in reader.finish():
            yield Statement(stmt_text, stmt_line, database)
    finally:
        source.close()
    if not saw_content:
        raise error("empty file: no SQL statements", file=name)


__all__ = [
    "Connect",
    "SqlError",
    "Statement",
    "StatementReader",
    "connect_target",
    "is_cluster_dump",
    "looks_like_dump",
    "looks_like_sql",
    "read_statements",
]
