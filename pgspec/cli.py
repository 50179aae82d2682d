"""The ``pgspec`` command: arguments in, a report out, an exit code CI scripts can trust.

Exit codes: 0 = no differences, 1 = differences, 2 = error (bad input, unreachable server),
130 = interrupted. Every ``PgspecError`` becomes one line on stderr; ``--traceback`` shows the
stack for bug reports. The work itself lives in the library; this module only wires it.

Start-up time matters (``pgspec verify`` runs in CI and pre-commit hooks), so the readers,
the renderer and the differ are imported inside the commands that need them.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pgspec.errors import PgspecError, SourceError

#: Report formats offered on the command line (must match ``report.FORMATS``; kept literal so
#: building the parser does not import the reporter).
FORMATS = ("text", "json", "github", "markdown")

#: ``--privileges-preset`` names (must match ``privileges.PRESETS``; kept literal so building the
#: parser does not import the catalog models: pydantic's model building was most of the start-up).
PRESET_NAMES = ("none", "supabase")


def _version() -> str:
    from pgspec import __version__

    return f"pgspec {__version__}"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--traceback", action="store_true",
                        help="show the full stack trace of an error (for bug reports)")

    compare = argparse.ArgumentParser(add_help=False)
    compare.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    compare.add_argument("--schema", action="append", metavar="NAME", dest="schemas",
                         help="compare only this schema (repeatable; default: the spec's schemas)")
    compare.add_argument("--exclude", action="append", metavar="PATTERN", default=[],
                         help="leave out objects whose qualified name matches (repeatable, e.g. 'public.tmp_*')")
    compare.add_argument("--database", metavar="NAME",
                         help="which database of a pg_dumpall file to read")
    compare.add_argument("--ignore-role", action="append", metavar="ROLE", dest="ignore_roles",
                         default=[], help="leave out grants to this role (repeatable)")
    compare.add_argument("--privileges-preset", choices=PRESET_NAMES, metavar="NAME",
                         help="leave out grants to a platform's own roles: "
                         + ", ".join(PRESET_NAMES) + " (supabase: its platform roles)")

    devdb = argparse.ArgumentParser(add_help=False)
    devdb.add_argument("--dev-db", metavar="embedded|DSN|docker:IMAGE",
                       help="normalise sources that are not live databases through a scratch database "
                       "on this server (exact where offline normalisation is not: SELECT *, policies)")
    devdb.add_argument("--dev-db-setup", metavar="FILE.sql",
                       help="SQL applied to the scratch database first, for objects the spec relies on "
                       "(auth.users, auth.uid(), roles), e.g. fixtures/supabase_stub.sql")

    parser = argparse.ArgumentParser(
        prog="pgspec",
        description="Keep a PostgreSQL schema honest: render a YAML spec to DDL and compare it "
        "with databases, backups and SQL scripts.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser(
        "render", parents=[common], help="print the spec as DDL",
        description="Print the spec as DDL, or write the three init scripts. With --check, write "
        "nothing: compare the committed files with what the spec renders, print a unified diff "
        "and exit 1 when they differ.",
    )
    render.add_argument("--spec", default="schema/", metavar="DIR", help="spec directory or file (default: schema/)")
    output = render.add_mutually_exclusive_group()
    output.add_argument("--split", metavar="OUTDIR", help="write the three init scripts into OUTDIR")
    output.add_argument("--output", metavar="FILE", help="write the DDL as one script into FILE")
    render.add_argument("--check", action="store_true",
                        help="check that the files of --split or --output equal what the spec renders "
                        "(exit 1 and a unified diff when not); writes nothing")

    verify = commands.add_parser(
        "verify", parents=[common, compare, devdb], help="compare the spec with a database, backup or SQL",
        description="Compare the spec (expected) with a database, a backup or SQL scripts (actual).",
    )
    verify.add_argument("--spec", default="schema/", metavar="DIR", help="spec directory or file (default: schema/)")
    target = verify.add_mutually_exclusive_group(required=True)
    target.add_argument("--dsn", metavar="DSN", action="append",
                        help="a live database (postgresql://... or key=value); repeat it to check several "
                        "databases at once (one summary row each)")
    target.add_argument("--backup", metavar="FILE", action="append",
                        help="a pg_dump / pg_dumpall file (optionally gzipped); repeatable like --dsn")
    target.add_argument("--sql", metavar="FILE", nargs="+", help="SQL scripts, applied in order")
    target.add_argument("--targets", metavar="FILE",
                        help="check many targets at once: one per line, 'name  DSN-or-backup-path', "
                        "'#' comments, $VAR from the environment")

    diff = commands.add_parser(
        "diff", parents=[common, compare, devdb], help="compare any two sources",
        description="Compare two sources: each a DSN, a spec directory or YAML file, or a SQL/dump "
        "file. The first is expected, the second actual.",
    )
    diff.add_argument("expected", metavar="SOURCE")
    diff.add_argument("actual", metavar="SOURCE")

    inspect = commands.add_parser(
        "inspect", parents=[common, devdb], help="write any source back as a YAML spec",
        description="Write a source (a DSN, a backup, SQL files or a spec) as a YAML spec: one file "
        "per schema, to stdout or into a directory.",
    )
    inspect.add_argument("source", metavar="SOURCE")
    inspect.add_argument("-o", "--output", metavar="DIR", help="write the spec files into DIR (atomically)")
    inspect.add_argument("--schema", action="append", metavar="NAME", dest="schemas",
                         help="inspect only this schema (repeatable; default: all but system and Supabase schemas)")
    inspect.add_argument("--database", metavar="NAME", help="which database of a pg_dumpall file to read")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script passes it to ``sys.exit``)."""
    code = _main(list(sys.argv[1:] if argv is None else argv))
    if argv is None:
        # The process ends now (console script, ``python -m pgspec``). Its objects are either
        # still reachable or garbage that exit frees anyway, yet the interpreter's exit-time
        # collections would traverse every one of them: a tenth of a verify. Frozen objects are
        # not traversed. (In-process callers pass argv and keep their collector as it was.)
        gc.freeze()
    return code


