"""Policy and store together: one decision per message, its replies, the quotas as properties."""

import random
import tempfile
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import T0, Clock
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from store_helpers import long_sms, part

from anti_relous.alerts import AlertRules
from anti_relous.config import parse_config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.numbers import classify
from anti_relous.policy import Reason, Rules
from anti_relous.policy.regime import PEOPLE_BUDGET_FACTOR
from anti_relous.sms import NumberKind, PartKind, ReceivedPart
from anti_relous.store import Store
from anti_relous.store.db import from_db, to_db

REGION = "FR"
TEXTS = Texts(reply="Ceci est un numéro anti-relous.", reply_parts=1)


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
    reasons = [d.reason for _, d in decide(store, rules, clock())]
    assert reasons == [Reason.REPLIED, Reason.NUMBER_QUOTA, Reason.ABUSE_BLOCK, Reason.BLOCKED]
    (block,) = store.line.blocks(clock())
    assert block.automatic and block.target == "+33612345678"
    assert block.until == clock.now + rules.block_duration


def test_with_the_regime_off_a_flood_enters_once_alerts_once_and_silences_replies(store, clock):
    config = parse_config(
        '[flood]\nthreshold = 3\n[alerts]\nnumbers = ["+33600000002"]\n'
        '[quota]\nreplies_per_hour = 50\n[attack]\nmode = "off"'
    )
    rules = Rules.from_config(config)
    store.inbound.ingest([part(sender=s) for s in senders(2)], clock(), REGION)
    assert [d.reason for _, d in decide(store, rules, clock())] == [Reason.REPLIED] * 2
    store.inbound.ingest([part(sender=s) for s in senders(8)[2:]], clock(), REGION)
    assert [d.reason for _, d in decide(store, rules, clock())] == [Reason.FLOOD] * 6
    alerts = [i for i in store.outbox.items() if i.kind == "alert"]
    assert [a.recipient for a in alerts] == ["+33600000002"]
    assert store.line.state().in_flood
    assert [e.kind for e in store.line.events()].count("flood_start") == 1


# --- the attack regime, store and policy together ----------------------------------------------

ATTACK_CONFIG = (
    '[flood]\nthreshold = 3\n[alerts]\nnumbers = ["+33600000002"]\n[quota]\nreplies_per_hour = 50\n'
)


def senders(count, block="+3361"):
    """``count`` numbers from distinct blocks (a SIM farm is another test)."""
    return [f"{block}{n:03d}{n:04d}" for n in range(count)]


#: What different people write: no two alike.
OWN_WORDS = (
    "Salut c'est Karim du métro",
    "Bonsoir, tu m'avais donné ce numéro à la fête de Léa",
    "hey t'es dispo pour un café demain ?",
    "Coucou ! On s'est vus au concert samedi, je suis le grand brun",
    "Re, je voulais juste savoir si t'étais bien rentrée",
    "Allô, c'est Yanis, je crois que j'ai ton écharpe",
)


WORDS = (
    "métro", "gare", "soir", "matin", "chien", "café", "fête", "rue", "bus", "pluie", "vélo",
    "parc", "livre", "film", "musique", "plage", "train", "sac", "clé", "porte", "ville", "nuit",
    "jour", "marché", "boulot", "ami", "sœur", "frère", "voisin", "chat", "pomme", "tram",
    "quai", "pont", "école",
)  # fmt: skip


def unique_texts(count, seed=1):
    """``count`` texts no two of which are alike (words drawn at random)."""
    rng = random.Random(seed)
    words = WORDS
    return [" ".join(rng.sample(words, 6)) for _ in range(count)]


def texters(count):
    return [part(sender=s, text=t) for s, t in zip(senders(count), OWN_WORDS, strict=False)]


def decide(store, rules, now):
    alert_rules = AlertRules(numbers=rules.alert_numbers, min_interval=rules.alert_min_interval)
    return decide_pending(store, rules, TEXTS, now, alert_rules=alert_rules)


