"""The doctor's checks: findings, and the command that fixes each problem, from given facts.

Every check is a function of what it is given (USB devices, ports, processes, file modes, the
modem's answers); no I/O here but naming a group. ``doctor.run`` gathers the real inputs at the
edges.

Past 500 lines on purpose: one job (judging what ``doctor`` found, and the command that fixes
it), as short functions grouped by what they inspect: USB devices, serial ports, permissions,
other processes, the modem, the configuration and the database. They share ``Finding``,
``Level`` and the fix texts; split by what they inspect, they would be six modules of 50 to 100
lines read in sequence anyway.
"""

from __future__ import annotations

import enum
import grp
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from anti_relous.doctor.dongles import DongleMode, lookup
from anti_relous.doctor.probe import Process, SerialPort, UsbDevice
from anti_relous.errors import JOIN_SERVICE_GROUP

if TYPE_CHECKING:
    from anti_relous.modem import Health, Identity

#: USB vendors of cellular modems: an unknown product of theirs is worth a look; other vendors'
#: mass-storage devices are just USB sticks.
MODEM_VENDORS = {
    "12d1": "Huawei",
    "19d2": "ZTE",
    "1e0e": "SIMCom",
    "2c7c": "Quectel",
    "1bbb": "Alcatel",
    "05c6": "Qualcomm",
    "1199": "Sierra Wireless",
    "0af0": "Option",
    "1410": "Novatel",
}
#: Drivers of the network interface a dongle in router (HiLink) mode presents instead of ports.
NETWORK_DRIVERS = {"cdc_ether", "rndis_host", "huawei_cdc_ncm", "cdc_ncm", "cdc_mbim", "qmi_wwan"}
#: Below this, SMS still work but may fail intermittently (TS 27.007 +CSQ 5: -103 dBm).
WEAK_SIGNAL_DBM = -103
UDEV_RULE = "99-anti-relous-modem.rules"

FIX_MODESWITCH = (
    "sudo apt-get install usb-modeswitch usb-modeswitch-data, then unplug and replug the dongle"
)
FIX_HILINK = (
    "switch it to stick mode: sudo sed -i 's/^#*HuaweiAltModeGlobal=.*/HuaweiAltModeGlobal=1/' "
    "/etc/usb_modeswitch.conf, then unplug and replug it (a firmware without stick mode cannot "
    "be used: see README, Hardware)"
)
FIX_NO_DONGLE = (
    "plug the dongle in, then `lsusb` should list it (Huawei 12d1, ZTE 19d2, SIMCom 1e0e, "
    "Quectel 2c7c); if it comes up as a CD-ROM: sudo apt-get install usb-modeswitch "
    "usb-modeswitch-data, then unplug and replug it"
)


def fix_udev(rule: Path) -> str:
    """The commands installing the udev rule shipped with the package at ``rule``."""
    return (
        f"sudo cp {rule} /etc/udev/rules.d/ && sudo udevadm control --reload && "
        "sudo udevadm trigger"
    )


