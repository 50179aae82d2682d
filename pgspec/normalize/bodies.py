"""Canonical form of function bodies, by language.

* ``plpgsql``: the body is compiled by pglast's copy of the PL/pgSQL parser inside a synthesised
  ``CREATE FUNCTION``; the resulting tree, without line numbers, is the canonical form, and every
  SQL statement or expression embedded in it is itself normalised (``expressions.py``). So
  comments, layout and keyword case never count; a changed statement always does.
* ``sql``: each statement canonical (``BEGIN ATOMIC ... END`` bodies too, as the server prints
  them with ``pg_get_function_sqlbody``).
* anything else (``c``, ``plv8``, ...): the text with trailing blanks and blank edge lines removed;
  pgspec has no grammar for it.

The body is compiled without its function's signature, which pgspec does not have at this
point. PL/pgSQL's compiler needs it for some checks (``RETURN NEXT`` only in set-returning
functions, assignment targets must be declared), so the body is tried under a few return types;
if none compiles for such a reason, the canonical form falls back to the body's token stream
(pglast's scanner: comments dropped, unquoted words lower-cased), which still ignores layout.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pglast
from pglast import ast
from pglast.stream import RawStream

from pgspec.errors import SqlError
from pgspec.normalize.expressions import canonical_statement_nodes, canonical_statements

#: Return types tried, in order: ``trigger`` declares NEW/OLD and TG_*; ``void`` allows a bare
#: RETURN; ``SETOF record`` allows RETURN NEXT/QUERY; ``record`` allows RETURN <expr>.
_HEADERS = ("trigger", "void", "SETOF record", "record")

#: PL/pgSQL expression parse modes (``RawParseMode``): 0 = a statement, 2 = an expression.
_MODE_STATEMENT = 0
_MODE_EXPRESSION = 2

_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})


def _tokens(text: str) -> str:
    """Layout-free token text: what the scanner sees, comments dropped, words lower-cased."""
    try:
        tokens = pglast.parser.scan(text)
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid function body: {exc.args[0]}") from None
    data = text.encode("utf-8")
    words = []
    for token in tokens:
        if token.name in _COMMENTS:
            continue
        word = data[token.start : token.end + 1].decode("utf-8")
        if token.kind != "NO_KEYWORD" or (token.name == "IDENT" and not word.startswith('"')):
            word = word.lower()
        words.append(word)
    return " ".join(words)


def _embedded(query: str, mode: int) -> str:
    """Canonical text of SQL embedded in PL/pgSQL, or its tokens where it is not plain SQL."""
    try:
        if mode == _MODE_STATEMENT:
            return canonical_statements(query)
        if mode == _MODE_EXPRESSION:
            return canonical_statements(f"SELECT {query}")
    except SqlError:
        pass
    return _tokens(query)  # assignments (``x := ...``) and anything pglast cannot print


def _clean(node: Any) -> Any:
    """The PL/pgSQL tree without line numbers, with embedded SQL normalised."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "lineno":
                continue
            if key == "PLpgSQL_expr" and isinstance(value, dict) and "query" in value:
                value = dict(value)
                value["query"] = _embedded(value["query"], value.get("parseMode", 0))
                out[key] = value
                continue
            out[key] = _clean(value)
        return out
    if isinstance(node, list):
        return [_clean(n) for n in node]
    return node


