"""The files in systemd/: judged by systemd's own tools, and kept in step with dongles.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_tool

from anti_relous.doctor.dongles import KNOWN_DONGLES, Dongle, DongleMode, lookup

SYSTEMD_DIR = Path(__file__).resolve().parent.parent / "systemd"
UNIT = SYSTEMD_DIR / "anti-relous.service"
UDEV_RULES = SYSTEMD_DIR / "99-anti-relous-modem.rules"
SYSUSERS = SYSTEMD_DIR / "sysusers.d" / "anti-relous.conf"
TMPFILES = SYSTEMD_DIR / "tmpfiles.d" / "anti-relous.conf"

MAX_EXPOSURE = 1.0
TOOL_TIMEOUT_S = 120


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} sets file owners, which needs root (CI runs as root)")


# --- anti-relous.service ---------------------------------------------------------------------


def test_unit_security_exposure_is_at_most_1_0() -> None:
    analyze = require_tool("systemd-analyze")
    result = run(analyze, "security", "--offline=true", "--no-pager", str(UNIT))
    found = re.search(r"Overall exposure level for anti-relous\.service: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def fake_root(tmp_path: Path) -> Path:
    """A file system root where the unit's commands and dependencies exist, as on a real host.

    verify checks that ExecStart= and ExecReload= binaries exist and loads every unit the
    service depends on, all under --root: so stub the two binaries and bring the host's units.
    """
    root = tmp_path / "root"
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/lib/systemd").mkdir(parents=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    (root / "lib").symlink_to("usr/lib")
    for stub in ("usr/local/bin/anti-relous", "usr/bin/kill"):
        (root / stub).write_text("#!/bin/sh\nexit 0\n")
        (root / stub).chmod(0o755)
    host_units = Path("/usr/lib/systemd/system")
    if not host_units.is_dir():
        host_units = Path("/lib/systemd/system")
    shutil.copytree(host_units, root / "usr/lib/systemd/system", symlinks=True)
    return root


def test_unit_verify_prints_nothing(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    root = fake_root(tmp_path)
    installed = root / "etc/systemd/system" / UNIT.name
    shutil.copy(UNIT, installed)
    # verify exits 0 on warnings, so the output is what counts. Given by path: by name it loads
    # quietly and reports nothing at all.
    result = run(analyze, "verify", "--man=no", f"--root={root}", str(installed))
    assert (result.stdout + result.stderr) == ""
    assert result.returncode == 0


def test_unit_verify_would_notice_a_broken_directive(tmp_path: Path) -> None:
    # Guards the test above against a set-up where verify silently checks nothing.
    analyze = require_tool("systemd-analyze")
    root = fake_root(tmp_path)
    installed = root / "etc/systemd/system" / UNIT.name
    installed.write_text(UNIT.read_text().replace("RemoveIPC=yes", "RemoveIPC=yes\nNoSuchKey=1"))
    result = run(analyze, "verify", "--man=no", f"--root={root}", str(installed))
    assert "NoSuchKey" in result.stdout + result.stderr


# --- sysusers.d and tmpfiles.d ---------------------------------------------------------------


def test_sysusers_snippet_creates_user_group_and_dialout_membership(tmp_path: Path) -> None:
    sysusers = require_tool("systemd-sysusers")
    root = base_system(tmp_path)
    result = run(sysusers, f"--root={root}", str(SYSUSERS))
    assert result.returncode == 0, result.stderr
    users = read_database(root / "etc/passwd")
    groups = read_database(root / "etc/group")
    user = users["anti-relous"]
    assert user[3] == groups["anti-relous"][2]  # primary group is anti-relous
    assert user[6] == "/usr/sbin/nologin"
    assert groups["dialout"][2] == "20"  # the existing group, not a new one
    assert "anti-relous" in groups["dialout"][3].split(",")


def test_tmpfiles_snippet_creates_setgid_state_dir_and_private_config_dir(tmp_path: Path) -> None:
    sysusers = require_tool("systemd-sysusers")
    tmpfiles = require_tool("systemd-tmpfiles")
    require_root("systemd-tmpfiles --create")
    root = base_system(tmp_path)
    assert run(sysusers, f"--root={root}", str(SYSUSERS)).returncode == 0
    result = run(tmpfiles, f"--root={root}", "--create", str(TMPFILES))
    assert result.returncode == 0, result.stderr
    uid = int(read_database(root / "etc/passwd")["anti-relous"][2])
    gid = int(read_database(root / "etc/group")["anti-relous"][2])
    state = (root / "var/lib/anti-relous").stat()
    config = (root / "etc/anti-relous").stat()
    assert (oct(state.st_mode & 0o7777), state.st_uid, state.st_gid) == ("0o2770", uid, gid)
    assert (oct(config.st_mode & 0o7777), config.st_uid, config.st_gid) == ("0o750", 0, gid)


def base_system(tmp_path: Path) -> Path:
    """A root with the Debian base accounts that matter here (dialout is gid 20 on Debian)."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\ndialout:x:20:\n")
    return root


def read_database(path: Path) -> dict[str, list[str]]:
    rows = (line.split(":") for line in path.read_text().splitlines() if line)
    return {row[0]: row for row in rows}


# --- udev rule --------------------------------------------------------------------------------

