"""What the CLI reports: status, stats with its chart, inbox and outbox; indexed queries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from cli_helpers import Line

from anti_relous.config import DEFAULT_REPLY

DAY = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
DESIGN_STATS_KEYS = {
    "inbound_messages",
    "inbound_parts",
    "senders",
    "replies_sent",
    "replies_failed",
    "decisions",
    "blocked_numbers",
    "paused",
    "flood_mode",
    "cloud_cost_avoided",
}


@pytest.fixture
def line(tmp_path):
    return Line(tmp_path)


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


# --- status ------------------------------------------------------------------------------------


def test_status_with_a_live_daemon_exits_0(line):
    line.publish_daemon(pid=os.getpid())
    result = line.invoke("status")
    assert result.exit_code == 0, result.output
    assert f"running, pid {os.getpid()}, up 0 s" in result.output


def test_status_does_not_repeat_the_queue_the_daemon_saw_at_its_last_publication(line):
    line.publish_daemon(pid=os.getpid(), status="polling, 1 queued, signal -71 dBm")
    output = line.invoke("status").output
    assert "1 queued" not in output
    assert "Queue       0 SMS waiting to be sent" in output


def test_status_says_what_a_daemon_that_is_not_running_normally_reports(line):
    line.publish_daemon(
        pid=os.getpid(), state="modem lost", status="modem lost, retrying in 4 s: no such port"
    )
    assert "modem lost, retrying in 4 s: no such port" in line.invoke("status").output


def test_status_today_says_how_many_replies_were_queued_and_how_many_of_them_left(line):
    line.publish_daemon(pid=os.getpid())
    line.receive("+33612345678")
    line.receive("+33698765432")
    (today,) = [r for r in line.invoke("status").output.splitlines() if r.startswith("Today")]
    assert today == "Today       2 inbound, 2 replies queued, 0 of them sent"


def test_status_says_when_the_last_sms_arrived(line):
    line.publish_daemon(pid=os.getpid())
    line.receive("+33612345678", at=datetime.now(UTC) - timedelta(minutes=5, seconds=3))
    (last,) = [r for r in line.invoke("status").output.splitlines() if r.startswith("Last SMS")]
    assert last.endswith("(5 min ago)")
    report = json.loads(line.invoke("status", "--json").output)
    assert datetime.fromisoformat(report["last_received_at"]) < datetime.now(UTC)


def test_status_before_any_sms_says_none_arrived(line):
    line.publish_daemon(pid=os.getpid())
    (last,) = [r for r in line.invoke("status").output.splitlines() if r.startswith("Last SMS")]
    assert last == "Last SMS    none received yet"


def test_status_without_any_daemon_prints_the_report_then_exits_1(line):
    result = line.invoke("status")
    assert result.exit_code == 1
    assert "NOT RUNNING: no daemon has ever run on this database" in result.stdout
    assert "Caps left" in result.stdout
    assert result.stderr.count("\n") == 1
    assert "systemctl start anti-relous" in result.stderr


def test_status_sees_a_daemon_that_said_it_stopped(line):
    line.publish_daemon(pid=os.getpid(), state="stopped")
    result = line.invoke("status")
    assert result.exit_code == 1
    assert "the daemon stopped" in result.stdout


def test_status_sees_a_daemon_whose_process_is_gone(line):
    pid = dead_pid()
    line.publish_daemon(pid=pid)
    result = line.invoke("status")
    assert result.exit_code == 1
    assert f"pid {pid}) is gone" in result.stdout


def test_status_sees_a_daemon_silent_for_three_health_intervals(line):
    # health_interval defaults to 60 s: three minutes of silence means hung or killed.
    line.publish_daemon(pid=os.getpid(), at=datetime.now(UTC) - timedelta(minutes=4))
    result = line.invoke("status")
    assert result.exit_code == 1
    assert "has published nothing for 4 min" in result.stdout


def test_status_counts_today_inbound_and_replies(line):
    line.publish_daemon(pid=os.getpid())
    line.receive("+33612345678")
    line.receive("+33612345678")  # second message from the same number: no second reply
    line.receive("+33698765432")
    report = json.loads(line.invoke("status", "--json").output)
    assert report["today"] == {"inbound_messages": 3, "replies_queued": 2, "replies_sent": 0}
    assert report["this_hour"]["inbound_messages"] == 3
    assert report["queue"] == 2


def test_status_shows_the_remaining_caps(line):
    line.publish_daemon(pid=os.getpid())
    line.receive("+33612345678")
    caps = {c["name"]: c for c in json.loads(line.invoke("status", "--json").output)["caps"]}
    assert caps["hour"] == {"name": "hour", "used": 1, "limit": 60, "remaining": 59}
    assert caps["recipients"]["remaining"] == 149


def test_status_shows_pause_and_flood(line):
    line.publish_daemon(pid=os.getpid())
    line.invoke("pause", "--for", "1h", "--reason", "concert")
    report = json.loads(line.invoke("status", "--json").output)
    assert (report["paused"], report["pause_reason"]) == (True, "concert")
    assert report["flood_mode"] is False
    assert "PAUSED until" in line.invoke("status").output


def test_status_shows_the_blocks_in_force(line):
    line.invoke("block", "0612345678")
    line.invoke("block", "+33899*")
    for _ in range(21):  # one more than max_inbound_per_number: blocked automatically
        line.receive("+33611111111")
    (row,) = [r for r in line.invoke("status").output.splitlines() if r.startswith("Blocks")]
    assert "3 in force" in row and "1 automatic" in row and "+33899*" in row
    report = json.loads(line.invoke("status", "--json").stdout)
    assert report["blocks"] == {"numbers": 2, "automatic": 1, "prefixes": ["+33899"]}


def test_status_shows_the_modem_as_last_seen(line):
    line.publish_daemon(pid=os.getpid())
    with line.store() as store:
        store.line.put_daemon_state(
            datetime.now(UTC) - timedelta(seconds=30),
            "modem",
            {
                "identity": {"manufacturer": "huawei", "model": "E173", "firmware": "11",
                             "imei": "1"},
                "health": {"sim_state": "READY", "signal_csq": 17, "signal_dbm": -79,
                           "registration": "home", "operator": "Orange F", "storage_used": 3,
                           "storage_total": 30, "smsc": "+33689004000"},
                "error": None,
            },
        )  # fmt: skip
    output = line.invoke("status").output
    assert "huawei E173, SIM READY, signal -79 dBm (17/31), home on Orange F" in output
    assert "SIM storage 3/30 (as seen 30 s ago)" in output


def test_a_long_ucs2_reply_warning_names_the_character_that_forced_ucs2(tmp_path):
    line = Line(tmp_path, {"line": {"reply": "Ce numéro ne répond pas, ça suffit. " * 4}})
    result = line.invoke("status")
    assert "'ç' made it UCS-2" in result.stderr


def test_status_shows_the_reply_encoding_and_parts(line):
    line.publish_daemon(pid=os.getpid())
    result = line.invoke("status")
    assert "GSM-7, 274 characters, 2 SMS parts" in result.output
    assert "Warning" not in result.stderr


def test_status_warns_when_the_reply_takes_more_than_two_parts(tmp_path):
    line = Line(tmp_path, {"line": {"reply": DEFAULT_REPLY.replace("Message", "Reçu, message")}})
    line.publish_daemon(pid=os.getpid())
    result = line.invoke("status")
    assert "UCS-2" in result.stdout
    assert "Warning: the reply takes 5 SMS parts" in result.stderr
    assert "UCS-2" in result.stderr


# --- stats -------------------------------------------------------------------------------------


@pytest.fixture
def busy_day(line):
    """Three genuine texters, one of them twice, and a bot sending 25 SMS, on 10 January."""
    for i, sender in enumerate(["+33611111111", "+33622222222", "+33633333333", "+33611111111"]):
        line.receive(sender, at=DAY + timedelta(minutes=i))
    for i in range(25):
        line.receive("+33699999999", text=f"spam {i}", at=DAY + timedelta(hours=2, seconds=i))
    return line


def stats_json(line, *args):
    result = line.invoke("stats", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_stats_json_has_the_design_keys(busy_day):
    assert stats_json(busy_day).keys() >= DESIGN_STATS_KEYS


def test_stats_counts_messages_senders_and_decisions(busy_day):
    stats = stats_json(busy_day)
    assert (stats["inbound_messages"], stats["inbound_parts"], stats["senders"]) == (29, 29, 4)
    # The bot: replied once, 19 times over its quota, blocked at its 21st SMS, then ignored.
    assert stats["decisions"] == {
        "replied": 4,
        "number_quota": 20,
        "abuse_block": 1,
        "blocked": 4,
    }
    assert (stats["blocked_numbers"], stats["auto_blocked_numbers"]) == (1, 1)


def test_stats_cloud_cost_counts_inbound_and_sent_parts(busy_day):
    with busy_day.store() as store:
        for item in store.outbox.items():
            store.outbox.mark_sending(item.id, DAY)
            store.outbox.mark_sent(item.id, DAY, [1, 2])
    stats = stats_json(busy_day)
    # 29 inbound parts + 4 replies of 2 parts, at 0.16 EUR each.
    assert (stats["replies_sent"], stats["parts_sent"]) == (4, 8)
    assert stats["cloud_cost_avoided"] == pytest.approx(round(0.16 * 37, 2))


def test_stats_since_and_until_bound_the_period(busy_day):
    stats = stats_json(
        busy_day, "--since", (DAY + timedelta(hours=1)).isoformat(), "--until",
        (DAY + timedelta(hours=3)).isoformat(),
    )  # fmt: skip
    assert (stats["inbound_messages"], stats["senders"]) == (25, 1)


def test_stats_chart_shows_inbound_against_replies_per_hour(busy_day):
    result = busy_day.invoke("stats", "--since", "2026-01-10", "--until", "2026-01-11")
    chart = result.output.split("hour ", 1)[1].splitlines()
    assert len(chart) == 1 + 3 + 1  # header, 09:00, 10:00 (idle), 11:00, scale
    nine, ten, eleven = chart[1:4]
    assert nine.split()[2:] == ["4", "████", "3", "███"]
    assert ten.split()[2:] == ["0", "0"]
    assert eleven.split()[2:] == ["25", "█████████████████████████", "1", "█"]


def test_stats_over_weeks_draws_one_row_a_day(line):
    for day, count in [(0, 3), (1, 1), (13, 5)]:
        for i in range(count):
            line.receive(f"+3361111111{i}", at=DAY + timedelta(days=day, hours=i))
    result = line.invoke("stats", "--since", "2026-01-01", "--until", "2026-02-01")
    chart = result.output.split("\nday ", 1)[1].splitlines()
    assert len(chart) == 1 + 14 + 1  # header, 10 to 23 January (idle days shown), scale
    assert chart[1].split()[:2] == ["2026-01-10", "3"]
    assert chart[2].split()[:2] == ["2026-01-11", "1"]
    assert chart[3].split()[:2] == ["2026-01-12", "0"]
    assert chart[14].split()[:2] == ["2026-01-23", "5"]
    assert "busy hours" not in result.output


def test_stats_chart_falls_back_to_ascii():
    from anti_relous.cli.render import hourly_chart
    from anti_relous.store.reports import HourRow

    chart = hourly_chart([HourRow(DAY, 3, 1)], unicode=False)
    assert "###" in chart and "█" not in chart


def test_stats_of_an_empty_period(line):
    result = line.invoke("stats", "--since", "1h")
    assert result.exit_code == 0
    assert "No decisions in this period." in result.output
    assert "(no traffic in this period)" in result.output


# --- inbox / outbox ------------------------------------------------------------------------------


def test_inbox_lists_the_latest_first_with_decisions(busy_day):
    result = busy_day.invoke("inbox", "--last", "2")
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "received", "from", "reason", "reply", "text"]
    assert [line.split()[0] for line in lines[1:]] == ["29", "28"]
    assert "blocked" in lines[1] and "spam 24" in lines[1]


def test_inbox_filters_by_normalised_sender_and_reason(busy_day):
    rows = json.loads(busy_day.invoke("inbox", "--from", "06 11 11 11 11", "--json").output)
    assert [(r["sender"], r["reason"], r["reply_state"]) for r in rows] == [
        ("+33611111111", "number_quota", None),
        ("+33611111111", "replied", "queued"),
    ]
    rows = json.loads(busy_day.invoke("inbox", "--reason", "blocked", "--json").output)
    assert [r["text"] for r in rows] == ["spam 24", "spam 23", "spam 22", "spam 21"]


def test_inbox_shows_undecided_messages(line):
    from store_helpers import part

    with line.store() as store:
        store.inbound.ingest([part("+33612345678", "pas encore")], datetime.now(UTC), "FR")
    rows = json.loads(line.invoke("inbox", "--reason", "undecided", "--json").output)
    assert [r["text"] for r in rows] == ["pas encore"]


def test_inbox_keeps_each_message_on_one_line(line):
    line.receive("+33612345678", text="deux\nlignes")
    assert "deux⏎lignes" in line.invoke("inbox").output


def test_inbox_says_which_texts_are_gone_and_why(line):
    from store_helpers import part

    from anti_relous.sms import PartKind, ReceivedPart

    with line.store() as store:
        garbage = ReceivedPart("SM", 1, b"\x00\x01", PartKind.UNDECODABLE, error="truncated")
        store.inbound.ingest([garbage], DAY, "FR")
        store.inbound.ingest([part("+33612345678", "ancien")], DAY, "FR")
        store.evidence.purge(DAY + timedelta(days=100), timedelta(days=90))
    output = line.invoke("inbox").output
    assert "[undecodable PDU, kept raw" in output
    assert "[text erased after [storage] retention]" in output


def test_inbox_since_lists_only_the_messages_received_since(busy_day):
    since = (DAY + timedelta(hours=2, seconds=20)).isoformat()
    rows = json.loads(busy_day.invoke("inbox", "--since", since, "--json").output)
    assert [r["text"] for r in rows] == [f"spam {i}" for i in range(24, 19, -1)]


def test_inbox_since_in_the_future_is_a_usage_error(line):
    result = line.invoke("inbox", "--since", "2999-01-01")
    assert result.exit_code == 2
    assert "in the future" in result.stderr


def test_inbox_id_shows_one_text_in_full_with_its_line_breaks(line):
    long_text = "début " + "bla " * 40 + "\nfin\tici"
    line.receive("+33612345678", text=long_text)
    result = line.invoke("inbox", "--id", "1")
    assert result.exit_code == 0
    assert "Message 1, received" in result.output and "from +33612345678" in result.output
    assert "  | début " + "bla " * 40 + "\n  | fin\\tici\n" in result.output


def test_inbox_full_marks_each_line_of_a_text_so_none_passes_for_a_header(line):
    line.receive("+33612345678", text="ok\nMessage 9, received hier, from +33600000000")
    lines = line.invoke("inbox", "--full").output.splitlines()
    assert [x for x in lines if x.startswith("Message ")] == [lines[0]]
    assert "  | Message 9, received hier, from +33600000000" in lines


def test_inbox_id_of_a_missing_message_exits_1(line):
    result = line.invoke("inbox", "--id", "42")
    assert result.exit_code == 1
    assert "no message 42" in result.stderr


def test_tables_print_ids_without_thousands_separators_and_counts_with():
    from anti_relous.cli.render import table

    assert table(["id", "messages"], [(1234, 5678)]).splitlines()[1].split() == ["1234", "5,678"]


def test_tables_show_tabs_escaped_and_align_after_wide_characters():
    from anti_relous.cli.render import table

    rendered = table(["from", "text"], [("😡😡", "a\tb"), ("ab", "c")]).splitlines()
    assert rendered[1] == "😡😡  a\\tb"
    assert rendered[2] == "ab    c"


def test_stats_since_after_until_is_a_usage_error(line):
    result = line.invoke("stats", "--since", "2026-01-02", "--until", "2026-01-01")
    assert result.exit_code == 2
    assert "is not before --until" in result.stderr


def test_outbox_filters_by_state(busy_day):
    with busy_day.store() as store:
        first = store.outbox.items()[-1]
        store.outbox.mark_sending(first.id, DAY)
        store.outbox.mark_failed(first.id, DAY, "+CMS ERROR 500")
    rows = json.loads(busy_day.invoke("outbox", "--state", "failed", "--json").output)
    assert [(r["recipient"], r["state"], r["last_error"]) for r in rows] == [
        ("+33611111111", "failed", "+CMS ERROR 500")
    ]
    assert "+CMS ERROR 500" in busy_day.invoke("outbox").output


def test_empty_outbox_says_so(line):
    assert line.invoke("outbox").output.strip() == "Nothing in the outbox."


# --- the queries behind status stay indexed ------------------------------------------------------


def test_status_queries_never_scan_the_message_history(busy_day):
    from anti_relous.store.db import to_db

    at = to_db(DAY)
    with busy_day.store() as store:
        conn = store.db.conn
        for query, params in [
            ("SELECT count(*) FROM messages WHERE received_at >= ?", (at,)),
            (
                "SELECT count(*), sum(state = 'sent') FROM outbox"
                " WHERE created_at >= ? AND kind = 'reply'",
                (at,),
            ),
            ("SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')", ()),
            ("SELECT max(received_at) FROM messages", ()),
            (
                "SELECT count(*) FROM inbound_parts WHERE message_id IS NULL AND received_at >= ?",
                (at,),
            ),
        ]:
            plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", params))
            assert "USING" in plan and "INDEX" in plan, (query, plan)
