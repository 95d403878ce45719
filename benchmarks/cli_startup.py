"""CLI start-up: `anti-relous status --json` wall time against `python -c pass`, same venv.

Issue 5's target: under 3x. Both commands run as fresh processes, alternately (so a busy
moment on the box hits both), many times; the medians are compared. The line is a real one:
the config `anti-relous init` writes, a database holding a day of traffic (3,000 messages,
their decisions and replies) and a daemon state, so `status` runs every query it runs in
production. An import-time breakdown (`python -X importtime`) says where the time goes, and two
more figures say what bounds it: a floor (click and the stdlib modules such a command needs,
reading the config and one query, without this package) and what creating the package's
dataclasses costs when `status` imports it.

    .venv/bin/python benchmarks/cli_startup.py            # 60 runs of each
    .venv/bin/python benchmarks/cli_startup.py --runs 200

Writes benchmarks/results/cli_startup.json.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from anti_relous.admin.provision import config_text
from anti_relous.config import load_config
from anti_relous.policy import Rules
from anti_relous.service import Texts, decide_pending
from anti_relous.simulator.sandbox import SimulateDir
from anti_relous.sms import DecodedPart, PartKind, ReceivedPart
from anti_relous.store import Store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "cli_startup.json"
TARGET_RATIO = 3.0
MESSAGES = 3000


def fill(place: SimulateDir) -> None:
    """The config `anti-relous init` writes, and a database holding a day of traffic."""
    place.root.mkdir(parents=True, exist_ok=True)
    place.config.write_text(config_text(place.database), encoding="utf-8")
    config = load_config(place.config)
    now = datetime.now(UTC)
    with Store.open(place.database) as store:
        for batch in range(MESSAGES // 100):
            at = now - timedelta(hours=23) + timedelta(minutes=batch * 14)
            parts = [
                ReceivedPart(
                    storage="SM",
                    index=i,
                    pdu=f"bench-{batch}-{i}".encode(),
                    kind=PartKind.DELIVER,
                    decoded=DecodedPart(f"+3361{(batch * 100 + i) % 300:07d}", "salut", at, "gsm7"),
                )
                for i in range(100)
            ]
            store.inbound.ingest(parts, at, "FR")
            decide_pending(store, Rules.from_config(config), Texts.from_config(config), at)
        store.line.put_daemon_state(
            now, "daemon", {"pid": os.getpid(), "started_at": now.isoformat(),
                            "state": "running", "status": "polling"},
        )  # fmt: skip


def wall_times(commands: list[list[str]], runs: int) -> list[list[float]]:
    """Seconds per run of each command, the commands alternating."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
            )
            times[index].append(time.perf_counter() - start)
    return times


#: Where the time goes: the CLI's own modules and the libraries and modules they pull in.
WATCHED_IMPORTS = (
    "click",
    "anti_relous.cli",
    "anti_relous.admin.status",
    "anti_relous.config",
    "anti_relous.store",
    "anti_relous.policy",
    "phonenumbers",
    "anti_relous.modem.pdu",
    "gammu",
    "anti_relous.cli.render",
)


def import_breakdown(command: list[str]) -> dict[str, float]:
    """Cumulative import time (ms) of each WATCHED_IMPORTS module in one run of ``command``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *command], capture_output=True, text=True, check=False
    )
    found: dict[str, float] = {}
    for line in result.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[1].strip().isdigit():
            name = fields[2].strip()
            if name in WATCHED_IMPORTS:
                found[name] = int(fields[1]) / 1000
    return {name: found[name] for name in WATCHED_IMPORTS if name in found}


#: The floor: what any click command reading this TOML and this SQLite file pays, without us.
FLOOR = """
import click, dataclasses, datetime, enum, hashlib, json, re, sqlite3, sys, tomllib
tomllib.loads(open(sys.argv[1], encoding="utf-8").read())
print(json.dumps(sqlite3.connect(sys.argv[2]).execute("SELECT count(*) FROM messages").fetchall()))
"""

#: Counts the dataclasses the modules `status` imports create, and the time that takes.
DATACLASS_COST = """
import time, dataclasses, click, phonenumbers
made, spent, original = [0], [0.0], dataclasses._process_class
def timed(*args, **kwargs):
    started = time.perf_counter()
    try:
        return original(*args, **kwargs)
    finally:
        made[0] += 1
        spent[0] += time.perf_counter() - started
