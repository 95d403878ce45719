"""SMS PDU encoding and decoding through python-gammu, with its traps worked around.

python-gammu (libgammu) is the codec; nothing here packs septets. What this module adds, each
workaround narrow and pinned by a test that fails the day gammu is fixed ("gammu still ..."):

1. ``DecodePDU`` of python-gammu 3.5.1 returns junk after a GSM-7 text that uses the extension
   table (``'abc€'`` comes back as ``'abc€\\x00'``): its ``Length`` counts septets, one more per
   escaped character, and it returns that many characters. We keep the longest prefix whose
   septet count equals ``Length``.
2. ``EncodeSMS`` with ``Unicode: False`` transliterates what GSM-7 lacks (``'ça'`` leaves as
   ``'ca'``) and with ``Unicode: True`` always uses UCS-2. We pick UCS-2 exactly when a character
   is outside the GSM 03.38 basic and extension tables.
3. In UCS-2, gammu treats ``~`` as an escape: ``EncodeSMS`` sends ``'~'`` as U+0001 and ``'~~'``
   as ``'~'``; ``DecodePDU`` returns ``'~~'`` for a tilde and ``'~'`` for U+0001, cut to
   ``Length`` characters, so the end of the text is lost. We double tildes before encoding, and
   when a decoded UCS-2 text holds a tilde we read its UTF-16 units from the PDU instead.
4. Before libgammu sees a PDU from the SIM, its lengths are checked against the bytes present:
   libgammu trusts the header and reads past the buffer of a truncated PDU.
5. An alphanumeric sender (type of number 101, TS 23.040 9.1.2.5) is not mapped through the
   GSM 03.38 alphabet (``"O2_"`` comes back as ``"O2\\x11"``) and is cut at an ``@`` (septet 0,
   a C string's end). Bots use such senders, and the sender drives quotas and blocks: its
   septets go through libgammu's own GSM-7 text decoder instead, as the text of a stand-in PDU.
6. A data coding of group 1111 with its reserved bit 3 set (``0xFB``, seen on a real network)
   is decoded as 8-bit data, so the policy would see hex instead of the text: libgammu is given
   the PDU with that bit clear.
7. A service centre time stamp whose year digits are 90-99 comes back in 2080-2089: the century
   is set from the digits (TS 23.040 leaves it out; 90-99 are read as the 1990s).
8. A user data header holding two concatenation elements (an 8-bit and a 16-bit one) comes back
   as no concatenation at all, so the part would pass for a whole SMS: the header's elements are
   counted, and such a part is read as a single SMS with the defect recorded.

A PDU whose body cannot be read but whose TP header can keeps its sender and time stamp
(``decode_stored``): a harasser must not keep a message out of a per-sender export by breaking
its body.

Past 500 lines on purpose: one adapter over one library. Much of it reads the TP header
(TS 23.040) only as far as the workarounds above need, each next to the trap it answers. Moved
to a module of its own, that reading would read as the start of a hand-written codec, which the
project refuses (python-gammu codes PDUs); kept here, each piece is plainly a workaround.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

import gammu

from anti_relous.coding import GSM7_EXTENSION, fits_gsm7
from anti_relous.modem.errors import PduError
from anti_relous.sms import Concat, DecodedPart, Envelope, PartKind, ReceivedPart

# TS 23.040 9.2.3.16: user data of one SMS is at most 140 octets (160 septets).
MAX_USER_DATA_OCTETS = 140
# Validity asked of the SMSC for our replies: gammu's "NA" would mean 5 minutes (TP-VP 0), after
# which a texter whose phone was off never gets the explanation. Operators cap it anyway.
REPLY_VALIDITY = "Max"
#: Year digits of a time stamp from which it is read in the 1990s (trap 7).
FIRST_1900S_YEAR = 90
# TS 23.040 9.2.3.1: the two low bits of the first TPDU octet give the message type; bit 6
# (TP-UDHI) says the user data starts with a header.
_MTI_MASK = 0x03
_MTI_DELIVER = 0
_MTI_SUBMIT = 1
_MTI_STATUS_REPORT = 2
_UDHI = 0x40
# TS 23.040 9.1.2.5: bits 6-4 of the type of address; 101 is an alphanumeric address in GSM-7.
_TYPE_OF_NUMBER = 0x70
_ALPHANUMERIC = 0x50
# TS 23.040 9.2.3.11: TP-SCTS is seven octets of swapped decimal digits, the year first.
_SCTS_OCTETS = 7
# TS 23.038 section 4: the data coding group is the high nibble. Groups 00xx and 01xx give the
# alphabet in bits 3-2 and compression in bit 5; 1100-1110 are message-waiting groups; in
# 1111, bit 2 chooses 8-bit data over GSM-7 and bit 3 is reserved (trap 6).
_DCS_GROUP_SHIFT = 4
_DCS_GENERAL_GROUPS = range(0b1000)  # 00xx and 01xx
_DCS_COMPRESSED = 0x20
_DCS_ALPHABETS = {0b00: "gsm7", 0b01: "8bit", 0b10: "ucs2", 0b11: "reserved"}
_DCS_WAITING_GSM7 = (0b1100, 0b1101)
_DCS_WAITING_UCS2 = 0b1110
_DCS_DATA_CODING = 0b1111
_DCS_8BIT_DATA = 0x04
_DCS_RESERVED_BIT = 0x08
# TS 23.040 9.2.3.24.1 and 9.2.3.24.8: the concatenation information elements.
_CONCAT_ELEMENTS = {0x00: "8-bit", 0x08: "16-bit"}
# What a phone number looks like to gammu's address encoder; any other sender is alphanumeric.
_PHONE_NUMBER = re.compile(r"\+?[0-9]*")
#: An alphanumeric sender gammu's encoder accepts, replaced by the real one's septets (trap 5).
_STAND_IN_NAME = "A"
# The stand-in SMS-DELIVER that carries an alphanumeric sender's septets as its text (trap 5):
# no SMSC, first octet DELIVER, a one-digit sender, PID 0, DCS GSM-7, time stamp 2000-01-01.
_STAND_IN_HEADER = bytes.fromhex("00040181F0000000101000000000")

_CODING_NAMES = {
    "Default_No_Compression": "gsm7",
    "Unicode_No_Compression": "ucs2",
    "8bit": "8bit",
}
_CONCAT_UDH = {"ConcatenatedMessages": 8, "ConcatenatedMessages16bit": 16}


@dataclass(frozen=True)
class SubmitPdu:
    """One SMS-SUBMIT ready for AT+CMGS in PDU mode."""

    #: Hex of the whole PDU, starting with a zero-length SMSC field (use the SIM's SMSC).
    hex: str
    #: The length AT+CMGS wants: TPDU octets, SMSC field excluded (TS 27.005 3.5.1).
    tpdu_length: int


@dataclass(frozen=True)
class DecodedSubmit:
    """What an SMS-SUBMIT asks to send; the simulator records these."""

    number: str
    text: str
    coding: str
    concat: Concat | None
    #: TP-VP as gammu names it ("Max", "3D", "NA"...).
    validity: str


def encode_submit(number: str, text: str, *, reference: int = 0) -> list[SubmitPdu]:
    """SMS-SUBMIT PDUs for ``text`` to ``number``; several linked parts if it is long.

    ``reference`` (0-255) is the concatenation reference: pass a different one per message so
    that a phone never mixes the parts of two replies.
    """
    if not text:
        raise PduError("cannot send an empty SMS")
    pdus = []
    for message in _encode(text, reference=reference):
        message["Number"] = number
        message["SMSC"] = {"Location": 0, "Number": "", "Validity": REPLY_VALIDITY}
        message["Type"] = "Submit"
        try:
            raw = bytes(gammu.EncodePDU(message, "Submit"))
        except gammu.GSMError as error:
            raise PduError(f"cannot encode an SMS to {number!r}: {_gammu_text(error)}") from None
        tpdu = raw[1 + raw[0] :]
        # An empty SMSC field tells the modem to use the SIM's SMSC; gammu writes "01 81" instead,
        # which some firmwares reject.
        pdus.append(SubmitPdu(hex="00" + tpdu.hex().upper(), tpdu_length=len(tpdu)))
    return pdus


def submit_messages(number: str, text: str, *, reference: int = 0) -> list[dict[str, Any]]:
    """The parts ``encode_submit`` would make, as gammu SMS dictionaries for ``SendSMS``.

    For the gammu backend, which hands whole messages to libgammu: same coding rule, same
    concatenation reference. The SMSC is the phone's first (``Location: 1``), as gammu wants.
    """
    if not text:
        raise PduError("cannot send an empty SMS")
    messages = _encode(text, reference=reference)
    for message in messages:
        message["Number"] = number
        message["SMSC"] = {"Location": 1}
        message["Type"] = "Submit"
    return messages


def encode_deliver(
    sender: str,
    text: str,
    smsc_time: dt.datetime,
    *,
    smsc: str = "+33609001390",
    reference: int = 0,
    ucs2: bool | None = None,
) -> list[bytes]:
    """SMS-DELIVER PDUs (with SMSC field) as a network would store them on a SIM.

    For the simulator and tests. ``ucs2=None`` picks the coding like ``encode_submit``.
    """
    alphanumeric = _PHONE_NUMBER.fullmatch(sender) is None
    pdus = []
    for message in _encode(text, reference=reference, ucs2=ucs2):
        # An alphanumeric sender's address is written below: gammu's encoder refuses some.
        message["Number"] = _STAND_IN_NAME if alphanumeric else sender
        message["SMSC"] = {"Location": 0, "Number": smsc}
        message["Type"] = "Deliver"
        message["DateTime"] = smsc_time
        message["SMSCDateTime"] = smsc_time
        try:
            raw = bytes(gammu.EncodePDU(message, "Deliver"))
        except gammu.GSMError as error:
            raise PduError(f"cannot encode an SMS from {sender!r}: {_gammu_text(error)}") from None
        pdus.append(_with_gsm7_sender(raw, sender) if alphanumeric else raw)
    return pdus


def _with_gsm7_sender(raw: bytes, sender: str) -> bytes:
    """``raw`` with its sender replaced by ``sender`` packed in GSM-7 septets, as networks do.

    libgammu packs the characters' ASCII codes instead (trap 5, the encoding half): ``"A@B"``
    would reach the SIM as ``"A¡B"``, and it refuses ``"£"``. The septets come from libgammu's
    GSM-7 text encoder (which, like any GSM-7 encoder, transliterates what the alphabet lacks).
    """
    layout = _deliver_layout(raw)
    info = {"Class": -1, "Unicode": False, "Entries": [{"ID": "Text", "Buffer": sender}]}
    (message,) = gammu.EncodeSMS(info)
    message.update(Number="1", SMSC={"Location": 0, "Number": ""}, Type="Submit")
    septets = sum(2 if char in GSM7_EXTENSION else 1 for char in sender)
    packed = bytes(gammu.EncodePDU(message, "Submit"))[-math.ceil(septets * 7 / 8) :]
    address = bytes([math.ceil(septets * 7 / 4), raw[layout.address + 1]]) + packed
    old_end = layout.address + 2 + (raw[layout.address] + 1) // 2
    return raw[: layout.address] + address + raw[old_end:]


def decode_deliver(pdu: bytes) -> DecodedPart:
    """Decode one SMS-DELIVER PDU that starts with its SMSC field, as AT+CMGL returns it.

    Raises PduError for a PDU whose text cannot be read. A part read despite a defect (an
    impossible concatenation header) comes back as a single SMS with ``problem`` set.
    """
    layout = _deliver_layout(pdu)
    user_data_end = _check_user_data(pdu, layout)
    message = _decode(_for_gammu(pdu, layout))
    coding = _CODING_NAMES.get(message["Coding"])
    if coding is None:
        raise PduError(f"unsupported data coding {message['Coding']!r}")
    concat, problem = _concat(message["UDH"], pdu, layout)
    return DecodedPart(
        sender=_sender(message, pdu, layout),
        text=_message_text(message, coding, pdu[:user_data_end]),
        smsc_time=_smsc_time(message, pdu, layout),
        coding=coding,
        concat=concat,
        problem=problem,
    )


def decode_envelope(pdu: bytes) -> Envelope:
    """Sender and service centre time stamp of an SMS-DELIVER, from its TP header alone.

    For a PDU whose body cannot be decoded: libgammu reads a copy cut after the time stamp.
    """
    layout = _deliver_layout(pdu)
    header_only = (
        pdu[: layout.first]
        + bytes([pdu[layout.first] & ~_UDHI & 0xFF])
        + pdu[layout.first + 1 : layout.dcs]
        + bytes([0])  # GSM-7: libgammu refuses a compressed or reserved coding
        + pdu[layout.scts : layout.udl]
        + bytes([0])  # no user data
    )
    message = _decode(header_only)
    return Envelope(_sender(message, pdu, layout), _smsc_time(message, pdu, layout))


def decode_submit(pdu: bytes) -> DecodedSubmit:
    """Decode an SMS-SUBMIT that starts with its SMSC field, as AT+CMGS carries it."""
    tpdu_start = _tpdu_start(pdu)
    if pdu[tpdu_start] & _MTI_MASK != _MTI_SUBMIT:
        raise PduError("not an SMS-SUBMIT")
    message = _decode(pdu)
    coding = _CODING_NAMES.get(message["Coding"])
    if coding is None:
        raise PduError(f"unsupported data coding {message['Coding']!r}")
    concat, problem = _gammu_concat(message["UDH"])
    if problem is not None:
        raise PduError(problem)
    return DecodedSubmit(
        number=message["Number"],
        text=_message_text(message, coding, pdu),
        coding=coding,
        concat=concat,
        validity=message["SMSC"].get("Validity", "NA"),
    )


def decode_stored(storage: str, index: int, pdu: bytes, *, unread: bool = False) -> ReceivedPart:
    """Classify and decode a PDU read from the SIM; never raises (a bad PDU is UNDECODABLE).

    An UNDECODABLE part whose TP header decodes keeps its sender and time stamp (``envelope``).
    """
    try:
        tpdu_start = _tpdu_start(pdu)
        if pdu[tpdu_start] & _MTI_MASK == _MTI_STATUS_REPORT:
            return ReceivedPart(storage, index, pdu, PartKind.STATUS_REPORT, unread=unread)
        decoded = decode_deliver(pdu)
    except PduError as error:
        try:
            envelope: Envelope | None = decode_envelope(pdu)
        except PduError:
            envelope = None
        return ReceivedPart(
            storage,
            index,
            pdu,
            PartKind.UNDECODABLE,
            error=str(error),
            unread=unread,
            envelope=envelope,
        )
    return ReceivedPart(
        storage, index, pdu, PartKind.DELIVER, decoded=decoded, error=decoded.problem, unread=unread
    )


def _encode(text: str, *, reference: int, ucs2: bool | None = None) -> list[dict[str, Any]]:
    use_ucs2 = not fits_gsm7(text) if ucs2 is None else ucs2
    # In UCS-2, gammu's encoder reads "~" as an escape: a lone "~" goes out as U+0001 and "~~"
    # as "~". Doubling every tilde puts the real character on the air.
    buffer = text.replace("~", "~~") if use_ucs2 else text
    info = {
        "Class": -1,
        "Unicode": use_ucs2,
        "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": buffer}],
    }
    try:
        messages: list[dict[str, Any]] = gammu.EncodeSMS(info)
    except gammu.GSMError as error:
        raise PduError(f"cannot encode the text: {_gammu_text(error)}") from None
    if len(messages) > 1:
        for message in messages:
            message["UDH"] = _with_reference(message["UDH"], reference)
    return messages


def _with_reference(udh: dict[str, Any], reference: int) -> dict[str, Any]:
    # gammu derives the 8-bit reference from the clock, so two replies in one second would share
    # it. The UDH is "05 00 03 ref total seq" (TS 23.040 9.2.3.24.1): set ref ourselves.
    raw = bytearray(udh["Text"])
    if len(raw) != 6 or raw[1] != 0x00:
        raise PduError(f"unexpected concatenation header {bytes(raw).hex()} from gammu")
    raw[3] = reference & 0xFF
    return {**udh, "Text": bytes(raw), "ID8bit": reference & 0xFF}


def _tpdu_start(pdu: bytes) -> int:
    if not pdu:
        raise PduError("empty PDU")
    start = 1 + pdu[0]
    if start >= len(pdu):
        raise PduError(f"PDU of {len(pdu)} octets ends inside its SMSC field")
    return start


@dataclass(frozen=True)
class _Layout:
    """Where the fields of an SMS-DELIVER sit, in a PDU that starts with its SMSC field."""

    #: The first TPDU octet (message type, TP-UDHI).
    first: int
    #: TP-OA's length (in semi-octets), followed by its type of address and its digits.
    address: int
    dcs: int
    scts: int
    udl: int


def _deliver_layout(pdu: bytes) -> _Layout:
    """The positions of an SMS-DELIVER's fields up to its TP-UDL (TS 23.040 9.2.2.1)."""
    first = _tpdu_start(pdu)
    mti = pdu[first] & _MTI_MASK
    if mti != _MTI_DELIVER:
        raise PduError(f"not an SMS-DELIVER (message type indicator {mti})")
    address = first + 1
    if address >= len(pdu):
        raise PduError("PDU truncated before the sender address")
    address_octets = 1 + (pdu[address] + 1) // 2  # type of address + BCD digit pairs
    dcs = address + 1 + address_octets + 1  # TP-PID comes first
    scts = dcs + 1
    udl = scts + _SCTS_OCTETS
    if udl >= len(pdu):
        raise PduError(f"PDU of {len(pdu)} octets truncated before its user data length")
    return _Layout(first, address, dcs, scts, udl)


