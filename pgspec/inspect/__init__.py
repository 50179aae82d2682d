"""``pgspec inspect``: any source back to a YAML spec, in the format people write by hand.

The written spec is checked before it is returned: it is loaded with the real spec loader
and diffed against the catalog it came from. A trait is kept on a table only when that diff
is empty for everything the trait touches, so expanding it reproduces the table exactly; any
other difference is a pgspec bug and is reported in ``notes`` (the CLI prints them), never
hidden.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgspec.catalog import Catalog, Difference
from pgspec.errors import SourceError, SpecError
from pgspec.files import write_files
from pgspec.inspect import traits as trait_rules
from pgspec.inspect.writer import GROUP_SIZE, SHARED_FILE, SpecFile, Writer, Written
from pgspec.inspect.yamlout import dump

__all__ = ["Inspection", "inspect_catalog", "inspect_source", "scope_catalog", "write_spec"]


@dataclass(frozen=True)
class Inspection:
    """The spec written for one catalog: YAML text by file name, and what it could not say."""

    files: dict[str, str]
    notes: list[str]

    def stream(self) -> str:
        """Every file as one YAML stream (``---`` between files), for stdout."""
        if len(self.files) == 1:
            return next(iter(self.files.values()))
        parts = [f"# file: {name}\n{text}" for name, text in self.files.items()]
        return "---\n".join(parts)


def scope_catalog(catalog: Catalog, schemas: Collection[str] | None = None) -> Catalog:
    """The catalog limited to ``schemas``; by default every schema except the system's and
    Supabase's internal ones (the scope ``pgspec diff`` compares without a spec)."""
    from pgspec.catalog import KINDS
    from pgspec.sources import SUPABASE_INTERNAL_SCHEMAS, is_system_schema

    def keep(schema: str | None) -> bool:
        if schema is None:
            return True
        if schemas is not None:
            return schema in schemas
        return not is_system_schema(schema) and schema not in SUPABASE_INTERNAL_SCHEMAS

    parts: dict[str, Any] = {}
    for kind, attr in KINDS.items():
        objects = catalog.objects(kind)
        if kind == "schema":
            parts[attr] = {k: o for k, o in objects.items() if keep(o.name)}
        else:
            parts[attr] = {k: o for k, o in objects.items() if keep(getattr(o, "schema_name", None))}
    return catalog.model_copy(update=parts)


def inspect_source(
    source: str,
    *,
    schemas: Collection[str] | None = None,
    database: str | None = None,
    traits: dict[str, dict[str, Any]] | None = None,
    dev_db: str | None = None,
    dev_db_setup: str | None = None,
) -> Inspection:
    """Open any SOURCE (DSN, spec, dump or SQL file) and write it as a spec.

    ``dev_db`` normalises a source that is not a live database through a scratch server
    first (``pgspec.devdb``), so the spec holds the server's own forms (``*`` expanded).
    """
    from pgspec.sources import open_source, source_kind

    kind = source_kind(source)
    catalog = open_source(source, schemas=schemas, database=database)
    if dev_db and kind != "dsn":
        from pgspec.devdb import normalize_catalog

        catalog = normalize_catalog(catalog, dev_db, setup=dev_db_setup)
    return inspect_catalog(scope_catalog(catalog, schemas), traits=traits)


def inspect_catalog(
    catalog: Catalog,
    *,
    traits: dict[str, dict[str, Any]] | None = None,
    group_size: int = GROUP_SIZE,
    check: bool = True,
) -> Inspection:
    """The spec files of ``catalog``. ``traits`` (default: the team's audit and soft_delete)
    are recognised where expanding them reproduces a table exactly; ``{}`` recognises none."""
    rules = trait_rules.default_traits() if traits is None else traits
    skip: set[str] = set()
    notes: list[str] = []
    while True:
        written = Writer(catalog, group_size=group_size).write()
        uses = trait_rules.propose(catalog, written, rules, skip) if rules else {}
        trait_rules.remove_views(written, uses)
        used = {use.trait for table_uses in uses.values() for use in table_uses}
        if used:
            shared = written.files.setdefault(SHARED_FILE, SpecFile(SHARED_FILE, "public", {}))
            shared.data["traits"] = trait_rules.definitions(rules, used)
        files = _texts(written, catalog)
        if not check:
            return Inspection(files, written.notes)
        try:
            differences = _self_check(catalog, files)
        except SpecError as exc:
            if uses:
                skip |= set(uses)
                continue
            notes.append(f"the written spec does not load (a pgspec bug): {exc}")
            break
        implicated = _implicated(catalog, uses, differences)
        if implicated:
            skip |= implicated
            continue
        if differences:
            shown = "; ".join(f"{d.object_type} {d.name} {d.change}" + (f" ({d.attribute})" if d.attribute else "")
                              for d in differences[:10])
            notes.append(f"the written spec differs from the source in {len(differences)} place(s), "
                         f"a pgspec bug: {shown}")
        break
    return Inspection(files, [*written.notes, *notes])


def _texts(written: Written, catalog: Catalog) -> dict[str, str]:
    origin = catalog.source or "a catalog"
    header = f"Written by pgspec inspect from {origin}."
    out: dict[str, str] = {}
    for name in sorted(written.files):
        spec = written.files[name]
        out[name] = dump(spec.data, header=header)
    return out


def _self_check(catalog: Catalog, files: dict[str, str]) -> list[Difference]:
    """Load the written files with the real loader and diff them against the source."""
    from pgspec.diff import diff, schema_names
    from pgspec.sources.spec import load_spec

    with tempfile.TemporaryDirectory(prefix="pgspec-inspect-") as tmp:
        for name, text in files.items():
            Path(tmp, name).write_text(text, encoding="utf-8")
        loaded = load_spec(tmp)
    scope = schema_names(catalog) | schema_names(loaded) | {s.name for s in catalog.schemas.values()}
    return diff(loaded, catalog, schemas=scope)


def _implicated(catalog: Catalog, uses: dict[str, list[trait_rules.Use]], differences: list[Difference]) -> set[str]:
    """Tables whose traits a difference touches (their columns, children, or views)."""
    found: set[str] = set()
    for table_key, table_uses in uses.items():
        indexes = {k for k, i in catalog.indexes.items() if i.table_key == table_key}
        views = {key for use in table_uses for key in use.view_keys}
        for d in differences:
            name = d.name
            if d.object_type == "grant":  # ``on:object:grantee``
                name = name.split(":", 1)[-1].rsplit(":", 1)[0]
            if (
                name == table_key
                or name.startswith(table_key + ".")
                or name in indexes
                or name in views
            ):
                found.add(table_key)
                break
    return found


def write_spec(inspection: Inspection, directory: str | os.PathLike[str]) -> list[str]:
    """Write every file or none: temporary files first, renamed into place (``os.replace``)
    only once all are written. Returns notes on other ``.yaml`` files already in the directory
    (the loader would read them too)."""
    target = Path(directory)
    write_files(target, inspection.files, error=SourceError, what="the spec")
    others = sorted(
        p.name for p in target.iterdir() if p.suffix in (".yaml", ".yml") and p.name not in inspection.files
    )
    if others:
        return [f"{str(target)!r} also holds {', '.join(others)}, which the spec loader reads too"]
    return []
