"""What the policy needs counted, the attack regime's state, and the recording of decisions.

A decision, the SMS it enqueues and the state it changes (auto-block, campaign found, budget
spent) are written in one transaction (DESIGN invariant 3); the ``undecided`` queue entry goes
with them, so a message is decided exactly once even across crashes. A held message keeps its
queue entry, with the time it is due again.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

from anti_relous.lazyclass import frozen_dataclass
from anti_relous.policy import Decision, Rules, SenderHistory, Usage
from anti_relous.policy.regime import RECENT_CONTACTS, Assessment, Change, Traffic
from anti_relous.sms import InboundSms
from anti_relous.store import outbox
from anti_relous.store.campaigns import CampaignIndex
from anti_relous.store.db import Database, from_db, to_db
from anti_relous.store.line import (
    active_block,
    add_block,
    attack_periods,
    log_event,
    read_state,
    within,
)


@frozen_dataclass
class PlannedSms:
    """An SMS the service wants queued with a decision; ``parts`` is what it will cost."""

    recipient: str
    text: str
    parts: int


def _count(conn: sqlite3.Connection, query: str, params: tuple[object, ...]) -> int:
    value: int = conn.execute(query, params).fetchone()[0]
    return value


def _is_recipient(conn: sqlite3.Connection, month: str, number: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM monthly_recipients WHERE month = ? AND recipient = ?", (month, number)
        ).fetchone()
        is not None
    )


def _new_alert_numbers(conn: sqlite3.Connection, rules: Rules, now: datetime) -> int:
    month = outbox.month_key(now)
    return sum(1 for number in rules.alert_numbers if not _is_recipient(conn, month, number))


#: The scalar counts of one usage snapshot, in one statement (each subquery rides an index).
_USAGE = f"""
SELECT
    (SELECT count(*) FROM messages
        WHERE sender = :sender AND received_at > :since AND id <= :id),
    (SELECT count(DISTINCT group_id) FROM inbound_parts WHERE sender = :sender
        AND received_at > :since AND message_id IS NULL AND concat_total IS NOT NULL),
    (SELECT count(*) FROM outbox WHERE recipient = :recipient AND created_at > :number_window),
    {outbox.CAP_COUNTS},
    EXISTS (SELECT 1 FROM monthly_recipients WHERE month = :month AND recipient = :recipient),
    EXISTS (SELECT 1 FROM outbox WHERE recipient = :recipient),
    EXISTS (SELECT 1 FROM allowlist WHERE number = :recipient AND removed_at IS NULL),
    (SELECT campaign_id FROM messages WHERE id = :id),
    (SELECT held_at FROM decisions WHERE message_id = :id AND reason = 'held'),
    (SELECT count(*) FROM outbox WHERE kind = 'admin' AND created_at > :hour),
    (SELECT count(*) FROM outbox WHERE kind = 'admin' AND created_at > :day),
    (SELECT count(*) FROM monthly_recipients WHERE month = :month
        AND recipient IN (SELECT value FROM json_each(:alerts)))
