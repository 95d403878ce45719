"""The pure policy: every rule, in order, each with its reason code."""

from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import T0

from anti_relous.config import Config, parse_config
from anti_relous.numbers import classify
from anti_relous.policy import (
    BURST_GAP,
    PROOF_GAP,
    Block,
    CampaignUsage,
    LineState,
    Mode,
    Reason,
    Rules,
    SenderHistory,
    Usage,
    decide,
)
from anti_relous.sms import InboundSms

RULES = Rules.from_config(
    parse_config('[line]\nown_number = "+33600000001"\n[alerts]\nnumbers = ["+33600000002"]')
)
QUIET = Usage(
    line=LineState(),
    block=None,
    inbound_from_sender=1,
    replies_to_sender=0,
    sent_last_hour=0,
    sent_last_day=0,
    sent_this_month=0,
    recipients_this_month=0,
    sender_is_recipient_this_month=False,
    alert_numbers_new_this_month=1,
)


def sms(sender="+33612345678"):
    return InboundSms(id=1, sender=classify(sender, "FR"), text="t'es charmante", received_at=T0)


def outcome(usage=QUIET, sender="+33612345678", rules=RULES, now=T0):
    return decide(sms(sender), usage, rules, now)


def test_a_first_message_within_every_quota_is_answered():
    decision = outcome()
    assert (decision.reply, decision.reason) == (True, Reason.REPLIED)


def test_paused_line_does_not_reply_and_says_why():
    usage = replace(QUIET, line=LineState(paused=True, pause_reason="manif"))
    decision = outcome(usage)
    assert (decision.reply, decision.reason) == (False, Reason.PAUSED)
    assert "manif" in decision.detail


def test_pause_with_an_end_in_the_past_no_longer_applies():
    usage = replace(QUIET, line=LineState(paused=True, paused_until=T0 - timedelta(seconds=1)))
    assert outcome(usage).reason is Reason.REPLIED


def test_blocked_number_gets_no_reply():
    block = Block("+33612345678", False, None, "menaces", automatic=False)
    decision = outcome(replace(QUIET, block=block))
    assert decision.reason is Reason.BLOCKED and "menaces" in decision.detail


def test_expired_block_no_longer_applies():
    block = Block("+33612345678", False, T0, "x", automatic=True)
    assert outcome(replace(QUIET, block=block)).reason is Reason.REPLIED


@pytest.mark.parametrize(
    "sender",
    [
        "0145678901",  # fixed line
        "0899123456",  # premium rate
        "36179",  # short code
        "SFR Info",  # alphanumeric
        "+447700900123",  # invalid
        "+32470123456",  # Belgian mobile, not in allowed_regions
        "+33600000001",  # the line's own number
        "",  # hidden
    ],
)
def test_senders_that_are_not_allowed_mobiles_are_filtered(sender):
    decision = outcome(sender=sender)
    assert (decision.reply, decision.reason) == (False, Reason.DESTINATION_FILTERED)


def test_other_regions_are_answered_when_allowed():
    rules = replace(RULES, allowed_regions=frozenset({"FR", "BE"}))
    assert outcome(sender="+32470123456", rules=rules).reason is Reason.REPLIED


def test_too_many_messages_from_one_number_blocks_it_for_the_block_duration():
    usage = replace(QUIET, inbound_from_sender=RULES.max_inbound_per_number + 1)
    decision = outcome(usage)
    assert decision.reason is Reason.ABUSE_BLOCK
    assert decision.block_until == T0 + RULES.block_duration


def test_exactly_the_limit_is_not_abuse():
    usage = replace(QUIET, inbound_from_sender=RULES.max_inbound_per_number)
    assert outcome(usage).reason is Reason.REPLIED


def test_with_the_attack_regime_off_flood_mode_answers_nobody():
    line = LineState(flood_since=T0 - timedelta(minutes=5), flood_last_above=T0)
    rules = replace(RULES, mode=Mode.OFF)
    decision = outcome(replace(QUIET, line=line), rules=rules)
    assert (decision.reply, decision.reason) == (False, Reason.FLOOD)


