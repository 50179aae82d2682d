"""An extension's comment is compared only where both sides know it.

``CREATE EXTENSION`` takes the comment from the extension's control file, which only the
server reads: a script replayed offline cannot know it, and a spec that states none leaves it
open. Reporting "extension citext changed comment" for every script that creates an extension
(as ``pgspec diff DSN script.sql`` did for 9 of the conformance corpora's cases) would teach
users to skip the report; a comment someone changed must still be found.
"""

from __future__ import annotations

from pathlib import Path

from tests.fix_db import Run, run_sql

CREATE = "CREATE EXTENSION citext;\nCREATE TABLE t (name citext);\n"


def _script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "init.sql"
    path.write_text(text)
    return path


def test_a_script_does_not_know_the_control_files_comment(db: str, tmp_path: Path, run: Run) -> None:
    run_sql(db, CREATE)
    script = _script(tmp_path, CREATE)
    for argv in (("diff", db, script), ("diff", script, db)):
        code, out, err = run(*argv)
        assert (code, err) == (0, ""), out
        assert "no differences" in out


def test_a_comment_the_script_sets_is_compared(db: str, tmp_path: Path, run: Run) -> None:
    run_sql(db, CREATE)
    script = _script(tmp_path, CREATE + "COMMENT ON EXTENSION citext IS 'case-blind text';\n")
    for argv in (("diff", db, script), ("diff", script, db)):
        code, out, _ = run(*argv)
        assert code == 1
        assert "extension citext: changed" in out
        assert "case-blind text" in out


def test_a_comment_removed_on_the_server_is_compared_with_the_spec(db: str, tmp_path: Path, run: Run) -> None:
    run_sql(db, CREATE + "COMMENT ON EXTENSION citext IS NULL;\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "extensions:\n  citext:\n    schema: public\n    comment: data type for case-insensitive character strings\n"
        "tables:\n  t:\n    columns:\n      name: citext\n"
    )
    code, out, _ = run("diff", db, spec)
    assert code == 1
    assert "extension citext: changed" in out
    # A spec that states no comment leaves it open.
    spec.write_text("extensions:\n  citext:\n    schema: public\ntables:\n  t:\n    columns:\n      name: citext\n")
    code, out, _ = run("diff", db, spec)
    assert code == 0, out
