"""Alerts queued for ``[alerts] numbers`` under their rate limits, and what was last raised.

The outbox carries them (kind ``alert``): a held alert is a queued row whose ``next_attempt_at``
is the end of the quiet hours. Each raise is also an event, so the record says what operators
were told and when.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from anti_relous.alerts import Alert, AlertRules, when_to_send
from anti_relous.coding import text_info
from anti_relous.store import outbox
from anti_relous.store.db import Database, from_db, to_db
from anti_relous.store.line import log_event


def last_raised(conn: sqlite3.Connection, key: str) -> datetime | None:
    """When an alert with this rate-limit key was last queued."""
    row = conn.execute("SELECT last_at FROM alert_log WHERE key = ?", (key,)).fetchone()
    return from_db(row[0]) if row else None


def note_raised(conn: sqlite3.Connection, key: str, now: datetime) -> None:
    """Remember that an alert with this key was queued (or sent) at ``now``."""
    conn.execute(
        "INSERT INTO alert_log (key, last_at) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET last_at = excluded.last_at",
        (key, to_db(now)),
    )


class Alerts:
    """Raising alerts, inside the caller's transaction when there is one."""

    def __init__(self, db: Database):
        self._db = db

    def raise_alert(self, alert: Alert, rules: AlertRules, now: datetime) -> datetime | None:
        """Queue ``alert`` to every alert number if its rate limit allows; returns when it will
        leave (``now``, or the end of the quiet hours), or None when it was not queued."""
        with self._db.atomic() as conn:
            when = when_to_send(alert, last_raised(conn, alert.key), now, rules)
            if when is None:
                return None
            parts = text_info(alert.text).parts
            held_until = when if when > now else None
            for number in rules.numbers:
                outbox.enqueue(conn, now, "alert", number, alert.text, parts, not_before=held_until)
            note_raised(conn, alert.key, now)
            held = f", held until {when.isoformat()}" if when > now else ""
            log_event(conn, now, "alert", f"{alert.kind.value} to {len(rules.numbers)}{held}")
        return when

    def record_sent(
        self, alert: Alert, rules: AlertRules, sent_at: datetime, refs: dict[str, list[int]]
    ) -> None:
        """Record an alert that left straight through the modem while the database failed:
        as sent outbox rows (it counts against the caps like any alert) and an event."""
        parts = text_info(alert.text).parts
        with self._db.atomic() as conn:
            for number, number_refs in refs.items():
                item_id = outbox.enqueue(conn, sent_at, "alert", number, alert.text, parts)
                outbox.mark_sent_in(conn, item_id, sent_at, number_refs)
            note_raised(conn, alert.key, sent_at)
            log_event(
                conn,
                sent_at,
                "alert",
                f"{alert.kind.value} to {len(refs)} of {len(rules.numbers)}, sent straight "
                "through the modem while the database failed",
            )

    def decisions_since(self, since: datetime, reasons: tuple[str, ...]) -> list[str]:
        """Which of ``reasons`` decided a message after ``since`` (a cap stopping replies)."""
        marks = ", ".join("?" for _ in reasons)
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT DISTINCT reason FROM decisions"
                f" WHERE decided_at > ? AND reason IN ({marks}) ORDER BY reason",
                (to_db(since), *reasons),
            ).fetchall()
        return [reason for (reason,) in rows]

    def last_raised(self, key: str) -> datetime | None:
        """When an alert with this rate-limit key was last queued."""
        with self._db.reading() as conn:
            return last_raised(conn, key)
