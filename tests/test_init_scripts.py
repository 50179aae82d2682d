"""The team's three init scripts are generated from schema/, and they build that schema.

supabase/migrations/00_init_*.sql are what the team runs for a new installation (seed:
"Migration Strategy"). They must never drift from the spec they are rendered from, and they must
apply with ``psql -v ON_ERROR_STOP=1`` in order, on every supported major version, after what
Supabase provides (the stand-in fixtures/supabase_stub.sql).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pgspec.diff import diff
from pgspec.render import SPLIT_FILES, render_split
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from tests.pgserver import Server

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "schema"
MIGRATIONS = ROOT / "supabase" / "migrations"


def test_committed_scripts_equal_what_the_spec_renders() -> None:
    rendered = render_split(load_spec(str(SPEC)))
    assert list(rendered) == list(SPLIT_FILES)
    for name, text in rendered.items():
        committed = (MIGRATIONS / name).read_text(encoding="utf-8")
        assert committed == text, (
            f"supabase/migrations/{name} differs from the spec: "
            "run `pgspec render --split supabase/migrations` and commit the result"
        )


def test_scripts_apply_in_order_and_read_back_as_the_spec(
    any_pg: Server, make_db: Callable[..., str]
) -> None:
    dsn = make_db(stub=True, server=any_pg)
    any_pg.psql_file(dsn, *(MIGRATIONS / name for name in SPLIT_FILES))
    spec = load_spec(str(SPEC))
    live = introspect(dsn, schemas=["public"])
    assert diff(spec, live, schemas=["public"]) == []
