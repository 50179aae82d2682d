"""Writing a set of files all-or-nothing, shared by ``render --split`` and ``inspect -o``.

A spec or the three init scripts only make sense whole: half of them replaced by a new version
and half left from the old one is a state nobody wrote. So every file goes to a temporary file
in the target directory first, and only when all are written are they renamed into place
(``os.replace`` is atomic on one file system). On any error the temporary files are removed and
the directory is left as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pgspec.errors import PgspecError

__all__ = ["write_files"]


def _missing_parents(directory: Path) -> list[Path]:
    """The directories ``mkdir(parents=True)`` would create, innermost first."""
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return missing


def write_files(
    directory: str | os.PathLike[str],
    files: Mapping[str, str],
    *,
    error: type[PgspecError] = PgspecError,
    what: str = "",
) -> None:
    """Write ``files`` (name → text) into ``directory``, every one or none.

    Files get the mode any new file gets (0666 minus the umask), not mkstemp's private 0600.
    Raises ``error`` with one line, ``cannot write {what}to 'dir': reason``.
    """
    target = Path(directory)
    prefix = f"cannot write {what + ' ' if what else ''}to"
    temps: list[tuple[str, Path]] = []
    created = _missing_parents(target)
    done = False
    try:
        target.mkdir(parents=True, exist_ok=True)
        # A target that is a directory makes its os.replace fail after earlier files were
        # already replaced: refuse before writing anything, so the set stays whole.
        for name in files:
            if (target / name).is_dir():
                raise error(f"{prefix} {str(target / name)!r}: it is a directory")
        umask = os.umask(0)
        os.umask(umask)
        for name, text in files.items():
            fd, temp_name = tempfile.mkstemp(dir=target, prefix=f".{name}.", suffix=".tmp")
            temps.append((name, Path(temp_name)))
            os.fchmod(fd, 0o666 & ~umask)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
        for name, temp in temps:
            os.replace(temp, target / name)
        temps.clear()
        done = True
    except OSError as exc:
        raise error(f"{prefix} {str(target)!r}: {exc.strerror or exc}") from None
    finally:
        for _, temp in temps:
            temp.unlink(missing_ok=True)
        if not done:
            for path in created:  # innermost first; only the empty ones this call made
                try:
                    path.rmdir()
                except OSError:
                    break
