"""Conformance runner: pgspec against schema pairs other diff tools' authors wrote.

    python bench/conformance.py ../shared/corpus/migra ../shared/corpus/pgschema [--json FILE]

Every case directory holds ``a.sql``/``b.sql`` (+ ``expected.sql``) or ``old.sql``/``new.sql``
(+ ``diff.sql``); see /work/shared/corpus/README.md. For each case, on a real throwaway server:

* drift: A and B loaded into two databases; ``pgspec diff A B`` must find differences exactly
  when the expected migration is non-empty (``migra/generated_added`` is a no-drift case: its a
  and b are identical and its expected.sql is stale);
* sources: ``pg_dump --schema-only`` of B read offline must equal B read live;
* roundtrip: ``pgspec inspect B``, rendered into a fresh database C, must equal B;
* scripts: A's and B's own SQL (``setup.sql`` first where there is one), replayed offline with
  no server, must equal the database it built, read live: the promise ``pgspec verify --sql``
  makes about init scripts (an empty file, migra's "nothing yet", has nothing to replay).

A case whose SQL needs something the server lacks (an extension that is not installed, syntax
of a newer release) is skipped with the reason; everything else counts. The pgspec Python API
is used (the same calls the CLI makes), two cases at a time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pglast
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHECKS = ("drift", "sources", "roundtrip", "scripts")
#: Roles the corpora's SQL expects to exist (cluster-wide, created once).
ROLES = ("schemainspect_test_role", "testuser")
#: Cases to treat as no-drift whatever their expected migration says. The corpus README names
#: migra/generated_added, but its a.sql has ``create table t();`` and its b.sql does not, so
#: there is real drift there (its expected.sql is stale, not empty): it is judged by the data.
NO_DRIFT: frozenset[str] = frozenset()
#: SQLSTATEs that mean "this server cannot do what the case asks" rather than a pgspec failure.
_LACKING = {
    "58P01": "an extension or file the server does not have",  # undefined_file
    "0A000": "a feature the server does not support",  # feature_not_supported
    "42704": None,  # undefined_object: only when it names an extension
    # The file split with PostgreSQL 18's grammar (pglast) before it was sent, so a syntax error
    # from the server is a newer release's syntax (WITHOUT OVERLAPS, VIRTUAL on 15).
    "42601": "syntax of a newer release",
}


@dataclass
class Result:
    case: str
    drift: str = "-"
    sources: str = "-"
    roundtrip: str = "-"
    scripts: str = "-"
    reasons: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def skipped(self) -> bool:
        return self.drift == "skip"

    def row(self) -> str:
        why = "; ".join(f"{k}: {v}" for k, v in self.reasons.items())
        return f"{self.case:<72} {self.drift:<6} {self.sources:<7} {self.roundtrip:<9} {self.scripts:<7} {why}"


@dataclass(frozen=True)
class Case:
    name: str
    old: Path
    new: Path
    expected: Path | None
    #: ``setup.sql`` (pgschema), applied to every database of the case before its own file.
    setup: Path | None = None

    @property
    def expects_drift(self) -> bool:
        if self.name in NO_DRIFT or self.expected is None:
            return False
        text = self.expected.read_text(encoding="utf-8", errors="replace")
        try:
            return bool(pglast.split(text, with_parser=False))
        except Exception:  # a file the scanner cannot split: anything but comments counts
            return bool(text.strip())


# --------------------------------------------------------------------------- discovery


def discover(roots: list[Path], only: str | None = None, names: set[str] | None = None) -> list[Case]:
    """Every case directory under the corpus roots, named ``<corpus>/<path>``."""
    cases: list[Case] = []
    for root in roots:
        for directory in sorted(p for p in root.rglob("*") if p.is_dir()):
            for old, new, expected in (("a.sql", "b.sql", "expected.sql"), ("old.sql", "new.sql", "diff.sql")):
                if (directory / old).is_file() and (directory / new).is_file():
                    name = f"{root.name}/{directory.relative_to(root).as_posix()}"
                    exp = directory / expected
                    if (only and only not in name) or (names is not None and name not in names):
                        continue
                    setup = directory / "setup.sql"
                    cases.append(Case(name, directory / old, directory / new, exp if exp.is_file() else None,
                                      setup if setup.is_file() else None))
    return cases


# --------------------------------------------------------------------------- the server


class Server:
    """The throwaway server cases run on: its superuser DSN and a matching pg_dump."""

    def __init__(self, dsn: str, pg_dump: str) -> None:
        self.dsn = dsn
        self.pg_dump = pg_dump
        self.role_lock = threading.Lock()

    def create(self) -> str:
        name = f"conf_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return make_conninfo(self.dsn, dbname=name)

    def drop(self, dsn: str) -> None:
        name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        dsn = self.create()
        try:
            yield dsn
        finally:
            self.drop(dsn)

    def setup(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for role in ROLES:
                with contextlib.suppress(psycopg.errors.DuplicateObject):
                    conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))


class Lacking(Exception):
    """The case needs something this server does not have: skip it."""


class LoadError(Exception):
    """The case's own SQL did not load for another reason."""


