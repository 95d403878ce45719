"""The one place that opens SQLite: pragmas, file modes, transactions, error translation."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

from anti_relous.errors import JOIN_SERVICE_GROUP, AntiRelousError

#: How long a writer waits for another (the daemon vs an operator's CLI) before giving up.
BUSY_TIMEOUT_MS = 5000
#: The daemon creates the DB 0660 so operators in its group can pause and block (DESIGN 3).
DB_FILE_MODE = 0o660


class StoreError(AntiRelousError):
    """The database cannot be used right now; the message says why and what to do."""


class StoreNotFound(StoreError):
    """No database where the configuration points."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(
            f"no database at {path}: start the daemon once (`anti-relous run`) or create it with "
            "`anti-relous init`, or fix [storage] database in the configuration"
        )


class StoreFull(StoreError):
    """The disk (or the database's page limit) is full."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(
            f"the disk holding {path} is full: free some space (old logs, `anti-relous export` "
            "then a shorter [storage] retention); until then SMS stay on the SIM"
        )


class StoreBusy(StoreError):
    """Another process held the database longer than the busy timeout."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(
            f"{path} is locked by another process (a long export or an open sqlite3 shell?): "
            "retry in a moment"
        )


class StoreUnavailable(StoreError):
    """The file cannot be opened, read or written (permissions, I/O error, corruption)."""

    def __init__(self, path: Path, detail: str):
        self.path = path
        super().__init__(f"cannot use the database {path}: {detail}")


class StoreVersionError(StoreError):
    """The database was written by a newer anti-relous."""


def to_db(moment: datetime) -> str:
    """A fixed-width UTC text that sorts like time: ``2026-11-28T14:00:00.000000Z``."""
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        moment = moment.astimezone(UTC)
    # isoformat() and fromisoformat() are C code; strftime/strptime cost 2.5 and 8 us a call,
    # paid several times per decision (benchmarks/flood.py). "+00:00" is spelled "Z".
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an INSERT just gave (always set after a successful single-row INSERT)."""
    rowid = cursor.lastrowid
    if rowid is None:
        raise RuntimeError("no row was inserted")
    return rowid


@overload
def from_db(text: str) -> datetime: ...
@overload
def from_db(text: None) -> None: ...
@overload
def from_db(text: str | None) -> datetime | None: ...
def from_db(text: str | None) -> datetime | None:
    """Read back what ``to_db`` wrote (a NOT NULL column reads back as a datetime)."""
    if text is None:
        return None
    return datetime.fromisoformat(text)


#: The page cache of a connection, in KiB.
CACHE_KIB = 64 * 1024


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open ``path`` with the pragmas every user shares (WAL, busy timeout, foreign keys).

    With ``create`` a missing file is created with mode 0660 first: SQLite would create it 0644
    minus the umask, and its -wal/-shm files copy the database file's mode.
    """
    if not _exists(path):
        if not create:
            raise StoreNotFound(path)
        _create_file(path)
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Each decision reads a dozen indexes of a history that may run into gigabytes: the
        # default 2 MB page cache re-read their pages from disk at every message (decide p50
        # 0.68 ms at 5,000,000 messages; see benchmarks/policy_store.py). Pages are allocated
        # as used, so a short CLI command does not pay for it.
        conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
    except sqlite3.Error as error:
        raise translate(error, path) from error
    return conn


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; a directory this user cannot enter is a StoreUnavailable."""
    try:
        path.stat()
    except FileNotFoundError:
        return False
    except PermissionError:
        raise StoreUnavailable(
            path, f"permission denied on {_closed_directory(path)}: {JOIN_SERVICE_GROUP}"
        ) from None
    except OSError as error:
        raise StoreUnavailable(path, error.strerror or str(error)) from None
    return True


def _closed_directory(path: Path) -> Path:
    """The first directory above ``path`` this user may not enter (its own, failing that)."""
    for directory in reversed(path.parents):
        if not os.access(directory, os.X_OK):
            return directory
    return path.parent


def _create_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL (and O_NOFOLLOW, to say so) fail on a link instead of creating its target.
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_WRONLY, DB_FILE_MODE)
    except FileExistsError:
        if path.is_symlink() and not path.exists():
            # SQLite would create the link's target 0644, wherever it points.
            raise StoreUnavailable(
                path,
                f"it is a symbolic link to {path.readlink()}, which does not exist: remove "
                "the link, or point [storage] database at the real file",
            ) from None
        return
    except PermissionError:
        raise StoreUnavailable(
            path,
            f"permission denied creating it in {path.parent}: run as the service user, or "
            f"{JOIN_SERVICE_GROUP}",
        ) from None
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise StoreFull(path) from None
        raise StoreUnavailable(path, error.strerror or str(error)) from None
    try:
        os.fchmod(fd, DB_FILE_MODE)  # the umask trimmed the mode os.open asked for
    finally:
        os.close(fd)


def translate(error: sqlite3.Error, path: Path) -> StoreError:
    """Turn an sqlite3 exception into the StoreError an operator can act on."""
    extended = getattr(error, "sqlite_errorcode", None)
    code = extended & 0xFF if extended is not None else None  # the primary result code
    text = str(error)
    if code == sqlite3.SQLITE_FULL or "database or disk is full" in text:
        return StoreFull(path)
    if code == sqlite3.SQLITE_BUSY or "database is locked" in text:
        return StoreBusy(path)
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM) or "readonly" in text:
        return StoreUnavailable(
            path,
            f"read-only for this user: run as the service user, or {JOIN_SERVICE_GROUP}",
        )
    if code == sqlite3.SQLITE_CANTOPEN:
        return StoreUnavailable(path, "cannot open the file (missing directory or permissions)")
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreUnavailable(
            path, "the file is corrupted or not an anti-relous database: restore a backup"
        )
    return StoreUnavailable(path, text)


class Database:
    """A connection plus the transaction discipline of the store."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, scratch: bool = False):
        self.conn = conn
        self.path = path
        #: A throwaway database (``anti-relous replay``): nothing is fsynced, durable or not.
        self.scratch = scratch
        #: Called when a write transaction fails: memory of what it wrote must go with it.
        self.rollback_hooks: list[Callable[[], None]] = []
        if scratch:
            conn.execute("PRAGMA synchronous = OFF")

    @contextlib.contextmanager
    def atomic(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction, or join the one already open.

        ``durable`` commits with ``synchronous=FULL`` (fsync of the WAL before COMMIT returns):
        used where the next step is irreversible, such as deleting SMS from the SIM or sending.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        try:
            durable = durable and not self.scratch
            if durable:
                self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                for forget in self.rollback_hooks:
                    forget()
                raise
            finally:
                if durable:
                    self.conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Read statements with sqlite errors translated (no transaction needed in WAL)."""
        try:
            yield self.conn
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    def close(self) -> None:
        """Close the connection (checkpointing the WAL when last)."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
