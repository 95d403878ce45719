"""The simulated dongle's mobile equipment: its state, and its commands (V.250, TS 27.007).

``Equipment`` is what every command handler reads and changes: the settings, the identity, the
SIM (``card``), what was sent, and the faults a test arms. The firmware (``firmware``) derives
from it and adds the byte framing, so the handler tables (here and in ``messaging``) depend on
the state alone, never on the interpreter that calls them.

A handler takes the equipment, the command's form ("" to execute, "?" to read, "=?" to test,
"=" to set) and its arguments; it returns the information lines of the answer, or raises
``Refused`` for an error result. The firmware frames and sends them.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from anti_relous.simulator.card import (
    PIN_ATTEMPTS,
    PUK_ATTEMPTS,
    PinLock,
    PinResult,
    PinState,
    SimStorage,
)
from anti_relous.sms import Concat

log = logging.getLogger(__name__)

QUOTED = re.compile(r'"([^"]*)"')


class Refused(Exception):
    """A command failed: ``kind`` is "cme", "cms" or "" (plain ERROR)."""

    def __init__(self, kind: str = "", code: int = 0) -> None:
        super().__init__(kind, code)
        self.kind = kind
        self.code = code


class Prompt:
    """AT+CMGS is waiting for its PDU (``length`` set) or its text (``number`` set)."""

    def __init__(self, *, length: int | None = None, number: str | None = None) -> None:
        self.length = length
        self.number = number
        self.data = bytearray()


Handler = Callable[["Equipment", str, str], "list[str] | Prompt"]


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


def join_sent(parts: list[SentPart]) -> list[tuple[str, str]]:
    """(number, text) per message in ``parts``, concatenated parts joined in sequence order."""
    messages: list[tuple[str, dict[int, str]]] = []
    open_sets: dict[tuple[str, int, int, int], dict[int, str]] = {}
    for part in parts:
        if part.concat is None:
            messages.append((part.number, {1: part.text}))
            continue
        concat = part.concat
        key = (part.number, concat.reference_bits, concat.reference, concat.total)
        texts = open_sets.get(key)
        if texts is None or concat.sequence in texts:
            texts = {}
            open_sets[key] = texts
            messages.append((part.number, texts))
        texts[concat.sequence] = part.text
    return [(number, "".join(texts[k] for k in sorted(texts))) for number, texts in messages]


class Equipment:
    """The dongle's state behind its AT commands: settings, identity, SIM, sends, faults."""

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
        self.sent: list[SentPart] = []
        #: The next N AT+CMGS answer "+CMS ERROR: <fail_code>".
        self.fail_sends = 0
        self.fail_code = 500
        #: Network registration: when False, +CREG says "searching" and sends fail (CMS 331).
        self.registered = True
        #: AT+CSQ <rssi> (0-31, 99 unknown).
        self.rssi = 17
        #: PDUs this firmware mangles whenever it shows them: their hex line loses its last
        #: digit, as a buggy firmware's would (a fault for the AT driver's slot-by-slot reading).
        self.garbled: set[bytes] = set()
        #: The next +CMGS: <mr> (TS 23.040 TP-MR, 0-255).
        self.message_reference = 0
        #: For the next listings, one each: (after how many entries, a line to slip in), such
        #: as a stray "OK" that a driver would take for the listing's end.
        self.listing_intrusions: deque[tuple[int, str]] = deque()
        self._initial_echo = echo
        self.reset()

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


def _ok(fw: Equipment, form: str, args: str) -> list[str]:
    return []


def _at_e(fw: Equipment, form: str, args: str) -> list[str]:
    if args not in ("", "0", "1"):
        raise Refused()
    fw.echo = args == "1"
    return []


def _at_z(fw: Equipment, form: str, args: str) -> list[str]:
    fw.reset()
    return []


def _at_v(fw: Equipment, form: str, args: str) -> list[str]:
    if args not in ("", "1"):
        raise Refused()  # numeric result codes (ATV0) are not simulated
    return []


def _at_i(fw: Equipment, form: str, args: str) -> list[str]:
    ident = fw.identity
    return [
        f"Manufacturer: {ident.manufacturer}",
        f"Model: {ident.model}",
        f"Revision: {ident.firmware}",
        f"IMEI: {ident.imei}",
        "+GCAP: +CGSM,+DS,+ES",
    ]