def test_when_enforcing_flood_mode_is_not_a_mute_button():
    line = LineState(flood_since=T0 - timedelta(minutes=5), attack_since=T0)
    assert outcome(replace(QUIET, line=line)).reason is Reason.REPLIED


def test_a_number_already_answered_in_its_window_is_not_answered_again():
    decision = outcome(replace(QUIET, replies_to_sender=1))
    assert decision.reason is Reason.NUMBER_QUOTA


def test_more_replies_per_number_can_be_allowed():
    rules = replace(RULES, replies_per_number=2)
    assert outcome(replace(QUIET, replies_to_sender=1), rules=rules).reason is Reason.REPLIED


#: Each global cap: the usage field it reads, the rule that bounds it, the reason it gives.
GLOBAL_CAPS = pytest.mark.parametrize(
    ("field", "cap", "reason"),
    [
        ("sent_last_hour", "replies_per_hour", Reason.HOURLY_CAP),
        ("sent_last_day", "replies_per_day", Reason.DAILY_CAP),
        ("sent_this_month", "replies_per_month", Reason.MONTHLY_CAP),
    ],
)


@GLOBAL_CAPS
def test_global_caps_stop_replies_when_reached(field, cap, reason):
    rules = replace(RULES, alert_numbers=())
    limit = getattr(rules, cap)
    assert outcome(replace(QUIET, **{field: limit - 1}), rules=rules).reason is Reason.REPLIED
    assert outcome(replace(QUIET, **{field: limit}), rules=rules).reason is reason


@GLOBAL_CAPS
def test_replies_keep_room_under_every_cap_for_the_attack_alert(field, cap, reason):
    """Bot replies before an attack is noticed must not use up the hour the alert needs."""
    almost = replace(QUIET, **{field: getattr(RULES, cap) - len(RULES.alert_numbers)})
    decision = outcome(almost)
    assert decision.reason is reason and "kept for alerts" in decision.detail


def test_new_recipients_keep_room_for_alert_numbers_not_yet_texted_this_month():
    usage = replace(QUIET, recipients_this_month=RULES.recipients_per_month - 1)
    decision = outcome(usage)
    assert decision.reason is Reason.RECIPIENTS_CAP and "kept for alerts" in decision.detail
    assert outcome(replace(usage, alert_numbers_new_this_month=0)).reason is Reason.REPLIED


def test_a_new_recipient_beyond_the_monthly_recipients_cap_is_not_answered():
    usage = replace(QUIET, recipients_this_month=RULES.recipients_per_month)
    assert outcome(usage).reason is Reason.RECIPIENTS_CAP


def test_a_known_recipient_is_not_stopped_by_the_recipients_cap():
    rules = replace(RULES, replies_per_number=2)
    usage = replace(
        QUIET,
        recipients_this_month=RULES.recipients_per_month,
        sender_is_recipient_this_month=True,
        replies_to_sender=1,
    )
    assert outcome(usage, rules=rules).reason is Reason.REPLIED


def test_rules_come_from_the_configuration():
    rules = Rules.from_config(Config())
    assert (rules.replies_per_number, rules.flood_threshold, rules.recipients_per_month) == (
        1,
        200,
        150,
    )
    assert rules.allowed_regions == frozenset({"FR"})


def test_reasons_follow_the_documented_order():
    """Everything applies at once: the first rule of DESIGN section 5 wins."""
    block = Block("+33612345678", False, None, "x", automatic=False)
    everything = replace(
        QUIET,
        line=LineState(paused=True),
        block=block,
        inbound_from_sender=999,
        replies_to_sender=9,
        sent_last_hour=999,
        sent_last_day=999,
        sent_this_month=9999,
        recipients_this_month=999,
    )
    order = []
    usage = everything
    for lift in (
        {"line": LineState()},
        {"block": None},
        {"inbound_from_sender": 1},
        {"replies_to_sender": 0},
        {"sent_last_hour": 0},
        {"sent_last_day": 0},
        {"sent_this_month": 0},
        {"recipients_this_month": 0},
    ):
        order.append(outcome(usage).reason)
        usage = replace(usage, **lift)
    order.append(outcome(usage).reason)
    assert order == [
        Reason.PAUSED,
        Reason.BLOCKED,
        Reason.ABUSE_BLOCK,
        Reason.NUMBER_QUOTA,
        Reason.HOURLY_CAP,
        Reason.DAILY_CAP,
        Reason.MONTHLY_CAP,
        Reason.RECIPIENTS_CAP,
        Reason.REPLIED,
    ]


