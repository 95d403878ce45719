"""Read-and-delete throughput of the AT driver over a pty, against the simulator in another process.

N messages wait in the simulated network; the driver drains the SIM the way the daemon does
(AT+CMGL=4, then AT+CMGD=1,1, falling back to one AT+CMGD per index) until it has read them all.
Two runs: the simulator unthrottled, and paced at 115,200 bit/s like a real serial line.

Figures: messages/s; the driver's CPU per message (this process only: the simulator runs in a
child process so its CPU does not count); and the byte-rate bound, the messages/s a 115,200 bit/s
line allows for the bytes the driver actually exchanged (8N1: 10 bits per byte), with the share
of it the driver achieved. The bound adds both directions as if they shared one wire; a serial
line is full duplex, so when a command goes out while the modem is still talking (a +CMTI, say)
the share can pass 100% slightly. Targets: >= 90% of the bound at 115,200 bit/s; >= 500 messages/s
unthrottled. JSON goes to benchmarks/results/modem_throughput.json.

    .venv/bin/python benchmarks/modem_throughput.py [--messages 2000] [--throttled-messages 500]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from anti_relous.config import ModemConfig
from anti_relous.modem.at_modem import AtModem
from anti_relous.modem.errors import AtError
from anti_relous.simulator.control import control

RESULTS = Path(__file__).parent / "results" / "modem_throughput.json"
LINE_RATE = 115_200
# 8N1: a start bit, eight data bits and a stop bit per byte.
BITS_PER_BYTE = 10
TARGET_LINE_SHARE = 0.90
TARGET_UNTHROTTLED = 500.0
SIM_SLOTS = 30
# Texts of a flood: short GSM-7, an accented one, a UCS-2 one with an emoji.
TEXTS = (
    "t'es charmante, tu me donnes ton 06 ?",
    "Réponds-moi, je t'ai vue à la gare hier soir",
    "ça va ? 😘",
)
SENDERS = tuple(f"+336{n:08d}" for n in range(20_000_000, 20_000_050))


def serve_simulator(baudrate: int | None, socket_path: Path) -> None:
    """Child process: a simulator with a control socket, until stdin closes."""
    from anti_relous.simulator.control import ControlServer
    from anti_relous.simulator.device import ModemSimulator

    with (
        ModemSimulator(slots=SIM_SLOTS, baudrate=baudrate, echo=True) as sim,
        ControlServer(sim, socket_path),
    ):
        print(sim.path, flush=True)
        sys.stdin.read()


def drain(modem: AtModem, expected: int) -> tuple[int, int, bool]:
    """List and delete until ``expected`` messages were read; (read, listings, fell back)."""
    read = listings = 0
    fell_back = False
    while read < expected:
        listing = modem.list_stored()
        listed = listing.messages
        listings += 1
        if not listed:
            modem.wait_for_new_message(1.0)
            continue
        read += len(listed)
        if fell_back or not listing.complete:
            for message in listed:
                modem.delete(message.index)
            continue
        try:
            modem.delete_read()
        except AtError:
            fell_back = True
            for message in listed:
                modem.delete(message.index)
    return read, listings, fell_back


@dataclasses.dataclass(frozen=True)
class RunResult:
    run: str
    baudrate: int | None
    messages: int
    seconds: float
    messages_per_s: float
    driver_cpu_ms_per_message: float
    bytes_exchanged: int
    bytes_per_message: float
    #: What a 115,200 bit/s line allows for the bytes exchanged.
    line_bound_messages_per_s: float
    share_of_line_bound: float
    listings: int
    per_index_fallback: bool
    sim_deleted_parts: int


def run(label: str, baudrate: int | None, messages: int) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="anti-relous-bench-") as workdir:
        socket_path = Path(workdir) / "control.sock"
        command = [sys.executable, __file__, "--serve", str(socket_path)]
        if baudrate:
            command += ["--baudrate", str(baudrate)]
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            port = child.stdout.readline().strip()
            for number in range(messages):
                control(
                    socket_path,
                    {
                        "op": "deliver",
                        "sender": SENDERS[number % len(SENDERS)],
                        "text": TEXTS[number % len(TEXTS)],
                    },
                )
            config = ModemConfig(
                port=port, baudrate=baudrate or LINE_RATE, command_timeout=timedelta(seconds=30)
            )
            modem = AtModem(config)
            modem.open()
            try:
                opened_in, opened_out = modem.bytes_in, modem.bytes_out
                cpu_start, wall_start = time.process_time(), time.perf_counter()
                read, listings, fell_back = drain(modem, messages)
                wall = time.perf_counter() - wall_start
                cpu = time.process_time() - cpu_start
                exchanged = modem.bytes_in - opened_in + modem.bytes_out - opened_out
            finally:
                modem.close()
            stats = control(socket_path, {"op": "stats"})["stats"]
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(30)
    bound_s = exchanged * BITS_PER_BYTE / LINE_RATE
    return RunResult(
        run=label,
        baudrate=baudrate,
        messages=read,
        seconds=round(wall, 3),
        messages_per_s=round(read / wall, 1),
        driver_cpu_ms_per_message=round(cpu * 1000 / read, 3),
        bytes_exchanged=exchanged,
        bytes_per_message=round(exchanged / read, 1),
        line_bound_messages_per_s=round(read / bound_s, 1),
        share_of_line_bound=round(bound_s / wall, 3),
        listings=listings,
        per_index_fallback=fell_back,
        sim_deleted_parts=stats["deleted_parts"],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="unthrottled run")
    parser.add_argument("--throttled-messages", type=int, default=500, help="115,200 bit/s run")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--baudrate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_simulator(args.baudrate, args.serve)
        return 0

    results = [
        run("unthrottled", None, args.messages),
        run("115200 bit/s", LINE_RATE, args.throttled_messages),
    ]
    unthrottled, throttled = results
    verdicts = {
        "unthrottled_messages_per_s": (
            unthrottled.messages_per_s,
            TARGET_UNTHROTTLED,
            unthrottled.messages_per_s >= TARGET_UNTHROTTLED,
        ),
        "share_of_line_bound_at_115200": (
            throttled.share_of_line_bound,
            TARGET_LINE_SHARE,
            throttled.share_of_line_bound >= TARGET_LINE_SHARE,
        ),
    }
    header = (
        f"{'run':<14}{'msgs':>6}{'msg/s':>9}{'CPU ms/msg':>12}{'B/msg':>8}"
        f"{'line bound msg/s':>18}{'of bound':>10}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        # Unpaced, the pty is no serial line: its share of a 115,200 bit/s bound means nothing.
        share = f"{result.share_of_line_bound:.1%}" if result.baudrate else "-"
        print(
            f"{result.run:<14}{result.messages:>6}{result.messages_per_s:>9}"
            f"{result.driver_cpu_ms_per_message:>12}{result.bytes_per_message:>8}"
            f"{result.line_bound_messages_per_s:>18}{share:>10}"
        )
    for name, (value, target, met) in verdicts.items():
        print(f"{name}: {value} (target {target}) {'met' if met else 'MISSED'}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "modem_throughput",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": [dataclasses.asdict(result) for result in results],
        "targets": {
            name: {"value": v, "target": t, "met": m} for name, (v, t, m) in verdicts.items()
        },
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
