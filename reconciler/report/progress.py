"""Per-store progress of long reads and writes, on a terminal only.

Stores are read and written concurrently, so one status line shows every
store still at work and is redrawn in place with a carriage return; when a
store finishes, its final figures are printed on a line of their own above
the status line. When the stream is not a terminal (a CI log, a pipe) the
progress is silent, so that logs hold no carriage-return noise.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from typing import Protocol


class Stream(Protocol):
    """What progress needs of a text stream such as ``sys.stderr``."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


@dataclass(slots=True)
class _StoreState:
    read: int | None = None
    reading: bool = False
    done: int = 0
    total: int | None = None
    applied: int = 0
    failed: bool = False

    def status(self) -> str:
        parts = []
        if self.failed:
            parts.append(f"read failed after {self.read or 0:,} records")
        elif self.reading:
            parts.append(f"reading, {self.read or 0:,} records")
        elif self.read is not None:
            parts.append(f"read {self.read:,} items")
        if self.total is not None:
            parts.append(f"wrote {self.applied:,}/{self.total:,}")
        if self.done > self.applied:
            parts.append(f"{self.done - self.applied:,} not written")
        return ", ".join(parts) if parts else "waiting"


class Progress:
    """Progress lines of a pass; every method is safe to call from any thread."""

    def __init__(self, stream: Stream | None, *, width: int = 80) -> None:
        self._stream = stream
        self._width = max(width - 1, 20)
        self._lock = threading.Lock()
        self._stores: dict[str, _StoreState] = {}
        self._drawn = 0

    @classmethod
    def for_stream(cls, stream: Stream) -> Progress:
        """Progress on ``stream`` when it is a terminal, a silent one otherwise."""
        if not stream.isatty():
            return cls(None)
        return cls(stream, width=shutil.get_terminal_size().columns)

    @property
    def enabled(self) -> bool:
        return self._stream is not None

    def read_started(self, store: str) -> None:
        self._update(store, reading=True)

    def read_page(self, store: str, records_so_far: int) -> None:
        """A page came in; the count covers every listing the read pages."""
        self._update(store, reading=True, read=records_so_far)

    def read_done(self, store: str, items: int) -> None:
        """The store's read is over with ``items`` items: its final line."""
        self._update(store, read=items)
        self.store_done(store)

    def read_failed(self, store: str) -> None:
        """The store's read failed: its final line says so."""
        with self._lock:
            self._stores.setdefault(store, _StoreState()).failed = True
        self.store_done(store)

    def write_batch(self, store: str, done: int, total: int, applied: int) -> None:
        """``done`` of ``total`` changes sent, ``applied`` of them applied (a
        stale item is re-planned and sent again later)."""
        self._update(store, done=done, total=total, applied=applied)

    def store_done(self, store: str) -> None:
        """Print the store's final line and drop it from the status line."""
        if self._stream is None:
            return
        with self._lock:
            state = self._stores.pop(store, _StoreState())
            state.reading = False
            self._clear(self._stream)
            self._stream.write(f"{store}: {state.status()}, done\n")
            self._draw(self._stream)

    def _update(
        self,
        store: str,
        *,
        reading: bool = False,
        read: int | None = None,
        done: int | None = None,
        total: int | None = None,
        applied: int | None = None,
    ) -> None:
        if self._stream is None:
            return
        with self._lock:
            state = self._stores.setdefault(store, _StoreState())
            state.reading = reading
            state.read = read if read is not None else state.read
            state.done = done if done is not None else state.done
            state.total = total if total is not None else state.total
            state.applied = applied if applied is not None else state.applied
            self._clear(self._stream)
            self._draw(self._stream)

    def _clear(self, stream: Stream) -> None:
        """Blank the status line, leaving the cursor at its start."""
        if self._drawn:
            stream.write("\r" + " " * self._drawn + "\r")
            self._drawn = 0

    def _draw(self, stream: Stream) -> None:
        line = " | ".join(f"{name}: {s.status()}" for name, s in self._stores.items())
        line = line[: self._width]
        if line:
            stream.write(line)
            self._drawn = len(line)
        stream.flush()