def _returns(node: Any, found: list[dict[str, Any]]) -> None:
    """Every RETURN statement of the tree, in text order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "PLpgSQL_stmt_return" and isinstance(value, dict):
                found.append(value)
            _returns(value, found)
    elif isinstance(node, list):
        for item in node:
            _returns(item, found)


def _name_returned_variables(tree: Any, body: str) -> None:
    """Put back the variable of ``RETURN new`` / ``RETURN old``, which the tree loses.

    libpg_query's JSON leaves out ``retvarno`` of a RETURN statement, so ``RETURN NEW`` and
    ``RETURN OLD`` would compare equal. Each such statement is matched, by line, with the word
    after its RETURN keyword in the scanner's tokens. Where a line cannot be matched one to one,
    the whole line's tokens are kept instead: a layout change may then show, a change never hides.
    """
    returns: list[dict[str, Any]] = []
    _returns(tree, returns)
    if not returns:
        return
    source = "\n" + body  # the body starts on line 2 of the synthesised function
    data = source.encode("utf-8")
    try:
        tokens = [t for t in pglast.parser.scan(source) if t.name not in _COMMENTS]
    except pglast.parser.ParseError:
        return
    line_of = [0] * (len(data) + 1)
    line = 1
    for i, byte in enumerate(data):
        line_of[i] = line
        if byte == 0x0A:
            line += 1
    by_line: dict[int, list[str]] = {}
    words: dict[int, list[str]] = {}
    for i, token in enumerate(tokens):
        lineno = line_of[token.start]
        text = data[token.start : token.end + 1].decode("utf-8").lower()
        words.setdefault(lineno, []).append(text)
        if token.name == "RETURN":
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            word = (
                data[following.start : following.end + 1].decode("utf-8").lower()
                if following is not None
                else ""
            )
            if word not in ("next", "query"):
                by_line.setdefault(lineno, []).append(word)
    seen: dict[int, int] = {}
    for stmt in returns:
        lineno = stmt.get("lineno", 0)
        if not lineno:
            continue  # the dummy RETURN the compiler appends
        index = seen.get(lineno, 0)
        seen[lineno] = index + 1
        candidates = by_line.get(lineno, [])
        count = sum(1 for r in returns if r.get("lineno") == lineno)
        if "expr" in stmt:
            continue
        if len(candidates) == count:
            stmt["returned"] = candidates[index]
        else:
            stmt["returned"] = " ".join(words.get(lineno, []))


def _plpgsql(body: str) -> str:
    failures: list[str] = []
    for returns in _HEADERS:
        source = (
            f"CREATE FUNCTION pgspec_body() RETURNS {returns} LANGUAGE plpgsql"
            f" AS $pgspec_body$\n{body}\n$pgspec_body$"
        )
        try:
            tree = pglast.parse_plpgsql(source)
        except pglast.parser.ParseError as exc:
            failures.append(str(exc.args[0]))
            continue
        _name_returned_variables(tree, body)
        return json.dumps(_clean(tree), sort_keys=True, separators=(",", ":"))
    if "$pgspec_body$" in body:
        raise SqlError("invalid plpgsql body: it contains the text '$pgspec_body$'")
    grammar = [f for f in failures if f.startswith("syntax error") or "unterminated" in f]
    if grammar:
        raise SqlError(f"invalid plpgsql body: {grammar[0]}")
    # Compiles only with its real signature (e.g. assigns to a parameter): compare its tokens.
    return "tokens:" + _tokens(body)


def _starts_atomic(body: str) -> bool:
    try:
        tokens = [t for t in pglast.parser.scan(body) if t.name not in _COMMENTS]
    except pglast.parser.ParseError:
        return False
    return len(tokens) >= 2 and tokens[0].name == "BEGIN_P" and tokens[1].name == "ATOMIC"


def _first_token(body: str) -> str | None:
    try:
        tokens = [t for t in pglast.parser.scan(body) if t.name not in _COMMENTS]
    except pglast.parser.ParseError:
        return None
    return tokens[0].name if tokens else None


def _return(node: ast.ReturnStmt, body: str) -> str:
    """``RETURN expr`` (a whole SQL-standard body, or a statement of BEGIN ATOMIC): pglast has
    no printer for a bare ReturnStmt, so its expression is canonicalised on its own."""
    from pgspec.normalize.expressions import canonical_expression

    try:
        text = RawStream()(node.returnval)
    except Exception as exc:  # pglast raises several kinds for trees it cannot print
        raise SqlError(f"cannot normalise sql body {body!r}: {exc}") from None
    return "RETURN " + canonical_expression(text)


def _sql(body: str) -> str:
    if _first_token(body) == "RETURN":
        # SQL-standard ``RETURN expr`` body (PostgreSQL 14+): a clause of CREATE FUNCTION.
        try:
            stmts = pglast.parse_sql(f"CREATE FUNCTION pgspec_body() RETURNS void LANGUAGE sql {body}")
        except pglast.parser.ParseError as exc:
            raise SqlError(f"invalid sql body {body!r}: {exc.args[0]}") from None
        stmt = stmts[0].stmt if len(stmts) == 1 else None
        if not isinstance(stmt, ast.CreateFunctionStmt) or not isinstance(stmt.sql_body, ast.ReturnStmt):
            raise SqlError(f"invalid sql body {body!r}")
        return _return(stmt.sql_body, body)
    if not _starts_atomic(body):
        return canonical_statements(body)
    source = f"CREATE FUNCTION pgspec_body() RETURNS void LANGUAGE sql {body}"
    try:
        stmts = pglast.parse_sql(source)
    except pglast.parser.ParseError as exc:
        raise SqlError(f"invalid sql body {body!r}: {exc.args[0]}") from None
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(stmt, ast.CreateFunctionStmt) or stmt.sql_body is None:
        raise SqlError(f"invalid sql body {body!r}")
    nodes = stmt.sql_body[0] if stmt.sql_body and isinstance(stmt.sql_body[0], tuple) else ()
    lines = [_return(n, body) + ";" if isinstance(n, ast.ReturnStmt) else canonical_statement_nodes((n,), body)
             for n in nodes]
    return "BEGIN ATOMIC\n" + "\n".join(lines) + "\nEND"


def _text(body: str) -> str:
    lines = [line.rstrip() for line in body.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


@lru_cache(maxsize=65536)
def canonical_body(language: str, body: str) -> str:
    """The canonical form of a function body written in ``language`` (see the module doc)."""
    lang = language.strip().lower()
    if lang == "plpgsql":
        if not body.strip():
            raise SqlError("empty plpgsql body")
        return _plpgsql(body)
    if lang == "sql":
        if not body.strip():
            return ""
        return _sql(body)
    return _text(body)
