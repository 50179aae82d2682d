"""``python -m pgspec``: the same command as the ``pgspec`` console script."""

from __future__ import annotations

from pgspec.cli import main

raise SystemExit(main())
