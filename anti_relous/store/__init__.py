"""The only user of sqlite3: the line's durable memory, opened and migrated in one place.

``db`` opens (WAL, busy timeout) and translates errors, ``migrations`` orders the schema;
``inbound``, ``decisions``, ``outbox``, ``line``, ``evidence``, ``reports``, ``pack``, ``tally``,
``alerts`` and ``remote`` each serve one part of the line. Imports: ``policy`` (its value
types), ``alerts`` (their rate limits), ``sms``, ``numbers``, ``coding`` and ``config``; never
``modem``, ``service``, ``remote`` or the tools.
"""

from __future__ import annotations

import contextlib
import importlib
import sqlite3
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

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
from anti_relous.store.migrations import LATEST_VERSION, migrate, schema_version

if TYPE_CHECKING:
    from anti_relous.store.alerts import Alerts
    from anti_relous.store.campaigns import CampaignIndex, CampaignRow
    from anti_relous.store.decisions import Decisions, PlannedSms
    from anti_relous.store.evidence import Evidence, VerifyResult
    from anti_relous.store.inbound import Inbound, IngestResult
    from anti_relous.store.line import AllowRow, BlockRow, Event, Line
    from anti_relous.store.outbox import Caps, Outbox, OutboxItem
    from anti_relous.store.pack import PackReads
    from anti_relous.store.remote import AdminChannel, Credential
    from anti_relous.store.reports import Reports, SenderMatch
    from anti_relous.store.tally import Tallies, Tally

#: The value types of the parts, imported when first asked for (PEP 562): a command that only
#: reads the line's state does not import the ingest, the decisions or the evidence chain.
_LAZY = {
    "AdminChannel": "anti_relous.store.remote",
    "Alerts": "anti_relous.store.alerts",
    "AllowRow": "anti_relous.store.line",
    "BlockRow": "anti_relous.store.line",
    "CampaignRow": "anti_relous.store.campaigns",
    "Caps": "anti_relous.store.outbox",
    "Credential": "anti_relous.store.remote",
    "Event": "anti_relous.store.line",
    "IngestResult": "anti_relous.store.inbound",
    "OutboxItem": "anti_relous.store.outbox",
    "PlannedSms": "anti_relous.store.decisions",
    "SenderMatch": "anti_relous.store.reports",
    "Tally": "anti_relous.store.tally",
    "VerifyResult": "anti_relous.store.evidence",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = [
    "AdminChannel",
    "Alerts",
    "AllowRow",
    "BlockRow",
    "CampaignRow",
    "Caps",
    "Credential",
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
    "Tally",
    "VerifyResult",
]


class Store:
    """The database, grouped by what the line does with it.

    ``inbound`` (ingest, assembly), ``campaigns`` (near-identical texts), ``decisions`` (usage,
    the attack regime, recording), ``outbox`` (sending), ``line`` (pause, blocks, allowlist,
    events, daemon state), ``evidence`` (chain, purge, export), ``reports`` (figures and
    listings), ``pack`` (the complaint pack's reads), ``alerts`` (when each alert last left),
    ``remote`` (the admin channel) and ``tallies`` (running totals for the metrics). Each part's
    module is imported when the part is first used.
    """

    def __init__(self, db: Database):
        self.db = db
        self.path = db.path

    @cached_property
    def campaigns(self) -> CampaignIndex:
        """Near-identical texts: the campaign each new message joins."""
        from anti_relous.store.campaigns import CampaignIndex

        return CampaignIndex(self.db)

    @cached_property
    def inbound(self) -> Inbound:
        """Ingest and multipart assembly."""
        from anti_relous.store.inbound import Inbound

        return Inbound(self.db, self.campaigns)

    @cached_property
    def decisions(self) -> Decisions:
        """Usage snapshots, the attack regime, and the recording of decisions."""
        from anti_relous.store.decisions import Decisions

        return Decisions(self.db, self.campaigns)

    @cached_property
    def outbox(self) -> Outbox:
        """SMS to send, at most once."""
        from anti_relous.store.outbox import Outbox

        return Outbox(self.db)

    @cached_property
    def line(self) -> Line:
        """Pause, flood mode, blocks, events and the daemon's published state."""
        from anti_relous.store.line import Line

        return Line(self.db)

    @cached_property
    def evidence(self) -> Evidence:
        """The chain: verification, retention purge, export."""
        from anti_relous.store.evidence import Evidence

        return Evidence(self.db)

    @cached_property
    def reports(self) -> Reports:
        """Counts and listings for operators."""
        from anti_relous.store.reports import Reports

        return Reports(self.db)

    @cached_property
    def pack(self) -> PackReads:
        """What the complaint pack reads."""
        from anti_relous.store.pack import PackReads

        return PackReads(self.db)

    @cached_property
    def alerts(self) -> Alerts:
        """Alerts queued under their rate limits."""
        from anti_relous.store.alerts import Alerts

        return Alerts(self.db)

    @cached_property
    def remote(self) -> AdminChannel:
        """The admin SMS channel: credentials, code steps used, failures, the lock."""
        from anti_relous.store.remote import AdminChannel

        return AdminChannel(self.db)

    @cached_property
    def tallies(self) -> Tallies:
        """Running totals of messages and decisions, for the metrics textfile."""
        from anti_relous.store.tally import Tallies

        return Tallies(self.db)

    @classmethod
    def open(cls, path: Path, *, create: bool = True, scratch: bool = False) -> Store:
        """Open (``create``: and create 0660 if missing) and migrate the database at ``path``.

        ``scratch`` is for throwaway databases (a replay): commits skip every fsync.
        """
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
        return cls(Database(conn, path, scratch=scratch))

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
