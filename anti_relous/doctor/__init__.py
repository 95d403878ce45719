"""`anti-relous doctor`: find what keeps a dongle from working and the command that fixes it.

``checks`` judges (pure functions of what they are given), ``probe`` reads the machine (/sys,
/proc, pyserial's port list), ``dongles`` is the table of known USB ids; ``run`` here gathers
the real inputs at the edges, then asks the modem itself, the config and the database.
Imports: ``config``, ``store``, ``modem`` (the package root, ``open_modem`` and its errors),
``link`` (to open the modem as the daemon does, never re-entering a rejected PIN), ``admin``
and ``errors``; pyserial only in ``probe``; never ``cli`` or ``daemon``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anti_relous.doctor.checks import (
    UDEV_RULE,
    Finding,
    Level,
    Report,
    check_access,
    check_config_file,
    check_database,
    check_dongle_present,
    check_holders,
    check_line_settings,
    check_modem,
    check_modemmanager,
    check_port,
    check_reply,
    check_usb,
    database_out_of_reach,
    group_name,
    list_ports,
)
from anti_relous.doctor.probe import (
    SerialPort,
    find_processes,
    list_serial_ports,
    port_holders,
    scan_usb,
)
from anti_relous.errors import AntiRelousError
from anti_relous.modem.errors import LastPinTry, SimPukRequired, WrongPin

if TYPE_CHECKING:
    from anti_relous.config import Config
    from anti_relous.link import PinRejections


def run(
    config_path: Path,
    *,
    open_modem: bool = True,
    sysfs_root: Path = Path("/sys"),
    proc_root: Path = Path("/proc"),
    udev_rules_dir: Path = Path("/etc/udev/rules.d"),
    ports: Sequence[SerialPort] | None = None,
    retry_pin: bool = False,
) -> Report:
    """Run every check against this machine (``ports`` None: ask pyserial).

    ``retry_pin``: forget that the SIM rejected the configured PIN, and enter it once more.
    """
    from anti_relous.config import load_config

    usb = check_usb(scan_usb(sysfs_root))
    findings = list(usb)
    findings += list_ports(list_serial_ports() if ports is None else ports)
    try:
        config = load_config(config_path)
    except AntiRelousError as error:
        fix = f"anti-relous init --path {config_path}" if "no configuration" in str(error) else None
        if not usb:
            findings.insert(0, Finding(Level.INFO, "usb", "no known 3G dongle on USB"))
        findings.append(Finding(Level.PROBLEM, "config", str(error), fix))
        return Report(findings)
    findings.append(Finding(Level.OK, "config", f"{config_path} is valid"))
    with contextlib.suppress(OSError):
        loose = check_config_file(config_path, config_path.stat())
        if loose:
            findings.append(loose)
    port = Path(config.modem.port)
    no_dongle = check_dongle_present(usb, port.exists())
    if no_dongle is not None:
        findings.insert(0, no_dongle)
    rule_installed = (udev_rules_dir / UDEV_RULE).exists()
    findings.append(
        check_port(
            config.modem.port,
            dongle_ready=any(f.topic == "usb" and f.level is Level.OK for f in usb),
            rule=_shipped_udev_rule(),
            rule_installed=rule_installed,
        )
    )
    findings += _device_checks(port, proc_root, rule_installed)
    database = config.storage.database
    findings += _database_checks(database)
    daemon_pid = _published_daemon_pid(database)
    if port.exists():
        holders = port_holders(proc_root, port)
        findings.append(check_holders(holders, config.modem.port, daemon_pid))
        if holders:
            findings += _published_modem(database)
        elif open_modem:
            findings += _ask_modem(config, retry_pin=retry_pin)
    findings += check_line_settings(
        config.line.own_number, config.alerts.numbers, config.quota.replies_per_number
    )
    findings.append(check_reply(config.line.reply))
    return Report(findings)


def _shipped_udev_rule() -> Path:
    """The udev rule installed with the package (systemd/ holds a link to it)."""
    from importlib import resources

    return Path(str(resources.files("anti_relous").joinpath(UDEV_RULE)))


def _device_checks(port: Path, proc_root: Path, rule_installed: bool) -> list[Finding]:
    findings = []
    with contextlib.suppress(OSError):
        gids = {os.getegid(), *os.getgroups()}
        findings.append(check_access(port, port.stat(), os.geteuid(), gids, group_name))
    running = find_processes(proc_root, "ModemManager")
    findings.append(check_modemmanager(running, rule_installed, _shipped_udev_rule()))
    return findings


def _database_checks(path: Path) -> list[Finding]:
    try:
        st: os.stat_result | None = path.stat()
    except PermissionError:
        closed = next((d for d in reversed(path.parents) if not os.access(d, os.X_OK)), path)
        return [database_out_of_reach(path, closed)]
    except OSError:
        st = None
    from anti_relous.admin.provision import service_ids

    writable = os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
    return check_database(path, writable=writable, st=st, service_gid=service_ids()[1])


def _published_daemon_pid(database: Path) -> int | None:
    from anti_relous.store import Store, StoreError

    try:
        with Store.open(database, create=False) as store:
            published = store.line.daemon_state("daemon")
    except StoreError:
        return None
    if published and isinstance(published[0], dict):
        pid = published[0].get("pid")
        return pid if isinstance(pid, int) else None
    return None


def _published_modem(database: Path) -> list[Finding]:
    from anti_relous.admin.liveness import modem_info
    from anti_relous.modem import Health, Identity
    from anti_relous.store import Store, StoreError

    try:
        with Store.open(database, create=False) as store:
            info = modem_info(store.line.daemon_state("modem"))
    except StoreError:
        return []
    if info is None:
        return []
    if info.error:
        return [Finding(Level.PROBLEM, "modem", f"the daemon reports: {info.error}")]
    identity = Identity(**info.identity) if info.identity else None
    health = Health(**info.health) if info.health else None
    return check_modem(identity, health)


def _ask_modem(config: Config, *, retry_pin: bool) -> list[Finding]:
    """Open the modem as the daemon would: a PIN the SIM rejected is not entered again."""
    from anti_relous.link import PinMemory
    from anti_relous.store import Store, StoreError

    store = None
    if config.modem.pin:
        with contextlib.suppress(StoreError):
            store = Store.open(config.storage.database, create=False)
    try:
        memory = PinMemory(store.line, config.modem.pin) if store is not None else None
        if memory is not None and retry_pin:
            memory.forget()
        return _open_and_check(config, memory)
    finally:
        if store is not None:
            store.close()


def _open_and_check(config: Config, memory: PinRejections | None) -> list[Finding]:
    from anti_relous.link import open_remembering
    from anti_relous.modem import open_modem as make_modem

    modem = make_modem(config.modem)
    try:
        identity = open_remembering(modem, memory)
        return check_modem(identity, modem.health())
    except AntiRelousError as error:
        return [Finding(Level.PROBLEM, "modem", str(error), _PIN_FIXES.get(type(error)))]
    finally:
        modem.close()


_PIN_FIXES = {
    WrongPin: "correct [modem] pin, then `systemctl reload anti-relous`",
    LastPinTry: "unlock the SIM in a phone with the right PIN, then check [modem] pin",
    SimPukRequired: "unlock the SIM in a phone with its PUK (anti-relous never enters one)",
}
