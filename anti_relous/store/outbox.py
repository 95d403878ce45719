"""The outbox: replies, alerts, manual and admin SMS: queued -> sending -> sent | failed | unknown.

Replies are at most once (DESIGN invariant 4): a row is marked ``sending`` durably before the modem
is asked to send, and a row found in ``sending`` after a crash becomes ``unknown``, never resent.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from anti_relous.lazyclass import frozen_dataclass
from anti_relous.store.db import Database, from_db, inserted_id, to_db
from anti_relous.store.line import active_block, log_event, read_state

STATES = ("queued", "sending", "sent", "failed", "unknown")
#: The order queued SMS leave in, lowest first, then oldest first. An alert must not wait behind
#: the bot replies queued before the flood tripped (at the default 6 s send_interval it left 1.5
#: to 6 minutes late); the operator's own SMS come next. The confirmation of an admin command
#: sent by SMS leaves with the alerts: its admin is waiting for it, phone in hand.
SEND_PRIORITY = {"admin": 0, "alert": 0, "manual": 1, "reply": 2}
#: What a pause holds and a block of the recipient drops at send time: answers the policy chose
#: to send a texter. Alerts, the operator's own SMS and admin confirmations are not answers to a
#: texter (a PAUSE sent by SMS must not hold its own confirmation).
HELD_KINDS = ("reply",)
_PRIORITY = (
    "CASE kind "
    + " ".join(f"WHEN '{kind}' THEN {rank}" for kind, rank in SEND_PRIORITY.items())
    + f" ELSE {max(SEND_PRIORITY.values()) + 1} END"
)
_HELD = ", ".join(f"'{kind}'" for kind in HELD_KINDS)


@frozen_dataclass
class OutboxItem:
    """One SMS to send (all its parts)."""

    id: int
    kind: str
    recipient: str
    text: str
    parts: int
    state: str
    attempts: int
    created_at: datetime
    message_id: int | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    message_refs: tuple[int, ...] = ()


_COLUMNS = (
    "id, kind, recipient, text, parts, state, attempts, created_at, message_id, last_error,"
    " sent_at, message_refs"
)


#: A reply's message in a long-text campaign found after the reply was queued, its recipient
#: not on the allowlist (the policy never suppresses those). Short texts ("salut ça va ?") are
#: what many people write: a reply to one is never withdrawn.
_CAMPAIGN_FOUND_SINCE = (
    "SELECT c.id FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
    " WHERE m.id = ? AND c.short = 0 AND c.flagged_at >= ?"
    " AND NOT EXISTS (SELECT 1 FROM allowlist WHERE number = ? AND removed_at IS NULL)"
)


def _withdrawn(
    conn: sqlite3.Connection, item: OutboxItem, now: datetime, *, campaigns: bool
) -> str | None:
    """Why a queued answer to a texter must not leave after all, or None."""
    if item.kind not in HELD_KINDS:
        return None
    block = active_block(conn, item.recipient, now)
    if block is not None:
        return f"not sent: {item.recipient} was blocked after it was queued ({block.reason})"
    if campaigns and item.message_id is not None:
        found = conn.execute(
            _CAMPAIGN_FOUND_SINCE, (item.message_id, to_db(item.created_at), item.recipient)
        ).fetchone()
        if found is not None:
            return f"not sent: its text was found to be campaign #{found[0]} after it was queued"
    return None


def _item(row: tuple[Any, ...]) -> OutboxItem:
    (item_id, kind, recipient, text, parts, state, attempts, created_at, message_id, last_error,
     sent_at, message_refs) = row  # fmt: skip
    return OutboxItem(
        id=item_id,
        kind=kind,
        recipient=recipient,
        text=text,
        parts=parts,
        state=state,
        attempts=attempts,
        created_at=from_db(created_at),
        message_id=message_id,
        last_error=last_error,
        sent_at=from_db(sent_at),
        message_refs=tuple(json.loads(message_refs)) if message_refs else (),
    )


def enqueue(
    conn: sqlite3.Connection,
    now: datetime,
    kind: str,
    recipient: str,
    text: str,
    parts: int,
    message_id: int | None = None,
    *,
    not_before: datetime | None = None,
) -> int:
    """Queue an SMS inside the caller's transaction; it counts against the caps from now on.

    ``not_before`` holds it until then (an alert during quiet hours).
    """
    at = to_db(now)
    cursor = conn.execute(
        "INSERT INTO outbox (created_at, kind, message_id, recipient, text, parts, state,"
        " next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
        (at, kind, message_id, recipient, text, parts, to_db(not_before) if not_before else None,
         at),
    )  # fmt: skip
    conn.execute(
        "INSERT OR IGNORE INTO monthly_recipients (month, recipient) VALUES (?, ?)",
        (month_key(now), recipient),
    )
    return inserted_id(cursor)


def mark_sent_in(conn: sqlite3.Connection, item_id: int, now: datetime, refs: list[int]) -> None:
    """Inside the caller's transaction: the modem accepted every part of ``item_id``."""
    conn.execute(
        "UPDATE outbox SET state = 'sent', message_refs = ?, updated_at = ?, sent_at = ?"
        " WHERE id = ?",
        (json.dumps(refs), to_db(now), to_db(now), item_id),
    )


