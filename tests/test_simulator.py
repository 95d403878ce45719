"""The pty modem simulator, spoken to in raw AT over a real pty with pyserial (no driver)."""

from __future__ import annotations

import re
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simulator_host import Host

from anti_relous.modem import MessageStatus, pdu
from anti_relous.simulator.device import ModemSimulator
from anti_relous.sms import Concat

SENDER = "+33612345678"
CMGL_ENTRY = re.compile(r"\+CMGL: (\d+),(\d),,(\d+)\r\n([0-9A-F]+)")


@pytest.fixture
def sim():
    with ModemSimulator(slots=5) as simulator:
        yield simulator


@pytest.fixture
def raw_host(sim):
    """A host on the port as the dongle powers up (echo on, plain ERROR)."""
    host = Host(sim.path)
    yield host
    host.close()


@pytest.fixture
def host(raw_host):
    """A host after the usual init: echo off, numeric errors."""
    raw_host.command("ATE0")
    raw_host.command("AT+CMEE=1")
    return raw_host


@pytest.fixture
def notified_host(host):
    """The same, with +CMTI for each new message (AT+CNMI=2,1)."""
    host.command("AT+CNMI=2,1,0,0,0")
    return host


def listed(answer):
    return [
        (int(index), int(stat), int(length), bytes.fromhex(hex_pdu))
        for index, stat, length, hex_pdu in CMGL_ENTRY.findall(answer)
    ]


def wait_stored(sim, count):
    assert sim.wait_until(lambda s: s.stats().stored == count, timeout=5)


# ---- framing and basics ------------------------------------------------------------------


def test_commands_are_echoed_and_answered_with_crlf_framing(raw_host):
    raw_host.write(b"AT\r")
    assert raw_host.read_final() == "AT\r\r\nOK\r\n"


def test_ate0_turns_echo_off(raw_host):
    raw_host.command("ATE0")
    assert raw_host.command("AT") == "\r\nOK\r\n"


def test_command_lines_ending_in_crlf_are_accepted(host):
    host.write(b"AT\r\nAT+CSQ\r\n")
    answer = host.read_until(lambda d: d.count(b"OK") == 2)
    assert answer == "\r\nOK\r\n\r\n+CSQ: 17,99\r\n\r\nOK\r\n"


def test_unknown_command_answers_error_like_a_huawei(host):
    assert host.command("AT+CLAC") == "\r\nERROR\r\n"


def test_errors_are_plain_until_cmee_asks_for_codes(raw_host):
    raw_host.command("ATE0")
    assert raw_host.command("AT+CMGR=99") == "\r\nERROR\r\n"
    raw_host.command("AT+CMEE=1")
    assert raw_host.command("AT+CMGR=99") == "\r\n+CMS ERROR: 321\r\n"


def test_verbose_errors_with_cmee_2(host):
    host.command("AT+CMEE=2")
    assert host.command("AT+CMGR=99") == "\r\n+CMS ERROR: invalid memory index\r\n"


def test_identity_answers_like_a_huawei_stick(host):
    assert host.lines("AT+CGMI") == ["huawei", "OK"]
    assert host.lines("AT+CGMM") == ["E173", "OK"]
    assert host.lines("AT+CGSN")[0].isdigit()
    assert host.lines("ATI")[:2] == ["Manufacturer: huawei", "Model: E173"]


def test_health_queries_answer(host):
    assert host.lines("AT+CSQ") == ["+CSQ: 17,99", "OK"]
    assert host.lines("AT+CREG?") == ["+CREG: 0,1", "OK"]
    assert host.lines("AT+COPS?") == ['+COPS: 0,0,"Orange F",2', "OK"]
    assert host.lines("AT+CSCA?") == ['+CSCA: "+33609001390",145', "OK"]
    assert host.lines("AT+CPMS?") == ['+CPMS: "SM",0,5,"SM",0,5,"SM",0,5', "OK"]


def test_unregistered_modem_says_searching_and_refuses_to_send(sim, host):
    sim.registered = False
    assert host.lines("AT+CREG?") == ["+CREG: 0,2", "OK"]
    (submit,) = pdu.encode_submit(SENDER, "hello")
    host.command(f"AT+CMGS={submit.tpdu_length}")
    host.write(submit.hex.encode() + b"\x1a")
    assert host.read_final() == "\r\n+CMS ERROR: 331\r\n"


