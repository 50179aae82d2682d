"""Speed at scale (issue 8): pgspec against migra and against the floor, on real servers.

``python bench/run.py [--sizes 30,300,3000,10000] [--json out.json] [--skip-migra]``

For each size N the script loads a generated multi-tenant schema (bench/generate.py) into a
throwaway PostgreSQL server three times (A, B identical; DRIFT = A plus five drifts), then runs
every command as a separate process, the way CI runs it, and records for each:

* wall time (median of ``--repeat`` runs, with min and max to show the noise),
* CPU time of the child (user + sys, from ``os.wait4``; the server's own work is not in it),
* peak RSS of the child (``ru_maxrss`` from ``os.wait4``),
* the number of SQL statements the command sent (``pg_stat_statements``, summed over the
  databases it read, reset before each run),
* its exit code, checked against the expected one (0 = identical, 1 = drift; migra: 0 / 2),
  so a fast wrong answer is visible.

Commands: ``pgspec diff A B``, ``pgspec diff A DRIFT``, ``pgspec verify --spec --dsn A``,
``pgspec verify --spec --backup A.sql``, ``pgspec inspect A``; the floor (bench/floor.sql through
psql, once per database); ``pg_dump --schema-only`` of A; migra (installed in its own venv,
bench/.venv-migra) on A B and A DRIFT. A command the CLI does not offer yet is reported as
"n/a (command not available)".

``--profile N`` profiles ``pgspec diff A B`` at size N with cProfile and pyinstrument and prints
the functions where the time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import pstats
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote as urlquote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import GeneratedSchema, drift, generate  # noqa: E402
from tests.pgserver import Server, default_server  # noqa: E402

BENCH = ROOT / "bench"
OUT = BENCH / "out"
MIGRA_VENV = BENCH / ".venv-migra"
FLOOR_SQL = BENCH / "floor.sql"

#: Server settings for the run: pg_stat_statements counts queries; a large lock table lets
#: pg_dump lock 10,000 tables in one transaction; durability is off because nothing here needs
#: to survive a crash and loading should not dominate the run.
SETTINGS: dict[str, str] = {
    "shared_preload_libraries": "pg_stat_statements",
    "max_locks_per_transaction": "1024",
    "shared_buffers": "512MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "pg_stat_statements.max": "10000",
}

#: Per size: (label, kind, expected exit code). ``kind`` picks how the argv is built.
COMMANDS: tuple[tuple[str, str, int], ...] = (
    ("floor: psql, both dbs", "floor", 0),
    ("pg_dump --schema-only", "pg_dump", 0),
    ("pgspec diff A B", "diff_same", 0),
    ("pgspec diff A DRIFT", "diff_drift", 1),
    ("pgspec verify --dsn", "verify_dsn", 0),
    ("pgspec verify --backup", "verify_backup", 0),
    ("pgspec inspect", "inspect", 0),
    ("migra A B", "migra_same", 0),
    ("migra A DRIFT", "migra_drift", 2),
)

#: Which pgspec subcommand each kind needs (to report "n/a" when the CLI lacks it).
SUBCOMMAND = {"diff_same": "diff", "diff_drift": "diff", "verify_dsn": "verify",
              "verify_backup": "verify", "inspect": "inspect"}


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    """One child process: what it cost and how it ended."""

    wall: float
    cpu: float
    peak_mb: float
    exit_code: int
    stdout: str = field(repr=False, default="")
    stderr: str = field(repr=False, default="")


#: The launcher that starts every measured command. Linux carries a process's peak RSS across
#: exec (fs/exec.c keeps the old address space's high-water mark), so a child forked straight
#: from this runner would report the runner's own 50+ MB as its peak. A bare interpreter
#: (``python -I -S``: a few MB) forks the command instead and reads its rusage with wait4.
LAUNCHER = r"""
import json, os, sys, time
argv, report = json.loads(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(report, "w") as out:
    json.dump([wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status)], out)
