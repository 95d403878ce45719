"""Running totals of the whole history for the metrics textfile, advanced instead of recounted.

`stats --json` recounts the history at each call: 1.4 s at 500,000 messages (benchmarks/
metrics.py), far too long to repeat at every health check on the worker thread that drains the
SIM. A ``Tally`` counts each message (and its decision) once: a watermark on message ids, plus the
ids that were still undecided when counted, whose decisions are added when they come. Messages
and decisions are never deleted or changed (retention erases texts, not rows), so the totals
equal a recount. A large history is caught up ``chunk`` messages per call.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from anti_relous.store.db import Database
from anti_relous.store.reports import Summary, summary_of


@dataclass
class Tally:
    """Totals up to message ``upto``; ``undecided`` are the ids among them awaiting a decision."""

    upto: int = 0
    undecided: set[int] = field(default_factory=set)
    messages: int = 0
    #: Parts of those messages (loose parts are counted afresh: there are few).
    parts: int = 0
    decisions: Counter[str] = field(default_factory=Counter)


class Tallies:
    """Advancing tallies and reading the whole history's figures from them."""

    def __init__(self, db: Database):
        self._db = db

    def advance(self, tally: Tally, *, chunk: int = 100_000) -> bool:
        """Count up to ``chunk`` more messages into ``tally``; True once it reaches the newest."""
        with self._db.reading() as conn:
            newest: int = conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
            high = min(newest, tally.upto + chunk)
            span = (tally.upto, high)
            if tally.undecided:
                late = conn.execute(
                    "SELECT message_id, reason FROM decisions"
                    " WHERE message_id IN (SELECT value FROM json_each(?))",
                    (json.dumps(sorted(tally.undecided)),),
                ).fetchall()
                for message_id, reason in late:
                    tally.undecided.discard(message_id)
                    tally.decisions[reason] += 1
            count, parts = conn.execute(
                "SELECT count(*), coalesce(sum(parts), 0) FROM messages WHERE id > ? AND id <= ?",
                span,
            ).fetchone()
            for reason, decided in conn.execute(
                "SELECT reason, count(*) FROM decisions"
                " WHERE message_id > ? AND message_id <= ? GROUP BY reason",
                span,
            ):
                tally.decisions[reason] += decided
            tally.undecided.update(
                message_id
                for (message_id,) in conn.execute(
                    "SELECT message_id FROM undecided WHERE message_id > ? AND message_id <= ?",
                    span,
                )
            )
        tally.upto, tally.messages, tally.parts = high, tally.messages + count, tally.parts + parts
        return high == newest

    def summary(self, tally: Tally) -> Summary:
        """The whole history's figures (``senders`` left at 0: not tallied), from ``tally``."""
        decisions = dict(sorted(tally.decisions.items(), key=lambda item: (-item[1], item[0])))
        with self._db.reading() as conn:
            return summary_of(
                conn,
                None,
                None,
                inbound_messages=tally.messages,
                message_parts=tally.parts,
                sender_count=0,
                decisions={reason: count for reason, count in decisions.items() if count},
            )
