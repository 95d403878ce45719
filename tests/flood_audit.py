"""Audit a flood replay: DESIGN's invariants, on the database and on what the simulator saw."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any

from flood_replay import Observed, reading, scalar

from anti_relous.config import QuotaConfig


def max_in_window(times: list[datetime], window: timedelta) -> int:
    """The most events inside any window of ``window`` (a half-open interval (t - window, t])."""
    ordered = sorted(times)
    best = first = 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def audit(observed: Observed) -> dict[str, dict[str, Any]]:
    """Check the invariants on the database and on what the simulator saw; one entry each."""
    scenario, quota = observed.run.scenario, observed.config.quota
    checks: dict[str, dict[str, Any]] = {}
    injected = Counter(sha256(pdu).hexdigest() for sms in scenario.messages for pdu in sms.pdus)
    with reading(observed.db_path) as conn:
        stored = Counter(row[0] for row in conn.execute("SELECT pdu_sha256 FROM inbound_parts"))
        lost, doubled = injected - stored, stored - injected
        checks["parts_stored_exactly_once"] = {
            "ok": not lost
            and not doubled
            and observed.sim_stats["delivered_parts"] == sum(injected.values()),
            "delivered": observed.sim_stats["delivered_parts"],
            "stored": sum(stored.values()),
            "lost": sum(lost.values()),
            "stored_twice": sum(doubled.values()),
        }
        sent_sms = Counter((sms.sender, sms.text) for sms in scenario.messages)
        kept = Counter(
            (row[0], row[1])
            for row in conn.execute("SELECT sender_raw, text FROM messages WHERE kind = 'sms'")
        )
        other = scalar(conn, "SELECT count(*) FROM messages WHERE kind != 'sms'")
        checks["messages_stored_exactly_once"] = {
            "ok": kept == sent_sms and other == 0,
            "sent": sum(sent_sms.values()),
            "stored": sum(kept.values()),
            "missing": sum((sent_sms - kept).values()),
            "extra": sum((kept - sent_sms).values()),
            "incomplete_or_undecodable": other,
        }
        messages = scalar(conn, "SELECT count(*) FROM messages")
        decided = scalar(conn, "SELECT count(*) FROM decisions")
        undecided = scalar(conn, "SELECT count(*) FROM undecided")
        orphans = scalar(
            conn,
            "SELECT count(*) FROM decisions d LEFT JOIN messages m ON m.id = d.message_id"
            " WHERE m.id IS NULL",
        )
        checks["messages_decided_exactly_once"] = {
            "ok": decided == messages and undecided == 0 and orphans == 0,
            "messages": messages,
            "decisions": decided,
            "undecided": undecided,
        }
        outbox = conn.execute(
            "SELECT kind, recipient, text, state, created_at, message_id FROM outbox"
        ).fetchall()
    checks["no_reply_sent_twice"] = _check_sent_once(outbox, observed.sent_messages)
    checks["quotas_and_caps_respected"] = _check_caps(outbox, observed, quota)
    return checks


def _check_sent_once(outbox: list[tuple[Any, ...]], sent: list[tuple[str, str]]) -> dict[str, Any]:
    """Each recipient received at most as many SMS as its sent and unknown rows, at least as
    many as its sent rows, and only texts from its rows.

    A kill between two parts of a long SMS leaves the row ``unknown`` and the network with part
    of the text: counted as one SMS, whose text is a piece of the row's.
    """
    received = Counter(number for number, _ in sent)
    may_have_left = Counter(row[1] for row in outbox if row[3] in ("sent", "unknown"))
    surely_left = Counter(row[1] for row in outbox if row[3] == "sent")
    texts: dict[str, list[str]] = {}
    for row in outbox:
        texts.setdefault(row[1], []).append(row[2])
    resent = sorted(number for number, n in received.items() if n > may_have_left[number])
    missing = sorted(number for number, n in surely_left.items() if received[number] < n)
    foreign = [
        number
        for number, text in sent
        if not any(text in candidate for candidate in texts.get(number, []))
    ]
    partial = sum(1 for number, text in sent if text not in texts.get(number, []))
    replies_per_message = Counter(row[5] for row in outbox if row[0] == "reply")
    return {
        "ok": not resent
        and not missing
        and not foreign
        and max(replies_per_message.values(), default=0) <= 1,
        "sms_received_by_the_network": sum(received.values()),
        "partly_received": partial,
        "rows_sent": sum(surely_left.values()),
        "rows_unknown": sum(1 for row in outbox if row[3] == "unknown"),
        "received_more_than_the_outbox_allows": len(resent),
        "sent_rows_never_received": len(missing),
        "texts_not_from_the_outbox": len(foreign),
    }


def _check_caps(
    outbox: list[tuple[Any, ...]], observed: Observed, quota: QuotaConfig
) -> dict[str, Any]:
    created = [parse_time(row[4]) for row in outbox]
    by_recipient: dict[str, list[datetime]] = {}
    for row in outbox:
        if row[0] == "reply":
            by_recipient.setdefault(row[1], []).append(parse_time(row[4]))
    per_number = max(
        (max_in_window(times, quota.number_window) for times in by_recipient.values()), default=0
    )
    # What actually left: one time per SMS (its first part) as the simulator saw it.
    left = [
        observed.started_utc + timedelta(seconds=at - observed.started)
        for at, part in observed.sent_parts
        if part.concat is None or part.concat.sequence == 1
    ]
    recipients = {row[1] for row in outbox}
    figures = {
        "outbox_max_per_number_window": (per_number, quota.replies_per_number),
        "outbox_max_per_hour": (max_in_window(created, timedelta(hours=1)), quota.replies_per_hour),
        "outbox_max_per_day": (max_in_window(created, timedelta(days=1)), quota.replies_per_day),
        "outbox_total_this_month": (len(created), quota.replies_per_month),
        "distinct_recipients": (len(recipients), quota.recipients_per_month),
        "network_max_per_hour": (max_in_window(left, timedelta(hours=1)), quota.replies_per_hour),
        "network_max_per_day": (max_in_window(left, timedelta(days=1)), quota.replies_per_day),
    }
    breaches = [name for name, (value, limit) in figures.items() if value > limit]
    result: dict[str, Any] = {"ok": not breaches, "breaches": breaches}
    result.update({name: {"value": v, "limit": lim} for name, (v, lim) in figures.items()})
    return result