def test_several_commands_on_one_line_share_one_final_result(host):
    assert host.lines("AT+CMGF=0;+CSQ;E0") == ["+CSQ: 17,99", "OK"]


def test_atz_restores_power_on_settings(host):
    host.command("ATZ")
    assert host.command("AT") == "AT\r\r\nOK\r\n"


# ---- inbound SMS, listing, storage -----------------------------------------------------------


def test_delivered_sms_is_listed_in_pdu_mode_with_its_tpdu_length(sim, host):
    sim.deliver(SENDER, "salut")
    wait_stored(sim, 1)
    ((index, stat, length, raw),) = listed(host.command("AT+CMGL=4"))
    assert (index, stat) == (0, 0)
    assert length == len(raw) - 1 - raw[0]
    assert (pdu.decode_deliver(raw).sender, pdu.decode_deliver(raw).text) == (SENDER, "salut")


def test_ucs2_multipart_and_alphanumeric_senders_arrive_intact(sim, host):
    parts = sim.deliver(SENDER, "ça va ? 😀 " * 10) + sim.deliver("SFR Info", "€[]{}^~|\\ " * 12)
    wait_stored(sim, parts)
    parts = [pdu.decode_deliver(raw) for *_, raw in listed(host.command("AT+CMGL=4"))]
    assert "".join(p.text for p in parts if p.sender == SENDER) == "ça va ? 😀 " * 10
    assert "".join(p.text for p in parts if p.sender == "SFR Info") == "€[]{}^~|\\ " * 12
    assert {p.coding for p in parts if p.sender == SENDER} == {"ucs2"}


def test_listing_marks_unread_messages_read(sim, host):
    sim.deliver(SENDER, "one")
    wait_stored(sim, 1)
    assert [stat for _, stat, _, _ in listed(host.command("AT+CMGL=4"))] == [0]
    assert [stat for _, stat, _, _ in listed(host.command("AT+CMGL=4"))] == [1]
    assert listed(host.command("AT+CMGL=0")) == []


def test_new_message_raises_cmti_when_cnmi_asked_for_it(sim, notified_host):
    sim.deliver(SENDER, "hi")
    assert '+CMTI: "SM",0' in notified_host.read_until(lambda d: b"+CMTI" in d)


def test_no_cmti_without_cnmi(sim, raw_host):
    sim.deliver(SENDER, "hi")
    wait_stored(sim, 1)
    assert "+CMTI" not in raw_host.read_for(0.2)


def test_full_sim_sends_the_rest_to_the_network_queue(sim, host):
    for n in range(7):
        sim.deliver(SENDER, f"message {n}")
    stats = sim.stats()
    assert (stats.stored, stats.queued, stats.high_water, stats.full_events) == (5, 2, 5, 1)


def test_a_flood_delivered_at_once_fills_the_sim_in_order_before_the_host_reads(sim, host):
    # deliver_many hands every SMS to the network in one step: the host's first listing sees a
    # full SIM, never the flood's first SMS alone.
    parts = sim.deliver_many([(f"+3361200000{n}", f"flood {n}") for n in range(7)])
    stats = sim.stats()
    assert (parts, stats.stored, stats.queued, stats.full_events) == (7, 5, 2, 1)
    answer = host.command("AT+CMGL=4")
    senders = [pdu.decode_stored("SM", i, raw).decoded.sender for i, _, _, raw in listed(answer)]
    assert senders == [f"+3361200000{n}" for n in range(5)]


def test_a_delivery_finding_the_sim_full_raises_smmemfull(sim, host):
    for n in range(6):
        sim.deliver(SENDER, f"message {n}")
    assert '^SMMEMFULL: "SM"' in host.read_until(lambda d: b"SMMEMFULL" in d)


def test_filling_the_last_slot_raises_no_smmemfull(sim, host):
    # Huawei reports the storage overflowing (a message refused), not the last slot taken.
    for n in range(5):
        sim.deliver(SENDER, f"message {n}")
    wait_stored(sim, 5)
    assert "SMMEMFULL" not in host.read_for(0.2)