def _check_user_data(pdu: bytes, layout: _Layout) -> int:
    """Refuse user data that cannot be read as its header says, naming what is wrong.

    Returns where the user data ends (trailing bytes past it are not part of the message).
    """
    udl = pdu[layout.udl]
    dcs = pdu[layout.dcs]
    alphabet = _alphabet(dcs)
    needed = math.ceil(udl * 7 / 8) if alphabet == "gsm7" else udl
    present = len(pdu) - layout.udl - 1
    if needed > MAX_USER_DATA_OCTETS:
        raise PduError(f"user data length {udl} exceeds one SMS")
    if present < needed:
        raise PduError(
            f"PDU truncated: header announces {needed} octets of text, {present} present"
        )
    header = 0
    if pdu[layout.first] & _UDHI:
        if needed == 0:
            raise PduError("PDU announces a user data header but has no user data")
        header = 1 + pdu[layout.udl + 1]
        if header > needed:
            raise PduError(
                f"user data header of {header} octets is longer than the user data ({needed})"
            )
    if _compressed(dcs):
        raise PduError("compressed text (TS 23.042), which phones do not send, cannot be read")
    if alphabet == "ucs2" and (needed - header) % 2:
        raise PduError(f"UCS-2 text of {needed - header} octets, an odd number")
    return layout.udl + 1 + needed