def test_a_flood_holds_new_senders_alerts_once_and_mutes_nobody_known(store, clock):
    rules = Rules.from_config(parse_config(ATTACK_CONFIG))
    store.inbound.ingest([part(sender="+33699999999", text="bonjour")], clock(), REGION)
    assert [d.reason for _, d in decide(store, rules, clock())] == [Reason.REPLIED]
    store.inbound.ingest(texters(5), clock.advance(minutes=1), REGION)
    assert [d.reason for _, d in decide(store, rules, clock())] == [Reason.HELD] * 5
    (alert,) = [i for i in store.outbox.items() if i.kind == "alert"]
    assert alert.recipient == "+33600000002"
    # Every message has a decision row from the start: provisional while held.
    assert store.db.conn.execute("SELECT count(*) FROM undecided").fetchone() == (0,)
    store.inbound.ingest([part(sender="+33699999999", text="tu es là ?")], clock(), REGION)
    ((_, known),) = decide(store, rules, clock())
    assert known.reason is Reason.NUMBER_QUOTA  # known, not held: its quota speaks
    assert [e.kind for e in store.line.events()].count("attack_start") == 1


def test_held_messages_are_decided_once_when_their_hold_ends(store, clock):
    rules = Rules.from_config(parse_config(ATTACK_CONFIG))
    store.inbound.ingest(texters(5), clock(), REGION)
    decide(store, rules, clock())
    assert decide(store, rules, clock.advance(minutes=19)) == []
    released = decide(store, rules, clock.advance(minutes=1))
    assert [d.reason for _, d in released] == [Reason.REPLIED] * 5
    assert all("held 20m" in d.detail for _, d in released)
    assert decide(store, rules, clock.advance(hours=1)) == []
    rows = store.db.conn.execute("SELECT reason, held_at IS NOT NULL FROM decisions").fetchall()
    assert rows == [("replied", 1)] * 5
    assert len([i for i in store.outbox.items() if i.kind == "reply"]) == 5


def test_under_attack_near_identical_texts_from_three_senders_are_a_campaign(store, clock):
    rules = Rules.from_config(parse_config(ATTACK_CONFIG + '[attack]\nhold = "0"'))
    store.inbound.ingest(texters(4), clock(), REGION)  # a burst of new senders: an attack
    decide(store, rules, clock())
    texts = [
        "Tu m'as donné ce numéro exprès pour te moquer de moi ? Réponds au moins.",
        "tu m'as donne ce numero expres pour te moquer de moi ?? reponds au moins 42",
        "Tu m'as donné ce numéro exprès pour te moquer de moi. Réponds au moins bb",
    ]
    reasons = []
    for sender, text in zip(senders(7)[4:], texts, strict=True):
        store.inbound.ingest([part(sender=sender, text=text)], clock.advance(minutes=5), REGION)
        reasons += [d.reason for _, d in decide(store, rules, clock())]
    assert reasons == [Reason.REPLIED, Reason.REPLIED, Reason.CAMPAIGN]
    (campaign,) = store.campaigns.largest(limit=1)
    assert (campaign.senders, campaign.messages, campaign.flagged_at) == (3, 3, clock.now)
    assert [e.kind for e in store.line.events()].count("campaign") == 1


