"""The SHA-256 evidence chain over inbound messages: append, verify, purge texts, export.

Each message row's ``chain_hash`` is SHA-256 of the previous row's hash and the row's canonical
content. The content holds hashes of the text and of every raw PDU rather than the bytes
themselves, so erasing texts after the retention period leaves the chain verifiable, while a
text that is still present must match its hash.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from anti_relous.store.db import Database, from_db, to_db
from anti_relous.store.reports import Senders, sender_match

GENESIS_HASH = "0" * 64


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def text_hash(text: str | None) -> str | None:
    """The hash recorded for a message text (None for messages without text)."""
    return None if text is None else sha256_hex(text.encode("utf-8"))


@dataclass(frozen=True)
class ChainFields:
    """The content of a message row that the chain covers."""

    received_at: str
    kind: str
    sender_raw: str | None
    sender: str | None
    smsc_time: str | None
    parts: int
    parts_expected: int
    text_sha256: str | None
    part_hashes: tuple[str, ...]


#: The messages columns the chain covers, in ``ChainFields`` order: written by ``append``, read back
#: by ``verify``. (``part_hashes`` lives in inbound_parts.)
CHAINED_COLUMNS = tuple(f.name for f in dataclasses.fields(ChainFields) if f.name != "part_hashes")
_HASHED = (*CHAINED_COLUMNS, "part_hashes")


def canonical(message_id: int, fields: ChainFields) -> bytes:
    """Stable bytes for hashing: sorted-key compact JSON, UTF-8."""
    document: dict[str, object] = {"id": message_id}
    for name in _HASHED:
        document[name] = getattr(fields, name)
    document["part_hashes"] = list(fields.part_hashes)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, message_id: int, fields: ChainFields) -> str:
    """The hash linking a row to its predecessor."""
    return sha256_hex(prev_hash.encode("ascii") + b"\n" + canonical(message_id, fields))


def append(conn: sqlite3.Connection, fields: ChainFields, extra: dict[str, object]) -> int:
    """Insert a message row at the end of the chain; ``extra`` fills the non-chained columns.

    Must run inside the caller's write transaction, which serialises appends.
    """
    row = conn.execute("SELECT id, chain_hash FROM messages ORDER BY id DESC LIMIT 1").fetchone()
    prev_id, prev_hash = (row[0], row[1]) if row else (0, GENESIS_HASH)
    message_id = prev_id + 1
    columns: dict[str, object] = {"id": message_id}
    for name in CHAINED_COLUMNS:
        columns[name] = getattr(fields, name)
    columns.update(prev_hash=prev_hash, chain_hash=chain_hash(prev_hash, message_id, fields))
    columns.update(extra)
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    conn.execute(f"INSERT INTO messages ({names}) VALUES ({marks})", tuple(columns.values()))
    return message_id


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of a chain check: ``ok``, or the first broken message and why."""

    ok: bool
    checked: int
    head_hash: str
    broken_id: int | None = None
    problem: str | None = None
    #: With ``verify(head=...)``: the message whose verified chain hash is that head, if any,
    #: and how many messages the chain holds up to it (itself included).
    head_found_at: int | None = None
    head_position: int | None = None