class Level(enum.StrEnum):
    """How much a finding matters."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Finding:
    """One fact about the set-up, and for a problem the command that fixes it."""

    level: Level
    topic: str
    message: str
    fix: str | None = None


@dataclass(frozen=True)
class Report:
    """Every finding, in the order checked."""

    findings: list[Finding]

    @property
    def problems(self) -> list[Finding]:
        """The findings that stop the line from working."""
        return [f for f in self.findings if f.level is Level.PROBLEM]


# --- USB devices ---------------------------------------------------------------------------------


def check_usb(devices: Iterable[UsbDevice]) -> list[Finding]:
    """Known dongles and their mode; unknown products of modem vendors in a suspicious mode."""
    findings = []
    for device in devices:
        known = lookup(device.vendor_id, device.product_id)
        if known is not None:
            findings.append(_known_dongle(device, known.name, known.mode, known.at_interface))
            continue
        vendor = MODEM_VENDORS.get(device.vendor_id)
        if vendor is None:
            continue
        what = f"unknown {vendor} device {device.usb_id} ({device.product or 'no name'})"
        if device.ttys:
            findings.append(
                Finding(
                    Level.INFO,
                    "usb",
                    f"{what} with serial ports {', '.join(device.ttys)}: perhaps a modem",
                    "try each port as [modem] port; `anti-relous doctor` then asks it",
                )
            )
        elif device.drivers & NETWORK_DRIVERS or device.nets:
            findings.append(
                Finding(Level.WARNING, "usb", f"{what} is a network card, no AT port", FIX_HILINK)
            )
        elif "usb-storage" in device.drivers:
            findings.append(
                Finding(Level.WARNING, "usb", f"{what} looks like a CD-ROM", FIX_MODESWITCH)
            )
    return findings


def _known_dongle(
    device: UsbDevice, name: str, mode: DongleMode, at_interface: int | None
) -> Finding:
    where = f"{name} ({device.usb_id})"
    if mode is DongleMode.MASS_STORAGE:
        return Finding(
            Level.PROBLEM,
            "usb",
            f"{where} still presents itself as a CD-ROM (install mode): no modem yet",
            FIX_MODESWITCH,
        )
    if mode is DongleMode.HILINK:
        nets = f" ({', '.join(device.nets)})" if device.nets else ""
        return Finding(
            Level.PROBLEM,
            "usb",
            f"{where} is in HiLink mode: a network card{nets} with a web interface and no AT "
            "port, so it cannot be read over serial",
            FIX_HILINK,
        )
    at_ports = [
        tty for i in device.interfaces if i.number == at_interface for tty in i.ttys
    ] or device.ttys
    if not device.ttys:
        return Finding(
            Level.PROBLEM,
            "usb",
            f"{where} is in stick mode but has no serial port: the option driver is not bound",
            f"sudo modprobe option && echo {device.vendor_id} {device.product_id} | "
            "sudo tee /sys/bus/usb-serial/drivers/option1/new_id",
        )
    return Finding(
        Level.OK,
        "usb",
        f"{where} in stick mode; its AT port is /dev/{at_ports[0]} (interface {at_interface})",
    )


# --- serial ports --------------------------------------------------------------------------------


def list_ports(ports: Sequence[SerialPort]) -> list[Finding]:
    """The USB serial ports, with their USB ids and interfaces."""
    findings = [
        Finding(
            Level.INFO,
            "ports",
            f"{port.device}: {port.usb_id or 'not USB'} {port.description}".rstrip()
            + (f" (interface {port.location})" if port.location else ""),
        )
        for port in ports
        if port.usb_id is not None
    ]
    if not findings:
        findings.append(Finding(Level.INFO, "ports", "no USB serial port on this machine"))
    return findings


def check_dongle_present(usb: Sequence[Finding], port_exists: bool) -> Finding | None:
    """No known dongle on USB is the problem to fix first, unless [modem] port exists anyway
    (a modem on a USB-serial adapter, or the simulator)."""
    if any(f.topic == "usb" for f in usb):
        return None
    if port_exists:
        return Finding(Level.INFO, "usb", "no known 3G dongle on USB; [modem] port exists")
    return Finding(Level.PROBLEM, "usb", "no 3G dongle found on USB", FIX_NO_DONGLE)


def check_port(configured: str, *, dongle_ready: bool, rule: Path, rule_installed: bool) -> Finding:
    """[modem] port exists; otherwise how to get it.

    ``dongle_ready``: a known dongle is in stick mode with its ports, so only its name is
    missing; ``rule`` is the udev rule shipped with the package.
    """
    path = Path(configured)
    if path.exists():
        target = path.resolve()
        shown = f" -> {target}" if target != path else ""
        return Finding(Level.OK, "ports", f"[modem] port {configured}{shown} exists")
    if configured != "/dev/gsm-modem":
        fix = "set [modem] port to the dongle's AT port (see the list above, or /dev/serial/by-id/)"
    elif not dongle_ready:
        fix = "plug in a dongle that works in stick mode first (see usb above): it gets this name"
    elif rule_installed:
        fix = "the udev rule does not know this dongle: set [modem] port to its AT port (above)"
    else:
        fix = f"install the udev rule that creates it: {fix_udev(rule)}"
    return Finding(Level.PROBLEM, "ports", f"[modem] port {configured} does not exist", fix)


# --- permissions ---------------------------------------------------------------------------------


def check_access(
    path: Path, st: os.stat_result, uid: int, gids: set[int], group_name: Callable[[int], str]
) -> Finding:
    """Can a user (``uid`` in ``gids``) read and write the device ``path`` with mode ``st``?"""
    mode = stat.S_IMODE(st.st_mode)
    if uid == 0:
        allowed = True
    elif st.st_uid == uid:
        allowed = mode & 0o600 == 0o600
    elif st.st_gid in gids:
        allowed = mode & 0o060 == 0o060
    else:
        allowed = mode & 0o006 == 0o006
    group = group_name(st.st_gid)
    described = f"{path} (group {group}, mode {mode:04o})"
    if allowed:
        return Finding(Level.OK, "permissions", f"you can read and write {described}")
    return Finding(
        Level.PROBLEM,
        "permissions",
        f"you cannot read and write {described}: you are not in group {group}",
        f"sudo usermod -aG {group} $USER, then log out and in again (the service gets it from "
        "SupplementaryGroups= in its unit)",
    )


def group_name(gid: int) -> str:
    """The name of group ``gid``, or its number when it has none."""
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


# --- other processes -----------------------------------------------------------------------------


def check_modemmanager(running: Sequence[Process], rule_installed: bool, rule: Path) -> Finding:
    """ModemManager probes serial ports, may grab the dongle and read (delete) its SMS."""
    if not running:
        return Finding(Level.OK, "modemmanager", "ModemManager is not running")
    pid = running[0].pid
    if rule_installed:
        return Finding(
            Level.INFO,
            "modemmanager",
            f"ModemManager runs (pid {pid}), but the udev rule tells it to ignore known dongles",
        )
    return Finding(
        Level.WARNING,
        "modemmanager",
        f"ModemManager runs (pid {pid}): it may grab the dongle and read or delete its SMS",
        f"install the udev rule ({fix_udev(rule)}), or: sudo systemctl disable --now ModemManager",
    )


def check_holders(holders: Sequence[Process], port: str, daemon_pid: int | None) -> Finding:
    """Another program on the port keeps the daemon out (AT ports are opened exclusively)."""
    ours = [p for p in holders if p.pid == daemon_pid or "anti-relous" in p.command]
    others = [p for p in holders if p not in ours]
    if others:
        who = ", ".join(f"{p.name} (pid {p.pid})" for p in others)
        pids = " ".join(str(p.pid) for p in others)
        return Finding(Level.PROBLEM, "ports", f"{who} holds {port}", f"stop it: sudo kill {pids}")
    if ours:
        return Finding(
            Level.INFO,
            "ports",
            f"the anti-relous daemon (pid {ours[0].pid}) holds {port}: the modem details below "
            "are what it last published",
        )
    return Finding(Level.OK, "ports", f"no other program holds {port}")


# --- the modem -----------------------------------------------------------------------------------


def check_modem(identity: Identity | None, health: Health | None) -> list[Finding]:
    """The dongle's identity, SIM, signal, registration, storage and SMS centre."""
    findings = []
    if identity is not None:
        findings.append(
            Finding(
                Level.OK,
                "modem",
                f"{identity.manufacturer} {identity.model}, firmware {identity.firmware}, "
                f"IMEI {identity.imei}",
            )
        )
    if health is None:
        return findings
    findings.append(_sim_finding(health.sim_state))
    if health.signal_dbm is None:
        findings.append(
            Finding(
                Level.WARNING,
                "signal",
                "no signal measured",
                "check the antenna; a USB extension cable lets the dongle sit by a window",
            )
        )
    elif health.signal_dbm < WEAK_SIGNAL_DBM:
        findings.append(
            Finding(
                Level.WARNING,
                "signal",
                f"weak signal: {health.signal_dbm} dBm ({health.signal_csq}/31)",
                "move the dongle (a USB extension cable lets it sit by a window)",
            )
        )
    else:
        findings.append(
            Finding(Level.OK, "signal", f"signal {health.signal_dbm} dBm ({health.signal_csq}/31)")
        )
    findings.append(_registration_finding(health.registration, health.operator))
    if health.storage_total is not None:
        level = Level.WARNING if health.storage_full else Level.OK
        fix = "start the daemon: it drains the SIM" if health.storage_full else None
        findings.append(
            Finding(
                level,
                "storage",
                f"SIM storage {health.storage_used}/{health.storage_total} SMS",
                fix,
            )
        )
    if health.smsc:
        findings.append(Finding(Level.OK, "smsc", f"SMS centre {health.smsc}"))
    else:
        findings.append(
            Finding(
                Level.PROBLEM,
                "smsc",
                "the SIM has no SMS centre number: replies cannot leave",
                'set it once from a serial terminal: AT+CSCA="+33..." (your operator\'s SMSC), '
                "then AT+CSAS",
            )
        )
    return findings


