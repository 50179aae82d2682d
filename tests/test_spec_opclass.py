"""A spec's bare operator class of an extension compares equal to the database's qualified one.

People write ``opclass: gin_trgm_ops`` as they write it in SQL; the live reader (empty
search_path) reads ``public.gin_trgm_ops``, or ``extensions.gin_trgm_ops`` on Supabase. The
rendered DDL finds it along the search_path, so the two are the same index; the same name in a
schema the spec does not install extensions in, or another opclass, is still a difference.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fix_db import Run, run_sql
from tests.pgserver import Server

INDEX = """
tables:
  docs:
    columns: {title: text}
    indexes:
      docs_title_trgm: {columns: [{column: title, opclass: %s}], method: gin}
"""


def _spec(tmp_path: Path, extensions: str, opclass: str = "gin_trgm_ops") -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(extensions + INDEX % opclass)
    return path


@pytest.mark.parametrize("where", ["public", "extensions"])
def test_bare_extension_opclass_is_the_databases(any_pg: Server, make_db: Callable[..., str],
                                                 tmp_path: Path, run: Run, where: str) -> None:
    dsn = make_db(server=any_pg)
    run_sql(dsn, f"CREATE SCHEMA IF NOT EXISTS {where}; CREATE EXTENSION pg_trgm SCHEMA {where};"
                 f"SET search_path = public, {where};"
                 "CREATE TABLE docs (title text); CREATE INDEX docs_title_trgm ON docs USING gin (title gin_trgm_ops);")
    declared = "schemas: [extensions]\n" if where == "extensions" else ""
    spec = _spec(tmp_path, declared + f"extensions:\n  pg_trgm: {{schema: {where}}}\n")
    for argv in (("diff", spec, dsn), ("diff", dsn, spec)):
        code, out, _ = run(*argv)
        assert code == 0, out


def test_the_name_elsewhere_or_another_opclass_is_reported(any_pg: Server, make_db: Callable[..., str],
                                                           tmp_path: Path, run: Run) -> None:
    dsn = make_db(server=any_pg)
    run_sql(dsn, "CREATE SCHEMA hidden; CREATE EXTENSION pg_trgm SCHEMA hidden;"
                 "CREATE TABLE docs (title text);"
                 "CREATE INDEX docs_title_trgm ON docs USING gin (title hidden.gin_trgm_ops);")
    # The spec installs pg_trgm in public: hidden.gin_trgm_ops is not the one its DDL finds.
    spec = _spec(tmp_path, "extensions:\n  pg_trgm: {schema: public}\n")
    code, out, _ = run("diff", spec, dsn)
    assert code == 1
    assert "hidden.gin_trgm_ops" in out
    # Another opclass of the same extension is another index.
    spec = _spec(tmp_path, "schemas: [hidden]\nextensions:\n  pg_trgm: {schema: hidden}\n", "gin_trgm_ops")
    code, out, _ = run("diff", spec, dsn)
    assert code == 0, out
    run_sql(dsn, "DROP INDEX docs_title_trgm; CREATE INDEX docs_title_trgm ON docs USING gist (title hidden.gist_trgm_ops);")
    code, out, _ = run("diff", spec, dsn)
    assert code == 1
    assert "gist_trgm_ops" in out