def _at_s_register(fw: Equipment, form: str, args: str) -> list[str]:
    return ["000"] if form == "?" else []


def _cgmi(fw: Equipment, form: str, args: str) -> list[str]:
    return [] if form == "=?" else [fw.identity.manufacturer]


def _cgmm(fw: Equipment, form: str, args: str) -> list[str]:
    return [] if form == "=?" else [fw.identity.model]


def _cgmr(fw: Equipment, form: str, args: str) -> list[str]:
    return [] if form == "=?" else [fw.identity.firmware]


def _cgsn(fw: Equipment, form: str, args: str) -> list[str]:
    return [] if form == "=?" else [fw.identity.imei]


def _cimi(fw: Equipment, form: str, args: str) -> list[str]:
    return [] if form == "=?" else [fw.identity.imsi]


def _gcap(fw: Equipment, form: str, args: str) -> list[str]:
    return ["+GCAP: +CGSM,+DS,+ES"]


def _cmee(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        return [f"+CMEE: {fw.cmee}"]
    if form == "=?":
        return ["+CMEE: (0-2)"]
    fw.cmee = int_arg(args, 0, 2, default=0)
    return []


def _cpin(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        return [f"+CPIN: {fw.pin.state}"]
    if form != "=":
        return []
    codes = QUOTED.findall(args) or [a.strip() for a in args.split(",")]
    if not 1 <= len(codes) <= 2:
        raise Refused("cme", 3)
    result = fw.pin.enter(codes[0], codes[1] if len(codes) == 2 else None)
    if result is PinResult.WRONG:
        log.debug("sim: wrong PIN/PUK (%d wrong so far)", fw.pin.wrong_attempts)
        raise Refused("cme", 16)
    if result is PinResult.NOT_ALLOWED:
        raise Refused("cme", 12 if fw.pin.state is PinState.SIM_PUK else 3)
    return []


def _cpinr(fw: Equipment, form: str, args: str) -> list[str]:
    # TS 27.007 8.65: +CPINR: <code>,<retries>,<default retries>, for the codes asked.
    if form == "=?":
        return []
    asked = [code.upper() for code in QUOTED.findall(args)] or ["SIM PIN", "SIM PUK"]
    counts = {"SIM PIN": (fw.pin.tries_left, PIN_ATTEMPTS), "SIM PUK": (PUK_ATTEMPTS, PUK_ATTEMPTS)}
    return [
        f"+CPINR: {code},{left},{default}"
        for code, (left, default) in counts.items()
        if code in asked
    ]


def _huawei_cpin(fw: Equipment, form: str, args: str) -> list[str]:
    # Huawei's AT^CPIN? (its AT command reference):
    # ^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>, where <times>
    # counts the tries left for the code asked now.
    if form != "?":
        raise Refused()
    pin = fw.pin
    times = {PinState.SIM_PIN: pin.tries_left, PinState.SIM_PUK: PUK_ATTEMPTS}.get(pin.state, "")
    return [
        f"^CPIN: {pin.state},{times},{PUK_ATTEMPTS},{pin.tries_left},{PUK_ATTEMPTS},{PIN_ATTEMPTS}"
    ]


def _cfun(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        return ["+CFUN: 1"]
    if form == "=?":
        return ["+CFUN: (0,1,4),(0,1)"]
    return []


def _cpas(fw: Equipment, form: str, args: str) -> list[str]:
    return ["+CPAS: 0"]


def _csq(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "=?":
        return ["+CSQ: (0-31,99),(0-7,99)"]
    return [f"+CSQ: {fw.rssi if fw.pin.state is PinState.READY else 99},99"]


def _registration_state(fw: Equipment) -> int:
    # TS 27.007 7.2 <stat>: 1 registered (home), 2 searching.
    return 1 if fw.registered and fw.pin.state is PinState.READY else 2


def _creg(fw: Equipment, form: str, args: str) -> list[str]:
    return _registration(fw, "+CREG", form, args)


def _cgreg(fw: Equipment, form: str, args: str) -> list[str]:
    return _registration(fw, "+CGREG", form, args)


def _registration(fw: Equipment, name: str, form: str, args: str) -> list[str]:
    # +CREG (circuit switched, SMS) and +CGREG (packet switched) read alike here.
    if form == "?":
        mode = fw.report_modes.get(name, 0)
        state = _registration_state(fw)
        location = ',"1A2B","0C3D4E5F"' if mode == 2 and state == 1 else ""
        return [f"{name}: {mode},{state}{location}"]
    if form == "=?":
        return [f"{name}: (0-2)"]
    fw.report_modes[name] = int_arg(args, 0, 2, default=0)
    return []


def _cgatt(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        return [f"+CGATT: {int(_registration_state(fw) == 1)}"]
    if form == "=?":
        return ["+CGATT: (0,1)"]
    int_arg(args, 0, 1, default=0)
    return []


def _cops(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        if _registration_state(fw) != 1:
            return ["+COPS: 0"]
        name = fw.identity.plmn if fw.cops_format == 2 else fw.identity.operator
        return [f'+COPS: 0,{fw.cops_format},"{name}",2']
    if form == "=?":
        ident = fw.identity
        return [f'+COPS: (2,"{ident.operator}","Orange","{ident.plmn}",2),,(0-4),(0-2)']
    # AT+COPS=<mode>[,<format>]: only mode 3 (set the format) changes anything here.
    values = [v.strip() for v in args.split(",")]
    if values[0] == "3" and len(values) > 1:
        fw.cops_format = int_arg(values[1], 0, 2, default=0)
    return []


def _cnum(fw: Equipment, form: str, args: str) -> list[str]:
    return []


def _cscs(fw: Equipment, form: str, args: str) -> list[str]:
    if form == "?":
        return [f'+CSCS: "{fw.charset}"']
    if form == "=?":
        return ['+CSCS: ("IRA","GSM","UCS2")']
    quoted = QUOTED.findall(args)
    if not quoted or quoted[0].upper() not in ("IRA", "GSM", "UCS2"):
        raise Refused("cme", 4)
    fw.charset = quoted[0].upper()
    return []


def _curc(fw: Equipment, form: str, args: str) -> list[str]:
    # Huawei: turn periodic URCs off. Accepted; the interleaving fault stays under the test's
    # control (interleave_urcs) so that a driver cannot silence it.
    return ["^CURC: 0"] if form == "?" else []


def _portsel(fw: Equipment, form: str, args: str) -> list[str]:
    # Huawei: which of the stick's serial ports gets the URCs. There is one port here.
    if form == "?":
        return ["^PORTSEL: 0"]
    if form == "=?":
        return ["^PORTSEL: (0,1)"]
    int_arg(args, 0, 1, default=0)
    return []


def int_arg(text: str, low: int, high: int, *, default: int, code: int = 0) -> int:
    """A number in [low, high] (``default`` if empty); else ERROR, or +CMS ERROR ``code``."""
    text = text.strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Refused("cms" if code else "", code) from None
    if not low <= value <= high:
        raise Refused("cms" if code else "", code)
    return value


# Refused with +CME ERROR 11 (12 once blocked) until the PIN is entered.
NEEDS_PIN = frozenset({"+CIMI", "+COPS", "+CNUM"})

EQUIPMENT_COMMANDS: dict[str, Handler] = {
    "": _ok,
    "E": _at_e,
    "Z": _at_z,
    "&F": _at_z,
    "V": _at_v,
    "Q": _ok,
    "X": _ok,
    "&C": _ok,
    "&D": _ok,
    "I": _at_i,
    "S": _at_s_register,
    "+CGMI": _cgmi,
    "+GMI": _cgmi,
    "+CGMM": _cgmm,
    "+GMM": _cgmm,
    "+CGMR": _cgmr,
    "+GMR": _cgmr,
    "+CGSN": _cgsn,
    "+GSN": _cgsn,
    "+CIMI": _cimi,
    "+GCAP": _gcap,
    "+CMEE": _cmee,
    "+CPIN": _cpin,
    "+CPINR": _cpinr,
    "^CPIN": _huawei_cpin,
    "+CFUN": _cfun,
    "+CPAS": _cpas,
    "+CSQ": _csq,
    "+CREG": _creg,
    "+CGREG": _cgreg,
    "+CGATT": _cgatt,
    "+COPS": _cops,
    "+CNUM": _cnum,
    "+CSCS": _cscs,
    "^CURC": _curc,
    "^PORTSEL": _portsel,
}
