"""The config folder as it was at a git revision, for ``reconcile diff``.

``git archive`` writes the folder's files at the revision as a tar stream;
they are written under a temporary folder, regular files and folders only,
each path checked to stay inside it. Nothing of the checkout is touched.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from reconciler.errors import NoConfigAtRevision, RevisionError

GIT_TIMEOUT_S = 60


@contextmanager
def config_at(revision: str, config_dir: Path) -> Iterator[Path]:
    """A temporary copy of ``config_dir`` as of ``revision``; removed after."""
    try:
        found = _git(config_dir, "rev-parse", "--show-toplevel")
    except RevisionError:
        raise RevisionError(
            f"{config_dir} is not in a git checkout; diff compares the config "
            "with a revision of its repository"
        ) from None
    top = Path(found.decode().strip())
    relative = config_dir.resolve().relative_to(top.resolve())
    commit = _commit(top, revision)
    folder_name = relative.as_posix()
    try:
        archive = _git(top, "archive", "--format=tar", commit, "--", folder_name)
    except RevisionError:
        raise NoConfigAtRevision(
            f"{revision}: no {folder_name}/ folder there"
        ) from None

    with tempfile.TemporaryDirectory(prefix="reconciler-base-") as folder:
        _extract(archive, Path(folder))
        copy = Path(folder) / relative
        if not copy.is_dir():
            raise NoConfigAtRevision(f"{revision}: no {folder_name}/ folder there")
        yield copy


def _commit(top: Path, revision: str) -> str:
    if not revision.strip() or revision.startswith("-"):
        raise RevisionError(
            f"{revision!r}: not a revision (a branch, tag or commit id, which "
            "never starts with '-')"
        )
    try:
        found = _git(top, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except RevisionError:
        raise RevisionError(
            f"{revision}: not a commit of {top} (a branch, tag or commit id; "
            "in CI, fetch it first: git fetch origin BRANCH)"
        ) from None
    return found.decode().strip()


def _git(where: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(where), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise RevisionError("git is not installed; diff needs it") from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        reason = said[-1] if said else f"git {args[0]} failed"
        raise RevisionError(f"{where}: {reason}")
    return done.stdout


def _extract(archive: bytes, folder: Path) -> None:
    """Regular files and folders of the tar stream, each under ``folder``."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if PurePosixPath(member.name).is_absolute() or ".." in parts:
                continue
            target = folder.joinpath(*parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                content = tar.extractfile(member)
                if content is not None:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content.read())
