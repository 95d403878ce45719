"""The flood replay: the attack that killed the first line, against `anti-relous run`.

20,000 SMS from 400 bot numbers, with 20 genuine texters spread through them, reach the simulated
network (in this process) at a configurable rate: the 6 hours of the attack, time-compressed, so
the daemon sees a real flood rate. The network hands them to the dongle's SIM (30 slots) one part
every 20 ms (``--delivery-gap-ms``); when a delivery finds the SIM full, it holds everything
until the SIM has room again and says so (RP-SMMA), then waits 2 s more (``--redelivery-s``),
as real SMSCs do (anti_relous/simulator/network.py). The daemon runs as a subprocess, so its CPU
and memory are its own (read from /proc), with the DEFAULT configuration except the modem port,
the database path and one alert number. Runs (``--runs``):

- ``unthrottled``: the replay over an unpaced pty;
- ``115200``: the same replay over a pty paced like the dongle's serial line;
- ``peers``: 2,005 SMS (2,484 parts) from 100 bots all waiting in the network at once, over
  the paced line: the scenario gammu-smsd and smstools3 did not drain in 570 s (issue 6);
- with ``--chaos``: those runs (``115200`` unless ``--runs`` says otherwise) while the daemon
  is SIGKILLed at random moments and restarted.

Each run reports how many deliveries found the SIM full and how long, in all, the network held
parts back for it (from each refusal until a part got through again), and the drain's share of
the line bound (the bytes it moved, at 115,200 bit/s) and of the tighter of the line's and the
network's bounds (one part per delivery gap).

Every run is audited: each delivered part stored exactly once (PDU hashes), each message decided
exactly once, no reply sent twice (the simulator's sent log against the outbox), no quota or cap
exceeded (sliding windows over outbox rows and over what the simulator received). Figures go to
benchmarks/results/flood*.json and a table; a PNG chart per run when matplotlib (the ``bench``
extra) is installed.

    .venv/bin/python benchmarks/flood.py            # the three runs at full scale (~25 min)
    .venv/bin/python benchmarks/flood.py --quick    # a few hundred SMS per run, seconds
    .venv/bin/python benchmarks/flood.py --chaos    # the full replay under SIGKILL
    .venv/bin/python benchmarks/flood.py --runs peers --chaos --kills 10   # the peers' flood
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The replay harness is shared with the chaos test (tests/flood_*.py).
sys.path.insert(0, str(ROOT / "tests"))
from flood_audit import audit, parse_time  # noqa: E402
from flood_replay import (  # noqa: E402
    ALERT_NUMBER,
    DELIVERY_GAP_S,
    SIM_SLOTS,
    Observed,
    Run,
    Sample,
    reading,
    replay,
    scalar,
)
from flood_traffic import ATTACK_SPAN, Scenario, flood_scenario, peers_scenario  # noqa: E402

from anti_relous.simulator.network import REDELIVERY_S  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
LINE_RATE = 115_200
# 8N1: a start bit, eight data bits and a stop bit per byte.
BITS_PER_BYTE = 10

TARGET_CPU_MS_PER_MESSAGE = 2.0
TARGET_RSS_GROWTH_MB = 10.0
TARGET_PEERS_DRAIN_S = 65.0
TARGET_PEERS_CHAOS_DRAIN_S = 90.0
TARGET_PEERS_FULL_EVENTS = 3
TARGET_LINE_SHARE = 0.90
POLL_LINE = re.compile(r"poll: (?P<read>\d+) part\(s\) read, (?P<new>\d+) new")


# --- figures -----------------------------------------------------------------------------------


def _seconds(observed: Observed, text: str) -> float:
    return (parse_time(text) - observed.started_utc).total_seconds()


def _nearest(samples: list[Sample], at: float) -> Sample | None:
    return min(samples, key=lambda s: abs(s.at - at), default=None)


def analyse(observed: Observed) -> dict[str, Any]:
    """The figures of one run, as reported in the JSON and the table."""
    run, scenario = observed.run, observed.run.scenario
    config = observed.config
    with reading(observed.db_path) as conn:
        reasons = dict(
            conn.execute(
                "SELECT reason, count(*) FROM decisions GROUP BY reason ORDER BY count(*) DESC"
            ).fetchall()
        )
        outbox_rows = conn.execute(
            "SELECT kind, state, count(*), sum(parts) FROM outbox GROUP BY kind, state"
        ).fetchall()
        received = [
            _seconds(observed, r[0]) for r in conn.execute("SELECT received_at FROM messages")
        ]
        replies_sent = [
            _seconds(observed, r[0])
            for r in conn.execute("SELECT sent_at FROM outbox WHERE sent_at IS NOT NULL")
        ]
        events = conn.execute(
            "SELECT at, kind FROM events WHERE kind IN ('flood_start', 'flood_end') ORDER BY at"
        ).fetchall()
        genuine = _genuine(conn, scenario, observed.sent_messages)
        inbound_parts = scalar(conn, "SELECT count(*) FROM inbound_parts")
        inbound_messages = scalar(conn, "SELECT count(*) FROM messages")
    outbox: dict[str, dict[str, Any]] = {}
    for kind, state, count, parts in outbox_rows:
        entry = outbox.setdefault(kind, {"rows": 0, "states": {}, "parts_sent": 0})
        entry["rows"] += count
        entry["states"][state] = count
        if state == "sent":
            entry["parts_sent"] += parts
    floods: list[list[float | None]] = []
    for at, kind in events:
        if kind == "flood_start":
            floods.append([_seconds(observed, at), None])
        elif floods and floods[-1][1] is None:
            floods[-1][1] = _seconds(observed, at)
    drained = observed.drained_s or observed.ended_s
    sent_parts = len(observed.sent_parts)
    sent_sms = len(observed.sent_messages)
    price = config.cost.cloud_price_per_sms
    poll_s = config.schedule.poll_interval.total_seconds()
    stats = observed.sim_stats
    line_bytes = observed.bytes_at_drain - observed.bytes_at_start
    # Both directions count as if they shared one wire (see benchmarks/modem_throughput.py).
    bound_s = line_bytes * BITS_PER_BYTE / LINE_RATE
    allowed = round(scenario.parts / bound_s, 1) if bound_s else None
    # The network cannot hand the parts over faster than one per gap, nor before they exist.
    network_bound_s = max(scenario.parts * run.delivery_gap_s, observed.injected_s or 0.0)
    tighter_s = max(bound_s if run.baudrate else 0.0, network_bound_s)
    distinct_senders = len({sms.sender for sms in scenario.messages})
    figures: dict[str, Any] = {
        "label": run.label,
        "scenario": scenario.describe(),
        "baudrate": run.baudrate,
        "injection_rate_sms_per_s": run.rate or "all at once",
        "time_compression": (
            round(ATTACK_SPAN.total_seconds() * run.rate / len(scenario.messages), 1)
            if run.rate
            else None
        ),
        "drain_s": round(drained, 2),
        "injection_s": _round(observed.injected_s),
        "outbox_empty_s": _round(observed.outbox_done_s),
        "wall_s": round(observed.ended_s, 2),
        "messages_per_s": round(len(scenario.messages) / drained, 1),
        "parts_per_s": round(scenario.parts / drained, 1),
        "sim": {
            "slots": SIM_SLOTS,
            "delivered_parts": stats["delivered_parts"],
            "stored_parts_in_db": inbound_parts,
            "stored_messages_in_db": inbound_messages,
            "deleted_parts": stats["deleted_parts"],
            "high_water": stats["high_water"],
            "delivery_gap_s": run.delivery_gap_s,
            "redelivery_s": run.redelivery_s,
            "full_events": stats["full_events"],
            "full_s": round(stats["full_s"], 2),
            "longest_full_s": round(stats["longest_full_s"], 2),
            "memory_available_signals": stats["memory_available_signals"],
            "two_poll_intervals_s": 2 * poll_s,
            "max_network_queue": max((s.queued for s in observed.samples), default=0),
        },
        "line": {
            "bytes_exchanged_during_drain": line_bytes,
            "bytes_per_part": round(line_bytes / scenario.parts, 1),
            "parts_per_s_allowed_at_115200": allowed,
            "share_of_line_bound": round(bound_s / drained, 3) if run.baudrate else None,
            "network_bound_s": round(network_bound_s, 2),
            "share_of_tighter_bound": round(tighter_s / drained, 3),
        },
        "decisions": reasons,
        "outbox": outbox,
        "replies": {
            "sms_received_by_the_network": sent_sms,
            "parts_received_by_the_network": sent_parts,
            "distinct_senders": distinct_senders,
        },
        "genuine_texters": genuine,
        "cost": {
            "cloud_price_per_sms": price,
            "currency": config.cost.currency,
            "cloud_line_per_part": round(price * (scenario.parts + sent_parts), 2),
            "cloud_line_per_message": round(price * (len(scenario.messages) + sent_sms), 2),
            "this_line": 0.0,
            "this_line_parts_sent": sent_parts,
        },
        "flood_periods_s": [[_round(a, 1), _round(b, 1)] for a, b in floods],
        "kills": len(observed.kills),
        "kills_by_moment": dict(Counter(kind for _, kind in observed.kills)),
        "parts_reread_already_stored": _rereads(observed),
        "exit_code": observed.exit_code,
    }
    figures.update(_process_figures(observed))
    figures["audit"] = audit(observed)
    figures["targets"] = _targets(figures, run)
    figures["_series"] = {"received": received, "sent": replies_sent}
    return figures


def _rereads(observed: Observed) -> int:
    """Parts a poll listed that were already stored: committed by a daemon killed before its
    delete (DESIGN invariant 2), counted from the daemon's "poll: N read, M new" lines."""
    if observed.log_path is None or not observed.log_path.exists():
        return 0
    total = 0
    for match in POLL_LINE.finditer(observed.log_path.read_text(errors="replace")):
        total += int(match["read"]) - int(match["new"])
    return total


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _process_figures(observed: Observed) -> dict[str, Any]:
    """CPU and memory of the daemon, from the ready moment on (one process: no kills)."""
    ready, final = observed.ready_sample, observed.final_sample
    messages = len(observed.run.scenario.messages)
    if observed.kills or ready is None or final is None or ready.pid != final.pid:
        # Killed processes take their last CPU figures with them: the sum is a lower bound.
        last: dict[int, float] = {}
        for sample in observed.samples:
            last[sample.pid] = sample.cpu_s
        total = round(sum(last.values()), 2)
        return {"daemon": {"processes": len(last), "cpu_s_sampled_all_processes": total}}
    drained_at = observed.started + (observed.drained_s or observed.ended_s)
    halfway = observed.run.scenario.parts / 2
    middle = next((s for s in observed.samples if s.deleted >= halfway), None)
    at_drain = _nearest(observed.samples, drained_at)
    steady_cpu = (at_drain.cpu_s if at_drain else final.cpu_s) - ready.cpu_s
    return {
        "daemon": {
            "cpu_s_total": round(final.cpu_s, 2),
            "cpu_s_at_ready": round(ready.cpu_s, 2),
            "cpu_s_ready_to_drained": round(steady_cpu, 2),
            "cpu_ms_per_inbound_message": round(steady_cpu * 1000 / messages, 3),
            "cpu_ms_per_inbound_part": round(steady_cpu * 1000 / observed.run.scenario.parts, 3),
            "rss_mb_start": round(ready.rss_kb / 1024, 1),
            "rss_mb_middle": round(middle.rss_kb / 1024, 1) if middle else None,
            "rss_mb_end": round(final.rss_kb / 1024, 1),
            "rss_mb_peak": round(max(s.hwm_kb for s in observed.samples) / 1024, 1),
        }
    }


