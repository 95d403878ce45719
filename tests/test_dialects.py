"""The real AT driver over a real pty against each recorded device, its SIM locked by a PIN.

Each device is a table of what it was recorded answering (tests/data/dialects/, from
python-gsmmodem's fakes of real sticks), refusing what it refused, with the words it used. Its
SIM waits for a PIN that is set in [modem] pin, and holds real PDUs from gammu's collection.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from captures import dumps
from dialects import DialectModem, load

from anti_relous.config import ModemConfig
from anti_relous.modem import MessageStatus, pdu
from anti_relous.modem.at_modem import AtModem
from anti_relous.modem.errors import LastPinTry, NoSmsStorage, WrongPin

PIN = "1234"
SMS = dumps("gammu-at-sms.txt")
#: Real received SMS: stamped in 1999, a missed-call notice, O2's sender, DCS 0xFB.
PDUS = (SMS["09"].pdu, SMS["39"].pdu, bytes.fromhex(SMS["04"].lines[1].rstrip('"')), SMS["42"].pdu)
TEXTS_START = ["hellohello", "llamada perdida", "O2: You now have", "1917812300"]
#: Generous: the fakes answer at once, and a loaded machine must not fail a healthy exchange.
TIMEOUT = timedelta(seconds=10)
DRAINABLE = {
    "huawei-e1752": ("huawei", "E1752", "11.126.13.00.00"),
    "huawei-k3715": ("huawei", "K3715", "11.104.05.00.00"),
    "zte-k3565z": ("ZTE INCORPORATED", "K3565-Z", "BD_P673A2V1.0.0B09"),
    "qualcomm-m6280": (
        "QUALCOMM INCORPORATED",
        "M6280",
        "M6280_V1.0.0 M6280_V1.0.0 1 [Sep 4 2008 12:00:00]",
    ),
    "wavecom-multiband": ("WAVECOM MODEM", "MULTIBAND  900E  1800", ""),
}


def driver(fake: DialectModem, pin: str = PIN, timeout: timedelta = TIMEOUT) -> AtModem:
    return AtModem(ModemConfig(port=str(fake.path), pin=pin, command_timeout=timeout))


@pytest.mark.parametrize("name", DRAINABLE)
def test_a_pin_locked_device_opens_with_its_pin_and_drains_its_sim(name):
    with DialectModem(load(name), pin=PIN, pdus=PDUS) as fake, driver(fake) as modem:
        assert fake.pins_entered == [f'AT+CPIN="{PIN}"']
        identity = modem.identity()
        assert (identity.manufacturer, identity.model, identity.firmware) == DRAINABLE[name]
        listing = modem.list_stored()
        assert listing.complete
        assert [m.status for m in listing.messages] == [MessageStatus.REC_UNREAD] * len(PDUS)
        texts = [pdu.decode_deliver(m.pdu).text for m in listing.messages]
        assert [t[: len(start)] for t, start in zip(texts, TEXTS_START, strict=True)] == TEXTS_START
        modem.delete_read()
        assert modem.list_stored().messages == ()
        assert modem.health().sim_state == "READY"


@pytest.mark.parametrize("name", ["zte-k3565z", "qualcomm-m6280"])
def test_a_device_that_locks_everything_gets_the_pin_before_any_other_command(name):
    """They answer even ATZ with +CME ERROR 11 until the PIN is in (python-gsmmodem's fakes)."""
    with DialectModem(load(name), pin=PIN) as fake, driver(fake):
        entered = fake.commands.index(f'AT+CPIN="{PIN}"')
        before = [c for c in fake.commands[:entered] if not c.upper().startswith("AT+CPIN")]
        assert set(before) <= {"ATE1", "AT", "ATE0", "AT^CPIN?"}, "the handshake, then the PIN"


def test_a_wavecom_state_query_without_ok_does_not_cost_the_command_timeout():
    """Its AT+CPIN? answer ends without OK: health must not wait the whole timeout for one."""
    patient = timedelta(seconds=30)
    with (
        DialectModem(load("wavecom-multiband"), pin=PIN) as fake,
        driver(fake, timeout=patient) as modem,
    ):
        started = time.monotonic()
        assert modem.health().sim_state == "READY"
        assert time.monotonic() - started < patient.total_seconds()


def test_a_nokia_n79_says_it_offers_no_sms_storage():
    with DialectModem(load("nokia-n79"), pin=PIN) as fake:
        with pytest.raises(NoSmsStorage, match="no SMS storage over AT"):
            driver(fake).open()
        assert fake.pins_entered == [f'AT+CPIN="{PIN}"']


def test_a_wrong_pin_is_entered_once_and_says_the_tries_left():
    with DialectModem(load("huawei-e1752"), pin=PIN) as fake:
        with pytest.raises(WrongPin, match=r"2 PIN tries left") as rejected:
            driver(fake, pin="0000").open()
        assert rejected.value.tries_left == 2
        assert fake.pins_entered == ['AT+CPIN="0000"'] and fake.sim.tries == 2


def test_a_wrong_pin_on_a_device_that_cannot_count_tries_is_still_entered_once():
    with DialectModem(load("zte-k3565z"), pin=PIN) as fake:
        with pytest.raises(WrongPin) as rejected:
            driver(fake, pin="0000").open()
        assert rejected.value.tries_left is None
        assert fake.pins_entered == ['AT+CPIN="0000"']


@pytest.mark.parametrize("name", ["huawei-e1752", "huawei-k3715"])
def test_the_last_pin_try_is_never_spent(name):
    with DialectModem(load(name), pin=PIN) as fake:
        fake.sim.tries = 1
        with pytest.raises(LastPinTry, match="does not spend the last one"):
            driver(fake).open()
        assert fake.pins_entered == [] and fake.sim.tries == 1