def _alphabet(dcs: int) -> str:
    """ "gsm7", "8bit", "ucs2" or "reserved": what a data coding says (TS 23.038 section 4)."""
    group = dcs >> _DCS_GROUP_SHIFT
    if group in _DCS_GENERAL_GROUPS:
        return _DCS_ALPHABETS[(dcs >> 2) & 0b11]
    if group in _DCS_WAITING_GSM7:
        return "gsm7"
    if group == _DCS_WAITING_UCS2:
        return "ucs2"
    if group == _DCS_DATA_CODING:
        return "8bit" if dcs & _DCS_8BIT_DATA else "gsm7"
    return "reserved"


def _compressed(dcs: int) -> bool:
    return dcs >> _DCS_GROUP_SHIFT in _DCS_GENERAL_GROUPS and bool(dcs & _DCS_COMPRESSED)


def _for_gammu(pdu: bytes, layout: _Layout) -> bytes:
    """The PDU with the reserved bit of a group 1111 data coding cleared (trap 6)."""
    dcs = pdu[layout.dcs]
    if dcs >> _DCS_GROUP_SHIFT != _DCS_DATA_CODING or not dcs & _DCS_RESERVED_BIT:
        return pdu
    cleared = bytearray(pdu)
    cleared[layout.dcs] = dcs & ~_DCS_RESERVED_BIT
    return bytes(cleared)


