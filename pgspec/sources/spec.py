"""The YAML spec as a source: ``load_spec(path) -> Catalog``.

Reading happens in passes so that every problem of a spec is found and reported at once, each
at its ``file:line``: parse every file (positions kept), expand traits (defined in any file),
validate each file against the input models, build Catalog objects, then run the checks that
need the whole spec (references across files, types, trigger functions).
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from pgspec.catalog import Catalog
from pgspec.errors import Problem, SpecError
from pgspec.spec.build import Builder
from pgspec.spec.models import FileIn
from pgspec.spec.positions import Pos, problems_from_validation
from pgspec.spec.privileges import build_privileges
from pgspec.spec.traits import collect_traits, expand_file
from pgspec.spec.validate import run_checks
from pgspec.spec.yaml_loader import read_spec_files


def _unique(problems: list[Problem]) -> list[Problem]:
    """A trait used by several tables repeats its own mistakes: report each once."""
    return list(dict.fromkeys(problems))


def load_spec(path: str | os.PathLike[str]) -> Catalog:
    """The Catalog a spec file or directory describes; SpecError listing every problem found."""
    files = read_spec_files(path)
    problems: list[Problem] = []
    traits = collect_traits(files, problems)
    for spec in files:
        expand_file(spec, traits, problems)
    builder = Builder()
    validated: list[tuple[FileIn, Pos]] = []
    for spec in files:
        root = Pos(spec.name, spec.data, 1)
        try:
            validated.append((FileIn.model_validate(spec.data), root))
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, root))
    for model, root in validated:
        builder.build_file(model, root)
    if not problems:
        # References are only meaningful once every file could be read.
        run_checks(builder)
    problems.extend(builder.problems)
    privileges: dict[str, Any] = {}
    objects: dict[str, Any] = builder.objects
    if not problems:
        privileges = build_privileges(validated, builder.objects, problems)
    if problems:
        raise SpecError.from_problems(_unique(problems))
    return Catalog(
        **objects,
        **privileges,
        externals=frozenset(builder.externals),
        source=str(path),
    )
