"""Property-based tests: whatever valid spec hypothesis invents, pgspec tells the truth about it.

* A random spec (tables with columns of many types, defaults, keys, checks, unique constraints,
  indexes, a view; names that need quoting half the time) renders to DDL the server accepts,
  and reading that database back gives zero differences from the spec.
* After one random change to that database (a column added, dropped or renamed, a default or
  NOT NULL changed, an index or view dropped, RLS enabled, a comment, a new table), the
  comparison is never empty.

Each example gets a database of its own on the ``pg`` server. A failure prints the falsifying
spec (as YAML) and mutation, and a blob to replay it (``print_blob=True``).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from pgspec.catalog import Catalog
from pgspec.diff import diff
from pgspec.render import render
from pgspec.sources import reader_schemas
from pgspec.sources.live import introspect
from pgspec.sources.spec import load_spec
from tests.fix_db import run_sql
from tests.strategies import Generated, mutations, specs

#: 15 examples keep the suite fast; PGSPEC_HYPOTHESIS_EXAMPLES=500 hunts harder.
# Hypothesis imports libcst to suggest a patch when a test fails; libcst uses the deprecated
# mypy_extensions.TypedDict, and under ``filterwarnings = error`` that warning would replace
# the falsifying example with an INTERNALERROR. Import it now, with that warning ignored.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import libcst.metadata.type_inference_provider  # noqa: F401

SETTINGS = settings(max_examples=int(os.environ.get("PGSPEC_HYPOTHESIS_EXAMPLES", "15")), deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _load(generated: Generated) -> Catalog:
    text = yaml.safe_dump(generated.spec, allow_unicode=True, sort_keys=False)
    note(f"spec:\n{text}")
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text, encoding="utf-8")
        return load_spec(path)


def _build(make_db: Callable[..., str], spec: Catalog) -> tuple[str, list[str]]:
    dsn = make_db()
    run_sql(dsn, render(spec))
    return dsn, sorted(reader_schemas(spec))


def _differences(spec: Catalog, live: Catalog) -> list[str]:
    return [f"{d.object_type} {d.name} {d.change} {d.attribute}: {d.expected!r} != {d.actual!r}"
            for d in diff(spec, live)]


@SETTINGS
@given(generated=specs())
def test_random_specs_round_trip_with_no_differences(make_db: Callable[..., str],
                                                     generated: Generated) -> None:
    spec = _load(generated)
    dsn, schemas = _build(make_db, spec)
    assert _differences(spec, introspect(dsn, schemas=schemas)) == []


@SETTINGS
@given(data=st.data(), generated=specs())
def test_a_single_mutation_is_always_reported(make_db: Callable[..., str], data: st.DataObject,
                                              generated: Generated) -> None:
    spec = _load(generated)
    dsn, schemas = _build(make_db, spec)
    mutation = data.draw(mutations(generated), label="mutation")
    run_sql(dsn, mutation.sql)
    assert _differences(spec, introspect(dsn, schemas=schemas)) != [], f"not reported: {mutation}"