"""


def measure(argv: Sequence[str], timeout: float = 3600) -> Run:
    """Run ``argv`` as a child of the launcher and return that one process's costs (not the
    runner's, not the launcher's, not grandchildren's)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".json") as report:
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(list(argv)), report.name],
                                stdout=out, stderr=err, start_new_session=True)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        wall, cpu, maxrss_kb, exit_code = json.loads(report.read() or "[0, 0, 0, -9]")
        out.seek(0)
        err.seek(0)
        return Run(
            wall=wall,
            cpu=cpu,
            peak_mb=maxrss_kb / 1024,  # kilobytes on Linux
            exit_code=exit_code,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


@dataclass
class Result:
    """One command at one size, over its repeats."""

    command: str
    expected_exit: int
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    #: CPU the server's processes used during each run (both databases' backends), where the
    #: server runs on this machine (``ServerCpu``); empty otherwise.
    server_cpus: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    exit_code: int | None = None
    #: Every run's exit code: the code under test may change between runs (a wrong one is shown).
    exit_codes: list[int] = field(default_factory=list)
    queries: int | None = None
    differences: int | None = None
    note: str | None = None

    @property
    def wall(self) -> float | None:
        return statistics.median(self.walls) if self.walls else None

    @property
    def cpu(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None

    @property
    def server_cpu(self) -> float | None:
        return statistics.median(self.server_cpus) if self.server_cpus else None

    @property
    def peak_mb(self) -> float | None:
        return max(self.peaks) if self.peaks else None

    @property
    def ok(self) -> bool:
        return bool(self.walls) and all(code == self.expected_exit for code in self.exit_codes or [self.exit_code])

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(wall=self.wall, cpu=self.cpu, server_cpu=self.server_cpu, peak_mb=self.peak_mb, ok=self.ok)
        return data


# --------------------------------------------------------------------------- the server


def _owner(path: str) -> str:
    return pwd.getpwuid(os.stat(path).st_uid).pw_name


def configure(server: Server) -> bool:
    """Apply SETTINGS and restart the server; True when pg_stat_statements is ready.

    Only a server we started ourselves (embedded or binaries: ``bindir`` known) is restarted;
    a ``PGSPEC_TEST_DSN`` server is used as it is, and queries are then not counted.
    """
    if not server.bindir:
        print("note: external server, not reconfigured: queries are not counted", file=sys.stderr)
        return _stat_statements_ready(server)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        datadir = conn.execute("SHOW data_directory").fetchone()[0]
        for name, value in SETTINGS.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
    prefix: list[str] = []
    owner = _owner(datadir)
    if os.geteuid() == 0 and owner != "root":
        prefix = ["runuser", "-u", owner, "--"]  # pg_ctl refuses root; run as the data's owner
    ctl = [*prefix, server.tool("pg_ctl"), "-D", datadir, "-w"]
    done = subprocess.run([*ctl, "-m", "fast", "-l", os.path.join(datadir, "log"), "restart"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        print(f"note: restart failed ({done.stderr.strip()[-200:]}); queries are not counted", file=sys.stderr)
        return False

    def stop() -> None:
        # The embedded wrapper stops the postmaster pid it started; after our restart that pid
        # is gone, so stop the new one here before the wrapper deletes the data directory.
        subprocess.run([*ctl, "-m", "immediate", "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)

    server._stop.append(stop)  # Server.stop() runs the last added first
    return _stat_statements_ready(server)


def _stat_statements_ready(server: Server) -> bool:
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("SELECT pg_stat_statements_reset()")
        return True
    except psycopg.Error as exc:
        print(f"note: pg_stat_statements unavailable ({str(exc).strip()}); queries are not counted",
              file=sys.stderr)
        return False


def reset_queries(server: Server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


def count_queries(server: Server, databases: Sequence[str]) -> int:
    """Statements executed in ``databases`` since the last reset (utility ones included)."""
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(s.calls), 0)::bigint FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ANY(%s)",
            (list(databases),),
        ).fetchone()
    return int(row[0])


def server_times(server: Server, databases: Sequence[str], top: int = 20) -> list[tuple[float, int, str]]:
    """(total ms, calls, first words) of the statements run in ``databases`` since the reset."""
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT s.total_exec_time, s.calls, s.query FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ANY(%s)"
            " ORDER BY s.total_exec_time DESC LIMIT %s",
            (list(databases), top),
        ).fetchall()
    return [(float(ms), int(calls), " ".join(str(text).split())[:110]) for ms, calls, text in rows]


class ServerCpu:
    """CPU seconds a local server's processes have used, read from /proc: the postmaster's own
    and its reaped children's (``cutime``/``cstime``), plus its live children's.

    A command's server cost is the difference around its run. It shows what a wall time is
    made of on a machine whose cores the client and the servers share: the floor's psql does
    almost nothing itself, while a schema tool's own CPU adds to the servers'. ``None`` where
    the server is not on this machine (a ``PGSPEC_TEST_DSN`` server elsewhere) or /proc is
    not Linux's.
    """

    def __init__(self, server: Server) -> None:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        fields = self._stat(backend)
        self.postmaster: int | None = int(fields[1]) if fields else None  # the backend's parent
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    @staticmethod
    def _stat(pid: int | str) -> list[str] | None:
        """The fields of /proc/PID/stat after the command name (state is [0], ppid [1])."""
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return text.rsplit(")", 1)[1].split()

    def seconds(self) -> float | None:
        if self.postmaster is None:
            return None
        own = self._stat(self.postmaster)
        if own is None:
            return None
        ticks = sum(int(own[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                child = self._stat(entry.name)
                if child is not None and child[1] == str(self.postmaster):
                    ticks += int(child[11]) + int(child[12])
        return ticks / self.tick


def settle(dsns: Iterable[str]) -> None:
    """``VACUUM (ANALYZE)`` each database just loaded, before anything is timed.

    Loading N tables inserts hundreds of thousands of catalog rows; autovacuum then vacuums
    and analyzes pg_class, pg_attribute, pg_depend, ... of each database within the next
    minute, seconds of server CPU at 10,000 tables, which fell on whichever command happened
    to be timed then (session 5: ``diff A B`` 6.15 s against 5.32 s for the drift run timed
    after it; migra 72 s against 29 s the session before). A production catalog is vacuumed
    and analyzed: measuring after the same is fair to every tool.
    """
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")


def url_of(conninfo: str) -> str:
    """A ``postgresql://`` URL for a conninfo string (migra takes SQLAlchemy URLs only)."""
    params = conninfo_to_dict(conninfo)
    user = urlquote(params.pop("user", "postgres"), safe="")
    password = params.pop("password", None)
    auth = f"{user}:{urlquote(password, safe='')}@" if password else f"{user}@"
    dbname = urlquote(params.pop("dbname", "postgres"), safe="")
    host = params.pop("host", "")
    netloc = "" if host.startswith("/") else host
    if netloc and "port" in params:
        netloc += f":{params.pop('port')}"
    query = [f"{k}={urlquote(str(v), safe='/')}" for k, v in sorted(params.items())]
    if host.startswith("/"):
        query.insert(0, f"host={urlquote(host, safe='/')}")
    return f"postgresql://{auth}{netloc}/{dbname}" + (f"?{'&'.join(query)}" if query else "")


# --------------------------------------------------------------------------- the tools


def pgspec_argv() -> list[str]:
    return [sys.executable, "-m", "pgspec"]


def available_subcommands() -> set[str]:
    """pgspec subcommands the CLI offers right now (``pgspec X --help`` exits 0)."""
    found = set()
    for name in ("diff", "verify", "inspect"):
        done = subprocess.run([*pgspec_argv(), name, "--help"], capture_output=True, cwd=ROOT, check=False)
        if done.returncode == 0:
            found.add(name)
    return found


def setup_migra() -> tuple[list[str] | None, str | None]:
    """migra in its own venv; returns its argv or why it is missing.

    migra 3.0 (2022) and its sqlbag predate SQLAlchemy 2, which maps ``postgresql://`` to
    psycopg 3 instead of psycopg2, so SQLAlchemy is pinned below 2.0 as migra was released with.
    """
    python = MIGRA_VENV / "bin" / "python"
    migra = MIGRA_VENV / "bin" / "migra"
    if not migra.exists():
        print("installing migra into bench/.venv-migra ...", file=sys.stderr)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(MIGRA_VENV)], check=True, capture_output=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "migra", "psycopg2-binary",
                            "sqlalchemy<2.0", "setuptools"],
                           check=True, capture_output=True, text=True, timeout=900)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            reason = getattr(exc, "stderr", "") or str(exc)
            return None, f"migra did not install: {str(reason).strip().splitlines()[-1:]}"
    done = subprocess.run([str(migra), "--help"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None, f"migra does not run: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
    return [str(migra)], None


# --------------------------------------------------------------------------- one size


@dataclass
class Size:
    n: int
    load_s: float = 0.0
    tables: int = 0
    results: dict[str, Result] = field(default_factory=dict)
    drifts: list[str] = field(default_factory=list)


@dataclass
class Bench:
    server: Server
    counting: bool
    subcommands: set[str]
    migra: list[str] | None
    migra_note: str | None
    repeat: int
    repeat_large: int
    seed: int
    server_cpu: ServerCpu | None = None

    def measure(self, argv: Sequence[str]) -> tuple[Run, float | None]:
        """One run of ``argv`` and the server CPU it cost (None where that cannot be read).
        The backends of the run end as its client does; the postmaster has reaped them (and
        added their CPU to its own children's) a moment later."""
        before = self.server_cpu.seconds() if self.server_cpu else None
        run = measure(argv)
        if before is None or self.server_cpu is None:
            return run, None
        time.sleep(0.05)
        after = self.server_cpu.seconds()
        return run, (after - before) if after is not None else None

    def databases(self, n: int) -> dict[str, str]:
        return {role: f"bench_{n}_{role}" for role in ("a", "b", "drift")}

    def prepare(self, n: int) -> tuple[Size, GeneratedSchema, dict[str, str]]:
        size = Size(n=n)
        schema = generate(n, self.seed)
        names = self.databases(n)
        for name in names.values():
            self.server.drop_database(name)
        dsn_a = self.server.create_database(name=names["a"])
        start = time.perf_counter()
        schema.load(dsn_a)
        size.load_s = time.perf_counter() - start
        size.tables = n
        with psycopg.connect(self.server.dsn, autocommit=True) as conn:
            for role in ("b", "drift"):
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(names[role]), sql.Identifier(names["a"])))
        dsns = {role: self.server.dsn_for(name) for role, name in names.items()}
        size.drifts = drift(dsns["drift"])
        settle(dsns.values())
        workdir = OUT / str(n)
        if workdir.exists():
            shutil.rmtree(workdir)
        schema.write_spec(workdir / "spec")
        # The backup verify reads: a plain pg_dump of A (also timed as its own row below).
        subprocess.run([self.server.tool("pg_dump"), "--schema-only", "-f", str(workdir / "a.sql"), dsns["a"]],
                       check=True, capture_output=True)
        return size, schema, dsns

    def argv(self, kind: str, n: int, dsns: dict[str, str]) -> tuple[list[str] | None, list[str], str | None]:
        """(argv, databases it reads, why it cannot run)."""
        names = self.databases(n)
        workdir = OUT / str(n)
        spec = str(workdir / "spec")
        if kind in SUBCOMMAND and SUBCOMMAND[kind] not in self.subcommands:
            return None, [], "n/a (command not available)"
        if kind == "pg_dump":
            return ([self.server.tool("pg_dump"), "--schema-only", "-f", os.devnull, dsns["a"]], [names["a"]], None)
        if kind == "diff_same":
            return [*pgspec_argv(), "diff", dsns["a"], dsns["b"], "--format", "json"], [names["a"], names["b"]], None
        if kind == "diff_drift":
            return ([*pgspec_argv(), "diff", dsns["a"], dsns["drift"], "--format", "json"],
                    [names["a"], names["drift"]], None)
        if kind == "verify_dsn":
            return ([*pgspec_argv(), "verify", "--spec", spec, "--dsn", dsns["a"], "--format", "json"],
                    [names["a"]], None)
        if kind == "verify_backup":
            return ([*pgspec_argv(), "verify", "--spec", spec, "--backup", str(workdir / "a.sql"), "--format", "json"],
                    [], None)
        if kind == "inspect":
            out = workdir / "inspected"
            return [*pgspec_argv(), "inspect", dsns["a"], "-o", str(out)], [names["a"]], None
        if kind in ("migra_same", "migra_drift"):
            if not self.migra:
                return None, [], self.migra_note or "skipped"
            other = "b" if kind == "migra_same" else "drift"
            return ([*self.migra, "--unsafe", url_of(dsns["a"]), url_of(dsns[other])],
                    [names["a"], names[other]], None)
        raise ValueError(kind)

    def run_floor(self, result: Result, dsns: dict[str, str], names: list[str], repeats: int) -> None:
        """The floor: one catalog query per database through psql, both costs added up."""
        psql = self.server.tool("psql")
        for _ in range(repeats):
            if self.counting:
                reset_queries(self.server)
            measured = [self.measure([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-o", os.devnull,
                                      "-f", str(FLOOR_SQL), "-d", dsns[role]]) for role in ("a", "b")]
            runs = [run for run, _ in measured]
            if all(cpu is not None for _, cpu in measured):
                result.server_cpus.append(sum(cpu for _, cpu in measured if cpu is not None))
            result.walls.append(sum(r.wall for r in runs))
            result.cpus.append(sum(r.cpu for r in runs))
            result.peaks.append(max(r.peak_mb for r in runs))
            result.exit_code = max(r.exit_code for r in runs)
            if self.counting and result.queries is None:
                result.queries = count_queries(self.server, names)

    def run_size(self, n: int) -> Size:
        print(f"\n== N = {n}: generating and loading ...", file=sys.stderr, flush=True)
        size, _schema, dsns = self.prepare(n)
        print(f"   loaded in {size.load_s:.1f} s; drifts: {len(size.drifts)}", file=sys.stderr, flush=True)
        repeats = self.repeat if n <= 3000 else self.repeat_large
        names = self.databases(n)
        for label, kind, expected in COMMANDS:
            result = Result(command=label, expected_exit=expected)
            size.results[kind] = result
            if kind == "floor":
                self.run_floor(result, dsns, [names["a"], names["b"]], repeats)
                self._progress(n, result)
                continue
            argv, reads, why = self.argv(kind, n, dsns)
            if argv is None:
                result.note = why
                self._progress(n, result)
                continue
            if kind == "inspect":
                shutil.rmtree(OUT / str(n) / "inspected", ignore_errors=True)
            for _attempt in range(repeats):
                if self.counting:
                    reset_queries(self.server)
                run, server_cpu = self.measure(argv)
                if server_cpu is not None:
                    result.server_cpus.append(server_cpu)
                if self.counting and reads and result.queries is None and run.exit_code == expected:
                    result.queries = count_queries(self.server, reads)
                result.exit_codes.append(run.exit_code)
                result.walls.append(run.wall)
                result.cpus.append(run.cpu)
                result.peaks.append(run.peak_mb)
                if result.exit_code in (None, expected):
                    result.exit_code = run.exit_code
                if run.exit_code != expected:
                    result.exit_code = run.exit_code  # keep the wrong one visible
                    result.note = _first_line(run.stderr) or _first_line(run.stdout)
                if kind.startswith(("diff", "verify")):
                    result.differences = _count_differences(run.stdout)
                if run.exit_code == 2 and kind in SUBCOMMAND and "invalid choice" in run.stderr:
                    result.note = "n/a (command not available)"
                    result.walls.clear()
                    result.cpus.clear()
                    result.peaks.clear()
                    break
                if kind == "inspect":
                    shutil.rmtree(OUT / str(n) / "inspected", ignore_errors=True)
            self._progress(n, result)
        for name in names.values():
            with contextlib.suppress(psycopg.Error):
                self.server.drop_database(name)
        return size

    @staticmethod
    def _progress(n: int, result: Result) -> None:
        if result.wall is None:
            print(f"   {result.command:<26} {result.note}", file=sys.stderr, flush=True)
            return
        spread = f"[{min(result.walls):.2f}..{max(result.walls):.2f}]"
        flag = "" if result.ok else f"  UNEXPECTED exit {result.exit_code}: {result.note}"
        server = "" if result.server_cpu is None else f" server {result.server_cpu:5.2f} s"
        print(f"   {result.command:<26} {result.wall:8.2f} s {spread:<16} cpu {result.cpu:6.2f} s{server}"
              f"  {result.peak_mb:7.1f} MB  queries {result.queries}{flag}", file=sys.stderr, flush=True)


def _first_line(text: str) -> str | None:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else None


def _count_differences(stdout: str) -> int | None:
    try:
        return len(json.loads(stdout)["differences"])
    except (ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------- the report


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(sizes: list[Size]) -> str:
    """The table the issue asks for, one block per N."""
    header = ("N", "command", "wall s", "min..max", "CPU s", "server CPU s", "peak MB", "queries", "exit",
              "diffs", "migra s", "x migra", "x floor")
    rows: list[tuple[str, ...]] = [header]
    for size in sizes:
        floor = size.results.get("floor")
        for kind, result in size.results.items():
            migra_wall = ratio = vs_floor = None
            pair = {"diff_same": "migra_same", "diff_drift": "migra_drift"}.get(kind)
            if pair and size.results.get(pair) and size.results[pair].wall and result.wall:
                migra_wall = size.results[pair].wall
                ratio = migra_wall / result.wall
            if kind.startswith(("diff", "verify", "inspect")) and floor and floor.wall and result.wall:
                vs_floor = result.wall / floor.wall
            if result.wall is None:
                rows.append((str(size.n), result.command, result.note or "-", *("" for _ in header[3:])))
                continue
            exit_text = str(result.exit_code) + ("" if result.ok else "!")
            rows.append((
                str(size.n), result.command, _fmt(result.wall),
                f"{min(result.walls):.2f}..{max(result.walls):.2f}", _fmt(result.cpu), _fmt(result.server_cpu),
                _fmt(result.peak_mb, 0),
                "-" if result.queries is None else str(result.queries), exit_text,
                "-" if result.differences is None else str(result.differences),
                _fmt(migra_wall), _fmt(ratio, 1), _fmt(vs_floor, 1),
            ))
        rows.append(tuple("" for _ in header))
    widths = [max(len(r[i]) for r in rows if len(r[i]) < 40) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def targets(sizes: list[Size]) -> dict[str, Any]:
    """The issue's targets at N = 3,000 (and linear growth to 10,000), each True/False/None."""
    by_n = {s.n: s for s in sizes}
    found: dict[str, Any] = {}
    at = by_n.get(3000)
    if at:
        diff, migra, floor = (at.results.get(k) for k in ("diff_same", "migra_same", "floor"))
        if diff and diff.wall and migra and migra.wall:
            found["diff_10x_faster_than_migra"] = {"ratio": migra.wall / diff.wall, "met": migra.wall / diff.wall >= 10}
            found["peak_memory_below_migra"] = {"pgspec_mb": diff.peak_mb, "migra_mb": migra.peak_mb,
                                                "met": (diff.peak_mb or 0) < (migra.peak_mb or 0)}
        if diff and diff.wall and floor and floor.wall:
            found["diff_within_2x_floor"] = {"ratio": diff.wall / floor.wall, "met": diff.wall / floor.wall <= 2}
        if diff and diff.cpu is not None and diff.server_cpu is not None:
            # Not a target: the least wall time the CPU that run used allows when pgspec and the
            # servers share this machine's cores (everything perfectly overlapped).
            cores = os.cpu_count() or 1
            found["diff_cpu_bound"] = {
                "pgspec_cpu_s": diff.cpu, "server_cpu_s": diff.server_cpu, "cores": cores,
                "least_wall_s": (diff.cpu + diff.server_cpu) / cores,
                "floor_server_cpu_s": floor.server_cpu if floor else None,
            }
    counts = {s.n: s.results["diff_same"].queries for s in sizes if "diff_same" in s.results}
    if counts and all(c is not None for c in counts.values()):
        found["queries_constant"] = {"by_n": counts, "met": len(set(counts.values())) == 1}
    if 3000 in by_n and 10000 in by_n:
        small, big = by_n[3000].results.get("diff_same"), by_n[10000].results.get("diff_same")
        if small and big and small.wall and big.wall:
            growth = big.wall / small.wall
            # Linear: ten thousand tables cost at most 10/3 (plus 20% for noise) of three thousand.
            found["linear_growth_3000_to_10000"] = {"wall_ratio": growth, "size_ratio": 10000 / 3000,
                                                    "met": growth <= 10000 / 3000 * 1.2}
    return found


# --------------------------------------------------------------------------- profiling


def profile(bench: Bench, n: int, top: int = 25) -> str:
    """cProfile and pyinstrument on ``pgspec diff A B`` at size N; returns the report text."""
    size, _schema, dsns = bench.prepare(n)
    del size
    workdir = OUT / str(n)
    stats_file = workdir / "diff.prof"
    lines = []
    if bench.counting:
        # The server's side first, unprofiled: which catalog queries cost what. One run first
        # to warm the server's caches, as the floor and pg_dump do before a measured run.
        measure([*pgspec_argv(), "diff", dsns["a"], dsns["b"]])
        reset_queries(bench.server)
        run = measure([*pgspec_argv(), "diff", dsns["a"], dsns["b"]])
        lines.append(f"`pgspec diff A B`, N = {n}: wall {run.wall:.2f} s, client CPU {run.cpu:.2f} s, "
                     f"peak {run.peak_mb:.0f} MB; server time per statement (both databases):")
        lines.extend(f"  {total:8.1f} ms  {calls:>3} calls  {text}" for total, calls, text in
                     server_times(bench.server, list(bench.databases(n).values())))
        lines.append("")
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "pgspec", "diff",
                    dsns["a"], dsns["b"]], capture_output=True, check=False, cwd=ROOT)
    lines.append(f"cProfile of `pgspec diff A B`, N = {n} (self time, top {top})")
    stats = pstats.Stats(str(stats_file))
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    for (filename, line, function), (_cc, calls, tottime, cumtime, _callers) in entries[:top]:
        where = _short(filename)
        lines.append(f"  {tottime / total:6.1%} self {tottime:7.3f} s  cum {cumtime:7.3f} s  {calls:>9} calls"
                     f"  {where}:{line}:{function}")
    lines.append(f"\ncumulative time, pgspec functions only (top {top})")
    own = [e for e in stats.stats.items() if "pgspec" in e[0][0]]  # type: ignore[attr-defined]
    for (filename, line, function), (_cc, calls, _tottime, cumtime, _callers) in sorted(
            own, key=lambda item: item[1][3], reverse=True)[:top]:
        lines.append(f"  {cumtime / total:6.1%} cum {cumtime:7.3f} s  {calls:>9} calls  {_short(filename)}:{line}:{function}")
    tree = workdir / "diff.pyinstrument.txt"
    done = subprocess.run([sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(tree), "-m", "pgspec",
                           "diff", dsns["a"], dsns["b"]], capture_output=True, text=True, check=False, cwd=ROOT)
    if tree.exists():
        lines.append(f"\npyinstrument call tree: {tree.relative_to(ROOT)}")
    else:
        lines.append(f"\npyinstrument failed: {_first_line(done.stderr)}")
    report = "\n".join(lines)
    (workdir / "diff.cprofile.txt").write_text(report + "\n", encoding="utf-8")
    for name in bench.databases(n).values():
        with contextlib.suppress(psycopg.Error):
            bench.server.drop_database(name)
    return report


def _short(filename: str) -> str:
    for marker in ("/site-packages/", str(ROOT) + "/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# --------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True,
                          check=False).stdout.strip()
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in load], "pgspec_commit": head}


@contextlib.contextmanager
def started_server() -> Iterator[tuple[Server, bool]]:
    server = default_server()
    try:
        counting = configure(server)
        yield server, counting
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pgspec speed at scale: a table per N, and JSON.")
    parser.add_argument("--sizes", default="30,300,3000,10000", help="comma-separated table counts")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON (default: bench/out/results.json)")
    parser.add_argument("--skip-migra", action="store_true", help="do not install or run migra")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command up to N = 3,000 (median reported)")
    parser.add_argument("--repeat-large", type=int, default=1, help="runs per command above N = 3,000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", type=int, metavar="N", help="profile `pgspec diff A B` at N tables and exit")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    OUT.mkdir(parents=True, exist_ok=True)

    migra, migra_note = (None, "skipped (--skip-migra)")
    if not args.skip_migra and args.profile is None:
        migra, migra_note = setup_migra()
        if migra_note:
            print(f"note: {migra_note}", file=sys.stderr)
    subcommands = available_subcommands()
    with started_server() as (server, counting):
        bench = Bench(server=server, counting=counting, subcommands=subcommands, migra=migra,
                      migra_note=migra_note, repeat=args.repeat, repeat_large=args.repeat_large, seed=args.seed,
                      server_cpu=ServerCpu(server))
        if args.profile is not None:
            print(profile(bench, args.profile))
            return 0
        info = machine()
        info["server"] = server.label
        info["server_version"] = server.version
        done: list[Size] = []
        for n in sizes:
            done.append(bench.run_size(n))
            _write_json(Path(args.json) if args.json else OUT / "results.json", info, done)
        info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print()
    print(table(done))
    found = targets(done)
    if found:
        print("\ntargets (issue 8):")
        for name, value in found.items():
            print(f"  {name}: {json.dumps(value)}")
    path = _write_json(Path(args.json) if args.json else OUT / "results.json", info, done)
    print(f"\nJSON: {path}")
    return 0


def _write_json(path: Path, info: dict[str, Any], sizes: list[Size]) -> Path:
    document = {
        "machine": info,
        "sizes": [
            {"n": s.n, "load_s": s.load_s, "drifts": s.drifts,
             "results": {kind: r.as_json() for kind, r in s.results.items()}}
            for s in sizes
        ],
        "targets": targets(sizes),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
