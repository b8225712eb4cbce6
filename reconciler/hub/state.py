"""The hub state store on SQLAlchemy Core: one code path, SQLite or PostgreSQL.

``open_state(url)`` serves ``sqlite:///PATH`` (the default,
``.reconciler/state.db``; ``sqlite:///relative/path.db`` is relative to the
current folder, ``sqlite:////absolute/path.db`` is absolute; the folder and
file are created on first use) and ``postgresql://USER@HOST:PORT/DATABASE``
(driven by psycopg 3). Every public method is one transaction: a crash
between two calls leaves the database as the last committed call left it.

URLs that would put the state somewhere nobody meant are refused with a
``StateError``: an SQLite URL with a query string or a ``file:`` path (SQLite
would not read them as options: they become folder and file names), in-memory
SQLite (``sqlite://``, ``sqlite:///:memory:``: the hub and journal would
vanish at exit), and a PostgreSQL URL without a host or a database name
(libpq would fall back to the local socket and a default database).

``open_state(url, migrate=False)`` is the read-only open of a dry run: it
creates nothing (no folder, file, table or schema version), refuses a database
that needs an upgrade, and reads a database with no tables (or an SQLite file
that does not exist) as empty. Every write on such a store is refused.

On a shared PostgreSQL database the tables can live in their own schema,
chosen with libpq's ``options``:
``postgresql://user@host/db?options=-csearch_path%3Dreconciler`` (the schema
must exist). SQLite runs in WAL mode with a busy timeout, so that readers
(``reconcile history``) never wait for a pass that is writing.

Schema, version 1, field by field
---------------------------------

All timestamps are UTC. PostgreSQL keeps them as ``timestamptz``; SQLite keeps
them as fixed-width ISO 8601 text (``2025-01-31T08:00:00.000000+00:00``), which
sorts and compares like the instant it names. Naive datetimes are refused.

``schema_version``: one row per migration step applied.
  - ``version`` (int, key): the schema version the step produced.
  - ``applied_at``: when the step ran.
  The highest ``version`` is the database's version.

``hub_records``: the hub's own stock figure per SKU.
  - ``sku`` (text, key): the SKU, exactly as stores and imports spell it.
  - ``vendor`` (text, null): the vendor supplying it, when known.
  - ``manage_inventory`` (bool): whether stock is tracked for the SKU.
  - ``quantity_available`` (int): the available quantity; may be negative
    (oversold).
  - ``changed_at``: when this record last changed.
  - ``source`` (text): where the last change came from: ``import:<file>``,
    ``store:<name>`` or ``feed:<vendor>``.

``seen_values``: what a store last showed for a SKU, read or written; the
baseline against which drift is detected. Key (``store``, ``sku``).
  - ``store`` (text), ``sku`` (text).
  - ``managed`` (bool): the store tracks stock of the SKU.
  - ``quantity`` (int, null): the quantity shown; null when not managed.
  - ``seen_at``: when it was read or written.

``runs``: one row per run (a pass, an import, a daemon pass).
  - ``id`` (int, key, increasing): the run id.
  - ``kind`` (text): a ``RunKind`` value (``pass``, ``import``, ``daemon``).
  - ``started_at``; ``finished_at`` (null while running, or after a crash).
  - ``status`` (text): a ``RunStatus`` value (``running``, ``succeeded``,
    ``failed``, ``stopped``: a daemon stop between batches left the rest for
    the next pass).
  - ``stores`` (JSON list of text): the stores the run selected.
  - ``summary`` (JSON object): counts written when the run finished.

``journal``: one row per change of one field of one item, with its outcome.
  - ``id`` (int, key, increasing): gives the order of the entries.
  - ``run_id`` (int, references ``runs.id``).
  - ``store`` (text): the store written to, or for a pull the master store the
    hub took the value from.
  - ``sku`` (text); ``target`` (text): ``hub`` or ``channel``, the side changed.
  - ``field`` (text): ``quantity_available``, ``manage_inventory`` or
    ``is_in_stock`` (a Magento stock status set right).
  - ``before``, ``after`` (text, null): the values, as text.
  - ``outcome`` (text): an ``Outcome`` value; ``message`` (text, null): the
    channel's message.
  - ``at``: when the outcome was known.

``leases``: which daemon replica works on a store, until when.
  - ``store`` (text, key); ``holder`` (text): the replica's id.
  - ``acquired_at``: when this holder took the lease.
  - ``expires_at``: the lease is free after this instant.

Versions and upgrades
---------------------

``MIGRATIONS[n]`` upgrades a database from version ``n`` to ``n + 1``; the
version this code expects is ``len(MIGRATIONS)``. An empty database is version
0. On open, the missing steps run in one transaction (on PostgreSQL under an
advisory lock, so that two replicas starting at once do not both migrate), and
a failing step leaves the database as it was. A database from a newer version,
or holding these tables without a ``schema_version``, is refused with a
``StateError`` naming the version found and the one expected; it is never
read. A step, once released, is never edited: a later schema is a new step.

Leases
------

A lease table rather than PostgreSQL advisory locks: an advisory lock lives as
long as its connection, so a replica whose connection hangs (not dead) keeps
its stores, while a lease row expires after its time-to-live whatever the
network does; a row also shows who holds a store (for metrics and ``status``)
and works the same on SQLite. The expiry uses the replicas' clocks, so their
clocks must agree to well within the TTL (NTP does that).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Dialect, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from reconciler.errors import LeaseLost, StateError
from reconciler.hub.records import (
    HubRecord,
    JournalEntry,
    PullCommit,
    RunKind,
    RunRecord,
    RunStatus,
    SeenValue,
)

DEFAULT_STATE_URL = "sqlite:///.reconciler/state.db"
BUSY_TIMEOUT_S = 30
WAL_RETRY_S = 0.05
"""Wait between tries to switch a new file to WAL while another connection
holds it: SQLite answers that switch "locked" at once, without its busy
handler, so the busy timeout alone does not cover it."""
CONNECT_TIMEOUT_S = 10

_IN_BATCH = 500  # SKUs per IN (...) clause, far below every backend's limit
_MIGRATION_LOCK = 0x5EC0_4C1E  # PostgreSQL advisory lock key of migrations

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (see the module doc)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(32))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None

        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give a timezone")

        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return utc.isoformat(timespec="microseconds")
        return utc

    def process_result_value(
        self, value: Any | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None

        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)

hub_records = sa.Table(
    "hub_records",
    metadata,
    sa.Column("sku", sa.Text, primary_key=True),
    sa.Column("vendor", sa.Text, nullable=True),
    sa.Column("manage_inventory", sa.Boolean, nullable=False),
    sa.Column("quantity_available", sa.Integer, nullable=False),
    sa.Column("changed_at", UtcDateTime, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
)

seen_values = sa.Table(
    "seen_values",
    metadata,
    sa.Column("store", sa.Text, primary_key=True),
    sa.Column("sku", sa.Text, primary_key=True),
    sa.Column("managed", sa.Boolean, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=True),
    sa.Column("seen_at", UtcDateTime, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("stores", sa.JSON, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)

journal = sa.Table(
    "journal",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("store", sa.Text, nullable=False),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("journal_run_id", "run_id"),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("store", sa.Text, primary_key=True),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("acquired_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

_VERSION_1_TABLES = (hub_records, seen_values, runs, journal, leases)
KNOWN_TABLES = frozenset(t.name for t in metadata.sorted_tables)


def _create_version_1(conn: Connection) -> None:
    """Version 0 (empty) -> 1: the tables documented above."""
    metadata.create_all(conn, tables=list(_VERSION_1_TABLES))


Migration = Callable[[Connection], None]

MIGRATIONS: tuple[Migration, ...] = (_create_version_1,)


def expected_version() -> int:
    """The schema version this code reads and writes."""
    return len(MIGRATIONS)


# --- opening -----------------------------------------------------------------


def sqlite_file_absent(url: str) -> bool:
    """True for an SQLite URL whose file does not exist: opening it would
    create one, which a read-only command must not do."""
    prefix = "sqlite:///"
    path = url.removeprefix(prefix)
    return url.startswith(prefix) and path != ":memory:" and not Path(path).exists()


def open_state(
    url: str = DEFAULT_STATE_URL,
    *,
    now: Callable[[], datetime] = _utc_now,
    migrate: bool = True,
) -> SqlStateStore:
    """Open (create or upgrade) the state store at ``url``.

    ``now`` gives the timestamps of runs and leases (a test passes a fixed
    clock). ``migrate=False`` opens it read-only for a dry run (see the module
    doc). Raises ``StateError`` when the URL is refused, the database is
    unreachable or holds a schema this version cannot use; the message carries
    the URL without its password.
    """
    engine = _create_engine(url, read_only=not migrate)
    store = SqlStateStore(engine, now=now, read_only=not migrate)
    try:
        if migrate:
            store.migrate()
        else:
            store.check_readable()
    except BaseException:
        engine.dispose()
        raise
    return store


def _parse_url(url: str) -> URL:
    try:
        return sa.make_url(url)
    except ArgumentError as error:
        raise StateError(
            "state URL is not a database URL; "
            "use sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"
        ) from error


_SQLITE_FORMS = "sqlite:///relative/path.db or sqlite:////absolute/path.db"
_POSTGRES_FORM = "postgresql://user@host:5432/dbname"
_POSTGRES_ROUTING = frozenset({"host", "hostaddr", "port", "dbname", "service"})


def _create_engine(url: str, *, read_only: bool) -> Engine:
    parsed = _parse_url(url)
    backend = parsed.get_backend_name()

    if backend == "sqlite":
        return _sqlite_engine(parsed, read_only=read_only)
    if backend in ("postgresql", "postgres"):
        return _postgres_engine(parsed, read_only=read_only)

    raise StateError(
        f"state URL {_safe(parsed)}: unsupported database {backend!r}; "
        "use sqlite:///PATH or postgresql://..."
    )


def _safe(parsed: URL) -> str:
    """The URL as shown in messages and logs: never with its password.

    An SQLite URL holds no password; its path is shown as typed (SQLAlchemy
    would escape a ``:`` in it).
    """
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        return unquote(shown)
    return shown


def _postgres_engine(parsed: URL, *, read_only: bool) -> Engine:
    _check_postgres_url(parsed)

    parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    engine = sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
    if read_only:
        return engine.execution_options(postgresql_readonly=True)
    return engine


def _check_postgres_url(parsed: URL) -> None:
    """Refuse a URL that leaves libpq to pick the server or the database.

    Without a host libpq connects through the local socket, and without a
    database name it uses one named after the user: the schema would be
    migrated into whatever default database this machine happens to have.
    """
    routed = sorted(_POSTGRES_ROUTING & set(parsed.query))
    if routed:
        raise StateError(
            f"state URL {_safe(parsed)}: give the server and database in the URL "
            f"itself, not as query option(s) {', '.join(routed)}; "
            f"use {_POSTGRES_FORM}"
        )
    if not parsed.host:
        raise StateError(
            f"state URL {_safe(parsed)}: no host; name the server explicitly, "
            f"as in {_POSTGRES_FORM}"
        )
    if not parsed.database:
        raise StateError(
            f"state URL {_safe(parsed)}: no database name; name it explicitly, "
            f"as in {_POSTGRES_FORM}"
        )


def _sqlite_engine(parsed: URL, *, read_only: bool) -> Engine:
    path = _sqlite_path(parsed, create_folder=not read_only)
    if read_only:
        engine = sa.create_engine(
            parsed.set(database=str(path)),
            creator=lambda: _read_only_sqlite(path),
            poolclass=NullPool,
        )
        sa.event.listen(engine, "connect", _on_read_only_sqlite_connect)
    else:
        engine = sa.create_engine(
            parsed.set(database=str(path)),
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        sa.event.listen(engine, "connect", _on_sqlite_connect)

    sa.event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _sqlite_path(parsed: URL, *, create_folder: bool) -> Path:
    """The absolute path of the database file, its folder created if asked."""
    _check_sqlite_url(parsed)

    path = (Path.cwd() / Path(parsed.database or "").expanduser()).resolve()
    if not create_folder:
        return path

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StateError(
            f"state store {_safe(parsed)}: cannot create folder {path.parent}: "
            f"{error.strerror}"
        ) from error
    return path


def _check_sqlite_url(parsed: URL) -> None:
    """Refuse what SQLite would not read as meant (see the module doc)."""
    database = parsed.database or ""
    if database in ("", ":memory:"):
        raise StateError(
            f"state URL {_safe(parsed)}: in-memory state is refused, the hub and "
            f"journal would vanish at exit; use a file: {_SQLITE_FORMS}"
        )
    if parsed.query or database.startswith("file:"):
        raise StateError(
            f"state URL {_safe(parsed)}: query strings and file: URIs are not "
            f"accepted; use {_SQLITE_FORMS}"
        )
    if parsed.host or parsed.username or parsed.port:
        raise StateError(
            f"state URL {_safe(parsed)}: an SQLite URL names no host or user; "
            f"use {_SQLITE_FORMS}"
        )


def _read_only_sqlite(path: Path) -> sqlite3.Connection:
    """A connection that never creates the file and refuses every write.

    Not ``mode=ro``: a read-only connection to a WAL database leaves its
    ``-wal`` and ``-shm`` files behind, as it may not clean them up on close.
    ``mode=rw`` (fails when the file is absent) with ``query_only`` reads the
    same, refuses writes in SQLite itself, and leaves the folder as it was.
    """
    uri = f"file:{quote(str(path))}?mode=rw"
    return sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False
    )


def _on_read_only_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """As ``_on_sqlite_connect``, without switching the file to WAL (a write)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL, a busy timeout, foreign keys; transactions begun by SQLAlchemy.

    The sqlite3 module's own transaction handling leaves DDL outside
    transactions; switching it off and emitting BEGIN ourselves makes a
    migration step all or nothing too.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # The busy timeout first: switching a new file to WAL takes an exclusive
    # lock, which replicas opening it at once must wait for, not fail on.
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """``journal_mode=WAL``, tried again while the file is locked, up to the
    busy timeout (replicas opening a new file at once)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(WAL_RETRY_S)


def _on_sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock at BEGIN, so that two never deadlock."""
    begin = conn.get_execution_options().get("sqlite_begin", "BEGIN")
    conn.exec_driver_sql(begin)


