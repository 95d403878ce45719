"""The simulated network's side of SMS delivery: the SMSC's queue for this subscriber.

Parts wait here until the network hands them to the SIM, one at a time, ``gap_s`` apart (one
RP-DATA / RP-ACK exchange over the air each, TS 24.011; 0 hands a backlog over as fast as
slots free). When a delivery finds the SIM full, the phone answers RP-ERROR "memory capacity
exceeded" (TS 24.011 8.2.5.4, cause 22) and the network marks the subscriber (TS 23.040 3.2.8:
the HLR's memory capacity exceeded flag): nothing more is delivered, new parts included, until
the phone frees a slot and says so with RP-SMMA (TS 24.011 7.3.2). Then the SMSC, alerted, waits
``redelivery_s`` before it delivers again: real networks take seconds to minutes there.

No I/O and no locking: the simulator's lock guards every call; time comes from ``clock``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from anti_relous.simulator.card import SimStorage

#: The SMSC's wait between RP-SMMA and its next delivery attempt, by default: a quick network.
REDELIVERY_S = 2.0


@dataclass(frozen=True)
class Handover:
    """What one delivery round did: the slots it filled, in order, and whether the SIM refused."""

    stored: list[int]
    refused: bool


class Network:
    """The parts the network holds for this SIM, and its state towards the subscriber."""

    def __init__(
        self,
        *,
        gap_s: float = 0.0,
        redelivery_s: float = REDELIVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if gap_s < 0 or redelivery_s < 0:
            raise ValueError("the delivery gap and the redelivery delay cannot be negative")
        self.gap_s = gap_s
        self.redelivery_s = redelivery_s
        self._clock = clock
        self._queue: deque[bytes] = deque()
        #: When the next part may be handed over.
        self._next_at = 0.0
        #: Waiting for RP-SMMA: a delivery found the SIM full.
        self._held = False
        #: Since when deliveries are held back by a full SIM (refusal until redelivery).
        self._full_since: float | None = None
        self.delivered = 0
        self.full_events = 0
        self.memory_available_signals = 0
        self._full_s = 0.0
        self._longest_full_s = 0.0

    @property
    def queued(self) -> int:
        """Parts waiting in the network."""
        return len(self._queue)

    @property
    def held(self) -> bool:
        """True from a refused delivery until the phone signals memory available."""
        return self._held

    def submit(self, pdu: bytes) -> None:
        """One more part for this subscriber; it waits its turn."""
        if not self._queue:
            # An idle network starts on a new part at once, not at a turn it let pass.
            self._next_at = max(self._next_at, self._clock())
        self._queue.append(pdu)

    def next_attempt_at(self) -> float | None:
        """When the network will next hand a part over (or be refused), None if it will not."""
        if not self._queue or self._held:
            return None
        return self._next_at

    def deliver_due(self, storage: SimStorage) -> Handover:
        """Hand over every part whose turn has come, until the SIM refuses one."""
        now = self._clock()
        stored: list[int] = []
        refused = False
        while self._queue and not self._held and self._next_at <= now:
            index = storage.store(self._queue[0])
            if index is None:
                refused = self._held = True
                self.full_events += 1
                self._full_since = now
                break
            self._queue.popleft()
            stored.append(index)
            self._end_full_period(now)
            self._next_at += self.gap_s
        self.delivered += len(stored)
        return Handover(stored, refused)

    def memory_available(self) -> None:
        """RP-SMMA: the phone has room again; the SMSC delivers after its redelivery delay."""
        self.memory_available_signals += 1
        if self._held:
            self._held = False
            self._next_at = self._clock() + self.redelivery_s

    def full_seconds(self) -> tuple[float, float]:
        """(total, longest) seconds deliveries were held back by a full SIM, from each refusal
        until the next part got through, the period under way included."""
        total, longest = self._full_s, self._longest_full_s
        if self._full_since is not None:
            current = self._clock() - self._full_since
            total, longest = total + current, max(longest, current)
        return total, longest

    def _end_full_period(self, now: float) -> None:
        if self._full_since is None:
            return
        period = now - self._full_since
        self._full_s += period
        self._longest_full_s = max(self._longest_full_s, period)
        self._full_since = None