def test_deleting_from_a_full_sim_signals_memory_available_then_the_network_redelivers():
    with ModemSimulator(slots=5, redelivery_s=0.3) as sim:
        host = Host(sim.path)
        host.command("AT+CNMI=2,1,0,0,0")
        for n in range(6):
            sim.deliver(SENDER, f"message {n}")
        host.read_until(lambda d: b"SMMEMFULL" in d)
        deleted_at = time.monotonic()
        host.command("AT+CMGD=2")
        assert sim.stats().queued == 1  # not at once: the network waits its delay
        assert '+CMTI: "SM",2' in host.read_until(lambda d: b"+CMTI" in d)
        assert time.monotonic() - deleted_at >= 0.3
        stats = sim.stats()
        assert (stats.stored, stats.queued, stats.delivered_parts, stats.deleted_parts) == (
            5,
            0,
            6,
            1,
        )
        assert (stats.full_events, stats.memory_available_signals) == (1, 1)
        host.close()


def test_full_time_runs_from_the_refusal_until_a_part_gets_through():
    with ModemSimulator(slots=5, redelivery_s=0.1) as sim:
        host = Host(sim.path)
        for n in range(5):
            sim.deliver(SENDER, f"message {n}")
        assert sim.stats().full_s == 0  # full, but no delivery refused yet
        sim.deliver(SENDER, "waiting")
        time.sleep(0.2)
        host.command("AT+CMGD=0")
        assert sim.wait_until(lambda s: s.stats().queued == 0, timeout=5)
        stats = sim.stats()
        assert stats.full_s == stats.longest_full_s >= 0.3
        host.close()


def test_cmgd_flag_1_deletes_read_messages_and_keeps_unread(sim, host):
    sim.deliver(SENDER, "old")
    wait_stored(sim, 1)
    host.command("AT+CMGL=4")
    sim.deliver(SENDER, "new")
    wait_stored(sim, 2)
    host.command("AT+CMGD=0,1")
    ((index, stat, _, raw),) = listed(host.command("AT+CMGL=4"))
    assert (index, stat, pdu.decode_deliver(raw).text) == (1, 0, "new")


def test_cmgd_flag_4_deletes_everything(sim, host):
    sim.deliver(SENDER, "a")
    sim.deliver(SENDER, "b")
    wait_stored(sim, 2)
    host.command("AT+CMGD=0,4")
    assert sim.stats().stored == 0


def test_deleting_an_index_outside_the_sim_is_refused(host):
    assert host.command("AT+CMGD=5") == "\r\n+CMS ERROR: 321\r\n"


def test_cmgr_reads_one_message_and_marks_it_read(sim, host):
    sim.deliver(SENDER, "read me")
    wait_stored(sim, 1)
    lines = host.lines("AT+CMGR=0")
    assert lines[0].startswith("+CMGR: 0,,")
    assert pdu.decode_deliver(bytes.fromhex(lines[1])).text == "read me"
    assert host.lines("AT+CMGR=0")[0].startswith("+CMGR: 1,,")


def test_reading_an_empty_location_answers_ok_without_a_message(host):
    assert host.command("AT+CMGR=3") == "\r\nOK\r\n"


def test_malformed_pdu_is_stored_and_listed_as_is(sim, host):
    sim.deliver_pdu(b"\x07\x91\x33\x06\x09\x10\x93\xf0\x04")
    wait_stored(sim, 1)
    ((_, _, length, raw),) = listed(host.command("AT+CMGL=4"))
    assert raw == b"\x07\x91\x33\x06\x09\x10\x93\xf0\x04" and length == 1


def test_text_mode_lists_with_status_names_and_sender(sim, host):
    sim.deliver(SENDER, "en texte")
    wait_stored(sim, 1)
    host.command("AT+CMGF=1")
    lines = host.lines('AT+CMGL="ALL"')
    assert lines[0].startswith('+CMGL: 0,"REC UNREAD","+33612345678",,"')
    assert lines[1:] == ["en texte", "OK"]


def test_interleaved_urc_lands_between_two_cmgl_entries(sim, host):
    sim.interleave_urcs = True
    sim.deliver(SENDER, "a")
    sim.deliver(SENDER, "b")
    wait_stored(sim, 2)
    answer = host.command("AT+CMGL=4")
    first, rest = answer.split("\r\n^RSSI:17\r\n")
    assert first.count("+CMGL:") == 1 and rest.count("+CMGL:") == 1


def test_emitted_urc_reaches_the_host(sim, host):
    sim.emit_urc("RING")
    assert host.read_until(lambda d: b"RING" in d) == "\r\nRING\r\n"


# ---- sending ----------------------------------------------------------------------------------


