"""What the policy needs counted, and the recording of its decisions with their replies.

A decision, the SMS it enqueues and the state it changes (auto-block, flood mode, alert time) are
written in one transaction (DESIGN invariant 3); the ``undecided`` queue entry goes with them, so
a message is decided exactly once even across crashes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from anti_relous.policy import Decision, FloodChange, Reason, Rules, Usage
from anti_relous.sms import InboundSms
from anti_relous.store import outbox
from anti_relous.store.db import Database, to_db
from anti_relous.store.line import active_block, add_block, log_event, read_state, set_flood


@dataclass(frozen=True)
class PlannedSms:
    """An SMS the service wants queued with a decision; ``parts`` is what it will cost."""

    recipient: str
    text: str
    parts: int


@dataclass(frozen=True)
class Caps:
    """SMS sent or queued against each global cap, for status and manual sends."""

    last_hour: int
    last_day: int
    this_month: int
    recipients_this_month: int


def month_start(now: datetime) -> datetime:
    """First instant of the calendar month (UTC) containing ``now``."""
    utc = now.astimezone(UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _count(conn: sqlite3.Connection, query: str, params: tuple[object, ...]) -> int:
    value: int = conn.execute(query, params).fetchone()[0]
    return value


def caps(conn: sqlite3.Connection, now: datetime) -> Caps:
    """Counts for the global caps, as of ``now``."""
    return Caps(
        last_hour=_count(
            conn, "SELECT count(*) FROM outbox WHERE created_at > ?",
            (to_db(now - timedelta(hours=1)),),
        ),
        last_day=_count(
            conn, "SELECT count(*) FROM outbox WHERE created_at > ?",
            (to_db(now - timedelta(days=1)),),
        ),
        this_month=_count(
            conn, "SELECT count(*) FROM outbox WHERE created_at >= ?", (to_db(month_start(now)),)
        ),
        recipients_this_month=_count(
            conn, "SELECT count(*) FROM monthly_recipients WHERE month = ?",
            (outbox.month_key(now),),
        ),
    )  # fmt: skip


class Decisions:
    """Usage snapshots for the policy and the recording of its decisions."""

    def __init__(self, db: Database):
        self._db = db

    def usage(self, message: InboundSms, rules: Rules, now: datetime) -> Usage:
        """Everything ``policy.decide`` needs about ``message``'s sender and the line.

        Inbound counts cover messages up to and including this one (by id), so a decision does
        not depend on how many later messages one poll happened to fetch.
        """
        sender = message.sender.key
        recipient = message.sender.e164 or sender
        month = outbox.month_key(now)
        with self._db.reading() as conn:
            totals = caps(conn, now)
            return Usage(
                line=read_state(conn),
                block=active_block(conn, sender, now),
                inbound_from_sender=_count(
                    conn,
                    "SELECT count(*) FROM messages WHERE sender = ? AND received_at > ?"
                    " AND id <= ?",
                    (sender, to_db(now - rules.abuse_window), message.id),
                ),
                inbound_total=_count(
                    conn,
                    "SELECT count(*) FROM messages WHERE received_at > ? AND id <= ?",
                    (to_db(now - rules.flood_window), message.id),
                ),
                replies_to_sender=_count(
                    conn,
                    "SELECT count(*) FROM outbox WHERE recipient = ? AND created_at > ?",
                    (recipient, to_db(now - rules.number_window)),
                ),
                sent_last_hour=totals.last_hour,
                sent_last_day=totals.last_day,
                sent_this_month=totals.this_month,
                recipients_this_month=totals.recipients_this_month,
                sender_is_recipient_this_month=_count(
                    conn,
                    "SELECT count(*) FROM monthly_recipients WHERE month = ? AND recipient = ?",
                    (month, recipient),
                )
                > 0,
                alert_numbers_new_this_month=sum(
                    1
                    for number in rules.alert_numbers
                    if not _count(
                        conn,
                        "SELECT count(*) FROM monthly_recipients WHERE month = ? AND recipient = ?",
                        (month, number),
                    )
                ),
            )

    def caps(self, now: datetime) -> Caps:
        """Counts for the global caps, as of ``now``."""
        with self._db.reading() as conn:
            return caps(conn, now)

    def inbound_in_window(self, now: datetime, window: timedelta) -> int:
        """Messages from everyone received within ``window`` before ``now`` (the flood rate)."""
        with self._db.reading() as conn:
            return _count(
                conn, "SELECT count(*) FROM messages WHERE received_at > ?", (to_db(now - window),)
            )

    def record(
        self,
        message: InboundSms,
        decision: Decision,
        now: datetime,
        *,
        reply: PlannedSms | None = None,
        alerts: tuple[PlannedSms, ...] = (),
    ) -> None:
        """Write the decision with everything it implies, atomically.

        ``reply`` is queued only if the decision says reply; ``alerts`` only if it says alert.
        """
        with self._db.atomic() as conn:
            cursor = conn.execute("DELETE FROM undecided WHERE message_id = ?", (message.id,))
            if cursor.rowcount != 1:
                raise ValueError(f"message {message.id} is not awaiting a decision")
            conn.execute(
                "INSERT INTO decisions (message_id, decided_at, reply, reason, detail)"
                " VALUES (?, ?, ?, ?, ?)",
                (message.id, to_db(now), int(decision.reply), decision.reason.value,
                 decision.detail),
            )  # fmt: skip
            if decision.block_until is not None:
                add_block(
                    conn, now, message.sender.key, False, decision.block_until,
                    decision.detail, True,
                )  # fmt: skip
            self._apply_flood(conn, decision, now)
            if decision.alert:
                conn.execute("UPDATE line_state SET last_alert_at = ? WHERE id = 1", (to_db(now),))
                for alert in alerts:
                    outbox.enqueue(conn, now, "alert", alert.recipient, alert.text, alert.parts)
            if decision.reply and reply is not None:
                outbox.enqueue(
                    conn, now, "reply", reply.recipient, reply.text, reply.parts, message.id
                )

    @staticmethod
    def _apply_flood(conn: sqlite3.Connection, decision: Decision, now: datetime) -> None:
        if decision.flood is FloodChange.ENTER:
            set_flood(conn, now, now)
            detail = decision.detail if decision.reason is Reason.FLOOD else "rate above threshold"
            log_event(conn, now, "flood_start", f"flood mode entered: {detail}")
        elif decision.flood is FloodChange.STILL_ABOVE:
            conn.execute("UPDATE line_state SET flood_last_above = ? WHERE id = 1", (to_db(now),))
        elif decision.flood is FloodChange.EXIT:
            set_flood(conn, now, None)
            log_event(conn, now, "flood_end", "inbound rate below the threshold for the cooldown")
