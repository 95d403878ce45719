"""`anti-relous replay`: the line's own ingest -> decide -> enqueue -> send path, in virtual time.

What `fail2ban-regex` is to fail2ban rules, this is to the reply policy: "what would this
configuration have done with last week's traffic?". Each SMS of a JSON Lines file (the fields
`export --format json` writes: ``received_at``, ``sender``, ``text``) is encoded into the DELIVER
PDUs a network would store on the SIM, and the daemon's own ``LineService`` reads, stores,
decides and answers them against a virtual modem, on a virtual clock that jumps from one SMS to
the next while the daemon's periodic jobs (poll, send, housekeeping) run at their configured
intervals in between. Nothing here decides anything: the policy, the store and the service are
the ones the daemon runs.

Imports: ``service``, ``store``, ``modem`` (its value types and the PDU codec), ``config``,
``link``, ``coding`` and ``errors``; never ``cli`` or ``daemon``.
"""

from __future__ import annotations

import heapq
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from anti_relous.coding import text_info
from anti_relous.config import Config
from anti_relous.errors import AntiRelousError
from anti_relous.link import ModemLink
from anti_relous.modem import Health, Identity, Listing, MessageStatus, StoredMessage
from anti_relous.modem.pdu import encode_deliver
from anti_relous.service import LineService
from anti_relous.store import Store

#: The replay polls this long after each SMS. The daemon polls at once on a +CMTI
#: (daemon.NEW_MESSAGE_POLL_DELAY_S); gathering the SMS of a quarter second in one pass keeps a
#: 20,000-SMS replay fast, and moves each decision by at most that quarter second.
NEW_MESSAGE_POLL_DELAY = timedelta(seconds=0.25)
#: The daemon's housekeeping interval (daemon._intervals).
HOUSEKEEPING_INTERVAL = timedelta(minutes=1)
DEFAULT_TAIL = timedelta(hours=24)
_STORAGE = "SM"
_POLL = 0


class TrafficError(AntiRelousError):
    """The traffic file cannot be replayed; the message names the line and the field."""

    exit_code = 2


@dataclass(frozen=True)
class TrafficSms:
    """One SMS to replay, as a network would deliver it."""

    received_at: datetime
    sender: str
    text: str
    #: Which parts of a long SMS reach the SIM (1-based); None: all of them. A bot sending lone
    #: first parts writes ``"deliver_parts": [1]``.
    deliver_parts: tuple[int, ...] | None = None
    #: Where it came from in the file, for messages.
    line: int = 0


def read_traffic(lines: Iterable[str], *, source: str = "<traffic>") -> list[TrafficSms]:
    """Parse JSON Lines traffic, oldest first (a stable sort: ties keep the file's order).

    Each line is an object with at least ``received_at`` (ISO 8601 with an offset), ``sender``
    and ``text``; other fields (an export's ``id``, ``decision``...) are ignored.
    """
    traffic = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{source}, line {number}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise TrafficError(f"{where}: not JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise TrafficError(f"{where}: expected an object with received_at, sender and text")
        traffic.append(_traffic_sms(record, where, number))
    traffic.sort(key=lambda sms: sms.received_at)
    return traffic


def _traffic_sms(record: dict[str, Any], where: str, number: int) -> TrafficSms:
    for key in ("received_at", "sender", "text"):
        if not isinstance(record.get(key), str):
            raise TrafficError(f"{where}: {key!r} is missing or not a string")
    try:
        received_at = datetime.fromisoformat(record["received_at"])
    except ValueError:
        raise TrafficError(
            f"{where}: received_at {record['received_at']!r} is not an ISO 8601 time"
        ) from None
    if received_at.tzinfo is None:
        raise TrafficError(f"{where}: received_at needs an offset, e.g. 2026-12-01T21:30:00+01:00")
    parts = record.get("deliver_parts")
    if parts is not None and (
        not isinstance(parts, list)
        or not parts
        or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in parts)
    ):
        raise TrafficError(f"{where}: deliver_parts must be a list of part numbers such as [1]")
    if not record["sender"].strip():
        raise TrafficError(f"{where}: sender is empty")
    return TrafficSms(
        received_at.astimezone(UTC),
        record["sender"],
        record["text"],
        tuple(parts) if parts is not None else None,
        number,
    )


# --- the virtual modem and clock ---------------------------------------------------------------