def send_pdu(host, submit):
    assert host.command(f"AT+CMGS={submit.tpdu_length}").endswith("\r\n> ")
    host.write(submit.hex.encode() + b"\x1a")
    return host.read_final()


def test_pdu_send_is_recorded_decoded_with_its_message_reference(sim, host):
    (submit,) = pdu.encode_submit(SENDER, "être ou ne pas être 😀")
    assert send_pdu(host, submit) == "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    (part,) = sim.sent
    assert (part.number, part.text, part.coding, part.reference) == (
        SENDER,
        "être ou ne pas être 😀",
        "ucs2",
        0,
    )
    assert part.pdu_hex == submit.hex


def test_multipart_send_is_joined_in_sent_messages(sim, host):
    text = "Bonjour, ceci est une réponse automatique. " * 5
    submits = pdu.encode_submit(SENDER, text, reference=9)
    answers = [send_pdu(host, submit) for submit in submits]
    assert [a.split("\r\n")[1] for a in answers] == ["+CMGS: 0", "+CMGS: 1"]
    assert [p.concat for p in sim.sent] == [Concat(9, 2, 1), Concat(9, 2, 2)]
    assert sim.sent_messages() == [(SENDER, text)]
    assert sim.stats().sends == 2


def test_echo_repeats_the_pdu_typed_at_the_prompt(sim, raw_host):
    (submit,) = pdu.encode_submit(SENDER, "hi")
    raw_host.command(f"AT+CMGS={submit.tpdu_length}")
    raw_host.write(submit.hex.encode() + b"\x1a")
    assert raw_host.read_final().startswith(submit.hex + "\r\n+CMGS: 0")


def test_send_with_a_wrong_length_is_refused_with_cms_304(sim, host):
    (submit,) = pdu.encode_submit(SENDER, "hi")
    host.command(f"AT+CMGS={submit.tpdu_length + 1}")
    host.write(submit.hex.encode() + b"\x1a")
    assert host.read_final() == "\r\n+CMS ERROR: 304\r\n"
    assert sim.sent == []


def test_escape_at_the_prompt_cancels_the_send(sim, host):
    (submit,) = pdu.encode_submit(SENDER, "hi")
    host.command(f"AT+CMGS={submit.tpdu_length}")
    host.write(submit.hex.encode() + b"\x1b")
    assert host.read_final() == "\r\nOK\r\n"
    assert sim.sent == []


def test_failed_sends_answer_the_injected_cms_error_then_recover(sim, host):
    sim.fail_next_sends(2, code=512)
    (submit,) = pdu.encode_submit(SENDER, "hi")
    assert send_pdu(host, submit) == "\r\n+CMS ERROR: 512\r\n"
    assert send_pdu(host, submit) == "\r\n+CMS ERROR: 512\r\n"
    assert send_pdu(host, submit) == "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert sim.stats().sends == 1


def test_text_mode_send_is_recorded(sim, host):
    host.command("AT+CMGF=1")
    assert host.command(f'AT+CMGS="{SENDER}"').endswith("> ")
    host.write(b"en texte\x1a")
    assert host.read_final() == "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert sim.sent_messages() == [(SENDER, "en texte")]


def test_text_mode_send_in_ucs2_charset(sim, host):
    host.command("AT+CMGF=1")
    host.command('AT+CSCS="UCS2"')
    number = SENDER.encode("utf-16-be").hex().upper()
    host.command(f'AT+CMGS="{number}"')
    host.write("ça 😀".encode("utf-16-be").hex().upper().encode() + b"\x1a")
    host.read_final()
    assert sim.sent_messages() == [(SENDER, "ça 😀")]


# ---- PIN ---------------------------------------------------------------------------------------


@pytest.fixture
def locked():
    with ModemSimulator(pin="1234") as simulator:
        host = Host(simulator.path)
        host.command("ATE0")
        host.command("AT+CMEE=1")
        yield simulator, host
        host.close()


def test_locked_sim_reports_sim_pin(locked):
    _, host = locked
    assert host.lines("AT+CPIN?") == ["+CPIN: SIM PIN", "OK"]


def test_locked_sim_refuses_sms_commands_with_cms_311(locked):
    _, host = locked
    assert host.command("AT+CMGL=4") == "\r\n+CMS ERROR: 311\r\n"
    assert host.command("AT+CIMI") == "\r\n+CME ERROR: 11\r\n"


