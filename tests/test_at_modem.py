"""The AT driver over a real pty with pyserial, against the simulated dongle."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import serial

from anti_relous.config import ModemConfig
from anti_relous.modem import MessageStatus, pdu
from anti_relous.modem.at_modem import AtModem
from anti_relous.modem.errors import (
    CmsError,
    CommandTimeout,
    PduError,
    PortBusy,
    PortLost,
    PortNotFound,
    PortPermissionDenied,
    SendFailed,
    SimPinRequired,
    StorageFull,
    WrongPin,
)
from anti_relous.simulator.device import ModemSimulator

SENDER = "+33612345678"
GSM7_EXTENSION_TEXT = "prix: 5€ [promo] {x} ~ ^ | \\ fin"
FRENCH_TEXT = "Être à l'heure, ça se fête 😀🎉"
LONG_TEXT = "Ceci est un long message de harcèlement, répété. " * 8
#: Generous: a loaded CI machine must never make a healthy exchange time out.
TIMEOUT = timedelta(seconds=10)
#: Short, for the tests that expect a timeout.
SHORT_TIMEOUT = timedelta(seconds=0.5)
NOBODY = 65534


def config_for(sim: ModemSimulator, **overrides) -> ModemConfig:
    return ModemConfig(port=str(sim.path), **{"command_timeout": TIMEOUT, **overrides})


@pytest.fixture
def sim():
    with ModemSimulator() as simulator:
        yield simulator


@pytest.fixture
def modem(sim):
    driver = AtModem(config_for(sim))
    driver.open()
    yield driver
    driver.close()


def texts_of(messages):
    """Decoded texts of listed messages, concatenated parts joined in order."""
    parts = [pdu.decode_deliver(message.pdu) for message in messages]
    parts.sort(key=lambda part: part.concat.sequence if part.concat else 0)
    return "".join(part.text for part in parts), parts


def wait_stored(sim, count):
    assert sim.wait_until(lambda s: s.stats().stored == count, timeout=10)


def raw_command(path: Path, command: str) -> str:
    """One command typed by a program other than the driver; the whole answer."""
    with serial.Serial(str(path), timeout=5) as port:
        port.write(command.encode() + b"\r")
        answer = b""
        while not answer.rstrip().endswith((b"OK", b"ERROR")) and b"ERROR:" not in answer:
            chunk = port.read(port.in_waiting or 1)
            if not chunk:
                break
            answer += chunk
        return answer.decode()


# ---- opening ----------------------------------------------------------------------------------


def test_open_enables_new_message_notifications(sim, modem):
    sim.deliver(SENDER, "coucou")
    assert modem.wait_for_new_message(10)


def test_identity_reports_the_dongle(modem):
    identity = modem.identity()
    assert identity.manufacturer and identity.model and identity.firmware
    assert identity.imei.isdigit()


def test_health_reports_sim_signal_registration_storage_and_smsc(sim, modem):
    sim.deliver(SENDER, "un")
    wait_stored(sim, 1)
    health = modem.health()
    assert health.sim_state == "READY"
    assert health.signal_csq is not None and health.signal_dbm == -113 + 2 * health.signal_csq
    assert health.registered
    assert (health.storage_used, health.storage_total) == (1, 30)
    assert health.smsc == "+33609001390"


def test_health_reports_a_lost_registration(sim, modem):
    sim.registered = False
    assert not modem.health().registered


def test_open_succeeds_after_garbage_on_the_line(sim):
    sim.inject_garbage(b"\xff\x00junk^RSSI:1")
    driver = AtModem(config_for(sim))
    driver.open()
    try:
        assert driver.health().sim_state == "READY"
    finally:
        driver.close()


def test_open_succeeds_when_the_modem_holds_a_half_typed_line(sim):
    with serial.Serial(str(sim.path)) as other_program:
        other_program.write(b"AT+CGM")
    driver = AtModem(config_for(sim))
    driver.open()
    try:
        assert driver.health().sim_state == "READY"
    finally:
        driver.close()


def test_garbage_between_commands_is_survived(sim, modem):
    sim.inject_garbage(b"\r\n\x00\xfe\xffnoise\r\n")
    sim.deliver(SENDER, "après le bruit")
    wait_stored(sim, 1)
    assert texts_of(modem.list_stored().messages)[0] == "après le bruit"


def test_missing_port_raises_port_not_found(tmp_path):
    driver = AtModem(ModemConfig(port=str(tmp_path / "ttyUSB9"), command_timeout=TIMEOUT))
    with pytest.raises(PortNotFound):
        driver.open()


def test_second_program_on_the_same_port_gets_port_busy(sim, modem):
    with pytest.raises(PortBusy, match="ModemManager"):
        AtModem(config_for(sim)).open()


@contextlib.contextmanager
def unprivileged():
    """Root opens any file: act as nobody for a moment (the real uid stays root to come back)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


