"""Structured log lines for the daemon: plain ``key=value`` or JSON lines.

Events are logged as ``log.info("daemon.pass", extra=fields(store=..., ...))``
or, by the other layers, as ``"event=... key=%s"`` strings; both render.
``bind(store=..., run=...)`` sets context for the current thread (one pass
runs in one thread), and every record logged inside it, by any module,
carries those fields. Secret values (the stores' tokens, read from the
environment) are masked in every rendered line.

The passes read a private snapshot of the config (``reload.py``), so other
layers log the snapshot's folder; ``show_config_path`` has every rendered
line show the user's config path there instead (the generation is a field of
its own). In JSON lines, integers, floats and booleans are JSON numbers and
booleans, whether they came as fields or as ``key=value`` text.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

_BOUND: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar(
    "reconciler_daemon_bound", default=MappingProxyType({})
)
_FIELDS = "reconciler_fields"
MASK = "***"


def fields(**values: object) -> dict[str, Any]:
    """The ``extra`` of a structured event."""
    return {_FIELDS: values}


@contextmanager
def bind(**values: object) -> Iterator[None]:
    """Bind fields to every record logged in this thread until the block ends."""
    token = _BOUND.set({**_BOUND.get(), **values})
    try:
        yield
    finally:
        _BOUND.reset(token)


def rebind(**values: object) -> None:
    """Add fields to the current binding (the run id, once a pass knows it)."""
    _BOUND.set({**_BOUND.get(), **values})


def _record_fields(record: logging.LogRecord) -> dict[str, object]:
    own: Mapping[str, object] = getattr(record, _FIELDS, {})
    bound: Mapping[str, object] = getattr(record, "reconciler_bound", {})
    return {**bound, **own}


class _BindFilter(logging.Filter):
    """Copies the thread's bound fields onto each record as it is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.reconciler_bound = dict(_BOUND.get())
        return True


class _MaskingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted(
            {s for s in secrets if len(s) >= 4}, key=len, reverse=True
        )
        self.snapshots: re.Pattern[str] | None = None
        self.config_path = ""

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def user_paths(self, text: str, *, quoted: bool = False) -> str:
        """``text`` with each config snapshot folder shown as the user's path."""
        if self.snapshots is None:
            return text
        shown = json.dumps(self.config_path)[1:-1] if quoted else self.config_path
        return self.snapshots.sub(lambda _: shown, text)


class PlainFormatter(_MaskingFormatter):
    """``<time> <LEVEL> event=<name> key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if hasattr(record, _FIELDS) and "=" not in message:
            message = f"event={message}"
        pairs = " ".join(
            f"{k}={_plain(v)}"
            for k, v in _record_fields(record).items()
            if f"{k}=" not in message
        )
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        line = f"{stamp} {record.levelname} {message} {pairs}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return self.mask(self.user_paths(line))


class JsonFormatter(_MaskingFormatter):
    """One JSON object per line: time, level, logger, event, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
        }
        message = record.getMessage()
        if hasattr(record, _FIELDS):
            entry["event"] = message
        else:
            entry.update(_parse_pairs(message))
        entry.update(_record_fields(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        line = json.dumps(entry, default=str)
        return self.mask(self.user_paths(line, quoted=True))


def _plain(value: object) -> str:
    text = str(value)
    if text == "" or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text)
    return text


def _parse_pairs(message: str) -> dict[str, object]:
    """``event=x a=1 b=two`` as fields; any other message as ``message``."""
    parts = message.split(" ")
    if not parts[0].startswith("event="):
        return {"message": message}
    pairs = [part.partition("=") for part in parts]
    if any(not sep for _, sep, _ in pairs):
        return {"message": message}
    return {key: _typed(value) for key, _, value in pairs}


_INTEGER = re.compile(r"-?(0|[1-9]\d*)")
_FLOAT = re.compile(r"-?(0|[1-9]\d*)\.\d+([eE][-+]?\d+)?")


def _typed(text: str) -> object:
    """A ``key=value`` text value as JSON would hold it: ``2`` a number,
    ``True``/``true`` a boolean, anything else (``0042`` too) the text."""
    if _INTEGER.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text in ("True", "true", "False", "false"):
        return text in ("True", "true")
    return text


def configure(
    log_format: str, secrets: Iterable[str], level: int = logging.INFO
) -> logging.Handler:
    """Send every log record to stderr in ``log_format`` (``plain`` or ``json``)."""
    handler = logging.StreamHandler()
    formatter = (
        JsonFormatter(secrets) if log_format == "json" else PlainFormatter(secrets)
    )
    handler.setFormatter(formatter)
    handler.addFilter(_BindFilter())

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request
    return handler


def mask_secrets(values: Iterable[str]) -> None:
    """Mask these values (tokens read from the environment) from now on."""
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, _MaskingFormatter):
            merged = set(formatter.secrets) | {v for v in values if len(v) >= 4}
            formatter.secrets = sorted(merged, key=len, reverse=True)


def show_config_path(snapshots: Path, source: Path) -> None:
    """Show ``source`` wherever a line names a snapshot under ``snapshots``."""
    pattern = re.compile(re.escape(str(snapshots)) + r"/generation-\d+")
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, _MaskingFormatter):
            formatter.snapshots = pattern
            formatter.config_path = str(source)