@pytest.mark.parametrize("withdraw", [True, False], ids=["enforce", "off"])
def test_replies_still_queued_when_their_text_is_found_a_campaign_are_withdrawn(
    store, clock, withdraw
):
    rules = Rules.from_config(parse_config(ATTACK_CONFIG + '[attack]\nhold = "0"'))
    store.inbound.ingest(texters(4), clock(), REGION)  # an attack
    decide(store, rules, clock())
    first, second, friend, third = senders(8)[4:]
    store.line.allow(clock(), friend, "une amie")
    text = "Tu m'as donné ce numéro exprès pour te moquer de moi ? Réponds au moins."
    reasons = []
    for sender in (first, second, friend, third):
        store.inbound.ingest([part(sender=sender, text=text)], clock.advance(minutes=1), REGION)
        reasons += [d.reason for _, d in decide(store, rules, clock())]
    # Nothing was sent meanwhile (a drain: replies leave between drains).
    assert reasons == [Reason.REPLIED] * 3 + [Reason.CAMPAIGN]
    left = []
    while (item := store.outbox.next_due(clock(), withdraw_campaigns=withdraw)) is not None:
        store.outbox.mark_sending(item.id, clock())
        left += [item.recipient] if item.kind == "reply" else []
    answered_before = [s for s in senders(4) if s in left]
    kept = [friend] if withdraw else [first, second, friend]
    assert left == [*answered_before, *kept]
    withdrawn = store.db.conn.execute(
        "SELECT recipient, last_error FROM outbox WHERE state = 'failed' ORDER BY id"
    ).fetchall()
    assert [r for r, _ in withdrawn] == ([first, second] if withdraw else [])
    assert all("found to be campaign #" in error for _, error in withdrawn)


def test_a_campaign_found_in_one_wave_silences_the_next_wave_at_once(store, clock):
    rules = Rules.from_config(parse_config(ATTACK_CONFIG))
    text = "Les féministes qui filent des faux numéros, vous allez payer vos SMS"
    wave = [part(sender=sender, text=text) for sender in senders(5)]
    store.inbound.ingest(wave, clock(), REGION)
    decide(store, rules, clock())
    decide(store, rules, clock.advance(hours=1))
    assert not store.line.state().under_attack
    store.inbound.ingest(
        [part(sender="+33799999999", text=text.upper() + " !!")],
        clock.advance(hours=5), REGION,
    )  # fmt: skip
    ((_, decision),) = decide(store, rules, clock())
    assert decision.reason is Reason.CAMPAIGN


def test_under_attack_three_numbers_of_one_block_are_a_sim_farm(store, clock):
    rules = Rules.from_config(parse_config(ATTACK_CONFIG + '[attack]\nhold = "0"'))
    store.inbound.ingest([part(sender="+33799999999", text=t) for t in ("a", "b", "c", "d")],
                         clock(), REGION)  # fmt: skip
    decide(store, rules, clock())  # a flood: an attack
    farm = ["+33612340001", "+33612340422", "+33612349999"]
    reasons = []
    for sender, text in zip(farm, OWN_WORDS, strict=False):
        store.inbound.ingest([part(sender=sender, text=text)], clock.advance(minutes=1), REGION)
        reasons += [d.reason for _, d in decide(store, rules, clock())]
    assert reasons == [
        Reason.REPLIED,
        Reason.REPLIED,
        Reason.NUMBER_BLOCK,
    ]


def test_under_attack_single_sms_from_new_senders_spend_only_the_budget(store, clock):
    rules = Rules.from_config(
        parse_config(ATTACK_CONFIG + "[attack]\nnew_senders_burst = 3\nnew_senders_per_day = 2")
    )
    drip = [part(sender=s, text=t) for s, t in zip(senders(40), unique_texts(40), strict=True)]
    store.inbound.ingest(drip, clock(), REGION)
    decide(store, rules, clock())
    released = decide(store, rules, clock.advance(hours=1))
    reasons = Counter(d.reason for _, d in released)
    assert (
        reasons[Reason.REPLIED] == 3
        and reasons[Reason.REPLIED] + reasons[Reason.PACED] + (reasons[Reason.CAMPAIGN]) == 40
    )


def test_lone_first_parts_count_from_their_arrival_and_start_an_attack(store, clock):
    """Fragments that never complete still count: no window ignores a pending part."""
    rules = Rules.from_config(parse_config(ATTACK_CONFIG))
    fragments = [
        long_sms(sender, ["Ecoute moi bien, tu vas ", "le regretter"], reference=n)[0]
        for n, sender in enumerate(senders(5))
    ]
    store.inbound.ingest(fragments, clock(), REGION)
    assert decide(store, rules, clock()) == []  # nothing to decide yet...
    assert store.line.state().under_attack  # ...but the attack is seen
    store.inbound.release_incomplete(clock.advance(hours=2), timedelta(hours=1), REGION)
    released = decide(store, rules, clock())
    assert len(released) == 5
    assert all(d.reason is not Reason.REPLIED or "budget" in d.detail for _, d in released)


