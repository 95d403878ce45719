"""Pure AT command builders and response parsers (TS 27.007 / 27.005, PDU mode), no I/O.

A builder returns a ``Command``: the text to write and the names of its information lines, which
the parser in ``at.py`` needs to tell them from URCs of the same name. A parser takes the
``Response`` lines of one command and returns the value types of ``modem/__init__.py``; a line it
cannot read raises ``MalformedResponse``, never IndexError or ValueError.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from anti_relous.modem import MessageStatus, StoredMessage, csq_to_dbm
from anti_relous.modem.at import Final, Response, ResultKind
from anti_relous.modem.errors import (
    AtError,
    CmeError,
    CmsError,
    MalformedResponse,
    ModemError,
    SimError,
    SimNotInserted,
    SimPinRequired,
    SimPukRequired,
    StorageFull,
)


@dataclass(frozen=True)
class Command:
    """One AT command line (without its CR) and the prefixes of its information lines."""

    text: str
    prefixes: tuple[str, ...] = ()
    #: True when the text holds a secret (the PIN) that must not reach the logs.
    secret: bool = False

    def __str__(self) -> str:
        return _SECRET.sub(r'\1"****"', self.text) if self.secret else self.text


_SECRET = re.compile(r'(AT\+CPIN=)"[^"]*"')
_HEX_PDU = re.compile(r"(?:[0-9A-Fa-f]{2})+")

AT = Command("AT")
RESET = Command("ATZ")
ECHO_OFF = Command("ATE0")
ECHO_ON = Command("ATE1")
# TS 27.007 9.1: +CME ERROR with numeric codes (2 would be verbose, 0 a bare ERROR).
NUMERIC_ERRORS = Command("AT+CMEE=1")
# TS 27.005 3.2.3: 0 = PDU mode. Text mode is never used: it loses UDH and non-GSM text.
PDU_MODE = Command("AT+CMGF=0")
PIN_STATE = Command("AT+CPIN?", ("+CPIN",))
#: The PIN tries left, where the firmware tells: TS 27.007 8.65 AT+CPINR (Rel-8 and later), then
#: Huawei's AT^CPIN? (its AT command reference; listed in the E1752 and K3715 +CLAC answers).
PIN_TRIES = (
    Command('AT+CPINR="SIM PIN"', ("+CPINR",)),
    Command("AT^CPIN?", ("^CPIN",)),
)
SIGNAL = Command("AT+CSQ", ("+CSQ",))
REGISTRATION = Command("AT+CREG?", ("+CREG",))
OPERATOR = Command("AT+COPS?", ("+COPS",))
STORAGE_STATE = Command("AT+CPMS?", ("+CPMS",))
SMSC = Command("AT+CSCA?", ("+CSCA",))
MANUFACTURER = Command("AT+CGMI", ("+CGMI",))
MODEL = Command("AT+CGMM", ("+CGMM",))
FIRMWARE = Command("AT+CGMR", ("+CGMR",))
IMEI = Command("AT+CGSN", ("+CGSN",))
INFO = Command("ATI")
#: TS 27.005 3.5.4: <delflag> 1 deletes every message marked read and keeps unread ones, so a
#: message that arrived after the listing survives. <index> is ignored with a flag; 1 is used
#: because some firmwares validate it anyway and SIM indices may start at 1.
DELETE_READ = Command("AT+CMGD=1,1")

#: AT+CNMI variants tried in order (TS 27.005 3.4.1): <mode> 2 buffers indications while a
#: command runs, <mt> 1 stores the message and sends +CMTI. Firmwares reject different tails.
NEW_MESSAGE_INDICATIONS = (
    Command("AT+CNMI=2,1,0,0,0"),
    Command("AT+CNMI=2,1,0,0"),
    Command("AT+CNMI=2,1"),
    Command("AT+CNMI=1,1,0,0,0"),
)


def without_indications(indications: Command) -> Command:
    """The same AT+CNMI with <mt> 0: messages are still stored, but no +CMTI is sent."""
    head, _, rest = indications.text.partition(",")
    _, comma, tail = rest.partition(",")
    return Command(f"{head},0{comma}{tail}")


#: Where messages are read, written and received, in order of preference.
PREFERRED_STORAGE = "SM"

# TS 27.007 7.2 <stat>, including the 6-10 values of later releases (SMS-only, CSFB).
_REGISTRATION_STATES = {
    0: "not registered",
    1: "home",
    2: "searching",
    3: "denied",
    4: "unknown",
    5: "roaming",
    6: "home",
    7: "roaming",
    8: "not registered",
    9: "home",
    10: "roaming",
}
# Final results that mean a SIM state the operator must act on (TS 27.007 9.2, TS 27.005 3.2.5).
_SIM_ERRORS: dict[tuple[ResultKind, int], type[SimError]] = {
    (ResultKind.CME_ERROR, 10): SimNotInserted,
    (ResultKind.CME_ERROR, 11): SimPinRequired,
    (ResultKind.CME_ERROR, 12): SimPukRequired,
    (ResultKind.CMS_ERROR, 310): SimNotInserted,
    (ResultKind.CMS_ERROR, 311): SimPinRequired,
    (ResultKind.CMS_ERROR, 316): SimPukRequired,
}
# "memory full": TS 27.007 CME 20, TS 27.005 CMS 322.
_STORAGE_FULL = frozenset({(ResultKind.CME_ERROR, 20), (ResultKind.CMS_ERROR, 322)})
# "unknown error": TS 27.007 CME 100, TS 27.005 CMS 500.
_UNKNOWN_CODE = {ResultKind.CME_ERROR: 100, ResultKind.CMS_ERROR: 500}
# TS 27.007 8.5: <rssi> 99 means not known or not detectable.
_CSQ_UNKNOWN = 99
# Samsung phones repeat the command letter before each ATI value ("Model: I: SCH-U706/99").
_ATI_ECHO = re.compile(r"^I:\s*")
_ATI_KEYS = {
    "manufacturer": "manufacturer",
    "model": "model",
    "revision": "firmware",
    "imei": "imei",
}


def enter_pin(pin: str) -> Command:
    """AT+CPIN="<pin>" (TS 27.007 8.3); the PIN is masked when the command is logged."""
    if not pin.isdigit():
        raise ValueError("a SIM PIN is digits only")
    return Command(f'AT+CPIN="{pin}"', secret=True)


def select_storage(*storages: str) -> Command:
    """AT+CPMS="SM","SM","SM" (TS 27.005 3.2.2): storage for reading, writing and receiving."""
    quoted = ",".join(f'"{storage}"' for storage in storages)
    return Command(f"AT+CPMS={quoted}", ("+CPMS",))


#: TS 27.005 3.4.2 <stat> in PDU mode: 4 lists every message (and marks the unread ones read).
LIST_ALL = 4


def list_messages(stat: int = LIST_ALL) -> Command:
    """AT+CMGL=<stat> (TS 27.005 3.4.2)."""
    return Command(f"AT+CMGL={stat}", ("+CMGL",))


def read_message(index: int) -> Command:
    """AT+CMGR=<index> (TS 27.005 3.4.3)."""
    return Command(f"AT+CMGR={index}", ("+CMGR",))


def delete_message(index: int) -> Command:
    """AT+CMGD=<index> (TS 27.005 3.5.4)."""
    return Command(f"AT+CMGD={index}")


def send_message(tpdu_length: int) -> Command:
    """AT+CMGS=<length> (TS 27.005 3.5.1): TPDU octets, the SMSC field not counted."""
    return Command(f"AT+CMGS={tpdu_length}", ("+CMGS",))


def error_for(command: Command, final: Final, *, storage: str = PREFERRED_STORAGE) -> ModemError:
    """The typed error a failed final result means (a SIM state, a full storage, a code).

    StorageFull keeps the CmsError/CmeError it comes from as its ``__cause__``.
    """
    if final.code is not None:
        sim_error = _SIM_ERRORS.get((final.kind, final.code))
        if sim_error is not None:
            return sim_error()
    # A verbose text missing from the code tables keeps the modem's words.
    verbose = final.text.partition(":")[2].strip() if final.code is None else None
    code = final.code if final.code is not None else _UNKNOWN_CODE.get(final.kind, 0)
    cause: AtError
    if final.kind is ResultKind.CME_ERROR:
        cause = CmeError(str(command), code, meaning=verbose)
    elif final.kind is ResultKind.CMS_ERROR:
        cause = CmsError(str(command), code, meaning=verbose)
    else:
        cause = AtError(str(command))
    if (final.kind, final.code) in _STORAGE_FULL:
        full = StorageFull(storage)
        full.__cause__ = cause
        return full
    return cause


@dataclass(frozen=True)
class StorageUse:
    """One memory of an AT+CPMS answer."""

    #: "SM", "ME"...; None in the answer to a set command, which omits names.
    name: str | None
    used: int
    total: int


def parse_stored_list(lines: Sequence[Response], storage: str) -> list[StoredMessage]:
    """AT+CMGL in PDU mode: ``+CMGL: <index>,<stat>,[<alpha>],<length>`` then the PDU."""
    return [
        _stored_message("AT+CMGL", _with_right_pdu(lines, position), storage, index_field=True)
        for position, line in enumerate(lines)
        if _name(line.text) == "+CMGL"
    ]


def parse_read(lines: Sequence[Response], storage: str, index: int) -> StoredMessage | None:
    """AT+CMGR in PDU mode: ``+CMGR: <stat>,[<alpha>],<length>`` then the PDU; None if empty."""
    for position, line in enumerate(lines):
        if _name(line.text) == "+CMGR":
            fields = _fields("AT+CMGR", line.text)
            if line.pdu is None and fields[-1:] == ["0"]:
                return None  # Some firmwares answer an empty slot with "+CMGR: 0,,0".
            header = _with_right_pdu(lines, position)
            message = _stored_message("AT+CMGR", header, storage, index_field=False)
            return replace(message, index=index)
    return None


def _with_right_pdu(lines: Sequence[Response], position: int) -> Response:
    """The header at ``position`` with its PDU, when line noise made a second candidate.

    The parser takes the first hex line after a header as its PDU. Noise that happens to be
    all hex digits, on a line of its own, would then stand for the PDU and the real one follow
    as a stray line: quarantining the noise and deleting the slot would lose the SMS. Of the two
    candidates, keep the one whose size is what the header's <length> says (TPDU octets, after
    the SMSC field, TS 27.005 3.4.2); with no stray hex line, the header is left as it came.
    """
    header = lines[position]
    following = lines[position + 1] if position + 1 < len(lines) else None
    if header.pdu is None or following is None or following.pdu is not None:
        return header
    if not _HEX_PDU.fullmatch(following.text) or _pdu_fits(header.pdu, header.text):
        return header
    if _pdu_fits(following.text, header.text):
        return Response(header.text, pdu=following.text)
    return header


def _pdu_fits(hex_pdu: str, header: str) -> bool:
    length = header.rpartition(",")[2].strip()
    if len(hex_pdu) % 2 or not length.isascii() or not length.isdigit():
        return False
    octets = bytes.fromhex(hex_pdu)
    return len(octets) == 1 + octets[0] + int(length)


def parse_message_reference(lines: Sequence[Response]) -> int:
    """AT+CMGS: ``+CMGS: <mr>[,<scts>]`` -> the message reference (0-255)."""
    line = _line("AT+CMGS", lines, "+CMGS")
    return _int("AT+CMGS", line, _fields("AT+CMGS", line)[0])


def parse_signal(lines: Sequence[Response]) -> tuple[int | None, int | None]:
    """AT+CSQ: ``+CSQ: <rssi>,<ber>`` -> (rssi 0-31 or None, dBm or None)."""
    line = _line("AT+CSQ", lines, "+CSQ")
    rssi = _int("AT+CSQ", line, _fields("AT+CSQ", line)[0])
    if rssi == _CSQ_UNKNOWN:
        return None, None
    return (rssi, csq_to_dbm(rssi)) if 0 <= rssi <= 31 else (None, None)


def parse_registration(lines: Sequence[Response]) -> str:
    """AT+CREG?: ``+CREG: <n>,<stat>[,<lac>,<ci>[,<AcT>]]`` -> "home", "roaming"..."""
    line = _line("AT+CREG?", lines, "+CREG")
    # Only <n> and <stat> matter, and they come before any quote: a firmware that leaves its
    # <lac> quote open ('+CREG: 2,1,"5E25', gammu's corner cases) is still registered.
    fields = _fields("AT+CREG?", line, lenient=True)
    # The unsolicited form "+CREG: <stat>[,"<lac>","<ci>"]" has no <n>: some firmwares answer
    # the query with it.
    stat = fields[0] if len(fields) == 1 or fields[1].startswith('"') else fields[1]
    return _REGISTRATION_STATES.get(_int("AT+CREG?", line, stat), "unknown")


def parse_operator(lines: Sequence[Response]) -> str | None:
    """AT+COPS?: ``+COPS: <mode>[,<format>,<oper>[,<AcT>]]`` -> the operator, None if none."""
    line = _line("AT+COPS?", lines, "+COPS")
    fields = _fields("AT+COPS?", line)
    if len(fields) < 3:
        return None
    return _unquote(fields[2]) or None


def parse_storage(lines: Sequence[Response]) -> list[StorageUse]:
    """AT+CPMS? (``"SM",3,30,...``) or AT+CPMS=... (``3,30,...``) -> use of each memory.

    Empty fields only (a Nokia N79's ``+CPMS: ,,,,,,,,``) mean no memory at all: [].
    """
    line = _line("AT+CPMS", lines, "+CPMS")
    fields = _fields("AT+CPMS", line)
    if not any(fields):
        return []
    named = fields[0].startswith('"')
    width = 3 if named else 2
    if len(fields) < width or len(fields) % width:
        raise MalformedResponse("AT+CPMS", line, f"expected groups of {width} fields")
    uses = []
    for start in range(0, len(fields), width):
        group = fields[start : start + width]
        name = _unquote(group[0]) if named else None
        used, total = (_int("AT+CPMS", line, value) for value in group[-2:])
        uses.append(StorageUse(name, used, total))
    return uses


def parse_smsc(lines: Sequence[Response]) -> str | None:
    """AT+CSCA?: ``+CSCA: "<sca>",<tosca>`` -> the SMSC number, None when unset."""
    line = _line("AT+CSCA?", lines, "+CSCA")
    number = _unquote(_fields("AT+CSCA?", line)[0])
    return _from_ucs2_hex(number) or None


def parse_pin_state(lines: Sequence[Response]) -> str:
    """AT+CPIN?: ``+CPIN: <code>`` -> "READY", "SIM PIN", "SIM PUK"..."""
    line = _line("AT+CPIN?", lines, "+CPIN")
    state = _unquote(line.partition(":")[2].strip()).upper()
    if not state:
        raise MalformedResponse("AT+CPIN?", line, "no SIM state")
    return state


def parse_pin_tries(lines: Sequence[Response]) -> int:
    """PIN tries left, from ``+CPINR: SIM PIN,<retries>,<default>`` (TS 27.007 8.65) or
    Huawei's ``^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>``."""
    for response in lines:
        name = _name(response.text)
        if name == "+CPINR":
            fields = _fields("AT+CPINR", response.text)
            if len(fields) >= 2 and _unquote(fields[0]).upper() == "SIM PIN":
                return _int("AT+CPINR", response.text, fields[1])
        elif name == "^CPIN":
            fields = _fields("AT^CPIN?", response.text)
            if len(fields) >= 4:
                return _int("AT^CPIN?", response.text, fields[3])
    seen = "; ".join(response.text for response in lines) or "nothing"
    raise MalformedResponse("AT+CPINR", seen, "no count of PIN tries")


def parse_text(lines: Sequence[Response], command: Command) -> str:
    """AT+CGMI/CGMM/CGMR/CGSN: the text, with the optional ``+CGMI:`` prefix and quotes off.

    Several lines (a Nokia's AT+CGMR) are joined with spaces; no line gives "".
    """
    prefixes = tuple(f"{prefix}:" for prefix in command.prefixes)
    values = []
    for response in lines:
        text = response.text.strip()
        for prefix in prefixes:
            if text.upper().startswith(prefix):
                text = text[len(prefix) :].strip()
        values.append(_unquote(text))
    return " ".join(value for value in values if value)


def parse_info(lines: Sequence[Response]) -> dict[str, str]:
    """ATI: ``Manufacturer: huawei`` / ``Model: E173`` / ``Revision: ...`` / ``IMEI: ...``.

    Returns the keys found among manufacturer, model, firmware and imei. A one-line answer
    without keys (SIMCom: ``SIM800 R14.18``) is the model.
    """
    found: dict[str, str] = {}
    for response in lines:
        key, colon, value = response.text.partition(":")
        field = _ATI_KEYS.get(key.strip().lower()) if colon else None
        value = _ATI_ECHO.sub("", value.strip())
        if field is not None and value:
            found.setdefault(field, value)
    if not found and lines and lines[0].text.strip():
        found["model"] = lines[0].text.strip()
    return found


def _stored_message(
    command: str, response: Response, storage: str, *, index_field: bool
) -> StoredMessage:
    line = response.text
    fields = _fields(command, line)
    if index_field:
        # <index>,<stat>,[<alpha>],<length>: a few firmwares drop the empty <alpha> and its comma.
        if len(fields) < 3:
            raise MalformedResponse(command, line, "expected at least 3 fields")
        index, stat_field = _int(command, line, fields[0]), fields[1]
    else:
        # <stat>,[<alpha>],<length> as TS 27.005 3.4.3 writes it, and what firmwares answer
        # instead (gammu's collection of real answers): "0,23" without <alpha>, "4,1,,151"
        # with the index first, "24" with the length alone (a status report).
        index = -1
        position = {1: None, 2: 0, 3: 0}.get(len(fields), 1)  # where <stat> sits
        stat_field = "" if position is None else fields[position]
    status = _status(command, line, stat_field)
    if response.pdu is None:
        if fields[-1] == "0":
            # A slot listed with <length> 0 (a corrupt or half-written message): an empty PDU,
            # quarantined and deleted like any undecodable one. Refusing the whole listing
            # instead would leave the SIM undrained for good.
            return StoredMessage(storage, index, status, b"")
        raise MalformedResponse(command, line, "no PDU line after the header")
    if len(response.pdu) % 2:
        raise MalformedResponse(command, response.pdu, "odd number of hex digits in the PDU")
    misfit = not _pdu_fits(response.pdu, line)
    return StoredMessage(storage, index, status, bytes.fromhex(response.pdu), misfit=misfit)


def _status(command: str, line: str, field: str) -> MessageStatus:
    """<stat>; an empty one (a ZTE's "+CMGR: ,,92") is a received message, counted unread.

    Unread rather than read: identical bytes in a slot already committed are then stored
    again rather than taken for a re-read, and a duplicate kept beats a real SMS merged away.
    """
    if not field.strip():
        return MessageStatus.REC_UNREAD
    stat = _int(command, line, field)
    try:
        return MessageStatus(stat)
    except ValueError:
        raise MalformedResponse(command, line, f"unknown message status {stat}") from None


def _line(command: str, lines: Sequence[Response], prefix: str) -> str:
    for response in lines:
        if _name(response.text) == prefix:
            return response.text
    seen = "; ".join(response.text for response in lines) or "nothing"
    raise MalformedResponse(command, seen, f"no {prefix} line")


def _name(text: str) -> str:
    return text.partition(":")[0].strip().upper()


def _fields(command: str, line: str, *, lenient: bool = False) -> list[str]:
    """The comma-separated fields after the colon; quoted ones keep their quotes.

    An unterminated quote raises, unless ``lenient``: then it runs to the end of the line.
    """
    body = line.partition(":")[2]
    fields: list[str] = []
    current: list[str] = []
    quoted = False
    for char in body:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if quoted and not lenient:
        raise MalformedResponse(command, line, "unterminated quoted field")
    fields.append("".join(current).strip())
    return fields


def _unquote(field: str) -> str:
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1]
    return field


def _int(command: str, line: str, field: str) -> int:
    text = _unquote(field)
    if not text.isascii() or not text.isdigit():
        raise MalformedResponse(command, line, f"{field!r} is not a number")
    return int(text)


def _from_ucs2_hex(value: str) -> str:
    """A number some firmwares return as UCS-2 hex after AT+CSCS="UCS2" ("002B0033...")."""
    if len(value) < 8 or len(value) % 4 or not re.fullmatch(r"[0-9A-Fa-f]+", value):
        return value
    decoded = bytes.fromhex(value).decode("utf-16-be", errors="replace")
    return decoded if re.fullmatch(r"\+?[0-9]+", decoded) else value


def is_invalid_index(error: AtError) -> bool:
    """The refusal a modem gives for a storage location that does not exist: +CMS ERROR 321
    (TS 27.005 3.2.5 "invalid memory index"), +CME ERROR 21 (TS 27.007 9.2.1) or a plain ERROR."""
    if isinstance(error, CmsError):
        return error.code == 321
    if isinstance(error, CmeError):
        return error.code == 21
    return True
