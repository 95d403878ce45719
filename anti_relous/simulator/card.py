"""The simulated SIM card: PIN lock, finite SMS storage, and the network queue in front of it.

No I/O and no locking here: the simulator's lock guards every call. Time comes from the
``clock`` passed in, so the full-storage figures are exact and testable.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
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
    #: Parts the network holds now because the SIM was full (or the modem away).
    queued: int
    #: Parts on the SIM now.
    stored: int
    #: The most parts ever stored at once.
    high_water: int
    #: Parts deleted by AT+CMGD, ever.
    deleted_parts: int
    #: How many times the SIM went from not full to full.
    full_events: int
    #: Longest continuous time the SIM was full while the network had parts waiting.
    longest_full_s: float
    #: Parts the host sent successfully with AT+CMGS.
    sends: int


class SimStorage:
    """The SIM's "SM" message storage and the network queue that feeds it.

    Inbound parts go to the network queue first; ``deliver_due`` moves them into free slots
    (lowest index first, as a SIM fills) once the network's retry delay has passed.
    """

    def __init__(
        self,
        slots: int,
        *,
        first_index: int = 0,
        retry_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if slots < 1:
            raise ValueError("a SIM needs at least one message slot")
        self.slots = slots
        #: Huawei sticks number SIM locations from 0; many other modems from 1.
        self.first_index = first_index
        self._retry_s = retry_s
        self._clock = clock
        self._slots: dict[int, Slot] = {}
        self._network: deque[bytes] = deque()
        self._next_attempt = 0.0
        self._delivered = 0
        self._deleted = 0
        self._high_water = 0
        self._full_events = 0
        self._longest_full_s = 0.0
        self._full_since: float | None = None

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

    @property
    def queued(self) -> int:
        """Parts waiting in the network."""
        return len(self._network)

    def from_network(self, pdu: bytes) -> None:
        """The network has one more part for this SIM; it waits until ``deliver_due``."""
        self._network.append(pdu)
        self._track_full()

    def next_attempt_at(self) -> float | None:
        """When the network will next try to deliver, or None if nothing can be delivered."""
        if not self._network or self.full:
            return None
        return self._next_attempt

    def deliver_due(self) -> list[int]:
        """Store what the network has into free slots; returns the new locations in order."""
        stored: list[int] = []
        if not self._network:
            return stored
        now = self._clock()
        if now < self._next_attempt:
            return stored
        was_full = self.full
        free = (i for i in self.indices if i not in self._slots)
        while self._network and not self.full:
            index = next(free)
            self._slots[index] = Slot(MessageStatus.REC_UNREAD, self._network.popleft())
            stored.append(index)
        self._delivered += len(stored)
        self._high_water = max(self._high_water, len(self._slots))
        if self.full and not was_full and stored:
            self._full_events += 1
        if self._network:
            # The SIM refused the rest: the network retries later (immediately when retry_s is 0,
            # i.e. as soon as a slot frees).
            self._next_attempt = now + self._retry_s
        self._track_full()
        return stored

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
            self._deleted += 1
            self._track_full()

    def delete_statuses(self, statuses: frozenset[MessageStatus]) -> int:
        """AT+CMGD=<index>,<delflag>: delete every message with one of ``statuses``."""
        doomed = [index for index, slot in self._slots.items() if slot.status in statuses]
        for index in doomed:
            del self._slots[index]
        self._deleted += len(doomed)
        self._track_full()
        return len(doomed)

    def stats(self, sends: int) -> SimStats:
        """A snapshot; the current full period counts towards ``longest_full_s``."""
        longest = self._longest_full_s
        if self._full_since is not None:
            longest = max(longest, self._clock() - self._full_since)
        return SimStats(
            delivered_parts=self._delivered,
            queued=len(self._network),
            stored=len(self._slots),
            high_water=self._high_water,
            deleted_parts=self._deleted,
            full_events=self._full_events,
            longest_full_s=longest,
            sends=sends,
        )

    def _track_full(self) -> None:
        blocked = self.full and bool(self._network)
        if blocked and self._full_since is None:
            self._full_since = self._clock()
        elif not blocked and self._full_since is not None:
            self._longest_full_s = max(self._longest_full_s, self._clock() - self._full_since)
            self._full_since = None
