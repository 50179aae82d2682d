"""Checks that need the whole spec: every file read, every object known.

A foreign key may point at a table in another file, a trigger at a function declared later, a
column at an enum from a shared file. These run after all files are built, so the order of
files never decides whether a spec is valid.
"""

from __future__ import annotations

from pgspec.quoting import qualified
from pgspec.spec import names
from pgspec.spec.build import Builder

#: Catalog attributes whose objects are types a column, argument or attribute may use.
_TYPE_KINDS = ("enums", "domains", "composite_types", "tables", "views", "materialized_views")

#: Types that common extensions create (from their install scripts), so a spec that declares
#: the extension may use them without listing them under ``external: types``.
EXTENSION_TYPES: dict[str, tuple[str, ...]] = {
    "citext": ("citext",),
    "hstore": ("hstore", "ghstore"),
    "ltree": ("ltree", "lquery", "ltxtquery", "ltree_gist"),
    "cube": ("cube",),
    "earthdistance": ("earth",),
    "seg": ("seg",),
    "isn": ("ean13", "isbn", "isbn13", "ismn", "ismn13", "issn", "issn13", "upc"),
    "lo": ("lo",),
    "pg_trgm": ("gtrgm",),
    "vector": ("vector", "halfvec", "sparsevec"),
    "postgis": ("geometry", "geography", "box2d", "box3d", "geometry_dump", "valid_detail"),
}


def _extension_types(builder: Builder) -> tuple[set[str], set[str], set[str]]:
    """(qualified types, bare type names valid in any schema, schemas whose types are open).

    An extension declared with a schema puts its types there; without one, the server picks
    the first schema of the search path, so its known types are accepted in any schema. An
    extension whose types pgspec does not know makes its declared schema's types acceptable.
    """
    qualified_types: set[str] = set()
    anywhere: set[str] = set()
    open_schemas: set[str] = set()
    for ext in builder.objects["extensions"].values():
        known = EXTENSION_TYPES.get(ext.name)
        if known is None:
            if ext.schema_name:
                open_schemas.add(ext.schema_name)
        elif ext.schema_name:
            qualified_types.update(qualified(ext.schema_name, t) for t in known)
        else:
            anywhere.update(known)
    return qualified_types, anywhere, open_schemas


def run_checks(builder: Builder) -> None:
    """Run the queued cross-file checks, then resolve every non-builtin type used."""
    for check in builder.later:
        check()
    known: set[str] = set(builder.externals)
    for attr in _TYPE_KINDS:
        known.update(builder.objects[attr])
    ext_types, anywhere, open_schemas = _extension_types(builder)
    known |= ext_types
    for key, pos in builder.used_types:
        if key in known:
            continue
        schema, name = names.user_type_parts(key) or ("", "")
        if name in anywhere or schema in open_schemas:
            continue
        builder.problem(
            pos,
            f"unknown type {key!r} (declare it in the spec, or list it under external: types)",
        )
