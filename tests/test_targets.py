"""Verify against many targets at once, the progress line while a backup is read, and which
reader a file goes to (a dump by its content; any other file is a SQL script)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.errors import DumpError, SourceError, SqlError
from pgspec.targets import Target, parse_targets, targets_from_args
from tests.fix_db import ROOT, Run, run_sql
from tests.pgserver import dbname_of

SPEC = """\
tables:
  accounts:
    columns:
      id: {type: uuid, primary_key: true, default: gen_random_uuid()}
      tier: {type: text, not_null: true, default: "'free'"}
"""

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/x"
BACKUP = ROOT / "fixtures" / "db_cluster-20-10-2025@13-48-23.backup"



@pytest.fixture
def spec(tmp_path: Path) -> Path:
    directory = tmp_path / "schema"
    directory.mkdir()
    (directory / "app.yaml").write_text(SPEC)
    return directory


@pytest.fixture
def two_dbs(spec: Path, make_db: Callable[..., str], run: Run) -> tuple[str, str]:
    """One database that matches the spec and one that drifted (a changed default)."""
    code, ddl, _ = run("render", "--spec", spec)
    assert code == 0
    good, bad = make_db(), make_db()
    run_sql(good, ddl)
    run_sql(bad, ddl + "\nALTER TABLE accounts ALTER tier SET DEFAULT 'pro';")
    return good, bad


def rows(out: str) -> list[list[str]]:
    """The table rows of the text summary (header first), split on runs of spaces."""
    table = out.split("\n\n")[0].splitlines()
    return [line.split() for line in table if not line.startswith("  error:")]


# --------------------------------------------------------------------------- many targets


def test_match_drift_and_unreachable_exit_2_with_three_rows(spec: Path, two_dbs: tuple[str, str], run: Run) -> None:
    good, bad = two_dbs
    code, out, err = run("verify", "--spec", spec, "--dsn", good, "--dsn", bad, "--dsn", UNREACHABLE)
    assert (code, err) == (2, "")  # an unreadable target wins over a drifting one
    table = rows(out)
    assert table[0] == ["TARGET", "SOURCE", "STATUS", "MISSING", "UNEXPECTED", "CHANGED"]
    assert [r[2:] for r in table[1:]] == [["match", "0", "0", "0"], ["drift", "0", "0", "1"],
                                          ["error", "-", "-", "-"]]
    assert [r[0] for r in table[1:]][2] == "127.0.0.1/x"
    assert dbname_of(good) in table[1][1] and dbname_of(bad) in table[2][1]
    error_lines = [line for line in out.splitlines() if line.startswith("  error:")]
    assert len(error_lines) == 1 and "127.0.0.1" in error_lines[0]
    assert out.splitlines()[-1] == "3 targets: 1 match, 1 drift, 1 error"

    # Without the unreachable one: drift wins, exit 1.
    assert run("verify", "--spec", spec, "--dsn", good, "--dsn", bad)[0] == 1
    assert run("verify", "--spec", spec, "--dsn", good, "--dsn", good)[0] == 0


def test_json_has_a_targets_list(spec: Path, two_dbs: tuple[str, str], run: Run) -> None:
    good, bad = two_dbs
    code, out, _ = run("verify", "--spec", spec, "--dsn", good, "--dsn", bad, "--dsn", UNREACHABLE,
                       "--format", "json")
    data = json.loads(out)
    assert code == 2
    assert (data["status"], data["summary"]) == ("error", {"match": 1, "drift": 1, "error": 1})
    assert [t["status"] for t in data["targets"]] == ["match", "drift", "error"]
    drift = data["targets"][1]
    assert drift["summary"] == {"missing": 0, "unexpected": 0, "changed": 1}
    assert drift["differences"][0]["name"] == "public.accounts.tier"
    assert drift["differences"][0]["location"].startswith(str(spec / "app.yaml") + ":")
    error = data["targets"][2]
    assert error["source"] == "postgresql://nobody@127.0.0.1:1/x" and error["error"]
    assert error["differences"] == []


def test_targets_file(spec: Path, two_dbs: tuple[str, str], run: Run, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad = two_dbs
    monkeypatch.setenv("BAD_DSN", bad)
    (tmp_path / "backups").mkdir()
    backup = tmp_path / "backups" / "nightly.backup"
    backup.write_bytes(BACKUP.read_bytes())
    targets = tmp_path / "targets.txt"
    targets.write_text(
        "# name   DSN or backup path\n"
        f"staging  {good}\n"
        "\n"
        "   # production comes from a CI secret\n"
        "prod     ${BAD_DSN}\n"
        "nightly  backups/nightly.backup\n"  # relative to the targets file
    )
    code, out, _ = run("verify", "--spec", spec, "--targets", targets)
    assert code == 1
    table = rows(out)
    assert [(r[0], r[2]) for r in table[1:]] == [("staging", "match"), ("prod", "drift"), ("nightly", "drift")]
    assert table[3][1] == str(backup)

    code, out, _ = run("verify", "--spec", spec, "--targets", targets, "--format", "markdown")
    assert out.splitlines()[0] == "### ❌ pgspec: 3 targets: 1 match, 2 drift"
    assert "| staging | <code>" in out and "✅ match" in out


def test_targets_file_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    bad = tmp_path / "targets"
    for text, message in (
        ("lonely\n", r"targets:1: expected 'name  DSN-or-path', got 'lonely'"),
        ("a  $NOT_SET_ANYWHERE\n", r"targets:1: environment variable 'NOT_SET_ANYWHERE' is not set"),
        ("a  x.backup\na  y.backup\n", r"targets:2: target 'a' is named twice \(first on line 1\)"),
        ("# nothing\n", r"no targets in file"),
    ):
        bad.write_text(text)
        with pytest.raises(SourceError, match=message):
            parse_targets(bad)
    with pytest.raises(SourceError, match="targets file not found"):
        parse_targets(tmp_path / "missing")
    bad.write_text("a  host=h dbname=d password=x$$y\n")
    assert parse_targets(bad) == [Target("a", "host=h dbname=d password=x$y")]


def test_names_of_command_line_targets() -> None:
    names = [t.name for t in targets_from_args(
        ["postgresql://u:secret@db1:5432/app", "postgresql://u@db1/app", "dumps/a.backup"])]
    assert names == ["db1/app", "db1/app#2", "a.backup"]


def test_single_target_output_is_unchanged(spec: Path, two_dbs: tuple[str, str], run: Run) -> None:
    _, bad = two_dbs
    code, out, _ = run("verify", "--spec", spec, "--dsn", bad)
    assert code == 1
    assert out.splitlines()[0] == f"--- expected: {spec}"
    assert out.splitlines()[-1] == "1 difference: 1 changed"


def test_error_output_never_shows_a_password(spec: Path, run: Run) -> None:
    code, out, _ = run("verify", "--spec", spec, "--dsn", "postgresql://u:s3cret@127.0.0.1:1/x",
                       "--dsn", "postgresql://v:s3cret@127.0.0.1:1/y", "--format", "json")
    assert code == 2 and "s3cret" not in out


# --------------------------------------------------------------------------- progress


def _run_with_stderr_on_a_pty(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run pgspec with stderr on a pseudo-terminal (stdout a pipe): code, stdout, terminal text."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pgspec", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    assert proc.stdout is not None
    with proc.stdout:
        out = proc.stdout.read().decode()
    code = proc.wait()
    os.close(master)
    return code, out, seen.decode(errors="replace")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS", "NO_COLOR")}
    env["TERM"] = "xterm"
    env.update(extra)
    return env


def test_progress_on_a_terminal_only(tmp_path: Path) -> None:
    argv = ["verify", "--backup", str(BACKUP)]
    size_mb = f"{BACKUP.stat().st_size / 1024 / 1024:.1f}"
    code, out, terminal = _run_with_stderr_on_a_pty(argv, _env())
    assert code == 0 and out.splitlines()[-1] == "no differences"
    assert f"reading: {size_mb} / {size_mb} MB (100%)" in terminal
    assert terminal.endswith("\r\x1b[K")  # erased when reading ends
    assert "\r" not in out  # the report on stdout is never mixed with it

    # In CI, even on a terminal: nothing.
    code, _, terminal = _run_with_stderr_on_a_pty(argv, _env(CI="true"))
    assert (code, terminal) == (0, "")
    # stderr not a terminal (a pipe, a log): nothing.
    done = subprocess.run([sys.executable, "-m", "pgspec", *argv], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")


def test_progress_line_rate_and_throttle() -> None:
    import io

    from pgspec.progress import Progress

    now = [10.0]
    out = io.StringIO()
    progress = Progress("reading", out, clock=lambda: now[0])
    mb = 1024 * 1024
    progress(1 * mb, 100 * mb)  # first chunk: no rate yet
    now[0] += 0.05
    progress(2 * mb, 100 * mb)  # too soon: not drawn
    now[0] += 0.95
    progress(51 * mb, 100 * mb)
    progress.close()
    assert out.getvalue().split("\r\033[K") == [
        "", "reading: 1.0 / 100.0 MB (1%)", "reading: 51.0 / 100.0 MB (51%), 50.0 MB/s", ""]


def test_progress_counts_compressed_bytes_of_a_gzipped_backup(tmp_path: Path) -> None:
    import gzip

    from pgspec.sources.dump import read_statements

    packed = tmp_path / "b.backup.gz"
    packed.write_bytes(gzip.compress(BACKUP.read_bytes()))
    calls: list[tuple[int, int | None]] = []
    list(read_statements(packed, progress=lambda done, total: calls.append((done, total))))
    assert calls and calls[-1] == (packed.stat().st_size, packed.stat().st_size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# --------------------------------------------------------------------------- sources


def test_plain_sql_goes_to_the_script_reader(tmp_path: Path) -> None:
    from pgspec.sources import open_source

    script = tmp_path / "init.backup"  # the suffix does not decide; the content does
    script.write_text("CREATE SCHEMA auth;\nCREATE TABLE auth.sessions (id int);\nCREATE TABLE public.t (id int);\n")
    catalog = open_source(str(script))
    # A script keeps every schema it creates (a dump would leave Supabase's auth out).
    assert {"auth.sessions", "public.t"} <= set(catalog.tables)

    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE ok (id int);\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1;\n")
    with pytest.raises(SqlError) as caught:
        open_source(str(broken))
    assert not isinstance(caught.value, DumpError)
    assert (caught.value.file, caught.value.line) == (str(broken), 2)


def test_a_dump_named_sql_goes_to_the_dump_reader(tmp_path: Path) -> None:
    from pgspec.sources import open_source

    dump = tmp_path / "backup.sql"
    dump.write_bytes(BACKUP.read_bytes())
    catalog = open_source(str(dump))
    assert catalog.tables and not any(key.startswith("auth.") for key in catalog.tables)