def _sender(message: dict[str, Any], pdu: bytes, layout: _Layout) -> str:
    """gammu's sender, or an alphanumeric one decoded from its septets (trap 5)."""
    if pdu[layout.address + 1] & _TYPE_OF_NUMBER != _ALPHANUMERIC:
        return str(message["Number"])
    semi_octets = pdu[layout.address]
    octets = pdu[layout.address + 2 : layout.address + 2 + (semi_octets + 1) // 2]
    stand_in = _decode(_STAND_IN_HEADER + bytes([semi_octets * 4 // 7]) + octets)
    return _trim_to_septets(stand_in["Text"], stand_in["Length"])


def _smsc_time(message: dict[str, Any], pdu: bytes, layout: _Layout) -> dt.datetime | None:
    """gammu's time stamp, moved to the 1990s when its year digits say 90-99 (trap 7)."""
    stamp: dt.datetime | None = message.get("DateTime")
    tens, units = pdu[layout.scts] & 0x0F, pdu[layout.scts] >> 4  # digits swapped
    if stamp is None or tens > 9 or units > 9 or tens * 10 + units < FIRST_1900S_YEAR:
        return stamp
    try:
        return stamp.replace(year=1900 + tens * 10 + units)
    except ValueError:  # 29 February of a year without one
        return stamp


def _decode(pdu: bytes) -> dict[str, Any]:
    try:
        message: dict[str, Any] = gammu.DecodePDU(pdu, True)
    except gammu.GSMError as error:
        raise PduError(f"malformed PDU: {_gammu_text(error)}") from None
    except (ValueError, TypeError, OverflowError) as error:
        raise PduError(f"malformed PDU: {error}") from None
    return message


def _message_text(message: dict[str, Any], coding: str, pdu: bytes) -> str:
    """The text gammu decoded, with its traps undone; ``pdu`` ends where the user data ends."""
    text = message["Text"]
    if coding == "8bit":
        # Binary payloads (WAP push, SIM toolkit) have no text; the raw PDU keeps the bytes.
        return bytes(text).hex()
    if coding == "gsm7":
        return _trim_to_septets(text, message["Length"])
    if "~" in text:
        return _ucs2_text(pdu, message["Length"])
    return str(text)


def _ucs2_text(pdu: bytes, units: int) -> str:
    """UCS-2 text read from the PDU itself, for the one case gammu gets wrong.

    gammu escapes "~" as "~~" (and reads U+0001 as "~") in the text it returns, then cuts that
    text to ``Length`` characters, so a tilde costs a character at the end. The text is the last
    ``Length`` UTF-16 units of the user data, after any header; a broken surrogate pair becomes
    U+FFFD (the raw PDU stays the evidence).
    """
    return pdu[len(pdu) - 2 * units :].decode("utf-16-be", errors="replace")


def _trim_to_septets(text: str, septets: int) -> str:
    """python-gammu 3.5.1 returns ``Length`` characters where ``Length`` counts septets."""
    used = 0
    for position, char in enumerate(text):
        used += 2 if char in GSM7_EXTENSION else 1
        if used > septets:
            return text[:position]
    return text


def _concat(udh: dict[str, Any], pdu: bytes, layout: _Layout) -> tuple[Concat | None, str | None]:
    """The part's place in a long SMS; or None, and why it is read as a single SMS instead."""
    elements = _concat_elements(pdu, layout)
    if len(elements) > 1:
        kinds = " and ".join(_CONCAT_ELEMENTS[element] for element in elements)
        return None, (
            f"the user data header holds {len(elements)} concatenation elements ({kinds}): "
            "read as a single SMS"
        )
    return _gammu_concat(udh)


def _gammu_concat(udh: dict[str, Any]) -> tuple[Concat | None, str | None]:
    """The concatenation element gammu found, or None and why it cannot be one."""
    bits = _CONCAT_UDH.get(udh.get("Type", ""))
    if bits is None:
        return None, None
    reference = udh["ID8bit"] if bits == 8 else udh["ID16bit"]
    total, sequence = udh["AllParts"], udh["PartNumber"]
    if not 1 <= sequence <= total:
        return None, f"concatenation header says part {sequence} of {total}: read as a single SMS"
    return Concat(reference=reference, total=total, sequence=sequence, reference_bits=bits), None


def _concat_elements(pdu: bytes, layout: _Layout) -> list[int]:
    """The concatenation elements' identifiers in the user data header (trap 8)."""
    if not pdu[layout.first] & _UDHI:
        return []
    position = layout.udl + 2
    end = position + pdu[layout.udl + 1]
    found = []
    while position + 1 < end:  # identifier, length, data (TS 23.040 9.2.3.24)
        identifier, length = pdu[position], pdu[position + 1]
        if identifier in _CONCAT_ELEMENTS:
            found.append(identifier)
        position += 2 + length
    return found


def _gammu_text(error: Exception) -> str:
    detail = error.args[0] if error.args else {}
    return str(detail.get("Text", error)) if isinstance(detail, dict) else str(error)