def load(server: Server, dsn: str, path: Path) -> None:
    """Apply a case file statement by statement, as psql would; a role some other case
    already created (roles are cluster-wide) is not an error."""
    text = path.read_text(encoding="utf-8")
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            statements = pglast.split(text)
        except pglast.parser.ParseError as exc:
            raise Lacking(f"{path.name} does not parse with PostgreSQL 18's grammar: {exc.args[0]}") from None
        for stmt in statements:
            try:
                with server.role_lock if "ROLE" in stmt.upper()[:40] else contextlib.nullcontext():
                    conn.execute(stmt)  # type: ignore[call-overload]
            except psycopg.errors.DuplicateObject:
                if "ROLE" in stmt.upper()[:40] or "USER" in stmt.upper()[:40]:
                    continue
                raise LoadError(f"{path.name}: duplicate object in {stmt[:60]!r}") from None
            except psycopg.Error as exc:
                state = exc.sqlstate or ""
                message = (exc.diag.message_primary or str(exc)).strip()
                if state in _LACKING and (_LACKING[state] or "extension" in message):
                    raise Lacking(f"{path.name}: {message}") from None
                raise LoadError(f"{path.name}: {message} ({state})") from None


# --------------------------------------------------------------------------- the checks


def _describe(differences: list, limit: int = 3) -> str:
    shown = []
    for d in differences[:limit]:
        text = f"{d.object_type} {d.name} {d.change}"
        if d.attribute:
            text += f" {d.attribute}"
        shown.append(text)
    more = f" (+{len(differences) - limit})" if len(differences) > limit else ""
    return ", ".join(shown) + more


def compare(expected: str, actual: str | list[str]) -> list:
    """What ``pgspec diff EXPECTED ACTUAL`` reports (exit 1 exactly when non-empty); a list for
    ACTUAL is SQL scripts applied in order, as ``verify --sql`` takes them."""
    from pgspec.diff import diff
    from pgspec.sources import open_comparison

    found = open_comparison(expected, actual)
    return diff(found.expected, found.actual, schemas=found.schemas)


def run_case(server: Server, case: Case) -> Result:
    result = Result(case.name)
    start = time.monotonic()
    try:
        with server.database() as a, server.database() as b:
            try:
                for dsn, path in ((a, case.old), (b, case.new)):
                    if case.setup:
                        load(server, dsn, case.setup)
                    load(server, dsn, path)
            except Lacking as exc:
                result.drift = result.sources = result.roundtrip = result.scripts = "skip"
                result.reasons["skip"] = str(exc)
                return result
            except LoadError as exc:
                result.drift = result.sources = result.roundtrip = result.scripts = "error"
                result.reasons["load"] = str(exc)
                return result
            _check(result, "drift", lambda: _drift(case, a, b))
            _check(result, "sources", lambda: _sources(server, b))
            _check(result, "roundtrip", lambda: _roundtrip(server, b, case.setup))
            _check(result, "scripts", lambda: _scripts(case, a, b))
    finally:
        result.seconds = round(time.monotonic() - start, 2)
    return result