def test_port_without_permission_raises_permission_denied(tmp_path):
    port = tmp_path / "ttyUSB0"
    port.write_bytes(b"")
    port.chmod(0o000)
    driver = AtModem(ModemConfig(port=str(port), command_timeout=TIMEOUT))
    with unprivileged(), pytest.raises(PortPermissionDenied, match="dialout"):
        driver.open()


# ---- SIM PIN ----------------------------------------------------------------------------------


def test_correct_pin_unlocks_the_sim():
    with ModemSimulator(pin="1234") as sim:
        driver = AtModem(config_for(sim, pin="1234"))
        driver.open()
        try:
            assert driver.health().sim_state == "READY"
        finally:
            driver.close()


def test_pin_never_reaches_the_driver_log(caplog):
    caplog.set_level(logging.DEBUG, logger="anti_relous.modem")
    with ModemSimulator(pin="2468") as sim:
        driver = AtModem(config_for(sim, pin="2468"))
        driver.open()
        driver.close()
    driver_lines = [
        r.getMessage() for r in caplog.records if r.name.endswith(("at_modem", "at_channel"))
    ]
    assert any("AT+CPIN=" in line for line in driver_lines)
    assert not any("2468" in line for line in driver_lines)


def test_pin_required_but_not_configured_raises_sim_pin_required():
    with ModemSimulator(pin="1234") as sim:
        with pytest.raises(SimPinRequired):
            AtModem(config_for(sim)).open()
        assert "SIM PIN" in raw_command(sim.path, "AT+CPIN?")


def test_wrong_pin_is_tried_exactly_once():
    with ModemSimulator(pin="1234") as sim:
        with pytest.raises(WrongPin):
            AtModem(config_for(sim, pin="0000")).open()
        # Three wrong PINs lock the SIM. Had the driver tried twice, one more would do it.
        raw_command(sim.path, 'AT+CPIN="0000"')
        assert "+CPIN: SIM PIN" in raw_command(sim.path, "AT+CPIN?")
        raw_command(sim.path, 'AT+CPIN="0000"')
        assert "+CPIN: SIM PUK" in raw_command(sim.path, "AT+CPIN?")


# ---- reading and deleting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", [GSM7_EXTENSION_TEXT, FRENCH_TEXT], ids=["gsm7-extension", "ucs2-emoji"]
)
def test_single_message_is_read_intact(sim, modem, text):
    sim.deliver(SENDER, text)
    wait_stored(sim, 1)
    (message,) = modem.list_stored().messages
    assert (message.storage, message.status) == ("SM", MessageStatus.REC_UNREAD)
    decoded = pdu.decode_deliver(message.pdu)
    assert (decoded.sender, decoded.text) == (SENDER, text)


def test_multipart_message_is_listed_as_all_its_parts(sim, modem):
    parts = sim.deliver(SENDER, LONG_TEXT)
    wait_stored(sim, parts)
    text, decoded = texts_of(modem.list_stored().messages)
    assert parts > 1 and text == LONG_TEXT
    assert {part.concat.total for part in decoded} == {parts}


def test_listing_marks_messages_read(sim, modem):
    sim.deliver(SENDER, "lu")
    wait_stored(sim, 1)
    modem.list_stored()
    assert [m.status for m in modem.list_stored().messages] == [MessageStatus.REC_READ]


def test_read_returns_one_message_by_index(sim, modem):
    sim.deliver(SENDER, "par index")
    wait_stored(sim, 1)
    (listed,) = modem.list_stored().messages
    assert modem.read(listed.index).pdu == listed.pdu