def _genuine(
    conn: sqlite3.Connection, scenario: Scenario, sent: list[tuple[str, str]]
) -> dict[str, Any]:
    """Who of the genuine texters got the reply, and why the others did not."""
    received = Counter(number for number, _ in sent)
    texters: list[dict[str, Any]] = []
    for number in scenario.genuine_senders:
        reasons = [
            row[0]
            for row in conn.execute(
                "SELECT d.reason FROM messages m JOIN decisions d ON d.message_id = m.id"
                " WHERE m.sender_e164 = ? ORDER BY m.id",
                (number,),
            )
        ]
        states = [
            row[0]
            for row in conn.execute(
                "SELECT state FROM outbox WHERE recipient = ? AND kind = 'reply'", (number,)
            )
        ]
        texters.append(
            {
                "number": number,
                "reasons": reasons,
                "reply_rows": states,
                "replies_received": received[number],
            }
        )
    not_answered: Counter[str] = Counter()
    for texter in texters:
        if texter["replies_received"]:
            continue
        if texter["reply_rows"]:
            # Decided "replied" but still in the outbox when the run ended (or failed).
            not_answered[f"reply {texter['reply_rows'][0]}"] += 1
        else:
            not_answered[texter["reasons"][0] if texter["reasons"] else "not decided"] += 1
    return {
        "texters": len(texters),
        "answered": sum(1 for t in texters if t["replies_received"]),
        "not_answered_by_reason": dict(not_answered),
        "each": texters,
    }


