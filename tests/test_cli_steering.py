"""Steering the line from the CLI: pause, resume, block, unblock, blocks; times typed by people."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cli_helpers import Line

from anti_relous.clock import parse_moment


@pytest.fixture
def line(tmp_path):
    return Line(tmp_path)


def decisions(line):
    with line.store() as store:
        return [r.reason for r in reversed(store.reports.messages(last=100))]


# --- pause / resume --------------------------------------------------------------------------


def test_pause_for_a_duration_sets_its_end_and_reason(line):
    before = datetime.now(UTC)
    result = line.invoke("pause", "--for", "2h", "--reason", "concert")
    assert result.exit_code == 0
    assert "inbound SMS are still recorded" in result.output
    with line.store() as store:
        state = store.line.state()
    assert state.paused and state.pause_reason == "concert"
    assert (
        before + timedelta(hours=2) <= state.paused_until <= datetime.now(UTC) + timedelta(hours=2)
    )


def test_pause_until_an_iso_time(line):
    until = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    assert line.invoke("pause", "--until", until.isoformat()).exit_code == 0
    with line.store() as store:
        assert store.line.state().paused_until == until


def test_pause_until_a_past_time_is_refused(line):
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    result = line.invoke("pause", "--until", past)
    assert result.exit_code == 2
    assert "already past" in result.stderr


def test_pause_without_end_lasts_until_resume(line):
    line.invoke("pause")
    with line.store() as store:
        state = store.line.state()
    assert state.paused and state.paused_until is None


def test_paused_line_records_the_next_message_without_replying(line):
    line.invoke("pause", "--reason", "test")
    line.receive("+33612345678")
    assert decisions(line) == ["paused"]


def test_resume_makes_the_next_message_get_a_reply(line):
    line.invoke("pause")
    line.receive("+33612345678")
    result = line.invoke("resume")
    assert result.exit_code == 0
    assert "replies again" in result.output
    line.receive("+33698765432")
    assert decisions(line) == ["paused", "replied"]


def test_resume_of_a_line_not_paused_says_so(line):
    result = line.invoke("resume")
    assert (result.exit_code, result.output.strip()) == (0, "The line was not paused.")


def test_pause_says_how_many_queued_replies_it_holds(line):
    line.receive("+33612345678")
    line.receive("+33698765432")
    result = line.invoke("pause")
    assert "2 queued replies held until `anti-relous resume`" in result.output


def test_block_says_its_queued_reply_will_not_leave(line):
    line.receive("+33612345678")
    result = line.invoke("block", "0612345678")
    assert "1 queued reply to it will not be sent" in result.output


def test_pause_without_a_daemon_says_when_it_applies(line):
    result = line.invoke("pause")
    assert "applies once `anti-relous run` starts" in result.output


def test_pause_with_a_daemon_running_says_it_applies_to_the_next_message(line):
    line.publish_daemon(pid=os.getpid())
    result = line.invoke("pause")
    assert "applies it to the next message" in result.output


# --- blocks ------------------------------------------------------------------------------------


def test_block_normalises_a_national_number(line):
    result = line.invoke("block", "06 12 34 56 78", "--reason", "insults")
    assert result.exit_code == 0
    assert "+33612345678" in result.output
    with line.store() as store:
        (row,) = store.line.blocks(datetime.now(UTC))
    assert (row.target, row.is_prefix, row.until, row.reason, row.automatic) == (
        "+33612345678",
        False,
        None,
        "insults",
        False,
    )


def test_blocked_number_gets_no_reply(line):
    line.invoke("block", "0612345678")
    line.receive("+33612345678")
    assert decisions(line) == ["blocked"]


@pytest.mark.parametrize("args", [["0899*"], ["+33 899*"], ["0899", "--prefix"]])
def test_block_a_prefix(line, args):
    assert line.invoke("block", *args).exit_code == 0
    with line.store() as store:
        (row,) = store.line.blocks(datetime.now(UTC))
    assert (row.target, row.is_prefix) == ("+33899", True)


@pytest.mark.parametrize("target", ["+33*", "0*", "+336*", "06*", "+3361*"])
def test_a_prefix_covering_the_lines_country_is_refused_and_pause_suggested(line, target):
    result = line.invoke("block", target)
    assert result.exit_code == 2
    assert "anti-relous pause" in result.stderr and "--force" in result.stderr
    assert result.stderr.count("\n") == 1
    with line.store() as store:
        assert store.line.blocks(datetime.now(UTC)) == []


def test_a_prefix_of_three_digits_after_the_country_code_is_accepted(line):
    assert line.invoke("block", "+33612*").exit_code == 0


def test_force_blocks_a_prefix_covering_the_country(line):
    result = line.invoke("block", "+336*", "--force")
    assert result.exit_code == 0, result.stderr
    with line.store() as store:
        (row,) = store.line.blocks(datetime.now(UTC))
    assert (row.target, row.is_prefix) == ("+336", True)


def test_a_prefix_of_another_country_is_not_the_lines_country(line):
    assert line.invoke("block", "+44*").exit_code == 0


def test_blocking_a_number_twice_updates_the_first_block(line):
    line.invoke("block", "0612345678", "--reason", "insults")
    result = line.invoke("block", "+33612345678", "--for", "30d", "--reason", "threats")
    assert result.exit_code == 0
    assert "updated" in result.output
    with line.store() as store:
        (row,) = store.line.blocks(datetime.now(UTC))
    assert (row.target, row.reason) == ("+33612345678", "threats")
    assert row.until - row.created_at > timedelta(days=29)


def test_a_manual_block_of_an_automatically_blocked_number_makes_it_manual(line):
    for _ in range(21):  # one more than max_inbound_per_number: blocked automatically
        line.receive("+33611111111")
    line.invoke("block", "+33611111111", "--reason", "bot")
    with line.store() as store:
        (row,) = store.line.blocks(datetime.now(UTC))
    assert (row.automatic, row.until, row.reason) == (False, None, "bot")


def test_block_for_a_duration_expires(line):
    line.invoke("block", "+33612345678", "--for", "7d")
    with line.store() as store:
        (row,) = store.line.blocks(datetime.now(UTC))
        assert row.until - row.created_at == timedelta(days=7)
        assert store.line.blocks(datetime.now(UTC) + timedelta(days=8)) == []


def test_unblock_lifts_the_block(line):
    line.invoke("block", "+33612345678")
    result = line.invoke("unblock", "0612345678")
    assert result.exit_code == 0
    with line.store() as store:
        assert store.line.blocks(datetime.now(UTC)) == []


def test_unblock_of_a_number_not_blocked_exits_1(line):
    result = line.invoke("unblock", "+33612345678")
    assert result.exit_code == 1
    assert "no block in force on +33612345678" in result.stderr


def test_blocks_lists_manual_and_automatic_with_expiry(line):
    line.invoke("block", "0899*", "--reason", "premium")
    for _ in range(21):  # one more than max_inbound_per_number: blocked automatically
        line.receive("+33611111111")
    result = line.invoke("blocks")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "target", "kind", "by", "since", "until", "reason"]
    auto = next(row for row in lines if "+33611111111" in row)
    manual = next(row for row in lines if "+33899*" in row)
    assert "auto" in auto and "no end" not in auto
    assert "manual" in manual and "no end" in manual


def test_blocks_json_is_an_array_of_blocks(line):
    line.invoke("block", "0612345678", "--for", "1d")
    rows = json.loads(line.invoke("blocks", "--json").output)
    assert [(r["target"], r["is_prefix"], r["automatic"]) for r in rows] == [
        ("+33612345678", False, False)
    ]
    assert datetime.fromisoformat(rows[0]["until"]) > datetime.now(UTC)


def test_blocks_without_any_says_so(line):
    assert line.invoke("blocks").output.strip() == "No blocks in force."


# --- times typed by operators ----------------------------------------------------------------

PARIS_WINTER = timezone(timedelta(hours=1))
PARIS_SUMMER = timezone(timedelta(hours=2))
EVENING = datetime(2026, 11, 28, 22, 30, tzinfo=PARIS_WINTER)


def paris(naive):
    """Europe/Paris without a tz database: summer time from the end of March to October."""
    summer = datetime(naive.year, 3, 29, 2) <= naive < datetime(naive.year, 10, 25, 3)
    return naive.replace(tzinfo=PARIS_SUMMER if summer else PARIS_WINTER)


def parse(text, *, ahead):
    return parse_moment(text, EVENING, ahead=ahead, localize=paris)


def test_clock_time_ahead_is_tomorrow_once_passed():
    assert parse("08:00", ahead=True) == datetime(2026, 11, 29, 8, 0, tzinfo=PARIS_WINTER)


def test_clock_time_ahead_is_today_if_still_to_come():
    assert parse("23:15", ahead=True) == datetime(2026, 11, 28, 23, 15, tzinfo=PARIS_WINTER)


def test_clock_time_behind_is_yesterday_if_still_to_come():
    assert parse("23:15", ahead=False) == datetime(2026, 11, 27, 23, 15, tzinfo=PARIS_WINTER)


def test_naive_iso_time_is_local():
    assert parse("2026-11-01T09:00", ahead=False) == datetime(
        2026, 11, 1, 9, 0, tzinfo=PARIS_WINTER
    )


def test_iso_time_with_offset_keeps_it():
    moment = parse("2026-11-01T09:00Z", ahead=True)
    assert moment == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_naive_time_takes_the_offset_of_its_own_date():
    assert parse("2026-07-14T22:00", ahead=True) == datetime(2026, 7, 14, 22, tzinfo=PARIS_SUMMER)


def test_clock_time_ahead_across_a_dst_change_keeps_the_wall_clock():
    night = datetime(2026, 10, 24, 23, 0, tzinfo=PARIS_SUMMER)  # summer time ends at 03:00
    until = parse_moment("08:00", night, ahead=True, localize=paris)
    assert until == datetime(2026, 10, 25, 8, 0, tzinfo=PARIS_WINTER)


def test_duration_behind_means_that_long_ago():
    assert parse("24h", ahead=False) == EVENING - timedelta(hours=24)


def test_duration_ahead_is_not_a_time():
    with pytest.raises(ValueError, match="not a time"):
        parse("2h", ahead=True)


# --- allowlist ---------------------------------------------------------------------------------


def test_allow_puts_a_number_typed_nationally_on_the_allowlist(line):
    result = line.invoke("allow", "06 12 34 56 78", "--reason", "membre de l'asso")
    assert result.exit_code == 0, result.output
    assert "+33612345678 allowlisted" in result.output
    with line.store() as store:
        (row,) = store.line.allowlist()
    assert (row.number, row.reason) == ("+33612345678", "membre de l'asso")


def test_allow_twice_keeps_one_entry(line):
    line.invoke("allow", "0612345678")
    result = line.invoke("allow", "+33612345678")
    assert result.exit_code == 0 and "already on the allowlist" in result.output
    with line.store() as store:
        assert len(store.line.allowlist()) == 1


def test_allow_without_a_number_lists_the_allowlist(line):
    line.invoke("allow", "0612345678", "--reason", "sœur")
    listed = line.invoke("allow")
    assert "+33612345678" in listed.output and "sœur" in listed.output
    (entry,) = json.loads(line.invoke("allow", "--json").output)
    assert entry["number"] == "+33612345678"


def test_disallow_takes_it_off_and_says_when_it_was_not_on(line):
    line.invoke("allow", "0612345678")
    assert line.invoke("disallow", "0612345678").exit_code == 0
    with line.store() as store:
        assert store.line.allowlist() == []
    again = line.invoke("disallow", "0612345678")
    assert again.exit_code == 1 and "not on the allowlist" in again.stderr


def test_allow_refuses_what_is_not_a_phone_number(line):
    result = line.invoke("allow", "PROMO")
    assert result.exit_code == 2 and "not a valid phone number" in result.stderr
