"""The CI files users copy: every ``pgspec`` command they run parses with the real argument
parser, the workflow has the shape the drift check needs, and its main job's steps, run here as
GitHub would run them (bash, same commands), pass against a real server."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pgspec.cli import build_parser
from pgspec.render import SPLIT_FILES
from tests.fix_db import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "drift.yml"
ACTION = ROOT / "action.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
BACKUP = "fixtures/db_cluster-20-10-2025@13-48-23.backup"

#: Values the shell variables of the CI files stand for when their commands are parsed.
SAMPLE_VALUES = {
    "DATABASE_URL": "postgresql://postgres:postgres@localhost:5432/postgres",
    "PGSPEC_DSN": "postgresql://ci@db.example.com:5432/app",
    "INPUT_SPEC": "schema/",
    "INPUT_DSN": "postgresql://ci@db.example.com:5432/app",
    "INPUT_BACKUP": BACKUP,
    "GITHUB_STEP_SUMMARY": "/tmp/summary.md",
}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow: dict[str, Any]) -> Any:
    """The ``on:`` key, which YAML 1.1 (PyYAML) reads as the boolean True."""
    return workflow.get("on", workflow.get(True))


def pgspec_commands(script: str, values: dict[str, str]) -> Iterator[list[str]]:
    """The argument lists of every ``pgspec`` command in a shell script, shell variables
    replaced by ``values`` (an unknown variable fails the test: a typo in a CI file)."""
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        for start, token in enumerate(tokens):
            if token != "pgspec":
                continue
            argv: list[str] = []
            for word in tokens[start + 1:]:
                if set(word) <= set("();<>|&"):
                    break
                if word.startswith("$"):
                    name = word.strip("${}")
                    assert name in values, f"unknown variable {word!r} in: {line.strip()}"
                    word = values[name]
                argv.append(word)
            yield argv


def parse(argv: list[str]) -> Any:
    """The real parser's namespace; argparse's exit on a bad command fails the test."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"pgspec {shlex.join(argv)} does not parse (exit {exc.code})")


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def runs(job: dict[str, Any]) -> list[str]:
    return [step.get("run", "") for step in steps_of(job)]


# --------------------------------------------------------------------------- the workflow


def test_every_pgspec_command_of_the_workflow_parses() -> None:
    workflow = load(WORKFLOW)
    parsed = [
        parse(argv)
        for job in workflow["jobs"].values()
        for script in runs(job)
        for argv in pgspec_commands(script, SAMPLE_VALUES)
    ]
    assert len(parsed) >= 7
    assert {args.command for args in parsed} == {"verify", "render"}


def test_workflow_runs_on_pull_requests_with_a_postgres_17_service() -> None:
    workflow = load(WORKFLOW)
    assert "pull_request" in triggers(workflow)
    job = workflow["jobs"]["drift"]
    assert job["services"]["postgres"]["image"] == "postgres:17"
    assert "5432:5432" in job["services"]["postgres"]["ports"]
    assert "pg_isready" in job["services"]["postgres"]["options"]


def test_workflow_steps_in_order() -> None:
    job = load(WORKFLOW)["jobs"]["drift"]
    scripts = runs(job)

    def first(predicate: Callable[[str], bool]) -> int:
        found = [i for i, s in enumerate(scripts) if predicate(s)]
        assert found, "step not found"
        return found[0]

    checkout = next(i for i, s in enumerate(steps_of(job)) if s.get("uses", "").startswith("actions/checkout"))
    install = first(lambda s: "pip install" in s)
    load_step = first(lambda s: "psql" in s)
    commands = [(i, parse(argv)) for i, s in enumerate(scripts) for argv in pgspec_commands(s, SAMPLE_VALUES)]
    verify_dsn = min(i for i, a in commands if a.command == "verify" and a.dsn)
    check = min(i for i, a in commands if a.command == "render" and a.check)
    verify_backup = min(i for i, a in commands if a.command == "verify" and a.backup)
    assert checkout < install < load_step < verify_dsn < check < verify_backup

    # The stand-in first, then the three init scripts in the order they are applied.
    loaded = scripts[load_step]
    positions = [loaded.index(name) for name in ("fixtures/supabase_stub.sql", *SPLIT_FILES)]
    assert positions == sorted(positions)
    assert "ON_ERROR_STOP=1" in loaded
    for path in ("fixtures/supabase_stub.sql", BACKUP, *(f"supabase/migrations/{n}" for n in SPLIT_FILES)):
        assert (ROOT / path).is_file(), path

    (args,) = [a for i, a in commands if a.command == "render"]
    assert args.split == "supabase/migrations"
    assert next(a.backup for _, a in commands if a.command == "verify" and a.backup) == [BACKUP]
    # Annotations in the log, the markdown report in the job summary.
    assert {a.format for _, a in commands if a.command == "verify"} == {"github", "markdown"}
    assert all('>> "$GITHUB_STEP_SUMMARY"' in s for s in scripts if "--format markdown" in s)


