"""Alerts: one GSM-7 part each, their rate limits, quiet hours, and one alert per outage edge."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anti_relous import alerts
from anti_relous.alerts import AlertKind, AlertRules, Observation, QuietHours, Watch, when_to_send
from anti_relous.coding import fits_gsm7, text_info

PARIS = timezone(timedelta(hours=1))
#: 14:00 in Paris.
T0 = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
RULES = AlertRules(numbers=("+33600000002",), tz=PARIS)
BIG = 9_999_999
LONG_AGO = T0 - timedelta(days=400)

#: Every alert the line composes, with the largest figures it could hold.
ALL_ALERTS = {
    "attack_started": alerts.attack_started(T0, BIG, timedelta(minutes=10), BIG, PARIS),
    "attack_ended": alerts.attack_ended(LONG_AGO, T0, BIG, BIG, PARIS),
    "modem_lost": alerts.modem_lost(LONG_AGO, T0, PARIS),
    "modem_back": alerts.modem_back(LONG_AGO, T0, PARIS),
    "sim_full": alerts.sim_full(BIG, BIG, LONG_AGO, T0),
    "database_error": alerts.database_error(LONG_AGO, T0, PARIS),
    "database_back": alerts.database_back(LONG_AGO, T0, PARIS),
    **{
        f"cap_reached:{reason}": alerts.cap_reached(reason, BIG, BIG) for reason in alerts.CAP_NAMES
    },
    "admin_locked": alerts.admin_locked(BIG, T0, PARIS),
    "digest": alerts.digest(alerts.Digest(BIG, BIG, BIG, BIG, True, True, False, BIG)),
}


@pytest.mark.parametrize("name", ALL_ALERTS)
def test_every_alert_is_one_gsm7_part_even_with_the_largest_figures(name):
    text = ALL_ALERTS[name].text
    assert fits_gsm7(text) and text_info(text).parts == 1
    assert not text.endswith("...") and "?" not in text, f"cut or mangled: {text}"


def test_alert_text_says_since_when_in_local_time_and_for_how_long():
    text = alerts.modem_lost(T0 - timedelta(minutes=12), T0, PARIS).text
    assert "depuis 13:48 (12 min)" in text


def test_an_alert_nobody_is_to_receive_is_not_sent():
    alert = alerts.modem_lost(T0, T0, PARIS)
    assert when_to_send(alert, None, T0, AlertRules(tz=PARIS)) is None


def test_a_cap_alert_waits_min_interval_before_repeating():
    alert = alerts.cap_reached("hourly_cap", 60, 60)
    assert when_to_send(alert, T0 - timedelta(minutes=59), T0, RULES) is None
    assert when_to_send(alert, T0 - timedelta(minutes=60), T0, RULES) == T0


def test_each_cap_has_its_own_rate_limit_key():
    keys = {alerts.cap_reached(reason, 1, 1).key for reason in alerts.CAP_NAMES}
    assert len(keys) == len(alerts.CAP_NAMES)


def test_outage_alerts_have_no_interval_of_their_own():
    # The watch raises them once per outage; a second outage soon after is news.
    alert = alerts.modem_lost(T0, T0, PARIS)
    assert when_to_send(alert, T0 - timedelta(minutes=1), T0, RULES) == T0


def test_the_digest_goes_out_once_a_day_even_across_restarts():
    alert = alerts.digest(alerts.Digest(1, 1, 1, 0, False, False, True, 0))
    assert when_to_send(alert, T0 - timedelta(hours=19), T0, RULES) is None
    assert when_to_send(alert, T0 - timedelta(hours=24), T0, RULES) == T0


QUIET = QuietHours(time(23, 0), time(7, 0))
NIGHT = datetime(2026, 11, 28, 23, 30, tzinfo=PARIS)


def test_quiet_hours_across_midnight_end_the_next_morning():
    assert QUIET.end_after(NIGHT, PARIS) == datetime(2026, 11, 29, 7, 0, tzinfo=PARIS)
    early = datetime(2026, 11, 29, 6, 59, tzinfo=PARIS)
    assert QUIET.end_after(early, PARIS) == datetime(2026, 11, 29, 7, 0, tzinfo=PARIS)


def test_outside_quiet_hours_nothing_waits():
    assert QUIET.end_after(datetime(2026, 11, 29, 7, 0, tzinfo=PARIS), PARIS) is None
    assert QUIET.end_after(datetime(2026, 11, 28, 22, 59, tzinfo=PARIS), PARIS) is None


def test_daytime_quiet_hours():
    lunch = QuietHours(time(12, 0), time(14, 0))
    noon = datetime(2026, 11, 28, 12, 30, tzinfo=PARIS)
    assert lunch.end_after(noon, PARIS) == datetime(2026, 11, 28, 14, 0, tzinfo=PARIS)
    assert lunch.end_after(noon + timedelta(hours=2), PARIS) is None


def test_quiet_hours_hold_what_can_wait_and_let_urgent_alerts_through():
    rules = AlertRules(numbers=("+33600000002",), quiet=QUIET, tz=PARIS)
    back = alerts.modem_back(NIGHT - timedelta(hours=1), NIGHT, PARIS)
    lost = alerts.modem_lost(NIGHT - timedelta(hours=1), NIGHT, PARIS)
    assert when_to_send(back, None, NIGHT, rules) == datetime(2026, 11, 29, 7, 0, tzinfo=PARIS)
    assert when_to_send(lost, None, NIGHT, rules) == NIGHT


def test_quiet_hours_parse_from_the_config_form():
    assert QuietHours.parse("23:00-07:00") == QUIET
    assert QuietHours.parse("") is None


def test_urgent_kinds_are_the_ones_that_need_a_person_now():
    urgent = {kind for kind in AlertKind if kind.urgent}
    assert urgent == {
        AlertKind.ATTACK_START,
        AlertKind.MODEM_LOST,
        AlertKind.DATABASE_ERROR,
        AlertKind.ADMIN_LOCKED,
    }


# --- the watch ----------------------------------------------------------------------------------

UP = Observation(modem_up=True, database_ok=True, sim_used=3, sim_total=50)
DOWN = Observation(modem_up=False, database_ok=True)


def kinds(found):
    return [alert.kind for alert in found]


def test_modem_lost_once_after_the_delay_then_back_once():
    watch, rules = Watch(), AlertRules(numbers=("+1",), modem_lost_after=timedelta(minutes=10))
    seen = []
    for minute in range(15):
        seen += kinds(watch.observe(DOWN, T0 + timedelta(minutes=minute), rules))
    assert seen == [AlertKind.MODEM_LOST]
    assert kinds(watch.observe(UP, T0 + timedelta(minutes=15), rules)) == [AlertKind.MODEM_BACK]
    assert kinds(watch.observe(UP, T0 + timedelta(minutes=16), rules)) == []


def test_a_short_outage_raises_nothing_at_all():
    watch, rules = Watch(), AlertRules(numbers=("+1",), modem_lost_after=timedelta(minutes=10))
    assert watch.observe(DOWN, T0, rules) == []
    assert watch.observe(DOWN, T0 + timedelta(minutes=9), rules) == []
    assert watch.observe(UP, T0 + timedelta(minutes=10), rules) == []


def test_the_back_alert_says_how_long_the_modem_was_away():
    watch, rules = Watch(), AlertRules(numbers=("+1",), modem_lost_after=timedelta(minutes=10))
    watch.observe(DOWN, T0, rules)
    watch.observe(DOWN, T0 + timedelta(minutes=10), rules)
    (back,) = watch.observe(UP, T0 + timedelta(minutes=25), rules)
    assert "25 min" in back.text


def test_a_sim_stuck_full_raises_one_alert_per_episode():
    watch, rules = Watch(), AlertRules(numbers=("+1",), sim_full_after=timedelta(minutes=10))
    full = Observation(modem_up=True, database_ok=True, sim_used=50, sim_total=50)
    assert watch.observe(full, T0, rules) == []
    assert kinds(watch.observe(full, T0 + timedelta(minutes=10), rules)) == [AlertKind.SIM_FULL]
    assert watch.observe(full, T0 + timedelta(minutes=30), rules) == []
    assert watch.observe(UP, T0 + timedelta(minutes=31), rules) == []
    assert watch.observe(full, T0 + timedelta(minutes=32), rules) == []


def test_a_sim_that_fills_and_drains_between_checks_is_not_stuck():
    watch, rules = Watch(), AlertRules(numbers=("+1",), sim_full_after=timedelta(minutes=10))
    full = Observation(modem_up=True, database_ok=True, sim_used=50, sim_total=50)
    for minute in range(0, 30, 2):
        assert watch.observe(full, T0 + timedelta(minutes=minute), rules) == []
        assert watch.observe(UP, T0 + timedelta(minutes=minute + 1), rules) == []


def test_a_database_outage_raises_error_then_back():
    watch, rules = Watch(), AlertRules(numbers=("+1",), database_after=timedelta(minutes=2))
    failing = Observation(modem_up=True, database_ok=False)
    assert watch.observe(failing, T0, rules) == []
    found = kinds(watch.observe(failing, T0 + timedelta(minutes=2), rules))
    assert found == [AlertKind.DATABASE_ERROR]
    found = kinds(watch.observe(UP, T0 + timedelta(minutes=5), rules))
    assert found == [AlertKind.DATABASE_BACK]


@given(st.lists(st.booleans(), max_size=60))
def test_modem_alerts_alternate_lost_then_back_whatever_the_sequence(ups):
    watch, rules = Watch(), AlertRules(numbers=("+1",), modem_lost_after=timedelta(minutes=3))
    seen = []
    for minute, up in enumerate(ups):
        seen += kinds(watch.observe(UP if up else DOWN, T0 + timedelta(minutes=minute), rules))
    expected = [AlertKind.MODEM_LOST, AlertKind.MODEM_BACK] * len(seen)
    assert seen == expected[: len(seen)]


def test_the_digest_is_due_once_within_an_hour_after_its_time():
    watch = Watch()
    rules = AlertRules(numbers=("+1",), digest=time(8, 0), tz=PARIS)
    morning = datetime(2026, 11, 28, 8, 0, tzinfo=PARIS)
    assert not watch.digest_due(morning - timedelta(minutes=1), rules)
    assert watch.digest_due(morning + timedelta(minutes=1), rules)
    assert not watch.digest_due(morning + timedelta(minutes=2), rules)
    assert not watch.digest_due(morning + timedelta(hours=2), rules)
    assert watch.digest_due(morning + timedelta(days=1, minutes=5), rules)


def test_no_digest_unless_an_hour_is_set():
    assert not Watch().digest_due(T0, AlertRules(numbers=("+1",)))