class Evidence:
    """Verification, retention purge and export of the evidence chain."""

    def __init__(self, db: Database):
        self._db = db

    def verify(
        self, progress: Callable[[int], None] | None = None, *, head: str | None = None
    ) -> VerifyResult:
        """Recompute every link; stop at the first row that does not match.

        ``head``: a head hash given out earlier (with an export); the result says which message
        it is, if the verified chain holds it: every message up to that one is then unchanged.
        """
        prev_hash = GENESIS_HASH
        checked = 0
        found: tuple[int, int] | tuple[None, None] = (None, None)
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT id, {', '.join(CHAINED_COLUMNS)}, text, prev_hash, chain_hash"
                " FROM messages ORDER BY id"
            )
            for row in rows:
                problem = self._check_row(conn, row, prev_hash)
                if problem:
                    return VerifyResult(False, checked, prev_hash, row[0], problem, *found)
                prev_hash = row[-1]
                checked += 1
                if prev_hash == head:
                    found = (row[0], checked)
                if progress and checked % 10_000 == 0:
                    progress(checked)
        return VerifyResult(True, checked, prev_hash, None, None, *found)

    @staticmethod
    def _check_row(conn: sqlite3.Connection, row: tuple[Any, ...], prev_hash: str) -> str | None:
        message_id, *chained, text, stored_prev, stored_hash = row
        text_sha = chained[CHAINED_COLUMNS.index("text_sha256")]
        if stored_prev != prev_hash:
            return "its link to the previous message is broken (a message was removed or reordered)"
        if text is not None and text_hash(text) != text_sha:
            return "its text does not match the recorded hash (the text was altered)"
        part_rows = conn.execute(
            "SELECT pdu, pdu_sha256 FROM inbound_parts WHERE message_id = ?"
            " ORDER BY concat_seq, id",
            (message_id,),
        ).fetchall()
        for pdu, pdu_sha in part_rows:
            if pdu is not None and sha256_hex(pdu) != pdu_sha:
                return "a raw PDU does not match its recorded hash (the PDU was altered)"
        fields = ChainFields(
            **dict(zip(CHAINED_COLUMNS, chained, strict=True)),
            part_hashes=tuple(pdu_sha for _, pdu_sha in part_rows),
        )
        if chain_hash(prev_hash, message_id, fields) != stored_hash:
            return "its content does not match its chain hash (sender, date or parts altered)"
        return None

    def purge(self, now: datetime, retention: timedelta) -> int:
        """Erase texts and raw PDUs of messages received before ``now - retention``, and the
        texts of campaigns gone quiet since then.

        Dates, senders, hashes and decisions stay. Returns how many messages were purged.
        A zero retention keeps everything.
        """
        if retention <= timedelta(0):
            return 0
        cutoff = to_db(now - retention)
        with self._secure_delete(), self._db.atomic() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM messages WHERE received_at < ? AND purged_at IS NULL",
                    (cutoff,),
                )
            ]
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                marks = ",".join("?" * len(batch))
                conn.execute(
                    f"UPDATE messages SET text = NULL, purged_at = ? WHERE id IN ({marks})",
                    (to_db(now), *batch),
                )
                conn.execute(
                    "UPDATE inbound_parts SET text = NULL, pdu = NULL"
                    f" WHERE message_id IN ({marks})",
                    batch,
                )
            # A campaign keeps its first text (and its normal form) while it is active; once
            # its last message is past retention, both go like the messages' texts.
            conn.execute(
                "UPDATE campaigns SET text = NULL, representative = '' WHERE last_at < ?"
                " AND representative != ''",
                (cutoff,),
            )
        return len(ids)

    @contextlib.contextmanager
    def _secure_delete(self) -> Iterator[None]:
        """Overwrite freed content with zeros while erasing: without it, an erased text stays
        in the file's free space. The default is a build option (off in SQLite's own builds), so
        it is set here. Only for the purge: the ingest and the queue delete rows all day long."""
        conn = self._db.conn
        with self._db.reading():
            previous = conn.execute("PRAGMA secure_delete").fetchone()[0]
            conn.execute("PRAGMA secure_delete = ON")
        try:
            yield
        finally:
            with self._db.reading():
                conn.execute(f"PRAGMA secure_delete = {int(previous)}")

    def export(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        sender: Senders = None,
    ) -> Iterator[dict[str, object]]:
        """One record per message with every field, its decision, its PDUs and its chain hashes.

        ``sender`` keeps one sender (a string, as the store keys it) or a SenderMatch.
        """
        clauses, params = [], []
        if since is not None:
            clauses.append("m.received_at >= ?")
            params.append(to_db(since))
        if until is not None:
            clauses.append("m.received_at < ?")
            params.append(to_db(until))
        match = sender_match(sender)
        if match is not None:
            clause, values = match.clause("m.sender")
            clauses.append(clause)
            params.extend(values)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        query = (
            "SELECT m.id, m.received_at, m.kind, m.sender_raw, m.sender, m.sender_kind,"
            " m.sender_region, m.smsc_time, m.parts, m.parts_expected, m.text, m.text_sha256,"
            " m.purged_at, m.prev_hash, m.chain_hash, d.reply, d.reason, d.detail, d.decided_at,"
            " d.held_at, d.shadow, m.campaign_id, c.text,"
            " (SELECT count(*) FROM campaign_senders s WHERE s.campaign_id = m.campaign_id)"
            " FROM messages m LEFT JOIN decisions d ON d.message_id = m.id"
            f" LEFT JOIN campaigns c ON c.id = m.campaign_id {where} ORDER BY m.id"
        )
        with self._db.reading() as conn:
            for row in conn.execute(query, params):
                (message_id, received_at, kind, sender_raw, sender_key, sender_kind, region,
                 smsc_time, parts, expected, text, text_sha, purged_at, prev_hash, chain,
                 replied, reason, detail, decided_at, held_at, shadow, campaign_id,
                 campaign_text, campaign_senders) = row  # fmt: skip
                pdus = conn.execute(
                    "SELECT pdu, pdu_sha256, error FROM inbound_parts WHERE message_id = ?"
                    " ORDER BY concat_seq, id",
                    (message_id,),
                ).fetchall()
                yield {
                    "id": message_id,
                    "received_at": _iso(received_at),
                    "kind": kind,
                    "sender_raw": sender_raw,
                    "sender": sender_key,
                    "sender_kind": sender_kind,
                    "sender_region": region,
                    "smsc_time": smsc_time,
                    "parts": parts,
                    "parts_expected": expected,
                    "text": text,
                    "text_sha256": text_sha,
                    "purged_at": _iso(purged_at),
                    "decision": reason,
                    "replied": None if replied is None else bool(replied),
                    "decision_detail": detail,
                    "decided_at": _iso(decided_at),
                    "held_at": _iso(held_at),
                    "shadow": shadow,
                    "campaign_id": campaign_id,
                    "campaign_senders": campaign_senders if campaign_id is not None else None,
                    "campaign_text": campaign_text,
                    "pdus": [p[0].hex() if p[0] is not None else None for p in pdus],
                    "pdu_sha256": [p[1] for p in pdus],
                    "decode_error": next((p[2] for p in pdus if p[2]), None),
                    "prev_hash": prev_hash,
                    "chain_hash": chain,
                }


def _iso(text: str | None) -> str | None:
    moment = from_db(text)
    return moment.isoformat() if moment else None