def test_real_environment_job_is_skipped_without_the_secret() -> None:
    jobs = load(WORKFLOW)["jobs"]
    check, env_job = jobs["environment-configured"], jobs["environment"]
    # Secrets are not allowed in a job-level `if`: a job maps it to an env var and says
    # whether it is set in an output, which the environment job's `if` reads.
    assert check["env"]["PGSPEC_DSN"] == "${{ secrets.PGSPEC_DSN }}"
    assert "secrets" not in str(env_job.get("if", ""))
    assert env_job["needs"] == "environment-configured"
    assert env_job["if"] == "needs.environment-configured.outputs.configured == 'true'"
    assert check["outputs"]["configured"] == "${{ steps.check.outputs.configured }}"
    (check_step,) = check["steps"]
    assert check_step["id"] == "check" and '[ -n "$PGSPEC_DSN" ]' in check_step["run"]
    commands = [parse(argv) for s in runs(env_job) for argv in pgspec_commands(s, SAMPLE_VALUES)]
    assert commands and all(a.dsn == [SAMPLE_VALUES["PGSPEC_DSN"]] for a in commands)


def test_check_step_really_decides(tmp_path: Path) -> None:
    """The secret check's script, run by bash with and without the variable."""
    (step,) = load(WORKFLOW)["jobs"]["environment-configured"]["steps"]
    for value, expected in (("postgresql://u@h/db", "configured=true\n"), ("", "")):
        output = tmp_path / f"out{len(value)}"
        output.write_text("")
        env = {**os.environ, "PGSPEC_DSN": value, "GITHUB_OUTPUT": str(output)}
        subprocess.run(["bash", "-e", "-c", step["run"]], env=env, check=True, capture_output=True)
        assert output.read_text() == expected


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_drift_job_steps_pass_against_a_real_server(make_db: Callable[..., str], tmp_path: Path) -> None:
    """The drift job's run steps, as bash runs them on GitHub, against a fresh database of the
    test server standing in for the postgres:17 service."""
    dsn = make_db()
    summary = tmp_path / "summary.md"
    bindir = Path(sys.executable).parent
    env = {**os.environ, "DATABASE_URL": dsn, "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("NO_COLOR", None)
    job = load(WORKFLOW)["jobs"]["drift"]
    for step in steps_of(job):
        script = step.get("run")
        if not script or "pip install" in script:
            continue
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"step {step.get('name')!r} failed:\n{done.stdout}\n{done.stderr}"
        assert "::error" not in done.stdout
    report = summary.read_text()
    assert report.count("### ✅ pgspec: no drift") == 2  # the database and the backup


# --------------------------------------------------------------------------- action and hooks


def test_action_is_a_composite_with_inputs_and_a_status_output() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {"spec", "dsn", "backup", "format"} <= set(action["inputs"])
    assert action["inputs"]["spec"]["default"] == "schema/"
    assert action["outputs"]["status"]["value"] == "${{ steps.verify.outputs.status }}"
    verify = next(s for s in action["runs"]["steps"] if s.get("id") == "verify")
    assert all(s.get("shell") == "bash" for s in action["runs"]["steps"] if "run" in s)
    values = {**SAMPLE_VALUES, "INPUT_FORMAT": action["inputs"]["format"]["default"]}
    parsed = [parse(argv) for argv in pgspec_commands(verify["run"], values)]
    assert {("dsn" if a.dsn else "backup") for a in parsed} == {"dsn", "backup"}
    assert all(a.spec == "schema/" for a in parsed)
    for fmt in ("text", "json", "github", "markdown"):  # every format the input may name
        assert parse(["verify", "--dsn", "x", "--format", fmt]).format == fmt
    for status in ("match", "drift", "error"):
        assert f"status={status}" in verify["run"]


def test_action_step_sets_the_status_output(tmp_path: Path) -> None:
    """The verify step's script, run by bash on the fixture backup (offline): match, and
    error for a backup that does not exist."""
    verify = next(s for s in load(ACTION)["runs"]["steps"] if s.get("id") == "verify")
    bindir = Path(sys.executable).parent
    for backup, code, status in ((BACKUP, 0, "match"), ("nowhere.backup", 2, "error")):
        output, summary = tmp_path / "output", tmp_path / "summary.md"
        output.write_text("")
        env = {**os.environ, "INPUT_SPEC": "schema/", "INPUT_DSN": "", "INPUT_BACKUP": backup,
               "INPUT_FORMAT": "github", "INPUT_SUMMARY": "true", "GITHUB_OUTPUT": str(output),
               "GITHUB_STEP_SUMMARY": str(summary), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(["bash", "-e", "-c", verify["run"]], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == code, done.stdout + done.stderr
        assert output.read_text() == f"status={status}\n"


def test_pre_commit_hook_runs_render_check() -> None:
    (hook,) = load(HOOKS)
    assert hook["id"] == "pgspec-render-check"
    assert hook["pass_filenames"] is False and hook["language"] == "python"
    argv = shlex.split(hook["entry"])
    assert argv[0] == "pgspec"
    args = parse(argv[1:] + list(hook["args"]))
    assert (args.command, args.check, args.split) == ("render", True, "supabase/migrations")
