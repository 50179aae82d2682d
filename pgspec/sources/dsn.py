"""Whether a SOURCE argument is a connection string: asked before anything is read, by
commands that may never connect, so this module imports nothing but ``os`` (psycopg costs
~40 ms to import, which ``verify --backup`` and ``diff SPEC SPEC`` should not pay)."""

from __future__ import annotations

import os


def is_dsn(arg: str) -> bool:
    """A connection string: a ``postgresql://`` / ``postgres://`` URI or libpq ``key=value``."""
    if arg.startswith(("postgresql://", "postgres://")):
        return True
    # A libpq keyword string ("host=db dbname=app"); an existing file named "a=b" stays a file.
    return "=" in arg and not os.path.exists(arg)
