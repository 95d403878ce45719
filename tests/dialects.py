"""A recorded device on a real pty: answers from its table (tests/data/dialects/), else the spec.

Not the simulator (anti_relous/simulator), which is one Huawei-style dongle written from the
standards: this fake knows nothing but what one device was recorded answering, and what TS
27.007 and TS 27.005 say for the rest (tests/data/dialects/README.md). It echoes like a modem
at power-on, refuses what its device refused (with its device's words), and locks every command
its device locked while the SIM waits for its PIN.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import threading
import tty
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

DIALECTS = Path(__file__).parent / "data" / "dialects"
PIN_ATTEMPTS = 3
PIN_REQUIRED = "+CME ERROR: 11"  # TS 27.007 9.2.1
WRONG_PASSWORD = "+CME ERROR: 16"
NOT_ALLOWED = "+CME ERROR: 3"
INVALID_INDEX = "+CMS ERROR: 321"  # TS 27.005 3.2.5
ESC = 0x1B


@dataclass(frozen=True)
class Dialect:
    """One device's recorded answers."""

    device: str
    pin_free: tuple[str, ...]
    unknown: str
    #: (command, or prefix ending in "*"; answer lines with their final result).
    answers: tuple[tuple[str, tuple[str, ...]], ...]

    def answer(self, command: str) -> tuple[str, ...] | None:
        for pattern, lines in self.answers:
            if pattern == command or (pattern.endswith("*") and command.startswith(pattern[:-1])):
                return lines
        return None