def test_the_attack_rules_come_in_their_documented_order():
    """Under attack, for a new sender: campaign, number block, quota, hold, caps, budget."""
    everything = replace(
        UNDER_ATTACK,
        campaign=CampaignUsage(7, short=False, senders=9, senders_last_hour=9),
        sender=replace(NEW_SENDER, block_senders=9),
        replies_to_sender=1,
        sent_last_hour=RULES.replies_per_hour,
        line=replace(ATTACK, pace_tokens=0.0, pace_at=T0),
    )
    order = []
    usage = everything
    for lift in (
        {"campaign": None},
        {"sender": NEW_SENDER},
        {"replies_to_sender": 0},
        {"held_at": T0 - RULES.hold},
        {"sent_last_hour": 0},
    ):
        order.append(outcome(usage).reason)
        usage = replace(usage, **lift)
    order.append(outcome(usage).reason)
    assert order == [
        Reason.CAMPAIGN,
        Reason.NUMBER_BLOCK,
        Reason.NUMBER_QUOTA,
        Reason.HELD,
        Reason.HOURLY_CAP,
        Reason.PACED,
    ]


# --- the attack regime -------------------------------------------------------------------------

ATTACK = LineState(attack_since=T0 - timedelta(minutes=10), attack_last_above=T0)
NEW_SENDER = SenderHistory(first_at=T0, arrivals=1, first_seen_under_attack=True)
UNDER_ATTACK = replace(QUIET, line=ATTACK, sender=NEW_SENDER, arrived_under_attack=True)


def test_a_new_sender_during_an_attack_is_held_for_a_second_look():
    decision = outcome(UNDER_ATTACK)
    assert (decision.reply, decision.reason) == (False, Reason.HELD)
    assert decision.hold_until == T0 + RULES.hold


def test_a_held_new_sender_is_answered_from_the_budget_after_the_hold():
    later = T0 + RULES.hold
    decision = outcome(replace(UNDER_ATTACK, held_at=T0), now=later)
    assert (decision.reply, decision.reason) == (True, Reason.REPLIED)
    assert decision.pace_tokens == RULES.new_senders_burst - 1
    assert "held 20m" in decision.detail


def test_when_the_budget_is_spent_a_single_sms_from_a_new_sender_is_paced():
    line = replace(ATTACK, pace_tokens=0.5, pace_at=T0)
    decision = outcome(replace(UNDER_ATTACK, line=line, held_at=T0))
    assert (decision.reply, decision.reason) == (False, Reason.PACED)


def test_the_budget_refills_by_new_senders_per_day():
    line = replace(ATTACK, pace_tokens=0.0, pace_at=T0)
    refilled = T0 + timedelta(days=1) / RULES.new_senders_per_day
    decision = outcome(replace(UNDER_ATTACK, line=line, held_at=T0), now=refilled)
    assert decision.reason is Reason.REPLIED and decision.pace_tokens == pytest.approx(0.0)


