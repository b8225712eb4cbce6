"""Waking the daemon's loop without a lock, from a signal handler too.

A signal handler runs on the main thread between any two bytecodes, also
while that thread holds a ``threading.Event``'s lock (inside ``wait`` or
``clear``): an ``Event.set()`` from the handler then waits for a lock its own
thread holds, for ever. So the loop sleeps in ``select`` on a pipe, and a
wake is one byte written to it; a full pipe already means "wake up".
"""

from __future__ import annotations

import contextlib
import os
import select


class Wakeup:
    """A self-pipe: ``set`` from anywhere, ``wait`` on the loop's thread."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._closed = False

    def set(self) -> None:
        """Wake the waiting loop (safe in a signal handler and any thread)."""
        if self._closed:
            return
        with contextlib.suppress(BlockingIOError):  # full: a wake is pending
            os.write(self._write, b"\0")

    def wait(self, timeout: float) -> None:
        """Sleep until ``set`` or ``timeout`` seconds; forget the wakes seen."""
        readable, _, _ = select.select([self._read], [], [], max(timeout, 0.0))
        if readable:
            self._drain()

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):  # empty now
            while os.read(self._read, 4096):
                pass

    def close(self) -> None:
        """Called once nothing may wake the loop any more but a signal, which
        then finds it closed (the flag is set before the pipe goes)."""
        self._closed = True
        os.close(self._read)
        os.close(self._write)
