"""The Gammu backend: the Modem protocol over python-gammu's StateMachine, for devices Gammu drives.

What differs from the AT backend, by necessity:

* **PDUs are libgammu's re-encoding, not the SIM's bytes.** Gammu hands back parsed messages.
  ``list_stored`` re-encodes each part with ``gammu.EncodePDU`` (layout ``Deliver``); for
  well-formed messages this reproduces the stored PDU byte for byte (tested), but a malformed
  PDU comes back as whatever libgammu made of it, and a status report as no bytes at all
  (libgammu cannot encode one), which the service quarantines as undecodable.
* **Indices are Gammu locations** (``Location`` of ``GetNextSMS``, counted from 1 over AT; the
  dummy driver uses 10000 * folder + n), which is what ``DeleteSMS`` takes.
* **No delete flag.** Gammu has no AT+CMGD=<index>,1; ``delete_read`` deletes, one by one, the
  locations the last ``list_stored`` returned (listing marks them read, as AT+CMGL=4 does) and
  that were not deleted since, so a message arriving after the listing is never touched.
* **New-message notification** uses Gammu's incoming-SMS callback (``SetIncomingSMS``: Gammu
  sends AT+CNMI and parses +CMTI). ``wait_for_new_message`` lets Gammu read the port
  (``ReadDevice``) every ``NOTIFY_POLL_S``; python-gammu serialises that with the commands of
  the worker thread. A device without notifications (``SetIncomingSMS`` unsupported) never
  signals: the daemon's regular poll still finds its messages.
* **A hung dongle is slow to detect**: Gammu waits about 20 s per command and, for Huawei
  models, resets the device and waits again before raising ERR_TIMEOUT (``CommandTimeout``).
* **Send errors lose their +CMS code**: Gammu reports most of them as ERR_UNKNOWN.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import gammu

from anti_relous.config import ConfigError
from anti_relous.modem import Health, Identity, Listing, MessageStatus, StoredMessage
from anti_relous.modem.errors import (
    CommandTimeout,
    ModemError,
    PortBusy,
    PortLost,
    PortNotFound,
    PortPermissionDenied,
    SendFailed,
    SimError,
    SimNotInserted,
    SimPinRequired,
    SimPukRequired,
    StorageFull,
    WrongPin,
)
from anti_relous.modem.pdu import submit_messages
from anti_relous.numbers import mask

if TYPE_CHECKING:
    from anti_relous.config import ModemConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How often wait_for_new_message lets Gammu read the port for +CMTI.
NOTIFY_POLL_S = 0.2

# Gammu's State of a stored message -> TS 27.005 <stat>.
_STATUS = {
    "UnRead": MessageStatus.REC_UNREAD,
    "Read": MessageStatus.REC_READ,
    "UnSent": MessageStatus.STO_UNSENT,
    "Sent": MessageStatus.STO_SENT,
}
# Gammu's message Type -> the EncodePDU layout that writes it back.
_LAYOUT = {"Deliver": "Deliver", "Submit": "Submit", "Status_Report": "StatusReport"}
# GetSecurityStatus -> the words of AT+CPIN? (None means nothing is asked).
_SIM_STATE = {
    None: "READY",
    "PIN": "SIM PIN",
    "PUK": "SIM PUK",
    "PIN2": "SIM PIN2",
    "PUK2": "SIM PUK2",
    "Phone": "PH-SIM PIN",
    "Network": "PH-NET PIN",
}
# GetNetworkInfo State -> Health.registration.
_REGISTRATION = {
    "HomeNetwork": "home",
    "RoamingNetwork": "roaming",
    "RequestingNetwork": "searching",
    "RegistrationDenied": "denied",
    "NoNetwork": "not registered",
    "Unknown": "unknown",
}
# Errors after which a query simply has no answer (health fields become None).
_NO_ANSWER = (
    gammu.ERR_NOTSUPPORTED,
    gammu.ERR_NOTIMPLEMENTED,
    gammu.ERR_EMPTY,
    gammu.ERR_SECURITYERROR,
    gammu.ERR_UNKNOWN,
    gammu.ERR_UNKNOWNRESPONSE,
    gammu.ERR_NOSIM,
)
# Errors meaning the device itself is gone or unusable mid-session.
_PORT_LOST = (
    gammu.ERR_DEVICEREADERROR,
    gammu.ERR_DEVICEWRITEERROR,
    gammu.ERR_DEVICENOTWORK,
    gammu.ERR_DEVICECHANGESPEEDERROR,
    gammu.ERR_DEVICEDTRRTSERROR,
    gammu.ERR_DEVICEPARITYERROR,
    gammu.ERR_NOTCONNECTED,
)


def translate_error(
    error: gammu.GSMError, port: str, *, elapsed_s: float = 0.0, doing: str = ""
) -> ModemError:
    """The typed modem error, with its advice, for a python-gammu exception.

    ``doing`` ("send the SMS to ...") words the message of errors without a type of their own.
    """
    detail = _details(error)
    where = detail.get("Where", "?")
    text = detail.get("Text", str(error))
    if isinstance(error, gammu.ERR_DEVICENOTEXIST):
        return PortNotFound(port)
    if isinstance(error, gammu.ERR_DEVICENOPERMISSION):
        return PortPermissionDenied(port)
    if isinstance(error, gammu.ERR_DEVICEOPENERROR | gammu.ERR_DEVICELOCKED | gammu.ERR_DEVICEBUSY):
        return PortBusy(port, text)
    if isinstance(error, _PORT_LOST):
        return PortLost(port, text)
    if isinstance(error, gammu.ERR_TIMEOUT):
        return CommandTimeout(f"gammu {where}", elapsed_s)
    if isinstance(error, gammu.ERR_SECURITYERROR):
        return SimPinRequired()
    if isinstance(error, gammu.ERR_NOSIM):
        return SimNotInserted()
    if isinstance(error, gammu.ERR_FULL):
        return StorageFull()
    return ModemError(
        f"gammu could not {doing or where} on {port}: {text} (gammu error "
        f"{detail.get('Code', '?')}); check the dongle, its SIM credit and signal with "
        '`anti-relous doctor`, or try backend = "at"'
    )


class GammuModem:
    """A dongle driven by libgammu (``[modem] backend = "gammu"``)."""

    def __init__(self, config: ModemConfig) -> None:
        self._config = config
        self._device = config.port
        self._machine: Any = None
        # Locations the last listing returned and nobody deleted since: what delete_read deletes.
        self._listed: set[int] = set()
        self._new_message = threading.Event()
        self._notifications = False

    @property
    def port(self) -> str:
        """The device path, for messages."""
        return self._device

    # ---- lifecycle ------------------------------------------------------------------------

    def open(self) -> None:
        """Connect through Gammu, unlock the SIM if asked, and turn on +CMTI notifications."""
        self.close()
        machine = gammu.StateMachine()
        self._read_config(machine)
        self._call("Init", machine.Init)
        self._machine = machine
        try:
            self._unlock()
            self._enable_notifications()
        except BaseException:
            self.close()
            raise
        log.debug("gammu modem open on %s", self._device)  # ModemLink logs it with the identity

    def close(self) -> None:
        """Disconnect; safe to call twice or after a failure."""
        machine, self._machine = self._machine, None
        self._listed.clear()
        if machine is not None:
            with contextlib.suppress(gammu.GSMError):
                machine.Terminate()

    # ---- queries ----------------------------------------------------------------------------

    def identity(self) -> Identity:
        """Manufacturer, model, firmware and IMEI as Gammu reads them."""
        machine = self._open_machine()
        model = self._call("GetModel", machine.GetModel)
        return Identity(
            manufacturer=str(self._call("GetManufacturer", machine.GetManufacturer)),
            model=str(model[1] or model[0]),
            firmware=str(self._call("GetFirmware", machine.GetFirmware)[0]),
            imei=str(self._call("GetIMEI", machine.GetIMEI)),
        )

    def health(self) -> Health:
        """SIM state, signal, registration, operator, storage use and SMSC; unknowns are None."""
        machine = self._open_machine()
        try:
            sim_state = _SIM_STATE.get(machine.GetSecurityStatus(), "unknown")
        except _NO_ANSWER:
            sim_state = "unknown"
        except gammu.GSMError as error:
            raise translate_error(error, self._device) from None
        signal = self._optional("GetSignalQuality", machine.GetSignalQuality) or {}
        network = self._optional("GetNetworkInfo", machine.GetNetworkInfo) or {}
        storage = self._optional("GetSMSStatus", machine.GetSMSStatus) or {}
        smsc = self._optional("GetSMSC", lambda: machine.GetSMSC(Location=1)) or {}
        dbm = signal.get("SignalStrength", -1)
        # Gammu reports dBm; over AT it computed them from +CSQ (TS 27.007 8.5).
        csq = (dbm + 113) // 2 if -113 <= dbm <= -51 else None
        return Health(
            sim_state=sim_state,
            signal_csq=csq,
            signal_dbm=-113 + 2 * csq if csq is not None else None,
            registration=_REGISTRATION.get(network.get("State", "Unknown"), "unknown"),
            operator=network.get("NetworkName") or network.get("NetworkCode") or None,
            storage_used=storage.get("SIMUsed"),
            storage_total=storage.get("SIMSize"),
            smsc=smsc.get("Number") or None,
        )

    # ---- messages ---------------------------------------------------------------------------

    def list_stored(self, meanwhile: Callable[[], object] | None = None) -> Listing:
        """Every stored part, with libgammu's re-encoding of its PDU (see the module docstring).

        ``meanwhile`` runs first: libgammu's walk leaves no moment when the line works alone.

        Complete as far as libgammu's walk through the locations goes; ``delete_read`` deletes
        only the locations listed here, so it can never take a message this listing missed.
        """
        if meanwhile is not None:
            meanwhile()
        machine = self._open_machine()
        parts: list[dict[str, Any]] = []
        try:
            batch = self._call("GetNextSMS", machine.GetNextSMS, Start=True, Folder=0)
            while True:
                parts.extend(batch)
                location = batch[-1]["Location"]
                batch = self._call("GetNextSMS", machine.GetNextSMS, Location=location, Folder=0)
        except _Empty:
            pass
        stored = [
            StoredMessage(
                storage=part.get("Memory") or "SM",
                index=part["Location"],
                status=_STATUS.get(part.get("State", ""), MessageStatus.REC_READ),
                pdu=_reencode(part),
            )
            for part in parts
        ]
        self._listed = {message.index for message in stored}
        log.debug("gammu listed %d part(s)", len(stored))
        return Listing(tuple(stored), complete=True)

    def delete(self, index: int) -> None:
        """Delete the part at Gammu location ``index``; an empty location is not an error."""
        machine = self._open_machine()
        with contextlib.suppress(_Empty):
            self._call("DeleteSMS", machine.DeleteSMS, Folder=0, Location=index)
        self._listed.discard(index)

    def delete_read(self) -> None:
        """Delete, one by one, the parts the last listing returned (Gammu has no delete flag)."""
        for index in sorted(self._listed):
            self.delete(index)

    def send(self, number: str, text: str, *, reference: int = 0) -> list[int]:
        """Send ``text`` as linked parts if long; returns Gammu's message reference per part.

        Every failure raises SendFailed, as in the AT backend (see ``errors.send_outcome``).
        """
        try:
            machine = self._open_machine()
            messages = submit_messages(number, text, reference=reference)
        except ModemError as error:
            raise SendFailed(error, 0, 0) from error
        references: list[int] = []
        for message in messages:
            started = time.monotonic()
            try:
                references.append(int(machine.SendSMS(message)))
            except gammu.GSMError as error:
                # Gammu folds most +CMS ERROR codes into ERR_UNKNOWN: the code is lost.
                cause = translate_error(
                    error,
                    self._device,
                    elapsed_s=time.monotonic() - started,
                    doing=f"send the SMS to {mask(number)}",
                )
                raise SendFailed(cause, len(references), len(messages)) from None
        log.debug("gammu sent %d part(s) to %s", len(references), mask(number))
        return references

    def notify_new_messages(self, enabled: bool) -> None:
        """Left to Gammu: its incoming-SMS notifications stay as ``open`` set them."""

    def wait_for_new_message(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` for a +CMTI (through Gammu's incoming-SMS callback)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self._new_message.is_set():
                self._new_message.clear()
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            machine = self._machine
            if machine is not None and self._notifications:
                # Gammu parses any +CMTI waiting on the port and calls _on_incoming.
                self._call("ReadDevice", machine.ReadDevice, False)
            self._new_message.wait(min(remaining, NOTIFY_POLL_S))

    # ---- internals --------------------------------------------------------------------------

    def _read_config(self, machine: Any) -> None:
        source = self._config.gammu_config
        if source:
            try:
                machine.ReadConfig(Section=0, Filename=source)
            except gammu.GSMError as error:
                raise ConfigError(
                    f"gammu cannot use {source} ({_details(error).get('Text', error)}): "
                    "point it at a gammurc with a [gammu] section, or leave it empty to use "
                    "[modem] port",
                    key="modem.gammu_config",
                ) from None
        else:
            # Gammu reads its settings from a file only: python-gammu's SetConfig leaves
            # the AT+CNMI defaults unset, and Gammu then refuses incoming-SMS notifications.
            with tempfile.TemporaryDirectory(prefix="anti-relous-gammu-") as folder:
                gammurc = Path(folder) / "gammurc"
                gammurc.write_text(
                    f"[gammu]\ndevice = {self._config.port}\n"
                    f"connection = at{self._config.baudrate}\n",
                    encoding="utf-8",
                )
                machine.ReadConfig(Section=0, Filename=str(gammurc))
        self._device = str(machine.GetConfig(0).get("Device") or self._config.port)

    def _unlock(self) -> None:
        machine = self._machine
        state = self._call("GetSecurityStatus", machine.GetSecurityStatus)
        if state is None:
            return
        if state == "PUK":
            raise SimPukRequired()
        if state != "PIN":
            raise SimError(
                f"the SIM or the dongle asks for a {state} code, which anti-relous cannot enter: "
                "unlock it in a phone"
            )
        if not self._config.pin:
            raise SimPinRequired()
        try:
            # Once, never retried: three wrong PINs lock the SIM behind its PUK.
            machine.EnterSecurityCode("PIN", self._config.pin)
        except gammu.ERR_SECURITYERROR:
            raise WrongPin() from None
        except gammu.GSMError as error:
            raise translate_error(error, self._device) from None
        log.info("SIM unlocked with the configured PIN")

    def _enable_notifications(self) -> None:
        machine = self._machine
        machine.SetIncomingCallback(self._on_incoming)
        try:
            machine.SetIncomingSMS(True)
        except gammu.GSMError as error:
            self._notifications = False
            log.info(
                "no new-message notifications through gammu on %s (%s): relying on polls",
                self._device,
                _details(error).get("Text", error),
            )
        else:
            self._notifications = True

    def _on_incoming(self, machine: Any, kind: str, data: dict[str, Any]) -> None:
        # Runs on whichever thread was in a gammu call: only set a flag.
        if kind == "SMS":
            self._new_message.set()

    def _open_machine(self) -> Any:
        if self._machine is None:
            raise PortLost(self._device, "not open")
        return self._machine

    def _call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        started = time.monotonic()
        try:
            return function(*args, **kwargs)
        except gammu.ERR_EMPTY:
            raise _Empty() from None
        except gammu.GSMError as error:
            translated = translate_error(
                error, self._device, elapsed_s=time.monotonic() - started, doing=what
            )
            log.debug("gammu %s failed: %s", what, _details(error))
            raise translated from None

    def _optional(self, what: str, function: Callable[[], T]) -> T | None:
        """A query whose failure only means "unknown", unless the port itself failed."""
        try:
            return function()
        except _NO_ANSWER as error:
            log.debug("gammu %s: no answer (%s)", what, _details(error).get("Text", error))
            return None
        except gammu.GSMError as error:
            raise translate_error(error, self._device) from None


class _Empty(ModemError):
    """Gammu's ERR_EMPTY: no (more) message there."""

    def __init__(self) -> None:
        super().__init__("gammu found nothing at that location")


def _reencode(part: dict[str, Any]) -> bytes:
    layout = _LAYOUT.get(part.get("Type", ""), "Deliver")
    try:
        return bytes(gammu.EncodePDU(part, layout))
    except (gammu.GSMError, ValueError, TypeError) as error:
        log.warning(
            "gammu cannot re-encode the %s at location %s (%s): kept as an empty PDU",
            part.get("Type"),
            part.get("Location"),
            error,
        )
        return b""


def _details(error: BaseException) -> dict[str, Any]:
    detail = error.args[0] if error.args else {}
    return detail if isinstance(detail, dict) else {"Text": str(error)}
