"""The config folder as it was at a git revision, for ``reconcile diff``.

``git archive`` writes the folder's files at the revision as a tar stream;
they are written under a temporary folder, regular files and folders only,
each path checked to stay inside it. A link the revision holds (the config
folder itself, or a file in it) is followed inside the repository, as the
working tree's loader follows it. Nothing of the checkout is touched.
"""

from __future__ import annotations

import io
import posixpath
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from reconciler.errors import NoConfigAtRevision, RevisionError

GIT_TIMEOUT_S = 60
MAX_LINK_HOPS = 8
LINK_MODE = "120000"

LinkReader = Callable[[str], bytes]
"""The content of a file of the revision, by its path in the repository."""


@contextmanager
def config_at(revision: str, config_dir: Path) -> Iterator[Path]:
    """A temporary copy of ``config_dir`` as of ``revision``; removed after."""
    top = _top_level(config_dir)
    relative = _inside(config_dir, top)
    commit = _commit(top, revision)
    folder_name = _followed(top, commit, relative.as_posix(), revision)
    archive = _git(top, "archive", "--format=tar", commit, "--", folder_name)

    with tempfile.TemporaryDirectory(prefix="reconciler-base-") as folder:
        _extract(archive, Path(folder), lambda link: _blob(top, commit, link))
        copy = Path(folder, *PurePosixPath(folder_name).parts)
        if not copy.is_dir():
            raise NoConfigAtRevision(
                f"{revision}: no {relative.as_posix()}/ folder there"
            )
        yield copy


def _top_level(config_dir: Path) -> Path:
    try:
        found = _git(config_dir, "rev-parse", "--show-toplevel")
    except RevisionError as error:
        if "dubious ownership" in str(error):
            raise RevisionError(
                f"{error}; git refuses a repository another user owns: mark it "
                "safe with git config --global --add safe.directory PATH"
            ) from None
        if "not a git repository" not in str(error):
            raise
        raise RevisionError(
            f"{config_dir} is not in a git checkout; diff compares the config "
            "with a revision of its repository"
        ) from None
    return Path(found.decode().strip())


def _inside(config_dir: Path, top: Path) -> Path:
    """The config folder's path in the repository, its own name kept even
    when it is a link (the revision may hold the link, not its target)."""
    here = config_dir.absolute()
    return (here.parent.resolve() / here.name).relative_to(top.resolve())


def _followed(top: Path, commit: str, path: str, revision: str) -> str:
    """``path`` at the revision, links followed; ``NoConfigAtRevision``
    when nothing is there."""
    if path == ".":
        return path  # the repository's root is never a link
    for _ in range(MAX_LINK_HOPS):
        entry = _git(top, "ls-tree", commit, "--", path).decode().split()
        if not entry:
            raise NoConfigAtRevision(f"{revision}: no {path}/ folder there")
        if entry[0] != LINK_MODE:
            return path
        target = _blob(top, commit, path).decode().strip()
        path = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if path.startswith("../") or path == "..":
            raise RevisionError(
                f"{revision}: the config folder links outside the repository"
            )
    raise RevisionError(f"{revision}: the config folder's links go round in circles")


def _blob(top: Path, commit: str, path: str) -> bytes:
    return _git(top, "cat-file", "blob", f"{commit}:{path}")


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
    except subprocess.TimeoutExpired:
        raise RevisionError(
            f"git {args[0]} took longer than {GIT_TIMEOUT_S} s; nothing compared"
        ) from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        reason = said[-1] if said else f"git {args[0]} failed"
        raise RevisionError(f"{where}: {reason}")
    return done.stdout


def _extract(archive: bytes, folder: Path, link_content: LinkReader) -> None:
    """The tar stream's folders and files under ``folder``; a link to a file
    inside the repository is written as that file's content."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            name = PurePosixPath(member.name)
            if name.is_absolute() or ".." in name.parts:
                continue
            target = folder.joinpath(*name.parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                content = tar.extractfile(member)
                if content is not None:
                    _write(target, content.read())
            elif member.issym():
                linked = posixpath.normpath(
                    posixpath.join(posixpath.dirname(member.name), member.linkname)
                )
                if not linked.startswith("../"):
                    _write_linked(target, linked, link_content)


def _write_linked(target: Path, linked: str, link_content: LinkReader) -> None:
    """A link's target file, when the revision has one there (a link to a
    folder or to nothing is left out, as the loader would find it broken)."""
    try:
        _write(target, link_content(linked))
    except RevisionError:
        return


def _write(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
