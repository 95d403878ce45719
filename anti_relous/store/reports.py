"""Read-only reports for operators: activity counts, statistics, the hourly chart, the inbox.

Every query on messages, parts and the outbox rides an index (``messages_time``,
``messages_sender_time``, ``outbox_time``, ``inbound_parts_message``): the database may hold
millions of messages and ``anti-relous status`` must stay instant. (Blocks are few: one per
abusive number.) Ranges are ``since`` inclusive, ``until`` exclusive,
None meaning unbounded; inbound messages count by their reception time and outbound SMS by the
time they were queued (an SMS counts against the caps from the moment it is queued).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import field
from datetime import UTC, datetime

from anti_relous.lazyclass import frozen_dataclass
from anti_relous.store.db import Database, from_db, to_db
from anti_relous.store.outbox import month_key


@frozen_dataclass
class SenderMatch:
    """Which senders a query keeps: one sender exactly, or every number starting with a prefix.

    ``target`` is the sender as the store keys it: E.164 for numbers, the text for names.
    """

    target: str
    is_prefix: bool = False

    def clause(self, column: str) -> tuple[str, list[str]]:
        """SQL keeping the rows whose ``column`` matches, and its parameters."""
        if self.is_prefix:
            return f"substr({column}, 1, length(?)) = ?", [self.target, self.target]
        return f"{column} = ?", [self.target]

    def matches(self, sender: str | None) -> bool:
        """The same test in Python."""
        if sender is None:
            return False
        return sender.startswith(self.target) if self.is_prefix else sender == self.target


#: A sender filter as callers give it: a sender exactly (str), a SenderMatch, or None for all.
Senders = str | SenderMatch | None


def sender_match(senders: Senders) -> SenderMatch | None:
    """``senders`` as a SenderMatch (a plain string is one sender exactly)."""
    return SenderMatch(senders) if isinstance(senders, str) else senders


@frozen_dataclass
class Activity:
    """What happened since one moment (the start of today, of this hour)."""

    inbound_messages: int
    #: Replies queued since then (they count against the caps from that moment)...
    replies_queued: int
    #: ...and those of them the modem accepted.
    replies_sent: int


@frozen_dataclass
class Summary:
    """The figures of ``anti-relous stats`` over one range."""

    inbound_messages: int
    #: PDUs stored: the parts of the range's messages, status reports and parts still awaiting
    #: the rest of their long SMS.
    inbound_parts: int
    senders: int
    replies_sent: int
    replies_failed: int
    #: Replies whose fate is unknown (interrupted while sending): never resent.
    replies_unknown: int
    replies_pending: int
    #: SMS (replies, alerts, manual) the modem accepted, and the parts they took.
    sms_sent: int
    parts_sent: int
    #: reason code -> messages decided with it.
    decisions: dict[str, int] = field(default_factory=dict)
    #: Distinct numbers (not prefixes) blocked within the range, and how many automatically.
    blocked_numbers: int = 0
    auto_blocked_numbers: int = 0


@frozen_dataclass
class HourRow:
    """One hour of the chart: its start (UTC) and what arrived and left."""

    start: datetime
    inbound: int
    replies: int


@frozen_dataclass
class MessageRow:
    """One inbound message as the inbox lists it."""

    id: int
    received_at: datetime
    kind: str
    sender: str | None
    sender_raw: str | None
    parts: int
    text: str | None
    #: None while undecided.
    reason: str | None
    detail: str | None
    #: The state of its reply in the outbox, None when none was queued.
    reply_state: str | None
    #: Its link in the evidence chain.
    chain_hash: str
    #: The campaign its text joined as it arrived (None for messages stored before campaigns).
    campaign_id: int | None = None


def period_clause(
    column: str,
    since: datetime | None,
    until: datetime | None,
    senders: Senders = None,
    sender_column: str = "sender",
) -> tuple[str, list[str]]:
    """SQL for "``column`` within [since, until) and ``sender_column`` among ``senders``"."""
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(to_db(since))
    if until is not None:
        clauses.append(f"{column} < ?")
        params.append(to_db(until))
    match = sender_match(senders)
    if match is not None:
        clause, values = match.clause(sender_column)
        clauses.append(clause)
        params.extend(values)
    return " AND ".join(clauses) or "1", params


def _scalar(conn: sqlite3.Connection, query: str, params: Iterable[object] = ()) -> int:
    value = conn.execute(query, tuple(params)).fetchone()[0]
    return int(value or 0)


def summary_of(
    conn: sqlite3.Connection,
    since: datetime | None,
    until: datetime | None,
    senders: Senders = None,
    *,
    inbound_messages: int,
    message_parts: int,
    sender_count: int,
    decisions: dict[str, int],
) -> Summary:
    """A Summary from the message figures given and the range's loose parts, outbox and blocks
    (cheap: a partial index, the outbox and the blocks are small next to the messages)."""
    # Parts not (yet) in a message: status reports and halves of long SMS. The partial
    # index on message_id serves "IS NULL", so this never scans the history.
    loose_in, loose_params = period_clause("received_at", since, until, senders, "sender_raw")
    loose = _scalar(
        conn,
        f"SELECT count(*) FROM inbound_parts WHERE message_id IS NULL AND {loose_in}",
        loose_params,
    )
    outbox_in, outbox_params = period_clause("created_at", since, until, senders, "recipient")
    by_state = {
        (kind, state): (count, part_count)
        for kind, state, count, part_count in conn.execute(
            "SELECT kind, state, count(*), coalesce(sum(parts), 0) FROM outbox"
            f" WHERE {outbox_in} GROUP BY kind, state",
            outbox_params,
        )
    }
    blocks_in, block_params = period_clause("created_at", since, until, senders, "target")
    blocked, auto_blocked = conn.execute(
        "SELECT count(DISTINCT target), count(DISTINCT CASE WHEN automatic THEN target END)"
        f" FROM blocks WHERE is_prefix = 0 AND {blocks_in}",
        block_params,
    ).fetchone()

    def replies(*states: str) -> int:
        return sum(by_state.get(("reply", state), (0, 0))[0] for state in states)

    sent = [value for (_, state), value in by_state.items() if state == "sent"]
    return Summary(
        inbound_messages=inbound_messages,
        inbound_parts=message_parts + loose,
        senders=sender_count,
        replies_sent=replies("sent"),
        replies_failed=replies("failed"),
        replies_unknown=replies("unknown"),
        replies_pending=replies("queued", "sending"),
        sms_sent=sum(count for count, _ in sent),
        parts_sent=sum(part_count for _, part_count in sent),
        decisions=decisions,
        blocked_numbers=int(blocked),
        auto_blocked_numbers=int(auto_blocked),
    )


class Reports:
    """Counts and listings over the store, for ``status``, ``stats``, ``inbox`` and ``export``."""

    def __init__(self, db: Database):
        self._db = db

    def activity_since(self, start: datetime) -> Activity:
        """Inbound messages and replies since ``start``."""
        at = to_db(start)
        with self._db.reading() as conn:
            inbound = _scalar(conn, "SELECT count(*) FROM messages WHERE received_at >= ?", [at])
            queued, sent = conn.execute(
                "SELECT count(*), coalesce(sum(state = 'sent'), 0) FROM outbox"
                " WHERE created_at >= ? AND kind = 'reply'",
                (at,),
            ).fetchone()
        return Activity(inbound, int(queued), int(sent))

    def last_received(self) -> datetime | None:
        """When the newest message arrived (the index on received_at answers at once)."""
        with self._db.reading() as conn:
            newest = conn.execute("SELECT max(received_at) FROM messages").fetchone()[0]
        return from_db(newest)

    def summary(
        self, since: datetime | None = None, until: datetime | None = None, senders: Senders = None
    ) -> Summary:
        """The figures of one range, of every sender or of ``senders`` only.

        With ``senders``, replies and SMS sent count those to them, blocks those of them, and
        loose parts those whose sender, as received, matches.
        """
        messages_in, message_params = period_clause("received_at", since, until, senders)
        with self._db.reading() as conn:
            inbound, parts, sender_count = conn.execute(
                "SELECT count(*), coalesce(sum(parts), 0), count(DISTINCT sender)"
                f" FROM messages WHERE {messages_in}",
                message_params,
            ).fetchone()
            decided_in, decided_params = period_clause(
                "m.received_at", since, until, senders, "m.sender"
            )
            decisions = dict(
                conn.execute(
                    "SELECT d.reason, count(*) FROM messages m"
                    f" JOIN decisions d ON d.message_id = m.id WHERE {decided_in}"
                    " GROUP BY d.reason ORDER BY count(*) DESC, d.reason",
                    decided_params,
                ).fetchall()
            )
            return summary_of(
                conn,
                since,
                until,
                senders,
                inbound_messages=int(inbound),
                message_parts=int(parts),
                sender_count=int(sender_count),
                decisions={str(reason): int(count) for reason, count in decisions.items()},
            )

    def hourly(self, since: datetime | None = None, until: datetime | None = None) -> list[HourRow]:
        """Inbound messages and queued replies per UTC hour, oldest first; idle hours omitted."""
        messages_in, message_params = period_clause("received_at", since, until)
        outbox_in, outbox_params = period_clause("created_at", since, until)
        # The stored times are fixed-width UTC text: the first 13 characters name the hour.
        with self._db.reading() as conn:
            inbound = dict(
                conn.execute(
                    f"SELECT substr(received_at, 1, 13), count(*) FROM messages"
                    f" WHERE {messages_in} GROUP BY 1",
                    message_params,
                ).fetchall()
            )
            replies = dict(
                conn.execute(
                    f"SELECT substr(created_at, 1, 13), count(*) FROM outbox"
                    f" WHERE kind = 'reply' AND {outbox_in} GROUP BY 1",
                    outbox_params,
                ).fetchall()
            )
        return [
            HourRow(
                datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC),
                inbound.get(hour, 0),
                replies.get(hour, 0),
            )
            for hour in sorted(inbound.keys() | replies.keys())
        ]

    def message(self, message_id: int) -> MessageRow | None:
        """One message by id, as the inbox shows it."""
        rows = self._message_rows("WHERE m.id = ?", [message_id], 1)
        return rows[0] if rows else None

    def messages(
        self,
        *,
        sender: str | None = None,
        reason: str | None = None,
        since: datetime | None = None,
        last: int = 20,
    ) -> list[MessageRow]:
        """The ``last`` messages, newest first, optionally from one sender, with one reason,
        received since a moment.

        ``reason`` is a reason code, or ``"undecided"`` for messages awaiting their decision.
        """
        clauses: list[str] = []
        params: list[object] = []
        if since is not None:
            clauses.append("m.received_at >= ?")
            params.append(to_db(since))
        if sender is not None:
            clauses.append("m.sender = ?")
            params.append(sender)
        if reason == "undecided":
            clauses.append("d.reason IS NULL")
        elif reason is not None:
            clauses.append("d.reason = ?")
            params.append(reason)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._message_rows(where, params, last)

    def period_messages(
        self, since: datetime | None, until: datetime | None, senders: Senders = None
    ) -> list[MessageRow]:
        """Every message of a range (of ``senders`` only, if given), in chain order."""
        where, params = period_clause("m.received_at", since, until, senders, "m.sender")
        return self._message_rows(f"WHERE {where}", params, None)

    def _message_rows(
        self, where: str, params: Sequence[object], limit: int | None
    ) -> list[MessageRow]:
        """``limit`` rows newest first, or with None every row oldest first."""
        order = "ORDER BY m.id DESC LIMIT ?" if limit is not None else "ORDER BY m.id"
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT m.id, m.received_at, m.kind, m.sender, m.sender_raw, m.parts, m.text,"
                " d.reason, d.detail, o.state, m.chain_hash, m.campaign_id FROM messages m"
                " LEFT JOIN decisions d ON d.message_id = m.id"
                " LEFT JOIN outbox o ON o.message_id = m.id AND o.kind = 'reply'"
                f" {where} {order}",
                (*params, limit) if limit is not None else params,
            ).fetchall()
        return [
            MessageRow(
                id=message_id,
                received_at=from_db(received_at),
                kind=kind,
                sender=sender,
                sender_raw=sender_raw,
                parts=parts,
                text=text,
                reason=reason,
                detail=detail,
                reply_state=reply_state,
                chain_hash=chain_hash,
                campaign_id=campaign_id,
            )
            for (
                message_id,
                received_at,
                kind,
                sender,
                sender_raw,
                parts,
                text,
                reason,
                detail,
                reply_state,
                chain_hash,
                campaign_id,
            ) in rows
        ]

    def is_recipient_this_month(self, number: str, now: datetime) -> bool:
        """True if the line already sent (or queued) an SMS to ``number`` this calendar month."""
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT 1 FROM monthly_recipients WHERE month = ? AND recipient = ?",
                (month_key(now), number),
            ).fetchone()
        return row is not None

    def count_messages(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        sender: Senders = None,
    ) -> int:
        """How many messages an export of the same filters yields (for its progress bar)."""
        where, params = period_clause("received_at", since, until, sender)
        with self._db.reading() as conn:
            return _scalar(conn, f"SELECT count(*) FROM messages WHERE {where}", params)
