"""What every part of the builder shares: the objects built so far, and the problems found.

Building is split by object family (build_types, build_tables, build_columns, ...), and each
family records into one BuildState: objects by kind, the per-schema namespaces of relations and
of types, the types used, the checks queued until every file is read, and every problem found at
its file:line. Kept apart from the families so that each can use it without importing the others,
and so that the rules "never raise, record" and "one name per namespace" live in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from pgspec.errors import PgspecError, Problem
from pgspec.normalize.types import canonical_type
from pgspec.quoting import qualified
from pgspec.spec import models as m
from pgspec.spec import names
from pgspec.spec.positions import Pos

_In = TypeVar("_In", bound=m.In)


def long_form(model: type[_In], **values: Any) -> _In:
    """The mapping form of a shorthand (``id: uuid`` is ``{type: uuid}``, ``rls: true`` is
    ``{enabled: true}``) from values that validating the file already checked. Constructed, not
    validated again: the input models build their validators on first use (``models.In``), and
    validating here would build a second one per model, outside the file's, on every load.

    Copied from one all-defaults instance per model rather than ``model_construct``-ed: the
    result is equal (same values, same ``model_fields_set``), at a fifth of the cost, which
    mattered once per table (``primary_key: [id]``, ``rls: true``). The defaults it shares are
    never mutated: input models are frozen and the builder only reads them.
    """
    return _defaults(model).model_copy(update=values)


@cache
def _defaults(model: type[_In]) -> _In:
    return model.model_construct()


#: Catalog attribute for each object kind the builder stores.
_ATTR = {
    "schema": "schemas",
    "extension": "extensions",
    "collation": "collations",
    "enum": "enums",
    "domain": "domains",
    "composite type": "composite_types",
    "sequence": "sequences",
    "table": "tables",
    "constraint": "constraints",
    "index": "indexes",
    "view": "views",
    "materialized view": "materialized_views",
    "function": "functions",
    "procedure": "functions",
    "aggregate": "aggregates",
    "trigger": "triggers",
    "policy": "policies",
}


class BuildState:
    """Accumulates one Catalog's objects from any number of files, and every problem found."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {attr: {} for attr in set(_ATTR.values())}
        self.externals: set[str] = set()
        self.problems: list[Problem] = []
        #: Checks that need every file: run by validate.run_checks.
        self.later: list[Callable[[], None]] = []
        #: (schema, name) of relations and of types, to catch two objects sharing a name.
        self.relations: dict[tuple[str, str], tuple[str, str]] = {}
        self.type_names: dict[tuple[str, str], tuple[str, str]] = {}
        #: Every non-builtin type a spec uses, and where (checked once all types are known).
        self.used_types: list[tuple[str, Pos]] = []

    def problem(self, pos: Pos, message: str, *, at_object: bool = False) -> None:
        self.problems.append(pos.object_problem(message) if at_object else pos.problem(message))

    def add(self, kind: str, obj: Any, pos: Pos) -> bool:
        """Store ``obj`` under its key; the same identity twice is an error naming both places."""
        store = self.objects[_ATTR[kind]]
        key = obj.key
        if key in store:
            first = store[key].location
            self.problem(pos, f"{kind} {key!r} is declared twice (first at {first})", at_object=True)
            return False
        store[key] = obj
        return True

    def claim(self, space: dict, schema: str, name: str, kind: str, pos: Pos, what: str) -> None:
        """Relations (and types) share one namespace per schema in PostgreSQL."""
        slot = (schema, name)
        if slot in space:
            other_kind, other_loc = space[slot]
            if other_kind == kind:
                return  # the same object twice: add() reports it with both places
            self.problem(
                pos,
                f"{kind} {qualified(schema, name)!r} has the same name as the {other_kind} at "
                f"{other_loc} ({what} names share one namespace per schema)",
                at_object=True,
            )
            return
        space[slot] = (kind, pos.location)

    def sql_ok(self, check: Callable[[], Any], pos: Pos, *keys: Any) -> bool:
        """Run ``check``; its problem is reported at ``pos.at(*keys)``.

        The keys are walked only when there is a problem: a large spec checks tens of thousands
        of fragments, and the position of each was a tenth of building its tables.
        """
        try:
            check()
        except PgspecError as exc:
            self.problem(pos.at(*keys), exc.problem.message)
            return False
        return True

    def type_of(self, text: str, schema: str, pos: Pos, *keys: Any) -> str | None:
        """The canonical type, remembered for the "does this type exist" check, which (like a
        problem here) is reported at ``pos.at(*keys)``: walked only for those, as in sql_ok."""
        try:
            canonical = canonical_type(text, schema)
        except PgspecError as exc:
            self.problem(pos.at(*keys), exc.problem.message)
            return None
        try:
            key = names.user_type_key(canonical)
        except Exception:  # pragma: no cover - canonical_type output always reparses
            key = None
        if key is not None:
            self.used_types.append((key, pos.at(*keys)))
        return canonical

    def reference(self, text: str, schema: str, pos: Pos) -> names.Reference | None:
        """A foreign key's target (``table`` or ``schema.table(col, ...)``), for a column's
        ``references`` and a table's ``foreign_keys`` alike."""
        try:
            return names.parse_reference(text, schema)
        except PgspecError as exc:
            self.problem(pos, exc.problem.message)
            return None
