"""Metrics benchmark: what one rewrite of the ``[metrics] textfile`` costs the worker thread.

The daemon gathers the figures (``Reports.summary`` over the whole history, the same query as
``stats --json``, plus the caps and the line's state) and rewrites the textfile at every health
check, on the one worker thread that also drains the SIM: this is time a flood waits. Measured on
the policy/store benchmark's cached history (``benchmarks/policy_store.py``; the first run fills
it), a copy of which is opened read-only in spirit: nothing is written to it.

    .venv/bin/python benchmarks/metrics.py                       # 5,000,000 messages
    .venv/bin/python benchmarks/metrics.py --messages 500000 --senders 100000
    .venv/bin/python benchmarks/metrics.py --quick               # seconds
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from policy_store import CONFIG, DEFAULT_CACHE, NOW0, Shape, cached_history

from anti_relous import metrics
from anti_relous.deciding import Texts
from anti_relous.store import Store, Tally

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "metrics.json"
ROUNDS = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=5_000_000)
    parser.add_argument("--quick", action="store_true", help="10,000 messages")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.quick:
        args.senders, args.messages = 2_000, 10_000
    shape = Shape(args.senders, args.messages)
    history = cached_history(args.cache_dir, shape, Texts.from_config(CONFIG), False)
    gather_s, write_s, catch_up = [], [], []
    with Store.open(history, create=False) as store, tempfile.TemporaryDirectory() as directory:
        textfile = Path(directory) / "anti-relous.prom"
        started = time.perf_counter()
        recount = store.reports.summary(None, None)
        recount_s = time.perf_counter() - started
        tally = Tally()
        done = False
        while not done:  # the daemon's first checks: the history counted a chunk at a time
            started = time.perf_counter()
            done = store.tallies.advance(tally)
            catch_up.append(time.perf_counter() - started)
        for _ in range(ROUNDS):
            started = time.perf_counter()
            store.tallies.advance(tally)
            gathered = metrics.gather(
                store, CONFIG, NOW0, tally, health=None, modem_up=True, database_ok=True
            )
            gather_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            metrics.write_textfile(textfile, gathered)
            write_s.append(time.perf_counter() - started)
        size = textfile.stat().st_size
    assert gathered.figures.inbound_messages == recount.inbound_messages
    assert gathered.figures.decisions == recount.decisions
    report = {
        "benchmark": "metrics",
        "messages": args.messages,
        "senders": args.senders,
        "recount_ms (stats --json)": recount_s * 1000,
        "catch_up_ms": {"checks": len(catch_up), "max": max(catch_up) * 1000},
        "gather_ms": {"median": statistics.median(gather_s) * 1000, "max": max(gather_s) * 1000},
        "write_ms": {"median": statistics.median(write_s) * 1000, "max": max(write_s) * 1000},
        "textfile_bytes": size,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"{args.messages:,} messages, {args.senders:,} senders: a recount (stats --json) "
        f"{recount_s * 1000:.0f} ms; catching up {len(catch_up)} check(s), the longest "
        f"{max(catch_up) * 1000:.0f} ms; then each check: gather "
        f"{report['gather_ms']['median']:.1f} ms (max {report['gather_ms']['max']:.1f}), write "
        f"{report['write_ms']['median']:.2f} ms, {size:,} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
