"""The simulated dongle's firmware: a Huawei-style AT command interpreter, bytes in, bytes out.

Sans-I/O: ``feed`` takes what the host wrote, appends what the modem answers to ``out``. The
simulator owns the pty, the thread and the lock. This parser is written from 3GPP TS 27.007 /
27.005 and real-device transcripts, independently of the driver's (``at.py``): a simulator
sharing the driver's parser would only test the parser against itself. The commands themselves
live in ``equipment`` and ``messaging``.
"""

from __future__ import annotations

import logging
import re

from anti_relous.modem.errors import CME_ERRORS, CMS_ERRORS
from anti_relous.simulator import equipment, messaging
from anti_relous.simulator.card import PinLock, PinState, SimStorage
from anti_relous.simulator.equipment import Equipment, Handler, ModemIdentity, Prompt, Refused

log = logging.getLogger(__name__)

CTRL_Z = 0x1A  # TS 27.005 3.5.1: ends the PDU or text after the "> " prompt
ESC = 0x1B  # ...and ESC cancels the send
# Longest command line kept; a real modem's buffer is smaller, longer lines answer ERROR.
MAX_LINE = 2048
# An SMS-SUBMIT is at most 176 octets with its SMSC field: 352 hex digits. Some slack.
MAX_PROMPT_INPUT = 1024
_BASIC = re.compile(r"(&?[A-Z])(\d*)|(S\d+)(=\d*|\?)")
HANDLERS: dict[str, Handler] = {**equipment.EQUIPMENT_COMMANDS, **messaging.SMS_COMMANDS}


class Firmware(Equipment):
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
        super().__init__(storage, pin, echo=echo, smsc=smsc, identity=identity)
        self.out = bytearray()
        #: Put a "^RSSI:n" URC between the entries of multi-line responses.
        self.interleave_urcs = False
        #: +CMTI indications written, ever.
        self.announced = 0
        self._line = bytearray()
        self._line_overflow = False
        self._prompt: Prompt | None = None

    def power_on(self) -> None:
        """After a replug: settings back to defaults, half-typed input gone, the SIM locked."""
        self.reset()
        self._line.clear()
        self._line_overflow = False
        self._prompt = None
        self.pin.power_on()

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
                self._final_error(Refused())
            else:
                self._execute_line(line)

    def urc(self, line: str) -> None:
        """Emit an unsolicited result code."""
        self.out += b"\r\n" + line.encode("latin-1", "replace") + b"\r\n"

    def messages_stored(self, indices: list[int]) -> None:
        """The network stored parts at ``indices``: +CMTI each, if asked."""
        if self.notify_new_messages:
            for index in indices:
                self.urc(f'+CMTI: "SM",{index}')
            self.announced += len(indices)

    def storage_overflowed(self) -> None:
        """A part found the SIM full (and was refused): Huawei says so, asked or not."""
        # Huawei's AT reference (e.g. MU509, 6.21): "^SMMEMFULL: <mem_type>", reported
        # automatically "when the message storage media overflow".
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
                raise Refused()
            for command in commands:
                result = self._run(command)
                if isinstance(result, Prompt):
                    self._start_prompt(result, lines)
                    return
                lines.extend(result)
        except Refused as refused:
            self._final_error(refused)
            return
        self._final_ok(lines)

    def _run(self, command: str) -> list[str] | Prompt:
        if command[:1] in ("+", "^", "$", "%"):
            name, form, args = _split_extended(command)
        else:
            name, form, args = _split_basic(command)
        handler = HANDLERS.get(name)
        if handler is None:
            log.debug("sim: unsupported command %s: ERROR", name)
            raise Refused()
        self._check_pin(name)
        return handler(self, form, args)

    def _check_pin(self, name: str) -> None:
        if self.pin.state is PinState.READY:
            return
        puk = self.pin.state is PinState.SIM_PUK
        if name in messaging.NEEDS_PIN:
            raise Refused("cms", 316 if puk else 311)
        if name in equipment.NEEDS_PIN:
            raise Refused("cme", 12 if puk else 11)

    def _final_ok(self, lines: list[str]) -> None:
        if lines:
            if self.interleave_urcs and len(lines) > 1:
                cut = _interleave_point(lines)
                lines = [*lines[:cut], "", f"^RSSI:{self.rssi}", *lines[cut:]]
            self.out += b"\r\n" + "\r\n".join(lines).encode("latin-1", "replace") + b"\r\n"
        self.out += b"\r\nOK\r\n"

    def _final_error(self, refused: Refused) -> None:
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

    def _start_prompt(self, prompt: Prompt, lines: list[str]) -> None:
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
                reference = messaging.submit(self, prompt)
            except Refused as refused:
                self._final_error(refused)
            else:
                self._final_ok([f"+CMGS: {reference}"])
        return stop + 1


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
        raise Refused()
    name, form, args = match.group(1).upper(), match.group(2) or "", match.group(3)
    if form in ("?", "=?") and args.strip():
        raise Refused()
    return name, form, args


def _split_basic(command: str) -> tuple[str, str, str]:
    if not command:
        return "", "", ""
    if command[0] == "S" and len(command) > 1 and command[1].isdigit():
        return "S", "?" if command.endswith("?") else "=", command
    name = command[:2] if command[0] == "&" else command[0]
    return name, "", command[len(name) :]


def _interleave_point(lines: list[str]) -> int:
    """Where a URC lands inside a response: after the first +CMGL entry, or the first line."""
    if len(lines) >= 4 and lines[0].startswith("+CMGL"):
        return 2
    return 1