def _main(args_list: list[str]) -> int:
    # A large schema becomes hundreds of thousands of long-lived objects (catalog models,
    # YAML data, parse trees): with the default thresholds the cyclic collector rescans them
    # all again and again, a third of a large spec's load. Collect far less often.
    gc.set_threshold(100_000, 50, 100)
    try:
        args = build_parser().parse_args(args_list)
    except SystemExit as exc:  # --help, --version, a usage error (argparse printed it)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        if args.command == "render":
            return _render(args)
        if args.command == "inspect":
            return _inspect(args)
        return _compare(args)
    except PgspecError as exc:
        if args.traceback:
            import traceback

            traceback.print_exc()
        print(f"pgspec: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``pgspec render | head``): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1 if args.command != "render" else 0


def _render(args: argparse.Namespace) -> int:
    if args.check and not (args.split or args.output):
        raise PgspecError("render --check needs the files to check: --split DIR or --output FILE")
    if not os.path.exists(args.spec):
        raise SourceError(f"spec not found: {args.spec!r}")
    from pgspec.render import render, render_split
    from pgspec.sources.spec import load_spec

    catalog = load_spec(args.spec)
    if args.split:
        files = {Path(args.split) / name: text for name, text in render_split(catalog).items()}
    elif args.output:
        files = {Path(args.output): render(catalog)}
    else:
        sys.stdout.write(render(catalog))
        return 0
    if args.check:
        return check_files(files, spec=args.spec, update=_update_command(args))
    from pgspec.files import write_files

    for directory in sorted({path.parent for path in files}):
        write_files(directory, {path.name: text for path, text in files.items() if path.parent == directory})
    return 0


def _update_command(args: argparse.Namespace) -> str:
    """The command that brings the checked files up to date, for the hint after a diff."""
    import shlex

    where = ["--split", args.split] if args.split else ["--output", args.output]
    spec = [] if args.spec == "schema/" else ["--spec", args.spec]
    return shlex.join(["pgspec", "render", *spec, *where])


def check_files(files: dict[Path, str], *, spec: str, update: str) -> int:
    """``render --check``: 0 when every file holds exactly what the spec renders; else print a
    unified diff per differing file (committed -> rendered, a missing file counting as empty)
    and the command that updates them, and return 1. Nothing is written."""
    import difflib

    differing = []
    for path, rendered in files.items():
        try:
            committed: str | None = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            committed = None
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read {str(path)!r}: {exc}") from None
        if committed == rendered:
            continue
        differing.append(path)
        old = (committed or "").splitlines(keepends=True)
        new = rendered.splitlines(keepends=True)
        label = path.as_posix()
        lines = difflib.unified_diff(old, new, f"{label}{'' if committed is not None else ' (missing)'}",
                                     f"{label} (rendered from {spec})")
        for line in lines:
            sys.stdout.write(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    total = len(files)
    if not differing:
        print(f"{total} file{'s' if total != 1 else ''} match{'es' if total == 1 else ''} the spec {spec}")
        return 0
    print(f"{len(differing)} of {total} file{'s' if total != 1 else ''} differ{'s' if total == 1 else ''} "
          f"from the spec {spec}: run `{update}` and commit the result")
    return 1


def _inspect(args: argparse.Namespace) -> int:
    from pgspec.inspect import inspect_source, write_spec

    result = inspect_source(args.source, schemas=args.schemas, database=args.database,
                            dev_db=args.dev_db, dev_db_setup=args.dev_db_setup)
    notes = list(result.notes)
    if args.output:
        notes += write_spec(result, args.output)
    else:
        sys.stdout.write(result.stream())
    for note in notes:
        print(f"pgspec: warning: {note}", file=sys.stderr)
    return 0


def _compare(args: argparse.Namespace) -> int:
    early = _start_reads_early(args)
    try:
        return _compare_sources(args)
    finally:
        if early:
            from pgspec.sources.live_connection import discard_reads

            discard_reads()


def _start_reads_early(args: argparse.Namespace) -> bool:
    """``diff`` of databases: start reading them before the differ, the model and the rest
    are imported (a fifth of a second the servers would otherwise wait for). Only where
    neither side's scope depends on the other's, as ``open_comparison`` reads them then.
    ``verify --dsn`` of one database: the spec decides the schemas, so only the connection
    is opened early, while the spec loads."""
    from pgspec.sources.dsn import is_dsn

    if args.command == "verify":
        dsns = args.dsn or []
        if args.targets or len(dsns) != 1 or not is_dsn(dsns[0]):
            return False
        from pgspec.sources.live_connection import start_connecting

        start_connecting(dsns[0])
        return True
    if args.command != "diff" or args.dev_db:
        return False

    if not is_dsn(args.expected):
        return False
    from pgspec.sources.live_connection import start_reads

    start_reads([s for s in (args.expected, args.actual) if is_dsn(s)], args.schemas or None)
    return True


def _compare_sources(args: argparse.Namespace) -> int:
    from pgspec.diff import diff
    from pgspec.report import render_report
    from pgspec.sources import open_comparison

    if args.command == "verify":
        many = args.dsn or args.backup or []
        if args.targets or len(many) > 1:
            return _verify_targets(args, many)
        expected = args.spec
        actual = many[0] if many else args.sql
    else:
        expected, actual = args.expected, args.actual
    from pgspec.progress import progress_for

    with progress_for("reading") as progress:
        found = open_comparison(expected, actual, schemas=args.schemas, database=args.database,
                                progress=progress)
    if args.dev_db:
        from pgspec.devdb import normalize_comparison

        found = normalize_comparison(found, expected, actual, args.dev_db, setup=args.dev_db_setup)
    differences = diff(found.expected, found.actual, schemas=found.schemas, exclude=args.exclude,
                       ignore_roles=_ignored(args))
    if differences:  # hints need the scratch-server module, which loads psycopg: only for drift
        from pgspec.devdb import annotate

        differences = annotate(differences, dev_db=bool(args.dev_db))
    sys.stdout.write(
        render_report(differences, fmt=args.format, expected_label=found.expected_label,
                      actual_label=found.actual_label, warnings=found.warnings)
    )
    return 1 if differences else 0


def _ignored(args: argparse.Namespace) -> list[str]:
    """Roles whose grants are left out: ``--privileges-preset``'s and every ``--ignore-role``."""
    from pgspec.privileges import ignored_roles

    return ignored_roles(args.privileges_preset, args.ignore_roles)


def _verify_targets(args: argparse.Namespace, sources: list[str]) -> int:
    """``verify`` against several targets: one summary row each; exit 2 if any could not be
    read, else 1 if any drifts, else 0."""
    from pgspec.report import render_targets
    from pgspec.targets import check_targets, exit_code, parse_targets, targets_from_args

    if args.dev_db:
        raise PgspecError("--dev-db checks one target at a time; run verify once per target")
    if not os.path.exists(args.spec):
        raise SourceError(f"spec not found: {args.spec!r}")
    targets = parse_targets(args.targets) if args.targets else targets_from_args(sources)
    outcomes = check_targets(args.spec, targets, schemas=args.schemas, exclude=args.exclude,
                             database=args.database, ignore_roles=_ignored(args))
    sys.stdout.write(render_targets(outcomes, fmt=args.format))
    return exit_code(outcomes)
