"""Checks that need the whole spec: every file read, every object known.

A foreign key may point at a table in another file, a trigger at a function declared later, a
column at an enum from a shared file. These run after all files are built, so the order of
files never decides whether a spec is valid.
"""

from __future__ import annotations

from pgspec.spec.build import Builder

#: Catalog attributes whose objects are types a column, argument or attribute may use.
_TYPE_KINDS = ("enums", "domains", "composite_types", "tables", "views", "materialized_views")


def run_checks(builder: Builder) -> None:
    """Run the queued cross-file checks, then resolve every non-builtin type used."""
    for check in builder.later:
        check()
    known: set[str] = set(builder.externals)
    for attr in _TYPE_KINDS:
        known.update(builder.objects[attr])
    for key, pos in builder.used_types:
        if key not in known:
            builder.problem(
                pos,
                f"unknown type {key!r} (declare it in the spec, or list it under external: types)",
            )
