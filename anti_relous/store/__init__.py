"""The only user of sqlite3: the line's durable memory, opened and migrated in one place.

``db`` opens (WAL, busy timeout) and translates errors, ``migrations`` orders the schema;
``inbound``, ``decisions``, ``outbox``, ``line``, ``evidence`` and ``reports`` each serve one part
of the line. Imports: ``policy`` (its value types), ``sms``, ``numbers`` and ``config``; never
``modem``, ``service`` or the tools.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from anti_relous.store.db import (
    Database,
    StoreBusy,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreUnavailable,
    StoreVersionError,
    connect,
    translate,
)
from anti_relous.store.decisions import Caps, Decisions, PlannedSms
from anti_relous.store.evidence import Evidence, VerifyResult
from anti_relous.store.inbound import Inbound, IngestResult
from anti_relous.store.line import BlockRow, Event, Line
from anti_relous.store.migrations import LATEST_VERSION, migrate, schema_version
from anti_relous.store.outbox import Outbox, OutboxItem
from anti_relous.store.pack import PackReads
from anti_relous.store.reports import Reports, SenderMatch

__all__ = [
    "BlockRow",
    "Caps",
    "Event",
    "IngestResult",
    "OutboxItem",
    "PlannedSms",
    "SenderMatch",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreFull",
    "StoreNotFound",
    "StoreUnavailable",
    "StoreVersionError",
    "VerifyResult",
]


class Store:
    """The database, grouped by what the line does with it.

    ``inbound`` (ingest, assembly), ``decisions`` (usage, recording), ``outbox`` (sending),
    ``line`` (pause, blocks, events, daemon state), ``evidence`` (chain, purge, export),
    ``reports`` (figures and listings) and ``pack`` (the complaint pack's reads).
    """

    def __init__(self, db: Database):
        self.db = db
        self.path = db.path
        self.inbound = Inbound(db)
        self.decisions = Decisions(db)
        self.outbox = Outbox(db)
        self.line = Line(db)
        self.evidence = Evidence(db)
        self.reports = Reports(db)
        self.pack = PackReads(db)

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Store:
        """Open (``create``: and create 0660 if missing) and migrate the database at ``path``."""
        conn = connect(path, create=create)
        try:
            version = schema_version(conn)
            if version > LATEST_VERSION:
                raise StoreVersionError(
                    f"{path} was written by a newer anti-relous (schema {version}, this one "
                    f"knows {LATEST_VERSION}): upgrade anti-relous"
                )
            migrate(conn)
        except sqlite3.Error as error:
            conn.close()
            raise translate(error, path) from error
        except BaseException:
            conn.close()
            raise
        return cls(Database(conn, path))

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[None]:
        """Group several store calls into one atomic write."""
        with self.db.atomic(durable=durable):
            yield

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
