"""`anti-relous export`: evidence records as JSON Lines or CSV.

JSON keeps every text exact, with control, C1 and bidi characters escaped (``\\u009b``), so a
JSON export is also safe to show on a terminal. CSV keeps cells verbatim: a spreadsheet may run
a text or an alphanumeric sender that starts like a formula (``=HYPERLINK(...)``, ``+1+1``,
``@SUM(A1)``), so the CLI warns after each CSV export, and ``safe_csv`` prefixes such cells with
``'`` (OWASP's advice), at the cost of no longer being the exact evidence.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import PurePath
from typing import IO

from anti_relous.untrusted import json_dumps

#: CSV columns, in order: every field of the export, lists joined by spaces.
EXPORT_FIELDS = (
    "id",
    "received_at",
    "kind",
    "sender_raw",
    "sender",
    "sender_kind",
    "sender_region",
    "smsc_time",
    "parts",
    "parts_expected",
    "text",
    "text_sha256",
    "purged_at",
    "decision",
    "replied",
    "decision_detail",
    "decided_at",
    "held_at",
    "shadow",
    "campaign_id",
    "campaign_senders",
    "campaign_text",
    "pdus",
    "pdu_sha256",
    "decode_error",
    "prev_hash",
    "chain_hash",
)

FORMATS = ("json", "csv")
#: Output file extensions that name a format; any other name gets JSON Lines.
_FORMAT_OF_SUFFIX = {".csv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json"}
#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def infer_format(output: str) -> str:
    """The format an output's name asks for: ``x.csv`` is CSV, anything else JSON Lines."""
    return _FORMAT_OF_SUFFIX.get(PurePath(output).suffix.lower(), "json")


def formula_safe(value: object) -> object:
    """``value`` prefixed with ``'`` when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(record: dict[str, object], *, safe: bool) -> dict[str, object]:
    """One record as a CSV row: lists joined by spaces, formulas defused when ``safe``."""
    row = {key: _csv_value(record.get(key)) for key in EXPORT_FIELDS}
    return {key: formula_safe(value) for key, value in row.items()} if safe else row


def _csv_value(value: object) -> object:
    if isinstance(value, list):
        return " ".join("" if v is None else str(v) for v in value)
    return value


def write_records(
    records: Iterable[dict[str, object]],
    handle: IO[str],
    fmt: str,
    *,
    safe_csv: bool = False,
    advance: Callable[[int], object] = lambda steps: None,
) -> tuple[int, str | None]:
    """Write ``records`` to ``handle``; returns how many, and the last one's chain hash."""
    writer = csv.DictWriter(handle, EXPORT_FIELDS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    last_hash = None
    for record in records:
        if writer is not None:
            writer.writerow(csv_row(record, safe=safe_csv))
        else:
            handle.write(json_dumps(record) + "\n")
        count += 1
        last_hash = str(record["chain_hash"])
        advance(1)
    return count, last_hash