def _sim_finding(sim_state: str) -> Finding:
    fixes = {
        "SIM PIN": 'set [modem] pin = "1234" in the configuration (or remove the PIN in a phone)',
        "SIM PUK": "unlock the SIM in a phone with its PUK, then set [modem] pin",
        "NOT INSERTED": "power the dongle off and insert a SIM",
    }
    if sim_state == "READY":
        return Finding(Level.OK, "sim", "SIM ready")
    return Finding(Level.PROBLEM, "sim", f"SIM state: {sim_state}", fixes.get(sim_state))


def _registration_finding(registration: str, operator: str | None) -> Finding:
    on = f" on {operator}" if operator else ""
    if registration == "home":
        return Finding(Level.OK, "network", f"registered{on}")
    if registration == "roaming":
        return Finding(
            Level.WARNING,
            "network",
            f"roaming{on}: every reply may cost extra",
            "use a SIM of the local operator",
        )
    return Finding(
        Level.PROBLEM,
        "network",
        f"not registered ({registration}){on}: no SMS can be sent",
        "check that the SIM plan is active and the operator covers this place",
    )


# --- configuration and database ------------------------------------------------------------------


def check_config_file(path: Path, st: os.stat_result) -> Finding | None:
    """The config holds the SIM PIN: nobody outside its group should read it."""
    if stat.S_IMODE(st.st_mode) & 0o007:
        return Finding(
            Level.WARNING,
            "config",
            f"{path} is readable by every user, and it may hold the SIM PIN",
            f"sudo chmod 640 {path}",
        )
    return None