def test_a_person_writing_again_has_a_budget_of_their_own():
    """Strangers writing once and people writing again do not spend each other's replies."""
    person = replace(NEW_SENDER, arrivals=2, min_gap=PROOF_GAP)
    singles_spent = replace(ATTACK, pace_tokens=0.0, pace_at=T0)
    decision = outcome(replace(UNDER_ATTACK, line=singles_spent, sender=person, held_at=T0))
    assert (decision.reply, decision.reason, decision.people) == (True, Reason.REPLIED, True)
    assert decision.pace_tokens == 2 * RULES.new_senders_burst - 1
    people_spent = replace(ATTACK, people_tokens=0.5, people_at=T0)
    decision = outcome(replace(UNDER_ATTACK, line=people_spent, sender=person, held_at=T0))
    assert decision.reason is Reason.PACED and "a person writing again" in decision.detail
    single = outcome(replace(UNDER_ATTACK, line=people_spent, held_at=T0))
    assert (single.reason, single.people) == (Reason.REPLIED, False)


def test_a_person_writing_again_waits_the_hold_too():
    """Two quick SMS are no way around the second look."""
    person = replace(NEW_SENDER, arrivals=2, min_gap=PROOF_GAP)
    assert outcome(replace(UNDER_ATTACK, sender=person)).reason is Reason.HELD


def test_sms_seconds_apart_are_a_burst_not_a_person():
    burst = replace(NEW_SENDER, arrivals=3, min_gap=BURST_GAP - timedelta(seconds=1))
    assert outcome(replace(UNDER_ATTACK, sender=burst)).reason is Reason.HELD
    decision = outcome(replace(UNDER_ATTACK, sender=burst, held_at=T0))
    assert (decision.reply, decision.reason) == (False, Reason.PACED)
    assert "a bot's rhythm" in decision.detail


def test_a_quick_second_sms_is_neither_a_burst_nor_a_proof():
    quick = replace(NEW_SENDER, arrivals=2, min_gap=BURST_GAP)
    assert outcome(replace(UNDER_ATTACK, sender=quick)).reason is Reason.HELD
    decision = outcome(replace(UNDER_ATTACK, sender=quick, held_at=T0))
    assert decision.reason is Reason.REPLIED and "a single SMS" in decision.detail


def test_a_sender_known_before_the_attack_is_answered_at_once():
    known = replace(NEW_SENDER, first_at=T0 - timedelta(days=3), first_seen_under_attack=False)
    assert outcome(replace(UNDER_ATTACK, sender=known)).reason is Reason.REPLIED


def test_a_sender_answered_before_is_answered_at_once():
    answered = replace(NEW_SENDER, answered_before=True)
    assert outcome(replace(UNDER_ATTACK, sender=answered)).reason is Reason.REPLIED


def test_an_allowlisted_sender_skips_every_attack_rule():
    allowed = replace(NEW_SENDER, allowed=True, block_senders=9)
    campaign = CampaignUsage(3, short=False, senders=50, senders_last_hour=50)
    decision = outcome(replace(UNDER_ATTACK, sender=allowed, campaign=campaign))
    assert decision.reason is Reason.REPLIED


def test_an_allowlisted_sender_still_gets_only_its_quota():
    allowed = replace(NEW_SENDER, allowed=True)
    usage = replace(UNDER_ATTACK, sender=allowed, replies_to_sender=1)
    assert outcome(usage).reason is Reason.NUMBER_QUOTA


def test_no_attack_no_hold_and_no_budget():
    usage = replace(QUIET, sender=replace(NEW_SENDER, first_seen_under_attack=False))
    decision = outcome(usage)
    assert (decision.reason, decision.pace_tokens) == (Reason.REPLIED, None)


def test_a_zero_hold_decides_at_once():
    rules = replace(RULES, hold=timedelta(0))
    assert outcome(UNDER_ATTACK, rules=rules).reason is Reason.REPLIED


# --- campaigns and number blocks ---------------------------------------------------------------


def test_under_attack_a_long_text_from_enough_senders_is_a_campaign():
    campaign = CampaignUsage(4, short=False, senders=RULES.campaign_senders, senders_last_hour=1)
    known = replace(UNDER_ATTACK, sender=SenderHistory(first_seen_under_attack=False))
    decision = outcome(replace(known, campaign=campaign))
    assert (decision.reply, decision.reason, decision.flag_campaign) == (
        False,
        Reason.CAMPAIGN,
        True,
    )
    assert "campaign #4" in decision.detail


