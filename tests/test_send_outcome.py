"""The one at-most-once rule for a failed send, for every shape a failure takes."""

from __future__ import annotations

import pytest

from anti_relous.modem.errors import (
    CmsError,
    CommandTimeout,
    ModemError,
    PduError,
    PortLost,
    SendFailed,
    SendOutcome,
    StorageFull,
    send_outcome,
)

REFUSAL = CmsError("AT+CMGS=20", 500)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        pytest.param(SendFailed(PduError("empty"), 0, 0), SendOutcome.UNSENDABLE, id="unencodable"),
        pytest.param(SendFailed(REFUSAL, 0, 1), SendOutcome.REFUSED, id="first-part-refused"),
        pytest.param(SendFailed(REFUSAL, 0, 3), SendOutcome.REFUSED, id="long-first-refused"),
        pytest.param(SendFailed(REFUSAL, 1, 3), SendOutcome.IN_DOUBT, id="later-part-refused"),
        pytest.param(
            SendFailed(CommandTimeout("AT+CMGS=20", 10), 0, 1),
            SendOutcome.IN_DOUBT,
            id="first-part-timed-out",
        ),
        pytest.param(
            SendFailed(PortLost("/dev/ttyUSB0", "unplugged"), 0, 1),
            SendOutcome.IN_DOUBT,
            id="port-lost-mid-send",
        ),
        # +CMS ERROR 322 reaches the outbox as StorageFull, not as the refusal it came from.
        pytest.param(SendFailed(StorageFull(), 0, 1), SendOutcome.IN_DOUBT, id="storage-full"),
        # Gammu folds most +CMS ERROR codes into one unknown error: nobody can tell.
        pytest.param(
            SendFailed(ModemError("gammu could not send"), 0, 1),
            SendOutcome.IN_DOUBT,
            id="gammu-unknown",
        ),
        pytest.param(REFUSAL, SendOutcome.IN_DOUBT, id="outside-the-contract"),
        pytest.param(PduError("empty"), SendOutcome.UNSENDABLE, id="bare-pdu-error"),
    ],
)
def test_send_outcome(error, outcome):
    assert send_outcome(error) is outcome


def test_send_failed_says_how_many_parts_had_left():
    assert str(SendFailed(REFUSAL, 1, 3)).endswith("(1 of 3 parts had left)")
    assert str(SendFailed(PduError("cannot send an empty SMS"), 0, 0)) == (
        "cannot send an empty SMS"
    )
