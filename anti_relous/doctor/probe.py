"""Read what the machine has: USB devices (sysfs), serial ports (pyserial), processes (/proc).

Each reader takes its root directory, so tests build fake trees in a temporary directory; the
judging of what is read lives in ``doctor.py``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# --- USB devices, from sysfs ---------------------------------------------------------------------


@dataclass(frozen=True)
class UsbInterface:
    """One interface of a USB device and what the kernel made of it."""

    number: int
    driver: str | None
    ttys: tuple[str, ...] = ()
    nets: tuple[str, ...] = ()


@dataclass(frozen=True)
class UsbDevice:
    """A USB device as /sys/bus/usb/devices shows it."""

    name: str
    vendor_id: str
    product_id: str
    product: str
    interfaces: tuple[UsbInterface, ...] = field(default_factory=tuple)

    @property
    def usb_id(self) -> str:
        """``vendor:product`` as lsusb prints it."""
        return f"{self.vendor_id}:{self.product_id}"

    @property
    def ttys(self) -> list[str]:
        """Serial ports of every interface."""
        return [tty for interface in self.interfaces for tty in interface.ttys]

    @property
    def nets(self) -> list[str]:
        """Network interfaces of every interface."""
        return [net for interface in self.interfaces for net in interface.nets]

    @property
    def drivers(self) -> set[str]:
        """Drivers bound to its interfaces."""
        return {i.driver for i in self.interfaces if i.driver}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def scan_usb(sysfs_root: Path) -> list[UsbDevice]:
    """Every USB device under ``sysfs_root``/bus/usb/devices with its interfaces."""
    base = sysfs_root / "bus" / "usb" / "devices"
    devices = []
    with contextlib.suppress(OSError):
        entries = sorted(base.iterdir())
        for entry in entries:
            if ":" in entry.name or not (entry / "idVendor").is_file():
                continue
            interfaces = [
                _interface(path)
                for path in sorted(entry.iterdir())
                if path.name.startswith(f"{entry.name}:") and path.is_dir()
            ]
            devices.append(
                UsbDevice(
                    name=entry.name,
                    vendor_id=_read(entry / "idVendor").lower(),
                    product_id=_read(entry / "idProduct").lower(),
                    product=" ".join(
                        p for p in (_read(entry / "manufacturer"), _read(entry / "product")) if p
                    ),
                    interfaces=tuple(interfaces),
                )
            )
    return devices


def _interface(path: Path) -> UsbInterface:
    number_text = _read(path / "bInterfaceNumber")
    driver = path / "driver"
    # usb-serial drivers (option, qcserial) put ttyUSBn/ under the interface; cdc_acm puts tty/.
    ttys = [p.name for p in path.glob("ttyUSB*")] + [p.name for p in path.glob("tty/tty*")]
    return UsbInterface(
        number=int(number_text, 16) if number_text else -1,
        driver=driver.readlink().name if driver.is_symlink() else None,
        ttys=tuple(sorted(ttys)),
        nets=tuple(sorted(p.name for p in path.glob("net/*"))),
    )


# --- serial ports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SerialPort:
    """A serial port as pyserial lists it."""

    device: str
    usb_id: str | None
    description: str
    #: The USB interface, e.g. "1-1:1.4" (interface 4), when it is a USB port.
    location: str | None = None


def list_serial_ports() -> list[SerialPort]:
    """The machine's serial ports (pyserial reads /sys/class/tty)."""
    from serial.tools import list_ports

    return [
        SerialPort(
            device=port.device,
            usb_id=f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None else None,
            description=port.description or "",
            location=port.location,
        )
        for port in list_ports.comports()
    ]


# --- processes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    """A process seen in /proc."""

    pid: int
    name: str
    command: str


def _processes(proc_root: Path) -> Iterable[tuple[Path, Process]]:
    with contextlib.suppress(OSError):
        for entry in proc_root.iterdir():
            if not entry.name.isdigit():
                continue
            command = _read(entry / "cmdline").replace("\0", " ").strip()
            yield entry, Process(int(entry.name), _read(entry / "comm"), command)


def find_processes(proc_root: Path, name: str) -> list[Process]:
    """Processes whose name (``comm``) is ``name``."""
    return [process for _, process in _processes(proc_root) if process.name == name]


def port_holders(proc_root: Path, device: Path) -> list[Process]:
    """Other processes with ``device`` open (another user's are visible only to root).

    Left out: this process, and `anti-relous simulate`, which keeps its own end of the pty
    open on purpose.
    """
    target = os.path.realpath(device)
    holders = []
    for entry, process in _processes(proc_root):
        if process.pid == os.getpid() or _is_simulator(process):
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                if os.path.realpath(fd) == target:
                    holders.append(process)
                    break
    return holders


def _is_simulator(process: Process) -> bool:
    words = process.command.split()
    return "simulate" in words and any("anti" in word and "relous" in word for word in words)
