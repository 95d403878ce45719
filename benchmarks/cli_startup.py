"""CLI start-up: `anti-relous status --json` wall time against `python -c pass`, same venv.

Issues 5 and 17's target: under 3x. Both commands run as fresh processes, alternately (so a
busy moment on the box hits both), many times; the medians are compared. The line is a real
one: the config `anti-relous init` writes, a database holding a day of traffic (3,000 messages,
their decisions and replies) and a daemon state, so `status` runs every query it runs in
production. Then where the time goes: a floor (click and the stdlib modules such a command
needs, reading the config and one query, without this package); each module `status` imports
that `python -c pass` does not, by its own import time (`python -X importtime`, the least of
several runs); and each dataclass built during the run (a ``@frozen_dataclass`` is built only
when first used, so this lists what `status` really makes).

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


def import_self_times(command: list[str], runs: int) -> tuple[dict[str, float], dict[str, str]]:
    """Each module's own import time (ms, not counting what it imports), the minimum over
    ``runs`` runs of ``command`` under ``python -X importtime`` (the least noisy estimate), and
    the module that imported each one."""
    best: dict[str, float] = {}
    parents: dict[str, str] = {}
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", *command],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        # One line per module, printed once it is imported: its importer is the next line
        # printed less indented.
        rows = []
        for line in result.stderr.splitlines():
            fields = line.removeprefix("import time:").split("|")
            if len(fields) == 3 and fields[0].strip().isdigit():
                name = fields[2].rstrip()
                rows.append((len(name) - len(name.lstrip()), name.strip(), int(fields[0]) / 1000))
        for index, (depth, name, ms) in enumerate(rows):
            best[name] = min(best.get(name, ms), ms)
            importer = next((n for d, n, _ in rows[index + 1 :] if d < depth), None)
            if importer is not None:
                parents[name] = importer
    return best, parents


#: Libraries counted whole, with the stdlib modules they import.
LIBRARIES = ("click", "tomllib", "sqlite3", "json", "dataclasses")


def owner(module: str, parents: dict[str, str]) -> str:
    """Who brought ``module`` in: itself if it is ours or a library of LIBRARIES, else the
    nearest importer that is; "stdlib" for what the command imports directly."""
    while True:
        if module.startswith("anti_relous") or module.split(".")[0] in LIBRARIES:
            return module.split(".")[0] if not module.startswith("anti_relous") else module
        if module not in parents:
            return "stdlib"
        module = parents[module]


def import_breakdown(status: list[str], runs: int) -> dict[str, float]:
    """What `status` imports that `python -c pass` does not, ms of import by owner."""
    baseline, _ = import_self_times(["-c", "pass"], runs)
    times, parents = import_self_times(status, runs)
    costs: dict[str, float] = {}
    for module, ms in times.items():
        if module not in baseline:
            who = owner(module, parents)
            costs[who] = costs.get(who, 0.0) + ms
    return dict(sorted(costs.items(), key=lambda item: -item[1]))


#: Runs `status --json` in-process, timing every dataclass built (at import, or on first use
#: for @frozen_dataclass classes) and the whole command.
DATACLASS_COST = """
import contextlib, dataclasses, io, sys, time
built, original = [], dataclasses._process_class
def timed(cls, *args, **kwargs):
    started = time.perf_counter()
    try:
        return original(cls, *args, **kwargs)
    finally:
        built.append((f"{cls.__module__}.{cls.__qualname__}", time.perf_counter() - started))
dataclasses._process_class = timed
sys.argv = ["anti-relous", "--config", sys.argv[1], "status", "--json"]
from anti_relous.cli import cli
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    cli(prog_name="anti-relous")
for name, seconds in built:
    print(name, seconds * 1000)
"""


def dataclasses_built(config: Path, runs: int) -> list[tuple[str, float]]:
    """(class, ms building it, the least of ``runs`` runs) for every dataclass a
    `status --json` run builds, in the order they are built."""
    best: dict[str, float] = {}
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", DATACLASS_COST, str(config)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        for name, ms in (line.split() for line in result.stdout.splitlines()):
            best[name] = min(best.get(name, float(ms)), float(ms))
    return list(best.items())


#: The floor: what any click command reading this TOML and this SQLite file pays, without us.
FLOOR = """
import click, dataclasses, datetime, enum, hashlib, json, re, sqlite3, sys, tomllib
tomllib.loads(open(sys.argv[1], encoding="utf-8").read())
print(json.dumps(sqlite3.connect(sys.argv[2]).execute("SELECT count(*) FROM messages").fetchall()))
"""


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
    parser.add_argument("--import-runs", type=int, default=9, help="runs of -X importtime")
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
        breakdown = import_breakdown(["-m", "anti_relous", *status[1:]], args.import_runs)
        built = dataclasses_built(place.config, args.import_runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base_ms = statistics.median(baseline) * 1000
    status_ms = statistics.median(measured) * 1000
    floor_ms = statistics.median(floored) * 1000
    ratio = status_ms / base_ms
    imports_ms = sum(breakdown.values())
    built_ms = sum(ms for _, ms in built)
    print(f"python -c pass            median {base_ms:6.1f} ms")
    print(f"anti-relous status --json median {status_ms:6.1f} ms")
    verdict = "met" if ratio < TARGET_RATIO else "MISSED"
    print(f"ratio {ratio:.2f}x (target < {TARGET_RATIO:.0f}x: {verdict})")
    print(
        f"floor: click + stdlib + config + one query, no anti_relous: {floor_ms:.1f} ms = "
        f"{floor_ms / base_ms:.2f}x"
    )
    print(
        f"what status adds to python -c pass: {status_ms - base_ms:.1f} ms, of which imports "
        f"{imports_ms:.1f} ms (own time of each module and the stdlib modules it brought in,"
        f" least of {args.import_runs} runs):"
    )
    for name, ms in breakdown.items():
        if ms >= 0.05:
            print(f"  {ms:6.1f}  {name}")
    print(
        f"dataclasses built while status runs: {len(built)}, {built_ms:.1f} ms (least of "
        f"{args.import_runs} runs; those built at import are in their module's time above)"
    )
    for name, ms in built:
        print(f"  {ms:6.2f}  {name}")
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
        "imports_ms": {name: round(ms, 2) for name, ms in breakdown.items()},
        "dataclasses_built": {name: round(ms, 2) for name, ms in built},
        "bytecode": "compiled first, as an installed package is",
        "target_ratio": TARGET_RATIO,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
