"""Typed modem errors with code tables, each message saying what the operator can do about it."""

from __future__ import annotations

import enum

from anti_relous.errors import AntiRelousError

# 3GPP TS 27.007 section 9.2: +CME ERROR result codes (equipment errors).
CME_ERRORS: dict[int, str] = {
    0: "phone failure",
    1: "no connection to phone",
    3: "operation not allowed",
    4: "operation not supported",
    5: "PH-SIM PIN required",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    17: "SIM PIN2 required",
    18: "SIM PUK2 required",
    20: "memory full",
    21: "invalid index",
    22: "not found",
    23: "memory failure",
    24: "text string too long",
    25: "invalid characters in text string",
    30: "no network service",
    31: "network timeout",
    32: "network not allowed, emergency calls only",
    100: "unknown error",
}

# 3GPP TS 27.005 section 3.2.5: +CMS ERROR result codes. 0-255 are network causes relayed from
# TS 24.011 / TS 23.040; 300-500 are the modem's own; 512 and above are manufacturer-specific.
CMS_ERRORS: dict[int, str] = {
    1: "unassigned (unallocated) number",
    8: "operator determined barring",
    10: "call barred",
    21: "short message transfer rejected",
    27: "destination out of service",
    28: "unidentified subscriber",
    29: "facility rejected",
    30: "unknown subscriber",
    38: "network out of order",
    41: "temporary failure",
    42: "congestion",
    47: "resources unavailable",
    50: "requested facility not subscribed",
    69: "requested facility not implemented",
    96: "invalid mandatory information",
    111: "protocol error",
    300: "ME failure",
    301: "SMS service of ME reserved",
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    312: "PH-SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    315: "SIM wrong",
    316: "SIM PUK required",
    320: "memory failure",
    321: "invalid memory index",
    322: "memory full",
    330: "SMSC address unknown",
    331: "no network service",
    332: "network timeout",
    340: "no +CNMA acknowledgement expected",
    500: "unknown error",
    # Not in the standard: Huawei, SIMCom and Quectel firmware answer these while busy
    # (SIM initialising, previous message still in flight). Retrying later works.
    512: "modem busy (manufacturer-specific)",
    515: "please wait, initialisation or command in progress (manufacturer-specific)",
}

#: Codes after which the same command may succeed if retried later.
CMS_RETRYABLE = frozenset({41, 42, 47, 314, 331, 332, 512, 515})


class ModemError(AntiRelousError):
    """Anything that went wrong talking to the dongle."""


class PortNotFound(ModemError):
    """The serial device does not exist (unplugged, wrong path, still in mass-storage mode)."""

    def __init__(self, port: str):
        self.port = port
        super().__init__(
            f"no modem at {port}: check the dongle is plugged in, then run `anti-relous doctor` "
            "to list serial ports (a Huawei stick may need usb_modeswitch first)"
        )


class PortPermissionDenied(ModemError):
    """The process may not open the serial device."""

    def __init__(self, port: str):
        self.port = port
        super().__init__(
            f"permission denied on {port}: add the service user to the 'dialout' group "
            "(sudo usermod -aG dialout anti-relous) and restart the service"
        )


class PortBusy(ModemError):
    """Another program holds the serial device."""

    def __init__(self, port: str, detail: str = ""):
        self.port = port
        super().__init__(
            f"{port} is in use by another program{f' ({detail})' if detail else ''}: "
            "stop ModemManager (sudo systemctl disable --now ModemManager) or whatever holds it; "
            "`anti-relous doctor` shows which process"
        )


class PortLost(ModemError):
    """The device vanished while open (unplugged, USB reset, re-enumeration)."""

    def __init__(self, port: str, detail: str = ""):
        self.port = port
        super().__init__(
            f"lost the modem on {port}{f' ({detail})' if detail else ''}: "
            "the dongle was unplugged or reset; the daemon reopens it when it reappears"
        )


class CommandTimeout(ModemError):
    """The modem did not finish answering a command in time (hung firmware, wrong port)."""

    def __init__(self, command: str, timeout_s: float):
        self.command = command
        self.timeout_s = timeout_s
        super().__init__(
            f"the modem did not answer {command!r} within {timeout_s:g} s: it may have hung "
            "(the daemon reopens the port) or the port may not be the AT interface "
            "(try another /dev/ttyUSBn with `anti-relous doctor`)"
        )


class AtError(ModemError):
    """The modem answered a plain ERROR."""

    def __init__(self, command: str):
        self.command = command
        super().__init__(f"the modem refused {command!r} (ERROR)")


class CmeError(AtError):
    """+CME ERROR: n, an equipment error."""

    def __init__(self, command: str, code: int, *, meaning: str | None = None):
        AtError.__init__(self, command)
        self.code = code
        # ``meaning`` keeps the modem's own words when it answered in verbose form (AT+CMEE=2).
        self.meaning = meaning or CME_ERRORS.get(code, "unknown equipment error")
        self.args = (f"the modem refused {command!r}: +CME ERROR {code} ({self.meaning})",)


class CmsError(AtError):
    """+CMS ERROR: n, a message service error; ``retryable`` says if trying later may work."""

    def __init__(self, command: str, code: int, *, meaning: str | None = None):
        AtError.__init__(self, command)
        self.code = code
        self.meaning = meaning or CMS_ERRORS.get(code, "unknown message service error")
        self.retryable = code in CMS_RETRYABLE
        hint = " (temporary: retry later)" if self.retryable else ""
        self.args = (f"the modem refused {command!r}: +CMS ERROR {code} ({self.meaning}){hint}",)


