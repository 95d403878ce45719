"""SMS PDU encoding and decoding through python-gammu, with its two text traps worked around.

python-gammu (libgammu) is the codec; nothing here packs septets. What this module adds:

* ``DecodePDU`` of python-gammu 3.5.1 returns junk after a GSM-7 text that uses the extension
  table (``'abc€'`` comes back as ``'abc€\\x00'``): its ``Length`` counts septets, one more per
  escaped character, and it returns that many characters. We keep the longest prefix whose
  septet count equals ``Length``.
* ``EncodeSMS`` with ``Unicode: False`` transliterates what GSM-7 lacks (``'ça'`` leaves as
  ``'ca'``) and with ``Unicode: True`` always uses UCS-2. We pick UCS-2 exactly when a character
  is outside the GSM 03.38 basic and extension tables.
* In UCS-2, gammu treats ``~`` as an escape: ``EncodeSMS`` sends ``'~'`` as U+0001 and ``'~~'``
  as ``'~'``; ``DecodePDU`` returns ``'~~'`` for a tilde and ``'~'`` for U+0001, cut to
  ``Length`` characters, so the end of the text is lost. We double tildes before encoding, and
  when a decoded UCS-2 text holds a tilde we read its UTF-16 units from the PDU instead.
* Before libgammu sees a PDU from the SIM, its lengths are checked against the bytes present:
  libgammu trusts the header and reads past the buffer of a truncated PDU.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import gammu

from anti_relous.coding import GSM7_EXTENSION, fits_gsm7
from anti_relous.modem.errors import PduError
from anti_relous.sms import Concat, DecodedPart, PartKind, ReceivedPart

# TS 23.040 9.2.3.16: user data of one SMS is at most 140 octets (160 septets).
MAX_USER_DATA_OCTETS = 140
# Validity asked of the SMSC for our replies: gammu's "NA" would mean 5 minutes (TP-VP 0), after
# which a texter whose phone was off never gets the explanation. Operators cap it anyway.
REPLY_VALIDITY = "Max"
# TS 23.040 9.2.3.1: the two low bits of the first TPDU octet give the message type.
_MTI_DELIVER = 0
_MTI_SUBMIT = 1
_MTI_STATUS_REPORT = 2

_CODING_NAMES = {
    "Default_No_Compression": "gsm7",
    "Default_Compression": "gsm7",
    "Unicode_No_Compression": "ucs2",
    "Unicode_Compression": "ucs2",
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
    pdus = []
    for message in _encode(text, reference=reference, ucs2=ucs2):
        message["Number"] = sender
        message["SMSC"] = {"Location": 0, "Number": smsc}
        message["Type"] = "Deliver"
        message["DateTime"] = smsc_time
        message["SMSCDateTime"] = smsc_time
        try:
            pdus.append(bytes(gammu.EncodePDU(message, "Deliver")))
        except gammu.GSMError as error:
            raise PduError(f"cannot encode an SMS from {sender!r}: {_gammu_text(error)}") from None
    return pdus


def decode_deliver(pdu: bytes) -> DecodedPart:
    """Decode one SMS-DELIVER PDU that starts with its SMSC field, as AT+CMGL returns it."""
    tpdu_start = _tpdu_start(pdu)
    mti = pdu[tpdu_start] & 0x03
    if mti != _MTI_DELIVER:
        raise PduError(f"not an SMS-DELIVER (message type indicator {mti})")
    user_data_end = _check_deliver_lengths(pdu, tpdu_start)
    message = _decode(pdu)
    coding = _CODING_NAMES.get(message["Coding"])
    if coding is None:
        raise PduError(f"unsupported data coding {message['Coding']!r}")
    return DecodedPart(
        sender=message["Number"],
        text=_message_text(message, coding, pdu[:user_data_end]),
        smsc_time=message.get("DateTime"),
        coding=coding,
        concat=_concat(message["UDH"]),
    )


def decode_submit(pdu: bytes) -> DecodedSubmit:
    """Decode an SMS-SUBMIT that starts with its SMSC field, as AT+CMGS carries it."""
    tpdu_start = _tpdu_start(pdu)
    if pdu[tpdu_start] & 0x03 != _MTI_SUBMIT:
        raise PduError("not an SMS-SUBMIT")
    message = _decode(pdu)
    coding = _CODING_NAMES.get(message["Coding"])
    if coding is None:
        raise PduError(f"unsupported data coding {message['Coding']!r}")
    return DecodedSubmit(
        number=message["Number"],
        text=_message_text(message, coding, pdu),
        coding=coding,
        concat=_concat(message["UDH"]),
        validity=message["SMSC"].get("Validity", "NA"),
    )


def decode_stored(storage: str, index: int, pdu: bytes, *, unread: bool = False) -> ReceivedPart:
    """Classify and decode a PDU read from the SIM; never raises (a bad PDU is UNDECODABLE)."""
    try:
        tpdu_start = _tpdu_start(pdu)
        if pdu[tpdu_start] & 0x03 == _MTI_STATUS_REPORT:
            return ReceivedPart(storage, index, pdu, PartKind.STATUS_REPORT, unread=unread)
        decoded = decode_deliver(pdu)
    except PduError as error:
        return ReceivedPart(
            storage, index, pdu, PartKind.UNDECODABLE, error=str(error), unread=unread
        )
    return ReceivedPart(storage, index, pdu, PartKind.DELIVER, decoded=decoded, unread=unread)


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


def _check_deliver_lengths(pdu: bytes, start: int) -> int:
    """Refuse a DELIVER whose header promises more octets than present (TS 23.040 9.2.2.1).

    Returns where its user data ends (trailing bytes past it are not part of the message).
    """
    first = pdu[start]
    address_digits_at = start + 1
    if address_digits_at >= len(pdu):
        raise PduError("PDU truncated before the sender address")
    address_octets = 1 + (pdu[address_digits_at] + 1) // 2  # type-of-address + BCD digit pairs
    pid_at = address_digits_at + 1 + address_octets
    dcs_at = pid_at + 1
    udl_at = dcs_at + 1 + 7  # TP-SCTS is 7 octets
    if udl_at >= len(pdu):
        raise PduError(f"PDU of {len(pdu)} octets truncated before its user data length")
    udl = pdu[udl_at]
    seven_bit = _is_seven_bit(pdu[dcs_at])
    needed = math.ceil(udl * 7 / 8) if seven_bit else udl
    present = len(pdu) - udl_at - 1
    if needed > MAX_USER_DATA_OCTETS:
        raise PduError(f"user data length {udl} exceeds one SMS")
    if present < needed:
        raise PduError(
            f"PDU truncated: header announces {needed} octets of text, {present} present"
        )
    if first & 0x40 and needed == 0:
        raise PduError("PDU announces a user data header but has no user data")
    return udl_at + 1 + needed


def _is_seven_bit(dcs: int) -> bool:
    # TS 23.038 section 4: general data coding groups 00xx and the 1111 group carry the alphabet
    # in bits 3-2 (00 = GSM-7); message-waiting groups 1100/1101 are GSM-7, 1110 is UCS-2.
    group = dcs >> 4
    if group <= 0b0011:
        return (dcs >> 2) & 0x03 == 0
    if group in (0b1100, 0b1101):
        return True
    if group == 0b1111:
        return not dcs & 0x04
    return False


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


def _concat(udh: dict[str, Any]) -> Concat | None:
    bits = _CONCAT_UDH.get(udh.get("Type", ""))
    if bits is None:
        return None
    reference = udh["ID8bit"] if bits == 8 else udh["ID16bit"]
    total, sequence = udh["AllParts"], udh["PartNumber"]
    if not 1 <= sequence <= total:
        raise PduError(f"concatenation header says part {sequence} of {total}")
    return Concat(reference=reference, total=total, sequence=sequence, reference_bits=bits)


def _gammu_text(error: Exception) -> str:
    detail = error.args[0] if error.args else {}
    return str(detail.get("Text", error)) if isinstance(detail, dict) else str(error)