class VirtualClock:
    """The replay's time: a datetime for the line, monotonic seconds for its pacing."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        """Seconds since the replay started."""
        return (self.now - self.start).total_seconds()


@dataclass(frozen=True)
class SentSms:
    """One SMS the line would have sent."""

    sent_at: datetime
    to: str
    kind: str
    parts: int


class VirtualModem:
    """The ``Modem`` protocol over an unbounded SIM in memory; sending records, never fails."""

    port = "replay"

    def __init__(self) -> None:
        self._slots: dict[int, tuple[bytes, MessageStatus]] = {}
        self._next_index = 0
        self._reference = 0

    def deliver(self, pdus: Iterable[bytes]) -> None:
        """The network stores these PDUs on the SIM, unread."""
        for pdu in pdus:
            self._slots[self._next_index] = (pdu, MessageStatus.REC_UNREAD)
            self._next_index += 1

    @property
    def stored(self) -> int:
        """Slots in use."""
        return len(self._slots)

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to release."""

    def identity(self) -> Identity:
        """A fixed identity."""
        return Identity("anti-relous", "replay", "virtual", "000000000000000")

    def health(self) -> Health:
        """Always registered with a good signal."""
        return Health("READY", 31, -51, "home", "replay", len(self._slots), None, None)

    def list_stored(self, meanwhile: Callable[[], object] | None = None) -> Listing:
        """Every slot (a complete listing); unread ones become read, as AT+CMGL=4 does."""
        if meanwhile is not None:
            meanwhile()
        listed = tuple(
            StoredMessage(_STORAGE, index, status, pdu)
            for index, (pdu, status) in sorted(self._slots.items())
        )
        for index, (pdu, _) in list(self._slots.items()):
            self._slots[index] = (pdu, MessageStatus.REC_READ)
        return Listing(listed, complete=True)

    def delete(self, index: int) -> None:
        """Free one slot."""
        self._slots.pop(index, None)

    def notify_new_messages(self, enabled: bool) -> None:
        """Nothing to notify: the replay polls on its own clock."""

    def delete_read(self) -> None:
        """Free every slot marked read."""
        for index in [i for i, (_, s) in self._slots.items() if s is MessageStatus.REC_READ]:
            del self._slots[index]

    def send(self, number: str, text: str, *, reference: int = 0) -> list[int]:
        """Accept every part; the caller records what left."""
        parts = text_info(text).parts
        first = self._reference
        self._reference = (self._reference + parts) % 256
        return [(first + i) % 256 for i in range(parts)]

    def wait_for_new_message(self, timeout_s: float) -> bool:
        """The replay drives polls itself."""
        return False


# --- the replay --------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    """What the line did with the traffic."""

    messages_in: int
    parts_in: int
    first_at: datetime | None
    last_at: datetime | None
    sent: list[SentSms] = field(default_factory=list)
    #: Wall-clock seconds the replay took.
    elapsed_s: float = 0.0


class _Job:
    """A periodic job of the daemon, due at ``next_at`` in virtual time."""

    def __init__(self, name: str, every: timedelta, run: Callable[[], None]) -> None:
        self.name = name
        self.every = every
        self.run = run


def replay(
    traffic: Sequence[TrafficSms],
    config: Config,
    store: Store,
    *,
    tail: timedelta = DEFAULT_TAIL,
    on_sent: Callable[[SentSms], None] | None = None,
) -> ReplayResult:
    """Play ``traffic`` (oldest first) through the line's own service into ``store``.

    The clock starts at the first SMS and runs until ``tail`` after the last one, so that the
    queue drains, held decisions are taken and floods end as they would have.
    """
    started = time.monotonic()
    result = ReplayResult(
        messages_in=len(traffic),
        parts_in=0,
        first_at=traffic[0].received_at if traffic else None,
        last_at=traffic[-1].received_at if traffic else None,
    )
    if not traffic:
        return result
    clock = VirtualClock(traffic[0].received_at)
    modem = VirtualModem()
    link = ModemLink(lambda: modem, monotonic=clock.monotonic)
    service = LineService(store, link, config, clock=clock, monotonic=clock.monotonic)
    service.start()

    def send() -> None:
        item = service.send_next()
        if item is not None:
            sent = SentSms(clock.now, item.recipient, item.kind, item.parts)
            result.sent.append(sent)
            if on_sent is not None:
                on_sent(sent)

    def poll() -> None:
        service.drain(budget_s=0.0)

    schedule = config.schedule
    jobs = [  # the poll first: _POLL is its index
        _Job("poll", schedule.poll_interval, poll),
        _Job("send", schedule.send_interval, send),
        _Job("housekeeping", HOUSEKEEPING_INTERVAL, service.housekeeping),
    ]
    # (due, order, job): like the daemon's scheduler, every job first runs at start-up.
    queue: list[tuple[datetime, int, int, bool]] = [
        (clock.now, i, i, True) for i in range(len(jobs))
    ]
    heapq.heapify(queue)
    order = len(jobs)
    encoder = _Encoder()
    end = traffic[-1].received_at + tail

    def run_until(moment: datetime) -> None:
        nonlocal order
        while queue and queue[0][0] <= moment:
            due, _, index, periodic = heapq.heappop(queue)
            clock.now = max(clock.now, due)
            job = jobs[index]
            if index != _POLL or modem.stored or _decisions_due(store, clock.now):
                job.run()
            if periodic:
                order += 1
                heapq.heappush(queue, (due + job.every, order, index, True))

    for sms in traffic:
        run_until(sms.received_at)
        clock.now = max(clock.now, sms.received_at)
        pdus = encoder.encode(sms)
        result.parts_in += len(pdus)
        modem.deliver(pdus)
        # A +CMTI makes the daemon poll shortly after, rather than at the next interval.
        order += 1
        heapq.heappush(queue, (clock.now + NEW_MESSAGE_POLL_DELAY, order, _POLL, False))
    run_until(end)
    clock.now = max(clock.now, end)
    result.elapsed_s = time.monotonic() - started
    return result


