"""A backup read offline must equal the database restored from it, read live.

Every test builds a real database, dumps it with the server's own pg_dump / pg_dumpall, reads
the file with ``read_dump`` (no server) and compares with ``introspect`` through the differ.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.diff import diff
from pgspec.errors import DumpError
from pgspec.sources.dump import connect_target, looks_like_dump, looks_like_sql
from pgspec.sources.live import introspect
from pgspec.sources.sql import read_dump
from tests.fix_db import ROOT, run_sql
from tests.pgserver import Server, dbname_of

RICH = ROOT / "fixtures" / "dump_rich_schema.sql"
RICH_SCHEMAS = ["public", "app", "auth", "extensions"]


def dump(server: Server, dsn: str, out: Path, *args: str) -> Path:
    subprocess.run([server.tool("pg_dump"), *args, "-f", str(out), "-d", dsn],
                   check=True, capture_output=True)
    return out


def dumpall(server: Server, out: Path, *args: str) -> Path:
    # Other tests' databases (t_*) and the stub template are not part of this cluster dump.
    subprocess.run(
        [server.tool("pg_dumpall"), "--exclude-database=t_*", "--exclude-database=pgspec_*",
         *args, "-f", str(out), "-d", server.dsn],
        check=True, capture_output=True,
    )
    return out


def _differences(offline, live) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(offline, live)]


def test_rich_dump_offline_equals_live(any_pg: Server, make_db: Callable[..., str],
                                        tmp_path: Path) -> None:
    dsn = make_db(server=any_pg)
    any_pg.psql_file(dsn, RICH)
    # A full dump (this database has no rows): a schema-only dump leaves out the REFRESH
    # MATERIALIZED VIEW that says a materialized view is populated.
    path = dump(any_pg, dsn, tmp_path / "rich.sql")
    assert looks_like_dump(path)
    offline = read_dump(path, schemas=RICH_SCHEMAS)
    live = introspect(dsn, schemas=RICH_SCHEMAS)
    assert _differences(offline, live) == []
    assert offline.source == str(path)
    # The objects that make this schema hard are really there.
    assert offline.policies['public.accounts."Members can view their account"'].permissive is False
    assert "auth.users.on_auth_user_created" in offline.triggers
    assert offline.tables["public.accounts"].rls_forced
    assert offline.tables["public.events_2024"].partition_of == "public.events"


def test_schema_only_dump_equals_the_database(
    pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    """A populated materialized view, which a schema-only dump cannot show, is no difference."""
    dsn = make_db()
    pg.psql_file(dsn, RICH)
    path = dump(pg, dsn, tmp_path / "rich.sql", "--schema-only")
    offline = read_dump(path, schemas=RICH_SCHEMAS)
    assert _differences(offline, introspect(dsn, schemas=RICH_SCHEMAS)) == []
    assert offline.materialized_views["public.account_usage_full"].with_data is None


def test_default_scope_leaves_out_supabase_schemas(pg: Server, make_db: Callable[..., str],
                                                   tmp_path: Path) -> None:
    dsn = make_db()
    pg.psql_file(dsn, RICH)
    catalog = read_dump(dump(pg, dsn, tmp_path / "rich.sql"))
    assert "auth.users" not in catalog.tables
    assert "auth.users.on_auth_user_created" not in catalog.triggers
    assert "extensions" not in catalog.schemas and "citext" not in catalog.extensions
    assert "public.accounts" in catalog.tables and "app" in catalog.schemas


# --------------------------------------------------------------------------- pg_dumpall


TRICKY_ROWS = [
    "CREATE TABLE evil (x int);",
    "\\.",
    "line one\nline two\n\\.\nCREATE TABLE evil2 (x int);",
    "back\\slash\ttab",
    "-- a comment; DROP TABLE notes;",
    "$$ unterminated dollar",
    "'unterminated quote",
]


@pytest.fixture
def cluster(pg: Server) -> Callable[..., tuple[str, str]]:
    """Two databases with different schemas and tricky COPY data; dropped afterwards."""
    made: list[str] = []

    def make() -> tuple[str, str]:
        suffix = uuid.uuid4().hex[:8]
        first, second = f"dumpa_{suffix}", f"dump b {suffix}"
        for name in (first, second):
            pg.create_database(name=name)
            made.append(name)
        run_sql(pg.dsn_for(first), """
            CREATE TABLE notes (id int PRIMARY KEY, body text);
            CREATE INDEX notes_body_idx ON notes (body);
        """)
        with __import__("psycopg").connect(pg.dsn_for(first), autocommit=True) as conn:
            for i, row in enumerate(TRICKY_ROWS):
                conn.execute("INSERT INTO notes VALUES (%s, %s)", (i, row))
        run_sql(pg.dsn_for(second), "CREATE TABLE other_things (id int); CREATE VIEW v AS "
                                    "SELECT id FROM other_things;")
        return first, second

    yield make
    for name in made:
        pg.drop_database(name)


def test_dumpall_picks_the_database(pg: Server, cluster, tmp_path: Path) -> None:
    first, second = cluster()
    path = dumpall(pg, tmp_path / "db_cluster-20-10-2025@13-48-23.backup")
    assert looks_like_dump(path) and not looks_like_sql(path)
    a = read_dump(path, database=first)
    assert _differences(a, introspect(pg.dsn_for(first))) == []
    assert set(a.tables) == {"public.notes"}
    assert "public.notes_body_idx" in a.indexes  # DDL after the COPY data is still read
    b = read_dump(path, database=second)
    assert _differences(b, introspect(pg.dsn_for(second))) == []
    assert set(b.tables) == {"public.other_things"} and set(b.views) == {"public.v"}
    # The default is Supabase's project database, "postgres".
    assert read_dump(path).tables == {}

    with pytest.raises(DumpError) as err:
        read_dump(path, database="nope")
    message = str(err.value)
    assert "'nope'" in message and repr(first) in message and repr(second) in message
    assert "'postgres'" in message and str(path) in message

    compressed = tmp_path / "cluster.backup.gz"
    compressed.write_bytes(gzip.compress(path.read_bytes()))
    assert looks_like_dump(compressed)
    assert read_dump(compressed, database=first) == a.model_copy(update={"source": str(compressed)})


def test_restrict_lines_and_connect_spellings(tmp_path: Path) -> None:
    path = tmp_path / "hand.sql"
    path.write_text(
        "--\n-- PostgreSQL database cluster dump\n--\n\n"
        "\\restrict abc123\n"
        "CREATE ROLE anon;\n"
        "\\unrestrict abc123\n"
        "\\connect template1\n"
        "\\restrict def\n"
        "CREATE TABLE public.in_template (x int);\n"
        "\\unrestrict def\n"
        "\\connect -reuse-previous=on \"dbname='we\\'ird db'\"\n"
        "\\restrict ghi\n"
        "CREATE TABLE public.weird (x int);\n"
        "COPY public.weird (x) FROM stdin;\n"
        "1\n\\.\n"
        "\\unrestrict ghi\n"
        "\\connect postgres\n"
        "CREATE TABLE public.project (id int);\n"
        "COPY public.project (id) FROM stdin;\n"
        "\\.\n"
        "CREATE INDEX project_id ON public.project (id);\n"
        "--\n-- PostgreSQL database cluster dump complete\n--\n"
    )
    assert set(read_dump(path).tables) == {"public.project"}
    assert set(read_dump(path).indexes) == {"public.project_id"}
    assert set(read_dump(path, database="we'ird db").tables) == {"public.weird"}
    assert connect_target('\\connect "My DB"') == "My DB"


# --------------------------------------------------------------------------- errors


def test_errors_name_file_and_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sql"
    empty.write_text("")
    with pytest.raises(DumpError, match="empty file"):
        read_dump(empty)

    binary = tmp_path / "binary.backup"
    binary.write_bytes(b"-- PostgreSQL database dump\n\x00\x01\x02garbage")
    with pytest.raises(DumpError, match="binary") as err:
        read_dump(binary)
    assert err.value.line == 2

    latin = tmp_path / "latin1.sql"
    latin.write_bytes(b"CREATE TABLE t (x text DEFAULT '\xe9');\n")
    with pytest.raises(DumpError, match="not UTF-8"):
        read_dump(latin)

    text = "--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE public.t (x int);\n"
    truncated = tmp_path / "truncated.backup.gz"
    truncated.write_bytes(gzip.compress((text * 2000).encode())[:-40])
    with pytest.raises(DumpError, match="truncated gzip"):
        read_dump(truncated)

    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE a (x int);\n\nCREATE TABLE b (\n  x int,\n  y nonsense nonsense\n);\n")
    with pytest.raises(DumpError) as err:
        read_dump(bad)
    assert err.value.line == 3 and err.value.file == str(bad)
    assert str(err.value).startswith(f"{bad}:3: cannot parse statement")

    unterminated = tmp_path / "unterminated.sql"
    unterminated.write_text("CREATE TABLE a (x int);\nCOPY a (x) FROM stdin;\n1\n2\n")
    with pytest.raises(DumpError, match="not terminated") as err:
        read_dump(unterminated)
    assert err.value.line == 2


def test_custom_format(pg: Server, make_db: Callable[..., str], tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = make_db()
    run_sql(dsn, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);")
    path = dump(pg, dsn, tmp_path / "custom.dump", "-Fc")
    assert looks_like_dump(path)
    bindir = os.path.dirname(pg.tool("pg_restore"))
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    assert _differences(read_dump(path), introspect(dsn)) == []
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(DumpError, match=r"pg_restore -f out\.sql"):
        read_dump(path)
    assert dbname_of(dsn)


def test_huge_lines_do_not_hang(tmp_path: Path) -> None:
    path = tmp_path / "huge.sql"
    blob = "x" * (50 << 20)
    with path.open("w") as fh:
        fh.write("--\n-- PostgreSQL database dump\n--\n")
        fh.write("CREATE TABLE public.t (id int, body text);\n")
        fh.write("COPY public.t (id, body) FROM stdin;\n")
        fh.write(f"1\t{blob}\n\\.\n")
        fh.write(f"-- {blob}\n")
        fh.write(f"INSERT INTO public.t VALUES (2, '{blob}');\n")
        fh.write("CREATE INDEX t_id ON public.t (id);\n")
        fh.write("--\n-- PostgreSQL database dump complete\n--\n")
    started = time.monotonic()
    catalog = read_dump(path)
    assert set(catalog.indexes) == {"public.t_id"}
    assert time.monotonic() - started < 20


# --------------------------------------------------------------------------- the fixture backup


FIXTURE = ROOT / "fixtures" / "db_cluster-20-10-2025@13-48-23.backup"


def test_fixture_backup_matches_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    """The committed Supabase-style backup (fixtures/make_backup.py) verifies clean offline."""
    from pgspec.cli import main

    assert main(["verify", "--spec", str(ROOT / "schema"), "--backup", str(FIXTURE)]) == 0
    assert "no differences" in capsys.readouterr().out
    project = read_dump(FIXTURE)
    assert "public.accounts" in project.tables and "storage.objects" not in project.tables
    storage = read_dump(FIXTURE, schemas=["storage"])
    assert set(storage.tables) == {"storage.buckets", "storage.objects"}
    assert 'storage.objects."Public read"' in storage.policies
    assert set(read_dump(FIXTURE, database="analytics_scratch").tables) == {"public.scratch"}


def test_schema_only_dump_cannot_tell_whether_a_matview_is_populated(
    any_pg: Server, make_db: Callable[..., str], tmp_path: Path
) -> None:
    """pg_dump --schema-only writes WITH NO DATA for every materialized view (only the data
    section refreshes a populated one): offline the state is unknown and not compared, while
    a full dump and a hand-written script say it and are compared."""
    from pgspec.sources.sql import read_sql

    dsn = make_db(server=any_pg)
    run_sql(dsn, "CREATE TABLE t (x int);"
                 "CREATE MATERIALIZED VIEW full_mv AS SELECT x FROM t WITH DATA;"
                 "CREATE MATERIALIZED VIEW empty_mv AS SELECT x FROM t WITH NO DATA;")
    live = introspect(dsn)
    assert (live.materialized_views["public.full_mv"].with_data,
            live.materialized_views["public.empty_mv"].with_data) == (True, False)
    schema_only = read_dump(dump(any_pg, dsn, tmp_path / "schema.sql", "--schema-only"))
    assert schema_only.materialized_views["public.full_mv"].with_data is None
    assert _differences(schema_only, live) == []
    assert _differences(live, schema_only) == []
    whole = read_dump(dump(any_pg, dsn, tmp_path / "whole.sql"))
    assert whole.materialized_views["public.full_mv"].with_data is True
    assert _differences(whole, live) == []
    script = tmp_path / "mine.sql"
    script.write_text("CREATE TABLE t (x int);\n"
                      "CREATE MATERIALIZED VIEW full_mv AS SELECT x FROM t WITH NO DATA;\n"
                      "CREATE MATERIALIZED VIEW empty_mv AS SELECT x FROM t WITH NO DATA;\n")
    assert [(d.name, d.attribute, d.expected, d.actual) for d in diff(read_sql([script]), live)] == [
        ("public.full_mv", "with_data", False, True)]


# --------------------------------------------------------------------------- truncated dumps


def _cut_after_line(source: Path, out: Path, keep: int) -> Path:
    """The first ``keep`` lines of a dump: a copy cut short between two lines."""
    with source.open() as fh:
        out.write_text("".join(line for _, line in zip(range(keep), fh, strict=False)))
    return out


@pytest.fixture
def cluster_and_single(pg: Server, make_db: Callable[..., str], tmp_path: Path) -> tuple[Path, Path]:
    """A real pg_dumpall of the test server and a real pg_dump of one database, both complete."""
    dsn = make_db()
    run_sql(dsn, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int REFERENCES a);"
                 "CREATE INDEX b_id ON b (id); CREATE VIEW v AS SELECT id FROM a;")
    return dumpall(pg, tmp_path / "cluster.sql"), dump(pg, dsn, tmp_path / "one.sql")


def test_complete_dumps_still_read(cluster_and_single: tuple[Path, Path]) -> None:
    cluster, single = cluster_and_single
    assert set(read_dump(single).tables) == {"public.a", "public.b"}
    assert read_dump(cluster, database="postgres") is not None


def test_a_dump_cut_between_statements_is_truncated_not_missing_objects(
    cluster_and_single: tuple[Path, Path], tmp_path: Path
) -> None:
    """Cut after ``CREATE TABLE a`` and before ``b``: valid SQL, but the backup is broken, and
    reading it as complete would report ``b``, its index and the view as missing."""
    _, single = cluster_and_single
    lines = single.read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if line.startswith("CREATE TABLE public.b")) - 1
    short = _cut_after_line(single, tmp_path / "short.sql", cut)
    with pytest.raises(DumpError, match="truncated: it ends here, before pg_dump's closing line") as err:
        read_dump(short)
    assert (err.value.file, err.value.line) == (str(short), cut)


def test_a_dump_cut_inside_a_statement_names_that_statement(
    cluster_and_single: tuple[Path, Path], tmp_path: Path
) -> None:
    _, single = cluster_and_single
    lines = single.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("CREATE TABLE public.b")) + 1
    short = _cut_after_line(single, tmp_path / "short.sql", start + 1)  # "CREATE TABLE ... (" + one column
    with pytest.raises(DumpError, match="it ends inside this statement") as err:
        read_dump(short)
    assert err.value.line == start


def test_a_dumpall_cut_after_its_last_database_is_still_truncated(
    cluster_and_single: tuple[Path, Path], tmp_path: Path
) -> None:
    """Every database section closed, but not the cluster dump: the rest of the file is lost
    (pg_dumpall writes the cluster's closing line right after the last database)."""
    cluster, _ = cluster_and_single
    lines = cluster.read_text().splitlines()
    last_section_end = max(i for i, line in enumerate(lines)
                           if line == "-- PostgreSQL database dump complete") + 1
    short = _cut_after_line(cluster, tmp_path / "short.sql", last_section_end)
    with pytest.raises(DumpError, match="pg_dumpall's closing line"):
        read_dump(short, database="postgres")


def test_truncated_backup_on_the_command_line(
    tmp_path: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    """The team's backup cut in the middle of its ``postgres`` database: one line, exit 2."""
    backup = ROOT / "fixtures" / "db_cluster-20-10-2025@13-48-23.backup"
    short = _cut_after_line(backup, tmp_path / "cut.backup", 4000)
    code, out, err = run("verify", "--spec", ROOT / "schema", "--backup", short)
    assert code == 2 and out == ""
    assert err.strip() == (f"pgspec: {short}:4000: the dump is truncated: it ends here, before "
                           "pg_dump's closing line '-- PostgreSQL database dump complete'")
