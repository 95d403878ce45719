"""Builders for parts as the modem layer hands them to the store, without a modem."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from anti_relous.modem import pdu
from anti_relous.sms import Concat, DecodedPart, PartKind, ReceivedPart

SMSC_TIME = datetime(2026, 11, 28, 13, 59, 30, tzinfo=UTC)
_unique = itertools.count(1)


def part(
    sender: str = "+33612345678",
    text: str = "salut",
    *,
    index: int | None = None,
    concat: Concat | None = None,
    pdu_bytes: bytes | None = None,
    unread: bool = True,
    storage: str = "SM",
) -> ReceivedPart:
    """A decoded SMS-DELIVER part; its raw bytes are unique unless ``pdu_bytes`` is given."""
    serial = next(_unique)
    return ReceivedPart(
        storage=storage,
        index=serial if index is None else index,
        pdu=pdu_bytes if pdu_bytes is not None else f"pdu-{serial}".encode(),
        kind=PartKind.DELIVER,
        decoded=DecodedPart(sender, text, SMSC_TIME, "gsm7", concat),
        unread=unread,
    )


def real_part(sender: str, text: str, index: int, *, unread: bool = True) -> ReceivedPart:
    """A part made of a real PDU, decoded by the real codec."""
    (raw,) = pdu.encode_deliver(sender, text, SMSC_TIME)
    return pdu.decode_stored("SM", index, raw, unread=unread)


def long_sms(
    sender: str, texts: list[str], reference: int = 7, *, bits: int = 8
) -> list[ReceivedPart]:
    """The parts of one concatenated SMS, in order."""
    total = len(texts)
    return [
        part(sender, text, concat=Concat(reference, total, seq, bits))
        for seq, text in enumerate(texts, start=1)
    ]
