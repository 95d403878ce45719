"""Sans-I/O AT stream parser: bytes from the modem in, typed events out (no I/O, threads or time).

The parser is told which command is in flight (``begin``) and separates what belongs to it (its
echo, information lines, the ``> `` prompt, its final result) from unsolicited result codes,
which a modem may emit at any moment, including between two lines of a response. It never asks
"did that arrive late?": a line is a URC because of what it says, looked up in ``URC_NAMES``.

Input never raises: bytes that are not a line (junk a USB stick left in its buffer, a line past
``max_line`` bytes) become ``Discarded`` events carrying the reason.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from anti_relous.modem.errors import CME_ERRORS, CMS_ERRORS

#: Longest line kept, in bytes. A PDU line is at most 2 * (12 + 164) hex digits; a Huawei
#: ``AT+CLAC`` answer is ~1,500 characters on one line.
DEFAULT_MAX_LINE = 4096
#: How many bytes of a dropped line a ``Discarded`` event keeps, for the log.
_SAMPLE_BYTES = 64

# V.250 5.7.1 / TS 27.007 4.1: information text and results end with <CR><LF>. We cut on CR or LF
# alone as well: some firmwares end lines with a lone LF, and echo ends with a lone CR.
_TERMINATORS = re.compile(rb"[\r\n]")
_HEX_LINE = re.compile(r"[0-9A-Fa-f]+")


class ResultKind(enum.Enum):
    """Final result codes (V.250 5.7.1, TS 27.007 9.2, TS 27.005 3.2.5)."""

    OK = "OK"
    ERROR = "ERROR"
    CME_ERROR = "+CME ERROR"
    CMS_ERROR = "+CMS ERROR"
    CONNECT = "CONNECT"
    NO_CARRIER = "NO CARRIER"
    BUSY = "BUSY"
    NO_ANSWER = "NO ANSWER"
    NO_DIALTONE = "NO DIALTONE"


# Results that end a command whatever it was.
_ALWAYS_FINAL = {"OK": ResultKind.OK, "ERROR": ResultKind.ERROR}
# Call-progress results: final while a command is in flight, unsolicited otherwise (a call ended).
_CALL_RESULTS = {
    "CONNECT": ResultKind.CONNECT,
    "NO CARRIER": ResultKind.NO_CARRIER,
    "BUSY": ResultKind.BUSY,
    "NO ANSWER": ResultKind.NO_ANSWER,
    "NO DIALTONE": ResultKind.NO_DIALTONE,
}
# Vendor words that mean ERROR: Huawei E1752/E173 firmwares answer unknown commands with
# "COMMAND NOT SUPPORT" and bad arguments with "TOO MANY PARAMETERS" instead of ERROR.
VENDOR_ERROR_RESULTS = frozenset({"COMMAND NOT SUPPORT", "TOO MANY PARAMETERS"})

# Unsolicited result codes, by the name before the colon (or the whole line when it has none).
# A name in the in-flight command's response prefixes is a response line, not a URC: +CPIN:
# READY after boot is a URC, the same line answering AT+CPIN? is not.
URC_NAMES: dict[str, str] = {
    # TS 27.005 3.4.1: new-message indications (AT+CNMI).
    "+CMTI": "new message stored",
    "+CMT": "new message routed directly (a PDU line follows)",
    "+CDSI": "status report stored",
    "+CDS": "status report routed directly (a PDU line follows)",
    "+CBM": "cell broadcast (a PDU line follows)",
    # TS 27.007: calls, registration, indicators.
    "RING": "incoming call",
    "NO CARRIER": "call ended (final only while a command runs)",
    "+CRING": "incoming call (extended)",
    "+CLIP": "caller number",
    "+CCWA": "call waiting",
    "+CREG": "network registration changed",
    "+CGREG": "packet registration changed",
    "+CEREG": "LTE registration changed",
    "+CIEV": "indicator changed",
    "+CUSD": "USSD answer",
    "+CPIN": "SIM state changed",
    "+CFUN": "power mode changed",
    # Huawei E173/E3131/K3715.
    "^RSSI": "signal strength",
    "^HCSQ": "signal quality",
    "^BOOT": "boot/keep-alive report",
    "^MODE": "network mode",
    "^SRVST": "service state",
    "^SIMST": "SIM state",
    "^SMMEMFULL": "SMS storage full",
    "^CEND": "call ended",
    "^CONN": "call connected",
    "^ORIG": "call originated",
    "^CONF": "call ringing back",
    "^STIN": "SIM toolkit notification",
    "^NDISSTAT": "NDIS connection state",
    "^DSFLOWRPT": "data flow report",
    "^NWTIME": "network time",
    "^EONS": "operator name",
    "^ACTIVEBAND": "active band",
    "^CSNR": "signal to noise",
    "^POSITION": "position",
    # ZTE MF190 and relatives.
    "+ZUSIMR": "SIM state",
    "+ZPASR": "network service",
    "+ZDONR": "operator",
    "+ZEND": "end of startup reports",
    "+ZSTR": "SIM toolkit",
    # SIMCom SIM800/SIM7600.
    "RDY": "module ready",
    "Call Ready": "call service ready",
    "SMS Ready": "SMS service ready",
    "+CPBREADY": "phonebook ready",
    "+PBREADY": "phonebook ready",
    "NORMAL POWER DOWN": "module powering off",
    "UNDER-VOLTAGE POWER DOWN": "supply too low",
    # Quectel EC25.
    "+QIND": "module indication",
    "+QUSIM": "SIM type",
    "POWERED DOWN": "module powered off",
    # Wavecom.
    "+WIND": "module indication",
}

#: URCs followed by a PDU line that belongs to them (TS 27.005 3.4.1, PDU mode).
URCS_WITH_PDU = frozenset({"+CMT", "+CDS", "+CBM"})
#: Response headers followed by the PDU of the listed message (TS 27.005 3.4.2, 3.4.3).
RESPONSES_WITH_PDU = frozenset({"+CMGL", "+CMGR"})

_CME_BY_TEXT = {meaning.lower(): code for code, meaning in CME_ERRORS.items()}
_CMS_BY_TEXT = {meaning.lower(): code for code, meaning in CMS_ERRORS.items()}


@dataclass(frozen=True)
class Echo:
    """The modem repeating the command (or the PDU typed after the prompt)."""

    text: str


@dataclass(frozen=True)
class Response:
    """An information line of the command in flight."""

    text: str
    #: The hex line that follows a +CMGL/+CMGR header: the stored message's PDU.
    pdu: str | None = None


@dataclass(frozen=True)
class Final:
    """The final result code that ends a command."""

    kind: ResultKind
    #: Numeric +CME/+CMS code; for a verbose form, the code whose meaning matches (or None).
    code: int | None = None
    #: The line as received, for messages.
    text: str = ""
    #: The command it ends; None for a stray result that arrived with no command in flight
    #: (a late answer to a command the driver stopped waiting for).
    command: str | None = None

    @property
    def ok(self) -> bool:
        """True for OK (and CONNECT): the command succeeded."""
        return self.kind in (ResultKind.OK, ResultKind.CONNECT)


@dataclass(frozen=True)
class Urc:
    """An unsolicited result code."""

    #: The part before the colon, e.g. ``"+CMTI"``, or the whole line when it has none.
    name: str
    text: str
    #: The PDU line that follows +CMT/+CDS/+CBM.
    pdu: str | None = None
    #: False for a line that arrived with no command in flight and is not in ``URC_NAMES``.
    known: bool = True


@dataclass(frozen=True)
class Prompt:
    """The ``> `` of AT+CMGS: the modem waits for the PDU and Ctrl-Z."""


@dataclass(frozen=True)
class Discarded:
    """Bytes that were not a usable line, and why they were dropped."""

    reason: str
    data: bytes


Event = Echo | Response | Final | Urc | Prompt | Discarded


class AtParser:
    """Turns the byte stream of one modem into events; keeps a partial line between feeds.

    Not thread-safe: the caller serialises ``feed`` and ``begin``/``end``.
    """

    def __init__(self, *, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        #: Bytes dropped (junk before a line, over-long lines), for the logs and health.
        self.discarded_bytes = 0
        self._buffer = bytearray()
        self._discarding = False
        self._command: str | None = None
        self._prefixes: frozenset[str] = frozenset()
        self._echoes: set[str] = set()
        self._prompt_expected = False
        self._skip_prompt_space = False
        self._pending_header: str | None = None
        self._pending_urc: tuple[str, str] | None = None

    @property
    def command(self) -> str | None:
        """The command in flight, None between commands."""
        return self._command

    @property
    def buffered_bytes(self) -> int:
        """Bytes of an unfinished line held until its terminator arrives."""
        return len(self._buffer)

    def begin(
        self,
        command: str,
        response_prefixes: Iterable[str] = (),
        *,
        prompt: bool = False,
        body: str | None = None,
    ) -> None:
        """Announce the command about to be written (without its CR).

        ``response_prefixes`` name its information lines (``"+CPIN"``) so that they are not
        taken for URCs of the same name. ``prompt`` says a ``> `` prompt is due; ``body`` is
        what will be typed after it, so that its echo is recognised.
        """
        self._command = command
        self._prefixes = frozenset(p.rstrip(":") for p in response_prefixes)
        self._echoes = {command.upper()}
        if body is not None:
            self._echoes.add(body.upper())
        self._prompt_expected = prompt
        self._pending_header = None

    def end(self) -> list[Event]:
        """Forget the command in flight (it timed out or was abandoned)."""
        events: list[Event] = []
        self._flush_header(events)
        self._command = None
        self._prefixes = frozenset()
        self._echoes = set()
        self._prompt_expected = False
        return events

    def reset(self) -> None:
        """Drop every partial state, as after reopening the port."""
        self.end()
        self._buffer.clear()
        self._discarding = False
        self._skip_prompt_space = False
        self._pending_urc = None

    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data``; return the events it completes, in order."""
        events: list[Event] = []
        buffer = self._buffer
        buffer += data
        while buffer:
            if self._discarding:
                match = _TERMINATORS.search(buffer)
                dropped = len(buffer) if match is None else match.start()
                self.discarded_bytes += dropped
                if match is None:
                    buffer.clear()
                    break
                del buffer[: match.end()]
                self._discarding = False
                continue
            if self._skip_prompt_space:
                self._skip_prompt_space = False
                if buffer[0] == 0x20:
                    del buffer[0]
                    continue
            if self._prompt_expected:
                # Line noise glued before "> " would otherwise hide the prompt until the send
                # times out, and a send that timed out counts as maybe gone (never retried).
                junk = _non_text_run(buffer)
                if 0 < junk < len(buffer) and buffer[junk] == 0x3E:
                    events.append(
                        Discarded("non-text bytes before the prompt", bytes(buffer[:junk]))
                    )
                    self.discarded_bytes += junk
                    del buffer[:junk]
            if self._prompt_expected and buffer[0] == 0x3E:  # ">"
                del buffer[0]
                self._prompt_expected = False
                self._skip_prompt_space = True
                events.append(Prompt())
                continue
            match = _TERMINATORS.search(buffer)
            end = len(buffer) if match is None else match.start()
            if end > self.max_line:
                # Same event whether the line came whole or byte by byte: cut at max_line + 1,
                # then drop the rest up to its terminator.
                events.append(
                    Discarded(
                        f"line longer than {self.max_line} bytes", bytes(buffer[:_SAMPLE_BYTES])
                    )
                )
                self.discarded_bytes += self.max_line + 1
                del buffer[: self.max_line + 1]
                self._discarding = True
                continue
            if match is None:
                break
            line = bytes(buffer[:end])
            del buffer[: match.end()]
            if line:
                self._line(line, events)
        return events

    def _line(self, raw: bytes, events: list[Event]) -> None:
        start = 0
        while start < len(raw) and not 0x20 <= raw[start] <= 0x7E:
            start += 1
        if start:
            self.discarded_bytes += start
            events.append(Discarded("non-text bytes before a line", raw[:start]))
        # Wavecom pads some answers with a leading space; Ctrl-Z or ESC may trail an echoed PDU.
        text = raw[start:].decode("utf-8", errors="replace").strip(" \t\x00\x1a\x1b")
        if text:
            self._classify(text, events)

    def _classify(self, line: str, events: list[Event]) -> None:
        if self._pending_urc is not None:
            name, header = self._pending_urc
            self._pending_urc = None
            if _HEX_LINE.fullmatch(line):
                events.append(Urc(name, header, pdu=line))
                return
            events.append(Urc(name, header))
        name = _name_of(line)
        in_flight = self._command is not None

        if self._pending_header is not None:
            if _HEX_LINE.fullmatch(line):
                events.append(Response(self._pending_header, pdu=line))
                self._pending_header = None
                return
            # A URC may sit between a header and its PDU; anything else ends the wait.
            if name in self._prefixes or name not in URC_NAMES:
                self._flush_header(events)

        if in_flight and line.upper() in self._echoes:
            self._echoes.discard(line.upper())
            events.append(Echo(line))
            return
        final = _final(line, self._command)
        if final is not None:
            self._flush_header(events)
            events.append(final)
            self.end()
            return
        if in_flight and name in self._prefixes:
            if name in RESPONSES_WITH_PDU:
                self._pending_header = line
            else:
                events.append(Response(line))
            return
        if name in URC_NAMES:
            if name in URCS_WITH_PDU:
                self._pending_urc = (name, line)
            else:
                events.append(Urc(name, line))
            return
        if in_flight:
            events.append(Response(line))
        else:
            events.append(Urc(name, line, known=False))

    def _flush_header(self, events: list[Event]) -> None:
        if self._pending_header is not None:
            events.append(Response(self._pending_header))
            self._pending_header = None