def _targets(figures: dict[str, Any], run: Run) -> dict[str, dict[str, Any]]:
    checks = figures["audit"]
    targets: dict[str, dict[str, Any]] = {}

    def target(name: str, value: Any, limit: Any, met: bool) -> None:
        targets[name] = {"value": value, "target": limit, "met": met}

    parts = checks["parts_stored_exactly_once"]
    target(
        "messages_lost",
        parts["lost"],
        0,
        parts["lost"] == 0 and checks["messages_stored_exactly_once"]["missing"] == 0,
    )
    sent_once = checks["no_reply_sent_twice"]
    target(
        "duplicate_replies", sent_once["received_more_than_the_outbox_allows"], 0, sent_once["ok"]
    )
    caps = checks["quotas_and_caps_respected"]
    target("quota_breaches", len(caps["breaches"]), 0, caps["ok"])
    replies = figures["outbox"].get("reply", {}).get("rows", 0)
    distinct = figures["replies"]["distinct_senders"]
    target("replies_per_distinct_sender", replies, f"<= {distinct}", replies <= distinct)
    sim = figures["sim"]
    target(
        "sim_longest_full_s",
        sim["longest_full_s"],
        f"<= {sim['two_poll_intervals_s']}",
        sim["longest_full_s"] <= sim["two_poll_intervals_s"],
    )
    daemon = figures["daemon"]
    if "cpu_ms_per_inbound_message" in daemon:
        cpu = daemon["cpu_ms_per_inbound_message"]
        target(
            "cpu_ms_per_inbound_message",
            cpu,
            f"<= {TARGET_CPU_MS_PER_MESSAGE}",
            cpu <= TARGET_CPU_MS_PER_MESSAGE,
        )
        growth = round(daemon["rss_mb_end"] - daemon["rss_mb_start"], 1)
        target(
            "rss_growth_mb", growth, f"<= {TARGET_RSS_GROWTH_MB}", growth <= TARGET_RSS_GROWTH_MB
        )
    if run.scenario.name == "peers":
        limit = TARGET_PEERS_CHAOS_DRAIN_S if run.kills else TARGET_PEERS_DRAIN_S
        target("drain_s", figures["drain_s"], f"<= {limit}", figures["drain_s"] <= limit)
        if not run.kills:
            events = sim["full_events"]
            target(
                "sim_full_events",
                events,
                f"<= {TARGET_PEERS_FULL_EVENTS}",
                events <= TARGET_PEERS_FULL_EVENTS,
            )
    share = figures["line"]["share_of_line_bound"]
    if share is not None and (run.rate == 0 or figures["sim"]["max_network_queue"] > SIM_SLOTS):
        # Only meaningful while a backlog waits: otherwise the injection rate bounds ingest.
        target("share_of_line_bound", share, f">= {TARGET_LINE_SHARE}", share >= TARGET_LINE_SHARE)
    return targets


