"""Message service commands of the simulated dongle (TS 27.005): storage, list, delete, send.

Handlers as in ``equipment``, over the same ``Equipment`` state. PDU mode is the real thing;
text mode is close enough for a test modem (IRA, GSM and 8859-1 character sets are all read as
Latin-1).
"""

from __future__ import annotations

import datetime as dt
import logging

from anti_relous.coding import fits_gsm7
from anti_relous.modem import MessageStatus
from anti_relous.modem.errors import PduError
from anti_relous.modem.pdu import decode_deliver, decode_submit
from anti_relous.simulator.card import DELETE_FLAG_STATUSES
from anti_relous.simulator.equipment import (
    QUOTED,
    Equipment,
    Handler,
    Prompt,
    Refused,
    SentPart,
    int_arg,
)

log = logging.getLogger(__name__)

# TS 27.005 3.1 <stat> in text mode, by PDU-mode number.
TEXT_STATUS = {
    MessageStatus.REC_UNREAD: "REC UNREAD",
    MessageStatus.REC_READ: "REC READ",
    MessageStatus.STO_UNSENT: "STO UNSENT",
    MessageStatus.STO_SENT: "STO SENT",
}
_LIST_ALL = 4  # AT+CMGL=4 / "ALL"


def _csca(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        kind = 145 if fw.smsc.startswith("+") else 129
        return [f'+CSCA: "{fw.smsc}",{kind}']
    if form == "=":
        quoted = QUOTED.findall(args)
        if not quoted:
            raise Refused("cms", 304 if not fw.text_mode else 305)
        fw.smsc = quoted[0]
    return []


def _csms(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "=?":
        return ["+CSMS: (0,1)"]
    return ["+CSMS: 0,1,1,1"]


def _csmp(fw: Equipment, form: str, args: str) -> list[str]:
    return ["+CSMP: 17,167,0,0"] if form == "?" else []


def _csdh(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        return [f"+CSDH: {int(fw.show_header)}"]
    if form == "=?":
        return ["+CSDH: (0,1)"]
    fw.show_header = int_arg(args, 0, 1, default=0) == 1
    return []


def _cmgf(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        return [f"+CMGF: {int(fw.text_mode)}"]
    if form == "=?":
        return ["+CMGF: (0-1)"]
    fw.text_mode = int_arg(args, 0, 1, default=0) == 1
    return []


def _cpms(fw: Equipment, form: str, args: str) -> list[str]:
    used, total = fw.storage.used, fw.storage.slots
    if form == "?":
        return [f'+CPMS: "SM",{used},{total},"SM",{used},{total},"SM",{used},{total}']
    if form == "=?":
        return ['+CPMS: ("SM"),("SM"),("SM")']
    memories = QUOTED.findall(args)
    if not memories or any(m.upper() != "SM" for m in memories) or len(memories) > 3:
        raise Refused("cms", 302)
    return [f"+CPMS: {used},{total},{used},{total},{used},{total}"]


def _cnmi(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        return [f"+CNMI: {fw.cnmi_mode},{fw.cnmi_mt},0,0,0"]
    if form == "=?":
        return ["+CNMI: (0-2),(0-1),(0,2),(0-2),(0,1)"]
    values = [v.strip() for v in args.split(",")]
    try:
        numbers = [int(v) if v else 0 for v in values]
    except ValueError:
        raise Refused("cms", 303) from None
    mode = numbers[0]
    mt = numbers[1] if len(numbers) > 1 else 0
    # Direct delivery (+CMT, mt 2-3) would need +CNMA acknowledgements: not simulated.
    if not 0 <= mode <= 3 or not 0 <= mt <= 1 or len(numbers) > 5:
        raise Refused("cms", 303)
    fw.cnmi_mode, fw.cnmi_mt = mode, mt
    return []


def _list_statuses(fw: Equipment, args: str) -> frozenset[MessageStatus]:
    if fw.text_mode:
        quoted = QUOTED.findall(args)
        name = quoted[0].upper() if quoted else ("" if args.strip() else "REC UNREAD")
        by_name = {v: k for k, v in TEXT_STATUS.items()}
        if name == "ALL":
            return frozenset(MessageStatus)
        if name not in by_name:
            raise Refused("cms", 305)
        return frozenset({by_name[name]})
    stat = int_arg(args, 0, _LIST_ALL, default=0, code=304)
    if stat == _LIST_ALL:
        return frozenset(MessageStatus)
    return frozenset({MessageStatus(stat)})


def _cmgl(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "=?":
        if fw.text_mode:
            return ['+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")']
        return ["+CMGL: (0-4)"]
    lines: list[str] = []
    intrusion = fw.listing_intrusions.popleft() if fw.listing_intrusions else None
    for entry, (index, slot) in enumerate(fw.storage.listing(_list_statuses(fw, args))):
        if intrusion is not None and entry == intrusion[0]:
            lines.append(intrusion[1])
        if fw.text_mode:
            lines += _text_entry(fw, f"+CMGL: {index},", slot.status, slot.pdu)
        else:
            lines.append(f"+CMGL: {index},{int(slot.status)},,{_tpdu_length(slot.pdu)}")
            lines.append(_pdu_line(fw, slot.pdu))
    if intrusion is not None and intrusion[0] >= len(lines) // 2:
        lines.append(intrusion[1])  # after the last entry, before the real OK
    log.debug("sim -> %d listed", len(lines) // 2)
    return lines


def _index_arg(fw: Equipment, text: str) -> int:
    try:
        index = int(text.strip())
    except ValueError:
        raise Refused("cms", 305 if fw.text_mode else 304) from None
    if index not in fw.storage.indices:
        raise Refused("cms", 321)
    return index


def _cmgr(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "=?":
        return []
    if form != "=":
        raise Refused()
    slot = fw.storage.read(_index_arg(fw, args))
    if slot is None:
        return []
    if fw.text_mode:
        return _text_entry(fw, "+CMGR: ", slot.status, slot.pdu)
    return [f"+CMGR: {int(slot.status)},,{_tpdu_length(slot.pdu)}", _pdu_line(fw, slot.pdu)]


def _pdu_line(fw: Equipment, pdu: bytes) -> str:
    line = pdu.hex().upper()
    return line[:-1] if pdu in fw.garbled else line


def _cmgd(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "=?":
        used = ",".join(str(i) for i, _ in fw.storage.listing(frozenset()))
        return [f"+CMGD: ({used}),(0-4)"]
    if form != "=":
        raise Refused()
    index_text, _, flag_text = args.partition(",")
    flag = int_arg(flag_text, 0, 4, default=0, code=304)
    if flag == 0:
        fw.storage.delete(_index_arg(fw, index_text))
    else:
        deleted = fw.storage.delete_statuses(DELETE_FLAG_STATUSES[flag])
        log.debug("sim: AT+CMGD flag %d deleted %d", flag, deleted)
    return []


def _cmgs(fw: Equipment, form: str, args: str) -> list[str] | Prompt:
    if form == "=?":
        return []
    if form != "=":
        raise Refused()
    if fw.text_mode:
        quoted = QUOTED.findall(args)
        if not quoted or not quoted[0]:
            raise Refused("cms", 305)
        number = _decode_text(fw, quoted[0].encode("latin-1"))
        return Prompt(number=number)
    length = int_arg(args, 1, 164, default=0, code=304)  # TS 23.040: TPDU <= 164 octets
    return Prompt(length=length)


def submit(fw: Equipment, prompt: Prompt) -> int:
    """Ctrl-Z after the prompt: record what the host sent and return its +CMGS reference."""
    if fw.fail_sends > 0:
        fw.fail_sends -= 1
        log.debug("sim: injected send failure %d", fw.fail_code)
        raise Refused("cms", fw.fail_code)
    if not fw.registered:
        raise Refused("cms", 331)
    if prompt.number is not None:
        text = _decode_text(fw, bytes(prompt.data).replace(b"\r", b"\n"))
        coding = "gsm7" if fits_gsm7(text) else "ucs2"
        part = SentPart(prompt.number, text, coding, None, "", fw.message_reference)
    else:
        part = _decode_submitted(fw, bytes(prompt.data), prompt.length or 0)
    fw.sent.append(part)
    fw.message_reference = (fw.message_reference + 1) % 256
    return part.reference


def _decode_submitted(fw: Equipment, data: bytes, length: int) -> SentPart:
    hex_text = data.decode("latin-1").strip()
    try:
        raw = bytes.fromhex(hex_text)
    except ValueError:
        log.debug("sim: PDU is not hex: +CMS ERROR 304")
        raise Refused("cms", 304) from None
    if not raw or 1 + raw[0] + length != len(raw):
        log.debug("sim: PDU length does not match AT+CMGS=%d: +CMS ERROR 304", length)
        raise Refused("cms", 304)
    try:
        submit = decode_submit(raw)
    except PduError as error:
        log.debug("sim: undecodable SMS-SUBMIT (%s): +CMS ERROR 304", error)
        raise Refused("cms", 304) from None
    return SentPart(
        number=submit.number,
        text=submit.text,
        coding=submit.coding,
        concat=submit.concat,
        pdu_hex=raw.hex().upper(),
        reference=fw.message_reference,
    )


def _decode_text(fw: Equipment, data: bytes) -> str:
    if fw.charset == "UCS2":
        try:
            return bytes.fromhex(data.decode("latin-1").strip()).decode("utf-16-be")
        except ValueError:
            raise Refused("cms", 305) from None
    # IRA, GSM and 8859-1 are all read as Latin-1 here: close enough for a test modem.
    return data.decode("latin-1")


def _encode_text(fw: Equipment, text: str) -> str:
    if fw.charset == "UCS2":
        return text.encode("utf-16-be").hex().upper()
    return text.encode("latin-1", "replace").decode("latin-1")


def _text_entry(fw: Equipment, prefix: str, status: MessageStatus, pdu: bytes) -> list[str]:
    try:
        part = decode_deliver(pdu)
    except PduError:
        return [f'{prefix}"{TEXT_STATUS[status]}","",,""', ""]
    stamp = _text_timestamp(part.smsc_time)
    header = f'{prefix}"{TEXT_STATUS[status]}","{_encode_text(fw, part.sender)}",,"{stamp}"'
    if fw.show_header:
        kind = 145 if part.sender.startswith("+") else 129
        header += f",{kind},{len(part.text)}"
    return [header, _encode_text(fw, part.text)]


def _tpdu_length(pdu: bytes) -> int:
    """TS 27.005 3.1 <length> in PDU mode: octets after the SMSC field."""
    if not pdu:
        return 0
    return max(0, len(pdu) - 1 - pdu[0])


def _text_timestamp(stamp: object) -> str:
    """TS 27.005 3.3.1 <scts>: "yy/MM/dd,hh:mm:ss±zz", zz in quarter hours."""
    if not isinstance(stamp, dt.datetime):
        return ""
    offset = stamp.utcoffset() or dt.timedelta()
    quarters = int(offset.total_seconds() // 900)
    return stamp.strftime("%y/%m/%d,%H:%M:%S") + f"{quarters:+03d}"


# Refused with +CMS ERROR 311 (316 once blocked) until the PIN is entered.
NEEDS_PIN = frozenset(
    {"+CPMS", "+CMGL", "+CMGR", "+CMGD", "+CMGS", "+CMGW", "+CMSS", "+CSCA", "+CNMI"}
)

SMS_COMMANDS: dict[str, Handler] = {
    "+CSCA": _csca,
    "+CSMS": _csms,
    "+CSMP": _csmp,
    "+CSDH": _csdh,
    "+CMGF": _cmgf,
    "+CPMS": _cpms,
    "+CNMI": _cnmi,
    "+CMGL": _cmgl,
    "+CMGR": _cmgr,
    "+CMGD": _cmgd,
    "+CMGS": _cmgs,
}
