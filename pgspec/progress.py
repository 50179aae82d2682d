"""A progress line on stderr while a large backup is read: bytes read / total, MB/s.

Reading a multi-gigabyte Supabase backup takes a while, and a silent terminal looks hung. The
line is drawn only for a person: when stderr is a terminal, and never in CI (``CI`` or
``GITHUB_ACTIONS`` set), where carriage returns make logs unreadable. It is redrawn at most ten
times a second and erased when reading ends, so stdout (the report) is never mixed with it.

The reader knows nothing of terminals: ``pgspec.sources.dump.read_statements`` takes a
``progress(done, total)`` callback, and this module provides one.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["Progress", "ProgressCallback", "progress_for", "wanted"]

#: ``progress(bytes read, total bytes or None when unknown)``.
ProgressCallback = Callable[[int, "int | None"], None]

#: Seconds between two redraws.
INTERVAL = 0.1
_MB = 1024 * 1024


def wanted(stream: TextIO) -> bool:
    """Whether to draw: a terminal, outside CI."""
    if os.environ.get("CI") or os.environ.get("GITHUB_ACTIONS") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """The callback: call it with (done, total) as bytes are read; ``close`` erases the line."""

    def __init__(self, label: str, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.stream = stream
        self.clock = clock
        #: (time, bytes) of the first report: the rate counts from there, not from the spec
        #: loading that came before the reading.
        self.first: tuple[float, int] | None = None
        self.last_draw: float | None = None
        self.last_done = 0
        self.drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        now = self.clock()
        if self.first is None or done < self.last_done:  # the first file, or a second one
            self.first = (now, done)
        self.last_done = done
        if self.last_draw is not None and now - self.last_draw < INTERVAL:
            return
        self.last_draw = now
        start, base = self.first
        self.stream.write("\r\033[K" + self.line(done, total, done - base, now - start))
        self.stream.flush()
        self.drawn = True

    def line(self, done: int, total: int | None, measured: int, elapsed: float) -> str:
        """``reading: 412.0 / 1024.0 MB (40%), 93.1 MB/s``; the rate once there is one."""
        if total:
            share = min(done / total, 1.0)
            amount = f"{done / _MB:.1f} / {total / _MB:.1f} MB ({share:.0%})"
        else:
            amount = f"{done / _MB:.1f} MB"
        rate = f", {measured / _MB / elapsed:.1f} MB/s" if elapsed >= INTERVAL else ""
        return f"{self.label}: {amount}{rate}"

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()


@contextmanager
def progress_for(label: str, stream: TextIO | None = None) -> Iterator[ProgressCallback | None]:
    """A callback drawing on ``stream`` (default stderr), or None where nothing should be drawn."""
    out = sys.stderr if stream is None else stream
    if not wanted(out):
        yield None
        return
    progress = Progress(label, out)
    try:
        yield progress
    finally:
        progress.close()