def test_right_pin_unlocks_the_sim(locked):
    _, host = locked
    assert host.command('AT+CPIN="1234"') == "\r\nOK\r\n"
    assert host.lines("AT+CPIN?") == ["+CPIN: READY", "OK"]
    assert host.command("AT+CMGL=4") == "\r\nOK\r\n"


def test_wrong_pin_answers_cme_16(locked):
    _, host = locked
    assert host.command('AT+CPIN="0000"') == "\r\n+CME ERROR: 16\r\n"
    assert host.lines("AT+CPIN?") == ["+CPIN: SIM PIN", "OK"]


def test_third_wrong_pin_leaves_the_sim_needing_its_puk(locked):
    _, host = locked
    for _ in range(3):
        host.command('AT+CPIN="0000"')
    assert host.lines("AT+CPIN?") == ["+CPIN: SIM PUK", "OK"]
    assert host.command('AT+CPIN="1234"') == "\r\n+CME ERROR: 12\r\n"
    assert host.command("AT+CMGL=4") == "\r\n+CMS ERROR: 316\r\n"


def test_puk_and_new_pin_unblock_the_sim(locked):
    _, host = locked
    for _ in range(3):
        host.command('AT+CPIN="0000"')
    assert host.command('AT+CPIN="12345678","4321"') == "\r\nOK\r\n"
    assert host.lines("AT+CPIN?") == ["+CPIN: READY", "OK"]


# ---- faults ------------------------------------------------------------------------------------


def test_unplug_gives_the_host_an_io_error_and_removes_the_link(sim, host):
    sim.unplug()
    # pyserial raises SerialException, or a bare OSError (EIO) from in_waiting: both are OSError.
    with pytest.raises(OSError):
        host.command("AT", timeout=2)
    assert not sim.path.exists()


def test_replug_comes_back_at_the_same_path_with_sim_and_queue(sim, host):
    for n in range(6):
        sim.deliver(SENDER, f"message {n}")
    sim.unplug()
    sim.deliver(SENDER, "while away")
    sim.replug()
    fresh = Host(sim.path)
    try:
        fresh.command("ATE0")
        assert len(listed(fresh.command("AT+CMGL=4"))) == 5
        fresh.command("AT+CMGD=0,1")
        sim.wait_until(lambda s: s.stats().queued == 0, timeout=5)
        assert sim.stats().stored == 2
    finally:
        fresh.close()


def test_replug_powers_up_again_and_asks_for_the_pin(locked):
    sim, host = locked
    host.command('AT+CPIN="1234"')
    sim.unplug()
    sim.replug()
    fresh = Host(sim.path)
    try:
        assert "+CPIN: SIM PIN" in fresh.command("AT+CPIN?")
    finally:
        fresh.close()


def test_hung_modem_answers_nothing_until_unhung(sim, host):
    sim.hang()
    host.write(b"AT\r")
    assert host.read_for(0.3) == ""
    sim.unhang()
    assert host.command("AT") == "\r\nOK\r\n"


def test_network_waits_while_the_modem_is_hung(sim, notified_host):
    sim.hang()
    sim.deliver(SENDER, "later")
    assert (sim.stats().stored, sim.stats().queued) == (0, 1)
    sim.unhang()
    assert '+CMTI: "SM",0' in notified_host.read_until(lambda d: b"+CMTI" in d)


def test_garbage_reaches_the_host_and_the_modem_keeps_answering(sim, host):
    sim.inject_garbage(b"\x00\xff\r\nOK\r\n\x1b[1m")
    assert host.read_until(lambda d: b"\x1b[1m" in d).startswith("\x00\xff")
    assert host.command("AT") == "\r\nOK\r\n"


def test_overlong_command_line_answers_error(host):
    assert host.command("AT+CMGL=" + "4" * 5000) == "\r\nERROR\r\n"
    assert host.command("AT") == "\r\nOK\r\n"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(garbage=st.binary(max_size=300))
def test_nothing_the_host_writes_breaks_the_simulator(sim, host, garbage):
    host.write(garbage)
    # ESC leaves a half-typed AT+CMGS; CR ends a half-typed line; then the modem must answer.
    host.write(b"\x1b\r")
    host.read_for(0.01)
    host.port.reset_input_buffer()
    assert host.command("ATE0", timeout=5).endswith("\r\nOK\r\n")