dataclasses._process_class = timed
started = time.perf_counter()
import anti_relous.cli, anti_relous.admin.status, anti_relous.cli.render
print(made[0], spent[0] * 1000, (time.perf_counter() - started) * 1000)
"""


def dataclass_cost() -> tuple[int, float, float]:
    """Dataclasses created importing what `status` imports, ms creating them, ms importing."""
    result = subprocess.run(
        [sys.executable, "-c", DATACLASS_COST], capture_output=True, text=True, check=True
    )
    count, spent, total = result.stdout.split()
    return int(count), float(spent), float(total)


def compile_package() -> None:
    """Byte-compile the package, as `pip install` does for a real install.

    An editable install in a shell with PYTHONDONTWRITEBYTECODE=1 (as here) would otherwise
    recompile every module of ours on every run, which no installed line ever does.
    """
    package = ROOT / "anti_relous"
    if not compileall.compile_dir(package, quiet=1):
        sys.exit(f"could not byte-compile {package}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="anti-relous-bench-"))
    try:
        place = SimulateDir(root)
        fill(place)
        cli = shutil.which("anti-relous", path=str(Path(sys.executable).parent))
        if cli is None:
            sys.exit("anti-relous is not installed in this venv: pip install -e .")
        status = [cli, "--config", str(place.config), "status", "--json"]
        compile_package()
        check = subprocess.run(status, capture_output=True, text=True, check=False)
        if check.returncode != 0:
            sys.exit(f"status failed ({check.returncode}): {check.stderr}")
        floor = [sys.executable, "-c", FLOOR, str(place.config), str(place.database)]
        baseline, measured, floored = wall_times(
            [[sys.executable, "-c", "pass"], status, floor], args.runs
        )
        breakdown = import_breakdown(["-m", "anti_relous", *status[1:]])
        dataclasses_made, dataclasses_ms, package_import_ms = dataclass_cost()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base_ms = statistics.median(baseline) * 1000
    status_ms = statistics.median(measured) * 1000
    floor_ms = statistics.median(floored) * 1000
    ratio = status_ms / base_ms
    print(f"python -c pass           median {base_ms:6.1f} ms")
    print(f"anti-relous status --json median {status_ms:6.1f} ms")
    verdict = "met" if ratio < TARGET_RATIO else "MISSED"
    print(f"ratio {ratio:.2f}x (target < {TARGET_RATIO:.0f}x: {verdict})")
    print(
        f"floor: click + stdlib + config + one query, no anti_relous: {floor_ms:.1f} ms = "
        f"{floor_ms / base_ms:.2f}x"
    )
    print(
        f"importing what status imports (click and phonenumbers already loaded): "
        f"{package_import_ms:.1f} ms, of which {dataclasses_ms:.1f} ms creating "
        f"{dataclasses_made} dataclasses"
    )
    print("imports of one status run, cumulative ms (nested ones are inside their importer):")
    for name, ms in breakdown.items():
        print(f"  {ms:6.1f}  {name}")
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "runs": args.runs,
        "python_pass_median_ms": round(base_ms, 1),
        "status_json_median_ms": round(status_ms, 1),
        "ratio": round(ratio, 2),
        "floor_median_ms": round(floor_ms, 1),
        "floor_ratio": round(floor_ms / base_ms, 2),
        "package_import_ms": round(package_import_ms, 1),
        "dataclasses_created": dataclasses_made,
        "dataclasses_ms": round(dataclasses_ms, 1),
        "bytecode": "compiled first, as an installed package is",
        "target_ratio": TARGET_RATIO,
        "imports_ms": breakdown,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
