"""Config change detection: a new git commit is noticed even when no file's
size or mtime moved; SIGHUP forces a reload; JSON log lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from reconciler.config.model import Repository
from reconciler.daemon.reload import ConfigWatcher
from reconciler.policy import load_policy
from tests.daemon.conftest import (
    TOKEN,
    DaemonProcess,
    Emulators,
    wait_for,
    write_config,
)

ENDPOINT = "http://127.0.0.1:9/outlet"


def validate(root: Path) -> Repository:
    return load_policy(root).repository


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True)


def same_stat_edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` (same length), keeping size and mtime."""
    assert len(old) == len(new)
    info = path.stat()
    path.write_text(path.read_text().replace(old, new))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_a_new_git_commit_is_noticed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    config = write_config(repo / "config", {"outlet": (ENDPOINT, "hub_to_channel")})
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    watcher = ConfigWatcher(config, tmp_path / "snapshots", validate)
    first = watcher.check(force=True)
    store_file = config / "stores" / "outlet.yaml"

    # An edit that leaves size and mtime alone goes unseen by the stat check...
    same_stat_edit(store_file, "interval: 1s", "interval: 7s")
    unseen = watcher.check()
    # ...until it is committed.
    git(repo, "commit", "-q", "-am", "slower outlet")
    seen = watcher.check()

    assert first is not None and first.generation is not None
    assert unseen is None
    assert seen is not None and seen.generation is not None
    assert seen.generation.number == 2
    assert seen.generation.store_specs()["outlet"].interval == 7.0
    assert watcher.check() is None


def test_an_empty_commit_reloads_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    config = write_config(repo / "config", {"outlet": (ENDPOINT, "hub_to_channel")})
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    watcher = ConfigWatcher(config, tmp_path / "snapshots", validate)
    watcher.check(force=True)

    git(repo, "commit", "-q", "--allow-empty", "-m", "nothing")

    assert watcher.check() is None
    assert watcher.current is not None and watcher.current.number == 1


def json_lines(daemon: DaemonProcess) -> list[dict[str, object]]:
    return [json.loads(line) for line in daemon.text().splitlines() if line]


def config_events(daemon: DaemonProcess) -> list[dict[str, object]]:
    return [e for e in json_lines(daemon) if e.get("event") == "daemon.config"]


def test_sighup_reloads_and_logs_are_json_lines(
    tmp_path: Path,
    emulators_for: Callable[[list[str]], Emulators],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    served = emulators_for(["outlet"])
    config = write_config(
        tmp_path / "config", {"outlet": (served.url("outlet"), "hub_to_channel")}
    )
    state = f"sqlite:///{tmp_path / 'state.db'}"
    # Polling once an hour: only SIGHUP can make this daemon notice an edit.
    daemon = start_daemon(
        config, state, "--log-format", "json", "--poll-interval", "3600"
    )
    wait_for(lambda: "daemon.pass" in daemon.text(), 60, "the first pass")
    store_file = config / "stores" / "outlet.yaml"
    store_file.write_text(store_file.read_text().replace("1s", "9s"))

    daemon.process.send_signal(signal.SIGHUP)
    wait_for(lambda: len(config_events(daemon)) == 2, 60, "the SIGHUP reload")
    code = daemon.terminate()

    events = json_lines(daemon)
    first, second = config_events(daemon)
    passes = [e for e in events if e.get("event") == "daemon.pass"]
    assert code == 0
    assert {key: first[key] for key in ("level", "outcome", "generation")} == {
        "level": "INFO",
        "outcome": "applied",
        "generation": 1,
    }
    assert (second["outcome"], second["generation"]) == ("applied", 2)
    assert passes and {p["store"] for p in passes} == {"outlet"}
    assert all(isinstance(p["daemon_pass"], int) for p in passes)
    assert all({"time", "level", "logger"} <= set(e) for e in events)
    assert events[-1]["event"] == "daemon.stop"
    assert TOKEN not in daemon.text()


def test_a_forced_check_of_unchanged_files_loads_nothing_again(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", {"outlet": (ENDPOINT, "hub_to_channel")})
    watcher = ConfigWatcher(config, tmp_path / "snapshots", validate)
    first = watcher.check(force=True)

    again = watcher.check(force=True)
    store_file = config / "stores" / "outlet.yaml"
    same_stat_edit(store_file, "interval: 1s", "interval: 7s")
    edited = watcher.check(force=True)

    assert first is not None and first.generation is not None
    assert again is None
    assert edited is not None and edited.generation is not None
    assert edited.generation.number == 2
