"""Value types that travel between the modem, the store, the policy and the CLI."""

from __future__ import annotations

import enum
from datetime import datetime

from anti_relous.lazyclass import frozen_dataclass


class NumberKind(enum.StrEnum):
    """What a sender address is, as far as its digits (or letters) tell."""

    MOBILE = "mobile"
    FIXED_LINE = "fixed_line"
    PREMIUM_RATE = "premium_rate"
    SHORT_CODE = "short_code"
    ALPHANUMERIC = "alphanumeric"
    #: Valid but neither mobile nor costly: toll-free, VoIP, pager, personal numbers...
    OTHER = "other"
    INVALID = "invalid"


@frozen_dataclass
class PhoneNumber:
    """A sender or recipient: the address as received, and its E.164 form when it has one."""

    raw: str
    kind: NumberKind
    e164: str | None = None
    region: str | None = None

    @property
    def key(self) -> str:
        """The identity used for counting and blocking: E.164 when known, else the raw text."""
        return self.e164 if self.e164 is not None else self.raw


@frozen_dataclass
class Concat:
    """Where one part sits in a concatenated SMS (3GPP TS 23.040 9.2.3.24.1 and .8)."""

    reference: int
    total: int
    sequence: int
    #: 8 or 16: the width of the reference, which matters when keys are compared.
    reference_bits: int = 8


class PartKind(enum.StrEnum):
    """What a PDU found on the SIM turned out to be."""

    DELIVER = "deliver"
    STATUS_REPORT = "status_report"
    UNDECODABLE = "undecodable"


@frozen_dataclass
class DecodedPart:
    """The content of one SMS-DELIVER PDU, as the codec understood it."""

    sender: str
    text: str
    #: The service centre time stamp, with the offset the network gave.
    smsc_time: datetime | None
    #: "gsm7", "ucs2" or "8bit".
    coding: str
    concat: Concat | None = None
    #: Set when the part was read despite a defect (an impossible concatenation header read as a
    #: single SMS): what was wrong, kept with the part.
    problem: str | None = None


@frozen_dataclass
class Envelope:
    """Who sent a PDU and when its service centre stamped it: its TP header, read on its own."""

    sender: str
    smsc_time: datetime | None


@frozen_dataclass
class ReceivedPart:
    """One PDU read from the SIM, decoded or not, ready to be stored."""

    storage: str
    index: int
    pdu: bytes
    kind: PartKind
    decoded: DecodedPart | None = None
    #: Why decoding failed, when ``kind`` is UNDECODABLE; what was wrong with a part read anyway.
    error: str | None = None
    #: Listed as REC UNREAD: it arrived after our previous listing (which marked the others read).
    unread: bool = False
    #: The sender and time stamp of an UNDECODABLE part whose TP header could still be read.
    envelope: Envelope | None = None

    @property
    def sender(self) -> str | None:
        """The sender as received, when the PDU's header could be read."""
        if self.decoded is not None:
            return self.decoded.sender
        return self.envelope.sender if self.envelope is not None else None

    @property
    def smsc_time(self) -> datetime | None:
        """The service centre time stamp, when the PDU's header could be read."""
        if self.decoded is not None:
            return self.decoded.smsc_time
        return self.envelope.smsc_time if self.envelope is not None else None


@frozen_dataclass
class InboundSms:
    """A logical inbound message (all its parts assembled), as the policy sees it."""

    id: int
    sender: PhoneNumber
    text: str
    received_at: datetime
    parts: int = 1
    #: False for a long SMS released after the multipart timeout with parts missing.
    complete: bool = True
    #: True for a PDU that could not be decoded: kept as evidence, never answered.
    undecodable: bool = False