@dataclass(frozen=True)
class ReplaySummary:
    """``anti-relous replay --json``: what the line did, in the figures ``stats`` uses."""

    messages: int
    inbound_parts: int
    first_at: datetime | None
    last_at: datetime | None
    #: reason code -> messages decided with it.
    decisions: dict[str, int]
    undecided: int
    replies: int
    alerts: int
    #: Distinct numbers the line would have sent to (replies, alerts).
    recipients: int
    sms_sent: int
    parts_sent: int
    #: Every attack (and, with ``[attack] mode = "off"``, flood mode): kind, start, end.
    attack_periods: list[tuple[str, datetime, datetime | None]]
    cloud_price_per_sms: float
    currency: str
    cloud_cost_avoided: float
    elapsed_s: float


def summarise(result: ReplayResult, store: Store, config: Config) -> ReplaySummary:
    """The figures of a finished replay, read back from its store."""
    figures = store.reports.summary()
    kinds = Counter(sms.kind for sms in result.sent)
    parts_sent = sum(sms.parts for sms in result.sent)
    price = config.cost.cloud_price_per_sms
    return ReplaySummary(
        messages=figures.inbound_messages,
        inbound_parts=figures.inbound_parts,
        first_at=result.first_at,
        last_at=result.last_at,
        decisions=dict(sorted(figures.decisions.items(), key=lambda kv: -kv[1])),
        undecided=figures.inbound_messages - sum(figures.decisions.values()),
        replies=kinds["reply"],
        alerts=kinds["alert"],
        recipients=len({sms.to for sms in result.sent}),
        sms_sent=len(result.sent),
        parts_sent=parts_sent,
        attack_periods=sorted(
            [("attack", *p) for p in store.line.periods("attack_start", "attack_end")]
            + [("flood", *p) for p in store.line.periods("flood_start", "flood_end")],
            key=lambda period: period[1],
        ),
        cloud_price_per_sms=price,
        currency=config.cost.currency,
        cloud_cost_avoided=round(price * (figures.inbound_parts + parts_sent), 2),
        elapsed_s=round(result.elapsed_s, 3),
    )


def replay_traffic_file(
    traffic: Sequence[TrafficSms],
    config: Config,
    database: Path,
    *,
    tail: timedelta = DEFAULT_TAIL,
    on_sent: Callable[[SentSms], None] | None = None,
) -> ReplaySummary:
    """Replay into a new database at ``database`` (created; never an existing one)."""
    with Store.open(database, create=True, scratch=True) as store:
        result = replay(traffic, config, store, tail=tail, on_sent=on_sent)
        return summarise(result, store, config)


def _decisions_due(store: Store, now: datetime) -> bool:
    """Whether a poll with an empty SIM has anything to decide (it would do nothing else)."""
    return store.inbound.undecided_due(now)


class _Encoder:
    """DELIVER PDUs as each sender's phone numbers its long SMS, one reference after another."""

    def __init__(self) -> None:
        self._references: Counter[str] = Counter()

    def encode(self, sms: TrafficSms) -> list[bytes]:
        self._references[sms.sender] += 1
        reference = self._references[sms.sender] % 256
        try:
            pdus = encode_deliver(
                sms.sender, sms.text, sms.received_at.replace(microsecond=0), reference=reference
            )
        except Exception as error:  # libgammu refuses some senders and texts
            raise TrafficError(
                f"line {sms.line}: cannot encode this SMS as the network would ({error})"
            ) from None
        if sms.deliver_parts is None:
            return pdus
        return [pdus[p - 1] for p in sms.deliver_parts if p <= len(pdus)]