"""


class Decisions:
    """Usage snapshots for the policy, the attack regime, and the recording of decisions."""

    def __init__(self, db: Database, campaigns: CampaignIndex):
        self._db = db
        self._campaigns = campaigns
        #: The attack periods, read once: they change a few times a month, through ``apply``.
        self._periods: list[tuple[str, str | None]] | None = None
        db.rollback_hooks.append(self.forget)

    def usage(self, message: InboundSms, rules: Rules, now: datetime) -> Usage:
        """Everything ``policy.decide`` needs about ``message``'s sender and the line.

        The sender's messages count from ``abuse_window`` before this one arrived up to this
        one (by id), its pending long SMS included: a decision does not depend on how many
        later messages one poll happened to fetch, and a message decided late (held, or a long
        SMS released incomplete) is judged on the window around its arrival. One statement
        gathers the scalar counts: a flood decides thousands of messages a minute.
        """
        sender = message.sender.key
        recipient = message.sender.e164 or sender
        cap_params = outbox.cap_params(now)
        with self._db.reading() as conn:
            (from_sender, pending_from_sender, replies_to_sender, hour, day, this_month,
             recipients, is_recipient, answered, allowed, campaign_id, held_at, admin_hour,
             admin_day, alerts_known) = conn.execute(
                _USAGE,
                {
                    "sender": sender, "recipient": recipient, "id": message.id,
                    "since": to_db(message.received_at - rules.abuse_window),
                    "number_window": to_db(now - rules.number_window),
                    **cap_params, "alerts": json.dumps(rules.alert_numbers),
                },
            ).fetchone()  # fmt: skip
            periods = self._attack_periods(conn)
            return Usage(
                line=read_state(conn),
                block=active_block(conn, sender, now),
                inbound_from_sender=from_sender + pending_from_sender,
                replies_to_sender=replies_to_sender,
                sent_last_hour=hour,
                sent_last_day=day,
                sent_this_month=this_month,
                recipients_this_month=recipients,
                sender_is_recipient_this_month=bool(is_recipient),
                alert_numbers_new_this_month=len(set(rules.alert_numbers)) - alerts_known,
                admin_sent_last_hour=admin_hour,
                admin_sent_last_day=admin_day,
                sender=self._sender(
                    conn, sender, bool(answered), bool(allowed), periods, rules, now
                ),
                campaign=(
                    self._campaigns.usage(conn, campaign_id, now, rules.campaign_window)
                    if campaign_id is not None
                    else None
                ),
                held_at=from_db(held_at),
                arrived_under_attack=within(periods, to_db(message.received_at)),
            )

    def _attack_periods(self, conn: sqlite3.Connection) -> list[tuple[str, str | None]]:
        """Every attack period: read once, then again only after ``apply`` moved the attack
        (the worker is the only writer of attack events; a rolled-back move forgets them)."""
        if self._periods is None:
            self._periods = attack_periods(conn)
        return self._periods

    def forget(self) -> None:
        """Drop what is held in memory (after a failed transaction)."""
        self._periods = None

    @staticmethod
    def _sender(
        conn: sqlite3.Connection,
        sender: str,
        answered: bool,
        allowed: bool,
        periods: list[tuple[str, str | None]],
        rules: Rules,
        now: datetime,
    ) -> SenderHistory:
        row = conn.execute(
            "SELECT first_at, min_gap_s, arrivals, number_block,"
            " (SELECT count(*) FROM senders b WHERE b.number_block = s.number_block"
            "  AND b.last_at > ?) FROM senders s WHERE sender = ?",
            (to_db(now - rules.campaign_window), sender),
        ).fetchone()
        first_at, min_gap_s, arrivals, block, block_senders = (
            row if row else (None, None, 1, None, 0)
        )
        return SenderHistory(
            first_at=from_db(first_at),
            min_gap=timedelta(seconds=min_gap_s) if min_gap_s is not None else None,
            arrivals=arrivals,
            answered_before=answered,
            allowed=allowed,
            block_senders=block_senders if block is not None else 0,
            first_seen_under_attack=first_at is not None and within(periods, first_at),
        )

    def new_alert_numbers(self, rules: Rules, now: datetime) -> int:
        """Alert numbers not yet sent anything this month (an alert would add them)."""
        with self._db.reading() as conn:
            return _new_alert_numbers(conn, rules, now)

    def inbound_in_window(self, now: datetime, window: timedelta) -> int:
        """Messages and pending long SMS from everyone within ``window`` before ``now``."""
        with self._db.reading() as conn:
            since = to_db(now - window)
            return _count(
                conn, "SELECT count(*) FROM messages WHERE received_at > ?", (since,)
            ) + _count(
                conn,
                "SELECT count(DISTINCT group_id) FROM inbound_parts WHERE received_at > ?"
                " AND message_id IS NULL AND concat_total IS NOT NULL",
                (since,),
            )

    # --- the attack regime -------------------------------------------------------------------

    def traffic(self, rules: Rules, now: datetime) -> Traffic:
        """What the regime is assessed on, as of ``now``."""
        with self._db.reading() as conn:
            (ended,) = conn.execute(
                "SELECT coalesce(attack_ended_at, '') FROM line_state WHERE id = 1"
            ).fetchone()
            (messages, pending, first_contacts, burst_contacts, recent_contacts,
             campaigns_found) = conn.execute(
                "SELECT (SELECT count(*) FROM messages WHERE received_at > :flood),"
                " (SELECT count(DISTINCT group_id) FROM inbound_parts WHERE received_at > :flood"
                "  AND message_id IS NULL AND concat_total IS NOT NULL),"
                " (SELECT count(*) FROM senders WHERE first_at > :contacts AND mobile = 1),"
                " (SELECT count(*) FROM senders WHERE first_at > :burst AND mobile = 1),"
                " (SELECT count(*) FROM senders WHERE first_at > :recent AND mobile = 1),"
                " (SELECT count(*) FROM campaigns WHERE flagged_at > :found)",
                {
                    "flood": to_db(now - rules.flood_window),
                    # New senders of an attack that ended count no more for the next one.
                    "contacts": max(to_db(now - rules.first_contact_window), ended),
                    "burst": max(to_db(now - rules.burst_window), ended),
                    "recent": to_db(now - RECENT_CONTACTS),
                    "found": to_db(now - rules.burst_window),
                },
            ).fetchone()  # fmt: skip
            return Traffic(
                inbound_total=messages + pending,
                first_contacts=first_contacts,
                burst_contacts=burst_contacts,
                recent_contacts=recent_contacts,
                campaigns_found=campaigns_found,
            )

    def apply(self, assessment: Assessment, now: datetime) -> None:
        """Record where the regime went (state and event log)."""
        if assessment.flood is None and assessment.attack is None:
            return
        if assessment.attack in (Change.ENTER, Change.EXIT):
            self._periods = None
        with self._db.atomic() as conn:
            _move(conn, "flood", assessment.flood, now, assessment.detail)
            _move(conn, "attack", assessment.attack, now, assessment.detail)

    # --- decisions ---------------------------------------------------------------------------

    def record(
        self,
        message: InboundSms,
        decision: Decision,
        now: datetime,
        *,
        reply: PlannedSms | None = None,
    ) -> None:
        """Write the decision with everything it implies, atomically.

        A HELD decision is provisional: the message is due again at ``hold_until``, and its
        final decision then replaces it. ``reply`` is queued only if the decision says reply.
        """
        with self._db.atomic() as conn:
            pending = conn.execute(
                "DELETE FROM undecided WHERE message_id = ?", (message.id,)
            ).rowcount
            held = conn.execute(
                "SELECT held_at FROM decisions WHERE message_id = ? AND reason = 'held'",
                (message.id,),
            ).fetchone()
            if not pending and held is None:
                raise ValueError(f"message {message.id} is not awaiting a decision")
            hold_until = to_db(decision.hold_until) if decision.hold_until else None
            values = (to_db(now), int(decision.reply), decision.reason.value, decision.detail,
                      hold_until, decision.shadow.value if decision.shadow else None)  # fmt: skip
            if held is None:
                conn.execute(
                    "INSERT INTO decisions (decided_at, reply, reason, detail, hold_until,"
                    " shadow, held_at, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, hold_until and to_db(now), message.id),
                )
            else:
                # Released from its hold: the provisional decision becomes the final one.
                conn.execute(
                    "UPDATE decisions SET decided_at = ?, reply = ?, reason = ?, detail = ?,"
                    " hold_until = ?, shadow = ? WHERE message_id = ?",
                    (*values, message.id),
                )
            if decision.hold_until is not None:
                return
            if decision.block_until is not None:
                add_block(
                    conn, now, message.sender.key, False, decision.block_until,
                    decision.detail, True,
                )  # fmt: skip
            if decision.flag_campaign:
                self._flag_campaign(conn, message.id, decision, now)
            if decision.pace_tokens is not None:
                budget = "people" if decision.people else "pace"
                conn.execute(
                    f"UPDATE line_state SET {budget}_tokens = ?, {budget}_at = ? WHERE id = 1",
                    (decision.pace_tokens, to_db(now)),
                )
            if decision.reply and reply is not None:
                outbox.enqueue(
                    conn, now, "reply", reply.recipient, reply.text, reply.parts, message.id
                )

    @staticmethod
    def _flag_campaign(
        conn: sqlite3.Connection, message_id: int, decision: Decision, now: datetime
    ) -> None:
        (campaign_id,) = conn.execute(
            "SELECT campaign_id FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        conn.execute(
            "UPDATE campaigns SET flagged_at = ? WHERE id = ? AND flagged_at IS NULL",
            (to_db(now), campaign_id),
        )
        log_event(conn, now, "campaign", decision.detail)


def _move(
    conn: sqlite3.Connection, state: str, change: Change | None, now: datetime, detail: str
) -> None:
    """Apply one state's move (``state`` is "flood" or "attack", both columns and events)."""
    at = to_db(now)
    if change is Change.ENTER:
        conn.execute(
            f"UPDATE line_state SET {state}_since = ?, {state}_last_above = ? WHERE id = 1",
            (at, at),
        )
        what = "flood mode entered" if state == "flood" else "attack under way"
        log_event(conn, now, f"{state}_start", f"{what}: {detail}")
    elif change is Change.STILL_ABOVE:
        conn.execute(f"UPDATE line_state SET {state}_last_above = ? WHERE id = 1", (at,))
    elif change is Change.EXIT:
        ended = ", attack_ended_at = ?" if state == "attack" else ""
        conn.execute(
            f"UPDATE line_state SET {state}_since = NULL, {state}_last_above = NULL{ended}"
            " WHERE id = 1",
            (at,) if ended else (),
        )
        log_event(conn, now, f"{state}_end", "every trigger below its threshold for the cooldown")
