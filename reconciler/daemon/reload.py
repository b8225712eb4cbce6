"""Config reload: notice a changed config repository, validate, then switch.

The passes never read the config folder the user edits. Each accepted config
is copied into a private snapshot folder, validated *there*, and only then
handed to the passes; so an edit that lands while a pass runs, or an edit that
fails validation, never reaches a pass (nothing is applied under a config that
did not validate), and the last good snapshot keeps running until a valid
edit replaces it.

Changes are noticed by polling: a cheap fingerprint (every file's path, size
and mtime, plus ``git rev-parse HEAD`` when the folder is inside a git
checkout) is compared every few seconds, and when it moved, a content hash
decides whether anything really changed. SIGHUP forces a check.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.config.model import Repository
from reconciler.daemon import logs
from reconciler.daemon.scheduler import StoreSpec
from reconciler.errors import ConfigInvalid, ConfigProblem
from reconciler.policy import Policy

log = logging.getLogger(__name__)

SKIPPED_DIRS = frozenset({".git", ".reconciler", "__pycache__"})

Validator = Callable[[Path], Repository]
"""Loads and validates a config root; raises ``ConfigInvalid``."""


@dataclass(frozen=True, slots=True)
class ConfigGeneration:
    """One validated config, as the passes read it."""

    number: int
    root: Path
    content_hash: str
    repository: Repository
    policy: Policy = field(init=False, compare=False, repr=False)
    """The repository's policies, resolved once for every pass of the
    generation (its caches fill as the passes ask)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", Policy(self.repository))

    def store_specs(self) -> dict[str, StoreSpec]:
        policy = self.policy
        return {
            name: StoreSpec(
                name=name,
                interval=float(_interval(store.defaults.interval)),
                suspended=store.suspended,
                intervals=tuple(sorted(map(float, policy.sync_intervals(name)))),
            )
            for name, store in self.repository.stores.items()
        }

    def token_envs(self) -> list[str]:
        """The environment variables that hold the stores' tokens."""
        channels = (store.channel for store in self.repository.stores.values())
        return sorted({c.token_env for c in channels if c.token_env})


def _interval(setting: object) -> int:
    value = getattr(setting, "value", None)
    return value if isinstance(value, int) and value > 0 else 300


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """A check's outcome: a new generation, or the problems that refused it."""

    generation: ConfigGeneration | None
    problems: tuple[ConfigProblem, ...] = ()


class ConfigWatcher:
    """Watches ``source``; keeps validated snapshots under ``snapshots``."""

    def __init__(self, source: Path, snapshots: Path, validate: Validator) -> None:
        self.source = source
        self.snapshots = snapshots
        self.validate = validate
        self.current: ConfigGeneration | None = None
        self.refused: tuple[ConfigProblem, ...] = ()
        self._fingerprint: str | None = None
        self._checked_hash: str | None = None
        self._count = 0

    def check(self, *, force: bool = False) -> ReloadResult | None:
        """Reload when the folder changed; None when unchanged. ``force``
        (SIGHUP) looks at every file's content even when no size, time or
        commit moved; content already checked is not loaded again."""
        fingerprint = self._stat_fingerprint()
        if fingerprint == self._fingerprint and not force:
            return None
        self._fingerprint = fingerprint

        content = content_hash(self.source)
        if content == self._checked_hash:
            return None
        self._checked_hash = content
        return self._load(content)

    def _load(self, content: str) -> ReloadResult:
        self._count += 1
        root = self.snapshots / f"generation-{self._count}"
        copy_config(self.source, root)
        try:
            with logs.bind(generation=self._count):
                repository = self.validate(root)
        except ConfigInvalid as invalid:
            shutil.rmtree(root, ignore_errors=True)
            self.refused = invalid.problems
            return ReloadResult(None, invalid.problems)

        generation = ConfigGeneration(self._count, root, content, repository)
        self.current = generation
        self.refused = ()
        return ReloadResult(generation)

    def _stat_fingerprint(self) -> str:
        digest = hashlib.sha256(git_head(self.source).encode())
        for path in config_files(self.source):
            info = path.stat()
            digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        return digest.hexdigest()


def config_files(root: Path) -> Iterator[Path]:
    """Every file of a config repository, in a stable order, dot-folders left out."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in SKIPPED_DIRS for part in relative.parts):
            continue
        if path.is_file():
            yield path


def content_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in config_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def copy_config(source: Path, target: Path) -> None:
    """Copy the config files (not ``.git`` nor local state) to ``target``."""
    for path in config_files(source):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    target.mkdir(parents=True, exist_ok=True)


def git_head(folder: Path) -> str:
    """The commit checked out around ``folder``, or "" outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
