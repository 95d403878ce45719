"""The Gammu backend, against Gammu's dummy driver and over the simulator's pty (connection at)."""

from __future__ import annotations

import datetime as dt

import gammu
import pytest

from anti_relous.config import ConfigError, ModemConfig
from anti_relous.modem import MessageStatus, open_modem, pdu
from anti_relous.modem.errors import (
    CommandTimeout,
    ModemError,
    PduError,
    PortBusy,
    PortLost,
    PortNotFound,
    PortPermissionDenied,
    SendFailed,
    SimPinRequired,
    WrongPin,
)
from anti_relous.modem.gammu_modem import GammuModem, translate_error
from anti_relous.simulator.device import ModemSimulator

SENDER = "+33612345678"
NOW = dt.datetime(2026, 11, 28, 14, 0, tzinfo=dt.UTC)


# ---- Gammu's dummy driver: a folder stands for the phone ---------------------------------------


@pytest.fixture
def dummy_rc(tmp_path):
    folder = tmp_path / "dummy"
    folder.mkdir()
    gammurc = tmp_path / "gammurc"
    gammurc.write_text(f"[gammu]\nmodel = dummy\nconnection = none\ndevice = {folder}\n")
    return gammurc


@pytest.fixture
def dummy(dummy_rc):
    modem = GammuModem(ModemConfig(backend="gammu", gammu_config=str(dummy_rc)))
    modem.open()
    yield modem
    modem.close()


def put_in_dummy_inbox(gammurc, sender, text):
    """Store an inbound SMS the way a network would, through a second Gammu connection."""
    machine = gammu.StateMachine()
    machine.ReadConfig(Filename=str(gammurc))
    machine.Init()
    try:
        for raw in pdu.encode_deliver(sender, text, NOW):
            message = gammu.DecodePDU(raw, True)
            message.update(Folder=1, State="UnRead", Memory="SM")
            machine.AddSMS(message)
    finally:
        machine.Terminate()


def test_open_modem_picks_the_gammu_backend(dummy_rc):
    modem = open_modem(ModemConfig(backend="gammu", gammu_config=str(dummy_rc)))
    assert isinstance(modem, GammuModem)


def test_dummy_identity(dummy):
    identity = dummy.identity()
    assert (identity.manufacturer, identity.model, identity.imei) == (
        "Gammu",
        "Dummy",
        "999999999999999",
    )


def test_dummy_health(dummy):
    health = dummy.health()
    assert (health.sim_state, health.registration, health.operator) == ("READY", "home", "GammuT3l")
    assert health.storage_used == 0 and health.storage_total


def test_port_is_the_device_of_the_gammurc(dummy, dummy_rc):
    assert dummy.port == str(dummy_rc.parent / "dummy")


def test_dummy_messages_are_listed_with_decodable_pdus(dummy, dummy_rc):
    put_in_dummy_inbox(dummy_rc, SENDER, "être là, ça va ? 😀")
    (stored,) = dummy.list_stored().messages
    decoded = pdu.decode_deliver(stored.pdu)
    assert (decoded.sender, decoded.text) == (SENDER, "être là, ça va ? 😀")
    assert (stored.storage, stored.status) == ("SM", MessageStatus.REC_UNREAD)


def test_dummy_multipart_parts_are_listed_one_by_one(dummy, dummy_rc):
    text = "Tu vas voir ce que tu vas voir. " * 8
    put_in_dummy_inbox(dummy_rc, SENDER, text)
    parts = [pdu.decode_deliver(stored.pdu) for stored in dummy.list_stored().messages]
    assert [part.concat.sequence for part in parts] == [1, 2]
    assert "".join(part.text for part in parts) == text


def test_delete_removes_the_part(dummy, dummy_rc):
    put_in_dummy_inbox(dummy_rc, SENDER, "un")
    (stored,) = dummy.list_stored().messages
    dummy.delete(stored.index)
    assert dummy.list_stored().messages == ()


def test_deleting_an_empty_location_is_not_an_error(dummy):
    dummy.delete(10042)


def test_delete_read_keeps_what_arrived_after_the_listing(dummy, dummy_rc):
    put_in_dummy_inbox(dummy_rc, SENDER, "lu")
    dummy.list_stored()
    put_in_dummy_inbox(dummy_rc, SENDER, "nouveau")
    dummy.delete_read()
    assert [pdu.decode_deliver(s.pdu).text for s in dummy.list_stored().messages] == ["nouveau"]


