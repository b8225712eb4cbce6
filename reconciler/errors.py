"""The one error tree of the reconciler.

Every failure is classified by what the loop does next:

- ``TemporaryError``: retry after a delay (throttled, 5xx, timeout);
- ``PermanentError``: give up on this item or store, keep going with the others;
- ``StopRun``: stop the run (bad config, guard tripped, unusable state store).

Adapters translate httpx exceptions and channel error bodies into this tree at
their boundary, chaining the original; nothing above the adapters sees httpx.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ReconcilerError(Exception):
    """Base of every error the reconciler raises on purpose."""


# --- what the loop does next -------------------------------------------------


class TemporaryError(ReconcilerError):
    """Worth retrying after ``retry_after`` seconds (None: use the schedule)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ReconcilerError):
    """Retrying the same request will not help."""


class StopRun(ReconcilerError):
    """The run cannot go on; nothing further is changed."""


# --- config ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class ConfigProblem:
    """One finding in the config repository, printed as ``path:line:col: message``.

    ``path`` is relative to the config root; ``line`` and ``column`` are 1-based
    (0 when the problem concerns a whole file or folder, which is printed as
    ``path: message``, without a position that points nowhere).
    """

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    @property
    def where(self) -> str:
        """``path:line:col``, or just ``path`` for a whole file or folder."""
        if self.line == 0:
            return self.path
        return f"{self.path}:{self.line}:{self.column}"

    def with_severity(self, severity: str) -> str:
        """``path:line:col: warning: message``."""
        return f"{self.where}: {severity}: {self.message}"


class ConfigInvalid(StopRun):
    """The config repository failed loading or validation; carries every problem."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(sorted(problems))
        count = len(self.problems)
        super().__init__(f"config invalid: {count} problem{'s' * (count != 1)}")


# --- state -------------------------------------------------------------------


class StateError(StopRun):
    """The state store is unreachable, or holds a schema this version cannot use."""


class LeaseLost(StateError):
    """Another replica holds the lease of a store this process was working on."""


# --- channels ----------------------------------------------------------------


class ChannelError(ReconcilerError):
    """Base of the errors raised by channel adapters."""


class ChannelThrottled(TemporaryError, ChannelError):
    """The channel's rate limit refused the request."""


class ChannelUnavailable(TemporaryError, ChannelError):
    """5xx, timeout or dropped connection: the channel may answer later."""


class ChannelRefused(PermanentError, ChannelError):
    """The channel refused the request (4xx, auth, validation)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ChannelConfigError(StopRun, ChannelError):
    """The store's channel settings cannot work (unknown location, missing token)."""


# --- hub input and safety ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One refused row of an import file."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class ImportRefused(StopRun):
    """An import batch had refused rows; nothing was written."""

    def __init__(self, path: str, problems: Sequence[RowProblem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        count = len(self.problems)
        super().__init__(f"{path}: {count} refused row{'s' * (count != 1)}")


class GuardTripped(StopRun):
    """A store's plan would change or zero more than its guard allows."""


class SelectionError(StopRun):
    """The command line names a store (or SKU) the run cannot select; a usage
    mistake, reported before anything is read or written."""


class RevisionError(StopRun):
    """A git revision of the config repository cannot be read (not a git
    checkout, an unknown revision, no config folder at it)."""


class NoConfigAtRevision(RevisionError):
    """The revision has no config folder (a pull request that adds it)."""