def test_delete_removes_the_message(sim, modem):
    sim.deliver(SENDER, "à effacer")
    wait_stored(sim, 1)
    (message,) = modem.list_stored().messages
    modem.delete(message.index)
    assert modem.list_stored().messages == ()


def test_delete_read_keeps_a_message_that_arrived_after_the_listing(sim, modem):
    sim.deliver(SENDER, "avant")
    wait_stored(sim, 1)
    modem.list_stored()
    sim.deliver(SENDER, "après")
    wait_stored(sim, 2)
    modem.delete_read()
    (survivor,) = modem.list_stored().messages
    assert pdu.decode_deliver(survivor.pdu).text == "après"


def test_urcs_inside_a_cmgl_response_are_not_lost(sim, modem):
    sim.interleave_urcs = True
    for number in range(5):
        sim.deliver(SENDER, f"message {number}")
    wait_stored(sim, 5)
    listed = modem.list_stored().messages
    assert sorted(pdu.decode_deliver(m.pdu).text for m in listed) == [
        f"message {number}" for number in range(5)
    ]
    assert modem.last_rssi is not None


def test_new_message_wakes_a_waiter_in_another_thread(sim, modem):
    woke = []
    waiter = threading.Thread(target=lambda: woke.append(modem.wait_for_new_message(10)))
    waiter.start()
    sim.deliver(SENDER, "réveil")
    waiter.join(15)
    assert woke == [True]


def test_storage_full_urc_wakes_the_poller(sim, modem):
    sim.emit_urc('^SMMEMFULL: "SM"')
    assert modem.wait_for_new_message(10)


def test_messages_stored_while_notifications_are_off_are_not_announced(sim, modem):
    modem.notify_new_messages(False)
    sim.deliver(SENDER, "en silence")
    wait_stored(sim, 1)
    assert not modem.wait_for_new_message(0.3)
    assert sim.stats().announced_parts == 0


def test_notifications_turned_back_on_announce_the_next_message(sim, modem):
    modem.notify_new_messages(False)
    modem.notify_new_messages(True)
    sim.deliver(SENDER, "de nouveau")
    assert modem.wait_for_new_message(10)


# ---- sending ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", [GSM7_EXTENSION_TEXT, FRENCH_TEXT], ids=["gsm7-extension", "ucs2-emoji"]
)
def test_single_message_is_sent_intact(sim, modem, text):
    (reference,) = modem.send(SENDER, text)
    assert 0 <= reference <= 255
    assert sim.sent_messages() == [(SENDER, text)]


def test_gsm7_text_goes_out_as_gsm7(sim, modem):
    modem.send(SENDER, GSM7_EXTENSION_TEXT)
    assert [part.coding for part in sim.sent] == ["gsm7"]


def test_multipart_message_is_sent_with_one_reference_per_part(sim, modem):
    references = modem.send(SENDER, LONG_TEXT, reference=77)
    assert len(references) == len(sim.sent) > 1
    assert {part.concat.reference for part in sim.sent} == {77}
    assert sim.sent_messages() == [(SENDER, LONG_TEXT)]


def test_refused_send_says_no_part_left_and_carries_the_cms_code(sim, modem):
    sim.fail_next_sends(1, code=500)
    with pytest.raises(SendFailed) as refused:
        modem.send(SENDER, "refusé")
    assert (refused.value.parts_sent, refused.value.parts) == (0, 1)
    assert isinstance(refused.value.cause, CmsError)
    assert (refused.value.cause.code, refused.value.cause.retryable) == (500, False)
    assert sim.sent == []


def test_refused_first_part_of_a_long_message_counts_its_parts(sim, modem):
    sim.fail_next_sends(1, code=500)
    with pytest.raises(SendFailed) as refused:
        modem.send(SENDER, LONG_TEXT)
    assert refused.value.parts_sent == 0 and refused.value.parts > 1


def test_unencodable_text_raises_send_failed_before_anything_is_written(sim, modem):
    with pytest.raises(SendFailed) as refused:
        modem.send(SENDER, "")
    assert isinstance(refused.value.cause, PduError)
    assert (refused.value.parts_sent, refused.value.parts) == (0, 0)
    assert sim.sent == []


