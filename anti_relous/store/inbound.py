"""Durable, idempotent ingest of SIM parts; multipart assembly; the queue of undecided messages."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from anti_relous.numbers import classify
from anti_relous.sms import InboundSms, NumberKind, PartKind, PhoneNumber, ReceivedPart
from anti_relous.store import evidence
from anti_relous.store.campaigns import CampaignIndex
from anti_relous.store.db import Database, from_db, inserted_id, to_db


@dataclass
class IngestResult:
    """What one ingest did. Every index listed here is committed and may be deleted from the SIM."""

    #: (storage, index) of every part now safely stored, new or seen before.
    committed: list[tuple[str, int]] = field(default_factory=list)
    new_parts: int = 0
    #: Parts already committed by an earlier poll (a crash before their delete).
    already_stored: int = 0
    new_messages: int = 0
    undecodable: int = 0


class Inbound:
    """Inbound parts and messages."""

    def __init__(self, db: Database, campaigns: CampaignIndex):
        self._db = db
        self._campaigns = campaigns

    def ingest(
        self,
        parts: Iterable[ReceivedPart],
        now: datetime,
        default_region: str,
        *,
        complete: bool = True,
    ) -> IngestResult:
        """Store a poll's parts in one durable transaction (DESIGN invariants 1, 2, 5, 6).

        ``complete``: ``parts`` is the whole listing of the storages it covers, so pending
        records of slots absent from it are cleared (those messages are gone from the SIM).
        A listing not proved whole clears nothing: a slot it missed may still hold a part
        committed earlier, which must be recognised when listed again.
        """
        parts = list(parts)
        result = IngestResult()
        received_at = to_db(now)
        with self._db.atomic(durable=True) as conn:
            if complete:
                self._forget_vanished(conn, parts)
            for part in parts:
                digest = evidence.sha256_hex(part.pdu)
                pending = conn.execute(
                    "SELECT pdu_sha256 FROM sim_pending WHERE sim_storage = ? AND sim_index = ?",
                    (part.storage, part.index),
                ).fetchone()
                # Our own listing marked the committed part read, so the same bytes in the same
                # slot but unread are a new, identical SMS (a bot repeating itself), not a re-read.
                if pending is not None and pending[0] == digest and not part.unread:
                    result.already_stored += 1
                    result.committed.append((part.storage, part.index))
                    continue
                number = self._sender(part, default_region)
                sender = number.key if number else None
                part_id = self._insert_part(conn, part, digest, received_at, sender)
                conn.execute(
                    "INSERT OR REPLACE INTO sim_pending VALUES (?, ?, ?, ?)",
                    (part.storage, part.index, digest, part_id),
                )
                result.new_parts += 1
                result.committed.append((part.storage, part.index))
                if part.kind is PartKind.UNDECODABLE:
                    result.undecodable += 1
                message_id = self._place(conn, part, part_id, default_region, number, received_at)
                if message_id is not None:
                    result.new_messages += 1
        return result

    def confirm_deleted(self, slots: Iterable[tuple[str, int]]) -> None:
        """The SIM confirmed these slots deleted: they are no longer pending."""
        with self._db.atomic() as conn:
            conn.executemany(
                "DELETE FROM sim_pending WHERE sim_storage = ? AND sim_index = ?", list(slots)
            )

    def release_incomplete(self, now: datetime, timeout: timedelta, default_region: str) -> int:
        """Turn multipart groups older than ``timeout`` into incomplete messages (never drop)."""
        cutoff = to_db(now - timeout)
        released = 0
        with self._db.atomic() as conn:
            groups = conn.execute(
                "SELECT group_id FROM inbound_parts WHERE message_id IS NULL"
                " AND concat_total IS NOT NULL GROUP BY group_id HAVING min(received_at) < ?",
                (cutoff,),
            ).fetchall()
            for (group_id,) in groups:
                self._assemble(conn, group_id, default_region, complete=False)
                released += 1
        return released

    def undecided(self, now: datetime | None = None, limit: int = 1000) -> list[InboundSms]:
        """Messages awaiting their decision, oldest first: those never decided, and held ones
        whose hold has ended by ``now`` (None: every held one)."""
        due = to_db(now) if now is not None else "9999"
        columns = (
            "m.id, m.kind, m.sender_raw, m.sender_e164, m.sender_kind, m.sender_region, m.text,"
            " m.received_at, m.parts, m.parts_expected"
        )
        with self._db.reading() as conn:
            # Two queries, not a UNION: ordering a union of joins made SQLite scan every message.
            rows = conn.execute(
                f"SELECT {columns} FROM undecided u CROSS JOIN messages m ON m.id = u.message_id"
                " ORDER BY u.message_id LIMIT ?",
                (limit,),
            ).fetchall()
            rows += conn.execute(
                f"SELECT {columns} FROM decisions d CROSS JOIN messages m ON m.id = d.message_id"
                " WHERE d.reason = 'held' AND d.hold_until <= ? ORDER BY d.hold_until LIMIT ?",
                (due, limit),
            ).fetchall()
        rows = sorted(rows)[:limit]
        return [
            InboundSms(
                id=message_id,
                sender=PhoneNumber(
                    raw=sender_raw or "",
                    kind=NumberKind(sender_kind) if sender_kind else NumberKind.INVALID,
                    e164=e164,
                    region=region,
                ),
                text=text or "",
                received_at=from_db(received_at),
                parts=parts,
                complete=kind != "incomplete",
                undecodable=kind == "undecodable",
            )
            for (
                message_id,
                kind,
                sender_raw,
                e164,
                sender_kind,
                region,
                text,
                received_at,
                parts,
                _expected,
            ) in rows
        ]

    def undecided_due(self, now: datetime) -> bool:
        """Whether any stored message awaits its decision as of ``now`` (holds ended)."""
        with self._db.reading() as conn:
            return (
                conn.execute(
                    "SELECT 1 FROM undecided UNION ALL SELECT 1 FROM decisions"
                    " WHERE reason = 'held' AND hold_until <= ? LIMIT 1",
                    (to_db(now),),
                ).fetchone()
                is not None
            )

    def pending_slots(self) -> int:
        """Parts committed but not yet confirmed deleted from the SIM."""
        with self._db.reading() as conn:
            count: int = conn.execute("SELECT count(*) FROM sim_pending").fetchone()[0]
        return count

    @staticmethod
    def _forget_vanished(conn: sqlite3.Connection, parts: list[ReceivedPart]) -> None:
        listed = {(p.storage, p.index) for p in parts}
        storages = {p.storage for p in parts} or {
            r[0] for r in conn.execute("SELECT DISTINCT sim_storage FROM sim_pending")
        }
        for storage in storages:
            for (index,) in conn.execute(
                "SELECT sim_index FROM sim_pending WHERE sim_storage = ?", (storage,)
            ).fetchall():
                if (storage, index) not in listed:
                    conn.execute(
                        "DELETE FROM sim_pending WHERE sim_storage = ? AND sim_index = ?",
                        (storage, index),
                    )

    @staticmethod
    def _sender(part: ReceivedPart, default_region: str) -> PhoneNumber | None:
        """The sender: its ``key`` is how counting and blocking know it (E.164, or the name)."""
        if part.decoded is None or part.kind is PartKind.STATUS_REPORT:
            return None
        return classify(part.decoded.sender, default_region)

    @staticmethod
    def _insert_part(
        conn: sqlite3.Connection,
        part: ReceivedPart,
        digest: str,
        received_at: str,
        sender: str | None,
    ) -> int:
        decoded = part.decoded
        concat = decoded.concat if decoded else None
        cursor = conn.execute(
            "INSERT INTO inbound_parts (received_at, sim_storage, sim_index, pdu, pdu_sha256,"
            " kind, error, sender_raw, smsc_time, coding, text, concat_ref, concat_bits,"
            " concat_total, concat_seq, sender)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                received_at,
                part.storage,
                part.index,
                part.pdu,
                digest,
                part.kind.value,
                part.error,
                part.sender,
                part.smsc_time.isoformat() if part.smsc_time else None,
                decoded.coding if decoded else None,
                decoded.text if decoded else None,
                concat.reference if concat else None,
                concat.reference_bits if concat else None,
                concat.total if concat else None,
                concat.sequence if concat else None,
                sender,
            ),
        )
        return inserted_id(cursor)

    def _place(
        self,
        conn: sqlite3.Connection,
        part: ReceivedPart,
        part_id: int,
        default_region: str,
        sender: PhoneNumber | None,
        received_at: str,
    ) -> int | None:
        """Make a message of the part now, or file it in its multipart group.

        A message, or a long SMS's first part to arrive, is an arrival of its sender: counted
        from now, whether the rest of the long SMS ever comes or not.
        """
        if part.kind is PartKind.STATUS_REPORT:
            return None  # we never ask for delivery reports; kept as a part, not a message
        concat = part.decoded.concat if part.decoded else None
        if part.kind is PartKind.UNDECODABLE or concat is None or concat.total == 1:
            if sender is not None:
                _arrive(conn, sender, received_at)
            kind = "undecodable" if part.kind is PartKind.UNDECODABLE else "sms"
            return self._append_message(conn, [part_id], kind, default_region, 1)
        group_id = self._open_group(conn, part, part_id)
        if group_id == part_id and sender is not None:
            _arrive(conn, sender, received_at)
        conn.execute("UPDATE inbound_parts SET group_id = ? WHERE id = ?", (group_id, part_id))
        present = conn.execute(
            "SELECT count(*) FROM inbound_parts WHERE group_id = ? AND message_id IS NULL",
            (group_id,),
        ).fetchone()[0]
        if present == concat.total:
            return self._assemble(conn, group_id, default_region, complete=True)
        return None

    @staticmethod
    def _open_group(conn: sqlite3.Connection, part: ReceivedPart, part_id: int) -> int:
        """The oldest open group of the same long SMS still missing this part, or a new one."""
        assert part.decoded is not None and part.decoded.concat is not None
        concat = part.decoded.concat
        row = conn.execute(
            "SELECT group_id FROM inbound_parts"
            " WHERE message_id IS NULL AND concat_total IS NOT NULL AND sender_raw = ?"
            " AND concat_ref = ? AND concat_total = ? AND concat_bits = ? AND id != ?"
            " GROUP BY group_id HAVING sum(concat_seq = ?) = 0 ORDER BY group_id LIMIT 1",
            (
                part.decoded.sender,
                concat.reference,
                concat.total,
                concat.reference_bits,
                part_id,
                concat.sequence,
            ),
        ).fetchone()
        return int(row[0]) if row else part_id

    def _assemble(
        self, conn: sqlite3.Connection, group_id: int, default_region: str, *, complete: bool
    ) -> int:
        rows = conn.execute(
            "SELECT id, text, concat_seq, concat_total FROM inbound_parts"
            " WHERE group_id = ? AND message_id IS NULL ORDER BY concat_seq, id",
            (group_id,),
        ).fetchall()
        total = rows[0][3]
        present = "".join(text or "" for _, text, _, _ in rows)
        texts = {seq: text or "" for _, text, seq, _ in rows}
        text = present if complete else _with_gaps(texts, total)
        kind = "sms" if complete else "incomplete"
        return self._append_message(
            conn, [part_id for part_id, _, _, _ in rows], kind, default_region, total, text=text,
            campaign_text=present,
        )  # fmt: skip

    def _append_message(
        self,
        conn: sqlite3.Connection,
        part_ids: list[int],
        kind: str,
        default_region: str,
        parts_expected: int,
        *,
        text: str | None = None,
        campaign_text: str | None = None,
    ) -> int:
        marks = ",".join("?" * len(part_ids))
        rows = conn.execute(
            f"SELECT received_at, sender_raw, smsc_time, text, pdu_sha256 FROM inbound_parts"
            f" WHERE id IN ({marks}) ORDER BY concat_seq, id",
            part_ids,
        ).fetchall()
        first = rows[0]
        sender_raw = first[1]
        if text is None:
            text = first[3]
        number = classify(sender_raw, default_region) if sender_raw is not None else None
        received_at = min(r[0] for r in rows)
        fields = evidence.ChainFields(
            received_at=received_at,
            kind=kind,
            sender_raw=sender_raw,
            sender=number.key if number else None,
            smsc_time=first[2],
            parts=len(rows),
            parts_expected=parts_expected,
            text_sha256=evidence.text_hash(text),
            part_hashes=tuple(r[4] for r in rows),
        )
        matched = campaign_text if campaign_text is not None else text
        campaign_id = (
            self._campaigns.assign(conn, matched, fields.sender, received_at)
            if matched and kind != "undecodable"
            else None
        )
        message_id = evidence.append(
            conn,
            fields,
            {
                "sender_e164": number.e164 if number else None,
                "sender_kind": number.kind.value if number else None,
                "sender_region": number.region if number else None,
                "text": text,
                "campaign_id": campaign_id,
            },
        )
        conn.execute(
            f"UPDATE inbound_parts SET message_id = ? WHERE id IN ({marks})",
            (message_id, *part_ids),
        )
        conn.execute("INSERT INTO undecided (message_id) VALUES (?)", (message_id,))
        return message_id


def _arrive(conn: sqlite3.Connection, number: PhoneNumber, at: str) -> None:
    """Count one arrival of ``number`` (its first, its shortest pause, its latest)."""
    sender = number.key
    mobile = number.kind is NumberKind.MOBILE
    conn.execute(
        "INSERT INTO senders (sender, first_at, last_at, arrivals, number_block, mobile)"
        " VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (sender) DO UPDATE SET"
        " min_gap_s = min(coalesce(min_gap_s, 1e9),"
        "  abs(julianday(excluded.last_at) - julianday(last_at)) * 86400),"
        " last_at = max(last_at, excluded.last_at), arrivals = arrivals + 1",
        (sender, at, at, number_block(sender), int(mobile)),
    )


def number_block(sender: str) -> str | None:
    """A number's block of 10,000 (all but its last 4 digits), which SIM farms buy whole;
    None for what is not a full international number."""
    if sender.startswith("+") and sender[1:].isdigit() and len(sender) >= 10:
        return sender[:-4]
    return None


def _with_gaps(texts: dict[int, str], total: int) -> str:
    """The parts of an incomplete long SMS in order, each run of missing parts one short marker.

    One marker a run, not a part: 300 lone "part 1 of 255" once made 300 texts of 5,486
    placeholder characters each. (Older rows keep their markers: the chain hashes the text.)
    """
    pieces: list[str] = []
    missing: list[int] = []
    for seq in range(1, total + 1):
        if seq not in texts:
            missing.append(seq)
            continue
        if missing:
            pieces.append(_gap(missing, total))
            missing = []
        pieces.append(texts[seq])
    if missing:
        pieces.append(_gap(missing, total))
    return "".join(pieces)


def _gap(missing: list[int], total: int) -> str:
    if len(missing) == 1:
        return f"[part {missing[0]}/{total} missing]"
    return f"[parts {missing[0]}-{missing[-1]}/{total} missing]"
