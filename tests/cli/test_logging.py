"""Log events stay out of the human output unless asked for with -v."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import EventHandler, configure_logging
from reconciler.daemon import logs
from tests.cli import Repo, make_repo

BAD_BATCH = "sku,quantity_available\nTEE-S,many\n"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path)


def reconcile(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    """A real process: Python's last-resort handler is not hidden by pytest."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        capture_output=True,
        text=True,
        cwd=repo.root,
        timeout=120,
        check=False,
    )


def event_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "event=" in line]


def test_a_refused_import_prints_its_refusal_without_log_lines(repo: Repo) -> None:
    path = repo.write("bad.csv", BAD_BATCH)

    result = reconcile(repo, "import", str(path), "--dry-run", *repo.args())

    assert result.returncode == 1
    assert "line 2, column quantity_available" in result.stderr
    assert event_lines(result.stderr) == []


@pytest.mark.parametrize(
    ("flags", "shown", "hidden"),
    [
        pytest.param(["-v"], "level=INFO event=pass.read", "level=DEBUG", id="info"),
        pytest.param(["-vv"], "level=DEBUG", None, id="debug"),
    ],
)
def test_verbose_shows_events_as_key_value_lines(
    repo: Repo, flags: list[str], shown: str, hidden: str | None
) -> None:
    result = reconcile(repo, *flags, *repo.args(), "--dry-run")

    events = event_lines(result.stderr)
    assert result.returncode == 0, result.stderr
    assert any(line.startswith(shown) for line in events), events
    assert all(line.startswith("level=") for line in events)
    assert hidden is None or not any(line.startswith(hidden) for line in events)


def test_the_daemon_setup_replaces_the_command_line_handler() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(1)
        configure_logging(2)
        ours = [h for h in root.handlers if isinstance(h, EventHandler)]
        handler = logs.configure("plain", secrets=())

        assert len(ours) == 1
        assert handler in root.handlers
        assert not any(isinstance(h, EventHandler) for h in root.handlers)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_retries_show_at_one_v_and_libraries_stay_quiet_until_three(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reconciler.channels.retry import with_retries
    from reconciler.clock import Backoff, FakeClock
    from reconciler.errors import ChannelThrottled

    def attempt() -> int:
        raise ChannelThrottled("429 from the store", retry_after=2.0)

    configure_logging(1)
    with pytest.raises(ChannelThrottled):
        with_retries(
            attempt,
            clock=FakeClock(),
            backoff=Backoff(attempts=2),
            what="read",
            store="shopify-us",
        )
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    configure_logging(3)
    loud = logging.getLogger("httpcore").level
    configure_logging(0)

    assert event_lines(capsys.readouterr().err) == [
        "level=INFO event=channel.retry store=shopify-us what=read attempt=1 "
        "wait=2.000 error=ChannelThrottled reason='429 from the store'",
        "level=WARNING event=channel.give_up store=shopify-us what=read attempts=2 "
        "error=ChannelThrottled reason='429 from the store'",
    ]
    assert (levels, loud) == (
        {"httpx": logging.WARNING, "httpcore": logging.WARNING},
        logging.DEBUG,
    )


def test_an_embedded_store_s_skipped_seed_rows_show_without_v(repo: Repo) -> None:
    seed = repo.config / "magento-eu.csv"
    seed.write_text(seed.read_text() + ",simple,3,1,1,0\nBAD-1,simple,lots,1,1,0\n")

    first = reconcile(repo, "--dry-run", *repo.args())

    skipped = event_lines(first.stderr)
    assert len(skipped) == 2
    assert all(
        line.startswith("level=WARNING event=sandbox.seed_skipped store=magento-eu ")
        for line in skipped
    )
    assert [line.split(" line=")[1].split(" ")[0] for line in skipped] == ["5", "6"]
    assert first.returncode == 0