def test_dummy_send_returns_one_reference_per_part(dummy):
    assert len(dummy.send(SENDER, "Réponse automatique. " * 10)) == 2


def test_sending_an_empty_text_is_refused(dummy):
    with pytest.raises(SendFailed) as refused:
        dummy.send(SENDER, "")
    assert isinstance(refused.value.cause, PduError)
    assert refused.value.parts_sent == 0


def test_sending_on_a_closed_modem_raises_send_failed_port_lost(dummy):
    dummy.close()
    with pytest.raises(SendFailed) as failed:
        dummy.send(SENDER, "bonjour")
    assert isinstance(failed.value.cause, PortLost) and failed.value.parts_sent == 0


def test_dummy_without_notifications_waits_out_the_timeout(dummy):
    assert dummy.wait_for_new_message(0.1) is False


def test_unreadable_gammu_config_is_a_config_error_naming_the_key(tmp_path):
    modem = GammuModem(ModemConfig(backend="gammu", gammu_config=str(tmp_path / "missing")))
    with pytest.raises(ConfigError, match=r"\[modem\] gammu_config"):
        modem.open()


def test_missing_device_is_port_not_found(tmp_path):
    modem = GammuModem(ModemConfig(backend="gammu", port=str(tmp_path / "ttyUSB9")))
    with pytest.raises(PortNotFound):
        modem.open()


def test_calls_on_a_closed_modem_raise_port_lost(dummy):
    dummy.close()
    with pytest.raises(PortLost):
        dummy.list_stored()


def _gammu_error(kind, where="Init"):
    return kind({"Text": "from the test", "Where": where, "Code": 0})


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (gammu.ERR_DEVICENOTEXIST, PortNotFound),
        (gammu.ERR_DEVICENOPERMISSION, PortPermissionDenied),
        (gammu.ERR_DEVICEOPENERROR, PortBusy),
        (gammu.ERR_DEVICELOCKED, PortBusy),
        (gammu.ERR_DEVICEREADERROR, PortLost),
        (gammu.ERR_DEVICEWRITEERROR, PortLost),
        (gammu.ERR_TIMEOUT, CommandTimeout),
        (gammu.ERR_SECURITYERROR, SimPinRequired),
    ],
)
def test_gammu_errors_become_typed_modem_errors(kind, expected):
    assert type(translate_error(_gammu_error(kind), "/dev/gsm-modem")) is expected


def test_permission_error_points_at_the_dialout_group():
    error = translate_error(_gammu_error(gammu.ERR_DEVICENOPERMISSION), "/dev/ttyUSB0")
    assert "dialout" in str(error)


def test_other_gammu_errors_say_what_failed_and_what_to_try():
    error = translate_error(
        _gammu_error(gammu.ERR_UNKNOWN, "SendSMS"), "/dev/ttyUSB0", doing="send the SMS"
    )
    assert type(error) is ModemError
    assert "could not send the SMS" in str(error) and "anti-relous doctor" in str(error)


# ---- over the simulator's pty: libgammu's own AT engine -----------------------------------------
# Gammu spends ~5 s in its init pauses, so one simulator and one open modem serve several tests.


@pytest.fixture(scope="module")
def over_sim():
    with ModemSimulator() as sim:
        modem = GammuModem(ModemConfig(backend="gammu", port=str(sim.path)))
        modem.open()
        yield sim, modem
        modem.close()


@pytest.fixture
def sim_modem(over_sim):
    """The shared pair, with an empty SIM at the start of each test."""
    sim, modem = over_sim
    for stored in modem.list_stored().messages:
        modem.delete(stored.index)
    modem.wait_for_new_message(0)  # forget notifications of earlier tests
    return sim, modem


@pytest.mark.slow
def test_identity_over_the_simulator(sim_modem):
    _, modem = sim_modem
    identity = modem.identity()
    assert (identity.manufacturer, identity.model) == ("Huawei", "E173")