def test_busy_modem_refusal_is_retryable(sim, modem):
    sim.fail_next_sends(1, code=515)
    with pytest.raises(SendFailed) as refused:
        modem.send(SENDER, "occupé")
    assert isinstance(refused.value.cause, CmsError) and refused.value.cause.retryable
    modem.send(SENDER, "occupé")
    assert sim.sent_messages() == [(SENDER, "occupé")]


def test_cms_322_on_send_is_storage_full(sim, modem):
    sim.fail_next_sends(1, code=322)
    with pytest.raises(SendFailed) as refused:
        modem.send(SENDER, "plein")
    assert isinstance(refused.value.cause, StorageFull)


def test_send_to_a_hung_modem_times_out_with_the_part_in_doubt(sim):
    driver = AtModem(config_for(sim, command_timeout=SHORT_TIMEOUT))
    driver.open()
    try:
        sim.hang()
        with pytest.raises(SendFailed) as stuck:
            driver.send(SENDER, "perdu ?")
        assert isinstance(stuck.value.cause, CommandTimeout)
    finally:
        driver.close()


# ---- unpleasant byte streams --------------------------------------------------------------------


@pytest.mark.parametrize("chunking", ["bytewise", "random"])
def test_bytes_in_small_chunks_still_read_delete_and_send(chunking):
    with ModemSimulator(chunking=chunking, seed=3) as sim:
        sim.interleave_urcs = True
        driver = AtModem(config_for(sim))
        driver.open()
        try:
            parts = sim.deliver(SENDER, LONG_TEXT)
            sim.deliver(SENDER, FRENCH_TEXT)
            wait_stored(sim, parts + 1)
            listed = driver.list_stored().messages
            assert sorted(pdu.decode_deliver(m.pdu).text for m in listed)[-1] == FRENCH_TEXT
            assert len(listed) == parts + 1
            driver.delete_read()
            assert driver.list_stored().messages == ()
            driver.send(SENDER, FRENCH_TEXT)
            assert sim.sent_messages() == [(SENDER, FRENCH_TEXT)]
        finally:
            driver.close()


# ---- faults -------------------------------------------------------------------------------------


def test_hung_modem_raises_command_timeout(sim):
    driver = AtModem(config_for(sim, command_timeout=SHORT_TIMEOUT))
    driver.open()
    try:
        sim.hang()
        with pytest.raises(CommandTimeout):
            driver.list_stored()
    finally:
        driver.close()


def test_modem_that_wakes_up_after_a_hang_answers_again(sim):
    driver = AtModem(config_for(sim, command_timeout=SHORT_TIMEOUT))
    driver.open()
    try:
        sim.hang()
        with pytest.raises(CommandTimeout):
            driver.list_stored()
        sim.unhang()
        sim.deliver(SENDER, "de retour")
        wait_stored(sim, 1)
        assert texts_of(driver.list_stored().messages)[0] == "de retour"
    finally:
        driver.close()


def test_unplugged_modem_raises_port_lost(sim, modem):
    sim.unplug()
    with pytest.raises(PortLost):
        modem.list_stored()


def test_waiter_learns_the_modem_was_unplugged(sim, modem):
    sim.unplug()
    with pytest.raises(PortLost):
        modem.wait_for_new_message(10)


def test_reopen_after_replug_works_on_the_same_path(sim, modem):
    sim.unplug()
    with pytest.raises(PortLost):
        modem.health()
    with pytest.raises(PortNotFound):
        modem.open()
    sim.replug()
    modem.open()
    sim.deliver(SENDER, "rebranché")
    wait_stored(sim, 1)
    assert texts_of(modem.list_stored().messages)[0] == "rebranché"


def test_close_is_idempotent(sim, modem):
    modem.close()
    modem.close()
    with pytest.raises(PortLost):
        modem.list_stored()


def test_with_block_releases_the_port_even_when_it_raises(sim):
    with pytest.raises(RuntimeError), AtModem(config_for(sim)) as first:
        assert first.identity().model == "E173"
        raise RuntimeError("the caller failed")
    with AtModem(config_for(sim)) as second:  # not PortBusy: the first let go of the port
        assert second.identity().model == "E173"
    with pytest.raises(PortLost):
        first.list_stored()