# --- the store -----------------------------------------------------------------


def _values(record: HubRecord | None) -> tuple[bool, int] | None:
    """What a pull compares of a hub record: the two fields it writes."""
    if record is None:
        return None
    return (record.manage_inventory, record.quantity_available)


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlStateStore:
    """The ``StateStore`` on one SQLAlchemy engine; see the module doc."""

    def __init__(
        self,
        engine: Engine,
        *,
        now: Callable[[], datetime] = _utc_now,
        read_only: bool = False,
    ) -> None:
        self._engine = engine
        self._now = now
        self.read_only = read_only
        self._empty = False  # read-only and no tables: every read finds nothing
        self._password = engine.url.password
        shown = engine.url.set(drivername=engine.url.get_backend_name())
        self.url = shown.render_as_string(hide_password=True)
        self.backend = engine.dialect.name

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tools and tests that look underneath)."""
        return self._engine

    def __enter__(self) -> SqlStateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    # --- transactions and errors

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """One transaction; database failures become ``StateError``."""
        if write and self.read_only:
            raise StateError(
                f"state store {self.url} was opened read-only (dry run); "
                "refusing to write"
            )

        try:
            with self._engine.connect() as conn:
                if write and self.backend == "sqlite":
                    conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
                with conn.begin():
                    yield conn
        except SQLAlchemyError as error:
            raise StateError(
                f"state store {self.url}: {self._describe(error)}"
            ) from error

    def _describe(self, error: Exception) -> str:
        cause: BaseException = error
        if isinstance(error, DBAPIError) and error.orig is not None:
            cause = error.orig
        lines = str(cause).strip().splitlines() or [type(cause).__name__]
        text = lines[0]
        if self._password:
            text = text.replace(str(self._password), "***")
        return text

    def _upsert(
        self,
        conn: Connection,
        table: sa.Table,
        keys: Sequence[str],
        rows: Sequence[dict[str, Any]],
    ) -> int:
        """Insert or replace ``rows`` in one executemany; returns the count."""
        if not rows:
            return 0

        insert: sqlite.Insert | postgresql.Insert
        if self.backend == "sqlite":
            insert = sqlite.insert(table)
        else:
            insert = postgresql.insert(table)
        changed = {c.name: insert.excluded[c.name] for c in table.c}
        for key in keys:
            del changed[key]
        statement = insert.on_conflict_do_update(index_elements=keys, set_=changed)

        conn.execute(statement, list(rows))
        return len(rows)

    # --- schema version

    def migrate(self) -> None:
        """Bring the schema to ``expected_version()`` or refuse the database."""
        with self._transaction(write=True) as conn:
            if self.backend == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"),
                    {"key": _MIGRATION_LOCK},
                )
            found = self._found_version(conn)
            self._check_version(found)

            for version in range(found, expected_version()):
                MIGRATIONS[version](conn)
                conn.execute(
                    schema_version.insert(),
                    {"version": version + 1, "applied_at": self._now()},
                )
                log.info(
                    "event=state.migrate url=%s from_version=%d to_version=%d",
                    self.url,
                    version,
                    version + 1,
                )

    def check_readable(self) -> None:
        """Refuse, without changing anything, a database this code cannot read.

        The read-only counterpart of ``migrate``: a database at an older
        version is refused (a pass that writes upgrades it), and one with no
        tables at all, or an SQLite file that does not exist, reads as empty.
        """
        if self._absent_file():
            self._empty = True
            return

        with self._transaction(write=False) as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if not tables:
                self._empty = True
                return
            found = self._found_version(conn, create=False)

        self._check_version(found)
        if found < expected_version():
            raise StateError(
                f"state store {self.url} holds schema version {found}, older "
                f"than version {expected_version()} that this reconciler reads; "
                "run a pass without --dry-run to upgrade it"
            )

    def _absent_file(self) -> bool:
        database = self._engine.url.database
        return self.backend == "sqlite" and not Path(database or "").exists()

    def _found_version(self, conn: Connection, *, create: bool = True) -> int:
        tables = set(sa.inspect(conn).get_table_names())
        if schema_version.name in tables:
            found = conn.execute(sa.select(sa.func.max(schema_version.c.version)))
            return int(found.scalar() or 0)

        ours = sorted(tables & KNOWN_TABLES)
        if ours:
            raise StateError(
                f"state store {self.url} has tables {', '.join(ours)} but no "
                f"schema_version table: found an unversioned schema, expected "
                f"version {expected_version()}; refusing to read it"
            )
        if create:
            schema_version.create(conn)
        return 0

    def _check_version(self, found: int) -> None:
        expected = expected_version()
        if found > expected:
            raise StateError(
                f"state store {self.url} holds schema version {found}, newer "
                f"than version {expected} that this reconciler reads; upgrade "
                "the reconciler (the database was left unchanged)"
            )

    def schema_version(self) -> int:
        """The version the database holds now."""
        if self._empty:
            return 0
        with self._transaction(write=False) as conn:
            found = conn.execute(sa.select(sa.func.max(schema_version.c.version)))
            return int(found.scalar() or 0)

    # --- hub records

    def hub_records(self, skus: Collection[str] | None = None) -> dict[str, HubRecord]:
        if self._empty:
            return {}
        query = sa.select(*hub_records.c)
        with self._transaction(write=False) as conn:
            if skus is None:
                rows = conn.execute(query).all()
            else:
                wanted = list(dict.fromkeys(skus))
                rows = []
                for batch in _batches(wanted, _IN_BATCH):
                    found = conn.execute(query.where(hub_records.c.sku.in_(batch)))
                    rows.extend(found)

        # The column order is HubRecord's field order.
        return {row[0]: HubRecord(*row) for row in rows}

    def put_hub_records(self, records: Sequence[HubRecord]) -> None:
        with self._transaction(write=True) as conn:
            self._put_hub(conn, records)

    def _put_hub(self, conn: Connection, records: Sequence[HubRecord]) -> None:
        latest = {record.sku: record for record in records}
        rows = [
            {
                "sku": r.sku,
                "vendor": r.vendor,
                "manage_inventory": r.manage_inventory,
                "quantity_available": r.quantity_available,
                "changed_at": r.changed_at,
                "source": r.source,
            }
            for r in latest.values()
        ]
        self._upsert(conn, hub_records, ["sku"], rows)

    # --- last seen channel values

    def last_seen(self, store: str) -> dict[str, SeenValue]:
        if self._empty:
            return {}
        query = sa.select(*seen_values.c).where(seen_values.c.store == store)
        with self._transaction(write=False) as conn:
            rows = conn.execute(query).all()

        # The column order is SeenValue's field order.
        return {row[1]: SeenValue(*row) for row in rows}

    def record_seen(self, values: Sequence[SeenValue]) -> None:
        with self._transaction(write=True) as conn:
            self._put_seen(conn, values)

    def _put_seen(self, conn: Connection, values: Sequence[SeenValue]) -> None:
        latest = {(value.store, value.sku): value for value in values}
        rows = [
            {
                "store": v.store,
                "sku": v.sku,
                "managed": v.managed,
                "quantity": v.quantity,
                "seen_at": v.seen_at,
            }
            for v in latest.values()
        ]
        self._upsert(conn, seen_values, ["store", "sku"], rows)

    def commit_pulls(
        self,
        records: Sequence[HubRecord],
        seen: Sequence[SeenValue],
        entries: Sequence[JournalEntry],
        *,
        read: Mapping[str, HubRecord | None] | None = None,
    ) -> PullCommit:
        with self._transaction(write=True) as conn:
            commit = PullCommit()
            if read is not None:
                commit = self._compare_pulls(conn, records, read)
            skipped = commit.moved | commit.already

            self._put_hub(conn, [r for r in records if r.sku not in skipped])
            self._put_seen(conn, [v for v in seen if v.sku not in commit.moved])
            self._add_entries(conn, [e for e in entries if e.sku not in skipped])
        return commit

    def _compare_pulls(
        self,
        conn: Connection,
        records: Sequence[HubRecord],
        read: Mapping[str, HubRecord | None],
    ) -> PullCommit:
        """Each pulled SKU's hub record now, against the one the pass read.

        The rows are locked for the transaction on PostgreSQL (``FOR
        UPDATE``); SQLite's immediate transaction already holds the file.
        """
        skus = list(dict.fromkeys(record.sku for record in records))
        now: dict[str, HubRecord] = {}
        query = sa.select(*hub_records.c).with_for_update()
        for batch in _batches(skus, _IN_BATCH):
            for row in conn.execute(query.where(hub_records.c.sku.in_(batch))):
                now[row[0]] = HubRecord(*row)

        moved: set[str] = set()
        already: set[str] = set()
        for record in records:
            held = _values(now.get(record.sku))
            if held == _values(read.get(record.sku)):
                continue
            if held == _values(record):
                already.add(record.sku)
            else:
                moved.add(record.sku)
        return PullCommit(frozenset(moved), frozenset(already))

    # --- runs and journal

    def start_run(self, kind: RunKind, stores: Sequence[str]) -> int:
        row: dict[str, Any] = {
            "kind": RunKind(kind).value,
            "started_at": self._now(),
            "finished_at": None,
            "status": RunStatus.RUNNING.value,
            "stores": list(stores),
            "summary": {},
        }
        with self._transaction(write=True) as conn:
            result = conn.execute(runs.insert().returning(runs.c.id), row)
            run_id = int(result.scalar_one())

        log.info("event=state.run_started run=%d kind=%s", run_id, row["kind"])
        return run_id

    def journal(self, entries: Sequence[JournalEntry]) -> None:
        with self._transaction(write=True) as conn:
            self._add_entries(conn, entries)

    def _add_entries(self, conn: Connection, entries: Sequence[JournalEntry]) -> None:
        if not entries:
            return

        rows = [
            {
                "run_id": e.run_id,
                "store": e.store,
                "sku": e.sku,
                "target": e.target,
                "field": e.field,
                "before": e.before,
                "after": e.after,
                "outcome": e.outcome,
                "message": e.message,
                "at": e.at,
            }
            for e in entries
        ]
        conn.execute(journal.insert(), rows)

    def finish_run(
        self, run_id: int, status: RunStatus, summary: Mapping[str, Any]
    ) -> None:
        values = {
            "finished_at": self._now(),
            "status": RunStatus(status).value,
            "summary": dict(summary),
        }
        with self._transaction(write=True) as conn:
            result = conn.execute(
                runs.update().where(runs.c.id == run_id).values(**values)
            )
            if result.rowcount != 1:
                raise StateError(f"state store {self.url}: no run {run_id} to finish")

        log.info("event=state.run_finished run=%d status=%s", run_id, values["status"])

    def runs(self, limit: int = 20) -> list[RunRecord]:
        if self._empty:
            return []
        query = sa.select(*runs.c).order_by(runs.c.id.desc()).limit(limit)
        with self._transaction(write=False) as conn:
            rows = conn.execute(query).all()
        return [_run_record(row) for row in rows]

    def run(self, run_id: int) -> RunRecord | None:
        if self._empty:
            return None
        query = sa.select(*runs.c).where(runs.c.id == run_id)
        with self._transaction(write=False) as conn:
            row = conn.execute(query).first()
        return None if row is None else _run_record(row)

    def journal_of(self, run_id: int) -> list[JournalEntry]:
        if self._empty:
            return []
        columns = [c for c in journal.c if c.name != "id"]
        query = (
            sa.select(*columns).where(journal.c.run_id == run_id).order_by(journal.c.id)
        )
        with self._transaction(write=False) as conn:
            rows = conn.execute(query).all()

        # The column order is JournalEntry's field order.
        return [JournalEntry(*row) for row in rows]

    # --- leases

    def acquire_lease(self, store: str, holder: str, ttl_s: float) -> bool:
        """Take or extend the lease of ``store``; False while another holds it.

        A lease is free when nobody holds it or its holder let it expire.
        """
        now = self._now()
        row = {
            "store": store,
            "holder": holder,
            "acquired_at": now,
            "expires_at": now + _ttl(ttl_s),
        }
        insert: sqlite.Insert | postgresql.Insert
        if self.backend == "sqlite":
            insert = sqlite.insert(leases)
        else:
            insert = postgresql.insert(leases)
        same_holder = leases.c.holder == insert.excluded.holder
        statement = insert.on_conflict_do_update(
            index_elements=["store"],
            set_={
                "holder": insert.excluded.holder,
                "expires_at": insert.excluded.expires_at,
                "acquired_at": sa.case(
                    (same_holder, leases.c.acquired_at),
                    else_=insert.excluded.acquired_at,
                ),
            },
            where=sa.or_(leases.c.holder == holder, leases.c.expires_at <= now),
        ).returning(leases.c.holder)  # no row back: held by another

        with self._transaction(write=True) as conn:
            taken = conn.execute(statement, row).first() is not None

        log.debug(
            "event=state.lease_acquire store=%s holder=%s taken=%s",
            store,
            holder,
            taken,
        )
        return taken

    def renew_lease(self, store: str, holder: str, ttl_s: float) -> None:
        """Extend a held lease, or raise ``LeaseLost`` when it is not held."""
        now = self._now()
        statement = (
            leases.update()
            .where(
                leases.c.store == store,
                leases.c.holder == holder,
                leases.c.expires_at > now,
            )
            .values(expires_at=now + _ttl(ttl_s))
        )
        with self._transaction(write=True) as conn:
            renewed = conn.execute(statement).rowcount == 1

        if not renewed:
            raise LeaseLost(
                f"lease of store {store} is no longer held by {holder} "
                "(expired or taken by another replica)"
            )

    def release_lease(self, store: str, holder: str) -> None:
        """Give the lease up at once; a lease held by another is left alone."""
        statement = leases.delete().where(
            leases.c.store == store, leases.c.holder == holder
        )
        with self._transaction(write=True) as conn:
            conn.execute(statement)

    def lease_holder(self, store: str) -> str | None:
        """Who holds the lease of ``store`` now, if anyone."""
        if self._empty:
            return None
        query = sa.select(leases.c.holder).where(
            leases.c.store == store, leases.c.expires_at > self._now()
        )
        with self._transaction(write=False) as conn:
            return conn.execute(query).scalar_one_or_none()


def _ttl(ttl_s: float) -> timedelta:
    if ttl_s <= 0:
        raise ValueError(f"lease time-to-live must be positive, got {ttl_s}")
    return timedelta(seconds=ttl_s)


def _run_record(row: sa.Row[Any]) -> RunRecord:
    return RunRecord(
        id=row.id,
        kind=RunKind(row.kind),
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=RunStatus(row.status),
        stores=tuple(row.stores),
        summary=dict(row.summary),
    )
