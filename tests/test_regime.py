"""The attack regime: when the line is under attack, and the budget for new senders (pure)."""

from dataclasses import replace
from datetime import timedelta

from conftest import T0

from anti_relous.config import parse_config
from anti_relous.policy import LineState, Mode, Rules
from anti_relous.policy.regime import Change, Traffic, assess, budget_level

RULES = Rules.from_config(parse_config('[alerts]\nnumbers = ["+33600000002"]'))
CALM = Traffic(inbound_total=3, first_contacts=2)
FLOOD = replace(CALM, inbound_total=RULES.flood_threshold + 1)
SWARM = replace(CALM, first_contacts=RULES.first_contacts + 1)


def test_calm_traffic_changes_nothing():
    assert assess(LineState(), CALM, RULES, T0).attack is None


def test_a_flood_starts_an_attack_which_is_what_the_line_acts_on():
    assessment = assess(LineState(), FLOOD, RULES, T0)
    assert (assessment.attack, assessment.flood, assessment.acting) == (
        Change.ENTER,
        None,
        Change.ENTER,
    )
    assert "SMS in 10m, threshold 200" in assessment.detail


def test_a_stream_of_new_senders_starts_an_attack_without_any_flood():
    assessment = assess(LineState(), SWARM, RULES, T0)
    assert assessment.attack is Change.ENTER
    assert "new senders in 3h" in assessment.detail


def test_a_burst_of_new_senders_starts_an_attack():
    burst = replace(CALM, burst_contacts=RULES.burst_contacts + 1)
    assessment = assess(LineState(), burst, RULES, T0)
    assert assessment.attack is Change.ENTER and "new senders in 10m" in assessment.detail


def test_a_campaign_just_found_starts_an_attack():
    assessment = assess(LineState(), replace(CALM, campaigns_found=1), RULES, T0)
    assert assessment.attack is Change.ENTER and "a campaign found" in assessment.detail


def test_exactly_the_thresholds_is_not_an_attack():
    at_limits = Traffic(
        inbound_total=RULES.flood_threshold,
        first_contacts=RULES.first_contacts,
        burst_contacts=RULES.burst_contacts,
    )
    assert assess(LineState(), at_limits, RULES, T0).attack is None


def test_an_attack_lasts_until_every_trigger_stayed_below_for_the_cooldown():
    line = LineState(attack_since=T0 - timedelta(hours=2), attack_last_above=T0)
    assert assess(line, FLOOD, RULES, T0).attack is Change.STILL_ABOVE
    almost = T0 + RULES.flood_cooldown - timedelta(seconds=1)
    assert assess(line, CALM, RULES, almost).attack is None
    assert assess(line, CALM, RULES, T0 + RULES.flood_cooldown).attack is Change.EXIT


def test_an_attack_of_new_senders_ends_once_their_stream_stops_not_when_the_window_empties():
    line = LineState(attack_since=T0 - timedelta(hours=2), attack_last_above=T0)
    per_cooldown = RULES.first_contacts * (RULES.flood_cooldown / RULES.first_contact_window)
    still = replace(SWARM, recent_contacts=int(per_cooldown) + 1)
    assert assess(line, still, RULES, T0).attack is Change.STILL_ABOVE
    over = replace(SWARM, recent_contacts=int(per_cooldown))
    assert assess(line, over, RULES, T0 + RULES.flood_cooldown).attack is Change.EXIT


def test_with_the_regime_off_a_flood_mutes_and_new_senders_do_not_count():
    rules = replace(RULES, mode=Mode.OFF)
    assessment = assess(LineState(), FLOOD, rules, T0)
    assert (assessment.flood, assessment.attack, assessment.acting) == (
        Change.ENTER,
        None,
        Change.ENTER,
    )
    assert assess(LineState(), SWARM, rules, T0).flood is None


def test_in_shadow_mode_both_are_tracked_and_the_line_acts_on_flood_mode():
    rules = replace(RULES, mode=Mode.SHADOW)
    swarm = assess(LineState(), SWARM, rules, T0)
    assert (swarm.flood, swarm.attack, swarm.acting) == (None, Change.ENTER, None)
    flood = assess(LineState(), FLOOD, rules, T0)
    assert (flood.flood, flood.attack, flood.acting) == (Change.ENTER, Change.ENTER, Change.ENTER)


def test_the_budget_is_full_until_first_used_and_refills_up_to_its_burst():
    assert budget_level(LineState(), RULES, T0) == RULES.new_senders_burst
    spent = LineState(pace_tokens=0.0, pace_at=T0)
    assert budget_level(spent, RULES, T0 + timedelta(hours=12)) == RULES.new_senders_per_day / 2
    assert budget_level(spent, RULES, T0 + timedelta(days=365)) == RULES.new_senders_burst