_MATCH_KEYS = {"ACTION", "SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "DRIVERS", "ATTR", "ATTRS", "ENV"}
_ASSIGN_KEYS = {"ENV", "SYMLINK", "GROUP", "MODE", "OWNER", "TAG", "GOTO", "LABEL"}
_PAIR = re.compile(
    r'\s*(?P<key>[A-Z]+)(?:\{(?P<attr>[^}]+)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<value>[^"]*)"\s*'
)


@dataclass(frozen=True)
class UdevPair:
    key: str
    attr: str | None
    op: str
    value: str


def parse_udev_rules(text: str) -> list[list[UdevPair]]:
    """Each rule line as its key/operator/value pairs; raises AssertionError on bad syntax."""
    rules = []
    for number, line in enumerate(text.replace("\\\n", "").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pairs, position = [], 0
        while position < len(line):
            match = _PAIR.match(line, position)
            assert match, f"line {number}: cannot parse from column {position}: {line!r}"
            pair = UdevPair(match["key"], match["attr"], match["op"], match["value"])
            is_match = pair.op in ("==", "!=")
            allowed = _MATCH_KEYS if is_match else _ASSIGN_KEYS
            assert pair.key in allowed, f"line {number}: {pair.key}{pair.op} is not valid udev"
            pairs.append(pair)
            position = match.end()
            if position < len(line):
                assert line[position] == ",", f"line {number}: missing comma at column {position}"
                position += 1
        rules.append(pairs)
    return rules


def udev_rules() -> list[list[UdevPair]]:
    return parse_udev_rules(UDEV_RULES.read_text())


def value_of(rule: list[UdevPair], key: str, attr: str | None = None) -> str | None:
    for pair in rule:
        if pair.key == key and pair.attr == attr:
            return pair.value
    return None


def test_udev_rule_parses_and_every_goto_has_its_label() -> None:
    rules = udev_rules()
    labels = {value_of(rule, "LABEL") for rule in rules} - {None}
    gotos = {value_of(rule, "GOTO") for rule in rules} - {None}
    assert gotos <= labels


def test_udev_rule_passes_udevadm_verify_where_this_systemd_has_it() -> None:
    udevadm = require_tool("udevadm")
    if "verify" not in run(udevadm, "--help").stdout:
        pytest.skip("udevadm verify needs systemd >= 254; the rule is checked by the parser test")
    result = run(udevadm, "verify", "--resolve-names=never", str(UDEV_RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def at_port_rules() -> dict[tuple[str, str, int], list[UdevPair]]:
    """The rules that create /dev/gsm-modem, by (vendor, product, interface number)."""
    found = {}
    for rule in udev_rules():
        if value_of(rule, "SYMLINK") != "gsm-modem":
            continue
        vendor = value_of(rule, "ATTRS", "idVendor")
        product = value_of(rule, "ATTRS", "idProduct")
        interface = value_of(rule, "ENV", ".ANTI_RELOUS_IFNUM")
        assert vendor and product and interface, rule
        found[(vendor, product, int(interface))] = rule
    return found


STICKS = [d for d in KNOWN_DONGLES if d.mode is DongleMode.STICK]


@pytest.mark.parametrize("dongle", STICKS, ids=lambda d: f"{d.vendor_id}:{d.product_id}")
def test_every_stick_mode_dongle_gets_the_gsm_modem_symlink_on_its_at_interface(
    dongle: Dongle,
) -> None:
    key = (dongle.vendor_id, dongle.product_id, dongle.at_interface)
    rule = at_port_rules().get(key)
    assert rule is not None, f"no /dev/gsm-modem rule for {key} in {UDEV_RULES.name}"
    assert value_of(rule, "GROUP") == "dialout"
    assert value_of(rule, "MODE") == "0660"


def test_every_gsm_modem_rule_is_a_stick_mode_dongle_of_the_table() -> None:
    table = {(d.vendor_id, d.product_id, d.at_interface) for d in STICKS}
    assert set(at_port_rules()) <= table


@pytest.mark.parametrize("dongle", STICKS, ids=lambda d: f"{d.vendor_id}:{d.product_id}")
def test_modemmanager_is_told_to_ignore_every_stick_mode_dongle(dongle: Dongle) -> None:
    vendor, product = dongle.vendor_id, dongle.product_id
    ignoring = []
    for rule in udev_rules():
        if value_of(rule, "ENV", "ID_MM_DEVICE_IGNORE") != "1":
            continue
        rule_vendor = value_of(rule, "ATTRS", "idVendor") or value_of(rule, "ATTR", "idVendor")
        rule_products = value_of(rule, "ATTRS", "idProduct") or value_of(rule, "ATTR", "idProduct")
        if rule_vendor == vendor and product in (rule_products or "").split("|"):
            ignoring.append(rule)
    # Once on the USB device (ATTR) and once on each of its ttys (ATTRS).
    assert {"ATTR", "ATTRS"} <= {pair.key for rule in ignoring for pair in rule}


def test_table_entries_are_unique_and_well_formed() -> None:
    ids = [(d.vendor_id, d.product_id) for d in KNOWN_DONGLES]
    assert len(ids) == len(set(ids))
    for dongle in KNOWN_DONGLES:
        assert re.fullmatch(r"[0-9a-f]{4}", dongle.vendor_id), dongle
        assert re.fullmatch(r"[0-9a-f]{4}", dongle.product_id), dongle
        assert (dongle.at_interface is not None) == (dongle.mode is DongleMode.STICK), dongle
        assert dongle.source, dongle


def test_lookup_accepts_the_forms_lsusb_and_sysfs_print() -> None:
    assert lookup("0x12D1", "1436") is lookup("12d1", "0x1436") is not None
    assert lookup("12d1", "ffff") is None


@pytest.mark.parametrize(
    "bad_line",
    ['ATTRS{idVendor}=="12d1", FOO="1"', 'ATTRS{idVendor}=="12d1" GROUP="dialout"', 'SYMLINK=="x"'],
)
def test_udev_parser_refuses_what_udev_would_reject(bad_line: str) -> None:
    # Guards the parser-based checks above against accepting anything.
    with pytest.raises(AssertionError):
        parse_udev_rules(bad_line)
