"""Start-up speed (issue 8): how long the everyday commands take on the team's own schema.

``python bench/startup.py [--runs 10] [--compiled] [--top 25]``

The 3,000-table benchmark (bench/run.py) measures throughput; this one measures what a person
waits for at a prompt or in a pre-commit hook, where interpreter start-up and imports are most
of the time. It builds the team's database the way tests/test_init_scripts.py does (a
throwaway server from tests/pgserver.py, ``fixtures/supabase_stub.sql`` and then the three
init scripts of ``supabase/migrations/`` applied with ``psql -v ON_ERROR_STOP=1``), then runs
each command as its own process, the way a shell runs it:

* ``pgspec --version``, ``pgspec render`` (the spec in ``schema/``) and
  ``pgspec verify --dsn DSN``, which must exit 0 and print "no differences";
* wall time (median of ``--runs``, with min and max to show the noise) and CPU time of the
  child (user + sys, from ``os.wait4``);
* the import-time breakdown of ``verify`` (``python -X importtime``): the modules with the
  most time of their own, and the total per top-level package.

Python writes no bytecode where ``PYTHONDONTWRITEBYTECODE`` is set (as on the team's machines),
and an editable install ships none, so every run compiles pgspec's own modules again; an
installed wheel has them compiled. ``--compiled`` repeats the timings with bytecode compiled
into a private cache directory (``PYTHONPYCACHEPREFIX``), which shows what that costs without
writing anything into the working tree.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pgspec.render import SPLIT_FILES  # noqa: E402
from tests.pgserver import Server, default_server  # noqa: E402

STUB = ROOT / "fixtures" / "supabase_stub.sql"
MIGRATIONS = ROOT / "supabase" / "migrations"


@dataclass
class Timing:
    label: str
    walls: list[float]
    cpus: list[float]
    exit_code: int

    def row(self) -> str:
        w = self.walls
        return (f"{self.label:<28} {statistics.median(w):7.3f} s  (min {min(w):.3f}, max {max(w):.3f})"
                f"   cpu {statistics.median(self.cpus):.3f} s   exit {self.exit_code}")


def pgspec_command() -> list[str]:
    """The console script next to this interpreter (what a user types), else ``python -m``."""
    script = Path(sysconfig.get_path("scripts")) / "pgspec"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pgspec"]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """One child process: (wall seconds, cpu seconds, exit code, stdout)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode, text


def measure(label: str, argv: list[str], runs: int, env: dict[str, str], expect: int = 0,
            expect_text: str | None = None) -> Timing:
    run_once(argv, env)  # warm the page cache; not counted
    walls, cpus, code = [], [], 0
    for _ in range(runs):
        wall, cpu, code, text = run_once(argv, env)
        if code != expect or (expect_text is not None and expect_text not in text):
            raise SystemExit(f"{label}: exit {code}, expected {expect}; output:\n{text[-2000:]}")
        walls.append(wall)
        cpus.append(cpu)
    return Timing(label, walls, cpus, code)


def team_database(server: Server) -> str:
    """A fresh database holding the team's schema, built as the init-script test builds it."""
    dsn = server.create_database()
    server.psql_file(dsn, STUB, *(MIGRATIONS / name for name in SPLIT_FILES))
    return dsn


def import_breakdown(args: list[str], env: dict[str, str], top: int) -> str:
    """``-X importtime`` of one command: the slowest modules by own time, and per package."""
    cmd = [sys.executable, "-X", "importtime", "-m", "pgspec", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if match:
            rows.append((int(match[1]), int(match[2]), match[4]))
    by_package: Counter[str] = Counter()
    for own, _, name in rows:
        by_package[name.split(".")[0]] += own
    total = sum(own for own, _, _ in rows)
    lines = [f"imports of `pgspec {args[0]}`: {total / 1000:.1f} ms in {len(rows)} modules",
             "", f"  {'own ms':>7} {'cumulative':>10}  module (top {top} by own time)"]
    for own, cumulative, name in sorted(rows, reverse=True)[:top]:
        lines.append(f"  {own / 1000:7.1f} {cumulative / 1000:10.1f}  {name}")
    lines += ["", f"  {'own ms':>7}  package"]
    for name, own in by_package.most_common(12):
        lines.append(f"  {own / 1000:7.1f}  {name}")
    return "\n".join(lines)


def timings(dsn: str, runs: int, env: dict[str, str]) -> list[Timing]:
    pgspec = pgspec_command()
    return [
        measure("pgspec --version", [*pgspec, "--version"], runs, env),
        measure("pgspec render", [*pgspec, "render"], runs, env),
        measure("pgspec verify --dsn", [*pgspec, "verify", "--dsn", dsn], runs, env,
                expect_text="no differences"),
    ]


def compiled_env(dsn: str) -> tuple[dict[str, str], tempfile.TemporaryDirectory[str]]:
    """An environment whose bytecode lives, compiled, in a private directory."""
    cache = tempfile.TemporaryDirectory(prefix="pgspec-pyc-")
    env = {**os.environ, "PYTHONPYCACHEPREFIX": cache.name}
    writing = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    pgspec = pgspec_command()
    for argv in (["--version"], ["render"], ["verify", "--dsn", dsn]):
        run_once([*pgspec, *argv], writing)  # every module a command imports is compiled once
    return env, cache


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per command (default 10)")
    parser.add_argument("--top", type=int, default=25, help="modules listed in the import breakdown")
    parser.add_argument("--compiled", action="store_true",
                        help="also time with pgspec's bytecode compiled, as an installed wheel has it")
    args = parser.parse_args(argv)

    server = default_server()
    try:
        dsn = team_database(server)
        env = dict(os.environ)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, server {server.label}, "
              f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}, "
              f"{args.runs} runs each\n")
        for timing in timings(dsn, args.runs, env):
            print(timing.row())
        if args.compiled:
            cenv, cache = compiled_env(dsn)
            with cache:
                print("\nwith bytecode compiled (PYTHONPYCACHEPREFIX):")
                for timing in timings(dsn, args.runs, cenv):
                    print(timing.row())
        print()
        print(import_breakdown(["verify", "--dsn", dsn], env, args.top))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