def check_database(
    path: Path, *, writable: bool, st: os.stat_result | None, service_gid: int | None = None
) -> list[Finding]:
    """The database exists, this user can write it, and the operators' group shares it.

    ``service_gid``: the anti-relous group, when this machine has one.
    """
    if st is None:
        return [
            Finding(
                Level.PROBLEM,
                "database",
                f"no database at {path}",
                "anti-relous init (or start the daemon once)",
            )
        ]
    findings = []
    group = group_name(st.st_gid)
    if writable:
        findings.append(Finding(Level.OK, "database", f"{path} is writable (group {group})"))
    else:
        findings.append(
            Finding(
                Level.PROBLEM,
                "database",
                f"you cannot write {path} (or its directory, for the -wal file): pause, block "
                "and send would fail",
                JOIN_SERVICE_GROUP,
            )
        )
    if service_gid is not None and st.st_gid != service_gid:
        findings.append(
            Finding(
                Level.WARNING,
                "database",
                f"{path} belongs to group {group}, not anti-relous: operators cannot share it",
                f"sudo chgrp anti-relous {path}",
            )
        )
    if stat.S_IMODE(st.st_mode) & 0o060 != 0o060:
        findings.append(
            Finding(
                Level.WARNING,
                "database",
                f"{path} is not group-writable: operators' CLI cannot steer the line",
                f"sudo chmod 660 {path}",
            )
        )
    return findings


def database_out_of_reach(path: Path, closed: Path) -> Finding:
    """This user may not enter ``closed``, a directory on the way to the database."""
    return Finding(
        Level.PROBLEM,
        "database",
        f"permission denied on {closed}: you cannot reach {path}, so every command but this "
        "one fails",
        JOIN_SERVICE_GROUP,
    )


def check_line_settings(
    own_number: str, alert_numbers: Sequence[str], replies_per_number: int
) -> list[Finding]:
    """Settings that are valid but leave the line weaker than it looks."""
    findings = []
    if not own_number:
        findings.append(
            Finding(
                Level.WARNING,
                "line",
                "[line] own_number is empty: an SMS forged to come from the line itself would "
                "be answered, and the line would talk to itself",
                'set [line] own_number = "+33..." (the SIM\'s number)',
            )
        )
    if not alert_numbers:
        findings.append(
            Finding(
                Level.WARNING,
                "alerts",
                "[alerts] numbers is empty: nobody is told by SMS when a flood starts",
                'set [alerts] numbers = ["+33..."] (your own phone)',
            )
        )
    if replies_per_number == 0:
        findings.append(
            Finding(
                Level.WARNING,
                "quota",
                "[quota] replies_per_number = 0: the line never replies to anyone",
                "set it to 1 (the default); to stop replies for a while, `anti-relous pause`",
            )
        )
    return findings


def check_reply(text: str) -> Finding:
    """The reply's encoding and parts: more than two is costly for every texter."""
    from anti_relous.admin.status import reply_info, reply_warning

    info = reply_info(text)
    warning = reply_warning(info)
    if warning:
        return Finding(Level.WARNING, "reply", warning, "shorten [line] reply")
    return Finding(Level.OK, "reply", f"reply: {info.description}")
