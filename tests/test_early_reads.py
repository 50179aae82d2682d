"""`pgspec diff DSN DSN` starts reading both databases before the rest of pgspec is imported.

The reads begun early (``live_connection.start_reads``) must behave exactly like the reads
``introspect`` would have begun itself: the same catalog, the same one-line errors, and no
connection left open when the command ends, whether it adopted the reads or failed first.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pgspec.errors import SourceError
from pgspec.sources import live_connection
from pgspec.sources.live import introspect
from tests.fix_db import Run, run_sql

SCHEMA = """
CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL DEFAULT 'x', tags text[]);
CREATE INDEX t_name_lower ON t (lower(name));
CREATE VIEW v AS SELECT id, name FROM t;
"""


def _pgspec_sessions(dsn: str) -> int:
    """Sessions pgspec has open on this test's database (its application_name), other than
    this one. Only this database's: the server is shared by the whole suite, and a session
    another test's command closes as it exits may not have ended yet."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'pgspec' AND pid <> pg_backend_pid()"
            " AND datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_adopted_reads_give_the_catalog_introspect_gives(run: Run, make_db) -> None:
    a, b = make_db(), make_db()
    run_sql(a, SCHEMA)
    run_sql(b, SCHEMA + "ALTER TABLE t ADD COLUMN extra int;")
    code, out, _ = run("diff", a, b, "--format", "json")
    assert code == 1
    assert '"public.t.extra"' in out and '"unexpected"' in out
    assert live_connection._started == {}  # both reads were adopted
    assert _pgspec_sessions(a) == 0

    # What an early read hands over equals a read begun by introspect itself.
    live_connection.start_reads([a], None)
    early = introspect(a)
    assert live_connection._started == {}
    assert early.model_dump(exclude={"source"}) == introspect(a).model_dump(exclude={"source"})


def test_a_read_nobody_adopts_is_closed(run: Run, db: str, tmp_path: Path) -> None:
    run_sql(db, SCHEMA)
    code, out, err = run("diff", db, tmp_path / "missing.sql")
    assert (code, out) == (2, "")
    assert "missing.sql" in err
    assert live_connection._started == {}
    assert _sessions_drop_to_zero(db)


def test_an_early_connection_error_is_the_usual_one_line(run: Run, db: str) -> None:
    wrong = db + " password=s3cret-wrong user=no_such_role_here"
    code, out, err = run("diff", wrong, db)
    assert (code, out) == (2, "")
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("pgspec: ")
    assert "no_such_role_here" in lines[0] and "s3cret" not in err
    assert live_connection._started == {}
    assert _sessions_drop_to_zero(db)


def test_the_collector_is_on_again_after_reads_and_failed_reads(db: str) -> None:
    import gc

    run_sql(db, SCHEMA)
    assert gc.isenabled()
    introspect(db)
    assert gc.isenabled()
    with pytest.raises(SourceError):
        introspect(db + " user=no_such_role_here")
    assert gc.isenabled()
    gc.disable()
    try:
        introspect(db)
        assert not gc.isenabled()  # a caller's choice is left as it was
    finally:
        gc.enable()


def _sessions_drop_to_zero(dsn: str, within: float = 10.0) -> bool:
    """Whether pgspec's sessions on this database end soon. A closed connection's backend
    leaves pg_stat_activity only once it has finished exiting, a moment after the client
    closed it (longer on a loaded machine), and a connection opened for nobody closes once
    open: either way the session must go, not be gone the instant the command returns."""
    import time

    deadline = time.monotonic() + within
    while _pgspec_sessions(dsn) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _pgspec_sessions(dsn) == 0


def test_verify_dsn_takes_the_connection_opened_while_the_spec_loads(
    run: Run, db: str, tmp_path: Path
) -> None:
    run_sql(db, SCHEMA)
    assert run("inspect", db, "-o", tmp_path / "spec")[0] == 0
    code, out, err = run("verify", "--spec", tmp_path / "spec", "--dsn", db)
    assert code == 0 and out.strip().endswith("no differences"), err
    assert live_connection._connecting == {}  # taken by the read
    assert _sessions_drop_to_zero(db)
    run_sql(db, "ALTER TABLE t ADD COLUMN extra int;")
    code, out, _ = run("verify", "--spec", tmp_path / "spec", "--dsn", db)
    assert code == 1 and "public.t.extra" in out


def test_verify_dsn_connection_errors_are_the_usual_one_line(
    run: Run, db: str, tmp_path: Path
) -> None:
    run_sql(db, SCHEMA)
    assert run("inspect", db, "-o", tmp_path / "spec")[0] == 0
    wrong = db + " password=s3cret-wrong user=no_such_role_here"
    code, out, err = run("verify", "--spec", tmp_path / "spec", "--dsn", wrong)
    assert (code, out) == (2, "")
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("pgspec: cannot connect to ")
    assert "no_such_role_here" in lines[0] and "s3cret" not in err
    assert live_connection._connecting == {}


def test_a_spec_error_does_not_wait_for_the_early_connection(
    run: Run, db: str, tmp_path: Path
) -> None:
    import socket
    import time

    bad = tmp_path / "bad.yaml"
    bad.write_text("tables:\n  t:\n    columns: [\n")
    # A server that never answers: the TCP handshake completes (the listening socket's
    # backlog), then the connect waits its whole timeout for a reply that never comes.
    with socket.socket() as silent_server:
        silent_server.bind(("127.0.0.1", 0))
        silent_server.listen(8)
        port = silent_server.getsockname()[1]
        silent = f"host=127.0.0.1 port={port} dbname=x user=x connect_timeout=20"
        started = time.monotonic()
        code, out, err = run("verify", "--spec", bad, "--dsn", silent)
        assert (code, out) == (2, "")
        assert "bad.yaml" in err and str(port) not in err
        assert time.monotonic() - started < 5
        assert live_connection._connecting == {}
    # A reachable server's connection, opened for a spec that failed, is closed once open.
    code, _, err = run("verify", "--spec", bad, "--dsn", db)
    assert code == 2 and "bad.yaml" in err
    assert _sessions_drop_to_zero(db)
