"""The pure policy: every rule, in order, each with its reason code."""

from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import T0

from anti_relous.config import Config, parse_config
from anti_relous.numbers import classify
from anti_relous.policy import (
    Block,
    FloodChange,
    LineState,
    Reason,
    Rules,
    Usage,
    decide,
    flood_should_end,
)
from anti_relous.sms import InboundSms

RULES = Rules.from_config(
    parse_config('[line]\nown_number = "+33600000001"\n[alerts]\nnumbers = ["+33600000002"]')
)
QUIET = Usage(
    line=LineState(),
    block=None,
    inbound_from_sender=1,
    inbound_total=1,
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


def test_crossing_the_flood_threshold_enters_flood_mode_and_alerts_once():
    usage = replace(QUIET, inbound_total=RULES.flood_threshold + 1)
    decision = outcome(usage)
    assert (decision.reason, decision.flood, decision.alert) == (
        Reason.FLOOD,
        FloodChange.ENTER,
        True,
    )


def test_alert_is_not_repeated_within_its_minimum_interval():
    line = LineState(last_alert_at=T0 - RULES.alert_min_interval + timedelta(seconds=1))
    usage = replace(QUIET, line=line, inbound_total=RULES.flood_threshold + 1)
    decision = outcome(usage)
    assert decision.flood is FloodChange.ENTER and not decision.alert


def test_alert_is_not_sent_when_it_would_break_a_cap():
    usage = replace(
        QUIET, inbound_total=RULES.flood_threshold + 1, sent_last_hour=RULES.replies_per_hour
    )
    assert not outcome(usage).alert


def test_no_alert_without_alert_numbers():
    rules = replace(RULES, alert_numbers=())
    usage = replace(QUIET, inbound_total=RULES.flood_threshold + 1)
    assert not outcome(usage, rules=rules).alert


def test_in_flood_mode_nobody_is_answered_while_the_rate_stays_high():
    line = LineState(flood_since=T0 - timedelta(minutes=5), flood_last_above=T0)
    decision = outcome(replace(QUIET, line=line, inbound_total=RULES.flood_threshold + 1))
    assert (decision.reason, decision.flood) == (Reason.FLOOD, FloodChange.STILL_ABOVE)


def test_flood_mode_lasts_the_cooldown_after_the_rate_drops():
    line = LineState(
        flood_since=T0 - timedelta(hours=1), flood_last_above=T0 - timedelta(minutes=29)
    )
    decision = outcome(replace(QUIET, line=line))
    assert (decision.reason, decision.flood) == (Reason.FLOOD, None)


def test_flood_mode_ends_after_the_cooldown_and_the_message_is_answered():
    line = LineState(
        flood_since=T0 - timedelta(hours=1), flood_last_above=T0 - RULES.flood_cooldown
    )
    decision = outcome(replace(QUIET, line=line))
    assert (decision.reason, decision.flood) == (Reason.REPLIED, FloodChange.EXIT)


def test_flood_should_end_only_when_quiet_for_the_cooldown():
    line = LineState(flood_since=T0 - timedelta(hours=1), flood_last_above=T0)
    assert not flood_should_end(line, 0, RULES, T0 + RULES.flood_cooldown - timedelta(seconds=1))
    assert flood_should_end(line, 0, RULES, T0 + RULES.flood_cooldown)
    assert not flood_should_end(line, RULES.flood_threshold + 1, RULES, T0 + timedelta(days=1))
    assert not flood_should_end(LineState(), 0, RULES, T0)


def test_flood_is_recorded_even_when_an_earlier_rule_gives_the_reason():
    usage = replace(QUIET, line=LineState(paused=True), inbound_total=RULES.flood_threshold + 1)
    decision = outcome(usage)
    assert (decision.reason, decision.flood) == (Reason.PAUSED, FloodChange.ENTER)


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
def test_replies_keep_room_under_every_cap_for_the_flood_alert(field, cap, reason):
    """Bot replies before a flood trips must not use up the hour the alert needs."""
    almost = replace(QUIET, **{field: getattr(RULES, cap) - len(RULES.alert_numbers)})
    decision = outcome(almost)
    assert decision.reason is reason and "kept for alerts" in decision.detail
    flood = outcome(replace(almost, inbound_total=RULES.flood_threshold + 1))
    assert (flood.flood, flood.alert) == (FloodChange.ENTER, True)


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
        inbound_total=999,
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
        {"inbound_total": 1},
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
        Reason.FLOOD,
        Reason.NUMBER_QUOTA,
        Reason.HOURLY_CAP,
        Reason.DAILY_CAP,
        Reason.MONTHLY_CAP,
        Reason.RECIPIENTS_CAP,
        Reason.REPLIED,
    ]
