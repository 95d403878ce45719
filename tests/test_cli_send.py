"""`anti-relous send`: a manual SMS through the simulated dongle, within the caps."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from cli_helpers import Line

from anti_relous.admin.send import queue_manual, send_queued_now
from anti_relous.clock import utc_now
from anti_relous.config import ModemConfig
from anti_relous.modem.at_modem import AtModem
from anti_relous.modem.errors import SendFailed


@pytest.fixture
def line(tmp_path, sim):
    return Line(tmp_path, {"modem": {"command_timeout": "3s"}})


def outbox(line):
    with line.store() as store:
        return [(i.kind, i.recipient, i.state) for i in store.outbox.items()]


def test_send_without_a_daemon_goes_out_through_the_modem(line, sim):
    result = line.invoke("send", "06 12 34 56 78", "Test de la ligne")
    assert result.exit_code == 0, result.output
    assert "Sent outbox #1 to +33612345678" in result.output
    assert sim.sent_messages() == [("+33612345678", "Test de la ligne")]
    assert outbox(line) == [("manual", "+33612345678", "sent")]


def test_send_with_the_daemon_running_only_queues(line, sim):
    line.publish_daemon(pid=os.getpid())
    result = line.invoke("send", "+33612345678", "Test")
    assert result.exit_code == 0
    assert f"the daemon (pid {os.getpid()}) sends it" in result.output
    assert sim.sent_messages() == []
    assert outbox(line) == [("manual", "+33612345678", "queued")]


def test_send_that_would_exceed_a_cap_is_refused(tmp_path, sim):
    line = Line(tmp_path, {"quota": {"replies_per_hour": 1}})
    line.receive("+33698765432")  # its reply takes the hour's only SMS
    result = line.invoke("send", "+33612345678", "Test")
    assert result.exit_code == 1
    assert "hourly cap (1 of 1 SMS)" in result.stderr and "--force" in result.stderr
    assert sim.sent_messages() == []
    assert len(outbox(line)) == 1


def test_send_to_a_new_recipient_past_the_monthly_recipients_is_refused(tmp_path, sim):
    line = Line(tmp_path, {"quota": {"recipients_per_month": 1}})
    line.receive("+33698765432")
    result = line.invoke("send", "+33612345678", "Test")
    assert result.exit_code == 1
    assert "recipients_per_month (1 of 1" in result.stderr


def test_send_to_a_known_recipient_is_not_a_new_recipient(tmp_path, sim):
    line = Line(
        tmp_path, {"quota": {"recipients_per_month": 1}, "modem": {"command_timeout": "3s"}}
    )
    line.receive("+33698765432")
    assert line.invoke("send", "+33698765432", "Suite").exit_code == 0


def test_force_sends_past_a_cap(tmp_path, sim):
    line = Line(tmp_path, {"quota": {"replies_per_hour": 0}, "modem": {"command_timeout": "3s"}})
    result = line.invoke("send", "+33612345678", "Urgent", "--force")
    assert result.exit_code == 0, result.output
    assert sim.sent_messages() == [("+33612345678", "Urgent")]


def test_send_without_a_modem_exits_1_and_does_not_leave_it_queued(tmp_path):
    line = Line(tmp_path)  # no simulator behind the configured port
    result = line.invoke("send", "+33612345678", "Test")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    (row,) = outbox(line)
    assert row[2] == "failed"


def test_send_refused_by_the_network_is_recorded_as_failed(line, sim):
    sim.fail_next_sends(1, 500)
    result = line.invoke("send", "+33612345678", "Test")
    assert result.exit_code == 1
    assert "+CMS ERROR" in result.stderr or "500" in result.stderr
    assert outbox(line) == [("manual", "+33612345678", "failed")]


def test_manual_send_whose_first_part_times_out_is_unknown_not_failed(line, sim):
    # The part in flight may have left before the modem went silent: a failed row would invite
    # the operator to send it again, and at most once means nobody resends it.
    config = ModemConfig(port=str(sim.path), command_timeout=timedelta(seconds=0.5))
    with line.store() as store, AtModem(config) as modem:
        item_id = queue_manual(store, line.config, "+33612345678", "perdu ?", 1, utc_now())
        sim.hang()
        with pytest.raises(SendFailed):
            send_queued_now(store, modem, item_id, "+33612345678", "perdu ?", utc_now)
    assert outbox(line) == [("manual", "+33612345678", "unknown")]


def test_manual_send_refused_after_its_first_part_left_is_unknown(line, sim):
    sim.fail_next_sends(1, 500, after=1)
    result = line.invoke("send", "+33612345678", "Test de la ligne, un peu long. " * 6)
    assert result.exit_code == 1
    assert "1 of 2 parts had left" in result.stderr
    assert outbox(line) == [("manual", "+33612345678", "unknown")]


def test_send_to_a_blocked_number_warns_and_still_sends(line, sim):
    line.invoke("block", "0612345678", "--reason", "threats")
    result = line.invoke("send", "+33612345678", "Dernier avertissement")
    assert result.exit_code == 0
    assert "Warning: +33612345678 is blocked (threats)" in result.stderr
    assert sim.sent_messages() == [("+33612345678", "Dernier avertissement")]


def test_send_to_a_number_under_a_blocked_prefix_warns(line, sim):
    line.invoke("block", "+33612*")
    result = line.invoke("send", "+33612345678", "Test")
    assert "Warning: +33612345678 is blocked" in result.stderr


def test_send_to_a_fixed_line_warns_that_it_may_not_receive_sms(line, sim):
    result = line.invoke("send", "01 42 68 53 00", "Test")
    assert result.exit_code == 0
    assert "Warning: +33142685300 is a fixed line" in result.stderr


def test_send_to_a_mobile_number_not_blocked_warns_nothing(line, sim):
    assert "Warning" not in line.invoke("send", "+33612345678", "Test").stderr
