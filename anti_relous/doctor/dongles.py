"""Known USB 3G/4G dongles: which USB id is in which mode, and which interface answers AT."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class DongleMode(enum.Enum):
    """What a dongle presents to the host under one USB vendor:product id."""

    #: Serial ports (option/usbserial driver); one interface takes AT commands: usable as is.
    STICK = "stick"
    #: A network card with a web UI behind it (Huawei "HiLink"): no AT port at all. The firmware
    #: must be switched to stick mode (or the dongle replaced) before anti-relous can use it.
    HILINK = "hilink"
    #: A virtual CD-ROM holding the Windows driver; usb_modeswitch turns it into one of the
    #: other ids. If a dongle stays here, install the usb-modeswitch package.
    MASS_STORAGE = "mass-storage"


@dataclass(frozen=True)
class Dongle:
    """One USB id of one dongle model.

    ``at_interface`` is the USB ``bInterfaceNumber`` of the port that answers AT commands and
    receives ``+CMTI`` (the "PC UI" or "AT primary" port, not the PPP data port); None when the
    mode has no AT port.
    """

    vendor_id: str
    product_id: str
    name: str
    mode: DongleMode
    at_interface: int | None = None
    #: Where the facts come from, so the next reader can check them.
    source: str = ""


# Sources, shortened below:
#   MM-<vendor>  ModemManager src/plugins/<vendor>/77-mm-<vendor>-port-types.rules, the
#                ID_MM_PORT_TYPE_AT_PRIMARY interface of that product id.
#   chan_dongle  asterisk-chan-dongle pdiscovery.c device_ids: the data (AT) interface of
#                Huawei product ids.
#   forum        usb_modeswitch forum and distribution wiki reports quoting usb-devices output.
KNOWN_DONGLES: tuple[Dongle, ...] = (
    # Huawei E173: ships as a CD-ROM (12d1:1446), usb_modeswitch turns it into 12d1:1436
    # (interfaces 0, 3, 4 are serial; 4 is the PC UI port) or, on older firmware, 12d1:140c.
    Dongle(
        "12d1",
        "1446",
        "Huawei E173 / E1550 (install mode)",
        DongleMode.MASS_STORAGE,
        source="forum: usb-devices of 12d1:1446, two usb-storage interfaces",
    ),
    Dongle(
        "12d1",
        "1436",
        "Huawei E173 (stick mode)",
        DongleMode.STICK,
        at_interface=4,
        source="chan_dongle {0x12d1, 0x1436, {4, 3}}; forum: serial on interfaces 0, 3, 4",
    ),
    Dongle(
        "12d1",
        "140c",
        "Huawei E173u / E17xx (stick mode)",
        DongleMode.STICK,
        at_interface=3,
        source="chan_dongle {0x12d1, 0x140c, {3, 2}}",
    ),
    # Huawei E3131 (and E353/E3531): ships as 12d1:1f01. The default switch gives HiLink
    # (12d1:14db, a network card); the alternative switch message gives stick mode, 12d1:1506 or
    # the generic 12d1:1001: interface 0 modem (PPP), 1 diagnostics, 2 PC UI.
    Dongle(
        "12d1",
        "1f01",
        "Huawei E3131 / E353 (install mode)",
        DongleMode.MASS_STORAGE,
        source="forum: dmesg 'HUAWEI HiLink' 12d1:1f01, usb-storage",
    ),
    Dongle(
        "12d1",
        "14db",
        "Huawei E3131 / E353 (HiLink)",
        DongleMode.HILINK,
        source="forum: lsusb 12d1:14db E353/E3131, cdc_ether only",
    ),
    Dongle(
        "12d1",
        "1506",
        "Huawei E3131 / E171 (stick mode)",
        DongleMode.STICK,
        at_interface=2,
        source="forum: 12d1:1506 interfaces modem=0, diag=1, pcui=2",
    ),
    Dongle(
        "12d1",
        "1001",
        "Huawei E1550 / E3131 / E3531 (generic stick mode)",
        DongleMode.STICK,
        at_interface=2,
        source="chan_dongle {0x12d1, 0x1001, {2, 1}}; Arch wiki E1550",
    ),
    # ZTE MF190: ships as a CD-ROM (19d2:2000 or, for the MF110/MF190 variant, 19d2:0150) and
    # switches to 19d2:0117 or 19d2:0124.
    Dongle(
        "19d2",
        "2000",
        "ZTE MF190 (install mode)",
        DongleMode.MASS_STORAGE,
        source="forum: dmesg 19d2:2000 ZTE MF190 before usb_modeswitch",
    ),
    Dongle(
        "19d2",
        "0150",
        "ZTE MF110 / MF190 variant (install mode)",
        DongleMode.MASS_STORAGE,
        source="Arch wiki ZTE MF110/MF190: 19d2:0150 CD-ROM, ejected to 19d2:0124",
    ),
    Dongle(
        "19d2",
        "0117",
        "ZTE MF190 (stick mode)",
        DongleMode.STICK,
        at_interface=2,
        source="MM-zte: 0117 AT primary interface 02",
    ),
    Dongle(
        "19d2",
        "0124",
        "ZTE MF110 / MF190 variant (stick mode)",
        DongleMode.STICK,
        at_interface=4,
        source="MM-zte: 0124 AT primary interface 04",
    ),
    # SIMCom SIM7600 (and SIM7000/SIM7100) in the default USB composition: 0 diagnostics,
    # 1 NMEA, 2 AT, 3 AT/PPP, 4 audio. The SIM800 is absent on purpose: its USB port is for
    # firmware upgrades only and it speaks AT over its UART, so on a USB-serial adapter (CH340,
    # CP210x) it cannot be told apart from any other serial gadget. Point modem.port at its
    # /dev/serial/by-id/ path instead.
    Dongle(
        "1e0e",
        "9001",
        "SIMCom SIM7600 / SIM7000 / SIM7100",
        DongleMode.STICK,
        at_interface=2,
        source="MM-simtech: 9001 AT primary interface 02",
    ),
    # Quectel EC25 / EG25: 0 diagnostics, 1 NMEA, 2 AT primary, 3 AT secondary (PPP).
    Dongle(
        "2c7c",
        "0125",
        "Quectel EC25 / EG25",
        DongleMode.STICK,
        at_interface=2,
        source="MM-quectel: 0125 AT primary interface 02",
    ),
)


def lookup(vendor_id: str, product_id: str) -> Dongle | None:
    """The table entry for a USB id (hex, any case, with or without ``0x``), or None."""
    key = (_normalise_id(vendor_id), _normalise_id(product_id))
    for dongle in KNOWN_DONGLES:
        if (dongle.vendor_id, dongle.product_id) == key:
            return dongle
    return None


def _normalise_id(usb_id: str) -> str:
    text = usb_id.strip().lower()
    return text.removeprefix("0x").rjust(4, "0")
