"""SMS lost to stray final results: `anti-relous run` drains a SIM while "OK" lands in its answers.

The fault probe of issue 12: the simulated dongle (in this process, 30 slots, paced at 115,200
bit/s) slips "\\r\\nOK\\r\\n" into whatever it is writing every ``--interval`` seconds, while the
daemon (a subprocess, default configuration) drains ``--messages`` SMS that all wait in the
network. A stray OK inside an AT+CMGL answer ends the listing early for a driver that trusts it;
a bulk delete after it erases the messages the listing marked read but the driver never parsed.

Figures per run (a control run without strays first): SMS delivered, stored (distinct), lost,
stored twice, strays written, drain seconds. Lost must be 0. JSON goes to
benchmarks/results/stray_results.json.

    .venv/bin/python benchmarks/stray_results.py [--messages 600] [--interval 0.15] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The daemon harness is the tests' (tests/daemon_helpers.py).
sys.path.insert(0, str(ROOT / "tests"))
from daemon_helpers import Daemon, write_config  # noqa: E402

from anti_relous.simulator.device import ModemSimulator  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "stray_results.json"
LINE_RATE = 115_200
SIM_SLOTS = 30
#: No part stored for this long: the drain is over, or stuck.
STALL_S = 60.0


def run(messages: int, interval: float | None, workdir: Path) -> dict[str, Any]:
    """One drain of ``messages`` SMS with a stray OK every ``interval`` s (None: none)."""
    with ModemSimulator(link=workdir / "modem", slots=SIM_SLOTS, baudrate=LINE_RATE) as sim:
        config = write_config(
            workdir, sim, schedule='poll_interval = "1s"\nhealth_interval = "60s"'
        )
        daemon = Daemon(config, workdir / "line.db").start().wait_ready()
        try:
            texts = [f"message {n:04d}" for n in range(messages)]
            for n, text in enumerate(texts):
                sim.deliver(f"+336{n % 200:08d}", text)
            sim.stray_results(interval)
            started = time.monotonic()
            progress, stored = started, -1
            while time.monotonic() - progress < STALL_S:
                stats = sim.stats()
                if stats.stored == 0 and stats.queued == 0:
                    break
                count = daemon.count("SELECT count(*) FROM inbound_parts")
                if count != stored:
                    progress, stored = time.monotonic(), count
                time.sleep(0.5)
            drained_s = time.monotonic() - started
            strays = sim.strays_written
            sim.stray_results(None)
            time.sleep(2)  # the last poll's commit
            rows = daemon.query("SELECT text FROM inbound_parts WHERE text LIKE 'message %'")
            stats = sim.stats()
        finally:
            daemon.stop()
    found = [text for (text,) in rows]
    distinct = set(found)
    return {
        "stray_every_s": interval,
        "delivered": messages,
        "stored_distinct": len(distinct),
        "lost": len(set(texts) - distinct),
        "stored_twice": len(found) - len(distinct),
        "left_on_sim_or_network": stats.stored + stats.queued,
        "strays_written": strays,
        "drain_s": round(drained_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--interval", type=float, default=0.15, help="seconds between strays")
    parser.add_argument("--runs", type=int, default=2, help="runs with strays")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, help="copy each run's daemon log and DB here")
    args = parser.parse_args()
    results = []
    for interval in [None, *[args.interval] * args.runs]:
        with tempfile.TemporaryDirectory(prefix="anti-relous-stray-") as workdir:
            result = run(args.messages, interval, Path(workdir))
            if args.keep:
                kept = args.keep / f"run{len(results)}"
                shutil.copytree(workdir, kept, ignore=shutil.ignore_patterns("modem"))
        results.append(result)
        print(json.dumps(result), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "runs": results,
    }
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    lost = sum(r["lost"] for r in results)
    print(f"lost {lost} SMS over {len(results)} runs; wrote {args.output}")


if __name__ == "__main__":
    main()