def _check(result: Result, name: str, func) -> None:  # type: ignore[no-untyped-def]
    try:
        problem = func()
    except Exception as exc:  # a pgspec error is a failed check, with its message
        setattr(result, name, "error")
        result.reasons[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return
    setattr(result, name, "fail" if problem else "pass")
    if problem:
        result.reasons[name] = problem


def _drift(case: Case, a: str, b: str) -> str | None:
    differences = compare(a, b)
    if case.expects_drift and not differences:
        return "no difference found, the expected migration is not empty"
    if not case.expects_drift and differences:
        return f"false differences: {_describe(differences)}"
    return None


def _sources(server: Server, b: str) -> str | None:
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        dump = Path(tmp) / "b.sql"
        subprocess.run([server.pg_dump, "--schema-only", "--no-owner", "-f", str(dump), "-d", b],
                       check=True, capture_output=True, text=True)
        differences = compare(str(dump), b)
    return f"dump read offline differs from live: {_describe(differences)}" if differences else None


def _scripts(case: Case, a: str, b: str) -> str | None:
    problems = []
    for dsn, path, side in ((a, case.old, "A"), (b, case.new, "B")):
        if not path.read_text(encoding="utf-8").strip():
            continue
        scripts = [str(p) for p in (case.setup, path) if p is not None]
        differences = compare(dsn, scripts)
        if differences:
            problems.append(f"{side}'s script read offline differs from live: {_describe(differences)}")
    return "; ".join(problems) or None


def _roundtrip(server: Server, b: str, setup: Path | None) -> str | None:
    from pgspec.devdb import apply_sql
    from pgspec.inspect import inspect_source, write_spec
    from pgspec.render import render
    from pgspec.sources.spec import load_spec

    spec = inspect_source(b)
    with tempfile.TemporaryDirectory(prefix="conformance-spec-") as tmp:
        write_spec(spec, tmp)
        ddl = render(load_spec(tmp))
    # No setup.sql for C: what it made in B (schemas, types, extensions) is in the spec.
    del setup
    with server.database() as c:
        apply_sql(c, ddl, what="the rendered spec")
        differences = compare(b, c)
    notes = f" (inspect notes: {'; '.join(spec.notes)[:200]})" if spec.notes else ""
    return f"C differs from B: {_describe(differences)}{notes}" if differences else None


# --------------------------------------------------------------------------- running


def totals(results: list[Result]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for check in CHECKS:
        counts = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
        for r in results:
            value = getattr(r, check)
            if value in counts:
                counts[value] += 1
        out[check] = counts
    return out


def start_server(dsn: str | None, pg_dump: str | None) -> tuple[Server, contextlib.ExitStack]:
    stack = contextlib.ExitStack()
    if dsn:
        return Server(dsn, pg_dump or "pg_dump"), stack
    from tests.pgserver import default_server

    server = default_server()
    stack.callback(server.stop)
    return Server(server.dsn, pg_dump or server.tool("pg_dump")), stack


def run(roots: list[Path], *, dsn: str | None = None, pg_dump: str | None = None, jobs: int = 2,
        only: str | None = None, names: set[str] | None = None,
        out=None) -> list[Result]:  # type: ignore[no-untyped-def]
    out = out or sys.stdout
    cases = discover(roots, only, names)
    server, stack = start_server(dsn or os.environ.get("PGSPEC_TEST_DSN"), pg_dump)
    with stack:
        server.setup()
        print(f"{'case':<72} {'drift':<6} {'sources':<7} {'roundtrip':<9} {'scripts':<7} why", file=out)
        results: list[Result] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for result in pool.map(lambda c: run_case(server, c), cases):
                print(result.row(), file=out, flush=True)
                results.append(result)
    counted = totals(results)
    print("", file=out)
    for check, counts in counted.items():
        print(f"{check:<10} " + "  ".join(f"{k} {v}" for k, v in counts.items()), file=out)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="+", type=Path, help="corpus directories (migra, pgschema, ...)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--dsn", help="a superuser DSN to run on (default: PGSPEC_TEST_DSN, else an embedded server)")
    parser.add_argument("--pg-dump", help="pg_dump matching the server's version")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--only", metavar="TEXT", help="only cases whose name contains TEXT")
    parser.add_argument("--case", action="append", metavar="NAME", dest="cases",
                        help="only this case, e.g. migra/rls (repeatable)")
    args = parser.parse_args(argv)
    for root in args.corpus:
        if not root.is_dir():
            print(f"conformance: not a directory: {str(root)!r}", file=sys.stderr)
            return 2
    results = run(args.corpus, dsn=args.dsn, pg_dump=args.pg_dump, jobs=args.jobs, only=args.only,
                  names=set(args.cases) if args.cases else None)
    if args.json:
        data = {"totals": totals(results), "cases": [asdict(r) for r in results]}
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    failed = any(getattr(r, c) in ("fail", "error") for r in results for c in CHECKS)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