def test_outside_an_attack_alike_texts_over_a_day_are_answered():
    """Many people write alike: without an attack, a day's coincidences are not a campaign."""
    campaign = CampaignUsage(4, short=False, senders=9, senders_last_hour=2)
    assert outcome(replace(QUIET, campaign=campaign)).reason is Reason.REPLIED
    short = CampaignUsage(5, short=True, senders=40, senders_last_hour=40)
    assert outcome(replace(QUIET, campaign=short)).reason is Reason.REPLIED


def test_outside_an_attack_new_numbers_opening_with_one_long_text_are_a_campaign():
    senders = RULES.campaign_senders
    burst = CampaignUsage(4, False, senders, senders, new_senders_last_hour=senders)
    decision = outcome(replace(QUIET, campaign=burst))
    assert (decision.reason, decision.flag_campaign) == (Reason.CAMPAIGN, True)
    assert "new numbers in the last hour" in decision.detail
    known = replace(burst, new_senders_last_hour=senders - 1)
    assert outcome(replace(QUIET, campaign=known)).reason is Reason.REPLIED


def test_one_sender_short_of_a_campaign_is_answered():
    campaign = CampaignUsage(
        4, short=False, senders=RULES.campaign_senders - 1, senders_last_hour=9
    )
    usage = replace(UNDER_ATTACK, campaign=campaign, sender=SenderHistory(answered_before=False))
    assert outcome(usage).reason is Reason.REPLIED


def test_a_short_text_is_a_campaign_only_from_many_senders_within_an_hour():
    """Many people write "Salut ça va ?" over a day; a swarm writes it within minutes."""
    known = replace(UNDER_ATTACK, sender=SenderHistory())
    spread = CampaignUsage(5, short=True, senders=40, senders_last_hour=2)
    assert outcome(replace(known, campaign=spread)).reason is Reason.REPLIED
    burst = replace(spread, senders_last_hour=RULES.short_campaign_senders)
    decision = outcome(replace(known, campaign=burst))
    assert (decision.reason, decision.flag_campaign) == (Reason.CAMPAIGN, False)


def test_a_long_campaign_found_in_an_attack_stays_one_for_its_window():
    found = CampaignUsage(6, False, 1, 1, flagged_at=T0 - RULES.campaign_window / 2)
    decision = outcome(replace(QUIET, campaign=found))
    assert (decision.reason, decision.flag_campaign) == (Reason.CAMPAIGN, False)
    stale = replace(found, flagged_at=T0 - RULES.campaign_window)
    assert outcome(replace(QUIET, campaign=stale)).reason is Reason.REPLIED


def test_under_attack_many_numbers_from_one_block_are_a_sim_farm():
    farm = SenderHistory(block_senders=RULES.block_senders)
    decision = outcome(replace(UNDER_ATTACK, sender=farm))
    assert (decision.reply, decision.reason) == (False, Reason.NUMBER_BLOCK)
    assert outcome(replace(QUIET, sender=farm)).reason is Reason.REPLIED


# --- shadow mode -------------------------------------------------------------------------------


def test_shadow_mode_acts_as_off_and_records_what_enforce_would_do():
    rules = replace(RULES, mode=Mode.SHADOW)
    flooded = replace(UNDER_ATTACK, line=replace(ATTACK, flood_since=T0))
    decision = outcome(flooded, rules=rules)
    assert (decision.reason, decision.shadow, decision.hold_until) == (
        Reason.FLOOD,
        Reason.HELD,
        None,
    )
    campaign = CampaignUsage(4, short=False, senders=9, senders_last_hour=9)
    known = replace(UNDER_ATTACK, sender=SenderHistory())
    decision = outcome(replace(known, campaign=campaign), rules=rules)
    assert (decision.reason, decision.shadow, decision.flag_campaign) == (
        Reason.REPLIED,
        Reason.CAMPAIGN,
        True,
    )


def test_shadow_mode_records_nothing_when_both_agree():
    rules = replace(RULES, mode=Mode.SHADOW)
    assert outcome(rules=rules).shadow is None
