"""Verify one spec against many targets at once: staging, production, last night's backup.

``pgspec verify --dsn A --dsn B`` or ``--targets FILE`` checks every target in a small thread
pool (the work is waiting on servers and reading files, and psycopg and pglast's C code release
the GIL), and the report is one row per target. A target that cannot be read is an outcome like
the others, not an exception: the other targets are still checked, and the exit code says which
was worst (2 = a target could not be read, 1 = a target drifts, 0 = all match).

A targets file holds one target per line, ``name  DSN-or-backup-path``, ``#`` starting a comment
line. ``$VAR`` / ``${VAR}`` are replaced from the environment (``$$`` is a literal ``$``), so
passwords stay in CI secrets, not in the file. A relative path is relative to the file.
"""

from __future__ import annotations

import os
import string
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pgspec.catalog import Difference, Warning
from pgspec.errors import PgspecError, SourceError

__all__ = ["MAX_WORKERS", "Outcome", "Target", "check_targets", "exit_code", "parse_targets", "targets_from_args"]

#: At most this many targets are read at the same time (servers and disks are shared).
MAX_WORKERS = 4

Status = Literal["match", "drift", "error"]


@dataclass(frozen=True)
class Target:
    """One place to verify: a DSN or a backup/dump path, and the name reports show."""

    name: str
    source: str


@dataclass(frozen=True)
class Outcome:
    """What verifying one target found. ``source`` is the report label (no password)."""

    name: str
    source: str
    status: Status
    expected_label: str
    differences: list[Difference] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    error: str | None = None


def _label(source: str) -> str:
    from pgspec.sources import label

    try:
        return label(source)
    except PgspecError:
        return "(unreadable DSN)"


def _default_name(source: str) -> str:
    """A short name for a target given on the command line: the database or the file name."""
    from pgspec.sources import is_dsn

    if is_dsn(source):
        described = _label(source)  # postgresql://user@host:port/dbname
        host_db = described.split("@", 1)[-1]
        host, _, dbname = host_db.partition("/")
        return f"{host.split(':', 1)[0]}/{dbname}"
    return Path(source).name or source


def targets_from_args(sources: Sequence[str]) -> list[Target]:
    """Targets for ``--dsn A --dsn B`` / ``--backup X --backup Y``, named after what they
    point at; a name used twice gets ``#2``, ``#3``."""
    targets = []
    seen: dict[str, int] = {}
    for source in sources:
        name = _default_name(source)
        seen[name] = seen.get(name, 0) + 1
        targets.append(Target(name if seen[name] == 1 else f"{name}#{seen[name]}", source))
    return targets


def parse_targets(path: str | Path) -> list[Target]:
    """The targets of a targets file (see the module docstring); errors name the line."""
    file = Path(path)
    name = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError("targets file not found", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read targets file: {exc}", file=name) from None
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise SourceError(f"expected 'name  DSN-or-path', got {line!r}", file=name, line=lineno)
        target_name, value = parts[0], parts[1].strip()
        try:
            value = string.Template(value).substitute(os.environ)
        except KeyError as exc:
            raise SourceError(f"environment variable {exc.args[0]!r} is not set", file=name,
                              line=lineno) from None
        except ValueError:
            raise SourceError(f"bad '$' in target {target_name!r} (write '$$' for a literal '$')",
                              file=name, line=lineno) from None
        if target_name in seen:
            raise SourceError(f"target {target_name!r} is named twice (first on line {seen[target_name]})",
                              file=name, line=lineno)
        seen[target_name] = lineno
        from pgspec.sources import is_dsn

        if not is_dsn(value) and not Path(value).is_absolute():
            value = str(file.parent / value) if file.parent != Path(".") else value
        targets.append(Target(target_name, value))
    if not targets:
        raise SourceError("no targets in file (one per line: 'name  DSN-or-path')", file=name)
    return targets


def _check_one(
    spec: str,
    target: Target,
    *,
    schemas: Collection[str] | None,
    exclude: Sequence[str],
    database: str | None,
    ignore_roles: Collection[str] = (),
) -> Outcome:
    from pgspec.devdb import annotate
    from pgspec.diff import diff
    from pgspec.sources import open_comparison

    try:
        found = open_comparison(spec, target.source, schemas=schemas, database=database)
        differences = annotate(diff(found.expected, found.actual, schemas=found.schemas, exclude=exclude,
                                    ignore_roles=ignore_roles),
                               dev_db=False)
    except PgspecError as exc:
        # The messages of pgspec's errors never hold a password (errors.py, live.py).
        return Outcome(target.name, _label(target.source), "error", spec, error=str(exc))
    return Outcome(
        target.name,
        found.actual_label,
        "drift" if differences else "match",
        found.expected_label,
        differences,
        list(found.warnings),
    )


def check_targets(
    spec: str,
    targets: Sequence[Target],
    *,
    schemas: Collection[str] | None = None,
    exclude: Sequence[str] = (),
    database: str | None = None,
    workers: int = MAX_WORKERS,
    ignore_roles: Collection[str] = (),
) -> list[Outcome]:
    """Verify the spec against every target, ``min(workers, len(targets))`` at a time; the
    outcomes come back in the order of ``targets``. A bug (not a ``PgspecError``) propagates."""
    if not targets:
        return []
    _import_for_threads(spec, targets)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets))),
                            thread_name_prefix="pgspec-target") as pool:
        futures = [
            pool.submit(_check_one, spec, t, schemas=schemas, exclude=exclude, database=database,
                        ignore_roles=ignore_roles)
            for t in targets
        ]
        return [f.result() for f in futures]


def _import_for_threads(spec: str, targets: Sequence[Target]) -> None:
    """Everything the checking threads import, imported here first: two threads importing one
    package at once can be handed it half-initialised (``sources.import_readers``)."""
    import pgspec.devdb
    import pgspec.diff
    import pgspec.normalize.bodies
    import pgspec.normalize.compare
    import pgspec.privileges  # noqa: F401
    from pgspec.sources import import_readers

    import_readers(spec, *(t.source for t in targets))


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """2 if any target could not be read (it wins), 1 if any drifts, else 0."""
    statuses = {o.status for o in outcomes}
    if "error" in statuses:
        return 2
    return 1 if "drift" in statuses else 0