# --- output ------------------------------------------------------------------------------------


def chart(figures: dict[str, Any], path: Path) -> str:
    """Inbound per minute vs replies per minute, flood mode shaded; returns what was done."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "skipped: matplotlib is not installed (pip install -e '.[bench]')"
    series = figures["_series"]
    end = max([figures["wall_s"], *series["received"], *series["sent"]], default=1.0)
    # Per-minute rates; short (time-compressed) runs are binned finer so the shape shows.
    bin_s = 60.0 if end >= 600 else 10.0 if end >= 60 else 2.0
    edges = [i * bin_s for i in range(int(end // bin_s) + 2)]
    scale = 60.0 / bin_s
    figure, inbound_axis = plt.subplots(figsize=(10, 4.5))
    replies_axis = inbound_axis.twinx()
    inbound_axis.hist(
        series["received"],
        bins=edges,
        weights=[scale] * len(series["received"]),
        color="tab:blue",
        alpha=0.7,
        label="inbound SMS / min",
    )
    replies_axis.hist(
        series["sent"],
        bins=edges,
        weights=[scale] * len(series["sent"]),
        histtype="step",
        linewidth=2,
        color="tab:red",
        label="SMS sent / min (replies + alert)",
    )
    for start, stop in figures["flood_periods_s"]:
        inbound_axis.axvspan(
            start, stop if stop is not None else end, color="orange", alpha=0.15, label="flood mode"
        )
    inbound_axis.set_xlabel(f"seconds since the replay started ({bin_s:.0f} s bins)")
    inbound_axis.set_ylabel("inbound SMS per minute", color="tab:blue")
    replies_axis.set_ylabel("SMS sent per minute", color="tab:red")
    handles = [
        h for axis in (inbound_axis, replies_axis) for h in axis.get_legend_handles_labels()[0]
    ]
    inbound_axis.legend(handles=handles, loc="upper left", framealpha=0.9)
    inbound_axis.set_title(f"anti-relous flood replay: {figures['label']}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return str(path)


ROWS: tuple[tuple[str, str], ...] = (
    ("SMS / parts injected", "scenario.messages|scenario.parts"),
    ("injection rate SMS/s", "injection_rate_sms_per_s"),
    ("injection s", "injection_s"),
    ("drain s (all read, stored, deleted)", "drain_s"),
    ("outbox empty at s", "outbox_empty_s"),
    ("wall s", "wall_s"),
    ("messages/s | parts/s", "messages_per_s|parts_per_s"),
    ("daemon CPU s (ready -> drained)", "daemon.cpu_s_ready_to_drained"),
    ("CPU ms / inbound message", "daemon.cpu_ms_per_inbound_message"),
    ("RSS MB start/middle/end", "daemon.rss_mb_start|daemon.rss_mb_middle|daemon.rss_mb_end"),
    ("peak RSS MB", "daemon.rss_mb_peak"),
    ("SIM high water / slots", "sim.high_water|sim.slots"),
    ("SIM full: events / s in all", "sim.full_events|sim.full_s"),
    ("SIM longest full s (vs 2 polls)", "sim.longest_full_s|sim.two_poll_intervals_s"),
    ("parts delivered / stored", "sim.delivered_parts|sim.stored_parts_in_db"),
    ("line bytes per part", "line.bytes_per_part"),
    ("115200 bound parts/s", "line.parts_per_s_allowed_at_115200"),
    ("share of line bound", "line.share_of_line_bound"),
    ("network bound s", "line.network_bound_s"),
    ("share of tighter bound", "line.share_of_tighter_bound"),
    ("replies sent / decided", "outbox.reply.states.sent|outbox.reply.rows"),
    ("parts sent (replies + alert)", "cost.this_line_parts_sent"),
    ("genuine answered / texters", "genuine_texters.answered|genuine_texters.texters"),
    ("cloud line EUR (per part)", "cost.cloud_line_per_part"),
    ("kills", "kills"),
    ("parts re-read, already stored", "parts_reread_already_stored"),
)


def _lookup(figures: dict[str, Any], path: str) -> Any:
    value: Any = figures
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return "-"
        value = value[key]
    return "-" if value is None else value


def table(results: list[dict[str, Any]]) -> str:
    """A plain-text table, one column per run."""
    width = max(len(label) for label, _ in ROWS) + 2
    column = 26
    lines = ["".ljust(width) + "".join(r["label"][: column - 1].rjust(column) for r in results)]
    lines.append("-" * len(lines[0]))
    for label, paths in ROWS:
        cells = [" / ".join(str(_lookup(r, p)) for p in paths.split("|")) for r in results]
        lines.append(label.ljust(width) + "".join(c.rjust(column) for c in cells))
    lines.append("")
    for result in results:
        lines.append(f"{result['label']}:")
        lines.append(f"  decisions: {result['decisions']}")
        genuine = result["genuine_texters"]
        lines.append(f"  genuine not answered, by reason: {genuine['not_answered_by_reason']}")
        for name, target in result["targets"].items():
            verdict = "met" if target["met"] else "MISSED"
            lines.append(f"  {name}: {target['value']} (target {target['target']}) {verdict}")
        failed = [name for name, check in result["audit"].items() if not check["ok"]]
        lines.append(f"  audit: {'all invariants hold' if not failed else 'FAILED ' + str(failed)}")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------


def plans(args: argparse.Namespace) -> list[Run]:
    """The runs the command line asks for."""
    start = datetime.now(UTC).astimezone()
    flood = flood_scenario(args.messages, args.bots, args.genuine, seed=args.seed, start=start)
    peers = peers_scenario(
        args.peers_messages, args.peers_parts, args.peers_bots, seed=args.seed, start=start
    )
    wait = args.outbox_wait
    network = {"delivery_gap_s": args.delivery_gap_ms / 1000, "redelivery_s": args.redelivery_s}
    kills = {"kills": args.kills} if args.chaos else {}
    chaos = ", chaos (SIGKILL)" if args.chaos else ""
    runs = {
        "unthrottled": Run(f"flood{chaos}, unthrottled", flood, None, args.rate, wait, **kills),
        # At 115,200 bit/s the daemon is busy all along: a kill seldom finds it idle.
        "115200": Run(f"flood{chaos}, 115200 bit/s", flood, LINE_RATE, args.rate, wait, **kills),
        # The peers' figure is the drain: the replies left queued behind it are not waited for.
        "peers": Run(f"peers{chaos}, 115200 bit/s", peers, LINE_RATE, 0, 0, **kills),
    }
    names = args.runs or ("115200" if args.chaos else "unthrottled,115200,peers")
    return [dataclasses.replace(runs[name], seed=args.seed, **network) for name in names.split(",")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="bot SMS in the replay")
    parser.add_argument("--bots", type=int, default=400)
    parser.add_argument("--genuine", type=int, default=20, help="genuine texters")
    parser.add_argument("--rate", type=float, default=100.0, help="SMS/s handed to the network")
    parser.add_argument("--peers-messages", type=int, default=2005)
    parser.add_argument("--peers-parts", type=int, default=2484)
    parser.add_argument("--peers-bots", type=int, default=100)
    parser.add_argument(
        "--outbox-wait",
        type=float,
        default=900.0,
        help="seconds to wait for the replies after the drain",
    )
    parser.add_argument(
        "--runs",
        help="which runs, comma-separated: unthrottled, 115200, peers "
        "(default: all three; 115200 with --chaos)",
    )
    parser.add_argument(
        "--delivery-gap-ms",
        type=float,
        default=DELIVERY_GAP_S * 1000,
        help="the network hands the SIM one part every so many ms",
    )
    parser.add_argument(
        "--redelivery-s",
        type=float,
        default=REDELIVERY_S,
        help="after a delivery found the SIM full: the network's wait once it has room again",
    )
    parser.add_argument("--chaos", action="store_true", help="SIGKILL the daemon during the replay")
    parser.add_argument("--kills", type=int, default=12, help="SIGKILLs in --chaos (>= 10)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="a few hundred SMS per run")
    parser.add_argument("--keep", type=Path, help="copy each run's daemon log and DB here")
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory for JSON and PNG")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.bots, args.genuine = 300, 30, 5
        args.peers_messages, args.peers_parts, args.peers_bots = 250, 310, 20
        args.outbox_wait = 0.0 if not args.chaos else 60.0

    name = "flood" + ("_chaos" if args.chaos else "") + ("_quick" if args.quick else "")
    args.output.mkdir(parents=True, exist_ok=True)
    results = []
    for number, run in enumerate(plans(args)):
        print(
            f"running {run.label}: {len(run.scenario.messages)} SMS, {run.scenario.parts} parts",
            flush=True,
        )
        with tempfile.TemporaryDirectory(prefix="anti-relous-flood-") as workdir:
            observed = replay(run, Path(workdir))
            figures = analyse(observed)
            if args.keep:
                # The daemon's log and database, for a closer look after the run.
                args.keep.mkdir(parents=True, exist_ok=True)
                for path in Path(workdir).iterdir():
                    if path.is_file():
                        shutil.copy2(path, args.keep / f"{number}_{path.name}")
        figures["chart"] = chart(figures, args.output / f"{name}_{number}.png")
        del figures["_series"]
        results.append(figures)
    print(table(results))
    report = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "config": "DEFAULT policy and schedule; only [modem] port, [storage] database and "
        f"[alerts] numbers = [{ALERT_NUMBER!r}] set",
        "runs": results,
    }
    output = args.output / f"{name}.json"
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
