"""Policy and store together: one decision per message, its replies, the quotas as properties."""

import tempfile
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from conftest import T0, Clock
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from store_helpers import part

from anti_relous.coding import text_info
from anti_relous.config import parse_config
from anti_relous.numbers import classify
from anti_relous.policy import Reason, Rules
from anti_relous.service import Texts, decide_pending
from anti_relous.sms import NumberKind, PartKind, ReceivedPart
from anti_relous.store import Store
from anti_relous.store.db import from_db, to_db

REGION = "FR"
TEXTS = Texts(reply="Ceci est un numéro anti-relous.", reply_parts=1)


def test_the_alert_is_one_gsm7_part():
    texts = Texts.from_config(parse_config(""))
    assert texts.alert_parts == 1 and text_info(texts.alert).coding == "gsm7"


def test_first_message_is_answered_and_the_second_is_not(store, clock, rules):
    store.inbound.ingest([part(text="salut")], clock(), REGION)
    store.inbound.ingest(
        [part(sender="0612345678", text="réponds")], clock.advance(minutes=1), REGION
    )
    decided = decide_pending(store, rules, TEXTS, clock())
    assert [d.reason for _, d in decided] == [Reason.REPLIED, Reason.NUMBER_QUOTA]
    (reply,) = store.outbox.items()
    assert (reply.recipient, reply.text, reply.kind, reply.message_id) == (
        "+33612345678",
        TEXTS.reply,
        "reply",
        1,
    )


def test_each_message_is_decided_once_however_often_we_ask(store, clock, rules):
    store.inbound.ingest([part()], clock(), REGION)
    assert len(decide_pending(store, rules, TEXTS, clock())) == 1
    assert decide_pending(store, rules, TEXTS, clock()) == []
    assert store.db.conn.execute("SELECT count(*) FROM decisions").fetchone() == (1,)


def test_undecodable_message_is_recorded_with_its_own_reason(store, clock, rules):
    bad = ReceivedPart("SM", 1, b"\x00\xff", PartKind.UNDECODABLE, error="malformed")
    store.inbound.ingest([bad], clock(), REGION)
    ((_, decision),) = decide_pending(store, rules, TEXTS, clock())
    assert (decision.reason, decision.reply) == (Reason.UNDECODABLE, False)


def test_abuse_blocks_the_sender_automatically(store, clock):
    rules = Rules.from_config(parse_config("[quota]\nmax_inbound_per_number = 2"))
    for _ in range(4):
        store.inbound.ingest([part()], clock.advance(minutes=1), REGION)
    reasons = [d.reason for _, d in decide_pending(store, rules, TEXTS, clock())]
    assert reasons == [Reason.REPLIED, Reason.NUMBER_QUOTA, Reason.ABUSE_BLOCK, Reason.BLOCKED]
    (block,) = store.line.blocks(clock())
    assert block.automatic and block.target == "+33612345678"
    assert block.until == clock.now + rules.block_duration


def test_flood_enters_once_queues_one_alert_and_silences_replies(store, clock):
    config = parse_config(
        '[flood]\nthreshold = 3\n[alerts]\nnumbers = ["+33600000002"]\n'
        "[quota]\nreplies_per_hour = 50"
    )
    rules = Rules.from_config(config)
    senders = [f"+3361234{n:04d}" for n in range(8)]
    store.inbound.ingest([part(sender=s) for s in senders], clock(), REGION)
    reasons = [d.reason for _, d in decide_pending(store, rules, TEXTS, clock())]
    assert reasons == [Reason.REPLIED] * 3 + [Reason.FLOOD] * 5
    alerts = [i for i in store.outbox.items() if i.kind == "alert"]
    assert [a.recipient for a in alerts] == ["+33600000002"]
    assert store.line.state().in_flood
    assert [e.kind for e in store.line.events()].count("flood_start") == 1


def test_paused_line_records_and_decides_but_does_not_reply(store, clock, rules):
    store.line.pause(clock(), None, "test")
    store.inbound.ingest([part()], clock(), REGION)
    ((_, decision),) = decide_pending(store, rules, TEXTS, clock())
    assert decision.reason is Reason.PAUSED and store.outbox.items() == []


# --- properties ------------------------------------------------------------------------------

SENDER_POOL = [
    "+33612345601",
    "+33612345602",
    "+33612345603",
    "+33612345604",
    "+33612345605",
    "+33612345606",
    "+32470123456",  # foreign mobile
    "+33145678901",  # fixed line
    "+33899123456",  # premium rate
    "36179",  # short code
    "PROMO",  # alphanumeric
]


