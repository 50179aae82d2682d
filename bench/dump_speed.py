"""How fast read_dump reads a big backup, and how much memory it takes.

Targets (issue 4): at least 300 MB/s and under 200 MB peak RSS on a ~1 GB pg_dumpall file,
which is nearly all COPY data, as a Supabase backup is. Also measured: the rate at which the
DDL itself is replayed, on a 3,000-table schema dump (that part is parser-bound).

Both files are made by a real server and the real pg_dumpall / pg_dump (rows generated
server-side with generate_series), in a private cluster this script starts and stops. Each read
runs in a fresh Python process so its peak RSS is the reader's own.

    python bench/dump_speed.py [--size-mb 1024] [--tables 3000] [--workdir /tmp/pgspec-bench]

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.pgserver import Server, binaries_server, debian_bindirs, embedded_server  # noqa: E402

#: Run in a child process: read the file, print seconds and peak RSS as JSON.
CHILD = """
import json, resource, sys, time
from pgspec.sources.sql import read_dump
started = time.perf_counter()
catalog = read_dump(sys.argv[1], database=sys.argv[2] or None)
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print(json.dumps({"seconds": seconds, "rss_kib": rss, "tables": len(catalog.tables)}))
"""


def start() -> Server:
    server = embedded_server()
    if server is None:
        dirs = debian_bindirs()
        server = binaries_server(dirs[max(dirs)], "bench")
    return server


def make_big_backup(server: Server, out: Path, size_mb: int) -> None:
    """A cluster dump whose project database holds ``size_mb`` of COPY data."""
    dsn = server.dsn_for("postgres")
    # ~100 bytes per row as COPY text: an id, a uuid-like text, a timestamp and a payload.
    rows = size_mb * 1024 * 1024 // 100
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("""
            CREATE TABLE public.events (
                id bigint PRIMARY KEY, account text NOT NULL, at timestamptz NOT NULL,
                payload text)""")
        conn.execute(
            """INSERT INTO public.events
               SELECT g, md5(g::text), '2025-01-01'::timestamptz + g * interval '1 second',
                      'row ' || g || E' with a tab\\t; and SQL-looking text: CREATE TABLE x;'
               FROM generate_series(1, %s) g""",
            (rows,),
        )
        conn.execute("CREATE INDEX events_account_idx ON public.events (account)")
    subprocess.run([server.tool("pg_dumpall"), "-f", str(out), "-d", dsn], check=True)


def make_wide_schema(server: Server, out: Path, tables: int) -> None:
    """A schema-only dump of ``tables`` tables with keys, indexes, defaults and comments."""
    dsn = server.create_database(name="wide")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t0 (id bigint PRIMARY KEY)")
        for i in range(1, tables):
            conn.execute(f"""
                CREATE TABLE public.t{i} (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    parent_id bigint REFERENCES public.t{i - 1} (id) ON DELETE CASCADE,
                    name text NOT NULL CHECK (length(name) < 200),
                    status text DEFAULT 'new' NOT NULL,
                    created_at timestamptz DEFAULT now() NOT NULL);
                CREATE INDEX t{i}_name_idx ON public.t{i} (lower(name)) WHERE status <> 'gone';
                COMMENT ON TABLE public.t{i} IS 'table {i}';""")
    subprocess.run([server.tool("pg_dump"), "--schema-only", "-f", str(out), "-d", dsn],
                   check=True)


def measure(path: Path, database: str = "") -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", CHILD, str(path), database],
                            capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--tables", type=int, default=3000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/pgspec-bench"))
    parser.add_argument("--reuse", action="store_true", help="keep files from an earlier run")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    big = args.workdir / f"db_cluster-{args.size_mb}mb.backup"
    wide = args.workdir / f"schema-{args.tables}-tables.sql"
    if not (args.reuse and big.exists() and wide.exists()):
        server = start()
        try:
            started = time.perf_counter()
            make_big_backup(server, big, args.size_mb)
            make_wide_schema(server, wide, args.tables)
            print(f"generated files in {time.perf_counter() - started:.0f} s")
        finally:
            server.stop()

    size = big.stat().st_size / 1e6
    result = measure(big)
    print(f"backup   {size:8.1f} MB  {result['seconds']:6.2f} s  "
          f"{size / result['seconds']:7.1f} MB/s  peak RSS {result['rss_kib'] / 1024:6.1f} MB")
    size = wide.stat().st_size / 1e6
    result = measure(wide)
    print(f"schema   {size:8.1f} MB  {result['seconds']:6.2f} s  "
          f"{size / result['seconds']:7.1f} MB/s  peak RSS {result['rss_kib'] / 1024:6.1f} MB  "
          f"({result['tables']} tables, {result['tables'] / result['seconds']:.0f} tables/s)")


if __name__ == "__main__":
    main()
