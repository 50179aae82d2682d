"""Collations as spec entries, written the way CREATE COLLATION is usually written.

``provider`` only when it is not libc, ``locale`` (or a libc collation's two categories when
they differ), ``deterministic: false`` only for a nondeterministic one, and ICU ``rules`` when
there are some: what the server assumes is left out. A collation has an owner and no grants,
so its entry states an owner only when it differs from the spec's (``privileges: owner``).
"""

from __future__ import annotations

from typing import Any

from pgspec.catalog import Collation
from pgspec.inspect.write_state import WriteState
from pgspec.inspect.yamlout import Flow

__all__ = ["write_collation"]


def write_collation(w: WriteState, coll: Collation) -> None:
    entry: dict[str, Any] = {}
    if coll.provider != "libc":
        entry["provider"] = coll.provider
    if coll.locale is not None:
        entry["locale"] = coll.locale
    else:
        entry["lc_collate"] = coll.lc_collate
        entry["lc_ctype"] = coll.lc_ctype
    if not coll.deterministic:
        entry["deterministic"] = False
    if coll.rules is not None:
        entry["rules"] = coll.rules
    if coll.comment:
        entry["comment"] = coll.comment
    owner = w.catalog.owners.get(coll.key)
    if w.priv.managed and owner is not None and owner != w.priv.owner:
        entry["owner"] = owner
    w.schema_file[coll.schema_name].section("collations")[coll.name] = Flow(entry)