def load(name: str) -> Dialect:
    """The dialect in tests/data/dialects/NAME.txt."""
    device, unknown, pin_free, answers = "", "ERROR", (), []
    for raw in (DIALECTS / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        if raw.startswith("device: "):
            device = raw.removeprefix("device: ")
        elif raw.startswith("pin-free: "):
            pin_free = tuple(raw.removeprefix("pin-free: ").split())
        elif raw.startswith("unknown: "):
            unknown = raw.removeprefix("unknown: ")
        else:
            command, _, answer = raw.partition(" -> ")
            answers.append((command, tuple(answer.split(" | "))))
    return Dialect(device, pin_free, unknown, tuple(answers))


@dataclass
class Slot:
    unread: bool
    pdu: bytes


@dataclass
class Sim:
    """The fake's SIM: a PIN with its tries, and slots numbered from 1."""

    pin: str | None
    total: int = 20
    tries: int = PIN_ATTEMPTS
    locked: bool = False
    slots: dict[int, Slot] = field(default_factory=dict)

    @property
    def state(self) -> str:
        if self.tries == 0:
            return "SIM PUK"
        return "SIM PIN" if self.locked else "READY"


class DialectModem:
    """``dialect`` served on a pty at ``path`` until ``stop``; ``commands`` is what it was sent."""

    def __init__(
        self, dialect: Dialect, *, pin: str | None = None, pdus: tuple[bytes, ...] = ()
    ) -> None:
        self.dialect = dialect
        self.sim = Sim(pin, locked=pin is not None)
        for index, pdu in enumerate(pdus, start=1):
            self.sim.slots[index] = Slot(True, pdu)
        self.commands: list[str] = []
        self._echo = True
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = Path(os.ttyname(self._slave))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dialect-modem", daemon=True)

    def __enter__(self) -> DialectModem:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        for fd in (self._master, self._slave):
            os.close(fd)

    @property
    def pins_entered(self) -> list[str]:
        return [c for c in self.commands if c.upper().startswith('AT+CPIN="')]

    # ---- the serving thread ---------------------------------------------------------------

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            readable, _, _ = select.select([self._master], [], [], 0.05)
            if not readable:
                continue
            try:
                pending += os.read(self._master, 4096)
            except OSError:
                return
            while b"\r" in pending:
                line, _, pending = pending.partition(b"\r")
                text = line.replace(bytes([ESC]), b"").decode("latin-1").strip()
                if text:
                    self._write(self._reply(text))

    def _write(self, out: str) -> None:
        with contextlib.suppress(OSError):
            os.write(self._master, out.encode("latin-1"))

    def _reply(self, command: str) -> str:
        self.commands.append(command)
        echo = command + "\r" if self._echo else ""
        lines = self._lines(command)
        return echo + "".join(f"\r\n{line}\r\n" for line in lines)

    def _lines(self, command: str) -> tuple[str, ...] | list[str]:
        upper = command.upper()
        sim = self.sim
        if sim.state != "READY" and not upper.startswith(self.dialect.pin_free):
            return [PIN_REQUIRED]
        recorded = self.dialect.answer(command)
        if recorded is not None:
            return tuple(self._fill(line) for line in recorded)
        standard = self._standard(upper, command)
        return standard if standard is not None else [self.dialect.unknown]

    def _fill(self, line: str) -> str:
        sim = self.sim
        return line.format(
            pin_state=sim.state,
            tries=sim.tries,
            used=len(sim.slots),
            total=sim.total,
        )

    def _standard(self, upper: str, command: str) -> list[str] | None:
        """What TS 27.007 / 27.005 say, for the commands the driver sends."""
        sim = self.sim
        if upper in ("AT", "AT+CMEE=1", "AT+CMGF=0") or upper.startswith("AT+CNMI="):
            return ["OK"]
        if upper in ("ATZ", "ATE1", "ATE0"):
            self._echo = upper != "ATE0"
            return ["OK"]
        if upper == "AT+CPIN?":
            return [f"+CPIN: {sim.state}", "OK"]
        entered = re.fullmatch(r'AT\+CPIN="(\d+)"', command, re.IGNORECASE)
        if entered:
            if sim.state != "SIM PIN":
                return [NOT_ALLOWED]
            if entered.group(1) != sim.pin:
                sim.tries -= 1
                return [WRONG_PASSWORD]
            sim.locked, sim.tries = False, PIN_ATTEMPTS
            return ["OK"]
        used, total = len(sim.slots), sim.total
        if upper.startswith("AT+CPMS="):
            memories = upper.count('"SM"')
            return ["+CPMS: " + ",".join([f"{used},{total}"] * memories), "OK"]
        if upper == "AT+CPMS?":
            return ["+CPMS: " + ",".join([f'"SM",{used},{total}'] * 3), "OK"]
        if upper == "AT+CMGL=4":
            lines = []
            for index, slot in sorted(sim.slots.items()):
                lines += [
                    f"+CMGL: {index},{int(not slot.unread)},,{_tpdu(slot.pdu)}",
                    slot.pdu.hex(),
                ]
                slot.unread = False
            return [*lines, "OK"]
        if upper.startswith("AT+CMGR="):
            index = int(upper.removeprefix("AT+CMGR="))
            if not 1 <= index <= total:
                return [INVALID_INDEX]
            slot = sim.slots.get(index)
            if slot is None:
                return ["OK"]
            shown = int(not slot.unread)
            slot.unread = False
            return [f"+CMGR: {shown},,{_tpdu(slot.pdu)}", slot.pdu.hex(), "OK"]
        if upper.startswith("AT+CMGD="):
            index_text, _, flag = upper.removeprefix("AT+CMGD=").partition(",")
            if flag == "1":
                sim.slots = {i: s for i, s in sim.slots.items() if s.unread}
            else:
                sim.slots.pop(int(index_text), None)
            return ["OK"]
        return {
            "AT+CSQ": ["+CSQ: 17,99", "OK"],
            "AT+CREG?": ["+CREG: 0,1", "OK"],
            "AT+COPS?": ['+COPS: 0,0,"Operator"', "OK"],
            "AT+CSCA?": ['+CSCA: "+27829129000",145', "OK"],
        }.get(upper)


def _tpdu(pdu: bytes) -> int:
    """TS 27.005 <length> in PDU mode: octets after the SMSC field."""
    return len(pdu) - 1 - pdu[0]
