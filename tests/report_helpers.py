"""A flood played straight into a store, for the complaint pack's tests and benchmark.

The daemon's own path without the modem or the clock: real DELIVER PDUs (python-gammu's codec)
decoded as the SIM holds them, ``Inbound.ingest`` per poll, ``decide_pending`` (the policy and
its flood breaker, auto-blocks and alerts), and replies sent one per ``send_interval``, all at
virtual times. Seconds for thousands of messages, where the demo takes a minute.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from anti_relous.config import Config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.modem import pdu
from anti_relous.policy import Rules
from anti_relous.store import Store

START = datetime(2025, 11, 28, 19, 0, tzinfo=UTC)
#: Texts a report must flag, and one it must not.
THREAT = "je sais où tu habites, fais gaffe"
GREETING = "Salut ça va ?"
#: Texts that would run in a page that trusted them.
SCRIPT = "<script>window.__pwned = 'script'</script>"
ONERROR = "<img src=x onerror=\"window.__pwned='onerror'\">"
BIDI = "bonjour \u202eetuer et siav ej\u202c !"


@dataclass(frozen=True)
class Sms:
    """One SMS as a phone sends it, ``gap`` after the one before."""

    sender: str
    text: str
    gap: timedelta = timedelta(seconds=1)


def demo_like_flood(bots: int = 20, flood: int = 500, *, seed: int = 7) -> list[Sms]:
    """The demo's shape: genuine texters, then a copypasta flood from ``bots`` numbers with a
    genuine text, a threat, a greeting and hostile markup in the middle of it."""
    rng = random.Random(seed)
    numbers = [f"+336{99000000 + i * 7919:08d}" for i in range(bots)]
    order = [numbers[i % bots] for i in range(flood)]
    rng.shuffle(order)
    calm = timedelta(seconds=90)
    traffic = [
        Sms("+33612345678", "Salut, c'est Julie ? On s'est vus au bar hier soir", calm),
        Sms("+33623456789", "t ou ?? reponds", calm),
        Sms("+33634567890", "Bonsoir mademoiselle, vous êtes libre ce week-end ?", calm),
        Sms("+33623456789", "t ou ?? reponds", calm),
    ]
    middle = {
        flood // 5: Sms("+33656789012", "Salut, tu te souviens de moi ?"),
        flood // 4: Sms("+33645678901", THREAT),
        flood // 3: Sms("+33667890123", GREETING),
        flood // 2: Sms("+33678901234", SCRIPT),
        flood // 2 + 1: Sms("ALERTE", ONERROR),
        flood // 2 + 2: Sms("+33689012345", BIDI),
    }
    burst = timedelta(milliseconds=rng.choice((200, 400, 800)))
    for i, sender in enumerate(order):
        if i % 50 == 0:  # the bots come in waves
            burst = timedelta(milliseconds=rng.choice((200, 400, 800)))
        traffic.append(Sms(sender, f"Gagnez un iPhone ! Code {i:05d}", burst))
        if i in middle:
            traffic.append(middle[i])
    # Calm comes back: the next message finds the flood over (30 minutes below the threshold).
    traffic.append(Sms("+33690123456", "Coucou, c'était sympa ce soir", timedelta(minutes=35)))
    return traffic


def play(
    store: Store,
    config: Config,
    traffic: Sequence[Sms],
    *,
    start: datetime = START,
    poll: timedelta = timedelta(seconds=5),
    tail: timedelta = timedelta(minutes=5),
) -> datetime:
    """Deliver ``traffic`` from ``start``, read from the SIM every ``poll``; decide each poll
    and send due replies meanwhile, and for ``tail`` after the last one. Returns the end."""
    rules, texts = Rules.from_config(config), Texts.from_config(config)
    region = config.line.default_region
    send_interval = config.schedule.send_interval
    next_send = start
    references: dict[str, int] = {}
    slot = 0
    moment = start
    pending: list[tuple[datetime, Sms]] = []
    polls = []
    for sms in traffic:
        moment += sms.gap
        if pending and moment - pending[0][0] >= poll:
            polls.append(pending)
            pending = []
        pending.append((moment, sms))
    polls.append(pending)
    now = start
    for batch in polls:
        now = batch[-1][0] + timedelta(milliseconds=100)
        next_send = _send_due(store, next_send, now, send_interval)
        parts = []
        for sent_at, sms in batch:
            references[sms.sender] = (references.get(sms.sender, 0) + 1) % 256
            for raw in pdu.encode_deliver(sms.sender, sms.text, sent_at.replace(microsecond=0),
                                          reference=references[sms.sender]):  # fmt: skip
                slot += 1
                parts.append(pdu.decode_stored("SM", slot, raw, unread=True))
        result = store.inbound.ingest(parts, now, region)
        store.inbound.confirm_deleted(result.committed)
        decide_pending(store, rules, texts, now)
    _send_due(store, next_send, now + tail, send_interval)
    return now + tail


def _send_due(store: Store, next_send: datetime, now: datetime, interval: timedelta) -> datetime:
    """Send queued SMS one per ``interval`` up to ``now``, as the daemon's send job would."""
    while next_send <= now:
        item = store.outbox.next_due(next_send)
        if item is None:
            return now
        store.outbox.mark_sending(item.id, next_send)
        store.outbox.mark_sent(item.id, next_send, [item.id % 256])
        next_send += interval
    return next_send
