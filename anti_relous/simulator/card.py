"""The simulated SIM card: PIN lock and finite SMS storage (the network in front: ``network``).

No I/O and no locking here: the simulator's lock guards every call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from anti_relous.modem import MessageStatus

# 3GPP TS 31.102 / TS 27.007 8.3: three wrong PINs block the SIM behind its PUK; ten wrong
# PUKs block it for good (not simulated: the driver never enters a PUK).
PIN_ATTEMPTS = 3
PUK_ATTEMPTS = 10
#: The PUK of every simulated SIM (AT+CPIN="<puk>","<new pin>" unlocks a blocked one).
SIM_PUK = "12345678"

# TS 27.005 3.5.4 <delflag>: which statuses each AT+CMGD flag deletes (0 means "<index> only").
DELETE_FLAG_STATUSES: dict[int, frozenset[MessageStatus]] = {
    1: frozenset({MessageStatus.REC_READ}),
    2: frozenset({MessageStatus.REC_READ, MessageStatus.STO_SENT}),
    3: frozenset({MessageStatus.REC_READ, MessageStatus.STO_SENT, MessageStatus.STO_UNSENT}),
    4: frozenset(MessageStatus),
}


class PinState(enum.StrEnum):
    """What AT+CPIN? reports (TS 27.007 8.3)."""

    READY = "READY"
    SIM_PIN = "SIM PIN"
    SIM_PUK = "SIM PUK"


class PinResult(enum.Enum):
    """The outcome of one AT+CPIN=... attempt."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    #: Nothing to unlock (the SIM is READY), or a PIN given where the PUK is needed.
    NOT_ALLOWED = "not allowed"


class PinLock:
    """A SIM's PIN: locked at power-on when a PIN is set; three wrong tries need the PUK."""

    def __init__(self, pin: str | None) -> None:
        self._pin = pin
        self.wrong_attempts = 0
        self.state = PinState.SIM_PIN if pin else PinState.READY

    @property
    def tries_left(self) -> int:
        """PIN tries left before the SIM locks (what AT+CPINR and Huawei's AT^CPIN? report)."""
        return PIN_ATTEMPTS - self.wrong_attempts

    def power_on(self) -> None:
        """A power cycle locks the SIM again; a PUK block survives it."""
        if self._pin and self.state is PinState.READY:
            self.state = PinState.SIM_PIN

    def enter(self, code: str, new_pin: str | None = None) -> PinResult:
        """AT+CPIN="<code>"[,"<new pin>"]: the PIN, or the PUK and a new PIN when blocked."""
        if self.state is PinState.SIM_PIN and new_pin is None:
            if code == self._pin:
                self.state = PinState.READY
                self.wrong_attempts = 0
                return PinResult.ACCEPTED
            self.wrong_attempts += 1
            if self.wrong_attempts >= PIN_ATTEMPTS:
                self.state = PinState.SIM_PUK
            return PinResult.WRONG
        if self.state is PinState.SIM_PUK and new_pin is not None:
            if code != SIM_PUK:
                return PinResult.WRONG
            self._pin = new_pin
            self.state = PinState.READY
            self.wrong_attempts = 0
            return PinResult.ACCEPTED
        return PinResult.NOT_ALLOWED


@dataclass
class Slot:
    """One occupied SIM storage location."""

    status: MessageStatus
    #: The PDU with its SMSC field, as AT+CMGL shows it.
    pdu: bytes