def spellings(number: str) -> list[str]:
    """The ways a network or a typo spells one French number."""
    if not number.startswith("+33"):
        return [number]
    national = "0" + number[3:]
    spaced = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return [number, national, "00" + number[1:], spaced]


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(SENDER_POOL),
        st.integers(min_value=0, max_value=3),  # spelling
        st.sampled_from([0, 1, 30, 600, 1800, 3600, 4 * 3600, 26 * 3600]),  # seconds later
        st.booleans(),  # poll and decide now
    ),
    min_size=1,
    max_size=60,
)
SMALL_LIMITS = st.fixed_dictionaries(
    {
        "replies_per_number": st.integers(1, 2),
        "number_window": st.sampled_from(["1h", "24h"]),
        "max_inbound_per_number": st.integers(2, 5),
        "replies_per_hour": st.integers(1, 4),
        "replies_per_day": st.integers(4, 6),
        "replies_per_month": st.integers(6, 9),
        "recipients_per_month": st.integers(2, 5),
        "threshold": st.integers(4, 12),
    }
)


def _config(limits):
    quota = "\n".join(f"{k} = {v!r}" if isinstance(v, int) else f'{k} = "{v}"'
                      for k, v in limits.items() if k != "threshold")  # fmt: skip
    return parse_config(
        f'[quota]\n{quota}\n[flood]\nthreshold = {limits["threshold"]}\nwindow = "1h"\n'
        'cooldown = "2h"\n[alerts]\nnumbers = ["+33600000002"]\nmin_interval = "1h"\n'
    )


def _windows_hold(times, window, limit):
    times = sorted(times)
    start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        if end - start + 1 > limit:
            return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS, limits=SMALL_LIMITS)
# Found by Hypothesis: a flood that starts, stops and starts again within number_window alerts
# the operator twice, as alerts.min_interval allows; replies_per_number is about texters.
@example(
    events=[("+33612345601", 0, 0 if i < 8 else 3600, i == 4) for i in range(10)],
    limits={"replies_per_number": 1, "number_window": "24h", "max_inbound_per_number": 2,
            "replies_per_hour": 1, "replies_per_day": 4, "replies_per_month": 6,
            "recipients_per_month": 2, "threshold": 4},
)  # fmt: skip
def test_quotas_caps_and_filters_hold_for_any_sequence(events, limits):
    config = _config(limits)
    rules = Rules.from_config(config)
    clock = Clock(T0)
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "p.db") as store:
        pending = []
        for sender, spelling, delay, poll in events:
            clock.advance(seconds=delay)
            options = spellings(sender)
            pending.append(part(sender=options[spelling % len(options)]))
            if poll:
                store.inbound.ingest(pending, clock(), REGION)
                pending = []
                decide_pending(store, rules, TEXTS, clock())
        store.inbound.ingest(pending, clock(), REGION)
        decide_pending(store, rules, TEXTS, clock())
        _check_invariants(store, rules)


def _check_invariants(store, rules):
    conn = store.db.conn
    # Exactly one decision per message.
    assert conn.execute("SELECT count(*) FROM undecided").fetchone() == (0,)
    assert conn.execute(
        "SELECT count(*) FROM messages m LEFT JOIN decisions d ON d.message_id = m.id"
        " WHERE d.message_id IS NULL"
    ).fetchone() == (0,)
    sent = [(r[0], from_db(r[1]), r[2]) for r in conn.execute(
        "SELECT recipient, created_at, kind FROM outbox")]  # fmt: skip
    replies_to, alerts_to = defaultdict(list), defaultdict(list)
    for recipient, at, kind in sent:
        if kind in ("reply", "alert"):
            (replies_to if kind == "reply" else alerts_to)[recipient].append(at)
    # Per-number quota in any window: the replies a number can get (config.example.toml).
    for times in replies_to.values():
        assert _windows_hold(times, rules.number_window, rules.replies_per_number)
    # Alerts go to the operator, at most one per alert.min_interval however often floods start.
    for times in alerts_to.values():
        assert _windows_hold(times, rules.alert_min_interval, 1)
    all_times = [at for _, at, _ in sent]
    assert _windows_hold(all_times, timedelta(hours=1), rules.replies_per_hour)
    assert _windows_hold(all_times, timedelta(days=1), rules.replies_per_day)
    months = defaultdict(list)
    for recipient, at, _ in sent:
        months[at.strftime("%Y-%m")].append(recipient)
    for recipients in months.values():
        assert len(recipients) <= rules.replies_per_month
        assert len(set(recipients)) <= rules.recipients_per_month
    # Replies only to mobiles of allowed regions.
    for recipient, _, kind in sent:
        if kind == "reply":
            number = classify(recipient, "FR")
            assert number.kind is NumberKind.MOBILE and number.region in rules.allowed_regions
    # Never to a number after the message that got it blocked, while the block lasts (ids order
    # decisions taken at the same instant).
    blocked = conn.execute(
        "SELECT m.id, m.sender, d.decided_at FROM decisions d"
        " JOIN messages m ON m.id = d.message_id WHERE d.reason = 'abuse_block'"
    ).fetchall()
    for message_id, sender, decided_at in blocked:
        until = from_db(decided_at) + rules.block_duration
        late = conn.execute(
            "SELECT count(*) FROM outbox WHERE kind = 'reply' AND recipient = ? AND message_id > ?"
            " AND created_at < ?",
            (sender, message_id, to_db(until)),
        ).fetchone()
        assert late == (0,)
