"""The admin SMS channel: parsing, codes, and commands obeyed inside the decision transaction.

These drive ``decide_pending`` (the daemon's decision loop) on a real SQLite file with a clock
the tests move; tests/test_phone.py does the same end to end through the daemon and simulator.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import T0
from store_helpers import part

from anti_relous.coding import fits_gsm7, text_info
from anti_relous.config import parse_config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.policy import Reason, Rules
from anti_relous.remote import AdminSettings, answers, handle_admin_sms
from anti_relous.remote.codes import (
    code_at,
    hash_pin,
    matching_step,
    new_secret,
    pin_matches,
    provisioning_uri,
)
from anti_relous.remote.commands import Command, Verb, parse

REGION = "FR"
ADMIN = "+33600000001"
ALERTED = "+33600000002"
TEXTER = "+33612345678"
TEXTS = Texts(reply="Ceci est un numéro anti-relous.", reply_parts=1)
CONFIG = parse_config(
    f'[admin]\nnumbers = ["{ADMIN}"]\n[alerts]\nnumbers = ["{ALERTED}"]\n'
    "[quota]\nreplies_per_hour = 5\n"
)
SETTINGS = AdminSettings.from_config(CONFIG)
RULES = Rules.from_config(CONFIG)


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PAUSE 123456", Command(Verb.PAUSE, "123456")),
        ("pause 2h 123456", Command(Verb.PAUSE, "123456", duration=timedelta(hours=2))),
        ("  Pause   1h30m   123456. ", Command(Verb.PAUSE, "123456", timedelta(minutes=90))),
        ("RESUME 654321", Command(Verb.RESUME, "654321")),
        ("status 000000", Command(Verb.STATUS, "000000")),
        ("BLOCK 0612345678 123456", Command(Verb.BLOCK, "123456", target="0612345678")),
        (
            "BLOCK +33612345678 7d 123456",
            Command(Verb.BLOCK, "123456", timedelta(days=7), "+33612345678"),
        ),
        ("ALLOW 0612345678 123456", Command(Verb.ALLOW, "123456", target="0612345678")),
        ("HELP", Command(Verb.HELP, None)),
        ("help 123456", Command(Verb.HELP, "123456")),
    ],
)
def test_commands_as_typed_on_a_phone(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["salut", "", "PAUSE", "PAUSE 2h", "pause tout de suite", "RESUMER 123456", "STATUS 12"],
)
def test_texts_without_a_verb_and_a_code_are_ordinary_sms(text):
    assert parse(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("PAUSE 2x 123456", "durée '2x' incomprise"),
        ("PAUSE 2h 3h 123456", "écrivez PAUSE [2h] CODE"),
        ("RESUME now 123456", "écrivez RESUME CODE"),
        ("BLOCK 123456", "écrivez BLOCK NUMERO [7d] CODE"),
        ("PAUSE 0s 123456", "la durée doit dépasser zéro"),
    ],
)
def test_a_command_with_a_code_but_wrong_arguments_parses_with_its_problem(text, problem):
    command = parse(text)
    assert command is not None and command.problem is not None
    assert problem in command.problem


# --- codes --------------------------------------------------------------------------------------

SECRET = new_secret()


def test_the_current_code_matches_its_step():
    step = matching_step(SECRET, code_at(SECRET, T0), T0, timedelta(minutes=5), None)
    assert step == int(T0.timestamp()) // 30


def test_a_code_works_once():
    code = code_at(SECRET, T0)
    step = matching_step(SECRET, code, T0, timedelta(minutes=5), None)
    assert matching_step(SECRET, code, T0, timedelta(minutes=5), step) is None


def test_an_older_code_fails_after_a_newer_one_was_used():
    newer = matching_step(SECRET, code_at(SECRET, T0), T0, timedelta(minutes=5), None)
    older = code_at(SECRET, T0 - timedelta(minutes=1))
    assert matching_step(SECRET, older, T0, timedelta(minutes=5), newer) is None


def test_a_code_delayed_in_the_network_within_the_window_is_accepted():
    code = code_at(SECRET, T0 - timedelta(minutes=4))
    assert matching_step(SECRET, code, T0, timedelta(minutes=5), None) is not None


def test_a_code_older_than_the_window_is_refused():
    code = code_at(SECRET, T0 - timedelta(minutes=6))
    assert matching_step(SECRET, code, T0, timedelta(minutes=5), None) is None


def test_a_phone_clock_one_step_ahead_is_tolerated_but_not_two():
    ahead = code_at(SECRET, T0 + timedelta(seconds=30))
    assert matching_step(SECRET, ahead, T0, timedelta(minutes=5), None) is not None
    too_far = code_at(SECRET, T0 + timedelta(seconds=90))
    assert matching_step(SECRET, too_far, T0, timedelta(minutes=5), None) is None


def test_the_provisioning_uri_is_what_authenticator_apps_scan():
    uri = provisioning_uri(SECRET, ADMIN)
    assert uri.startswith("otpauth://totp/anti-relous:%2B33600000001?secret=")
    assert f"secret={SECRET}" in uri and "issuer=anti-relous" in uri


def test_a_pin_is_stored_hashed_and_checked():
    stored = hash_pin("482913")
    assert "482913" not in stored
    assert pin_matches(stored, "482913") and not pin_matches(stored, "482914")


# --- commands through the decision loop ---------------------------------------------------------


@pytest.fixture
def secret(store):
    secret = new_secret()
    store.remote.enroll(T0, ADMIN, "totp", secret)
    return secret


def text_line(store, clock, sender, text):
    """A message arrives now; returns it undecided."""
    store.inbound.ingest([part(sender=sender, text=text)], clock(), REGION)


def decide(store, clock):
    return decide_pending(store, RULES, TEXTS, clock(), admin=SETTINGS)


def outbox(store, kind):
    return [(i.recipient, i.text) for i in reversed(store.outbox.items()) if i.kind == kind]


def test_an_admin_pauses_by_sms_and_gets_one_confirmation(store, clock, secret):
    text_line(store, clock, ADMIN, f"PAUSE 2h {code_at(secret, clock())}")
    ((_, decision),) = decide(store, clock)
    assert (decision.reason, decision.reply) == (Reason.ADMIN, False)
    assert "admin PAUSE by SMS from +336••••••01: line paused for 2h" in decision.detail
    line = store.line.state()
    assert line.is_paused(clock()) and line.paused_until == clock() + timedelta(hours=2)
    assert line.pause_reason == "by SMS from +336••••••01"
    ((recipient, confirmation),) = outbox(store, "admin")
    assert recipient == ADMIN and confirmation.startswith("Ligne en pause jusqu'à ")
    assert outbox(store, "reply") == []


def test_messages_after_a_pause_in_the_same_batch_are_not_answered(store, clock, secret):
    text_line(store, clock, ADMIN, f"PAUSE {code_at(secret, clock())}")
    text_line(store, clock, TEXTER, "salut")
    decided = decide(store, clock)
    assert [d.reason for _, d in decided] == [Reason.ADMIN, Reason.PAUSED]


def test_resume_by_sms(store, clock, secret):
    store.line.pause(clock(), None, "by the CLI")
    clock.advance(seconds=30)
    text_line(store, clock, ADMIN, f"resume {code_at(secret, clock())}")
    decide(store, clock)
    assert not store.line.state().is_paused(clock())
    assert outbox(store, "admin") == [(ADMIN, answers.resumed(True))]


def test_block_by_sms_normalises_the_number_in_the_lines_region(store, clock, secret):
    text_line(store, clock, ADMIN, f"BLOCK 0612345678 7d {code_at(secret, clock())}")
    decide(store, clock)
    (block,) = store.line.blocks(clock())
    assert (block.target, block.until) == (TEXTER, clock() + timedelta(days=7))
    assert block.reason == "by SMS from +336••••••01"


def test_block_of_something_that_is_not_a_number_answers_how_to_write_one(store, clock, secret):
    text_line(store, clock, ADMIN, f"BLOCK 06123 {code_at(secret, clock())}")
    ((_, decision),) = decide(store, clock)
    assert store.line.blocks(clock()) == []
    assert "not a phone number" in decision.detail
    ((_, answer),) = outbox(store, "admin")
    assert "+33612345678" in answer


def test_status_answers_in_one_part(store, clock, secret):
    text_line(store, clock, ADMIN, f"STATUS {code_at(secret, clock())}")
    decide(store, clock)
    ((_, answer),) = outbox(store, "admin")
    assert answer.startswith("Ligne active, attaque non, modem ?")
    assert text_info(answer).parts == 1 and fits_gsm7(answer)


def test_help_needs_no_code_and_lists_every_command(store, clock, secret):
    text_line(store, clock, ADMIN, "HELP")
    decide(store, clock)
    ((_, answer),) = outbox(store, "admin")
    assert all(verb.value in answer for verb in Verb if verb is not Verb.HELP)
    assert text_info(answer).parts == 1


def test_allow_puts_the_number_on_the_allowlist_and_says_so(store, clock, secret):
    text_line(store, clock, ADMIN, f"ALLOW 0612345678 {code_at(secret, clock())}")
    decide(store, clock)
    assert outbox(store, "admin") == [(ADMIN, answers.allowed("+33612345678", already=False))]
    assert [row.number for row in store.line.allowlist()] == ["+33612345678"]


def test_a_malformed_command_with_a_valid_code_says_what_to_fix(store, clock, secret):
    text_line(store, clock, ADMIN, f"PAUSE 2x {code_at(secret, clock())}")
    decide(store, clock)
    assert not store.line.state().paused
    ((_, answer),) = outbox(store, "admin")
    assert answer.startswith("PAUSE non fait : durée '2x' incomprise")


def test_a_replayed_code_changes_nothing_and_is_answered_like_any_texter(store, clock, secret):
    command = f"PAUSE {code_at(secret, clock())}"
    text_line(store, clock, ADMIN, command)
    decide(store, clock)
    store.line.resume(clock())
    clock.advance(seconds=10)
    text_line(store, clock, ADMIN, command)
    ((_, decision),) = decide(store, clock)
    assert decision.reason is not Reason.ADMIN
    assert not store.line.state().paused
    assert len(outbox(store, "admin")) == 1
    assert failures(store) == 1


def test_a_wrong_code_changes_nothing_and_is_counted(store, clock, secret):
    wrong = "000000" if code_at(secret, clock()) != "000000" else "111111"
    text_line(store, clock, ADMIN, f"PAUSE {wrong}")
    ((_, decision),) = decide(store, clock)
    assert decision.reason is Reason.REPLIED  # exactly like any texter: the public reply
    assert not store.line.state().paused and outbox(store, "admin") == []
    assert failures(store) == 1


def test_a_stranger_with_the_admins_valid_code_is_just_a_texter(store, clock, secret):
    text_line(store, clock, TEXTER, f"PAUSE {code_at(secret, clock())}")
    ((_, decision),) = decide(store, clock)
    assert decision.reason is Reason.REPLIED
    assert not store.line.state().paused and failures(store) == 0


def test_an_admin_number_that_never_enrolled_is_just_a_texter(store, clock):
    text_line(store, clock, ADMIN, "PAUSE 123456")
    ((_, decision),) = decide(store, clock)
    assert decision.reason is Reason.REPLIED and failures(store) == 0


def test_an_admin_typo_that_is_not_a_command_is_not_a_failure(store, clock, secret):
    text_line(store, clock, ADMIN, "pause stp")
    decide(store, clock)
    assert failures(store) == 0


def failures(store):
    return store.db.conn.execute("SELECT count(*) FROM admin_failures").fetchone()[0]


def test_five_wrong_codes_lock_the_channel_and_alert_the_operators(store, clock, secret):
    for n in range(5):
        clock.advance(seconds=1)
        text_line(store, clock, ADMIN, f"STATUS {n:06d}")
        decide(store, clock)
    locked_until = store.remote.locked_until(clock())
    assert locked_until == clock() + timedelta(hours=1)
    ((recipient, alert),) = outbox(store, "alert")
    assert recipient == ALERTED and "5 codes faux" in alert
    clock.advance(minutes=1)
    text_line(store, clock, ADMIN, f"PAUSE {code_at(secret, clock())}")
    ((_, decision),) = decide(store, clock)
    assert decision.reason is not Reason.ADMIN and not store.line.state().paused


def test_after_the_lock_the_channel_works_again_with_a_fresh_count(store, clock, secret):
    for n in range(5):
        text_line(store, clock, ADMIN, f"STATUS {n:06d}")
    decide(store, clock)
    clock.advance(hours=1, seconds=1)
    text_line(store, clock, ADMIN, "STATUS 999999")
    decide(store, clock)
    assert store.remote.locked_until(clock()) is None
    text_line(store, clock, ADMIN, f"PAUSE {code_at(secret, clock())}")
    decide(store, clock)
    assert store.line.state().paused


def test_wrong_codes_spread_over_more_than_the_window_do_not_lock(store, clock, secret):
    for n in range(8):
        clock.advance(minutes=20)
        text_line(store, clock, ADMIN, f"STATUS {n:06d}")
        decide(store, clock)
    assert store.remote.locked_until(clock()) is None


def test_confirmations_leave_despite_the_caps_within_their_reserved_share(store, clock, secret):
    for n in range(5):  # replies use up replies_per_hour = 5
        text_line(store, clock, f"+3361234{n:04d}", "salut")
    decide(store, clock)
    assert len(outbox(store, "reply")) < 5
    for _ in range(SETTINGS.reserve_per_hour + 1):
        clock.advance(seconds=30)
        text_line(store, clock, ADMIN, f"STATUS {code_at(secret, clock())}")
        decide(store, clock)
    assert len(outbox(store, "admin")) == SETTINGS.reserve_per_hour
    last = store.reports.messages(last=1)[0]
    assert last.reason == "admin" and "reserve" in last.detail and "is used up" in last.detail


def test_an_obeyed_command_needs_no_second_decision(store, clock, secret):
    message_sms = part(sender=ADMIN, text=f"PAUSE {code_at(secret, clock())}")
    store.inbound.ingest([message_sms], clock(), REGION)
    (message,) = store.inbound.undecided()
    first = handle_admin_sms(store, message, SETTINGS, clock())
    assert first is not None and first.confirmation_id is not None
    assert handle_admin_sms(store, message, SETTINGS, clock()) is None, "the code is spent"


def test_a_pin_enrolled_admin_pauses_with_the_pin(store, clock):
    store.remote.enroll(T0, ADMIN, "pin", hash_pin("48291357"))
    text_line(store, clock, ADMIN, "PAUSE 30m 48291357")
    decide(store, clock)
    assert store.line.state().paused


# --- answers ------------------------------------------------------------------------------------


def test_every_answer_is_one_gsm7_part_at_its_longest():
    far = T0 + timedelta(days=400)
    snapshot = answers.LineSnapshot(
        paused_until=far,
        paused=True,
        flood=True,
        modem_ok=True,
        signal_dbm=-113,
        sim_used=255,
        sim_total=255,
        inbound_last_hour=9_999_999,
        sent_last_hour=9_999_999,
        hourly_cap=9_999_999,
        sent_last_day=9_999_999,
        daily_cap=9_999_999,
        queued=9_999_999,
    )
    texts = [
        answers.paused(far, timedelta(days=400), T0),
        answers.paused(None, None, T0),
        answers.resumed(True),
        answers.resumed(False),
        answers.blocked("+33612345678", far, T0),
        answers.blocked("+33612345678", None, T0),
        answers.bad_number("x" * 50),
        answers.malformed(Verb.BLOCK, "écrivez BLOCK NUMERO [7d] CODE"),
        answers.help_text(),
        answers.not_available(Verb.ALLOW),
        answers.allowed("+33612345678", already=False),
        answers.allowed("+33612345678", already=True),
        answers.status(snapshot, T0),
    ]
    for text in texts:
        assert fits_gsm7(text) and text_info(text).parts == 1, text
        assert not text.endswith("...") and "?" not in text.replace("'?'", ""), text
