"""The simulated dongle's firmware: a Huawei-style AT command interpreter, bytes in, bytes out.

Sans-I/O: ``feed`` takes what the host wrote, appends what the modem answers to ``out``. The
simulator owns the pty, the thread and the lock. This parser is written from 3GPP TS 27.007 /
27.005 and real-device transcripts, independently of the driver's (``at.py``): a simulator
sharing the driver's parser would only test the parser against itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from anti_relous.modem import MessageStatus
from anti_relous.modem.errors import CME_ERRORS, CMS_ERRORS, PduError
from anti_relous.modem.pdu import decode_deliver, decode_submit, fits_gsm7
from anti_relous.modem.sim_card import (
    DELETE_FLAG_STATUSES,
    PinLock,
    PinResult,
    PinState,
    SimStorage,
)
from anti_relous.sms import Concat

log = logging.getLogger(__name__)

CTRL_Z = 0x1A  # TS 27.005 3.5.1: ends the PDU or text after the "> " prompt
ESC = 0x1B  # ...and ESC cancels the send
# Longest command line kept; a real modem's buffer is smaller, longer lines answer ERROR.
MAX_LINE = 2048
# An SMS-SUBMIT is at most 176 octets with its SMSC field: 352 hex digits. Some slack.
MAX_PROMPT_INPUT = 1024
# TS 27.005 3.1 <stat> in text mode, by PDU-mode number.
TEXT_STATUS = {
    MessageStatus.REC_UNREAD: "REC UNREAD",
    MessageStatus.REC_READ: "REC READ",
    MessageStatus.STO_UNSENT: "STO UNSENT",
    MessageStatus.STO_SENT: "STO SENT",
}
_LIST_ALL = 4  # AT+CMGL=4 / "ALL"
_BASIC = re.compile(r"(&?[A-Z])(\d*)|(S\d+)(=\d*|\?)")
_QUOTED = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class SentPart:
    """One SMS the host asked the modem to send, as the simulator understood it."""

    number: str
    text: str
    #: "gsm7", "ucs2" or "8bit" (decoded from the PDU); text-mode sends say "gsm7" or "ucs2".
    coding: str
    concat: Concat | None
    #: The PDU as the host wrote it (with its SMSC field); "" for a text-mode send.
    pdu_hex: str
    #: The message reference answered in +CMGS: <mr>.
    reference: int


@dataclass(frozen=True)
class ModemIdentity:
    """What the dongle answers to ATI, AT+CGMI/CGMM/CGMR/CGSN and AT+CIMI."""

    manufacturer: str = "huawei"
    model: str = "E173"
    firmware: str = "11.126.85.00.209"
    imei: str = "863565012345671"
    imsi: str = "208011234567890"
    operator: str = "Orange F"
    #: Mobile country code + network code of the operator (TS 24.008), for AT+COPS numeric.
    plmn: str = "20801"


class _Refused(Exception):
    """A command failed: ``kind`` is "cme", "cms" or "" (plain ERROR)."""

    def __init__(self, kind: str = "", code: int = 0) -> None:
        super().__init__(kind, code)
        self.kind = kind
        self.code = code


class _Prompt:
    """AT+CMGS is waiting for its PDU (``length`` set) or its text (``number`` set)."""

    def __init__(self, *, length: int | None = None, number: str | None = None) -> None:
        self.length = length
        self.number = number
        self.data = bytearray()


_Handler = Callable[["Firmware", str, str], "list[str] | _Prompt"]


class Firmware:
    """A Huawei-style dongle's AT command set over a simulated SIM."""

    def __init__(
        self,
        storage: SimStorage,
        pin: PinLock,
        *,
        echo: bool = True,
        smsc: str = "+33609001390",
        identity: ModemIdentity | None = None,
    ) -> None:
        self.storage = storage
        self.pin = pin
        self.identity = identity or ModemIdentity()
        self.smsc = smsc
        self.out = bytearray()
        self.sent: list[SentPart] = []
        #: Put a "^RSSI:n" URC between the entries of multi-line responses.
        self.interleave_urcs = False
        #: The next N AT+CMGS answer "+CMS ERROR: <fail_code>".
        self.fail_sends = 0
        self.fail_code = 500
        #: Network registration: when False, +CREG says "searching" and sends fail (CMS 331).
        self.registered = True
        #: AT+CSQ <rssi> (0-31, 99 unknown).
        self.rssi = 17
        self._initial_echo = echo
        self._line = bytearray()
        self._line_overflow = False
        self._prompt: _Prompt | None = None
        self._message_reference = 0
        self.reset()

    # ---- settings -------------------------------------------------------------------------

    def power_on(self) -> None:
        """After a replug: settings back to defaults, half-typed input gone, the SIM locked."""
        self.reset()
        self._line.clear()
        self._line_overflow = False
        self._prompt = None
        self.pin.power_on()

    def reset(self) -> None:
        """Power-on / ATZ defaults: echo as configured, numeric errors off, PDU mode, no URCs."""
        self.echo = self._initial_echo
        self.cmee = 0
        self.text_mode = False
        self.charset = "IRA"
        self.show_header = False  # AT+CSDH
        self.cnmi_mode = 0
        self.cnmi_mt = 0
        #: AT+CREG=<n> / AT+CGREG=<n>: how much registration detail to report.
        self.report_modes: dict[str, int] = {}
        self.cops_format = 0

    @property
    def notify_new_messages(self) -> bool:
        """AT+CNMI asked for +CMTI (mode 1-3 forwards URCs; mt 1 stores and indicates)."""
        return self.cnmi_mode > 0 and self.cnmi_mt == 1

    # ---- bytes in -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Consume what the host wrote; answers accumulate in ``out``."""
        pos = 0
        size = len(data)
        while pos < size:
            if self._prompt is not None:
                pos = self._feed_prompt(data, pos)
                continue
            cr = data.find(b"\r", pos)
            end = size if cr < 0 else cr
            if self.echo:
                self.out += data[pos : size if cr < 0 else cr + 1]
            if len(self._line) + end - pos > MAX_LINE:
                self._line_overflow = True
                self._line.clear()
            else:
                self._line += data[pos:end]
            if cr < 0:
                return
            pos = cr + 1
            line = bytes(self._line)
            overflow = self._line_overflow
            self._line.clear()
            self._line_overflow = False
            if overflow:
                log.debug("sim <- overlong command line: ERROR")
                self._final_error(_Refused())
            else:
                self._execute_line(line)

    def urc(self, line: str) -> None:
        """Emit an unsolicited result code."""
        self.out += b"\r\n" + line.encode("latin-1", "replace") + b"\r\n"

    def messages_stored(self, indices: list[int]) -> None:
        """The network stored parts at ``indices``: +CMTI each if asked, ^SMMEMFULL if now full."""
        if self.notify_new_messages:
            for index in indices:
                self.urc(f'+CMTI: "SM",{index}')
        if indices and self.storage.full:
            # Huawei's own URC when the SIM message storage fills up.
            self.urc('^SMMEMFULL: "SM"')

    # ---- command lines --------------------------------------------------------------------

    def _execute_line(self, raw: bytes) -> None:
        text = raw.decode("latin-1").strip(" \t\n\x00")
        start = text.upper().find("AT")
        if start < 0:
            if text:
                log.debug("sim <- %r ignored: no AT prefix", text[:80])
            return
        body = text[start + 2 :].strip()
        log.debug("sim <- AT%s", body)
        commands = _split_commands(body)
        lines: list[str] = []
        try:
            if commands is None:
                raise _Refused()
            for command in commands:
                result = self._run(command)
                if isinstance(result, _Prompt):
                    self._start_prompt(result, lines)
                    return
                lines.extend(result)
        except _Refused as refused:
            self._final_error(refused)
            return
        self._final_ok(lines)

    def _run(self, command: str) -> list[str] | _Prompt:
        if command[:1] in ("+", "^", "$", "%"):
            name, form, args = _split_extended(command)
        else:
            name, form, args = _split_basic(command)
        handler = _HANDLERS.get(name)
        if handler is None:
            log.debug("sim: unsupported command %s: ERROR", name)
            raise _Refused()
        self._check_pin(name)
        return handler(self, form, args)

    def _check_pin(self, name: str) -> None:
        if self.pin.state is PinState.READY:
            return
        puk = self.pin.state is PinState.SIM_PUK
        if name in _NEEDS_PIN_CMS:
            raise _Refused("cms", 316 if puk else 311)
        if name in _NEEDS_PIN_CME:
            raise _Refused("cme", 12 if puk else 11)

    def _final_ok(self, lines: list[str]) -> None:
        if lines:
            if self.interleave_urcs and len(lines) > 1:
                cut = _interleave_point(lines)
                lines = [*lines[:cut], "", f"^RSSI:{self.rssi}", *lines[cut:]]
            self.out += b"\r\n" + "\r\n".join(lines).encode("latin-1", "replace") + b"\r\n"
        self.out += b"\r\nOK\r\n"

    def _final_error(self, refused: _Refused) -> None:
        if not refused.kind or self.cmee == 0:
            line = "ERROR"
        elif self.cmee == 2:
            table = CME_ERRORS if refused.kind == "cme" else CMS_ERRORS
            line = f"+{refused.kind.upper()} ERROR: {table.get(refused.code, 'unknown')}"
        else:
            line = f"+{refused.kind.upper()} ERROR: {refused.code}"
        log.debug("sim -> %s", line)
        self.out += b"\r\n" + line.encode("ascii") + b"\r\n"

    # ---- the "> " prompt of AT+CMGS --------------------------------------------------------

    def _start_prompt(self, prompt: _Prompt, lines: list[str]) -> None:
        if lines:
            self.out += b"\r\n" + "\r\n".join(lines).encode("latin-1", "replace") + b"\r\n"
        self._prompt = prompt
        self.out += b"\r\n> "

    def _feed_prompt(self, data: bytes, pos: int) -> int:
        prompt = self._prompt
        assert prompt is not None
        end = len(data)
        stop = end
        for marker in (CTRL_Z, ESC):
            found = data.find(marker, pos, stop)
            if found >= 0:
                stop = found
        chunk = data[pos:stop]
        if self.echo:
            self.out += chunk
        if prompt.number is not None and b"\r" in chunk:
            # Text mode: each line break gets a new prompt, as on a real modem.
            self.out += b"\n> " * chunk.count(b"\r")
        if len(prompt.data) + len(chunk) <= MAX_PROMPT_INPUT:
            prompt.data += chunk
        else:
            prompt.data += b"!"  # poison: too long, refused at Ctrl-Z
        if stop == end:
            return end
        self._prompt = None
        if data[stop] == ESC:
            log.debug("sim <- ESC: send cancelled")
            self.out += b"\r\nOK\r\n"
        else:
            try:
                reference = self._submit(prompt)
            except _Refused as refused:
                self._final_error(refused)
            else:
                self._final_ok([f"+CMGS: {reference}"])
        return stop + 1

    def _submit(self, prompt: _Prompt) -> int:
        if self.fail_sends > 0:
            self.fail_sends -= 1
            log.debug("sim: injected send failure %d", self.fail_code)
            raise _Refused("cms", self.fail_code)
        if not self.registered:
            raise _Refused("cms", 331)
        if prompt.number is not None:
            text = self._decode_text(bytes(prompt.data).replace(b"\r", b"\n"))
            coding = "gsm7" if fits_gsm7(text) else "ucs2"
            part = SentPart(prompt.number, text, coding, None, "", self._message_reference)
        else:
            part = self._decode_submitted(bytes(prompt.data), prompt.length or 0)
        self.sent.append(part)
        self._message_reference = (self._message_reference + 1) % 256
        return part.reference

    def _decode_submitted(self, data: bytes, length: int) -> SentPart:
        hex_text = data.decode("latin-1").strip()
        try:
            raw = bytes.fromhex(hex_text)
        except ValueError:
            log.debug("sim: PDU is not hex: +CMS ERROR 304")
            raise _Refused("cms", 304) from None
        if not raw or 1 + raw[0] + length != len(raw):
            log.debug("sim: PDU length does not match AT+CMGS=%d: +CMS ERROR 304", length)
            raise _Refused("cms", 304)
        try:
            submit = decode_submit(raw)
        except PduError as error:
            log.debug("sim: undecodable SMS-SUBMIT (%s): +CMS ERROR 304", error)
            raise _Refused("cms", 304) from None
        return SentPart(
            number=submit.number,
            text=submit.text,
            coding=submit.coding,
            concat=submit.concat,
            pdu_hex=raw.hex().upper(),
            reference=self._message_reference,
        )

    # ---- text-mode helpers -----------------------------------------------------------------

    def _decode_text(self, data: bytes) -> str:
        if self.charset == "UCS2":
            try:
                return bytes.fromhex(data.decode("latin-1").strip()).decode("utf-16-be")
            except ValueError:
                raise _Refused("cms", 305) from None
        # IRA, GSM and 8859-1 are all read as Latin-1 here: close enough for a test modem.
        return data.decode("latin-1")

    def _encode_text(self, text: str) -> str:
        if self.charset == "UCS2":
            return text.encode("utf-16-be").hex().upper()
        return text.encode("latin-1", "replace").decode("latin-1")

    def _text_entry(self, prefix: str, status: MessageStatus, pdu: bytes) -> list[str]:
        try:
            part = decode_deliver(pdu)
        except PduError:
            return [f'{prefix}"{TEXT_STATUS[status]}","",,""', ""]
        stamp = _text_timestamp(part.smsc_time)
        header = f'{prefix}"{TEXT_STATUS[status]}","{self._encode_text(part.sender)}",,"{stamp}"'
        if self.show_header:
            kind = 145 if part.sender.startswith("+") else 129
            header += f",{kind},{len(part.text)}"
        return [header, self._encode_text(part.text)]

    # ---- command handlers: (form, args) -> lines; form is "", "?", "=?" or "=" ----------------

    def _ok(self, form: str, args: str) -> list[str]:
        return []

    def _at_e(self, form: str, args: str) -> list[str]:
        if args not in ("", "0", "1"):
            raise _Refused()
        self.echo = args == "1"
        return []

    def _at_z(self, form: str, args: str) -> list[str]:
        self.reset()
        return []

    def _at_v(self, form: str, args: str) -> list[str]:
        if args not in ("", "1"):
            raise _Refused()  # numeric result codes (ATV0) are not simulated
        return []

    def _at_i(self, form: str, args: str) -> list[str]:
        ident = self.identity
        return [
            f"Manufacturer: {ident.manufacturer}",
            f"Model: {ident.model}",
            f"Revision: {ident.firmware}",
            f"IMEI: {ident.imei}",
            "+GCAP: +CGSM,+DS,+ES",
        ]

    def _at_s_register(self, form: str, args: str) -> list[str]:
        return ["000"] if form == "?" else []

    def _cgmi(self, form: str, args: str) -> list[str]:
        return [] if form == "=?" else [self.identity.manufacturer]

    def _cgmm(self, form: str, args: str) -> list[str]:
        return [] if form == "=?" else [self.identity.model]

    def _cgmr(self, form: str, args: str) -> list[str]:
        return [] if form == "=?" else [self.identity.firmware]

    def _cgsn(self, form: str, args: str) -> list[str]:
        return [] if form == "=?" else [self.identity.imei]

    def _cimi(self, form: str, args: str) -> list[str]:
        return [] if form == "=?" else [self.identity.imsi]

    def _gcap(self, form: str, args: str) -> list[str]:
        return ["+GCAP: +CGSM,+DS,+ES"]

    def _cmee(self, form: str, args: str) -> list[str]:
        if form == "?":
            return [f"+CMEE: {self.cmee}"]
        if form == "=?":
            return ["+CMEE: (0-2)"]
        self.cmee = _int_arg(args, 0, 2, default=0)
        return []

    def _cpin(self, form: str, args: str) -> list[str]:
        if form == "?":
            return [f"+CPIN: {self.pin.state}"]
        if form != "=":
            return []
        codes = _QUOTED.findall(args) or [a.strip() for a in args.split(",")]
        if not 1 <= len(codes) <= 2:
            raise _Refused("cme", 3)
        result = self.pin.enter(codes[0], codes[1] if len(codes) == 2 else None)
        if result is PinResult.WRONG:
            log.debug("sim: wrong PIN/PUK (%d wrong so far)", self.pin.wrong_attempts)
            raise _Refused("cme", 16)
        if result is PinResult.NOT_ALLOWED:
            raise _Refused("cme", 12 if self.pin.state is PinState.SIM_PUK else 3)
        return []

    def _cfun(self, form: str, args: str) -> list[str]:
        if form == "?":
            return ["+CFUN: 1"]
        if form == "=?":
            return ["+CFUN: (0,1,4),(0,1)"]
        return []

    def _cpas(self, form: str, args: str) -> list[str]:
        return ["+CPAS: 0"]

    def _csq(self, form: str, args: str) -> list[str]:
        if form == "=?":
            return ["+CSQ: (0-31,99),(0-7,99)"]
        return [f"+CSQ: {self.rssi if self.pin.state is PinState.READY else 99},99"]

    def _registration_state(self) -> int:
        # TS 27.007 7.2 <stat>: 1 registered (home), 2 searching.
        return 1 if self.registered and self.pin.state is PinState.READY else 2

    def _creg(self, form: str, args: str) -> list[str]:
        return self._registration("+CREG", form, args)

    def _cgreg(self, form: str, args: str) -> list[str]:
        return self._registration("+CGREG", form, args)

    def _registration(self, name: str, form: str, args: str) -> list[str]:
        # +CREG (circuit switched, SMS) and +CGREG (packet switched) read alike here.
        if form == "?":
            mode = self.report_modes.get(name, 0)
            state = self._registration_state()
            location = ',"1A2B","0C3D4E5F"' if mode == 2 and state == 1 else ""
            return [f"{name}: {mode},{state}{location}"]
        if form == "=?":
            return [f"{name}: (0-2)"]
        self.report_modes[name] = _int_arg(args, 0, 2, default=0)
        return []

    def _cgatt(self, form: str, args: str) -> list[str]:
        if form == "?":
            return [f"+CGATT: {int(self._registration_state() == 1)}"]
        if form == "=?":
            return ["+CGATT: (0,1)"]
        _int_arg(args, 0, 1, default=0)
        return []

    def _cops(self, form: str, args: str) -> list[str]:
        if form == "?":
            if self._registration_state() != 1:
                return ["+COPS: 0"]
            name = self.identity.plmn if self.cops_format == 2 else self.identity.operator
            return [f'+COPS: 0,{self.cops_format},"{name}",2']
        if form == "=?":
            ident = self.identity
            return [f'+COPS: (2,"{ident.operator}","Orange","{ident.plmn}",2),,(0-4),(0-2)']
        # AT+COPS=<mode>[,<format>]: only mode 3 (set the format) changes anything here.
        values = [v.strip() for v in args.split(",")]
        if values[0] == "3" and len(values) > 1:
            self.cops_format = _int_arg(values[1], 0, 2, default=0)
        return []

    def _cnum(self, form: str, args: str) -> list[str]:
        return []

    def _csca(self, form: str, args: str) -> list[str]:
        if form == "?":
            kind = 145 if self.smsc.startswith("+") else 129
            return [f'+CSCA: "{self.smsc}",{kind}']
        if form == "=":
            quoted = _QUOTED.findall(args)
            if not quoted:
                raise _Refused("cms", 304 if not self.text_mode else 305)
            self.smsc = quoted[0]
        return []

    def _cscs(self, form: str, args: str) -> list[str]:
        if form == "?":
            return [f'+CSCS: "{self.charset}"']
        if form == "=?":
            return ['+CSCS: ("IRA","GSM","UCS2")']
        quoted = _QUOTED.findall(args)
        if not quoted or quoted[0].upper() not in ("IRA", "GSM", "UCS2"):
            raise _Refused("cme", 4)
        self.charset = quoted[0].upper()
        return []

    def _csms(self, form: str, args: str) -> list[str]:
        if form == "=?":
            return ["+CSMS: (0,1)"]
        return ["+CSMS: 0,1,1,1"]

    def _csmp(self, form: str, args: str) -> list[str]:
        return ["+CSMP: 17,167,0,0"] if form == "?" else []

    def _csdh(self, form: str, args: str) -> list[str]:
        if form == "?":
            return [f"+CSDH: {int(self.show_header)}"]
        if form == "=?":
            return ["+CSDH: (0,1)"]
        self.show_header = _int_arg(args, 0, 1, default=0) == 1
        return []

    def _cmgf(self, form: str, args: str) -> list[str]:
        if form == "?":
            return [f"+CMGF: {int(self.text_mode)}"]
        if form == "=?":
            return ["+CMGF: (0-1)"]
        self.text_mode = _int_arg(args, 0, 1, default=0) == 1
        return []

    def _cpms(self, form: str, args: str) -> list[str]:
        used, total = self.storage.used, self.storage.slots
        if form == "?":
            return [f'+CPMS: "SM",{used},{total},"SM",{used},{total},"SM",{used},{total}']
        if form == "=?":
            return ['+CPMS: ("SM"),("SM"),("SM")']
        memories = _QUOTED.findall(args)
        if not memories or any(m.upper() != "SM" for m in memories) or len(memories) > 3:
            raise _Refused("cms", 302)
        return [f"+CPMS: {used},{total},{used},{total},{used},{total}"]

    def _cnmi(self, form: str, args: str) -> list[str]:
        if form == "?":
            return [f"+CNMI: {self.cnmi_mode},{self.cnmi_mt},0,0,0"]
        if form == "=?":
            return ["+CNMI: (0-2),(0-1),(0,2),(0-2),(0,1)"]
        values = [v.strip() for v in args.split(",")]
        try:
            numbers = [int(v) if v else 0 for v in values]
        except ValueError:
            raise _Refused("cms", 303) from None
        mode = numbers[0]
        mt = numbers[1] if len(numbers) > 1 else 0
        # Direct delivery (+CMT, mt 2-3) would need +CNMA acknowledgements: not simulated.
        if not 0 <= mode <= 3 or not 0 <= mt <= 1 or len(numbers) > 5:
            raise _Refused("cms", 303)
        self.cnmi_mode, self.cnmi_mt = mode, mt
        return []

    def _list_statuses(self, args: str) -> frozenset[MessageStatus]:
        if self.text_mode:
            quoted = _QUOTED.findall(args)
            name = quoted[0].upper() if quoted else ("" if args.strip() else "REC UNREAD")
            by_name = {v: k for k, v in TEXT_STATUS.items()}
            if name == "ALL":
                return frozenset(MessageStatus)
            if name not in by_name:
                raise _Refused("cms", 305)
            return frozenset({by_name[name]})
        stat = _int_arg(args, 0, _LIST_ALL, default=0, code=304)
        if stat == _LIST_ALL:
            return frozenset(MessageStatus)
        return frozenset({MessageStatus(stat)})

    def _cmgl(self, form: str, args: str) -> list[str]:
        if form == "=?":
            if self.text_mode:
                return ['+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")']
            return ["+CMGL: (0-4)"]
        lines: list[str] = []
        for index, slot in self.storage.listing(self._list_statuses(args)):
            if self.text_mode:
                lines += self._text_entry(f"+CMGL: {index},", slot.status, slot.pdu)
            else:
                lines.append(f"+CMGL: {index},{int(slot.status)},,{_tpdu_length(slot.pdu)}")
                lines.append(slot.pdu.hex().upper())
        log.debug("sim -> %d listed", len(lines) // 2)
        return lines

    def _index_arg(self, text: str) -> int:
        try:
            index = int(text.strip())
        except ValueError:
            raise _Refused("cms", 305 if self.text_mode else 304) from None
        if index not in self.storage.indices:
            raise _Refused("cms", 321)
        return index

    def _cmgr(self, form: str, args: str) -> list[str]:
        if form == "=?":
            return []
        if form != "=":
            raise _Refused()
        slot = self.storage.read(self._index_arg(args))
        if slot is None:
            return []
        if self.text_mode:
            return self._text_entry("+CMGR: ", slot.status, slot.pdu)
        return [f"+CMGR: {int(slot.status)},,{_tpdu_length(slot.pdu)}", slot.pdu.hex().upper()]

    def _cmgd(self, form: str, args: str) -> list[str]:
        if form == "=?":
            used = ",".join(str(i) for i, _ in self.storage.listing(frozenset()))
            return [f"+CMGD: ({used}),(0-4)"]
        if form != "=":
            raise _Refused()
        index_text, _, flag_text = args.partition(",")
        flag = _int_arg(flag_text, 0, 4, default=0, code=304)
        if flag == 0:
            self.storage.delete(self._index_arg(index_text))
        else:
            deleted = self.storage.delete_statuses(DELETE_FLAG_STATUSES[flag])
            log.debug("sim: AT+CMGD flag %d deleted %d", flag, deleted)
        return []

    def _cmgs(self, form: str, args: str) -> list[str] | _Prompt:
        if form == "=?":
            return []
        if form != "=":
            raise _Refused()
        if self.text_mode:
            quoted = _QUOTED.findall(args)
            if not quoted or not quoted[0]:
                raise _Refused("cms", 305)
            number = self._decode_text(quoted[0].encode("latin-1"))
            return _Prompt(number=number)
        length = _int_arg(args, 1, 164, default=0, code=304)  # TS 23.040: TPDU <= 164 octets
        return _Prompt(length=length)

    def _curc(self, form: str, args: str) -> list[str]:
        # Huawei: turn periodic URCs off. Accepted; the interleaving fault stays under the test's
        # control (interleave_urcs) so that a driver cannot silence it.
        return ["^CURC: 0"] if form == "?" else []

    def _portsel(self, form: str, args: str) -> list[str]:
        # Huawei: which of the stick's serial ports gets the URCs. There is one port here.
        if form == "?":
            return ["^PORTSEL: 0"]
        if form == "=?":
            return ["^PORTSEL: (0,1)"]
        _int_arg(args, 0, 1, default=0)
        return []


def _split_commands(body: str) -> list[str] | None:
    """Split what follows "AT" into commands: basic (E0, Z, &F, S0=0) and extended (+X..;)."""
    commands: list[str] = []
    pos = 0
    size = len(body)
    while pos < size:
        char = body[pos]
        if char in " ;":
            pos += 1
        elif char in "+^$%":
            end = _extended_end(body, pos)
            commands.append(body[pos:end])
            pos = end + 1
        else:
            match = _BASIC.match(body.upper(), pos)
            if match is None:
                return None
            commands.append(match.group(0))
            pos = match.end()
    return commands or [""]


def _extended_end(body: str, start: int) -> int:
    quoted = False
    for pos in range(start, len(body)):
        char = body[pos]
        if char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            return pos
    return len(body)


def _split_extended(command: str) -> tuple[str, str, str]:
    match = re.match(r"([+^$%][A-Za-z0-9]+)(=\?|\?|=)?(.*)", command, re.DOTALL)
    if match is None:
        raise _Refused()
    name, form, args = match.group(1).upper(), match.group(2) or "", match.group(3)
    if form in ("?", "=?") and args.strip():
        raise _Refused()
    return name, form, args


def _split_basic(command: str) -> tuple[str, str, str]:
    if not command:
        return "", "", ""
    if command[0] == "S" and len(command) > 1 and command[1].isdigit():
        return "S", "?" if command.endswith("?") else "=", command
    name = command[:2] if command[0] == "&" else command[0]
    return name, "", command[len(name) :]


def _int_arg(text: str, low: int, high: int, *, default: int, code: int = 0) -> int:
    text = text.strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _Refused("cms" if code else "", code) from None
    if not low <= value <= high:
        raise _Refused("cms" if code else "", code)
    return value


def _tpdu_length(pdu: bytes) -> int:
    """TS 27.005 3.1 <length> in PDU mode: octets after the SMSC field."""
    if not pdu:
        return 0
    return max(0, len(pdu) - 1 - pdu[0])


def _interleave_point(lines: list[str]) -> int:
    """Where a URC lands inside a response: after the first +CMGL entry, or the first line."""
    if len(lines) >= 4 and lines[0].startswith("+CMGL"):
        return 2
    return 1


def _text_timestamp(stamp: object) -> str:
    """TS 27.005 3.3.1 <scts>: "yy/MM/dd,hh:mm:ss±zz", zz in quarter hours."""
    if not isinstance(stamp, dt.datetime):
        return ""
    offset = stamp.utcoffset() or dt.timedelta()
    quarters = int(offset.total_seconds() // 900)
    return stamp.strftime("%y/%m/%d,%H:%M:%S") + f"{quarters:+03d}"


# Commands refused before the PIN is entered: message service ones with +CMS ERROR 311/316,
# the rest with +CME ERROR 11/12.
_NEEDS_PIN_CMS = frozenset(
    {"+CPMS", "+CMGL", "+CMGR", "+CMGD", "+CMGS", "+CMGW", "+CMSS", "+CSCA", "+CNMI"}
)
_NEEDS_PIN_CME = frozenset({"+CIMI", "+COPS", "+CNUM"})

_HANDLERS: dict[str, _Handler] = {
    "": Firmware._ok,
    "E": Firmware._at_e,
    "Z": Firmware._at_z,
    "&F": Firmware._at_z,
    "V": Firmware._at_v,
    "Q": Firmware._ok,
    "X": Firmware._ok,
    "&C": Firmware._ok,
    "&D": Firmware._ok,
    "I": Firmware._at_i,
    "S": Firmware._at_s_register,
    "+CGMI": Firmware._cgmi,
    "+GMI": Firmware._cgmi,
    "+CGMM": Firmware._cgmm,
    "+GMM": Firmware._cgmm,
    "+CGMR": Firmware._cgmr,
    "+GMR": Firmware._cgmr,
    "+CGSN": Firmware._cgsn,
    "+GSN": Firmware._cgsn,
    "+CIMI": Firmware._cimi,
    "+GCAP": Firmware._gcap,
    "+CMEE": Firmware._cmee,
    "+CPIN": Firmware._cpin,
    "+CFUN": Firmware._cfun,
    "+CPAS": Firmware._cpas,
    "+CSQ": Firmware._csq,
    "+CREG": Firmware._creg,
    "+CGREG": Firmware._cgreg,
    "+CGATT": Firmware._cgatt,
    "+COPS": Firmware._cops,
    "+CNUM": Firmware._cnum,
    "+CSCA": Firmware._csca,
    "+CSCS": Firmware._cscs,
    "+CSMS": Firmware._csms,
    "+CSMP": Firmware._csmp,
    "+CSDH": Firmware._csdh,
    "+CMGF": Firmware._cmgf,
    "+CPMS": Firmware._cpms,
    "+CNMI": Firmware._cnmi,
    "+CMGL": Firmware._cmgl,
    "+CMGR": Firmware._cmgr,
    "+CMGD": Firmware._cmgd,
    "+CMGS": Firmware._cmgs,
    "^CURC": Firmware._curc,
    "^PORTSEL": Firmware._portsel,
}