def test_an_allowlisted_number_is_answered_at_once_under_attack(store, clock):
    rules = Rules.from_config(parse_config(ATTACK_CONFIG))
    store.line.allow(clock(), "+33688888888", "ma soeur")
    store.inbound.ingest([*texters(5), part(sender="0688888888")], clock(), REGION)
    reasons = [d.reason for _, d in decide(store, rules, clock())]
    assert reasons == [Reason.HELD] * 5 + [Reason.REPLIED]


def test_shadow_mode_records_what_the_regime_would_have_done(store, clock):
    rules = Rules.from_config(parse_config(ATTACK_CONFIG + '[attack]\nmode = "shadow"'))
    store.inbound.ingest(texters(5), clock(), REGION)
    assert [d.reason for _, d in decide(store, rules, clock())] == [Reason.FLOOD] * 5
    shadows = store.db.conn.execute("SELECT DISTINCT shadow FROM decisions").fetchall()
    assert shadows == [("held",)]


def test_paused_line_records_and_decides_but_does_not_reply(store, clock, rules):
    store.line.pause(clock(), None, "test")
    store.inbound.ingest([part()], clock(), REGION)
    ((_, decision),) = decide_pending(store, rules, TEXTS, clock())
    assert decision.reason is Reason.PAUSED and store.outbox.items() == []


# --- properties ------------------------------------------------------------------------------

SENDER_POOL = [
    "+33612345601",
    "+33612345602",  # same block of 10,000 as the first two below it
    "+33612345603",
    "+33623456704",
    "+33634567805",
    "+33645678906",
    "+33656789007",
    "+33767890108",
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


TEXT_POOL = [
    "salut",
    "Salut ça va ?",
    "t'es charmante, tu me donnes ton 06 ?",
    "T'ES CHARMANTE, TU ME DONNES TON 06 ? 42",
    "Bonsoir, tu m'avais donné ce numéro à la fête de Léa",
    "je sais où tu descends tous les soirs, réponds",
]
EVENTS = st.lists(
    st.tuples(
        st.sampled_from(SENDER_POOL),
        st.integers(min_value=0, max_value=3),  # spelling
        st.sampled_from([0, 1, 30, 600, 1800, 3600, 4 * 3600, 26 * 3600]),  # seconds later
        st.booleans(),  # poll and decide now
        st.sampled_from(range(len(TEXT_POOL))),
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
ATTACK_LIMITS = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["enforce", "shadow", "off"]),
        "first_contacts": st.integers(1, 4),
        "hold": st.sampled_from(["0", "10m", "1h"]),
        "campaign_senders": st.integers(2, 3),
        "short_campaign_senders": st.integers(2, 3),
        "block_senders": st.integers(2, 3),
        "new_senders_burst": st.integers(0, 3),
        "new_senders_per_day": st.integers(0, 2),
    }
)


