"""Reports where people read them: GitHub annotations on the spec line that declares a
drifting object, a markdown summary for the job summary or a pull-request comment, and text
coloured only for a person at a terminal. Drifts are made on real databases."""

from __future__ import annotations

import io
import os
import pty
from collections.abc import Callable
from pathlib import Path

import pytest

from pgspec.catalog import Difference
from pgspec.cli import main
from pgspec.report import render_report, use_color
from tests.fix_db import run_sql

SPEC = """\
tables:
  accounts:
    columns:
      id: {type: uuid, primary_key: true, default: gen_random_uuid()}
      name: {type: text, not_null: true}
      tier: {type: text, not_null: true, default: "'free'"}
      label: {type: text, default: "('a'::text || 'b'::text)"}
    rls: true
    policies:
      "Members: read, write":
        command: select
        roles: [authenticated]
        using: "name <> ''"
functions:
  account_count:
    returns: bigint
    language: plpgsql
    volatility: stable
    body: |
      BEGIN
          RETURN (SELECT count(*) FROM public.accounts);
      END
"""

DRIFT = """
ALTER TABLE public.accounts ALTER COLUMN tier SET DEFAULT 'pro';
ALTER TABLE public.accounts ALTER COLUMN label SET DEFAULT ('x'::text || 'y'::text);
ALTER POLICY "Members: read, write" ON public.accounts USING (true);
CREATE OR REPLACE FUNCTION public.account_count() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT count(*) + 1 FROM public.accounts);
END
$$;
CREATE TABLE public.tmp_import (id int);
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` containing ``needle``."""
    (line,) = [i for i, t in enumerate(text.splitlines(), start=1) if needle in t][:1]
    return line


@pytest.fixture
def drifted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_db: Callable[..., str],
            capsys: pytest.CaptureFixture[str]) -> str:
    """A database built from the spec (in ./schema, the working directory being tmp_path),
    then drifted: two defaults, a policy, a function body, an extra table."""
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "app.yaml").write_text(SPEC)
    dsn = make_db(stub=True)
    assert main(["render", "--spec", "schema"]) == 0
    run_sql(dsn, capsys.readouterr().out)
    run_sql(dsn, DRIFT)
    return dsn


def verify(dsn: str, fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["verify", "--spec", "schema", "--dsn", dsn, "--format", fmt])
    out, err = capsys.readouterr()
    assert (code, err) == (1, "")
    return out


# --------------------------------------------------------------------------- github