class MalformedResponse(ModemError):
    """The modem answered a command with a line we cannot read."""

    def __init__(self, command: str, line: str, detail: str):
        self.command = command
        self.line = line
        super().__init__(
            f"cannot read the modem's answer to {command!r} ({detail}): {line!r}; if this "
            "persists, the port may not be the modem's AT interface or the firmware speaks a "
            'dialect anti-relous does not know (try backend = "gammu")'
        )


class SimError(ModemError):
    """The SIM is missing, locked or refused."""


class SimNotInserted(SimError):
    def __init__(self) -> None:
        super().__init__("no SIM card in the modem: insert one (power off the dongle first)")


class SimPinRequired(SimError):
    def __init__(self) -> None:
        super().__init__(
            'the SIM asks for its PIN: set it in [modem] pin = "1234", or remove the PIN by '
            "putting the SIM in a phone"
        )


class WrongPin(SimError):
    """The SIM rejected [modem] pin. ``tries_left``: what the firmware said was left, if it did.

    ``since`` is set when the rejection is a remembered one (the link does not try the same PIN
    again after a restart): when it happened, in the operator's words.
    """

    def __init__(self, tries_left: int | None = None, *, since: str | None = None) -> None:
        self.tries_left = tries_left
        self.since = since
        if since is None:
            left = f" ({_tries(tries_left)} left before the SIM locks)" if tries_left else ""
            what = (
                f"the SIM rejected the PIN in [modem] pin{left}: correct it, then reload or "
                "restart anti-relous. anti-relous will not enter this PIN again, even after a "
                "restart"
            )
        else:
            left = f", {_tries(tries_left)} left" if tries_left else ""
            what = (
                f"the SIM rejected the PIN in [modem] pin on {since}{left}: anti-relous will "
                "not enter it again. Correct [modem] pin, then reload or restart anti-relous "
                "(if this PIN is right after all, for a replaced SIM, `anti-relous doctor "
                "--retry-pin` tries it once)"
            )
        super().__init__(
            f"{what}: three wrong PINs lock the SIM behind its PUK, which anti-relous never "
            "tries (it is on the SIM's card, or the operator gives it)"
        )


class LastPinTry(SimError):
    """The SIM has one PIN try left (or none): anti-relous does not spend it."""

    def __init__(self, tries_left: int) -> None:
        self.tries_left = tries_left
        super().__init__(
            f"the SIM has {_tries(tries_left)} left, and anti-relous does not spend the last "
            "one: a wrong PIN would lock the SIM behind its PUK. Put the SIM in a phone and "
            "unlock it there with the right PIN (or switch the PIN off), then check [modem] "
            "pin and restart anti-relous"
        )


class SimPukRequired(SimError):
    def __init__(self) -> None:
        super().__init__(
            "the SIM is locked (PUK required) after too many wrong PINs: anti-relous never tries "
            "a PUK. Unlock it in a phone with the PUK from the SIM's card (or from the "
            "operator), then set the PIN in [modem] pin"
        )


def _tries(count: int | None) -> str:
    return f"{count} PIN try" if count == 1 else f"{count} PIN tries"


#: The SIM states after which opening the modem again would spend a PIN try, or cannot help:
#: the line stops trying until its configuration changes.
NEVER_RETRIED = (WrongPin, LastPinTry, SimPukRequired)


class NoSmsStorage(ModemError):
    """The device offers no SMS storage over AT (a phone such as the Nokia N79)."""

    def __init__(self, port: str) -> None:
        self.port = port
        super().__init__(
            f"the device on {port} offers no SMS storage over AT (it refuses every AT+CPMS): "
            "anti-relous cannot read its SMS. Use a USB 3G dongle (README, Hardware)"
        )


class StorageFull(ModemError):
    """The SIM message storage is full (^SMMEMFULL, +CMS ERROR 322): new SMS wait in the network."""

    def __init__(self, storage: str = "SM"):
        self.storage = storage
        super().__init__(
            f"the SIM message storage {storage} is full: new SMS wait in the operator's queue "
            "until the daemon deletes stored ones (is the database writable?)"
        )


class PduError(ModemError):
    """A PDU could not be decoded or a text could not be encoded."""


class SendFailed(ModemError):
    """Sending an SMS failed: every ``Modem.send`` failure, in every backend, is one of these.

    ``cause`` says why; ``parts_sent`` of its ``parts`` had left before it (``parts`` is 0 when
    the text could not even be encoded). Whether the part in flight left too depends on the
    cause: ``send_outcome`` is the one rule that reads it.
    """

    def __init__(self, cause: ModemError, parts_sent: int, parts: int):
        self.cause = cause
        self.parts_sent = parts_sent
        self.parts = parts
        left = f" ({parts_sent} of {parts} parts had left)" if parts else ""
        super().__init__(f"{cause}{left}")


class SendOutcome(enum.Enum):
    """What a failed send means for the SMS, so that replies stay at most once."""

    #: The text cannot be encoded: nothing left, and trying again would fail the same way.
    UNSENDABLE = "unsendable"
    #: The modem refused the first part (+CMS ERROR): nothing left, trying later is safe.
    REFUSED = "refused"
    #: A part may have left (some had, or a timeout or a lost port hid the answer to the one in
    #: flight): never send it again.
    IN_DOUBT = "in doubt"


def send_outcome(error: ModemError) -> SendOutcome:
    """The one at-most-once rule for a failed ``Modem.send``, used by the daemon and ``send``.

    An error outside the ``SendFailed`` contract says nothing of the parts that left: in doubt.
    """
    if isinstance(error, SendFailed):
        cause, nothing_left = error.cause, error.parts_sent == 0
    else:
        cause, nothing_left = error, False
    if isinstance(cause, PduError):
        return SendOutcome.UNSENDABLE
    if isinstance(cause, CmsError) and nothing_left:
        return SendOutcome.REFUSED
    return SendOutcome.IN_DOUBT
