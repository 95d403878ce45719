"""The complaint pack's model: campaigns, attack periods, timeline, senders, 33700 numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cli_helpers import Line
from report_helpers import START, Sms, play

from anti_relous.report.campaigns import campaigns_of
from anti_relous.report.flags import load_flag_list
from anti_relous.report.model import Entry, attack_numbers, build, rank_senders
from anti_relous.report.timeline import attack_periods, step_for, timeline
from anti_relous.store import SenderMatch
from anti_relous.store.line import Event
from anti_relous.store.reports import MessageRow

T0 = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)
RAID = "Rejoins le raid sur ce numéro, on va la faire craquer"


def message(i: int, sender: str | None, text: str | None, reason: str = "flood") -> MessageRow:
    return MessageRow(
        id=i,
        received_at=T0 + timedelta(seconds=i),
        kind="sms" if text is not None else "undecodable",
        sender=sender,
        sender_raw=sender,
        parts=1,
        text=text,
        reason=reason,
        detail="",
        reply_state=None,
        chain_hash=f"{i:064x}",
    )


def messages(*pairs: tuple[str, str]) -> list[MessageRow]:
    return [message(i, sender, text) for i, (sender, text) in enumerate(pairs, start=1)]


# --- campaigns ---------------------------------------------------------------------------------


def test_near_identical_texts_from_several_numbers_are_one_campaign():
    found = campaigns_of(
        messages(
            ("+33600000001", RAID + " 123"),
            ("+33600000002", "Salut, c'est Karim"),
            ("+33600000003", RAID.upper() + " !!!"),
            ("+33600000004", RAID.replace("é", "e") + " 99"),
        )
    )
    assert len(found) == 1
    (campaign,) = found
    assert campaign.message_ids == (1, 3, 4)
    assert campaign.senders == ("+33600000001", "+33600000003", "+33600000004")
    assert (campaign.first, campaign.last) == (T0 + timedelta(seconds=1), T0 + timedelta(seconds=4))
    assert campaign.representative == RAID + " 123"
    assert not campaign.short


def test_one_number_repeating_itself_is_not_a_campaign():
    assert campaigns_of(messages(*[("+33600000001", RAID)] * 10)) == []


def test_two_numbers_sending_the_same_text_are_not_yet_a_campaign():
    assert campaigns_of(messages(("+33600000001", RAID), ("+33600000002", RAID))) == []


def test_identical_short_texts_are_a_short_campaign():
    (campaign,) = campaigns_of(messages(*[(f"+3360000000{i}", "Salut ça va ?") for i in range(3)]))
    assert campaign.short


def test_the_campaign_the_line_recorded_with_each_message_is_the_reports():
    """The line matched them as they arrived (against representatives the period may not hold);
    the report takes its word for it rather than clustering again."""
    recorded = [
        replace(message(i, f"+3360000000{i}", text), campaign_id=7)
        for i, text in enumerate(("Première version du texte", "Autre chose", "Encore"), start=1)
    ]
    (campaign,) = campaigns_of([*recorded, message(9, "+33600000009", "Salut")])
    assert campaign.message_ids == (1, 2, 3)
    assert campaign.representative == "Première version du texte"


def test_messages_without_text_join_no_campaign():
    pack = [*messages(*[(f"+3360000000{i}", RAID) for i in range(3)]), message(99, None, None)]
    (campaign,) = campaigns_of(pack)
    assert campaign.message_ids == (1, 2, 3)


# --- the numbers for 33700 ---------------------------------------------------------------------


def entries(pack, campaign_of=None):
    return [Entry(m, (campaign_of or {}).get(m.id), ()) for m in pack]


def test_33700_lists_campaign_members_and_auto_blocked_numbers_not_one_off_texters():
    pack = messages(
        *[(f"+3360000000{i}", RAID) for i in range(3)],
        ("+33611111111", "Coucou c'est Yanis"),
        ("+33622222222", "t ou"),
        ("+33622222222", "t ou"),
        ("BOTNAME", RAID),
    )
    found = campaigns_of(pack)
    ranked = rank_senders(entries(pack), auto_blocked={"+33622222222"})
    numbers = attack_numbers(found, {"+33622222222"}, ranked)
    assert set(numbers) == {"+33600000000", "+33600000001", "+33600000002", "+33622222222"}
    assert numbers[0] == "+33622222222"  # most messages first


def test_33700_leaves_out_people_who_only_wrote_the_same_short_greeting():
    pack = messages(*[(f"+3360000000{i}", "Salut ça va ?") for i in range(5)])
    found = campaigns_of(pack)
    assert found and found[0].short
    assert attack_numbers(found, set(), rank_senders(entries(pack), set())) == ()


# --- senders -----------------------------------------------------------------------------------


def test_senders_are_ranked_by_volume_with_first_last_and_decisions():
    pack = [
        message(1, "+33611111111", "a", "replied"),
        message(2, "+33622222222", "b", "replied"),
        message(3, "+33622222222", "c", "number_quota"),
        message(4, "+33622222222", "d", "flood"),
        message(5, "+33622222222", "e", "flood"),
        message(6, None, None, "undecodable"),
    ]
    first, second = rank_senders(entries(pack, {4: 1}), auto_blocked={"+33622222222"})
    assert first.sender == "+33622222222"
    assert (first.messages, first.first, first.last) == (
        4,
        pack[1].received_at,
        pack[4].received_at,
    )
    assert first.decisions == (("flood", 2), ("number_quota", 1), ("replied", 1))
    assert (first.campaigns, first.auto_blocked) == ((1,), True)
    assert (second.sender, second.messages, second.auto_blocked) == ("+33611111111", 1, False)


# --- attack periods ----------------------------------------------------------------------------


def event(minutes: int, kind: str) -> Event:
    return Event(T0 + timedelta(minutes=minutes), kind, f"{kind} detail")


def test_start_and_end_events_of_any_kind_pair_into_periods():
    periods = attack_periods(
        [event(1, "flood_start"), event(2, "siege_start"), event(5, "flood_end"),
         event(6, "paused"), event(9, "siege_end")],
        None, None,
    )  # fmt: skip
    assert [(p.kind, p.start, p.end) for p in periods] == [
        ("flood", T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)),
        ("siege", T0 + timedelta(minutes=2), T0 + timedelta(minutes=9)),
    ]
    assert periods[0].detail == "flood_start detail"


def test_a_period_under_way_when_the_report_begins_starts_before_it():
    since = T0 + timedelta(minutes=3)
    (period,) = attack_periods([event(1, "flood_start"), event(5, "flood_end")], since, None)
    assert (period.start, period.end) == (None, T0 + timedelta(minutes=5))


def test_a_period_not_over_when_the_report_ends_has_no_end():
    (period,) = attack_periods([event(1, "flood_start")], None, T0 + timedelta(minutes=3))
    assert (period.start, period.end) == (T0 + timedelta(minutes=1), None)


def test_periods_outside_the_report_are_left_out():
    events = [event(1, "flood_start"), event(2, "flood_end"), event(10, "flood_start")]
    assert attack_periods(events, T0 + timedelta(minutes=3), T0 + timedelta(minutes=5)) == []


# --- the timeline ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (timedelta(minutes=2), timedelta(seconds=10)),
        (timedelta(hours=1), timedelta(minutes=1)),
        (timedelta(hours=6), timedelta(minutes=10)),
        (timedelta(days=2), timedelta(hours=1)),
        (timedelta(days=60), timedelta(days=1)),
    ],
)
def test_the_chart_step_keeps_the_bars_countable(span, step):
    assert step_for(span) == step


def test_the_timeline_counts_every_sms_once_idle_steps_included():
    received = [T0 + timedelta(minutes=m) for m in (0, 0, 1, 59, 120, 179)]
    replied = [T0 + timedelta(minutes=1)]
    line = timeline(received, replied, T0, T0 + timedelta(hours=3), UTC)
    assert line.step == timedelta(minutes=10)
    assert sum(line.inbound) == len(received)
    assert line.inbound[0] == 3
    assert line.inbound[5] == 1
    assert line.inbound[1:5] == (0, 0, 0, 0)
    assert sum(line.replies) == 1
    assert line.starts[0] == T0


# --- from the store ----------------------------------------------------------------------------


@pytest.fixture
def played(tmp_path):
    line = Line(tmp_path)
    traffic = [
        Sms("+33612345678", "Salut"),
        Sms("+33756120001", "je sais où tu habites"),
        Sms("+33756120002", "t ou"),
        Sms("+33698765432", "Coucou"),
    ]
    with line.store() as store:
        play(store, line.config, traffic)
    return line


def test_a_prefix_keeps_only_the_numbers_starting_with_it(played):
    prefix = SenderMatch("+3375612", is_prefix=True)
    with played.store() as store:
        kept = store.reports.period_messages(None, None, prefix)
        assert [m.sender for m in kept] == ["+33756120001", "+33756120002"]
        assert store.reports.summary(senders=prefix).inbound_messages == 2
        assert store.reports.summary(senders=prefix).replies_sent == 2
        assert [r["sender"] for r in store.evidence.export(sender=prefix)] == [
            "+33756120001",
            "+33756120002",
        ]
        assert store.reports.count_messages(sender=prefix) == 2


def test_one_sender_exactly_is_not_a_prefix(played):
    with played.store() as store:
        assert store.reports.summary(senders=SenderMatch("+3375612")).inbound_messages == 0


def test_the_report_flags_and_counts_what_the_store_holds(played):
    with played.store() as store:
        made = build(
            store, played.config, since=None, until=None, senders=None,
            flag_list=load_flag_list(None), now=START + timedelta(hours=1), tz=UTC,
        )  # fmt: skip
    assert made.figures.inbound_messages == len(made.entries) == 4
    assert [e.message.text for e in made.flagged] == ["je sais où tu habites"]
    assert made.chain.ok and made.chain.checked == 4
    assert made.last_hash == made.entries[-1].message.chain_hash