def _config(limits, attack=None):
    quota = "\n".join(f"{k} = {v!r}" if isinstance(v, int) else f'{k} = "{v}"'
                      for k, v in limits.items() if k != "threshold")  # fmt: skip
    section = "\n".join(
        f"{k} = {v!r}" if isinstance(v, int) else f'{k} = "{v}"' for k, v in (attack or {}).items()
    )
    return parse_config(
        f'[quota]\n{quota}\n[flood]\nthreshold = {limits["threshold"]}\nwindow = "1h"\n'
        'cooldown = "2h"\n[alerts]\nnumbers = ["+33600000002"]\nmin_interval = "1h"\n'
        f"[attack]\n{section}\n"
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


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS, limits=SMALL_LIMITS, attack=ATTACK_LIMITS)
# Found by Hypothesis: a flood that starts, stops and starts again within number_window alerts
# the operator twice, as alerts.min_interval allows; replies_per_number is about texters.
@example(
    events=[("+33612345601", 0, 0 if i < 8 else 3600, i == 4, 0) for i in range(10)],
    limits={"replies_per_number": 1, "number_window": "24h", "max_inbound_per_number": 2,
            "replies_per_hour": 1, "replies_per_day": 4, "replies_per_month": 6,
            "recipients_per_month": 2, "threshold": 4},
    attack={"mode": "off", "first_contacts": 4, "hold": "0", "campaign_senders": 3,
            "short_campaign_senders": 3, "block_senders": 3, "new_senders_burst": 3,
            "new_senders_per_day": 2},
)  # fmt: skip
def test_quotas_caps_and_filters_hold_for_any_sequence(events, limits, attack):
    """Whatever the traffic and the attack settings: every message ends with exactly one final
    decision, and no quota, cap, recipient limit or new-senders budget is ever exceeded."""
    config = _config(limits, attack)
    rules = Rules.from_config(config)
    clock = Clock(T0)
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "p.db") as store:
        pending = []
        for sender, spelling, delay, poll, text in events:
            clock.advance(seconds=delay)
            options = spellings(sender)
            pending.append(part(sender=options[spelling % len(options)], text=TEXT_POOL[text]))
            if poll:
                store.inbound.ingest(pending, clock(), REGION)
                pending = []
                decide(store, rules, clock())
        store.inbound.ingest(pending, clock(), REGION)
        decide(store, rules, clock())
        end = clock.advance(days=1)  # every hold over
        decide(store, rules, clock())
        _check_invariants(store, rules)
        _check_budget(store, rules, end - T0)


def _check_budget(store, rules, elapsed):
    """Replies from each new-senders budget never outrun its burst and refill."""
    for who, factor in (("a single SMS", 1), ("a person writing again", PEOPLE_BUDGET_FACTOR)):
        (spent,) = store.db.conn.execute(
            "SELECT count(*) FROM decisions WHERE detail LIKE ?",
            (f"%{who}, answered from the new-senders budget%",),
        ).fetchone()
        assert spent <= factor * (
            rules.new_senders_burst + rules.new_senders_per_day * (elapsed / timedelta(days=1))
        )


def _check_invariants(store, rules):
    conn = store.db.conn
    # Exactly one decision per message, final (no hold left once every hold is over).
    assert conn.execute("SELECT count(*) FROM undecided").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM decisions WHERE reason = 'held'").fetchone() == (0,)
    assert conn.execute(
        "SELECT count(*) FROM messages m LEFT JOIN decisions d ON d.message_id = m.id"
        " WHERE d.message_id IS NULL"
    ).fetchone() == (0,)
    sent = [(r[0], from_db(r[1]), r[2], r[3]) for r in conn.execute(
        "SELECT recipient, created_at, kind, text FROM outbox")]  # fmt: skip
    replies_to, alerts_to = defaultdict(list), defaultdict(list)
    for recipient, at, kind, text in sent:
        if kind == "reply":
            replies_to[recipient].append(at)
        elif kind == "alert":  # an attack's start and its end are two alerts
            alerts_to[recipient, "finie" in text].append(at)
    # Per-number quota in any window: the replies a number can get (config.example.toml).
    for times in replies_to.values():
        assert _windows_hold(times, rules.number_window, rules.replies_per_number)
    # Alerts go to the operator, each kind at most once per alert.min_interval however often
    # attacks start and end.
    for times in alerts_to.values():
        assert _windows_hold(times, rules.alert_min_interval, 1)
    all_times = [at for _, at, _, _ in sent]
    assert _windows_hold(all_times, timedelta(hours=1), rules.replies_per_hour)
    assert _windows_hold(all_times, timedelta(days=1), rules.replies_per_day)
    months = defaultdict(list)
    for recipient, at, _, _ in sent:
        months[at.strftime("%Y-%m")].append(recipient)
    for recipients in months.values():
        assert len(recipients) <= rules.replies_per_month
        assert len(set(recipients)) <= rules.recipients_per_month
    # Replies only to mobiles of allowed regions.
    for recipient, _, kind, _ in sent:
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
