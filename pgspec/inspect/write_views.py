"""Views and materialized views as spec entries: a query, options and a comment.

Apart from tables because they share nothing of a table's shortening: the query is written as
the source holds it (as a ``|`` block when it spans lines), and only options and flags that
differ from what PostgreSQL assumes are said.
"""

from __future__ import annotations

from typing import Any

from pgspec.catalog import MaterializedView, View
from pgspec.inspect.write_state import WriteState, block
from pgspec.inspect.yamlout import Flow

#: View options that are booleans in the spec (the catalog holds reloptions as text).
_BOOLEAN_OPTIONS = ("security_invoker", "security_barrier")


def write_view(w: WriteState, view: View) -> None:
    entry: dict[str, Any] = {"query": block(view.query)}
    options: dict[str, Any] = {}
    for key, value in sorted(view.options.items()):
        options[key] = value == "true" if key in _BOOLEAN_OPTIONS else value
    if options:
        entry["options"] = Flow(options)
    if view.comment:
        entry["comment"] = view.comment
    entry.update(w.priv.extras("view", view.key, view.schema_name))
    w.schema_file[view.schema_name].section("views")[view.name] = entry


def write_matview(w: WriteState, mview: MaterializedView) -> None:
    entry: dict[str, Any] = {"query": block(mview.query)}
    if mview.with_data is False:
        entry["with_data"] = False
    if mview.comment:
        entry["comment"] = mview.comment
    entry.update(w.priv.extras("materialized_view", mview.key, mview.schema_name))
    w.schema_file[mview.schema_name].section("materialized_views")[mview.name] = entry
