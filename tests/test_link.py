"""The modem link: backoff between attempts, no retry of a wrong PIN, reopening after a replug."""

from datetime import timedelta

import pytest

from anti_relous.config import ModemConfig
from anti_relous.link import (
    INITIAL_BACKOFF_S,
    MAX_BACKOFF_S,
    PIN_REJECTED_KEY,
    ModemLink,
    PinMemory,
)
from anti_relous.modem.at_modem import AtModem
from anti_relous.modem.errors import ModemError, PortNotFound, WrongPin
from anti_relous.simulator.device import ModemSimulator


def link_to(path, ticker, **modem):
    config = ModemConfig(port=str(path), command_timeout=timedelta(seconds=2), **modem)
    attempts = []

    def factory():
        attempts.append(ticker.now)
        return AtModem(config)

    return ModemLink(factory, monotonic=ticker), attempts


def test_a_missing_modem_is_retried_with_a_doubling_backoff_up_to_five_minutes(tmp_path, ticker):
    link, attempts = link_to(tmp_path / "absent", ticker)
    waits = []
    for _ in range(12):
        assert link.get() is None
        assert isinstance(link.last_error, PortNotFound)
        waits.append(link.retry_in_s())
        ticker.now += link.retry_in_s()
    assert waits[:4] == [INITIAL_BACKOFF_S, 2, 4, 8]
    assert max(waits) == MAX_BACKOFF_S
    assert len(attempts) == 12


def test_no_attempt_is_made_before_the_backoff_has_passed(tmp_path, ticker):
    link, attempts = link_to(tmp_path / "absent", ticker)
    link.get()
    ticker.now += INITIAL_BACKOFF_S / 2
    assert link.get() is None
    assert len(attempts) == 1


def test_a_wrong_pin_halts_the_link_without_a_second_try(ticker):
    with ModemSimulator(pin="1234") as sim:
        link, attempts = link_to(sim.path, ticker, pin="0000")
        assert link.get() is None
        assert isinstance(link.last_error, WrongPin) and link.halted
        ticker.now += 3600
        assert link.get() is None
        assert len(attempts) == 1, "a second PIN try could lock the SIM behind its PUK"
        assert link.retry_in_s() is None


def test_reconfiguring_lifts_the_halt(ticker):
    with ModemSimulator(pin="1234") as sim:
        link, _ = link_to(sim.path, ticker, pin="0000")
        link.get()
        good = ModemConfig(port=str(sim.path), pin="1234")
        link.reconfigure(lambda: AtModem(good))
        assert link.get() is not None
        assert link.identity is not None and not link.halted
        link.close()


def test_after_a_failure_the_port_is_closed_and_reopened_by_its_path(ticker):
    with ModemSimulator() as sim:
        link, attempts = link_to(sim.path, ticker)
        first = link.get()
        assert first is not None
        sim.unplug()
        with pytest.raises(ModemError) as caught:
            first.list_stored()
        link.failed(caught.value)
        assert link.modem is None
        sim.replug()
        ticker.now += INITIAL_BACKOFF_S
        second = link.get()
        assert second is not None and second is not first
        assert second.list_stored().messages == ()
        assert len(attempts) == 2
        link.close()


def test_success_resets_the_backoff(ticker, tmp_path):
    with ModemSimulator(link=tmp_path / "modem") as sim:
        sim.unplug()
        link, _ = link_to(sim.path, ticker)
        for _ in range(4):
            link.get()
            ticker.now += link.retry_in_s()
        sim.replug()
        assert link.get() is not None
        link.failed(PortNotFound(str(sim.path)))
        assert link.retry_in_s() == INITIAL_BACKOFF_S


# ---- a rejected PIN, remembered across restarts (issue 12, point 7) ------------------------------


def remembering_link(path, ticker, store, pin):
    """A link as the daemon builds it: the PIN and the memory of its rejection."""
    config = ModemConfig(port=str(path), command_timeout=timedelta(seconds=2), pin=pin)
    return ModemLink(
        lambda: AtModem(config), monotonic=ticker, pin_rejections=PinMemory(store.line, pin)
    )


def test_a_rejected_pin_is_not_entered_again_by_the_next_process(ticker, store):
    with ModemSimulator(pin="1234") as sim:
        assert remembering_link(sim.path, ticker, store, "0000").get() is None
        restarted = remembering_link(sim.path, ticker, store, "0000")
        assert restarted.get() is None and restarted.halted
        assert isinstance(restarted.last_error, WrongPin) and restarted.last_error.since
        assert "will not enter it again" in str(restarted.last_error)
        assert sim.wrong_pin_attempts == 1


def test_a_corrected_pin_is_entered_and_the_rejection_forgotten(ticker, store):
    with ModemSimulator(pin="1234") as sim:
        remembering_link(sim.path, ticker, store, "0000").get()
        corrected = remembering_link(sim.path, ticker, store, "1234")
        assert corrected.get() is not None
        corrected.close()
        assert store.line.daemon_state(PIN_REJECTED_KEY) is None


def test_the_remembered_rejection_does_not_hold_the_pin_in_clear(ticker, store):
    with ModemSimulator(pin="1234") as sim:
        remembering_link(sim.path, ticker, store, "0000").get()
    record, _ = store.line.daemon_state(PIN_REJECTED_KEY)
    assert set(record) == {"salt", "pin_scrypt", "tries_left"}
    assert "0000" not in map(str, record.values())
    assert len(bytes.fromhex(record["pin_scrypt"])) == 64 and record["tries_left"] == 2