def month_key(now: datetime) -> str:
    """The calendar month (UTC) the recipients cap counts in: ``"2026-11"``."""
    return to_db(now)[:7]


def month_start(now: datetime) -> datetime:
    """First instant of the calendar month (UTC) containing ``now``."""
    utc = now.astimezone(UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@frozen_dataclass
class Caps:
    """SMS sent or queued against each global cap, for status and manual sends."""

    last_hour: int
    last_day: int
    this_month: int
    recipients_this_month: int


#: An SMS counts against the caps from the moment it is queued, unless it failed: nothing of a
#: failed SMS left the modem (a refused send, a reply to a number blocked before its turn).
#: The four counts of ``Caps``, in its order, as SELECT columns over ``cap_params``; the
#: policy's usage snapshot (store/decisions.py) selects the same columns.
CAP_COUNTS = """
    (SELECT count(*) FROM outbox WHERE created_at > :hour AND state != 'failed'),
    (SELECT count(*) FROM outbox WHERE created_at > :day AND state != 'failed'),
    (SELECT count(*) FROM outbox WHERE created_at >= :month_start AND state != 'failed'),
    (SELECT count(*) FROM monthly_recipients WHERE month = :month)"""


def cap_params(now: datetime) -> dict[str, str]:
    """The named parameters of ``CAP_COUNTS`` as of ``now``."""
    return {
        "hour": to_db(now - timedelta(hours=1)),
        "day": to_db(now - timedelta(days=1)),
        "month_start": to_db(month_start(now)),
        "month": month_key(now),
    }


def caps(conn: sqlite3.Connection, now: datetime) -> Caps:
    """Counts for the global caps, as of ``now``."""
    return Caps(*conn.execute(f"SELECT {CAP_COUNTS}", cap_params(now)).fetchone())


class Outbox:
    """Queue operations for the sender job and the CLI."""

    def __init__(self, db: Database):
        self._db = db

    def caps(self, now: datetime) -> Caps:
        """SMS sent or queued against each global cap, as of ``now``."""
        with self._db.reading() as conn:
            return caps(conn, now)

    def enqueue(self, now: datetime, kind: str, recipient: str, text: str, parts: int) -> int:
        """Queue an alert or manual SMS in its own transaction."""
        with self._db.atomic() as conn:
            return enqueue(conn, now, kind, recipient, text, parts)

    def next_due(self, now: datetime, *, withdraw_campaigns: bool = False) -> OutboxItem | None:
        """The next SMS to send whose retry time (if any) has come: by SEND_PRIORITY, then oldest.

        The line's switches hold at send time too, not only when deciding: while the line is
        paused, replies wait (alerts and manual SMS still leave), and a reply whose recipient was
        blocked after it was queued is marked failed rather than sent. With
        ``withdraw_campaigns`` (the attack regime enforced), so is a reply whose message turned
        out to open a campaign after it was queued: the first copies of a flood's text are
        answered before the third shows it is one, and their replies wait for the drain's end.
        """
        at = to_db(now)
        with self._db.atomic() as conn:
            held = f" AND kind NOT IN ({_HELD})" if read_state(conn).is_paused(now) else ""
            while True:
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE state = 'queued'{held}"
                    " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
                    f" ORDER BY {_PRIORITY}, id LIMIT 1",
                    (at,),
                ).fetchone()
                if row is None:
                    return None
                item = _item(row)
                error = _withdrawn(conn, item, now, campaigns=withdraw_campaigns)
                if error is None:
                    return item
                conn.execute(
                    "UPDATE outbox SET state = 'failed', last_error = ?, updated_at = ?"
                    " WHERE id = ?",
                    (error, at, item.id),
                )
                log_event(conn, now, "send_dropped", f"{item.kind} {item.id}: {error}")

    def queued_replies(self, *, to: str | None = None, prefix: bool = False) -> int:
        """Queued SMS of HELD_KINDS (a pause holds them), optionally only to ``to`` (a number, or
        with ``prefix`` every number starting with it)."""
        query = f"SELECT count(*) FROM outbox WHERE state = 'queued' AND kind IN ({_HELD})"
        params: tuple[str, ...] = ()
        if to is not None:
            query += " AND substr(recipient, 1, length(?)) = ?" if prefix else " AND recipient = ?"
            params = (to, to) if prefix else (to,)
        with self._db.reading() as conn:
            count: int = conn.execute(query, params).fetchone()[0]
        return count

    def mark_sending(self, item_id: int, now: datetime) -> None:
        """Durably record that the modem is about to be asked: after a crash this is ``unknown``."""
        with self._db.atomic(durable=True) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?"
                " WHERE id = ? AND state = 'queued'",
                (to_db(now), item_id),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"outbox row {item_id} is not queued")

    def mark_sent(self, item_id: int, now: datetime, refs: list[int]) -> None:
        """The modem accepted every part."""
        self._finish(item_id, now, "sent", None, refs)

    def mark_failed(self, item_id: int, now: datetime, error: str) -> None:
        """Give up on this SMS; the error says why."""
        self._finish(item_id, now, "failed", error, None)

    def mark_unknown(self, item_id: int, now: datetime, error: str) -> None:
        """Some parts may have left: never retry (at most once), keep the error."""
        self._finish(item_id, now, "unknown", error, None)

    def retry_later(self, item_id: int, now: datetime, at: datetime, error: str) -> None:
        """Nothing left the modem: queue it again for ``at``."""
        with self._db.atomic() as conn:
            conn.execute(
                "UPDATE outbox SET state = 'queued', next_attempt_at = ?, last_error = ?,"
                " updated_at = ? WHERE id = ? AND state = 'sending'",
                (to_db(at), error, to_db(now), item_id),
            )

    def recover_sending(self, now: datetime) -> int:
        """At start-up: rows left in ``sending`` by a crash become ``unknown``."""
        with self._db.atomic() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'unknown', updated_at = ?,"
                " last_error = 'interrupted while sending (crash or power loss)'"
                " WHERE state = 'sending'",
                (to_db(now),),
            )
            if cursor.rowcount:
                log_event(
                    conn,
                    now,
                    "send_interrupted",
                    f"{cursor.rowcount} SMS were being sent at the last stop: marked unknown, "
                    "not resent",
                )
            return cursor.rowcount

    def queued_count(self) -> int:
        """SMS waiting to be sent."""
        with self._db.reading() as conn:
            count: int = conn.execute(
                "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')"
            ).fetchone()[0]
        return count

    def items(self, *, state: str | None = None, limit: int = 50) -> list[OutboxItem]:
        """Newest first, optionally only one state."""
        query = f"SELECT {_COLUMNS} FROM outbox"
        params: tuple[object, ...] = ()
        if state is not None:
            query += " WHERE state = ?"
            params = (state,)
        with self._db.reading() as conn:
            rows = conn.execute(query + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
        return [_item(r) for r in rows]

    def _finish(
        self, item_id: int, now: datetime, state: str, error: str | None, refs: list[int] | None
    ) -> None:
        at = to_db(now)
        with self._db.atomic() as conn:
            conn.execute(
                "UPDATE outbox SET state = ?, last_error = coalesce(?, last_error),"
                " message_refs = ?, updated_at = ?, sent_at = ? WHERE id = ?",
                (
                    state,
                    error,
                    json.dumps(refs) if refs is not None else None,
                    at,
                    at if state == "sent" else None,
                    item_id,
                ),
            )
