"""`anti-relous doctor`: dongles by USB id in fake sysfs trees, real ports, real processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import Line

from anti_relous.cli.render import doctor_text
from anti_relous.config import DEFAULT_REPLY
from anti_relous.doctor import run
from anti_relous.doctor.checks import (
    Level,
    check_access,
    check_holders,
    check_modemmanager,
    check_usb,
)
from anti_relous.doctor.probe import Process, find_processes, port_holders, scan_usb
from anti_relous.simulator.device import ModemSimulator

RULE = Path("/usr/lib/python3/dist-packages/anti_relous/99-anti-relous-modem.rules")


class FakeSysfs:
    """A /sys with USB devices laid out as the kernel does."""

    def __init__(self, root: Path):
        self.root = root
        (root / "bus" / "usb" / "devices").mkdir(parents=True)

    def add(self, name, vendor, product, label="", interfaces=()):
        """``interfaces``: (number, driver, ttys, nets) tuples."""
        device = self.root / "bus" / "usb" / "devices" / name
        device.mkdir()
        (device / "idVendor").write_text(f"{vendor}\n")
        (device / "idProduct").write_text(f"{product}\n")
        (device / "product").write_text(f"{label}\n")
        for number, driver, ttys, nets in interfaces:
            interface = device / f"{name}:1.{number}"
            interface.mkdir()
            (interface / "bInterfaceNumber").write_text(f"{number:02x}\n")
            if driver:
                target = self.root / "bus" / "usb" / "drivers" / driver
                target.mkdir(parents=True, exist_ok=True)
                (interface / "driver").symlink_to(target)
            for tty in ttys:
                if tty.startswith("ttyACM"):
                    (interface / "tty" / tty).mkdir(parents=True)
                else:
                    (interface / tty / "tty" / tty).mkdir(parents=True)
            for net in nets:
                (interface / "net" / net).mkdir(parents=True)
        return self


def usb_findings(sysfs):
    return check_usb(scan_usb(sysfs.root))


@pytest.fixture
def sysfs(tmp_path):
    return FakeSysfs(tmp_path / "sys")


@pytest.fixture
def proc(tmp_path):
    path = tmp_path / "proc"
    path.mkdir()
    return path


def fake_process(proc, pid, name, command="", fds=()):
    entry = proc / str(pid)
    (entry / "fd").mkdir(parents=True)
    (entry / "comm").write_text(f"{name}\n")
    (entry / "cmdline").write_text(command.replace(" ", "\0"))
    for number, target in enumerate(fds):
        (entry / "fd" / str(number)).symlink_to(target)


# --- USB dongles by id ---------------------------------------------------------------------------


def test_huawei_stick_is_recognised_with_its_at_port(sysfs):
    sysfs.add("1-1", "12d1", "1436", "HUAWEI Mobile", [
        (0, "option", ["ttyUSB0"], []),
        (3, "option", ["ttyUSB1"], []),
        (4, "option", ["ttyUSB2"], []),
    ])  # fmt: skip
    (finding,) = usb_findings(sysfs)
    assert finding.level is Level.OK
    assert "Huawei E173 (stick mode) (12d1:1436)" in finding.message
    assert "AT port is /dev/ttyUSB2 (interface 4)" in finding.message


def test_hilink_dongle_is_explained_with_the_modeswitch_fix(sysfs):
    sysfs.add("1-1", "12d1", "14db", "HUAWEI HiLink", [(0, "cdc_ether", [], ["eth1"])])
    (finding,) = usb_findings(sysfs)
    assert finding.level is Level.PROBLEM
    assert "HiLink mode" in finding.message and "eth1" in finding.message
    assert "HuaweiAltModeGlobal=1" in finding.fix


def test_dongle_in_install_mode_needs_usb_modeswitch(sysfs):
    sysfs.add("1-1", "12d1", "1446", "HUAWEI Mobile", [(0, "usb-storage", [], [])])
    (finding,) = usb_findings(sysfs)
    assert finding.level is Level.PROBLEM
    assert "CD-ROM" in finding.message
    assert "usb-modeswitch" in finding.fix


def test_unknown_huawei_network_card_is_flagged_like_hilink(sysfs):
    sysfs.add("2-1", "12d1", "155e", "HUAWEI E8372", [(0, "cdc_ether", [], ["usb0"])])
    (finding,) = usb_findings(sysfs)
    assert finding.level is Level.WARNING
    assert "unknown Huawei device 12d1:155e" in finding.message
    assert "HuaweiAltModeGlobal=1" in finding.fix


def test_ordinary_usb_memory_stick_is_not_a_dongle(sysfs):
    sysfs.add("1-2", "0781", "5567", "SanDisk Cruzer", [(0, "usb-storage", [], [])])
    assert usb_findings(sysfs) == []


def test_stick_without_serial_driver_says_how_to_bind_option(sysfs):
    sysfs.add("1-1", "12d1", "1001", "HUAWEI Mobile", [(0, None, [], []), (2, None, [], [])])
    (finding,) = usb_findings(sysfs)
    assert finding.level is Level.PROBLEM
    assert "modprobe option" in finding.fix and "12d1 1001" in finding.fix


def test_acm_ports_are_found_too(sysfs):
    sysfs.add("1-1", "2c7c", "0125", "Quectel EC25", [(2, "cdc_acm", ["ttyACM0"], [])])
    (finding,) = usb_findings(sysfs)
    assert "/dev/ttyACM0 (interface 2)" in finding.message


# --- other programs ------------------------------------------------------------------------------


def test_running_modemmanager_is_a_warning_with_the_fix(proc):
    fake_process(proc, 321, "ModemManager", "/usr/sbin/ModemManager")
    finding = check_modemmanager(find_processes(proc, "ModemManager"), False, RULE)
    assert finding.level is Level.WARNING
    assert "pid 321" in finding.message
    assert "systemctl disable --now ModemManager" in finding.fix


def test_modemmanager_is_fine_once_the_udev_rule_tells_it_to_keep_off(proc):
    fake_process(proc, 321, "ModemManager")
    finding = check_modemmanager(find_processes(proc, "ModemManager"), True, RULE)
    assert finding.level is Level.INFO


def test_another_program_holding_the_port_is_found_in_proc(tmp_path):
    master, slave = os.openpty()
    holder = subprocess.Popen(["sleep", "30"], stdin=slave)
    try:
        holders = port_holders(Path("/proc"), Path(os.ttyname(slave)))
        assert [p.pid for p in holders] == [holder.pid]
        finding = check_holders(holders, "/dev/gsm-modem", daemon_pid=None)
        assert finding.level is Level.PROBLEM
        assert f"sleep (pid {holder.pid}) holds /dev/gsm-modem" in finding.message
        assert finding.fix == f"stop it: sudo kill {holder.pid}"
    finally:
        holder.kill()
        holder.wait()
        os.close(master)
        os.close(slave)


def test_the_daemon_holding_the_port_is_not_a_problem():
    daemon = Process(4242, "anti-relous", "/usr/bin/python3 /usr/local/bin/anti-relous run")
    finding = check_holders([daemon], "/dev/gsm-modem", daemon_pid=None)
    assert finding.level is Level.INFO
    assert "daemon (pid 4242)" in finding.message


# --- permissions ---------------------------------------------------------------------------------


def stat_of(tmp_path, mode, gid):
    path = tmp_path / "ttyUSB2"
    path.touch()
    path.chmod(mode)
    st = path.stat()
    return path, os.stat_result((st.st_mode, *st[1:4], 0, gid, *st[6:]))


def test_user_outside_the_device_group_is_told_to_join_it(tmp_path):
    path, st = stat_of(tmp_path, 0o660, gid=20)
    finding = check_access(path, st, uid=1000, gids={1000}, group_name=lambda gid: "dialout")
    assert finding.level is Level.PROBLEM
    assert "not in group dialout" in finding.message
    assert finding.fix.startswith("sudo usermod -aG dialout $USER")


def test_user_in_the_device_group_can_use_it(tmp_path):
    path, st = stat_of(tmp_path, 0o660, gid=20)
    finding = check_access(path, st, uid=1000, gids={1000, 20}, group_name=lambda gid: "dialout")
    assert finding.level is Level.OK


# --- everything, against the simulated dongle ----------------------------------------------------


def doctor(line, sysfs, proc, **kwargs):
    return run(line.config_path, sysfs_root=sysfs.root, proc_root=proc, ports=[], **kwargs)


def messages(report, level=None):
    return [f.message for f in report.findings if level is None or f.level is level]


def test_healthy_line_reports_modem_sim_signal_network_and_smsc(tmp_path, sim, sysfs, proc):
    report = doctor(Line(tmp_path, {"modem": {"command_timeout": "3s"}}), sysfs, proc)
    assert report.problems == []
    ok = messages(report, Level.OK)
    assert any(m.startswith("huawei E173, firmware") for m in ok)
    assert "SIM ready" in ok
    assert "signal -79 dBm (17/31)" in ok
    assert "registered on Orange F" in ok
    assert "SMS centre +33609001390" in ok
    assert "reply: GSM-7, 274 characters, 2 SMS parts" in ok


def test_sim_asking_for_a_pin_is_a_problem_naming_the_setting(tmp_path, sysfs, proc):
    with ModemSimulator(link=tmp_path / "modem", pin="1234"):
        report = doctor(Line(tmp_path), sysfs, proc)
    (problem,) = report.problems
    assert "[modem] pin" in problem.message


def test_modem_off_the_network_is_a_problem(tmp_path, sim, sysfs, proc):
    sim.registered = False
    report = doctor(Line(tmp_path), sysfs, proc)
    (problem,) = report.problems
    assert problem.topic == "network" and "not registered" in problem.message


def test_no_dongle_and_no_port_is_the_problem_to_fix_first(tmp_path, sysfs, proc):
    line = Line(tmp_path, {"modem": {"port": "/dev/gsm-modem"}})
    report = doctor(line, sysfs, proc)
    usb, port = report.problems
    assert usb.topic == "usb" and "no 3G dongle" in usb.message
    assert "lsusb" in usb.fix and "usb-modeswitch" in usb.fix
    assert port.message == "[modem] port /dev/gsm-modem does not exist"
    assert "udev" not in port.fix


def test_missing_port_with_a_known_stick_points_at_the_installed_udev_rule(tmp_path, sysfs, proc):
    sysfs.add("1-1", "12d1", "1436", "HUAWEI Mobile", [(4, "option", ["ttyUSB2"], [])])
    line = Line(tmp_path, {"modem": {"port": "/dev/gsm-modem"}})
    (problem,) = doctor(line, sysfs, proc).problems
    assert problem.message == "[modem] port /dev/gsm-modem does not exist"
    rule = re.search(r"sudo cp (\S+) /etc/udev/rules.d/", problem.fix).group(1)
    assert Path(rule).is_absolute() and Path(rule).name == "99-anti-relous-modem.rules"
    assert "ATTRS{idVendor}" in Path(rule).read_text()


def test_a_port_that_exists_without_a_known_usb_dongle_is_only_information(
    tmp_path, sim, sysfs, proc
):
    report = doctor(Line(tmp_path), sysfs, proc, open_modem=False)
    (usb,) = [f for f in report.findings if f.topic == "usb"]
    assert usb.level is Level.INFO


def test_empty_own_number_and_alert_numbers_are_warnings(tmp_path, sim, sysfs, proc):
    report = doctor(Line(tmp_path), sysfs, proc, open_modem=False)
    warned = {f.topic: f for f in report.findings if f.level is Level.WARNING}
    assert "[line] own_number" in warned["line"].message
    assert "[alerts] numbers" in warned["alerts"].message


def test_own_number_and_alert_numbers_set_raise_no_warning(tmp_path, sim, sysfs, proc):
    line = Line(
        tmp_path,
        {"line": {"own_number": "0611223344"}, "alerts": {"numbers": ["+33699887766"]}},
    )
    report = doctor(line, sysfs, proc, open_modem=False)
    assert not [f for f in report.findings if f.topic in ("line", "alerts", "quota")]


def test_replies_per_number_zero_is_a_warning_that_the_line_never_replies(
    tmp_path, sim, sysfs, proc
):
    line = Line(tmp_path, {"quota": {"replies_per_number": 0}})
    report = doctor(line, sysfs, proc, open_modem=False)
    (quota,) = [f for f in report.findings if f.topic == "quota"]
    assert quota.level is Level.WARNING and "never replies" in quota.message


def test_missing_config_points_at_init(tmp_path, sysfs, proc):
    report = run(tmp_path / "none.toml", sysfs_root=sysfs.root, proc_root=proc, ports=[])
    (problem,) = report.problems
    assert problem.fix == f"anti-relous init --path {tmp_path / 'none.toml'}"


def test_missing_database_points_at_init(tmp_path, sim, sysfs, proc):
    line = Line(tmp_path)
    line.db_path.unlink()
    problems = doctor(line, sysfs, proc).problems
    assert [(p.topic, p.fix) for p in problems] == [
        ("database", "anti-relous init (or start the daemon once)")
    ]


def test_world_readable_config_is_a_warning(tmp_path, sim, sysfs, proc):
    line = Line(tmp_path)
    line.config_path.chmod(0o644)
    findings = doctor(line, sysfs, proc).findings
    warnings = [f for f in findings if f.level is Level.WARNING and f.topic == "config"]
    assert [w.fix for w in warnings] == [f"sudo chmod 640 {line.config_path}"]


def test_database_outside_the_service_group_is_a_warning(tmp_path):
    from anti_relous.doctor.checks import check_database

    database = tmp_path / "line.db"
    database.touch()
    database.chmod(0o660)
    st = database.stat()
    findings = check_database(database, writable=True, st=st, service_gid=st.st_gid + 1)
    assert [f.fix for f in findings if f.level is Level.WARNING] == [
        f"sudo chgrp anti-relous {database}"
    ]


def test_reply_past_two_parts_is_a_warning(tmp_path, sim, sysfs, proc):
    line = Line(tmp_path, {"line": {"reply": DEFAULT_REPLY + " " + DEFAULT_REPLY}})
    report = doctor(line, sysfs, proc)
    assert any("SMS parts" in m for m in messages(report, Level.WARNING))


def test_port_held_by_the_daemon_reports_what_it_published(tmp_path, sim, sysfs, proc):
    line = Line(tmp_path)
    fake_process(proc, 4242, "anti-relous", "python anti-relous run", fds=[sim.path.resolve()])
    with line.store() as store:
        store.line.put_daemon_state(
            datetime.now(UTC),
            "modem",
            {"identity": None, "error": None,
             "health": {"sim_state": "READY", "signal_csq": 3, "signal_dbm": -107,
                        "registration": "home", "operator": "Free", "storage_used": 30,
                        "storage_total": 30, "smsc": "+33695000695"}},
        )  # fmt: skip
    report = doctor(line, sysfs, proc)
    assert any("daemon (pid 4242) holds" in m for m in messages(report, Level.INFO))
    warnings = messages(report, Level.WARNING)
    assert "weak signal: -107 dBm (3/31)" in warnings
    assert "SIM storage 30/30 SMS" in warnings


def test_no_modem_option_leaves_the_modem_alone(tmp_path, sim, sysfs, proc):
    report = doctor(Line(tmp_path), sysfs, proc, open_modem=False)
    assert not any(f.topic in ("sim", "signal") for f in report.findings)
    assert sim.stats().sends == 0


def test_rendering_shows_what_a_dongle_or_the_network_answered_escaped():
    from anti_relous.doctor.checks import Finding, Report

    # An operator name (AT+COPS) or a USB product string comes from outside.
    finding = Finding(Level.PROBLEM, "sim", "operator \x1b]0;pwned\x07", "call \u202e1112")
    text = doctor_text(Report([finding]))
    assert "operator \\x1b]0;pwned\\x07" in text
    assert "call ⟨U+202E⟩1112" in text


def test_rendering_puts_each_fix_under_its_problem():
    from anti_relous.doctor.checks import Finding, Report

    text = doctor_text(Report([Finding(Level.PROBLEM, "ports", "port gone", "plug it")]))
    assert text.splitlines()[:2] == ["[XX] ports         port gone", " " * 19 + "fix: plug it"]
    assert text.endswith("1 problem, 0 warnings")


# --- the command ---------------------------------------------------------------------------------


def test_doctor_command_exits_1_on_a_problem(tmp_path):
    line = Line(tmp_path)  # its port does not exist: no simulator
    result = line.invoke("doctor")
    assert result.exit_code == 1
    assert "does not exist" in result.stdout
    assert "problems found" in result.stderr


def test_doctor_command_json(tmp_path, sim):
    line = Line(tmp_path, {"modem": {"command_timeout": "3s"}})
    result = line.invoke("doctor", "--json")
    report = json.loads(result.stdout)
    assert {"level": "ok", "topic": "sim", "message": "SIM ready", "fix": None} in report[
        "findings"
    ]