@pytest.mark.parametrize("chunking", ["bytewise", "random"])
def test_chunked_output_still_carries_whole_responses(chunking):
    with ModemSimulator(chunking=chunking, seed=3) as sim:
        host = Host(sim.path)
        sim.deliver(SENDER, "morceaux")
        host.command("ATE0")
        (entry,) = listed(host.command("AT+CMGL=4"))
        assert pdu.decode_deliver(entry[3]).text == "morceaux"
        assert len(host.chunks) > 3  # arrived in several reads, not one
        host.close()


def test_throttled_line_carries_no_more_than_its_byte_rate():
    baudrate = 9600  # 960 bytes/s in 8N1
    with ModemSimulator(baudrate=baudrate) as sim:
        host = Host(sim.path, baudrate=baudrate)
        host.command("ATE0")
        started = time.monotonic()
        received = sum(len(host.command("ATI")) for _ in range(10))
        elapsed = time.monotonic() - started
        host.close()
    # Input (10 x "ATI\r") and output both pay; allow a generous margin below the line time.
    assert elapsed >= 0.8 * received / (baudrate / 10)


def test_throttled_input_is_processed_no_faster_than_it_arrives():
    baudrate = 9600
    with ModemSimulator(baudrate=baudrate, echo=False) as sim:
        host = Host(sim.path, baudrate=baudrate)
        burst = b"AT\r" * 300  # 900 bytes: about 0.94 s of line time
        started = time.monotonic()
        host.write(burst)
        host.read_until(lambda d: d.count(b"OK") == 300, timeout=10)
        elapsed = time.monotonic() - started
        host.close()
    assert elapsed >= 0.8 * len(burst) / (baudrate / 10)


def test_a_late_simulator_thread_never_lets_the_line_exceed_its_byte_rate():
    """Late wake-ups are made up (a UART's FIFO keeps shifting), but never beyond the rate."""
    baudrate = 19200  # 1,920 bytes/s
    stop = threading.Event()

    def hog() -> None:  # keeps the GIL busy, so the simulator's thread often wakes late
        while not stop.is_set():
            sum(range(10_000))

    with ModemSimulator(baudrate=baudrate, echo=False) as sim:
        for number in range(12):
            sim.deliver(f"+336123456{number:02d}", "x" * 120)
        sim.wait_until(lambda s: s.stats().stored == 12, 5)
        host = Host(sim.path, baudrate=baudrate)
        hogger = threading.Thread(target=hog, daemon=True)
        hogger.start()
        try:
            started = time.monotonic()
            received = len(host.command("AT+CMGL=4"))
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            hogger.join()
            host.close()
    assert received > 1500
    # The command's own bytes went the other way; the listing alone needs this much line time.
    assert elapsed >= 0.97 * received / (baudrate / 10)


# ---- API ----------------------------------------------------------------------------------------


def test_wait_until_returns_false_on_timeout(sim):
    assert sim.wait_until(lambda s: s.stats().stored == 1, timeout=0.05) is False


def test_stop_is_idempotent_and_removes_the_link():
    sim = ModemSimulator()
    sim.start()
    path = sim.path
    sim.stop()
    sim.stop()
    assert not path.exists()


def test_explicit_link_path_is_used(tmp_path):
    with ModemSimulator(link=tmp_path / "gsm-modem") as sim:
        assert sim.path == tmp_path / "gsm-modem" and sim.path.is_symlink()


def test_stored_shows_the_sim_without_marking_anything_read(sim):
    sim.deliver(SENDER, "regarde")
    ((index, status, raw),) = sim.stored()
    assert (index, status, pdu.decode_deliver(raw).text) == (0, MessageStatus.REC_UNREAD, "regarde")
    assert sim.stored()[0][1] is MessageStatus.REC_UNREAD


def test_wrong_pin_attempts_are_counted(locked):
    sim, host = locked
    host.command('AT+CPIN="0000"')
    assert sim.wrong_pin_attempts == 1


def test_failure_after_one_send_hits_the_second_part_of_a_long_sms(sim, host):
    first, second = pdu.encode_submit(SENDER, "Réponse automatique, merci. " * 6)
    sim.fail_next_sends(1, code=500, after=1)
    assert send_pdu(host, first).startswith("\r\n+CMGS: 0")
    assert send_pdu(host, second) == "\r\n+CMS ERROR: 500\r\n"


def test_line_bytes_count_both_directions(sim, raw_host):
    raw_host.command("AT")
    assert sim.line_bytes() == (3, len("AT\r\r\nOK\r\n"))