@dataclass(frozen=True)
class SimStats:
    """What the SIM and the network saw; benchmarks and invariant tests read these."""

    #: Parts the network stored into the SIM, ever.
    delivered_parts: int
    #: Parts the network holds now (waiting their turn, or held back by a full SIM).
    queued: int
    #: Parts on the SIM now.
    stored: int
    #: The most parts ever stored at once.
    high_water: int
    #: Parts deleted by AT+CMGD, ever.
    deleted_parts: int
    #: Deliveries that found the SIM full (each holds the network back until RP-SMMA).
    full_events: int
    #: Seconds deliveries were held back by a full SIM, in all: from each refusal until a part
    #: got through again (the redelivery delay after RP-SMMA included).
    full_s: float
    #: The longest of those periods.
    longest_full_s: float
    #: RP-SMMA "memory available" signals the phone sent the network.
    memory_available_signals: int
    #: Parts announced to the host with +CMTI.
    announced_parts: int
    #: Parts the host sent successfully with AT+CMGS.
    sends: int


class SimStorage:
    """The SIM's "SM" message storage, and its memory-exceeded flag.

    The network (``network``) stores parts with ``store``; one that finds no free location is
    refused, and the SIM remembers it (TS 31.102 EF_SMSS, the memory capacity exceeded
    notification flag) until the phone, with a slot free again, tells the network
    (``take_memory_available``).
    """

    def __init__(self, slots: int, *, first_index: int = 0) -> None:
        if slots < 1:
            raise ValueError("a SIM needs at least one message slot")
        self.slots = slots
        #: Huawei sticks number SIM locations from 0; many other modems from 1.
        self.first_index = first_index
        self._slots: dict[int, Slot] = {}
        #: A delivery was refused for want of room, and the network not yet told of free room.
        self.memory_exceeded = False
        self.deleted = 0
        self.high_water = 0

    @property
    def indices(self) -> range:
        """Every valid location."""
        return range(self.first_index, self.first_index + self.slots)

    @property
    def used(self) -> int:
        """Occupied locations."""
        return len(self._slots)

    @property
    def full(self) -> bool:
        """No free location left."""
        return len(self._slots) >= self.slots

    def store(self, pdu: bytes) -> int | None:
        """A part from the network, unread, in the lowest free location; None when full."""
        if self.full:
            self.memory_exceeded = True
            return None
        index = next(i for i in self.indices if i not in self._slots)
        self._slots[index] = Slot(MessageStatus.REC_UNREAD, pdu)
        self.high_water = max(self.high_water, len(self._slots))
        return index

    def take_memory_available(self) -> bool:
        """True once when the network must hear of free room (RP-SMMA): a delivery was refused
        and a location is free again."""
        if self.memory_exceeded and not self.full:
            self.memory_exceeded = False
            return True
        return False

    def listing(self, statuses: frozenset[MessageStatus]) -> list[tuple[int, Slot]]:
        """AT+CMGL: the matching messages with their status before listing; unread become read."""
        shown = []
        for index in sorted(self._slots):
            slot = self._slots[index]
            if slot.status in statuses:
                shown.append((index, Slot(slot.status, slot.pdu)))
                if slot.status is MessageStatus.REC_UNREAD:
                    slot.status = MessageStatus.REC_READ
        return shown

    def contents(self) -> list[tuple[int, Slot]]:
        """Every occupied location, by index, without marking anything read."""
        return [(index, Slot(slot.status, slot.pdu)) for index, slot in sorted(self._slots.items())]

    def read(self, index: int) -> Slot | None:
        """AT+CMGR: the message at ``index`` (status before reading), which becomes read."""
        slot = self._slots.get(index)
        if slot is None:
            return None
        shown = Slot(slot.status, slot.pdu)
        if slot.status is MessageStatus.REC_UNREAD:
            slot.status = MessageStatus.REC_READ
        return shown

    def delete(self, index: int) -> None:
        """AT+CMGD=<index>: deleting an empty location is not an error."""
        if self._slots.pop(index, None) is not None:
            self.deleted += 1

    def delete_statuses(self, statuses: frozenset[MessageStatus]) -> int:
        """AT+CMGD=<index>,<delflag>: delete every message with one of ``statuses``."""
        doomed = [index for index, slot in self._slots.items() if slot.status in statuses]
        for index in doomed:
            del self._slots[index]
        self.deleted += len(doomed)
        return len(doomed)
