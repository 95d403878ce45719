"""Campaigns in the store: each new message joins the campaign of its text as it is stored.

The matching is ``policy.campaigns`` (normal forms, RapidFuzz leader clustering); this module
keeps the representatives of the campaigns active within the window in memory, so that joining
costs one fuzzy scan of recent representatives and a few indexed writes, not a scan of the
history. Only the daemon's worker stores messages, but the index re-reads what another writer
may have added (new rows since the last look) before each use.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from anti_relous.policy import CampaignUsage
from anti_relous.policy import campaigns as matching
from anti_relous.store.db import Database, from_db, inserted_id, to_db

DEFAULT_WINDOW = timedelta(hours=24)
#: How often representatives gone quiet are forgotten (they only cost matching time meanwhile).
PRUNE_EVERY = timedelta(minutes=10)
#: Counting a campaign's senders stops here: the rules need to know whether a threshold of a
#: few is passed, and a raid's campaign has thousands of them.
COUNT_CAP = 100


@dataclass
class _Representative:
    id: int
    normal: str
    last_at: str


@dataclass(frozen=True)
class CampaignRow:
    """A campaign as operators see it (``stats``, the export, the report)."""

    id: int
    text: str | None
    short: bool
    first_at: datetime
    last_at: datetime
    messages: int
    senders: int
    flagged_at: datetime | None


class CampaignIndex:
    """Assigns campaigns to new messages; answers what the policy needs about one."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.similarity = matching.SIMILARITY
        self.window = DEFAULT_WINDOW
        self._recent: list[_Representative] = []
        self._exact: dict[str, _Representative] = {}
        self._seen_id = 0
        self._pruned_at = ""
        # A campaign created in a transaction that then failed (a full disk) must not be
        # remembered: its id would be reused for a row that does not exist.
        db.rollback_hooks.append(self.forget)

    def forget(self) -> None:
        """Drop what is held in memory; the next use re-reads it from the database."""
        self._recent, self._exact, self._seen_id, self._pruned_at = [], {}, 0, ""

    def configure(self, similarity: int, window: timedelta) -> None:
        """Use the configuration's ``[attack] similarity`` and ``campaign_window``."""
        self.similarity, self.window = similarity, window

    def assign(
        self, conn: sqlite3.Connection, text: str, sender: str | None, received_at: str
    ) -> int | None:
        """The campaign ``text`` joins (created if none matches), inside the caller's write."""
        normal = matching.normalise(text)
        if not normal:
            return None
        self._refresh(conn, received_at)
        found = self._exact.get(normal)
        if found is None:
            candidates = [r.normal for r in self._recent]
            index = matching.best_match(normal, candidates, self.similarity)
            found = self._recent[index] if index is not None else None
        if found is None:
            cursor = conn.execute(
                "INSERT INTO campaigns (representative, text, short, first_at, last_at, messages)"
                " VALUES (?, ?, ?, ?, ?, 1)",
                (normal, text, int(matching.is_short(normal)), received_at, received_at),
            )
            found = _Representative(inserted_id(cursor), normal, received_at)
            self._recent.append(found)
            self._seen_id = found.id
        else:
            conn.execute(
                "UPDATE campaigns SET last_at = max(last_at, ?), messages = messages + 1"
                " WHERE id = ?",
                (received_at, found.id),
            )
            found.last_at = max(found.last_at, received_at)
        self._exact.setdefault(normal, found)
        if sender is not None:
            conn.execute(
                "INSERT INTO campaign_senders (campaign_id, sender, last_at, first_contact)"
                " VALUES (?, ?, ?, coalesce((SELECT arrivals = 1 FROM senders WHERE sender = ?),"
                " 0)) ON CONFLICT (campaign_id, sender) DO UPDATE"
                " SET last_at = max(last_at, excluded.last_at)",
                (found.id, sender, received_at, sender),
            )
        return found.id

    def _refresh(self, conn: sqlite3.Connection, now: str) -> None:
        """Every few minutes: forget representatives gone quiet, and read any another writer
        added (only the daemon's worker stores messages; a query or a filter at each message
        cost more than the matching itself)."""
        if now < self._pruned_at:
            return
        moment = from_db(now)
        cutoff = to_db(moment - self.window)
        self._recent = [r for r in self._recent if r.last_at > cutoff]
        self._exact = {n: r for n, r in self._exact.items() if r.last_at > cutoff}
        self._pruned_at = to_db(moment + PRUNE_EVERY)
        rows = conn.execute(
            "SELECT id, representative, last_at FROM campaigns WHERE id > ? AND last_at > ?"
            " ORDER BY id",
            (self._seen_id, cutoff),
        ).fetchall()
        for campaign_id, normal, last_at in rows:
            representative = _Representative(campaign_id, normal, last_at)
            self._recent.append(representative)
            self._exact.setdefault(normal, representative)
            self._seen_id = max(self._seen_id, campaign_id)

    def usage(
        self, conn: sqlite3.Connection, campaign_id: int, now: datetime, window: timedelta
    ) -> CampaignUsage:
        """The campaign's distinct senders within ``window`` and within the last hour (counted up
        to ``COUNT_CAP``)."""
        short, flagged_at, senders, last_hour, new_last_hour = conn.execute(
            "SELECT short, flagged_at,"
            " (SELECT count(*) FROM (SELECT 1 FROM campaign_senders"
            "  WHERE campaign_id = :id AND last_at > :w LIMIT :cap)),"
            " (SELECT count(*) FROM (SELECT 1 FROM campaign_senders"
            "  WHERE campaign_id = :id AND last_at > :h LIMIT :cap)),"
            " (SELECT count(*) FROM (SELECT 1 FROM campaign_senders"
            "  WHERE campaign_id = :id AND last_at > :h AND first_contact = 1 LIMIT :cap))"
            " FROM campaigns WHERE id = :id",
            {
                "id": campaign_id,
                "w": to_db(now - window),
                "h": to_db(now - timedelta(hours=1)),
                "cap": COUNT_CAP,
            },
        ).fetchone()
        return CampaignUsage(
            id=campaign_id,
            short=bool(short),
            senders=senders,
            senders_last_hour=last_hour,
            new_senders_last_hour=new_last_hour,
            flagged_at=from_db(flagged_at),
        )

    def largest(self, since: datetime | None = None, limit: int = 10) -> list[CampaignRow]:
        """Campaigns with the most senders (found ones first), for operators."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT c.id, c.text, c.short, c.first_at, c.last_at, c.messages, c.flagged_at,"
                " (SELECT count(*) FROM campaign_senders s WHERE s.campaign_id = c.id)"
                " AS senders FROM campaigns c WHERE c.last_at >= ?"
                " ORDER BY c.flagged_at IS NULL, senders DESC, c.messages DESC LIMIT ?",
                (to_db(since) if since else "", limit),
            ).fetchall()
        return [
            CampaignRow(
                id=campaign_id,
                text=text,
                short=bool(short),
                first_at=from_db(first_at),
                last_at=from_db(last_at),
                messages=messages,
                senders=senders,
                flagged_at=from_db(flagged_at),
            )
            for campaign_id, text, short, first_at, last_at, messages, flagged_at, senders in rows
        ]