def _non_text_run(buffer: bytearray) -> int:
    """How many bytes at the start of ``buffer`` are neither printable ASCII nor a terminator."""
    for position, byte in enumerate(buffer):
        if 0x20 <= byte <= 0x7E or byte in (0x0D, 0x0A):
            return position
    return len(buffer)


def _name_of(line: str) -> str:
    head, colon, _ = line.partition(":")
    return head.strip() if colon else line.strip()


def _final(line: str, command: str | None) -> Final | None:
    word = line.strip().upper()
    kind = _ALWAYS_FINAL.get(word)
    if kind is not None:
        return Final(kind, text=line, command=command)
    if word in VENDOR_ERROR_RESULTS:
        return Final(ResultKind.ERROR, text=line, command=command)
    if command is not None and word in _CALL_RESULTS:
        return Final(_CALL_RESULTS[word], text=line, command=command)
    for prefix, result, by_text in (
        ("+CME ERROR", ResultKind.CME_ERROR, _CME_BY_TEXT),
        ("+CMS ERROR", ResultKind.CMS_ERROR, _CMS_BY_TEXT),
    ):
        if word.startswith(prefix):
            detail = line.strip()[len(prefix) :].lstrip(": ").strip()
            code = int(detail) if detail.isdecimal() else by_text.get(detail.lower())
            return Final(result, code=code, text=line, command=command)
    return None
