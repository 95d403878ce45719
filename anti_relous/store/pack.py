"""Read queries of the complaint pack (``anti-relous report``): replies, blocks and events.

Ranges follow ``store/reports.py``: ``since`` inclusive, ``until`` exclusive, None unbounded;
messages by reception time, outbound SMS and blocks by the time they were created. The queries on
messages and the outbox ride their time index (``messages_time``, ``outbox_time``), so a report
of a period never reads the rest of the message history; only the event log (a few rows per
flood, pause or block) is read back to before the period, to find periods already under way.
"""

from __future__ import annotations

from datetime import datetime

from anti_relous.store.db import Database, from_db, to_db
from anti_relous.store.line import Event
from anti_relous.store.reports import Senders, period_clause


class PackReads:
    """What ``anti-relous report`` reads besides ``Reports.summary`` and ``period_messages``."""

    def __init__(self, db: Database):
        self._db = db

    def reply_times(
        self, since: datetime | None, until: datetime | None, senders: Senders = None
    ) -> list[datetime]:
        """When each reply of the period was queued (as ``Reports.hourly`` counts them)."""
        where, params = period_clause("created_at", since, until, senders, "recipient")
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT created_at FROM outbox WHERE kind = 'reply' AND {where} ORDER BY id",
                params,
            ).fetchall()
        return [from_db(row[0]) for row in rows]

    def auto_blocked(
        self, since: datetime | None, until: datetime | None, senders: Senders = None
    ) -> set[str]:
        """Numbers the line blocked by itself within the period (as ``Reports.summary`` counts)."""
        where, params = period_clause("created_at", since, until, senders, "target")
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT DISTINCT target FROM blocks WHERE automatic AND is_prefix = 0 AND {where}",
                params,
            ).fetchall()
        return {row[0] for row in rows}

    def period_events(self, since: datetime | None, until: datetime | None) -> list[Event]:
        """Events that open or close a period (kinds ``*_start`` and ``*_end``), oldest first.

        The latest such event of each kind before ``since`` comes too, so that a period already
        under way when the report's period begins is seen.
        """
        kinds = r"(kind LIKE '%\_start' ESCAPE '\' OR kind LIKE '%\_end' ESCAPE '\')"
        where, params = period_clause("at", since, until)
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT at, kind, detail FROM events WHERE {kinds} AND {where} ORDER BY at, id",
                params,
            ).fetchall()
            if since is not None:
                before = conn.execute(
                    "SELECT e.at, e.kind, e.detail FROM events e WHERE e.id IN ("
                    f" SELECT max(id) FROM events WHERE {kinds} AND at < ?"
                    "  GROUP BY replace(replace(kind, '_start', ''), '_end', ''))"
                    " ORDER BY e.at, e.id",
                    (to_db(since),),
                ).fetchall()
                rows = before + rows
        return [Event(from_db(r[0]), r[1], r[2]) for r in rows]