def test_github_annotations_point_at_the_declaring_spec_line(
    drifted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = verify(drifted, "github", capsys)
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    by_title = {}
    for line in errors:
        head, _, message = line.partition("::")[2].partition("::")
        props = dict(p.split("=", 1) for p in head.removeprefix("error").strip().split(",") if "=" in p)
        by_title[props.get("title", message.split("%0A")[0])] = (props, message)

    column = by_title["column public.accounts.tier%3A changed"][0]
    assert column["file"] == "schema/app.yaml"
    assert int(column["line"]) == line_of(SPEC, "      tier:")
    assert by_title["column public.accounts.tier%3A changed"][1] == "default: expected 'free', actual 'pro'::text"

    # The policy's name holds ':' and ',', which separate properties: escaped in the title.
    policy_title = 'policy public.accounts."Members%3A read%2C write"%3A changed'
    policy, message = by_title[policy_title]
    assert int(policy["line"]) == line_of(SPEC, '"Members: read, write":')
    assert message == "using: expected name <> '', actual true"

    function, message = by_title["function public.account_count()%3A changed"]
    assert int(function["line"]) == line_of(SPEC, "  account_count:")
    # A multi-line body becomes a line diff; the newlines are escaped as %0A.
    assert message.startswith("body differs:%0A")
    assert "%0A-    RETURN (SELECT count(*) FROM public.accounts);" in message
    assert "%0A+    RETURN (SELECT count(*) + 1 FROM public.accounts);" in message
    assert "\r" not in out

    # An unexpected table has no spec line: an annotation without a file.
    (unexpected,) = [line for line in errors if "tmp_import" in line]
    assert unexpected.startswith("::error::table public.tmp_import: unexpected%0Afound in postgresql://")
    assert out.splitlines()[-1].startswith("pgspec: 5 differences: 1 unexpected, 4 changed")


def test_github_escaping_of_data_and_properties() -> None:
    diff = Difference(object_type="column", name="public.t.c", change="changed", attribute="default",
                      expected="'100%'::text", actual="'a,b:c'::text", location="dir,x/a:b.yaml:7")
    out = render_report([diff], fmt="github", expected_label="s", actual_label="d")
    first = out.splitlines()[0]
    assert first == ("::error file=dir%2Cx/a%3Ab.yaml,line=7,title=column public.t.c%3A changed::"
                     "default: expected '100%25'::text, actual 'a,b:c'::text")


def test_github_relative_file_for_an_absolute_spec_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    diff = Difference(object_type="table", name="public.t", change="missing",
                      location=f"{tmp_path}/schema/app.yaml:3")
    out = render_report([diff], fmt="github", expected_label="s", actual_label="d")
    assert out.startswith("::error file=schema/app.yaml,line=3,title=table public.t%3A missing::")


# --------------------------------------------------------------------------- markdown


def test_markdown_summary_table(drifted: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = verify(drifted, "markdown", capsys)
    lines = out.splitlines()
    assert lines[0] == "### ❌ pgspec: drift"
    assert "**5 differences: 1 unexpected, 4 changed**" in lines
    header = lines.index("| Object | Change | Attribute | Expected | Actual | Location |")
    assert lines[header + 1] == "| --- | --- | --- | --- | --- | --- |"
    rows = [line for line in lines[header + 2:] if line.startswith("| ")]
    assert len(rows) == 5
    # Every row has the six cells (a pipe inside a value must not split a cell).
    assert all(row.count(" | ") == 5 for row in rows)
    tier_line = line_of(SPEC, "      tier:")
    assert (f"| column <code>public.accounts.tier</code> | changed | <code>default</code> | "
            f"<code>'free'</code> | <code>'pro'::text</code> | <code>schema/app.yaml:{tier_line}</code> |") in rows
    label = next(row for row in rows if "accounts.label" in row)
    assert "<code>('a'::text &#124;&#124; 'b'::text)</code>" in label
    assert "| table <code>public.tmp_import</code> | unexpected |  | absent | present |  |" in rows
    # A multi-line body is cut short in the table and shown in full as a diff below it.
    body = next(row for row in rows if "account_count" in row)
    assert "<code>BEGIN…</code>" in body
    details = out.split("<details><summary>public.account_count(): body in full</summary>", 1)[1]
    assert "```diff" in details and "+    RETURN (SELECT count(*) + 1 FROM public.accounts);" in details
    assert details.split("</details>")[0].count("```") == 2


def test_markdown_match_and_links_in_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    out = render_report([], fmt="markdown", expected_label="schema/", actual_label="fixtures/b.backup")
    assert out.splitlines()[0] == "### ✅ pgspec: no drift"
    assert "**No differences.**" in out and "| Object |" not in out
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/app")
    monkeypatch.setenv("GITHUB_SHA", "abc123")
    diff = Difference(object_type="table", name="public.t", change="missing", location="schema/app.yaml:3")
    out = render_report([diff], fmt="markdown", expected_label="schema/", actual_label="db")
    assert "[<code>schema/app.yaml:3</code>](https://github.com/acme/app/blob/abc123/schema/app.yaml#L3)" in out


def test_markdown_long_single_line_value_in_details() -> None:
    long = "lower(" * 20 + "x" + ")" * 20
    diff = Difference(object_type="index", name="public.i", change="changed", attribute="expression",
                      expected=long, actual="x")
    out = render_report([diff], fmt="markdown", expected_label="a", actual_label="b")
    row = next(line for line in out.splitlines() if line.startswith("| index"))
    assert len(row) < 200 and "…" in row
    assert f"```sql\n{long}\n```" in out


# --------------------------------------------------------------------------- text and colour


def test_text_groups_by_object_and_ends_with_a_summary(drifted: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = verify(drifted, "text", capsys)
    lines = out.splitlines()
    assert "\033[" not in out  # captured stdout is not a terminal
    at = lines.index(f"column public.accounts.tier: changed  (schema/app.yaml:{line_of(SPEC, '      tier:')})")
    assert lines[at + 1:at + 4] == ["  default:", "    - 'free'", "    + 'pro'::text"]
    assert lines[-1] == "5 differences: 1 unexpected, 4 changed"


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as terminal:
            assert use_color(terminal)
            monkeypatch.setenv("NO_COLOR", "1")
            assert not use_color(terminal)
            monkeypatch.delenv("NO_COLOR")
            monkeypatch.setenv("TERM", "dumb")
            assert not use_color(terminal)
    finally:
        os.close(master)
        os.close(slave)
    assert not use_color(io.StringIO())
    diff = Difference(object_type="table", name="public.t", change="missing")
    coloured = render_report([diff], fmt="text", expected_label="a", actual_label="b", color=True)
    assert "\033[31mtable public.t: missing\033[0m" in coloured


def test_hints_reach_annotations_and_the_summary() -> None:
    diff = Difference(object_type="view", name="public.v", change="changed", attribute="query",
                      expected="SELECT *", actual="SELECT a", location="schema/app.yaml:9",
                      hint="'*' is expanded by the server; try --dev-db")
    github = render_report([diff], fmt="github", expected_label="s", actual_label="d")
    assert github.splitlines()[0].endswith("::query: expected SELECT *, actual SELECT a%0Ahint: '*' is expanded "
                                           "by the server; try --dev-db")
    markdown = render_report([diff], fmt="markdown", expected_label="s", actual_label="d")
    assert "- <code>public.v</code> query: '*' is expanded by the server; try --dev-db" in markdown.splitlines()
