"""``pgspec render --check``: the committed scripts equal what the spec renders (exit 0), or a
unified diff and exit 1; and the files ``render`` writes get ordinary permissions."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgspec.render import SPLIT_FILES
from tests.fix_db import ROOT, Run

SPEC = """\
tables:
  accounts:
    columns:
      id: {type: uuid, primary_key: true, default: gen_random_uuid()}
      tier: {type: text, not_null: true, default: "'free'"}
"""



@pytest.fixture
def spec(tmp_path: Path) -> Path:
    directory = tmp_path / "schema"
    directory.mkdir()
    (directory / "app.yaml").write_text(SPEC)
    return directory


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_check_split_match_then_drift(run: Run, spec: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "migrations"
    assert run("render", "--spec", spec, "--split", out_dir)[0] == 0
    code, out, err = run("render", "--spec", spec, "--split", out_dir, "--check")
    assert (code, out, err) == (0, f"3 files match the spec {spec}\n", "")

    # Someone edits a generated script by hand.
    script = out_dir / SPLIT_FILES[0]
    before = script.read_text()
    edited = before.replace("'free'", "'pro'")
    assert edited != before
    script.write_text(edited)
    mtime = script.stat().st_mtime_ns
    code, out, err = run("render", "--spec", spec, "--split", out_dir, "--check")
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0] == f"--- {script.as_posix()}"
    assert lines[1] == f"+++ {script.as_posix()} (rendered from {spec})"
    assert lines[2].startswith("@@ ")
    assert [line for line in lines if line.startswith(("-", "+")) and line[:3] not in ("---", "+++")] == [
        next(f"-{line}" for line in edited.splitlines() if "'pro'" in line),
        next(f"+{line}" for line in before.splitlines() if "'free'" in line),
    ]
    assert lines[-1] == (f"1 of 3 files differ from the spec {spec}: run "
                         f"`pgspec render --spec {spec} --split {out_dir}` and commit the result")
    # --check writes nothing.
    assert script.read_text() == edited and script.stat().st_mtime_ns == mtime


def test_check_a_missing_script(run: Run, spec: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "migrations"
    assert run("render", "--spec", spec, "--split", out_dir)[0] == 0
    (out_dir / SPLIT_FILES[1]).unlink()
    code, out, _ = run("render", "--spec", spec, "--split", out_dir, "--check")
    assert code == 1
    assert f"--- {(out_dir / SPLIT_FILES[1]).as_posix()} (missing)" in out.splitlines()
    assert not (out_dir / SPLIT_FILES[1]).exists()


def test_check_single_file_with_output(run: Run, spec: Path, tmp_path: Path) -> None:
    target = tmp_path / "init.sql"
    code, out, _ = run("render", "--spec", spec, "--output", target)
    assert (code, out) == (0, "")
    assert target.read_text() == run("render", "--spec", spec)[1]
    assert run("render", "--spec", spec, "--output", target, "--check")[:2] == (
        0, f"1 file matches the spec {spec}\n")
    target.write_text(target.read_text().rstrip("\n"))  # the last newline lost
    code, out, _ = run("render", "--spec", spec, "--output", target, "--check")
    assert code == 1
    assert "\\ No newline at end of file" in out
    assert out.splitlines()[-1].startswith("1 of 1 file differs from the spec")


def test_check_needs_files_to_check(run: Run, spec: Path, tmp_path: Path) -> None:
    code, out, err = run("render", "--spec", spec, "--check")
    assert (code, out) == (2, "")
    assert err == "pgspec: render --check needs the files to check: --split DIR or --output FILE\n"
    code, _, err = run("render", "--spec", spec, "--split", tmp_path / "a", "--output", tmp_path / "b")
    assert code == 2 and "not allowed with" in err


def test_committed_init_scripts_pass_the_check(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """What CI and the pre-commit hook run on this repository."""
    monkeypatch.chdir(ROOT)
    code, out, _ = run("render", "--check", "--split", "supabase/migrations")
    assert (code, out) == (0, "3 files match the spec schema/\n"), out


def test_written_scripts_get_the_usual_mode(run: Run, spec: Path, tmp_path: Path, umask_022: None) -> None:
    out_dir = tmp_path / "migrations"
    assert run("render", "--spec", spec, "--split", out_dir)[0] == 0
    single = tmp_path / "init.sql"
    assert run("render", "--spec", spec, "--output", single)[0] == 0
    for path in [*(out_dir / name for name in SPLIT_FILES), single]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(SPLIT_FILES)  # no temporary left
