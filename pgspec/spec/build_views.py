"""Views and materialized views: a name, a query and options, checked to parse.

Apart from tables because they have nothing of a table's machinery: the query is kept as
written (comparing it by meaning is the differ's job, not the builder's), and only checked to
be one SELECT that PostgreSQL's parser accepts.
"""

from __future__ import annotations

from pgspec.catalog import MaterializedView, View
from pgspec.spec import models as m
from pgspec.spec import sqlcheck
from pgspec.spec.build_state import BuildState
from pgspec.spec.positions import Pos


def build_view(b: BuildState, schema: str, name: str, spec: m.ViewIn, pos: Pos) -> None:
    b.claim(b.relations, schema, name, "view", pos, "relation")
    b.claim(b.type_names, schema, name, "view", pos, "type")
    b.sql_ok(lambda: sqlcheck.check_query(spec.query), pos, "query")
    options: dict[str, str] = {}
    for key, value in spec.options.model_dump(exclude_none=True).items():
        options[key] = ("true" if value else "false") if isinstance(value, bool) else value
    obj = View(
        schema=schema, name=name, query=spec.query, options=options, columns=spec.columns,
        comment=spec.comment, location=pos.location,
    )
    b.add("view", obj, pos)


def build_matview(b: BuildState, schema: str, name: str, spec: m.MaterializedViewIn, pos: Pos) -> None:
    b.claim(b.relations, schema, name, "materialized view", pos, "relation")
    b.claim(b.type_names, schema, name, "materialized view", pos, "type")
    b.sql_ok(lambda: sqlcheck.check_query(spec.query), pos, "query")
    obj = MaterializedView(
        schema=schema, name=name, query=spec.query, with_data=spec.with_data, columns=spec.columns,
        comment=spec.comment, location=pos.location,
    )
    b.add("materialized view", obj, pos)