@pytest.mark.slow
def test_health_over_the_simulator(sim_modem):
    _, modem = sim_modem
    health = modem.health()
    assert (health.sim_state, health.signal_csq, health.signal_dbm) == ("READY", 17, -79)
    assert (health.registration, health.operator) == ("home", "Orange F")
    assert (health.storage_used, health.storage_total, health.smsc) == (0, 30, "+33609001390")


@pytest.mark.slow
def test_reencoded_pdus_equal_what_the_sim_holds(sim_modem):
    sim, modem = sim_modem
    sim.deliver(SENDER, "prix: 5€ [promo] {x} ~ ^ | \\ fin")
    sim.deliver(SENDER, "être là, ça va ? 😀 " * 6)
    sim.deliver("SFR Info", "Votre code: 1234")
    stored = modem.list_stored().messages
    assert [s.pdu for s in stored] == [raw for _, _, raw in sim.stored()]


@pytest.mark.slow
def test_delete_read_over_the_simulator_keeps_a_late_arrival(sim_modem):
    sim, modem = sim_modem
    sim.deliver(SENDER, "lu")
    modem.list_stored()
    sim.deliver(SENDER, "nouveau")
    modem.delete_read()
    ((_, status, raw),) = sim.stored()
    assert (status, pdu.decode_deliver(raw).text) == (MessageStatus.REC_UNREAD, "nouveau")


@pytest.mark.slow
def test_send_over_the_simulator_arrives_intact_with_its_references(sim_modem):
    sim, modem = sim_modem
    before = len(sim.sent)
    text = "Réponse: ça marche, même avec 😀. " * 4
    references = modem.send(SENDER, text, reference=77)
    sent = sim.sent[before:]
    assert references == [part.reference for part in sent]
    assert "".join(part.text for part in sent) == text
    assert {part.concat.reference for part in sent} == {77}


@pytest.mark.slow
def test_refused_send_raises_a_modem_error_naming_the_send(sim_modem):
    sim, modem = sim_modem
    sim.fail_next_sends(1, code=500)
    with pytest.raises(SendFailed, match="could not send the SMS") as refused:
        modem.send(SENDER, "bonjour")
    assert (refused.value.parts_sent, refused.value.parts) == (0, 1)


@pytest.mark.slow
def test_send_refused_after_its_first_part_counts_the_part_that_left(sim_modem):
    sim, modem = sim_modem
    sim.fail_next_sends(1, code=500, after=1)
    with pytest.raises(SendFailed) as refused:
        modem.send(SENDER, "Réponse automatique. " * 10)
    assert (refused.value.parts_sent, refused.value.parts) == (1, 2)


@pytest.mark.slow
def test_new_message_notification_over_the_simulator(sim_modem):
    sim, modem = sim_modem
    sim.deliver(SENDER, "coucou")
    assert modem.wait_for_new_message(5) is True


@pytest.mark.slow
def test_no_notification_without_a_new_message(sim_modem):
    _, modem = sim_modem
    assert modem.wait_for_new_message(0.3) is False


@pytest.mark.slow
def test_unplugged_dongle_raises_port_lost_and_reopens_after_replug():
    with ModemSimulator() as sim:
        modem = GammuModem(ModemConfig(backend="gammu", port=str(sim.path)))
        modem.open()
        sim.unplug()
        with pytest.raises(PortLost):
            modem.list_stored()
        sim.replug()
        modem.open()
        assert modem.list_stored().messages == ()
        modem.close()


@pytest.fixture
def locked_sim():
    with ModemSimulator(pin="1234") as sim:
        yield sim


@pytest.mark.slow
def test_configured_pin_unlocks_the_sim(locked_sim):
    modem = GammuModem(ModemConfig(backend="gammu", port=str(locked_sim.path), pin="1234"))
    modem.open()
    assert modem.health().sim_state == "READY"
    modem.close()


@pytest.mark.slow
def test_pin_required_but_not_configured(locked_sim):
    modem = GammuModem(ModemConfig(backend="gammu", port=str(locked_sim.path)))
    with pytest.raises(SimPinRequired):
        modem.open()


@pytest.mark.slow
def test_wrong_pin_is_tried_once_and_never_retried(locked_sim):
    modem = GammuModem(ModemConfig(backend="gammu", port=str(locked_sim.path), pin="0000"))
    with pytest.raises(WrongPin):
        modem.open()
    assert locked_sim.wrong_pin_attempts == 1
