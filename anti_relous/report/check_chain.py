"""Check the evidence chain of a complaint pack's messages.csv, without anti-relous installed.

    python3 check_chain.py messages.csv

For every row, in order: the text matches its SHA-256 (text_sha256), each raw PDU matches its
SHA-256, the row links to the previous row (prev_hash is the previous chain_hash), and
chain_hash is SHA-256 of prev_hash, a line feed, and the row's canonical JSON (the keys below,
sorted, without spaces, UTF-8). Prints "OK, N messages; last chain hash H", or the first row that
does not match and why (exit status 1).

Standard library only (Python 3.7 or newer), and written apart from anti-relous's own code
(anti_relous/store/evidence.py, which a test holds it to), so that whoever checks the evidence
need not trust or install the software that made it. Empty CSV cells stand for "none".
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from datetime import datetime, timezone


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def stored_time(iso: str) -> str:
    """The reception time as the chain hashed it: UTC, microseconds, ``Z``."""
    moment = datetime.fromisoformat(iso).astimezone(timezone.utc)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def problem(row: dict[str, str], previous: str | None) -> str | None:
    """Why ``row`` does not verify, or None."""
    if previous is not None and row["prev_hash"] != previous:
        return "it does not link to the previous row (a message was removed or reordered)"
    text, text_hash = row["text"], row["text_sha256"]
    if (text or (text_hash and not row["purged_at"])) and sha256(text.encode()) != text_hash:
        return "its text does not match text_sha256 (the text was altered)"
    part_hashes = row["pdu_sha256"].split(" ") if row["pdu_sha256"] else []
    pdus = row["pdus"].split(" ") if row["pdus"] else []
    for pdu, pdu_hash in zip(pdus, part_hashes):
        if pdu and sha256(bytes.fromhex(pdu)) != pdu_hash:
            return "a raw PDU does not match its pdu_sha256 (the PDU was altered)"
    canonical = {
        "id": int(row["id"]),
        "received_at": stored_time(row["received_at"]),
        "kind": row["kind"],
        "sender_raw": row["sender_raw"] or None,
        "sender": row["sender"] or None,
        "smsc_time": row["smsc_time"] or None,
        "parts": int(row["parts"]),
        "parts_expected": int(row["parts_expected"]),
        "text_sha256": text_hash or None,
        "part_hashes": part_hashes,
    }
    body = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if sha256(row["prev_hash"].encode() + b"\n" + body.encode()) != row["chain_hash"]:
        return "chain_hash does not match the row (its sender, date or parts were altered)"
    return None


def main(path: str) -> int:
    """Check every row of the CSV at ``path``; 0 when all verify."""
    previous = None
    count = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            found = problem(row, previous)
            if found:
                print(f"BROKEN at message {row['id']}: {found}")
                return 1
            previous = row["chain_hash"]
            count += 1
    print(f"OK, {count} messages; last chain hash {previous}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "messages.csv"))
